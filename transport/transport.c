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
#include "transport/spool.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFFER_MAX 256
#define QUIET_MS  100 /* no message for this long: the next one may start a round */

int hp_sink_attach(struct hp_sink *s, size_t backlog_limit)
{
    s->backlog = hp_backlog_new(backlog_limit);
    s->backoff_ms = s->retry_initial_ms;
    return s->backlog ? 0 : -1;
}

void hp_sink_detach(struct hp_sink *s)
{
    hp_backlog_free(s->backlog);
    s->backlog = NULL;
}

void hp_sink_take_backlog(struct hp_sink *to, struct hp_sink *from)
{
    hp_backlog_move(to->backlog, from->backlog);
    to->backlog->window = to->window < to->backlog->limit ? to->window : to->backlog->limit;
    atomic_store_explicit(&to->stats.backlog, hp_backlog_count(to->backlog), memory_order_relaxed);
}

const struct hp_sink_stats *hp_sink_stats_of(const struct hp_sink *s)
{
    return &s->stats;
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
    struct hp_sink_stats *st = &s->stats;
    atomic_store_explicit(&st->backlog, hp_backlog_count(s->backlog), memory_order_relaxed);
    if (!s->backlog->spool)
        return;
    const struct hp_spool_stats *sp = hp_spool_stats(s->backlog->spool);
    atomic_store_explicit(&st->spool.enabled, 1, memory_order_relaxed);
    atomic_store_explicit(&st->spool.spilling, s->backlog->spill, memory_order_relaxed);
    atomic_store_explicit(&st->spool.bytes, sp->bytes, memory_order_relaxed);
    atomic_store_explicit(&st->spool.segments, sp->segments, memory_order_relaxed);
    atomic_store_explicit(&st->spool.queued, hp_spool_unread(s->backlog->spool),
                          memory_order_relaxed);
    atomic_store_explicit(&st->spool.dropped, sp->dropped, memory_order_relaxed);
    atomic_store_explicit(&st->spool.corrupt, sp->corrupt, memory_order_relaxed);
    atomic_store_explicit(&st->spool.failed, sp->failed, memory_order_relaxed);
}

static bool sink_named(const char *name, void *ud)
{
    const struct hp_agent *a = ud;
    for (size_t j = 0; j < a->n_sinks; j++)
        if (strcmp(a->sinks[j].name, name) == 0)
            return true;
    return false;
}

/* The spool of the first sink of that type, for a removed sink's messages. */
static struct hp_spool *sink_of_type(const char *type, void *ud)
{
    const struct hp_agent *a = ud;
    for (size_t j = 0; j < a->n_sinks; j++)
        if (strcmp(a->sinks[j].ops->type, type) == 0 && a->sinks[j].backlog->spool)
            return a->sinks[j].backlog->spool;
    return NULL;
}

/* Open each sink's spool (unless it kept one across a reload). A spool
 * that cannot be opened leaves the sink with its memory backlog only.
 * Then look at the spools of sinks that are gone (hp_spool_orphans). */
static void open_spools(struct hp_agent *a)
{
    if (a->stdout_only)
        return;
    struct hp_spool_cfg cfg;
    hp_spool_cfg_read(&cfg, a->cfg->spool);
    for (size_t j = 0; j < a->n_sinks; j++) {
        struct hp_sink *s = &a->sinks[j];
        char err[256];
        if (!s->backlog->spool) {
            struct hp_spool *sp = hp_spool_open(&cfg, s->name, err, sizeof(err));
            if (!sp) {
                hp_err("sink %s: no disk spool (%s); backlog in memory only", s->name, err);
                continue;
            }
            hp_backlog_set_spool(s->backlog, sp, s->window);
        }
        hp_spool_set_type(s->backlog->spool, s->ops->type);
        publish_stats(s);
    }
    hp_spool_orphans(&cfg, &(struct hp_spool_live){sink_named, sink_of_type, a});
}

void hp_sink_ack(struct hp_sink *s, uint64_t pos, enum hp_ack ack)
{
    if (!hp_backlog_ack(s->backlog, pos, ack))
        return;
    _Atomic uint64_t *counter = ack == HP_ACK_OK     ? &s->stats.sent
                                : ack == HP_ACK_DROP ? &s->stats.rejected
                                                     : &s->stats.retried;
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

static void sink_down(struct hp_sink *s, int64_t now)
{
    if (s->open) {
        s->ops->close(s);
        s->open = false;
    }
    size_t n = hp_backlog_requeue(s->backlog);
    hp_backlog_set_spill(s->backlog, true);
    atomic_fetch_add_explicit(&s->stats.retried, n, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->stats.failed, 1, memory_order_relaxed);
    atomic_store_explicit(&s->stats.up, 0, memory_order_relaxed);
    s->retry_at_ms = now + s->backoff_ms;
    char reason[sizeof(s->complain.last)], detail[64];
    snprintf(reason, sizeof(reason), "sink %.32s: %.255s", s->name,
             s->error[0] ? s->error : "failed");
    snprintf(detail, sizeof(detail), "; retrying in %.1f s", (double)s->backoff_ms / 1000.0);
    hp_complain_detail(&s->complain, HP_LOG_ERR, reason, detail);
    s->backoff_ms = s->backoff_ms * 2 > s->retry_max_ms ? s->retry_max_ms : s->backoff_ms * 2;
}

static bool sink_up(struct hp_sink *s, int64_t now)
{
    if (s->open)
        return true;
    if (now < s->retry_at_ms)
        return false;
    s->error[0] = '\0';
    if (s->ops->open(s) != 0) {
        sink_down(s, now);
        return false;
    }
    s->open = true;
    hp_backlog_set_spill(s->backlog, false);
    s->backoff_ms = s->retry_initial_ms;
    atomic_store_explicit(&s->stats.up, 1, memory_order_relaxed);
    hp_complain_clear(&s->complain, "sink %s: connected again", s->name);
    return true;
}

/* Offer pending messages up to the window. Returns false if the sink broke. */
static bool offer(struct hp_sink *s, int64_t now)
{
    struct hp_out out[OFFER_MAX];
    s->stalled = false;
    while (s->backlog->inflight < s->window && hp_backlog_has_pending(s->backlog)) {
        size_t room = s->window - s->backlog->inflight;
        size_t n = hp_backlog_take(s->backlog, out, room < OFFER_MAX ? room : OFFER_MAX);
        if (n == 0)
            break; /* the spool had nothing readable */
        int taken = s->ops->write(s, out, n);
        if (taken < 0) {
            sink_down(s, now);
            return false;
        }
        /* Give back what was not taken (and was not acked meanwhile). */
        for (size_t i = (size_t)taken; i < n; i++)
            hp_backlog_ack(s->backlog, out[i].pos, HP_ACK_RETRY);
        if ((size_t)taken < n) {
            s->stalled = taken == 0; /* flow control: sleep until its fd or a tick */
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
    size_t lost = hp_backlog_sync(s->backlog, now);
    if (lost)
        atomic_fetch_add_explicit(&s->stats.dropped, lost, memory_order_relaxed);
    publish_stats(s);
}

/* Pop everything in the ring into every sink's backlog. Returns how many. */
static size_t drain(struct hp_agent *a)
{
    void *batch[OFFER_MAX];
    size_t max = a->cfg->batch_size < OFFER_MAX ? a->cfg->batch_size : OFFER_MAX;
    size_t total = 0, n;
    while ((n = hp_ring_pop(a->ring, batch, max)) > 0) {
        for (size_t i = 0; i < n; i++) {
            struct hp_msg *m = batch[i];
            for (size_t j = 0; j < a->n_sinks; j++) {
                struct hp_sink *s = &a->sinks[j];
                size_t lost = hp_backlog_push(s->backlog, m);
                if (lost)
                    atomic_fetch_add_explicit(&s->stats.dropped, lost, memory_order_relaxed);
            }
            hp_msg_unref(m);
        }
        total += n;
    }
    return total;
}

/* True if some open sink could take a message right now. */
static bool can_offer(const struct hp_agent *a)
{
    for (size_t j = 0; j < a->n_sinks; j++) {
        const struct hp_sink *s = &a->sinks[j];
        if (s->open && !s->stalled && s->backlog->inflight < s->window &&
            hp_backlog_has_pending(s->backlog))
            return true;
    }
    return false;
}

static size_t backlog_total(const struct hp_agent *a)
{
    size_t n = 0;
    for (size_t j = 0; j < a->n_sinks; j++)
        n += hp_backlog_count(a->sinks[j].backlog);
    return n;
}

/* Sleep until there is work; true if a push (not a socket or the timeout)
 * ended the sleep. */
static bool wait_for_work(struct hp_agent *a, int timeout_ms)
{
    struct pollfd fds[32];
    size_t n = 0;
    for (size_t j = 0; j < a->n_sinks && n < 32; j++) {
        struct hp_sink *s = &a->sinks[j];
        int fd = s->open && s->ops->pollfd ? s->ops->pollfd(s) : -1;
        if (fd >= 0)
            fds[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
    }
    return hp_ring_wait_fds(a->ring, fds, n, timeout_ms);
}

/* Shutdown: keep delivering until every backlog is empty or the deadline. */
static void finish(struct hp_agent *a, int64_t deadline_ms)
{
    while (backlog_total(a) > 0) {
        int64_t now = hp_mono_ms();
        if (now >= deadline_ms)
            break;
        drain(a);
        for (size_t j = 0; j < a->n_sinks; j++)
            service(&a->sinks[j], now);
        if (!can_offer(a))
            wait_for_work(a, 10);
    }
}

static void close_all(struct hp_agent *a, int64_t deadline_ms)
{
    for (size_t j = 0; j < a->n_sinks; j++) {
        struct hp_sink *s = &a->sinks[j];
        if (!s->open)
            continue;
        int64_t left = deadline_ms - hp_mono_ms();
        if (s->ops->flush)
            s->ops->flush(s, left > 0 ? (int)left : 0);
        s->ops->close(s);
        s->open = false;
        hp_backlog_requeue(s->backlog);
        atomic_store_explicit(&s->stats.up, 0, memory_order_relaxed);
    }
    /* What is left in memory goes to disk, to be replayed at the next start. */
    for (size_t j = 0; j < a->n_sinks; j++) {
        hp_backlog_set_spill(a->sinks[j].backlog, true);
        hp_backlog_sync(a->sinks[j].backlog, hp_mono_ms());
        publish_stats(&a->sinks[j]);
    }
}

/* How long the transport may sleep with nothing arriving: agent.tick while
 * some sink is down (its retry comes due), still holds messages, spills or
 * keeps a spool that fsyncs on a timer; a sink's idle_poll_ms (heartbeats)
 * or agent.tick if it polls without one; otherwise until a reporter pushes
 * (-1), so an idle agent wakes only for its samples. */
static int idle_timeout_ms(const struct hp_agent *a, int tick_ms)
{
    int t = -1;
    for (size_t j = 0; j < a->n_sinks; j++) {
        const struct hp_sink *s = &a->sinks[j];
        const struct hp_backlog *b = s->backlog;
        int need = -1;
        if (!s->open || hp_backlog_count(b) > 0 || b->spill ||
            (b->spool && hp_spool_always(b->spool)))
            need = tick_ms;
        else if (s->ops->poll)
            need = s->idle_poll_ms > 0 ? s->idle_poll_ms : tick_ms;
        if (need >= 0 && (t < 0 || need < t))
            t = need;
    }
    return t;
}

static void linger(int64_t ns)
{
    struct timespec ts = hp_ns_ts(ns);
    while (nanosleep(&ts, &ts) != 0)
        ; /* EINTR: sleep the rest */
}

static void *transport_main(void *arg)
{
    struct hp_agent *a = arg;
    pthread_setname_np(pthread_self(), "hp-transport");
    int tick_ms = (int)(a->cfg->tick * 1000);
    int64_t linger_ns = (int64_t)(a->cfg->linger * 1e9), last_msg_ms = 0;
    int stop;
    open_spools(a);
    /* T1: acquire pairs with the release store in hp_transport_stop, so
     * everything main did before asking us to stop is visible here. */
    while ((stop = atomic_load_explicit(&a->transport_stop, memory_order_acquire)) == 0) {
        int64_t now = hp_mono_ms();
        if (drain(a) > 0)
            last_msg_ms = now;
        for (size_t j = 0; j < a->n_sinks; j++)
            service(&a->sinks[j], now);
        if (!can_offer(a) && wait_for_work(a, idle_timeout_ms(a, tick_ms)) && linger_ns > 0 &&
            hp_mono_ms() - last_msg_ms >= QUIET_MS)
            linger(linger_ns);
    }
    drain(a);
    int64_t deadline = hp_mono_ms();
    deadline += stop == HP_STOP_SHUTDOWN ? (int64_t)(a->cfg->shutdown_timeout * 1000) : 1000;
    if (stop == HP_STOP_SHUTDOWN)
        finish(a, deadline);
    close_all(a, deadline);
    return NULL;
}

int hp_transport_start(struct hp_agent *a)
{
    atomic_store_explicit(&a->transport_stop, 0, memory_order_relaxed);
    int err = pthread_create(&a->transport, NULL, transport_main, a);
    if (err) {
        hp_err("transport: cannot start thread: %s", strerror(err));
        return -1;
    }
    a->transport_running = true;
    return 0;
}

size_t hp_transport_stop(struct hp_agent *a, enum hp_transport_stop how)
{
    if (!a->transport_running)
        return backlog_total(a);
    /* Release: pairs with T1. */
    atomic_store_explicit(&a->transport_stop, (int)how, memory_order_release);
    hp_ring_wake(a->ring);
    pthread_join(a->transport, NULL);
    a->transport_running = false;
    size_t left = backlog_total(a);
    if (how == HP_STOP_SHUTDOWN)
        for (size_t j = 0; j < a->n_sinks; j++) {
            struct hp_backlog *b = a->sinks[j].backlog;
            size_t n = hp_backlog_count(b), disk = b->spool ? hp_spool_unread(b->spool) : 0;
            if (n)
                hp_warn("sink %s: %zu message(s) not delivered at exit (%zu kept in the spool)%s%s",
                        a->sinks[j].name, n, disk, a->sinks[j].error[0] ? ": " : "",
                        a->sinks[j].error);
        }
    return left;
}

int hp_transport_check(struct hp_agent *a)
{
    int problems = 0;
    for (size_t j = 0; j < a->n_sinks; j++) {
        struct hp_sink *s = &a->sinks[j];
        if (s->ops->check) {
            problems += s->ops->check(s);
            continue;
        }
        s->error[0] = '\0';
        if (s->ops->open(s) != 0) {
            fprintf(stderr, "sink %s (%s): %s\n", s->name, s->ops->type,
                    s->error[0] ? s->error : "cannot open");
            problems++;
            continue;
        }
        s->ops->close(s);
        fprintf(stderr, "sink %s (%s): ok\n", s->name, s->ops->type);
    }
    return problems;
}
