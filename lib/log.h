/* SPDX-License-Identifier: Apache-2.0 */
/* log.h -- leveled logging to stderr or syslog, with once/complain helpers.
 *
 * Every message carries its module's prefix by convention ("cpu: ...").
 * Secrets never go through here: callers redact URLs with hp_redact_url(). */
#ifndef HP_LOG_H
#define HP_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hp_log_level { HP_LOG_ERR = 0, HP_LOG_WARN, HP_LOG_INFO, HP_LOG_DEBUG };
enum hp_log_dest { HP_LOG_STDERR = 0, HP_LOG_SYSLOG };

/* Set destination and level. Safe to call at any time; the level is read
 * with a relaxed atomic load on every call, the destination is only
 * changed by the main thread while no other thread logs to syslog. */
void hp_log_setup(enum hp_log_dest dest, enum hp_log_level level);
enum hp_log_level hp_log_get_level(void);
/* Prefix each stderr line with the time (ISO 8601, UTC, milliseconds:
 * "2026-11-28T00:10:00.123Z"). Off by default; syslog lines never carry
 * one (syslog adds its own). */
void hp_log_set_timestamps(bool on);
/* Does stderr go to the systemd journal, which stamps lines itself? True
 * when JOURNAL_STREAM or INVOCATION_ID is set (systemd sets both for a
 * service). */
bool hp_log_under_journal(void);
int hp_log_level_parse(const char *s); /* -1 when unknown */
void hp_log(enum hp_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define hp_err(...)   hp_log(HP_LOG_ERR, __VA_ARGS__)
#define hp_warn(...)  hp_log(HP_LOG_WARN, __VA_ARGS__)
#define hp_info(...)  hp_log(HP_LOG_INFO, __VA_ARGS__)
#define hp_debug(...) hp_log(HP_LOG_DEBUG, __VA_ARGS__)

/* Log a warning the first time only; *flag belongs to the caller's
 * thread (a reporter's private state, say). Returns true if it logged. */
bool hp_warn_once(bool *flag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Rate-limited complaint about a persistent failure, like collectd's
 * c_complain: logs when the reason changes, then at most once per
 * doubling interval (capped at an hour); hp_complain_clear() logs the
 * recovery once. Owned by one thread. */
struct hp_complain {
    int64_t next_ms;     /* monotonic ms before which a repeat is suppressed */
    int64_t interval_ms; /* current repeat interval */
    char last[320];      /* reason last logged, "" when not failing */
};
void hp_complain(struct hp_complain *c, enum hp_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same, where only `reason` decides whether this is news; `detail`
 * (a retry delay, say) is printed after it but never makes a repeat. */
void hp_complain_detail(struct hp_complain *c, enum hp_log_level level, const char *reason,
                        const char *detail);
void hp_complain_clear(struct hp_complain *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copy url into out with any password replaced by "***". */
void hp_redact_url(const char *url, char *out, size_t outlen);

#endif
