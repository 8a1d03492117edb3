/* SPDX-License-Identifier: Apache-2.0 */
/* redact.h -- hide secrets in a command line before it is published.
 *
 * The process reporter publishes command lines only when asked to
 * (reporters.process.cmdline = true), and then passes each through a list
 * of POSIX extended regular expressions (reporters.process.cmdline_redact,
 * case-insensitive): every match is replaced by "***", or, when the
 * expression has parenthesised groups, only its last group is (so that
 * `password=(...)` keeps the key and hides the value). */
#ifndef HP_REDACT_H
#define HP_REDACT_H

#include <regex.h>
#include <stddef.h>

#include "lib/opts.h"

/* The defaults: key=value and key:value for password, passwd, secret,
 * token, api key, access key, credential(s), auth; `--password VALUE`
 * and the like; JSON objects of 16 characters or more; base64 or hex runs
 * of 32 characters or more (not absolute paths). */
extern const char *const hp_redact_defaults[];

struct hp_redact {
    regex_t *re;
    size_t n;
};

/* Compile list (a STRINGS setting; NULL: the defaults). A bad expression
 * is a FILE:LINE error at `at` naming `path`. Returns 0, or -1 after
 * reporting (nothing to free then). */
int hp_redact_init(struct hp_redact *r, const config_setting_t *list, const char *path,
                   struct hp_errs *e);
void hp_redact_fini(struct hp_redact *r);

/* Redact text (NUL-terminated, at most cap - 1 bytes) in place; a longer
 * result is cut at cap - 1. Returns the number of replacements. */
size_t hp_redact_apply(const struct hp_redact *r, char *text, size_t cap);

#endif
