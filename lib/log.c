/* log.c -- leveled logging to stderr (journal under systemd) or syslog.
 *
 * The only process-wide state outside the agent context lives here, because
 * every module logs: the level is an atomic (relaxed: a reader seeing the
 * old level for one more line is harmless) and the destination is set by
 * the main thread during start-up and reload. */
#include "lib/log.h"
#include "lib/clock.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>

static _Atomic int log_level = HP_LOG_INFO;
static _Atomic int log_dest = HP_LOG_STDERR;
static _Atomic bool log_stamp = false; /* relaxed, as log_level */

static const char *const level_names[] = {"error", "warning", "info", "debug"};
static const int syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

void hp_log_setup(enum hp_log_dest dest, enum hp_log_level level)
{
    if (dest == HP_LOG_SYSLOG && atomic_load_explicit(&log_dest, memory_order_relaxed) != (int)dest)
        openlog("hostpulse", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    atomic_store_explicit(&log_dest, dest, memory_order_relaxed);
    atomic_store_explicit(&log_level, level, memory_order_relaxed);
}

void hp_log_set_timestamps(bool on)
{
    atomic_store_explicit(&log_stamp, on, memory_order_relaxed);
}

bool hp_log_under_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    const char *id = getenv("INVOCATION_ID");
    return (js && *js) || (id && *id);
}

/* "2026-11-28T00:10:00.123Z " into buf, or "" when stamps are off. */
static void stamp(char *buf, size_t len)
{
    buf[0] = '\0';
    if (!atomic_load_explicit(&log_stamp, memory_order_relaxed))
        return;
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (!gmtime_r(&ts.tv_sec, &tm))
        return;
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    if (n)
        snprintf(buf + n, len - n, ".%03ldZ ", ts.tv_nsec / 1000000);
}

enum hp_log_level hp_log_get_level(void)
{
    return atomic_load_explicit(&log_level, memory_order_relaxed);
}

int hp_log_level_parse(const char *s)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return (int)i;
    if (strcasecmp(s, "warn") == 0)
        return HP_LOG_WARN;
    if (strcasecmp(s, "err") == 0)
        return HP_LOG_ERR;
    return -1;
}

static void vlog(enum hp_log_level level, const char *fmt, va_list ap)
{
    if ((int)level > atomic_load_explicit(&log_level, memory_order_relaxed))
        return;
    char line[1024];
    vsnprintf(line, sizeof(line), fmt, ap);
    if (atomic_load_explicit(&log_dest, memory_order_relaxed) == HP_LOG_SYSLOG) {
        syslog(syslog_prio[level], "%s", line);
        return;
    }
    char when[40];
    stamp(when, sizeof(when));
    /* One fprintf per line: stdio locks the stream, so lines never interleave. */
    fprintf(stderr, "%shostpulse: %s: %s\n", when, level_names[level], line);
}

void hp_log(enum hp_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

bool hp_warn_once(bool *flag, const char *fmt, ...)
{
    if (*flag)
        return false;
    *flag = true;
    va_list ap;
    va_start(ap, fmt);
    vlog(HP_LOG_WARN, fmt, ap);
    va_end(ap);
    return true;
}

void hp_complain_detail(struct hp_complain *c, enum hp_log_level level, const char *reason,
                        const char *detail)
{
    int64_t now = hp_mono_ms();
    bool same = strncmp(reason, c->last, sizeof(c->last) - 1) == 0;
    if (same && now < c->next_ms)
        return;
    c->interval_ms = same ? c->interval_ms * 2 : 60000;
    if (c->interval_ms > 3600000)
        c->interval_ms = 3600000;
    c->next_ms = now + c->interval_ms;
    snprintf(c->last, sizeof(c->last), "%s", reason);
    hp_log(level, "%s%s", reason, detail ? detail : "");
}

void hp_complain(struct hp_complain *c, enum hp_log_level level, const char *fmt, ...)
{
    char reason[sizeof(c->last)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    hp_complain_detail(c, level, reason, NULL);
}

void hp_complain_clear(struct hp_complain *c, const char *fmt, ...)
{
    if (c->last[0] == '\0')
        return;
    c->last[0] = '\0';
    c->next_ms = 0;
    va_list ap;
    va_start(ap, fmt);
    vlog(HP_LOG_INFO, fmt, ap);
    va_end(ap);
}

void hp_redact_url(const char *url, char *out, size_t outlen)
{
    /* scheme://user:password@host -> scheme://user:***@host */
    const char *scheme = strstr(url, "://");
    const char *auth = scheme ? scheme + 3 : url;
    const char *at = strchr(auth, '@');
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon) {
        snprintf(out, outlen, "%s", url);
        return;
    }
    snprintf(out, outlen, "%.*s:***%s", (int)(colon - url), url, at);
}
