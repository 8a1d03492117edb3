/* SPDX-License-Identifier: Apache-2.0 */
/* ingest.h -- from raw message bytes to the store, at least once.
 *
 * One ingest thread owns the store writer and runs one input (stdin, file,
 * amqp, kafka, mqtt). The input hands each message body to hp_ingest_add,
 * which validates the envelope and stores it in the open transaction (or
 * counts and logs it, rate-limited, when it is bad), and calls
 * hp_ingest_commit when hp_ingest_due says so: only after that returns 0
 * may the input ack what it added (basic.ack, offset commit). */
#ifndef HP_WEB_INGEST_H
#define HP_WEB_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "web/config.h"
#include "web/store.h"

struct hp_ingest;

/* Counters of one ingest, read by tests and the status line. Written by the
 * ingest thread only; hp_ingest_counts copies them with relaxed loads. */
struct hp_ingest_counts {
    uint64_t received, stored, duplicates, rejected, commits;
};

enum hp_ingest_add { HP_ADD_STORED = 0, HP_ADD_DUP, HP_ADD_REJECTED, HP_ADD_FAILED = -1 };

/* Open the store and start the ingest thread running conf's input. conf
 * must outlive it. NULL with err on failure. */
struct hp_ingest *hp_ingest_start(const struct hp_web_conf *conf, char *err, size_t len);
/* Ask the input to stop, commit what it holds, join, close. NULL: no-op. */
void hp_ingest_stop(struct hp_ingest *ing);
/* The same without a thread or an input, for benchmarks and tests that
 * call hp_ingest_add/hp_ingest_commit themselves: open the store, close it
 * (committing what is pending). */
struct hp_ingest *hp_ingest_open(const struct hp_web_conf *conf, char *err, size_t len);
void hp_ingest_close(struct hp_ingest *ing);
/* Benchmarks: leave rollups and retention (hp_store_maintain) out of
 * hp_ingest_commit, to time them apart. */
void hp_ingest_no_maintenance(struct hp_ingest *ing);
/* True once the input has finished by itself (end of stdin or file). */
bool hp_ingest_finished(const struct hp_ingest *ing);
void hp_ingest_counts(const struct hp_ingest *ing, struct hp_ingest_counts *out);

/* ---- for the inputs (ingest thread only) ---- */

/* Validate and store one message body (not NUL-terminated). HP_ADD_FAILED
 * means the store failed: nothing since the last commit is stored; the
 * input must not ack, and should reconnect or retry later. */
enum hp_ingest_add hp_ingest_add(struct hp_ingest *ing, const char *body, size_t len);
/* Count a message of len bytes that the input skipped unread because it
 * is longer than store.max_message (acked like any rejected message). */
enum hp_ingest_add hp_ingest_oversize(struct hp_ingest *ing, size_t len);
/* True when the open batch is full or has waited batch_wait. */
bool hp_ingest_due(const struct hp_ingest *ing);
/* Commit the open batch. 0: everything added so far may be acked. */
int hp_ingest_commit(struct hp_ingest *ing);
/* True when the input must stop (relaxed load of the stop flag). */
bool hp_ingest_stopping(const struct hp_ingest *ing);
/* Milliseconds the input may block waiting for input before it should
 * look at hp_ingest_due and hp_ingest_stopping again. */
int hp_ingest_wait_ms(const struct hp_ingest *ing);
const struct hp_web_conf *hp_ingest_conf(const struct hp_ingest *ing);

/* The inputs: each runs until hp_ingest_stopping (or end of input for
 * stdin/file), reconnecting with backoff. 0 on a clean end, -1 on a fatal
 * error (logged). */
int hp_input_stdin_run(struct hp_ingest *ing, int fd, const char *name);
int hp_input_amqp_run(struct hp_ingest *ing);
int hp_input_kafka_run(struct hp_ingest *ing);
int hp_input_mqtt_run(struct hp_ingest *ing);

#endif
