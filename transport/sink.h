/* sink.h -- the sink interface.
 *
 * A sink delivers messages to one destination (a broker, a file, a
 * database). The transport thread (transport/transport.c) owns every sink:
 * sinks need no locks, and all their callbacks run on that one thread
 * (except init/fini/check, which run on the main thread while the transport
 * thread is stopped). Adding a sink is one new file in transport/ plus one
 * line in transport/registry.c (and, for a module, one in the Makefile).
 *
 * Delivery is at-least-once. The transport keeps each sink's backlog;
 * write() offers the sink messages, the sink takes what it can and later
 * (or at once) reports each one with hp_sink_ack(). Only an ack of
 * HP_ACK_OK or HP_ACK_DROP removes a message from the backlog. */
#ifndef HP_SINK_H
#define HP_SINK_H

#include <libconfig.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/log.h"
#include "lib/msg.h"
#include "lib/opts.h"

struct hp_agent;
struct hp_sink;
struct hp_backlog;

/* One message offered to a sink, with its backlog position: the handle
 * the sink passes back to hp_sink_ack(). */
struct hp_out {
    struct hp_msg *msg;
    uint64_t pos;
};

enum hp_ack {
    HP_ACK_OK,    /* the destination confirmed it: forget it */
    HP_ACK_RETRY, /* not delivered (nack, failed item): send it again */
    HP_ACK_DROP,  /* permanently refused (bad item): forget it, count it */
};

struct hp_sink_ops {
    const char *type;          /* "amqp": the `type` in the config */
    const struct hp_opt *opts; /* sink-specific options, NULL-terminated */
    /* Parse options and allocate priv; no I/O. Problems go to errs as
     * FILE:LINE: messages; return -1. */
    int (*init)(struct hp_sink *s, const config_setting_t *cfg, struct hp_errs *errs);
    /* Connect / open files. 0 on success; -1 on failure with the reason
     * in s->error (no secrets), retried later with backoff. */
    int (*open)(struct hp_sink *s);
    /* Offer out[0..n). Take a prefix of it, send, and ack each taken one
     * now (synchronous sinks) or later from poll (asynchronous ones).
     * Return how many were taken, or -1 if the connection broke (reason in
     * s->error): the transport closes, re-queues every unacked message and
     * retries open() later. */
    int (*write)(struct hp_sink *s, const struct hp_out *out, size_t n);
    /* Optional: service the connection (acks, heartbeats, callbacks). Called
     * at least every agent.tick while open. -1 = broken, as for write. */
    int (*poll)(struct hp_sink *s);
    /* Optional: a descriptor (socket) that becomes readable when poll()
     * has work, so the transport sleeps on it instead of waiting a tick.
     * -1 when there is none right now. A sink with a pollfd that needs poll
     * only every so often when idle (heartbeats) sets s->idle_poll_ms. */
    int (*pollfd)(struct hp_sink *s);
    /* Optional: wait up to timeout_ms for outstanding acks (shutdown,
     * reload). Returns 0 when nothing is outstanding. */
    int (*flush)(struct hp_sink *s, int timeout_ms);
    /* Drop the connection; options stay. Unacked messages are re-queued by
     * the transport afterwards. */
    void (*close)(struct hp_sink *s);
    /* Free what init allocated. */
    void (*fini)(struct hp_sink *s);
    /* Optional, for --check --connect: probe the destination and print each
     * problem; return the number of problems. Defaults to open()+close(). */
    int (*check)(struct hp_sink *s);
};

/* Per-sink statistics: written by the transport thread, read by the agent
 * self-report. Relaxed atomics; each value stands alone. */
struct hp_sink_stats {
    _Atomic uint64_t sent;     /* acked OK */
    _Atomic uint64_t failed;   /* open/write failures (connection level) */
    _Atomic uint64_t retried;  /* messages acked RETRY or re-queued */
    _Atomic uint64_t rejected; /* acked DROP */
    _Atomic uint64_t dropped;  /* lost to a full backlog */
    _Atomic uint64_t backlog;  /* messages waiting or in flight */
    _Atomic uint64_t returned; /* unroutable (AMQP basic.return) */
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

struct hp_sink {
    const struct hp_sink_ops *ops;
    struct hp_agent *agent; /* hostname, session: read-only */
    char name[HP_NAME_MAX]; /* unique; defaults to the type */
    void *priv;
    const config_setting_t *cfg; /* valid while this sink lives */
    char error[256];             /* last failure reason, for logs */
    size_t window;               /* max messages in flight (unacked) */
    int idle_poll_ms;            /* >0: with nothing pending, poll() this often
                                    (not every agent.tick); set by the sink */
    /* Transport-owned state; sinks do not touch it. */
    struct hp_backlog *backlog;
    struct hp_complain complain;
    int64_t retry_at_ms; /* monotonic */
    int64_t backoff_ms;
    int64_t retry_initial_ms, retry_max_ms;
    bool open;
    bool stalled; /* last write() took nothing: wait before re-offering */
    struct hp_sink_stats stats;
};

/* Report the fate of a message taken by write(). Transport thread only. */
void hp_sink_ack(struct hp_sink *s, uint64_t pos, enum hp_ack ack);

/* Set s->error (printf-style) and return -1, for `return hp_sink_fail(...)`. */
int hp_sink_fail(struct hp_sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The registry (transport/registry.c): the name of the i-th sink type, in
 * the order --help-config lists them; NULL past the last. */
const char *hp_sink_type_name(size_t i);

/* The operations of a sink type. Built-in sinks are linked into the agent;
 * the others (brokers, databases, HTTP) are modules loaded on first use
 * from hp_module_dir(), so a host pays for a client library only when it
 * configures that sink. NULL if the type is unknown or its module cannot
 * be loaded; the reason then goes to why (when not NULL). Main thread. */
const struct hp_sink_ops *hp_sink_load(const char *type, char *why, size_t whylen);
const struct hp_sink_ops *hp_sink_find(const char *type); /* hp_sink_load, no reason */
bool hp_sink_known(const char *type);                     /* one of hp_sink_type_name() */

/* Where modules live: $HOSTPULSE_MODULE_DIR, else a `modules` directory
 * beside the executable (a build tree), else HP_MODULE_DIR (installed). */
const char *hp_module_dir(char *buf, size_t len);

#endif
