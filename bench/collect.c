/* SPDX-License-Identifier: Apache-2.0 */
/* collect.c -- benchmark: CPU time per sample of every reporter (thread
 * CPU time, CLOCK_THREAD_CPUTIME_ID, including building the JSON and
 * serializing it, as the scheduler does), median over many samples.
 *
 *   collect [--proc-root DIR --sys-root DIR] [--samples N] [--only NAME]
 *           [--config FILE]
 *
 * With --config, reporter options come from FILE's reporters section (the
 * process benchmark uses it to watch processes). Prints one line per
 * reporter: name, median and p90 microseconds per sample. */
#include "agent/config.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/msg.h"
#include "reporters/reporter.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* One sample made into its text, as the scheduler makes it (text is the
 * thread's reused buffer). */
static int64_t sample_ns(struct hp_reporter *r, struct hp_buf *text)
{
    int64_t t0 = hp_thread_cpu_ns();
    hp_reporter_write(r, text);
    return hp_thread_cpu_ns() - t0;
}

static void bench_one(const struct hp_reporter_ops *ops, const struct hp_config *cfg,
                      const char *proc_root, const char *sys_root, int samples, const char *label)
{
    struct hp_reporter r = {
        .ops = ops, .proc_root = proc_root, .sys_root = sys_root, .interval = 1.0};
    struct hp_errs errs = {0};
    const config_setting_t *g = cfg ? hp_config_reporter(cfg, ops->name) : NULL;
    if (ops->init && ops->init(&r, g, &errs) != 0) {
        printf("%-14s %-10s %12s\n", ops->name, label, "init failed");
        return;
    }
    int64_t *v = calloc((size_t)samples, sizeof(*v));
    struct hp_buf text = {0};
    sample_ns(&r, &text); /* prime: rates, open descriptors, buffers */
    for (int i = 0; i < samples; i++)
        v[i] = sample_ns(&r, &text);
    hp_buf_free(&text);
    qsort(v, (size_t)samples, sizeof(*v), cmp);
    printf("%-14s %-10s %12.1f %12.1f\n", ops->name, label, (double)v[samples / 2] / 1e3,
           (double)v[samples * 9 / 10] / 1e3);
    free(v);
    if (ops->fini)
        ops->fini(&r);
}

int main(int argc, char **argv)
{
    const char *proc_root = "/proc", *sys_root = "/sys", *only = NULL, *conf = NULL;
    const char *label = "live";
    int samples = 200;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--proc-root") == 0)
            proc_root = argv[i + 1];
        else if (strcmp(argv[i], "--sys-root") == 0)
            sys_root = argv[i + 1];
        else if (strcmp(argv[i], "--samples") == 0)
            samples = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--only") == 0)
            only = argv[i + 1];
        else if (strcmp(argv[i], "--config") == 0)
            conf = argv[i + 1];
        else if (strcmp(argv[i], "--label") == 0)
            label = argv[i + 1];
    }
    if (samples < 1)
        samples = 1;
    hp_log_setup(HP_LOG_STDERR, HP_LOG_ERR);
    struct hp_errs errs = {0};
    struct hp_config *cfg = conf ? hp_config_load(conf, &errs) : NULL;
    if (conf && !cfg)
        return 1;
    for (const struct hp_reporter_ops *const *t = hp_reporter_types; *t; t++) {
        if (strcmp((*t)->name, "agent") == 0)
            continue; /* needs a running agent; measured by the footprint run */
        if (only && strcmp(only, (*t)->name) != 0)
            continue;
        bench_one(*t, cfg, proc_root, sys_root, samples, label);
    }
    hp_config_free(cfg);
    return 0;
}
