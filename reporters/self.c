/* SPDX-License-Identifier: Apache-2.0 */
/* self.c -- the self-report (wire name "agent"): the agent's own health.
 * Messages produced and dropped, ring occupancy, each sink's delivery
 * counters and backlog, each reporter's CPU time per sample, each sink's
 * disk spool (size, queued, dropped, corrupt), and the process's RSS and
 * CPU use. It reads the agent only through the struct hp_self_view the
 * lifecycle binds (reporters/self.h): every counter there is a relaxed
 * atomic written by another thread; the rest comes from /proc/self.
 *
 * Wake-ups per thread: how often each thread was switched in (the third
 * field of /proc/self/task/TID/schedstat, kept open; voluntary and
 * involuntary switches alike), as a rate since the last sample,
 * summed by thread name (the sink libraries' threads included), so an
 * idle agent that polls too often shows which thread does. The directory
 * that lists the threads is kept open too, and read again only when the
 * threads may have changed: when /proc/self/stat counts another number of
 * them, or a kept descriptor no longer reads (its thread ended). A
 * thread's name is read when it is first seen and once more at its second
 * sample: a new thread names itself as it starts, possibly just after the
 * first look. Threads of names past the first MAX_NAMES - 1 are summed
 * under OTHER, so their switches still count.
 *
 * The message is written member by member as it is gathered (lib/jw.h):
 * no tree is built, and a sample allocates nothing. Member order is part
 * of the format (CSV columns follow it); the threads' rates are summed
 * before "wakeups_per_second", which comes before "wakeups". */
#include "reporters/self.h"

#include "lib/clock.h"
#include "lib/jw.h"
#include "lib/regfile.h"
#include "reporters/proc_pid.h"
#include "reporters/procfile.h"
#include "lib/sink_stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_NAMES 64
#define OTHER     "(other)"
#define SAME_MAX  256 /* more threads than this: listed every sample */

/* One thread: its schedstat kept open, its name, its switch count. */
struct tsw {
    int32_t tid;
    int fd;     /* /proc/self/task/TID/schedstat, -1: none */
    bool named; /* name read at its second sample too */
    uint64_t switches;
    char name[32];
};

struct self {
    struct hp_procfile stat;  /* /proc/self/stat: utime, stime, threads */
    struct hp_procfile statm; /* /proc/self/statm: rss pages */
    uint64_t prev_ticks;
    int64_t prev_ns;
    long hz, page;
    struct tsw *prev, *cur; /* threads at the last and this sample */
    size_t n_prev, n_cur, cap;
    int64_t prev_sw_ns;
    int64_t threads;                 /* this sample's count from /proc/self/stat, 0: unknown */
    int self_dir;                    /* /proc/self, -1: none */
    DIR *tasks;                      /* /proc/self/task, rewound to list it; NULL: not open */
    const struct hp_self_view *view; /* NULL until bound: nothing to report */
};

static int self_init(struct hp_reporter *r, const config_setting_t *cfg, struct hp_errs *errs)
{
    (void)cfg;
    (void)errs;
    struct self *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    hp_procfile_init(&s->stat, "/proc/self/stat");
    hp_procfile_init(&s->statm, "/proc/self/statm");
    s->self_dir = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    s->hz = sysconf(_SC_CLK_TCK);
    s->page = sysconf(_SC_PAGESIZE);
    r->priv = s;
    return 0;
}

void hp_self_bind(struct hp_reporter *r, const struct hp_self_view *view)
{
    struct self *s = r->priv;
    if (s)
        s->view = view;
}

static uint64_t load(const _Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

static void add_process(struct self *s, struct hp_jw *data)
{
    const char *st = hp_procfile_read(&s->stat, true);
    const char *p = st ? strrchr(st, ')') : NULL;
    int64_t v[20] = {0};
    s->threads = 0;
    if (p) {
        p += 3; /* ") S": past the state letter; tpgid can be -1, so signed */
        for (int i = 0; i < 18 && hp_parse_i64(&p, &v[i]); i++)
            ;
        /* after state: ppid pgrp session tty tpgid flags minflt cminflt majflt
         * cmajflt utime(10) stime(11) cutime cstime prio nice threads(16) */
        uint64_t ticks = (uint64_t)(v[10] + v[11]);
        int64_t now = hp_mono_ns();
        hp_jw_double(data, "cpu_user", (double)v[10] / (double)s->hz, 2);
        hp_jw_double(data, "cpu_system", (double)v[11] / (double)s->hz, 2);
        if (s->prev_ns && now > s->prev_ns && ticks >= s->prev_ticks)
            hp_jw_double(data, "cpu_percent",
                         100.0 * ((double)(ticks - s->prev_ticks) / (double)s->hz) /
                             ((double)(now - s->prev_ns) / 1e9),
                         3);
        s->prev_ticks = ticks;
        s->prev_ns = now;
        hp_jw_int(data, "threads", v[16]);
        s->threads = v[16];
    }
    const char *sm = hp_procfile_read(&s->statm, true);
    uint64_t size, rss;
    if (sm && hp_parse_u64(&sm, &size) && hp_parse_u64(&sm, &rss)) {
        hp_jw_uint(data, "rss", rss * (uint64_t)s->page);
        hp_jw_uint(data, "vms", size * (uint64_t)s->page);
    }
}

static void close_threads(struct tsw *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].fd >= 0) {
            close(t[i].fd);
            t[i].fd = -1;
        }
}

/* Switches of threads sharing a name, this sample. */
struct named {
    char name[32];
    uint64_t switches;
    double rate;
};

/* Grow cur/prev so one more thread fits. -1 on ENOMEM. */
static int room_for_thread(struct self *s)
{
    if (s->n_cur < s->cap)
        return 0;
    size_t cap = s->cap ? s->cap * 2 : 32;
    struct tsw *c = realloc(s->cur, cap * sizeof(*c));
    if (!c)
        return -1;
    s->cur = c;
    struct tsw *p = realloc(s->prev, cap * sizeof(*p));
    if (!p)
        return -1;
    s->prev = p;
    s->cap = cap;
    return 0;
}

/* Read tid's name into t->name; -1 when the thread is gone. */
static int read_name(struct tsw *t)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)t->tid);
    if (hp_read_small(path, t->name, sizeof(t->name)) < 0)
        return -1;
    hp_utf8_sanitize(t->name);
    return 0;
}

/* At a known thread's second sample, its name read again: a new thread
 * names itself as it starts, possibly just after the first look. -1 when
 * the thread is gone. */
static int second_look(struct tsw *t)
{
    if (t->named)
        return 0;
    t->named = true;
    return read_name(t);
}

/* This sample's entry for tid: the last sample's (its descriptor taken
 * over, *known set; its name read again at its second sample), else a new
 * one with schedstat opened and its name read. NULL when the thread is
 * gone. */
static struct tsw *thread_entry(struct self *s, int32_t tid, bool *known)
{
    if (room_for_thread(s) != 0)
        return NULL;
    struct tsw *t = &s->cur[s->n_cur];
    *known = false;
    for (size_t i = 0; i < s->n_prev && !*known; i++)
        if (s->prev[i].tid == tid && s->prev[i].fd >= 0) {
            *t = s->prev[i];
            s->prev[i].fd = -1; /* taken */
            *known = true;
        }
    if (*known && second_look(t) != 0) {
        close(t->fd);
        return NULL;
    }
    if (!*known) {
        char path[64];
        *t = (struct tsw){.tid = tid};
        if (read_name(t) != 0)
            return NULL;
        snprintf(path, sizeof(path), "task/%d/schedstat", (int)tid);
        if ((t->fd = hp_open_regular(s->self_dir, path, NULL)) < 0)
            return NULL;
    }
    s->n_cur++;
    return t;
}

/* Add one thread's switch count `now` (and its rate since the last
 * sample, when it was seen then with `before`) to its name's entry of
 * agg[]; *n entries, at most max. */
static void tally(struct named *agg, size_t *n, size_t max, const struct tsw *t, uint64_t now,
                  uint64_t before, bool known, double secs)
{
    const char *name = t->name;
    size_t i = 0;
    while (i < *n && strcmp(agg[i].name, name) != 0)
        i++;
    if (i == *n && *n >= max - 1) { /* no room for one more name */
        name = OTHER;
        i = max - 1; /* the last entry sums the rest: made now or before */
    }
    if (i == *n) {
        agg[(*n)++] = (struct named){.switches = 0};
        snprintf(agg[i].name, sizeof(agg[i].name), "%s", name);
    }
    agg[i].switches += now;
    if (known && secs > 0 && now >= before)
        agg[i].rate += (double)(now - before) / secs;
}

/* A thread's switch count (schedstat's third field) through its kept
 * descriptor; false when the thread is gone. */
static bool read_switches(int fd, uint64_t *switches)
{
    char buf[128];
    ssize_t len = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : -1;
    const char *p = buf;
    uint64_t run, wait;
    if (len <= 0)
        return false;
    buf[len] = '\0';
    return hp_parse_u64(&p, &run) && hp_parse_u64(&p, &wait) && hp_parse_u64(&p, switches);
}

/* One listed thread into this sample's threads and agg[]. */
static void add_thread(struct self *s, struct named *agg, size_t *n, size_t max, int32_t tid,
                       double secs)
{
    bool known;
    struct tsw *t = thread_entry(s, tid, &known);
    uint64_t now;
    if (!t || !read_switches(t->fd, &now))
        return; /* a thread that just ended: its descriptor goes at the swap */
    uint64_t before = t->switches;
    t->switches = now;
    tally(agg, n, max, t, now, before, known, secs);
}

/* The threads of the last sample into agg[] without listing them, when
 * they are still all there: /proc/self/stat counted as many and each kept
 * descriptor still reads (one that ended reads ESRCH, even if its id was
 * handed out again). false, with nothing changed, otherwise. */
static bool same_threads(struct self *s, struct named *agg, size_t *n, size_t max, double secs)
{
    uint64_t now[SAME_MAX];
    if (s->threads <= 0 || (size_t)s->threads != s->n_prev || s->n_prev > SAME_MAX)
        return false;
    for (size_t i = 0; i < s->n_prev; i++)
        if (!read_switches(s->prev[i].fd, &now[i]))
            return false;
    for (size_t i = 0; i < s->n_prev; i++) {
        struct tsw *t = &s->prev[i];
        (void)second_look(t); /* if it has just ended, it keeps its name */
        uint64_t before = t->switches;
        t->switches = now[i];
        tally(agg, n, max, t, now[i], before, true, secs);
    }
    return true;
}

/* Every thread's switches into agg[] (*n entries, at most max), by name;
 * the threads seen become the last sample's. The seconds since the last
 * sample, 0 when there was none; -1 when the threads cannot be listed. */
static double count_wakeups(struct self *s, struct named *agg, size_t *n, size_t max)
{
    int64_t now = hp_mono_ns();
    double secs = s->prev_sw_ns ? (double)(now - s->prev_sw_ns) / 1e9 : 0;
    if (same_threads(s, agg, n, max, secs)) {
        s->prev_sw_ns = now;
        return secs;
    }
    if (s->tasks)
        rewinddir(s->tasks); /* procfs lists the threads anew from the start */
    else if (!(s->tasks = opendir("/proc/self/task")))
        return -1;
    DIR *d = s->tasks;
    s->n_cur = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
            add_thread(s, agg, n, max, (int32_t)atoi(e->d_name), secs);
    struct tsw *t = s->prev;
    size_t ended = s->n_prev;
    s->prev = s->cur;
    s->cur = t;
    s->n_prev = s->n_cur;
    s->n_cur = ended;
    s->prev_sw_ns = now;
    close_threads(s->cur, s->n_cur); /* threads that ended */
    return secs;
}

/* "wakeups": per thread name, and before it "wakeups_per_second" over all
 * threads (only threads seen at the last sample count toward the rates). */
static void add_wakeups(struct self *s, struct hp_jw *data)
{
    struct named agg[MAX_NAMES];
    size_t n = 0;
    double secs = count_wakeups(s, agg, &n, sizeof(agg) / sizeof(*agg));
    if (secs < 0)
        return;
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += agg[i].rate;
    if (secs > 0)
        hp_jw_double(data, "wakeups_per_second", total, 2);
    hp_jw_object(data, "wakeups");
    for (size_t i = 0; i < n; i++) { /* names are unique: agg[] sums by name */
        hp_jw_object(data, agg[i].name);
        hp_jw_uint(data, "switches", agg[i].switches);
        if (secs > 0)
            hp_jw_double(data, "per_second", agg[i].rate, 2);
        hp_jw_end(data);
    }
    hp_jw_end(data);
}

static void sink_stats(struct hp_jw *w, const struct hp_self_sink *k)
{
    const struct hp_sink_stats *st = k->stats;
    hp_jw_object(w, k->name);
    hp_jw_string(w, "type", k->type);
    hp_jw_bool(w, "up", atomic_load_explicit(&st->up, memory_order_relaxed));
    hp_jw_uint(w, "sent", load(&st->sent));
    hp_jw_uint(w, "failed", load(&st->failed));
    hp_jw_uint(w, "retried", load(&st->retried));
    hp_jw_uint(w, "rejected", load(&st->rejected));
    hp_jw_uint(w, "dead_lettered", load(&st->dead_lettered));
    hp_jw_uint(w, "dropped", load(&st->dropped));
    hp_jw_uint(w, "returned", load(&st->returned));
    hp_jw_uint(w, "backlog", load(&st->backlog));
    hp_jw_end(w);
}

/* The disk spool of sink k; nothing when it has none. */
static void spool_stats(struct hp_jw *w, const struct hp_self_sink *k)
{
    const struct hp_sink_stats *st = k->stats;
    if (!atomic_load_explicit(&st->spool.enabled, memory_order_relaxed))
        return;
    hp_jw_object(w, k->name);
    hp_jw_bool(w, "spilling", atomic_load_explicit(&st->spool.spilling, memory_order_relaxed));
    hp_jw_uint(w, "bytes", load(&st->spool.bytes));
    hp_jw_uint(w, "segments", load(&st->spool.segments));
    hp_jw_uint(w, "queued", load(&st->spool.queued));
    hp_jw_uint(w, "dropped", load(&st->spool.dropped));
    hp_jw_uint(w, "corrupt", load(&st->spool.corrupt));
    hp_jw_uint(w, "failed", load(&st->spool.failed));
    hp_jw_end(w);
}

static void reporter_stats(struct hp_jw *w, const struct hp_self_reporter *r)
{
    const struct hp_reporter_stats *q = r->stats;
    uint64_t samples = load(&q->samples);
    int64_t total = atomic_load_explicit(&q->cpu_ns_total, memory_order_relaxed);
    hp_jw_object(w, r->name);
    hp_jw_uint(w, "samples", samples);
    hp_jw_uint(w, "errors", load(&q->errors));
    hp_jw_uint(w, "skipped", load(&q->skipped));
    hp_jw_uint(w, "dropped", load(&q->dropped));
    hp_jw_double(w, "cpu_us_last",
                 (double)atomic_load_explicit(&q->cpu_ns_last, memory_order_relaxed) / 1e3, 1);
    if (samples)
        hp_jw_double(w, "cpu_us_avg", (double)total / 1e3 / (double)samples, 1);
    hp_jw_end(w);
}

/* "sinks" and "spool", each keyed by sink name (unique: the agent refuses
 * a configuration that repeats one); a sink without a spool is left out of
 * "spool", which may stay {}. */
static void add_sinks(const struct hp_self_view *v, struct hp_jw *data)
{
    hp_jw_object(data, "sinks");
    for (size_t i = 0; i < v->n_sinks; i++)
        sink_stats(data, &v->sinks[i]);
    hp_jw_end(data);
    hp_jw_object(data, "spool");
    for (size_t i = 0; i < v->n_sinks; i++)
        spool_stats(data, &v->sinks[i]);
    hp_jw_end(data);
}

static int self_write(struct hp_reporter *r, struct hp_jw *data)
{
    struct self *s = r->priv;
    const struct hp_self_view *v = s->view;
    if (!v)
        return -1;
    hp_jw_string(data, "version", v->version);
    hp_jw_double(data, "uptime", (double)(hp_mono_ns() - v->start_mono_ns) / 1e9, 1);
    hp_jw_uint(data, "produced", load(v->produced));
    hp_jw_uint(data, "dropped", load(v->dropped));
    hp_jw_object(data, "ring");
    hp_jw_uint(data, "capacity", hp_ring_capacity(v->ring));
    hp_jw_uint(data, "used", hp_ring_size(v->ring));
    hp_jw_uint(data, "high_water", hp_ring_high_water(v->ring));
    hp_jw_end(data);
    add_process(s, data);
    add_wakeups(s, data);
    add_sinks(v, data);
    hp_jw_object(data, "reporters"); /* names are unique: types and exec instances */
    for (size_t i = 0; i < v->n_reporters; i++)
        reporter_stats(data, &v->reporters[i]);
    hp_jw_end(data);
    return 0;
}

static void self_fini(struct hp_reporter *r)
{
    struct self *s = r->priv;
    if (!s)
        return;
    hp_procfile_fini(&s->stat);
    hp_procfile_fini(&s->statm);
    close_threads(s->prev, s->n_prev);
    if (s->self_dir >= 0)
        close(s->self_dir);
    if (s->tasks)
        closedir(s->tasks);
    free(s->prev);
    free(s->cur);
    free(s);
    r->priv = NULL;
}

const struct hp_reporter_ops hp_reporter_self = {
    .name = "agent", /* the wire name stays "agent" (docs/schema/message.schema.json) */
    .default_interval = 10.0,
    .default_enabled = true,
    .needs_prime = true,
    .init = self_init,
    .write = self_write,
    .fini = self_fini,
};
