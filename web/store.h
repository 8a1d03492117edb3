/* SPDX-License-Identifier: Apache-2.0 */
/* store.h -- hostpulse-web's SQLite store: one writer, many readers.
 *
 * The writer (struct hp_store) is one connection owned by the ingest
 * thread: it stores validated envelopes in batched transactions, drops
 * duplicates by their identity (host, session, reporter, seq), counts gaps
 * in seq per host and reporter, keeps per-minute rollups (min/avg/max) of
 * every numeric field and applies retention. The file is in WAL mode, so
 * readers never block the writer nor each other.
 *
 * Readers (struct hp_store_reader) are for the HTTP threads: each worker
 * thread opens its own and never shares it. Every query returns a new
 * json-c object the caller owns (json_object_put), or NULL with a reason in
 * err. Strings in the results come straight from messages: escape them
 * before putting them into HTML.
 *
 * A series is named by (host, reporter, path): path is the dotted path of
 * a numeric field under the message's "data", arrays of objects indexed by
 * their name-like member: "percent", "load.1", "interfaces.eth0.rx_bytes_s",
 * "filesystems./home.percent", "sensors.coretemp-isa-0000/Core 0.value". */
#ifndef HP_WEB_STORE_H
#define HP_WEB_STORE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- writer (ingest thread only) ---- */

struct hp_store;

struct hp_store_opts {
    double retention_hours; /* raw samples kept; default 48 */
    double rollup_days;     /* per-minute rollups kept; default 30 */
};

struct hp_json;
struct hp_jnode;

/* One validated envelope. Everything is borrowed for the call. Its data is
 * either doc's node jdata (the ingest path: lib/json_read.h, with json set) or,
 * when jdata is NULL, the json-c object data. */
struct hp_store_msg {
    const char *host;
    const char *session;
    const char *reporter;
    uint64_t seq;
    int64_t ts_ms;
    double interval; /* seconds, 0 when absent */
    json_object *data;
    const struct hp_json *doc;
    const struct hp_jnode *jdata;
    const char *json; /* the whole envelope text, for "latest" views */
    size_t json_len;
};

enum hp_store_put { HP_STORE_NEW = 0, HP_STORE_DUP = 1, HP_STORE_ERR = -1 };

/* Open (create) the database at path in WAL mode. NULL with a reason in
 * err on failure. */
struct hp_store *hp_store_open(const char *path, const struct hp_store_opts *o, char *err,
                               size_t len);
/* Commit nothing pending is lost: call hp_store_commit first. NULL: no-op. */
void hp_store_close(struct hp_store *s);

/* Add one message to the open transaction (begun on demand). Returns
 * HP_STORE_NEW, HP_STORE_DUP (already stored: nothing changed), or
 * HP_STORE_ERR with err filled (the transaction is rolled back: the caller
 * must not ack anything since its last successful commit). */
enum hp_store_put hp_store_put(struct hp_store *s, const struct hp_store_msg *m, char *err,
                               size_t len);
/* Count a rejected message (reason: "json", "version", "fields",
 * "oversize", ...) inside the open transaction. host may be NULL. 0, or -1
 * with err (rolled back, as for hp_store_put). */
int hp_store_reject(struct hp_store *s, const char *reason, const char *host, int64_t now_ms,
                    char *err, size_t len);
/* Commit the open transaction (no-op when none). 0, or -1 with err: then
 * nothing since the last commit is stored and nothing may be acked. */
int hp_store_commit(struct hp_store *s, char *err, size_t len);
/* Roll the open transaction back (no-op when none): nothing since the
 * last commit is stored, as after a failed hp_store_put. */
void hp_store_rollback(struct hp_store *s);
/* Messages in the open transaction. */
size_t hp_store_pending(const struct hp_store *s);
/* Recompute the rollups of minutes that got samples, and apply retention:
 * delete raw samples older than retention_hours and rollups older than
 * rollup_days before now_ms. Call about once a minute; does nothing while
 * a transaction is open (commit first). 0, or -1 with err. */
int hp_store_maintain(struct hp_store *s, int64_t now_ms, char *err, size_t len);

/* ---- readers (one per HTTP worker thread) ---- */

struct hp_store_reader;

struct hp_store_reader *hp_store_reader_open(const char *path, char *err, size_t len);
void hp_store_reader_close(struct hp_store_reader *r);

/* The fleet: an array, one object per host, sorted by host:
 *   {"host", "last_seen_ms", "stale": bool, "interval": seconds expected,
 *    "cpu_pct", "mem_pct", "fs_max_pct", "temp_max_c", "load1", "uptime_s",
 *    "version", "lost", "received"}
 * a field that no message has given yet is null. A host is stale when
 * nothing came for three of its shortest reporter intervals. */
json_object *hp_store_fleet(struct hp_store_reader *r, int64_t now_ms, char *err, size_t len);
/* One host's row of the fleet, the same object as its element of
 * hp_store_fleet, read alone. NULL with err "unknown host" when never seen. */
json_object *hp_store_fleet_host(struct hp_store_reader *r, const char *host, int64_t now_ms,
                                 char *err, size_t len);

/* Host facts from its latest session message: {"host", "session",
 * "first_seen_ms", "last_seen_ms", "facts": {the session message's data}}.
 * NULL with err "unknown host" when never seen. */
json_object *hp_store_host(struct hp_store_reader *r, const char *host, char *err, size_t len);

/* Series a host has: [{"reporter", "path", "first_ms", "last_ms"}, ...]:
 * first_ms is its oldest raw sample, or its oldest rollup minute once the
 * raw rows of that minute are gone; last_ms its newest raw sample (null
 * once only rollups are left). */
json_object *hp_store_host_series(struct hp_store_reader *r, const char *host, char *err,
                                  size_t len);

/* One series between from_ms and to_ms, at most max_points points:
 *   {"host", "reporter", "path", "from_ms", "to_ms", "source": "raw" | "minute",
 *    "step_ms", "points": [[ts_ms, value|null], ...]}
 * From raw samples when the range lies inside the raw retention and is no
 * longer than 48 h, else from the per-minute rollups; with "minute" each
 * point is [ts_ms, avg|null, min, max]. Points are averaged into buckets of
 * step_ms when there would be more than max_points. A gap (no sample for
 * more than three intervals) is a null point, so that charts draw a gap. */
json_object *hp_store_series(struct hp_store_reader *r, const char *host, const char *reporter,
                             const char *path, int64_t from_ms, int64_t to_ms, int max_points,
                             char *err, size_t len);

/* Latest message of a reporter for a host (its whole envelope, parsed):
 * processes, ip addresses and other lists. NULL with err when none. */
json_object *hp_store_latest(struct hp_store_reader *r, const char *host, const char *reporter,
                             char *err, size_t len);

/* Loss per reporter: [{"reporter", "session", "received", "lost",
 * "duplicates", "last_seq", "last_ms"}, ...]. */
json_object *hp_store_host_loss(struct hp_store_reader *r, const char *host, char *err, size_t len);

/* Store statistics: {"stored" (messages), "duplicates" (dropped), "lost"
 * (gaps in seq), "hosts", "rejected": {"json": n, "version": n, "fields": n,
 * "oversize": n}} (only the reasons that occurred). */
json_object *hp_store_stats(struct hp_store_reader *r, char *err, size_t len);

#endif
