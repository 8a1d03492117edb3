/* scheduler.c -- reporter threads on absolute CLOCK_MONOTONIC deadlines.
 *
 * Each reporter thread sleeps until its next deadline (deadline += interval,
 * so timing never drifts), samples, and pushes one message. After a stall
 * longer than an interval the missed ticks are skipped and counted, never
 * run in a burst. Stopping sets a->stopping under a->lock and broadcasts
 * a->cond, which every sleeping reporter waits on. */
#include "agent/scheduler.h"
#include "lib/clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int hp_reporter_run(struct hp_reporter *r)
{
    int64_t cpu0 = hp_thread_cpu_ns();
    int64_t ts = hp_real_ms();
    json_object *data = json_object_new_object();
    int rc = r->ops->sample(r, data);
    if (rc != 0) {
        json_object_put(data);
        atomic_fetch_add_explicit(&r->stats.errors, 1, memory_order_relaxed);
    } else {
        rc = hp_agent_publish(r->agent, r->ops->name, r->seq, ts, r->interval, data, &r->stats);
    }
    int64_t cpu = hp_thread_cpu_ns() - cpu0;
    atomic_fetch_add_explicit(&r->stats.samples, 1, memory_order_relaxed);
    atomic_store_explicit(&r->stats.cpu_ns_last, cpu, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->stats.cpu_ns_total, cpu, memory_order_relaxed);
    return rc;
}

static void prime(struct hp_reporter *r)
{
    json_object *scratch = json_object_new_object();
    r->ops->sample(r, scratch);
    json_object_put(scratch);
}

/* Sleep until the absolute monotonic deadline; false when stopping. */
static bool sleep_until(struct hp_agent *a, int64_t deadline_ns)
{
    struct timespec ts = hp_ns_ts(deadline_ns);
    pthread_mutex_lock(&a->lock);
    while (!a->stopping)
        if (pthread_cond_timedwait(&a->cond, &a->lock, &ts) == ETIMEDOUT)
            break;
    bool run = !a->stopping;
    pthread_mutex_unlock(&a->lock);
    return run;
}

static void *reporter_main(void *arg)
{
    struct hp_reporter *r = arg;
    char name[16];
    snprintf(name, sizeof(name), "hp-%s", r->ops->name);
    pthread_setname_np(pthread_self(), name);

    int64_t period = (int64_t)(r->interval * 1e9);
    if (r->ops->needs_prime)
        prime(r);
    int64_t next = hp_mono_ns() + period;
    while (sleep_until(r->agent, next)) {
        hp_reporter_run(r);
        next += period;
        int64_t now = hp_mono_ns();
        if (next <= now) {
            int64_t missed = (now - next) / period + 1;
            next += missed * period;
            atomic_fetch_add_explicit(&r->stats.skipped, (uint64_t)missed, memory_order_relaxed);
        }
    }
    return NULL;
}

int hp_scheduler_start(struct hp_agent *a)
{
    pthread_mutex_lock(&a->lock);
    a->stopping = false;
    pthread_mutex_unlock(&a->lock);
    int rc = 0;
    for (size_t i = 0; i < a->n_reporters; i++) {
        struct hp_reporter *r = &a->reporters[i];
        int err = pthread_create(&r->thread, NULL, reporter_main, r);
        if (err) {
            hp_err("%s: cannot start thread: %s", r->ops->name, strerror(err));
            rc = -1;
            continue;
        }
        r->running = true;
    }
    return rc;
}

void hp_scheduler_stop(struct hp_agent *a)
{
    pthread_mutex_lock(&a->lock);
    a->stopping = true;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    for (size_t i = 0; i < a->n_reporters; i++) {
        struct hp_reporter *r = &a->reporters[i];
        if (r->running)
            pthread_join(r->thread, NULL);
        r->running = false;
    }
}

void hp_scheduler_once(struct hp_agent *a, int window_ms)
{
    bool primed = false;
    for (size_t i = 0; i < a->n_reporters; i++)
        if (a->reporters[i].ops->needs_prime) {
            prime(&a->reporters[i]);
            primed = true;
        }
    if (primed) {
        struct timespec ts = hp_ns_ts((int64_t)window_ms * 1000000);
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    for (size_t i = 0; i < a->n_reporters; i++)
        hp_reporter_run(&a->reporters[i]);
}
