/* self.c -- the agent's own health: messages produced and dropped, ring
 * occupancy, each sink's delivery counters and backlog, each reporter's CPU
 * time per sample, each sink's disk spool (size, queued, dropped, corrupt),
 * and the process's RSS and CPU use. Everything read here
 * is a relaxed atomic written by another thread, or /proc/self. */
#include "agent/agent.h"
#include "lib/clock.h"
#include "reporters/procfile.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct self {
    struct hp_procfile stat;  /* /proc/self/stat: utime, stime, threads */
    struct hp_procfile statm; /* /proc/self/statm: rss pages */
    uint64_t prev_ticks;
    int64_t prev_ns;
    long hz, page;
};

static int agent_init(struct hp_reporter *r, const config_setting_t *cfg, struct hp_errs *errs)
{
    (void)cfg;
    (void)errs;
    struct self *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    hp_procfile_init(&s->stat, "/proc/self/stat");
    hp_procfile_init(&s->statm, "/proc/self/statm");
    s->hz = sysconf(_SC_CLK_TCK);
    s->page = sysconf(_SC_PAGESIZE);
    r->priv = s;
    return 0;
}

static uint64_t load(_Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

static void add_process(struct self *s, json_object *data)
{
    const char *st = hp_procfile_read(&s->stat, true);
    const char *p = st ? strrchr(st, ')') : NULL;
    int64_t v[20] = {0};
    if (p) {
        p += 3; /* ") S": past the state letter; tpgid can be -1, so signed */
        for (int i = 0; i < 18 && hp_parse_i64(&p, &v[i]); i++)
            ;
        /* after state: ppid pgrp session tty tpgid flags minflt cminflt majflt
         * cmajflt utime(10) stime(11) cutime cstime prio nice threads(16) */
        uint64_t ticks = (uint64_t)(v[10] + v[11]);
        int64_t now = hp_mono_ns();
        hp_json_add_double(data, "cpu_user", (double)v[10] / (double)s->hz, 2);
        hp_json_add_double(data, "cpu_system", (double)v[11] / (double)s->hz, 2);
        if (s->prev_ns && now > s->prev_ns && ticks >= s->prev_ticks)
            hp_json_add_double(data, "cpu_percent",
                               100.0 * ((double)(ticks - s->prev_ticks) / (double)s->hz) /
                                   ((double)(now - s->prev_ns) / 1e9),
                               3);
        s->prev_ticks = ticks;
        s->prev_ns = now;
        hp_json_add_int(data, "threads", v[16]);
    }
    const char *sm = hp_procfile_read(&s->statm, true);
    uint64_t size, rss;
    if (sm && hp_parse_u64(&sm, &size) && hp_parse_u64(&sm, &rss)) {
        hp_json_add_uint(data, "rss", rss * (uint64_t)s->page);
        hp_json_add_uint(data, "vms", size * (uint64_t)s->page);
    }
}

static json_object *sink_stats(struct hp_sink *k)
{
    json_object *o = json_object_new_object();
    hp_json_add_string(o, "type", k->ops->type);
    json_object_object_add(
        o, "up", json_object_new_boolean(atomic_load_explicit(&k->stats.up, memory_order_relaxed)));
    hp_json_add_uint(o, "sent", load(&k->stats.sent));
    hp_json_add_uint(o, "failed", load(&k->stats.failed));
    hp_json_add_uint(o, "retried", load(&k->stats.retried));
    hp_json_add_uint(o, "rejected", load(&k->stats.rejected));
    hp_json_add_uint(o, "dead_lettered", load(&k->stats.dead_lettered));
    hp_json_add_uint(o, "dropped", load(&k->stats.dropped));
    hp_json_add_uint(o, "returned", load(&k->stats.returned));
    hp_json_add_uint(o, "backlog", load(&k->stats.backlog));
    return o;
}

/* The disk spool of sink k, or NULL when it has none. */
static json_object *spool_stats(struct hp_sink *k)
{
    if (!atomic_load_explicit(&k->stats.spool.enabled, memory_order_relaxed))
        return NULL;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "spilling",
                           json_object_new_boolean(atomic_load_explicit(&k->stats.spool.spilling,
                                                                        memory_order_relaxed)));
    hp_json_add_uint(o, "bytes", load(&k->stats.spool.bytes));
    hp_json_add_uint(o, "segments", load(&k->stats.spool.segments));
    hp_json_add_uint(o, "queued", load(&k->stats.spool.queued));
    hp_json_add_uint(o, "dropped", load(&k->stats.spool.dropped));
    hp_json_add_uint(o, "corrupt", load(&k->stats.spool.corrupt));
    hp_json_add_uint(o, "failed", load(&k->stats.spool.failed));
    return o;
}

static json_object *reporter_stats(struct hp_reporter *q)
{
    json_object *o = json_object_new_object();
    uint64_t samples = load(&q->stats.samples);
    int64_t total = atomic_load_explicit(&q->stats.cpu_ns_total, memory_order_relaxed);
    hp_json_add_uint(o, "samples", samples);
    hp_json_add_uint(o, "errors", load(&q->stats.errors));
    hp_json_add_uint(o, "skipped", load(&q->stats.skipped));
    hp_json_add_uint(o, "dropped", load(&q->stats.dropped));
    hp_json_add_double(
        o, "cpu_us_last",
        (double)atomic_load_explicit(&q->stats.cpu_ns_last, memory_order_relaxed) / 1e3, 1);
    if (samples)
        hp_json_add_double(o, "cpu_us_avg", (double)total / 1e3 / (double)samples, 1);
    return o;
}

static int agent_sample(struct hp_reporter *r, json_object *data)
{
    struct hp_agent *a = r->agent;
    hp_json_add_string(data, "version", HP_VERSION);
    hp_json_add_double(data, "uptime", (double)(hp_mono_ns() - a->start_mono_ns) / 1e9, 1);
    hp_json_add_uint(data, "produced", load(&a->stats.produced));
    hp_json_add_uint(data, "dropped", load(&a->stats.dropped));
    json_object *ring = json_object_new_object();
    hp_json_add_uint(ring, "capacity", hp_ring_capacity(a->ring));
    hp_json_add_uint(ring, "used", hp_ring_size(a->ring));
    hp_json_add_uint(ring, "high_water", hp_ring_high_water(a->ring));
    json_object_object_add(data, "ring", ring);
    add_process(r->priv, data);
    json_object *sinks = json_object_new_object();
    for (size_t i = 0; i < a->n_sinks; i++)
        json_object_object_add(sinks, a->sinks[i].name, sink_stats(&a->sinks[i]));
    json_object_object_add(data, "sinks", sinks);
    json_object *spool = json_object_new_object();
    for (size_t i = 0; i < a->n_sinks; i++) {
        json_object *o = spool_stats(&a->sinks[i]);
        if (o)
            json_object_object_add(spool, a->sinks[i].name, o);
    }
    json_object_object_add(data, "spool", spool);
    json_object *reps = json_object_new_object();
    for (size_t i = 0; i < a->n_reporters; i++)
        json_object_object_add(reps, a->reporters[i].ops->name, reporter_stats(&a->reporters[i]));
    json_object_object_add(data, "reporters", reps);
    return 0;
}

static void agent_fini(struct hp_reporter *r)
{
    struct self *s = r->priv;
    if (!s)
        return;
    hp_procfile_fini(&s->stat);
    hp_procfile_fini(&s->statm);
    free(s);
    r->priv = NULL;
}

const struct hp_reporter_ops hp_reporter_agent = {
    .name = "agent",
    .default_interval = 10.0,
    .default_enabled = true,
    .needs_prime = true,
    .init = agent_init,
    .sample = agent_sample,
    .fini = agent_fini,
};
