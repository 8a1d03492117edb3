/* SPDX-License-Identifier: Apache-2.0 */
/* process_scan.c -- cost of one process-reporter sample over the real /proc
 * as the number of processes grows: forks children that sleep in pause()
 * (cheap: no exec), up to each size in turn, and times samples of the
 * reporter configured as in etc/dev.conf (self and top 3 by cpu), JSON
 * serialisation included, as the scheduler does. Prints per size the
 * median and p90 thread CPU time per sample, the median wall time, and
 * the cost per 1,000 processes (total, and marginal over the run with no
 * extra processes), so a step that grows faster than the processes shows.
 *
 *   build/release/bench/process_scan [SIZES=0,1000,5000,20000] [samples=30] [OPTIONS]
 *
 * OPTIONS are more settings of the process group, e.g. "keep_open = 0;".
 *
 * 20,000 children need pid_max and the user's process limit above that
 * (RLIMIT_NPROC); a size that cannot be reached is reported and skipped. */
#include "lib/clock.h"
#include "agent/config.h"
#include "lib/log.h"
#include "reporters/process.h"

#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

struct row {
    int64_t procs, cpu_med, cpu_p90, wall_med;
};

/* One sample: CPU and wall nanoseconds, the process count seen. */
static void sample(struct hp_reporter *r, int64_t *cpu, int64_t *wall, int64_t *procs)
{
    int64_t c0 = hp_thread_cpu_ns(), w0 = hp_mono_ns();
    json_object *d = json_object_new_object();
    hp_reporter_process.sample(r, d);
    size_t len;
    json_object_to_json_string_length(d, JSON_C_TO_STRING_PLAIN, &len);
    *cpu = hp_thread_cpu_ns() - c0;
    *wall = hp_mono_ns() - w0;
    json_object *v;
    if (json_object_object_get_ex(d, "processes", &v))
        *procs = json_object_get_int64(v);
    json_object_put(d);
}

static struct row measure(struct hp_reporter *r, int samples)
{
    int64_t *c = calloc((size_t)samples, sizeof(*c)), *w = calloc((size_t)samples, sizeof(*w));
    struct row row = {0};
    int64_t dc, dw;
    sample(r, &dc, &dw, &row.procs); /* warm-up: the new pids' descriptors */
    for (int i = 0; i < samples; i++)
        sample(r, &c[i], &w[i], &row.procs);
    qsort(c, (size_t)samples, sizeof(*c), cmp);
    qsort(w, (size_t)samples, sizeof(*w), cmp);
    row.cpu_med = c[samples / 2];
    row.cpu_p90 = c[samples * 9 / 10];
    row.wall_med = w[samples / 2];
    free(c);
    free(w);
    return row;
}

int main(int argc, char **argv)
{
    const char *sizes = argc > 1 ? argv[1] : "0,1000,5000,20000";
    int samples = argc > 2 ? atoi(argv[2]) : 30;
    if (samples < 1)
        samples = 1;
    hp_log_setup(HP_LOG_STDERR, HP_LOG_ERR);
    config_t cfg;
    config_init(&cfg);
    char conf[512];
    snprintf(conf, sizeof(conf),
             "process: { watch = ( { self = true; }, { top = 3; by = \"cpu\"; } ); %s };",
             argc > 3 ? argv[3] : "");
    if (config_read_string(&cfg, conf) != CONFIG_TRUE) {
        fprintf(stderr, "process_scan: bad options: %s\n", config_error_text(&cfg));
        return 2;
    }
    struct hp_errs e = {0};
    struct hp_reporter r = {
        .ops = &hp_reporter_process, .proc_root = "/proc", .sys_root = "/sys", .interval = 1.0};
    if (hp_reporter_process.init(&r, config_lookup(&cfg, "process"), &e) != 0)
        return 1;
    printf("%-16s %10s %12s %12s %12s %14s %16s\n", "extra", "processes", "cpu_med_ms",
           "cpu_p90_ms", "wall_med_ms", "ms_per_1000", "marginal_per_1000");
    struct kids k = {0};
    struct row base = {0};
    bool have_base = false;
    for (const char *s = sizes; *s;) {
        size_t want = strtoul(s, NULL, 10);
        s += strcspn(s, ",");
        s += *s == ',';
        if (grow_to(&k, want) < want) {
            printf("%-16zu could not fork that many (pid_max, RLIMIT_NPROC or memory)\n", want);
            break;
        }
        struct row row = measure(&r, samples);
        if (!have_base) {
            base = row;
            have_base = true;
        }
        double per = (double)row.cpu_med / 1e6 * 1000.0 / (double)(row.procs ? row.procs : 1);
        int64_t extra = row.procs - base.procs;
        printf("+%-15zu %10lld %12.3f %12.3f %12.3f %14.3f", want, (long long)row.procs,
               row.cpu_med / 1e6, row.cpu_p90 / 1e6, row.wall_med / 1e6, per);
        if (extra > 0)
            printf(" %16.3f", (double)(row.cpu_med - base.cpu_med) / 1e6 * 1000.0 / (double)extra);
        printf("\n");
        fflush(stdout);
    }
    hp_reporter_process.fini(&r);
    config_destroy(&cfg);
    reap(&k);
    return 0;
}
