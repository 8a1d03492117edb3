/* agent.h -- the agent context: everything one running agent owns.
 *
 * There is no global mutable state outside this struct (and the log level).
 * Ownership: the main thread creates and destroys everything here and is
 * the only writer of the pointers; reporter threads read the envelope
 * identity and push to the ring; the transport thread owns the sinks'
 * connections and backlogs while it runs. Handoffs between them happen
 * only through pthread_create/pthread_join (start, stop, reload). */
#ifndef HP_AGENT_H
#define HP_AGENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/config.h"
#include "lib/msg.h"
#include "lib/ring.h"
#include "reporters/reporter.h"
#include "transport/sink.h"

struct hp_transport; /* transport/transport.h */

#include "lib/version.h" /* HP_VERSION */

/* Agent-wide counters: relaxed atomics, each value stands alone. */
struct hp_agent_stats {
    _Atomic uint64_t produced; /* messages pushed into the ring */
    _Atomic uint64_t dropped;  /* messages lost to a full ring */
};

struct hp_agent {
    struct hp_config *cfg;
    char host[256];
    char session[37]; /* uuid of this run */
    char boot_id[37]; /* the kernel's, from /proc/sys/kernel/random/boot_id */
    int64_t start_ms; /* epoch ms */
    int64_t start_mono_ns;
    struct hp_envelope env; /* points at host and session */

    struct hp_ring *ring;
    struct hp_reporter *reporters; /* n_reporters, only the enabled ones */
    size_t n_reporters;
    struct hp_sink *sinks;
    size_t n_sinks;
    bool stdout_only;     /* --stdout: ignore the configured sinks */
    bool log_syslog;      /* --syslog: log to syslog whatever agent.log says */
    uint64_t session_seq; /* main thread only */
    uint64_t *seqs;       /* per reporter type, survives reloads */

    struct hp_agent_stats stats;

    /* Reporter threads sleep on cond until their deadline or until stopping
     * is set; lock guards stopping. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;

    struct hp_transport *transport; /* the delivery thread, NULL when stopped;
                                       main thread only */
};

/* Identity, ring and locks. Returns -1 with a logged reason. */
int hp_agent_init(struct hp_agent *a, struct hp_config *cfg);
/* Create reporters and sinks from cfg into *reps / *sinks (init() of each);
 * problems go to errs. Returns the number of problems. */
unsigned hp_agent_build(struct hp_agent *a, const struct hp_config *cfg, struct hp_errs *errs,
                        struct hp_reporter **reps, size_t *n_reps, struct hp_sink **sinks,
                        size_t *n_sinks);
void hp_agent_free_reporters(struct hp_reporter *reps, size_t n);
void hp_agent_free_sinks(struct hp_sink *sinks, size_t n);
void hp_agent_destroy(struct hp_agent *a);

/* Wrap data in an envelope and push it into the ring, counting drops.
 * Takes ownership of data. Any thread that owns *seq. Returns 0 if queued. */
int hp_agent_publish(struct hp_agent *a, const char *reporter, uint64_t *seq, int64_t ts_ms,
                     double interval, json_object *data, struct hp_reporter_stats *rs);
/* The session message: description, start time, version, host facts. */
void hp_agent_publish_session(struct hp_agent *a);

/* Start / stop the transport thread on a->ring and a->sinks with the
 * agent section's settings. Start returns -1 with a logged reason; stop
 * returns how many messages the sinks still hold. */
int hp_agent_transport_start(struct hp_agent *a);
size_t hp_agent_transport_stop(struct hp_agent *a, int how);

/* Replace the running configuration (SIGHUP). On any problem the old one
 * stays and the problems are logged. Main thread only. */
int hp_agent_reload(struct hp_agent *a, const char *path);

#endif
