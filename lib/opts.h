/* SPDX-License-Identifier: Apache-2.0 */
/* opts.h -- declarative option tables for config sections.
 *
 * Each module (the agent section, every reporter, every sink) describes its
 * options once, as a NULL-terminated array of struct hp_opt. The same table
 * validates a libconfig group (unknown keys, types, ranges, choices, all
 * reported as FILE:LINE: messages), documents it (--help-config) and, as
 * Fluent Bit's config_map does, fills the owner's own struct: each row names
 * the field it is bound to (HP_AT_*), and hp_opts_load() stores the value or
 * the default there. Nothing reads an option back by its name, so a typo is
 * a compile error, not a silent default. */
#ifndef HP_OPTS_H
#define HP_OPTS_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum hp_opt_type {
    HP_OPT_BOOL,
    HP_OPT_INT,   /* int or int64 */
    HP_OPT_FLOAT, /* float, or int */
    HP_OPT_STRING,
    HP_OPT_STRINGS, /* a string, or an array/list of strings */
    HP_OPT_GROUP,   /* validated against .sub */
    HP_OPT_LIST,    /* a list of groups, each validated against .sub */
    HP_OPT_INTS,    /* an int, or an array/list of ints */
    HP_OPT_ENUM,    /* a string, one of .choices; stored as its index */
};

#define HP_OPT_REQUIRED 0x1

struct hp_opt {
    const char *name;
    enum hp_opt_type type;
    const char *def;            /* default, as text ("1.0", "true", "stderr") */
    double min, max;            /* range for numbers; both 0 means unchecked */
    const char *const *choices; /* NULL-terminated, for strings */
    const struct hp_opt *sub;   /* for groups and lists */
    unsigned flags;
    const char *help; /* one line, for --help-config and docs */
    bool bound;       /* offset names a field of the owner's struct */
    size_t offset;    /* where hp_opts_load stores the value (HP_AT_*) */
};

/* Bind a row to field f of struct T. The C type of the field must match the
 * option's type (checked at compile time):
 *   BOOL bool, INT int64_t, FLOAT double, STRING const char * (borrowed from
 *   the config, valid while it lives), ENUM int (index into .choices),
 *   STRINGS / INTS / GROUP / LIST const config_setting_t * (NULL if absent;
 *   walk it with hp_strs_count/hp_strs_at or load a sub-table into a sub-struct). */
#define HP_AT_(T, f, ctype)                                                                        \
    .bound = true, .offset = offsetof(T, f) + 0 * sizeof((ctype *)0 == &((T *)0)->f)
#define HP_AT_BOOL(T, f)  HP_AT_(T, f, bool)
#define HP_AT_INT(T, f)   HP_AT_(T, f, int64_t)
#define HP_AT_FLOAT(T, f) HP_AT_(T, f, double)
#define HP_AT_STR(T, f)   HP_AT_(T, f, const char *)
#define HP_AT_ENUM(T, f)  HP_AT_(T, f, int)
#define HP_AT_SET(T, f)   HP_AT_(T, f, const config_setting_t *)

/* Error sink: each problem is printed as "FILE:LINE: message" and counted. */
struct hp_errs {
    unsigned count;
    const char *fallback_file; /* when libconfig knows no file for a setting */
    const char *include_dir;   /* relative @include names are shown under it */
    void (*emit)(void *ud, const char *line);
    void *ud; /* emit(ud, line); NULL emit means stderr */
};

void hp_errs_add(struct hp_errs *e, const config_setting_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same for a problem with no setting behind it (syntax, I/O). */
void hp_errs_raw(struct hp_errs *e, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Validate group against table; extra lists names accepted besides the
 * table (common keys handled by the caller). Returns the number of errors. */
unsigned hp_opts_check(const config_setting_t *group, const struct hp_opt *table,
                       const struct hp_opt *extra, struct hp_errs *e);

/* Print table as documentation: one line per option with its type,
 * default, range or choices and help, nested groups indented. */
void hp_opts_print(FILE *out, const struct hp_opt *table, int indent);

/* Where a message about option key goes: its setting in group (key may
 * be a path, "queue.binding"), or group itself when the key is absent (a
 * default); NULL when group is. */
const config_setting_t *hp_setting_at(const config_setting_t *group, const char *key);

/* Dotted path of a setting for messages: "sinks[1].url". */
void hp_setting_path(const config_setting_t *s, char *buf, size_t len);

/* Fill dst from group (may be NULL: every default) for every bound row of
 * table. A scalar row (BOOL, INT, FLOAT, STRING, ENUM) without a default
 * whose key is absent leaves its field as the caller preset it (a default
 * that depends on the owner, such as a reporter's interval). Call only on
 * a group that passed hp_opts_check. Can't fail. */
void hp_opts_load(const config_setting_t *group, const struct hp_opt *table, void *dst);

/* Is s a name fit for files, topics and metrics: 1 to max-1 bytes of
 * [A-Za-z0-9_.-], not starting with '.' or '-', and no ".." (so never a
 * path, a hidden file or an option)? */
bool hp_is_identifier(const char *s, size_t max);

/* Elements of a STRINGS setting (a single string counts as one). s may be
 * NULL (none). The strings are borrowed from the config. */
int hp_strs_count(const config_setting_t *s);
const char *hp_strs_at(const config_setting_t *s, int i);

#endif
