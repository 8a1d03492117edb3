/* SPDX-License-Identifier: Apache-2.0 */
/* es_bulk.c -- builds Elasticsearch `_bulk` NDJSON bodies from messages
 * (see es_bulk.h for the document shape). JSON goes through json-c. */
#include "transport/sinks/es_bulk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int hp_es_bulk_init(struct hp_es_bulk *b)
{
    memset(b, 0, sizeof(*b));
    b->tok = json_tokener_new();
    return b->tok ? 0 : -1;
}

void hp_es_bulk_free(struct hp_es_bulk *b)
{
    hp_buf_free(&b->body);
    if (b->tok)
        json_tokener_free(b->tok);
    memset(b, 0, sizeof(*b));
}

static int put(struct hp_es_bulk *b, const char *s, size_t n)
{
    return hp_buf_put(&b->body, s, n);
}

static int put_json_line(struct hp_es_bulk *b, json_object *o)
{
    size_t n;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    return s && put(b, s, n) == 0 && put(b, "\n", 1) == 0 ? 0 : -1;
}

int hp_es_index_name(const struct hp_tmpl *tmpl, const struct hp_msg *m, char *buf, size_t len)
{
    struct hp_tmpl_vars v = {
        .host = m->host, .reporter = m->reporter, .session = m->session, .ts_ms = m->ts_ms};
    return hp_tmpl_expand(tmpl, &v, buf, len) > 0 ? 0 : -1;
}

int hp_es_index_compile(struct hp_tmpl *t, const char *text, char *why, size_t len)
{
    const char *bad = hp_es_index_check(text);
    if (bad) {
        snprintf(why, len, "%s", bad);
        return -1;
    }
    return hp_tmpl_compile(t, text, HP_ES_INDEX_PARTS, why, len);
}

const char *hp_es_index_check(const char *tmpl)
{
    if (!tmpl || !*tmpl)
        return "must not be empty";
    if (strlen(tmpl) >= HP_ES_INDEX_MAX)
        return "is too long";
    if (tmpl[0] == '_' || tmpl[0] == '-' || tmpl[0] == '+')
        return "must not start with _, - or +";
    for (const char *p = tmpl; *p; p++) {
        if (*p == '%') { /* only conversions that give digits */
            if (!*++p || !strchr("YymdHMSjUWVGgCuws%", *p))
                return "may only use the strftime conversions %Y %y %m %d %H %M %S %j %U %W %V "
                       "%G %g %C %u %w %s %%";
            continue;
        }
        if (*p >= 'A' && *p <= 'Z')
            return "must be lowercase (Elasticsearch index names are)";
        if (strchr("\\/*?\"<>| ,#", *p))
            return "must not contain \\ / * ? \" < > | space , or #";
    }
    return NULL;
}

/* The action line for m; NULL on ENOMEM or when the envelope lacks ids. */
static json_object *action_for(const struct hp_tmpl *tmpl, const struct hp_msg *m, json_object *env)
{
    json_object *host, *session;
    if (!json_object_object_get_ex(env, "host", &host) ||
        !json_object_object_get_ex(env, "session", &session))
        return NULL;
    char index[HP_ES_INDEX_MAX], id[512];
    if (hp_es_index_name(tmpl, m, index, sizeof(index)) != 0)
        return NULL;
    snprintf(id, sizeof(id), "%s:%s:%s:%llu", json_object_get_string(host),
             json_object_get_string(session), m->reporter, (unsigned long long)m->seq);
    json_object *meta = json_object_new_object();
    json_object *act = json_object_new_object();
    if (!meta || !act) {
        json_object_put(meta);
        json_object_put(act);
        return NULL;
    }
    json_object_object_add(meta, "_index", json_object_new_string(index));
    json_object_object_add(meta, "_id", json_object_new_string(id));
    json_object_object_add(act, "index", meta);
    return act;
}

int hp_es_bulk_add(struct hp_es_bulk *b, const struct hp_tmpl *tmpl, const struct hp_msg *m)
{
    json_tokener_reset(b->tok);
    json_object *env = json_tokener_parse_ex(b->tok, m->json, (int)m->len);
    if (!env || !json_object_is_type(env, json_type_object)) {
        json_object_put(env);
        return 1;
    }
    json_object *act = action_for(tmpl, m, env);
    if (!act) {
        json_object_put(env);
        return 1;
    }
    json_object_object_add(env, "@timestamp", json_object_new_int64(m->ts_ms));
    size_t before = b->body.len;
    int rc = put_json_line(b, act) == 0 && put_json_line(b, env) == 0 ? 0 : -1;
    json_object_put(act);
    json_object_put(env);
    if (rc) {
        b->body.len = before;
        if (b->body.p)
            b->body.p[before] = '\0';
        return -1;
    }
    b->ndocs++;
    return 0;
}
