/* SPDX-License-Identifier: Apache-2.0 */
/* clock.h -- the few clocks the agent uses, in integer units. */
#ifndef HP_CLOCK_H
#define HP_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t hp_ts_ns(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* CLOCK_MONOTONIC in nanoseconds: deadlines and elapsed time. */
static inline int64_t hp_mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return hp_ts_ns(&t);
}

static inline int64_t hp_mono_ms(void)
{
    return hp_mono_ns() / 1000000;
}

/* Wall clock, Unix epoch milliseconds (UTC): message timestamps. */
static inline int64_t hp_real_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return hp_ts_ns(&t) / 1000000;
}

/* CPU time consumed by the calling thread, nanoseconds. */
static inline int64_t hp_thread_cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return hp_ts_ns(&t);
}

static inline struct timespec hp_ns_ts(int64_t ns)
{
    struct timespec t = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    return t;
}

#endif
