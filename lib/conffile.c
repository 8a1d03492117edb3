/* SPDX-License-Identifier: Apache-2.0 */
/* conffile.c -- read one libconfig file with FILE:LINE errors, refusing
 * what libconfig must not parse before it sees it.
 *
 * libconfig (1.5 in Debian 12, which has no include hook) opens @include
 * files itself and would block on a FIFO or parse a device forever, and its
 * parser is slow on large input. So the file and, recursively, every
 * @include it names are opened first without blocking (lib/regfile.h):
 * anything but a regular file is refused, and their sizes together must
 * stay within HP_CONFIG_MAX_BYTES.
 *
 * conf.d: libconfig 1.5 has no wildcard include either, so the fragments of
 * a directory are parsed one by one into their own trees and merged into
 * the main one (hp_conffile_merge), copies keeping each setting's FILE and
 * LINE. */
#include "lib/conffile.h"

#include "lib/regfile.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_DEPTH 10 /* libconfig's own @include nesting limit */

struct scan {
    struct hp_errs *e;
    const char *include_dir;
    size_t total; /* bytes of the file and every include so far */
};

static int scan_text(struct scan *sc, const char *file, const char *text, unsigned depth);

/* Read fd (size bytes, a regular file) whole. NULL on failure. */
static char *slurp(int fd, off_t size)
{
    char *buf = malloc((size_t)size + 1);
    size_t got = 0;
    while (buf && got < (size_t)size) {
        ssize_t n = pread(fd, buf + got, (size_t)size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* shrank meanwhile: parse what is there */
        got += (size_t)n;
    }
    if (buf)
        buf[got] = '\0';
    return buf;
}

/* Check the include named at file:line, add its size, scan it in turn. */
static int scan_include(struct scan *sc, const char *file, unsigned line, const char *name,
                        unsigned depth)
{
    char path[2 * PATH_MAX + 2];
    if (name[0] == '/' || !sc->include_dir)
        snprintf(path, sizeof(path), "%s", name);
    else
        snprintf(path, sizeof(path), "%.*s/%s", PATH_MAX, sc->include_dir, name);
    off_t size = 0;
    int fd = hp_open_regular(AT_FDCWD, path, &size);
    if (fd < 0) {
        hp_errs_raw(sc->e, file, line, "@include \"%s\": %s", name, hp_open_error(errno));
        return -1;
    }
    sc->total += (size_t)size;
    int rc = 0;
    if (sc->total > HP_CONFIG_MAX_BYTES) {
        hp_errs_raw(sc->e, file, line,
                    "@include \"%s\": the configuration with its includes is too large "
                    "(%zu bytes so far; the limit is %d)",
                    name, sc->total, HP_CONFIG_MAX_BYTES);
        rc = -1;
    } else if (depth < MAX_DEPTH) {
        char *text = slurp(fd, size);
        rc = text ? scan_text(sc, path, text, depth + 1) : -1;
        free(text);
    }
    close(fd);
    return rc;
}

/* Every `@include "name"` line of text (libconfig takes them only at the
 * start of a line), checked in order. */
static int scan_text(struct scan *sc, const char *file, const char *text, unsigned depth)
{
    unsigned line = 1;
    for (const char *p = text; *p; line++) {
        const char *nl = strchr(p, '\n');
        const char *q = p + strspn(p, " \t");
        if (strncmp(q, "@include", 8) == 0 && (q[8] == ' ' || q[8] == '\t')) {
            q += 8 + strspn(q + 8, " \t");
            const char *end = *q == '"' ? strchr(q + 1, '"') : NULL;
            if (end && (!nl || end < nl)) {
                char name[PATH_MAX];
                snprintf(name, sizeof(name), "%.*s", (int)(end - q - 1), q + 1);
                if (scan_include(sc, file, line, name, depth) != 0)
                    return -1;
            }
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    return 0;
}

/* Open path as a regular file within the size limit and check its
 * includes. Returns the descriptor, or -1 after reporting to e. */
static int open_checked(const char *path, const char *include_dir, struct hp_errs *e)
{
    off_t size = 0;
    int fd = hp_open_regular(AT_FDCWD, path, &size);
    if (fd < 0) {
        hp_errs_raw(e, path, 0, "cannot %s configuration: %s", errno == EISDIR ? "read" : "open",
                    hp_open_error(errno));
        return -1;
    }
    if (size > HP_CONFIG_MAX_BYTES) {
        hp_errs_raw(e, path, 0, "configuration is too large (%lld bytes; the limit is %d)",
                    (long long)size, HP_CONFIG_MAX_BYTES);
        close(fd);
        return -1;
    }
    struct scan sc = {.e = e, .include_dir = include_dir, .total = (size_t)size};
    char *text = slurp(fd, size);
    int rc = text ? scan_text(&sc, path, text, 0) : -1;
    free(text);
    if (rc != 0) {
        if (!text)
            hp_errs_raw(e, path, 0, "cannot read configuration: %s", strerror(ENOMEM));
        close(fd);
        return -1;
    }
    return fd;
}

/* Line `line` (from 1) of file into buf ("" if it cannot be read). */
static void read_line_of(const char *file, unsigned line, char *buf, size_t len)
{
    buf[0] = '\0';
    off_t size = 0;
    int fd = hp_open_regular(AT_FDCWD, file, &size);
    if (fd < 0)
        return;
    char *text = size <= HP_CONFIG_MAX_BYTES ? slurp(fd, size) : NULL;
    close(fd);
    const char *p = text;
    for (unsigned n = 1; p && n < line; n++) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    if (p)
        snprintf(buf, len, "%.*s", (int)strcspn(p, "\n"), p);
    free(text);
}

/* The setting name libconfig's "duplicate setting name" leaves out: on the
 * offending line, a name given twice within one group (names are tracked
 * per nesting level: `a: { x = 1; }; b: { x = 2; };` repeats nothing),
 * else the first `name =` / `name :` on the line. */
#define DUP_DEPTH 8
#define DUP_NAMES 16
struct dup_scan {
    char names[DUP_DEPTH][DUP_NAMES][64];
    unsigned n[DUP_DEPTH];
    unsigned depth;
};

/* Record name at the current level; true if it was there already. */
static bool dup_seen(struct dup_scan *d, const char *p, size_t w)
{
    unsigned l = d->depth < DUP_DEPTH ? d->depth : DUP_DEPTH - 1;
    for (unsigned i = 0; i < d->n[l]; i++)
        if (strlen(d->names[l][i]) == w && strncmp(d->names[l][i], p, w) == 0)
            return true;
    if (d->n[l] < DUP_NAMES)
        snprintf(d->names[l][d->n[l]++], 64, "%.*s", (int)w, p);
    return false;
}

static void duplicate_name(const char *text, char *out, size_t len)
{
    static const char ident[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-*";
    struct dup_scan *d = calloc(1, sizeof(*d));
    out[0] = '\0';
    for (const char *p = text; d && *p;) {
        if (*p == '"') { /* skip strings: their text is no setting */
            const char *q = strchr(p + 1, '"');
            p = q ? q + 1 : p + strlen(p);
            continue;
        }
        if (*p == '{' || *p == '(' || *p == '[') {
            d->depth++;
            if (d->depth < DUP_DEPTH)
                d->n[d->depth] = 0;
        } else if ((*p == '}' || *p == ')' || *p == ']') && d->depth) {
            d->depth--;
        }
        size_t w = strspn(p, ident);
        const char *after = p + w + strspn(p + w, " \t");
        if (w && w < 64 && (*after == '=' || *after == ':')) {
            if (!out[0])
                snprintf(out, len, "%.*s", (int)w, p); /* the fallback */
            if (dup_seen(d, p, w)) {
                snprintf(out, len, "%.*s", (int)w, p);
                break;
            }
        }
        p += w ? w : 1;
    }
    free(d);
}

/* libconfig's parse error with the detail it leaves out: the duplicated
 * setting's name, the include file's name. */
static void report_parse_error(const config_t *lc, const char *path, const char *include_dir,
                               struct hp_errs *e)
{
    const char *file = config_error_file(lc);
    unsigned line = (unsigned)config_error_line(lc);
    const char *text = config_error_text(lc);
    char where[2 * PATH_MAX + 2], src[1024] = "", name[64] = "";
    if (file && file[0] != '/' && include_dir)
        snprintf(where, sizeof(where), "%.*s/%s", PATH_MAX, include_dir, file);
    else
        snprintf(where, sizeof(where), "%s", file ? file : path);
    bool dup = text && strcmp(text, "duplicate setting name") == 0;
    bool inc = text && strcmp(text, "cannot open include file") == 0;
    if (dup || inc)
        read_line_of(where, line, src, sizeof(src));
    if (dup)
        duplicate_name(src, name, sizeof(name));
    const char *q = inc ? strchr(src, '"') : NULL;
    const char *qe = q ? strchr(q + 1, '"') : NULL;
    if (dup && name[0])
        hp_errs_raw(e, file ? file : path, line,
                    "duplicate setting name \"%s\" (already set earlier in this group)", name);
    else if (qe)
        hp_errs_raw(e, file ? file : path, line, "cannot open include file \"%.*s\"",
                    (int)(qe - q - 1), q + 1);
    else
        hp_errs_raw(e, file ? file : path, line, "%s", text ? text : "parse error");
}

int hp_conffile_read(config_t *lc, const char *path, struct hp_errs *e, char **include_dir)
{
    if (!e->fallback_file)
        e->fallback_file = path;
    char *dir = strdup(path);
    *include_dir = dir ? strdup(dirname(dir)) : NULL;
    free(dir);
    if (!*include_dir)
        return -1;
    config_set_include_dir(lc, *include_dir);
    e->include_dir = *include_dir;

    int fd = open_checked(path, *include_dir, e);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        if (fd >= 0) {
            hp_errs_raw(e, path, 0, "cannot read configuration: %s", strerror(errno));
            close(fd);
        }
        return -1;
    }
    int ok = config_read(lc, f);
    fclose(f);
    if (!ok) {
        report_parse_error(lc, path, *include_dir, e);
        return -1;
    }
    return 0;
}

/* The identity of a list element for merging: its `name`, else `type`. */
static const char *elem_id(const config_setting_t *g)
{
    const char *v = NULL;
    if (!config_setting_is_group(g))
        return NULL;
    if (config_setting_lookup_string(g, "name", &v) || config_setting_lookup_string(g, "type", &v))
        return v;
    return NULL;
}

static int copy_into(config_setting_t *parent, const config_setting_t *src, const char *file);

/* Copy the scalar value of src into the new setting d. */
static void copy_scalar(config_setting_t *d, const config_setting_t *src)
{
    switch (config_setting_type(src)) {
    case CONFIG_TYPE_INT:
        config_setting_set_int(d, config_setting_get_int(src));
        break;
    case CONFIG_TYPE_INT64:
        config_setting_set_int64(d, config_setting_get_int64(src));
        break;
    case CONFIG_TYPE_FLOAT:
        config_setting_set_float(d, config_setting_get_float(src));
        break;
    case CONFIG_TYPE_BOOL:
        config_setting_set_bool(d, config_setting_get_bool(src));
        break;
    case CONFIG_TYPE_STRING:
        config_setting_set_string(d, config_setting_get_string(src));
        break;
    default:
        break;
    }
}

/* Add a deep copy of src under parent (a member when parent is a group,
 * else an element), with src's file and line. */
static int copy_into(config_setting_t *parent, const config_setting_t *src, const char *file)
{
    const char *name = config_setting_is_group(parent) ? config_setting_name(src) : NULL;
    config_setting_t *d = config_setting_add(parent, name, config_setting_type(src));
    if (!d)
        return -1;
    d->line = src->line; /* libconfig 1.5's struct is public: keep FILE:LINE */
    d->file = src->file ? src->file : file;
    copy_scalar(d, src);
    d->format = src->format;
    for (int i = 0; config_setting_is_aggregate(src) && i < config_setting_length(src); i++)
        if (copy_into(d, config_setting_get_elem(src, (unsigned)i), file) != 0)
            return -1;
    return 0;
}

/* src is a list of groups: append each element, replacing the one of dst
 * with the same identity. */
static int merge_list(config_setting_t *dst, const config_setting_t *src, const char *file)
{
    for (int i = 0; i < config_setting_length(src); i++) {
        const config_setting_t *el = config_setting_get_elem(src, (unsigned)i);
        const char *id = elem_id(el);
        for (int j = 0; id && j < config_setting_length(dst); j++) {
            const char *other = elem_id(config_setting_get_elem(dst, (unsigned)j));
            if (other && strcmp(other, id) == 0) {
                config_setting_remove_elem(dst, (unsigned)j);
                break;
            }
        }
        if (copy_into(dst, el, file) != 0)
            return -1;
    }
    return 0;
}

static int merge_group(config_setting_t *dst, const config_setting_t *src, const char *file)
{
    for (int i = 0; i < config_setting_length(src); i++) {
        const config_setting_t *s = config_setting_get_elem(src, (unsigned)i);
        const char *name = config_setting_name(s);
        config_setting_t *d = config_setting_get_member(dst, name);
        int rc;
        if (d && config_setting_is_group(d) && config_setting_is_group(s)) {
            rc = merge_group(d, s, file);
        } else if (d && config_setting_is_list(d) && config_setting_is_list(s)) {
            rc = merge_list(d, s, file);
        } else {
            if (d)
                config_setting_remove(dst, name);
            rc = copy_into(dst, s, file);
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

int hp_conffile_merge(config_setting_t *dst, const config_setting_t *src, const char *file,
                      struct hp_errs *e)
{
    if (merge_group(dst, src, file) == 0)
        return 0;
    hp_errs_raw(e, file, 0, "cannot merge: %s", strerror(ENOMEM));
    return -1;
}

static int conf_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Parse one fragment into frags' next tree and merge it into lc. */
static int read_fragment(config_t *lc, const char *path, struct hp_conffrags *f, struct hp_errs *e)
{
    config_t *fl = &f->lc[f->n];
    config_init(fl);
    /* Absolute: hp_errs shows a relative name under the main file's directory. */
    f->paths[f->n] = realpath(path, NULL);
    const char *saved_fallback = e->fallback_file, *saved_dir = e->include_dir;
    e->fallback_file = path;
    int rc = hp_conffile_read(fl, path, e, &f->dirs[f->n]);
    f->n++;
    if (rc == 0 && !f->paths[f->n - 1])
        rc = -1;
    if (rc == 0)
        rc = hp_conffile_merge(config_root_setting(lc), config_root_setting(fl), f->paths[f->n - 1],
                               e);
    e->fallback_file = saved_fallback;
    e->include_dir = saved_dir;
    return rc;
}

int hp_conffile_read_dir(config_t *lc, const char *dir, bool missing_ok, size_t main_bytes,
                         struct hp_conffrags *f, struct hp_errs *e)
{
    struct dirent **names = NULL;
    memset(f, 0, sizeof(*f));
    int n = scandir(dir, &names, conf_filter, by_name);
    if (n < 0) {
        if (errno == ENOENT && missing_ok)
            return 0;
        hp_errs_raw(e, dir, 0, "cannot read the configuration directory: %s", strerror(errno));
        return -1;
    }
    f->lc = calloc((size_t)n + 1, sizeof(*f->lc));
    f->dirs = calloc((size_t)n + 1, sizeof(*f->dirs));
    f->paths = calloc((size_t)n + 1, sizeof(*f->paths));
    int rc = f->lc && f->dirs && f->paths ? 0 : -1;
    size_t total = main_bytes;
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%.*s/%s", PATH_MAX - 300, dir, names[i]->d_name);
        off_t size = 0;
        int fd = rc == 0 ? hp_open_regular(AT_FDCWD, path, &size) : -1;
        if (rc == 0 && fd < 0) {
            hp_errs_raw(e, path, 0, "cannot open configuration: %s", hp_open_error(errno));
            rc = -1;
        }
        if (fd >= 0)
            close(fd);
        total += (size_t)size;
        if (rc == 0 && total > HP_CONFIG_MAX_BYTES) {
            hp_errs_raw(e, path, 0,
                        "the configuration with its fragments is too large (%zu bytes so far; "
                        "the limit is %d)",
                        total, HP_CONFIG_MAX_BYTES);
            rc = -1;
        }
        if (rc == 0)
            rc = read_fragment(lc, path, f, e);
        free(names[i]);
    }
    free(names);
    return rc;
}

void hp_conffrags_free(struct hp_conffrags *f)
{
    for (size_t i = 0; i < f->n; i++) {
        config_destroy(&f->lc[i]);
        free(f->dirs[i]);
        free(f->paths[i]);
    }
    free(f->lc);
    free(f->dirs);
    free(f->paths);
    memset(f, 0, sizeof(*f));
}
