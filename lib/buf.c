/* SPDX-License-Identifier: Apache-2.0 */
/* buf.c -- the growable byte buffer (see buf.h). */
#include "lib/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int hp_grow(void *pp, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need) {
        if (n > SIZE_MAX / 2 / size)
            return -1;
        n *= 2;
    }
    void *old, *p;
    memcpy(&old, pp, sizeof(old)); /* *pp is some T *: copy it, do not pun it */
    p = realloc(old, n * size);
    if (!p)
        return -1; /* *pp still owns old */
    memcpy(pp, &p, sizeof(p));
    *cap = n;
    return 0;
}

int hp_buf_reserve(struct hp_buf *b, size_t need)
{
    return hp_grow(&b->p, &b->cap, need < 1024 ? 1024 : need, 1);
}

int hp_buf_put(struct hp_buf *b, const void *s, size_t n)
{
    if (hp_buf_reserve(b, b->len + n + 1) != 0)
        return -1;
    if (n) /* s may be NULL when there is nothing to copy */
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

void hp_buf_free(struct hp_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
