/* SPDX-License-Identifier: Apache-2.0 */
/* devtab.c -- named devices with their previous counters and a filter
 * decision made once per name: shared by net (interfaces) and disk (block
 * devices), so globbing and forgetting are written once. */
#include "reporters/devtab.h"

#include "lib/buf.h"
#include "lib/opts.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool hp_globs_match(const config_setting_t *globs, const char *name)
{
    int n = hp_strs_count(globs);
    for (int i = 0; i < n; i++) {
        const char *pat = hp_strs_at(globs, i);
        if (pat && fnmatch(pat, name, 0) == 0)
            return true;
    }
    return false;
}

static bool wanted(const struct hp_devtab *t, const char *name)
{
    if (hp_strs_count(t->include) > 0 && !hp_globs_match(t->include, name))
        return false;
    if (t->exclude) {
        if (hp_globs_match(t->exclude, name))
            return false;
    } else {
        for (const char *const *p = t->default_exclude; p && *p; p++)
            if (fnmatch(*p, name, 0) == 0)
                return false;
    }
    return !t->keep || t->keep(t->ud, name);
}

void hp_devtab_begin(struct hp_devtab *t)
{
    t->gen++;
}

struct hp_dev *hp_devtab_lookup(struct hp_devtab *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->devs[i].name, name) == 0)
            return &t->devs[i];
    if (hp_grow(&t->devs, &t->cap, t->n + 1, sizeof(*t->devs)) != 0)
        return NULL;
    struct hp_dev *d = &t->devs[t->n++];
    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "%s", name);
    d->wanted = wanted(t, name);
    return d;
}

void hp_dev_seen(struct hp_devtab *t, struct hp_dev *d, const uint64_t *v, size_t n)
{
    if (v)
        memcpy(d->v, v, (n < HP_DEV_VALS ? n : HP_DEV_VALS) * sizeof(*v));
    d->gen = t->gen;
}

void hp_devtab_forget(struct hp_devtab *t)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->devs[i].gen == t->gen)
            t->devs[k++] = t->devs[i];
    t->n = k;
}

void hp_devtab_free(struct hp_devtab *t)
{
    free(t->devs);
    t->devs = NULL;
    t->n = t->cap = 0;
}
