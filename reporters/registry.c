/* SPDX-License-Identifier: Apache-2.0 */
/* registry.c -- every reporter type. Adding one: a new file in reporters/
 * and one X(name) line in HP_REPORTERS below. The order is the order of
 * threads and of --once. */
#include "reporters/reporter.h"

#include "lib/buf.h"
#include "lib/json_read.h"
#include "lib/log.h"

#include <stdio.h>
#include <string.h>

/* One line per reporter type, in order: X(name) for a file that defines
 * `const struct hp_reporter_ops hp_reporter_name`. */
/* clang-format off */
#define HP_REPORTERS(X)                                                                            \
    X(cpu)                                                                                         \
    X(mem)                                                                                         \
    X(net)                                                                                         \
    X(uptime)                                                                                      \
    X(ipaddr)                                                                                      \
    X(disk)                                                                                        \
    X(process)                                                                                     \
    X(temperature)                                                                                 \
    X(pressure)                                                                                    \
    X(netstat)                                                                                     \
    X(cgroup)                                                                                      \
    X(self) /* last: in --once it reports on the others */
/* clang-format on */

#define HP_DECLARE(n) extern const struct hp_reporter_ops hp_reporter_##n;
HP_REPORTERS(HP_DECLARE)
#define HP_ENTRY(n) &hp_reporter_##n,
const struct hp_reporter_ops *const hp_reporter_types[] = {HP_REPORTERS(HP_ENTRY) NULL};

const struct hp_reporter_ops *hp_reporter_find(const char *name)
{
    for (const struct hp_reporter_ops *const *t = hp_reporter_types; name && *t; t++)
        if (strcmp((*t)->name, name) == 0)
            return *t;
    return NULL;
}

/* JSON as the envelope holds it (lib/msg.c): compact, '/' as it is. */
#define TEXT_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

int hp_reporter_write(struct hp_reporter *r, struct hp_buf *text)
{
    struct hp_jw w;
    hp_jw_start(&w, text);
    if (r->ops->write) {
        int rc = r->ops->write(r, &w);
        return hp_jw_finish(&w) == 0 ? rc : -1;
    }
    json_object *data = json_object_new_object();
    int rc = data ? r->ops->sample(r, data) : -1;
    size_t n = 0;
    const char *s = rc == 0 ? json_object_to_json_string_length(data, TEXT_FLAGS, &n) : NULL;
    text->len = 0; /* the tree's text replaces the writer's "{" */
    if (s && hp_buf_put(text, s, n) != 0)
        s = NULL;
    json_object_put(data);
    return rc == 0 && s ? 0 : -1;
}

/* The first key that an object in n's subtree has twice, or NULL. */
static const char *repeated_key(const struct hp_json *j, const struct hp_jnode *n)
{
    for (const struct hp_jnode *c = hp_json_child(j, n); c; c = hp_json_next(j, c)) {
        for (const struct hp_jnode *d = hp_json_next(j, c); d && c->key; d = hp_json_next(j, d))
            if (c->klen == d->klen && memcmp(c->key, d->key, c->klen) == 0)
                return c->key;
        const char *k = c->type == HP_JOBJECT || c->type == HP_JARRAY ? repeated_key(j, c) : NULL;
        if (k)
            return k;
    }
    return NULL;
}

/* A writer's text that json-c would read without complaint but that is
 * wrong: a key written twice (json-c would keep one, hiding the other from
 * a test). Logged; true when found. */
static bool text_is_wrong(const struct hp_reporter *r, const struct hp_buf *text)
{
    struct hp_json j = {.any_bytes = true};
    const char *k = NULL;
    if (hp_json_parse(&j, text->p, text->len) == 0 && (k = repeated_key(&j, hp_json_root(&j))))
        hp_err("%s: the message has the key \"%s\" twice in one object", r->ops->name, k);
    hp_json_free(&j);
    return k != NULL;
}

int hp_reporter_sample(struct hp_reporter *r, json_object *data)
{
    if (!r->ops->write)
        return r->ops->sample(r, data);
    struct hp_buf text = {0};
    int rc = hp_reporter_write(r, &text);
    json_object *o = text.p && !text_is_wrong(r, &text) ? json_tokener_parse(text.p) : NULL;
    if (!o && rc == 0)
        rc = -1;
    if (o) {
        json_object_object_foreach(o, key, val)
        {
            json_object_object_add(data, key, json_object_get(val));
        }
        json_object_put(o);
    }
    hp_buf_free(&text);
    return rc;
}

const char *hp_proc_path(const struct hp_reporter *r, char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/%s", r->proc_root, rel);
    return buf;
}

const char *hp_sys_path(const struct hp_reporter *r, char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/%s", r->sys_root, rel);
    return buf;
}
