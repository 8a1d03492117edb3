/* kafka_bare.c -- the baseline for the Kafka publish benchmark: a minimal
 * librdkafka produce loop with the sink's defaults (acks=all, idempotence,
 * lz4, linger 5 ms, key = host), polling for delivery reports, against the
 * same cluster. No ring, no backlog, no JSON.
 *
 *   kafka_bare BOOTSTRAP TOPIC MESSAGES SIZE
 * Prints "rate=N" (messages/s from the first produce to the last report). */
#include <librdkafka/rdkafka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/clock.h"

static uint64_t delivered, failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err)
        failed++;
    else
        delivered++;
}

int main(int argc, char **argv)
{
    if (argc != 5)
        return fprintf(stderr, "usage: kafka_bare BOOTSTRAP TOPIC MESSAGES SIZE\n"), 2;
    uint64_t n = strtoull(argv[3], NULL, 10);
    size_t size = strtoull(argv[4], NULL, 10);
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[][2] = {{"bootstrap.servers", argv[1]},
                           {"acks", "all"},
                           {"enable.idempotence", "true"},
                           {"compression.codec", "lz4"},
                           {"linger.ms", "5"}};
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], err, sizeof(err)) != RD_KAFKA_CONF_OK)
            return fprintf(stderr, "kafka_bare: %s\n", err), 1;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk)
        return fprintf(stderr, "kafka_bare: %s\n", err), 1;
    char *body = malloc(size);
    memset(body, 'x', size);
    int64_t t0 = hp_mono_ns();
    for (uint64_t i = 0; i < n;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(argv[2]), RD_KAFKA_V_KEY("bench", 5), RD_KAFKA_V_VALUE(body, size),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 1);
            continue;
        }
        if (e)
            return fprintf(stderr, "kafka_bare: %s\n", rd_kafka_err2str(e)), 1;
        i++;
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 60000);
    double secs = (double)(hp_mono_ns() - t0) / 1e9;
    printf("rate=%.0f delivered=%llu failed=%llu\n", (double)delivered / secs,
           (unsigned long long)delivered, (unsigned long long)failed);
    rd_kafka_destroy(rk);
    free(body);
    return failed ? 1 : 0;
}
