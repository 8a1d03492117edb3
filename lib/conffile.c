/* conffile.c -- read one libconfig file with FILE:LINE errors, refusing
 * what libconfig must not parse before it sees it.
 *
 * libconfig (1.5 in Debian 12, which has no include hook) opens @include
 * files itself and would block on a FIFO or parse a device forever, and its
 * parser is slow on large input. So the file and, recursively, every
 * @include it names are opened first without blocking (lib/regfile.h):
 * anything but a regular file is refused, and their sizes together must
 * stay within HP_CONFIG_MAX_BYTES. */
#include "lib/conffile.h"

#include "lib/regfile.h"

#include <ctype.h>
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
