/* SPDX-License-Identifier: Apache-2.0 */
/* store_shape.c -- the series ids of each (host, reporter)'s last message,
 * in the order its numbers came.
 *
 * A reporter sends the same fields in the same order message after
 * message, so the i-th number of a message is almost always the i-th
 * series of the previous one: comparing its path with the one remembered
 * there answers its series id without hashing a key and probing the
 * series cache for every number. A path that differs there (a new
 * interface, a process gone) is looked up as before, and the shape is
 * cut at that place and follows the new message from there on. */
#include "web/store_int.h"

#include <stdlib.h>
#include <string.h>

struct shape_entry {
    uint32_t off; /* of the path in buf */
    uint32_t len; /* of the path (under HP_PATH_MAX) */
    int64_t id;
};

struct hp_shape {
    struct shape_entry *e;
    size_t n, cap;
    char *buf;
    size_t used, bcap;
};

struct hp_shape *hp_shape_of(struct hp_strmap *shapes, const void *key, size_t klen)
{
    struct hp_shape *sh = hp_strmap_get(shapes, key, klen);
    if (sh)
        return sh;
    sh = calloc(1, sizeof(*sh));
    if (!sh || hp_strmap_put(shapes, key, klen, sh) != 0) {
        free(sh);
        return NULL;
    }
    return sh;
}

int64_t hp_shape_id(const struct hp_shape *sh, size_t i, const char *path, size_t plen)
{
    if (!sh || i >= sh->n)
        return 0;
    const struct shape_entry *e = &sh->e[i];
    return e->len == plen && memcmp(sh->buf + e->off, path, plen) == 0 ? e->id : 0;
}

static int reserve(void **p, size_t *cap, size_t want, size_t size)
{
    if (want <= *cap)
        return 0;
    size_t c = *cap ? *cap : 16;
    while (c < want)
        c *= 2;
    void *n = realloc(*p, c * size);
    if (!n)
        return -1;
    *p = n;
    *cap = c;
    return 0;
}

int hp_shape_set(struct hp_shape *sh, size_t i, const char *path, size_t plen, int64_t id)
{
    if (!sh || plen >= HP_PATH_MAX || sh->used + plen > UINT32_MAX)
        return -1;
    if (i < sh->n) { /* cut here: the rest follows the new message */
        sh->used = sh->e[i].off;
        sh->n = i;
    }
    if (i != sh->n || reserve((void **)&sh->e, &sh->cap, sh->n + 1, sizeof(*sh->e)) != 0 ||
        reserve((void **)&sh->buf, &sh->bcap, sh->used + plen, 1) != 0)
        return -1;
    memcpy(sh->buf + sh->used, path, plen);
    sh->e[sh->n++] =
        (struct shape_entry){.off = (uint32_t)sh->used, .len = (uint32_t)plen, .id = id};
    sh->used += plen;
    return 0;
}

void hp_shape_free(void *p)
{
    struct hp_shape *sh = p;
    if (!sh)
        return;
    free(sh->e);
    free(sh->buf);
    free(sh);
}
