/* SPDX-License-Identifier: Apache-2.0 */
/* spool.h -- one sink's disk backlog: append-only segment files.
 *
 * Layout: <directory>/<sink name>/ holds segment files named after the
 * number of their first record (%016llx.seg) and a small "acked" file.
 * A segment starts with the 8-byte magic "HPSPOOL1", then records:
 *
 *   u32 len (little endian) | u32 crc | len bytes of message JSON
 *
 * crc is CRC-32C over the 4 length bytes and the payload, so a torn or
 * bit-flipped length is caught as well as a damaged payload. Records are
 * numbered in append order (a number that only grows, across restarts).
 *
 * Three positions: `next` (number of the next append), `read` (the next
 * record to hand to the backlog) and `acked` (every record below it was
 * confirmed by the sink). A segment file is deleted once all its records
 * are acked. `acked` is persisted to the "acked" file (write + rename) at
 * most once per sync; after a crash, records acked since the last save are
 * delivered again: at-least-once, never lost.
 *
 * On open, every segment is checked record by record. A damaged record
 * (bad CRC, impossible length) or a bad magic is skipped by scanning to
 * the next whole record; the stretch keeps an upper bound of record
 * numbers so `acked` never covers a record after it by mistake. A torn
 * tail (crash mid-write) is truncated. Both are counted in `corrupt` and
 * logged, never fatal; only real records are counted as unread. Segment
 * files and `acked` are never opened through a symbolic link; the sink
 * directory is flock'ed while the spool is open (one agent per spool), and
 * refused if another user owns it or anyone may write to it. Bounded by
 * max_bytes (the oldest segments are dropped, and the unread records they
 * held counted in `dropped`) and optionally by max_age.
 *
 * Transport thread only (or main while the transport is stopped). */
#ifndef HP_SPOOL_H
#define HP_SPOOL_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/opts.h"

#define HP_SPOOL_MAGIC      "HPSPOOL1"
#define HP_SPOOL_MAGIC_LEN  8
#define HP_SPOOL_HDR        8           /* len + crc */
#define HP_SPOOL_MAX_RECORD (16u << 20) /* larger lengths mean corruption */

enum hp_spool_fsync { HP_FSYNC_BATCH, HP_FSYNC_INTERVAL, HP_FSYNC_NEVER };

struct hp_spool_cfg {
    const char *directory;  /* parent of the per-sink directories */
    uint64_t max_bytes;     /* all segments of one sink */
    double max_age;         /* seconds, 0 = no limit */
    uint64_t segment_bytes; /* a segment is closed past this size */
    enum hp_spool_fsync fsync;
    double fsync_interval; /* seconds, for HP_FSYNC_INTERVAL */
    bool always;           /* spool every message, not only on outage */
};

/* Counters, transport thread only (the transport copies them into the
 * sink's atomic stats for the self-report). */
struct hp_spool_stats {
    uint64_t bytes; /* on disk now, all segments */
    uint64_t segments;
    uint64_t dropped; /* unread records lost to max_bytes / max_age */
    uint64_t corrupt; /* damaged records skipped or truncated */
    uint64_t failed;  /* appends refused by the disk (ENOSPC, EIO) */
};

struct hp_spool;

/* The options of the agent.spool group (the agent's table nests it). */
extern const struct hp_opt hp_spool_opts[];

/* Fill cfg from the agent.spool group (NULL: defaults). This can't fail:
 * the group was validated with the config. The environment variable
 * HOSTPULSE_SPOOL_DIR replaces the default directory (not one set in the
 * file). */
void hp_spool_cfg_read(struct hp_spool_cfg *cfg, const config_setting_t *group);

/* Open the spool of sink `name`: scan and repair its segments (nothing is
 * created until the first append). Returns NULL on error with the reason
 * in err. */
struct hp_spool *hp_spool_open(const struct hp_spool_cfg *cfg, const char *name, char *err,
                               size_t errlen);
/* Sync (per policy), save `acked`, close. NULL is a no-op. */
void hp_spool_close(struct hp_spool *sp);

/* Append one record; *pos gets its number. With consume=true and nothing
 * left unread, the caller keeps the message in memory: `read` moves past
 * it. Returns 0, or -1 with errno (ENOSPC, EIO, EMSGSIZE): nothing was
 * written. May drop the oldest segments to stay within max_bytes. */
int hp_spool_append(struct hp_spool *sp, const char *data, size_t len, bool consume, uint64_t *pos);
/* Records appended and still readable, not yet read (gaps left by damage
 * or drops excluded): what a replay will deliver. */
uint64_t hp_spool_unread(const struct hp_spool *sp);
/* The next unread record: *data (valid until the next call, not
 * NUL-terminated), *len, *pos. Returns 1, or 0 when nothing is unread.
 * Damaged records are skipped (counted in corrupt), so it always makes
 * progress. */
int hp_spool_read(struct hp_spool *sp, const char **data, size_t *len, uint64_t *pos);
/* The record at pos, just read, cannot be used (not a message envelope,
 * or a reporter name that is not a safe file name): count it in corrupt
 * and log it (rate-limited). */
void hp_spool_skip(struct hp_spool *sp, uint64_t pos);
/* Every record below upto is confirmed; fully acked segments are deleted. */
void hp_spool_ack(struct hp_spool *sp, uint64_t upto);
/* Periodic work, in two steps so that the lock guarding the spool is not
 * held while the disk works: hp_spool_sync (under the lock, now_ms
 * monotonic) applies max_age and fills *job with what is due per the
 * fsync policy: the segment's fsync (on a descriptor of the job's own),
 * that of segments closed since the last job and of the directory when a
 * segment file was made (appends leave both to the job), and saving
 * `acked`; hp_spool_sync_run (after the lock is released) does
 * it. An append may run meanwhile. Only the thread that acks the spool
 * (the sink's) runs jobs, one at a time, and every job it fills. */
struct hp_spool_sync {
    struct hp_spool *sp;
    int fd;       /* the segment to fsync (a dup), or -1 */
    int *retired; /* closed segments to fsync, then close (owned) */
    size_t nretired;
    bool dir;       /* fsync the directory (a segment file was made) */
    bool save;      /* write `acked` */
    uint64_t acked; /* the value to write */
};
void hp_spool_sync(struct hp_spool *sp, int64_t now_ms, struct hp_spool_sync *job);
void hp_spool_sync_run(struct hp_spool_sync *job);
bool hp_spool_always(const struct hp_spool *sp);
/* Record the type of the sink that owns the spool (a `type` file in its
 * directory, written with the first record), so that its messages can
 * find a sink of the same type if this one is removed. */
void hp_spool_set_type(struct hp_spool *sp, const char *type);

/* How hp_spool_orphans sees the live sinks: live(name) is true for a
 * configured sink; heir(type) is the open spool of a configured sink of
 * that type (NULL if there is none). */
struct hp_spool_live {
    bool (*live)(const char *name, void *ud);
    struct hp_spool *(*heir)(const char *type, void *ud);
    void *ud;
};

/* Spools left in cfg->directory by sinks that are no longer configured:
 * an empty one is removed; the messages of one that still holds some are
 * moved (appended, unread) to the spool of a live sink of the same type,
 * then it is removed; with no such sink it is kept and logged (how many,
 * where, which sink name would deliver them), never deleted with data in
 * it. Main or transport thread, with the live sinks' spools open (their
 * flocks make them skipped in any case). */
void hp_spool_orphans(const struct hp_spool_cfg *cfg, const struct hp_spool_live *lv);
const struct hp_spool_stats *hp_spool_stats(const struct hp_spool *sp);

#endif
