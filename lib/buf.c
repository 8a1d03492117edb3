/* buf.c -- the growable byte buffer (see buf.h). */
#include "lib/buf.h"

#include <stdlib.h>

int hp_buf_reserve(struct hp_buf *b, size_t need)
{
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

int hp_buf_put(struct hp_buf *b, const void *s, size_t n)
{
    if (hp_buf_reserve(b, b->len + n + 1) != 0)
        return -1;
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
