/* SPDX-License-Identifier: Apache-2.0 */
/* store_series.c -- one series over a time range, for charts.
 *
 * Points are averaged into at most max_points buckets in SQL. When a bucket
 * is shorter than a minute the raw samples are read; when it is a minute or
 * longer (any range over max_points minutes, so the 48-hour chart too) the
 * per-minute rollups are, and raw samples only for the last minutes that
 * are not rolled up yet: reading 2,880 rollup rows instead of 172,800 raw
 * ones is what keeps a 48-hour chart of 1 s samples fast. A range whose raw
 * rows are gone falls back to the rollups. A gap of more than three
 * sampling intervals becomes a null point, so that a chart draws a gap
 * instead of a line across it. */
#include "web/store_int.h"

#include <stdio.h>

/* The reader's statements for this file, prepared on first use. */
static const char series_id_sql[] =
    "SELECT s.id, (SELECT max(interval) FROM streams WHERE host_id = h.id AND reporter = ?2)"
    " FROM series s JOIN hosts h ON h.id = s.host_id"
    " WHERE h.name = ?1 AND s.reporter = ?2 AND s.path = ?3";
static const char raw_sql[] = "SELECT ts - ts % ?4 AS b, avg(value), min(value), max(value)"
                              " FROM samples WHERE series_id = ?1 AND ts >= ?2 AND ts <= ?3"
                              " GROUP BY b ORDER BY b";
static const char rollup_sql[] =
    "SELECT minute - minute % ?4 AS b, sum(vavg * n) / sum(n), min(vmin), max(vmax)"
    " FROM rollup WHERE series_id = ?1 AND minute >= ?2 AND minute <= ?3"
    " GROUP BY b ORDER BY b";

struct range {
    int64_t id, from, to, step, gap;
    bool rollup;
};

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, char *err, size_t len)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK)
        return 0;
    snprintf(err, len, "store: %s", sqlite3_errmsg(db));
    return -1;
}

/* Series id and its reporter's interval (ms); 0 id when unknown. */
static int find_series(sqlite3 *db, const char *host, const char *reporter, const char *path,
                       int64_t *id, int64_t *interval_ms, char *err, size_t len)
{
    sqlite3_stmt *st;
    if (prepare(db, series_id_sql, &st, err, len) != 0)
        return -1;
    sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, reporter, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    *interval_ms = rc == SQLITE_ROW ? (int64_t)(sqlite3_column_double(st, 1) * 1000) : 0;
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return 0;
    snprintf(err, len, "store: %s", sqlite3_errmsg(db));
    return -1;
}

static void add_point(json_object *pts, sqlite3_stmt *st, bool rollup, int64_t ts)
{
    json_object *p = json_object_new_array();
    json_object_array_add(p, json_object_new_int64(ts));
    int cols = rollup ? 4 : 2;
    for (int i = 1; i < cols; i++)
        json_object_array_add(p, sqlite3_column_type(st, i) == SQLITE_NULL
                                     ? NULL
                                     : hp_store_json_double(sqlite3_column_double(st, i)));
    json_object_array_add(pts, p);
}

static void add_gap(json_object *pts, int64_t ts)
{
    json_object *p = json_object_new_array();
    json_object_array_add(p, json_object_new_int64(ts));
    json_object_array_add(p, NULL);
    json_object_array_add(pts, p);
}

/* Points read so far: how many, and the last bucket. */
struct cursor {
    int n;
    int64_t prev;
};

/* Read the buckets of sql from `from` to g->to into pts. 0, or -1. */
static int read_points(sqlite3 *db, const struct range *g, const char *sql, int64_t from,
                       json_object *pts, struct cursor *cur, char *err, size_t len)
{
    sqlite3_stmt *st;
    if (prepare(db, sql, &st, err, len) != 0)
        return -1;
    sqlite3_bind_int64(st, 1, g->id);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, g->to);
    sqlite3_bind_int64(st, 4, g->step);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t ts = sqlite3_column_int64(st, 0);
        if (cur->n && ts - cur->prev > g->gap)
            add_gap(pts, cur->prev + g->step);
        add_point(pts, st, g->rollup, ts);
        cur->prev = ts;
        cur->n++;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE)
        return 0;
    snprintf(err, len, "store: %s", sqlite3_errmsg(db));
    return -1;
}

/* Rollups, then raw samples for the buckets after the last rolled-up one. */
static int read_range(sqlite3 *db, const struct range *g, json_object *pts, struct cursor *cur,
                      char *err, size_t len)
{
    if (!g->rollup)
        return read_points(db, g, raw_sql, g->from, pts, cur, err, len);
    if (read_points(db, g, rollup_sql, g->from - g->from % HP_MINUTE_MS, pts, cur, err, len) != 0)
        return -1;
    int64_t tail = cur->n ? cur->prev + g->step : g->from;
    return read_points(db, g, raw_sql, tail, pts, cur, err, len);
}

static void plan(struct range *g, int64_t interval_ms, int max_points, bool rollup)
{
    int64_t span = g->to - g->from;
    int64_t step = (span + max_points - 1) / (max_points > 0 ? max_points : 1);
    g->rollup = rollup || span > HP_RAW_MAX_MS || step >= HP_MINUTE_MS;
    if (g->rollup)
        step = step < HP_MINUTE_MS ? HP_MINUTE_MS
                                   : (step + HP_MINUTE_MS - 1) / HP_MINUTE_MS * HP_MINUTE_MS;
    g->step = step > 0 ? step : 1;
    int64_t every = g->rollup ? HP_MINUTE_MS : (interval_ms > 0 ? interval_ms : 1000);
    g->gap = 3 * every > 2 * g->step ? 3 * every : 2 * g->step;
}

static json_object *result(const char *host, const char *reporter, const char *path,
                           const struct range *g, json_object *pts)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "host", json_object_new_string(host));
    json_object_object_add(o, "reporter", json_object_new_string(reporter));
    json_object_object_add(o, "path", json_object_new_string(path));
    json_object_object_add(o, "from_ms", json_object_new_int64(g->from));
    json_object_object_add(o, "to_ms", json_object_new_int64(g->to));
    json_object_object_add(o, "source", json_object_new_string(g->rollup ? "minute" : "raw"));
    json_object_object_add(o, "step_ms", json_object_new_int64(g->step));
    json_object_object_add(o, "points", pts);
    return o;
}

json_object *hp_store_series(struct hp_store_reader *r, const char *host, const char *reporter,
                             const char *path, int64_t from_ms, int64_t to_ms, int max_points,
                             char *err, size_t len)
{
    sqlite3 *db = hp_store_reader_db(r);
    struct range g = {.from = from_ms, .to = to_ms};
    int64_t interval_ms;
    if (to_ms < from_ms) {
        snprintf(err, len, "empty range");
        return NULL;
    }
    if (find_series(db, host, reporter, path, &g.id, &interval_ms, err, len) != 0)
        return NULL;
    if (!g.id) {
        snprintf(err, len, "unknown series");
        return NULL;
    }
    json_object *pts = json_object_new_array();
    struct cursor cur = {0};
    plan(&g, interval_ms, max_points, false);
    int rc = read_range(db, &g, pts, &cur, err, len);
    if (rc == 0 && cur.n == 0 && !g.rollup) { /* raw rows gone: the rollups may remain */
        plan(&g, interval_ms, max_points, true);
        rc = read_range(db, &g, pts, &cur, err, len);
    }
    if (rc != 0) {
        json_object_put(pts);
        return NULL;
    }
    return result(host, reporter, path, &g, pts);
}
