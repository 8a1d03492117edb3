/* SPDX-License-Identifier: Apache-2.0 */
/* process_scan.c -- cost of one process-reporter sample over the real /proc
 * as the number of processes grows: forks children that sleep in pause()
 * (cheap: no exec), up to each size in turn, and times samples of the
 * reporter configured as in etc/dev.conf (self and top 3 by cpu), its
 * message's text included, as the scheduler makes it. Each size is measured in
 * 5 interleaved rounds of each mode: the default (schedstat first, stat
 * only of processes that ran) and the old path (stat of every process,
 * `stat_every = 1`) as the baseline of the same run. Prints per size and
 * mode the median and p90 thread CPU time per sample (ms) over all rounds,
 * the median wall time, the range of the rounds' medians, the cost per
 * 1,000 processes (total, and marginal over the first size), and the ratio
 * of the median to the old path's.
 *
 *   build/release/bench/process_scan [SIZES=0,1000,5000,20000] [samples per round=10] [OPTIONS]
 *
 * OPTIONS are more settings of the process group for both modes, e.g.
 * "keep_open = 0;". HP_PROCSCAN_MODE=schedstat or =stat measures only that
 * mode (for a profile of one path). HP_PROCSCAN_NOFILE=N sets RLIMIT_NOFILE
 * (soft and hard; raising the hard one needs CAP_SYS_RESOURCE) first: the
 * reporter keeps at most half of it open, so a hard limit of 20,000 keeps
 * 9,872 descriptors where systemd's 524288 would allow keep_open's 16,384.
 *
 * 20,000 children need pid_max and the user's process limit above that
 * (RLIMIT_NPROC); a size that cannot be reached is reported and skipped. */
#include "agent/config.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "reporters/process.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

struct kids {
    pid_t *pid;
    size_t n, cap;
};

/* Fork children until there are n; returns how many there are. */
static size_t grow_to(struct kids *k, size_t n)
{
    if (n > k->cap) {
        pid_t *p = realloc(k->pid, n * sizeof(*p));
        if (!p)
            return k->n;
        k->pid = p;
        k->cap = n;
    }
    while (k->n < n) {
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the benchmark */
            if (getppid() == 1)
                _exit(0);
            for (;;)
                pause();
        }
        if (pid < 0) {
            fprintf(stderr, "process_scan: fork after %zu children: %s\n", k->n, strerror(errno));
            break;
        }
        k->pid[k->n++] = pid;
    }
    return k->n;
}

static void reap(struct kids *k)
{
    for (size_t i = 0; i < k->n; i++)
        kill(k->pid[i], SIGKILL);
    for (size_t i = 0; i < k->n; i++)
        waitpid(k->pid[i], NULL, 0);
    free(k->pid);
}

/* The two ways of reading the processes, measured side by side: the
 * default (schedstat first, stat only of processes that ran) and the old
 * one (stat of every process every sample, forced by stat_every = 1). */
static const struct mode {
    const char *name, *opts;
} modes[] = {{"schedstat", ""}, {"stat (old)", "stat_every = 1;"}};
#define N_MODES 2
#define ROUNDS  5

struct row {
    int64_t procs, cpu_med, cpu_p90, wall_med, round_lo, round_hi;
};

/* One sample made into its text as the scheduler makes it (text is the
 * round's reused buffer): CPU and wall nanoseconds, the process count
 * seen (the text's first member, read after the clocks stop). */
static void sample(struct hp_reporter *r, struct hp_buf *text, int64_t *cpu, int64_t *wall,
                   int64_t *procs)
{
    int64_t c0 = hp_thread_cpu_ns(), w0 = hp_mono_ns();
    int rc = hp_reporter_write(r, text);
    *cpu = hp_thread_cpu_ns() - c0;
    *wall = hp_mono_ns() - w0;
    long long n;
    if (rc == 0 && sscanf(text->p, "{\"processes\":%lld", &n) == 1)
        *procs = n;
}

/* A reporter configured as etc/dev.conf's (self, top 3 by cpu) plus opts. */
static int start(struct hp_reporter *r, config_t *cfg, const char *opts, const char *more)
{
    char conf[512];
    snprintf(conf, sizeof(conf),
             "process: { watch = ( { self = true; }, { top = 3; by = \"cpu\"; } ); %s %s };", opts,
             more);
    config_init(cfg);
    if (config_read_string(cfg, conf) != CONFIG_TRUE) {
        fprintf(stderr, "process_scan: bad options: %s\n", config_error_text(cfg));
        return -1;
    }
    struct hp_errs e = {0};
    *r = (struct hp_reporter){
        .ops = &hp_reporter_process, .proc_root = "/proc", .sys_root = "/sys", .interval = 1.0};
    return hp_reporter_process.init(r, config_lookup(cfg, "process"), &e);
}

/* One round of one mode: a fresh reporter (only one holds descriptors at a
 * time), two warm-up samples (the first opens every descriptor, the second
 * has a last sample to compare with), then n samples into cpu/wall. */
static int round_of(const struct mode *m, const char *more, int n, int64_t *cpu, int64_t *wall,
                    int64_t *procs)
{
    struct hp_reporter r;
    config_t cfg;
    if (start(&r, &cfg, m->opts, more) != 0) {
        config_destroy(&cfg);
        return -1;
    }
    int64_t dc, dw;
    struct hp_buf text = {0};
    sample(&r, &text, &dc, &dw, procs);
    sample(&r, &text, &dc, &dw, procs);
    for (int i = 0; i < n; i++)
        sample(&r, &text, &cpu[i], &wall[i], procs);
    hp_buf_free(&text);
    hp_reporter_process.fini(&r);
    config_destroy(&cfg);
    return 0;
}

/* ROUNDS rounds of each mode, interleaved (the order alternates), n samples
 * each: medians over all samples, and the range of the rounds' medians. */
static int measure(const char *more, int n, struct row rows[N_MODES])
{
    const char *only = getenv("HP_PROCSCAN_MODE");
    size_t all = (size_t)n * ROUNDS;
    int64_t *c[N_MODES], *w[N_MODES];
    int64_t med[N_MODES][ROUNDS];
    int rc = 0;
    for (int m = 0; m < N_MODES; m++) {
        c[m] = calloc(all, sizeof(int64_t));
        w[m] = calloc(all, sizeof(int64_t));
        rows[m] = (struct row){0};
    }
    for (int k = 0; k < ROUNDS && rc == 0; k++)
        for (int j = 0; j < N_MODES && rc == 0; j++) {
            int m = k % 2 ? N_MODES - 1 - j : j;
            if (only && strncmp(modes[m].name, only, strlen(only)) != 0)
                continue;
            int64_t *cr = c[m] + (size_t)k * (size_t)n;
            rc = round_of(&modes[m], more, n, cr, w[m] + (size_t)k * (size_t)n, &rows[m].procs);
            int64_t *tmp = malloc((size_t)n * sizeof(*tmp));
            memcpy(tmp, cr, (size_t)n * sizeof(*tmp));
            qsort(tmp, (size_t)n, sizeof(*tmp), cmp);
            med[m][k] = tmp[n / 2];
            free(tmp);
        }
    for (int m = 0; m < N_MODES; m++) {
        if (only && strncmp(modes[m].name, only, strlen(only)) != 0)
            memset(med[m], 0, sizeof(med[m]));
        qsort(c[m], all, sizeof(int64_t), cmp);
        qsort(w[m], all, sizeof(int64_t), cmp);
        qsort(med[m], ROUNDS, sizeof(int64_t), cmp);
        rows[m].cpu_med = c[m][all / 2];
        rows[m].cpu_p90 = c[m][all * 9 / 10];
        rows[m].wall_med = w[m][all / 2];
        rows[m].round_lo = med[m][0];
        rows[m].round_hi = med[m][ROUNDS - 1];
        free(c[m]);
        free(w[m]);
    }
    return rc;
}

static void print_row(size_t want, const struct mode *m, const struct row *row,
                      const struct row *base, const struct row *old)
{
    double per = (double)row->cpu_med / 1e6 * 1000.0 / (double)(row->procs ? row->procs : 1);
    printf("+%-8zu %-11s %9lld %9.3f %9.3f %9.3f %7.3f-%-7.3f %9.3f", want, m->name,
           (long long)row->procs, row->cpu_med / 1e6, row->cpu_p90 / 1e6, row->wall_med / 1e6,
           row->round_lo / 1e6, row->round_hi / 1e6, per);
    int64_t extra = row->procs - base->procs;
    if (extra > 0)
        printf(" %9.3f", (double)(row->cpu_med - base->cpu_med) / 1e6 * 1000.0 / (double)extra);
    else
        printf(" %9s", "");
    if (old != row && old->cpu_med > 0)
        printf(" %6.2f", (double)row->cpu_med / (double)old->cpu_med);
    printf("\n");
}

int main(int argc, char **argv)
{
    const char *sizes = argc > 1 ? argv[1] : "0,1000,5000,20000";
    int samples = argc > 2 ? atoi(argv[2]) : 10;
    const char *more = argc > 3 ? argv[3] : "";
    if (samples < 1)
        samples = 1;
    hp_log_setup(HP_LOG_STDERR, HP_LOG_ERR);
    const char *nofile = getenv("HP_PROCSCAN_NOFILE");
    if (nofile) {
        struct rlimit rl = {.rlim_cur = strtoul(nofile, NULL, 10)};
        rl.rlim_max = rl.rlim_cur;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            fprintf(stderr, "process_scan: RLIMIT_NOFILE %s: %s\n", nofile, strerror(errno));
    }
    struct rlimit now;
    getrlimit(RLIMIT_NOFILE, &now);
    printf("RLIMIT_NOFILE %llu/%llu; keep_open default 16384, at most half the limit\n",
           (unsigned long long)now.rlim_cur, (unsigned long long)now.rlim_max);
    printf("%-9s %-11s %9s %9s %9s %9s %15s %9s %9s %6s\n", "extra", "mode", "processes", "cpu_med",
           "cpu_p90", "wall_med", "round_medians", "per_1000", "marginal", "/old");
    struct kids k = {0};
    struct row base[N_MODES];
    bool have_base = false;
    int rc = 0;
    for (const char *s = sizes; *s && rc == 0;) {
        size_t want = strtoul(s, NULL, 10);
        s += strcspn(s, ",");
        s += *s == ',';
        if (grow_to(&k, want) < want) {
            printf("%-9zu could not fork that many (pid_max, RLIMIT_NPROC or memory)\n", want);
            break;
        }
        struct row rows[N_MODES];
        rc = measure(more, samples, rows);
        if (!have_base)
            memcpy(base, rows, sizeof(base));
        have_base = true;
        for (int m = 0; m < N_MODES && rc == 0; m++)
            if (rows[m].cpu_med)
                print_row(want, &modes[m], &rows[m], &base[m], &rows[N_MODES - 1]);
        fflush(stdout);
    }
    reap(&k);
    return rc == 0 ? 0 : 1;
}
