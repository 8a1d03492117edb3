/* backlog.c -- a sink's queue of undelivered messages (see backlog.h). */
#include "transport/backlog.h"

#include <stdlib.h>

#define INITIAL_CAP 64

struct hp_backlog *hp_backlog_new(size_t limit)
{
    struct hp_backlog *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->cap = INITIAL_CAP;
    b->e = calloc(b->cap, sizeof(*b->e));
    if (!b->e) {
        free(b);
        return NULL;
    }
    b->limit = limit ? limit : 1;
    return b;
}

static struct hp_backlog_entry *at(const struct hp_backlog *b, size_t off)
{
    return &b->e[(b->head + off) & (b->cap - 1)];
}

static void release_head(struct hp_backlog *b)
{
    struct hp_backlog_entry *h = at(b, 0);
    if (h->state == HP_INFLIGHT)
        b->inflight--;
    hp_msg_unref(h->msg);
    h->msg = NULL;
    b->head = (b->head + 1) & (b->cap - 1);
    b->head_pos++;
    b->count--;
    if (b->cursor)
        b->cursor--;
}

void hp_backlog_free(struct hp_backlog *b)
{
    if (!b)
        return;
    while (b->count)
        release_head(b);
    free(b->e);
    free(b);
}

static int grow(struct hp_backlog *b)
{
    size_t ncap = b->cap * 2;
    struct hp_backlog_entry *n = malloc(ncap * sizeof(*n));
    if (!n)
        return -1;
    for (size_t i = 0; i < b->count; i++)
        n[i] = *at(b, i);
    free(b->e);
    b->e = n;
    b->cap = ncap;
    b->head = 0;
    return 0;
}

size_t hp_backlog_push(struct hp_backlog *b, struct hp_msg *msg)
{
    size_t dropped = 0;
    if (b->count >= b->limit || (b->count == b->cap && grow(b) != 0)) {
        release_head(b);
        dropped = 1;
    }
    struct hp_backlog_entry *e = at(b, b->count);
    e->msg = hp_msg_ref(msg);
    e->state = HP_PENDING;
    b->count++;
    return dropped;
}

size_t hp_backlog_take(struct hp_backlog *b, struct hp_out *out, size_t max)
{
    size_t n = 0, i = b->cursor;
    for (; i < b->count && n < max; i++) {
        struct hp_backlog_entry *e = at(b, i);
        if (e->state != HP_PENDING)
            continue;
        e->state = HP_INFLIGHT;
        out[n].msg = e->msg;
        out[n].pos = b->head_pos + i;
        n++;
    }
    b->cursor = i;
    b->inflight += n;
    return n;
}

bool hp_backlog_ack(struct hp_backlog *b, uint64_t pos, enum hp_ack ack)
{
    if (pos < b->head_pos || pos - b->head_pos >= b->count)
        return false;
    size_t off = (size_t)(pos - b->head_pos);
    struct hp_backlog_entry *e = at(b, off);
    if (e->state != HP_INFLIGHT)
        return false;
    b->inflight--;
    if (ack == HP_ACK_RETRY) {
        e->state = HP_PENDING;
        if (off < b->cursor)
            b->cursor = off;
        return true;
    }
    e->state = HP_ACKED;
    while (b->count && at(b, 0)->state == HP_ACKED)
        release_head(b);
    return true;
}

size_t hp_backlog_requeue(struct hp_backlog *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->count; i++) {
        struct hp_backlog_entry *e = at(b, i);
        if (e->state == HP_INFLIGHT) {
            e->state = HP_PENDING;
            n++;
        }
    }
    b->inflight = 0;
    b->cursor = 0;
    return n;
}

void hp_backlog_move(struct hp_backlog *to, struct hp_backlog *from)
{
    hp_backlog_requeue(from);
    while (from->count) {
        struct hp_backlog_entry *h = at(from, 0);
        if (h->state == HP_PENDING)
            hp_backlog_push(to, h->msg);
        release_head(from);
    }
}

bool hp_backlog_has_pending(const struct hp_backlog *b)
{
    for (size_t i = b->cursor; i < b->count; i++)
        if (at(b, i)->state == HP_PENDING)
            return true;
    return false;
}
