/* SPDX-License-Identifier: Apache-2.0 */
/* store_flat.c -- which numbers of a message become series, and their names.
 *
 * Every numeric (or boolean) leaf under "data" is a series named by its
 * dotted path, with exceptions that keep the store small: a cumulative
 * counter is skipped when the same object has its rate beside it ("x" with
 * "x_per_sec" or "x_rate"), and so are identity and clock fields (pid,
 * start_time, boot_time, ...) and the agent's per-reporter cost counters.
 * An array of objects is indexed by a name-like member of each element, so
 * that a series keeps its name when the order changes:
 * "sensors.coretemp-isa-0000/Core 0.value", "cpus.1.user",
 * "watched.nginx:1234.rss". Other arrays are indexed by position. Session
 * and ipaddr messages hold facts, not series. */
#include "web/store_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* "reporters": the agent's per-reporter cost counters (its own log and
 * bench/ show them); the rest are identities and clocks. */
static const char *const skipped_keys[] = {
    "reporters", "times", "start_time", "boot_time", "walked",   "start",
    "pid",       "ppid",  "uid",        "prefixlen", "priority", NULL,
};

static bool skipped(const char *key)
{
    for (const char *const *k = skipped_keys; *k; k++)
        if (strcmp(*k, key) == 0)
            return true;
    return false;
}

/* True when obj has a rate beside the counter c: a member named c's name
 * followed by "_per_sec" or "_rate". */
static bool has_rate(const struct hp_json *j, const struct hp_jnode *obj, const struct hp_jnode *c)
{
    for (const struct hp_jnode *o = hp_json_child(j, obj); o; o = hp_json_next(j, o)) {
        if (o->klen <= c->klen || memcmp(o->key, c->key, c->klen) != 0)
            continue;
        const char *tail = o->key + c->klen;
        if (strcmp(tail, "_per_sec") == 0 || strcmp(tail, "_rate") == 0)
            return true;
    }
    return false;
}

static const char *str_member(const struct hp_json *j, const struct hp_jnode *o, const char *key)
{
    const struct hp_jnode *v = hp_json_get(j, o, key);
    return v && v->type == HP_JSTRING ? v->str : NULL;
}

/* Name of array element i: a name-like member, or its position. */
static void element_name(const struct hp_json *j, const struct hp_jnode *el, size_t i, char *buf,
                         size_t len)
{
    const struct hp_jnode *v;
    const char *chip = str_member(j, el, "chip"), *label = str_member(j, el, "label");
    const char *name = str_member(j, el, "name");
    if (chip && label)
        snprintf(buf, len, "%s/%s", chip, label);
    else if (name && (v = hp_json_get(j, el, "pid")) != NULL)
        snprintf(buf, len, "%s:%lld", name,
                 (long long)(v->type == HP_JINT ? v->i : (int64_t)v->num));
    else if (name || label || (name = str_member(j, el, "device")))
        snprintf(buf, len, "%s", name ? name : label);
    else if ((v = hp_json_get(j, el, "cpu")) != NULL && v->type == HP_JINT)
        snprintf(buf, len, "%lld", (long long)v->i);
    else
        snprintf(buf, len, "%zu", i);
}

/* Series one message may feed: a 1 MB message of numbers would otherwise
 * make 100,000 of them. The agent's largest messages have a few hundred. */
#define LEAVES_MAX 4096

struct walk {
    const struct hp_json *j;
    hp_flat_fn fn;
    void *ud;
    unsigned leaves;
    char path[HP_PATH_MAX];
};

static int walk(struct walk *w, const struct hp_jnode *v, size_t plen);

/* Append ".name" (or "name" at the top) to the path and walk v there. */
static int walk_child(struct walk *w, const struct hp_jnode *v, size_t plen, const char *name,
                      size_t nl)
{
    size_t n = nl + (plen ? 1 : 0);
    if (plen + n >= sizeof(w->path))
        return 0; /* too deep or too long: no series */
    if (plen)
        w->path[plen] = '.';
    memcpy(w->path + plen + (plen ? 1 : 0), name, nl + 1);
    int rc = walk(w, v, plen + n);
    w->path[plen] = '\0';
    return rc;
}

static int walk(struct walk *w, const struct hp_jnode *v, size_t plen)
{
    switch (v->type) {
    case HP_JINT:
    case HP_JDOUBLE:
    case HP_JBOOL:
        if (!plen || !isfinite(v->num) || ++w->leaves > LEAVES_MAX)
            return 0;
        return w->fn(w->ud, w->path, plen, v->num);
    case HP_JOBJECT:
        for (const struct hp_jnode *c = hp_json_child(w->j, v); c; c = hp_json_next(w->j, c)) {
            if (skipped(c->key) || (c->type == HP_JINT && has_rate(w->j, v, c)))
                continue;
            int rc = walk_child(w, c, plen, c->key, strlen(c->key));
            if (rc)
                return rc;
        }
        return 0;
    case HP_JARRAY: {
        size_t i = 0;
        for (const struct hp_jnode *c = hp_json_child(w->j, v); c; c = hp_json_next(w->j, c)) {
            char name[128];
            element_name(w->j, c, i++, name, sizeof(name));
            int rc = walk_child(w, c, plen, name, strlen(name));
            if (rc)
                return rc;
        }
        return 0;
    }
    default:
        return 0;
    }
}

int hp_store_flatten(const char *reporter, const struct hp_json *j, const struct hp_jnode *data,
                     hp_flat_fn fn, void *ud)
{
    if (strcmp(reporter, "session") == 0 || strcmp(reporter, "ipaddr") == 0)
        return 0;
    struct walk w = {.j = j, .fn = fn, .ud = ud};
    return walk(&w, data, 0);
}
