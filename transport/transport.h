/* transport.h -- the transport thread: drains the ring into each sink's
 * backlog and keeps every sink delivering, with retry and backoff. */
#ifndef HP_TRANSPORT_H
#define HP_TRANSPORT_H

#include "agent/agent.h"

enum hp_transport_stop {
    HP_STOP_SHUTDOWN = 1, /* drain, deliver until shutdown_timeout, close */
    HP_STOP_HANDOFF = 2,  /* drain into backlogs, brief flush, close: reload */
};

int hp_transport_start(struct hp_agent *a);
/* Stop and join the thread. Returns how many messages are still in the
 * sinks' backlogs (not delivered). */
size_t hp_transport_stop(struct hp_agent *a, enum hp_transport_stop how);

/* Create / free a sink's transport-side state (its backlog). */
int hp_sink_attach(struct hp_sink *s, size_t backlog_limit);
void hp_sink_detach(struct hp_sink *s);
/* Move the undelivered messages of `from` into `to` (reload), re-queuing
 * in-flight ones. Main thread, transport stopped. */
void hp_sink_take_backlog(struct hp_sink *to, struct hp_sink *from);

/* A sink's delivery statistics, for the self-report: valid while the sink
 * is attached. Written by the transport thread (relaxed atomics). */
const struct hp_sink_stats *hp_sink_stats_of(const struct hp_sink *s);

/* --check --connect: open and close every sink (or its check()). Returns
 * the number of problems, each printed to stderr. */
int hp_transport_check(struct hp_agent *a);

#endif
