/* backlog.h -- one sink's queue of undelivered messages.
 *
 * A circular array of (message, state) entries, oldest first. Every entry
 * has a position (a number that only grows), which a sink uses as the
 * handle of a message it has taken. States: PENDING (to send), INFLIGHT
 * (taken by the sink, not yet acked), ACKED (confirmed, waiting for older
 * entries to be confirmed so it can be released in order).
 *
 * Transport thread only (or main while the transport is stopped). */
#ifndef HP_BACKLOG_H
#define HP_BACKLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/sink.h"

enum hp_entry_state { HP_PENDING = 0, HP_INFLIGHT, HP_ACKED };

struct hp_backlog_entry {
    struct hp_msg *msg;
    uint8_t state;
};

struct hp_backlog {
    struct hp_backlog_entry *e;
    size_t cap;       /* allocated entries, a power of two */
    size_t limit;     /* most entries held; beyond it the oldest is dropped */
    size_t head;      /* index of the oldest entry */
    size_t count;
    size_t cursor;    /* offset from head: no PENDING entry before it */
    size_t inflight;
    uint64_t head_pos; /* position of the oldest entry */
};

struct hp_backlog *hp_backlog_new(size_t limit);
void hp_backlog_free(struct hp_backlog *b);

/* Append msg (takes a reference). When full, the oldest entry is released
 * first; returns the number of messages so dropped (0 or 1). */
size_t hp_backlog_push(struct hp_backlog *b, struct hp_msg *msg);
/* Up to max PENDING entries, oldest first, become INFLIGHT into out. */
size_t hp_backlog_take(struct hp_backlog *b, struct hp_out *out, size_t max);
/* Settle an INFLIGHT entry; stale positions are ignored. Returns true if
 * the entry was in flight. */
bool hp_backlog_ack(struct hp_backlog *b, uint64_t pos, enum hp_ack ack);
/* Every INFLIGHT entry becomes PENDING again (connection lost). Returns
 * how many. */
size_t hp_backlog_requeue(struct hp_backlog *b);
/* Move every entry of from to the end of to (reload). */
void hp_backlog_move(struct hp_backlog *to, struct hp_backlog *from);
static inline size_t hp_backlog_count(const struct hp_backlog *b)
{
    return b->count;
}
/* True if some entry waits to be sent. */
bool hp_backlog_has_pending(const struct hp_backlog *b);

#endif
