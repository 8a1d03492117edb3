/* spool.c -- a sink's disk backlog: segment files of CRC-checked records
 * (format and positions in spool.h). */
#include "transport/spool.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/opts.h"
#include "lib/buf.h"
#include "lib/crc32c.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

struct seg {
    uint64_t first;   /* number of its first record */
    uint64_t count;   /* valid records */
    uint64_t bytes;   /* file size, magic included */
    int64_t mtime_ms; /* last append (epoch ms), for max_age */
};

struct hp_spool {
    struct hp_spool_cfg cfg;
    char dir[1024];
    char name[64];
    struct seg *segs; /* oldest first */
    size_t nsegs, capsegs;
    uint64_t next, read, acked, acked_saved;
    int wfd;         /* the last segment, open for append; -1 */
    int rfd;         /* the segment being read; -1 */
    uint64_t rfirst; /* first record of the segment rfd reads */
    uint64_t rnum;   /* record number at roff */
    uint64_t roff;
    char *buf; /* the last record read */
    size_t bufcap;
    bool dirty; /* appended since the last fsync */
    bool made_dir;
    int64_t last_sync_ms;
    struct hp_spool_stats stats;
    struct hp_complain write_complain, drop_complain;
};

/* ---- config ---------------------------------------------------------- */

/* The agent.spool options, as loaded (the types hp_opts_load fills). */
struct spool_opts {
    const char *directory;
    int64_t max_bytes, segment_bytes;
    double max_age, fsync_interval;
    int fsync; /* index into fsync_policies: the order of enum hp_spool_fsync */
    bool always;
};

static const char *const fsync_policies[] = {"batch", "interval", "never", NULL};

/* clang-format off */
const struct hp_opt hp_spool_opts[] = {
    {.name = "directory", .type = HP_OPT_STRING, .def = "/var/lib/hostpulse/spool",
     .help = "one sub-directory per sink holds its disk backlog",
     HP_AT_STR(struct spool_opts, directory)},
    {.name = "max_bytes", .type = HP_OPT_INT, .def = "268435456", .min = 65536, .max = 1e15,
     .help = "disk budget per sink; the oldest segments are dropped beyond it",
     HP_AT_INT(struct spool_opts, max_bytes)},
    {.name = "max_age", .type = HP_OPT_FLOAT, .def = "0", .min = 0, .max = 1e9,
     .help = "seconds; older spooled messages are dropped (0: no limit)",
     HP_AT_FLOAT(struct spool_opts, max_age)},
    {.name = "segment_bytes", .type = HP_OPT_INT, .def = "4194304", .min = 4096, .max = 1073741824,
     .help = "size at which a spool segment file is closed and a new one started",
     HP_AT_INT(struct spool_opts, segment_bytes)},
    {.name = "fsync", .type = HP_OPT_ENUM, .def = "interval", .choices = fsync_policies,
     .help = "batch: fsync every write; interval: every fsync_interval; never",
     HP_AT_ENUM(struct spool_opts, fsync)},
    {.name = "fsync_interval", .type = HP_OPT_FLOAT, .def = "1.0", .min = 0.001, .max = 3600,
     .help = "seconds between fsyncs with fsync = \"interval\"",
     HP_AT_FLOAT(struct spool_opts, fsync_interval)},
    {.name = "always", .type = HP_OPT_BOOL, .def = "false",
     .help = "spool every message, not only while a sink is failing",
     HP_AT_BOOL(struct spool_opts, always)},
    {0},
};
/* clang-format on */

void hp_spool_cfg_read(struct hp_spool_cfg *c, const config_setting_t *g)
{
    struct spool_opts o = {0};
    hp_opts_load(g, hp_spool_opts, &o);
    /* HOSTPULSE_SPOOL_DIR is the default directory (the test suite gives
     * every agent its own); a directory set in the file wins. */
    const char *env = getenv("HOSTPULSE_SPOOL_DIR");
    bool set = g && config_setting_get_member(g, "directory");
    c->directory = !set && env && *env ? env : o.directory;
    c->max_bytes = (uint64_t)o.max_bytes;
    c->max_age = o.max_age;
    c->segment_bytes = (uint64_t)o.segment_bytes;
    c->fsync = (enum hp_spool_fsync)o.fsync;
    c->fsync_interval = o.fsync_interval;
    c->always = o.always;
}

/* ---- records --------------------------------------------------------- */

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static int reserve(struct hp_spool *sp, size_t n)
{
    return hp_grow(&sp->buf, &sp->bufcap, n < 4096 ? 4096 : n, 1);
}

/* Read and check the record at off of a file of `size` bytes into sp->buf.
 * Returns its payload length, or -1 if it is torn or damaged. */
static long read_record(struct hp_spool *sp, int fd, uint64_t off, uint64_t size)
{
    unsigned char h[HP_SPOOL_HDR];
    if (size < off + HP_SPOOL_HDR || pread(fd, h, sizeof(h), (off_t)off) != (ssize_t)sizeof(h))
        return -1;
    uint32_t len = le32(h);
    if (len > HP_SPOOL_MAX_RECORD || size - off - HP_SPOOL_HDR < len || reserve(sp, len + 1))
        return -1;
    if (len && pread(fd, sp->buf, len, (off_t)(off + HP_SPOOL_HDR)) != (ssize_t)len)
        return -1;
    uint32_t crc = hp_crc32c(hp_crc32c(0, h, 4), sp->buf, len);
    if (crc != le32(h + 4))
        return -1;
    sp->buf[len] = '\0';
    return (long)len;
}

/* ---- segments -------------------------------------------------------- */

static void seg_path(const struct hp_spool *sp, uint64_t first, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%016" PRIx64 ".seg", sp->dir, first);
}

static int add_seg(struct hp_spool *sp, struct seg s)
{
    if (sp->nsegs == sp->capsegs) {
        size_t cap = sp->capsegs ? sp->capsegs * 2 : 16;
        struct seg *n = realloc(sp->segs, cap * sizeof(*n));
        if (!n)
            return -1;
        sp->segs = n;
        sp->capsegs = cap;
    }
    sp->segs[sp->nsegs++] = s;
    return 0;
}

/* Count the valid records of an existing segment; cut a torn or damaged
 * tail. Returns -1 if the file cannot be read at all. */
static int scan_seg(struct hp_spool *sp, struct seg *s)
{
    char path[1100];
    seg_path(sp, s->first, path, sizeof(path));
    int fd = open(path, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        hp_warn("spool %s: cannot open %s: %s", sp->name, path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    uint64_t size = (uint64_t)st.st_size, off = HP_SPOOL_MAGIC_LEN;
    char magic[HP_SPOOL_MAGIC_LEN];
    bool ok = pread(fd, magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) &&
              memcmp(magic, HP_SPOOL_MAGIC, HP_SPOOL_MAGIC_LEN) == 0;
    long len;
    s->count = 0;
    while (ok && off < size && (len = read_record(sp, fd, off, size)) >= 0) {
        off += HP_SPOOL_HDR + (uint64_t)len;
        s->count++;
    }
    if (!ok)
        off = 0;
    if (off < size) {
        hp_warn("spool %s: %s: torn or corrupt data at offset %" PRIu64 ", %" PRIu64
                " byte(s) truncated",
                sp->name, path, off, size - off);
        sp->stats.corrupt++;
        if (ftruncate(fd, (off_t)off) != 0)
            hp_warn("spool %s: truncate %s: %s", sp->name, path, strerror(errno));
    }
    s->bytes = off;
    s->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    close(fd);
    return 0;
}

static void unlink_seg(struct hp_spool *sp, uint64_t first)
{
    char path[1100];
    seg_path(sp, first, path, sizeof(path));
    if (unlink(path) != 0 && errno != ENOENT)
        hp_warn("spool %s: remove %s: %s", sp->name, path, strerror(errno));
}

/* Delete the oldest segment. Its records not yet read are lost. */
static void drop_oldest(struct hp_spool *sp, bool count_lost)
{
    struct seg s = sp->segs[0];
    uint64_t end = s.first + s.count;
    if (count_lost && sp->read < end)
        sp->stats.dropped += end - (sp->read > s.first ? sp->read : s.first);
    if (sp->read < end)
        sp->read = end;
    if (sp->rfd >= 0 && sp->rfirst == s.first) {
        close(sp->rfd);
        sp->rfd = -1;
    }
    if (sp->nsegs == 1 && sp->wfd >= 0) {
        close(sp->wfd);
        sp->wfd = -1;
    }
    unlink_seg(sp, s.first);
    sp->stats.bytes -= s.bytes;
    memmove(sp->segs, sp->segs + 1, (sp->nsegs - 1) * sizeof(*sp->segs));
    sp->nsegs--;
    sp->stats.segments = sp->nsegs;
}

static int cmp_seg(const void *a, const void *b)
{
    const struct seg *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* List, sort and check the segment files. */
static int load_segs(struct hp_spool *sp)
{
    DIR *d = opendir(sp->dir);
    if (!d)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -1; /* made at the first write */
    sp->made_dir = true;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        errno = 0;
        uint64_t first = strtoull(e->d_name, &end, 16);
        if (errno || end != e->d_name + 16 || strcmp(end, ".seg") != 0)
            continue;
        if (add_seg(sp, (struct seg){.first = first}) != 0) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    qsort(sp->segs, sp->nsegs, sizeof(*sp->segs), cmp_seg);
    size_t keep = 0;
    for (size_t i = 0; i < sp->nsegs; i++) {
        struct seg s = sp->segs[i];
        uint64_t prev_end = keep ? sp->segs[keep - 1].first + sp->segs[keep - 1].count : 0;
        if (scan_seg(sp, &s) != 0)
            continue;
        if (s.count == 0 || s.first < prev_end) { /* empty, or overlapping: unusable */
            unlink_seg(sp, s.first);
            continue;
        }
        sp->segs[keep++] = s;
        sp->stats.bytes += s.bytes;
    }
    sp->nsegs = keep;
    sp->stats.segments = keep;
    return 0;
}

/* ---- the acked file -------------------------------------------------- */

static void load_acked(struct hp_spool *sp)
{
    char path[1100], buf[32];
    snprintf(path, sizeof(path), "%s/acked", sp->dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    char *end;
    errno = 0;
    uint64_t v = strtoull(buf, &end, 10);
    if (errno == 0 && end != buf && *end == '\n')
        sp->acked = v;
    else
        hp_warn("spool %s: %s is damaged; messages may be delivered twice", sp->name, path);
}

static void save_acked(struct hp_spool *sp, bool sync)
{
    if (sp->acked == sp->acked_saved || !sp->made_dir)
        return;
    char path[1100], tmp[1100], buf[32];
    snprintf(path, sizeof(path), "%s/acked", sp->dir);
    snprintf(tmp, sizeof(tmp), "%s/acked.tmp", sp->dir);
    int len = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", sp->acked);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    bool ok = fd >= 0 && write(fd, buf, (size_t)len) == len && (!sync || fdatasync(fd) == 0);
    if (fd >= 0)
        close(fd);
    if (ok && rename(tmp, path) == 0)
        sp->acked_saved = sp->acked;
    else
        unlink(tmp); /* disk full: try again at the next sync */
}

/* ---- open / close ---------------------------------------------------- */

struct hp_spool *hp_spool_open(const struct hp_spool_cfg *cfg, const char *name, char *err,
                               size_t errlen)
{
    struct hp_spool *sp = calloc(1, sizeof(*sp));
    if (!sp) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    sp->cfg = *cfg;
    /* Keep at least two segments within the budget, so dropping the
     * oldest one never empties the spool. */
    if (sp->cfg.segment_bytes > sp->cfg.max_bytes / 2)
        sp->cfg.segment_bytes = sp->cfg.max_bytes / 2;
    snprintf(sp->name, sizeof(sp->name), "%s", name);
    snprintf(sp->dir, sizeof(sp->dir), "%s/%s", cfg->directory, name);
    sp->wfd = sp->rfd = -1;
    load_acked(sp);
    sp->acked_saved = sp->acked;
    if (load_segs(sp) != 0) {
        snprintf(err, errlen, "cannot read %s: %s", sp->dir, strerror(errno));
        hp_spool_close(sp);
        return NULL;
    }
    struct seg *last = sp->nsegs ? &sp->segs[sp->nsegs - 1] : NULL;
    sp->next =
        last && last->first + last->count > sp->acked ? last->first + last->count : sp->acked;
    sp->read = sp->acked;
    while (sp->nsegs && sp->segs[0].first + sp->segs[0].count <= sp->acked)
        drop_oldest(sp, false);
    if (sp->nsegs && sp->read < sp->segs[0].first)
        sp->read = sp->segs[0].first;
    if (hp_spool_unread(sp))
        hp_info("spool %s: %" PRIu64 " message(s) to replay from %s", sp->name, hp_spool_unread(sp),
                sp->dir);
    return sp;
}

void hp_spool_close(struct hp_spool *sp)
{
    if (!sp)
        return;
    if (sp->wfd >= 0) {
        if (sp->dirty && sp->cfg.fsync != HP_FSYNC_NEVER)
            fdatasync(sp->wfd);
        close(sp->wfd);
    }
    if (sp->rfd >= 0)
        close(sp->rfd);
    save_acked(sp, sp->cfg.fsync != HP_FSYNC_NEVER);
    free(sp->segs);
    free(sp->buf);
    free(sp);
}

/* ---- append ---------------------------------------------------------- */

/* mkdir -p sp->dir. */
static int make_dir(struct hp_spool *sp)
{
    if (sp->made_dir)
        return 0;
    char path[sizeof(sp->dir)];
    snprintf(path, sizeof(path), "%s", sp->dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0750) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(path, 0750) != 0 && errno != EEXIST)
        return -1;
    sp->made_dir = true;
    return 0;
}

static void sync_dir(struct hp_spool *sp)
{
    int fd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Close the current segment (fsync'd per policy) and start one at next. */
static int new_segment(struct hp_spool *sp)
{
    if (sp->wfd >= 0) {
        if (sp->dirty && sp->cfg.fsync != HP_FSYNC_NEVER)
            fdatasync(sp->wfd);
        close(sp->wfd);
        sp->wfd = -1;
        sp->dirty = false;
    }
    if (make_dir(sp) != 0)
        return -1;
    char path[1100];
    seg_path(sp, sp->next, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    if (write(fd, HP_SPOOL_MAGIC, HP_SPOOL_MAGIC_LEN) != HP_SPOOL_MAGIC_LEN ||
        add_seg(sp, (struct seg){.first = sp->next, .bytes = HP_SPOOL_MAGIC_LEN}) != 0) {
        int e = errno ? errno : ENOSPC;
        close(fd);
        unlink(path);
        errno = e;
        return -1;
    }
    if (sp->cfg.fsync != HP_FSYNC_NEVER)
        sync_dir(sp);
    sp->wfd = fd;
    sp->stats.bytes += HP_SPOOL_MAGIC_LEN;
    sp->stats.segments = sp->nsegs;
    return 0;
}

/* Make room for rec more bytes: drop the oldest segments, roll the
 * current one when it is full. */
static int make_room(struct hp_spool *sp, uint64_t rec)
{
    uint64_t before = sp->stats.dropped;
    while (sp->nsegs && sp->stats.bytes + rec > sp->cfg.max_bytes)
        drop_oldest(sp, true);
    if (sp->stats.dropped != before)
        hp_complain(&sp->drop_complain, HP_LOG_WARN,
                    "spool %s: full (max_bytes %" PRIu64 "), dropping the oldest messages "
                    "(counted in the agent report, spool.dropped)",
                    sp->name, sp->cfg.max_bytes);
    struct seg *last = sp->nsegs ? &sp->segs[sp->nsegs - 1] : NULL;
    if (sp->wfd < 0 || !last || (last->count && last->bytes + rec > sp->cfg.segment_bytes))
        return new_segment(sp);
    return 0;
}

static int write_record(struct hp_spool *sp, const char *data, size_t len)
{
    unsigned char h[HP_SPOOL_HDR];
    put_le32(h, (uint32_t)len);
    put_le32(h + 4, hp_crc32c(hp_crc32c(0, h, 4), data, len));
    struct iovec iov[2] = {{h, sizeof(h)}, {(void *)data, len}};
    struct seg *last = &sp->segs[sp->nsegs - 1];
    errno = 0;
    ssize_t w = writev(sp->wfd, iov, 2);
    if (w == (ssize_t)(sizeof(h) + len))
        return 0;
    int e = errno ? errno : ENOSPC; /* a short write: the disk is full */
    if (ftruncate(sp->wfd, (off_t)last->bytes) != 0) {
        close(sp->wfd); /* cannot repair: start a new segment next time */
        sp->wfd = -1;
    }
    errno = e;
    return -1;
}

int hp_spool_append(struct hp_spool *sp, const char *data, size_t len, bool consume, uint64_t *pos)
{
    if (len > HP_SPOOL_MAX_RECORD) {
        errno = EMSGSIZE;
        return -1;
    }
    uint64_t rec = HP_SPOOL_HDR + len;
    if (make_room(sp, rec) != 0 || write_record(sp, data, len) != 0) {
        int e = errno;
        sp->stats.failed++;
        hp_complain(&sp->write_complain, HP_LOG_ERR, "spool %s: cannot write to %s: %s", sp->name,
                    sp->dir, strerror(e));
        errno = e;
        return -1;
    }
    struct seg *last = &sp->segs[sp->nsegs - 1];
    last->count++;
    last->bytes += rec;
    last->mtime_ms = hp_real_ms();
    sp->stats.bytes += rec;
    sp->dirty = true;
    *pos = sp->next++;
    if (consume && sp->read == *pos)
        sp->read++;
    if (sp->write_complain.last[0])
        hp_complain_clear(&sp->write_complain, "spool %s: writing again", sp->name);
    return 0;
}

/* ---- read / ack ------------------------------------------------------ */

uint64_t hp_spool_unread(const struct hp_spool *sp)
{
    /* Records still readable: a gap (a damaged tail cut from a segment, a
     * dropped range) between read and next holds none. Only segments at
     * or after `read` count; usually the first one partly. */
    uint64_t n = 0;
    for (size_t i = sp->nsegs; i-- > 0;) {
        const struct seg *s = &sp->segs[i];
        uint64_t end = s->first + s->count, from = s->first > sp->read ? s->first : sp->read;
        if (end <= sp->read)
            break;
        n += end - from;
    }
    return n;
}

/* The segment holding record `read`, moving read past gaps (dropped or
 * damaged ranges). NULL when nothing is left. */
static struct seg *read_seg(struct hp_spool *sp)
{
    for (size_t i = 0; i < sp->nsegs; i++) {
        struct seg *s = &sp->segs[i];
        if (sp->read < s->first)
            sp->read = s->first;
        if (sp->read < s->first + s->count)
            return s;
    }
    sp->read = sp->next;
    return NULL;
}

/* Point rfd/roff at record `read` of s. */
static int seek_read(struct hp_spool *sp, struct seg *s)
{
    if (sp->rfd >= 0 && sp->rfirst == s->first && sp->rnum == sp->read)
        return 0;
    if (sp->rfd < 0 || sp->rfirst != s->first) {
        if (sp->rfd >= 0)
            close(sp->rfd);
        char path[1100];
        seg_path(sp, s->first, path, sizeof(path));
        sp->rfd = open(path, O_RDONLY | O_CLOEXEC);
        if (sp->rfd < 0)
            return -1;
        sp->rfirst = s->first;
        sp->rnum = s->first;
        sp->roff = HP_SPOOL_MAGIC_LEN;
    }
    while (sp->rnum < sp->read) { /* rare: skip records already taken */
        long len = read_record(sp, sp->rfd, sp->roff, s->bytes);
        if (len < 0)
            return -1;
        sp->roff += HP_SPOOL_HDR + (uint64_t)len;
        sp->rnum++;
    }
    return sp->rnum == sp->read ? 0 : -1;
}

int hp_spool_read(struct hp_spool *sp, const char **data, size_t *len, uint64_t *pos)
{
    struct seg *s;
    while ((s = read_seg(sp)) != NULL) {
        long n = seek_read(sp, s) == 0 ? read_record(sp, sp->rfd, sp->roff, s->bytes) : -1;
        if (n < 0) { /* damaged since open: skip the rest of the segment */
            hp_warn("spool %s: segment %016" PRIx64 " unreadable at record %" PRIu64
                    ", skipping %" PRIu64 " message(s)",
                    sp->name, s->first, sp->read, s->first + s->count - sp->read);
            sp->stats.corrupt += s->first + s->count - sp->read;
            sp->read = s->first + s->count;
            continue;
        }
        sp->roff += HP_SPOOL_HDR + (uint64_t)n;
        sp->rnum++;
        *data = sp->buf;
        *len = (size_t)n;
        *pos = sp->read++;
        return 1;
    }
    return 0;
}

void hp_spool_ack(struct hp_spool *sp, uint64_t upto)
{
    if (upto <= sp->acked)
        return;
    sp->acked = upto;
    while (sp->nsegs && sp->segs[0].first + sp->segs[0].count <= sp->acked) {
        bool writing = sp->nsegs == 1 && sp->wfd >= 0;
        /* With `always` the open segment fills up to segment_bytes first;
         * otherwise an emptied spool leaves no file behind. */
        if (writing && (sp->cfg.always || sp->read < sp->next))
            break;
        drop_oldest(sp, false);
    }
}

void hp_spool_sync(struct hp_spool *sp, int64_t now_ms)
{
    bool due = sp->cfg.fsync == HP_FSYNC_BATCH ||
               now_ms - sp->last_sync_ms >= (int64_t)(sp->cfg.fsync_interval * 1000);
    if (sp->dirty && sp->wfd >= 0 && sp->cfg.fsync != HP_FSYNC_NEVER && due) {
        fdatasync(sp->wfd);
        sp->dirty = false;
    }
    if (due) {
        sp->last_sync_ms = now_ms;
        save_acked(sp, sp->cfg.fsync != HP_FSYNC_NEVER);
    }
    if (sp->cfg.max_age > 0 && sp->nsegs) {
        int64_t oldest = hp_real_ms() - (int64_t)(sp->cfg.max_age * 1000);
        uint64_t before = sp->stats.dropped;
        while (sp->nsegs && sp->segs[0].mtime_ms < oldest)
            drop_oldest(sp, true);
        if (sp->stats.dropped != before)
            hp_warn("spool %s: dropped %" PRIu64 " message(s) older than max_age %.0f s", sp->name,
                    sp->stats.dropped - before, sp->cfg.max_age);
    }
}

bool hp_spool_always(const struct hp_spool *sp)
{
    return sp->cfg.always;
}

const struct hp_spool_stats *hp_spool_stats(const struct hp_spool *sp)
{
    return &sp->stats;
}
