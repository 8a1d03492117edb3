/* SPDX-License-Identifier: Apache-2.0 */
/* opts.c -- validation and getters for declarative option tables. */
#include "lib/opts.h"

#include "lib/log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hp_setting_path(const config_setting_t *s, char *buf, size_t len)
{
    const config_setting_t *chain[32];
    size_t n = 0;
    for (const config_setting_t *p = s; p && config_setting_parent(p) && n < 32;
         p = config_setting_parent(p))
        chain[n++] = p;
    size_t off = 0;
    buf[0] = '\0';
    while (n-- > 0 && off < len) {
        const char *name = config_setting_name(chain[n]);
        int w = name ? snprintf(buf + off, len - off, "%s%s", off ? "." : "", name)
                     : snprintf(buf + off, len - off, "[%d]", config_setting_index(chain[n]));
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

static void emit(struct hp_errs *e, const char *file, unsigned ln, const char *msg)
{
    char line[1200];
    if (!file)
        file = e->fallback_file ? e->fallback_file : "(config)";
    if (file[0] != '/' && e->include_dir && file != e->fallback_file)
        snprintf(line, sizeof(line), "%s/%s:%u: %s", e->include_dir, file, ln, msg);
    else
        snprintf(line, sizeof(line), "%s:%u: %s", file, ln, msg);
    e->count++;
    if (e->emit)
        e->emit(e->ud, line);
    else
        fprintf(stderr, "%s\n", line);
}

void hp_errs_add(struct hp_errs *e, const config_setting_t *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    emit(e, at ? config_setting_source_file(at) : NULL, at ? config_setting_source_line(at) : 0,
         msg);
}

void hp_errs_raw(struct hp_errs *e, const char *file, unsigned line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    emit(e, file, line, msg);
}

static const struct hp_opt *find(const struct hp_opt *t, const char *name)
{
    for (; t && t->name; t++)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

static const char *type_name(enum hp_opt_type t)
{
    static const char *const names[] = {
        [HP_OPT_BOOL] = "a boolean (true/false)",
        [HP_OPT_INT] = "an integer",
        [HP_OPT_FLOAT] = "a number",
        [HP_OPT_STRING] = "a string",
        [HP_OPT_STRINGS] = "a string or a list of strings",
        [HP_OPT_GROUP] = "a group { ... }",
        [HP_OPT_LIST] = "a list ( { ... }, ... )",
        [HP_OPT_INTS] = "an integer or a list of integers",
        [HP_OPT_ENUM] = "a string",
    };
    return names[t];
}

static bool is_num(int t)
{
    return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64 || t == CONFIG_TYPE_FLOAT;
}

static bool all_elems(const config_setting_t *s, int type)
{
    for (int i = 0; i < config_setting_length(s); i++) {
        int et = config_setting_type(config_setting_get_elem(s, (unsigned)i));
        if (et != type && !(type == CONFIG_TYPE_INT && et == CONFIG_TYPE_INT64))
            return false;
    }
    return true;
}

static bool type_ok(const struct hp_opt *o, const config_setting_t *s)
{
    int t = config_setting_type(s);
    bool agg = t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST;
    switch (o->type) {
    case HP_OPT_BOOL:
        return t == CONFIG_TYPE_BOOL;
    case HP_OPT_INT:
        return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
    case HP_OPT_FLOAT:
        return is_num(t);
    case HP_OPT_STRING:
    case HP_OPT_ENUM:
        return t == CONFIG_TYPE_STRING;
    case HP_OPT_STRINGS:
        return t == CONFIG_TYPE_STRING || (agg && all_elems(s, CONFIG_TYPE_STRING));
    case HP_OPT_INTS:
        return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64 ||
               (agg && all_elems(s, CONFIG_TYPE_INT));
    case HP_OPT_GROUP:
        return t == CONFIG_TYPE_GROUP;
    case HP_OPT_LIST:
        return t == CONFIG_TYPE_LIST && all_elems(s, CONFIG_TYPE_GROUP);
    }
    return false;
}

static void check_value(const struct hp_opt *o, const config_setting_t *s, const char *path,
                        struct hp_errs *e)
{
    if (!type_ok(o, s)) {
        hp_errs_add(e, s, "%s: must be %s", path, type_name(o->type));
        return;
    }
    if ((o->type == HP_OPT_INT || o->type == HP_OPT_FLOAT) && (o->min != 0 || o->max != 0)) {
        double v = config_setting_type(s) == CONFIG_TYPE_FLOAT
                       ? config_setting_get_float(s)
                       : (double)config_setting_get_int64(s);
        if (v < o->min || v > o->max)
            hp_errs_add(e, s, "%s: %g is out of range (%g to %g)", path, v, o->min, o->max);
    }
    if ((o->type == HP_OPT_STRING || o->type == HP_OPT_ENUM) && o->choices) {
        const char *v = config_setting_get_string(s);
        bool found = false;
        char list[256] = "";
        for (const char *const *c = o->choices; *c; c++) {
            found |= strcmp(*c, v) == 0;
            size_t l = strlen(list);
            snprintf(list + l, sizeof(list) - l, "%s%s", l ? ", " : "", *c);
        }
        if (!found)
            hp_errs_add(e, s, "%s: unknown value \"%s\" (expected one of: %s)", path, v, list);
    }
    if (o->type == HP_OPT_GROUP && o->sub)
        hp_opts_check(s, o->sub, NULL, e);
    if (o->type == HP_OPT_LIST && o->sub)
        for (int i = 0; i < config_setting_length(s); i++)
            hp_opts_check(config_setting_get_elem(s, (unsigned)i), o->sub, NULL, e);
}

unsigned hp_opts_check(const config_setting_t *group, const struct hp_opt *table,
                       const struct hp_opt *extra, struct hp_errs *e)
{
    unsigned before = e->count;
    char path[256];
    if (!group)
        return 0;
    for (int i = 0; i < config_setting_length(group); i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        hp_setting_path(s, path, sizeof(path));
        const struct hp_opt *o = name ? find(table, name) : NULL;
        if (!o && name)
            o = find(extra, name);
        if (!o) {
            hp_errs_add(e, s, "%s: unknown option", path);
            continue;
        }
        check_value(o, s, path, e);
    }
    for (const struct hp_opt *o = table; o && o->name; o++)
        if ((o->flags & HP_OPT_REQUIRED) && !config_setting_get_member(group, o->name)) {
            hp_setting_path(group, path, sizeof(path));
            hp_errs_add(e, group, "%s%s%s: required option is missing", path, *path ? "." : "",
                        o->name);
        }
    return e->count - before;
}

/* The value of row o in group (o->def where the group has none): the
 * readers behind hp_opts_load, by row, never by name. */
static bool value_bool(const config_setting_t *s, const struct hp_opt *o)
{
    if (s && config_setting_type(s) == CONFIG_TYPE_BOOL)
        return config_setting_get_bool(s);
    return o->def && strcmp(o->def, "true") == 0;
}

static int64_t value_int(const config_setting_t *s, const struct hp_opt *o)
{
    if (s && is_num(config_setting_type(s)))
        return config_setting_type(s) == CONFIG_TYPE_FLOAT ? (int64_t)config_setting_get_float(s)
                                                           : config_setting_get_int64(s);
    return o->def ? strtoll(o->def, NULL, 0) : 0;
}

static double value_float(const config_setting_t *s, const struct hp_opt *o)
{
    if (s && is_num(config_setting_type(s)))
        return config_setting_type(s) == CONFIG_TYPE_FLOAT ? config_setting_get_float(s)
                                                           : (double)config_setting_get_int64(s);
    return o->def ? strtod(o->def, NULL) : 0.0;
}

static const char *value_string(const config_setting_t *s, const struct hp_opt *o)
{
    if (s && config_setting_type(s) == CONFIG_TYPE_STRING)
        return config_setting_get_string(s);
    return o->def;
}

static int choice_index(const struct hp_opt *o, const char *v)
{
    for (int i = 0; v && o->choices && o->choices[i]; i++)
        if (strcmp(o->choices[i], v) == 0)
            return i;
    return 0; /* validated before: only a missing default lands here */
}

/* Store one bound row's value (or default) at dst + o->offset. */
static void load_one(const config_setting_t *group, const struct hp_opt *o, char *dst)
{
    void *at = dst + o->offset;
    const config_setting_t *s = group ? config_setting_get_member(group, o->name) : NULL;
    if (!s && !o->def && (o->type <= HP_OPT_STRING || o->type == HP_OPT_ENUM))
        return; /* no value, no default: the owner's preset stays */
    switch (o->type) {
    case HP_OPT_BOOL:
        *(bool *)at = value_bool(s, o);
        break;
    case HP_OPT_INT:
        *(int64_t *)at = value_int(s, o);
        break;
    case HP_OPT_FLOAT:
        *(double *)at = value_float(s, o);
        break;
    case HP_OPT_STRING:
        *(const char **)at = value_string(s, o);
        break;
    case HP_OPT_ENUM:
        *(int *)at = choice_index(o, value_string(s, o));
        break;
    case HP_OPT_STRINGS:
    case HP_OPT_INTS:
    case HP_OPT_GROUP:
    case HP_OPT_LIST:
        *(const config_setting_t **)at = s;
        break;
    }
}

void hp_opts_load(const config_setting_t *group, const struct hp_opt *table, void *dst)
{
    for (const struct hp_opt *o = table; o && o->name; o++)
        if (o->bound)
            load_one(group, o, dst);
}

const config_setting_t *hp_setting_at(const config_setting_t *group, const char *key)
{
    /* libconfig's lookup takes no const but changes nothing */
    const config_setting_t *s =
        group ? config_setting_lookup((config_setting_t *)group, key) : NULL;
    return s ? s : group;
}

bool hp_is_identifier(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= max || strstr(s, "..") || s[0] == '.' || s[0] == '-')
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
            return false;
    return true;
}

int hp_strs_count(const config_setting_t *s)
{
    if (!s)
        return 0;
    if (config_setting_type(s) == CONFIG_TYPE_STRING)
        return 1;
    return config_setting_is_aggregate(s) ? config_setting_length(s) : 0;
}

const char *hp_strs_at(const config_setting_t *s, int i)
{
    if (!s)
        return NULL;
    if (config_setting_type(s) == CONFIG_TYPE_STRING)
        return i == 0 ? config_setting_get_string(s) : NULL;
    const config_setting_t *el = config_setting_get_elem(s, (unsigned)i);
    return el ? config_setting_get_string(el) : NULL;
}

void hp_opts_print(FILE *out, const struct hp_opt *table, int indent)
{
    static const char *const short_type[] = {
        [HP_OPT_BOOL] = "bool",     [HP_OPT_INT] = "int",         [HP_OPT_FLOAT] = "number",
        [HP_OPT_STRING] = "string", [HP_OPT_STRINGS] = "strings", [HP_OPT_GROUP] = "group",
        [HP_OPT_LIST] = "list",     [HP_OPT_INTS] = "ints",       [HP_OPT_ENUM] = "string",
    };
    for (const struct hp_opt *o = table; o && o->name; o++) {
        char extra[256] = "";
        size_t l = 0;
        if (o->def && *o->def) { /* a default URL's password is shown as *** too */
            char def[192];
            hp_redact_url(o->def, def, sizeof(def));
            l += (size_t)snprintf(extra + l, sizeof(extra) - l, " = %s", def);
        }
        if ((o->min != 0 || o->max != 0) && l < sizeof(extra))
            l += (size_t)snprintf(extra + l, sizeof(extra) - l, " [%.15g..%.15g]", o->min, o->max);
        for (const char *const *ch = o->choices; ch && *ch && l < sizeof(extra); ch++)
            l += (size_t)snprintf(extra + l, sizeof(extra) - l, "%s%s",
                                  ch == o->choices ? " {" : "|", *ch);
        if (o->choices && l < sizeof(extra))
            snprintf(extra + l, sizeof(extra) - l, "}");
        fprintf(out, "%*s%s (%s%s)%s: %s\n", indent, "", o->name, short_type[o->type],
                (o->flags & HP_OPT_REQUIRED) ? ", required" : "", extra, o->help ? o->help : "");
        if (o->sub)
            hp_opts_print(out, o->sub, indent + 4);
    }
}
