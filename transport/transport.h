/* SPDX-License-Identifier: Apache-2.0 */
/* transport.h -- the transport thread: drains the ring into each sink's
 * backlog and keeps every sink delivering, with retry and backoff.
 *
 * The engine knows nothing of the agent: whoever starts it (agent/agent.c)
 * hands it the ring, the sinks and its settings in struct
 * hp_transport_cfg. */
#ifndef HP_TRANSPORT_H
#define HP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/ring.h"
#include "transport/sink.h"
#include "transport/spool.h"

enum hp_transport_stop {
    HP_STOP_SHUTDOWN = 1, /* drain, deliver until shutdown_timeout, close */
    HP_STOP_HANDOFF = 2,  /* drain into backlogs, brief flush, close: reload */
};

/* What the engine works with. The ring and the sinks stay the caller's;
 * they must outlive the thread (until hp_transport_stop returns). */
struct hp_transport_cfg {
    struct hp_ring *ring;
    struct hp_sink *sinks; /* set up with hp_sink_setup */
    size_t n_sinks;
    size_t batch_size;                /* messages moved per ring pop */
    double tick;                      /* seconds between wake-ups while work is pending */
    double linger;                    /* seconds to wait for the rest of a round */
    double shutdown_timeout;          /* seconds to deliver what is queued at exit */
    const struct hp_spool_cfg *spool; /* copied; NULL: backlogs in memory only */
};

struct hp_transport; /* the running thread */

/* Start the thread. NULL with a logged reason on failure. Main thread. */
struct hp_transport *hp_transport_start(const struct hp_transport_cfg *cfg);
/* Stop and join the thread, and free t (NULL: nothing runs). Returns how
 * many messages are still in the sinks' backlogs (not delivered). */
size_t hp_transport_stop(struct hp_transport *t, enum hp_transport_stop how);

/* Messages waiting or in flight in these sinks' backlogs. */
size_t hp_sinks_backlog(const struct hp_sink *sinks, size_t n);

/* Move the undelivered messages of `from` into `to` (reload), re-queuing
 * in-flight ones. Main thread, transport stopped. */
void hp_sink_take_backlog(struct hp_sink *to, struct hp_sink *from);

/* Monotonic ns at which the transport thread began its current turn, or 0
 * while it sleeps waiting for work: the watchdog's view of a stuck sink. */
int64_t hp_transport_busy_since(const struct hp_transport *t);

/* A sink's delivery statistics, for the self-report: valid between
 * hp_sink_setup and hp_sink_teardown. Written by the transport thread
 * (relaxed atomics). */
const struct hp_sink_stats *hp_sink_stats_of(const struct hp_sink *s);

/* A sink's backlog, for tests that drive a sink without the thread. */
struct hp_backlog *hp_sink_backlog(struct hp_sink *s);

/* --check --connect: open and close every sink (or its check()). Returns
 * the number of problems, each printed to stderr. Main thread. */
int hp_sinks_check(struct hp_sink *sinks, size_t n);

#endif
