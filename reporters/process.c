/* SPDX-License-Identifier: Apache-2.0 */
/* process.c -- the process reporter: counts of processes by state and of
 * threads, and details of the processes the `watch` groups select (by pid,
 * pid file, name, command-line regex, user, the agent itself, or the top N
 * by cpu or memory), with optional per-group sums.
 *
 * Cost model: one pass over the processes per sample reads only
 * /proc/PID/schedstat and, when needed, /proc/PID/stat (into one reused
 * buffer) for the counts and the top-N ranking; the other files are read
 * only for selected processes, through descriptors kept open while the
 * process stays selected. Previous cpu ticks, I/O bytes and run times live
 * in a pid hash table (reporters/pidtab.h); parsers are in
 * reporters/proc_pid.c. The message is written as it is made (lib/jw.h),
 * not built as a json-c tree: a group's sums are kept as numbers while
 * the watched processes are written and their pids taken from the
 * selection after, so a sample allocates nothing for its message once the
 * buffers have grown.
 *
 * Formatting /proc/PID/stat is most of the kernel's cost of a pass, and
 * most processes have not run since the last one. schedstat's first field
 * is the thread-group leader's run time in ns (sum_exec_runtime; the file
 * is there with CONFIG_SCHED_INFO) and costs the kernel about a third of
 * stat. It is read first, through a descriptor kept open: that descriptor
 * reads ESRCH once the process is gone, so a successful read is the same
 * process as last sample. When the process had exactly one thread at its
 * last stat read and its run time and count of timeslices are unchanged
 * (and not both 0, which a kernel without sched_info shows), the leader
 * (the only thread) has not run since that read, so it cannot have changed its
 * state letter, thread count, cpu ticks, fault counts, name or memory map
 * through anything it did: the last record is kept and stat is not read.
 * A process with several threads always has stat read (the others' run
 * time is not in the leader's schedstat), as has one without schedstat
 * (fixture trees, other kernels), and each one is read again at least
 * every stat_every samples (the first re-read staggered by pid) because
 * a few fields can change without the process running:
 *  - the state: a process woken but not run yet is R in stat, and stays
 *    S in the kept record;
 *  - rss and vsize: reclaim or swap-out lowers rss; a process sharing the
 *    memory map (CLONE_VM without CLONE_THREAD, vfork) changes both;
 *  - nice and priority (setpriority by another process), ppid (the parent
 *    exits and the process is reparented).
 * Processes selected by a watch group have stat read again after the
 * selection, so what is published of them is always this sample's. A run
 * time that only a tick updates could stay put on a nohz_full cpu running
 * one task; stat_every bounds that too. The ranking by cpu is unchanged: a
 * process that has not run used 0 ticks. Descriptors count against
 * keep_open: the schedstat one first, the stat one only for a process
 * whose stat is read every sample anyway (several threads, no schedstat,
 * or it ran this interval); the others are opened for their re-reads.
 *
 * Listing /proc costs the kernel more than reading the stat files we keep
 * open. When no pid has been handed out since the last pass (the last pid
 * in /proc/loadavg is unchanged, which any new process or thread changes),
 * the set of processes can only have shrunk: the pass re-reads the pids of
 * the last one instead of listing /proc. Pids are handed out in increasing
 * order until they wrap, so when the last pid moved up by at most half the
 * number of processes (at least 64; trying a pid that is gone costs about
 * what listing one costs), the new processes are among the pids handed out
 * since: the pass re-reads the last one's pids and tries each new pid (a
 * thread id opens too; its stat tells it apart). A
 * full pass runs at least every FULL_SCAN_EVERY samples anyway. Only for
 * the agent's own pid namespace (loadavg speaks for the reader's). Such a
 * pass also tells, past the descriptor budget, that a pid not handed out
 * since is the same process without a descriptor to say so: its schedstat
 * is then opened by path and trusted as a kept one would be. */
#include "reporters/process.h"

#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/jw.h"
#include "lib/log.h"
#include "lib/msg.h"
#include "lib/regfile.h"
#include "reporters/cgroup_select.h"
#include "reporters/pidtab.h"
#include "reporters/proc_pid.h"
#include "reporters/procfile.h"
#include "reporters/redact.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_WATCH       64 /* a selection is a 64-bit mask of groups */
#define MAX_TOP         100
#define N_USERS         16
#define FULL_SCAN_EVERY 30

/* One watch group. Its selectors all have to match (logical and). */
struct watch {
    char label[128];
    int32_t pid;         /* 0: no pid selector */
    const char *pidfile; /* borrowed from the configuration */
    const char *name;
    const char *unit, *cgroup; /* reporters/cgroup_select.h; borrowed */
    bool has_re, has_user, self, by_mem, aggregate;
    regex_t re;
    uint32_t uid;
    int top;             /* 0: not a top group */
    int32_t pidfile_pid; /* resolved this sample, -1: none */
    int32_t self_pid;
    bool warned; /* pid file problem logged */
};

/* One process of the current scan. */
struct rec {
    struct hp_pidstat st;
    uint64_t delta; /* cpu ticks over the interval, when delta_known */
    bool delta_known;
    bool stale;      /* st is the last sample's: the process has not run since */
    int64_t euid;    /* -1: not read yet, -2: unreadable */
    uint64_t groups; /* bit i: selected by watch i */
    size_t slot;
};

/* Files of a selected process, kept open while it stays selected. */
struct slot {
    int32_t pid; /* 0: free */
    uint64_t starttime;
    unsigned gen; /* the last sample that used it */
    bool io_failed, fd_failed;
    struct hp_procfile status, io, cmdline, cgroup;
    DIR *fd;
};

/* What one process adds to its groups' sums. */
struct vals {
    double cpu, utime, stime, rrate, wrate;
    uint64_t rss, vms, threads, rb, wb;
    long fds;
    bool cpu_ok, io_ok, rate_ok, fds_ok;
};

struct agg {
    size_t count;
    struct vals sum; /* *_ok: every member had the value */
};

struct user {
    bool valid;
    uint32_t uid;
    char name[64];
};

struct proc {
    /* options */
    const config_setting_t *watch; /* list of groups, borrowed from the config */
    int64_t opt_cmdline_max, opt_keep_open, opt_stat_every;
    bool opt_cmdline;                       /* publish command lines at all */
    const config_setting_t *opt_redact_set; /* cmdline_redact, NULL: defaults */
    struct hp_redact redact;
    /* state */
    char root[256];
    struct watch *w;
    size_t n_w;
    struct agg *aggs;
    size_t cmdline_max;
    size_t fd_budget; /* stat descriptors kept open at most */
    long hz, page;
    DIR *dir;
    struct hp_procfile scratch, meminfo, uptime, loadavg;
    bool own_ns;              /* proc_root shows our pid namespace */
    int64_t last_pid;         /* from loadavg at the last pass; -1: unknown */
    unsigned since_full;      /* passes since the last listing of /proc */
    bool reuse;               /* this pass re-reads the last one's pids */
    int64_t new_from, new_to; /* with reuse: the pids handed out since, (from, to] */
    struct rec *recs;         /* this sample's processes */
    size_t n_recs, cap_recs;
    struct rec *old; /* the last sample's, which pid-table entries index */
    size_t n_old, cap_old;
    struct rec **sel;
    size_t n_sel, cap_sel;
    struct slot *slots;
    size_t n_slots;
    unsigned gen;
    struct hp_pidtab tab;
    uint64_t btime, mem_total, up_ticks, prev_up_ticks;
    bool have_up, have_prev_up, have_prev;
    int64_t prev_ns;
    struct user users[N_USERS];
    unsigned next_user;
    bool warned_dir, warned_meminfo, warned_uptime, warned_btime;
    bool warned_status, warned_io, warned_fd, warned_cmdline, warned_cgroup;
};

/* A watch group as its option table fills it. Strings are borrowed from
 * the configuration; absent ones stay NULL, absent numbers 0, by -1. */
struct watch_cfg {
    const char *label, *pidfile, *name, *cmdline, *user, *unit, *cgroup;
    int64_t pid, top;
    int by; /* index into by_choices; -1: not given */
    bool self, aggregate;
};

static const char *const by_choices[] = {"cpu", "memory", NULL};

static const struct hp_opt watch_opts[] = {
    {.name = "label",
     .type = HP_OPT_STRING,
     .help = "the group's name in messages",
     HP_AT_STR(struct watch_cfg, label)},
    {.name = "pid",
     .type = HP_OPT_INT,
     .min = 1,
     .max = 4194304,
     .help = "a process id",
     HP_AT_INT(struct watch_cfg, pid)},
    {.name = "pidfile",
     .type = HP_OPT_STRING,
     .help = "file holding a pid, re-read each sample",
     HP_AT_STR(struct watch_cfg, pidfile)},
    {.name = "name",
     .type = HP_OPT_STRING,
     .help = "process name (comm, at most 15 bytes)",
     HP_AT_STR(struct watch_cfg, name)},
    {.name = "cmdline",
     .type = HP_OPT_STRING,
     .help = "POSIX extended regex on the command line",
     HP_AT_STR(struct watch_cfg, cmdline)},
    {.name = "user",
     .type = HP_OPT_STRING,
     .help = "effective user: name or numeric uid",
     HP_AT_STR(struct watch_cfg, user)},
    {.name = "self",
     .type = HP_OPT_BOOL,
     .def = "false",
     .help = "the agent itself",
     HP_AT_BOOL(struct watch_cfg, self)},
    {.name = "unit",
     .type = HP_OPT_STRING,
     .help = "systemd unit or glob, children included",
     HP_AT_STR(struct watch_cfg, unit)},
    {.name = "cgroup",
     .type = HP_OPT_STRING,
     .help = "cgroup v2 path or glob, sub-groups included",
     HP_AT_STR(struct watch_cfg, cgroup)},
    {.name = "top",
     .type = HP_OPT_INT,
     .min = 1,
     .max = MAX_TOP,
     .help = "the N processes ranked highest by `by` among those the other selectors match",
     HP_AT_INT(struct watch_cfg, top)},
    {.name = "by",
     .type = HP_OPT_ENUM,
     .choices = by_choices,
     .help = "top ranking: cpu (ticks over the interval) or memory (rss); default cpu",
     HP_AT_ENUM(struct watch_cfg, by)},
    {.name = "aggregate",
     .type = HP_OPT_BOOL,
     .def = "false",
     .help = "also report the group's sums",
     HP_AT_BOOL(struct watch_cfg, aggregate)},
    {NULL},
};

static const struct hp_opt process_opts[] = {
    {.name = "watch",
     .type = HP_OPT_LIST,
     .sub = watch_opts,
     .help = "watch groups: ( { name = \"nginx\"; }, { self = true; }, ... )",
     HP_AT_SET(struct proc, watch)},
    {.name = "cmdline",
     .type = HP_OPT_BOOL,
     .def = "false",
     .help = "publish each watched process's command line (it may hold secrets: see "
             "cmdline_redact and process.md)",
     HP_AT_BOOL(struct proc, opt_cmdline)},
    {.name = "cmdline_redact",
     .type = HP_OPT_STRINGS,
     .help = "POSIX extended regular expressions (case-insensitive) whose matches, or their "
             "last group, are replaced by *** in published command lines (default: "
             "password=, token=, --password X, JSON and base64 blobs; [] for none)",
     HP_AT_SET(struct proc, opt_redact_set)},
    {.name = "cmdline_max",
     .type = HP_OPT_INT,
     .def = "4096",
     .min = 0,
     .max = 65536,
     .help = "longest command line reported, bytes",
     HP_AT_INT(struct proc, opt_cmdline_max)},
    {.name = "keep_open",
     .type = HP_OPT_INT,
     .def = "16384",
     .min = 0,
     .max = 1048576,
     .help = "most /proc/PID/stat and schedstat descriptors kept open between samples (0: none)",
     HP_AT_INT(struct proc, opt_keep_open)},
    {.name = "stat_every",
     .type = HP_OPT_INT,
     .def = "30",
     .min = 1,
     .max = 1000,
     .help = "re-read /proc/PID/stat of a process that has not run (schedstat unchanged) at "
             "least every N samples; 1: read every process's stat every sample",
     HP_AT_INT(struct proc, opt_stat_every)},
    {NULL},
};

/* ---- configuration ---------------------------------------------------- */

static void parse_user(struct watch *w, const char *user, const config_setting_t *at,
                       const char *path, struct hp_errs *e)
{
    char *end;
    unsigned long uid = strtoul(user, &end, 10);
    if (*user && !*end) {
        w->uid = (uint32_t)uid;
    } else {
        char buf[1024];
        struct passwd pw, *res = NULL;
        if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || !res) {
            hp_errs_add(e, at, "%s.user: unknown user \"%s\"", path, user);
            return;
        }
        w->uid = (uint32_t)pw.pw_uid;
    }
    w->has_user = true;
}

static void parse_regex(struct watch *w, const char *re, const config_setting_t *at,
                        const char *path, struct hp_errs *e)
{
    int rc = regcomp(&w->re, re, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char why[256];
        regerror(rc, &w->re, why, sizeof(why));
        hp_errs_add(e, at, "%s.cmdline: invalid regular expression \"%s\": %s", path, re, why);
        return;
    }
    w->has_re = true;
}

/* The label a group gets when the configuration gives none. */
static void default_label(struct watch *w, const struct watch_cfg *c)
{
    if (w->pid)
        snprintf(w->label, sizeof(w->label), "pid:%d", (int)w->pid);
    else if (w->pidfile)
        snprintf(w->label, sizeof(w->label), "%s", w->pidfile);
    else if (w->name)
        snprintf(w->label, sizeof(w->label), "%s", w->name);
    else if (c->cmdline)
        snprintf(w->label, sizeof(w->label), "%s", c->cmdline);
    else if (c->user)
        snprintf(w->label, sizeof(w->label), "user:%s", c->user);
    else if (w->self)
        snprintf(w->label, sizeof(w->label), "self");
    else if (w->unit)
        snprintf(w->label, sizeof(w->label), "unit:%s", w->unit);
    else if (w->cgroup)
        snprintf(w->label, sizeof(w->label), "cgroup:%s", w->cgroup);
    else
        snprintf(w->label, sizeof(w->label), "top:%s", w->by_mem ? "memory" : "cpu");
}

/* Where to point a message about key of group g: the key's own line when
 * it is there (values are never read back by name: see watch_cfg). */
static const config_setting_t *line_of(const config_setting_t *g, const char *key)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    return s ? s : g;
}

/* Fill w from group g (loaded through watch_opts); semantic problems go
 * to e. */
static void parse_watch(struct watch *w, const config_setting_t *g, struct hp_errs *e)
{
    char path[256];
    struct watch_cfg c = {.by = -1};
    hp_setting_path(g, path, sizeof(path));
    hp_opts_load(g, watch_opts, &c);
    w->pid = (int32_t)c.pid;
    w->pidfile = c.pidfile;
    w->name = c.name;
    if (c.cmdline)
        parse_regex(w, c.cmdline, line_of(g, "cmdline"), path, e);
    if (c.user)
        parse_user(w, c.user, line_of(g, "user"), path, e);
    w->self = c.self;
    w->unit = c.unit;
    w->cgroup = c.cgroup;
    w->top = (int)c.top;
    w->by_mem = c.by == 1;
    if (c.by >= 0 && !w->top)
        hp_errs_add(e, line_of(g, "by"), "%s.by: only goes with top", path);
    w->aggregate = c.aggregate;
    if (!w->pid && !w->pidfile && !w->name && !c.cmdline && !c.user && !w->self && !w->top &&
        !w->unit && !w->cgroup)
        hp_errs_add(e, g,
                    "%s: a watch group needs a selector (pid, pidfile, name, cmdline, "
                    "user, self, unit, cgroup or top)",
                    path);
    if (c.label && strlen(c.label) >= sizeof(w->label))
        hp_errs_add(e, line_of(g, "label"), "%s.label: %zu bytes; at most %zu", path,
                    strlen(c.label), sizeof(w->label) - 1);
    else if (c.label)
        snprintf(w->label, sizeof(w->label), "%s", c.label);
    else
        default_label(w, &c);
}

static int parse_watches(struct proc *p, const config_setting_t *cfg, struct hp_errs *e)
{
    (void)cfg;
    const config_setting_t *list = p->watch;
    int n = list ? config_setting_length(list) : 0;
    if (n > MAX_WATCH) {
        hp_errs_add(e, list, "reporters.process.watch: at most %d groups", MAX_WATCH);
        return -1;
    }
    p->w = calloc(n ? (size_t)n : 1, sizeof(*p->w));
    p->aggs = calloc(n ? (size_t)n : 1, sizeof(*p->aggs));
    if (!p->w || !p->aggs)
        return -1;
    p->n_w = (size_t)n;
    for (int i = 0; i < n; i++)
        parse_watch(&p->w[i], config_setting_get_elem(list, (unsigned)i), e);
    return 0;
}

static void process_fini(struct hp_reporter *r);

/* How many stat descriptors to keep open: `want`, within half of the
 * descriptor limit (less 256 for everything else). The soft limit is
 * raised towards the hard one when it is too low for that, as daemons
 * that keep many files open do. */
static size_t fd_budget(size_t want)
{
    struct rlimit rl;
    if (!want || getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    rlim_t need = (rlim_t)want * 2 + 256;
    if (rl.rlim_cur < need && rl.rlim_cur < rl.rlim_max) {
        struct rlimit more = {.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max,
                              .rlim_max = rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &more) == 0)
            rl.rlim_cur = more.rlim_cur;
    }
    size_t room = rl.rlim_cur > 512 ? (size_t)(rl.rlim_cur - 256) / 2 : 0;
    return room < want ? room : want;
}

static int process_init(struct hp_reporter *r, const config_setting_t *cfg, struct hp_errs *errs)
{
    struct proc *p = calloc(1, sizeof(*p));
    if (!p)
        return -1;
    r->priv = p;
    unsigned before = errs->count;
    snprintf(p->root, sizeof(p->root), "%s", r->proc_root);
    hp_opts_load(cfg, process_opts, p);
    p->cmdline_max = (size_t)p->opt_cmdline_max;
    p->hz = sysconf(_SC_CLK_TCK);
    p->page = sysconf(_SC_PAGESIZE);
    p->fd_budget = fd_budget((size_t)p->opt_keep_open);
    char path[512];
    hp_procfile_init(&p->scratch, "");
    p->scratch.cap = 4096; /* read_stat uses it directly */
    p->scratch.buf = malloc(p->scratch.cap);
    hp_procfile_init(&p->meminfo, hp_proc_path(r, path, sizeof(path), "meminfo"));
    hp_procfile_init(&p->uptime, hp_proc_path(r, path, sizeof(path), "uptime"));
    hp_procfile_init(&p->loadavg, hp_proc_path(r, path, sizeof(path), "loadavg"));
    p->last_pid = -1;
    char self[32];
    ssize_t n = readlink(hp_proc_path(r, path, sizeof(path), "self"), self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        p->own_ns = atoi(self) == (int)getpid();
    }
    if (p->opt_cmdline &&
        hp_redact_init(&p->redact, p->opt_redact_set, "reporters.process.cmdline_redact", errs))
        p->redact.n = 0;
    if (!p->scratch.buf || parse_watches(p, cfg, errs) != 0 || errs->count != before) {
        process_fini(r);
        return -1;
    }
    return 0;
}

/* ---- slots: open files of selected processes --------------------------- */

/* Close a slot's files; a free slot (pid 0) holds none. */
static void slot_close(struct slot *s)
{
    if (!s->pid)
        return;
    hp_procfile_fini(&s->status);
    hp_procfile_fini(&s->io);
    hp_procfile_fini(&s->cmdline);
    hp_procfile_fini(&s->cgroup);
    if (s->fd)
        closedir(s->fd);
    memset(s, 0, sizeof(*s));
}

static void slot_open(struct proc *p, struct slot *s, const struct hp_pidstat *st, unsigned gen)
{
    char path[512];
    slot_close(s);
    s->pid = st->pid;
    s->starttime = st->starttime;
    s->gen = gen;
#define PIDFILE(f, name)                                                                           \
    snprintf(path, sizeof(path), "%s/%d/" name, p->root, (int)st->pid);                            \
    hp_procfile_init(&s->f, path)
    PIDFILE(status, "status");
    PIDFILE(io, "io");
    PIDFILE(cmdline, "cmdline");
    PIDFILE(cgroup, "cgroup");
#undef PIDFILE
}

/* Give every selected process a slot: the one it had, else a free one. */
static int assign_slots(struct proc *p)
{
    for (size_t i = 0; i < p->n_sel; i++) {
        struct rec *rc = p->sel[i];
        rc->slot = SIZE_MAX;
        for (size_t k = 0; k < p->n_slots; k++)
            if (p->slots[k].pid == rc->st.pid && p->slots[k].starttime == rc->st.starttime) {
                p->slots[k].gen = p->gen;
                rc->slot = k;
            }
    }
    for (size_t i = 0, k = 0; i < p->n_sel; i++) {
        struct rec *rc = p->sel[i];
        if (rc->slot != SIZE_MAX)
            continue;
        while (k < p->n_slots && p->slots[k].gen == p->gen)
            k++;
        if (k == p->n_slots) {
            struct slot *ns = realloc(p->slots, (p->n_slots + 1) * sizeof(*ns));
            if (!ns)
                return -1;
            p->slots = ns;
            memset(&p->slots[p->n_slots++], 0, sizeof(*ns));
        }
        slot_open(p, &p->slots[k], &rc->st, p->gen);
        rc->slot = k;
    }
    return 0;
}

/* Close the files of processes no longer selected (or gone). */
static void release_slots(struct proc *p)
{
    for (size_t k = 0; k < p->n_slots; k++)
        if (p->slots[k].pid && p->slots[k].gen != p->gen)
            slot_close(&p->slots[k]);
}

/* ---- the scan ------------------------------------------------------------ */

static bool is_pid(const char *s)
{
    if (!*s || strlen(s) > 9)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Record the process's ticks for the next sample and work out how many it
 * used since the last one; prev is the last sample's entry of the pid (the
 * caller looked it up), or NULL. A pid whose start time changed is a new process
 * (the counter restarted); one started after the last sample used all its
 * ticks within the interval. Anything else is unknown, never negative. */
static struct hp_pident *track(struct proc *p, struct rec *rc, const struct hp_pident *prev)
{
    uint64_t ticks = rc->st.utime + rc->st.stime;
    if (prev && prev->pid != rc->st.pid)
        prev = hp_pidtab_prev(&p->tab, rc->st.pid);
    bool same = prev && prev->starttime == rc->st.starttime;
    rc->delta_known = false;
    if (same && ticks >= prev->ticks) {
        rc->delta = ticks - prev->ticks;
        rc->delta_known = true;
    } else if (!same && p->have_prev_up && rc->st.starttime >= p->prev_up_ticks) {
        rc->delta = ticks;
        rc->delta_known = true;
    }
    struct hp_pident *cur = hp_pidtab_put(&p->tab, rc->st.pid);
    if (!cur)
        return NULL;
    if (same)
        *cur = *prev; /* keeps the I/O counters of the last read */
    cur->starttime = rc->st.starttime;
    cur->ticks = ticks;
    cur->fd = cur->sfd = -1;
    return cur;
}

static struct rec *next_rec(struct proc *p)
{
    if (hp_grow(&p->recs, &p->cap_recs, p->n_recs + 1, sizeof(*p->recs)) != 0)
        return NULL;
    return &p->recs[p->n_recs];
}

/* Open "PID/file" under the proc root without blocking, -1 on failure. */
static int open_pid_file(const struct proc *p, int32_t pid, const char *file)
{
    char rel[40];
    snprintf(rel, sizeof(rel), "%d/%s", (int)pid, file);
    return hp_open_regular(dirfd(p->dir), rel, NULL);
}

/* /proc/PID/stat of pid into the scratch buffer, through the descriptor
 * kept from the last sample when there is one (*fd), else a new one. A
 * kept descriptor of a process that has exited reads ESRCH: the pid may
 * belong to a new process, so the file is opened again. Returns the text,
 * or NULL (and *fd == -1) when the process is gone. */
static const char *read_stat(struct proc *p, int32_t pid, int *fd)
{
    char *buf = p->scratch.buf;
    ssize_t n = *fd >= 0 ? pread(*fd, buf, p->scratch.cap - 1, 0) : -1;
    if (n < 0) {
        if (*fd >= 0)
            close(*fd);
        *fd = open_pid_file(p, pid, "stat");
        n = *fd >= 0 ? pread(*fd, buf, p->scratch.cap - 1, 0) : -1;
    }
    if (n <= 0) {
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* Keep *fd in the pid's entry (e->fd or e->sfd: dst) while the budget
 * allows, else close it. */
static void keep_fd(struct proc *p, struct hp_pident *e, int *dst, int fd, size_t *kept)
{
    if (fd < 0)
        return;
    if (e && *kept < p->fd_budget) {
        *dst = fd;
        (*kept)++;
    } else {
        close(fd);
    }
}

/* The run time of pid's thread-group leader (schedstat's first field, ns)
 * into *ns and its count of timeslices (the third) into *slices, through
 * the descriptor kept from the last sample when there is one (*sfd), else a
 * new one. 1: read through the kept descriptor, so the process is the one
 * read last sample; 0: through a new one; -1: no schedstat (*sfd == -1). */
static int read_run(struct proc *p, int32_t pid, int *sfd, uint64_t *ns, uint64_t *slices)
{
    char buf[128];
    int kept = *sfd >= 0;
    ssize_t n = kept ? pread(*sfd, buf, sizeof(buf) - 1, 0) : -1;
    if (n <= 0) {
        kept = 0;
        if (*sfd >= 0)
            close(*sfd);
        *sfd = open_pid_file(p, pid, "schedstat");
        n = *sfd >= 0 ? pread(*sfd, buf, sizeof(buf) - 1, 0) : -1;
    }
    const char *t = buf;
    if (n > 0)
        buf[n] = '\0';
    uint64_t wait;
    if (n <= 0 || !hp_parse_u64(&t, ns)) {
        if (*sfd >= 0)
            close(*sfd);
        *sfd = -1;
        return -1;
    }
    if (!hp_parse_u64(&t, &wait) || !hp_parse_u64(&t, slices))
        *slices = 0;
    return kept;
}

/* The last sample's record of a process that cannot have changed since
 * (see the top), or NULL when its stat must be read: prev is its entry,
 * read through the kept schedstat descriptor, r its schedstat now. All
 * zeros is a kernel that keeps no sched_info (nothing to compare); a run
 * time of 0 after some timeslices is a kernel thread that has barely run
 * (the rescuer kworkers) and is compared like any other. */
static const struct rec *unchanged(const struct proc *p, const struct hp_pident *prev,
                                   uint64_t run_ns, uint64_t slices)
{
    if (!prev->has_run || (run_ns == 0 && slices == 0) || prev->run_ns != run_ns ||
        prev->slices != slices || prev->stat_age + 1 >= p->opt_stat_every || prev->rec >= p->n_old)
        return NULL;
    const struct rec *o = &p->old[prev->rec];
    return o->st.pid == prev->pid && o->st.threads == 1 ? o : NULL;
}

/* The descriptors and run time of one pid during its scan. */
struct pidread {
    int fd, sfd;
    int run; /* read_run's result; -1 also when schedstat was not tried */
    uint64_t run_ns, slices;
};

/* The pid's stat record into rc: the last one when the process has not
 * run since (rc->stale), else its stat read now. false when it is gone or
 * is a thread's (a probe). */
static bool stat_of(struct proc *p, int32_t pid, bool probe, const struct hp_pident *prev,
                    struct pidread *r, struct rec *rc)
{
    const struct rec *o = r->run == 1 ? unchanged(p, prev, r->run_ns, r->slices) : NULL;
    rc->stale = o != NULL;
    if (o) {
        rc->st = o->st;
        return true;
    }
    const char *t = read_stat(p, pid, &r->fd);
    return t && !(probe && hp_pidstat_is_thread(t)) && hp_pidstat_parse(t, &rc->st);
}

/* Schedstat bookkeeping of the pid's entry e and which descriptors to keep:
 * the schedstat one, and the stat one only for a process whose stat will
 * be read next sample anyway (it has no schedstat, several threads, or
 * ran this interval). */
static void remember(struct proc *p, struct hp_pident *e, const struct hp_pident *prev, bool tried,
                     struct pidread *r, const struct rec *rc, size_t *kept)
{
    bool known = prev && e && e->starttime == prev->starttime && prev->pid == rc->st.pid;
    bool ran = !prev || !prev->has_run || prev->run_ns != r->run_ns || prev->slices != r->slices;
    if (e) {
        if (tried) { /* else the last run time stays: it is older than stat */
            e->no_sched = r->run < 0;
            e->has_run = r->run >= 0;
            e->run_ns = r->run_ns;
            e->slices = r->slices;
        }
        e->rec = (uint32_t)p->n_recs;
        e->stat_age = rc->stale ? (uint16_t)(prev->stat_age + 1)
                      : known   ? 0
                                : (uint16_t)((uint32_t)rc->st.pid % (uint32_t)p->opt_stat_every);
    }
    keep_fd(p, e, e ? &e->sfd : NULL, r->sfd, kept);
    if (r->fd >= 0 && (r->run < 0 || rc->st.threads != 1 || ran) && !rc->stale)
        keep_fd(p, e, e ? &e->fd : NULL, r->fd, kept);
    else if (r->fd >= 0)
        close(r->fd);
}

/* Whether prev's pid is surely the same process as at the last pass
 * without a kept descriptor to tell: this pass re-reads the last one's
 * pids and no pid outside (new_from, new_to] was handed out since. */
static bool surely_same(const struct proc *p, const struct hp_pident *prev)
{
    return p->reuse && prev && (prev->pid <= p->new_from || prev->pid > p->new_to);
}

/* One pid into the next record: schedstat first, then
 * stat unless the process has not run (see the top). A probed pid (one
 * handed out since the last pass, not listed) may be a thread's. */
static void scan_one(struct proc *p, int32_t pid, bool probe, uint64_t counts[HP_PID_STATES],
                     uint64_t *threads, size_t *kept)
{
    struct rec *rc = next_rec(p);
    if (!rc)
        return;
    struct hp_pident *prev = hp_pidtab_prev(&p->tab, pid);
    struct pidread r = {.fd = prev ? prev->fd : -1, .sfd = prev ? prev->sfd : -1, .run = -1};
    if (prev)
        prev->fd = prev->sfd = -1; /* taken: this sample's entry owns them */
    /* A probe is most likely not there or a thread: stat tells first, and
     * its schedstat comes next sample (read before stat, as it must be).
     * Past the descriptor budget schedstat is opened by path, and only
     * when the pid is surely the same process. */
    bool had = r.sfd >= 0, same = surely_same(p, prev);
    bool tried = !probe && p->opt_stat_every > 1 && !(prev && prev->no_sched) &&
                 (had || *kept < p->fd_budget || same);
    if (tried)
        r.run = read_run(p, pid, &r.sfd, &r.run_ns, &r.slices);
    if (r.run == 0 && !had && same)
        r.run = 1;
    if (!stat_of(p, pid, probe, prev, &r, rc)) {
        if (r.fd >= 0)
            close(r.fd);
        if (r.sfd >= 0)
            close(r.sfd);
        return; /* exited since it was listed */
    }
    counts[hp_pid_state_index(rc->st.state)]++;
    *threads += rc->st.threads > 0 ? (uint64_t)rc->st.threads : 0;
    rc->euid = -1;
    rc->groups = 0;
    remember(p, track(p, rc, prev), prev, tried, &r, rc, kept);
    p->n_recs++;
}

/* The last pid handed out in our namespace (loadavg's last field), or -1
 * when proc_root is another namespace's or a fixture without loadavg. */
static int64_t last_pid(struct proc *p)
{
    if (!p->own_ns)
        return -1;
    const char *t = hp_procfile_read(&p->loadavg, true);
    const char *sp = t ? strrchr(t, ' ') : NULL;
    return sp ? strtoll(sp + 1, NULL, 10) : -1;
}

/* Whether the last pass's pids and those handed out since, (*from, *to],
 * are all there may be (see the top). */
static bool can_reuse_pids(struct proc *p, int64_t *from, int64_t *to)
{
    int64_t last = last_pid(p), before = p->last_pid;
    int64_t most = (int64_t)(p->n_recs / 2 > 64 ? p->n_recs / 2 : 64);
    bool ok = last >= 0 && before >= 0 && last >= before && last - before <= most &&
              p->since_full < FULL_SCAN_EVERY;
    *from = before;
    *to = last;
    p->last_pid = last;
    p->since_full = ok ? p->since_full + 1 : 0;
    return ok;
}

/* The last sample's records become `old` (the pid table's entries index
 * them) and the other array is reused for this sample's. */
static void swap_recs(struct proc *p)
{
    struct rec *t = p->old;
    size_t cap = p->cap_old;
    p->old = p->recs;
    p->cap_old = p->cap_recs;
    p->n_old = p->n_recs;
    p->recs = t;
    p->cap_recs = cap;
    p->n_recs = 0;
}

/* One pass over the processes: schedstat and stat only. counts[] by state
 * index. */
static int scan(struct proc *p, uint64_t counts[HP_PID_STATES], uint64_t *threads)
{
    if (!p->dir && !(p->dir = opendir(p->root))) {
        hp_warn_once(&p->warned_dir, "process: cannot open %s: %s", p->root, strerror(errno));
        return -1;
    }
    int64_t from, to;
    bool reuse = can_reuse_pids(p, &from, &to);
    p->reuse = reuse;
    p->new_from = from;
    p->new_to = to;
    swap_recs(p);
    size_t kept = 0;
    if (reuse) {
        for (size_t i = 0; i < p->n_old; i++)
            scan_one(p, p->old[i].st.pid, false, counts, threads, &kept);
        /* The pids handed out since; one of the last pass's was read above. */
        for (int64_t pid = from + 1; pid <= to; pid++) {
            if (!hp_pidtab_prev(&p->tab, (int32_t)pid))
                scan_one(p, (int32_t)pid, true, counts, threads, &kept);
        }
        return 0;
    }
    rewinddir(p->dir);
    struct dirent *d;
    while ((d = readdir(p->dir)))
        if (is_pid(d->d_name))
            scan_one(p, (int32_t)atoi(d->d_name), false, counts, threads, &kept);
    return 0;
}

/* ---- selection ------------------------------------------------------------ */

static int32_t read_pidfile(struct watch *w)
{
    char buf[64];
    if (hp_read_small(w->pidfile, buf, sizeof(buf)) < 0) {
        hp_warn_once(&w->warned, "process: watch %s: cannot read pid file %s: %s", w->label,
                     w->pidfile, strerror(errno));
        return -1;
    }
    char *end;
    long pid = strtol(buf, &end, 10);
    if (end == buf || pid <= 0 || pid > INT32_MAX || (*end && *end != '\n')) {
        hp_warn_once(&w->warned, "process: watch %s: no pid in %s", w->label, w->pidfile);
        return -1;
    }
    w->warned = false; /* warn again if it breaks again */
    return (int32_t)pid;
}

/* The agent's pid as the redirected /proc sees it (its "self" link). */
static int32_t self_pid(const struct proc *p)
{
    char path[512], link[32];
    snprintf(path, sizeof(path), "%s/self", p->root);
    ssize_t n = readlink(path, link, sizeof(link) - 1);
    if (n <= 0)
        return (int32_t)getpid();
    link[n] = '\0';
    return (int32_t)atoi(link);
}

static int64_t euid_of(struct proc *p, struct rec *rc)
{
    if (rc->euid == -1) {
        snprintf(p->scratch.path, sizeof(p->scratch.path), "%s/%d/status", p->root,
                 (int)rc->st.pid);
        const char *t = hp_procfile_read(&p->scratch, false);
        uint32_t ruid, euid;
        rc->euid = t && hp_status_uids(t, &ruid, &euid) ? (int64_t)euid : -2;
    }
    return rc->euid;
}

static bool cmdline_matches(struct proc *p, const struct watch *w, const struct rec *rc)
{
    snprintf(p->scratch.path, sizeof(p->scratch.path), "%s/%d/cmdline", p->root, (int)rc->st.pid);
    if (!hp_procfile_read(&p->scratch, false))
        return false;
    hp_cmdline_fix(p->scratch.buf, p->scratch.len);
    return regexec(&w->re, p->scratch.buf, 0, NULL, 0) == 0;
}

/* The unit/cgroup selectors, on the process's /proc/PID/cgroup. */
static bool cgroup_matches(struct proc *p, const struct watch *w, const struct rec *rc)
{
    char cg[512];
    snprintf(p->scratch.path, sizeof(p->scratch.path), "%s/%d/cgroup", p->root, (int)rc->st.pid);
    const char *t = hp_procfile_read(&p->scratch, false);
    return t && hp_cgroup_v2(t, cg, sizeof(cg)) && hp_cgroup_selects(cg, w->unit, w->cgroup);
}

/* Every selector but top, cheapest first. */
static bool matches(struct proc *p, const struct watch *w, struct rec *rc)
{
    if (w->pid && rc->st.pid != w->pid)
        return false;
    if (w->pidfile && rc->st.pid != w->pidfile_pid)
        return false;
    if (w->self && rc->st.pid != w->self_pid)
        return false;
    if (w->name && strcmp(rc->st.comm, w->name) != 0)
        return false;
    if (w->has_user && euid_of(p, rc) != (int64_t)w->uid)
        return false;
    if ((w->unit || w->cgroup) && !cgroup_matches(p, w, rc))
        return false;
    return !w->has_re || cmdline_matches(p, w, rc);
}

static bool ranks_before(const struct watch *w, const struct rec *a, const struct rec *b)
{
    uint64_t ka = w->by_mem ? a->st.rss_pages : (a->delta_known ? a->delta : 0);
    uint64_t kb = w->by_mem ? b->st.rss_pages : (b->delta_known ? b->delta : 0);
    return ka > kb || (ka == kb && a->st.pid < b->st.pid);
}

/* Mark the w->top highest ranked matching processes (insertion into a
 * sorted array of at most MAX_TOP). */
static void select_top(struct proc *p, size_t wi)
{
    const struct watch *w = &p->w[wi];
    size_t best[MAX_TOP], nb = 0, top = (size_t)w->top;
    for (size_t i = 0; i < p->n_recs; i++) {
        struct rec *rc = &p->recs[i];
        if (!matches(p, w, rc))
            continue;
        size_t pos = nb;
        while (pos > 0 && ranks_before(w, rc, &p->recs[best[pos - 1]]))
            pos--;
        if (pos >= top)
            continue;
        if (nb < top)
            nb++;
        memmove(&best[pos + 1], &best[pos], (nb - 1 - pos) * sizeof(*best));
        best[pos] = i;
    }
    for (size_t k = 0; k < nb; k++)
        p->recs[best[k]].groups |= 1ull << wi;
}

static int by_pid(const void *a, const void *b)
{
    int32_t x = (*(struct rec *const *)a)->st.pid, y = (*(struct rec *const *)b)->st.pid;
    return (x > y) - (x < y);
}

/* Mark every process with the groups that select it; p->sel lists the
 * selected ones by pid. */
static int select_all(struct proc *p)
{
    int32_t me = -1; /* read only for a group that selects the agent itself */
    for (size_t wi = 0; wi < p->n_w; wi++) {
        struct watch *w = &p->w[wi];
        w->pidfile_pid = w->pidfile ? read_pidfile(w) : -1;
        if (w->self && me < 0)
            me = self_pid(p);
        w->self_pid = me;
        if (w->top) {
            select_top(p, wi);
            continue;
        }
        for (size_t i = 0; i < p->n_recs; i++)
            if (matches(p, w, &p->recs[i]))
                p->recs[i].groups |= 1ull << wi;
    }
    p->n_sel = 0;
    for (size_t i = 0; i < p->n_recs; i++) {
        if (!p->recs[i].groups)
            continue;
        if (hp_grow(&p->sel, &p->cap_sel, p->n_sel + 1, sizeof(*p->sel)) != 0)
            return -1;
        p->sel[p->n_sel++] = &p->recs[i];
    }
    if (p->n_sel > 1)
        qsort(p->sel, p->n_sel, sizeof(*p->sel), by_pid);
    return 0;
}

/* Read stat again for the selected processes whose record is the last
 * sample's, so what is published of them is this sample's (state, rss,
 * nice can change while a process does not run: see the top); the counts
 * follow. Their cpu ticks only grow by what they ran meanwhile. */
static void refresh_selected(struct proc *p, uint64_t counts[HP_PID_STATES], uint64_t *threads)
{
    for (size_t i = 0; i < p->n_sel; i++) {
        struct rec *rc = p->sel[i];
        struct hp_pident *e = rc->stale ? hp_pidtab_put(&p->tab, rc->st.pid) : NULL;
        if (!e)
            continue;
        int fd = e->fd;
        const char *t = read_stat(p, rc->st.pid, &fd);
        struct hp_pidstat st;
        if (e->fd < 0 && fd >= 0)
            close(fd); /* not counted in the budget: not kept */
        else
            e->fd = fd;
        if (!t || !hp_pidstat_parse(t, &st) || st.starttime != rc->st.starttime)
            continue; /* gone meanwhile: the last record stands */
        counts[hp_pid_state_index(rc->st.state)]--;
        counts[hp_pid_state_index(st.state)]++;
        *threads += (uint64_t)(st.threads > 0 ? st.threads : 0) - (uint64_t)rc->st.threads;
        uint64_t ticks = st.utime + st.stime;
        rc->delta += ticks >= e->ticks ? ticks - e->ticks : 0;
        e->ticks = ticks;
        e->stat_age = 0;
        rc->st = st;
        rc->stale = false;
    }
}

/* ---- one selected process's message ---------------------------------------- */

static const char *user_name(struct proc *p, uint32_t uid)
{
    for (int i = 0; i < N_USERS; i++)
        if (p->users[i].valid && p->users[i].uid == uid)
            return p->users[i].name;
    char buf[1024];
    struct passwd pw, *res = NULL;
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
        return NULL;
    struct user *u = &p->users[p->next_user++ % N_USERS];
    u->valid = true;
    u->uid = uid;
    snprintf(u->name, sizeof(u->name), "%s", pw.pw_name);
    return u->name;
}

static void warn_file(bool *flag, const struct hp_procfile *f)
{
    hp_warn_once(flag, "process: cannot read %s: %s (further failures not logged)", f->path,
                 strerror(f->last_errno));
}

static void add_stat(struct proc *p, const struct rec *rc, struct hp_jw *o, struct vals *v,
                     double elapsed)
{
    const struct hp_pidstat *st = &rc->st;
    hp_jw_int(o, "pid", st->pid);
    hp_jw_int(o, "ppid", st->ppid);
    char name[sizeof(st->comm)];
    snprintf(name, sizeof(name), "%s", st->comm);
    hp_utf8_sanitize(name);
    hp_jw_string(o, "name", name);
    hp_jw_string(o, "state", hp_pid_state_names[hp_pid_state_index(st->state)]);
    v->utime = (double)st->utime / (double)p->hz;
    v->stime = (double)st->stime / (double)p->hz;
    hp_jw_double(o, "utime", v->utime, 2);
    hp_jw_double(o, "stime", v->stime, 2);
    v->cpu_ok = rc->delta_known && elapsed > 0;
    if (v->cpu_ok) {
        v->cpu = 100.0 * ((double)rc->delta / (double)p->hz) / elapsed;
        hp_jw_double(o, "cpu_percent", v->cpu, 2);
    }
    v->rss = st->rss_pages * (uint64_t)p->page;
    v->vms = st->vsize;
    hp_jw_uint(o, "rss", v->rss);
    hp_jw_uint(o, "vms", v->vms);
    if (p->mem_total)
        hp_jw_double(o, "memory_percent", hp_percent(v->rss, p->mem_total), 2);
    v->threads = st->threads > 0 ? (uint64_t)st->threads : 0;
    hp_jw_uint(o, "threads", v->threads);
    hp_jw_int(o, "nice", st->nice);
    hp_jw_int(o, "priority", st->priority);
    if (p->btime)
        hp_jw_int(o, "start_time",
                  (int64_t)(p->btime * 1000 + st->starttime * 1000 / (uint64_t)p->hz));
}

static void add_status(struct proc *p, struct slot *s, struct hp_jw *o)
{
    const char *t = hp_procfile_read(&s->status, true);
    if (!t) {
        warn_file(&p->warned_status, &s->status);
        return;
    }
    uint32_t ruid, euid;
    if (hp_status_uids(t, &ruid, &euid)) {
        hp_jw_uint(o, "uid", euid);
        const char *name = user_name(p, euid);
        if (name)
            hp_jw_string(o, "user", name);
    }
    uint64_t n;
    if (hp_find_key_u64(t, "voluntary_ctxt_switches", &n))
        hp_jw_uint(o, "ctx_voluntary", n);
    if (hp_find_key_u64(t, "nonvoluntary_ctxt_switches", &n))
        hp_jw_uint(o, "ctx_involuntary", n);
}

/* Bytes read and written (storage layer) and their rates since the last
 * read of this process's io file. */
static void add_io(struct proc *p, struct slot *s, const struct rec *rc, struct hp_jw *o,
                   struct vals *v, int64_t now_ns)
{
    const char *t = s->io_failed ? NULL : hp_procfile_read(&s->io, true);
    if (!t || !hp_find_key_u64(t, "read_bytes", &v->rb) ||
        !hp_find_key_u64(t, "write_bytes", &v->wb)) {
        if (!s->io_failed)
            warn_file(&p->warned_io, &s->io);
        s->io_failed = true; /* permission does not come back for this process */
        return;
    }
    v->io_ok = true;
    hp_jw_uint(o, "read_bytes", v->rb);
    hp_jw_uint(o, "write_bytes", v->wb);
    struct hp_pident *e = hp_pidtab_put(&p->tab, rc->st.pid);
    if (!e)
        return;
    if (e->io_ns && now_ns > e->io_ns && v->rb >= e->read_bytes && v->wb >= e->write_bytes) {
        double dt = (double)(now_ns - e->io_ns) / 1e9;
        v->rrate = (double)(v->rb - e->read_bytes) / dt;
        v->wrate = (double)(v->wb - e->write_bytes) / dt;
        v->rate_ok = true;
        hp_jw_double(o, "read_bytes_rate", v->rrate, 1);
        hp_jw_double(o, "write_bytes_rate", v->wrate, 1);
    }
    e->read_bytes = v->rb;
    e->write_bytes = v->wb;
    e->io_ns = now_ns;
}

static void add_fds(struct proc *p, struct slot *s, struct hp_jw *o, struct vals *v)
{
    if (s->fd_failed)
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%d/fd", p->root, (int)s->pid);
    if (!s->fd && !(s->fd = opendir(path))) {
        hp_warn_once(&p->warned_fd, "process: cannot open %s: %s (further failures not logged)",
                     path, strerror(errno));
        s->fd_failed = true;
        return;
    }
    v->fds = hp_count_fds(s->fd);
    v->fds_ok = v->fds >= 0;
    if (v->fds_ok)
        hp_jw_int(o, "fds", v->fds);
}

static void add_cmdline(struct proc *p, struct slot *s, struct hp_jw *o)
{
    const char *t = hp_procfile_read(&s->cmdline, true);
    if (!t) {
        warn_file(&p->warned_cmdline, &s->cmdline);
        return;
    }
    size_t n = hp_cmdline_fix(s->cmdline.buf, s->cmdline.len);
    if (n > p->cmdline_max)
        s->cmdline.buf[p->cmdline_max] = '\0';
    hp_redact_apply(&p->redact, s->cmdline.buf, s->cmdline.cap);
    hp_utf8_sanitize(s->cmdline.buf);
    hp_jw_string(o, "cmdline", s->cmdline.buf);
}

static void add_cmdline_cgroup(struct proc *p, struct slot *s, struct hp_jw *o)
{
    if (p->opt_cmdline)
        add_cmdline(p, s, o);
    char cg[512], unit[256];
    const char *t = hp_procfile_read(&s->cgroup, true);
    if (!t) {
        warn_file(&p->warned_cgroup, &s->cgroup);
    } else if (hp_cgroup_v2(t, cg, sizeof(cg))) {
        hp_utf8_sanitize(cg);
        hp_jw_string(o, "cgroup", cg);
        if (hp_cgroup_unit(cg, unit, sizeof(unit)))
            hp_jw_string(o, "unit", unit);
    }
}

/* ---- sums of groups with aggregate = true ---------------------------------- */

static void agg_add(struct agg *a, const struct vals *v)
{
    struct vals *s = &a->sum;
    if (a->count++ == 0)
        s->cpu_ok = s->io_ok = s->rate_ok = s->fds_ok = true;
    s->cpu += v->cpu;
    s->utime += v->utime;
    s->stime += v->stime;
    s->rss += v->rss;
    s->vms += v->vms;
    s->threads += v->threads;
    s->rb += v->rb;
    s->wb += v->wb;
    s->rrate += v->rrate;
    s->wrate += v->wrate;
    s->fds += v->fds;
    s->cpu_ok &= v->cpu_ok;
    s->io_ok &= v->io_ok;
    s->rate_ok &= v->rate_ok;
    s->fds_ok &= v->fds_ok;
}

/* A group's sums of the values every member had (count > 0). */
static void write_sums(const struct proc *p, const struct vals *s, struct hp_jw *o)
{
    hp_jw_double(o, "utime", s->utime, 2);
    hp_jw_double(o, "stime", s->stime, 2);
    if (s->cpu_ok)
        hp_jw_double(o, "cpu_percent", s->cpu, 2);
    hp_jw_uint(o, "rss", s->rss);
    hp_jw_uint(o, "vms", s->vms);
    if (p->mem_total)
        hp_jw_double(o, "memory_percent", hp_percent(s->rss, p->mem_total), 2);
    hp_jw_uint(o, "threads", s->threads);
    if (s->io_ok) {
        hp_jw_uint(o, "read_bytes", s->rb);
        hp_jw_uint(o, "write_bytes", s->wb);
    }
    if (s->io_ok && s->rate_ok) {
        hp_jw_double(o, "read_bytes_rate", s->rrate, 1);
        hp_jw_double(o, "write_bytes_rate", s->wrate, 1);
    }
    if (s->fds_ok)
        hp_jw_int(o, "fds", s->fds);
}

/* The sums of group wi. Its pids are the selected processes it selects,
 * in the order of `watched` (agg_add was called for each). */
static void write_agg(const struct proc *p, size_t wi, struct hp_jw *o)
{
    const struct agg *a = &p->aggs[wi];
    hp_jw_object(o, NULL);
    hp_jw_string(o, "watch", p->w[wi].label);
    hp_jw_uint(o, "count", a->count);
    hp_jw_array(o, "pids");
    for (size_t i = 0; i < p->n_sel; i++)
        if (p->sel[i]->groups & (1ull << wi))
            hp_jw_int(o, NULL, p->sel[i]->st.pid);
    hp_jw_end(o);
    if (a->count)
        write_sums(p, &a->sum, o);
    hp_jw_end(o);
}

/* ---- the sample ------------------------------------------------------------ */

/* One selected process into the array `watched`; its values go to the
 * sums of its groups with aggregate = true. */
static void write_proc(struct proc *p, struct rec *rc, struct hp_jw *o, int64_t now_ns,
                       double elapsed)
{
    struct slot *s = &p->slots[rc->slot];
    struct vals v = {0};
    hp_jw_object(o, NULL);
    add_stat(p, rc, o, &v, elapsed);
    add_status(p, s, o);
    add_io(p, s, rc, o, &v, now_ns);
    add_fds(p, s, o, &v);
    add_cmdline_cgroup(p, s, o);
    hp_jw_array(o, "watch");
    for (size_t wi = 0; wi < p->n_w; wi++) {
        if (!(rc->groups & (1ull << wi)))
            continue;
        hp_jw_string(o, NULL, p->w[wi].label);
        if (p->w[wi].aggregate)
            agg_add(&p->aggs[wi], &v);
    }
    hp_jw_end(o);
    hp_jw_end(o);
}

/* Host-wide inputs: boot time (once), total memory, uptime in ticks. */
static void read_host(struct proc *p)
{
    if (!p->btime) {
        snprintf(p->scratch.path, sizeof(p->scratch.path), "%s/stat", p->root);
        if (!hp_find_btime(hp_procfile_read(&p->scratch, false), &p->btime))
            hp_warn_once(&p->warned_btime, "process: no btime in %s/stat", p->root);
    }
    const char *m = hp_procfile_read(&p->meminfo, true);
    uint64_t kb = 0;
    if (!m || !hp_find_key_u64(m, "MemTotal", &kb))
        hp_warn_once(&p->warned_meminfo, "process: no MemTotal in %s", p->meminfo.path);
    p->mem_total = kb * 1024;
    const char *u = hp_procfile_read(&p->uptime, true);
    double up;
    p->have_up = u && hp_parse_double(&u, &up);
    if (p->have_up)
        p->up_ticks = (uint64_t)(up * (double)p->hz);
    else
        hp_warn_once(&p->warned_uptime, "process: cannot read %s", p->uptime.path);
}

static void write_counts(struct hp_jw *data, const uint64_t counts[HP_PID_STATES], uint64_t threads,
                         size_t total)
{
    hp_jw_uint(data, "processes", total);
    hp_jw_uint(data, "threads", threads);
    hp_jw_object(data, "states");
    for (int i = 0; i < HP_PID_STATES; i++)
        hp_jw_uint(data, hp_pid_state_names[i], counts[i]);
    hp_jw_end(data);
}

/* The sums of the groups with aggregate = true, in the order of the
 * groups; no member `aggregates` when there is none. The sums start
 * again at zero for the next sample. */
static void write_aggs(struct proc *p, struct hp_jw *data)
{
    struct hp_jw_mark none = hp_jw_mark(data);
    hp_jw_array(data, "aggregates");
    for (size_t wi = 0; wi < p->n_w; wi++) {
        if (p->w[wi].aggregate)
            write_agg(p, wi, data);
        memset(&p->aggs[wi], 0, sizeof(p->aggs[wi]));
    }
    if (hp_jw_empty(data))
        hp_jw_undo(data, none);
    else
        hp_jw_end(data);
}

int hp_process_write_at(struct hp_reporter *r, struct hp_jw *data, int64_t now_ns)
{
    struct proc *p = r->priv;
    uint64_t counts[HP_PID_STATES] = {0}, threads = 0;
    p->gen++;
    read_host(p);
    hp_pidtab_begin(&p->tab);
    if (scan(p, counts, &threads) != 0 || select_all(p) != 0) {
        hp_pidtab_commit(&p->tab);
        return -1;
    }
    refresh_selected(p, counts, &threads);
    if (assign_slots(p) != 0) {
        hp_pidtab_commit(&p->tab);
        return -1;
    }
    double elapsed = p->have_prev ? (double)(now_ns - p->prev_ns) / 1e9 : 0;
    write_counts(data, counts, threads, p->n_recs);
    hp_jw_array(data, "watched");
    for (size_t i = 0; i < p->n_sel; i++)
        write_proc(p, p->sel[i], data, now_ns, elapsed);
    hp_jw_end(data);
    write_aggs(p, data);
    release_slots(p);
    hp_pidtab_commit(&p->tab);
    p->prev_ns = now_ns;
    p->have_prev = true;
    p->prev_up_ticks = p->up_ticks;
    p->have_prev_up = p->have_up;
    return 0;
}

static int process_write(struct hp_reporter *r, struct hp_jw *data)
{
    return hp_process_write_at(r, data, hp_mono_ns());
}

static void process_fini(struct hp_reporter *r)
{
    struct proc *p = r->priv;
    if (!p)
        return;
    for (size_t i = 0; i < p->n_w; i++)
        if (p->w[i].has_re)
            regfree(&p->w[i].re);
    hp_redact_fini(&p->redact);
    for (size_t k = 0; k < p->n_slots; k++)
        slot_close(&p->slots[k]);
    if (p->dir)
        closedir(p->dir);
    hp_procfile_fini(&p->scratch);
    hp_procfile_fini(&p->meminfo);
    hp_procfile_fini(&p->uptime);
    hp_procfile_fini(&p->loadavg);
    hp_pidtab_free(&p->tab);
    free(p->slots);
    free(p->sel);
    free(p->recs);
    free(p->old);
    free(p->aggs);
    free(p->w);
    free(p);
    r->priv = NULL;
}

const struct hp_reporter_ops hp_reporter_process = {
    .name = "process",
    .default_interval = 5.0,
    .default_enabled = true,
    .needs_prime = true,
    .opts = process_opts,
    .init = process_init,
    .write = process_write,
    .fini = process_fini,
};
