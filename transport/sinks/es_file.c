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
 * reopened. */
#include "transport/sinks/es_bulk.h"
#include "transport/sink.h"

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
    const char *path_tmpl;
    const char *index;
    bool fsync;
    int fd;
    char path[1024]; /* the open file ("" when none) */
    off_t size;      /* its size before the pending run */
    struct hp_es_bulk bulk;
    uint64_t *acks; /* backlog positions of the pending run */
    size_t nacks, capacks;
};

static int file_name(const struct es_file *f, int64_t ts_ms, char *buf, size_t len)
{
    time_t t = (time_t)(ts_ms >= 0 ? ts_ms / 1000 : 0);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return -1;
    size_t n = strftime(buf, len, f->path_tmpl, &tm);
    return n > 0 && n < len ? 0 : -1;
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
    if (f->bulk.body.len == 0)
        return 0;
    ssize_t w = write(f->fd, f->bulk.body.p, f->bulk.body.len);
    int err = errno;
    if (w != (ssize_t)f->bulk.body.len || (f->fsync && fsync(f->fd) != 0)) {
        if (w >= 0 && w != (ssize_t)f->bulk.body.len)
            err = ENOSPC; /* a short write to a regular file: the disk is full */
        if (ftruncate(f->fd, f->size) != 0)
            hp_warn("sink %s: cannot cut %s back after a failed write", s->name, f->path);
        hp_es_bulk_reset(&f->bulk);
        f->nacks = 0;
        return hp_sink_fail(s, "write %s: %s", f->path, strerror(err));
    }
    f->size += (off_t)f->bulk.body.len;
    hp_es_bulk_reset(&f->bulk);
    for (size_t i = 0; i < f->nacks; i++)
        hp_sink_ack(s, f->acks[i], HP_ACK_OK);
    f->nacks = 0;
    return 0;
}

static int add(struct hp_sink *s, const struct hp_out *o)
{
    struct es_file *f = s->priv;
    char path[1024];
    if (file_name(f, o->msg->ts_ms, path, sizeof(path)) != 0)
        return hp_sink_fail(s, "path template gives an empty or too long name");
    if (strcmp(path, f->path) != 0 && (flush_run(s) != 0 || open_file(s, path) != 0))
        return -1;
    if (f->nacks == f->capacks) {
        size_t cap = f->capacks ? f->capacks * 2 : 256;
        uint64_t *a = realloc(f->acks, cap * sizeof(*a));
        if (!a)
            return hp_sink_fail(s, "out of memory");
        f->acks = a;
        f->capacks = cap;
    }
    int rc = hp_es_bulk_add(&f->bulk, f->index, o->msg);
    if (rc < 0)
        return hp_sink_fail(s, "out of memory");
    if (rc > 0) {
        hp_warn("sink %s: dropping a message that is not an envelope (%s #%llu)", s->name,
                o->msg->reporter, (unsigned long long)o->msg->seq);
        hp_sink_ack(s, o->pos, HP_ACK_DROP);
        return 0;
    }
    f->acks[f->nacks++] = o->pos;
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
    hp_es_bulk_reset(&f->bulk);
    f->nacks = 0;
    return rc ? -1 : (int)n;
}

static int es_file_open(struct hp_sink *s)
{
    (void)s; /* files are opened on demand, per message day */
    return 0;
}

static void es_file_close(struct hp_sink *s)
{
    struct es_file *f = s->priv;
    close_file(f);
    hp_es_bulk_reset(&f->bulk);
    f->nacks = 0;
}

/* --check --connect: the file of today can be opened for appending. */
static int es_file_check(struct hp_sink *s)
{
    struct es_file *f = s->priv;
    char path[1024];
    s->error[0] = '\0';
    int rc = file_name(f, (int64_t)time(NULL) * 1000, path, sizeof(path)) != 0
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
     .help = "file name, strftime(3) on each message's UTC time: a new file per day"},
    {.name = "index",
     .type = HP_OPT_STRING,
     .def = "hostpulse-%Y.%m.%d",
     .help = "index name in the action lines: {reporter}, then strftime on the UTC time"},
    {.name = "fsync",
     .type = HP_OPT_BOOL,
     .def = "false",
     .help = "fsync each write before confirming it (slower, survives power loss)"},
    {0},
};

static int es_file_init(struct hp_sink *s, const config_setting_t *cfg, struct hp_errs *errs)
{
    struct es_file *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    s->priv = f;
    f->fd = -1;
    f->path_tmpl = hp_opt_string(cfg, es_file_opts, "path");
    f->index = hp_opt_string(cfg, es_file_opts, "index");
    f->fsync = hp_opt_bool(cfg, es_file_opts, "fsync");
    const char *why = hp_es_index_check(f->index);
    if (why) {
        hp_errs_add(errs, cfg, "sink %s: index \"%s\" %s", s->name, f->index, why);
        return -1;
    }
    if (!f->path_tmpl || !*f->path_tmpl) {
        hp_errs_add(errs, cfg, "sink %s: path must not be empty", s->name);
        return -1;
    }
    return hp_es_bulk_init(&f->bulk);
}

static void es_file_fini(struct hp_sink *s)
{
    struct es_file *f = s->priv;
    if (!f)
        return;
    close_file(f);
    hp_es_bulk_free(&f->bulk);
    free(f->acks);
    free(f);
    s->priv = NULL;
}

const struct hp_sink_ops hp_sink_es_file = {
    .type = "es-file",
    .opts = es_file_opts,
    .init = es_file_init,
    .open = es_file_open,
    .write = es_file_write,
    .close = es_file_close,
    .fini = es_file_fini,
    .check = es_file_check,
};
