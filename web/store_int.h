/* SPDX-License-Identifier: Apache-2.0 */
/* store_int.h -- what the store's own files share: the schema, the writer's
 * state and the flattening of a message's data into numeric series. Not for
 * use outside web/store*.c. */
#ifndef HP_WEB_STORE_INT_H
#define HP_WEB_STORE_INT_H

#include <json-c/json.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/json_read.h"
#include "web/store.h"
#include "web/strmap.h"

#define HP_MINUTE_MS   60000
#define HP_PATH_MAX    256
#define HP_SESSION_MAX 128                  /* bytes of a session id (ingest checks it) */
#define HP_RAW_MAX_MS  (48LL * 3600 * 1000) /* longest range read from raw rows */
#define HP_DIRTY_BATCH 64                   /* rollup minutes recomputed per maintain */

enum hp_stmt {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_HOST_SEL,
    ST_HOST_INS,
    ST_HOST_UPD,
    ST_HOST_FACTS,
    ST_STREAM_SEL,
    ST_STREAM_INS,
    ST_STREAM_UPD,
    ST_MSG_INS,
    ST_SERIES_SEL,
    ST_SERIES_INS,
    ST_SAMPLE_INS,
    ST_LATEST_UPS,
    ST_REJECT_UPS,
    ST_DIRTY_INS,
    ST_COUNT
};

struct hp_store {
    sqlite3 *db;
    struct hp_store_opts o;
    sqlite3_stmt *st[ST_COUNT];
    bool in_tx;
    size_t pending;
    /* Caches of rows committed or inserted in the open transaction: cleared
     * on rollback, as their ids may then be gone. Values are int64 ids cast
     * to pointers (rowids start at 1, so NULL means absent). */
    struct hp_strmap hosts;   /* host name -> hosts.id */
    struct hp_strmap streams; /* host id, reporter, session -> streams.id */
    struct hp_strmap series;  /* host id, reporter, path -> series.id */
    struct hp_strmap shapes;  /* host id, reporter -> struct hp_shape */
    /* What the open transaction changes in hosts and streams, summed in
     * memory and written once per row at commit (struct host_acc and
     * struct stream_acc in store.c, keyed by their row id). */
    struct hp_strmap tx_hosts, tx_streams;
    int tx_err; /* a flush at commit failed */
    /* Minutes that got samples in the open transaction (their rollups are
     * recomputed by hp_store_maintain); a tiny set, most batches touch 1-2. */
    int64_t dirty[16];
    size_t n_dirty;
    /* A message given as json-c data (tests, tools) is read through this,
     * from its text, as ingest reads a message. */
    struct hp_json conv;
};

/* Schema, created if missing; also the pragmas of every connection. */
int hp_store_schema(sqlite3 *db, char *err, size_t len);
int hp_store_pragmas(sqlite3 *db, bool writer, char *err, size_t len);
/* Run sql (no rows) and report failure as "what: sqlite message". */
int hp_store_exec(sqlite3 *db, const char *sql, const char *what, char *err, size_t len);

/* Call fn for every numeric (or boolean) leaf of data (a node of j) worth
 * a series, with its dotted path. Stops and returns fn's value when it is
 * non-zero. */
typedef int (*hp_flat_fn)(void *ud, const char *path, size_t plen, double value);
int hp_store_flatten(const char *reporter, const struct hp_json *j, const struct hp_jnode *data,
                     hp_flat_fn fn, void *ud);

/* The series ids of a (host, reporter)'s last message in order
 * (store_shape.c), kept in a map cleared with hp_shape_free. hp_shape_of:
 * the shape under key, made on first use (NULL when out of memory: the
 * other two then answer 0 and do nothing). hp_shape_id: the id of the i-th
 * number when its path is the one remembered there, else 0. hp_shape_set:
 * remember path and id as the i-th, forgetting what came after; -1 when i
 * is past the end or out of memory (the shape then stays short). */
struct hp_shape;
struct hp_shape *hp_shape_of(struct hp_strmap *shapes, const void *key, size_t klen);
int64_t hp_shape_id(const struct hp_shape *sh, size_t i, const char *path, size_t plen);
int hp_shape_set(struct hp_shape *sh, size_t i, const char *path, size_t plen, int64_t id);
void hp_shape_free(void *sh);

/* Rollups and retention (store_maint.c). */
int hp_store_rollup_dirty(struct hp_store *s, int64_t now_ms, char *err, size_t len);
int hp_store_retain(struct hp_store *s, int64_t now_ms, char *err, size_t len);

/* A number for a JSON result, printed with at most 12 significant digits
 * ("12.5", not "12.500000000000002"); NULL (JSON null) when not finite. */
json_object *hp_store_json_double(double d);

/* The connection of a reader (store_series.c). */
sqlite3 *hp_store_reader_db(struct hp_store_reader *r);

#endif
