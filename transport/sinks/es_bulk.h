/* SPDX-License-Identifier: Apache-2.0 */
/* es_bulk.h -- Elasticsearch `_bulk` NDJSON bodies, shared by the
 * `elasticsearch` (HTTP) and `es-file` sinks.
 *
 * Every message becomes two lines: an action line
 *   {"index":{"_index":"hostpulse-2026.11.21","_id":"web01:<session>:cpu:42"}}
 * and the document: the message's envelope as published (v, host,
 * reporter, ts, session, seq, interval, data) plus "@timestamp", the sample
 * time in epoch milliseconds. The _id makes a re-sent document overwrite
 * itself, so a retry never duplicates it. */
#ifndef HP_ES_BULK_H
#define HP_ES_BULK_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/msg.h"
#include "lib/opts.h"
#include "lib/template.h"

#define HP_ES_INDEX_MAX 256
/* What an index name may use: {host}, {reporter}, {session}, and strftime
 * conversions on the message time (UTC). */
#define HP_ES_INDEX_PARTS (HP_TMPL_HOST | HP_TMPL_REPORTER | HP_TMPL_SESSION | HP_TMPL_TIME)

struct hp_es_bulk {
    struct hp_buf body; /* the NDJSON body; every line ends in \n */
    size_t ndocs;
    struct json_tokener *tok;
};

/* 0, or -1 on ENOMEM. */
int hp_es_bulk_init(struct hp_es_bulk *b);
void hp_es_bulk_free(struct hp_es_bulk *b);
static inline void hp_es_bulk_reset(struct hp_es_bulk *b)
{
    b->body.len = 0;
    b->ndocs = 0;
}

/* Append m's action and document lines, in index tmpl. Returns 0, 1 when m
 * is not an envelope (the caller drops it; nothing appended), -1 on ENOMEM
 * (nothing appended). */
int hp_es_bulk_add(struct hp_es_bulk *b, const struct hp_tmpl *tmpl, const struct hp_msg *m);

/* The index name of a message: tmpl expanded (lib/template.h) with the
 * message's host, reporter, session and UTC time. Returns 0, or -1 when
 * the name does not fit in len. */
int hp_es_index_name(const struct hp_tmpl *tmpl, const struct hp_msg *m, char *buf, size_t len);

/* Compile an index template at init: hp_es_index_check, then the
 * placeholders (HP_ES_INDEX_PARTS). 0, or -1 with the reason in why. */
int hp_es_index_compile(struct hp_tmpl *t, const char *text, char *why, size_t len);

/* Check an index template at init: non-empty, lowercase, none of the
 * characters Elasticsearch forbids. Returns NULL or a reason. */
const char *hp_es_index_check(const char *tmpl);

#endif
