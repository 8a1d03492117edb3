/* SPDX-License-Identifier: Apache-2.0 */
/* backlog.c -- a sink's queue of undelivered messages, spilling to a disk
 * spool while the sink is down (see backlog.h). */
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
    b->window = b->limit;
    return b;
}

void hp_backlog_set_limit_bytes(struct hp_backlog *b, size_t bytes)
{
    b->limit_bytes = bytes;
}

/* True while memory may take one more entry of len bytes, within cap entries.
 * An empty backlog always may, so a message larger than the cap still goes
 * through. */
static bool room(const struct hp_backlog *b, size_t cap, size_t len)
{
    return b->count < cap && (!b->limit_bytes || b->count == 0 || b->bytes + len <= b->limit_bytes);
}

/* True while a refill from the spool may load one more entry (it may pass
 * the byte cap by one message: a record is read before its size is known). */
static bool can_refill(const struct hp_backlog *b)
{
    return b->count < b->window && (!b->limit_bytes || b->bytes < b->limit_bytes);
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
    if (h->state == HP_ACKED && h->spos != HP_SPOS_NONE && b->spool)
        hp_spool_ack(b->spool, h->spos + 1);
    b->bytes -= h->msg->len;
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
    hp_spool_close(b->spool);
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

/* Append to memory, dropping the oldest entries when full (in entries, or
 * with cap_bytes, in bytes). */
static size_t mem_push(struct hp_backlog *b, struct hp_msg *msg, uint64_t spos, uint8_t state,
                       bool cap_bytes)
{
    size_t dropped = 0;
    while (b->count && (b->count >= b->limit || (cap_bytes && !room(b, b->limit, msg->len)))) {
        release_head(b);
        dropped++;
    }
    if (b->count == b->cap && grow(b) != 0) {
        release_head(b);
        dropped++;
    }
    struct hp_backlog_entry *e = at(b, b->count);
    b->bytes += msg->len;
    e->msg = hp_msg_ref(msg);
    e->spos = spos;
    e->state = state;
    b->count++;
    return dropped;
}

/* Write the memory entries not yet on disk (a suffix) to the spool; only
 * while nothing is unread, so disk order stays delivery order. */
static void spill_memory(struct hp_backlog *b)
{
    size_t i = b->count;
    while (i > 0 && at(b, i - 1)->spos == HP_SPOS_NONE)
        i--;
    for (; i < b->count && hp_spool_unread(b->spool) == 0; i++) {
        struct hp_backlog_entry *e = at(b, i);
        uint64_t pos;
        if (e->state == HP_ACKED)
            continue;
        if (hp_spool_append(b->spool, e->msg->json, e->msg->len, true, &pos) != 0)
            return;
        e->spos = pos;
    }
}

static size_t spool_push(struct hp_backlog *b, struct hp_msg *msg)
{
    struct hp_spool *sp = b->spool;
    if (hp_spool_unread(sp) == 0)
        spill_memory(b);
    bool keep = hp_spool_unread(sp) == 0 && room(b, b->spill ? b->window : b->limit, msg->len);
    uint64_t before = hp_spool_stats(sp)->dropped, pos;
    if (hp_spool_append(sp, msg->json, msg->len, keep, &pos) != 0)
        /* The disk refused it: memory may hold it only if that keeps order. */
        return hp_spool_unread(sp) == 0 ? mem_push(b, msg, HP_SPOS_NONE, HP_PENDING, true) : 1;
    size_t lost = (size_t)(hp_spool_stats(sp)->dropped - before);
    if (keep)
        lost += mem_push(b, msg, pos, HP_PENDING, true);
    return lost;
}

size_t hp_backlog_push(struct hp_backlog *b, struct hp_msg *msg)
{
    if (b->spool && (b->spill || hp_spool_always(b->spool) || hp_spool_unread(b->spool) > 0 ||
                     !room(b, b->limit, msg->len)))
        return spool_push(b, msg);
    return mem_push(b, msg, HP_SPOS_NONE, HP_PENDING, true);
}

/* Load spooled messages into memory up to the window. A record that is no
 * envelope is skipped: it is confirmed with the next ack past it. */
static void refill(struct hp_backlog *b)
{
    const char *data;
    size_t len;
    uint64_t pos;
    while (b->spool && can_refill(b) && hp_spool_unread(b->spool) > 0 &&
           hp_spool_read(b->spool, &data, &len, &pos) == 1) {
        struct hp_msg *m = hp_msg_parse(data, len);
        if (!m) {
            hp_spool_skip(b->spool, pos); /* counted and logged, never silent */
            continue;
        }
        mem_push(b, m, pos, HP_PENDING, false);
        hp_msg_unref(m);
    }
}

size_t hp_backlog_take(struct hp_backlog *b, struct hp_out *out, size_t max)
{
    refill(b);
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
    bool same_spool = false;
    if (from->spool && !to->spool) {
        to->spool = from->spool;
        to->window = from->window;
        from->spool = NULL;
        same_spool = true;
    }
    while (from->count) {
        struct hp_backlog_entry *h = at(from, 0);
        if (same_spool) /* keep acked entries too: they confirm records */
            mem_push(to, h->msg, h->spos, h->state, false);
        else if (h->state == HP_PENDING)
            hp_backlog_push(to, h->msg);
        h->state = HP_PENDING; /* released without confirming anything */
        release_head(from);
    }
}

bool hp_backlog_has_pending(const struct hp_backlog *b)
{
    if (b->spool && can_refill(b) && hp_spool_unread(b->spool) > 0)
        return true;
    for (size_t i = b->cursor; i < b->count; i++)
        if (at(b, i)->state == HP_PENDING)
            return true;
    return false;
}

size_t hp_backlog_on_disk(const struct hp_backlog *b)
{
    if (!b->spool)
        return 0;
    size_t n = (size_t)hp_spool_unread(b->spool);
    for (size_t i = 0; i < b->count; i++) {
        const struct hp_backlog_entry *e = at(b, i);
        n += e->spos != HP_SPOS_NONE && e->state != HP_ACKED;
    }
    return n;
}

void hp_backlog_set_spool(struct hp_backlog *b, struct hp_spool *sp, size_t window)
{
    hp_spool_close(b->spool);
    b->spool = sp;
    b->window = window ? window : 1;
    if (b->window > b->limit)
        b->window = b->limit;
}

void hp_backlog_set_spill(struct hp_backlog *b, bool on)
{
    b->spill = on;
    if (on && b->spool && hp_spool_unread(b->spool) == 0)
        spill_memory(b);
}

size_t hp_backlog_sync(struct hp_backlog *b, int64_t now_ms, struct hp_spool_sync *job)
{
    if (!b->spool) {
        *job = (struct hp_spool_sync){.fd = -1};
        return 0;
    }
    uint64_t before = hp_spool_stats(b->spool)->dropped;
    hp_spool_sync(b->spool, now_ms, job);
    return (size_t)(hp_spool_stats(b->spool)->dropped - before);
}
