/* testutil.h -- small helpers shared by the cmocka unit tests that look at
 * files a sink wrote. Header-only: each test is its own program. */
#ifndef HP_TESTUTIL_H
#define HP_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>

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

static inline int count_lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

#endif
