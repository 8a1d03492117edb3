/* SPDX-License-Identifier: Apache-2.0 */
/* test_backlog.c -- a sink's backlog: memory semantics (order, limit,
 * in-flight window, retry, requeue) and the disk spool behind it: spilling
 * while the sink is down, refilling in order as acks free room, the
 * memory limit spilling instead of dropping, replay after a restart, and
 * reload handing the spool over; a damaged spool's replay count is what
 * can be read, gaps excluded. Also run under TSan by `make check`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transport/backlog.h"
#include "transport/spool.h"
#include "tests/unit/testutil.h"

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    return hp_test_mkdtemp(tmpdir, sizeof(tmpdir), "backlog") ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return hp_test_rmtree(tmpdir);
}

static struct hp_msg *msg(uint64_t seq)
{
    char json[128];
    int n = snprintf(json, sizeof(json), "{\"reporter\":\"t\",\"seq\":%llu,\"ts\":0}",
                     (unsigned long long)seq);
    return hp_msg_new("t", seq, 0, json, (size_t)n);
}

static void push(struct hp_backlog *b, uint64_t seq, size_t want_lost)
{
    struct hp_msg *m = msg(seq);
    assert_int_equal(hp_backlog_push(b, m), want_lost);
    hp_msg_unref(m);
}

/* Take up to max, check seqs continue from *next, ack them all OK. */
static size_t deliver(struct hp_backlog *b, uint64_t *next, size_t max)
{
    struct hp_out out[64];
    size_t n = hp_backlog_take(b, out, max < 64 ? max : 64);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(out[i].msg->seq, *next);
        (*next)++;
    }
    for (size_t i = n; i > 0; i--) /* out of order acks */
        assert_true(hp_backlog_ack(b, out[i - 1].pos, HP_ACK_OK));
    return n;
}

static void memory_order_limit_retry(void **state)
{
    (void)state;
    struct hp_backlog *b = hp_backlog_new(4);
    for (uint64_t i = 1; i <= 4; i++)
        push(b, i, 0);
    push(b, 5, 1); /* full: 1 is dropped */
    assert_int_equal(hp_backlog_count(b), 4);
    struct hp_out out[8];
    assert_int_equal(hp_backlog_take(b, out, 2), 2);
    assert_int_equal(out[0].msg->seq, 2);
    assert_true(hp_backlog_ack(b, out[0].pos, HP_ACK_RETRY));
    assert_false(hp_backlog_ack(b, out[0].pos, HP_ACK_OK)); /* no longer in flight */
    assert_true(hp_backlog_ack(b, out[1].pos, HP_ACK_OK));
    assert_int_equal(hp_backlog_count(b), 4); /* 3 waits for 2 */
    assert_int_equal(hp_backlog_take(b, out, 8), 3);
    assert_int_equal(out[0].msg->seq, 2);
    assert_int_equal(hp_backlog_requeue(b), 3);
    assert_true(hp_backlog_has_pending(b));
    assert_int_equal(hp_backlog_take(b, out, 8), 3); /* 3 stays acked */
    assert_int_equal(out[0].msg->seq, 2);
    assert_int_equal(out[1].msg->seq, 4);
    assert_int_equal(out[2].msg->seq, 5);
    for (int i = 0; i < 3; i++)
        assert_true(hp_backlog_ack(b, out[i].pos, HP_ACK_OK));
    assert_int_equal(hp_backlog_count(b), 0);
    assert_false(hp_backlog_has_pending(b));
    hp_backlog_free(b);
}

static struct hp_spool *spool(void)
{
    struct hp_spool_cfg c = {.directory = tmpdir,
                             .max_bytes = 1 << 24,
                             .segment_bytes = 8192,
                             .fsync = HP_FSYNC_INTERVAL,
                             .fsync_interval = 1.0};
    char err[256];
    struct hp_spool *sp = hp_spool_open(&c, "sink", err, sizeof(err));
    assert_non_null(sp);
    return sp;
}

static void spill_while_down_then_refill(void **state)
{
    (void)state;
    struct hp_backlog *b = hp_backlog_new(1000);
    hp_backlog_set_spool(b, spool(), 16);
    for (uint64_t i = 1; i <= 10; i++) /* sink up: memory */
        push(b, i, 0);
    assert_int_equal(hp_spool_unread(b->spool), 0);
    hp_backlog_set_spill(b, true); /* down: memory goes to disk too */
    assert_int_equal(hp_spool_stats(b->spool)->segments, 1);
    for (uint64_t i = 11; i <= 500; i++)
        push(b, i, 0);
    assert_true(b->count <= 16);
    assert_int_equal(hp_backlog_count(b), 500);
    hp_backlog_set_spill(b, false);
    uint64_t next = 1;
    for (int round = 0; round < 100 && hp_backlog_has_pending(b); round++) {
        deliver(b, &next, 7);
        push(b, 500 + (uint64_t)round + 1, 0); /* live data goes behind */
        assert_true(b->count <= 1000);
    }
    while (deliver(b, &next, 64))
        ;
    assert_int_equal(next, 601);
    assert_int_equal(hp_backlog_count(b), 0);
    assert_int_equal(hp_spool_stats(b->spool)->segments, 0);
    hp_backlog_free(b);
}

static void limit_spills_instead_of_dropping(void **state)
{
    (void)state;
    struct hp_backlog *b = hp_backlog_new(8);
    hp_backlog_set_spool(b, spool(), 8);
    for (uint64_t i = 1; i <= 100; i++)
        push(b, i, 0); /* nothing lost beyond the limit */
    assert_int_equal(hp_backlog_count(b), 100);
    uint64_t next = 1;
    while (deliver(b, &next, 3))
        ;
    assert_int_equal(next, 101);
    hp_backlog_free(b);
}

/* backlog_bytes: memory holds at most that many message bytes; beyond
 * them messages go to the spool (nothing lost, order kept) or, without
 * one, the oldest are dropped. */
static void byte_cap_spills_or_drops(void **state)
{
    (void)state;
    struct hp_msg *m = msg(1);
    size_t len = m->len, cap = 10 * len;
    hp_msg_unref(m);
    struct hp_backlog *b = hp_backlog_new(1000);
    hp_backlog_set_limit_bytes(b, cap);
    size_t lost = 0;
    for (uint64_t i = 1; i <= 100; i++) {
        m = msg(i);
        lost += hp_backlog_push(b, m);
        hp_msg_unref(m);
        assert_true(b->bytes <= cap);
    }
    assert_int_equal(hp_backlog_count(b), 100 - lost);
    assert_true(lost >= 89);
    uint64_t next = 101 - hp_backlog_count(b); /* the newest were kept */
    while (deliver(b, &next, 3))
        ;
    assert_int_equal(next, 101);
    hp_backlog_free(b);

    b = hp_backlog_new(1000);
    hp_backlog_set_limit_bytes(b, cap);
    hp_backlog_set_spool(b, spool(), 1000);
    for (uint64_t i = 1; i <= 100; i++) {
        push(b, i, 0);
        assert_true(b->bytes <= cap);
    }
    assert_int_equal(hp_backlog_count(b), 100);
    next = 1;
    while (deliver(b, &next, 3))
        assert_true(b->bytes <= cap + len); /* a refill may pass it by one message */
    assert_int_equal(next, 101);
    hp_backlog_free(b);
}

static void replay_after_restart(void **state)
{
    (void)state;
    struct hp_backlog *b = hp_backlog_new(100);
    hp_backlog_set_spool(b, spool(), 10);
    hp_backlog_set_spill(b, true);
    for (uint64_t i = 1; i <= 50; i++)
        push(b, i, 0);
    hp_backlog_set_spill(b, false);
    uint64_t next = 1;
    deliver(b, &next, 5); /* 1..5 confirmed */
    struct hp_out out[4];
    assert_int_equal(hp_backlog_take(b, out, 4), 4); /* 6..9 in flight at the "crash" */
    hp_backlog_free(b);                              /* saves acked = 5 */

    b = hp_backlog_new(100);
    hp_backlog_set_spool(b, spool(), 10);
    assert_int_equal(hp_backlog_count(b), 45);
    while (deliver(b, &next, 64) || hp_backlog_has_pending(b))
        ;
    assert_int_equal(next, 51);
    hp_backlog_free(b);
}

static void move_hands_the_spool_over(void **state)
{
    (void)state;
    struct hp_backlog *old = hp_backlog_new(100);
    hp_backlog_set_spool(old, spool(), 4);
    hp_backlog_set_spill(old, true);
    for (uint64_t i = 1; i <= 20; i++)
        push(old, i, 0);
    struct hp_backlog *b = hp_backlog_new(100);
    hp_backlog_move(b, old);
    assert_null(old->spool);
    assert_non_null(b->spool);
    hp_backlog_free(old);
    assert_int_equal(hp_backlog_count(b), 20);
    uint64_t next = 1;
    while (deliver(b, &next, 3) || hp_backlog_has_pending(b))
        ;
    assert_int_equal(next, 21);
    hp_backlog_free(b);
}

/* A record damaged in the middle of the first of several segments: the rest
 * of that segment is lost, and the count of messages to replay (what the
 * start-up line and the statistics say) excludes that gap. */
static void replay_count_excludes_gaps(void **state)
{
    (void)state;
    struct hp_spool_cfg c = {.directory = tmpdir,
                             .max_bytes = 1 << 20,
                             .segment_bytes = 4096,
                             .fsync = HP_FSYNC_NEVER,
                             .fsync_interval = 1.0};
    char err[256], path[128];
    struct hp_spool *sp = hp_spool_open(&c, "s", err, sizeof(err));
    assert_non_null(sp);
    for (uint64_t i = 0; i < 600; i++) {
        struct hp_msg *m = msg(i);
        uint64_t pos;
        assert_int_equal(hp_spool_append(sp, m->json, m->len, false, &pos), 0);
        hp_msg_unref(m);
    }
    hp_spool_close(sp);
    snprintf(path, sizeof(path), "%s/s/%016llx.seg", tmpdir, 0ULL);
    FILE *f = fopen(path, "r+");
    assert_non_null(f);
    assert_int_equal(fseek(f, 8 + 8 + 20 * 60, SEEK_SET), 0); /* inside record ~20 */
    assert_int_equal(fputs("XXXX", f) >= 0, 1);
    fclose(f);
    sp = hp_spool_open(&c, "s", err, sizeof(err));
    assert_non_null(sp);
    uint64_t said = hp_spool_unread(sp);
    const char *data;
    size_t len;
    uint64_t pos, got = 0;
    while (hp_spool_read(sp, &data, &len, &pos) == 1)
        got++;
    assert_true(got < 600);
    assert_int_equal(said, got);
    assert_int_equal(hp_spool_unread(sp), 0);
    hp_spool_close(sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(memory_order_limit_retry),
        cmocka_unit_test_setup_teardown(spill_while_down_then_refill, setup, teardown),
        cmocka_unit_test_setup_teardown(limit_spills_instead_of_dropping, setup, teardown),
        cmocka_unit_test_setup_teardown(replay_after_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(move_hands_the_spool_over, setup, teardown),
        cmocka_unit_test_setup_teardown(replay_count_excludes_gaps, setup, teardown),
        cmocka_unit_test_setup_teardown(byte_cap_spills_or_drops, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
