/* SPDX-License-Identifier: Apache-2.0 */
/* mysql_write.c -- drive the mysql sink directly, for test_mysql.py.
 *
 *   mysql_write 'sink: { ...options... };' BATCH < messages
 *
 * Each input line is one envelope (JSON); a line that is not one becomes a
 * message of reporter "garbage" (tests feed such lines on purpose). Every
 * message is offered to
 * the sink's write() in batches of BATCH, as the transport would, and the
 * outcome is printed as one JSON line: {"ok":N,"drop":N,"retry":N,
 * "written":N} or {"error":"..."} with exit status 1. */
#include "transport/backlog.h"
#include "transport/sink.h"
#include "transport/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int load(struct hp_backlog *b, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t seq = 0;
    while ((len = getline(&line, &cap, in)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        struct hp_msg *m = hp_msg_parse(line, (size_t)len);
        if (!m)
            m = hp_msg_new("garbage", ++seq, 0, line, (size_t)len);
        if (!m)
            break;
        hp_backlog_push(b, m);
        hp_msg_unref(m);
    }
    free(line);
    return 0;
}

static int drive(struct hp_sink *s, size_t batch)
{
    struct hp_out *out = calloc(batch, sizeof(*out));
    size_t written = 0;
    struct hp_backlog *b = hp_sink_backlog(s);
    const struct hp_sink_stats *st = hp_sink_stats_of(s);
    int rc = out ? s->ops->open(s) : -1;
    while (rc == 0 && hp_backlog_has_pending(b)) {
        size_t n = hp_backlog_take(b, out, batch);
        int w = s->ops->write(s, out, n);
        if (w < 0)
            rc = -1;
        else
            written += (size_t)w;
    }
    if (rc == 0)
        printf("{\"ok\":%llu,\"drop\":%llu,\"retry\":%llu,\"written\":%zu}\n",
               (unsigned long long)st->sent, (unsigned long long)st->rejected,
               (unsigned long long)st->retried, written);
    else
        printf("{\"error\":\"%s\"}\n", s->error);
    s->ops->close(s);
    free(out);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mysql_write 'sink: {...};' BATCH < lines\n");
        return 2;
    }
    config_t cfg;
    config_init(&cfg);
    struct hp_sink s = {0};
    const struct hp_sink_ops *ops = hp_sink_find("mysql");
    struct hp_errs errs = {.fallback_file = "argv"};
    const config_setting_t *g = NULL;
    int rc = 2;
    if (config_read_string(&cfg, argv[1]) != CONFIG_TRUE || !(g = config_lookup(&cfg, "sink")) ||
        hp_opts_check(g, ops->opts, hp_sink_common_opts, &errs) ||
        hp_sink_setup(&s, ops, g, NULL, &errs) != 0)
        goto out;
    if (load(hp_sink_backlog(&s), stdin) == 0)
        rc = drive(&s, (size_t)atoi(argv[2]) > 0 ? (size_t)atoi(argv[2]) : 1);
out:
    hp_sink_teardown(&s);
    config_destroy(&cfg);
    return rc;
}
