/* process_scan.c -- cost of one process-reporter sample over the real /proc
 * with N extra processes: forks N children that sleep in pause(), then
 * times samples of the reporter configured as in etc/dev.conf (self and
 * top 3 by cpu). Prints min / median / max wall time per sample.
 *
 *   build/release/bench/process_scan [N=1000] [samples=50] */
#include "lib/clock.h"
#include "agent/config.h"
#include "reporters/process.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* N children that wait for SIGKILL; their pids in *out. */
static pid_t *spawn(int n)
{
    pid_t *pids = calloc((size_t)n, sizeof(*pids));
    for (int i = 0; pids && i < n; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            for (;;)
                pause();
        }
        if (pids[i] < 0) {
            perror("fork");
            exit(1);
        }
    }
    return pids;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    int samples = argc > 2 ? atoi(argv[2]) : 50;
    pid_t *kids = spawn(n);
    config_t cfg;
    config_init(&cfg);
    config_read_string(&cfg,
                       "process: { watch = ( { self = true; }, { top = 3; by = \"cpu\"; } ); };");
    struct hp_errs e = {0};
    struct hp_reporter r = {.ops = &hp_reporter_process, .proc_root = "/proc", .sys_root = "/sys"};
    if (hp_reporter_process.init(&r, config_lookup(&cfg, "process"), &e) != 0)
        return 1;
    int64_t *t = calloc((size_t)samples, sizeof(*t));
    int64_t procs = 0;
    for (int i = -1; i < samples; i++) { /* one warm-up sample */
        json_object *d = json_object_new_object();
        int64_t t0 = hp_mono_ns();
        hp_reporter_process.sample(&r, d);
        int64_t dt = hp_mono_ns() - t0;
        if (i >= 0)
            t[i] = dt;
        json_object *v;
        if (json_object_object_get_ex(d, "processes", &v))
            procs = json_object_get_int64(v);
        json_object_put(d);
    }
    qsort(t, (size_t)samples, sizeof(*t), cmp);
    printf("process_scan: %lld processes, %d samples: min %.3f ms, median %.3f ms, max %.3f ms "
           "(%.2f us per process at the median)\n",
           (long long)procs, samples, t[0] / 1e6, t[samples / 2] / 1e6, t[samples - 1] / 1e6,
           t[samples / 2] / 1e3 / (double)procs);
    hp_reporter_process.fini(&r);
    config_destroy(&cfg);
    for (int i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    for (int i = 0; i < n; i++)
        waitpid(kids[i], NULL, 0);
    free(kids);
    free(t);
    return 0;
}
