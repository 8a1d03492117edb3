/* SPDX-License-Identifier: Apache-2.0 */
/* kafka_produce.c -- how fast the Kafka sink delivers: N messages of a
 * given size through the sink (write, poll, delivery reports, acks), as the
 * transport drives it, to librdkafka's in-process mock cluster (3 brokers),
 * with the sink's defaults (acks=all, idempotence, lz4, linger 5 ms).
 *
 *   bench/kafka_produce [MESSAGES [BYTES]]     (default 200000 1024)
 *
 * Prints messages/s and MB/s from the first write to the last ack. The mock
 * broker runs in the same process and shares the CPU, so this is a lower
 * bound of what the sink sustains against a real cluster. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "transport/backlog.h"
#include "transport/transport.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An envelope-shaped message of about bytes bytes. */
static struct hp_msg *make_msg(uint64_t seq, size_t bytes)
{
    char *json = malloc(bytes + 256);
    int n = snprintf(json, bytes + 256,
                     "{\"v\":1,\"host\":\"benchhost\",\"reporter\":\"bench\",\"ts\":0,"
                     "\"session\":\"00000000-0000-4000-8000-000000000001\",\"seq\":%llu,"
                     "\"interval\":1,\"data\":{\"pad\":\"",
                     (unsigned long long)seq);
    while ((size_t)n < bytes)
        json[n++] = 'a' + (char)(seq % 26);
    n += snprintf(json + n, 8, "\"}}");
    struct hp_msg *m = hp_msg_new("bench", seq, 0, json, (size_t)n);
    free(json);
    return m;
}

/* The transport's loop for one sink: offer up to the window, sleep on the
 * pollfd, poll. Returns 0 when the backlog is empty. */
static int run(struct hp_sink *s)
{
    struct hp_out out[256];
    struct hp_backlog *b = hp_sink_backlog(s);
    while (hp_backlog_count(b) > 0) {
        while (b->inflight < s->window && hp_backlog_has_pending(b)) {
            size_t n = hp_backlog_take(b, out, 256);
            int taken = s->ops->write(s, out, n);
            if (taken < 0)
                return -1;
            for (size_t i = (size_t)taken; i < n; i++)
                hp_backlog_ack(b, out[i].pos, HP_ACK_RETRY);
            if ((size_t)taken < n)
                break;
        }
        struct pollfd pfd = {.fd = s->ops->pollfd(s), .events = POLLIN};
        poll(&pfd, 1, 100);
        if (s->ops->poll(s) < 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    size_t count = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
    size_t bytes = argc > 2 ? strtoul(argv[2], NULL, 10) : 1024;
    hp_log_setup(HP_LOG_STDERR, HP_LOG_WARN);
    char err[256];
    rd_kafka_conf_t *mconf = rd_kafka_conf_new();
    rd_kafka_conf_set(mconf, "log_level", "0", err, sizeof(err));
    rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, err, sizeof(err));
    rd_kafka_mock_cluster_t *mc = mrk ? rd_kafka_mock_cluster_new(mrk, 3) : NULL;
    if (!mc) {
        fprintf(stderr, "kafka_produce: cannot start the mock cluster\n");
        return 1;
    }
    char text[512];
    snprintf(text, sizeof(text),
             "sink: { type = \"kafka\"; brokers = \"%s\"; topic = \"bench\"; backlog = %zu; };",
             rd_kafka_mock_cluster_bootstraps(mc), count); /* every message fits in memory */
    config_t cf;
    config_init(&cf);
    config_read_string(&cf, text);
    struct hp_sink_ident id = {.host = "benchhost", .session = "bench"};
    struct hp_sink s = {0};
    struct hp_errs errs = {0};
    int rc = 1;
    if (hp_sink_setup(&s, hp_sink_find("kafka"), config_lookup(&cf, "sink"), &id, &errs) != 0 ||
        s.ops->open(&s) != 0)
        goto out;
    for (size_t i = 1; i <= count; i++) {
        struct hp_msg *m = make_msg(i, bytes);
        hp_backlog_push(hp_sink_backlog(&s), m);
        hp_msg_unref(m);
    }
    double t0 = now_s();
    rc = run(&s);
    double dt = now_s() - t0;
    if (rc == 0)
        printf("kafka_produce: %zu messages of %zu bytes in %.2f s: %.0f msg/s, %.1f MB/s "
               "(acked: %llu)\n",
               count, bytes, dt, (double)count / dt, (double)(count * bytes) / dt / 1e6,
               (unsigned long long)atomic_load(&hp_sink_stats_of(&s)->sent));
    else
        fprintf(stderr, "kafka_produce: %s\n", s.error);
    s.ops->close(&s);
out:
    hp_sink_teardown(&s);
    config_destroy(&cf);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
    return rc ? 1 : 0;
}
