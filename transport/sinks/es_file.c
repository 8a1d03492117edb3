/* SPDX-License-Identifier: Apache-2.0 */
/* es_file.c -- the `es-file` sink: Elasticsearch bulk NDJSON written to a
 * file, for a later `curl --data-binary @FILE .../_bulk` import.
 *
 * The file name is the `path` option run through strftime(3) on each
 * message's timestamp in UTC, so the default
 * /var/lib/hostpulse/es/hostpulse-%Y.%m.%d.ndjson starts a new file at every
 * UTC day boundary and each file holds exactly one day of samples, even when
 * an old backlog is replayed late. A path without conversions is one file
 * that grows forever.
 *
 * A run of messages for one file is written with one write(); that flushed
 * write (fsync'd with fsync = true) is the confirmation. On a write error the
 * file is cut back to its size before the write, so a retry never leaves a
 * torn or duplicated pair; a torn tail left by a crash is cut when the file is
 * reopened (transport/filebatch.h). Files are opened on demand, per message
 * day, so the sink has no open(). */
#include "transport/filebatch.h"
#include "transport/sink.h"
#include "transport/sinks/es_bulk.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TAIL_SCAN (1 << 20) /* how far back a torn tail is looked for */

struct es_file {
    /* options (es_file_opts) */
    const char *path_tmpl;
    const char *index;
    bool fsync;
    /* derived at init */
    struct hp_tmpl path_t, index_t;
    int fd;
    char path[1024]; /* the open file ("" when none) */
    off_t size;      /* its size before the pending run */
    struct hp_es_bulk bulk;
    struct hp_file_batch run; /* the messages of the pending run */
};

/* The file of a message: the path template with its identity and time. */
static int file_name(const struct es_file *f, const struct hp_tmpl_vars *v, char *buf, size_t len)
{
    return hp_tmpl_expand(&f->path_t, v, buf, len) > 0 ? 0 : -1;
}

static int msg_file_name(const struct es_file *f, const struct hp_msg *m, char *buf, size_t len)
{
    struct hp_tmpl_vars v = {
        .host = m->host, .reporter = m->reporter, .session = m->session, .ts_ms = m->ts_ms};
    return file_name(f, &v, buf, len);
}

/* Cut what follows the last complete action/document pair: a line without
 * its newline, and an action line without its document. */
static int cut_torn_tail(int fd, off_t size)
{
    size_t want = size < TAIL_SCAN ? (size_t)size : TAIL_SCAN;
    char *buf = malloc(want + 1);
    if (!buf)
        return -1;
    off_t from = size - (off_t)want;
    ssize_t n = pread(fd, buf, want, from);
    off_t end = size;
    if (n == (ssize_t)want) {
        char *nl = memrchr(buf, '\n', want);
        size_t keep = nl ? (size_t)(nl - buf) + 1 : 0;
        if (!nl && from > 0)
            keep = want; /* one line longer than the scan: leave it */
        /* The last complete line: an action line means its document is lost. */
        if (keep > 0 && nl) {
            buf[keep - 1] = '\0';
            char *prev = memrchr(buf, '\n', keep - 1);
            const char *line = prev ? prev + 1 : buf;
            if ((prev || from == 0) && strncmp(line, "{\"index\":", 9) == 0)
                keep = (size_t)(line - buf);
        }
        end = from + (off_t)keep;
    }
    free(buf);
    if (n != (ssize_t)want)
        return -1;
    return end < size ? ftruncate(fd, end) : 0;
}

static void close_file(struct es_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    f->path[0] = '\0';
}

static int open_file(struct hp_sink *s, const char *path)
{
    struct es_file *f = s->priv;
    close_file(f);
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s", path);
    const char *d = dirname(dir);
    if (mkdir(d, 0750) != 0 && errno != EEXIST)
        return hp_sink_fail(s, "create directory %s: %s", d, strerror(errno));
    f->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (f->fd < 0)
        return hp_sink_fail(s, "open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(f->fd, &st) != 0 || (st.st_size > 0 && cut_torn_tail(f->fd, st.st_size) != 0)) {
        int err = errno;
        close_file(f);
        return hp_sink_fail(s, "read %s: %s", path, strerror(err));
    }
    f->size = lseek(f->fd, 0, SEEK_END);
    snprintf(f->path, sizeof(f->path), "%s", path);
    return 0;
}

/* Write the pending run to the open file and confirm it. On error the file
 * is cut back and nothing is confirmed. */
static int flush_run(struct hp_sink *s)
{
    struct es_file *f = s->priv;
    int rc = hp_file_batch_write(&f->run, s, f->fd, &f->bulk.body, &f->size, f->fsync, f->path);
    hp_es_bulk_reset(&f->bulk);
    return rc;
}

static int add(struct hp_sink *s, const struct hp_out *o)
{
    struct es_file *f = s->priv;
    char path[1024];
    if (msg_file_name(f, o->msg, path, sizeof(path)) != 0)
        return hp_sink_fail(s, "path template gives an empty or too long name");
    if (strcmp(path, f->path) != 0 && (flush_run(s) != 0 || open_file(s, path) != 0))
        return -1;
    size_t before = f->bulk.body.len;
    int rc = hp_es_bulk_add(&f->bulk, &f->index_t, o->msg);
    if (rc < 0)
        return hp_sink_fail(s, "out of memory");
    if (rc > 0) {
        hp_warn("sink %s: dropping a message that is not an envelope (%s #%llu)", s->name,
                o->msg->reporter, (unsigned long long)o->msg->seq);
        hp_sink_ack(s, o->pos, HP_ACK_DROP);
        return 0;
    }
    if (hp_file_batch_note(&f->run, o->pos) != 0) {
        f->bulk.body.len = before; /* not in the run: not written either */
        return hp_sink_fail(s, "out of memory");
    }
    return 0;
}

static int es_file_write(struct hp_sink *s, const struct hp_out *out, size_t n)
{
    struct es_file *f = s->priv;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = add(s, &out[i]);
    if (rc == 0)
        rc = flush_run(s);
    hp_file_batch_drop(&f->run, &f->bulk.body);
    hp_es_bulk_reset(&f->bulk);
    return rc ? -1 : (int)n;
}

static void es_file_close(struct hp_sink *s)
{
    struct es_file *f = s->priv;
    close_file(f);
    hp_file_batch_drop(&f->run, &f->bulk.body);
    hp_es_bulk_reset(&f->bulk);
}

/* --check --connect: the file of today can be opened for appending. */
static int es_file_check(struct hp_sink *s)
{
    struct es_file *f = s->priv;
    char path[1024];
    s->error[0] = '\0';
    struct hp_tmpl_vars v = {.host = s->id.host,
                             .reporter = "session",
                             .session = s->id.session,
                             .ts_ms = (int64_t)time(NULL) * 1000};
    int rc = file_name(f, &v, path, sizeof(path)) != 0
                 ? hp_sink_fail(s, "path template gives an empty or too long name")
                 : open_file(s, path);
    close_file(f);
    fprintf(stderr, "sink %s (%s): %s\n", s->name, s->ops->type, rc ? s->error : "ok");
    return rc ? 1 : 0;
}

static const struct hp_opt es_file_opts[] = {
    {.name = "path",
     .type = HP_OPT_STRING,
     .def = "/var/lib/hostpulse/es/hostpulse-%Y.%m.%d.ndjson",
     .help = "file name: strftime conversions on each message's UTC time (a new file per "
             "day), {host}, {reporter}, {session}",
     HP_AT_STR(struct es_file, path_tmpl)},
    {.name = "index",
     .type = HP_OPT_STRING,
     .def = "hostpulse-{reporter}-%Y.%m.%d",
     .help = "index name in the action lines: {host}, {reporter}, {session}, strftime "
             "conversions on the message's UTC time",
     HP_AT_STR(struct es_file, index)},
    {.name = "fsync",
     .type = HP_OPT_BOOL,
     .def = "false",
     .help = "fsync each write before confirming it (slower, survives power loss)",
     HP_AT_BOOL(struct es_file, fsync)},
    {0},
};

static int es_file_init(struct hp_sink *s, const config_setting_t *cfg, struct hp_errs *errs)
{
    struct es_file *f = s->priv;
    char why[200];
    f->fd = -1;
    if (hp_es_index_compile(&f->index_t, f->index, why, sizeof(why)) != 0) {
        hp_errs_add(errs, hp_setting_at(cfg, "index"), "sink %s: index \"%s\" %s", s->name,
                    f->index, why);
        return -1;
    }
    if (!f->path_tmpl || !*f->path_tmpl) {
        hp_errs_add(errs, hp_setting_at(cfg, "path"), "sink %s: path must not be empty", s->name);
        return -1;
    }
    if (hp_tmpl_compile_opt(&f->path_t, f->path_tmpl, HP_ES_INDEX_PARTS, cfg, "path", s->name,
                            errs) != 0)
        return -1;
    return hp_es_bulk_init(&f->bulk);
}

static void es_file_fini(struct hp_sink *s)
{
    struct es_file *f = s->priv;
    close_file(f);
    hp_es_bulk_free(&f->bulk);
    hp_file_batch_free(&f->run);
}

const struct hp_sink_ops hp_sink_es_file = {
    .type = "es-file",
    .opts = es_file_opts,
    .priv_size = sizeof(struct es_file),
    .init = es_file_init,
    .write = es_file_write,
    .close = es_file_close,
    .fini = es_file_fini,
    .check = es_file_check,
};
