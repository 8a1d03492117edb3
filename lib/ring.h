/* SPDX-License-Identifier: Apache-2.0 */
/* ring.h -- bounded lock-free MPSC queue of pointers (Vyukov's cells).
 *
 * Many reporter threads push, one transport thread pops. Every cell has a
 * sequence number, so no producer ever waits for another one, and the
 * consumer never takes a lock. When the ring is full a push fails at once:
 * the caller drops and counts, a reporter is never blocked.
 *
 * The consumer sleeps on an eventfd when the ring is empty; producers pay
 * for a wake-up syscall only while it actually sleeps. */
#ifndef HP_RING_H
#define HP_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HP_CACHELINE 64

struct hp_ring_cell {
    /* == pos: free for pos; == pos+1: holds pos's data. Padded to a line. */
    alignas(HP_CACHELINE) _Atomic size_t seq;
    void *data;
};

struct hp_ring {
    alignas(HP_CACHELINE) _Atomic size_t head;  /* producers: next position to claim */
    alignas(HP_CACHELINE) size_t tail;          /* consumer only: next position to read */
    _Atomic size_t tail_seen;                   /* copy of tail for other threads (relaxed) */
    _Atomic size_t high_water;                  /* max occupancy seen by the consumer (relaxed) */
    alignas(HP_CACHELINE) _Atomic int sleeping; /* consumer is (about to be) asleep */
    int efd;                                    /* eventfd that wakes the consumer */
    size_t mask;                                /* capacity - 1 */
    struct hp_ring_cell *cells;
};

/* Create a ring; capacity must be a power of two >= 2. NULL on error. */
struct hp_ring *hp_ring_new(size_t capacity);
void hp_ring_free(struct hp_ring *r);

/* Producer side, any thread. Lock-free. Returns false when full. */
bool hp_ring_push(struct hp_ring *r, void *data);

/* Consumer side, one thread only. Wait-free. Pops up to max items in FIFO
 * order per producer; returns how many. */
size_t hp_ring_pop(struct hp_ring *r, void **out, size_t max);

/* Consumer side: sleep until a push, hp_ring_wake(), timeout_ms, or (with
 * extra) until one of n more descriptors is ready; their revents are set.
 * hp_ring_wait_fds returns true if it slept and a push (or hp_ring_wake)
 * ended the sleep: the first message of a burst that may be still coming. */
void hp_ring_wait(struct hp_ring *r, int timeout_ms);
struct pollfd;
bool hp_ring_wait_fds(struct hp_ring *r, struct pollfd *extra, size_t n, int timeout_ms);

/* Any thread: wake the consumer (shutdown, reload). */
void hp_ring_wake(struct hp_ring *r);

/* Approximate occupancy and high-water mark, any thread (self-report). */
size_t hp_ring_size(struct hp_ring *r);
size_t hp_ring_high_water(struct hp_ring *r);
static inline size_t hp_ring_capacity(const struct hp_ring *r)
{
    return r->mask + 1;
}

#endif
