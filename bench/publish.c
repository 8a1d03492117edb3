/* SPDX-License-Identifier: Apache-2.0 */
/* publish.c -- benchmark: messages/s the agent's transport sustains into
 * the sinks of a configuration, and latency from the moment a message
 * enters the ring to the sink's confirmation (p50/p99), fed by a burst
 * source.
 *
 * The source's N messages (hp_msg: an envelope around --size bytes of
 * padding, each with its own seq) are all built before the clock starts:
 * in the agent, building a message is its reporter's cost, not the
 * delivery path's, and the bare loops (bench/kafka_bare, amqp_bare, mqtt_bare) time only their
 * sends too. So what is timed is push -> ring -> transport thread -> each
 * sink's backlog -> sink -> broker confirmation, from the start of the
 * burst until the last message is confirmed. Their ts_ms (and the
 * envelope's ts) is the time they were built, up to a paced run's length
 * before they are sent; no figure here depends on it.
 *
 * A source thread pushes them into the ring as fast as the ring accepts
 * them (it retries when full: here we measure, the agent would drop), or
 * with --rate at a steady R messages/s, for latency below saturation (a
 * burst's latency is mostly its own queueing). Latency needs no hook in the
 * transport: the source stamps each message as it offers it to the ring
 * (pushed_ns), the main thread polls the first sink's confirmed counter
 * (stats.sent) and stamps every newly confirmed message; delivery is in
 * order per sink, so message i is confirmed when sent > i. Timing starts
 * when the first sink is open and has confirmed the session message, as
 * amqp_bare's and mqtt_bare's start after connecting and kafka_bare's
 * after its first record is delivered.
 *
 *   publish --config FILE [--messages N] [--size BYTES] [--rate R] [--timeout S] */
#include "agent/agent.h"
#include "lib/clock.h"
#include "transport/transport.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
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
    struct hp_msg **msgs; /* built before the clock starts; pushed ones are the ring's */
    size_t n, pushed;     /* pushed: written by the source, read after the join */
    double rate;          /* messages/s; 0: as fast as the ring takes them */
    int64_t *pushed_ns;
    atomic_bool stop; /* main gave up (timeout): push no more; relaxed, a
                       * flag only: no data is handed over with it */
};

/* Drop msgs[from..n) (the ones the ring never took) and the array. */
static void free_msgs(struct hp_msg **msgs, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++)
        hp_msg_unref(msgs[i]);
    free(msgs);
}

/* n messages of one envelope with about `size` bytes of padding, each with
 * its own seq (1..n) and the agent's identity, as a reporter makes them.
 * NULL on ENOMEM. */
static struct hp_msg **build_msgs(const struct hp_agent *a, size_t n, size_t size)
{
    struct hp_msg **msgs = calloc(n, sizeof(*msgs));
    char *pad = malloc(size + 1);
    if (!msgs || !pad) {
        free(msgs);
        free(pad);
        return NULL;
    }
    memset(pad, 'x', size);
    pad[size] = '\0';
    json_object *data = json_object_new_object();
    json_object_object_add(data, "pad", json_object_new_string(pad));
    int64_t ts = hp_real_ms();
    json_object *env = hp_envelope_new(&a->env, "bench", ts, 1, 0.0, data);
    size_t len, i;
    const char *json = json_object_to_json_string_length(env, JSON_C_TO_STRING_PLAIN, &len);
    for (i = 0; i < n; i++)
        if (!(msgs[i] = hp_msg_new_id(&a->env, "bench", i + 1, ts, json, len)))
            break;
    json_object_put(env);
    free(pad);
    if (i == n)
        return msgs;
    free_msgs(msgs, 0, i);
    return NULL;
}

static void *burst_main(void *arg)
{
    struct burst *b = arg;
    pthread_setname_np(pthread_self(), "burst"); /* apart from main in profiles */
    int64_t start = hp_mono_ns();
    for (size_t i = 0; i < b->n && !atomic_load_explicit(&b->stop, memory_order_relaxed); i++) {
        if (b->rate > 0) { /* absolute deadlines: no drift */
            struct timespec at = hp_ns_ts(start + (int64_t)((double)i * 1e9 / b->rate));
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
                ;
        }
        b->pushed_ns[i] = hp_mono_ns();
        /* Full: let the transport run (2 cores are shared). A burst naps
         * 1 ms: shorter naps' wake-ups took CPU from the path measured. */
        while (!hp_ring_push(b->a->ring, b->msgs[i])) {
            if (atomic_load_explicit(&b->stop, memory_order_relaxed))
                return NULL;
            nap(b->rate > 0 ? 50 : 1000);
        }
        b->pushed = i + 1;
    }
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

    /* Every message is built before anything runs: the clock times their
     * delivery only (see the top of this file). */
    struct burst b = {.a = &a, .n = n, .rate = rate, .msgs = build_msgs(&a, n, size)};
    b.pushed_ns = calloc(n, sizeof(*b.pushed_ns));
    /* hp_agent_start: the transport and the session message; no reporters. */
    if (!b.msgs || !b.pushed_ns || hp_agent_start(&a) != 0) {
        fprintf(stderr, "publish: %s\n", b.msgs && b.pushed_ns ? "cannot start" : "out of memory");
        if (b.msgs)
            free_msgs(b.msgs, 0, n);
        free(b.pushed_ns);
        return 1;
    }
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
    /* A message dropped from a full backlog is never confirmed: stop
     * waiting when every message is confirmed or dropped. */
    uint64_t dropped = 0,
             dropped0 = atomic_load_explicit(&hp_sink_stats_of(s)->dropped, memory_order_relaxed);
    while (done + dropped < n && hp_mono_ns() < deadline) {
        uint64_t sent =
            atomic_load_explicit(&hp_sink_stats_of(s)->sent, memory_order_relaxed) - base;
        dropped =
            atomic_load_explicit(&hp_sink_stats_of(s)->dropped, memory_order_relaxed) - dropped0;
        int64_t now = hp_mono_ns();
        while (done < sent && done < n)
            acked_ns[done++] = now;
        /* Latency resolution 0.1 ms when paced; a burst's latency is its
         * queueing (tens of ms), and 10,000 wake-ups a second of this
         * thread were 10-15% of the CPU samples of a Kafka burst. */
        if (done + dropped < n)
            nap(rate > 0 ? 100 : 1000);
    }
    int64_t t1 = hp_mono_ns();
    atomic_store_explicit(&b.stop, true, memory_order_relaxed);
    pthread_join(th, NULL);
    free_msgs(b.msgs, b.pushed, n); /* timed out: what the ring never took */
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
