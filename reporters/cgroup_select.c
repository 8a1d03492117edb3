/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup_select.c -- match a process's cgroup v2 path against unit and
 * cgroup selectors (fnmatch), component by component, ancestors included.
 * Kept out of process.c so the process reporter only gains a call. */
#include "reporters/cgroup_select.h"

#include <fnmatch.h>
#include <string.h>

static bool unit_matches(const char *cg, const char *unit)
{
    char comp[256];
    for (const char *p = cg; *p;) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if (n && n < sizeof(comp)) {
            memcpy(comp, p, n);
            comp[n] = '\0';
            if (fnmatch(unit, comp, 0) == 0)
                return true;
        }
        p += n;
    }
    return false;
}

static bool path_matches(const char *cg, const char *pattern)
{
    char prefix[1024];
    size_t len = strlen(cg);
    if (len >= sizeof(prefix))
        return false;
    if (fnmatch(pattern, "/", FNM_PATHNAME) == 0)
        return true; /* the root is everyone's ancestor */
    for (size_t i = 1; i <= len; i++) {
        if (i < len && cg[i] != '/')
            continue;
        memcpy(prefix, cg, i);
        prefix[i] = '\0';
        if (fnmatch(pattern, prefix, FNM_PATHNAME) == 0)
            return true;
    }
    return false;
}

bool hp_cgroup_selects(const char *cg, const char *unit, const char *cgroup)
{
    if (!cg)
        return false;
    if (unit && !unit_matches(cg, unit))
        return false;
    return !cgroup || path_matches(cg, cgroup);
}
