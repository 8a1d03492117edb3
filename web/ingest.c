/* SPDX-License-Identifier: Apache-2.0 */
/* ingest.c -- the ingest thread: envelope validation, batching, commits.
 *
 * A message that is not valid JSON, has another envelope version, lacks a
 * required field or is oversized is counted (in the store, by reason),
 * logged at a bounded rate with that reason, and reported to the input as
 * HP_ADD_REJECTED so that it acks it like any other: a bad message never
 * blocks the queue. Running out of memory while reading one is not the
 * message's fault: it fails like the store does (HP_ADD_FAILED, the open
 * transaction rolled back), so nothing is acked and the message comes
 * again. Valid ones go to the store's open transaction; the
 * input acks only after hp_ingest_commit succeeds (at least once), and the
 * store drops the duplicates that redelivery brings.
 *
 * Inputs that cannot read a message twice (stdin, a file) set keep: the
 * bodies of the open batch are kept until it commits, and replayed into a
 * new transaction when a commit fails, so a store hiccup loses nothing. */
#include "web/ingest.h"
#include "lib/json_read.h"
#include "lib/clock.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAINT_EVERY_MS   60000
#define REJECT_LOG_BURST 10 /* reject lines logged per minute at most */

struct kept {
    char **body;
    size_t *len;
    size_t n, cap;
};

struct hp_ingest {
    const struct hp_web_conf *conf;
    struct hp_store *store;
    struct hp_json doc; /* reused for every message (ingest thread) */
    pthread_t thread;
    bool started;
    /* Written by the main thread, read by the ingest thread: relaxed, as
     * the flag carries no data with it (the join is the barrier). */
    atomic_bool stop;
    /* Set by the ingest thread at the end of input; relaxed, a hint. */
    atomic_bool finished;
    /* Counters: written by the ingest thread only, read by others with
     * relaxed loads (monotonic, read for statistics). */
    _Atomic uint64_t received, stored, duplicates, rejected, commits;
    int64_t batch_start_ms; /* monotonic ms of the first add of the open batch */
    int64_t next_maint_ms;
    bool keep;   /* keep the open batch's bodies for a replay */
    bool failed; /* the store failed since the last commit: the batch is gone */
    struct kept kept;
    int64_t log_window_ms; /* reject log rate limit: window start */
    unsigned log_count, log_suppressed;
};

static void count(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static void log_reject(struct hp_ingest *ing, const char *reason, const char *detail,
                       const char *host)
{
    int64_t now = hp_mono_ms();
    if (now - ing->log_window_ms >= 60000) {
        if (ing->log_suppressed)
            hp_warn("ingest: %u more bad messages not logged in the last minute",
                    ing->log_suppressed);
        ing->log_window_ms = now;
        ing->log_count = ing->log_suppressed = 0;
    }
    if (ing->log_count++ >= REJECT_LOG_BURST) {
        ing->log_suppressed++;
        return;
    }
    hp_warn("ingest: rejected a message (%s: %s)%s%.64s", reason, detail, host ? " from host " : "",
            host ? host : "");
}

/* ---- validation ---- */

struct verdict {
    const char *reason; /* NULL: valid */
    char detail[160];
    const char *host; /* when known, for the reject log */
};

static bool get_string(const struct hp_json *j, const char *key, size_t max, const char **out)
{
    const struct hp_jnode *v = hp_json_get(j, hp_json_root(j), key);
    if (!v || v->type != HP_JSTRING)
        return false;
    *out = v->str;
    return v->slen > 0 && v->slen <= max && strlen(v->str) == v->slen;
}

static bool get_int(const struct hp_json *j, const char *key, int64_t min, int64_t *out)
{
    const struct hp_jnode *v = hp_json_get(j, hp_json_root(j), key);
    if (!v || v->type != HP_JINT)
        return false;
    *out = v->i;
    return *out >= min;
}

static void bad_field(struct verdict *vd, const char *field, const char *want)
{
    vd->reason = "fields";
    snprintf(vd->detail, sizeof(vd->detail), "\"%s\" is missing or not %s", field, want);
}

/* Check the parsed message j against envelope version 1 and fill m. */
static void check_envelope(const struct hp_json *j, struct hp_store_msg *m, struct verdict *vd)
{
    const struct hp_jnode *env = hp_json_root(j), *v;
    int64_t ver, seq;
    if (env->type != HP_JOBJECT)
        return (void)(vd->reason = "fields",
                      snprintf(vd->detail, sizeof(vd->detail), "the message is not a JSON object"));
    if (get_string(j, "host", 255, &m->host))
        vd->host = m->host;
    if (!get_int(j, "v", 0, &ver))
        return bad_field(vd, "v", "an integer");
    if (ver != 1)
        return (void)(vd->reason = "version",
                      snprintf(vd->detail, sizeof(vd->detail), "envelope version %lld, not 1",
                               (long long)ver));
    if (!vd->host)
        return bad_field(vd, "host", "a string of 1 to 255 bytes");
    if (!get_string(j, "reporter", 64, &m->reporter))
        return bad_field(vd, "reporter", "a string of 1 to 64 bytes");
    if (!get_string(j, "session", 128, &m->session))
        return bad_field(vd, "session", "a string of 1 to 128 bytes");
    if (!get_int(j, "seq", 0, &seq))
        return bad_field(vd, "seq", "an integer >= 0");
    m->seq = (uint64_t)seq;
    if (!get_int(j, "ts", 1, &m->ts_ms))
        return bad_field(vd, "ts", "an integer of epoch milliseconds");
    if (!(v = hp_json_get(j, env, "interval")) || !hp_json_is_number(v) ||
        (m->interval = v->num) < 0)
        return bad_field(vd, "interval", "a number >= 0");
    if (!(v = hp_json_get(j, env, "data")) || v->type != HP_JOBJECT)
        return bad_field(vd, "data", "an object");
    m->doc = j;
    m->jdata = v;
}

/* Parse body into j: 1; 0 with vd filled when it is not one JSON value;
 * -1 when memory ran out (the message may be fine: it must come again). */
static int parse(struct hp_json *j, const char *body, size_t len, struct verdict *vd)
{
    const char *nul = memchr(body, '\0', len);
    if (nul) {
        vd->reason = "json";
        snprintf(vd->detail, sizeof(vd->detail), "a NUL byte at offset %zu", (size_t)(nul - body));
        return 0;
    }
    int rc = hp_json_parse(j, body, len);
    if (rc == 0)
        return 1;
    if (rc == -2)
        return -1;
    vd->reason = "json";
    snprintf(vd->detail, sizeof(vd->detail), "%s at byte %zu", j->err, j->pos);
    return 0;
}

/* ---- the inputs' side ---- */

static int keep_body(struct hp_ingest *ing, const char *body, size_t len)
{
    struct kept *k = &ing->kept;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 256;
        char **b = realloc(k->body, cap * sizeof(*b));
        if (b)
            k->body = b;
        size_t *l = b ? realloc(k->len, cap * sizeof(*l)) : NULL;
        if (!l)
            return -1;
        k->len = l;
        k->cap = cap;
    }
    if (!(k->body[k->n] = malloc(len ? len : 1)))
        return -1;
    memcpy(k->body[k->n], body, len);
    k->len[k->n++] = len;
    return 0;
}

static void kept_clear(struct kept *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->body[i]);
    k->n = 0;
}

/* Validate and store one body; unread: an oversize body the input skipped
 * (body is NULL then). */
static enum hp_ingest_add store_one(struct hp_ingest *ing, const char *body, size_t len,
                                    bool unread)
{
    char err[512];
    struct verdict vd = {0};
    struct hp_store_msg m = {.json = body, .json_len = len};
    if (unread || len > (size_t)ing->conf->max_message) {
        vd.reason = "oversize";
        snprintf(vd.detail, sizeof(vd.detail), "%zu bytes, the limit is %lld", len,
                 (long long)ing->conf->max_message);
    } else {
        int p = parse(&ing->doc, body, len, &vd);
        if (p < 0) { /* not the message's fault: fail, so that it comes again */
            hp_store_rollback(ing->store);
            hp_err("ingest: out of memory reading a message of %zu bytes", len);
            return HP_ADD_FAILED;
        }
        if (p > 0)
            check_envelope(&ing->doc, &m, &vd);
    }
    enum hp_ingest_add res;
    if (vd.reason) {
        log_reject(ing, vd.reason, vd.detail, vd.host);
        res = hp_store_reject(ing->store, vd.reason, vd.host, hp_real_ms(), err, sizeof(err)) == 0
                  ? HP_ADD_REJECTED
                  : HP_ADD_FAILED;
    } else {
        enum hp_store_put p = hp_store_put(ing->store, &m, err, sizeof(err));
        res = p == HP_STORE_NEW ? HP_ADD_STORED : p == HP_STORE_DUP ? HP_ADD_DUP : HP_ADD_FAILED;
    }
    if (res == HP_ADD_FAILED)
        hp_err("ingest: %s", err);
    return res;
}

static enum hp_ingest_add add(struct hp_ingest *ing, const char *body, size_t len, bool unread)
{
    if (!body) /* an empty AMQP body, or an unread one */
        body = "";
    if (hp_store_pending(ing->store) == 0)
        ing->batch_start_ms = hp_mono_ms();
    if (ing->keep && keep_body(ing, body, len) != 0) {
        hp_err("ingest: out of memory");
        ing->failed = true;
        return HP_ADD_FAILED;
    }
    if (ing->failed) /* kept for the replay, or refused until the input resyncs */
        return ing->keep ? HP_ADD_STORED : HP_ADD_FAILED;
    enum hp_ingest_add res = store_one(ing, body, len, unread);
    ing->failed = res == HP_ADD_FAILED;
    count(&ing->received);
    if (res == HP_ADD_STORED)
        count(&ing->stored);
    else if (res == HP_ADD_DUP)
        count(&ing->duplicates);
    else if (res == HP_ADD_REJECTED)
        count(&ing->rejected);
    return res;
}

enum hp_ingest_add hp_ingest_add(struct hp_ingest *ing, const char *body, size_t len)
{
    return add(ing, body, len, false);
}

enum hp_ingest_add hp_ingest_oversize(struct hp_ingest *ing, size_t len)
{
    bool keep = ing->keep;
    ing->keep = false; /* nothing to keep: a replay would not see it */
    enum hp_ingest_add res = add(ing, NULL, len, true);
    ing->keep = keep;
    return res;
}

bool hp_ingest_due(const struct hp_ingest *ing)
{
    size_t n = hp_store_pending(ing->store);
    int64_t now = hp_mono_ms();
    if (n && (n >= (size_t)ing->conf->batch_max ||
              now - ing->batch_start_ms >= (int64_t)(ing->conf->batch_wait * 1000)))
        return true;
    return now >= ing->next_maint_ms;
}

int hp_ingest_wait_ms(const struct hp_ingest *ing)
{
    int64_t now = hp_mono_ms(), due = ing->next_maint_ms;
    if (hp_store_pending(ing->store)) {
        int64_t batch = ing->batch_start_ms + (int64_t)(ing->conf->batch_wait * 1000);
        due = batch < due ? batch : due;
    }
    int64_t w = due - now;
    return w < 0 ? 0 : w > 200 ? 200 : (int)w;
}

/* Replay the kept bodies into a new transaction after a failed commit. */
static int replay(struct hp_ingest *ing)
{
    struct kept k = ing->kept;
    ing->kept = (struct kept){0};
    ing->keep = false;
    int rc = 0;
    for (size_t i = 0; i < k.n && rc == 0; i++)
        rc = store_one(ing, k.body[i], k.len[i], false) == HP_ADD_FAILED ? -1 : 0;
    ing->keep = true;
    ing->kept = k;
    return rc;
}

static void maintain(struct hp_ingest *ing)
{
    char err[512];
    int64_t t0 = hp_mono_ms();
    if (hp_store_maintain(ing->store, hp_real_ms(), err, sizeof(err)) != 0)
        hp_err("ingest: maintenance: %s", err);
    ing->next_maint_ms = hp_mono_ms() + MAINT_EVERY_MS;
    hp_debug("ingest: maintenance took %lld ms", (long long)(hp_mono_ms() - t0));
}

int hp_ingest_commit(struct hp_ingest *ing)
{
    char err[512];
    int64_t backoff = 100;
    for (;;) {
        if (!ing->failed && hp_store_commit(ing->store, err, sizeof(err)) == 0)
            break;
        if (!ing->failed)
            hp_err("ingest: commit: %s", err);
        ing->failed = true;
        if (!ing->keep || hp_ingest_stopping(ing)) {
            /* The input must not ack: it reconnects and the broker resends. */
            ing->failed = false;
            kept_clear(&ing->kept);
            return -1;
        }
        usleep((useconds_t)backoff * 1000);
        backoff = backoff < 5000 ? backoff * 2 : 5000;
        ing->failed = replay(ing) != 0;
    }
    kept_clear(&ing->kept);
    count(&ing->commits);
    if (hp_mono_ms() >= ing->next_maint_ms)
        maintain(ing);
    return 0;
}

bool hp_ingest_stopping(const struct hp_ingest *ing)
{
    return atomic_load_explicit(&ing->stop, memory_order_relaxed);
}

const struct hp_web_conf *hp_ingest_conf(const struct hp_ingest *ing)
{
    return ing->conf;
}

/* ---- the thread ---- */

static int run_input(struct hp_ingest *ing)
{
    const struct hp_web_conf *c = ing->conf;
    switch (c->input) {
    case HP_IN_STDIN:
        return hp_input_stdin_run(ing, STDIN_FILENO, "stdin");
    case HP_IN_FILE: {
        int fd = open(c->input_file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            hp_err("ingest: cannot open %s: %s", c->input_file, strerror(errno));
            return -1;
        }
        int rc = hp_input_stdin_run(ing, fd, c->input_file);
        close(fd);
        return rc;
    }
    case HP_IN_AMQP:
        return hp_input_amqp_run(ing);
    case HP_IN_KAFKA:
        return hp_input_kafka_run(ing);
    case HP_IN_MQTT:
        return hp_input_mqtt_run(ing);
    default:
        return 0;
    }
}

static void *thread_main(void *arg)
{
    struct hp_ingest *ing = arg;
    run_input(ing);
    hp_ingest_commit(ing);
    atomic_store_explicit(&ing->finished, true, memory_order_relaxed);
    /* The input is over (end of stdin): keep applying retention. */
    while (!hp_ingest_stopping(ing)) {
        usleep(200 * 1000);
        if (hp_mono_ms() >= ing->next_maint_ms)
            maintain(ing);
    }
    return NULL;
}

struct hp_ingest *hp_ingest_open(const struct hp_web_conf *conf, char *err, size_t len)
{
    struct hp_ingest *ing = calloc(1, sizeof(*ing));
    if (!ing) {
        snprintf(err, len, "out of memory");
        return NULL;
    }
    ing->conf = conf;
    ing->keep = conf->input == HP_IN_STDIN || conf->input == HP_IN_FILE;
    ing->next_maint_ms = hp_mono_ms() + 1000; /* catch up soon after a restart */
    struct hp_store_opts o = {.retention_hours = conf->retention_hours,
                              .rollup_days = conf->rollup_days};
    ing->store = hp_store_open(conf->db, &o, err, len);
    if (!ing->store) {
        free(ing);
        return NULL;
    }
    return ing;
}

struct hp_ingest *hp_ingest_start(const struct hp_web_conf *conf, char *err, size_t len)
{
    struct hp_ingest *ing = hp_ingest_open(conf, err, len);
    if (!ing)
        return NULL;
    int rc = pthread_create(&ing->thread, NULL, thread_main, ing);
    if (rc != 0) {
        snprintf(err, len, "ingest: cannot start its thread: %s", strerror(rc));
        hp_ingest_close(ing);
        return NULL;
    }
    ing->started = true;
    return ing;
}

void hp_ingest_stop(struct hp_ingest *ing)
{
    if (!ing)
        return;
    atomic_store_explicit(&ing->stop, true, memory_order_relaxed);
    if (ing->started)
        pthread_join(ing->thread, NULL);
    hp_ingest_close(ing);
}

void hp_ingest_close(struct hp_ingest *ing)
{
    if (!ing)
        return;
    char err[512];
    if (hp_store_commit(ing->store, err, sizeof(err)) != 0)
        hp_err("ingest: final commit: %s", err);
    hp_store_close(ing->store);
    hp_json_free(&ing->doc);
    kept_clear(&ing->kept);
    free(ing->kept.body);
    free(ing->kept.len);
    free(ing);
}

void hp_ingest_no_maintenance(struct hp_ingest *ing)
{
    ing->next_maint_ms = INT64_MAX;
}

bool hp_ingest_finished(const struct hp_ingest *ing)
{
    return atomic_load_explicit(&ing->finished, memory_order_relaxed);
}

void hp_ingest_counts(const struct hp_ingest *ing, struct hp_ingest_counts *out)
{
    out->received = atomic_load_explicit(&ing->received, memory_order_relaxed);
    out->stored = atomic_load_explicit(&ing->stored, memory_order_relaxed);
    out->duplicates = atomic_load_explicit(&ing->duplicates, memory_order_relaxed);
    out->rejected = atomic_load_explicit(&ing->rejected, memory_order_relaxed);
    out->commits = atomic_load_explicit(&ing->commits, memory_order_relaxed);
}
