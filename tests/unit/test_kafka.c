/* SPDX-License-Identifier: Apache-2.0 */
/* test_kafka.c -- the Kafka sink driven directly (no agent, no transport
 * thread) against librdkafka's in-process mock cluster: every message taken
 * is acked OK by its delivery report, the pollfd wakes on reports, a
 * message timeout comes back as RETRY and is delivered after recovery, and
 * bad properties are refused by init with librdkafka's message.
 *
 * Not under ThreadSanitizer: librdkafka starts its threads with C11
 * thrd_create, which GCC's TSan runtime does not intercept, so they crash
 * in TSan's allocator before reaching our code. The binary then reports
 * one skip, in the TAP form tests/run reads (cmocka's own skip() prints
 * "not ok N # SKIP", which it counts as a failure). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <poll.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "lib/clock.h"
#include "transport/backlog.h"
#include "transport/transport.h"

struct fixture {
    rd_kafka_t *mrk; /* owns the mock cluster */
    rd_kafka_mock_cluster_t *mc;
    char host[64], session[40]; /* the sink's identity */
    config_t cf;
    struct hp_sink sink;
    char errors[2048];
    int wakeups;
};

static void capture(void *ud, const char *line)
{
    struct fixture *f = ud;
    size_t l = strlen(f->errors);
    snprintf(f->errors + l, sizeof(f->errors) - l, "%s\n", line);
}

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
    f->mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    assert_non_null(f->mrk);
    f->mc = rd_kafka_mock_cluster_new(f->mrk, 3);
    assert_non_null(f->mc);
    snprintf(f->host, sizeof(f->host), "unithost");
    snprintf(f->session, sizeof(f->session), "00000000-0000-4000-8000-000000000001");
    config_init(&f->cf);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->sink.ops) {
        hp_sink_teardown(&f->sink);
    }
    config_destroy(&f->cf);
    rd_kafka_mock_cluster_destroy(f->mc);
    rd_kafka_destroy(f->mrk);
    free(f);
    return 0;
}

/* Init a kafka sink from the body of its config group. Returns init's. */
static int make_sink(struct fixture *f, const char *body)
{
    char text[2048];
    snprintf(text, sizeof(text), "sink: { type = \"kafka\"; brokers = \"%s\"; %s };",
             rd_kafka_mock_cluster_bootstraps(f->mc), body);
    assert_int_equal(config_read_string(&f->cf, text), CONFIG_TRUE);
    struct hp_sink *s = &f->sink;
    s->ops = hp_sink_find("kafka");
    assert_non_null(s->ops);
    struct hp_sink_ident id = {.host = f->host, .session = f->session};
    s->cfg = config_lookup(&f->cf, "sink");
    snprintf(s->name, sizeof(s->name), "kafka");
    struct hp_errs errs = {.fallback_file = "unit.conf", .emit = capture, .ud = f};
    return hp_sink_setup(s, s->ops, s->cfg, &id, &errs);
}

static void push(struct fixture *f, int n)
{
    for (int i = 1; i <= n; i++) {
        char json[128];
        int len = snprintf(json, sizeof(json), "{\"v\":1,\"host\":\"unithost\",\"seq\":%d}", i);
        struct hp_msg *m = hp_msg_new("unit", (uint64_t)i, 0, json, (size_t)len);
        hp_backlog_push(hp_sink_backlog(&f->sink), m);
        hp_msg_unref(m);
    }
}

/* The transport's loop, reduced: offer, then sleep on the pollfd and poll,
 * until the backlog is empty or timeout_ms passes. */
static void deliver(struct fixture *f, int timeout_ms)
{
    struct hp_sink *s = &f->sink;
    int64_t end = hp_mono_ms() + timeout_ms;
    while (hp_backlog_count(hp_sink_backlog(s)) > 0 && hp_mono_ms() < end) {
        struct hp_out out[256];
        size_t n = hp_backlog_take(hp_sink_backlog(s), out, 256);
        int taken = n ? s->ops->write(s, out, n) : 0;
        assert_true(taken >= 0);
        for (size_t i = (size_t)taken; i < n; i++)
            hp_backlog_ack(hp_sink_backlog(s), out[i].pos, HP_ACK_RETRY);
        struct pollfd pfd = {.fd = s->ops->pollfd(s), .events = POLLIN};
        if (poll(&pfd, 1, 100) > 0)
            f->wakeups++;
        assert_int_equal(s->ops->poll(s), 0);
    }
}

static void delivers_and_acks_everything(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(make_sink(f, "topic = \"unit-{reporter}\"; linger_ms = 1;"), 0);
    assert_int_equal(f->sink.window, 10000);
    assert_int_equal(f->sink.ops->open(&f->sink), 0);
    push(f, 500);
    deliver(f, 30000);
    assert_int_equal(hp_backlog_count(hp_sink_backlog(&f->sink)), 0);
    assert_int_equal(atomic_load(&hp_sink_stats_of(&f->sink)->sent), 500);
    assert_true(f->wakeups > 0); /* delivery reports woke the pollfd */
    assert_int_equal(f->sink.ops->flush(&f->sink, 1000), 0);
    f->sink.ops->close(&f->sink);
}

static void timed_out_messages_are_retried(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(make_sink(f, "properties: { message_timeout_ms = 300; };"), 0);
    for (int b = 1; b <= 3; b++)
        rd_kafka_mock_broker_set_down(f->mc, b);
    assert_int_equal(f->sink.ops->open(&f->sink), 0);
    push(f, 20);
    deliver(f, 1500);
    assert_true(atomic_load(&hp_sink_stats_of(&f->sink)->retried) >= 20);
    assert_int_equal(atomic_load(&hp_sink_stats_of(&f->sink)->sent), 0);
    for (int b = 1; b <= 3; b++)
        rd_kafka_mock_broker_set_up(f->mc, b);
    /* A fresh producer, as the transport makes after a failure, does not
     * wait for librdkafka's reconnect backoff. */
    f->sink.ops->close(&f->sink);
    hp_backlog_requeue(hp_sink_backlog(&f->sink));
    assert_int_equal(f->sink.ops->open(&f->sink), 0);
    deliver(f, 30000);
    assert_int_equal(hp_backlog_count(hp_sink_backlog(&f->sink)), 0);
    assert_int_equal(atomic_load(&hp_sink_stats_of(&f->sink)->sent), 20);
    f->sink.ops->close(&f->sink);
}

static void bad_properties_refused_by_init(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(make_sink(f, "properties: { no_such_thing = 1; linger_ms = \"x\"; };"), -1);
    assert_non_null(strstr(f->errors, "No such configuration property: \"no.such.thing\""));
    assert_non_null(strstr(f->errors, "properties.linger_ms"));
}

static void window_follows_queue_limit(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(make_sink(f, "properties: { queue_buffering_max_messages = 50; };"), 0);
    assert_int_equal(f->sink.window, 50);
}

int main(void)
{
#ifdef UNDER_TSAN
    printf("1..1\nok 1 # SKIP kafka sink (librdkafka's threads cannot run under TSan)\n");
    return 0;
#endif
    hp_log_setup(HP_LOG_STDERR, HP_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(delivers_and_acks_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(timed_out_messages_are_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_properties_refused_by_init, setup, teardown),
        cmocka_unit_test_setup_teardown(window_follows_queue_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
