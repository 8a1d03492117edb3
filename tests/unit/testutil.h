/* SPDX-License-Identifier: Apache-2.0 */
/* testutil.h -- small helpers shared by the cmocka unit tests: temporary
 * directories and trees, writing fixture files, and reading the files a
 * sink wrote. Header-only:
 * each test is its own program. */
#ifndef HP_TESTUTIL_H
#define HP_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The whole file as a NUL-terminated string (caller frees), NULL if it
 * cannot be read. No size limit: it reads until EOF. */
static inline char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    size_t cap = 4096, len = 0, n;
    char *buf = malloc(cap);
    while (buf && (n = fread(buf + len, 1, cap - len - 1, fp)) > 0) {
        len += n;
        if (len + 1 == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    if (buf)
        buf[len] = '\0';
    fclose(fp);
    return buf;
}

/* A new empty directory /tmp/hp-test-NAME-XXXXXX; its path goes to buf
 * (returned), NULL on failure. */
static inline char *hp_test_mkdtemp(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "/tmp/hp-test-%s-XXXXXX", name);
    return mkdtemp(buf);
}

/* rm -rf dir: 0, or -1 if that failed. */
static inline int hp_test_rmtree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A new temporary directory (as hp_test_mkdtemp) holding a copy of the
 * tree src, modes kept; NULL on failure. */
static inline char *hp_test_copytree(char *buf, size_t len, const char *name, const char *src)
{
    char cmd[600];
    if (!hp_test_mkdtemp(buf, len, name))
        return NULL;
    snprintf(cmd, sizeof(cmd), "cp -a '%s'/. '%s'/", src, buf);
    if (system(cmd) != 0) {
        hp_test_rmtree(buf);
        return NULL;
    }
    return buf;
}

/* Write (mode "w") or append ("a") text to dir/rel. 0, or -1 when the
 * file cannot be opened or written. */
static inline int hp_test_put_file(const char *dir, const char *rel, const char *text,
                                   const char *mode)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    FILE *f = fopen(path, mode);
    if (!f)
        return -1;
    int rc = fputs(text, f) < 0 ? -1 : 0;
    return fclose(f) == 0 ? rc : -1;
}

static inline int count_lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

#endif
