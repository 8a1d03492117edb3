/* SPDX-License-Identifier: Apache-2.0 */
/* kafka.c -- the Kafka sink: every message is produced with librdkafka to a
 * topic named from a template ("hostpulse", "hp-{reporter}", "{host}.metrics").
 *
 * The message key is the host name, so one host's messages stay ordered
 * within one partition; headers carry reporter, session and seq. A message
 * leaves the backlog only when its delivery report says it was written
 * (acks = all and idempotence by default); a failed report, a message
 * timeout included, puts it back to be produced again.
 *
 * The payload is not copied: librdkafka points at the message's JSON, and
 * a slot (one per message in librdkafka's hands, at most `window`) holds
 * the message's backlog position and a reference to it until its delivery
 * report, so the JSON outlives librdkafka's use of it even if the backlog
 * drops the entry meanwhile. The slot's index travels as msg_opaque.
 *
 * librdkafka does its network I/O on its own threads; its callbacks
 * (delivery reports, errors) are served by poll() on the sink's delivery thread.
 * The main queue signals a pipe when events arrive, so that thread sleeps
 * on it instead of waiting a tick. The rd_kafka_conf is built in init, so
 * bad `properties` are reported by --check with librdkafka's own message;
 * open() only creates the producer from a copy of it.
 *
 * hp-module-pkgs: rdkafka */
#include "lib/template.h"
#include "transport/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "transport/sinks/psistats.h"

#define TOPIC_MAX      250  /* Kafka's limit is 249 characters */
#define CLOSE_FLUSH_MS 1000 /* close() waits this long for reports in flight */

/* A message handed to librdkafka: its backlog position and a reference
 * that keeps its JSON (the zero-copy payload) alive until the report. */
struct kafka_slot {
    uint64_t pos;
    struct hp_msg *msg; /* NULL: free */
    size_t next_free;
};

struct kafka_topic {
    char reporter[HP_NAME_MAX]; /* "" for a template without {reporter} */
    rd_kafka_topic_t *rkt;
};

struct kafka {
    /* options (kafka_opts), borrowed from the config */
    const config_setting_t *brokers_set; /* a string or a list of them */
    const char *topic;                   /* template */
    const char *acks, *compression;
    bool idempotence;
    int64_t linger_ms, batch_messages, batch_bytes, window;
    double timeout; /* seconds */
    const config_setting_t *properties;
    /* derived at init */
    struct hp_sink *s;
    struct hp_tmpl topic_t;
    rd_kafka_conf_t *conf; /* built by init; each producer gets a copy */
    const char *brokers;   /* bootstrap list, as given to librdkafka */
    char *brokers_buf;     /* owned when joined from a list */
    int timeout_ms;        /* --check metadata timeout */
    /* While open: */
    rd_kafka_t *rk;
    rd_kafka_queue_t *mainq;
    int wake[2]; /* main queue events -> wake[1]; the transport polls wake[0] */
    struct kafka_topic *topics;
    size_t ntopics;
    bool per_reporter; /* the topic template has {reporter} */
    struct kafka_slot *slots;
    size_t nslots, free_slot; /* free_slot == nslots: none free */
    bool fatal;
    bool flushed;  /* flush() ran since open: close need not wait again */
    bool checking; /* --check: errors are collected, not logged */
    char fatal_reason[256];
    char last_error[256];     /* newest error_cb reason */
    char last_transport[256]; /* newest broker connection failure */
    struct hp_complain conn, deliver;
    int format;             /* enum hp_format */
    bool psistats, folding; /* format = "psistats"; inside kafka_write_psistats */
    struct hp_psistats ps;
};

/* ---- options ----------------------------------------------------------- */

static const char *const acks_choices[] = {"all", "1", "0", NULL};
static const char *const codec_choices[] = {"none", "gzip", "snappy", "lz4", "zstd", NULL};

/* clang-format off */
static const struct hp_opt kafka_opts[] = {
    {.name = "brokers", .type = HP_OPT_STRINGS, .def = "localhost:9092",
     .help = "bootstrap brokers: \"host:port,...\" or a list of \"host:port\"",
     HP_AT_SET(struct kafka, brokers_set)},
    {.name = "topic", .type = HP_OPT_STRING, .def = "hostpulse",
     .help = "topic name; {host}, {reporter} and {session} are replaced",
     HP_AT_STR(struct kafka, topic)},
    {.name = "acks", .type = HP_OPT_STRING, .def = "all", .choices = acks_choices,
     .help = "replicas that must have a message before it counts as delivered",
     HP_AT_STR(struct kafka, acks)},
    {.name = "idempotence", .type = HP_OPT_BOOL, .def = "true",
     .help = "idempotent producer: no duplicates or reordering from internal retries",
     HP_AT_BOOL(struct kafka, idempotence)},
    {.name = "compression", .type = HP_OPT_STRING, .def = "lz4", .choices = codec_choices,
     .help = "compression codec of message batches",
     HP_AT_STR(struct kafka, compression)},
    {.name = "linger_ms", .type = HP_OPT_INT, .def = "5", .min = 0, .max = 900000,
     .help = "milliseconds to wait for more messages before sending a batch",
     HP_AT_INT(struct kafka, linger_ms)},
    {.name = "batch_messages", .type = HP_OPT_INT, .def = "10000", .min = 1, .max = 1000000,
     .help = "most messages in one batch",
     HP_AT_INT(struct kafka, batch_messages)},
    {.name = "batch_bytes", .type = HP_OPT_INT, .def = "1000000", .min = 1, .max = 2147483647,
     .help = "most bytes in one batch",
     HP_AT_INT(struct kafka, batch_bytes)},
    {.name = "window", .type = HP_OPT_INT, .def = "10000", .min = 1, .max = 10000000,
     .help = "most messages handed to librdkafka and not yet confirmed",
     HP_AT_INT(struct kafka, window)},
    {.name = "timeout", .type = HP_OPT_FLOAT, .def = "10.0", .min = 0.1, .max = 3600,
     .help = "seconds --check --connect waits for the cluster",
     HP_AT_FLOAT(struct kafka, timeout)},
    {.name = "properties", .type = HP_OPT_GROUP,
     .help = "librdkafka properties, verbatim (write '.' as '_': sasl_mechanism)",
     HP_AT_SET(struct kafka, properties)},
    {.name = "format", .type = HP_OPT_ENUM, .def = "envelope", .choices = hp_format_choices,
     .help = "envelope: one message per sample; psistats: one psistats object per cpu tick",
     HP_AT_ENUM(struct kafka, format)},
    {0},
};
/* clang-format on */

/* ---- librdkafka callbacks ---------------------------------------------- */

/* Take a free slot for o (with a reference to its message); returns its
 * index, or nslots when every slot is in use. */
static size_t slot_take(struct kafka *k, const struct hp_out *o)
{
    size_t i = k->free_slot;
    if (i == k->nslots)
        return i;
    k->free_slot = k->slots[i].next_free;
    k->slots[i].pos = o->pos;
    k->slots[i].msg = hp_msg_ref(o->msg);
    return i;
}

/* Free slot i, returning its message (whose reference the caller drops). */
static struct hp_msg *slot_give(struct kafka *k, size_t i, uint64_t *pos)
{
    struct kafka_slot *sl = &k->slots[i];
    struct hp_msg *m = sl->msg;
    *pos = sl->pos;
    sl->msg = NULL;
    sl->next_free = k->free_slot;
    k->free_slot = i;
    return m;
}

/* Every slot free; drop references librdkafka no longer needs (it is gone). */
static void slots_reset(struct kafka *k)
{
    for (size_t i = 0; i < k->nslots; i++) {
        hp_msg_unref(k->slots[i].msg);
        k->slots[i].msg = NULL;
        k->slots[i].next_free = i + 1;
    }
    k->free_slot = 0;
}

/* Errors that no resend can fix: the message is dropped (and counted). */
static bool permanent(rd_kafka_resp_err_t err)
{
    return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
           err == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE || err == RD_KAFKA_RESP_ERR_INVALID_RECORD;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct hp_sink *s = opaque;
    struct kafka *k = s->priv;
    size_t slot = (size_t)(uintptr_t)m->_private;
    if (slot >= k->nslots || !k->slots[slot].msg)
        return; /* not ours: cannot happen */
    uint64_t pos;
    struct hp_msg *msg = slot_give(k, slot, &pos);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        hp_complain_clear(&k->deliver, "sink %s: messages are delivered again", s->name);
        hp_complain_clear(&k->conn, "sink %s: the cluster is reachable again", s->name);
        hp_sink_ack(s, pos, HP_ACK_OK);
    } else {
        bool drop = permanent(m->err);
        /* One line per reason, whatever the topic, so an outage logs once. */
        hp_complain(&k->deliver, HP_LOG_WARN, "sink %s: delivery failed: %s; %s", s->name,
                    rd_kafka_err2str(m->err), drop ? "message dropped" : "will resend");
        hp_sink_ack(s, pos, drop ? HP_ACK_DROP : HP_ACK_RETRY);
    }
    hp_msg_unref(msg);
}

/* Copy reason without librdkafka's "(after 12ms in state UP, 3 identical
 * error(s) suppressed)" tail, which changes on every repeat. */
static void copy_reason(char *out, size_t len, const char *reason)
{
    const char *tail = strstr(reason, " (after ");
    int n = tail ? (int)(tail - reason) : (int)strlen(reason);
    snprintf(out, len, "%.*s", n, reason);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct hp_sink *s = opaque;
    struct kafka *k = s->priv;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[200];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof(why));
        k->fatal = true;
        snprintf(k->fatal_reason, sizeof(k->fatal_reason), "fatal producer error %s: %s",
                 rd_kafka_err2name(orig), why);
        snprintf(k->last_error, sizeof(k->last_error), "%s", k->fatal_reason);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__TRANSPORT) {
        /* One broker's connection failed; librdkafka reconnects by itself
         * and reports __ALL_BROKERS_DOWN when none is left. */
        copy_reason(k->last_transport, sizeof(k->last_transport), reason);
        hp_debug("sink %s: %s", s->name, k->last_transport);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        /* The cause of the last connection failure ("Connection refused"),
         * without the broker's name, so repeats read the same. */
        const char *cause = strrchr(k->last_transport, ':');
        snprintf(k->last_error, sizeof(k->last_error), "no broker reachable (%.60s%s%.120s)",
                 reason, cause ? ":" : "", cause ? cause + 1 : "");
    } else {
        char why[200];
        copy_reason(why, sizeof(why), reason);
        snprintf(k->last_error, sizeof(k->last_error), "%s: %s", rd_kafka_err2name(err), why);
    }
    if (!k->checking)
        hp_complain(&k->conn, HP_LOG_WARN, "sink %s: %s; retrying", s->name, k->last_error);
}

/* librdkafka's own log lines come from its threads; they are details the
 * error callback already summarises (fatal errors included), so they go to
 * debug. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)level;
    const struct hp_sink *s = rd_kafka_opaque(rk);
    hp_debug("sink %s: librdkafka %s: %s", s ? s->name : "kafka", fac, buf);
}

/* ---- building the configuration ---------------------------------------- */

static int conf_set(struct kafka *k, const char *name, const char *value, char *err, size_t len)
{
    return rd_kafka_conf_set(k->conf, name, value, err, len) == RD_KAFKA_CONF_OK ? 0 : -1;
}

/* A `properties` entry: the name with '_' read as '.' (libconfig names
 * cannot hold dots), or else as written (log_level). */
static int set_property(struct kafka *k, const config_setting_t *p, char *err, size_t len)
{
    char name[128], value[64];
    const char *v = value;
    switch (config_setting_type(p)) {
    case CONFIG_TYPE_STRING:
        v = config_setting_get_string(p);
        break;
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        snprintf(value, sizeof(value), "%lld", (long long)config_setting_get_int64(p));
        break;
    case CONFIG_TYPE_FLOAT:
        snprintf(value, sizeof(value), "%g", config_setting_get_float(p));
        break;
    case CONFIG_TYPE_BOOL:
        v = config_setting_get_bool(p) ? "true" : "false";
        break;
    default:
        snprintf(err, len, "must be a string, a number or a boolean");
        return -1;
    }
    const char *raw = config_setting_name(p);
    snprintf(name, sizeof(name), "%s", raw);
    for (char *c = name; *c; c++)
        if (*c == '_')
            *c = '.';
    rd_kafka_conf_res_t res = rd_kafka_conf_set(k->conf, name, v, err, len);
    if (res == RD_KAFKA_CONF_UNKNOWN && strcmp(name, raw) != 0) {
        char err2[256];
        res = rd_kafka_conf_set(k->conf, raw, v, err2, sizeof(err2));
        if (res == RD_KAFKA_CONF_INVALID)
            snprintf(err, len, "%s", err2);
    }
    return res == RD_KAFKA_CONF_OK ? 0 : -1;
}

/* The table's row bound to the field at offset. */
static const struct hp_opt *row_of(size_t offset)
{
    for (const struct hp_opt *o = kafka_opts; o->name; o++)
        if (o->bound && o->offset == offset)
            return o;
    return NULL;
}

/* Join the brokers option into librdkafka's comma-separated list. */
static int set_brokers(struct hp_sink *s, struct kafka *k)
{
    int n = hp_strs_count(k->brokers_set);
    if (n <= 0) {
        k->brokers = row_of(offsetof(struct kafka, brokers_set))->def;
        return 0;
    }
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(hp_strs_at(k->brokers_set, i)) + 1;
    k->brokers_buf = calloc(1, len);
    if (!k->brokers_buf)
        return hp_sink_fail(s, "out of memory");
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(k->brokers_buf, ",");
        strcat(k->brokers_buf, hp_strs_at(k->brokers_set, i));
    }
    k->brokers = k->brokers_buf;
    return 0;
}

static const char *host_of(const struct hp_sink *s)
{
    return s->id.host && s->id.host[0] ? s->id.host : "localhost";
}

/* The topic of reporter's messages. Returns -1 if it is too long. */
static int expand_topic(const struct hp_sink *s, const char *reporter, char *out, size_t len)
{
    const struct kafka *k = s->priv;
    struct hp_tmpl_vars v = {.host = host_of(s), .reporter = reporter, .session = s->id.session};
    return hp_tmpl_expand(&k->topic_t, &v, out, len) < 0 ? -1 : 0;
}

/* The topic template must use known placeholders and give legal Kafka
 * topic names. */
static void check_topic(struct hp_sink *s, const config_setting_t *cfg, struct hp_errs *errs)
{
    struct kafka *k = s->priv;
    const config_setting_t *at = hp_setting_at(cfg, "topic");
    char name[TOPIC_MAX];
    unsigned parts = HP_TMPL_HOST | HP_TMPL_REPORTER | HP_TMPL_SESSION;
    if (hp_tmpl_compile_opt(&k->topic_t, k->topic, parts, cfg, "topic", s->name, errs) != 0)
        return;
    if (expand_topic(s, "reporter", name, sizeof(name)) != 0) {
        hp_errs_add(errs, at, "sink %s: topic is longer than 249 characters", s->name);
        return;
    }
    size_t bad = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
    if (name[0] == '\0' || name[bad] != '\0')
        hp_errs_add(errs, at,
                    "sink %s: topic \"%s\" is not a valid Kafka topic name (letters, digits, "
                    "'.', '_', '-'; placeholders {host}, {reporter}, {session})",
                    s->name, name);
}

/* Our options that are librdkafka properties: each names the field of
 * struct kafka that hp_opts_load filled (strings, or integers). */
static const struct kafka_prop {
    const char *prop;
    size_t offset;
    bool is_int;
} kafka_props[] = {
    {"acks", offsetof(struct kafka, acks), false},
    {"compression.codec", offsetof(struct kafka, compression), false},
    {"linger.ms", offsetof(struct kafka, linger_ms), true},
    {"batch.num.messages", offsetof(struct kafka, batch_messages), true},
    {"batch.size", offsetof(struct kafka, batch_bytes), true},
};

/* The setting of option row `offset` in cfg (for messages), else cfg. */
static const config_setting_t *setting_of(const config_setting_t *cfg, size_t offset)
{
    const struct hp_opt *o = row_of(offset);
    return o ? hp_setting_at(cfg, o->name) : cfg;
}

/* Our options, as librdkafka properties. Problems go to errs at the
 * setting they come from. */
static void set_options(struct hp_sink *s, const config_setting_t *cfg, struct hp_errs *errs)
{
    struct kafka *k = s->priv;
    char num[32], err[512];
    if (conf_set(k, "bootstrap.servers", k->brokers, err, sizeof(err)) != 0)
        hp_errs_add(errs, setting_of(cfg, offsetof(struct kafka, brokers_set)), "sink %s: %s",
                    s->name, err);
    conf_set(k, "enable.idempotence", k->idempotence ? "true" : "false", err, sizeof(err));
    for (size_t i = 0; i < sizeof(kafka_props) / sizeof(kafka_props[0]); i++) {
        const struct kafka_prop *p = &kafka_props[i];
        const char *field = (const char *)k + p->offset, *v;
        if (p->is_int) {
            int64_t n;
            memcpy(&n, field, sizeof(n));
            snprintf(num, sizeof(num), "%" PRId64, n);
            v = num;
        } else {
            memcpy(&v, field, sizeof(v));
        }
        if (conf_set(k, p->prop, v, err, sizeof(err)) != 0)
            hp_errs_add(errs, setting_of(cfg, p->offset), "sink %s: %s: %s", s->name, p->prop, err);
    }
    if (k->idempotence && strcmp(k->acks, "all") != 0)
        hp_errs_add(errs, setting_of(cfg, offsetof(struct kafka, acks)),
                    "sink %s: acks must be \"all\" with idempotence = true", s->name);
    char id[300];
    snprintf(id, sizeof(id), "hostpulse@%s", host_of(s));
    conf_set(k, "client.id", id, err, sizeof(err));
}

static void set_properties(struct hp_sink *s, struct hp_errs *errs)
{
    struct kafka *k = s->priv;
    const config_setting_t *props = k->properties;
    char err[512];
    for (int i = 0; props && i < config_setting_length(props); i++) {
        const config_setting_t *p = config_setting_get_elem(props, (unsigned)i);
        if (set_property(k, p, err, sizeof(err)) != 0)
            hp_errs_add(errs, p, "sink %s: properties.%s: %s", s->name, config_setting_name(p),
                        err);
    }
}

/* GCC's ThreadSanitizer does not intercept C11 thrd_create, which Debian's
 * librdkafka starts its threads with: they crash at their first malloc. In
 * a TSan build --check skips the trial producer below (the sink itself
 * cannot run there; its tests skip under TSan). */
#if defined(__SANITIZE_THREAD__)
#define NO_LIBRDKAFKA_THREADS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NO_LIBRDKAFKA_THREADS 1
#endif
#endif

/* librdkafka checks combinations of properties (acks and idempotence, SSL
 * files, ...) only when a client is created. Create one with no brokers
 * (so no connection is made) and destroy it at once. */
static void check_combination(struct hp_sink *s, const config_setting_t *cfg, struct hp_errs *errs)
{
#ifdef NO_LIBRDKAFKA_THREADS
    (void)s, (void)cfg, (void)errs;
    return;
#endif
    struct kafka *k = s->priv;
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_dup(k->conf);
    rd_kafka_conf_set(conf, "bootstrap.servers", "", err, sizeof(err));
    rd_kafka_conf_set_log_cb(conf, NULL);
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        hp_errs_add(errs, cfg, "sink %s: %s", s->name, err);
        return;
    }
    rd_kafka_destroy(rk);
}

static int kafka_init(struct hp_sink *s, const config_setting_t *cfg, struct hp_errs *errs)
{
    struct kafka *k = s->priv;
    k->s = s;
    k->wake[0] = k->wake[1] = -1;
    k->timeout_ms = (int)(k->timeout * 1000);
    k->psistats = k->format == HP_FORMAT_PSISTATS;
    k->conf = rd_kafka_conf_new();
    if (!k->conf || set_brokers(s, k) != 0)
        return -1;
    unsigned before = errs->count;
    check_topic(s, cfg, errs);
    k->per_reporter = k->topic_t.uses & HP_TMPL_REPORTER;
    set_options(s, cfg, errs);
    set_properties(s, errs);
    rd_kafka_conf_set_opaque(k->conf, s);
    rd_kafka_conf_set_dr_msg_cb(k->conf, on_delivery);
    rd_kafka_conf_set_error_cb(k->conf, on_error);
    rd_kafka_conf_set_log_cb(k->conf, on_log);
    if (errs->count == before)
        check_combination(s, cfg, errs);
    /* Never offer more than librdkafka's queue holds: QUEUE_FULL would
     * leave the transport offering again and again. */
    char v[32];
    size_t len = sizeof(v);
    s->window = (size_t)k->window;
    if (rd_kafka_conf_get(k->conf, "queue.buffering.max.messages", v, &len) == RD_KAFKA_CONF_OK &&
        strtoul(v, NULL, 10) > 0 && strtoul(v, NULL, 10) < s->window)
        s->window = strtoul(v, NULL, 10);
    k->nslots = s->window;
    k->slots = calloc(k->nslots, sizeof(*k->slots));
    if (!k->slots)
        return -1;
    slots_reset(k);
    return errs->count == before ? 0 : -1;
}

/* ---- the producer ------------------------------------------------------- */

/* The topic handle for a reporter's messages, created on first use. */
static rd_kafka_topic_t *topic_for(struct hp_sink *s, const char *reporter)
{
    struct kafka *k = s->priv;
    if (!k->per_reporter)
        reporter = "";
    for (size_t i = 0; i < k->ntopics; i++)
        if (strcmp(k->topics[i].reporter, reporter) == 0)
            return k->topics[i].rkt;
    char name[TOPIC_MAX];
    if (expand_topic(s, reporter, name, sizeof(name)) != 0) {
        hp_sink_fail(s, "topic name for %s is too long", reporter);
        return NULL;
    }
    struct kafka_topic *t = realloc(k->topics, (k->ntopics + 1) * sizeof(*t));
    if (!t) {
        hp_sink_fail(s, "out of memory");
        return NULL;
    }
    k->topics = t;
    t = &k->topics[k->ntopics];
    t->rkt = rd_kafka_topic_new(k->rk, name, NULL);
    if (!t->rkt) {
        hp_sink_fail(s, "topic %s: %s", name, rd_kafka_err2str(rd_kafka_last_error()));
        return NULL;
    }
    snprintf(t->reporter, sizeof(t->reporter), "%s", reporter);
    k->ntopics++;
    return t->rkt;
}

static void kafka_close(struct hp_sink *s)
{
    struct kafka *k = s->priv;
    if (k->rk) {
        /* Let requests in flight report (fewer duplicates), then report
         * whatever librdkafka still holds as failed (RETRY) now, so the
         * transport sends it again through the next producer. */
        if (!k->fatal && !k->flushed && !k->checking)
            rd_kafka_flush(k->rk, CLOSE_FLUSH_MS);
        rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(k->rk, 0);
    }
    for (size_t i = 0; i < k->ntopics; i++)
        rd_kafka_topic_destroy(k->topics[i].rkt);
    free(k->topics);
    k->topics = NULL;
    k->ntopics = 0;
    if (k->mainq) {
        rd_kafka_queue_io_event_enable(k->mainq, -1, NULL, 0);
        rd_kafka_queue_destroy(k->mainq);
        k->mainq = NULL;
    }
    if (k->rk)
        rd_kafka_destroy(k->rk);
    k->rk = NULL;
    slots_reset(k); /* reports never served: the transport re-queues those */
    for (int i = 0; i < 2; i++) {
        if (k->wake[i] >= 0)
            close(k->wake[i]);
        k->wake[i] = -1;
    }
}

static int kafka_open(struct hp_sink *s)
{
    struct kafka *k = s->priv;
    char err[512];
    k->fatal = k->flushed = false;
    k->last_transport[0] = '\0';
    rd_kafka_conf_t *conf = rd_kafka_conf_dup(k->conf);
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!k->rk) {
        rd_kafka_conf_destroy(conf);
        return hp_sink_fail(s, "cannot create the producer: %s", err);
    }
    if (pipe2(k->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        k->wake[0] = k->wake[1] = -1;
        hp_sink_fail(s, "pipe: %s", strerror(errno));
        kafka_close(s);
        return -1;
    }
    k->mainq = rd_kafka_queue_get_main(k->rk);
    rd_kafka_queue_io_event_enable(k->mainq, k->wake[1], "1", 1);
    /* Delivery reports and errors write wake[1]; a slow poll when idle is
     * only a safety net. */
    s->idle_poll_ms = 1000;
    return 0;
}

/* seq as decimal text into buf (at least 21 bytes); returns its length. */
static size_t u64_text(uint64_t v, char *buf)
{
    char tmp[20];
    size_t n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

static int produce(struct hp_sink *s, const struct hp_out *o, rd_kafka_topic_t *rkt, size_t slot)
{
    struct kafka *k = s->priv;
    const struct hp_msg *m = o->msg;
    /* The message's own identity (a replayed one keeps its run's). */
    const char *host = m->host[0] ? m->host : host_of(s);
    const char *session = m->host[0] ? m->session : s->id.session ? s->id.session : "";
    size_t host_len = strlen(host), session_len = strlen(session);
    char seq[24];
    size_t seq_len = u64_text(m->seq, seq);
    /* No RD_KAFKA_MSG_F_COPY: the slot keeps the JSON alive (see top). */
    return rd_kafka_producev(k->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_MSGFLAGS(0),
                             RD_KAFKA_V_VALUE((void *)m->json, m->len),
                             RD_KAFKA_V_KEY(host, host_len),
                             RD_KAFKA_V_HEADER("reporter", m->reporter, -1),
                             RD_KAFKA_V_HEADER("session", session, (ssize_t)session_len),
                             RD_KAFKA_V_HEADER("seq", seq, (ssize_t)seq_len),
                             RD_KAFKA_V_OPAQUE((void *)(uintptr_t)slot), RD_KAFKA_V_END);
}

static int kafka_write_psistats(struct hp_sink *s, const struct hp_out *out, size_t n);

static int kafka_write(struct hp_sink *s, const struct hp_out *out, size_t n)
{
    struct kafka *k = s->priv;
    if (k->psistats && !k->folding)
        return kafka_write_psistats(s, out, n);
    for (size_t i = 0; i < n; i++) {
        rd_kafka_topic_t *rkt = topic_for(s, out[i].msg->reporter);
        if (!rkt)
            return -1;
        size_t slot = slot_take(k, &out[i]);
        if (slot == k->nslots) {
            /* More in librdkafka's hands than the window (the backlog
             * dropped some that were): wait for reports like QUEUE_FULL. */
            rd_kafka_poll(k->rk, 1);
            return (int)i;
        }
        rd_kafka_resp_err_t err = produce(s, &out[i], rkt, slot);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            continue;
        uint64_t pos;
        hp_msg_unref(slot_give(k, slot, &pos)); /* librdkafka did not take it */
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            /* Serve delivery reports briefly so the queue drains instead
             * of the transport offering again at once. */
            rd_kafka_poll(k->rk, 1);
            return (int)i;
        } else if (permanent(err)) {
            hp_warn("sink %s: dropping %s message #%" PRIu64 ": %s", s->name, out[i].msg->reporter,
                    out[i].msg->seq, rd_kafka_err2str(err));
            hp_sink_ack(s, out[i].pos, HP_ACK_DROP);
        } else if (err == RD_KAFKA_RESP_ERR__FATAL) {
            char why[200];
            rd_kafka_fatal_error(k->rk, why, sizeof(why));
            return hp_sink_fail(s, "fatal producer error: %s", why);
        } else if (err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                   err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
            /* Reopening gets fresh metadata: the topic may be created. */
            return hp_sink_fail(s, "topic %s does not exist (and the cluster does not create it)",
                                rd_kafka_topic_name(rkt));
        } else if (err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
            return hp_sink_fail(s, "not authorized to write to topic %s", rd_kafka_topic_name(rkt));
        } else {
            return hp_sink_fail(s, "produce to %s: %s", rd_kafka_topic_name(rkt),
                                rd_kafka_err2str(err));
        }
    }
    return (int)n;
}

/* format = "psistats": each cpu message is produced as one folded psistats
 * object (the slot keeps its own reference); the others settle at once. */
static int kafka_write_psistats(struct hp_sink *s, const struct hp_out *out, size_t n)
{
    struct kafka *k = s->priv;
    for (size_t i = 0; i < n; i++) {
        bool bad;
        struct hp_out o = {.msg = hp_psistats_msg(&k->ps, out[i].msg, &bad), .pos = out[i].pos};
        if (!o.msg) {
            hp_sink_ack(s, out[i].pos, bad ? HP_ACK_DROP : HP_ACK_OK);
            continue;
        }
        k->folding = true;
        int taken = kafka_write(s, &o, 1);
        k->folding = false;
        hp_msg_unref(o.msg);
        if (taken != 1)
            return taken < 0 ? -1 : (int)i;
    }
    return (int)n;
}

static int kafka_poll(struct hp_sink *s)
{
    struct kafka *k = s->priv;
    char buf[64];
    while (read(k->wake[0], buf, sizeof(buf)) > 0)
        ;
    rd_kafka_poll(k->rk, 0);
    if (k->fatal)
        return hp_sink_fail(s, "%s", k->fatal_reason);
    return 0;
}

static int kafka_pollfd(struct hp_sink *s)
{
    struct kafka *k = s->priv;
    return k->wake[0];
}

static int kafka_flush(struct hp_sink *s, int timeout_ms)
{
    struct kafka *k = s->priv;
    if (!k->rk)
        return 0;
    rd_kafka_flush(k->rk, timeout_ms);
    k->flushed = true;
    return rd_kafka_outq_len(k->rk) > 0 ? -1 : 0;
}

static void kafka_fini(struct hp_sink *s)
{
    struct kafka *k = s->priv;
    kafka_close(s);
    if (k->conf)
        rd_kafka_conf_destroy(k->conf);
    free(k->brokers_buf);
    free(k->slots);
    hp_psistats_free(&k->ps);
}

/* ---- --check --connect -------------------------------------------------- */

/* The broker's auto.create.topics.enable, by DescribeConfigs: 1 true,
 * 0 false, -1 unknown (not allowed to ask, or no answer in time). */
static int broker_auto_create(struct kafka *k, int32_t broker_id)
{
    char id[16];
    snprintf(id, sizeof(id), "%" PRId32, broker_id);
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_BROKER, id);
    int found = -1;
    rd_kafka_DescribeConfigs(k->rk, &res, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, k->timeout_ms);
    const rd_kafka_DescribeConfigs_result_t *r =
        ev ? rd_kafka_event_DescribeConfigs_result(ev) : NULL;
    size_t nres = 0, ncfg = 0;
    const rd_kafka_ConfigResource_t **rs =
        r ? rd_kafka_DescribeConfigs_result_resources(r, &nres) : NULL;
    const rd_kafka_ConfigEntry_t **cs = nres == 1 && !rd_kafka_ConfigResource_error(rs[0])
                                            ? rd_kafka_ConfigResource_configs(rs[0], &ncfg)
                                            : NULL;
    for (size_t i = 0; i < ncfg; i++)
        if (strcmp(rd_kafka_ConfigEntry_name(cs[i]), "auto.create.topics.enable") == 0 &&
            rd_kafka_ConfigEntry_value(cs[i]))
            found = strcmp(rd_kafka_ConfigEntry_value(cs[i]), "true") == 0;
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_queue_destroy(q);
    return found;
}

/* Whether this producer asks the cluster to create topics it uses
 * (librdkafka's allow.auto.create.topics, true for producers). */
static bool producer_auto_create(struct kafka *k)
{
    char v[16] = "true";
    size_t len = sizeof(v);
    rd_kafka_conf_get(rd_kafka_conf(k->rk), "allow.auto.create.topics", v, &len);
    return strcmp(v, "true") == 0;
}

/* One metadata request for topic: its error, or the request's. */
static rd_kafka_resp_err_t topic_metadata(struct kafka *k, const char *topic, int32_t *broker)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(k->rk, topic, NULL);
    rd_kafka_resp_err_t err =
        rkt ? rd_kafka_metadata(k->rk, 0, rkt, &md, k->timeout_ms) : rd_kafka_last_error();
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    rd_kafka_poll(k->rk, 0); /* collect error_cb reasons */
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        err = md->topic_cnt < 1 ? RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC : md->topics[0].err;
        *broker = md->orig_broker_id;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    return err;
}

/* A topic the cluster does not know yet: a cluster that creates topics on
 * first use has just been asked to (the metadata request allows it), and
 * creates it asynchronously (KRaft answers UNKNOWN_TOPIC_OR_PART first):
 * wait for it up to timeout. Returns the topic's last error. */
static rd_kafka_resp_err_t wait_created(struct hp_sink *s, const char *topic, int32_t broker)
{
    struct kafka *k = s->priv;
    int auto_create = producer_auto_create(k) ? broker_auto_create(k, broker) : 0;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    const char *why = auto_create == 0 && !producer_auto_create(k)
                          ? "allow_auto_create_topics = false: the agent does not ask for it"
                      : auto_create == 0 ? "and the cluster does not create it: "
                                           "auto.create.topics.enable = false"
                                         : NULL;
    for (int waited = 0; !why && waited < k->timeout_ms; waited += 200) {
        usleep(200 * 1000);
        err = topic_metadata(k, topic, &broker);
        if (err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            break;
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)
        fprintf(stderr, "sink %s (kafka): topic %s created by the cluster (auto-creation)\n",
                s->name, topic);
    else if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        fprintf(stderr, "sink %s (kafka): topic %s does not exist (%s)\n", s->name, topic,
                why ? why : "the cluster did not create it in time");
    return err;
}

/* Ask the cluster about topic. Returns the number of problems printed. */
static int check_topic_metadata(struct hp_sink *s, const char *topic)
{
    struct kafka *k = s->priv;
    int32_t broker = -1;
    rd_kafka_resp_err_t err = topic_metadata(k, topic, &broker);
    if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        err = wait_created(s, topic, broker);
        if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            return 1; /* said by wait_created */
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)
        return 0;
    if (err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
        fprintf(stderr, "sink %s (kafka): not authorized to use topic %s: %s\n", s->name, topic,
                rd_kafka_err2str(err));
    else if (err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
        fprintf(stderr, "sink %s (kafka): no metadata for topic %s\n", s->name, topic);
    else if (broker < 0)
        fprintf(stderr, "sink %s (kafka): cannot reach the cluster at %s within %.1f s: %s\n",
                s->name, k->brokers, k->timeout_ms / 1000.0,
                k->last_error[0] ? k->last_error : rd_kafka_err2str(err));
    else
        fprintf(stderr, "sink %s (kafka): topic %s: %s\n", s->name, topic, rd_kafka_err2str(err));
    return 1;
}

/* Every topic this agent would write to: one per reporter (and the session
 * message) with {reporter}, else the one topic. */
static int kafka_check(struct hp_sink *s)
{
    struct kafka *k = s->priv;
    k->checking = true;
    if (kafka_open(s) != 0) {
        fprintf(stderr, "sink %s (kafka): %s\n", s->name, s->error);
        return 1;
    }
    int problems = 0;
    char topic[TOPIC_MAX];
    const char *const *reps = s->id.reporters;
    size_t n = 1;
    while (k->per_reporter && reps && reps[n - 1])
        n++;
    for (size_t i = 0; i < n && problems == 0; i++) {
        const char *rep = i < n - 1 ? reps[i] : "session";
        expand_topic(s, rep, topic, sizeof(topic));
        problems += check_topic_metadata(s, topic);
    }
    if (problems == 0 && k->fatal) {
        fprintf(stderr, "sink %s (kafka): %s\n", s->name, k->fatal_reason);
        problems++;
    }
    kafka_close(s);
    k->checking = false;
    if (problems == 0)
        fprintf(stderr, "sink %s (kafka): ok (%s)\n", s->name, k->brokers);
    return problems;
}

const struct hp_sink_ops hp_sink_kafka = {
    .type = "kafka",
    .opts = kafka_opts,
    .priv_size = sizeof(struct kafka),
    .init = kafka_init,
    .open = kafka_open,
    .write = kafka_write,
    .poll = kafka_poll,
    .pollfd = kafka_pollfd,
    .flush = kafka_flush,
    .close = kafka_close,
    .fini = kafka_fini,
    .check = kafka_check,
};
