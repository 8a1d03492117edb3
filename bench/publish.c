/* SPDX-License-Identifier: Apache-2.0 */
/* publish.c -- benchmark: messages/s the agent's transport sustains into
 * the sinks of a configuration, and latency from sample time to the sink's
 * confirmation (p50/p99), fed by a burst source.
 *
 * The burst source is a thread that pushes N synthetic envelopes of about
 * --size bytes into the ring as fast as the ring accepts them (it retries
 * when full: here we measure, the agent would drop), or with --rate at a
 * steady R messages/s, for latency below saturation (a burst's latency is
 * mostly its own queueing). Latency needs no hook
 * in the transport: the main thread polls the first sink's confirmed
 * counter (stats.sent) and stamps every newly confirmed message; delivery
 * is in order per sink, so message i is confirmed when sent > i. Timing
 * starts when the first sink is open, as the bare loops' does.
 *
 *   publish --config FILE [--messages N] [--size BYTES] [--rate R] [--timeout S] */
#include "agent/agent.h"
#include "lib/clock.h"
#include "transport/transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void nap(long us)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = us * 1000};
    nanosleep(&ts, NULL);
}

struct burst {
    struct hp_agent *a;
    size_t n, size;
    double rate; /* messages/s; 0: as fast as the ring takes them */
    int64_t *pushed_ns;
};

static void *burst_main(void *arg)
{
    struct burst *b = arg;
    /* One envelope serialized up front: the source costs a malloc and a
     * copy per message, so the numbers are the ring + transport + sink. */
    char *pad = malloc(b->size + 1);
    memset(pad, 'x', b->size);
    pad[b->size] = '\0';
    json_object *data = json_object_new_object();
    json_object_object_add(data, "pad", json_object_new_string(pad));
    json_object *env = hp_envelope_new(&b->a->env, "bench", hp_real_ms(), 1, 0.0, data);
    size_t len;
    const char *json = json_object_to_json_string_length(env, JSON_C_TO_STRING_PLAIN, &len);
    int64_t start = hp_mono_ns();
    for (size_t i = 0; i < b->n; i++) {
        if (b->rate > 0) { /* absolute deadlines: no drift */
            struct timespec at = hp_ns_ts(start + (int64_t)((double)i * 1e9 / b->rate));
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
                ;
        }
        struct hp_msg *m = hp_msg_new("bench", i + 1, hp_real_ms(), json, len);
        b->pushed_ns[i] = hp_mono_ns();
        /* Full: let the transport run (2 cores are shared). A burst naps
         * 1 ms: shorter naps' wake-ups took CPU from the path measured. */
        while (!hp_ring_push(b->a->ring, m))
            nap(b->rate > 0 ? 50 : 1000);
    }
    json_object_put(env);
    free(pad);
    return NULL;
}

static int cmp(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
    const char *conf = NULL;
    size_t n = 100000, size = 400;
    double timeout = 120, rate = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--config") == 0)
            conf = argv[i + 1];
        else if (strcmp(argv[i], "--messages") == 0)
            n = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--size") == 0)
            size = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--rate") == 0)
            rate = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--timeout") == 0)
            timeout = atof(argv[i + 1]);
    }
    if (!conf || n == 0) {
        fprintf(stderr, "usage: publish --config FILE [--messages N] [--size B]\n");
        return 2;
    }
    hp_log_setup(HP_LOG_STDERR, HP_LOG_WARN);
    json_c_set_serialization_double_format("%.15g", JSON_C_OPTION_GLOBAL);
    struct hp_errs errs = {0};
    struct hp_config *cfg = hp_config_load(conf, &errs);
    struct hp_agent a;
    if (!cfg || hp_agent_init(&a, cfg) != 0)
        return 1;
    if (hp_agent_build(&a, cfg, &errs, &a.reporters, &a.n_reporters, &a.sinks, &a.n_sinks))
        return 1;
    hp_agent_free_reporters(a.reporters, a.n_reporters); /* the burst is the only source */
    a.reporters = NULL;
    a.n_reporters = 0;

    if (hp_agent_start(&a) != 0) /* transport and the session message; no reporters */
        return 1;
    struct burst b = {.a = &a, .n = n, .size = size, .rate = rate};
    b.pushed_ns = calloc(n, sizeof(*b.pushed_ns));
    int64_t *acked_ns = calloc(n, sizeof(*acked_ns));
    struct hp_sink *s = &a.sinks[0];
    /* The clock starts once the sink is open (connected, logged in,
     * declared; for Kafka: the producer created), as the bare loops start
     * theirs after connecting: both measure delivery, not set-up. */
    int64_t up_by = hp_mono_ns() + (int64_t)(timeout * 1e9);
    while (!atomic_load_explicit(&hp_sink_stats_of(s)->up, memory_order_relaxed) &&
           hp_mono_ns() < up_by)
        nap(100);
    /* The session message goes first: wait for it, count only the burst. */
    while (atomic_load_explicit(&hp_sink_stats_of(s)->sent, memory_order_relaxed) < 1 &&
           hp_mono_ns() < up_by)
        nap(100);
    uint64_t base = atomic_load_explicit(&hp_sink_stats_of(s)->sent, memory_order_relaxed);
    pthread_t th;
    int64_t t0 = hp_mono_ns();
    pthread_create(&th, NULL, burst_main, &b);
    size_t done = 0;
    int64_t deadline = t0 + (int64_t)(timeout * 1e9);
    while (done < n && hp_mono_ns() < deadline) {
        uint64_t sent =
            atomic_load_explicit(&hp_sink_stats_of(s)->sent, memory_order_relaxed) - base;
        int64_t now = hp_mono_ns();
        while (done < sent && done < n)
            acked_ns[done++] = now;
        /* Latency resolution 0.1 ms when paced; a burst's latency is its
         * queueing (tens of ms), and 10,000 wake-ups a second of this
         * thread were 10-15% of the CPU samples of a Kafka burst. */
        if (done < n)
            nap(rate > 0 ? 100 : 1000);
    }
    int64_t t1 = hp_mono_ns();
    pthread_join(th, NULL);
    hp_agent_stop(&a);

    int64_t *lat = calloc(done ? done : 1, sizeof(*lat));
    for (size_t i = 0; i < done; i++)
        lat[i] = acked_ns[i] - b.pushed_ns[i];
    qsort(lat, done, sizeof(*lat), cmp);
    double secs = (double)(t1 - t0) / 1e9;
    fprintf(stderr,
            "sink=%s type=%s messages=%zu confirmed=%zu size=%zu seconds=%.3f "
            "rate=%.0f p50_ms=%.3f p99_ms=%.3f dropped=%llu\n",
            s->name, s->ops->type, n, done, size, secs, (double)done / secs,
            done ? (double)lat[done / 2] / 1e6 : 0.0,
            done ? (double)lat[done * 99 / 100] / 1e6 : 0.0,
            (unsigned long long)atomic_load_explicit(&hp_sink_stats_of(s)->dropped,
                                                     memory_order_relaxed));
    free(lat);
    free(acked_ns);
    free(b.pushed_ns);
    hp_agent_destroy(&a);
    return done == n ? 0 : 1;
}
