/* SPDX-License-Identifier: Apache-2.0 */
/* self.h -- what the self-report (reporters/self.c, wire name "agent")
 * reads about the agent that runs it.
 *
 * The agent's lifecycle fills a struct hp_self_view and hands it to the
 * self reporter with hp_self_bind(); the reporter never sees the agent
 * itself. Every counter behind the pointers is a relaxed atomic written by
 * another thread; the arrays and pointers change only while no reporter
 * runs (start, reload). */
#ifndef HP_SELF_H
#define HP_SELF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ring.h"
#include "reporters/reporter.h"

struct hp_sink_stats; /* lib/sink_stats.h; from hp_sink_stats_of() */

struct hp_self_sink {
    const char *name; /* unique sink name */
    const char *type; /* "amqp" */
    const struct hp_sink_stats *stats;
};

struct hp_self_reporter {
    const char *name;
    const struct hp_reporter_stats *stats;
};

struct hp_self_view {
    const char *version;
    int64_t start_mono_ns;            /* CLOCK_MONOTONIC at agent start */
    const _Atomic uint64_t *produced; /* messages pushed into the ring */
    const _Atomic uint64_t *dropped;  /* messages lost to a full ring */
    struct hp_ring *ring;             /* occupancy, read with relaxed loads */
    const struct hp_self_sink *sinks; /* n_sinks, in configuration order */
    size_t n_sinks;
    const struct hp_self_reporter *reporters; /* n_reporters, in registry order */
    size_t n_reporters;
};

extern const struct hp_reporter_ops hp_reporter_self;

/* Give the self reporter r (whose ops are &hp_reporter_self, after init)
 * the view it reports on. The view must outlive r's samples. Main thread,
 * while r does not run. */
void hp_self_bind(struct hp_reporter *r, const struct hp_self_view *view);

#endif
