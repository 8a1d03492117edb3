/* SPDX-License-Identifier: Apache-2.0 */
/* jtree.h -- a JSON text read into a flat array of nodes, for a reader that
 * only walks it (the CSV sink). json-c builds a hash table per object and
 * frees every node after; here one parse fills two reused buffers (nodes,
 * and the unescaped strings and number texts), so reading a message
 * allocates nothing once they have grown. Strings are unescaped as json-c
 * does (\uXXXX to UTF-8, a lone surrogate to U+FFFD); numbers, true and
 * false keep their text as written; null is NULL. Depth is limited to 32
 * as json-c's default tokener. Stricter than json-c's lax default: a
 * trailing comma or anything after the value is an error (messages, which
 * json-c wrote, never have them). */
#ifndef HP_JTREE_H
#define HP_JTREE_H

#include "lib/buf.h"

#include <stdint.h>

enum hp_jtype { HP_J_NULL, HP_J_BOOL, HP_J_NUM, HP_J_STR, HP_J_ARR, HP_J_OBJ };

struct hp_jnode {
    uint8_t type;   /* enum hp_jtype */
    uint32_t key;   /* offset of its key in the string buffer (objects' members) */
    uint32_t val;   /* offset of its text (HP_J_BOOL, HP_J_NUM, HP_J_STR) */
    uint32_t first; /* first child (containers), 0 when none */
    uint32_t next;  /* next sibling, 0 when none */
    uint32_t n;     /* children (containers) */
};

struct hp_jtree {
    struct hp_jnode *v; /* v[0] is the root */
    size_t n, cap;
    struct hp_buf str; /* NUL-terminated keys and texts */
};

/* Parse the len bytes at text into t (its old content is dropped). 0, or
 * -1 when text is not one JSON value (or on ENOMEM). */
int hp_jtree_parse(struct hp_jtree *t, const char *text, size_t len);
void hp_jtree_free(struct hp_jtree *t);

/* The node's key / text (NULL for null), valid until the next parse. */
static inline const char *hp_jtree_key(const struct hp_jtree *t, const struct hp_jnode *x)
{
    return t->str.p + x->key;
}
static inline const char *hp_jtree_text(const struct hp_jtree *t, const struct hp_jnode *x)
{
    return x->type == HP_J_NULL ? NULL : t->str.p + x->val;
}
/* The node at index i (0: none). */
static inline const struct hp_jnode *hp_jtree_at(const struct hp_jtree *t, uint32_t i)
{
    return i ? &t->v[i] : NULL;
}
/* Object member named key of obj, NULL when absent (the last of equal keys). */
const struct hp_jnode *hp_jtree_get(const struct hp_jtree *t, const struct hp_jnode *obj,
                                    const char *key);

#endif
