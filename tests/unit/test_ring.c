/* SPDX-License-Identifier: Apache-2.0 */
/* test_ring.c -- the MPSC ring: single-thread semantics (FIFO, full, empty,
 * wrap-around) and a multi-producer stress test proving no loss, no
 * duplicate and per-producer FIFO order. Run under TSan by `make check`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <pthread.h>

#include "lib/ring.h"

static void fifo_full_empty(void **state)
{
    (void)state;
    struct hp_ring *r = hp_ring_new(8);
    assert_non_null(r);
    void *out[16];
    assert_int_equal(hp_ring_pop(r, out, 16), 0); /* empty */
    for (uintptr_t i = 1; i <= 8; i++)
        assert_true(hp_ring_push(r, (void *)i));
    assert_false(hp_ring_push(r, (void *)9)); /* full */
    assert_int_equal(hp_ring_size(r), 8);
    assert_int_equal(hp_ring_pop(r, out, 3), 3);
    assert_int_equal((uintptr_t)out[0], 1);
    assert_int_equal((uintptr_t)out[2], 3);
    assert_int_equal(hp_ring_pop(r, out, 16), 5);
    assert_int_equal((uintptr_t)out[0], 4);
    assert_int_equal((uintptr_t)out[4], 8);
    assert_int_equal(hp_ring_pop(r, out, 16), 0);
    assert_int_equal(hp_ring_high_water(r), 8);
    hp_ring_free(r);
}

static void wrap_around(void **state)
{
    (void)state;
    struct hp_ring *r = hp_ring_new(4);
    void *out[4];
    uintptr_t next_in = 1, next_out = 1;
    /* Many laps around a 4-cell ring, with occupancy varying 1..4. */
    for (int lap = 0; lap < 1000; lap++) {
        int n = lap % 4 + 1;
        for (int i = 0; i < n; i++)
            assert_true(hp_ring_push(r, (void *)next_in++));
        size_t got = hp_ring_pop(r, out, 4);
        assert_int_equal(got, (size_t)n);
        for (size_t i = 0; i < got; i++)
            assert_int_equal((uintptr_t)out[i], next_out++);
    }
    hp_ring_free(r);
}

static void rejects_bad_capacity(void **state)
{
    (void)state;
    assert_null(hp_ring_new(0));
    assert_null(hp_ring_new(1));
    assert_null(hp_ring_new(6));
}

#define PRODUCERS    4
#define PER_PRODUCER 1000000u

struct producer {
    struct hp_ring *r;
    uintptr_t id;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    for (uintptr_t i = 0; i < PER_PRODUCER; i++) {
        /* value = producer id in the top bits, sequence + 1 below */
        void *v = (void *)((p->id << 32) | (i + 1));
        while (!hp_ring_push(p->r, v))
            ; /* full: spin in the test only, to prove no loss */
    }
    return NULL;
}

static void mpsc_stress(void **state)
{
    (void)state;
    struct hp_ring *r = hp_ring_new(1024);
    pthread_t th[PRODUCERS];
    struct producer ps[PRODUCERS];
    for (uintptr_t i = 0; i < PRODUCERS; i++) {
        ps[i] = (struct producer){.r = r, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, produce, &ps[i]), 0);
    }
    uint64_t last[PRODUCERS] = {0};
    uint64_t total = 0;
    void *out[256];
    while (total < (uint64_t)PRODUCERS * PER_PRODUCER) {
        size_t n = hp_ring_pop(r, out, 256);
        if (n == 0) {
            hp_ring_wait(r, 10);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            uintptr_t v = (uintptr_t)out[i];
            uintptr_t id = v >> 32;
            uint64_t seq = v & 0xffffffffu;
            assert_true(id < PRODUCERS);
            if (seq <= last[id])
                fail_msg("producer %lu: %lu dequeued twice or out of order (after %lu)",
                         (unsigned long)id, (unsigned long)seq, (unsigned long)last[id]);
            if (seq != last[id] + 1)
                fail_msg("producer %lu: lost messages %lu..%lu", (unsigned long)id,
                         (unsigned long)last[id] + 1, (unsigned long)seq - 1);
            last[id] = seq;
        }
        total += n;
    }
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(last[i], PER_PRODUCER);
    }
    assert_int_equal(hp_ring_pop(r, out, 1), 0);
    hp_ring_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fifo_full_empty),
        cmocka_unit_test(wrap_around),
        cmocka_unit_test(rejects_bad_capacity),
        cmocka_unit_test(mpsc_stress),
    };
    return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
