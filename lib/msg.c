/* msg.c -- message allocation, the v1 envelope, and JSON number helpers. */
#include "lib/msg.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hp_msg *hp_msg_new(const char *reporter, uint64_t seq, int64_t ts_ms, const char *json,
                          size_t len)
{
    if (len > UINT32_MAX)
        return NULL;
    struct hp_msg *m = malloc(sizeof(*m) + len + 1);
    if (!m)
        return NULL;
    m->refs = 1;
    m->len = (uint32_t)len;
    m->seq = seq;
    m->ts_ms = ts_ms;
    snprintf(m->reporter, sizeof(m->reporter), "%s", reporter);
    memcpy(m->json, json, len);
    m->json[len] = '\0';
    return m;
}

void hp_msg_unref(struct hp_msg *m)
{
    if (m && --m->refs == 0)
        free(m);
}

bool hp_name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len >= HP_NAME_MAX || n[0] == '.' || n[0] == '-')
        return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return false;
    return true;
}

struct hp_msg *hp_msg_parse(const char *json, size_t len)
{
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return NULL;
    json_object *o = json_tokener_parse_ex(tok, json, (int)len);
    bool ok = o && json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    json_object *rep, *seq, *ts;
    struct hp_msg *m = NULL;
    if (ok && json_object_object_get_ex(o, "reporter", &rep) &&
        json_object_object_get_ex(o, "seq", &seq) && json_object_object_get_ex(o, "ts", &ts) &&
        json_object_is_type(rep, json_type_string) && hp_name_ok(json_object_get_string(rep)))
        m = hp_msg_new(json_object_get_string(rep), (uint64_t)json_object_get_int64(seq),
                       json_object_get_int64(ts), json, len);
    json_object_put(o);
    return m;
}

json_object *hp_envelope_new(const struct hp_envelope *env, const char *reporter, int64_t ts_ms,
                             uint64_t seq, double interval, json_object *data)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "v", json_object_new_int(HP_ENVELOPE_VERSION));
    json_object_object_add(o, "host", json_object_new_string(env->host));
    json_object_object_add(o, "reporter", json_object_new_string(reporter));
    json_object_object_add(o, "ts", json_object_new_int64(ts_ms));
    json_object_object_add(o, "session", json_object_new_string(env->session));
    json_object_object_add(o, "seq", json_object_new_int64((int64_t)seq));
    hp_json_add_double(o, "interval", interval, 3);
    json_object_object_add(o, "data", data);
    return o;
}

struct hp_msg *hp_msg_from_json(json_object *envelope, const char *reporter, uint64_t seq,
                                int64_t ts_ms)
{
    size_t len;
    const char *s = json_object_to_json_string_length(
        envelope, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    return s ? hp_msg_new(reporter, seq, ts_ms, s, len) : NULL;
}

void hp_json_add_double(json_object *obj, const char *key, double v, int decimals)
{
    if (!isfinite(v))
        return; /* JSON has no NaN/Inf: leave the field out */
    char buf[48];
    int n = snprintf(buf, sizeof(buf), "%.*f", decimals, v);
    /* Trim trailing zeros (and a bare '.') so 12.50 prints as 12.5. */
    if (decimals > 0) {
        while (n > 1 && buf[n - 1] == '0')
            buf[--n] = '\0';
        if (buf[n - 1] == '.')
            buf[--n] = '\0';
    }
    if (strcmp(buf, "-0") == 0)
        strcpy(buf, "0");
    json_object_object_add(obj, key, json_object_new_double_s(v, buf));
}

void hp_json_add_int(json_object *obj, const char *key, int64_t v)
{
    json_object_object_add(obj, key, json_object_new_int64(v));
}

void hp_json_add_uint(json_object *obj, const char *key, uint64_t v)
{
    json_object_object_add(obj, key, json_object_new_uint64(v));
}

void hp_json_add_string(json_object *obj, const char *key, const char *v)
{
    json_object_object_add(obj, key, json_object_new_string(v ? v : ""));
}
