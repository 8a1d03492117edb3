/* SPDX-License-Identifier: Apache-2.0 */
/* agent.h -- the agent context and its lifecycle: everything one running
 * agent owns, and start, stop, --once, --check and reload.
 *
 * This is the composition root: it owns the scheduler (reporter threads)
 * and the transport (sinks) and wires them together through the ring. No
 * header outside agent/ includes this one.
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
#include "agent/health.h"
#include "agent/scheduler.h"
#include "lib/msg.h"
#include "lib/ring.h"
#include "reporters/exec.h"
#include "reporters/self.h"
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
    /* env as JSON text, for hp_msg_wrap; remade with env's labels, only
     * while no reporter runs */
    struct hp_envelope_text env_text;

    struct hp_ring *ring;
    struct hp_task *reporters; /* n_reporters, only the enabled ones */
    size_t n_reporters;
    struct hp_sink *sinks;
    size_t n_sinks;
    bool stdout_only;     /* --stdout: ignore the configured sinks */
    uint64_t session_seq; /* main thread only */
    uint64_t *seqs;       /* per reporter type, then per exec slot; survives reloads */
    uint64_t stuck_types; /* bit i: a thread of seqs[i] was left behind */
    /* Which exec instance name owns each exec slot of seqs (after the
     * types): a name keeps its slot, so its seq survives reloads. */
    char exec_names[HP_EXEC_MAX][HP_NAME_MAX];

    struct hp_agent_stats stats;
    struct hp_scheduler sched;
    /* What the self-report reads: refilled by the main thread while no
     * reporter runs (start, reload). */
    struct hp_self_view view;

    struct hp_transport *transport; /* the delivery thread, NULL when stopped;
                                       main thread only */
    struct hp_health health;        /* the verdict on a->view, and its socket */
};

/* Identity, ring and locks. Returns -1 with a logged reason. */
int hp_agent_init(struct hp_agent *a, struct hp_config *cfg);
/* Create reporters and sinks from cfg into *reps / *sinks (init() of each);
 * problems go to errs. Returns the number of problems. */
unsigned hp_agent_build(struct hp_agent *a, const struct hp_config *cfg, struct hp_errs *errs,
                        struct hp_task **reps, size_t *n_reps, struct hp_sink **sinks,
                        size_t *n_sinks);
void hp_agent_free_reporters(struct hp_task *reps, size_t n);
void hp_agent_free_sinks(struct hp_sink *sinks, size_t n);
void hp_agent_destroy(struct hp_agent *a);

/* Wrap data (JSON text, len bytes) in an envelope and push it into the
 * ring, counting drops: the scheduler's hp_publish_fn, ctx is the agent.
 * Any thread that owns *seq. Returns 0 if queued, 1 if the ring was full. */
int hp_agent_publish(void *agent, const char *reporter, uint64_t *seq, int64_t ts_ms,
                     double interval, const char *data, size_t len);
/* The session message: description, start time, version, host facts. */
void hp_agent_publish_session(struct hp_agent *a);

/* Run: start the transport, publish the session message, start the
 * reporter threads. Returns -1 if the transport could not start. */
int hp_agent_start(struct hp_agent *a);
/* Stop in order: reporters, drain, flush, close. A reporter thread still
 * busy agent.shutdown_timeout after the request is left behind (logged);
 * returns how many were. The agent must then exit without destroying what
 * they may still use (hp_agent_destroy does nothing). */
size_t hp_agent_stop(struct hp_agent *a);
/* Has every thread made progress recently: no reporter in one sample and
 * no transport round for longer than limit_ns, no reporter thread left
 * behind? If not, a reason goes to why. Main thread (the watchdog). */
bool hp_agent_healthy(const struct hp_agent *a, int64_t limit_ns, char *why, size_t len);
/* --once: sample every reporter once and deliver. Returns how many
 * messages could not be delivered. */
size_t hp_agent_once(struct hp_agent *a, int window_ms);
/* --check --connect: open every sink once. Returns the number of problems. */
int hp_agent_check_sinks(struct hp_agent *a);

/* Replace the running configuration (SIGHUP). On any problem the old one
 * stays and the problems are logged. Logging is the caller's (main.c sets
 * the log level in one place). Main thread only. */
int hp_agent_reload(struct hp_agent *a, const char *path);

#endif
