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
    size_t cap = m->cap ? m->cap * 2 : 1024;
    struct hp_pident *e = calloc(cap, sizeof(*e));
    if (!e)
        return -1;
    struct hp_pidmap bigger = {.e = e, .cap = cap, .n = m->n};
    for (size_t i = 0; i < m->cap; i++)
        if (m->e[i].pid)
            *find(&bigger, m->e[i].pid) = m->e[i];
    free(m->e);
    *m = bigger;
    return 0;
}

void hp_pidtab_begin(struct hp_pidtab *t)
{
    if (t->next.cap)
        memset(t->next.e, 0, t->next.cap * sizeof(*t->next.e));
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
        t->next.n++;
    }
    return e;
}

static void close_fds(struct hp_pidmap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        struct hp_pident *e = &m->e[i];
        if (e->pid && e->fd >= 0)
            close(e->fd);
        if (e->pid && e->sfd >= 0)
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
    memset(t, 0, sizeof(*t));
}
