/* SPDX-License-Identifier: Apache-2.0 */
/* pidtab.h -- per-pid memory between samples: an open-addressing hash
 * table keyed by pid, double-buffered so pids that vanished are dropped
 * without a delete pass.
 *
 * Each sample looks up the previous values in `cur` and writes this
 * sample's values into `next`; hp_pidtab_commit() swaps them and the old
 * table is cleared by the next hp_pidtab_begin(). Nothing is allocated
 * per sample: the arrays only grow (doubling) when the process count does.
 * Each table lists the slots it uses, so a sample's begin and commit cost
 * follows the processes seen, not the largest count the table grew for.
 *
 * An entry may own two descriptors (fd >= 0: the process's /proc/PID/stat,
 * sfd >= 0: its /proc/PID/schedstat, kept open between samples). The
 * caller moves them to the next sample's entry by taking them from the
 * previous one (setting that one's fd or sfd to -1); whatever is left in
 * the previous table at commit is closed then, so the descriptors of
 * vanished processes go with their entries. */
#ifndef HP_PIDTAB_H
#define HP_PIDTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hp_pident {
    int32_t pid;         /* 0: empty slot */
    uint64_t starttime;  /* clock ticks after boot: tells a reused pid apart */
    uint64_t ticks;      /* utime + stime, clock ticks */
    uint64_t read_bytes; /* /proc/PID/io, valid when io_ns != 0 */
    uint64_t write_bytes;
    int64_t io_ns;     /* monotonic time read_bytes/write_bytes were read */
    uint64_t run_ns;   /* schedstat's first field (leader's run time), if has_run */
    uint64_t slices;   /* schedstat's third field (timeslices run), if has_run */
    uint32_t rec;      /* index of the process's record in its sample's records */
    uint16_t stat_age; /* samples since stat was last read (the record's age) */
    bool has_run;      /* run_ns was read just before the record's stat */
    bool no_sched;     /* this process has no readable schedstat: stat only */
    int fd;            /* owned stat descriptor, -1: none */
    int sfd;           /* owned schedstat descriptor, -1: none */
};

struct hp_pidmap {
    struct hp_pident *e;
    size_t cap;     /* power of two, or 0 */
    size_t n;       /* entries in use */
    uint32_t *used; /* their slots, n of them (room for cap / 2): clearing
                     * and closing walk these, not the whole table */
};

struct hp_pidtab {
    struct hp_pidmap cur;  /* the previous sample's values */
    struct hp_pidmap next; /* being filled by this sample */
};

/* Start a sample: empty `next`. */
void hp_pidtab_begin(struct hp_pidtab *t);
/* The previous sample's entry for pid, or NULL. Writable only to take its
 * fd or sfd (set it to -1). */
struct hp_pident *hp_pidtab_prev(const struct hp_pidtab *t, int32_t pid);
/* This sample's entry for pid (zeroed but for pid, and fd = sfd = -1, when
 * new);
 * NULL only on ENOMEM. */
struct hp_pident *hp_pidtab_put(struct hp_pidtab *t, int32_t pid);
/* End a sample: `next` becomes `cur`; descriptors left in the old `cur`
 * are closed. */
void hp_pidtab_commit(struct hp_pidtab *t);
/* Close every descriptor and free the tables. */
void hp_pidtab_free(struct hp_pidtab *t);

#endif
