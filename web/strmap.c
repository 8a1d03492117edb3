/* SPDX-License-Identifier: Apache-2.0 */
/* strmap.c -- open-addressing string map (FNV-1a hashes, linear probing). */
#include "web/strmap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

static struct hp_strmap_slot *find(const struct hp_strmap *m, uint64_t h, const void *key,
                                   size_t klen)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct hp_strmap_slot *s = &m->slots[i];
        if (!s->key || (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0))
            return s;
    }
}

void *hp_strmap_get(const struct hp_strmap *m, const void *key, size_t klen)
{
    if (!m->cap)
        return NULL;
    struct hp_strmap_slot *s = find(m, fnv1a(key, klen), key, klen);
    return s->key ? s->val : NULL;
}

static int grow(struct hp_strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    struct hp_strmap n = {.slots = calloc(cap, sizeof(*n.slots)), .cap = cap, .count = m->count};
    if (!n.slots)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            *find(&n, m->slots[i].hash, m->slots[i].key, m->slots[i].klen) = m->slots[i];
    free(m->slots);
    *m = n;
    return 0;
}

int hp_strmap_put(struct hp_strmap *m, const void *key, size_t klen, void *val)
{
    if ((m->count + 1) * 4 > m->cap * 3 && grow(m) != 0)
        return -1;
    uint64_t h = fnv1a(key, klen);
    struct hp_strmap_slot *s = find(m, h, key, klen);
    if (!s->key) {
        char *k = malloc(klen ? klen : 1);
        if (!k)
            return -1;
        memcpy(k, key, klen);
        *s = (struct hp_strmap_slot){.hash = h, .key = k, .klen = klen};
        m->count++;
    }
    s->val = val;
    return 0;
}

void hp_strmap_clear(struct hp_strmap *m, void (*free_val)(void *))
{
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key && free_val)
            free_val(m->slots[i].val);
        free(m->slots[i].key);
    }
    free(m->slots);
    *m = (struct hp_strmap){0};
}

void hp_strmap_each(struct hp_strmap *m, void (*fn)(void *val, void *ud), void *ud)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            fn(m->slots[i].val, ud);
}
