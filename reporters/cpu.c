/* SPDX-License-Identifier: Apache-2.0 */
/* cpu.c -- cpu time split (total and per cpu) as percentages of the last
 * interval and as cumulative seconds, load averages, context switches and
 * interrupts (totals and per second), from /proc/stat and /proc/loadavg.
 *
 * Percentages come from the difference of two /proc/stat snapshots, as
 * psutil.cpu_percent(): busy = total - idle - iowait, where total sums
 * user..steal (guest time is already inside user). A cpu whose counters went
 * backwards (hotplug, a reset) gets no percentages for that sample. The
 * previous snapshot lives in arrays indexed by cpu number that only grow
 * when a higher cpu number appears. The message is written as it is parsed
 * (lib/jw.h); the per-cpu array, found line by line before the summary's
 * last members, is written into its own buffer and copied in after them:
 * a sample allocates nothing once the buffers have grown. */
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/jw.h"
#include "lib/msg.h"
#include "reporters/procfile.h"
#include "reporters/reporter.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { USER, NICE, SYSTEM, IDLE, IOWAIT, IRQ, SOFTIRQ, STEAL, GUEST, GUEST_NICE, NFIELDS };
#define NSUMMED STEAL + 1 /* fields that make up the total */

static const char *const field_names[NFIELDS] = {
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice",
};

struct times {
    uint64_t v[NFIELDS];
    uint64_t gen; /* sample generation that wrote v; 0 = never */
};

struct cpu {
    struct hp_procfile stat;
    struct hp_procfile loadavg;
    bool percpu;
    long hz;
    uint64_t gen;        /* samples taken so far */
    struct times total;  /* previous "cpu " line */
    struct times *cpus;  /* previous "cpuN" lines, indexed by N */
    size_t ncpus;        /* entries in cpus */
    uint64_t ctxt, intr; /* previous totals */
    bool have_ctxt, have_intr;
    int64_t prev_ns;           /* CLOCK_MONOTONIC of the previous read */
    struct hp_buf percpu_text; /* the array `cpus` of the sample being written */
    bool warned_stat, warned_load;
};

static const struct hp_opt cpu_opts[] = {
    {.name = "percpu",
     .type = HP_OPT_BOOL,
     .def = "true",
     .help = "also report every cpu's percentages and times (array `cpus`)",
     HP_AT_BOOL(struct cpu, percpu)},
    {0},
};

static int cpu_init(struct hp_reporter *r, const config_setting_t *cfg, struct hp_errs *errs)
{
    (void)errs;
    struct cpu *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    char path[512];
    hp_procfile_init(&c->stat, hp_proc_path(r, path, sizeof(path), "stat"));
    hp_procfile_init(&c->loadavg, hp_proc_path(r, path, sizeof(path), "loadavg"));
    hp_opts_load(cfg, cpu_opts, c);
    c->hz = sysconf(_SC_CLK_TCK);
    if (c->hz <= 0)
        c->hz = 100;
    r->priv = c;
    return 0;
}

/* Parse up to NFIELDS numbers after the "cpuN" word; missing ones are 0. */
static void parse_times(const char *p, uint64_t v[NFIELDS])
{
    for (int i = 0; i < NFIELDS; i++)
        if (!hp_parse_u64(&p, &v[i]))
            v[i] = 0;
}

/* Percentages of now - prev into o. False (nothing added) when prev is not
 * from the previous sample, a counter went backwards or no time passed. */
static bool add_percents(struct hp_jw *o, const uint64_t now[NFIELDS], const struct times *prev,
                         uint64_t gen)
{
    if (!prev->gen || prev->gen + 1 != gen)
        return false;
    uint64_t d[NSUMMED], total = 0;
    for (int i = 0; i < NSUMMED; i++) {
        if (now[i] < prev->v[i])
            return false;
        d[i] = now[i] - prev->v[i];
        total += d[i];
    }
    if (total == 0)
        return false;
    hp_jw_double(o, "percent", hp_percent(total - d[IDLE] - d[IOWAIT], total), 2);
    for (int i = 0; i < NSUMMED; i++)
        hp_jw_double(o, field_names[i], hp_percent(d[i], total), 2);
    return true;
}

static void remember(struct times *t, const uint64_t v[NFIELDS], uint64_t gen)
{
    memcpy(t->v, v, sizeof(t->v));
    t->gen = gen;
}

/* The previous-sample slot of cpu n, growing the array if needed. */
static struct times *cpu_slot(struct cpu *c, unsigned long n)
{
    if (n >= 65536)
        return NULL;
    if (n >= c->ncpus) {
        size_t want = n + 1 > c->ncpus * 2 ? n + 1 : c->ncpus * 2;
        struct times *nc = realloc(c->cpus, want * sizeof(*nc));
        if (!nc)
            return NULL;
        memset(nc + c->ncpus, 0, (want - c->ncpus) * sizeof(*nc));
        c->cpus = nc;
        c->ncpus = want;
    }
    return &c->cpus[n];
}

/* A counter line ("ctxt 123"): raw total, and its rate when the previous
 * value is known, not larger, and time has passed. */
static void add_counter(struct hp_jw *data, const char *key, const char *rate_key, uint64_t v,
                        uint64_t *prev, bool *have, double secs)
{
    hp_jw_uint(data, key, v);
    if (*have && v >= *prev && secs > 0)
        hp_jw_double(data, rate_key, (double)(v - *prev) / secs, 1);
    *prev = v;
    *have = true;
}

static void add_times(struct hp_jw *data, const uint64_t v[NFIELDS], long hz)
{
    hp_jw_object(data, "times");
    for (int i = 0; i < NFIELDS; i++)
        hp_jw_double(data, field_names[i], (double)v[i] / (double)hz, 2);
    hp_jw_end(data);
}

static void add_loadavg(struct cpu *c, struct hp_jw *data)
{
    const char *p = hp_procfile_read(&c->loadavg, true);
    double l1, l5, l15;
    if (p && hp_parse_double(&p, &l1) && hp_parse_double(&p, &l5) && hp_parse_double(&p, &l15)) {
        hp_jw_double(data, "load1", l1, 2);
        hp_jw_double(data, "load5", l5, 2);
        hp_jw_double(data, "load15", l15, 2);
    } else {
        hp_warn_once(&c->warned_load, "cpu: cannot read %s", c->loadavg.path);
    }
}

/* Walk /proc/stat once: the total line, every cpuN line, intr and ctxt.
 * The cpuN lines go to the array `cpus`, written after count. */
static void parse_stat(struct cpu *c, const char *s, struct hp_jw *data, double secs)
{
    struct hp_jw cpus;
    hp_jw_start_array(&cpus, &c->percpu_text);
    uint64_t v[NFIELDS];
    int64_t count = 0;
    const char *p = s;
    do {
        const char *q;
        if (strncmp(p, "cpu", 3) == 0) {
            uint64_t n = 0;
            q = p + 3;
            bool total = *q == ' ';
            if (!total && !hp_parse_u64(&q, &n))
                continue;
            parse_times(q, v);
            struct times *prev = total ? &c->total : cpu_slot(c, n);
            if (total) {
                add_percents(data, v, prev, c->gen);
                add_times(data, v, c->hz);
            } else {
                count++;
                if (c->percpu && prev) {
                    hp_jw_object(&cpus, NULL);
                    hp_jw_uint(&cpus, "cpu", n);
                    add_percents(&cpus, v, prev, c->gen);
                    add_times(&cpus, v, c->hz);
                    hp_jw_end(&cpus);
                }
            }
            if (prev)
                remember(prev, v, c->gen);
        } else if (strncmp(p, "intr ", 5) == 0 && (q = p + 5, hp_parse_u64(&q, &v[0]))) {
            add_counter(data, "interrupts", "interrupts_per_sec", v[0], &c->intr, &c->have_intr,
                        secs);
        } else if (strncmp(p, "ctxt ", 5) == 0 && (q = p + 5, hp_parse_u64(&q, &v[0]))) {
            add_counter(data, "ctx_switches", "ctx_switches_per_sec", v[0], &c->ctxt, &c->have_ctxt,
                        secs);
        }
    } while (hp_next_line(&p));
    hp_jw_int(data, "count", count);
    if (hp_jw_finish(&cpus) != 0)
        hp_jw_fail(data); /* out of memory: no message rather than one without cpus */
    else if (c->percpu)
        hp_jw_raw(data, "cpus", c->percpu_text.p, c->percpu_text.len);
}

static int cpu_write(struct hp_reporter *r, struct hp_jw *data)
{
    struct cpu *c = r->priv;
    const char *s = hp_procfile_read(&c->stat, true);
    int64_t now = hp_mono_ns();
    c->gen++;
    if (s) {
        double secs = c->prev_ns ? (double)(now - c->prev_ns) / 1e9 : 0;
        parse_stat(c, s, data, secs);
        c->prev_ns = now;
    } else {
        hp_warn_once(&c->warned_stat, "cpu: cannot read %s", c->stat.path);
        c->have_ctxt = c->have_intr = false;
        c->prev_ns = 0;
    }
    add_loadavg(c, data);
    return hp_jw_empty(data) ? -1 : 0;
}

static void cpu_fini(struct hp_reporter *r)
{
    struct cpu *c = r->priv;
    if (!c)
        return;
    hp_procfile_fini(&c->stat);
    hp_procfile_fini(&c->loadavg);
    free(c->cpus);
    hp_buf_free(&c->percpu_text);
    free(c);
    r->priv = NULL;
}

const struct hp_reporter_ops hp_reporter_cpu = {
    .name = "cpu",
    .default_interval = 5.0,
    .default_enabled = true,
    .needs_prime = true,
    .opts = cpu_opts,
    .init = cpu_init,
    .write = cpu_write,
    .fini = cpu_fini,
};
