/* SPDX-License-Identifier: Apache-2.0 */
/* input_kafka.c -- a consumer group on the agent's Kafka topics.
 *
 * Auto-commit is off: the offsets of a batch are committed (synchronously)
 * only after the store has committed the batch, so a crash re-reads at most
 * what was not yet committed and the store drops those duplicates. A topic
 * starting with "^" is a regular expression (librdkafka subscribes to every
 * match, e.g. "^hp-.*" for the agent's per-reporter topics). When the store
 * fails, the consumer is closed and made again, so that it starts over from
 * the committed offsets instead of skipping what was lost. As in the agent,
 * the consumer's poll loop belongs to one thread: this one. */
#include "lib/clock.h"
#include "lib/log.h"
#include "web/ingest.h"
#include "web/input_check.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct consumer {
    struct hp_ingest *ing;
    const struct hp_web_conf *c;
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *offsets; /* next offset per partition of the batch */
    struct hp_complain complain;
};

static int set(rd_kafka_conf_t *conf, const char *k, const char *v, char *why, size_t len)
{
    if (rd_kafka_conf_set(conf, k, v, why, len) == RD_KAFKA_CONF_OK)
        return 0;
    return -1;
}

/* Value of a properties entry as text, in buf when it is not a string. */
static const char *prop_value(const config_setting_t *p, char *buf, size_t len)
{
    switch (config_setting_type(p)) {
    case CONFIG_TYPE_STRING:
        return config_setting_get_string(p);
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        snprintf(buf, len, "%lld", (long long)config_setting_get_int64(p));
        return buf;
    case CONFIG_TYPE_FLOAT:
        snprintf(buf, len, "%g", config_setting_get_float(p));
        return buf;
    case CONFIG_TYPE_BOOL:
        return config_setting_get_bool(p) ? "true" : "false";
    default:
        return NULL;
    }
}

/* Apply input.properties to conf: a name's '_' read as '.' (libconfig names
 * cannot hold dots), or else as written. On error, the entry in *bad. */
static int set_properties(rd_kafka_conf_t *conf, const config_setting_t *props,
                          const config_setting_t **bad, char *why, size_t len)
{
    for (int i = 0; props && i < config_setting_length(props); i++) {
        const config_setting_t *p = config_setting_get_elem(props, (unsigned)i);
        char name[128], buf[64];
        const char *v = prop_value(p, buf, sizeof(buf));
        snprintf(name, sizeof(name), "%s", config_setting_name(p));
        for (char *c = name; *c; c++)
            *c = *c == '_' ? '.' : *c;
        *bad = p;
        if (!v)
            return snprintf(why, len, "must be a string, a number or a boolean"), -1;
        if (set(conf, name, v, why, len) != 0 && set(conf, config_setting_name(p), v, why, len))
            return -1;
    }
    return 0;
}

void hp_input_kafka_check(const struct hp_web_conf *c, struct hp_errs *e)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const config_setting_t *bad = NULL;
    char why[256];
    if (set_properties(conf, c->kafka_properties, &bad, why, sizeof(why)) != 0)
        hp_errs_add(e, bad, "input.properties.%s: %s", config_setting_name(bad), why);
    rd_kafka_conf_destroy(conf);
}

static int make(struct consumer *k, char *why, size_t len)
{
    const struct hp_web_conf *c = k->c;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const config_setting_t *bad;
    if (set_properties(conf, c->kafka_properties, &bad, why, len) ||
        set(conf, "bootstrap.servers", c->kafka_brokers, why, len) ||
        set(conf, "group.id", c->kafka_group, why, len) ||
        set(conf, "enable.auto.commit", "false", why, len) ||
        set(conf, "auto.offset.reset", "earliest", why, len) ||
        set(conf, "client.id", "hostpulse-web", why, len)) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    if (!(k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, len))) {
        rd_kafka_conf_destroy(conf); /* rd_kafka_new took it only on success */
        return -1;
    }
    rd_kafka_poll_set_consumer(k->rk);
    int n = hp_strs_count(c->kafka_topics);
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(n ? n : 1);
    for (int i = 0; i < (n ? n : 1); i++)
        rd_kafka_topic_partition_list_add(t, n ? hp_strs_at(c->kafka_topics, i) : "hostpulse",
                                          RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(k->rk, t);
    rd_kafka_topic_partition_list_destroy(t);
    if (err) {
        snprintf(why, len, "subscribe: %s", rd_kafka_err2str(err));
        return -1;
    }
    k->offsets = rd_kafka_topic_partition_list_new(16);
    return 0;
}

static void destroy(struct consumer *k)
{
    if (k->rk) {
        rd_kafka_consumer_close(k->rk);
        rd_kafka_destroy(k->rk);
    }
    if (k->offsets)
        rd_kafka_topic_partition_list_destroy(k->offsets);
    k->rk = NULL;
    k->offsets = NULL;
}

/* Remember that everything up to m's offset is in the open batch. */
static void track(struct consumer *k, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    rd_kafka_topic_partition_t *p =
        rd_kafka_topic_partition_list_find(k->offsets, topic, m->partition);
    if (!p)
        p = rd_kafka_topic_partition_list_add(k->offsets, topic, m->partition);
    p->offset = m->offset + 1;
}

/* Store commit, then offset commit. -1: the store failed. */
static int commit(struct consumer *k)
{
    if (hp_ingest_commit(k->ing) != 0)
        return -1;
    if (k->offsets->cnt == 0)
        return 0;
    rd_kafka_resp_err_t err = rd_kafka_commit(k->rk, k->offsets, 0);
    if (err) /* stored already: at worst they are read and dropped again */
        hp_warn("kafka: offset commit: %s", rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(k->offsets);
    k->offsets = rd_kafka_topic_partition_list_new(16);
    return 0;
}

static int handle(struct consumer *k, rd_kafka_message_t *m)
{
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            hp_complain(&k->complain, HP_LOG_WARN, "kafka: %s", rd_kafka_message_errstr(m));
        return 0;
    }
    hp_complain_clear(&k->complain, "kafka: consuming again");
    enum hp_ingest_add a = hp_ingest_add(k->ing, m->payload ? m->payload : "", m->len);
    if (a == HP_ADD_FAILED)
        return -1;
    track(k, m);
    return 0;
}

/* Poll until stop (0) or a store failure (-1). */
static int consume(struct consumer *k)
{
    while (!hp_ingest_stopping(k->ing)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, hp_ingest_wait_ms(k->ing));
        int rc = m ? handle(k, m) : 0;
        if (m)
            rd_kafka_message_destroy(m);
        if (rc != 0 || (hp_ingest_due(k->ing) && commit(k) != 0))
            return -1;
    }
    return commit(k);
}

int hp_input_kafka_run(struct hp_ingest *ing)
{
    struct consumer k = {.ing = ing, .c = hp_ingest_conf(ing)};
    double delay = k.c->retry_initial;
    while (!hp_ingest_stopping(ing)) {
        char why[512] = "";
        if (make(&k, why, sizeof(why)) != 0) {
            hp_err("kafka: %s", why);
            destroy(&k);
            return -1; /* a configuration error: retrying will not help */
        }
        hp_info("kafka: consumer group %s on %s", k.c->kafka_group, k.c->kafka_brokers);
        if (consume(&k) == 0)
            break;
        hp_warn("kafka: the store failed; restarting from the committed offsets in %.1f s", delay);
        hp_ingest_commit(ing);
        destroy(&k);
        int64_t until = hp_mono_ms() + (int64_t)(delay * 1000);
        while (!hp_ingest_stopping(ing) && hp_mono_ms() < until)
            usleep(50 * 1000);
        delay = delay * 2 > k.c->retry_max ? k.c->retry_max : delay * 2;
    }
    destroy(&k);
    return 0;
}
