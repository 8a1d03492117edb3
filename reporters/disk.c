/* SPDX-License-Identifier: Apache-2.0 */
/* disk.c -- filesystems, block devices and watched directories.
 *
 *  filesystems  statvfs of every real mount in /proc/self/mounts, parsed
 *               with getmntent_r (fs types
 *               /proc/filesystems lists without "nodev": ext4, xfs, btrfs,
 *               vfat, ...; so no proc, sysfs, tmpfs, cgroup, overlay, nfs),
 *               one entry per device (the first mount; bind mounts repeat
 *               it), or the configured `mounts`; sizes as psutil.disk_usage
 *               plus inodes.
 *  devices      /proc/diskstats counters (sectors are 512 bytes) as totals
 *               and per-second rates, busy percent from the io_ticks delta;
 *               times in milliseconds, named _ms (read_time, write_time,
 *               busy_time without _ms are deprecated copies).
 *               A device whose counters went backwards gets no rates; the
 *               device table and its globs are reporters/devtab.h's.
 *  directories  apparent size and file count of each `directories` tree,
 *               walked with fts(3) at most every `directory_interval`
 *               seconds and reported from the cache in between.
 *
 * Mount points are host paths: statvfs is not redirected by proc_root.
 *
 * The message is written as it is sampled (lib/jw.h), with no json-c tree,
 * and is what the tree it replaced serialized to. A key that tree got
 * twice (a mount point or directory configured twice, a device named twice
 * in diskstats) kept its first place and took its last value: configured
 * mount points and directories are measured first, then each written once
 * at its first place with its last value; the devices' values go to a
 * buffer of their own (a name seen again replaces its earlier value) and
 * are copied in, in order, at the end. Buffers live in struct disk:
 * writing the message allocates nothing once they have grown. */
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/jw.h"
#include "lib/log.h"
#include "reporters/devtab.h"
#include "reporters/procfile.h"
#include "reporters/reporter.h"

#include <errno.h>
#include <fts.h>
#include <limits.h>
#include <linux/magic.h>
#include <mntent.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

enum {
    D_READS,
    D_RMERGED,
    D_RSECT,
    D_RMS,
    D_WRITES,
    D_WMERGED,
    D_WSECT,
    D_WMS,
    D_INPROG,
    D_BUSY,
    NDISK
};

struct watched {
    const char *path;  /* borrowed from the config */
    int64_t walked_ns; /* CLOCK_MONOTONIC of the last walk; 0 = never */
    int64_t walked_ms; /* epoch ms of the last walk */
    uint64_t size, files, dirs, errors;
    bool ok, warned;
};

/* One real filesystem of the mount table (strings owned, one allocation). */
struct mnt {
    char *dir, *fsname, *type;
};

/* A configured mount point and this sample's statvfs of it. */
struct confmnt {
    const char *path; /* borrowed from the config; may be NULL */
    struct statvfs st;
    bool ok;    /* st is this sample's */
    bool known; /* listed in the mount table: dev and type are its */
    char dev[256], type[256];
};

/* A device written this sample: its devtab index and its value's text in
 * dev_text. */
struct devout {
    size_t dev, at, len;
};

struct disk {
    /* options, borrowed from the config */
    const config_setting_t *mounts_opt, *devices, *exclude_devices, *directories;
    double dir_interval; /* seconds */
    /* state */
    struct hp_procfile mounts, filesystems, diskstats;
    struct hp_devtab devs;
    int64_t prev_ns;
    struct watched *dirs;
    int ndirs;
    bool dirs_twice; /* a directory is configured twice */
    struct confmnt *conf;
    int nconf;
    bool conf_twice; /* a mount point is configured twice */
    int64_t dir_interval_ns;
    bool warned_mounts, warned_diskstats;
    char warned_statvfs[8][128]; /* mount points already warned about (first few) */
    /* The mount table as last read: the text stays in mounts.buf and its
     * real filesystems in real[], both kept until procfs says the table
     * changed (mounts_changed). */
    struct mnt *real;
    size_t nreal, capreal;
    bool mounts_ok;   /* the last read of mounts succeeded */
    bool mounts_proc; /* mounts is procfs's: poll() reports changes */
    bool real_ok;     /* real[] is from the current text */
    bool conf_ok;     /* conf[]'s known, dev and type are from the current text */
    size_t *shown;    /* indexes of real[] written this sample */
    size_t nshown, capshown;
    /* the devices of this sample: values (elements of an array) and order */
    struct hp_buf dev_text;
    struct devout *out;
    size_t nout, capout;
};

static const char *const default_exclude[] = {"loop*", "ram*", NULL};

static const struct hp_opt disk_opts[] = {
    {.name = "mounts",
     .type = HP_OPT_STRINGS,
     .help = "mount points to report instead of every real filesystem",
     HP_AT_SET(struct disk, mounts_opt)},
    {.name = "devices",
     .type = HP_OPT_STRINGS,
     .help = "only these block devices (names or globs); default all",
     HP_AT_SET(struct disk, devices)},
    {.name = "exclude_devices",
     .type = HP_OPT_STRINGS,
     .help = "never these block devices (globs); default [\"loop*\", \"ram*\"]",
     HP_AT_SET(struct disk, exclude_devices)},
    {.name = "directories",
     .type = HP_OPT_STRINGS,
     .help = "directory trees whose total size and file count to report",
     HP_AT_SET(struct disk, directories)},
    {.name = "directory_interval",
     .type = HP_OPT_FLOAT,
     .def = "300",
     .min = 1,
     .max = 604800,
     .help = "seconds between walks of each directory tree (cached in between)",
     HP_AT_FLOAT(struct disk, dir_interval)},
    {0},
};

static void disk_fini(struct hp_reporter *r);

/* Does a STRINGS setting hold a string twice? */
static bool strs_twice(const config_setting_t *s)
{
    int n = hp_strs_count(s);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            const char *a = hp_strs_at(s, i), *b = hp_strs_at(s, j);
            if (a && b && strcmp(a, b) == 0)
                return true;
        }
    return false;
}

static int disk_init(struct hp_reporter *r, const config_setting_t *cfg, struct hp_errs *errs)
{
    (void)errs;
    struct disk *d = calloc(1, sizeof(*d));
    if (!d)
        return -1;
    r->priv = d;
    char path[512];
    hp_procfile_init(&d->mounts, hp_proc_path(r, path, sizeof(path), "self/mounts"));
    hp_procfile_init(&d->filesystems, hp_proc_path(r, path, sizeof(path), "filesystems"));
    hp_procfile_init(&d->diskstats, hp_proc_path(r, path, sizeof(path), "diskstats"));
    hp_opts_load(cfg, disk_opts, d);
    d->devs = (struct hp_devtab){
        .include = d->devices, .exclude = d->exclude_devices, .default_exclude = default_exclude};
    d->dir_interval_ns = (int64_t)(d->dir_interval * 1e9);
    d->ndirs = hp_strs_count(d->directories);
    d->nconf = hp_strs_count(d->mounts_opt);
    if ((d->ndirs && !(d->dirs = calloc((size_t)d->ndirs, sizeof(*d->dirs)))) ||
        (d->nconf && !(d->conf = calloc((size_t)d->nconf, sizeof(*d->conf))))) {
        disk_fini(r);
        return -1;
    }
    for (int i = 0; i < d->ndirs; i++)
        d->dirs[i].path = hp_strs_at(d->directories, i);
    for (int i = 0; i < d->nconf; i++)
        d->conf[i].path = hp_strs_at(d->mounts_opt, i);
    d->dirs_twice = strs_twice(d->directories);
    d->conf_twice = strs_twice(d->mounts_opt);
    return 0;
}

/* Entries i and j of a list: is j measured and named as i? */
typedef bool same_fn(const struct disk *d, int i, int j);

/* Which entry's value to write at entry i's place, or -1 for none there:
 * a key added twice to a json-c object kept the place of its first
 * measured entry and took the value of its last. */
static int keep_at(const struct disk *d, int i, int n, bool twice, same_fn *same)
{
    if (!twice)
        return i;
    for (int j = 0; j < i; j++)
        if (same(d, i, j))
            return -1;
    int k = i;
    for (int j = i + 1; j < n; j++)
        if (same(d, i, j))
            k = j;
    return k;
}

/* ---- filesystems ---- */

/* Is fstype a device-backed filesystem? From /proc/filesystems when we
 * have it (a line without "nodev"), else: the device is a path. */
static bool real_fs(const char *fslist, const char *fstype, const char *device)
{
    if (!fslist)
        return device[0] == '/';
    if (strcmp(fstype, "zfs") == 0)
        return true;
    size_t len = strlen(fstype);
    for (const char *p = fslist; p && *p;) {
        const char *nl = strchr(p, '\n');
        if (strncmp(p, "nodev", 5) != 0) {
            while (*p == ' ' || *p == '\t')
                p++;
            if (strncmp(p, fstype, len) == 0 && (p[len] == '\n' || p[len] == '\0'))
                return true;
        }
        p = nl ? nl + 1 : NULL;
    }
    return false;
}

/* Warn once per mount point (for the first few distinct ones). */
static void warn_statvfs(struct disk *d, const char *mnt, int err)
{
    for (size_t i = 0; i < sizeof(d->warned_statvfs) / sizeof(d->warned_statvfs[0]); i++) {
        if (strncmp(d->warned_statvfs[i], mnt, sizeof(d->warned_statvfs[i]) - 1) == 0)
            return;
        if (!d->warned_statvfs[i][0]) {
            snprintf(d->warned_statvfs[i], sizeof(d->warned_statvfs[i]), "%s", mnt);
            hp_warn("disk: statvfs %s: %s", mnt, strerror(err));
            return;
        }
    }
}

/* statvfs of mount point mnt; false (warned) when it fails. */
static bool fs_stat(struct disk *d, const char *mnt, struct statvfs *st)
{
    if (statvfs(mnt, st) == 0)
        return true;
    warn_statvfs(d, mnt, errno);
    return false;
}

/* One filesystem as psutil.disk_usage (used / (used + avail)) plus inodes. */
static void write_fs(struct hp_jw *w, const char *mnt, const struct statvfs *st, const char *device,
                     const char *fstype)
{
    uint64_t bs = st->f_frsize ? st->f_frsize : st->f_bsize;
    uint64_t total = st->f_blocks * bs, avail = st->f_bavail * bs;
    uint64_t used = (st->f_blocks - st->f_bfree) * bs;
    hp_jw_object(w, mnt);
    if (device)
        hp_jw_string(w, "device", device);
    if (fstype)
        hp_jw_string(w, "fstype", fstype);
    hp_jw_uint(w, "total", total);
    hp_jw_uint(w, "used", used);
    hp_jw_uint(w, "free", avail);
    hp_jw_double(w, "percent", hp_percent(used, used + avail), 1);
    if (st->f_files) {
        uint64_t iused = st->f_files - st->f_ffree;
        hp_jw_uint(w, "inodes_total", st->f_files);
        hp_jw_uint(w, "inodes_used", iused);
        hp_jw_uint(w, "inodes_free", st->f_favail);
        hp_jw_double(w, "inodes_percent", hp_percent(iused, iused + st->f_favail), 1);
    }
    hp_jw_end(w);
}

/* A stream over the mounts text for getmntent_r (which decodes the \040
 * escapes); NULL when there is nothing to read. */
static FILE *mounts_stream(const char *text)
{
    size_t len = text ? strlen(text) : 0;
    return len ? fmemopen((void *)text, len, "r") : NULL;
}

/* The mounts entry for mount point want (device, fstype), when listed. */
static bool find_mount(const char *mounts, const char *want, char *dev, char *type, size_t len)
{
    FILE *f = mounts_stream(mounts);
    struct mntent m;
    char buf[3 * PATH_MAX];
    bool found = false;
    while (f && !found && getmntent_r(f, &m, buf, sizeof(buf)))
        if (strcmp(m.mnt_dir, want) == 0) {
            snprintf(dev, len, "%s", m.mnt_fsname);
            snprintf(type, len, "%s", m.mnt_type);
            found = true;
        }
    if (f)
        fclose(f);
    return found;
}

static void real_clear(struct disk *d)
{
    for (size_t i = 0; i < d->nreal; i++)
        free(d->real[i].dir); /* the one allocation of the three strings */
    d->nreal = 0;
    d->real_ok = false;
}

/* real[] from the mounts text: every mount of a real filesystem, in order
 * (the one-per-device rule is applied per sample, after statvfs). -1 on
 * ENOMEM (real[] is then left empty and rebuilt next time). */
static int real_build(struct disk *d, const char *mounts)
{
    real_clear(d);
    const char *fslist = hp_procfile_read(&d->filesystems, true);
    FILE *f = mounts_stream(mounts);
    struct mntent m;
    char buf[3 * PATH_MAX];
    int rc = 0;
    while (f && rc == 0 && getmntent_r(f, &m, buf, sizeof(buf))) {
        if (!m.mnt_dir[0] || !real_fs(fslist, m.mnt_type, m.mnt_fsname))
            continue;
        size_t a = strlen(m.mnt_dir) + 1, b = strlen(m.mnt_fsname) + 1, c = strlen(m.mnt_type) + 1;
        char *str = malloc(a + b + c);
        if (!str || hp_grow(&d->real, &d->capreal, d->nreal + 1, sizeof(*d->real)) != 0) {
            free(str);
            rc = -1;
            break;
        }
        memcpy(str, m.mnt_dir, a);
        memcpy(str + a, m.mnt_fsname, b);
        memcpy(str + a + b, m.mnt_type, c);
        d->real[d->nreal++] = (struct mnt){str, str + a, str + a + b};
    }
    if (f)
        fclose(f);
    if (rc == 0 && hp_grow(&d->shown, &d->capshown, d->nreal, sizeof(*d->shown)) != 0)
        rc = -1;
    if (rc)
        real_clear(d);
    d->real_ok = rc == 0;
    return rc;
}

/* Is m's device or mount point one of a filesystem written already? */
static bool shown_already(const struct disk *d, const struct mnt *m)
{
    for (size_t i = 0; i < d->nshown; i++) {
        const struct mnt *s = &d->real[d->shown[i]];
        if (strcmp(s->fsname, m->fsname) == 0 || strcmp(s->dir, m->dir) == 0)
            return true;
    }
    return false;
}

/* Every real filesystem of the mount table, one per device. */
static void write_real_filesystems(struct disk *d, const char *mounts, struct hp_jw *w)
{
    if (!d->real_ok && real_build(d, mounts) != 0)
        return;
    d->nshown = 0;
    for (size_t i = 0; i < d->nreal; i++) {
        const struct mnt *m = &d->real[i];
        struct statvfs st;
        if (shown_already(d, m) || !fs_stat(d, m->dir, &st))
            continue;
        write_fs(w, m->dir, &st, m->fsname, m->type);
        d->shown[d->nshown++] = i; /* capshown >= nreal (real_build) */
    }
}

static bool same_mount(const struct disk *d, int i, int j)
{
    return d->conf[j].ok && strcmp(d->conf[i].path, d->conf[j].path) == 0;
}

/* Each configured mount point's device and type from the mounts text,
 * looked up again only when the text is new (mounts_text). */
static void conf_lookup(struct disk *d, const char *mounts)
{
    if (d->conf_ok)
        return;
    for (int i = 0; i < d->nconf; i++) {
        struct confmnt *c = &d->conf[i];
        c->known =
            mounts && c->path && find_mount(mounts, c->path, c->dev, c->type, sizeof(c->dev));
    }
    d->conf_ok = mounts != NULL;
}

/* The configured mount points, each once (keep_at). */
static void write_configured(struct disk *d, const char *mounts, struct hp_jw *w)
{
    for (int i = 0; i < d->nconf; i++) {
        struct confmnt *c = &d->conf[i];
        c->ok = c->path && fs_stat(d, c->path, &c->st);
    }
    conf_lookup(d, mounts);
    for (int i = 0; i < d->nconf; i++) {
        const struct confmnt *c = &d->conf[i];
        int k = c->ok ? keep_at(d, i, d->nconf, d->conf_twice, same_mount) : -1;
        if (k < 0)
            continue;
        write_fs(w, c->path, &d->conf[k].st, c->known ? c->dev : NULL, c->known ? c->type : NULL);
    }
}

/* Whether the mount table may have changed since the last read: always
 * for a file that is not procfs's (a fixture tree) or after a failed read;
 * else when poll() on the kept descriptor reports the mount namespace's
 * change event (POLLPRI), which procfs raises once per change. */
static bool mounts_changed(struct disk *d)
{
    if (!d->mounts_ok || !d->mounts_proc || d->mounts.fd < 0)
        return true;
    struct pollfd p = {.fd = d->mounts.fd, .events = POLLPRI};
    return poll(&p, 1, 0) != 0 && (p.revents & (POLLPRI | POLLERR | POLLNVAL));
}

/* The mounts text: the one read before when the table has not changed
 * (neither reading it nor parsing it again), else read anew. */
static const char *mounts_text(struct disk *d)
{
    if (!mounts_changed(d))
        return d->mounts.buf;
    const char *t = hp_procfile_read(&d->mounts, true);
    struct statfs sf;
    d->mounts_ok = t != NULL;
    d->mounts_proc =
        t && d->mounts.fd >= 0 && fstatfs(d->mounts.fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
    d->real_ok = false;
    d->conf_ok = false;
    return t;
}

/* "filesystems", even empty, unless there is neither a mount table nor a
 * configured mount point. */
static void write_filesystems(struct disk *d, struct hp_jw *w)
{
    const char *mounts = mounts_text(d);
    if (!mounts)
        hp_warn_once(&d->warned_mounts, "disk: cannot read %s", d->mounts.path);
    if (!mounts && !d->nconf)
        return;
    hp_jw_object(w, "filesystems");
    if (d->nconf)
        write_configured(d, mounts, w);
    else
        write_real_filesystems(d, mounts, w);
    hp_jw_end(w);
}

/* ---- block devices ---- */

static void dev_rates(struct hp_jw *o, const struct hp_dev *b, const uint64_t v[NDISK], double secs)
{
    for (int i = 0; i < NDISK; i++)
        if (i != D_INPROG && v[i] < b->v[i])
            return;
    hp_jw_double(o, "read_count_per_sec", (double)(v[D_READS] - b->v[D_READS]) / secs, 1);
    hp_jw_double(o, "write_count_per_sec", (double)(v[D_WRITES] - b->v[D_WRITES]) / secs, 1);
    hp_jw_double(o, "read_bytes_per_sec", (double)(v[D_RSECT] - b->v[D_RSECT]) * 512.0 / secs, 1);
    hp_jw_double(o, "write_bytes_per_sec", (double)(v[D_WSECT] - b->v[D_WSECT]) * 512.0 / secs, 1);
    double busy = (double)(v[D_BUSY] - b->v[D_BUSY]) / 10.0 / secs; /* ms -> percent */
    hp_jw_double(o, "busy_percent", busy > 100.0 ? 100.0 : busy, 1);
}

static void dev_object(struct hp_jw *o, struct hp_devtab *t, struct hp_dev *b,
                       const uint64_t v[NDISK], double secs)
{
    hp_jw_object(o, NULL);
    hp_jw_uint(o, "read_count", v[D_READS]);
    hp_jw_uint(o, "write_count", v[D_WRITES]);
    hp_jw_uint(o, "read_merged_count", v[D_RMERGED]);
    hp_jw_uint(o, "write_merged_count", v[D_WMERGED]);
    hp_jw_uint(o, "read_bytes", v[D_RSECT] * 512);
    hp_jw_uint(o, "write_bytes", v[D_WSECT] * 512);
    hp_jw_uint(o, "read_time_ms", v[D_RMS]);
    hp_jw_uint(o, "write_time_ms", v[D_WMS]);
    hp_jw_uint(o, "busy_time_ms", v[D_BUSY]);
    /* Deprecated names of the same values (no unit in the name), kept for
     * envelope version 1's subscribers: removed at version 2. */
    hp_jw_uint(o, "read_time", v[D_RMS]);
    hp_jw_uint(o, "write_time", v[D_WMS]);
    hp_jw_uint(o, "busy_time", v[D_BUSY]);
    hp_jw_uint(o, "in_progress", v[D_INPROG]);
    if (hp_dev_has_prev(t, b) && secs > 0)
        dev_rates(o, b, v, secs);
    hp_dev_seen(t, b, v, NDISK);
    hp_jw_end(o);
}

/* The entry of out for device index dev: its own when an earlier line of
 * this sample had the same name (its value is replaced, its place kept),
 * else a new one. NULL when out of memory. */
static struct devout *dev_out(struct disk *d, size_t dev, bool again)
{
    for (size_t i = 0; again && i < d->nout; i++)
        if (d->out[i].dev == dev)
            return &d->out[i];
    if (hp_grow(&d->out, &d->capout, d->nout + 1, sizeof(*d->out)) != 0)
        return NULL;
    d->out[d->nout] = (struct devout){.dev = dev};
    return &d->out[d->nout++];
}

/* Device b's value as the next element of vals (in dev_text), noted in
 * out. */
static void dev_value(struct disk *d, struct hp_jw *vals, struct hp_dev *b, const uint64_t v[NDISK],
                      double secs)
{
    bool again = b->gen == d->devs.gen; /* seen by this sample already */
    size_t at = d->dev_text.len;
    dev_object(vals, &d->devs, b, v, secs);
    if (vals->failed)
        return;
    if (d->dev_text.p[at] == ',') /* the element's separator */
        at++;
    struct devout *o = dev_out(d, (size_t)(b - d->devs.devs), again);
    if (!o) {
        hp_jw_fail(vals);
        return;
    }
    o->at = at;
    o->len = d->dev_text.len - at;
}

/* "major minor name c0 c1 ..." -> name and the first NDISK counters. */
static bool parse_diskstats_line(const char *p, char *name, size_t len, uint64_t v[NDISK])
{
    uint64_t major, minor;
    if (!hp_parse_u64(&p, &major) || !hp_parse_u64(&p, &minor))
        return false;
    while (*p == ' ')
        p++;
    size_t n = 0;
    for (; *p && *p != ' ' && *p != '\n'; p++)
        if (n + 1 < len)
            name[n++] = *p;
    name[n] = '\0';
    for (int i = 0; i < NDISK; i++)
        if (!hp_parse_u64(&p, &v[i]))
            return false;
    return n > 0;
}

/* "devices", from the values in dev_text in the order of out. */
static void write_devices_from(struct disk *d, struct hp_jw *w)
{
    hp_jw_object(w, "devices");
    for (size_t i = 0; i < d->nout; i++) {
        const struct devout *o = &d->out[i];
        hp_jw_raw(w, d->devs.devs[o->dev].name, d->dev_text.p + o->at, o->len);
    }
    hp_jw_end(w);
}

static void write_devices(struct disk *d, struct hp_jw *w)
{
    const char *p = hp_procfile_read(&d->diskstats, true);
    int64_t now = hp_mono_ns();
    if (!p) {
        hp_warn_once(&d->warned_diskstats, "disk: cannot read %s", d->diskstats.path);
        d->prev_ns = 0;
        return;
    }
    double secs = d->prev_ns ? (double)(now - d->prev_ns) / 1e9 : 0;
    d->prev_ns = now;
    hp_devtab_begin(&d->devs);
    struct hp_jw vals;
    hp_jw_start_array(&vals, &d->dev_text);
    d->nout = 0;
    char name[HP_DEV_NAME];
    uint64_t v[NDISK];
    do {
        struct hp_dev *b = parse_diskstats_line(p, name, sizeof(name), v)
                               ? hp_devtab_lookup(&d->devs, name)
                               : NULL;
        if (b && b->wanted)
            dev_value(d, &vals, b, v, secs);
        else if (b)
            hp_dev_seen(&d->devs, b, NULL, 0);
    } while (hp_next_line(&p));
    if (hp_jw_finish(&vals) != 0)
        hp_jw_fail(w); /* out of memory: no message rather than one without devices */
    else
        write_devices_from(d, w); /* before forget, which moves the devices */
    hp_devtab_forget(&d->devs);
}

/* ---- watched directories ---- */

static void walk(struct watched *w)
{
    char *paths[] = {(char *)w->path, NULL};
    FTS *fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
    w->size = w->files = w->dirs = w->errors = 0;
    w->ok = false;
    if (!fts)
        return;
    FTSENT *e;
    while ((e = fts_read(fts))) {
        switch (e->fts_info) {
        case FTS_F:
            w->files++;
            w->size += (uint64_t)e->fts_statp->st_size;
            break;
        case FTS_D:
            w->dirs++;
            w->ok = true;
            break;
        case FTS_DNR:
        case FTS_ERR:
        case FTS_NS:
            if (e->fts_level == 0) {
                hp_warn_once(&w->warned, "disk: cannot walk %s: %s", w->path,
                             strerror(e->fts_errno));
                w->ok = e->fts_info == FTS_DNR;
            }
            w->errors++;
            break;
        default:
            break;
        }
    }
    fts_close(fts);
}

static bool same_dir(const struct disk *d, int i, int j)
{
    return d->dirs[j].ok && strcmp(d->dirs[i].path, d->dirs[j].path) == 0;
}

/* "directories", even empty, when some are configured: the trees due are
 * walked first, then each is written once (keep_at). */
static void write_directories(struct disk *d, struct hp_jw *w)
{
    if (!d->ndirs)
        return;
    int64_t now = hp_mono_ns();
    for (int i = 0; i < d->ndirs; i++) {
        struct watched *t = &d->dirs[i];
        if (!t->walked_ns || now - t->walked_ns >= d->dir_interval_ns) {
            walk(t);
            t->walked_ns = hp_mono_ns();
            t->walked_ms = hp_real_ms();
        }
    }
    hp_jw_object(w, "directories");
    for (int i = 0; i < d->ndirs; i++) {
        int k = d->dirs[i].ok ? keep_at(d, i, d->ndirs, d->dirs_twice, same_dir) : -1;
        if (k < 0)
            continue;
        const struct watched *t = &d->dirs[k];
        hp_jw_object(w, d->dirs[i].path);
        hp_jw_uint(w, "size", t->size);
        hp_jw_uint(w, "files", t->files);
        hp_jw_uint(w, "dirs", t->dirs);
        hp_jw_uint(w, "errors", t->errors);
        hp_jw_int(w, "walked", t->walked_ms);
        hp_jw_end(w);
    }
    hp_jw_end(w);
}

static int disk_write(struct hp_reporter *r, struct hp_jw *w)
{
    struct disk *d = r->priv;
    write_filesystems(d, w);
    write_devices(d, w);
    write_directories(d, w);
    return hp_jw_empty(w) ? -1 : 0;
}

static void disk_fini(struct hp_reporter *r)
{
    struct disk *d = r->priv;
    if (!d)
        return;
    hp_procfile_fini(&d->mounts);
    hp_procfile_fini(&d->filesystems);
    real_clear(d);
    free(d->real);
    free(d->shown);
    hp_procfile_fini(&d->diskstats);
    hp_devtab_free(&d->devs);
    hp_buf_free(&d->dev_text);
    free(d->out);
    free(d->dirs);
    free(d->conf);
    free(d);
    r->priv = NULL;
}

const struct hp_reporter_ops hp_reporter_disk = {
    .name = "disk",
    .default_interval = 30.0,
    .default_enabled = true,
    .needs_prime = true,
    .opts = disk_opts,
    .init = disk_init,
    .write = disk_write,
    .fini = disk_fini,
};
