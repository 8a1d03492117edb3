/* transport.c -- the transport thread.
 *
 * One thread owns every sink. Each turn it drains the ring in batches into
 * every sink's backlog, then services each sink: reconnect when its backoff
 * has expired, poll it (acks, heartbeats), and offer it pending messages up
 * to its in-flight window. A failing sink is closed, its in-flight messages
 * re-queued, and retried with capped exponential backoff; the others keep
 * flowing. When there is nothing to do it sleeps on the ring (a push wakes
 * it), on the sinks' sockets, or for at most agent.tick while some sink has
 * work pending (a sink's own idle_poll_ms, or forever, when none has).
 *
 * Reporters on the same interval sample at the same instant, so a push
 * after a quiet spell (QUIET_MS without a message) is usually the first of
 * a round: the thread lingers (agent.linger) before draining, and the
 * round goes out as one batch, one wake-up and one confirm instead of one
 * each per message. A steady stream never lingers: it needs no batching
 * help, and lingering would cap it at a ring's worth per linger.
 *
 * Each sink's backlog has a disk spool (agent.spool, transport/spool.h),
 * opened when the thread starts so spooled messages are replayed before
 * live ones. A sink going down switches its backlog to spilling; coming
 * back switches it off; at exit what is left in memory goes to disk. */
#include "transport/transport.h"
#include "lib/clock.h"
#include "transport/backlog.h"
#include "transport/deadletter.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFFER_MAX 256
#define QUIET_MS  100 /* no message for this long: the next one may start a round */

/* The engine's state of one sink: nothing here is the sink's business. */
struct hp_sink_engine {
    struct hp_backlog *backlog;
    struct hp_complain complain;
    int64_t retry_at_ms; /* monotonic */
    int64_t backoff_ms;
    int64_t retry_initial_ms, retry_max_ms;
    bool open;
    bool stalled;         /* last write() took nothing: wait before re-offering */
    bool inited;          /* init was called: fini is due, even after a failed init */
    const char *dead_dir; /* where its dead letters go (the spool directory);
                             set when the transport starts, borrowed */
    struct hp_sink_stats stats;
};

struct hp_transport {
    struct hp_transport_cfg cfg;
    struct hp_spool_cfg spool; /* cfg.spool points here (or is NULL) */
    pthread_t thread;
    /* Stop request: 0 run, else an enum hp_transport_stop. Written by main
     * with a release store (hp_transport_stop), read with acquire by the
     * thread's loop (T1). */
    _Atomic int stop;
    /* Monotonic ns since the thread has been busy in a turn (draining,
     * servicing sinks), 0 while it waits: a lone timestamp for the
     * watchdog, written relaxed by the thread, read relaxed by main. */
    _Atomic int64_t busy_ns;
};

int64_t hp_transport_busy_since(const struct hp_transport *t)
{
    return t ? atomic_load_explicit(&t->busy_ns, memory_order_relaxed) : 0;
}

/* clang-format off */
const struct hp_opt hp_sink_common_opts[] = {
    {.name = "type", .type = HP_OPT_STRING, .flags = HP_OPT_REQUIRED, .help = "sink type",
     HP_AT_STR(struct hp_sink_common, type)},
    {.name = "name", .type = HP_OPT_STRING, .help = "unique name (default: the type)",
     HP_AT_STR(struct hp_sink_common, name)},
    {.name = "enabled", .type = HP_OPT_BOOL, .def = "true", .help = "use this sink",
     HP_AT_BOOL(struct hp_sink_common, enabled)},
    {.name = "backlog", .type = HP_OPT_INT, .def = "10000", .min = 1, .max = 10000000,
     .help = "messages kept in memory while the sink is slow or down",
     HP_AT_INT(struct hp_sink_common, backlog)},
    {.name = "retry_initial", .type = HP_OPT_FLOAT, .def = "1.0", .min = 0.01, .max = 3600,
     .help = "seconds before the first reconnect; doubles per failure",
     HP_AT_FLOAT(struct hp_sink_common, retry_initial)},
    {.name = "retry_max", .type = HP_OPT_FLOAT, .def = "60.0", .min = 0.01, .max = 86400,
     .help = "cap of the reconnect backoff, seconds",
     HP_AT_FLOAT(struct hp_sink_common, retry_max)},
    {0},
};
/* clang-format on */

int hp_sink_setup(struct hp_sink *s, const struct hp_sink_ops *ops, const config_setting_t *cfg,
                  const struct hp_sink_ident *id, struct hp_errs *errs)
{
    struct hp_sink_common c = {0};
    hp_opts_load(cfg, hp_sink_common_opts, &c);
    s->ops = ops;
    s->cfg = cfg;
    s->window = 1024;
    if (id)
        s->id = *id;
    if (c.name || !s->name[0]) /* a name the caller set is kept unless the config has one */
        snprintf(s->name, sizeof(s->name), "%s", c.name ? c.name : ops->type);
    s->engine = calloc(1, sizeof(*s->engine));
    if (s->engine && pthread_mutex_init(&s->engine->stats.last_error.lock, NULL) != 0) {
        free(s->engine);
        s->engine = NULL;
    }
    if (s->engine) {
        s->engine->backlog = hp_backlog_new((size_t)c.backlog);
        s->engine->retry_initial_ms = (int64_t)(c.retry_initial * 1000);
        s->engine->retry_max_ms = (int64_t)(c.retry_max * 1000);
    }
    if (!s->engine || !s->engine->backlog) {
        hp_errs_add(errs, cfg, "sink %s: cannot create its backlog (out of memory)", s->name);
        return -1;
    }
    if (ops->priv_size) {
        s->priv = calloc(1, ops->priv_size);
        if (!s->priv) {
            hp_errs_add(errs, cfg, "sink %s: out of memory", s->name);
            return -1;
        }
        hp_opts_load(cfg, ops->opts, s->priv);
    }
    unsigned before = errs->count;
    s->engine->inited = true;
    if (ops->init && ops->init(s, cfg, errs) != 0) {
        if (errs->count == before)
            hp_errs_add(errs, cfg, "sink %s: cannot initialise", s->name);
        return -1;
    }
    s->engine->backoff_ms = s->engine->retry_initial_ms;
    return 0;
}

void hp_sink_teardown(struct hp_sink *s)
{
    if (s->engine && s->engine->inited && s->ops->fini)
        s->ops->fini(s);
    if (s->ops && s->ops->priv_size) {
        free(s->priv);
        s->priv = NULL;
    }
    if (s->engine) {
        hp_backlog_free(s->engine->backlog);
        pthread_mutex_destroy(&s->engine->stats.last_error.lock);
    }
    free(s->engine);
    s->engine = NULL;
}

void hp_sink_retry_cap(struct hp_sink *s, double seconds)
{
    struct hp_sink_engine *e = s->engine;
    e->retry_max_ms = (int64_t)(seconds * 1000);
    if (e->retry_initial_ms > e->retry_max_ms)
        e->retry_initial_ms = e->retry_max_ms;
}

void hp_sink_returned(struct hp_sink *s, uint64_t n)
{
    atomic_fetch_add_explicit(&s->engine->stats.returned, n, memory_order_relaxed);
}

void hp_sink_take_backlog(struct hp_sink *to, struct hp_sink *from)
{
    struct hp_backlog *b = to->engine->backlog;
    hp_backlog_move(b, from->engine->backlog);
    b->window = to->window < b->limit ? to->window : b->limit;
    atomic_store_explicit(&to->engine->stats.backlog, hp_backlog_count(b), memory_order_relaxed);
}

const struct hp_sink_stats *hp_sink_stats_of(const struct hp_sink *s)
{
    return &s->engine->stats;
}

struct hp_backlog *hp_sink_backlog(struct hp_sink *s)
{
    return s->engine->backlog;
}

size_t hp_sinks_backlog(const struct hp_sink *sinks, size_t n)
{
    size_t total = 0;
    for (size_t j = 0; j < n; j++)
        total += hp_backlog_count(sinks[j].engine->backlog);
    return total;
}

int hp_sink_fail(struct hp_sink *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof(s->error), fmt, ap);
    va_end(ap);
    return -1;
}

/* Copy the backlog and spool counters into the sink's atomic stats. */
static void publish_stats(struct hp_sink *s)
{
    struct hp_sink_engine *e = s->engine;
    struct hp_sink_stats *st = &e->stats;
    atomic_store_explicit(&st->backlog, hp_backlog_count(e->backlog), memory_order_relaxed);
    if (!e->backlog->spool)
        return;
    const struct hp_spool_stats *sp = hp_spool_stats(e->backlog->spool);
    atomic_store_explicit(&st->spool.enabled, 1, memory_order_relaxed);
    atomic_store_explicit(&st->spool.spilling, e->backlog->spill, memory_order_relaxed);
    atomic_store_explicit(&st->spool.bytes, sp->bytes, memory_order_relaxed);
    atomic_store_explicit(&st->spool.segments, sp->segments, memory_order_relaxed);
    atomic_store_explicit(&st->spool.queued, hp_spool_unread(e->backlog->spool),
                          memory_order_relaxed);
    atomic_store_explicit(&st->spool.dropped, sp->dropped, memory_order_relaxed);
    atomic_store_explicit(&st->spool.corrupt, sp->corrupt, memory_order_relaxed);
    atomic_store_explicit(&st->spool.failed, sp->failed, memory_order_relaxed);
}

static bool sink_named(const char *name, void *ud)
{
    const struct hp_transport *t = ud;
    for (size_t j = 0; j < t->cfg.n_sinks; j++)
        if (strcmp(t->cfg.sinks[j].name, name) == 0)
            return true;
    return false;
}

/* The spool of the first sink of that type, for a removed sink's messages. */
static struct hp_spool *sink_of_type(const char *type, void *ud)
{
    const struct hp_transport *t = ud;
    for (size_t j = 0; j < t->cfg.n_sinks; j++) {
        const struct hp_sink *s = &t->cfg.sinks[j];
        if (strcmp(s->ops->type, type) == 0 && s->engine->backlog->spool)
            return s->engine->backlog->spool;
    }
    return NULL;
}

/* Open each sink's spool (unless it kept one across a reload). A spool
 * that cannot be opened leaves the sink with its memory backlog only.
 * Then look at the spools of sinks that are gone (hp_spool_orphans). */
static void open_spools(struct hp_transport *t)
{
    struct hp_spool_cfg def;
    hp_spool_cfg_read(&def, NULL);
    for (size_t j = 0; j < t->cfg.n_sinks; j++)
        t->cfg.sinks[j].engine->dead_dir = t->cfg.spool ? t->cfg.spool->directory : def.directory;
    if (!t->cfg.spool)
        return;
    for (size_t j = 0; j < t->cfg.n_sinks; j++) {
        struct hp_sink *s = &t->cfg.sinks[j];
        char err[256];
        if (!s->engine->backlog->spool) {
            struct hp_spool *sp = hp_spool_open(t->cfg.spool, s->name, err, sizeof(err));
            if (!sp) {
                hp_err("sink %s: no disk spool (%s); backlog in memory only", s->name, err);
                continue;
            }
            hp_backlog_set_spool(s->engine->backlog, sp, s->window);
        }
        hp_spool_set_type(s->engine->backlog->spool, s->ops->type);
        publish_stats(s);
    }
    hp_spool_orphans(t->cfg.spool, &(struct hp_spool_live){sink_named, sink_of_type, t});
}

int hp_dead_letter(struct hp_sink *s, const struct hp_msg *m, const char *reason)
{
    struct hp_sink_engine *e = s->engine;
    atomic_fetch_add_explicit(&e->stats.dead_lettered, 1, memory_order_relaxed);
    const char *dir = e->dead_dir;
    struct hp_spool_cfg def;
    if (!dir) { /* a sink driven without the transport (tests, tools) */
        hp_spool_cfg_read(&def, NULL);
        dir = def.directory;
    }
    int rc = hp_dead_letter_write(dir, s->name, HP_DEADLETTER_MAX, m, reason);
    if (rc != 0)
        hp_err("sink %s: cannot write the dead letter of %s #%llu under %s: %s; it is lost",
               s->name, m->reporter, (unsigned long long)m->seq, dir, strerror(errno));
    return rc;
}

void hp_sink_ack(struct hp_sink *s, uint64_t pos, enum hp_ack ack)
{
    struct hp_sink_engine *e = s->engine;
    if (!hp_backlog_ack(e->backlog, pos, ack))
        return;
    _Atomic uint64_t *counter = ack == HP_ACK_OK     ? &e->stats.sent
                                : ack == HP_ACK_DROP ? &e->stats.rejected
                                                     : &e->stats.retried;
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
    if (ack == HP_ACK_OK)
        atomic_store_explicit(&e->stats.last_ok_ms, hp_real_ms(), memory_order_relaxed);
}

/* Record why the sink went down, for health (lib/sink_stats.h). */
static void record_failure(struct hp_sink *s, int64_t now_real)
{
    struct hp_sink_stats *st = &s->engine->stats;
    int64_t zero = 0;
    atomic_compare_exchange_strong_explicit(&st->down_since_ms, &zero, now_real,
                                            memory_order_relaxed, memory_order_relaxed);
    pthread_mutex_lock(&st->last_error.lock);
    snprintf(st->last_error.text, sizeof(st->last_error.text), "%s",
             s->error[0] ? s->error : "failed");
    st->last_error.at_ms = now_real;
    pthread_mutex_unlock(&st->last_error.lock);
}

static void sink_close(struct hp_sink *s)
{
    if (s->engine->open && s->ops->close)
        s->ops->close(s);
    s->engine->open = false;
}

static void sink_down(struct hp_sink *s, int64_t now)
{
    struct hp_sink_engine *e = s->engine;
    sink_close(s);
    size_t n = hp_backlog_requeue(e->backlog);
    hp_backlog_set_spill(e->backlog, true);
    atomic_fetch_add_explicit(&e->stats.retried, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->stats.failed, 1, memory_order_relaxed);
    atomic_store_explicit(&e->stats.up, 0, memory_order_relaxed);
    record_failure(s, hp_real_ms());
    e->retry_at_ms = now + e->backoff_ms;
    char reason[sizeof(e->complain.last)], detail[64];
    snprintf(reason, sizeof(reason), "sink %.32s: %.255s", s->name,
             s->error[0] ? s->error : "failed");
    snprintf(detail, sizeof(detail), "; retrying in %.1f s", (double)e->backoff_ms / 1000.0);
    hp_complain_detail(&e->complain, HP_LOG_ERR, reason, detail);
    e->backoff_ms = e->backoff_ms * 2 > e->retry_max_ms ? e->retry_max_ms : e->backoff_ms * 2;
}

static bool sink_up(struct hp_sink *s, int64_t now)
{
    struct hp_sink_engine *e = s->engine;
    if (e->open)
        return true;
    if (now < e->retry_at_ms)
        return false;
    s->error[0] = '\0';
    if (s->ops->open && s->ops->open(s) != 0) {
        sink_down(s, now);
        return false;
    }
    e->open = true;
    hp_backlog_set_spill(e->backlog, false);
    e->backoff_ms = e->retry_initial_ms;
    atomic_store_explicit(&e->stats.up, 1, memory_order_relaxed);
    atomic_store_explicit(&e->stats.down_since_ms, 0, memory_order_relaxed);
    hp_complain_clear(&e->complain, "sink %s: connected again", s->name);
    return true;
}

/* Offer pending messages up to the window. Returns false if the sink broke. */
static bool offer(struct hp_sink *s, int64_t now)
{
    struct hp_sink_engine *e = s->engine;
    struct hp_backlog *b = e->backlog;
    struct hp_out out[OFFER_MAX];
    e->stalled = false;
    while (b->inflight < s->window && hp_backlog_has_pending(b)) {
        size_t room = s->window - b->inflight;
        size_t n = hp_backlog_take(b, out, room < OFFER_MAX ? room : OFFER_MAX);
        if (n == 0)
            break; /* the spool had nothing readable */
        int taken = s->ops->write(s, out, n);
        if (taken < 0) {
            sink_down(s, now);
            return false;
        }
        /* Give back what was not taken (and was not acked meanwhile). */
        for (size_t i = (size_t)taken; i < n; i++)
            hp_backlog_ack(b, out[i].pos, HP_ACK_RETRY);
        if ((size_t)taken < n) {
            e->stalled = taken == 0; /* flow control: sleep until its fd or a tick */
            break;
        }
    }
    return true;
}

static void service(struct hp_sink *s, int64_t now)
{
    if (sink_up(s, now)) {
        if (s->ops->poll && s->ops->poll(s) < 0)
            sink_down(s, now);
        else
            offer(s, now);
    }
    size_t lost = hp_backlog_sync(s->engine->backlog, now);
    if (lost)
        atomic_fetch_add_explicit(&s->engine->stats.dropped, lost, memory_order_relaxed);
    publish_stats(s);
}

static void service_all(struct hp_transport *t, int64_t now)
{
    for (size_t j = 0; j < t->cfg.n_sinks; j++)
        service(&t->cfg.sinks[j], now);
}

/* Pop everything in the ring into every sink's backlog. Returns how many. */
static size_t drain(struct hp_transport *t)
{
    void *batch[OFFER_MAX];
    size_t max = t->cfg.batch_size < OFFER_MAX ? t->cfg.batch_size : OFFER_MAX;
    size_t total = 0, n;
    while ((n = hp_ring_pop(t->cfg.ring, batch, max)) > 0) {
        for (size_t i = 0; i < n; i++) {
            struct hp_msg *m = batch[i];
            for (size_t j = 0; j < t->cfg.n_sinks; j++) {
                struct hp_sink_engine *e = t->cfg.sinks[j].engine;
                size_t lost = hp_backlog_push(e->backlog, m);
                if (lost)
                    atomic_fetch_add_explicit(&e->stats.dropped, lost, memory_order_relaxed);
            }
            hp_msg_unref(m);
        }
        total += n;
    }
    return total;
}

/* True if some open sink could take a message right now. */
static bool can_offer(const struct hp_transport *t)
{
    for (size_t j = 0; j < t->cfg.n_sinks; j++) {
        const struct hp_sink *s = &t->cfg.sinks[j];
        const struct hp_sink_engine *e = s->engine;
        if (e->open && !e->stalled && e->backlog->inflight < s->window &&
            hp_backlog_has_pending(e->backlog))
            return true;
    }
    return false;
}

/* Sleep until there is work; true if a push (not a socket or the timeout)
 * ended the sleep. */
static bool wait_for_work(struct hp_transport *t, int timeout_ms)
{
    struct pollfd fds[32];
    size_t n = 0;
    for (size_t j = 0; j < t->cfg.n_sinks && n < 32; j++) {
        struct hp_sink *s = &t->cfg.sinks[j];
        int fd = s->engine->open && s->ops->pollfd ? s->ops->pollfd(s) : -1;
        if (fd >= 0)
            fds[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
    }
    return hp_ring_wait_fds(t->cfg.ring, fds, n, timeout_ms);
}

/* Shutdown: keep delivering until every backlog is empty or the deadline. */
static void finish(struct hp_transport *t, int64_t deadline_ms)
{
    while (hp_sinks_backlog(t->cfg.sinks, t->cfg.n_sinks) > 0) {
        int64_t now = hp_mono_ms();
        if (now >= deadline_ms)
            break;
        drain(t);
        service_all(t, now);
        if (!can_offer(t))
            wait_for_work(t, 10);
    }
}

static void close_all(struct hp_transport *t, int64_t deadline_ms)
{
    for (size_t j = 0; j < t->cfg.n_sinks; j++) {
        struct hp_sink *s = &t->cfg.sinks[j];
        if (!s->engine->open)
            continue;
        int64_t left = deadline_ms - hp_mono_ms();
        if (s->ops->flush)
            s->ops->flush(s, left > 0 ? (int)left : 0);
        sink_close(s);
        hp_backlog_requeue(s->engine->backlog);
        atomic_store_explicit(&s->engine->stats.up, 0, memory_order_relaxed);
    }
    /* What is left in memory goes to disk, to be replayed at the next start. */
    for (size_t j = 0; j < t->cfg.n_sinks; j++) {
        struct hp_sink *s = &t->cfg.sinks[j];
        hp_backlog_set_spill(s->engine->backlog, true);
        hp_backlog_sync(s->engine->backlog, hp_mono_ms());
        publish_stats(s);
    }
}

/* How long the transport may sleep with nothing arriving: agent.tick while
 * some sink is down (its retry comes due), still holds messages, spills or
 * keeps a spool that fsyncs on a timer; a sink's idle_poll_ms (heartbeats)
 * or agent.tick if it polls without one; otherwise until a reporter pushes
 * (-1), so an idle agent wakes only for its samples. */
static int idle_timeout_ms(const struct hp_transport *t, int tick_ms)
{
    int to = -1;
    for (size_t j = 0; j < t->cfg.n_sinks; j++) {
        const struct hp_sink *s = &t->cfg.sinks[j];
        const struct hp_backlog *b = s->engine->backlog;
        int need = -1;
        if (!s->engine->open || hp_backlog_count(b) > 0 || b->spill ||
            (b->spool && hp_spool_always(b->spool)))
            need = tick_ms;
        else if (s->ops->poll)
            need = s->idle_poll_ms > 0 ? s->idle_poll_ms : tick_ms;
        if (need >= 0 && (to < 0 || need < to))
            to = need;
    }
    return to;
}

static void linger(int64_t ns)
{
    struct timespec ts = hp_ns_ts(ns);
    while (nanosleep(&ts, &ts) != 0)
        ; /* EINTR: sleep the rest */
}

static void *transport_main(void *arg)
{
    struct hp_transport *t = arg;
    pthread_setname_np(pthread_self(), "hp-transport");
    int tick_ms = (int)(t->cfg.tick * 1000);
    int64_t linger_ns = (int64_t)(t->cfg.linger * 1e9), last_msg_ms = 0;
    int stop;
    open_spools(t);
    /* T1: acquire pairs with the release store in hp_transport_stop, so
     * everything main did before asking us to stop is visible here. */
    while ((stop = atomic_load_explicit(&t->stop, memory_order_acquire)) == 0) {
        int64_t now = hp_mono_ms();
        /* Heartbeat for the watchdog (relaxed: a lone timestamp). */
        atomic_store_explicit(&t->busy_ns, hp_mono_ns(), memory_order_relaxed);
        if (drain(t) > 0)
            last_msg_ms = now;
        service_all(t, now);
        atomic_store_explicit(&t->busy_ns, 0, memory_order_relaxed);
        if (!can_offer(t) && wait_for_work(t, idle_timeout_ms(t, tick_ms)) && linger_ns > 0 &&
            hp_mono_ms() - last_msg_ms >= QUIET_MS)
            linger(linger_ns);
    }
    drain(t);
    int64_t deadline = hp_mono_ms();
    deadline += stop == HP_STOP_SHUTDOWN ? (int64_t)(t->cfg.shutdown_timeout * 1000) : 1000;
    if (stop == HP_STOP_SHUTDOWN)
        finish(t, deadline);
    close_all(t, deadline);
    return NULL;
}

struct hp_transport *hp_transport_start(const struct hp_transport_cfg *cfg)
{
    struct hp_transport *t = calloc(1, sizeof(*t));
    if (!t) {
        hp_err("transport: out of memory");
        return NULL;
    }
    t->cfg = *cfg;
    if (cfg->spool) {
        t->spool = *cfg->spool;
        t->cfg.spool = &t->spool;
    }
    atomic_init(&t->stop, 0);
    int err = pthread_create(&t->thread, NULL, transport_main, t);
    if (err) {
        hp_err("transport: cannot start thread: %s", strerror(err));
        free(t);
        return NULL;
    }
    return t;
}

static void warn_undelivered(const struct hp_sink *s)
{
    const struct hp_backlog *b = s->engine->backlog;
    size_t n = hp_backlog_count(b), disk = b->spool ? hp_spool_unread(b->spool) : 0;
    if (n)
        hp_warn("sink %s: %zu message(s) not delivered at exit (%zu kept in the spool)%s%s",
                s->name, n, disk, s->error[0] ? ": " : "", s->error);
}

size_t hp_transport_stop(struct hp_transport *t, enum hp_transport_stop how)
{
    if (!t)
        return 0;
    /* Release: pairs with T1. */
    atomic_store_explicit(&t->stop, (int)how, memory_order_release);
    hp_ring_wake(t->cfg.ring);
    pthread_join(t->thread, NULL);
    size_t left = hp_sinks_backlog(t->cfg.sinks, t->cfg.n_sinks);
    if (how == HP_STOP_SHUTDOWN)
        for (size_t j = 0; j < t->cfg.n_sinks; j++)
            warn_undelivered(&t->cfg.sinks[j]);
    free(t);
    return left;
}

int hp_sinks_check(struct hp_sink *sinks, size_t n)
{
    int problems = 0;
    for (size_t j = 0; j < n; j++) {
        struct hp_sink *s = &sinks[j];
        if (s->ops->check) {
            problems += s->ops->check(s);
            continue;
        }
        s->error[0] = '\0';
        if (s->ops->open && s->ops->open(s) != 0) {
            fprintf(stderr, "sink %s (%s): %s\n", s->name, s->ops->type,
                    s->error[0] ? s->error : "cannot open");
            problems++;
            continue;
        }
        if (s->ops->close)
            s->ops->close(s);
        fprintf(stderr, "sink %s (%s): ok\n", s->name, s->ops->type);
    }
    return problems;
}
