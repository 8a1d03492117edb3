/* SPDX-License-Identifier: Apache-2.0 */
/* ring.c -- bounded lock-free MPSC queue (see ring.h for the contract).
 *
 * Memory orders, pairwise:
 *   P1 (push, store-release of cell->seq = pos+1) pairs with C1 (pop,
 *      load-acquire of cell->seq): the consumer sees data written before P1.
 *   C2 (pop, store-release of cell->seq = pos+capacity) pairs with P0
 *      (push, load-acquire of cell->seq): a producer reuses a cell only
 *      after the consumer has read it.
 *   head is claimed with a relaxed CAS: it orders nothing by itself, the
 *      cell sequence numbers carry all the synchronisation.
 *   Sleep/wake is a Dekker handshake: the producer publishes (P1), fences
 *      seq_cst (F1), then reads `sleeping`; the consumer sets `sleeping`,
 *      fences seq_cst (F2), then re-checks the ring. F1/F2 guarantee that at
 *      least one side sees the other, so a wake-up is never lost. The
 *      producer that wakes the consumer clears `sleeping` with an exchange
 *      (relaxed: the eventfd write/read orders the rest), so a burst of
 *      pushes costs one syscall, not one each. */
#include "lib/ring.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct hp_ring *hp_ring_new(size_t capacity)
{
    if (capacity < 2 || (capacity & (capacity - 1)) != 0)
        return NULL;
    struct hp_ring *r = aligned_alloc(HP_CACHELINE, sizeof(*r));
    if (!r)
        return NULL;
    /* One cell per cache line: producers writing neighbouring cells and
     * the consumer freeing them never share a line. */
    r->cells = aligned_alloc(HP_CACHELINE, capacity * sizeof(*r->cells));
    if (r->cells)
        memset(r->cells, 0, capacity * sizeof(*r->cells));
    r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!r->cells || r->efd < 0) {
        if (r->efd >= 0)
            close(r->efd);
        free(r->cells);
        free(r);
        return NULL;
    }
    for (size_t i = 0; i < capacity; i++)
        atomic_init(&r->cells[i].seq, i);
    atomic_init(&r->head, 0);
    atomic_init(&r->sleeping, 0);
    r->tail = 0;
    atomic_init(&r->tail_seen, 0);
    atomic_init(&r->high_water, 0);
    r->mask = capacity - 1;
    return r;
}

void hp_ring_free(struct hp_ring *r)
{
    if (!r)
        return;
    close(r->efd);
    free(r->cells);
    free(r);
}

bool hp_ring_push(struct hp_ring *r, void *data)
{
    size_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
    struct hp_ring_cell *cell;
    for (;;) {
        cell = &r->cells[pos & r->mask];
        /* P0: pairs with C2. */
        size_t seq = atomic_load_explicit(&cell->seq, memory_order_acquire);
        intptr_t dif = (intptr_t)seq - (intptr_t)pos;
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&r->head, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed))
                break;
        } else if (dif < 0) {
            return false; /* full: the consumer has not freed this cell yet */
        } else {
            pos = atomic_load_explicit(&r->head, memory_order_relaxed);
        }
    }
    cell->data = data;
    /* P1: pairs with C1. */
    atomic_store_explicit(&cell->seq, pos + 1, memory_order_release);
    /* F1: pairs with F2 (Dekker). Only the first producer to see the
     * consumer asleep pays for the wake-up syscall: it takes the flag. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->sleeping, memory_order_relaxed) &&
        atomic_exchange_explicit(&r->sleeping, 0, memory_order_relaxed))
        hp_ring_wake(r);
    return true;
}

size_t hp_ring_pop(struct hp_ring *r, void **out, size_t max)
{
    size_t n = 0;
    size_t used = atomic_load_explicit(&r->head, memory_order_relaxed) - r->tail;
    if (used > atomic_load_explicit(&r->high_water, memory_order_relaxed) && used <= r->mask + 1)
        atomic_store_explicit(&r->high_water, used, memory_order_relaxed);
    while (n < max) {
        struct hp_ring_cell *cell = &r->cells[r->tail & r->mask];
        /* C1: pairs with P1. */
        size_t seq = atomic_load_explicit(&cell->seq, memory_order_acquire);
        if (seq != r->tail + 1)
            break; /* empty, or the next producer has not published yet */
        out[n++] = cell->data;
        /* C2: pairs with P0. */
        atomic_store_explicit(&cell->seq, r->tail + r->mask + 1, memory_order_release);
        r->tail++;
    }
    /* Statistics only: relaxed, nothing is ordered by it. */
    atomic_store_explicit(&r->tail_seen, r->tail, memory_order_relaxed);
    return n;
}

static bool ring_ready(struct hp_ring *r)
{
    struct hp_ring_cell *cell = &r->cells[r->tail & r->mask];
    return atomic_load_explicit(&cell->seq, memory_order_acquire) == r->tail + 1;
}

void hp_ring_wait(struct hp_ring *r, int timeout_ms)
{
    hp_ring_wait_fds(r, NULL, 0, timeout_ms);
}

#define WAIT_FDS_MAX 32

bool hp_ring_wait_fds(struct hp_ring *r, struct pollfd *extra, size_t n, int timeout_ms)
{
    struct pollfd p[WAIT_FDS_MAX + 1];
    bool pushed = false;
    if (n > WAIT_FDS_MAX)
        n = WAIT_FDS_MAX;
    p[0] = (struct pollfd){.fd = r->efd, .events = POLLIN};
    for (size_t i = 0; i < n; i++)
        p[i + 1] = extra[i];
    atomic_store_explicit(&r->sleeping, 1, memory_order_relaxed);
    /* F2: pairs with F1 (Dekker). */
    atomic_thread_fence(memory_order_seq_cst);
    if (!ring_ready(r)) {
        while (poll(p, n + 1, timeout_ms) < 0 && errno == EINTR)
            ;
        for (size_t i = 0; i < n; i++)
            extra[i].revents = p[i + 1].revents;
        pushed = p[0].revents & POLLIN;
    }
    atomic_store_explicit(&r->sleeping, 0, memory_order_relaxed);
    uint64_t v;
    while (read(r->efd, &v, sizeof(v)) == sizeof(v))
        ; /* reset the counter; EAGAIN ends the loop */
    return pushed;
}

void hp_ring_wake(struct hp_ring *r)
{
    uint64_t one = 1;
    /* EAGAIN means the counter is already non-zero: a wake-up is pending. */
    ssize_t rc = write(r->efd, &one, sizeof(one));
    (void)rc;
}

size_t hp_ring_size(struct hp_ring *r)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail_seen, memory_order_relaxed);
    size_t used = head - tail;
    return used > r->mask + 1 ? r->mask + 1 : used;
}

size_t hp_ring_high_water(struct hp_ring *r)
{
    return atomic_load_explicit(&r->high_water, memory_order_relaxed);
}
