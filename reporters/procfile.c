/* SPDX-License-Identifier: Apache-2.0 */
/* procfile.c -- one-pread reads of kernel files into reused buffers, and
 * allocation-free number parsing for the reporters. */
#include "reporters/procfile.h"

#include "lib/regfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INITIAL_CAP 4096
#define MAX_CAP     (64u << 20)

void hp_procfile_init(struct hp_procfile *f, const char *path)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->path, sizeof(f->path), "%s", path);
    f->fd = -1;
}

const char *hp_procfile_read(struct hp_procfile *f, bool keep_open)
{
    if (f->fd < 0) {
        f->fd = hp_open_regular(AT_FDCWD, f->path, NULL);
        if (f->fd < 0) {
            f->last_errno = errno;
            return NULL;
        }
    }
    if (!f->buf) {
        f->cap = INITIAL_CAP;
        f->buf = malloc(f->cap);
        if (!f->buf) {
            f->last_errno = ENOMEM;
            return NULL;
        }
    }
    for (;;) {
        ssize_t n = pread(f->fd, f->buf, f->cap - 1, 0);
        if (n < 0) {
            f->last_errno = errno;
            hp_procfile_close(f); /* e.g. ESRCH: the process is gone */
            return NULL;
        }
        if ((size_t)n < f->cap - 1 || f->cap >= MAX_CAP) {
            f->len = (size_t)n;
            f->buf[n] = '\0';
            break;
        }
        char *nb = realloc(f->buf, f->cap * 2);
        if (!nb) {
            f->last_errno = ENOMEM;
            return NULL;
        }
        f->buf = nb;
        f->cap *= 2;
    }
    f->last_errno = 0;
    if (!keep_open)
        hp_procfile_close(f);
    return f->buf;
}

void hp_procfile_close(struct hp_procfile *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

void hp_procfile_fini(struct hp_procfile *f)
{
    hp_procfile_close(f);
    free(f->buf);
    f->buf = NULL;
    f->cap = 0;
}

long hp_read_small(const char *path, char *buf, size_t len)
{
    int fd = hp_open_regular(AT_FDCWD, path, NULL);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    int err = errno;
    close(fd);
    if (n < 0) {
        errno = err;
        return -1;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    return (long)n;
}

static const char *skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

bool hp_parse_u64(const char **p, uint64_t *out)
{
    const char *s = skip_blanks(*p);
    if (*s < '0' || *s > '9')
        return false;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d; /* saturate, never wrap */
    }
    *out = v;
    *p = s;
    return true;
}

bool hp_parse_i64(const char **p, int64_t *out)
{
    const char *s = skip_blanks(*p);
    bool neg = *s == '-';
    if (neg)
        s++;
    uint64_t u;
    if (!hp_parse_u64(&s, &u))
        return false;
    if (u > (uint64_t)INT64_MAX)
        u = (uint64_t)INT64_MAX;
    *out = neg ? -(int64_t)u : (int64_t)u;
    *p = s;
    return true;
}

bool hp_parse_double(const char **p, double *out)
{
    const char *s = skip_blanks(*p);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s)
        return false;
    *out = v;
    *p = end;
    return true;
}

bool hp_next_line(const char **p)
{
    const char *nl = strchr(*p, '\n');
    if (!nl)
        return false;
    *p = nl + 1;
    return **p != '\0';
}

bool hp_find_key_u64(const char *buf, const char *key, uint64_t *out)
{
    size_t kl = strlen(key);
    for (const char *p = buf; p && *p;) {
        if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
            const char *v = p + kl + 1;
            return hp_parse_u64(&v, out);
        }
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : NULL;
    }
    return false;
}

bool hp_find_btime(const char *stat, uint64_t *secs)
{
    const char *bt = stat ? strstr(stat, "\nbtime ") : NULL;
    uint64_t v;
    if (!bt || (bt += 7, !hp_parse_u64(&bt, &v)) || v == 0 || v > (uint64_t)INT64_MAX / 1000)
        return false;
    *secs = v;
    return true;
}
