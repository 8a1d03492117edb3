/* SPDX-License-Identifier: Apache-2.0 */
/* redact.c -- replace secrets in a command line by "***" with POSIX
 * regular expressions (regcomp), before the process reporter publishes it.
 * See redact.h for the rules. */
#include "reporters/redact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYS                                                                                       \
    "(password|passwd|passphrase|secret|token|api[-_]?key|access[-_]?key|credentials?|auth)"

const char *const hp_redact_defaults[] = {
    /* password=VALUE, --db-password=VALUE, TOKEN:VALUE */
    "[-_a-z0-9]*" KEYS "[-_a-z0-9]*[=:]([^ ]*)",
    /* --password VALUE, -token VALUE */
    "(^| )--?[-_a-z0-9]*" KEYS "[-_a-z0-9]* +([^- ][^ ]*)",
    /* a JSON object (environment dumps, inline credentials) */
    "\\{.{14,}\\}",
    /* base64 or hex of 32 characters or more, as a whole argument or a
     * value (not an absolute path: it starts with "/") */
    "(^|[ =:\"'])([A-Za-z0-9+_-][A-Za-z0-9+/_-]{31,}={0,2})",
    NULL,
};

static int compile(regex_t *re, const char *text, const config_setting_t *at, const char *path,
                   struct hp_errs *e)
{
    int rc = regcomp(re, text, REG_EXTENDED | REG_ICASE);
    if (rc == 0)
        return 0;
    char why[256];
    regerror(rc, re, why, sizeof(why));
    hp_errs_add(e, at, "%s: invalid regular expression \"%s\": %s", path, text, why);
    return -1;
}

int hp_redact_init(struct hp_redact *r, const config_setting_t *list, const char *path,
                   struct hp_errs *e)
{
    size_t n = 0;
    if (list)
        n = (size_t)hp_strs_count(list);
    else
        while (hp_redact_defaults[n])
            n++;
    r->n = 0;
    r->re = calloc(n ? n : 1, sizeof(*r->re));
    if (!r->re) {
        hp_errs_add(e, list, "%s: out of memory", path);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *text = list ? hp_strs_at(list, (int)i) : hp_redact_defaults[i];
        if (compile(&r->re[r->n], text ? text : "", list, path, e) != 0) {
            hp_redact_fini(r);
            return -1;
        }
        r->n++;
    }
    return 0;
}

void hp_redact_fini(struct hp_redact *r)
{
    for (size_t i = 0; i < r->n; i++)
        regfree(&r->re[i]);
    free(r->re);
    r->re = NULL;
    r->n = 0;
}

/* Every match of re in text replaced (its last group, if it has groups). */
static size_t apply_one(const regex_t *re, char *text, size_t cap)
{
    char *out = malloc(cap);
    if (!out)
        return 0;
    size_t o = 0, count = 0;
    const char *p = text;
    regmatch_t m[10];
    size_t g = re->re_nsub < 9 ? re->re_nsub : 9;
    while (*p && regexec(re, p, g + 1, m, p == text ? 0 : REG_NOTBOL) == 0) {
        regoff_t from = m[g].rm_so >= 0 ? m[g].rm_so : m[0].rm_so;
        regoff_t to = m[g].rm_so >= 0 ? m[g].rm_eo : m[0].rm_eo;
        o += (size_t)snprintf(out + o, cap - o, "%.*s***", (int)from, p);
        if (o >= cap)
            o = cap - 1;
        count++;
        /* an empty match moves on by one character */
        size_t step = m[0].rm_eo > m[0].rm_so ? (size_t)m[0].rm_eo : (size_t)m[0].rm_so + 1;
        if ((size_t)to < step)
            o += (size_t)snprintf(out + o, cap - o, "%.*s", (int)(step - (size_t)to), p + to);
        if (o >= cap)
            o = cap - 1;
        p += step > strlen(p) ? strlen(p) : step;
    }
    snprintf(out + o, cap - o, "%s", p);
    if (count)
        snprintf(text, cap, "%s", out);
    free(out);
    return count;
}

size_t hp_redact_apply(const struct hp_redact *r, char *text, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; r && i < r->n && cap; i++)
        n += apply_one(&r->re[i], text, cap);
    return n;
}
