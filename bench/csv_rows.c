/* SPDX-License-Identifier: Apache-2.0 */
/* csv_rows.c -- benchmark: the CSV sink's cost per row, without the
 * agent's threads or timing noise of reporters: messages captured from an
 * agent (JSON lines, e.g. `hostpulse -c etc/dev.conf > msgs.jsonl`) are
 * replayed through the sink's write, one message per call, --rounds
 * times, into a fresh directory. Prints messages, rows written (lines of
 * every file but headers) and nanoseconds per row. For instructions per
 * row, run it under `valgrind --tool=callgrind --toggle-collect=csv_write`
 * and divide by the rows it prints.
 *
 *   csv_rows FILE [--rounds N] */
#include "lib/msg.h"
#include "transport/backlog.h"
#include "transport/sink.h"
#include "transport/transport.h"

#include <dirent.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Every line of path that is an envelope; their count in *n. */
static struct hp_msg **load(const char *path, size_t *n)
{
    FILE *f = fopen(path, "re");
    struct hp_msg **v = NULL;
    size_t cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    *n = 0;
    while (f && (len = getline(&line, &lcap, f)) > 0) {
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        struct hp_msg *m = hp_msg_parse(line, (size_t)len);
        if (!m)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            struct hp_msg **nv = realloc(v, cap * sizeof(*v));
            if (!nv)
                break;
            v = nv;
        }
        v[(*n)++] = m;
    }
    free(line);
    if (f)
        fclose(f);
    return v;
}

/* Rows in the files of dir: lines but each file's header. */
static size_t count_rows(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t rows = 0;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[600];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        FILE *f = fopen(p, "re");
        size_t lines = 0;
        for (int c; f && (c = getc(f)) != EOF;)
            lines += c == '\n';
        if (f)
            fclose(f);
        rows += lines ? lines - 1 : 0;
        unlink(p);
    }
    if (d)
        closedir(d);
    return rows;
}

int main(int argc, char **argv)
{
    int rounds = argc > 3 && strcmp(argv[2], "--rounds") == 0 ? atoi(argv[3]) : 20;
    size_t n;
    struct hp_msg **msgs = argc > 1 ? load(argv[1], &n) : NULL;
    if (!msgs || !n || rounds < 1) {
        fprintf(stderr, "usage: csv_rows FILE [--rounds N] (FILE: JSON lines of envelopes)\n");
        return 2;
    }
    char dir[] = "/tmp/hp-bench-csv-XXXXXX", text[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(text, sizeof(text), "s = { directory = \"%s\"; rotate = \"none\"; };", dir);
    config_t cfg;
    config_init(&cfg);
    struct hp_sink s = {.ops = hp_sink_find("csv")};
    snprintf(s.name, sizeof(s.name), "csv");
    struct hp_errs errs = {0};
    if (config_read_string(&cfg, text) != CONFIG_TRUE || !s.ops ||
        hp_sink_setup(&s, s.ops, (s.cfg = config_lookup(&cfg, "s")), NULL, &errs) != 0 ||
        s.ops->open(&s) != 0) {
        fprintf(stderr, "csv_rows: cannot set up the sink\n");
        return 1;
    }
    int64_t t0 = now_ns();
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i < n; i++) {
            struct hp_out out[1];
            hp_backlog_push(hp_sink_backlog(&s), msgs[i]); /* takes its own reference */
            hp_backlog_take(hp_sink_backlog(&s), out, 1);
            if (s.ops->write(&s, out, 1) != 1) {
                fprintf(stderr, "csv_rows: write failed: %s\n", s.error);
                return 1;
            }
        }
    int64_t ns = now_ns() - t0;
    s.ops->close(&s);
    hp_sink_teardown(&s);
    config_destroy(&cfg);
    size_t rows = count_rows(dir);
    rmdir(dir);
    printf("messages %zu rows %zu ns_per_row %.0f\n", n * (size_t)rounds, rows,
           rows ? (double)ns / (double)rows : 0.0);
    for (size_t i = 0; i < n; i++)
        hp_msg_unref(msgs[i]);
    free(msgs);
    return 0;
}
