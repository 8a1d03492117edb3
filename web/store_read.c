/* SPDX-License-Identifier: Apache-2.0 */
/* store_read.c -- the store's read side, for the HTTP worker threads.
 *
 * Each reader is one read-only connection (WAL: it sees the last commit and
 * never blocks the writer), used by one thread at a time. Statements are
 * prepared once per reader and reused. Results are built with json-c, so
 * strings from messages are escaped by it when serialised. */
#include "web/store_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum rd_stmt {
    RD_FLEET,
    RD_FLEET_HOST,
    RD_HOST,
    RD_SERIES_LIST,
    RD_LATEST,
    RD_LOSS,
    RD_STATS,
    RD_REJECTS,
    RD_COUNT
};

/* clang-format off */
/* The fleet row of each host, all of them or one by name. */
#define FLEET_ROW \
    "SELECT h.name, h.last_ms," \
    " (SELECT min(interval) FROM streams WHERE host_id = h.id AND session = h.session" \
    "  AND interval > 0)," \
    " (SELECT json_extract(data, '$.data.percent') FROM latest WHERE host_id = h.id AND reporter = 'cpu')," \
    " (SELECT json_extract(data, '$.data.percent') FROM latest WHERE host_id = h.id AND reporter = 'mem')," \
    " (SELECT max(json_extract(j.value, '$.percent')) FROM latest l, json_each(l.data, '$.data.filesystems') j" \
    "  WHERE l.host_id = h.id AND l.reporter = 'disk')," \
    " (SELECT max(json_extract(j.value, '$.value')) FROM latest l, json_each(l.data, '$.data.sensors') j" \
    "  WHERE l.host_id = h.id AND l.reporter = 'temperature')," \
    " (SELECT json_extract(data, '$.data.load1') FROM latest WHERE host_id = h.id AND reporter = 'cpu')," \
    " (SELECT json_extract(data, '$.data.uptime') FROM latest WHERE host_id = h.id AND reporter = 'uptime')," \
    " coalesce(json_extract(h.facts, '$.version')," \
    "  (SELECT json_extract(data, '$.data.version') FROM latest WHERE host_id = h.id AND reporter = 'agent'))," \
    " (SELECT CAST(total(max(0, max_seq - min_seq + 1 - received)) AS INTEGER) FROM streams" \
    "  WHERE host_id = h.id)," \
    " (SELECT CAST(total(received) AS INTEGER) FROM streams WHERE host_id = h.id)"

static const char *const rd_sql[RD_COUNT] = {
    [RD_FLEET] = FLEET_ROW " FROM hosts h ORDER BY h.name",
    [RD_FLEET_HOST] = FLEET_ROW " FROM hosts h WHERE h.name = ?1",
    [RD_HOST] = "SELECT name, session, first_ms, last_ms, facts FROM hosts WHERE name = ?1",
    [RD_SERIES_LIST] =
    /* first: the oldest raw sample while the raw rows reach back to the
     * oldest rollup minute (a rollup starts at a whole minute), else that minute */
    "SELECT s.reporter, s.path,"
    " (SELECT CASE WHEN fr IS NULL OR fr >= fs - fs % 60000 THEN fs ELSE fr END FROM"
    "  (SELECT (SELECT min(minute) FROM rollup WHERE series_id = s.id) AS fr,"
    "   (SELECT min(ts) FROM samples WHERE series_id = s.id) AS fs)),"
    " (SELECT max(ts) FROM samples WHERE series_id = s.id)"
    " FROM series s JOIN hosts h ON h.id = s.host_id"
        " WHERE h.name = ?1 ORDER BY s.reporter, s.path",
    [RD_LATEST] =
    "SELECT l.ts, l.data FROM latest l JOIN hosts h ON h.id = l.host_id"
        " WHERE h.name = ?1 AND l.reporter = ?2",
    [RD_LOSS] =
    "SELECT s.reporter, s.session, s.received, max(0, s.max_seq - s.min_seq + 1 - s.received),"
    " s.duplicates, s.max_seq, s.last_ms, s.interval FROM streams s"
        " JOIN hosts h ON h.id = s.host_id WHERE h.name = ?1 ORDER BY s.reporter, s.last_ms",
    [RD_STATS] =
    "SELECT total(received), total(duplicates), total(max(0, max_seq - min_seq + 1 - received)),"
        " count(DISTINCT host_id) FROM streams",
    [RD_REJECTS] = "SELECT reason, count, last_ms, last_host FROM rejects ORDER BY reason",
};
/* clang-format on */

struct hp_store_reader {
    sqlite3 *db;
    sqlite3_stmt *st[RD_COUNT];
};

struct hp_store_reader *hp_store_reader_open(const char *path, char *err, size_t len)
{
    struct hp_store_reader *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, len, "store: out of memory");
        return NULL;
    }
    char why[400];
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, len, "store: cannot open %s: %s", path,
                 r->db ? sqlite3_errmsg(r->db) : "out of memory");
        goto err;
    }
    if (hp_store_pragmas(r->db, false, why, sizeof(why)) != 0) {
        snprintf(err, len, "store: %s", why);
        goto err;
    }
    for (int i = 0; i < RD_COUNT; i++)
        if (sqlite3_prepare_v3(r->db, rd_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &r->st[i], NULL) !=
            SQLITE_OK) {
            snprintf(err, len, "store: %s (is %s a hostpulse-web store?)", sqlite3_errmsg(r->db),
                     path);
            goto err;
        }
    return r;
err:
    hp_store_reader_close(r);
    return NULL;
}

sqlite3 *hp_store_reader_db(struct hp_store_reader *r)
{
    return r->db;
}

void hp_store_reader_close(struct hp_store_reader *r)
{
    if (!r)
        return;
    for (int i = 0; i < RD_COUNT; i++)
        sqlite3_finalize(r->st[i]);
    sqlite3_close(r->db);
    free(r);
}

json_object *hp_store_json_double(double d)
{
    char buf[32];
    if (!isfinite(d))
        return NULL;
    snprintf(buf, sizeof(buf), "%.12g", d);
    return json_object_new_double_s(d, buf);
}

/* A column as json: NULL stays null, numbers keep their type. */
static json_object *col_json(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        return json_object_new_int64(sqlite3_column_int64(st, i));
    case SQLITE_FLOAT: {
        double d = sqlite3_column_double(st, i);
        return hp_store_json_double(d);
    }
    case SQLITE_TEXT:
        return json_object_new_string((const char *)sqlite3_column_text(st, i));
    default:
        return NULL;
    }
}

static json_object *done(struct hp_store_reader *r, sqlite3_stmt *st, int rc, json_object *res,
                         char *err, size_t len)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_DONE)
        return res;
    snprintf(err, len, "store: %s", sqlite3_errmsg(r->db));
    json_object_put(res);
    return NULL;
}

/* Statement `which` bound to one host's name and stepped to its row: the
 * statement, for the caller to read and then pass to done(); or NULL, with
 * the statement reset and err saying "unknown host" or the store's error. */
static sqlite3_stmt *host_row(struct hp_store_reader *r, enum rd_stmt which, const char *host,
                              char *err, size_t len)
{
    sqlite3_stmt *st = r->st[which];
    sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return st;
    done(r, st, rc, NULL, err, len);
    if (rc == SQLITE_DONE)
        snprintf(err, len, "unknown host");
    return NULL;
}

static const char *const fleet_cols[] = {"host",     "last_seen_ms", "interval",   "cpu_pct",
                                         "mem_pct",  "fs_max_pct",   "temp_max_c", "load1",
                                         "uptime_s", "version",      "lost",       "received"};

/* The fleet row at st's current row. */
static json_object *fleet_row(sqlite3_stmt *st, int64_t now_ms)
{
    json_object *h = json_object_new_object();
    for (int i = 0; i < (int)(sizeof(fleet_cols) / sizeof(fleet_cols[0])); i++)
        json_object_object_add(h, fleet_cols[i], col_json(st, i));
    double interval = sqlite3_column_double(st, 2);
    int64_t last = sqlite3_column_int64(st, 1);
    bool stale =
        interval > 0 ? now_ms - last > (int64_t)(3 * interval * 1000) : now_ms - last > 3 * 60000;
    json_object_object_add(h, "stale", json_object_new_boolean(stale));
    return h;
}

json_object *hp_store_fleet(struct hp_store_reader *r, int64_t now_ms, char *err, size_t len)
{
    sqlite3_stmt *st = r->st[RD_FLEET];
    json_object *res = json_object_new_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_object_array_add(res, fleet_row(st, now_ms));
    return done(r, st, rc, res, err, len);
}

json_object *hp_store_fleet_host(struct hp_store_reader *r, const char *host, int64_t now_ms,
                                 char *err, size_t len)
{
    sqlite3_stmt *st = host_row(r, RD_FLEET_HOST, host, err, len);
    if (!st)
        return NULL;
    return done(r, st, SQLITE_DONE, fleet_row(st, now_ms), err, len);
}

json_object *hp_store_host(struct hp_store_reader *r, const char *host, char *err, size_t len)
{
    sqlite3_stmt *st = host_row(r, RD_HOST, host, err, len);
    if (!st)
        return NULL;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "host", col_json(st, 0));
    json_object_object_add(o, "session", col_json(st, 1));
    json_object_object_add(o, "first_seen_ms", col_json(st, 2));
    json_object_object_add(o, "last_seen_ms", col_json(st, 3));
    const char *facts = (const char *)sqlite3_column_text(st, 4);
    json_object_object_add(o, "facts", facts ? json_tokener_parse(facts) : NULL);
    return done(r, st, SQLITE_DONE, o, err, len);
}

json_object *hp_store_host_series(struct hp_store_reader *r, const char *host, char *err,
                                  size_t len)
{
    sqlite3_stmt *st = r->st[RD_SERIES_LIST];
    sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
    json_object *res = json_object_new_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "reporter", col_json(st, 0));
        json_object_object_add(o, "path", col_json(st, 1));
        json_object_object_add(o, "first_ms", col_json(st, 2));
        json_object_object_add(o, "last_ms", col_json(st, 3));
        json_object_array_add(res, o);
    }
    return done(r, st, rc, res, err, len);
}

json_object *hp_store_latest(struct hp_store_reader *r, const char *host, const char *reporter,
                             char *err, size_t len)
{
    sqlite3_stmt *st = r->st[RD_LATEST];
    sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, reporter, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        json_object *none = done(r, st, rc, NULL, err, len);
        if (rc == SQLITE_DONE)
            snprintf(err, len, "no %s message from this host", reporter);
        return none;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ts", col_json(st, 0));
    json_object *env = json_tokener_parse((const char *)sqlite3_column_text(st, 1));
    json_object_object_add(o, "data", json_object_get(json_object_object_get(env, "data")));
    json_object_put(env);
    return done(r, st, SQLITE_DONE, o, err, len);
}

json_object *hp_store_host_loss(struct hp_store_reader *r, const char *host, char *err, size_t len)
{
    static const char *const cols[] = {"reporter",   "session",  "received", "lost",
                                       "duplicates", "last_seq", "last_ms",  "interval"};
    sqlite3_stmt *st = r->st[RD_LOSS];
    sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
    json_object *res = json_object_new_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_object *o = json_object_new_object();
        for (int i = 0; i < 8; i++)
            json_object_object_add(o, cols[i], col_json(st, i));
        json_object_array_add(res, o);
    }
    return done(r, st, rc, res, err, len);
}

json_object *hp_store_stats(struct hp_store_reader *r, char *err, size_t len)
{
    sqlite3_stmt *st = r->st[RD_STATS];
    int rc = sqlite3_step(st);
    json_object *o = json_object_new_object();
    if (rc == SQLITE_ROW) {
        json_object_object_add(o, "stored", json_object_new_int64(sqlite3_column_int64(st, 0)));
        json_object_object_add(o, "duplicates", json_object_new_int64(sqlite3_column_int64(st, 1)));
        json_object_object_add(o, "lost", json_object_new_int64(sqlite3_column_int64(st, 2)));
        json_object_object_add(o, "hosts", json_object_new_int64(sqlite3_column_int64(st, 3)));
        rc = SQLITE_DONE;
    }
    if (!done(r, st, rc, o, err, len))
        return NULL;
    st = r->st[RD_REJECTS];
    json_object *rej = json_object_new_object();
    json_object_object_add(o, "rejected", rej);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_object_object_add(rej, (const char *)sqlite3_column_text(st, 0),
                               json_object_new_int64(sqlite3_column_int64(st, 1)));
    return done(r, st, rc, o, err, len);
}
