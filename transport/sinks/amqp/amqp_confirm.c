/* SPDX-License-Identifier: Apache-2.0 */
/* amqp_confirm.c -- publisher confirms: delivery tag -> backlog position.
 *
 * After confirm.select the broker numbers the messages published on a
 * channel 1, 2, 3, ... and acks or nacks them, singly or `multiple` (every
 * tag up to and including this one). Tags live in a circular table indexed
 * by tag % cap; [base, next) spans the oldest unsettled tag to the next one
 * to be published, so a message is found in O(1) and a `multiple` ack walks
 * only the span it settles. */
#include "transport/sinks/amqp/amqp.h"

#include <stdlib.h>
#include <string.h>

int amqp_confirms_init(struct amqp_confirms *c, size_t cap)
{
    memset(c, 0, sizeof(*c));
    c->pos = calloc(cap, sizeof(*c->pos));
    c->done = calloc(cap, sizeof(*c->done));
    c->cap = cap;
    amqp_confirms_reset(c);
    return c->pos && c->done ? 0 : -1;
}

void amqp_confirms_free(struct amqp_confirms *c)
{
    free(c->pos);
    free(c->done);
    memset(c, 0, sizeof(*c));
}

void amqp_confirms_reset(struct amqp_confirms *c)
{
    c->base = c->next = 1;
    c->unsettled = 0;
}

size_t amqp_confirms_room(const struct amqp_confirms *c)
{
    return c->cap - (size_t)(c->next - c->base);
}

uint64_t amqp_confirms_add(struct amqp_confirms *c, uint64_t pos)
{
    uint64_t tag = c->next++;
    c->pos[tag % c->cap] = pos;
    c->done[tag % c->cap] = 0;
    c->unsettled++;
    return tag;
}

static size_t settle_one(struct amqp_confirms *c, struct hp_sink *s, uint64_t tag, enum hp_ack ack)
{
    if (tag < c->base || tag >= c->next || c->done[tag % c->cap])
        return 0;
    c->done[tag % c->cap] = 1;
    c->unsettled--;
    hp_sink_ack(s, c->pos[tag % c->cap], ack);
    return 1;
}

size_t amqp_confirms_settle(struct amqp_confirms *c, struct hp_sink *s, uint64_t tag, bool multiple,
                            enum hp_ack ack)
{
    size_t n = 0;
    if (multiple)
        for (uint64_t t = c->base; t <= tag && t < c->next; t++)
            n += settle_one(c, s, t, ack);
    else
        n = settle_one(c, s, tag, ack);
    while (c->base < c->next && c->done[c->base % c->cap])
        c->base++;
    return n;
}
