/* SPDX-License-Identifier: Apache-2.0 */
/* wakeup_floor.c -- benchmark baseline: what threads that wake on a timer
 * and do nothing else cost.
 *
 *   wakeup_floor THREADS [INTERVAL_S]
 *
 * Starts THREADS threads that sleep as the agent's reporter threads do
 * (pthread_cond_timedwait on an absolute CLOCK_MONOTONIC deadline, the
 * k-th one (k % 10) ms later, agent/scheduler.c) and wake every INTERVAL_S
 * seconds (default 1) without doing anything, until SIGTERM or SIGINT.
 * `bench/run --only footprint` measures it beside the agent: the CPU of a
 * wake-up (switching in and out, the first touches of cold caches) is a
 * floor that a design of one thread per reporter pays whatever the
 * reporters do. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct sleeper {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    long long phase_ns, period_ns;
};

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *sleep_loop(void *arg)
{
    struct sleeper *s = arg;
    long long next = mono_ns() + s->period_ns + s->phase_ns;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        struct timespec ts = {.tv_sec = next / 1000000000LL, .tv_nsec = next % 1000000000LL};
        if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT)
            next += s->period_ns;
    }
    return NULL;
}

static int start(struct sleeper *s, int k, double interval)
{
    pthread_condattr_t ca;
    pthread_t t;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->lock, NULL);
    s->phase_ns = (long long)(k % 10) * 1000000LL;
    s->period_ns = (long long)(interval * 1e9);
    return pthread_create(&t, NULL, sleep_loop, s);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 0;
    double interval = argc > 2 ? atof(argv[2]) : 1.0;
    if (n < 1 || n > 1000 || interval < 0.001) {
        fprintf(stderr, "usage: wakeup_floor THREADS [INTERVAL_S]\n");
        return 2;
    }
    struct sleeper *s = calloc((size_t)n, sizeof(*s));
    if (!s)
        return 1;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited: only main takes them */
    for (int k = 0; k < n; k++)
        if (start(&s[k], k, interval) != 0) {
            fprintf(stderr, "wakeup_floor: cannot start thread %d\n", k);
            return 1;
        }
    int sig;
    sigwait(&set, &sig);
    return 0; /* the threads end with the process */
}
