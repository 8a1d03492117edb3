/* SPDX-License-Identifier: Apache-2.0 */
/* health.h -- is the agent doing its job? One JSON answer, built from the
 * lifecycle's view (each sink's hp_sink_stats_of(), each reporter's
 * statistics, the ring's drops), with a verdict: 200 (ok or warning) or
 * 503 (critical) and the reasons. Served on a unix socket by a thread of
 * its own (agent.health.socket, usable without any sink), through the
 * prometheus sink's /health (the hook in struct hp_sink_ident), and
 * printed for a person by `hostpulse --status`.
 *
 * Locking: h->lock guards the view pointers and the drop tracker. The main
 * thread detaches the view (hp_health_detach) before it frees what the
 * view points at (reload, stop) and attaches the new one after; a reader
 * (socket thread, an HTTP thread of the prometheus sink) holds the lock
 * while it reads the statistics behind the view. */
#ifndef HP_HEALTH_H
#define HP_HEALTH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libconfig.h>

#include "lib/opts.h"
#include "reporters/self.h"

#define HP_HEALTH_SOCKET "/run/hostpulse/health.sock"

/* agent.health, as hp_health_opts fills it. */
struct hp_health_cfg {
    const char *socket;        /* "" disables the socket */
    double sink_down;          /* seconds a sink may stay down */
    int64_t backlog;           /* messages per sink (memory + in flight); 0: no limit */
    int64_t spool_bytes;       /* bytes on disk per sink; 0: no limit */
    double reporter_intervals; /* a reporter silent this many intervals is stale */
    double drop_window;        /* seconds after a ring drop that count as "growing" */
};

extern const struct hp_opt hp_health_opts[];

struct hp_health {
    pthread_mutex_t lock;
    /* Under lock: */
    const struct hp_self_view *view; /* NULL while detached */
    const double *intervals;         /* view->n_reporters, owned */
    int64_t attached_ms;             /* epoch ms the view was attached */
    uint64_t last_dropped;           /* ring drops at the last look */
    int64_t drop_seen_ms;            /* when they last grew, 0: never */
    struct hp_health_cfg cfg;        /* copied from the config at attach */
    const char *host, *session;      /* the agent's, live as long as h */
    /* The socket server: main thread only. */
    int listen_fd, stop_fd;
    pthread_t thread;
    bool running;
    char path[108];
};

/* Init the lock; identity strings are borrowed. -1 if the lock fails. */
int hp_health_init(struct hp_health *h, const char *host, const char *session);
void hp_health_destroy(struct hp_health *h);
/* Read agent.health (may be NULL: defaults) into cfg. Can't fail. */
void hp_health_cfg_read(struct hp_health_cfg *cfg, const config_setting_t *group);

/* Point at a new view (its reporters' intervals in intervals[], copied)
 * and thresholds. Main thread. */
void hp_health_attach(struct hp_health *h, const struct hp_self_view *v, const double *intervals,
                      const struct hp_health_cfg *cfg);
/* Forget the view; waits for a reader to finish. Main thread. */
void hp_health_detach(struct hp_health *h);

/* The health JSON (malloc'd, *json) and its HTTP status, 200 or 503. Any
 * thread. -1 on out of memory. The signature of hp_sink_ident.health. */
int hp_health_json(void *h, char **json, size_t *len);

/* Start / stop the unix socket server at cfg.socket. A socket that cannot
 * be made is logged and skipped (the agent runs on): returns 0 either way,
 * -1 only if the thread cannot start. */
int hp_health_serve(struct hp_health *h);
void hp_health_stop(struct hp_health *h);
/* After a reload (main thread): move the socket to agent.health.socket
 * when that changed. */
int hp_health_follow(struct hp_health *h);

/* --status: connect to path, print the answer as a table to out. Returns
 * the Nagios exit status: 0 ok, 1 warning, 2 critical or unreachable. */
int hp_health_status(const char *path, FILE *out);

#endif
