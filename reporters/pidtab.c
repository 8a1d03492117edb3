/* SPDX-License-Identifier: Apache-2.0 */
/* pidtab.c -- double-buffered open-addressing pid table (linear probing,
 * multiplicative hash, load factor at most 1/2). See pidtab.h. */
#include "reporters/pidtab.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t slot_of(const struct hp_pidmap *m, int32_t pid)
{
    return (size_t)(((uint32_t)pid * 2654435761u) & (uint32_t)(m->cap - 1));
}

static struct hp_pident *find(const struct hp_pidmap *m, int32_t pid)
{
    if (!m->cap)
        return NULL;
    for (size_t i = slot_of(m, pid);; i = (i + 1) & (m->cap - 1)) {
        if (m->e[i].pid == pid || m->e[i].pid == 0)
            return &m->e[i];
    }
}

/* Double m's capacity and re-insert its entries. -1 on ENOMEM. */
static int grow(struct hp_pidmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 256;
    struct hp_pident *e = calloc(cap, sizeof(*e));
    uint32_t *used = malloc(cap / 2 * sizeof(*used));
    if (!e || !used) {
        free(e);
        free(used);
        return -1;
    }
    struct hp_pidmap bigger = {.e = e, .cap = cap, .n = m->n, .used = used};
    for (size_t i = 0; i < m->n; i++) {
        struct hp_pident *to = find(&bigger, m->e[m->used[i]].pid);
        *to = m->e[m->used[i]];
        used[i] = (uint32_t)(to - e);
    }
    free(m->e);
    free(m->used);
    *m = bigger;
    return 0;
}

void hp_pidtab_begin(struct hp_pidtab *t)
{
    /* Linear probing needs only the used slots' pids cleared; put() zeroes
     * the rest of an entry when it takes the slot. */
    for (size_t i = 0; i < t->next.n; i++)
        t->next.e[t->next.used[i]].pid = 0;
    t->next.n = 0;
}

struct hp_pident *hp_pidtab_prev(const struct hp_pidtab *t, int32_t pid)
{
    struct hp_pident *e = find(&t->cur, pid);
    return e && e->pid == pid ? e : NULL;
}

struct hp_pident *hp_pidtab_put(struct hp_pidtab *t, int32_t pid)
{
    if ((t->next.n + 1) * 2 > t->next.cap && grow(&t->next) != 0)
        return NULL;
    struct hp_pident *e = find(&t->next, pid);
    if (e->pid != pid) {
        memset(e, 0, sizeof(*e));
        e->pid = pid;
        e->fd = -1;
        e->sfd = -1;
        t->next.used[t->next.n++] = (uint32_t)(e - t->next.e);
    }
    return e;
}

static void close_fds(struct hp_pidmap *m)
{
    for (size_t i = 0; i < m->n; i++) {
        struct hp_pident *e = &m->e[m->used[i]];
        if (e->fd >= 0)
            close(e->fd);
        if (e->sfd >= 0)
            close(e->sfd);
        e->fd = e->sfd = -1;
    }
}

void hp_pidtab_commit(struct hp_pidtab *t)
{
    struct hp_pidmap m = t->cur;
    t->cur = t->next;
    t->next = m;
    close_fds(&t->next);
}

void hp_pidtab_free(struct hp_pidtab *t)
{
    close_fds(&t->cur);
    close_fds(&t->next);
    free(t->cur.e);
    free(t->next.e);
    free(t->cur.used);
    free(t->next.used);
    memset(t, 0, sizeof(*t));
}
