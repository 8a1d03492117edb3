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

/* True when obj has a rate beside the counter key. */
static bool has_rate(json_object *obj, const char *key)
{
    char k[128];
    size_t n = strlen(key);
    if (n + sizeof("_per_sec") > sizeof(k))
        return false;
    memcpy(k, key, n);
    memcpy(k + n, "_per_sec", sizeof("_per_sec"));
    if (json_object_object_get_ex(obj, k, NULL))
        return true;
    memcpy(k + n, "_rate", sizeof("_rate"));
    return json_object_object_get_ex(obj, k, NULL);
}

static const char *str_member(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Name of array element i: a name-like member, or its position. */
static void element_name(json_object *el, size_t i, char *buf, size_t len)
{
    json_object *v;
    const char *chip = str_member(el, "chip"), *label = str_member(el, "label");
    const char *name = str_member(el, "name");
    if (chip && label)
        snprintf(buf, len, "%s/%s", chip, label);
    else if (name && json_object_object_get_ex(el, "pid", &v))
        snprintf(buf, len, "%s:%lld", name, (long long)json_object_get_int64(v));
    else if (name || label || (name = str_member(el, "device")))
        snprintf(buf, len, "%s", name ? name : label);
    else if (json_object_object_get_ex(el, "cpu", &v) && json_object_is_type(v, json_type_int))
        snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
    else
        snprintf(buf, len, "%zu", i);
}

/* Series one message may feed: a 1 MB message of numbers would otherwise
 * make 100,000 of them. The agent's largest messages have a few hundred. */
#define LEAVES_MAX 4096

struct walk {
    hp_flat_fn fn;
    void *ud;
    unsigned leaves;
    char path[HP_PATH_MAX];
};

static int walk(struct walk *w, json_object *v, size_t plen);

/* Append ".name" (or "name" at the top) to the path and walk v there. */
static int walk_child(struct walk *w, json_object *v, size_t plen, const char *name)
{
    size_t nl = strlen(name), n = nl + (plen ? 1 : 0);
    if (plen + n >= sizeof(w->path))
        return 0; /* too deep or too long: no series */
    if (plen)
        w->path[plen] = '.';
    memcpy(w->path + plen + (plen ? 1 : 0), name, nl + 1);
    int rc = walk(w, v, plen + n);
    w->path[plen] = '\0';
    return rc;
}

static int walk(struct walk *w, json_object *v, size_t plen)
{
    switch (json_object_get_type(v)) {
    case json_type_int:
    case json_type_double:
    case json_type_boolean: {
        double d = json_object_get_double(v);
        if (!plen || !isfinite(d) || ++w->leaves > LEAVES_MAX)
            return 0;
        return w->fn(w->ud, w->path, plen, d);
    }
    case json_type_object: {
        json_object_object_foreach(v, key, child)
        {
            if (skipped(key) || (json_object_is_type(child, json_type_int) && has_rate(v, key)))
                continue;
            int rc = walk_child(w, child, plen, key);
            if (rc)
                return rc;
        }
        return 0;
    }
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *el = json_object_array_get_idx(v, i);
            char name[128];
            element_name(el, i, name, sizeof(name));
            int rc = walk_child(w, el, plen, name);
            if (rc)
                return rc;
        }
        return 0;
    default:
        return 0;
    }
}

int hp_store_flatten(const char *reporter, json_object *data, hp_flat_fn fn, void *ud)
{
    if (strcmp(reporter, "session") == 0 || strcmp(reporter, "ipaddr") == 0)
        return 0;
    struct walk w = {.fn = fn, .ud = ud};
    return walk(&w, data, 0);
}
