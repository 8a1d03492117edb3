/* SPDX-License-Identifier: Apache-2.0 */
/* test_amqp.c -- the amqp sink's pure parts: publisher-confirm bookkeeping
 * (delivery tags -> backlog positions, single and `multiple` acks, nacks,
 * stale tags, the window) and routing-key templates. The network side is
 * covered by tests/integration/test_amqp.py against a real broker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "transport/sinks/amqp/amqp.h"
#include "transport/backlog.h"
#include "lib/template.h"
#include "transport/transport.h"

static uint64_t stat(const _Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

/* A sink with n messages taken (in flight) and published as tags 1..n. */
static void setup(struct hp_sink *s, struct amqp_confirms *c, size_t n, size_t cap)
{
    memset(s, 0, sizeof(*s));
    struct hp_errs errs = {0};
    assert_int_equal(hp_sink_setup(s, hp_sink_find("stdout"), NULL, NULL, &errs), 0);
    for (size_t i = 0; i < n; i++) {
        struct hp_msg *m = hp_msg_new("uptime", i + 1, 0, "{}", 2);
        assert_non_null(m);
        hp_backlog_push(hp_sink_backlog(s), m);
        hp_msg_unref(m);
    }
    struct hp_out out[16];
    assert_int_equal(hp_backlog_take(hp_sink_backlog(s), out, n), n);
    assert_int_equal(amqp_confirms_init(c, cap), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(amqp_confirms_add(c, out[i].pos), i + 1);
}

static void acks_single_and_multiple(void **state)
{
    (void)state;
    struct hp_sink s;
    struct amqp_confirms c;
    setup(&s, &c, 8, 8);
    assert_int_equal(amqp_confirms_room(&c), 0);
    assert_int_equal(amqp_confirms_settle(&c, &s, 3, true, HP_ACK_OK), 3);
    assert_int_equal(hp_backlog_count(hp_sink_backlog(&s)), 5);
    assert_int_equal(amqp_confirms_room(&c), 3);
    /* a single ack out of order does not move the base */
    assert_int_equal(amqp_confirms_settle(&c, &s, 5, false, HP_ACK_OK), 1);
    assert_int_equal(amqp_confirms_room(&c), 3);
    assert_int_equal(c.unsettled, 4);
    /* a nack: the message is sent again */
    assert_int_equal(amqp_confirms_settle(&c, &s, 4, false, HP_ACK_RETRY), 1);
    assert_true(hp_backlog_has_pending(hp_sink_backlog(&s)));
    assert_int_equal(amqp_confirms_room(&c), 5);
    /* multiple skips what is already settled */
    assert_int_equal(amqp_confirms_settle(&c, &s, 8, true, HP_ACK_OK), 3);
    assert_int_equal(c.unsettled, 0);
    assert_int_equal(amqp_confirms_room(&c), 8);
    /* stale and unknown tags are ignored */
    assert_int_equal(amqp_confirms_settle(&c, &s, 2, false, HP_ACK_OK), 0);
    assert_int_equal(amqp_confirms_settle(&c, &s, 100, true, HP_ACK_OK), 0);
    assert_int_equal(stat(&hp_sink_stats_of(&s)->sent), 7);
    assert_int_equal(stat(&hp_sink_stats_of(&s)->retried), 1);
    /* the nacked one, and the acked ones behind it (released in order) */
    assert_int_equal(hp_backlog_count(hp_sink_backlog(&s)), 5);
    amqp_confirms_free(&c);
    hp_sink_teardown(&s);
}

static void reset_restarts_tags(void **state)
{
    (void)state;
    struct hp_sink s;
    struct amqp_confirms c;
    setup(&s, &c, 4, 8);
    amqp_confirms_reset(&c); /* connection lost: the transport re-queues */
    assert_int_equal(hp_backlog_requeue(hp_sink_backlog(&s)), 4);
    assert_int_equal(amqp_confirms_room(&c), 8);
    assert_int_equal(amqp_confirms_add(&c, 0), 1);
    amqp_confirms_free(&c);
    hp_sink_teardown(&s);
}

/* amqp's routing keys through the one expander (lib/template.h), with the
 * placeholders amqp.c allows. Returns compile's (-1) or expand's result. */
static int rkey(const char *text, const char *host, const char *rep, const char *session, char *buf,
                size_t len)
{
    struct hp_tmpl t;
    char why[200];
    struct hp_tmpl_vars v = {.host = host, .reporter = rep, .session = session};
    if (hp_tmpl_compile(&t, text, HP_TMPL_HOST | HP_TMPL_REPORTER | HP_TMPL_SESSION, why,
                        sizeof(why)) != 0)
        return -2;
    return hp_tmpl_expand(&t, &v, buf, len) < 0 ? -1 : 0;
}

static void routing_key_templates(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(rkey("hostpulse.{host}.{reporter}", "web01", "cpu", "s", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "hostpulse.web01.cpu");
    assert_int_equal(rkey("{session}/{host}", "h", "r", "abc", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "abc/h");
    assert_int_equal(rkey("plain", "h", "r", "s", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "plain");
    assert_int_equal(rkey("x.{bogus}", "h", "r", "s", buf, sizeof(buf)), -2);
    assert_int_equal(rkey("x.{host", "h", "r", "s", buf, sizeof(buf)), -2);
    assert_int_equal(
        rkey("{host}{host}", "0123456789abcdef0123456789abcdef", "r", "s", buf, sizeof(buf)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(acks_single_and_multiple),
        cmocka_unit_test(reset_restarts_tags),
        cmocka_unit_test(routing_key_templates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
