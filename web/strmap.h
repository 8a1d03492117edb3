/* SPDX-License-Identifier: Apache-2.0 */
/* strmap.h -- a string-keyed hash map for the store writer's caches.
 *
 * Keys are byte strings (may contain NULs: "host\0reporter\0path"), copied
 * into the map; values are the caller's pointers, never freed by the map
 * except through the free_val callback given to hp_strmap_clear/free.
 * Open addressing with linear probing, power-of-two capacity, no
 * deletion (the caches are cleared wholesale). One thread only. */
#ifndef HP_WEB_STRMAP_H
#define HP_WEB_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct hp_strmap_slot {
    uint64_t hash;
    char *key; /* NULL: empty */
    size_t klen;
    void *val;
};

struct hp_strmap {
    struct hp_strmap_slot *slots;
    size_t cap, count;
};

/* The value stored under key, or NULL. */
void *hp_strmap_get(const struct hp_strmap *m, const void *key, size_t klen);
/* Store val under key (replacing any value). 0, or -1 on ENOMEM. */
int hp_strmap_put(struct hp_strmap *m, const void *key, size_t klen, void *val);
/* Remove every entry, calling free_val (if not NULL) on each value. */
void hp_strmap_clear(struct hp_strmap *m, void (*free_val)(void *));
/* Call fn on every value. */
void hp_strmap_each(struct hp_strmap *m, void (*fn)(void *val, void *ud), void *ud);

#endif
