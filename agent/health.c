/* SPDX-License-Identifier: Apache-2.0 */
/* health.c -- the agent's health verdict as JSON, the unix socket that
 * serves it (one thread, one job: accept, write the JSON, close) and the
 * --status client that prints it for a person and exits like a Nagios
 * check. See health.h for the rules and the locking. */
#include "agent/health.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/msg.h"
#include "lib/sink_stats.h"
#include "lib/version.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* clang-format off */
const struct hp_opt hp_health_opts[] = {
    {.name = "socket", .type = HP_OPT_STRING, .def = HP_HEALTH_SOCKET,
     .help = "unix socket answering the health JSON (\"\": none; hostpulse --status reads it)",
     HP_AT_STR(struct hp_health_cfg, socket)},
    {.name = "sink_down", .type = HP_OPT_FLOAT, .def = "300", .min = 0, .max = 86400,
     .help = "seconds a sink may stay down before health is critical",
     HP_AT_FLOAT(struct hp_health_cfg, sink_down)},
    {.name = "backlog", .type = HP_OPT_INT, .def = "100000", .min = 0, .max = 1e12,
     .help = "messages a sink may hold in memory before health is critical (0: no limit)",
     HP_AT_INT(struct hp_health_cfg, backlog)},
    {.name = "spool_bytes", .type = HP_OPT_INT, .def = "268435456", .min = 0, .max = 1e15,
     .help = "bytes a sink may hold in its disk spool before health is critical (0: no limit)",
     HP_AT_INT(struct hp_health_cfg, spool_bytes)},
    {.name = "reporter_intervals", .type = HP_OPT_FLOAT, .def = "3", .min = 1, .max = 1000,
     .help = "a reporter without a published sample for this many intervals is critical",
     HP_AT_FLOAT(struct hp_health_cfg, reporter_intervals)},
    {.name = "drop_window", .type = HP_OPT_FLOAT, .def = "60", .min = 1, .max = 86400,
     .help = "seconds after messages were lost to a full ring during which health is critical",
     HP_AT_FLOAT(struct hp_health_cfg, drop_window)},
    {0},
};
/* clang-format on */

void hp_health_cfg_read(struct hp_health_cfg *cfg, const config_setting_t *group)
{
    hp_opts_load(group, hp_health_opts, cfg);
    /* HOSTPULSE_HEALTH_SOCKET replaces the default path, not one the
     * configuration sets (the test suite gives each agent its own). */
    const char *env = getenv("HOSTPULSE_HEALTH_SOCKET");
    if (env && (!group || !config_setting_get_member(group, "socket")))
        cfg->socket = env;
}

int hp_health_init(struct hp_health *h, const char *host, const char *session)
{
    memset(h, 0, sizeof(*h));
    h->listen_fd = h->stop_fd = -1;
    h->host = host;
    h->session = session;
    hp_health_cfg_read(&h->cfg, NULL);
    return pthread_mutex_init(&h->lock, NULL) == 0 ? 0 : -1;
}

void hp_health_destroy(struct hp_health *h)
{
    hp_health_stop(h);
    free((void *)h->intervals);
    pthread_mutex_destroy(&h->lock);
}

void hp_health_attach(struct hp_health *h, const struct hp_self_view *v, const double *intervals,
                      const struct hp_health_cfg *cfg)
{
    double *copy = calloc(v->n_reporters + 1, sizeof(*copy));
    if (copy && v->n_reporters)
        memcpy(copy, intervals, v->n_reporters * sizeof(*copy));
    pthread_mutex_lock(&h->lock);
    free((void *)h->intervals);
    h->intervals = copy;
    h->view = copy ? v : NULL;
    h->cfg = *cfg;
    if (!h->attached_ms && copy) /* drops before the first look are not "growing" */
        h->last_dropped = atomic_load_explicit(v->dropped, memory_order_relaxed);
    h->attached_ms = hp_real_ms();
    pthread_mutex_unlock(&h->lock);
}

void hp_health_detach(struct hp_health *h)
{
    pthread_mutex_lock(&h->lock);
    h->view = NULL;
    pthread_mutex_unlock(&h->lock);
}

/* The verdict so far: reasons (critical) and warnings, as JSON arrays. */
struct verdict {
    json_object *reasons, *warnings;
};

static void add(json_object *list, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(json_object *list, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    json_object_array_add(list, json_object_new_string(buf));
}

static void add_time(json_object *o, const char *key, int64_t ms)
{
    json_object_object_add(o, key, ms ? json_object_new_int64(ms) : NULL);
}

static json_object *sink_json(const struct hp_health *h, const struct hp_self_sink *s, int64_t now,
                              struct verdict *v)
{
    struct hp_sink_stats *st = (struct hp_sink_stats *)s->stats; /* its mutex only */
    json_object *o = json_object_new_object();
    bool up = atomic_load_explicit(&st->up, memory_order_relaxed);
    int64_t down = atomic_load_explicit(&st->down_since_ms, memory_order_relaxed);
    uint64_t backlog = atomic_load_explicit(&st->backlog, memory_order_relaxed);
    uint64_t spool = atomic_load_explicit(&st->spool.bytes, memory_order_relaxed);
    char err[256];
    int64_t err_at = hp_sink_stats_last_error(st, err, sizeof(err));
    hp_json_add_string(o, "type", s->type);
    json_object_object_add(o, "up", json_object_new_boolean(up));
    add_time(o, "down_since", up ? 0 : down);
    hp_json_add_uint(o, "backlog", backlog);
    hp_json_add_uint(o, "spool_bytes", spool);
    hp_json_add_uint(o, "spool_queued",
                     atomic_load_explicit(&st->spool.queued, memory_order_relaxed));
    hp_json_add_uint(o, "sent", atomic_load_explicit(&st->sent, memory_order_relaxed));
    add_time(o, "last_ok", atomic_load_explicit(&st->last_ok_ms, memory_order_relaxed));
    json_object_object_add(o, "last_error", err_at ? json_object_new_string(err) : NULL);
    add_time(o, "last_error_at", err_at);
    double down_s = !up && down ? (double)(now - down) / 1000.0 : 0;
    if (!up && down && down_s > h->cfg.sink_down)
        add(v->reasons, "sink %s down for %.0f s (limit %.0f s): %s", s->name, down_s,
            h->cfg.sink_down, err);
    else if (!up && down)
        add(v->warnings, "sink %s down for %.0f s: %s", s->name, down_s, err);
    if (h->cfg.backlog && backlog > (uint64_t)h->cfg.backlog)
        add(v->reasons, "sink %s holds %llu messages (limit %lld)", s->name,
            (unsigned long long)backlog, (long long)h->cfg.backlog);
    if (h->cfg.spool_bytes && spool > (uint64_t)h->cfg.spool_bytes)
        add(v->reasons, "sink %s spools %llu bytes (limit %lld)", s->name,
            (unsigned long long)spool, (long long)h->cfg.spool_bytes);
    return o;
}

static json_object *reporter_json(const struct hp_health *h, size_t i, int64_t now,
                                  struct verdict *v)
{
    const struct hp_self_reporter *r = &h->view->reporters[i];
    json_object *o = json_object_new_object();
    int64_t ok = atomic_load_explicit(&r->stats->last_ok_ms, memory_order_relaxed);
    int64_t bad = atomic_load_explicit(&r->stats->last_error_ms, memory_order_relaxed);
    double interval = h->intervals[i];
    hp_json_add_double(o, "interval", interval, 3);
    add_time(o, "last_sample", ok);
    hp_json_add_uint(o, "samples", atomic_load_explicit(&r->stats->samples, memory_order_relaxed));
    hp_json_add_uint(o, "errors", atomic_load_explicit(&r->stats->errors, memory_order_relaxed));
    add_time(o, "last_error_at", bad);
    int64_t since = ok > h->attached_ms ? ok : h->attached_ms;
    double silent = (double)(now - since) / 1000.0;
    /* A sample may take up to an interval of its own; one more interval of slack
     * for the first, primed sample. */
    if (silent > h->cfg.reporter_intervals * interval + 1.0)
        add(v->reasons, "reporter %s: no sample for %.0f s (interval %g s)%s", r->name, silent,
            interval, bad > since ? ", its last run failed" : "");
    else if (bad > ok)
        add(v->warnings, "reporter %s: its last sample failed", r->name);
    return o;
}

/* Note new ring drops at now; whether the ring dropped within the
 * window, and (dropped) how many in all. Under h->lock, with a view. */
static bool note_drops(struct hp_health *h, int64_t now, uint64_t *dropped)
{
    *dropped = atomic_load_explicit(h->view->dropped, memory_order_relaxed);
    if (*dropped > h->last_dropped)
        h->drop_seen_ms = now;
    h->last_dropped = *dropped;
    return h->drop_seen_ms && (double)(now - h->drop_seen_ms) / 1000.0 < h->cfg.drop_window;
}

/* Under h->lock, with a view. */
static void ring_json(struct hp_health *h, json_object *out, int64_t now, struct verdict *v)
{
    const struct hp_self_view *view = h->view;
    uint64_t dropped;
    bool growing = note_drops(h, now, &dropped);
    json_object *o = json_object_new_object();
    hp_json_add_uint(o, "dropped", dropped);
    json_object_object_add(o, "dropped_recently", json_object_new_boolean(growing));
    hp_json_add_uint(o, "capacity", hp_ring_capacity(view->ring));
    hp_json_add_uint(o, "used", hp_ring_size(view->ring));
    json_object_object_add(out, "ring", o);
    if (growing)
        add(v->reasons, "the ring dropped messages in the last %.0f s (%llu in all)",
            h->cfg.drop_window, (unsigned long long)dropped);
}

/* The whole answer; returns the status code. Under h->lock. */
static int build(struct hp_health *h, json_object *out)
{
    int64_t now = hp_real_ms();
    struct verdict v = {json_object_new_array(), json_object_new_array()};
    hp_json_add_string(out, "host", h->host);
    hp_json_add_string(out, "session", h->session);
    hp_json_add_string(out, "version", HP_VERSION);
    json_object_object_add(out, "time", json_object_new_int64(now));
    if (!h->view) {
        add(v.reasons, "the agent is starting, reloading or stopping");
    } else {
        ring_json(h, out, now, &v);
        json_object *sinks = json_object_new_object();
        for (size_t i = 0; i < h->view->n_sinks; i++)
            json_object_object_add(sinks, h->view->sinks[i].name,
                                   sink_json(h, &h->view->sinks[i], now, &v));
        json_object_object_add(out, "sinks", sinks);
        json_object *reps = json_object_new_object();
        for (size_t i = 0; i < h->view->n_reporters; i++)
            json_object_object_add(reps, h->view->reporters[i].name, reporter_json(h, i, now, &v));
        json_object_object_add(out, "reporters", reps);
    }
    bool critical = json_object_array_length(v.reasons) > 0;
    bool warning = json_object_array_length(v.warnings) > 0;
    hp_json_add_string(out, "status", critical ? "critical" : warning ? "warning" : "ok");
    json_object_object_add(out, "code", json_object_new_int(critical ? 503 : 200));
    json_object_object_add(out, "reasons", v.reasons);
    json_object_object_add(out, "warnings", v.warnings);
    return critical ? 503 : 200;
}

int hp_health_json(void *ctx, char **json, size_t *len)
{
    struct hp_health *h = ctx;
    json_object *o = json_object_new_object();
    if (!o)
        return -1;
    pthread_mutex_lock(&h->lock);
    int code = build(h, o);
    pthread_mutex_unlock(&h->lock);
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    *json = s ? malloc(n + 2) : NULL;
    if (*json) {
        memcpy(*json, s, n);
        (*json)[n] = '\n';
        (*json)[n + 1] = '\0';
        *len = n + 1;
    }
    json_object_put(o);
    return *json ? code : -1;
}

/* Write all of buf to fd (blocking, bounded by SO_SNDTIMEO). */
static void write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

static void answer_one(struct hp_health *h, int fd)
{
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    char *json = NULL;
    size_t len = 0;
    if (hp_health_json(h, &json, &len) >= 0)
        write_all(fd, json, len);
    free(json);
    close(fd);
}

/* The socket thread: accept, answer, close; every few seconds also look at
 * the ring drops, so "growing" does not depend on someone asking. */
static void *serve(void *arg)
{
    struct hp_health *h = arg;
    struct pollfd p[2] = {{.fd = h->listen_fd, .events = POLLIN},
                          {.fd = h->stop_fd, .events = POLLIN}};
    for (;;) {
        int n = poll(p, 2, 5000);
        if (n < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (n == 0) { /* only the drop tracker: no answer to build */
            uint64_t dropped;
            pthread_mutex_lock(&h->lock);
            if (h->view)
                note_drops(h, hp_real_ms(), &dropped);
            pthread_mutex_unlock(&h->lock);
            continue;
        }
        int fd = p[0].revents ? accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC) : -1;
        if (fd >= 0)
            answer_one(h, fd);
    }
    return NULL;
}

/* A socket at path that answers belongs to a running agent: leave it. */
static bool in_use(const struct sockaddr_un *a)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool used = fd >= 0 && connect(fd, (const struct sockaddr *)a, sizeof(*a)) == 0;
    if (fd >= 0)
        close(fd);
    return used;
}

static int listen_at(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(a.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    if (in_use(&a)) {
        errno = EADDRINUSE;
        return -1;
    }
    unlink(path); /* a stale socket of an agent that died */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    mode_t old = umask(0117); /* 0660: the agent's user and group */
    int rc = fd >= 0 ? bind(fd, (struct sockaddr *)&a, sizeof(a)) : -1;
    umask(old);
    if (rc == 0)
        rc = listen(fd, 8);
    if (rc != 0 && fd >= 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int hp_health_serve(struct hp_health *h)
{
    if (h->running || !h->cfg.socket || !*h->cfg.socket)
        return 0;
    snprintf(h->path, sizeof(h->path), "%s", h->cfg.socket);
    h->listen_fd = listen_at(h->path);
    if (h->listen_fd < 0) {
        /* Its directory is the service's runtime directory (systemd's
         * RuntimeDirectory=, the SysV script's mkdir): run from source or
         * by hand it is absent, which is no fault of the agent's. */
        if (errno == ENOENT)
            hp_info("health: no socket at %s (its directory does not exist; the service "
                    "creates it); /health on a prometheus sink still answers",
                    h->path);
        else
            hp_warn("health: no socket at %s: %s", h->path, strerror(errno));
        h->path[0] = '\0';
        return 0;
    }
    h->stop_fd = eventfd(0, EFD_CLOEXEC);
    int err = h->stop_fd < 0 ? errno : pthread_create(&h->thread, NULL, serve, h);
    if (err) {
        hp_err("health: cannot start the socket thread: %s", strerror(err));
        hp_health_stop(h);
        return -1;
    }
    h->running = true;
    return 0;
}

/* After a reload: serve at agent.health.socket if that is not where the
 * socket is now (a new path, "" for none, or a path that could not be made
 * before and is retried). */
int hp_health_follow(struct hp_health *h)
{
    const char *want = h->cfg.socket ? h->cfg.socket : "";
    if (h->running && strcmp(h->path, want) == 0)
        return 0;
    hp_health_stop(h);
    return hp_health_serve(h);
}

void hp_health_stop(struct hp_health *h)
{
    if (h->running) {
        uint64_t one = 1;
        if (write(h->stop_fd, &one, sizeof(one)) < 0)
            hp_err("health: cannot stop the socket thread: %s", strerror(errno));
        pthread_join(h->thread, NULL);
        h->running = false;
    }
    if (h->listen_fd >= 0) {
        close(h->listen_fd);
        if (h->path[0])
            unlink(h->path);
    }
    if (h->stop_fd >= 0)
        close(h->stop_fd);
    h->listen_fd = h->stop_fd = -1;
    h->path[0] = '\0';
}
