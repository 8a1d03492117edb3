/* SPDX-License-Identifier: Apache-2.0 */
/* sink.h -- the sink interface.
 *
 * A sink delivers messages to one destination (a broker, a file, a
 * database). It sees only its own options (filled into its private struct
 * through its option table), the messages (with their host, session,
 * reporter and seq: no JSON to re-parse) and the few fields of struct
 * hp_sink below. The engine's per-sink state (backlog, retry and backoff,
 * open/stalled, statistics) is private to transport/transport.c.
 *
 * Adding a sink is one new file in transport/sinks/ (or a folder) plus one
 * line in transport/registry.c; a sink whose banner names its libraries in
 * an `hp-module-pkgs: PKG ...` line is built as a module. See
 * docs/architecture.md for the smallest example.
 *
 * The contract (which thread calls what, when):
 * - init, fini and check run on the main thread, never while a transport
 *   thread runs (on reload the old thread is stopped before the new sinks'
 *   init). init may not do I/O; check may.
 * - open, write, poll, pollfd, flush and close run on the sink's own
 *   delivery thread (hp-s-NAME, one per sink, started and joined with the
 *   transport), between init and fini: all of one sink's callbacks run on
 *   one thread, so a sink needs no locks, and a sink that blocks (a server
 *   that never answers) delays only its own deliveries. Two sinks' callbacks
 *   may run at the same time: a client library's process-wide state belongs
 *   in init/fini (main thread).
 * - open is called before the first write and again after a failure (once
 *   the backoff expires); close only after a successful open, and then open
 *   may be called again.
 * - Delivery is at-least-once. write() offers messages; the sink takes a
 *   prefix and reports each taken one with hp_sink_ack(), at once
 *   (synchronous sinks) or later from poll (asynchronous ones). Only an ack
 *   of HP_ACK_OK or HP_ACK_DROP removes a message from the backlog; the
 *   engine re-queues whatever is unacked when the sink closes.
 * - Every callback marked optional may be NULL. */
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
#include "lib/sink_stats.h"

struct hp_sink;
struct hp_sink_engine; /* transport.c: backlog, backoff, stats */

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
    const struct hp_opt *opts; /* sink-specific options, NULL-terminated; each
                                  row bound to a field of the priv struct */
    size_t priv_size;          /* >0: the engine allocates priv (zeroed) and
                                  fills it from opts before init; frees it
                                  after fini */
    /* Optional: check and complete the options in priv, allocate what else
     * the sink needs; no I/O. Problems go to errs as FILE:LINE: messages;
     * return -1. */
    int (*init)(struct hp_sink *s, const config_setting_t *cfg, struct hp_errs *errs);
    /* Optional: connect / open files. 0 on success; -1 with the reason in
     * s->error (no secrets): retried later with backoff. NULL: always up. */
    int (*open)(struct hp_sink *s);
    /* Offer out[0..n). Take a prefix of it, send, and ack each taken one
     * now or later from poll. Return how many were taken, or -1 if the
     * connection broke (reason in s->error): the engine closes, re-queues
     * every unacked message and retries open() later. */
    int (*write)(struct hp_sink *s, const struct hp_out *out, size_t n);
    /* Optional: service the connection (acks, heartbeats, callbacks). Called
     * at least every agent.tick while open (or every s->idle_poll_ms when
     * nothing is pending). -1 = broken, as for write. */
    int (*poll)(struct hp_sink *s);
    /* Optional: a descriptor (socket) that becomes readable when poll()
     * has work, so the engine sleeps on it instead of waiting a tick; -1
     * when there is none right now. */
    int (*pollfd)(struct hp_sink *s);
    /* Optional: wait up to timeout_ms for outstanding acks (shutdown,
     * reload). Returns 0 when nothing is outstanding. */
    int (*flush)(struct hp_sink *s, int timeout_ms);
    /* Optional: drop the connection; options stay. */
    void (*close)(struct hp_sink *s);
    /* Optional: free what init allocated (not priv itself with priv_size). */
    void (*fini)(struct hp_sink *s);
    /* Optional, for --check --connect: probe the destination and print each
     * problem; return the number of problems. Default: open() + close(). */
    int (*check)(struct hp_sink *s);
};

/* Who this agent run is, for sinks that name things after it before any
 * message exists (a queue per host, a connection name, --check). */
struct hp_sink_ident {
    const char *host;             /* the agent's host name */
    const char *session;          /* this run's session id */
    const char *const *reporters; /* enabled reporters' names, NULL-terminated
                                     (--check of per-reporter topics) */
    /* Optional, may be NULL: the agent's health as JSON, for a sink that
     * serves it (the prometheus sink's /health). Any thread, read-only;
     * returns the HTTP status (200 or 503) with a malloc'd body in *json
     * (the caller frees it), or -1 on out of memory. */
    int (*health)(void *ctx, char **json, size_t *len);
    void *health_ctx;
};

struct hp_sink {
    const struct hp_sink_ops *ops;
    char name[HP_NAME_MAX];        /* unique; defaults to the type */
    const config_setting_t *cfg;   /* valid while this sink lives */
    void *priv;                    /* the sink's own struct */
    char error[256];               /* last failure reason, for logs; a
                                      longer one ends in "..." */
    size_t window;                 /* max messages in flight (unacked); a sink's
                                      init may lower or raise it */
    int idle_poll_ms;              /* >0: with nothing pending, poll() this often
                                      (not every agent.tick); set by the sink */
    struct hp_sink_ident id;       /* read-only, valid while the sink lives */
    struct hp_sink_engine *engine; /* the transport's; opaque to sinks */
};

/* Report the fate of a message taken by write(). The sink's thread (from
 * write, poll or flush), or whoever drives the sink while no thread runs. */
void hp_sink_ack(struct hp_sink *s, uint64_t pos, enum hp_ack ack);
/* Count n messages the destination accepted and then handed back as
 * unroutable (they are still acked OK: resending would not route them). */
void hp_sink_returned(struct hp_sink *s, uint64_t n);
/* Cap the reconnect backoff at seconds (a sink option such as AMQP's
 * retry_timer). init only. */
void hp_sink_retry_cap(struct hp_sink *s, double seconds);

/* Set s->error (printf-style) and return -1, for `return hp_sink_fail(...)`. */
int hp_sink_fail(struct hp_sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Options every sink has, bound to struct hp_sink_common (the engine
 * reads them; hp_sink_setup fills one). */
struct hp_sink_common {
    const char *type, *name;
    bool enabled;
    int64_t backlog, backlog_bytes;
    double retry_initial, retry_max;
};
extern const struct hp_opt hp_sink_common_opts[];

/* Build s as a sink of type ops from its config group cfg (NULL: every
 * default). s starts zeroed, or with only a name (kept unless the config
 * sets one; else the name is the type). Then: common options, engine state (backlog), priv from
 * ops->opts, then ops->init. Problems go to errs. Returns 0, or -1 (then call hp_sink_teardown all
 * the same). Main thread. */
int hp_sink_setup(struct hp_sink *s, const struct hp_sink_ops *ops, const config_setting_t *cfg,
                  const struct hp_sink_ident *id, struct hp_errs *errs);
/* ops->fini, then free priv and the engine state. */
void hp_sink_teardown(struct hp_sink *s);

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
