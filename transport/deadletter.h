/* SPDX-License-Identifier: Apache-2.0 */
/* deadletter.h -- where a sink puts a message its destination refused for
 * its content (a poison message), so the sink can move on.
 *
 * One file per sink, <agent.spool.directory>/<sink>.dead-letters.jsonl:
 * one JSON object per line,
 *
 *   {"time":"2026-11-27T23:04:05.123Z","sink":"es","reason":"HTTP 413 ...",
 *    "message":"<the envelope JSON, as a string>"}
 *
 * Bounded: past HP_DEADLETTER_MAX bytes the file is renamed to
 * <file>.1 (replacing the previous one) and a new one started, so a sink
 * keeps at most twice that on disk. Each message written is counted in the
 * sink's stats (dead_lettered, in the agent self-report); the caller then
 * acks it HP_ACK_DROP and logs what it refused.
 *
 * Transport thread only (a sink's write/poll callbacks). */
#ifndef HP_DEADLETTER_H
#define HP_DEADLETTER_H

#include <stddef.h>

#include "lib/msg.h"

#define HP_DEADLETTER_MAX (16u << 20)

struct hp_sink;
struct hp_spool_cfg;

/* Append m with reason to s's dead-letter file and count it. Returns 0,
 * or -1 if the file could not be written (logged, rate-limited; the
 * message is still counted as dead-lettered: the caller cannot do better
 * than drop it, and the log says where it went missing). */
int hp_dead_letter(struct hp_sink *s, const struct hp_msg *m, const char *reason);

/* The file of sink `name` under spool directory `dir`, into buf. */
void hp_dead_letter_path(const char *dir, const char *name, char *buf, size_t len);

/* The writing half of hp_dead_letter, with its bound (max bytes per
 * file) explicit: 0, or -1 with errno. No counting, no logging. */
int hp_dead_letter_write(const char *dir, const char *sink, size_t max, const struct hp_msg *m,
                         const char *reason);

#endif
