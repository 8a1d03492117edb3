/* SPDX-License-Identifier: Apache-2.0 */
/* proc_pid.h -- parsers for one process's /proc/PID files (stat, status,
 * io, cgroup, cmdline, fd). They work on text already read into a buffer
 * (reporters/procfile.h) and never allocate, so the process reporter can
 * run them over thousands of processes per sample. */
#ifndef HP_PROC_PID_H
#define HP_PROC_PID_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The fields of /proc/PID/stat the process reporter uses (proc(5)). */
struct hp_pidstat {
    int32_t pid, ppid;
    char comm[64];         /* the name between the outer parentheses */
    char state;            /* 'R', 'S', 'D', ... */
    uint64_t utime, stime; /* clock ticks */
    int64_t priority, nice, threads;
    uint64_t starttime; /* clock ticks after boot */
    uint64_t vsize;     /* bytes */
    uint64_t rss_pages;
};

/* Parse a /proc/PID/stat line. false when it is truncated or malformed.
 * comm may contain spaces and parentheses: it ends at the last ')'. */
bool hp_pidstat_parse(const char *buf, struct hp_pidstat *s);
/* Whether a /proc/ID/stat text is a thread's other than its group's
 * leader (exit_signal, field 38, is -1 only for those): /proc/TID opens for
 * any thread id although only processes are listed. */
bool hp_pidstat_is_thread(const char *buf);

/* Index into hp_pid_state_names of a state letter ('S' -> "sleeping");
 * HP_PID_STATE_OTHER for letters this code does not know. */
#define HP_PID_STATES      10
#define HP_PID_STATE_OTHER 9
int hp_pid_state_index(char state);
extern const char *const hp_pid_state_names[HP_PID_STATES];

/* Real and effective uid from the "Uid:" line of /proc/PID/status. */
bool hp_status_uids(const char *buf, uint32_t *ruid, uint32_t *euid);

/* The cgroup v2 path ("0::/path" line) of /proc/PID/cgroup into out. */
bool hp_cgroup_v2(const char *buf, char *out, size_t outlen);
/* The systemd unit of a cgroup path: its last component ending in
 * .service, .scope, .socket, .mount or .swap. false when there is none. */
bool hp_cgroup_unit(const char *path, char *out, size_t outlen);

/* /proc/PID/cmdline in place: NUL separators become spaces, trailing
 * separators go; returns the new length. */
size_t hp_cmdline_fix(char *buf, size_t len);

/* Replace every byte that is not part of valid UTF-8 with '?', in place:
 * process names and command lines are arbitrary bytes, JSON text is not. */
void hp_utf8_sanitize(char *s);

/* Number of entries of an open /proc/PID/fd directory (its size on procfs
 * since Linux 6.2, else listed, rewound first, so a
 * DIR kept open gives a fresh count). -1 when reading fails. */
long hp_count_fds(DIR *d);

#endif
