/* SPDX-License-Identifier: Apache-2.0 */
/* sink_stats.h -- a sink's delivery statistics, as the engine publishes them
 * and the self-report (and health) read them. Here, in the shared base, so
 * that readers need not include the sink interface to see the figures. */
#ifndef HP_SINK_STATS_H
#define HP_SINK_STATS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

/* Per-sink statistics: written by the transport thread, read by the agent
 * self-report through hp_sink_stats_of(). Relaxed atomics; each value
 * stands alone. */
struct hp_sink_stats {
    _Atomic uint64_t sent;         /* acked OK */
    _Atomic uint64_t failed;       /* open/write failures (connection level) */
    _Atomic uint64_t retried;      /* messages acked RETRY or re-queued */
    _Atomic uint64_t rejected;     /* acked DROP */
    _Atomic uint64_t dropped;      /* lost to a full backlog */
    _Atomic uint64_t backlog;      /* messages waiting or in flight */
    _Atomic uint64_t returned;     /* accepted, then handed back as unroutable by the
                                      destination (hp_sink_returned; AMQP basic.return) */
    _Atomic int up;                /* 1 while open */
    _Atomic int64_t last_ok_ms;    /* epoch ms of the last message acked OK, 0: none yet */
    _Atomic int64_t down_since_ms; /* epoch ms of the failure that took it down, 0 while up
                                      (or before the first open attempt failed) */
    /* The last failure's reason (s->error when the sink went down), for
     * health: a string cannot be a relaxed atomic, so it is a copy under
     * its own mutex. Writer: the thread that delivers for the sink;
     * readers: any (hp_sink_stats_last_error). Held only to copy. */
    struct {
        pthread_mutex_t lock;
        char text[256];
        int64_t at_ms; /* epoch ms, 0: never failed */
    } last_error;
    struct {                  /* the disk spool (transport/spool.h) */
        _Atomic int enabled;  /* 1 once opened */
        _Atomic int spilling; /* 1 while new messages go to disk */
        _Atomic uint64_t bytes, segments;
        _Atomic uint64_t queued; /* messages on disk not yet in memory */
        _Atomic uint64_t dropped, corrupt, failed;
    } spool;
    /* poison messages written to the sink's dead-letter file (deadletter.h) */
    _Atomic uint64_t dead_lettered;
};

/* Copy the last failure's reason into buf ("" if none); returns its
 * time (epoch ms), 0 if the sink never failed. Any thread. */
static inline int64_t hp_sink_stats_last_error(struct hp_sink_stats *st, char *buf, size_t len)
{
    pthread_mutex_lock(&st->last_error.lock);
    int64_t at = st->last_error.at_ms;
    snprintf(buf, len, "%s", st->last_error.text);
    pthread_mutex_unlock(&st->last_error.lock);
    return at;
}

#endif
