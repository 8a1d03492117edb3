/* SPDX-License-Identifier: Apache-2.0 */
/* template.c -- compile and expand name templates (see template.h). One
 * pass replaces the {placeholders}; when the template uses time
 * conversions, strftime(3) then runs on the result with the message's UTC
 * time, the way es-file paths and index names always worked. */
#include "lib/template.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const struct {
    const char *name;
    unsigned part;
} names[] = {
    {"host", HP_TMPL_HOST},
    {"reporter", HP_TMPL_REPORTER},
    {"session", HP_TMPL_SESSION},
    {"sink", HP_TMPL_SINK},
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

/* The part named by the k bytes at p, or 0. */
static unsigned part_of(const char *p, size_t k)
{
    for (size_t i = 0; i < NNAMES; i++)
        if (strlen(names[i].name) == k && strncmp(p, names[i].name, k) == 0)
            return names[i].part;
    return 0;
}

/* "{host}, {reporter}" for the allowed placeholders. */
static void list_allowed(unsigned allowed, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NNAMES && o < len; i++)
        if (allowed & names[i].part)
            o += (size_t)snprintf(buf + o, len - o, "%s{%s}", o ? ", " : "", names[i].name);
    if (allowed & HP_TMPL_TIME && o < len)
        snprintf(buf + o, len - o, "%sstrftime conversions such as %%Y.%%m.%%d", o ? ", " : "");
    if (!buf[0])
        snprintf(buf, len, "no placeholders");
}

int hp_tmpl_compile(struct hp_tmpl *t, const char *text, unsigned allowed, char *why, size_t whylen)
{
    char ok[160];
    t->text = text ? text : "";
    t->uses = 0;
    t->allowed = allowed;
    for (const char *p = t->text; *p; p++) {
        if (*p == '%' && allowed & HP_TMPL_TIME) {
            if (!*++p || !strchr("YymdHMSjUWVGgCuws%", *p)) {
                snprintf(why, whylen,
                         "may only use the strftime conversions %%Y %%y %%m %%d %%H %%M %%S %%j "
                         "%%U %%W %%V %%G %%g %%C %%u %%w %%s %%%%");
                return -1;
            }
            t->uses |= *p == '%' ? 0 : HP_TMPL_TIME;
            continue;
        }
        if (*p != '{')
            continue;
        const char *end = strchr(p, '}');
        size_t k = end ? (size_t)(end - p - 1) : strlen(p + 1);
        unsigned part = end ? part_of(p + 1, k) : 0;
        if (!part || !(allowed & part)) {
            list_allowed(allowed, ok, sizeof(ok));
            snprintf(why, whylen, "%s placeholder {%.*s}; use %s", part ? "disallowed" : "unknown",
                     (int)(k > 40 ? 40 : k), p + 1, ok);
            return -1;
        }
        t->uses |= part;
        p = end;
    }
    return 0;
}

int hp_tmpl_compile_opt(struct hp_tmpl *t, const char *text, unsigned allowed,
                        const config_setting_t *cfg, const char *key, const char *sink,
                        struct hp_errs *errs)
{
    char why[200];
    if (hp_tmpl_compile(t, text, allowed, why, sizeof(why)) == 0)
        return 0;
    hp_errs_add(errs, hp_setting_at(cfg, key), "sink %s: %s \"%s\": %s", sink, key, t->text, why);
    return -1;
}

/* The value of part in v ("" for NULL). */
static const char *value_of(unsigned part, const struct hp_tmpl_vars *v)
{
    const char *s = part == HP_TMPL_HOST       ? v->host
                    : part == HP_TMPL_REPORTER ? v->reporter
                    : part == HP_TMPL_SESSION  ? v->session
                                               : v->sink;
    return s ? s : "";
}

static int time_pass(const char *in, int64_t ts_ms, char *out, size_t len)
{
    time_t secs = (time_t)(ts_ms >= 0 ? ts_ms / 1000 : 0);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return -1;
    size_t n = strftime(out, len, in, &tm);
    return n > 0 && n < len ? (int)n : -1;
}

int hp_tmpl_expand(const struct hp_tmpl *t, const struct hp_tmpl_vars *v, char *out, size_t len)
{
    bool timed = t->allowed & HP_TMPL_TIME;
    char stage[1024];
    char *dst = timed ? stage : out;
    size_t cap = timed ? sizeof(stage) : len, o = 0;
    for (const char *p = t->text; *p; p++) {
        const char *put = p;
        size_t n = 1;
        const char *end = *p == '{' ? strchr(p, '}') : NULL;
        unsigned part = end ? part_of(p + 1, (size_t)(end - p - 1)) : 0;
        if (part) { /* compiled: every {...} is a known, allowed part */
            put = value_of(part, v);
            n = strlen(put);
            p = end;
        }
        if (o + n >= cap)
            return -1;
        memcpy(dst + o, put, n);
        o += n;
    }
    dst[o] = '\0';
    return timed ? time_pass(stage, v->ts_ms, out, len) : (int)o;
}
