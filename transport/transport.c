/* SPDX-License-Identifier: Apache-2.0 */
/* transport.c -- the delivery engine: one transport thread, one delivery
 * thread per sink.
 *
 * The transport thread (hp-transport) drains the ring in batches into every
 * sink's backlog and wakes the sinks that got messages; it never calls a
 * sink. Each sink has its own delivery thread (hp-s-NAME) that runs all of
 * that sink's blocking work: reconnect when its backoff has expired, poll
 * (acks, heartbeats), offer pending messages up to its in-flight window,
 * and at the end flush and close. A sink that hangs (an HTTP server that
 * never answers) therefore delays only itself: its backlog grows (memory,
 * then the spool) while every other sink keeps delivering. A failing sink
 * is closed, its in-flight messages re-queued, and retried with capped
 * exponential backoff.
 *
 * Handoffs (docs/architecture.md, "Threads and handoffs"):
 * - A sink's backlog (and its spool) is shared by the transport thread
 *   (push) and the sink's thread (take, ack, requeue, spill, sync): every
 *   access holds the engine's `lock`. The lock is never held across a sink
 *   callback, so a sink stuck in write() never blocks the transport thread.
 *   A message taken for write() gets its own reference, so the transport
 *   thread may drop it from a full backlog meanwhile.
 * - The transport thread wakes a sink's thread through its eventfd after
 *   pushing; eventfd is a counter, so a wake-up between the sink's check
 *   and its poll() is never lost.
 * - Start, stop and reload: main creates the sink threads and then the
 *   transport thread; at stop it joins the transport thread (which drains
 *   the ring one last time), then tells each sink thread to stop (release
 *   store of `stop` after writing `deadline_ms`, S1) and joins it.
 * - Statistics (hp_sink_stats) are relaxed atomics, written by both.
 *
 * Reporters on the same interval sample at the same instant, so a push
 * after a quiet spell (QUIET_MS without a message) is usually the first of
 * a round: the transport thread lingers (agent.linger) before draining, and
 * the round goes out as one batch, one wake-up per sink and one confirm
 * instead of one each per message. A steady stream never lingers. The
 * sink's thread then lingers as long before it reads the round's
 * acknowledgements (ack_linger), which brokers send one by one.
 *
 * Each sink's backlog has a disk spool (agent.spool, transport/spool.h),
 * opened before any thread starts so spooled messages are replayed before
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
#include <sys/eventfd.h>
#include <unistd.h>

#define OFFER_MAX 256
#define QUIET_MS  100 /* no message for this long: the next one may start a round */
/* While a sink keeps failing, its failure is repeated at most this often
 * (with the attempts since the last line): one line per outage and one per
 * recovery otherwise, however many files or URLs the sink fails on. */
#define FAILING_REPEAT_MS 30000

/* A sink's outage as its log lines tell it: the sink thread's own. */
struct outage {
    bool down;         /* a failure was logged, the recovery not yet */
    int64_t since_ms;  /* monotonic: first failure of this outage */
    int64_t logged_ms; /* monotonic: last line about it */
    unsigned attempts; /* failed attempts since that line */
    unsigned total;    /* failed attempts in this outage */
    char first[256];   /* the reason logged first, and the latest one */
    char last[256];
};

/* The engine's state of one sink: nothing here is the sink's business. */
struct hp_sink_engine {
    /* Guards backlog (and the spool inside it): the transport thread pushes,
     * the sink's thread takes, acks and spills. Never held across a sink
     * callback. */
    pthread_mutex_t lock;
    struct hp_backlog *backlog;
    int wakefd;       /* eventfd: the transport thread pushed something */
    pthread_t thread; /* the sink's delivery thread, while `running` */
    bool running;     /* main only */
    /* Stop request for the sink's thread: 0 run, else an enum
     * hp_transport_stop. Main writes deadline_ms, then stores stop with
     * release (S1); the thread loads it with acquire (S2). */
    _Atomic int stop;
    int64_t deadline_ms;
    /* Monotonic ns since the sink's thread has been busy, 0 while it
     * waits: a lone timestamp for the watchdog (relaxed). */
    _Atomic int64_t busy_ns;
    int tick_ms;   /* agent.tick, set before the thread starts */
    int linger_ms; /* agent.linger, set before the thread starts */
    /* The sink thread's own, never touched by another thread while it runs: */
    struct outage outage;
    int64_t retry_at_ms; /* monotonic */
    int64_t backoff_ms;
    int64_t retry_initial_ms, retry_max_ms;
    bool open;
    bool stalled;         /* last write() took nothing: wait before re-offering */
    int64_t acks_at_ms;   /* monotonic: read acknowledgements then (ack_linger); 0: none due */
    int64_t wrote_ms;     /* monotonic: the last write() that took messages */
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
    /* Monotonic ns since the thread has been busy in a turn (draining),
     * 0 while it waits: a lone timestamp for the watchdog, written relaxed
     * by the thread, read relaxed by main. */
    _Atomic int64_t busy_ns;
};

static int64_t older(int64_t a, int64_t b)
{
    return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

int64_t hp_transport_busy_since(const struct hp_transport *t)
{
    if (!t)
        return 0;
    /* Relaxed: each heartbeat is a lone timestamp. The oldest busy turn of
     * the transport thread or of any sink thread is what the watchdog sees. */
    int64_t since = atomic_load_explicit(&t->busy_ns, memory_order_relaxed);
    for (size_t j = 0; j < t->cfg.n_sinks; j++)
        since = older(since,
                      atomic_load_explicit(&t->cfg.sinks[j].engine->busy_ns, memory_order_relaxed));
    return since;
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
    {.name = "backlog_bytes", .type = HP_OPT_INT, .def = "67108864", .min = 0,
     .max = 1099511627776,
     .help = "message bytes kept in memory (0: no cap); beyond them, as beyond backlog, "
             "messages go to the spool (or the oldest are dropped without one)",
     HP_AT_INT(struct hp_sink_common, backlog_bytes)},
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
        pthread_mutex_init(&s->engine->lock, NULL);
        s->engine->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        s->engine->backlog = hp_backlog_new((size_t)c.backlog);
        if (s->engine->backlog)
            hp_backlog_set_limit_bytes(s->engine->backlog, (size_t)c.backlog_bytes);
        s->engine->retry_initial_ms = (int64_t)(c.retry_initial * 1000);
        s->engine->retry_max_ms = (int64_t)(c.retry_max * 1000);
    }
    if (!s->engine || !s->engine->backlog || s->engine->wakefd < 0) {
        hp_errs_add(errs, cfg, "sink %s: cannot create its backlog: %s", s->name,
                    strerror(errno ? errno : ENOMEM));
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
        if (s->engine->wakefd >= 0)
            close(s->engine->wakefd);
        pthread_mutex_destroy(&s->engine->lock);
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

/* Main thread, no sink thread running (init), or the sink's thread. */
void hp_sink_returned(struct hp_sink *s, uint64_t n)
{
    atomic_fetch_add_explicit(&s->engine->stats.returned, n, memory_order_relaxed);
}

void hp_sink_take_backlog(struct hp_sink *to, struct hp_sink *from)
{
    struct hp_backlog *b = to->engine->backlog; /* no thread runs: no lock */
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

static size_t locked_count(struct hp_sink_engine *e)
{
    pthread_mutex_lock(&e->lock);
    size_t n = hp_backlog_count(e->backlog);
    pthread_mutex_unlock(&e->lock);
    return n;
}

size_t hp_sinks_backlog(const struct hp_sink *sinks, size_t n)
{
    size_t total = 0;
    for (size_t j = 0; j < n; j++)
        total += locked_count(sinks[j].engine);
    return total;
}

int hp_sink_fail(struct hp_sink *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->error, sizeof(s->error), fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof(s->error)) /* say that the reason was cut */
        memcpy(s->error + sizeof(s->error) - 4, "...", 4);
    return -1;
}

/* Copy the backlog and spool counters into the sink's atomic stats.
 * Caller holds e->lock. */
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
 * Then look at the spools of sinks that are gone (hp_spool_orphans).
 * Main thread, before any engine thread starts. */
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
    pthread_mutex_lock(&e->lock);
    bool known = hp_backlog_ack(e->backlog, pos, ack);
    pthread_mutex_unlock(&e->lock);
    if (!known)
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

/* The first failure of an outage is logged with its reason and the retry
 * delay; later ones only every FAILING_REPEAT_MS, with the latest reason
 * and the number of attempts since the last line. */
static void log_failure(struct hp_sink *s, int64_t now)
{
    struct outage *o = &s->engine->outage;
    const char *why = s->error[0] ? s->error : "failed";
    double retry_s = (double)s->engine->backoff_ms / 1000.0;
    o->total++;
    snprintf(o->last, sizeof(o->last), "%s", why);
    if (!o->down) {
        *o = (struct outage){.down = true, .since_ms = now, .logged_ms = now, .total = 1};
        snprintf(o->first, sizeof(o->first), "%s", why);
        snprintf(o->last, sizeof(o->last), "%s", why);
        hp_err("sink %s: %s; retrying in %.1f s", s->name, why, retry_s);
        return;
    }
    o->attempts++;
    if (now - o->logged_ms < FAILING_REPEAT_MS)
        return;
    hp_err("sink %s: still failing after %.0f s, %u attempt(s) since the last report: %s; "
           "retrying in %.1f s",
           s->name, (double)(now - o->since_ms) / 1000.0, o->attempts, why, retry_s);
    o->logged_ms = now;
    o->attempts = 0;
}

static void log_recovery(struct hp_sink *s, int64_t now)
{
    struct outage *o = &s->engine->outage;
    if (!o->down)
        return;
    bool changed = strcmp(o->first, o->last) != 0; /* the last reason is news */
    hp_info("sink %s: connected again after %.1f s (%u failed attempt(s)%s%s)", s->name,
            (double)(now - o->since_ms) / 1000.0, o->total, changed ? "; the last: " : "",
            changed ? o->last : "");
    o->down = false;
}

static void sink_down(struct hp_sink *s, int64_t now)
{
    struct hp_sink_engine *e = s->engine;
    sink_close(s);
    pthread_mutex_lock(&e->lock);
    size_t n = hp_backlog_requeue(e->backlog);
    hp_backlog_set_spill(e->backlog, true);
    pthread_mutex_unlock(&e->lock);
    atomic_fetch_add_explicit(&e->stats.retried, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->stats.failed, 1, memory_order_relaxed);
    atomic_store_explicit(&e->stats.up, 0, memory_order_relaxed);
    record_failure(s, hp_real_ms());
    e->retry_at_ms = now + e->backoff_ms;
    log_failure(s, now);
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
    pthread_mutex_lock(&e->lock);
    hp_backlog_set_spill(e->backlog, false);
    pthread_mutex_unlock(&e->lock);
    e->backoff_ms = e->retry_initial_ms;
    atomic_store_explicit(&e->stats.up, 1, memory_order_relaxed);
    atomic_store_explicit(&e->stats.down_since_ms, 0, memory_order_relaxed);
    return true;
}

/* Take up to the window's room of pending messages, each with a reference
 * of our own (the transport thread may drop them from a full backlog while
 * write() runs unlocked). */
static size_t take(struct hp_sink *s, struct hp_out *out)
{
    struct hp_sink_engine *e = s->engine;
    struct hp_backlog *b = e->backlog;
    size_t n = 0;
    pthread_mutex_lock(&e->lock);
    if (b->inflight < s->window && hp_backlog_has_pending(b)) {
        size_t room = s->window - b->inflight;
        n = hp_backlog_take(b, out, room < OFFER_MAX ? room : OFFER_MAX);
        for (size_t i = 0; i < n; i++)
            hp_msg_ref(out[i].msg);
    }
    pthread_mutex_unlock(&e->lock);
    return n;
}

static void release(struct hp_out *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hp_msg_unref(out[i].msg);
}

/* Offer pending messages up to the window. Returns how many the sink
 * took, or -1 if it broke. */
static long offer(struct hp_sink *s, int64_t now)
{
    struct hp_sink_engine *e = s->engine;
    struct hp_out out[OFFER_MAX];
    size_t n;
    long total = 0;
    e->stalled = false;
    while ((n = take(s, out)) > 0) {
        int taken = s->ops->write(s, out, n);
        if (taken < 0) {
            release(out, n);
            sink_down(s, now);
            return -1;
        }
        total += taken;
        if (taken > 0) {
            if (!e->acks_at_ms && now - e->wrote_ms >= QUIET_MS)
                e->acks_at_ms = now + e->linger_ms; /* a round begins: ack_linger */
            e->wrote_ms = now;
        }
        /* Give back what was not taken (and was not acked meanwhile). */
        pthread_mutex_lock(&e->lock);
        for (size_t i = (size_t)taken; i < n; i++)
            hp_backlog_ack(e->backlog, out[i].pos, HP_ACK_RETRY);
        pthread_mutex_unlock(&e->lock);
        release(out, n);
        if ((size_t)taken < n) {
            e->stalled = taken == 0; /* flow control: sleep until its fd or a tick */
            break;
        }
    }
    return total;
}

static void service(struct hp_sink *s, int64_t now)
{
    struct hp_sink_engine *e = s->engine;
    if (sink_up(s, now)) {
        long took = -1;
        if (s->ops->poll && s->ops->poll(s) < 0)
            sink_down(s, now);
        else
            took = offer(s, now);
        /* Recovered once the sink takes messages again (or has none to
         * take), not merely when it opens: a CSV sink on a full disk
         * opens fine and fails every write. */
        if (took > 0 || (took == 0 && !e->stalled))
            log_recovery(s, now);
    }
    struct hp_spool_sync job;
    pthread_mutex_lock(&e->lock);
    size_t lost = hp_backlog_sync(e->backlog, now, &job);
    publish_stats(s);
    pthread_mutex_unlock(&e->lock);
    hp_spool_sync_run(&job); /* the disk waits without the lock: never the transport thread */
    if (lost)
        atomic_fetch_add_explicit(&e->stats.dropped, lost, memory_order_relaxed);
}

/* True if the sink is open and could take a message right now. */
static bool can_offer(struct hp_sink *s)
{
    struct hp_sink_engine *e = s->engine;
    if (!e->open || e->stalled)
        return false;
    pthread_mutex_lock(&e->lock);
    bool yes = e->backlog->inflight < s->window && hp_backlog_has_pending(e->backlog);
    pthread_mutex_unlock(&e->lock);
    return yes;
}

/* How long the sink's thread may sleep with nothing arriving: agent.tick
 * while the sink is down (its retry comes due), still holds messages,
 * spills or keeps a spool that fsyncs on a timer; its idle_poll_ms
 * (heartbeats) or agent.tick if it polls without one; otherwise until the
 * transport thread wakes it (-1). */
static int idle_timeout_ms(struct hp_sink *s)
{
    struct hp_sink_engine *e = s->engine;
    const struct hp_backlog *b = e->backlog;
    pthread_mutex_lock(&e->lock);
    bool busy = hp_backlog_count(b) > 0 || b->spill || (b->spool && hp_spool_always(b->spool));
    pthread_mutex_unlock(&e->lock);
    if (!e->open || busy)
        return e->tick_ms;
    if (s->ops->poll)
        return s->idle_poll_ms > 0 ? s->idle_poll_ms : e->tick_ms;
    return -1;
}

static void wake(struct hp_sink_engine *e)
{
    uint64_t one = 1;
    /* EAGAIN only when the counter is at its maximum: it is awake anyway. */
    if (write(e->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        hp_err("transport: cannot wake a sink thread: %s", strerror(errno));
}

/* How long (ms) the sink's thread should still wait before reading the
 * acknowledgements of what it wrote; 0: read them as they come. Brokers
 * acknowledge a message or a few at a time (MQTT a PUBACK each), and
 * watching the socket meanwhile costs a wake-up per acknowledgement: some
 * 7 a second for a round of 10 messages over MQTT. Not watching it for
 * agent.linger after the write that begins a round (the first after
 * QUIET_MS without one; a transport wake-up in between, another batch,
 * does not end that time), one read takes them all; after it, a slow
 * broker is waited for on its socket. A steady stream is read as it comes,
 * as the transport does not linger on it either: its acknowledgements keep
 * the backlog near empty. Never while the window is full: every
 * acknowledgement then frees room for a waiting message. */
static int ack_linger(struct hp_sink *s, int64_t now)
{
    struct hp_sink_engine *e = s->engine;
    if (!e->acks_at_ms)
        return 0;
    size_t inflight = 0;
    if (now < e->acks_at_ms && e->open && !e->stalled) {
        pthread_mutex_lock(&e->lock);
        inflight = e->backlog->inflight;
        pthread_mutex_unlock(&e->lock);
    }
    if (inflight == 0 || inflight >= s->window) {
        e->acks_at_ms = 0;
        return 0;
    }
    return (int)(e->acks_at_ms - now);
}

/* Sleep until the transport thread pushes, the sink's socket is readable
 * (not watched for the first linger_ms, when > 0) or timeout_ms passes;
 * then clear the wake-up counter. */
static void sink_wait(struct hp_sink *s, int timeout_ms, int linger_ms)
{
    struct hp_sink_engine *e = s->engine;
    struct pollfd fds[2] = {{.fd = e->wakefd, .events = POLLIN}};
    nfds_t n = 1;
    if (linger_ms > 0 && (timeout_ms < 0 || timeout_ms > linger_ms))
        timeout_ms = linger_ms;
    int fd = linger_ms <= 0 && e->open && s->ops->pollfd ? s->ops->pollfd(s) : -1;
    if (fd >= 0)
        fds[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
    if (poll(fds, n, timeout_ms) > 0 && (fds[0].revents & POLLIN)) {
        uint64_t v;
        if (read(e->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
            hp_err("sink %s: wake-up read: %s", s->name, strerror(errno));
    }
}

/* Shutdown: keep delivering until the backlog is empty or the deadline. */
static void finish(struct hp_sink *s, int64_t deadline_ms)
{
    while (locked_count(s->engine) > 0) {
        int64_t now = hp_mono_ms();
        if (now >= deadline_ms)
            break;
        service(s, now);
        if (!can_offer(s))
            sink_wait(s, 10, 0);
    }
}

/* Flush and close the sink; what is left in memory goes to disk, to be
 * replayed at the next start. */
static void close_sink(struct hp_sink *s, int64_t deadline_ms)
{
    struct hp_sink_engine *e = s->engine;
    if (e->open) {
        int64_t left = deadline_ms - hp_mono_ms();
        if (s->ops->flush)
            s->ops->flush(s, left > 0 ? (int)left : 0);
        sink_close(s);
        atomic_store_explicit(&e->stats.up, 0, memory_order_relaxed);
    }
    struct hp_spool_sync job;
    pthread_mutex_lock(&e->lock);
    hp_backlog_requeue(e->backlog);
    hp_backlog_set_spill(e->backlog, true);
    hp_backlog_sync(e->backlog, hp_mono_ms(), &job);
    publish_stats(s);
    pthread_mutex_unlock(&e->lock);
    hp_spool_sync_run(&job);
}

/* The sink's delivery thread: every callback from open to close runs here. */
static void *sink_main(void *arg)
{
    struct hp_sink *s = arg;
    struct hp_sink_engine *e = s->engine;
    char tname[16];
    snprintf(tname, sizeof(tname), "hp-s-%.10s", s->name);
    pthread_setname_np(pthread_self(), tname);
    int stop;
    /* S2: acquire pairs with S1, so deadline_ms is visible once stop is. */
    while ((stop = atomic_load_explicit(&e->stop, memory_order_acquire)) == 0) {
        atomic_store_explicit(&e->busy_ns, hp_mono_ns(), memory_order_relaxed);
        service(s, hp_mono_ms());
        atomic_store_explicit(&e->busy_ns, 0, memory_order_relaxed);
        if (!can_offer(s))
            sink_wait(s, idle_timeout_ms(s), ack_linger(s, hp_mono_ms()));
    }
    if (stop == HP_STOP_SHUTDOWN)
        finish(s, e->deadline_ms);
    close_sink(s, e->deadline_ms);
    return NULL;
}

/* Pop everything in the ring into every sink's backlog, one lock per sink
 * and batch, and wake the sinks. Returns how many. */
static size_t drain(struct hp_transport *t)
{
    void *batch[OFFER_MAX];
    size_t max = t->cfg.batch_size < OFFER_MAX ? t->cfg.batch_size : OFFER_MAX;
    size_t total = 0, n;
    while ((n = hp_ring_pop(t->cfg.ring, batch, max)) > 0) {
        for (size_t j = 0; j < t->cfg.n_sinks; j++) {
            struct hp_sink_engine *e = t->cfg.sinks[j].engine;
            size_t lost = 0;
            pthread_mutex_lock(&e->lock);
            for (size_t i = 0; i < n; i++)
                lost += hp_backlog_push(e->backlog, batch[i]);
            pthread_mutex_unlock(&e->lock);
            if (lost)
                atomic_fetch_add_explicit(&e->stats.dropped, lost, memory_order_relaxed);
            wake(e);
        }
        for (size_t i = 0; i < n; i++)
            hp_msg_unref(batch[i]);
        total += n;
    }
    return total;
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
    int64_t linger_ns = (int64_t)(t->cfg.linger * 1e9), last_msg_ms = 0;
    /* T1: acquire pairs with the release store in hp_transport_stop, so
     * everything main did before asking us to stop is visible here. */
    while (atomic_load_explicit(&t->stop, memory_order_acquire) == 0) {
        int64_t now = hp_mono_ms();
        /* Heartbeat for the watchdog (relaxed: a lone timestamp). */
        atomic_store_explicit(&t->busy_ns, hp_mono_ns(), memory_order_relaxed);
        if (drain(t) > 0)
            last_msg_ms = now;
        atomic_store_explicit(&t->busy_ns, 0, memory_order_relaxed);
        /* Nothing else to do: sleep until a push or hp_ring_wake. */
        if (hp_ring_wait_fds(t->cfg.ring, NULL, 0, -1) && linger_ns > 0 &&
            hp_mono_ms() - last_msg_ms >= QUIET_MS)
            linger(linger_ns);
    }
    drain(t);
    return NULL;
}

/* Tell the running sink threads to stop by deadline_ms and join them. */
static void stop_sinks(struct hp_transport *t, enum hp_transport_stop how, int64_t deadline_ms)
{
    for (size_t j = 0; j < t->cfg.n_sinks; j++) {
        struct hp_sink_engine *e = t->cfg.sinks[j].engine;
        if (!e->running)
            continue;
        e->deadline_ms = deadline_ms;
        /* S1: release: deadline_ms (and every push before) is seen by S2. */
        atomic_store_explicit(&e->stop, (int)how, memory_order_release);
        wake(e);
    }
    for (size_t j = 0; j < t->cfg.n_sinks; j++) {
        struct hp_sink_engine *e = t->cfg.sinks[j].engine;
        if (!e->running)
            continue;
        pthread_join(e->thread, NULL);
        e->running = false;
    }
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
    open_spools(t);
    int err = 0;
    for (size_t j = 0; j < t->cfg.n_sinks && !err; j++) {
        struct hp_sink_engine *e = t->cfg.sinks[j].engine;
        atomic_store_explicit(&e->stop, 0, memory_order_relaxed); /* no thread yet */
        e->tick_ms = (int)(t->cfg.tick * 1000);
        e->linger_ms = (int)(t->cfg.linger * 1000);
        err = pthread_create(&e->thread, NULL, sink_main, &t->cfg.sinks[j]);
        e->running = err == 0;
    }
    if (!err)
        err = pthread_create(&t->thread, NULL, transport_main, t);
    if (err) {
        hp_err("transport: cannot start a thread: %s", strerror(err));
        stop_sinks(t, HP_STOP_HANDOFF, hp_mono_ms());
        free(t);
        return NULL;
    }
    return t;
}

/* At exit: say how many messages are not delivered, how many of them the
 * spool keeps for the next start, and how many (if any) are lost. */
static void warn_undelivered(struct hp_sink *s)
{
    const struct hp_backlog *b = s->engine->backlog;
    size_t n = hp_backlog_count(b), disk = hp_backlog_on_disk(b);
    const char *sep = s->error[0] ? "; last error: " : "";
    if (n && disk >= n)
        hp_warn("sink %s: %zu message(s) not delivered at exit, all kept in the spool for the "
                "next start%s%s",
                s->name, n, sep, s->error);
    else if (n)
        hp_warn("sink %s: %zu message(s) not delivered at exit: %zu kept in the spool for the "
                "next start, %zu lost%s%s",
                s->name, n, disk, n - disk, sep, s->error);
}

size_t hp_transport_stop(struct hp_transport *t, enum hp_transport_stop how)
{
    if (!t)
        return 0;
    /* Release: pairs with T1. */
    atomic_store_explicit(&t->stop, (int)how, memory_order_release);
    hp_ring_wake(t->cfg.ring);
    pthread_join(t->thread, NULL);
    int64_t deadline = hp_mono_ms();
    deadline += how == HP_STOP_SHUTDOWN ? (int64_t)(t->cfg.shutdown_timeout * 1000) : 1000;
    stop_sinks(t, how, deadline);
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
