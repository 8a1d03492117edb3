/* SPDX-License-Identifier: Apache-2.0 */
/* spool.c -- a sink's disk backlog: segment files of CRC-checked records
 * (format and positions in spool.h). */
#include "transport/spool.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/opts.h"
#include "lib/buf.h"
#include "lib/crc32c.h"
#include "lib/msg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* Record numbers above this are damage (a real spool counts messages). */
#define MAX_POS (UINT64_C(1) << 60)

/* A damaged stretch inside a segment, skipped on open: bytes [off, to)
 * held records numbered [num, num + nums). nums is an upper bound (one
 * per HP_SPOOL_HDR bytes), so a record after the damage never gets a
 * number below its original one and `acked` never covers it by mistake:
 * at worst a record is delivered twice, never lost. */
struct gap {
    uint64_t off, to;
    uint64_t num, nums;
};

struct seg {
    uint64_t first;   /* number of its first record */
    uint64_t count;   /* numbers used: valid records plus gaps */
    uint64_t valid;   /* records that passed their CRC */
    uint64_t bytes;   /* file size, magic included */
    int64_t mtime_ms; /* last append (epoch ms), for max_age */
    struct gap *gaps; /* owned; NULL for an undamaged segment */
    size_t ngaps;
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
    /* Owed to the disk by the next sync job (hp_spool_sync), which runs
     * without the lock: segments closed while dirty, and the directory
     * once a segment file was created. */
    int *retired; /* owned; handed to the job */
    size_t nretired, capretired;
    bool dir_dirty;
    bool made_dir;
    int64_t last_sync_ms;
    int lockfd;     /* the sink directory, flock'ed: one agent per spool; -1 */
    uint64_t holes; /* numbers in [read, next) that hold no record */
    char type[32];  /* the owning sink's type, written to <dir>/type */
    struct hp_spool_stats stats;
    struct hp_complain write_complain, drop_complain, skip_complain;
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

/* The record at off of map[0..size): its payload length if it is whole
 * and passes its CRC, else -1. */
static long check_record(const unsigned char *map, uint64_t size, uint64_t off)
{
    if (size < HP_SPOOL_HDR || off > size - HP_SPOOL_HDR)
        return -1;
    uint32_t len = le32(map + off);
    if (len > HP_SPOOL_MAX_RECORD || size - off - HP_SPOOL_HDR < len)
        return -1;
    uint32_t crc = hp_crc32c(hp_crc32c(0, map + off, 4), map + off + HP_SPOOL_HDR, len);
    return crc == le32(map + off + 4) ? (long)len : -1;
}

/* The offset of the next whole record at or after off, or size if there
 * is none. Only records holding a JSON object ('{' ... '}', as every
 * message is) are looked for: in random bytes one offset in ~1600 has a
 * plausible length, and without that filter each of them would cost a CRC
 * over up to a whole segment (a 1 MiB garbage stretch took 3 s to cross;
 * with it, milliseconds). A record that is not an object would be skipped
 * at replay anyway. */
static uint64_t resync(const unsigned char *map, uint64_t size, uint64_t off)
{
    for (; size >= HP_SPOOL_HDR && off <= size - HP_SPOOL_HDR; off++) {
        uint32_t len = le32(map + off);
        if (len < 2 || len > HP_SPOOL_MAX_RECORD || size - off - HP_SPOOL_HDR < len ||
            map[off + HP_SPOOL_HDR] != '{' || map[off + HP_SPOOL_HDR + len - 1] != '}')
            continue;
        if (check_record(map, size, off) >= 0)
            return off;
    }
    return size;
}

/* ---- segments -------------------------------------------------------- */

static void seg_path(const struct hp_spool *sp, uint64_t first, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%016" PRIx64 ".seg", sp->dir, first);
}

static int add_seg(struct hp_spool *sp, struct seg s)
{
    if (hp_grow(&sp->segs, &sp->capsegs, sp->nsegs + 1, sizeof(*sp->segs)) != 0)
        return -1;
    sp->segs[sp->nsegs++] = s;
    return 0;
}

static int add_gap(struct seg *s, uint64_t off, uint64_t to)
{
    struct gap *g = realloc(s->gaps, (s->ngaps + 1) * sizeof(*g));
    if (!g)
        return -1;
    s->gaps = g;
    uint64_t nums = (to - off + HP_SPOOL_HDR - 1) / HP_SPOOL_HDR;
    g[s->ngaps++] =
        (struct gap){.off = off, .to = to, .num = s->first + s->count, .nums = nums ? nums : 1};
    s->count += g[s->ngaps - 1].nums;
    return 0;
}

/* Segments are contiguous when written, so the next segment's first
 * number bounds this one's: shrink the gaps' estimates (to at least one
 * number each, newest first) until it fits. */
static void fit_gaps(struct seg *s, uint64_t limit)
{
    for (size_t i = s->ngaps; i-- > 0 && s->first + s->count > limit;) {
        uint64_t over = s->first + s->count - limit, can = s->gaps[i].nums - 1;
        uint64_t cut = over < can ? over : can;
        s->gaps[i].nums -= cut;
        s->count -= cut;
        for (size_t k = i + 1; k < s->ngaps; k++)
            s->gaps[k].num -= cut;
    }
}

/* Walk the records of map[0..size): count them, record damaged stretches
 * as gaps (resynchronising on the next whole record). Returns the end of
 * the last whole record: anything after it is a torn tail. */
static uint64_t walk_seg(struct hp_spool *sp, struct seg *s, const unsigned char *map,
                         uint64_t size, const char *path)
{
    uint64_t off = HP_SPOOL_MAGIC_LEN;
    if (size < HP_SPOOL_MAGIC_LEN || memcmp(map, HP_SPOOL_MAGIC, HP_SPOOL_MAGIC_LEN) != 0) {
        hp_warn("spool %s: %s: bad magic; looking for records after it", sp->name, path);
        sp->stats.corrupt++;
        off = resync(map, size, size < HP_SPOOL_MAGIC_LEN ? size : HP_SPOOL_MAGIC_LEN);
        if (off >= size)
            return HP_SPOOL_MAGIC_LEN; /* nothing whole in it */
        if (off > HP_SPOOL_MAGIC_LEN && add_gap(s, HP_SPOOL_MAGIC_LEN, off) != 0)
            return HP_SPOOL_MAGIC_LEN;
    }
    uint64_t end = off;
    while (off < size) {
        long len = check_record(map, size, off);
        if (len >= 0) {
            off += HP_SPOOL_HDR + (uint64_t)len;
            end = off;
            s->valid++;
            s->count++;
            continue;
        }
        uint64_t next = resync(map, size, off + 1);
        if (next >= size || add_gap(s, off, next) != 0)
            break; /* a torn tail: cut below */
        hp_warn("spool %s: %s: damaged record at offset %" PRIu64 ", %" PRIu64
                " byte(s) skipped; reading on from offset %" PRIu64,
                sp->name, path, off, next - off, next);
        sp->stats.corrupt++;
        off = next;
    }
    return end;
}

/* Count the valid records of an existing segment (whose successor starts
 * at record `limit`), skip damaged ones, cut a torn tail. Returns -1 if
 * the file cannot be read or is not a regular file (a symlink is never
 * followed, so nothing outside the spool is ever truncated). */
static int scan_seg(struct hp_spool *sp, struct seg *s, uint64_t limit)
{
    char path[1100];
    seg_path(sp, s->first, path, sizeof(path));
    int fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        hp_warn("spool %s: ignoring %s: %s", sp->name, path,
                fd < 0 && errno == ELOOP ? "a symbolic link"
                : fd < 0                 ? strerror(errno)
                                         : "not a regular file");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    uint64_t size = (uint64_t)st.st_size, end = 0;
    void *map = size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    if (map == MAP_FAILED) {
        hp_warn("spool %s: cannot read %s: %s", sp->name, path, strerror(errno));
        close(fd);
        return -1;
    }
    s->count = s->valid = 0;
    if (map) {
        end = walk_seg(sp, s, map, size, path);
        munmap(map, size);
    }
    fit_gaps(s, limit);
    if (end < size) {
        hp_warn("spool %s: %s: torn or corrupt data at offset %" PRIu64 ", %" PRIu64
                " byte(s) truncated",
                sp->name, path, end, size - end);
        sp->stats.corrupt++;
        if (ftruncate(fd, (off_t)end) != 0)
            hp_warn("spool %s: truncate %s: %s", sp->name, path, strerror(errno));
    }
    s->bytes = end;
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

/* Valid records of s numbered from `from` on. */
static uint64_t real_from(const struct seg *s, uint64_t from)
{
    uint64_t end = s->first + s->count;
    if (from >= end)
        return 0;
    if (from < s->first)
        from = s->first;
    uint64_t n = end - from;
    for (size_t i = 0; i < s->ngaps; i++) {
        const struct gap *g = &s->gaps[i];
        uint64_t lo = g->num > from ? g->num : from, hi = g->num + g->nums;
        if (hi > lo)
            n -= hi - lo;
    }
    return n;
}

/* Records still to read: the unread numbers minus damaged and dropped
 * stretches. Cheap for an undamaged spool; called when `read` jumps. */
static void recount_holes(struct hp_spool *sp)
{
    uint64_t real = 0;
    for (size_t i = 0; i < sp->nsegs; i++)
        real += real_from(&sp->segs[i], sp->read);
    uint64_t span = sp->next > sp->read ? sp->next - sp->read : 0;
    sp->holes = span > real ? span - real : 0;
}

/* Delete the oldest segment. Its records not yet read are lost. */
static void drop_oldest(struct hp_spool *sp, bool count_lost)
{
    struct seg s = sp->segs[0];
    uint64_t end = s.first + s.count;
    if (count_lost && sp->read < end)
        sp->stats.dropped += real_from(&s, sp->read);
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
    free(s.gaps);
    sp->stats.bytes -= s.bytes;
    memmove(sp->segs, sp->segs + 1, (sp->nsegs - 1) * sizeof(*sp->segs));
    sp->nsegs--;
    sp->stats.segments = sp->nsegs;
    recount_holes(sp);
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
        if (errno || end != e->d_name + 16 || strcmp(end, ".seg") != 0 || e->d_name[0] == '-' ||
            e->d_name[0] == '+' || first >= MAX_POS)
            continue;
        if (add_seg(sp, (struct seg){.first = first}) != 0) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    if (sp->nsegs) /* qsort(NULL, 0) is undefined */
        qsort(sp->segs, sp->nsegs, sizeof(*sp->segs), cmp_seg);
    size_t keep = 0;
    for (size_t i = 0; i < sp->nsegs; i++) {
        struct seg s = sp->segs[i];
        uint64_t prev_end = keep ? sp->segs[keep - 1].first + sp->segs[keep - 1].count : 0;
        uint64_t limit = i + 1 < sp->nsegs ? sp->segs[i + 1].first : MAX_POS;
        if (scan_seg(sp, &s, limit) != 0)
            continue;
        if (s.valid == 0 || s.first < prev_end || s.first + s.count > MAX_POS) {
            if (s.valid) /* overlapping: written by something else */
                hp_warn("spool %s: segment %016" PRIx64 " overlaps the one before it; "
                        "removing its %" PRIu64 " message(s)",
                        sp->name, s.first, s.valid);
            sp->stats.dropped += s.valid;
            free(s.gaps);
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
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n < 0 && (errno == ENOENT || errno == ENOTDIR))
        return; /* nothing acked yet */
    buf[n > 0 ? n : 0] = '\0';
    /* Digits only: strtoull would take "-1" as UINT64_MAX, which once
     * made every record look acked and wrapped the numbering. */
    char *end = buf;
    uint64_t v = 0;
    bool ok = n > 0 && buf[0] >= '0' && buf[0] <= '9';
    if (ok) {
        errno = 0;
        v = strtoull(buf, &end, 10);
        ok = errno == 0 && *end == '\n' && end[1] == '\0' && v < MAX_POS;
    }
    if (ok)
        sp->acked = v;
    else
        hp_warn("spool %s: %s is damaged (not a record number); replaying the whole spool, "
                "messages may be delivered twice",
                sp->name, path);
}

/* An `acked` beyond the last record is damage too: replay everything. */
static void check_acked(struct hp_spool *sp)
{
    const struct seg *last = sp->nsegs ? &sp->segs[sp->nsegs - 1] : NULL;
    if (!last || sp->acked <= last->first + last->count)
        return;
    hp_warn("spool %s: acked %" PRIu64 " is past the last record (%" PRIu64
            "); replaying the whole spool, messages may be delivered twice",
            sp->name, sp->acked, last->first + last->count);
    sp->acked = 0;
    sp->acked_saved = UINT64_MAX; /* rewrite it at the next sync */
}

/* fsync and close the n segments closed while dirty, and free the list. */
static void sync_retired(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fdatasync(fds[i]);
        close(fds[i]);
    }
    free(fds);
}

/* fsync the directory: the entries of files made in it. Reads only sp->dir. */
static void sync_dir(struct hp_spool *sp)
{
    int fd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Write `acked` (through acked.tmp and a rename); false when the disk
 * refused it (then the next sync tries again). Reads only sp->dir, which
 * stays the same while the spool is open. */
static bool write_acked(const struct hp_spool *sp, uint64_t acked, bool sync)
{
    char path[1100], tmp[1100], buf[32];
    snprintf(path, sizeof(path), "%s/acked", sp->dir);
    snprintf(tmp, sizeof(tmp), "%s/acked.tmp", sp->dir);
    int len = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", acked);
    unlink(tmp); /* never write through a planted link */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    bool ok = fd >= 0 && write(fd, buf, (size_t)len) == len && (!sync || fdatasync(fd) == 0);
    if (fd >= 0)
        close(fd);
    if (ok && rename(tmp, path) == 0)
        return true;
    unlink(tmp); /* disk full */
    return false;
}

static void save_acked(struct hp_spool *sp, bool sync)
{
    if (sp->acked != sp->acked_saved && sp->made_dir && write_acked(sp, sp->acked, sync))
        sp->acked_saved = sp->acked;
}

/* ---- open / close ---------------------------------------------------- */

/* Create the spool directory (agent.spool.directory) and dir below it, but
 * never the directory above: /var/lib/hostpulse belongs to the package (or
 * systemd's StateDirectory=), and a run from source must not create it as
 * root behind the operator's back. A missing parent fails with ENOENT,
 * which the caller logs with the path. 0 or -1 with errno. */
static int mkdir_below(const char *dir)
{
    char base[1024];
    snprintf(base, sizeof(base), "%s", dir);
    char *slash = strrchr(base, '/');
    if (slash && slash != base) {
        *slash = '\0';
        if (mkdir(base, 0750) != 0 && errno != EEXIST)
            return -1;
    }
    return mkdir(dir, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

/* Refuse a directory another user could plant files or links in. 0 if it
 * is ours (or absent), else -1 with the reason in err. */
static int check_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0; /* made (or refused) at the first write */
    if (st.st_uid != geteuid()) {
        snprintf(err, errlen, "%s belongs to uid %u, not to this agent (uid %u)", dir,
                 (unsigned)st.st_uid, (unsigned)geteuid());
        return -1;
    }
    if (st.st_mode & S_IWOTH) {
        snprintf(err, errlen, "%s is writable by every user (mode %04o); chmod o-w it", dir,
                 (unsigned)(st.st_mode & 07777));
        return -1;
    }
    return 0;
}

/* Hold an exclusive flock on the sink directory for the spool's life, so
 * a second agent given the same directory fails clearly instead of
 * interleaving records. 0, or -1 with the reason in err. */
static int lock_dir(struct hp_spool *sp, char *err, size_t errlen)
{
    if (sp->lockfd >= 0)
        return 0;
    int fd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        snprintf(err, errlen, "%s is in use by another hostpulse (flock: %s)", sp->dir,
                 strerror(e));
        errno = e;
        return -1;
    }
    sp->lockfd = fd;
    return 0;
}

/* Everything hp_spool_open checks before reading: the name, both
 * directories' owners and modes, the lock. */
static int open_checks(struct hp_spool *sp, const char *name, char *err, size_t errlen)
{
    if (!hp_name_ok(name)) { /* it names a directory: "../x" must never leave the spool */
        snprintf(err, errlen, "sink name \"%s\" cannot name a spool directory", name);
        return -1;
    }
    if (check_dir(sp->cfg.directory, err, errlen) != 0 || check_dir(sp->dir, err, errlen) != 0)
        return -1;
    struct stat st;
    if (lstat(sp->dir, &st) == 0 && S_ISLNK(st.st_mode)) {
        snprintf(err, errlen, "%s is a symbolic link", sp->dir);
        return -1;
    }
    /* Made now (if it can be: else at the first write) so that the lock
     * holds from the start: a second agent is told at once. */
    if (mkdir_below(sp->dir) != 0)
        hp_debug("spool %s: cannot make %s yet: %s", sp->name, sp->dir, strerror(errno));
    return lock_dir(sp, err, errlen);
}

static struct hp_spool *spool_open(const struct hp_spool_cfg *cfg, const char *name, bool quiet,
                                   char *err, size_t errlen)
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
    sp->wfd = sp->rfd = sp->lockfd = -1;
    err[0] = '\0';
    if (open_checks(sp, name, err, errlen) != 0) {
        if (!err[0])
            snprintf(err, errlen, "cannot open %s: %s", sp->dir, strerror(errno));
        hp_spool_close(sp);
        return NULL;
    }
    load_acked(sp);
    sp->acked_saved = sp->acked;
    if (load_segs(sp) != 0) {
        snprintf(err, errlen, "cannot read %s: %s", sp->dir, strerror(errno));
        hp_spool_close(sp);
        return NULL;
    }
    check_acked(sp);
    struct seg *last = sp->nsegs ? &sp->segs[sp->nsegs - 1] : NULL;
    sp->next =
        last && last->first + last->count > sp->acked ? last->first + last->count : sp->acked;
    sp->read = sp->acked;
    while (sp->nsegs && sp->segs[0].first + sp->segs[0].count <= sp->acked)
        drop_oldest(sp, false);
    if (sp->nsegs && sp->read < sp->segs[0].first)
        sp->read = sp->segs[0].first;
    recount_holes(sp);
    if (hp_spool_unread(sp) && !quiet)
        hp_info("spool %s: %" PRIu64 " message(s) to replay from %s", sp->name, hp_spool_unread(sp),
                sp->dir);
    return sp;
}

struct hp_spool *hp_spool_open(const struct hp_spool_cfg *cfg, const char *name, char *err,
                               size_t errlen)
{
    return spool_open(cfg, name, false, err, errlen);
}

/* The type recorded in sp's directory into sp->type ("" if none). */
static void read_type(struct hp_spool *sp)
{
    char path[1100];
    snprintf(path, sizeof(path), "%s/type", sp->dir);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, sp->type, sizeof(sp->type) - 1) : -1;
    if (fd >= 0)
        close(fd);
    sp->type[n > 0 ? n : 0] = '\0';
    sp->type[strcspn(sp->type, "\n")] = '\0';
    if (!hp_name_ok(sp->type))
        sp->type[0] = '\0';
}

static void write_type(struct hp_spool *sp)
{
    if (!sp->type[0] || !sp->made_dir)
        return;
    char path[1100], tmp[1100], line[40];
    snprintf(path, sizeof(path), "%s/type", sp->dir);
    snprintf(tmp, sizeof(tmp), "%s/type.tmp", sp->dir);
    int len = snprintf(line, sizeof(line), "%s\n", sp->type);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    bool ok = fd >= 0 && write(fd, line, (size_t)len) == len;
    if (fd >= 0)
        close(fd);
    if (!ok || rename(tmp, path) != 0)
        unlink(tmp); /* only a hint for orphans: never an error */
}

void hp_spool_set_type(struct hp_spool *sp, const char *type)
{
    snprintf(sp->type, sizeof(sp->type), "%s", hp_name_ok(type) ? type : "");
    if (sp->nsegs) /* else with the first segment: an empty spool writes nothing */
        write_type(sp);
}

/* Move every unread record of sp to the spool `to`. Returns how many were
 * moved, or -1 if an append failed (what was moved is then delivered by
 * both: duplicates, never loss). */
static int64_t move_records(struct hp_spool *sp, struct hp_spool *to)
{
    const char *data;
    size_t len;
    uint64_t pos, out;
    int64_t n = 0;
    while (hp_spool_read(sp, &data, &len, &pos) == 1) {
        if (hp_spool_append(to, data, len, false, &out) != 0)
            return -1;
        n++;
    }
    return n;
}

/* One orphan: hand its messages to a sink of the same type, remove it
 * once empty, else say what is left. */
static void orphan(const struct hp_spool_cfg *cfg, const char *name, const struct hp_spool_live *lv)
{
    char err[256];
    struct hp_spool *sp = spool_open(cfg, name, true, err, sizeof(err));
    if (!sp) {
        hp_debug("spool %s: not looked at: %s", name, err);
        return;
    }
    uint64_t left = hp_spool_unread(sp);
    char dir[sizeof(sp->dir)], path[1100];
    snprintf(dir, sizeof(dir), "%s", sp->dir);
    read_type(sp);
    struct hp_spool *heir = left && sp->type[0] ? lv->heir(sp->type, lv->ud) : NULL;
    if (heir) {
        int64_t moved = move_records(sp, heir);
        if (moved >= 0)
            hp_info("spool %s: %" PRId64 " message(s) of a sink that is no longer configured "
                    "handed to sink %s (same type, %s)",
                    name, moved, heir->name, sp->type);
        left = moved >= 0 ? 0 : left;
    }
    if (left) {
        hp_warn("spool %s: %" PRIu64 " message(s) left in %s by a sink that is no longer "
                "configured; kept: configure a sink named \"%s\" to deliver them",
                name, left, dir, name);
        hp_spool_close(sp);
        return;
    }
    for (size_t i = 0; i < sp->nsegs; i++) /* empty ones were dropped at open */
        unlink_seg(sp, sp->segs[i].first);
    sp->acked_saved = sp->acked; /* nothing to save */
    hp_spool_close(sp);
    snprintf(path, sizeof(path), "%s/acked", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/type", dir);
    unlink(path);
    if (rmdir(dir) == 0)
        hp_info("spool %s: removed the empty spool of a sink that is no longer configured", name);
    else
        hp_debug("spool %s: rmdir %s: %s", name, dir, strerror(errno));
}

void hp_spool_orphans(const struct hp_spool_cfg *cfg, const struct hp_spool_live *lv)
{
    DIR *d = opendir(cfg->directory);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        if (!hp_name_ok(e->d_name) || lv->live(e->d_name, lv->ud) ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
            continue;
        orphan(cfg, e->d_name, lv);
    }
    closedir(d);
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
    sync_retired(sp->retired, sp->nretired);
    if (sp->dir_dirty)
        sync_dir(sp);
    if (sp->rfd >= 0)
        close(sp->rfd);
    save_acked(sp, sp->cfg.fsync != HP_FSYNC_NEVER);
    if (sp->lockfd >= 0)
        close(sp->lockfd); /* releases the flock */
    for (size_t i = 0; i < sp->nsegs; i++)
        free(sp->segs[i].gaps);
    free(sp->segs);
    free(sp->buf);
    free(sp);
}

/* ---- append ---------------------------------------------------------- */

/* Make sp->dir (mkdir_below) and lock it, once; then record the type. */
static int make_dir(struct hp_spool *sp)
{
    if (sp->made_dir)
        return 0;
    if (mkdir_below(sp->dir) != 0)
        return -1;
    char err[256];
    if (lock_dir(sp, err, sizeof(err)) != 0) {
        int e = errno;
        hp_complain(&sp->write_complain, HP_LOG_ERR, "spool %s: %s", sp->name, err);
        errno = e;
        return -1;
    }
    sp->made_dir = true;
    write_type(sp);
    return 0;
}

/* Close the current segment. Its fsync (per policy) is left to the next
 * sync job, so an append never waits for the disk; out of memory to keep
 * it, it is done here. */
static void retire_segment(struct hp_spool *sp)
{
    if (sp->dirty && sp->cfg.fsync != HP_FSYNC_NEVER) {
        if (hp_grow(&sp->retired, &sp->capretired, sp->nretired + 1, sizeof(*sp->retired)) == 0) {
            sp->retired[sp->nretired++] = sp->wfd;
            sp->wfd = -1;
            sp->dirty = false;
            return;
        }
        fdatasync(sp->wfd);
    }
    close(sp->wfd);
    sp->wfd = -1;
    sp->dirty = false;
}

/* Close the current segment and start one at next. */
static int new_segment(struct hp_spool *sp)
{
    if (sp->wfd >= 0)
        retire_segment(sp);
    if (make_dir(sp) != 0)
        return -1;
    char path[1100];
    seg_path(sp, sp->next, path, sizeof(path));
    /* A stale file (or a planted link) by that name holds nothing we
     * count: remove it, then create exclusively, never following a link. */
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640);
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
    if (sp->nsegs == 1) /* the first data: say whose it is (orphans) */
        write_type(sp);
    if (sp->cfg.fsync != HP_FSYNC_NEVER)
        sp->dir_dirty = true; /* the new file's entry: synced by the next job */
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
    uint64_t span = sp->next - sp->read;
    return span > sp->holes ? span - sp->holes : 0;
}

/* Move roff/rnum over a damaged stretch that starts at roff. */
static void skip_gap(struct hp_spool *sp, const struct seg *s)
{
    for (size_t i = 0; i < s->ngaps; i++)
        if (s->gaps[i].off == sp->roff && s->gaps[i].num == sp->rnum) {
            sp->roff = s->gaps[i].to;
            sp->rnum += s->gaps[i].nums;
        }
}

/* The segment holding record `read`, moving read past gaps (dropped or
 * damaged ranges). NULL when nothing is left. */
static struct seg *read_seg(struct hp_spool *sp)
{
    uint64_t was = sp->read;
    struct seg *found = NULL;
    for (size_t i = 0; i < sp->nsegs && !found; i++) {
        struct seg *s = &sp->segs[i];
        if (sp->read < s->first)
            sp->read = s->first;
        for (size_t k = 0; k < s->ngaps; k++)
            if (sp->read >= s->gaps[k].num && sp->read < s->gaps[k].num + s->gaps[k].nums)
                sp->read = s->gaps[k].num + s->gaps[k].nums;
        if (sp->read < s->first + s->count)
            found = s;
    }
    if (!found)
        sp->read = sp->next;
    if (sp->read != was)
        recount_holes(sp);
    return found;
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
        sp->rfd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (sp->rfd < 0)
            return -1;
        sp->rfirst = s->first;
        sp->rnum = s->first;
        sp->roff = HP_SPOOL_MAGIC_LEN;
    }
    skip_gap(sp, s);
    while (sp->rnum < sp->read) { /* rare: skip records already taken */
        long len = read_record(sp, sp->rfd, sp->roff, s->bytes);
        if (len < 0)
            return -1;
        sp->roff += HP_SPOOL_HDR + (uint64_t)len;
        sp->rnum++;
        skip_gap(sp, s);
    }
    return sp->rnum == sp->read ? 0 : -1;
}

int hp_spool_read(struct hp_spool *sp, const char **data, size_t *len, uint64_t *pos)
{
    struct seg *s;
    while ((s = read_seg(sp)) != NULL) {
        long n = seek_read(sp, s) == 0 ? read_record(sp, sp->rfd, sp->roff, s->bytes) : -1;
        if (n < 0) { /* damaged since open: skip the rest of the segment */
            uint64_t lost = real_from(s, sp->read);
            hp_warn("spool %s: segment %016" PRIx64 " unreadable at record %" PRIu64
                    ", skipping %" PRIu64 " message(s)",
                    sp->name, s->first, sp->read, lost);
            sp->stats.corrupt += lost;
            sp->read = s->first + s->count;
            recount_holes(sp);
            continue;
        }
        sp->roff += HP_SPOOL_HDR + (uint64_t)n;
        sp->rnum++;
        skip_gap(sp, s);
        *data = sp->buf;
        *len = (size_t)n;
        *pos = sp->read++;
        return 1;
    }
    return 0;
}

void hp_spool_skip(struct hp_spool *sp, uint64_t pos)
{
    sp->stats.corrupt++;
    hp_complain(&sp->skip_complain, HP_LOG_WARN,
                "spool %s: record %" PRIu64 " in %s is not a usable message envelope (or its "
                "reporter name is not a safe file name); skipped, counted in corrupt",
                sp->name, pos, sp->dir);
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

void hp_spool_sync(struct hp_spool *sp, int64_t now_ms, struct hp_spool_sync *job)
{
    *job = (struct hp_spool_sync){.sp = sp, .fd = -1};
    bool due = sp->cfg.fsync == HP_FSYNC_BATCH ||
               now_ms - sp->last_sync_ms >= (int64_t)(sp->cfg.fsync_interval * 1000);
    if (sp->dirty && sp->wfd >= 0 && sp->cfg.fsync != HP_FSYNC_NEVER && due) {
        /* A descriptor of its own: the segment may be closed or rotated
         * by an append while the job runs. Without one, sync here. */
        if ((job->fd = fcntl(sp->wfd, F_DUPFD_CLOEXEC, 0)) < 0)
            fdatasync(sp->wfd);
        sp->dirty = false;
    }
    if (due) {
        sp->last_sync_ms = now_ms;
        job->save = sp->acked != sp->acked_saved && sp->made_dir;
        job->acked = sp->acked;
    }
    job->retired = sp->retired; /* the job owns them now */
    job->nretired = sp->nretired;
    sp->retired = NULL;
    sp->nretired = sp->capretired = 0;
    job->dir = sp->dir_dirty;
    sp->dir_dirty = false;
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

void hp_spool_sync_run(struct hp_spool_sync *job)
{
    sync_retired(job->retired, job->nretired);
    job->retired = NULL;
    job->nretired = 0;
    if (job->fd >= 0) {
        fdatasync(job->fd);
        close(job->fd);
        job->fd = -1;
    }
    if (job->dir)
        sync_dir(job->sp);
    job->dir = false;
    if (job->save && write_acked(job->sp, job->acked, job->sp->cfg.fsync != HP_FSYNC_NEVER))
        job->sp->acked_saved = job->acked;
    job->save = false;
}

bool hp_spool_always(const struct hp_spool *sp)
{
    return sp->cfg.always;
}

const struct hp_spool_stats *hp_spool_stats(const struct hp_spool *sp)
{
    return &sp->stats;
}
