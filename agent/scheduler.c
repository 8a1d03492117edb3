/* SPDX-License-Identifier: Apache-2.0 */
/* scheduler.c -- reporter threads on absolute CLOCK_MONOTONIC deadlines.
 *
 * Each reporter thread sleeps until its next deadline (deadline += interval,
 * so timing never drifts), samples, and publishes one message. After a
 * stall longer than an interval the missed ticks are skipped and counted,
 * never run in a burst. Each thread sleeps on its own cond (see struct
 * hp_task); stopping sets each task's stop flag under its lock and signals
 * it. */
#include "agent/scheduler.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The heartbeat (relaxed: a lone timestamp read by the watchdog, which
 * orders nothing else by it). */
static void set_busy(struct hp_task *t, int64_t since_ns)
{
    atomic_store_explicit(&t->stats.busy_since_ns, since_ns, memory_order_relaxed);
}

int hp_task_run(struct hp_scheduler *s, struct hp_task *t, struct hp_buf *text)
{
    struct hp_reporter *r = &t->rep;
    int64_t cpu0 = hp_thread_cpu_ns();
    int64_t ts = hp_real_ms();
    set_busy(t, hp_mono_ns());
    int rc = hp_reporter_write(r, text);
    set_busy(t, 0);
    if (rc != 0) {
        atomic_fetch_add_explicit(&t->stats.errors, 1, memory_order_relaxed);
        atomic_store_explicit(&t->stats.last_error_ms, ts, memory_order_relaxed);
    } else {
        rc = s->publish(s->publish_ctx, r->ops->name, t->seq, ts, r->interval, text->p, text->len);
        if (rc == 1)
            atomic_fetch_add_explicit(&t->stats.dropped, 1, memory_order_relaxed);
        else if (rc == 0)
            atomic_store_explicit(&t->stats.last_ok_ms, ts, memory_order_relaxed);
    }
    int64_t cpu = hp_thread_cpu_ns() - cpu0;
    atomic_fetch_add_explicit(&t->stats.samples, 1, memory_order_relaxed);
    atomic_store_explicit(&t->stats.cpu_ns_last, cpu, memory_order_relaxed);
    atomic_fetch_add_explicit(&t->stats.cpu_ns_total, cpu, memory_order_relaxed);
    return rc == 0 ? 0 : -1;
}

static void prime(struct hp_task *t, struct hp_buf *text)
{
    set_busy(t, hp_mono_ns());
    hp_reporter_write(&t->rep, text);
    set_busy(t, 0);
}

/* Reporters started together would sample at the same instant, every
 * interval: on one malloc arena (agent/main.c) they then queue on its lock,
 * and on a small machine on the cores. The k-th task's deadlines are
 * (k % PHASES) steps later, so a round spreads over 9 ms, well inside the
 * transport's linger (agent.linger, 20 ms): it still goes out as one batch. */
#define PHASES        10
#define PHASE_STEP_NS 1000000LL

/* Sleep until the absolute monotonic deadline; false when stopping. */
static bool sleep_until(struct hp_task *t, int64_t deadline_ns)
{
    struct timespec ts = hp_ns_ts(deadline_ns);
    pthread_mutex_lock(&t->lock);
    while (!t->stop)
        if (pthread_cond_timedwait(&t->cond, &t->lock, &ts) == ETIMEDOUT)
            break;
    bool run = !t->stop;
    pthread_mutex_unlock(&t->lock);
    return run;
}

static void run_task(struct hp_scheduler *s, struct hp_task *t)
{
    char name[16];
    snprintf(name, sizeof(name), "hp-%s", t->rep.ops->name);
    pthread_setname_np(pthread_self(), name);

    struct hp_buf text = {0}; /* each sample's JSON, reused: this thread's */
    int64_t period = (int64_t)(t->rep.interval * 1e9);
    if (t->rep.ops->needs_prime)
        prime(t, &text);
    int64_t next = hp_mono_ns() + period + t->phase_ns;
    while (sleep_until(t, next)) {
        hp_task_run(s, t, &text);
        next += period;
        int64_t now = hp_mono_ns();
        if (next <= now) {
            int64_t missed = (now - next) / period + 1;
            next += missed * period;
            atomic_fetch_add_explicit(&t->stats.skipped, (uint64_t)missed, memory_order_relaxed);
        }
    }
    hp_buf_free(&text);
}

static void *task_main(void *arg)
{
    struct hp_task *t = arg;
    run_task(t->sched, t);
    return NULL;
}

void hp_scheduler_init(struct hp_scheduler *s, hp_publish_fn *publish, void *ctx)
{
    memset(s, 0, sizeof(*s));
    s->publish = publish;
    s->publish_ctx = ctx;
}

/* t's lock and its cond on CLOCK_MONOTONIC; -1 if one cannot be made. */
static int task_sync_init(struct hp_task *t)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&t->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return -1;
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        pthread_cond_destroy(&t->cond);
        return -1;
    }
    t->stop = false;
    return 0;
}

static void task_sync_destroy(struct hp_task *t)
{
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
}

int hp_scheduler_start(struct hp_scheduler *s, struct hp_task *tasks, size_t n)
{
    s->tasks = tasks;
    s->n_tasks = n;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct hp_task *t = &tasks[i];
        if (t->running) /* left behind by an earlier stop: still in its sample */
            continue;
        t->sched = s;
        t->phase_ns = (int64_t)(i % PHASES) * PHASE_STEP_NS;
        if (task_sync_init(t) != 0) {
            hp_err("%s: cannot start thread: no lock", t->rep.ops->name);
            rc = -1;
            continue;
        }
        int err = pthread_create(&t->thread, NULL, task_main, t);
        if (err) {
            hp_err("%s: cannot start thread: %s", t->rep.ops->name, strerror(err));
            task_sync_destroy(t);
            rc = -1;
            continue;
        }
        t->running = true;
    }
    return rc;
}

/* Join t's thread by deadline_ns (CLOCK_MONOTONIC); false if it is still
 * running then. pthread_timedjoin_np takes CLOCK_REALTIME, so the monotonic
 * time left is added to the realtime clock. */
static bool join_by(struct hp_task *t, int64_t deadline_ns)
{
    int64_t left = deadline_ns - hp_mono_ns();
    struct timespec now, until;
    clock_gettime(CLOCK_REALTIME, &now);
    until = hp_ns_ts((int64_t)now.tv_sec * 1000000000 + now.tv_nsec + (left > 0 ? left : 0));
    return pthread_timedjoin_np(t->thread, NULL, &until) == 0;
}

size_t hp_scheduler_stop(struct hp_scheduler *s, int64_t deadline_ns)
{
    for (size_t i = 0; i < s->n_tasks; i++) {
        struct hp_task *t = &s->tasks[i];
        if (!t->running)
            continue;
        pthread_mutex_lock(&t->lock);
        t->stop = true;
        pthread_cond_signal(&t->cond);
        pthread_mutex_unlock(&t->lock);
    }
    size_t abandoned = 0;
    for (size_t i = 0; i < s->n_tasks; i++) {
        struct hp_task *t = &s->tasks[i];
        if (!t->running)
            continue;
        /* A thread not inside a sample is only waking up to leave: give it
         * a moment even when a stuck one used up the deadline. */
        int64_t until = deadline_ns, grace = hp_mono_ns() + 100 * 1000000LL;
        if (!atomic_load_explicit(&t->stats.busy_since_ns, memory_order_relaxed) && until < grace)
            until = grace;
        if (!join_by(t, until)) {
            int64_t since = atomic_load_explicit(&t->stats.busy_since_ns, memory_order_relaxed);
            hp_err("%s: the reporter thread did not stop in time (in one sample for %.1f s); "
                   "leaving it behind",
                   t->rep.ops->name, since ? (double)(hp_mono_ns() - since) / 1e9 : 0.0);
            pthread_detach(t->thread);
            abandoned++;
            continue;
        }
        task_sync_destroy(t);
        t->running = false;
    }
    s->abandoned += abandoned;
    s->tasks = NULL;
    s->n_tasks = 0;
    return abandoned;
}

const struct hp_task *hp_scheduler_stuck(const struct hp_scheduler *s, int64_t now_ns,
                                         int64_t limit_ns, int64_t *busy_ns)
{
    for (size_t i = 0; i < s->n_tasks; i++) {
        const struct hp_task *t = &s->tasks[i];
        int64_t since = atomic_load_explicit(&t->stats.busy_since_ns, memory_order_relaxed);
        if (t->running && since && now_ns - since > limit_ns) {
            *busy_ns = now_ns - since;
            return t;
        }
    }
    return NULL;
}

void hp_scheduler_once(struct hp_scheduler *s, struct hp_task *tasks, size_t n, int window_ms)
{
    struct hp_buf text = {0};
    bool primed = false;
    for (size_t i = 0; i < n; i++)
        if (tasks[i].rep.ops->needs_prime) {
            prime(&tasks[i], &text);
            primed = true;
        }
    if (primed) {
        struct timespec ts = hp_ns_ts((int64_t)window_ms * 1000000);
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    for (size_t i = 0; i < n; i++)
        hp_task_run(s, &tasks[i], &text);
    hp_buf_free(&text);
}
