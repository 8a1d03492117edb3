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

#define HP_VERSION "0.1.0"

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

    /* Transport thread: stop request, set by main with a release store and
     * read with acquire by the transport loop (T1). */
    pthread_t transport;
    bool transport_running;     /* main thread only */
    _Atomic int transport_stop; /* 0 run, 1 stop (shutdown), 2 stop (handoff) */
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

/* Replace the running configuration (SIGHUP). On any problem the old one
 * stays and the problems are logged. Main thread only. */
int hp_agent_reload(struct hp_agent *a, const char *path);

#endif
