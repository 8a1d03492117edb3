/* SPDX-License-Identifier: Apache-2.0 */
/* ring.c -- benchmark: messages/s through the MPSC ring with 1, 2 and 4
 * producers and one consumer, against a mutex + condition-variable queue of
 * the same capacity, in the same run. Prints the median of several runs and
 * the ratio ring/mutex; never asserts on time.
 *
 *   build/release/bench/ring [messages_per_run] [runs] */
#include "lib/clock.h"
#include "lib/ring.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CAPACITY 1024
#define BATCH    256

/* ---- the baseline: a bounded queue behind one mutex ------------------- */
struct mq {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    void *cells[CAPACITY];
    size_t head, tail; /* head: next pop, tail: next push; both grow */
};

static void mq_push(struct mq *q, void *v)
{
    pthread_mutex_lock(&q->lock);
    while (q->tail - q->head == CAPACITY)
        pthread_cond_wait(&q->not_full, &q->lock);
    q->cells[q->tail++ % CAPACITY] = v;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}

static size_t mq_pop(struct mq *q, void **out, size_t max)
{
    pthread_mutex_lock(&q->lock);
    while (q->tail == q->head)
        pthread_cond_wait(&q->not_empty, &q->lock);
    size_t n = 0;
    while (n < max && q->head != q->tail)
        out[n++] = q->cells[q->head++ % CAPACITY];
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->lock);
    return n;
}

/* ---- one run ----------------------------------------------------------- */
struct run {
    int use_ring;
    struct hp_ring *ring;
    struct mq *mq;
    uint64_t per_producer;
};

static void *producer(void *arg)
{
    struct run *r = arg;
    for (uint64_t i = 1; i <= r->per_producer; i++) {
        void *v = (void *)(uintptr_t)i;
        if (r->use_ring) {
            while (!hp_ring_push(r->ring, v))
                sched_yield(); /* full: the agent would drop; here we measure */
        } else {
            mq_push(r->mq, v);
        }
    }
    return NULL;
}

static double one_run(int use_ring, int producers, uint64_t total)
{
    struct run r = {.use_ring = use_ring, .per_producer = total / (uint64_t)producers};
    struct mq *mq = calloc(1, sizeof(*mq));
    pthread_mutex_init(&mq->lock, NULL);
    pthread_cond_init(&mq->not_empty, NULL);
    pthread_cond_init(&mq->not_full, NULL);
    r.mq = mq;
    r.ring = hp_ring_new(CAPACITY);
    pthread_t th[8];
    int64_t t0 = hp_mono_ns();
    for (int i = 0; i < producers; i++)
        pthread_create(&th[i], NULL, producer, &r);
    uint64_t want = r.per_producer * (uint64_t)producers, got = 0;
    void *out[BATCH];
    while (got < want) {
        size_t n = use_ring ? hp_ring_pop(r.ring, out, BATCH) : mq_pop(mq, out, BATCH);
        if (n == 0 && use_ring)
            hp_ring_wait(r.ring, 1); /* as the transport thread does when idle */
        got += n;
    }
    int64_t ns = hp_mono_ns() - t0;
    for (int i = 0; i < producers; i++)
        pthread_join(th[i], NULL);
    hp_ring_free(r.ring);
    pthread_mutex_destroy(&mq->lock);
    pthread_cond_destroy(&mq->not_empty);
    pthread_cond_destroy(&mq->not_full);
    free(mq);
    return (double)want / ((double)ns / 1e9);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(int use_ring, int producers, uint64_t total, int runs)
{
    double v[32];
    for (int i = 0; i < runs; i++)
        v[i] = one_run(use_ring, producers, total);
    qsort(v, (size_t)runs, sizeof(v[0]), cmp);
    return v[runs / 2];
}

int main(int argc, char **argv)
{
    uint64_t total = argc > 1 ? strtoull(argv[1], NULL, 10) : 4000000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (runs < 1 || runs > 32)
        runs = 5;
    printf("%-28s %14s %10s %14s %8s\n", "ring (capacity 1024)", "ring msg/s", "ns/msg",
           "mutex msg/s", "ratio");
    int counts[] = {1, 2, 4};
    for (size_t i = 0; i < 3; i++) {
        int p = counts[i];
        double ring = median(1, p, total, runs);
        double mutex = median(0, p, total, runs);
        char label[64];
        snprintf(label, sizeof(label), "%d producer%s, 1 consumer", p, p > 1 ? "s" : "");
        printf("%-28s %14.0f %10.1f %14.0f %7.2fx\n", label, ring, 1e9 / ring, mutex, ring / mutex);
    }
    return 0;
}
