/* SPDX-License-Identifier: Apache-2.0 */
/* procfile.h -- read a /proc or /sys file with one pread into a reused
 * buffer, keeping the descriptor open between samples.
 *
 * procfs regenerates a file's content on every read from offset 0, so a
 * descriptor opened once and re-read with pread(fd, buf, cap, 0) gives a
 * fresh snapshot without open/close per sample. The buffer grows (doubling)
 * when a read fills it (up to 64 MiB), so one snapshot is always one whole
 * read. Only regular files are opened, without blocking (lib/regfile.h):
 * a FIFO or a device planted in the proc root fails the read instead of
 * hanging the reporter. */
#ifndef HP_PROCFILE_H
#define HP_PROCFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hp_procfile {
    char path[512];
    int fd; /* -1 when closed */
    char *buf;
    size_t cap;
    size_t len;     /* bytes of the last read; buf[len] == '\0' */
    int last_errno; /* errno of the last failed open/read, 0 after success */
};

/* Remember path (nothing is opened yet). */
void hp_procfile_init(struct hp_procfile *f, const char *path);
/* (Re)open if needed and read the whole file. Returns the NUL-terminated
 * text, or NULL with f->last_errno set. keep_open=false closes after. */
const char *hp_procfile_read(struct hp_procfile *f, bool keep_open);
void hp_procfile_close(struct hp_procfile *f);
/* Close and free the buffer. */
void hp_procfile_fini(struct hp_procfile *f);

/* Read a small file once (a sysfs attribute) into buf; strips the trailing
 * newline. Returns length, or -1 with errno set. */
long hp_read_small(const char *path, char *buf, size_t len);

/* Parsing helpers that never allocate. They advance *p past what they
 * parsed and return false when no number is there. */
bool hp_parse_u64(const char **p, uint64_t *out);
bool hp_parse_i64(const char **p, int64_t *out);
bool hp_parse_double(const char **p, double *out);
/* Advance *p to the start of the next line; false at the end. */
bool hp_next_line(const char **p);
/* The value of "Key:   123 kB" style lines in buf (meminfo, status); the
 * number before the unit. false when the key is absent. */
bool hp_find_key_u64(const char *buf, const char *key, uint64_t *out);
/* The boot time (the "btime" line of a /proc/stat text) in seconds since
 * the epoch. false when absent, or too large to be one in milliseconds. */
bool hp_find_btime(const char *stat, uint64_t *secs);

/* 100 * part / whole; 0 when whole is 0. */
static inline double hp_percent(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

#endif
