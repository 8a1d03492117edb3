/* SPDX-License-Identifier: Apache-2.0 */
/* spool_scan.c -- benchmark: how long opening a spool takes (every segment
 * scanned and checked record by record) for a clean segment, one with a
 * damaged record every 100, and one with a 1 MiB stretch of random bytes
 * (each damaged stretch is resynchronised by scanning forward for the next
 * whole record). Prints MB/s per case, median of several runs; never
 * asserts on time.
 *
 *   build/release/bench/spool_scan [segment_mib] [runs] */
#include "lib/clock.h"
#include "lib/log.h"
#include "transport/spool.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECORD 600 /* bytes of JSON, about an uptime or mem message */

static char dir[64];

static void build(size_t mib)
{
    struct hp_spool_cfg c = {.directory = dir,
                             .max_bytes = (uint64_t)mib << 22,
                             .segment_bytes = (uint64_t)mib << 20,
                             .fsync = HP_FSYNC_NEVER,
                             .fsync_interval = 1};
    char err[256], rec[RECORD + 1];
    struct hp_spool *sp = hp_spool_open(&c, "s", err, sizeof(err));
    if (!sp)
        exit(1);
    memset(rec, 'x', RECORD);
    rec[0] = '{';
    rec[RECORD - 1] = '}';
    uint64_t pos;
    for (size_t i = 0; (i + 1) * (RECORD + 8) < (mib << 20) - 8; i++)
        if (hp_spool_append(sp, rec, RECORD, false, &pos) != 0)
            exit(1);
    hp_spool_close(sp);
}

static void damage(int every, size_t garbage)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/s/0000000000000000.seg", dir);
    int fd = open(path, O_RDWR);
    off_t size = lseek(fd, 0, SEEK_END);
    for (off_t off = 8 + 20; every && off < size; off += (off_t)every * (RECORD + 8))
        if (pwrite(fd, "X", 1, off) != 1)
            exit(1);
    if (garbage) {
        char *g = malloc(garbage);
        for (size_t i = 0; i < garbage; i++)
            g[i] = (char)(rand() & 0xff);
        if (pwrite(fd, g, garbage, size / 3) != (ssize_t)garbage)
            exit(1);
        free(g);
    }
    close(fd);
}

static double open_ms(size_t mib, uint64_t *unread)
{
    struct hp_spool_cfg c = {.directory = dir,
                             .max_bytes = (uint64_t)mib << 22,
                             .segment_bytes = (uint64_t)mib << 20,
                             .fsync = HP_FSYNC_NEVER,
                             .fsync_interval = 1};
    char err[256];
    int64_t t0 = hp_mono_ns();
    struct hp_spool *sp = hp_spool_open(&c, "s", err, sizeof(err));
    double ms = (double)(hp_mono_ns() - t0) / 1e6;
    *unread = sp ? hp_spool_unread(sp) : 0;
    hp_spool_close(sp);
    return ms;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 4;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    hp_log_setup(HP_LOG_STDERR, HP_LOG_ERR);
    static const struct {
        const char *name;
        int every;
        size_t garbage;
    } cases[] = {
        {"clean", 0, 0}, {"1 damaged record in 100", 100, 0}, {"1 MiB of garbage", 0, 1 << 20}};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        double t[32];
        uint64_t unread = 0;
        runs = runs > 32 ? 32 : runs;
        for (int r = 0; r < runs; r++) {
            snprintf(dir, sizeof(dir), "/tmp/hp-bench-spool-XXXXXX");
            if (!mkdtemp(dir))
                return 1;
            build(mib);
            damage(cases[k].every, cases[k].garbage);
            t[r] = open_ms(mib, &unread);
            char cmd[128];
            snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
            if (system(cmd) != 0)
                return 1;
        }
        qsort(t, (size_t)runs, sizeof(t[0]), cmp);
        printf("spool open, %zu MiB segment, %-24s %8.2f ms  %7.0f MB/s  (%llu records left)\n",
               mib, cases[k].name, t[runs / 2], (double)(mib << 20) / 1e3 / t[runs / 2],
               (unsigned long long)unread);
    }
    return 0;
}
