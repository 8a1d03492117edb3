/* SPDX-License-Identifier: Apache-2.0 */
/* backlog.h -- one sink's queue of undelivered messages.
 *
 * A circular array of (message, state) entries, oldest first. Every entry
 * has a position (a number that only grows), which a sink uses as the
 * handle of a message it has taken. States: PENDING (to send), INFLIGHT
 * (taken by the sink, not yet acked), ACKED (confirmed, waiting for older
 * entries to be confirmed so it can be released in order).
 *
 * With a spool (transport/spool.h) the backlog is a window over a longer
 * queue on disk. While the sink is down or failing (spill), when the
 * memory limit is reached, or always (agent.spool.always), new messages are
 * appended to the spool; memory keeps at most `window` of them. Once the
 * spool holds unread records every new message goes behind them, so order
 * is kept; take() refills memory from the spool (hp_msg_parse) as acks
 * free room. An entry read from or written to the spool remembers its
 * record number (spos); releasing it acked confirms the record on disk.
 * Invariant: memory is [spooled entries][entries not on disk], and the
 * latter exist only while the spool has nothing unread, so spilling them
 * keeps disk order equal to delivery order.
 *
 * Transport thread only (or main while the transport is stopped). */
#ifndef HP_BACKLOG_H
#define HP_BACKLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/sink.h"
#include "transport/spool.h"

enum hp_entry_state { HP_PENDING = 0, HP_INFLIGHT, HP_ACKED };

#define HP_SPOS_NONE UINT64_MAX /* entry not on disk */

struct hp_backlog_entry {
    struct hp_msg *msg;
    uint64_t spos; /* spool record number, or HP_SPOS_NONE */
    uint8_t state;
};

struct hp_backlog {
    struct hp_backlog_entry *e;
    size_t cap;         /* allocated entries, a power of two */
    size_t limit;       /* most entries held; beyond it the oldest is dropped */
    size_t limit_bytes; /* most message bytes held in memory (0: no cap); beyond
                           it, as beyond limit: to the spool, else drop */
    size_t bytes;       /* message bytes held in memory */
    size_t head;        /* index of the oldest entry */
    size_t count;
    size_t cursor; /* offset from head: no PENDING entry before it */
    size_t inflight;
    uint64_t head_pos;      /* position of the oldest entry */
    struct hp_spool *spool; /* owned; NULL: memory only */
    size_t window;          /* memory entries while spilling / refilling */
    bool spill;             /* the sink is down: new messages go to disk */
};

struct hp_backlog *hp_backlog_new(size_t limit);
/* Cap the memory the entries' messages take (0: no cap). */
void hp_backlog_set_limit_bytes(struct hp_backlog *b, size_t bytes);
void hp_backlog_free(struct hp_backlog *b);

/* Append msg (takes a reference). When full, the oldest entry is released
 * first; returns the number of messages so dropped (0 or 1; with a spool,
 * also the unread records the spool dropped to stay within its budget, or
 * 1 when the disk refused the message). */
size_t hp_backlog_push(struct hp_backlog *b, struct hp_msg *msg);
/* Up to max PENDING entries, oldest first, become INFLIGHT into out. */
size_t hp_backlog_take(struct hp_backlog *b, struct hp_out *out, size_t max);
/* Settle an INFLIGHT entry; stale positions are ignored. Returns true if
 * the entry was in flight. */
bool hp_backlog_ack(struct hp_backlog *b, uint64_t pos, enum hp_ack ack);
/* Every INFLIGHT entry becomes PENDING again (connection lost). Returns
 * how many. */
size_t hp_backlog_requeue(struct hp_backlog *b);
/* Move every entry of from to the end of to (reload); to adopts from's
 * spool when it has none. */
void hp_backlog_move(struct hp_backlog *to, struct hp_backlog *from);
/* Messages waiting or in flight, memory and disk. */
static inline size_t hp_backlog_count(const struct hp_backlog *b)
{
    return b->count + (b->spool ? (size_t)hp_spool_unread(b->spool) : 0);
}
/* Of hp_backlog_count(), how many are on disk: the spool's unread records
 * plus memory entries read from or written to it and not yet acked. At
 * exit (after a spill) these are what the next start replays; the rest is
 * lost. */
size_t hp_backlog_on_disk(const struct hp_backlog *b);
/* Give the backlog a spool (ownership moves; freed with the backlog) and
 * the number of entries memory keeps while spooling. */
void hp_backlog_set_spool(struct hp_backlog *b, struct hp_spool *sp, size_t window);
/* The sink went down (on) or came back (off). Going down writes every
 * memory entry not yet on disk to the spool. No-op without a spool. */
void hp_backlog_set_spill(struct hp_backlog *b, bool on);
/* Periodic spool work (max_age now; the fsync policy and the acked offset
 * into *job, for hp_spool_sync_run once the lock is released: see
 * hp_spool_sync). Returns the number of unread messages max_age dropped. */
size_t hp_backlog_sync(struct hp_backlog *b, int64_t now_ms, struct hp_spool_sync *job);
/* True if some entry waits to be sent. */
bool hp_backlog_has_pending(const struct hp_backlog *b);

#endif
