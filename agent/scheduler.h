/* SPDX-License-Identifier: Apache-2.0 */
/* scheduler.h -- one thread per reporter, each on its own absolute
 * CLOCK_MONOTONIC deadline.
 *
 * The scheduler knows nothing of the agent that owns it: its context is
 * the reporters it runs, a publish function (envelope + ring push, given by
 * the owner) and a stop flag. */
#ifndef HP_SCHEDULER_H
#define HP_SCHEDULER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "reporters/reporter.h"

struct hp_scheduler;

/* Wrap data (its JSON text, len bytes) in an envelope numbered ++*seq and
 * queue it. Called on the reporter's thread (or the main thread for --once).
 * Returns 0 when queued, 1 when dropped because the ring was full, -1 on
 * another failure (logged). */
typedef int hp_publish_fn(void *ctx, const char *reporter, uint64_t *seq, int64_t ts_ms,
                          double interval, const char *data, size_t len);

/* A reporter as the scheduler runs it. The owner fills rep and seq (and
 * allocates the array); thread and running are the scheduler's alone. A
 * task whose thread did not stop in time stays `running` (abandoned): its
 * memory must then never be freed. */
struct hp_task {
    struct hp_reporter rep;
    uint64_t *seq; /* last seq used; owned by the task's thread while it runs */
    struct hp_reporter_stats stats;
    struct hp_scheduler *sched; /* the scheduler that started the thread */
    /* An instance of a reporter type (exec): a copy of the type's ops with
     * the instance's name, owned by the task (freed with it) and pointed at
     * by rep.ops. NULL for a built-in reporter. */
    struct hp_reporter_ops *own_ops;
    pthread_t thread;
    bool running;
    /* The thread sleeps on its own cond until its deadline or until stop is
     * set; lock guards stop. Each task has its own so that reporters whose
     * deadlines coincide do not queue on one mutex as they wake. Made by
     * hp_scheduler_start, destroyed once the thread is joined (never for an
     * abandoned one, which may still wait on them). */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
    int64_t phase_ns; /* first deadline this much after an interval (see scheduler.c) */
};

struct hp_scheduler {
    hp_publish_fn *publish;
    void *publish_ctx;
    struct hp_task *tasks; /* set by hp_scheduler_start, borrowed */
    size_t n_tasks;
    size_t abandoned; /* threads that did not stop in time, ever */
};

/* An idle scheduler with its publish function. Each task's lock is made
 * when its thread starts (hp_scheduler_start), so there is nothing to
 * destroy here. */
void hp_scheduler_init(struct hp_scheduler *s, hp_publish_fn *publish, void *ctx);
/* Start a thread per task. Returns -1 if one failed (those started keep
 * running; call hp_scheduler_stop). */
int hp_scheduler_start(struct hp_scheduler *s, struct hp_task *tasks, size_t n);
/* Wake every reporter thread and join it, waiting until the absolute
 * CLOCK_MONOTONIC deadline at most: a thread still busy then (blocked in a
 * read) is logged and abandoned, still marked running. Returns how many
 * were abandoned by this call. */
size_t hp_scheduler_stop(struct hp_scheduler *s, int64_t deadline_ns);
/* The first running task whose sample has been in progress for longer
 * than limit_ns at now_ns (sets *busy_ns), or NULL. Main thread. */
const struct hp_task *hp_scheduler_stuck(const struct hp_scheduler *s, int64_t now_ns,
                                         int64_t limit_ns, int64_t *busy_ns);
/* --once: on the calling thread, prime the tasks that need it, wait
 * window_ms, then sample and publish each once. No thread may be running. */
void hp_scheduler_once(struct hp_scheduler *s, struct hp_task *tasks, size_t n, int window_ms);
/* Sample task t once and publish the message (the thread that owns t),
 * the data's text made in that thread's buffer text. */
int hp_task_run(struct hp_scheduler *s, struct hp_task *t, struct hp_buf *text);

#endif
