/* SPDX-License-Identifier: Apache-2.0 */
/* msg.c -- message allocation, the v1 envelope, and JSON number helpers. */
#include "lib/msg.h"

#include <json-c/printbuf.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How envelopes are serialized: compact, '/' as it is. */
#define ENVELOPE_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* A message with room for len bytes of JSON (not yet written, but its
 * terminating NUL), and its identity copied. NULL on ENOMEM. */
static struct hp_msg *msg_alloc(const struct hp_envelope *id, const char *reporter, uint64_t seq,
                                int64_t ts_ms, size_t len)
{
    const char *host = id && id->host ? id->host : "";
    const char *session = id && id->session ? id->session : "";
    size_t hl = strlen(host) + 1, sl = strlen(session) + 1;
    if (len > UINT32_MAX)
        return NULL;
    struct hp_msg *m = malloc(sizeof(*m) + len + 1 + hl + sl);
    if (!m)
        return NULL;
    atomic_init(&m->refs, 1);
    m->len = (uint32_t)len;
    m->seq = seq;
    m->ts_ms = ts_ms;
    snprintf(m->reporter, sizeof(m->reporter), "%s", reporter);
    m->json[len] = '\0';
    m->host = memcpy(m->json + len + 1, host, hl);
    m->session = memcpy(m->json + len + 1 + hl, session, sl);
    return m;
}

struct hp_msg *hp_msg_new_id(const struct hp_envelope *id, const char *reporter, uint64_t seq,
                             int64_t ts_ms, const char *json, size_t len)
{
    struct hp_msg *m = msg_alloc(id, reporter, seq, ts_ms, len);
    if (m)
        memcpy(m->json, json, len);
    return m;
}

struct hp_msg *hp_msg_new(const char *reporter, uint64_t seq, int64_t ts_ms, const char *json,
                          size_t len)
{
    return hp_msg_new_id(NULL, reporter, seq, ts_ms, json, len);
}

/* The string member key of envelope o, or NULL. */
static const char *member_string(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

void hp_msg_unref(struct hp_msg *m)
{
    /* M2: acq_rel: the release orders this thread's reads of the message
     * before the last holder's free; the acquire on the last drop sees
     * every other holder's reads done. */
    if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
        free(m);
}

struct hp_msg *hp_msg_parse(const char *json, size_t len)
{
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return NULL;
    json_object *o = json_tokener_parse_ex(tok, json, (int)len);
    bool ok = o && json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    json_object *seq, *ts;
    struct hp_msg *m = NULL;
    const char *rep = ok ? member_string(o, "reporter") : NULL;
    struct hp_envelope id = {.host = member_string(o, "host"),
                             .session = member_string(o, "session")};
    if (rep && hp_name_ok(rep) && json_object_object_get_ex(o, "seq", &seq) &&
        json_object_object_get_ex(o, "ts", &ts))
        m = hp_msg_new_id(&id, rep, (uint64_t)json_object_get_int64(seq), json_object_get_int64(ts),
                          json, len);
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
    if (env->labels && env->labels[0]) {
        json_object *l = json_object_new_object();
        for (size_t i = 0; env->labels[i] && env->labels[i + 1]; i += 2)
            json_object_object_add(l, env->labels[i], json_object_new_string(env->labels[i + 1]));
        json_object_object_add(o, "labels", l);
    }
    json_object_object_add(o, "data", data);
    return o;
}

struct hp_msg *hp_msg_from_json(json_object *envelope, const char *reporter, uint64_t seq,
                                int64_t ts_ms)
{
    size_t len;
    const char *s = json_object_to_json_string_length(envelope, ENVELOPE_FLAGS, &len);
    struct hp_envelope id = {.host = member_string(envelope, "host"),
                             .session = member_string(envelope, "session")};
    return s ? hp_msg_new_id(&id, reporter, seq, ts_ms, s, len) : NULL;
}

/* The reference: printf's correctly rounded "%.*f", trimmed. */
static size_t fmt_fixed_printf(char *buf, size_t cap, double v, int decimals)
{
    int n = snprintf(buf, cap, "%.*f", decimals, v);
    if (n < 0 || (size_t)n >= cap)
        return 0;
    /* Trim trailing zeros (and a bare '.') so 12.50 prints as 12.5. */
    if (decimals > 0) {
        while (n > 1 && buf[n - 1] == '0')
            buf[--n] = '\0';
        if (buf[n - 1] == '.')
            buf[--n] = '\0';
    }
    if (strcmp(buf, "-0") == 0) {
        strcpy(buf, "0");
        n = 1;
    }
    return (size_t)n;
}

/* Digits of v at p, width digits at least (zero-padded); the end. */
static char *put_digits(char *p, uint64_t v, int width)
{
    char t[24];
    int n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n < width)
        t[n++] = '0';
    while (n > 0)
        *p++ = t[--n];
    return p;
}

size_t hp_fmt_fixed(char *buf, size_t cap, double v, int decimals)
{
    static const double P10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    if (decimals < 0 || decimals > 9 || !isfinite(v) || cap < 48)
        return fmt_fixed_printf(buf, cap, v, decimals);
    double scaled = fabs(v) * P10[decimals]; /* one rounding: error <= scaled * 2^-53 */
    if (!(scaled < 1e12))
        return fmt_fixed_printf(buf, cap, v, decimals);
    double fl = floor(scaled), frac = scaled - fl;  /* both exact */
    if (fabs(frac - 0.5) <= scaled * 4e-16 + 1e-12) /* (near) a tie: let printf decide */
        return fmt_fixed_printf(buf, cap, v, decimals);
    /* Not near a tie, so the product's rounding error cannot move the
     * correctly rounded result: the same digits printf prints. */
    uint64_t r = (uint64_t)fl + (frac > 0.5), p10 = (uint64_t)P10[decimals];
    uint64_t ip = r / p10, fp = r % p10;
    char *p = buf;
    if (v < 0 && r != 0)
        *p++ = '-';
    p = put_digits(p, ip, 1);
    if (fp) {
        int width = decimals;
        while (fp % 10 == 0) { /* trailing zeros */
            fp /= 10;
            width--;
        }
        *p++ = '.';
        p = put_digits(p, fp, width);
    }
    *p = '\0';
    return (size_t)(p - buf);
}

/* json-c's serializer of a double added by hp_json_add_double: its value
 * with the decimals kept as the object's userdata (no allocation), as
 * hp_fmt_fixed prints it. */
static int fixed_to_json(json_object *o, struct printbuf *pb, int level, int flags)
{
    (void)level;
    (void)flags;
    char buf[48];
    int decimals = (int)(intptr_t)json_object_get_userdata(o);
    size_t n = hp_fmt_fixed(buf, sizeof(buf), json_object_get_double(o), decimals);
    return printbuf_memappend(pb, buf, (int)n);
}

void hp_json_add_double(json_object *obj, const char *key, double v, int decimals)
{
    if (!isfinite(v))
        return; /* JSON has no NaN/Inf: leave the field out */
    char buf[48];
    if (fabs(v) >= 1e12 || decimals < 0 || decimals > 9) { /* rare: as text, if it fits */
        if (hp_fmt_fixed(buf, sizeof(buf), v, decimals) != 0)
            json_object_object_add(obj, key, json_object_new_double_s(v, buf));
        return;
    }
    /* Below 1e12 with at most 9 decimals it always fits buf: printed when
     * serialized, the same text, without a copy of it per value. */
    json_object *d = json_object_new_double(v);
    if (d)
        json_object_set_serializer(d, fixed_to_json, (void *)(intptr_t)decimals, NULL);
    json_object_object_add(obj, key, d);
}

/* json-c prints integers with snprintf; these print the same digits
 * without it (most values of a message are integers). */
size_t hp_fmt_i64(char *buf, int64_t v)
{
    char *p = buf;
    if (v < 0)
        *p++ = '-';
    p = put_digits(p, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, 1);
    return (size_t)(p - buf);
}

size_t hp_fmt_u64(char *buf, uint64_t v)
{
    return (size_t)(put_digits(buf, v, 1) - buf);
}

static int int_to_json(json_object *o, struct printbuf *pb, int level, int flags)
{
    (void)level;
    (void)flags;
    char buf[24];
    return printbuf_memappend(pb, buf, (int)hp_fmt_i64(buf, json_object_get_int64(o)));
}

static int uint_to_json(json_object *o, struct printbuf *pb, int level, int flags)
{
    (void)level;
    (void)flags;
    char buf[24];
    return printbuf_memappend(pb, buf, (int)hp_fmt_u64(buf, json_object_get_uint64(o)));
}

void hp_json_add_int(json_object *obj, const char *key, int64_t v)
{
    json_object *i = json_object_new_int64(v);
    if (i)
        json_object_set_serializer(i, int_to_json, NULL, NULL);
    json_object_object_add(obj, key, i);
}

void hp_json_add_uint(json_object *obj, const char *key, uint64_t v)
{
    json_object *u = json_object_new_uint64(v);
    if (u)
        json_object_set_serializer(u, uint_to_json, NULL, NULL);
    json_object_object_add(obj, key, u);
}

void hp_json_add_string(json_object *obj, const char *key, const char *v)
{
    json_object_object_add(obj, key, json_object_new_string(v ? v : ""));
}

/* ---- envelopes written around their data ------------------------------- */

/* The text of o as an envelope holds it, in a new string; takes o. */
static char *json_text(json_object *o)
{
    const char *s = o ? json_object_to_json_string_ext(o, ENVELOPE_FLAGS) : NULL;
    char *copy = s ? strdup(s) : NULL;
    json_object_put(o);
    return copy;
}

void hp_envelope_text_init(struct hp_envelope_text *t, const struct hp_envelope *id)
{
    memset(t, 0, sizeof(*t));
    t->id = id;
    t->host = json_text(json_object_new_string(id->host ? id->host : ""));
    t->session = json_text(json_object_new_string(id->session ? id->session : ""));
    bool labels = id->labels && id->labels[0]; /* as hp_envelope_new has them */
    if (labels) {
        json_object *l = json_object_new_object();
        for (size_t i = 0; l && id->labels[i] && id->labels[i + 1]; i += 2)
            json_object_object_add(l, id->labels[i], json_object_new_string(id->labels[i + 1]));
        t->labels = json_text(l);
    }
    if (!t->host || !t->session || (labels && !t->labels)) {
        hp_envelope_text_fini(t);
        t->id = id;
    }
}

void hp_envelope_text_fini(struct hp_envelope_text *t)
{
    free(t->host);
    free(t->session);
    free(t->labels);
    memset(t, 0, sizeof(*t));
}

struct piece {
    const char *p;
    size_t n;
};
#define LIT(s)          ((struct piece){s, sizeof(s) - 1})
#define LIT_IF(s, cond) ((struct piece){s, (cond) ? sizeof(s) - 1 : 0})

/* The message from the tree: when t could not be made, or for a reporter
 * name that would need escaping (names are checked where they are
 * configured: that does not happen). */
static struct hp_msg *wrap_tree(const struct hp_envelope_text *t, const char *reporter,
                                uint64_t seq, int64_t ts_ms, double interval, const char *text,
                                size_t len)
{
    struct json_tokener *tok = json_tokener_new();
    json_object *data = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
    if (tok)
        json_tokener_free(tok);
    if (!data)
        return NULL;
    json_object *env = hp_envelope_new(t->id, reporter, ts_ms, seq, interval, data);
    struct hp_msg *m = hp_msg_from_json(env, reporter, seq, ts_ms);
    json_object_put(env);
    return m;
}

struct hp_msg *hp_msg_wrap(const struct hp_envelope_text *t, const char *reporter, uint64_t seq,
                           int64_t ts_ms, double interval, const char *d, size_t dl)
{
    if (!t->host || !hp_name_ok(reporter))
        return wrap_tree(t, reporter, seq, ts_ms, interval, d, dl);
    char v[24], ts[24], sq[24], iv[48];
    size_t il = isfinite(interval) ? hp_fmt_fixed(iv, sizeof(iv), interval, 3) : 0;
    /* In hp_envelope_new's order, as json-c writes it. */
    const struct piece parts[] = {
        LIT("{\"v\":"),
        {v, hp_fmt_i64(v, HP_ENVELOPE_VERSION)},
        LIT(",\"host\":"),
        {t->host, strlen(t->host)},
        LIT(",\"reporter\":\""),
        {reporter, strlen(reporter)},
        LIT("\",\"ts\":"),
        {ts, hp_fmt_i64(ts, ts_ms)},
        LIT(",\"session\":"),
        {t->session, strlen(t->session)},
        LIT(",\"seq\":"),
        {sq, hp_fmt_i64(sq, (int64_t)seq)},
        LIT_IF(",\"interval\":", il),
        {iv, il},
        LIT_IF(",\"labels\":", t->labels),
        {t->labels ? t->labels : "", t->labels ? strlen(t->labels) : 0},
        LIT(",\"data\":"),
        {d, dl},
        LIT("}"),
    };
    enum { NPARTS = sizeof(parts) / sizeof(parts[0]) };
    size_t len = 0;
    for (size_t i = 0; i < NPARTS; i++)
        len += parts[i].n;
    struct hp_msg *m = msg_alloc(t->id, reporter, seq, ts_ms, len);
    if (!m)
        return NULL;
    char *p = m->json;
    for (size_t i = 0; i < NPARTS; i++) {
        memcpy(p, parts[i].p, parts[i].n);
        p += parts[i].n;
    }
    return m;
}
