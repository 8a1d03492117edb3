/* SPDX-License-Identifier: Apache-2.0 */
/* msg.h -- one serialized message: envelope v1 as JSON text plus the
 * envelope fields sinks need without re-parsing it (host, session,
 * reporter, seq, ts): a routing key, a topic, a message key or an index
 * name is built from these, never from the JSON.
 *
 * A reporter thread writes its data as JSON text (lib/jw.h, or a json-c
 * object serialized) and the hp_msg is written around it (hp_msg_wrap:
 * the envelope's fixed parts are text made once per run); after
 * hp_ring_push the transport thread owns it. The reference count lets
 * every sink's backlog hold the same message; each sink's delivery thread
 * drops its own references, so the count is atomic (M1/M2 below). The
 * rest of a message never changes after hp_msg_new. */
#ifndef HP_MSG_H
#define HP_MSG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "lib/opts.h"
#include <stdbool.h>

#define HP_ENVELOPE_VERSION 1
#define HP_NAME_MAX         32

struct hp_msg {
    _Atomic uint32_t refs;
    uint32_t len;               /* bytes of json, without the NUL */
    uint64_t seq;               /* per reporter, within the session */
    int64_t ts_ms;              /* sample time, epoch ms */
    char reporter[HP_NAME_MAX]; /* "cpu", "session", ... */
    const char *host;           /* the envelope's host: points into json's tail, */
    const char *session;        /* as does its session ("" when unknown) */
    char json[];                /* NUL-terminated envelope, then host and session */
};

/* Envelope identity shared by every message of a run. */
struct hp_envelope {
    const char *host;
    const char *session;
    /* agent.labels: name, value, name, value, ..., NULL; NULL or empty for
     * none (then the envelope has no "labels" member). Read-only while any
     * thread builds envelopes. */
    const char *const *labels;
};

/* Copy json into a new message with one reference, with the identity id
 * (NULL: host and session ""). NULL on ENOMEM. */
struct hp_msg *hp_msg_new_id(const struct hp_envelope *id, const char *reporter, uint64_t seq,
                             int64_t ts_ms, const char *json, size_t len);
/* The same without identity (tests, benchmarks). */
struct hp_msg *hp_msg_new(const char *reporter, uint64_t seq, int64_t ts_ms, const char *json,
                          size_t len);
/* Parse a serialized envelope (spool replay, tests): reporter, seq, ts, host
 * and session are taken from it. NULL if it is not one, or if its reporter
 * is not hp_name_ok() (it names files: CSV, tables). */
struct hp_msg *hp_msg_parse(const char *json, size_t len);
/* True if name can name a file or directory safely: 1 to HP_NAME_MAX - 1
 * of letters, digits, '_', '-', '.', not starting with '.' or '-' (so
 * never "..", "../x" or an option). Sink and reporter names. */
/* A name that may name a file or directory (sink, reporter, spool type):
 * hp_is_identifier (lib/opts.h) of at most HP_NAME_MAX - 1 bytes. */
static inline bool hp_name_ok(const char *name)
{
    return hp_is_identifier(name, HP_NAME_MAX);
}
static inline struct hp_msg *hp_msg_ref(struct hp_msg *m)
{
    /* M1: relaxed: a new reference is taken from one already held, so
     * nothing needs ordering here (the count cannot reach 0 meanwhile). */
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}
void hp_msg_unref(struct hp_msg *m);

/* Build {"v":1,"host":..,"reporter":..,"ts":..,"session":..,"seq":..,
 * "interval":..,"labels":{..},"data":data} ("labels" only when env has
 * some). Takes ownership of data. */
json_object *hp_envelope_new(const struct hp_envelope *env, const char *reporter, int64_t ts_ms,
                             uint64_t seq, double interval, json_object *data);
/* Serialize an envelope object into a new message (its host and session
 * are read from the object). NULL on error. */
struct hp_msg *hp_msg_from_json(json_object *envelope, const char *reporter, uint64_t seq,
                                int64_t ts_ms);

/* The parts of an identity that every envelope of a run repeats, as JSON
 * text (quoted and escaped by json-c), made once so that a reporter's
 * message is written around its serialized data: no envelope object is
 * built, serialized and freed per message. Owns its strings. */
struct hp_envelope_text {
    const struct hp_envelope *id; /* borrowed: the identity it was made from */
    char *host, *session;         /* "..." */
    char *labels;                 /* {...}, or NULL when the identity has none */
};
/* Remake it when id's labels change. Out of memory, t holds only id and
 * hp_msg_wrap builds each envelope as a tree: slower, the same bytes. */
void hp_envelope_text_init(struct hp_envelope_text *t, const struct hp_envelope *id);
void hp_envelope_text_fini(struct hp_envelope_text *t);
/* The message hp_msg_from_json(hp_envelope_new(t->id, ...)) makes, byte
 * for byte, written directly around data: the data object's JSON text (len
 * bytes, as json-c writes it with JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE, or lib/jw.h). NULL on ENOMEM (and, in
 * the tree fallback for an identity without text, when data does not
 * parse). */
struct hp_msg *hp_msg_wrap(const struct hp_envelope_text *t, const char *reporter, uint64_t seq,
                           int64_t ts_ms, double interval, const char *data, size_t len);

/* Helpers for json-c trees (the reporters that build one, the session
 * and health answers): add a number rounded to `decimals` places, so
 * messages stay short and stable ("12.5", not "12.500000000000002"). */
void hp_json_add_double(json_object *obj, const char *key, double v, int decimals);
/* The text hp_json_add_double writes: v rounded to `decimals` places as
 * printf("%.*f") rounds, trailing zeros and a bare '.' trimmed, "-0" as
 * "0"; without printf where the rounding is unambiguous. Into buf (cap
 * bytes, 48 are enough); the length, 0 if it does not fit. */
size_t hp_fmt_fixed(char *buf, size_t cap, double v, int decimals);
/* v in decimal, as json-c prints it, into buf (24 bytes are enough); the
 * length. Without snprintf: most values of a message are integers. */
size_t hp_fmt_i64(char *buf, int64_t v);
size_t hp_fmt_u64(char *buf, uint64_t v);
void hp_json_add_int(json_object *obj, const char *key, int64_t v);
void hp_json_add_uint(json_object *obj, const char *key, uint64_t v);
void hp_json_add_string(json_object *obj, const char *key, const char *v);

#endif
