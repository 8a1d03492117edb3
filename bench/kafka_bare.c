/* SPDX-License-Identifier: Apache-2.0 */
/* kafka_bare.c -- the baseline for the Kafka publish benchmark: a minimal
 * librdkafka produce loop with the sink's defaults (acks=all, idempotence,
 * lz4, linger 5 ms, batch.num.messages 10000, batch.size 1000000, at most
 * `window` = 10000 messages unconfirmed), polling for delivery reports,
 * against the same cluster. Each record has the shape the sink sends
 * (docs/kafka.md): key = the host name, headers reporter, session (a UUID)
 * and seq (decimal text, per message). The body is not copied (the sink
 * does not copy either). No ring, no backlog, no JSON. The clock starts
 * after a first record is delivered, as bench/publish's starts after the
 * session message is confirmed.
 *
 *   kafka_bare BOOTSTRAP TOPIC MESSAGES SIZE [WINDOW [HEADERS]]
 * WINDOW 0: librdkafka's own queue limit; HEADERS 0: no headers (both only
 * to see what each costs). Prints "rate=N" (messages/s from the first
 * produce to the last report). */
#include <librdkafka/rdkafka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"

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
    if (argc < 5 || argc > 7)
        return fprintf(stderr,
                       "usage: kafka_bare BOOTSTRAP TOPIC MESSAGES SIZE [WINDOW [HEADERS]]\n"),
               2;
    uint64_t n = strtoull(argv[3], NULL, 10);
    size_t size = strtoull(argv[4], NULL, 10);
    const char *window = argc > 5 ? argv[5] : "10000";
    int headers = argc > 6 ? atoi(argv[6]) : 1;
    char err[512], host[256] = "localhost";
    gethostname(host, sizeof(host) - 1);
    const char *session = "5f0c2a9e-6d2b-4a47-9c1e-0b8f1d2e3a4b";
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[][2] = {
        {"bootstrap.servers", argv[1]},
        {"acks", "all"},
        {"enable.idempotence", "true"},
        {"compression.codec", "lz4"},
        {"linger.ms", "5"},
        {"batch.num.messages", "10000"},
        {"batch.size", "1000000"},
        {"queue.buffering.max.messages", strcmp(window, "0") ? window : "100000"}};
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        if (rd_kafka_conf_set(conf, kv[i][0], kv[i][1], err, sizeof(err)) != RD_KAFKA_CONF_OK)
            return fprintf(stderr, "kafka_bare: %s\n", err), 1;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk)
        return fprintf(stderr, "kafka_bare: %s\n", err), 1;
    char *body = malloc(size);
    memset(body, 'x', size);
    /* One record first, delivered before the clock starts: the agent's
     * clock starts once its session message is confirmed, so neither side
     * times connecting, the metadata and the idempotent producer id. */
    if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(argv[2]), RD_KAFKA_V_KEY(host, strlen(host)),
                          RD_KAFKA_V_VALUE(body, size), RD_KAFKA_V_END) != 0 ||
        rd_kafka_flush(rk, 60000) != 0 || delivered != 1)
        return fprintf(stderr, "kafka_bare: the first record was not delivered\n"), 1;
    delivered = 0;
    int64_t t0 = hp_mono_ns();
    for (uint64_t i = 0; i < n;) {
        char seq[24];
        int seq_len = snprintf(seq, sizeof(seq), "%llu", (unsigned long long)i + 1);
        rd_kafka_resp_err_t e =
            headers ? rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(argv[2]),
                                        RD_KAFKA_V_KEY(host, strlen(host)),
                                        RD_KAFKA_V_VALUE(body, size), RD_KAFKA_V_MSGFLAGS(0),
                                        RD_KAFKA_V_HEADER("reporter", "bench", 5),
                                        RD_KAFKA_V_HEADER("session", session, 36),
                                        RD_KAFKA_V_HEADER("seq", seq, seq_len), RD_KAFKA_V_END)
                    : rd_kafka_producev(
                          rk, RD_KAFKA_V_TOPIC(argv[2]), RD_KAFKA_V_KEY(host, strlen(host)),
                          RD_KAFKA_V_VALUE(body, size), RD_KAFKA_V_MSGFLAGS(0), RD_KAFKA_V_END);
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
