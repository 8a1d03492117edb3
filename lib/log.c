/* SPDX-License-Identifier: Apache-2.0 */
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

/* ---- URL redaction ------------------------------------------------------
 *
 * Over-redaction is harmless, a leak is not: where a URL is ambiguous
 * (an unescaped '@' or '/' in the password, a colon with no '@' after it)
 * the widest reading that could hold a secret is masked. */

struct redact_out {
    char *p;
    size_t len, cap;
};

static void put(struct redact_out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && o->len + 1 < o->cap; i++)
        o->p[o->len++] = s[i];
    if (o->cap)
        o->p[o->len] = '\0';
}

static bool is_scheme_at(const char *s, const char *end)
{
    const char *p = s;
    if (p >= end || !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        return false;
    while (p < end && (strchr("+-.", *p) || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                       (*p >= '0' && *p <= '9')))
        p++;
    return end - p >= 3 && memcmp(p, "://", 3) == 0;
}

/* Query keys whose values are secrets (case-insensitive, exact key). */
static bool secret_key(const char *k, size_t n)
{
    static const char *const keys[] = {
        "password", "passwd", "pass", "pwd",          "secret",        "token",      "api_key",
        "apikey",   "key",    "auth", "access_token", "sasl_password", "credentials"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strlen(keys[i]) == n && strncasecmp(k, keys[i], n) == 0)
            return true;
    return false;
}

/* Copy the query/fragment part q[0..n) with secret values masked. */
static void redact_query(struct redact_out *o, const char *q, size_t n)
{
    const char *end = q + n, *p = q;
    while (p < end) {
        size_t sep = strcspn(p, "&;#");
        if (p + sep > end)
            sep = (size_t)(end - p);
        const char *eq = memchr(p, '=', sep);
        size_t klen = eq ? (size_t)(eq - p) : sep;
        const char *k = p;
        while (klen && (*k == '?' || *k == '&')) /* the leading '?' belongs to no key */
            k++, klen--;
        if (eq && secret_key(k, klen)) {
            put(o, p, (size_t)(eq - p) + 1);
            put(o, "***", 3);
        } else {
            put(o, p, sep);
        }
        p += sep;
        if (p < end)
            put(o, p++, 1);
    }
}

/* True if s[0..n) is empty or all digits (a port, not a password). */
static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Redact one URL u[0..n). */
static void redact_one(struct redact_out *o, const char *u, size_t n)
{
    const char *end = u + n, *scheme = NULL;
    for (const char *p = u; p + 3 <= end && !scheme; p++)
        if (memcmp(p, "://", 3) == 0)
            scheme = p;
    const char *auth = scheme ? scheme + 3 : u;
    const char *at = memchr(auth, '@', (size_t)(end - auth));
    const char *hostpart = auth, *mask_from = NULL, *mask_to = NULL;
    if (at) {
        /* The userinfo ends at the last '@' before the path that follows
         * the first '@': "u:p@ss@host/vh" and "u:pa/ss@host" both mask. */
        const char *path = at + strcspn(at, "/?#");
        if (path > end)
            path = end;
        for (const char *p = at; p < path; p++)
            if (*p == '@')
                at = p;
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon) {
            mask_from = colon + 1;
            mask_to = at;
        }
        hostpart = at;
    } else {
        /* No '@': "scheme://user:secret" still hides a password unless
         * what follows the colon is a port. */
        size_t alen = strcspn(auth, "/?#");
        if (auth + alen > end)
            alen = (size_t)(end - auth);
        const char *colon = memchr(auth, ':', alen);
        if (colon && !all_digits(colon + 1, (size_t)(auth + alen - colon - 1))) {
            mask_from = colon + 1;
            mask_to = auth + alen;
        }
    }
    const char *q = hostpart + strcspn(hostpart, "?#");
    if (q > end)
        q = end;
    if (mask_from) {
        put(o, u, (size_t)(mask_from - u));
        put(o, "***", 3);
        if (mask_to > q) /* the mask swallowed the query */
            q = mask_to;
        put(o, mask_to, (size_t)(q - mask_to));
    } else {
        put(o, u, (size_t)(q - u));
    }
    redact_query(o, q, (size_t)(end - q));
}

void hp_redact_url(const char *url, char *out, size_t outlen)
{
    struct redact_out o = {out, 0, outlen};
    put(&o, "", 0);
    /* A list of URLs: split before each "scheme://" that follows a comma or
     * white space (a comma inside a password does not split). */
    const char *p = url, *end = url + strlen(url);
    while (p < end) {
        const char *q = p + 1;
        while (q < end && !(strchr(", \t\n", q[-1]) && is_scheme_at(q, end)))
            q++;
        const char *e = q;
        while (e > p && strchr(", \t\n", e[-1]))
            e--;
        redact_one(&o, p, (size_t)(e - p));
        put(&o, e, (size_t)(q - e));
        p = q;
    }
}
