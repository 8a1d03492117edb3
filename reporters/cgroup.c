/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup.c -- per-group resource use from the unified (v2) cgroup
 * hierarchy: which service or container uses the cpu, memory and I/O, and
 * whether it is throttled, hitting its limits or stalled.
 *
 * The root is sys_root/fs/cgroup (a fixture tree works the same). On a
 * hybrid host (v1 controllers, v2 at fs/cgroup/unified) the unified tree is
 * read and whatever controllers it has are reported; a v1-only host gets
 * one clear log line and no messages.
 *
 * Each sample walks the tree (no deeper than the selection needs), keeps
 * the groups whose path matches `paths`, whose name matches `units` or
 * whose parent slice is in `slices` (default: every .service under
 * system.slice, plus user.slice and machine.slice as totals), reads cpu.stat
 * of each (and memory.current for top-N by memory), picks the top N when
 * asked, then reads the rest only for the groups it publishes. State per
 * group (previous counters) is keyed by path and the directory's inode: a
 * group that vanished is forgotten, one re-created under the same name
 * starts over, so no rate spans two lives. Counters that went back give no
 * rate. Rates of the fully-read metrics need the group fully read in the
 * previous sample too (a group entering the top N has none at first).
 *
 * The message is written as the files are read (lib/jw.h): a part that
 * turns out empty is taken back (hp_jw_undo), io.stat's lines are all read
 * before its devices are written, each name once. Once the tables and
 * buffers have grown, a sample allocates nothing. */
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/jw.h"
#include "lib/log.h"
#include "reporters/cgroup.h"
#include "reporters/devtab.h"
#include "reporters/procfile.h"
#include "reporters/psi.h"
#include "reporters/reporter.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { TOP_CPU, TOP_MEMORY };
static const char *const top_choices[] = {"cpu", "memory", NULL};

struct cg_opts {
    const config_setting_t *paths, *units, *slices;
    int64_t top;
    int top_by;
    int64_t max_groups;
    int64_t depth;
    bool pressure;
};

static const struct hp_opt cgroup_opts[] = {
    {.name = "paths",
     .type = HP_OPT_STRINGS,
     .help = "cgroup paths or globs under the root (\"/system.slice/docker-*.scope\")",
     HP_AT_SET(struct cg_opts, paths)},
    {.name = "units",
     .type = HP_OPT_STRINGS,
     .help = "systemd unit names or globs, anywhere in the tree (\"nginx.service\", \"*.scope\")",
     HP_AT_SET(struct cg_opts, units)},
    {.name = "slices",
     .type = HP_OPT_STRINGS,
     .help = "every group directly under these slices (\"system.slice\")",
     HP_AT_SET(struct cg_opts, slices)},
    {.name = "top",
     .type = HP_OPT_INT,
     .def = "0",
     .min = 0,
     .max = 10000,
     .help = "publish only the N selected groups highest by top_by (0: all)",
     HP_AT_INT(struct cg_opts, top)},
    {.name = "top_by",
     .type = HP_OPT_ENUM,
     .def = "cpu",
     .choices = top_choices,
     .help = "what top ranks by: cpu (usage rate) or memory (memory.current)",
     HP_AT_ENUM(struct cg_opts, top_by)},
    {.name = "max_groups",
     .type = HP_OPT_INT,
     .def = "1000",
     .min = 1,
     .max = 100000,
     .help = "read at most this many matching groups per sample (bounds the cost)",
     HP_AT_INT(struct cg_opts, max_groups)},
    {.name = "depth",
     .type = HP_OPT_INT,
     .def = "4",
     .min = 1,
     .max = 32,
     .help = "how deep units and slices are searched below the root",
     HP_AT_INT(struct cg_opts, depth)},
    {.name = "pressure",
     .type = HP_OPT_BOOL,
     .def = "true",
     .help = "publish each group's cpu/memory/io.pressure",
     HP_AT_BOOL(struct cg_opts, pressure)},
    {0},
};

/* The default selection, used when none of paths/units/slices is set. */
static const char *const default_paths[] = {"/system.slice/*.service", "/user.slice",
                                            "/machine.slice", NULL};

enum { NCPU = 6, NEV = 4, NIO = 6, NPSI = 3 };
enum { MAXDEV = 64, DEVNAME = 40 }; /* io.stat lines read per group; a device name's size */
static const char *const cpu_keys[NCPU] = {"usage_usec", "user_usec",    "system_usec",
                                           "nr_periods", "nr_throttled", "throttled_usec"};
static const char *const mem_keys[] = {"anon", "file", "kernel", "sock", "shmem", NULL};
static const char *const ev_keys[NEV] = {"high", "max", "oom", "oom_kill"};
static const char *const io_keys[NIO] = {"rbytes", "wbytes", "rios", "wios", "dbytes", "dios"};
static const char *const psi_files[NPSI] = {"cpu.pressure", "memory.pressure", "io.pressure"};
static const char *const psi_names[NPSI] = {"cpu", "memory", "io"};

struct cg_dev {
    unsigned maj, min;
    uint64_t v[NIO];
};

struct cg_group {
    char path[256];    /* relative to the root, "/system.slice/x.service"; "/" for the root */
    uint64_t ino;      /* identity of this life of the group */
    uint64_t gen;      /* the sample that last saw it */
    uint64_t full_gen; /* the sample that last read it fully (published it) */
    int dfd;           /* open during a sample, -1 otherwise */
    uint64_t cpu[NCPU], cpu_prev[NCPU];
    unsigned cpu_found, cpu_prev_found; /* bitmasks of cpu_keys */
    bool cpu_ok, cpu_prev_ok;
    double usage_rate; /* usec per second this sample, -1 when none */
    uint64_t mem_current;
    bool mem_ok;
    uint64_t ev[NEV];
    bool ev_ok;
    struct cg_dev *dev; /* io.stat's devices of the last full read */
    size_t ndev, capdev;
    struct hp_psi psi[NPSI];
};

struct devname {
    unsigned maj, min;
    char name[DEVNAME];
};

struct cgroup {
    struct cg_opts o;
    const char *const *paths_def; /* default_paths when nothing is selected, else NULL */
    char base[480];               /* sys_root/fs/cgroup */
    char root[512];               /* the unified hierarchy's root, "" until found */
    char sys_dev_block[480];      /* sys_root/dev/block */
    struct cg_group *g;
    size_t n, cap, hint;
    size_t *cand;
    size_t ncand, capcand;
    struct devname *devs;
    size_t ndevs;
    uint64_t gen;
    int64_t prev_ns;
    char buf[65536];
    bool warned_v1, warned_cap, warned_big, told_hybrid;
};

/* ---- selection ---- */

/* The path patterns: `paths`, or the default selection. */
static int n_paths(const struct cgroup *c)
{
    if (c->paths_def) {
        int k = 0;
        while (c->paths_def[k])
            k++;
        return k;
    }
    return hp_strs_count(c->o.paths);
}

static const char *path_at(const struct cgroup *c, int i)
{
    return c->paths_def ? c->paths_def[i] : hp_strs_at(c->o.paths, i);
}

static int components(const char *p)
{
    int n = 0;
    for (; *p; p++)
        n += *p == '/' && p[1] && p[1] != '/';
    return n;
}

/* Whether rel (depth components) is selected: by path, unit or slice. */
static bool selected(const struct cgroup *c, const char *rel, const char *name, const char *parent)
{
    for (int i = 0, k = n_paths(c); i < k; i++) {
        const char *pat = path_at(c, i);
        if (pat && fnmatch(pat, rel, FNM_PATHNAME) == 0)
            return true;
    }
    if (hp_globs_match(c->o.units, name))
        return true;
    for (int i = 0, k = hp_strs_count(c->o.slices); i < k; i++) {
        const char *s = hp_strs_at(c->o.slices, i);
        if (s && strcmp(s, parent) == 0)
            return true;
    }
    return false;
}

/* Whether some path pattern can match below rel (depth components deep). */
static bool paths_go_below(const struct cgroup *c, const char *rel, int depth)
{
    for (int i = 0, k = n_paths(c); i < k; i++) {
        const char *pat = path_at(c, i);
        if (!pat || components(pat) <= depth)
            continue;
        char head[256];
        const char *p = pat;
        for (int d = 0; d < depth && p; d++)
            p = strchr(p + 1, '/');
        size_t len = p ? (size_t)(p - pat) : strlen(pat);
        if (len >= sizeof(head))
            return true;
        memcpy(head, pat, len);
        head[len] = '\0';
        if (fnmatch(head, rel, FNM_PATHNAME) == 0)
            return true;
    }
    return false;
}

/* ---- group table ---- */

static void group_reset(struct cg_group *g, uint64_t ino)
{
    free(g->dev);
    char path[sizeof(g->path)];
    memcpy(path, g->path, sizeof(path));
    memset(g, 0, sizeof(*g));
    memcpy(g->path, path, sizeof(path));
    g->ino = ino;
    g->dfd = -1;
}

/* The table entry for rel (new or re-created groups start over); NULL on ENOMEM. */
static struct cg_group *lookup(struct cgroup *c, const char *rel, uint64_t ino)
{
    struct cg_group *g = NULL;
    if (c->hint < c->n && strcmp(c->g[c->hint].path, rel) == 0)
        g = &c->g[c->hint];
    for (size_t i = 0; !g && i < c->n; i++)
        if (strcmp(c->g[i].path, rel) == 0)
            g = &c->g[i];
    if (!g) {
        if (hp_grow(&c->g, &c->cap, c->n + 1, sizeof(*c->g)) != 0)
            return NULL;
        g = &c->g[c->n++];
        memset(g, 0, sizeof(*g));
        snprintf(g->path, sizeof(g->path), "%s", rel);
        g->ino = ino;
        g->dfd = -1;
    } else if (g->ino != ino) {
        group_reset(g, ino); /* removed and created again since the last sample */
    }
    c->hint = (size_t)(g - c->g) + 1;
    return g;
}

static bool add_candidate(struct cgroup *c, const char *rel, uint64_t ino)
{
    if (c->ncand >= (size_t)c->o.max_groups) {
        hp_warn_once(&c->warned_cap,
                     "cgroup: more than %lld groups match; reading the first %lld only "
                     "(raise max_groups or narrow the selection)",
                     (long long)c->o.max_groups, (long long)c->o.max_groups);
        return false;
    }
    if (hp_grow(&c->cand, &c->capcand, c->ncand + 1, sizeof(*c->cand)) != 0)
        return false;
    struct cg_group *g = lookup(c, rel, ino);
    if (!g || g->gen == c->gen)
        return false; /* out of memory, or matched twice ("/" listed twice) */
    g->gen = c->gen;
    c->cand[c->ncand++] = (size_t)(g - c->g);
    return true;
}

/* Drop groups this sample did not see: gone, or no longer selected. */
static void forget_gone(struct cgroup *c)
{
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->g[i].gen == c->gen)
            c->g[k++] = c->g[i];
        else
            free(c->g[i].dev);
    }
    c->n = k;
}

/* ---- the walk ---- */

static void walk(struct cgroup *c, int dfd, const char *rel, const char *parent, int depth)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    bool deep_units = hp_strs_count(c->o.units) || hp_strs_count(c->o.slices);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.')
            continue;
        char child[256];
        int n = snprintf(child, sizeof(child), "%s/%s", strcmp(rel, "/") ? rel : "", e->d_name);
        if (n < 0 || (size_t)n >= sizeof(child))
            continue;
        if (selected(c, child, e->d_name, parent))
            add_candidate(c, child, (uint64_t)e->d_ino);
        bool down = (deep_units && depth + 1 < c->o.depth) || paths_go_below(c, child, depth + 1);
        if (!down)
            continue;
        int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sub >= 0)
            walk(c, sub, child, e->d_name, depth + 1);
    }
    closedir(d);
}

/* Find the unified hierarchy: base itself (v2) or base/unified (hybrid). */
static bool find_root(struct cgroup *c)
{
    if (c->root[0])
        return true;
    char probe[600];
    snprintf(probe, sizeof(probe), "%s/cgroup.controllers", c->base);
    if (access(probe, R_OK) == 0) {
        snprintf(c->root, sizeof(c->root), "%s", c->base);
        return true;
    }
    snprintf(probe, sizeof(probe), "%s/unified/cgroup.controllers", c->base);
    if (access(probe, R_OK) == 0) {
        snprintf(c->root, sizeof(c->root), "%s/unified", c->base);
        if (!c->told_hybrid)
            hp_info("cgroup: hybrid host: reading the unified hierarchy at %s; controllers "
                    "mounted as v1 (often memory, io, pids) have no files there",
                    c->root);
        c->told_hybrid = true;
        return true;
    }
    hp_warn_once(&c->warned_v1,
                 "cgroup: no cgroup v2 hierarchy at %s (no cgroup.controllers there or in "
                 "unified/): this host uses cgroup v1 only, which the cgroup reporter does not "
                 "read; boot with systemd.unified_cgroup_hierarchy=1 to use it",
                 c->base);
    return false;
}

/* ---- reading one group ---- */

/* name in the group's directory into c->buf; NULL when absent, unreadable
 * or too big for the buffer. */
static const char *read_at(struct cgroup *c, int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, c->buf, sizeof(c->buf) - 1);
    close(fd);
    if (n < 0)
        return NULL;
    if ((size_t)n == sizeof(c->buf) - 1) {
        hp_warn_once(&c->warned_big, "cgroup: %s is larger than %zu bytes; skipped", name,
                     sizeof(c->buf) - 1);
        return NULL;
    }
    c->buf[n] = '\0';
    return c->buf;
}

/* "key value" lines: the values of keys[0..n) into v; returns a bitmask of
 * the keys found. */
unsigned hp_cg_keyed(const char *text, const char *const *keys, int n, uint64_t *v)
{
    unsigned found = 0;
    const char *p = text;
    if (!p || !*p)
        return 0;
    do {
        size_t kl = strcspn(p, " \n");
        if (p[kl] != ' ')
            continue;
        for (int i = 0; i < n; i++) {
            if (strlen(keys[i]) != kl || strncmp(p, keys[i], kl) != 0)
                continue;
            const char *q = p + kl;
            uint64_t x;
            bool ok = hp_parse_u64(&q, &x);
            while (*q == ' ')
                q++;
            if (ok && (*q == '\n' || *q == '\0')) {
                v[i] = x;
                found |= 1u << i;
            }
            break;
        }
    } while (hp_next_line(&p));
    return found;
}

/* A single-value file: a number, or "max" (*unlimited). false when neither. */
bool hp_cg_value(const char *text, uint64_t *v, bool *unlimited)
{
    *unlimited = false;
    if (!text)
        return false;
    if (strncmp(text, "max", 3) == 0 && (text[3] == '\n' || text[3] == '\0')) {
        *unlimited = true;
        return true;
    }
    const char *p = text;
    return hp_parse_u64(&p, v) && (*p == '\n' || *p == '\0');
}

/* cpu.stat (and memory.current when ranking by memory). Every group in the
 * table was seen by the previous sample (forget_gone), so the last values
 * are the previous sample's. */
static void read_cpu(struct cgroup *c, struct cg_group *g, double secs)
{
    memcpy(g->cpu_prev, g->cpu, sizeof(g->cpu));
    g->cpu_prev_ok = g->cpu_ok;
    uint64_t v[NCPU] = {0};
    unsigned f = hp_cg_keyed(read_at(c, g->dfd, "cpu.stat"), cpu_keys, NCPU, v);
    g->cpu_prev_found = g->cpu_found;
    g->cpu_found = f;
    g->cpu_ok = (f & 1u) != 0;
    memcpy(g->cpu, v, sizeof(v));
    g->usage_rate = -1;
    if (g->cpu_ok && g->cpu_prev_ok && secs > 0 && v[0] >= g->cpu_prev[0])
        g->usage_rate = (double)(v[0] - g->cpu_prev[0]) / secs;
    bool unl;
    g->mem_ok = c->o.top && c->o.top_by == TOP_MEMORY &&
                hp_cg_value(read_at(c, g->dfd, "memory.current"), &g->mem_current, &unl) && !unl;
}

/* ---- publishing one group ---- */

static void rate(struct hp_jw *w, const char *key, uint64_t v, uint64_t prev, double secs)
{
    if (v < prev || secs <= 0)
        return;
    char name[64];
    snprintf(name, sizeof(name), "%s_per_sec", key);
    hp_jw_double(w, name, (double)(v - prev) / secs, 1);
}

/* An object member left out when it gets no member: opt_open, write its
 * members, opt_close. */
static struct hp_jw_mark opt_open(struct hp_jw *w, const char *key)
{
    struct hp_jw_mark m = hp_jw_mark(w);
    hp_jw_object(w, key);
    return m;
}

static void opt_close(struct hp_jw *w, struct hp_jw_mark m)
{
    if (hp_jw_empty(w))
        hp_jw_undo(w, m);
    else
        hp_jw_end(w);
}

static void write_cpu(struct hp_jw *w, const struct cg_group *g, double secs)
{
    struct hp_jw_mark m = opt_open(w, "cpu");
    for (int i = 0; i < NCPU; i++) {
        if (!(g->cpu_found & (1u << i)))
            continue;
        hp_jw_uint(w, cpu_keys[i], g->cpu[i]);
        if (g->cpu_prev_ok && (g->cpu_prev_found & (1u << i)))
            rate(w, cpu_keys[i], g->cpu[i], g->cpu_prev[i], secs);
    }
    if (g->usage_rate >= 0)
        hp_jw_double(w, "percent", g->usage_rate / 1e4, 2);
    opt_close(w, m);
}

/* memory.current/peak/max/high: a number, null for "max", absent when unreadable. */
static void write_value_file(struct cgroup *c, int dfd, struct hp_jw *w, const char *file,
                             const char *key)
{
    uint64_t v;
    bool unlimited;
    if (!hp_cg_value(read_at(c, dfd, file), &v, &unlimited))
        return;
    if (unlimited)
        hp_jw_raw(w, key, "null", 4);
    else
        hp_jw_uint(w, key, v);
}

static void write_events(struct cgroup *c, struct cg_group *g, struct hp_jw *w, bool rated,
                         double secs)
{
    uint64_t v[NEV] = {0};
    unsigned f = hp_cg_keyed(read_at(c, g->dfd, "memory.events"), ev_keys, NEV, v);
    if (!f) {
        g->ev_ok = false;
        return;
    }
    hp_jw_object(w, "events");
    for (int i = 0; i < NEV; i++) {
        if (!(f & (1u << i)))
            continue;
        hp_jw_uint(w, ev_keys[i], v[i]);
        if (rated && g->ev_ok)
            rate(w, ev_keys[i], v[i], g->ev[i], secs);
    }
    hp_jw_end(w);
    memcpy(g->ev, v, sizeof(v));
    g->ev_ok = f == (1u << NEV) - 1;
}

static void write_memory(struct cgroup *c, struct cg_group *g, struct hp_jw *w, bool rated,
                         double secs)
{
    struct hp_jw_mark m = opt_open(w, "memory");
    write_value_file(c, g->dfd, w, "memory.current", "current");
    write_value_file(c, g->dfd, w, "memory.peak", "peak");
    write_value_file(c, g->dfd, w, "memory.max", "max");
    write_value_file(c, g->dfd, w, "memory.high", "high");
    uint64_t v[8] = {0};
    unsigned f = hp_cg_keyed(read_at(c, g->dfd, "memory.stat"), mem_keys, 5, v);
    for (int i = 0; mem_keys[i]; i++)
        if (f & (1u << i))
            hp_jw_uint(w, mem_keys[i], v[i]);
    write_events(c, g, w, rated, secs);
    opt_close(w, m);
}

/* The block device name of maj:min (sys_root/dev/block/M:m -> .../sda),
 * "M:m" when sysfs does not say; cached. */
static const char *dev_name(struct cgroup *c, unsigned maj, unsigned min)
{
    for (size_t i = 0; i < c->ndevs; i++)
        if (c->devs[i].maj == maj && c->devs[i].min == min)
            return c->devs[i].name;
    struct devname *t = realloc(c->devs, (c->ndevs + 1) * sizeof(*t));
    if (!t)
        return "?";
    c->devs = t;
    struct devname *d = &c->devs[c->ndevs++];
    d->maj = maj;
    d->min = min;
    snprintf(d->name, sizeof(d->name), "%u:%u", maj, min);
    char path[600], link[512];
    snprintf(path, sizeof(path), "%s/%u:%u", c->sys_dev_block, maj, min);
    ssize_t n = readlink(path, link, sizeof(link) - 1);
    if (n > 0) {
        link[n] = '\0';
        const char *base = strrchr(link, '/');
        snprintf(d->name, sizeof(d->name), "%.39s", base ? base + 1 : link);
    }
    return d->name;
}

/* One io.stat line "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0";
 * false when it is not one. */
bool hp_cg_io_line(const char *p, unsigned *maj, unsigned *min, uint64_t v[6])
{
    uint64_t a, b;
    if (!hp_parse_u64(&p, &a) || *p != ':' || (p++, !hp_parse_u64(&p, &b)) || a > 4095 ||
        b > 1048575)
        return false;
    *maj = (unsigned)a;
    *min = (unsigned)b;
    unsigned found = 0;
    while (*p == ' ') {
        p++;
        size_t kl = strcspn(p, "= \n");
        if (p[kl] != '=')
            return false;
        int k = -1;
        for (int i = 0; i < NIO; i++)
            if (strlen(io_keys[i]) == kl && strncmp(p, io_keys[i], kl) == 0)
                k = i;
        p += kl + 1;
        uint64_t x;
        if (!hp_parse_u64(&p, &x))
            return false;
        if (k >= 0) {
            v[k] = x;
            found |= 1u << k;
        }
    }
    return (*p == '\n' || *p == '\0') && (found & 0xf) == 0xf;
}

/* The previous sample's counters of d's device (the last line naming it). */
static const struct cg_dev *prev_dev(const struct cg_group *g, const struct cg_dev *d)
{
    const struct cg_dev *prev = NULL;
    for (size_t i = 0; i < g->ndev; i++)
        if (g->dev[i].maj == d->maj && g->dev[i].min == d->min)
            prev = &g->dev[i];
    return prev;
}

static void write_dev(struct hp_jw *w, const char *name, const struct cg_dev *d,
                      const struct cg_dev *prev, double secs)
{
    hp_jw_object(w, name);
    for (int i = 0; i < NIO; i++) {
        hp_jw_uint(w, io_keys[i], d->v[i]);
        if (prev)
            rate(w, io_keys[i], d->v[i], prev->v[i], secs);
    }
    hp_jw_end(w);
}

/* The devices in io.stat's order, each name once: lines with one name (a
 * device listed twice, two names cut to the same 39 bytes) give the
 * first's place and the last's counters, as json-c's object_add, which
 * replaces a key's value in place, gave. */
static void write_devs(struct hp_jw *w, const struct cg_group *g, const struct cg_dev *devs,
                       char (*names)[DEVNAME], size_t n, bool rated, double secs)
{
    for (size_t i = 0; i < n; i++) {
        bool again = false;
        for (size_t j = 0; j < i && !again; j++)
            again = strcmp(names[j], names[i]) == 0;
        if (again)
            continue;
        size_t last = i;
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) == 0)
                last = j;
        write_dev(w, names[i], &devs[last], rated ? prev_dev(g, &devs[last]) : NULL, secs);
    }
}

/* This sample's counters, for the next one's rates (g->dev only grows). */
static void keep_devs(struct cg_group *g, const struct cg_dev *devs, size_t n)
{
    g->ndev = 0;
    if (n && hp_grow(&g->dev, &g->capdev, n, sizeof(*g->dev)) == 0) {
        memcpy(g->dev, devs, n * sizeof(*devs));
        g->ndev = n;
    }
}

/* io.stat, device by device; left out when no line is one. */
static void write_io(struct cgroup *c, struct cg_group *g, struct hp_jw *w, bool rated, double secs)
{
    const char *p = read_at(c, g->dfd, "io.stat");
    struct cg_dev devs[MAXDEV];
    char names[MAXDEV][DEVNAME];
    size_t n = 0;
    if (p) {
        do {
            struct cg_dev d = {0};
            if (n == MAXDEV || !hp_cg_io_line(p, &d.maj, &d.min, d.v))
                continue;
            snprintf(names[n], sizeof(names[n]), "%s", dev_name(c, d.maj, d.min));
            devs[n++] = d;
        } while (hp_next_line(&p));
    }
    if (n) {
        hp_jw_object(w, "io");
        write_devs(w, g, devs, names, n, rated, secs);
        hp_jw_end(w);
    }
    keep_devs(g, devs, n);
}

static void write_pids(struct cgroup *c, struct cg_group *g, struct hp_jw *w)
{
    struct hp_jw_mark m = opt_open(w, "pids");
    write_value_file(c, g->dfd, w, "pids.current", "current");
    write_value_file(c, g->dfd, w, "pids.max", "max");
    opt_close(w, m);
}

static void write_pressure(struct cgroup *c, struct cg_group *g, struct hp_jw *w, bool rated,
                           double secs)
{
    struct hp_jw_mark m = opt_open(w, "pressure");
    for (int i = 0; i < NPSI; i++) {
        struct hp_psi cur;
        hp_psi_parse(read_at(c, g->dfd, psi_files[i]), &cur);
        hp_psi_write(w, psi_names[i], &cur, rated ? &g->psi[i] : NULL, secs);
        g->psi[i] = cur;
    }
    opt_close(w, m);
}

/* The group's object: always there, even with no member. */
static void write_group(struct cgroup *c, struct cg_group *g, struct hp_jw *w, double secs)
{
    bool rated = g->full_gen && g->full_gen + 1 == c->gen && secs > 0;
    hp_jw_object(w, g->path);
    write_cpu(w, g, secs);
    write_memory(c, g, w, rated, secs);
    write_io(c, g, w, rated, secs);
    write_pids(c, g, w);
    if (c->o.pressure)
        write_pressure(c, g, w, rated, secs);
    hp_jw_end(w);
    g->full_gen = c->gen;
}

/* ---- the sample ---- */

static double rank(const struct cgroup *c, const struct cg_group *g)
{
    if (c->o.top_by == TOP_MEMORY)
        return g->mem_ok ? (double)g->mem_current : -1;
    return g->usage_rate;
}

/* Keep the top N candidates by rank (ties: tree order). */
static void pick_top(struct cgroup *c)
{
    size_t keep = (size_t)c->o.top;
    if (!keep || c->ncand <= keep)
        return;
    for (size_t i = 0; i < keep; i++) { /* partial selection sort: N small */
        size_t best = i;
        for (size_t j = i + 1; j < c->ncand; j++)
            if (rank(c, &c->g[c->cand[j]]) > rank(c, &c->g[c->cand[best]]))
                best = j;
        size_t t = c->cand[i];
        c->cand[i] = c->cand[best];
        c->cand[best] = t;
    }
    c->ncand = keep;
}

static void collect(struct cgroup *c)
{
    c->ncand = 0;
    c->hint = 0;
    int rfd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return;
    for (int i = 0, k = n_paths(c); i < k; i++) {
        const char *pat = path_at(c, i);
        struct stat st;
        if (pat && strcmp(pat, "/") == 0 && fstat(rfd, &st) == 0)
            add_candidate(c, "/", (uint64_t)st.st_ino);
    }
    walk(c, rfd, "/", "", 0); /* closes rfd */
}

/* Open each candidate's directory and read its cpu.stat (top N ranks by it). */
static void read_candidates(struct cgroup *c, int rfd, double secs)
{
    for (size_t i = 0; i < c->ncand; i++) {
        struct cg_group *g = &c->g[c->cand[i]];
        g->dfd = openat(rfd, strcmp(g->path, "/") ? g->path + 1 : ".",
                        O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (g->dfd >= 0)
            read_cpu(c, g, secs);
        else
            g->cpu_ok = false; /* vanished since the walk: no rate across the gap */
    }
}

static void close_groups(struct cgroup *c)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->g[i].dfd >= 0) {
            close(c->g[i].dfd);
            c->g[i].dfd = -1;
        }
}

static int cgroup_write(struct hp_reporter *r, struct hp_jw *w)
{
    struct cgroup *c = r->priv;
    if (!find_root(c))
        return -1;
    int64_t now = hp_mono_ns();
    double secs = c->prev_ns ? (double)(now - c->prev_ns) / 1e9 : 0;
    c->prev_ns = now;
    c->gen++;
    collect(c);
    int rfd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0) {
        c->root[0] = '\0'; /* unmounted? look again next time */
        return -1;
    }
    size_t matched = c->ncand;
    read_candidates(c, rfd, secs);
    pick_top(c);
    hp_jw_string(w, "hierarchy", strcmp(c->root, c->base) ? "hybrid" : "unified");
    hp_jw_uint(w, "matched", matched);
    hp_jw_object(w, "groups");
    for (size_t i = 0; i < c->ncand; i++) {
        struct cg_group *g = &c->g[c->cand[i]];
        if (g->dfd >= 0)
            write_group(c, g, w, secs);
    }
    hp_jw_end(w);
    close_groups(c);
    close(rfd);
    forget_gone(c);
    return 0;
}

static int cgroup_init(struct hp_reporter *r, const config_setting_t *cfg, struct hp_errs *errs)
{
    (void)errs;
    struct cgroup *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    hp_opts_load(cfg, cgroup_opts, &c->o);
    if (!hp_strs_count(c->o.paths) && !hp_strs_count(c->o.units) && !hp_strs_count(c->o.slices))
        c->paths_def = default_paths;
    hp_sys_path(r, c->base, sizeof(c->base), "fs/cgroup");
    hp_sys_path(r, c->sys_dev_block, sizeof(c->sys_dev_block), "dev/block");
    r->priv = c;
    return 0;
}

static void cgroup_fini(struct hp_reporter *r)
{
    struct cgroup *c = r->priv;
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->g[i].dev);
    free(c->g);
    free(c->cand);
    free(c->devs);
    free(c);
    r->priv = NULL;
}

const struct hp_reporter_ops hp_reporter_cgroup = {
    .name = "cgroup",
    .default_interval = 10.0,
    .default_enabled = false,
    .needs_prime = true,
    .opts = cgroup_opts,
    .init = cgroup_init,
    .write = cgroup_write,
    .fini = cgroup_fini,
};
