/* SPDX-License-Identifier: Apache-2.0 */
/* psistats.h -- the psistats message format, shared by the amqp, kafka and
 * mqtt sinks (their `format = "psistats"` option).
 *
 * psistats' linux-client publishes one flat object per tick:
 * {"hostname", "uptime" (s), "cpu" (% busy), "mem" (% used), "ipaddr"
 * (IPv4 list, no 127.0.0.1), "cpu_temp" (°C or null)}. hostpulse's
 * reporters publish separately, at their own rates, so a sink with this
 * format folds the messages it is offered: every cpu message is a tick and
 * becomes one psistats object carrying the latest uptime, mem, ipaddr and
 * temperature values seen; the other reporters' messages only update
 * that state. uptime is carried forward by the time since it was sampled,
 * so it stays what /proc/uptime would say at the tick. Each object also carries the cpu
 * message's envelope `session` and `seq`, so consumers can still drop
 * duplicates. Transport thread only: the state belongs to one sink. */
#ifndef HP_PSISTATS_H
#define HP_PSISTATS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/msg.h"

/* The `format` option of broker sinks: index into hp_format_choices. */
enum hp_format { HP_FORMAT_ENVELOPE, HP_FORMAT_PSISTATS };
extern const char *const hp_format_choices[]; /* "envelope", "psistats", NULL */

struct hp_psistats {
    json_object *uptime, *mem, *ipaddr, *cpu_temp; /* latest values; NULL: none yet */
    int64_t uptime_ts;                             /* when uptime was sampled, epoch ms */
    int64_t first_tick_ts;                         /* first cpu message seen; 0: none */
};

/* Until uptime, mem and ipaddr have each been seen (their first samples
 * come one interval after start, in any order), cpu messages are folded
 * without a tick, so consumers get numbers, not nulls; for at most this
 * long (a disabled reporter stays null after it). */
#define HP_PSISTATS_HOLD_MS 60000

enum hp_psistats_fold {
    HP_PSISTATS_BAD = -1,   /* not an envelope: drop it */
    HP_PSISTATS_FOLDED = 0, /* state updated (or nothing psistats sends): ack it */
    HP_PSISTATS_TICK = 1,   /* *out holds a psistats object to publish */
};

void hp_psistats_init(struct hp_psistats *p);
void hp_psistats_free(struct hp_psistats *p);

/* Fold message m into p. On HP_PSISTATS_TICK, *out is a new NUL-terminated
 * JSON text of *len bytes that the caller frees; otherwise *out is NULL.
 * HP_PSISTATS_BAD also on ENOMEM (the message is then dropped, not lost
 * silently: the sink acks it DROP and the count shows). */
enum hp_psistats_fold hp_psistats_fold(struct hp_psistats *p, const struct hp_msg *m, char **out,
                                       size_t *len);

/* The same as a message for sinks that publish hp_msgs: a new message
 * (reporter "psistats", m's seq and ts; unref it after use), or NULL when
 * m was only folded (*bad false: ack it OK) or is not an envelope (*bad
 * true: ack it DROP). */
struct hp_msg *hp_psistats_msg(struct hp_psistats *p, const struct hp_msg *m, bool *bad);

#endif
