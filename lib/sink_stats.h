/* SPDX-License-Identifier: Apache-2.0 */
/* sink_stats.h -- a sink's delivery statistics, as the engine publishes them
 * and the self-report (and health) read them. Here, in the shared base, so
 * that readers need not include the sink interface to see the figures. */
#ifndef HP_SINK_STATS_H
#define HP_SINK_STATS_H

#include <stdatomic.h>
#include <stdint.h>

/* Per-sink statistics: written by the transport thread, read by the agent
 * self-report through hp_sink_stats_of(). Relaxed atomics; each value
 * stands alone. */
struct hp_sink_stats {
    _Atomic uint64_t sent;     /* acked OK */
    _Atomic uint64_t failed;   /* open/write failures (connection level) */
    _Atomic uint64_t retried;  /* messages acked RETRY or re-queued */
    _Atomic uint64_t rejected; /* acked DROP */
    _Atomic uint64_t dropped;  /* lost to a full backlog */
    _Atomic uint64_t backlog;  /* messages waiting or in flight */
    _Atomic uint64_t returned; /* accepted, then handed back as unroutable by the
                                  destination (hp_sink_returned; AMQP basic.return) */
    _Atomic int up;            /* 1 while open */
    struct {                   /* the disk spool (transport/spool.h) */
        _Atomic int enabled;   /* 1 once opened */
        _Atomic int spilling;  /* 1 while new messages go to disk */
        _Atomic uint64_t bytes, segments;
        _Atomic uint64_t queued; /* messages on disk not yet in memory */
        _Atomic uint64_t dropped, corrupt, failed;
    } spool;
    /* poison messages written to the sink's dead-letter file (deadletter.h) */
    _Atomic uint64_t dead_lettered;
};

#endif
