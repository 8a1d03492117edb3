/* SPDX-License-Identifier: Apache-2.0 */
/* units.c -- lookup in the generated units table (lib/units.h): a linear
 * scan, segment by segment with fnmatch. Callers look a field up once per
 * new column, not per message, so the ~400 rows need no index. */
#include "lib/units.h"

#include <fnmatch.h>
#include <string.h>

/* Does the glob pat[0..plen) match the segment s[0..slen)? */
static bool seg_match(const char *pat, size_t plen, const char *s, size_t slen)
{
    char p[128], v[256];
    if (plen >= sizeof(p) || slen >= sizeof(v))
        return false;
    memcpy(p, pat, plen);
    p[plen] = '\0';
    memcpy(v, s, slen);
    v[slen] = '\0';
    return fnmatch(p, v, 0) == 0;
}

/* Segment-wise match of a dotted pattern against a dotted path. */
static bool path_match(const char *pat, const char *path)
{
    for (;;) {
        size_t pl = strcspn(pat, "."), sl = strcspn(path, ".");
        if (!seg_match(pat, pl, path, sl))
            return false;
        if (!pat[pl] || !path[sl])
            return !pat[pl] && !path[sl];
        pat += pl + 1;
        path += sl + 1;
    }
}

const struct hp_unit *hp_unit_find(const char *reporter, const char *path)
{
    for (size_t i = 0; i < hp_units_count; i++)
        if (strcmp(hp_units[i].reporter, reporter) == 0 && path_match(hp_units[i].path, path))
            return &hp_units[i];
    return NULL;
}
