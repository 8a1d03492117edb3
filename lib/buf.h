/* SPDX-License-Identifier: Apache-2.0 */
/* buf.h -- a growable byte buffer, always NUL-terminated: the CSV rows, the
 * Elasticsearch bulk bodies and HTTP responses are all built in one. The
 * owner frees p (hp_buf_free); len = 0 empties it and keeps the memory. */
#ifndef HP_BUF_H
#define HP_BUF_H

#include <stddef.h>
#include <string.h>

/* Grow the array *pp (elements of `size` bytes, *cap of them) to hold at
 * least `need`, doubling (from 16). pp is the address of the array pointer
 * (NULL until the first call). 0, or -1 on ENOMEM (*pp and *cap unchanged).
 * Every growable array of the agent grows through this. */
int hp_grow(void *pp, size_t *cap, size_t need, size_t size);

struct hp_buf {
    char *p; /* NULL until the first byte */
    size_t len, cap;
};

/* Make room for `need` bytes in all (cap >= need). 0, or -1 on ENOMEM. */
int hp_buf_reserve(struct hp_buf *b, size_t need);
/* Append n bytes and keep the NUL. 0, or -1 on ENOMEM (b unchanged). */
int hp_buf_put(struct hp_buf *b, const void *s, size_t n);
void hp_buf_free(struct hp_buf *b);
/* Append a NUL-terminated string: hp_buf_put of its bytes. */
static inline int hp_buf_str(struct hp_buf *b, const char *s)
{
    return hp_buf_put(b, s, strlen(s));
}

#endif
