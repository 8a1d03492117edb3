/* SPDX-License-Identifier: Apache-2.0 */
/* csv.c -- the CSV sink: one file per reporter, <directory>/<reporter>.csv,
 * plus one per group of per-device records, <reporter>.<group>.csv.
 *
 * Columns are ts (the envelope's sample time, epoch milliseconds), host,
 * session, seq, then the message's data flattened with dots and prefixed by
 * the reporter ("cpu.user", "cpu.times.user"). With header_units (the
 * default) a header cell names the field's unit from the schema
 * (lib/units.h): "ts [epoch_ms]", "net.total.bytes_recv [B]"; counts and
 * fields the schema does not know get none. Deprecated fields get no
 * column. A file whose header is not what this build writes (an older
 * "timestamp" file, another header_units, a unit changed) is moved aside at
 * open, never appended to. A member of data that holds
 * per-device records -- an object whose values are all objects (or all
 * arrays of objects), or an array of objects: net.interfaces, cpu.cpus,
 * disk.filesystems -- is not flattened into columns (names of interfaces,
 * CPUs and mounts would become column names, different on every host): it
 * goes to <reporter>.<group>.csv, one row per device, with a `device`
 * column (the key, or the array index) and the record's fields flattened.
 * A message's rows are confirmed together, once every file is written.
 *
 * A new column in a file of at most rewrite_bytes is added by rewriting the
 * file with the wider header (old rows get empty cells), so a first start's
 * second self-report does not move a one-row file aside. The header is written
 * when a file is created; an existing file is appended to with the header it
 * already has. A torn last line (crash mid-write) is cut off when the file
 * is reopened.
 *
 * The current file is moved aside as <reporter>-<UTC time of its first
 * row>.csv (20261121T000000Z; -1, -2 ... on a clash) and a new one started:
 * - when a message brings a column the header lacks and the file is larger
 *   than rewrite_bytes (the new header keeps the old columns, in order, and
 *   adds the new ones), so every row always matches its file's header;
 * - with rotate = "daily", when a message's UTC day is later than the day of
 *   the file's first row (message time, not the clock: a late backlog stays
 *   with its day's neighbours; an older message is appended, never moved
 *   back);
 * - with rotate = "size", when the file has reached max_bytes (so a file
 *   holds at most max_bytes plus one message's rows).
 * Only between messages: a message's rows in one file already queued
 * follow it into the changed file, padded to its wider header.
 *
 * A message is confirmed once its rows are written (and fsync'd with
 * fsync = true): at the end of write(), and before a file is moved aside or
 * rewritten in the middle of one (every message before that point is then
 * written and confirmed: commit). On a write error every file is truncated
 * back to its size at the last commit and the messages after it are not
 * confirmed, so a retry never duplicates a row (none is in a file moved
 * aside) nor loses one. */
#include "lib/buf.h"
#include "lib/json_read.h"
#include "lib/template.h"
#include "lib/units.h"
#include "transport/filebatch.h"
#include "transport/sink.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LEAD_COLS 4 /* ts, host, session, seq */
static const char *const lead_cols[LEAD_COLS] = {"ts", "host", "session", "seq"};
#define TS_HEADER "ts [epoch_ms]" /* lead_cols[0] with its unit */

#define STEM_MAX 80 /* "<reporter>.<group>" */

struct csv_file {
    char reporter[STEM_MAX]; /* the file's stem: a reporter, or reporter.group */
    size_t rlen;             /* length of the reporter's name at the start of the stem */
    int fd;
    char **cols; /* data columns (after the lead ones) */
    size_t ncols;
    json_object *index; /* column name -> position in cols */
    /* The flattened keys of the last row queued (c->buf, NUL-separated)
     * and their positions in cols (-1: a deprecated field, no column). A
     * reporter sends the same keys in the same order sample after sample:
     * a row with exactly these keys needs no lookup in index. Forgotten
     * when the columns are cleared. */
    struct hp_buf shape;
    int32_t *shape_at;
    size_t cap_at;
    struct hp_buf pending;     /* rows of the batch being written */
    size_t msg_at;             /* of them, the bytes before the current message's rows */
    struct hp_file_batch rows; /* their messages */
    off_t size_before;
    off_t batch_start; /* size when the current write() began: cut back to it on failure */
    off_t hdr_end;     /* bytes of the header line */
    int64_t first_ms;  /* time of the file's first row; -1 when it has none */
};

enum csv_rotate { ROTATE_NONE, ROTATE_DAILY, ROTATE_SIZE };

struct csv {
    /* options (csv_opts) */
    const char *dir_tmpl;
    bool fsync;
    int rotate; /* enum csv_rotate: the order of rotate_modes */
    int64_t max_bytes;
    int64_t rewrite_bytes;
    int64_t max_files;
    bool header_units;
    /* derived at init */
    char directory[768]; /* dir_tmpl with this agent's {host} and {session} */
    struct csv_file *files;
    size_t nfiles;
    struct hp_json jt; /* the message being written, parsed (reused) */
    /* flattening scratch: keys as offsets into buf; values point into jt
     * (or at a device name), valid until the next message */
    struct hp_buf buf;
    size_t *koff, nflat, capk, capv;
    const char **val;
    const char **row; /* queue_row's cells, one per column (reused) */
    size_t caprow;
    struct hp_file_batch acks; /* the messages of the current write() */
    struct hp_buf carry;       /* a message's rows following it into a changed file */
    char path[1024];
};

static int sb_put(struct hp_buf *b, const char *s, size_t n)
{
    return hp_buf_put(b, s, n);
}

static int sb_str(struct hp_buf *b, const char *s)
{
    return sb_put(b, s, strlen(s));
}

/* Append s as one CSV field (RFC 4180 quoting when needed). */
static int sb_field(struct hp_buf *b, const char *s)
{
    if (!s)
        return 0;
    if (!strpbrk(s, ",\"\r\n"))
        return sb_str(b, s);
    int rc = sb_put(b, "\"", 1);
    for (const char *q = s; *q && rc == 0; q++)
        rc = *q == '"' ? sb_put(b, "\"\"", 2) : sb_put(b, q, 1);
    return rc ? rc : sb_put(b, "\"", 1);
}

/* ---- flattening ------------------------------------------------------ */

static int flat_add(struct csv *c, const char *key, size_t klen, const char *val)
{
    if (klen && key[0] == '.') { /* a device record's field: no prefix */
        key++;
        klen--;
    }
    if (hp_grow(&c->koff, &c->capk, c->nflat + 1, sizeof(*c->koff)) != 0 ||
        hp_grow(&c->val, &c->capv, c->nflat + 1, sizeof(*c->val)) != 0)
        return -1;
    c->koff[c->nflat] = c->buf.len;
    if (sb_put(&c->buf, key, klen) || sb_put(&c->buf, "", 1))
        return -1;
    c->buf.len++; /* keep the NUL */
    c->val[c->nflat++] = val;
    return 0;
}

/* v in decimal at out (at least 21 bytes), NUL-terminated; its length. */
static size_t csv_utoa(char *out, uint64_t v)
{
    char t[20];
    size_t n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = t[n - 1 - i];
    out[n] = '\0';
    return n;
}

/* key (klen bytes) + "." + the n bytes at s; the new length, or 0 when it
 * would not fit in kcap (the member is then left out). */
static size_t key_append(char *key, size_t klen, size_t kcap, const char *s, size_t n)
{
    if (klen + 1 + n >= kcap)
        return 0;
    key[klen] = '.';
    memcpy(key + klen + 1, s, n);
    key[klen + 1 + n] = '\0';
    return klen + 1 + n;
}

/* Flatten node o of c->jt under key (klen bytes): one value per scalar,
 * keyed by the path of member names and array indexes. Scalars keep their
 * JSON text (numbers as written, strings unescaped; null is empty). */
static int flatten(struct csv *c, const struct hp_jnode *o, char *key, size_t klen, size_t kcap)
{
    const struct hp_json *t = &c->jt;
    if (o->type == HP_JOBJECT) {
        for (const struct hp_jnode *x = hp_json_child(t, o); x; x = hp_json_next(t, x)) {
            const char *k = x->key;
            size_t n = key_append(key, klen, kcap, k, strlen(k));
            if (n && flatten(c, x, key, n, kcap))
                return -1;
        }
        return 0;
    }
    if (o->type == HP_JARRAY) {
        size_t i = 0;
        for (const struct hp_jnode *x = hp_json_child(t, o); x; x = hp_json_next(t, x), i++) {
            char idx[24];
            size_t ilen = csv_utoa(idx, i);
            size_t n = key_append(key, klen, kcap, idx, ilen);
            if (n && flatten(c, x, key, n, kcap))
                return -1;
        }
        return 0;
    }
    return flat_add(c, key, klen, hp_json_text(o));
}

/* ---- files ----------------------------------------------------------- */

static void file_clear_header(struct csv_file *f)
{
    for (size_t i = 0; i < f->ncols; i++)
        free(f->cols[i]);
    free(f->cols);
    f->cols = NULL;
    f->ncols = 0;
    json_object_put(f->index);
    f->index = json_object_new_object();
    f->shape.len = 0;
}

static int file_add_col(struct csv_file *f, const char *name)
{
    char **cols = realloc(f->cols, (f->ncols + 1) * sizeof(*cols));
    if (!cols)
        return -1;
    f->cols = cols;
    f->cols[f->ncols] = strdup(name);
    if (!f->cols[f->ncols])
        return -1;
    json_object_object_add(f->index, name, json_object_new_int64((int64_t)f->ncols));
    f->ncols++;
    return 0;
}

/* ---- units in headers ------------------------------------------------ */

/* The schema's row for column key of f (lib/units.h): in <reporter>.csv
 * the key without its "<reporter>." prefix; in <reporter>.<group>.csv the
 * field of any device's record, group.*.key (group.*.*.key when a device
 * has a list of records). NULL for `device` and for fields the schema does
 * not know (exec reporters). */
static const struct hp_unit *col_unit(const struct csv_file *f, const char *key)
{
    char rep[STEM_MAX], path[700];
    snprintf(rep, sizeof(rep), "%.*s", (int)f->rlen, f->reporter);
    const char *group = f->reporter[f->rlen] == '.' ? f->reporter + f->rlen + 1 : NULL;
    if (!group)
        return strncmp(key, rep, f->rlen) == 0 && key[f->rlen] == '.'
                   ? hp_unit_find(rep, key + f->rlen + 1)
                   : NULL;
    snprintf(path, sizeof(path), "%s.*.%s", group, key);
    const struct hp_unit *u = hp_unit_find(rep, path);
    if (!u) {
        snprintf(path, sizeof(path), "%s.*.*.%s", group, key);
        u = hp_unit_find(rep, path);
    }
    return u;
}

/* A deprecated field gets no column (message-format.md). */
static bool col_deprecated(const struct csv_file *f, const char *key)
{
    const struct hp_unit *u = col_unit(f, key);
    return u && u->deprecated;
}

/* The header cell of column key: "key [unit]" with header_units when the
 * field has a unit (a count, "1", has none); else the key. */
static const char *col_header(const struct csv *c, const struct csv_file *f, const char *key,
                              char *buf, size_t len)
{
    const struct hp_unit *u = c->header_units ? col_unit(f, key) : NULL;
    if (!u || strcmp(u->unit, "1") == 0)
        return key;
    snprintf(buf, len, "%s [%s]", key, u->unit);
    return buf;
}

static const char *lead_header(const struct csv *c, size_t i)
{
    return i == 0 && c->header_units ? TS_HEADER : lead_cols[i];
}

/* The column key of an existing file's header cell: "KEY [UNIT]" of a
 * field the schema knows is KEY if this build writes KEY's cell so (-1 if
 * not: a unit changed, header_units switched); any other text is the key
 * itself if this build would write it so. On -1 the file is moved aside. */
static int header_key(const struct csv *c, const struct csv_file *f, const char *text, char *key,
                      size_t len)
{
    char buf[700];
    const char *open = NULL;
    for (const char *p = strstr(text, " ["); p; p = strstr(p + 1, " ["))
        open = p;
    size_t n = strlen(text);
    if (open && text[n - 1] == ']' && (size_t)(open - text) < len) {
        snprintf(key, len, "%.*s", (int)(open - text), text);
        if (col_unit(f, key)) /* a field of the schema: exactly as this build writes it */
            return strcmp(col_header(c, f, key, buf, sizeof(buf)), text) == 0 ? 0 : -1;
    }
    if (n >= len)
        return -1;
    snprintf(key, len, "%s", text);
    return strcmp(col_header(c, f, key, buf, sizeof(buf)), text) == 0 ? 0 : -1;
}

static int add_parsed_col(const struct csv *c, struct csv_file *f, const char *text)
{
    char key[600];
    return header_key(c, f, text, key, sizeof(key)) == 0 ? file_add_col(f, key) : -1;
}

/* Add the flattened keys f lacks to its columns, in order; a deprecated
 * one is indexed as -1 (known, no column). */
static int add_new_cols(const struct csv *c, struct csv_file *f)
{
    for (size_t i = 0; i < c->nflat; i++) {
        const char *k = c->buf.p + c->koff[i];
        if (json_object_object_get_ex(f->index, k, NULL))
            continue;
        if (col_deprecated(f, k))
            json_object_object_add(f->index, k, json_object_new_int64(-1));
        else if (file_add_col(f, k) != 0)
            return -1;
    }
    return 0;
}

/* Does the message in c bring a field f has no column for? Deprecated
 * fields are indexed as -1 on the way, so they are asked about once. */
static bool lacks_columns(const struct csv *c, struct csv_file *f)
{
    bool missing = false;
    for (size_t i = 0; i < c->nflat && !missing; i++) {
        const char *k = c->buf.p + c->koff[i];
        if (json_object_object_get_ex(f->index, k, NULL))
            continue;
        if (col_deprecated(f, k))
            json_object_object_add(f->index, k, json_object_new_int64(-1));
        else
            missing = true;
    }
    return missing;
}

/* Split one CSV header line into columns (quotes honoured); -1 when it is
 * not a header this build writes. */
static int parse_header(const struct csv *c, struct csv_file *f, const char *line, size_t len)
{
    file_clear_header(f);
    struct hp_buf cell = {0};
    size_t col = 0;
    bool quoted = false;
    int rc = 0;
    for (size_t i = 0; i <= len && rc == 0; i++) {
        char ch = i < len ? line[i] : ',';
        if (quoted) {
            if (ch == '"' && i + 1 < len && line[i + 1] == '"')
                rc = sb_put(&cell, "\"", 1), i++;
            else if (ch == '"')
                quoted = false;
            else
                rc = sb_put(&cell, &ch, 1);
        } else if (ch == '"') {
            quoted = true;
        } else if (ch == ',') {
            const char *name = cell.p ? cell.p : "";
            if (col < LEAD_COLS ? strcmp(name, lead_header(c, col)) != 0
                                : add_parsed_col(c, f, name) != 0)
                rc = -1;
            col++;
            cell.len = 0;
            if (cell.p)
                cell.p[0] = '\0';
        } else if (ch != '\r') {
            rc = sb_put(&cell, &ch, 1);
        }
    }
    free(cell.p);
    return rc == 0 && col >= LEAD_COLS ? 0 : -1;
}

/* The time of a file's first row (row .. end), from its first cell: epoch
 * ms, or seconds with milliseconds in a file from before `ts`
 * (1763769599.900), so that a file moved aside is named after its own
 * first row. -1 without a complete row. */
static int64_t first_row_ms(const char *row, const char *end)
{
    const char *comma = memchr(row, ',', (size_t)(end - row));
    char cell[32], *stop;
    size_t n = comma ? (size_t)(comma - row) : 0;
    if (!n || n >= sizeof(cell) || !memchr(comma, '\n', (size_t)(end - comma)))
        return -1;
    memcpy(cell, row, n);
    cell[n] = '\0';
    if (strchr(cell, '.')) {
        double sec = strtod(cell, &stop);
        return *stop == '\0' && sec >= 0 ? (int64_t)(sec * 1000.0 + 0.5) : -1;
    }
    long long ms = strtoll(cell, &stop, 10);
    return *stop == '\0' && ms >= 0 ? ms : -1;
}

/* Read the header of an existing file and cut a torn last line. Returns -1
 * when the file has no header this build writes (it is then moved aside,
 * named after its first row). */
static int adopt_existing(const struct csv *c, struct csv_file *f, off_t size)
{
    char buf[65536];
    ssize_t n = pread(f->fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return -1;
    char *nl = memchr(buf, '\n', (size_t)n);
    if (!nl)
        return -1;
    f->first_ms = first_row_ms(nl + 1, buf + n);
    if (parse_header(c, f, buf, (size_t)(nl - buf)) != 0)
        return -1;
    off_t hdr_end = nl - buf + 1;
    f->hdr_end = hdr_end;
    /* Find the last newline; everything after it is a torn row. */
    off_t end = size;
    while (end > hdr_end) {
        off_t from = end - (off_t)sizeof(buf) > hdr_end ? end - (off_t)sizeof(buf) : hdr_end;
        ssize_t m = pread(f->fd, buf, (size_t)(end - from), from);
        if (m <= 0)
            return -1;
        char *last = memrchr(buf, '\n', (size_t)m);
        if (last) {
            end = from + (last - buf) + 1;
            break;
        }
        end = from;
    }
    if (end < size && ftruncate(f->fd, end) != 0)
        return -1;
    return 0;
}

static int write_header(const struct csv *c, struct csv_file *f)
{
    struct hp_buf h = {0};
    char cell[700];
    int rc = 0;
    for (size_t i = 0; i < LEAD_COLS && rc == 0; i++)
        rc = sb_str(&h, i ? "," : "") || sb_str(&h, lead_header(c, i));
    for (size_t i = 0; i < f->ncols && rc == 0; i++)
        rc = sb_str(&h, ",") || sb_field(&h, col_header(c, f, f->cols[i], cell, sizeof(cell)));
    rc = rc ? rc : sb_str(&h, "\n");
    ssize_t w = rc == 0 ? write(f->fd, h.p, h.len) : 0;
    if (rc == 0 && w != (ssize_t)h.len) {
        if (w >= 0)
            errno = ENOSPC; /* a short write to a regular file: the disk is full */
        rc = -1;
    }
    free(h.p);
    return rc;
}

static int open_file(struct hp_sink *s, struct csv_file *f)
{
    struct csv *c = s->priv;
    snprintf(c->path, sizeof(c->path), "%s/%s.csv", c->directory, f->reporter);
    f->fd = open(c->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (f->fd < 0)
        return hp_sink_fail(s, "open %s: %s", c->path, strerror(errno));
    struct stat st;
    if (fstat(f->fd, &st) != 0)
        return hp_sink_fail(s, "stat %s: %s", c->path, strerror(errno));
    file_clear_header(f);
    f->hdr_end = 0;
    f->first_ms = -1;
    if (st.st_size > 0 && adopt_existing(c, f, st.st_size) != 0) {
        hp_info("sink %s: %s: its header is not the one this version writes (columns ts, "
                "units; docs/csv.md): moved aside",
                s->name, c->path);
        close(f->fd);
        f->fd = -1;
        return 1; /* unusable: caller moves it aside */
    }
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keep at most max_files files of f's stem (the current one and the
 * newest rotated ones; the names sort by time): remove the oldest. */
static void prune(struct hp_sink *s, struct csv_file *f)
{
    struct csv *c = s->priv;
    if (c->max_files <= 0)
        return;
    DIR *d = opendir(c->directory);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0, cap = 0, len = strlen(f->reporter);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, f->reporter, len) != 0 || e->d_name[len] != '-' || l < 4 ||
            strcmp(e->d_name + l - 4, ".csv") != 0)
            continue;
        if (hp_grow(&names, &cap, n + 1, sizeof(*names)) != 0 || !(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    if (!names)
        return;
    qsort(names, n, sizeof(*names), cmp_names);
    size_t keep = (size_t)c->max_files - 1, removed = 0;
    for (size_t i = 0; i < n; i++) {
        char path[1100];
        snprintf(path, sizeof(path), "%s/%s", c->directory, names[i]);
        if (i + keep < n && unlink(path) == 0)
            removed++;
        free(names[i]);
    }
    free(names);
    if (removed)
        hp_info("sink %s: %s: %zu oldest file(s) removed (max_files %lld)", s->name, f->reporter,
                removed, (long long)c->max_files);
}

/* Move <reporter>.csv aside as <reporter>-<UTC time of its first row>.csv
 * (the clock's time when it has no row). */
static int rotate(struct hp_sink *s, struct csv_file *f)
{
    struct csv *c = s->priv;
    char from[1024], to[1100], stamp[32];
    time_t t = f->first_ms >= 0 ? (time_t)(f->first_ms / 1000) : time(NULL);
    struct tm tm;
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime_r(&t, &tm));
    snprintf(from, sizeof(from), "%s/%s.csv", c->directory, f->reporter);
    snprintf(to, sizeof(to), "%s/%s-%s.csv", c->directory, f->reporter, stamp);
    for (int i = 1; access(to, F_OK) == 0 && i < 1000; i++)
        snprintf(to, sizeof(to), "%s/%s-%s-%d.csv", c->directory, f->reporter, stamp, i);
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (rename(from, to) != 0 && errno != ENOENT)
        return hp_sink_fail(s, "rename %s: %s", from, strerror(errno));
    hp_info("sink %s: %s.csv rotated to %s", s->name, f->reporter, to);
    prune(s, f);
    return 0;
}

/* The file of stem (a reporter, or reporter.group: rlen is the length of
 * the reporter's name in it), made on first use. */
static struct csv_file *get_file(struct hp_sink *s, const char *reporter, size_t rlen)
{
    struct csv *c = s->priv;
    for (size_t i = 0; i < c->nfiles; i++)
        if (strcmp(c->files[i].reporter, reporter) == 0)
            return &c->files[i];
    struct csv_file *files = realloc(c->files, (c->nfiles + 1) * sizeof(*files));
    if (!files)
        return NULL;
    c->files = files;
    struct csv_file *f = &files[c->nfiles++];
    memset(f, 0, sizeof(*f));
    snprintf(f->reporter, sizeof(f->reporter), "%s", reporter);
    f->rlen = rlen < sizeof(f->reporter) ? rlen : 0;
    f->fd = -1;
    f->index = json_object_new_object();
    return f;
}

/* Write f's rows queued before the current message (fsync'd if asked);
 * the current message's rows stay queued. On error the file is cut back
 * to its size before this write. */
static int write_head(struct hp_sink *s, struct csv_file *f)
{
    struct csv *c = s->priv;
    char path[1024];
    struct hp_buf head = f->pending;
    head.len = f->msg_at;
    int rc = 0;
    if (head.len) { /* most files have nothing queued in a small batch */
        snprintf(path, sizeof(path), "%s/%s.csv", c->directory, f->reporter);
        rc = hp_file_batch_write(&f->rows, s, f->fd, &head, &f->size_before, c->fsync, path);
    } else {
        f->rows.n = 0;
    }
    size_t keep = f->pending.len - f->msg_at;
    if (keep)
        memmove(f->pending.p, f->pending.p + f->msg_at, keep);
    if (f->pending.p)
        f->pending.p[keep] = '\0';
    f->pending.len = keep;
    f->msg_at = 0;
    if (rc != 0 && f->size_before <= f->hdr_end)
        f->first_ms = -1;
    return rc;
}

/* The current message's rows start here: what each file has queued so
 * far belongs to the messages before it. */
static void message_starts(struct csv *c)
{
    for (size_t i = 0; i < c->nfiles; i++)
        c->files[i].msg_at = c->files[i].pending.len;
}

/* Write every file's rows of the messages before the current one and
 * confirm those messages: what the batch wrote so far is final, so a file
 * can then be moved aside or rewritten, and a failure later in the batch
 * has a retry write only the messages after these. */
static int commit(struct hp_sink *s)
{
    struct csv *c = s->priv;
    for (size_t i = 0; i < c->nfiles; i++)
        if (write_head(s, &c->files[i]) != 0)
            return -1;
    for (size_t i = 0; i < c->acks.n; i++)
        hp_sink_ack(s, c->acks.pos[i], HP_ACK_OK);
    c->acks.n = 0;
    for (size_t i = 0; i < c->nfiles; i++)
        c->files[i].batch_start = c->files[i].size_before;
    return 0;
}

/* Add the flattened keys f lacks to its columns and write the header to
 * its (empty) file. */
static int start_header(struct hp_sink *s, struct csv_file *f)
{
    struct csv *c = s->priv;
    if (add_new_cols(c, f) != 0)
        return hp_sink_fail(s, "out of memory");
    if (write_header(c, f) != 0) {
        int err = errno;
        if (ftruncate(f->fd, 0) != 0) /* no torn header left behind */
            hp_warn("sink %s: cannot cut %s.csv back after a failed write", s->name, f->reporter);
        return hp_sink_fail(s, "write %s/%s.csv: %s", c->directory, f->reporter, strerror(err));
    }
    f->hdr_end = f->size_before = f->batch_start = lseek(f->fd, 0, SEEK_END);
    f->first_ms = -1;
    return 0;
}

/* Move f aside and start a new file whose header has the old columns, in
 * order, and the new ones (nothing of f is queued). */
static int roll(struct hp_sink *s, struct csv_file *f)
{
    char **old = f->cols;
    size_t nold = f->ncols;
    f->cols = NULL;
    f->ncols = 0;
    f->shape.len = 0;
    int rc = rotate(s, f) != 0 || open_file(s, f) != 0 ? -1 : 0;
    for (size_t i = 0; i < nold; i++) {
        if (rc == 0 && file_add_col(f, old[i]) != 0)
            rc = hp_sink_fail(s, "out of memory");
        free(old[i]);
    }
    free(old);
    if (rc)
        return -1;
    f->size_before = lseek(f->fd, 0, SEEK_END);
    return start_header(s, f);
}

/* Append the n bytes of rows at in to out, each row with `extra` empty
 * cells added before its line end (quotes honoured: a quoted cell may hold
 * a newline; *quoted carries that across calls). 0, or -1 on ENOMEM. */
static int pad_rows(struct hp_buf *out, const char *in, size_t n, size_t extra, bool *quoted)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (in[i] == '"')
            *quoted = !*quoted;
        for (size_t k = 0; in[i] == '\n' && !*quoted && k < extra && rc == 0; k++)
            rc = sb_put(out, ",", 1);
        rc = rc ? rc : sb_put(out, &in[i], 1);
    }
    return rc;
}

/* Copy the rows of f's file after its header to fd, padded as pad_rows
 * does. Returns 0, or -1 with errno. */
static int copy_padded(struct csv_file *f, int fd, size_t extra)
{
    char in[65536];
    struct hp_buf out = {0};
    bool quoted = false;
    off_t off = f->hdr_end;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = pread(f->fd, in, sizeof(in), off)) > 0) {
        rc = pad_rows(&out, in, (size_t)n, extra, &quoted);
        off += n;
        if (rc == 0 && out.len && write(fd, out.p, out.len) != (ssize_t)out.len)
            rc = -1;
        out.len = 0;
    }
    free(out.p);
    return rc == 0 && n == 0 ? 0 : -1;
}

/* Add the flattened keys f lacks to its header by rewriting its file
 * (nothing of f is queued): a temporary file with the wider header
 * and the old rows padded replaces it. */
static int widen(struct hp_sink *s, struct csv_file *f)
{
    struct csv *c = s->priv;
    size_t before = f->ncols;
    if (add_new_cols(c, f) != 0)
        return hp_sink_fail(s, "out of memory");
    char path[1024], tmp[1100];
    snprintf(path, sizeof(path), "%s/%s.csv", c->directory, f->reporter);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return hp_sink_fail(s, "open %s: %s", tmp, strerror(errno));
    int old = f->fd;
    f->fd = fd;
    int rc = write_header(c, f);
    off_t hdr = lseek(fd, 0, SEEK_END);
    f->fd = old;
    if (rc == 0)
        rc = copy_padded(f, fd, f->ncols - before);
    if (rc == 0 && c->fsync)
        rc = fsync(fd);
    if (rc != 0 || rename(tmp, path) != 0) {
        int err = errno;
        close(fd);
        unlink(tmp);
        return hp_sink_fail(s, "write %s: %s", tmp, strerror(err ? err : ENOSPC));
    }
    close(old);
    if (fcntl(fd, F_SETFL, O_APPEND) != 0) /* appends from now on */
        hp_warn("sink %s: %s: %s", s->name, path, strerror(errno));
    f->fd = fd;
    f->hdr_end = hdr;
    f->size_before = f->batch_start = lseek(fd, 0, SEEK_END);
    hp_info("sink %s: %s.csv: %zu column(s) added, rows kept", s->name, f->reporter,
            f->ncols - before);
    return 0;
}

/* Whether f is due to be moved aside before the current message's rows:
 * by its rows before them (a message's rows never straddle two files). */
static bool time_to_rotate(const struct csv *c, const struct csv_file *f, int64_t ts_ms)
{
    off_t size = f->size_before + (off_t)f->msg_at;
    if (size <= f->hdr_end)
        return false; /* no row yet */
    if (c->rotate == ROTATE_DAILY)
        return f->first_ms >= 0 && ts_ms / 86400000 > f->first_ms / 86400000;
    return c->rotate == ROTATE_SIZE && size >= c->max_bytes;
}

/* Open f's file at the first write after an open (moving aside one whose
 * header this build does not write). */
static int reopen(struct hp_sink *s, struct csv_file *f)
{
    int rc = open_file(s, f);
    if (rc < 0)
        return -1;
    if (rc > 0 && (rotate(s, f) != 0 || open_file(s, f) != 0))
        return -1;
    f->size_before = f->batch_start = lseek(f->fd, 0, SEEK_END);
    return 0;
}

/* A header without rows gets the new columns by being written again. */
static int rewrite_header(struct hp_sink *s, struct csv_file *f)
{
    struct csv *c = s->priv;
    if (ftruncate(f->fd, 0) != 0)
        return hp_sink_fail(s, "truncate %s/%s.csv: %s", c->directory, f->reporter,
                            strerror(errno));
    f->size_before = 0;
    return start_header(s, f);
}

/* f is due to be moved aside, or lacks columns for the message at ts_ms.
 * The batch's rows so far are confirmed first (commit), then f is moved
 * aside (due, or too large to rewrite), rewritten wider, or its bare
 * header rewritten; the message's rows already queued for f follow into
 * the changed file, padded to its wider header. */
static int change_file(struct hp_sink *s, struct csv_file *f, bool due, int64_t ts_ms)
{
    struct csv *c = s->priv;
    if (commit(s) != 0)
        return -1;
    struct hp_buf mine = f->pending; /* now the current message's rows alone */
    f->pending = c->carry;
    f->pending.len = 0;
    if (f->pending.p)
        f->pending.p[0] = '\0';
    c->carry = mine;
    size_t before = f->ncols;
    bool rows = f->size_before > f->hdr_end;
    int rc = due || (rows && f->size_before > c->rewrite_bytes) ? roll(s, f)
             : rows                                             ? widen(s, f)
                                                                : rewrite_header(s, f);
    bool quoted = false;
    if (rc == 0 && pad_rows(&f->pending, c->carry.p, c->carry.len, f->ncols - before, &quoted))
        rc = hp_sink_fail(s, "out of memory");
    if (rc == 0 && c->carry.len && f->first_ms < 0)
        f->first_ms = ts_ms;
    c->carry.len = 0;
    return rc;
}

/* Whether the flattened keys in c are those of f's last row. */
static bool same_shape(const struct csv *c, const struct csv_file *f)
{
    return f->shape.len && f->shape.len == c->buf.len &&
           memcmp(f->shape.p, c->buf.p, c->buf.len) == 0;
}

/* The column of each flattened key in c into f->shape_at, through the
 * last row's when the keys are the same, else looked up (and remembered).
 * -1 on ENOMEM. */
static int shape_columns(const struct csv *c, struct csv_file *f)
{
    if (same_shape(c, f))
        return 0;
    if (hp_grow(&f->shape_at, &f->cap_at, c->nflat ? c->nflat : 1, sizeof(*f->shape_at)) != 0)
        return -1;
    for (size_t i = 0; i < c->nflat; i++) {
        json_object *idx;
        f->shape_at[i] = json_object_object_get_ex(f->index, c->buf.p + c->koff[i], &idx)
                             ? (int32_t)json_object_get_int64(idx)
                             : -1;
    }
    f->shape.len = 0;
    if (hp_buf_put(&f->shape, c->buf.p, c->buf.len) != 0)
        f->shape.len = 0; /* not remembered: looked up again next time */
    return 0;
}

/* Make sure f is open, due for no rotation, with a header holding every
 * flattened key of the message at ts_ms. */
static int ensure_columns(struct hp_sink *s, struct csv_file *f, int64_t ts_ms)
{
    struct csv *c = s->priv;
    if (f->fd < 0 && reopen(s, f) != 0)
        return -1;
    bool due = time_to_rotate(c, f, ts_ms);
    if (!due && f->size_before == 0 && f->pending.len == 0)
        return start_header(s, f); /* a new file */
    if (!due && (same_shape(c, f) || !lacks_columns(c, f)))
        return 0;
    return change_file(s, f, due, ts_ms);
}

/* Queue one row on the file named stem from the flattened keys in c
 * (after making the header fit). */
static int queue_row(struct hp_sink *s, const char *stem, const struct hp_msg *m, const char *host,
                     const char *session)
{
    struct csv *c = s->priv;
    struct csv_file *f = get_file(s, stem, strlen(m->reporter));
    if (!f || ensure_columns(s, f, m->ts_ms) != 0)
        return s->error[0] ? -1 : hp_sink_fail(s, "out of memory");
    /* The row: lead columns, then every header column in order. */
    if (hp_grow(&c->row, &c->caprow, f->ncols ? f->ncols : 1, sizeof(*c->row)) != 0 ||
        shape_columns(c, f) != 0)
        return hp_sink_fail(s, "out of memory");
    const char **vals = c->row;
    memset(vals, 0, f->ncols * sizeof(*vals));
    char lead[64];
    if (m->ts_ms >= 0) /* ts: epoch ms */
        csv_utoa(lead, (uint64_t)m->ts_ms);
    else
        snprintf(lead, sizeof(lead), "%lld", (long long)m->ts_ms);
    struct hp_buf *b = &f->pending;
    int rc = sb_str(b, lead) || sb_str(b, ",") || sb_field(b, host) || sb_str(b, ",") ||
             sb_field(b, session);
    lead[0] = ',';
    csv_utoa(lead + 1, m->seq);
    rc = rc || sb_str(b, lead);
    for (size_t i = 0; i < c->nflat; i++) {
        int32_t at = f->shape_at[i];
        if (at >= 0 && (size_t)at < f->ncols) /* -1: a deprecated field, no column */
            vals[at] = c->val[i] ? c->val[i] : "";
    }
    for (size_t i = 0; rc == 0 && i < f->ncols; i++)
        rc = sb_str(b, ",") || sb_field(b, vals[i]);
    rc = rc || sb_str(b, "\n");
    if (rc)
        return hp_sink_fail(s, "out of memory");
    if (f->first_ms < 0)
        f->first_ms = m->ts_ms;
    return 0;
}

/* True if every element of a (an array) is an object. */
static bool all_objects(const struct hp_json *t, const struct hp_jnode *a)
{
    for (const struct hp_jnode *x = hp_json_child(t, a); x; x = hp_json_next(t, x))
        if (x->type != HP_JOBJECT)
            return false;
    return true;
}

/* A group of per-device records: a non-empty array of objects, or a
 * non-empty object whose values are all objects or all arrays of objects. */
static bool is_group(const struct hp_json *t, const struct hp_jnode *v)
{
    if (v->type == HP_JARRAY)
        return v->count > 0 && all_objects(t, v);
    if (v->type != HP_JOBJECT || v->count == 0)
        return false;
    int objects = 0, arrays = 0;
    for (const struct hp_jnode *d = hp_json_child(t, v); d; d = hp_json_next(t, d)) {
        if (d->type == HP_JOBJECT)
            objects++;
        else if (d->type == HP_JARRAY && all_objects(t, d))
            arrays++;
        else
            return false;
    }
    return objects == 0 || arrays == 0;
}

/* Whether a record's field would take the name of a column every device
 * row has (ts, host, session, seq, device). */
static bool is_lead_column(const char *k)
{
    static const char *const lead[] = {"ts", "host", "session", "seq", "device"};
    for (size_t i = 0; i < sizeof(lead) / sizeof(lead[0]); i++)
        if (strcmp(k, lead[i]) == 0)
            return true;
    return false;
}

/* One row of <reporter>.<group>.csv: device, then the record's fields. A
 * field named like a lead column gets the group's name in front
 * (disk.filesystems' own `device`, /dev/vda, is `filesystems.device`),
 * so it never overwrites the row's key. */
static int device_row(struct hp_sink *s, const char *stem, const char *device,
                      const struct hp_jnode *rec, const struct hp_msg *m, const char *host,
                      const char *session)
{
    struct csv *c = s->priv;
    const struct hp_json *t = &c->jt;
    const char *dot = strrchr(stem, '.');
    const char *group = dot ? dot + 1 : stem;
    char key[512] = "";
    c->buf.len = 0;
    c->nflat = 0;
    if (flat_add(c, "device", 6, device) != 0)
        return hp_sink_fail(s, "out of memory");
    if (rec->type != HP_JOBJECT) {
        if (flatten(c, rec, key, 0, sizeof(key)) != 0)
            return hp_sink_fail(s, "out of memory");
        return queue_row(s, stem, m, host, session);
    }
    for (const struct hp_jnode *x = hp_json_child(t, rec); x; x = hp_json_next(t, x)) {
        const char *k = x->key;
        size_t n = is_lead_column(k) ? key_append(key, 0, sizeof(key), group, strlen(group)) : 0;
        n = key_append(key, n, sizeof(key), k, strlen(k));
        if (n && flatten(c, x, key, n, sizeof(key)) != 0)
            return hp_sink_fail(s, "out of memory");
    }
    return queue_row(s, stem, m, host, session);
}

static int group_rows(struct hp_sink *s, const char *stem, const struct hp_jnode *g,
                      const struct hp_msg *m, const char *host, const char *session)
{
    const struct hp_json *t = &((struct csv *)s->priv)->jt;
    char dev[24];
    int rc = 0;
    size_t i = 0;
    if (g->type == HP_JARRAY) {
        for (const struct hp_jnode *x = hp_json_child(t, g); x && rc == 0;
             x = hp_json_next(t, x), i++) {
            csv_utoa(dev, i);
            rc = device_row(s, stem, dev, x, m, host, session);
        }
        return rc;
    }
    for (const struct hp_jnode *r = hp_json_child(t, g); r && rc == 0; r = hp_json_next(t, r)) {
        const char *name = r->key;
        if (r->type == HP_JOBJECT) {
            rc = device_row(s, stem, name, r, m, host, session);
            continue;
        }
        for (const struct hp_jnode *x = hp_json_child(t, r); x && rc == 0; x = hp_json_next(t, x))
            rc = device_row(s, stem, name, x, m, host, session);
    }
    return rc;
}

/* The data of message m parsed into c->jt, with its envelope's host and
 * session; NULL when m is not an envelope (a JSON object with data). */
static const struct hp_jnode *parse_envelope(struct csv *c, const struct hp_msg *m,
                                             const char **host, const char **session)
{
    c->jt.any_bytes = true;    /* strings' bytes as the message had them */
    c->jt.text_numbers = true; /* numbers are written as the message had them */
    if (hp_json_parse(&c->jt, m->json, m->len) != 0 || hp_json_root(&c->jt)->type != HP_JOBJECT)
        return NULL;
    const struct hp_jnode *env = hp_json_root(&c->jt);
    const struct hp_jnode *h = hp_json_get(&c->jt, env, "host");
    const struct hp_jnode *se = hp_json_get(&c->jt, env, "session");
    *host = h && hp_json_text(h) ? hp_json_text(h) : "";
    *session = se && hp_json_text(se) ? hp_json_text(se) : "";
    return hp_json_get(&c->jt, env, "data");
}

/* Queue msg's rows: one in <reporter>.csv with every member of data that
 * is not a group of devices, one per device in <reporter>.<group>.csv. */
static int add_row(struct hp_sink *s, const struct hp_out *o)
{
    struct csv *c = s->priv;
    const struct hp_msg *m = o->msg;
    const char *host, *session;
    message_starts(c);
    const struct hp_jnode *data = parse_envelope(c, m, &host, &session);
    if (!data) {
        hp_warn("sink %s: dropping a message that is not an envelope (%s #%llu)", s->name,
                m->reporter, (unsigned long long)m->seq);
        hp_sink_ack(s, o->pos, HP_ACK_DROP);
        return 0;
    }
    const struct hp_json *t = &c->jt;
    bool obj = data->type == HP_JOBJECT;
    char key[512];
    size_t klen = (size_t)snprintf(key, sizeof(key), "%s", m->reporter);
    c->buf.len = 0;
    c->nflat = 0;
    int rc = 0;
    if (!obj)
        rc = flatten(c, data, key, klen, sizeof(key));
    for (const struct hp_jnode *v = obj ? hp_json_child(t, data) : NULL; v && rc == 0;
         v = hp_json_next(t, v)) {
        const char *k = v->key;
        size_t n = key_append(key, klen, sizeof(key), k, strlen(k));
        if (n && !is_group(t, v))
            rc = flatten(c, v, key, n, sizeof(key));
    }
    rc = rc ? hp_sink_fail(s, "out of memory") : queue_row(s, m->reporter, m, host, session);
    for (const struct hp_jnode *v = obj ? hp_json_child(t, data) : NULL; v && rc == 0;
         v = hp_json_next(t, v)) {
        char stem[STEM_MAX];
        if (!is_group(t, v))
            continue;
        snprintf(stem, sizeof(stem), "%s.%s", m->reporter, v->key);
        rc = group_rows(s, stem, v, m, host, session);
    }
    if (rc == 0 && hp_file_batch_note(&c->acks, o->pos) != 0)
        rc = hp_sink_fail(s, "out of memory");
    return rc;
}

/* Every file the batch touched is cut back to its size at the last
 * commit: nothing of the unconfirmed messages stays (they are sent
 * again). */
static void cut_back(struct hp_sink *s)
{
    struct csv *c = s->priv;
    for (size_t i = 0; i < c->nfiles; i++) {
        struct csv_file *f = &c->files[i];
        hp_file_batch_drop(&f->rows, &f->pending);
        f->msg_at = 0;
        if (f->fd >= 0 && f->size_before > f->batch_start) {
            if (ftruncate(f->fd, f->batch_start) != 0)
                hp_warn("sink %s: cannot cut %s.csv back after a failed write", s->name,
                        f->reporter);
            f->size_before = f->batch_start;
        }
        if (f->size_before <= f->hdr_end)
            f->first_ms = -1;
    }
}

/* Queue the batch's rows and write them. A file moved aside or rewritten
 * in between confirms the messages before it (commit), so when a later
 * write fails only the messages after the last commit are sent again:
 * never a row twice, none lost. */
static int csv_write(struct hp_sink *s, const struct hp_out *out, size_t n)
{
    struct csv *c = s->priv;
    int rc = 0;
    c->acks.n = 0;
    for (size_t i = 0; i < c->nfiles; i++)
        c->files[i].batch_start = c->files[i].size_before;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = add_row(s, &out[i]);
    if (rc == 0) {
        message_starts(c); /* past the last message: all of it is written */
        rc = commit(s);
    }
    if (rc != 0) {
        cut_back(s);
        c->acks.n = 0;
        return -1;
    }
    return (int)n;
}

static int csv_open(struct hp_sink *s)
{
    struct csv *c = s->priv;
    int err = mkdir(c->directory, 0750) != 0 ? errno : 0;
    if (err == ENOENT) /* only the last component is ever created */
        return hp_sink_fail(s,
                            "create directory %s: the directory above it does not exist (the "
                            "package creates /var/lib/hostpulse; from source, set this sink's "
                            "directory)",
                            c->directory);
    if (err && err != EEXIST)
        return hp_sink_fail(s, "create directory %s: %s", c->directory, strerror(err));
    if (access(c->directory, W_OK | X_OK) != 0)
        return hp_sink_fail(s, "directory %s is not writable: %s", c->directory, strerror(errno));
    return 0;
}

static void csv_close(struct hp_sink *s)
{
    struct csv *c = s->priv;
    for (size_t i = 0; i < c->nfiles; i++) {
        if (c->files[i].fd >= 0)
            close(c->files[i].fd);
        c->files[i].fd = -1;
        hp_file_batch_drop(&c->files[i].rows, &c->files[i].pending);
    }
}

static const char *const rotate_modes[] = {"none", "daily", "size", NULL};

/* clang-format off */
static const struct hp_opt csv_opts[] = {
    {.name = "directory",
     .type = HP_OPT_STRING,
     .def = "/var/lib/hostpulse/csv",
     .help = "one <reporter>.csv file per reporter is written here ({host}, {session})",
     HP_AT_STR(struct csv, dir_tmpl)},
    {.name = "fsync",
     .type = HP_OPT_BOOL,
     .def = "false",
     .help = "fsync each batch before confirming it (slower, survives power loss)",
     HP_AT_BOOL(struct csv, fsync)},
    {.name = "rotate",
     .type = HP_OPT_ENUM,
     .def = "daily",
     .choices = rotate_modes,
     .help = "start new files: none, daily (UTC day of the message time), size (max_bytes)",
     HP_AT_ENUM(struct csv, rotate)},
    {.name = "max_bytes",
     .type = HP_OPT_INT,
     .def = "67108864",
     .min = 4096,
     .max = 1e15,
     .help = "with rotate = \"size\": bytes at which a file is moved aside",
     HP_AT_INT(struct csv, max_bytes)},
    {.name = "rewrite_bytes",
     .type = HP_OPT_INT,
     .def = "1048576",
     .min = 0,
     .max = 1e15,
     .help = "a file of at most this size gets new columns by rewriting it (rows kept); a "
             "larger one is moved aside and a new file started",
     HP_AT_INT(struct csv, rewrite_bytes)},
    {.name = "header_units",
     .type = HP_OPT_BOOL,
     .def = "true",
     .help = "header cells name the field's unit: \"ts [epoch_ms]\", \"bytes_recv [B]\" "
             "(false: bare names)",
     HP_AT_BOOL(struct csv, header_units)},
    {.name = "max_files",
     .type = HP_OPT_INT,
     .def = "100",
     .min = 0,
     .max = 1000000,
     .help = "files kept per reporter and group (the current one and the newest rotated "
             "ones); older ones are removed at rotation. 0: no limit",
     HP_AT_INT(struct csv, max_files)},
    {0},
};
/* clang-format on */

static int csv_init(struct hp_sink *s, const config_setting_t *cfg, struct hp_errs *errs)
{
    struct csv *c = s->priv;
    const config_setting_t *at = hp_setting_at(cfg, "directory");
    struct hp_tmpl t;
    struct hp_tmpl_vars v = {.host = s->id.host, .session = s->id.session};
    if (!c->dir_tmpl || !*c->dir_tmpl) {
        hp_errs_add(errs, at, "sink %s: directory must not be empty", s->name);
        return -1;
    }
    if (hp_tmpl_compile_opt(&t, c->dir_tmpl, HP_TMPL_HOST | HP_TMPL_SESSION, cfg, "directory",
                            s->name, errs) != 0)
        return -1;
    if (hp_tmpl_expand(&t, &v, c->directory, sizeof(c->directory)) < 0) {
        hp_errs_add(errs, at, "sink %s: directory \"%s\": too long once expanded", s->name,
                    c->dir_tmpl);
        return -1;
    }
    return 0;
}

static void csv_fini(struct hp_sink *s)
{
    struct csv *c = s->priv;
    csv_close(s);
    for (size_t i = 0; i < c->nfiles; i++) {
        struct csv_file *f = &c->files[i];
        file_clear_header(f);
        json_object_put(f->index);
        free(f->shape.p);
        free(f->shape_at);
        free(f->pending.p);
        hp_file_batch_free(&f->rows);
    }
    free(c->files);
    hp_file_batch_free(&c->acks);
    free(c->carry.p);
    free(c->buf.p);
    free(c->koff);
    free(c->val);
    free(c->row);
    hp_json_free(&c->jt);
}

const struct hp_sink_ops hp_sink_csv = {
    .type = "csv",
    .opts = csv_opts,
    .priv_size = sizeof(struct csv),
    .init = csv_init,
    .open = csv_open,
    .write = csv_write,
    .close = csv_close,
    .fini = csv_fini,
};
