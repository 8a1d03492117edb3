/* SPDX-License-Identifier: Apache-2.0 */
/* psi.c -- pressure stall information lines: one allocation-free parser and
 * one JSON shape, written with the JSON writer (lib/jw.h), for the pressure
 * and cgroup reporters. */
#include "reporters/psi.h"

#include "lib/jw.h"
#include "reporters/procfile.h"

#include <math.h>
#include <string.h>

/* "key=" at *p: advance past it and return true. */
static bool take_key(const char **p, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(*p, key, n) != 0 || (*p)[n] != '=')
        return false;
    *p += n + 1;
    return true;
}

static bool take_avg(const char **p, const char *key, double *out)
{
    while (**p == ' ')
        (*p)++;
    if (!take_key(p, key) || **p == ' ' || !hp_parse_double(p, out))
        return false;
    return isfinite(*out) && *out >= 0 && *out <= 100;
}

/* Parse "avg10=A avg60=B avg300=C total=T" up to the end of the line. */
static bool parse_fields(const char *p, struct hp_psi_line *l)
{
    if (!take_avg(&p, "avg10", &l->avg10) || !take_avg(&p, "avg60", &l->avg60) ||
        !take_avg(&p, "avg300", &l->avg300))
        return false;
    while (*p == ' ')
        p++;
    if (!take_key(&p, "total") || *p < '0' || *p > '9' || !hp_parse_u64(&p, &l->total))
        return false;
    while (*p == ' ')
        p++;
    return *p == '\n' || *p == '\0';
}

int hp_psi_parse(const char *text, struct hp_psi *out)
{
    memset(out, 0, sizeof(*out));
    int n = 0;
    const char *p = text;
    if (!p || !*p)
        return 0;
    do {
        struct hp_psi_line *l = strncmp(p, "some ", 5) == 0   ? &out->some
                                : strncmp(p, "full ", 5) == 0 ? &out->full
                                                              : NULL;
        if (l && !l->ok && parse_fields(p + 5, l)) {
            l->ok = true;
            n++;
        } else if (l && !l->ok) {
            memset(l, 0, sizeof(*l));
        }
    } while (hp_next_line(&p));
    return n;
}

static void write_half(struct hp_jw *w, const char *name, const struct hp_psi_line *c,
                       const struct hp_psi_line *p, double secs)
{
    if (!c->ok)
        return;
    hp_jw_object(w, name);
    hp_jw_double(w, "avg10", c->avg10, 2);
    hp_jw_double(w, "avg60", c->avg60, 2);
    hp_jw_double(w, "avg300", c->avg300, 2);
    hp_jw_uint(w, "total", c->total);
    if (p && p->ok && secs > 0 && c->total >= p->total)
        hp_jw_double(w, "total_per_sec", (double)(c->total - p->total) / secs, 1);
    hp_jw_end(w);
}

void hp_psi_write(struct hp_jw *w, const char *name, const struct hp_psi *cur,
                  const struct hp_psi *prev, double secs)
{
    if (!cur->some.ok && !cur->full.ok)
        return;
    hp_jw_object(w, name);
    write_half(w, "some", &cur->some, prev ? &prev->some : NULL, secs);
    write_half(w, "full", &cur->full, prev ? &prev->full : NULL, secs);
    hp_jw_end(w);
}
