/* SPDX-License-Identifier: Apache-2.0 */
/* store_maint.c -- per-minute rollups and retention, off the insert path.
 *
 * Inserting a sample writes only its raw row; the minutes that got samples
 * are remembered in dirty_minutes (in the same transaction), and here each
 * completed dirty minute is rolled up again from its raw rows: min, avg,
 * max and count per series. So late or replayed messages correct their
 * minute's rollup, and a crash between the two steps loses nothing (the
 * minute stays dirty). Retention deletes by time per series: every table
 * is keyed (series or stream, time), so each delete is a range per key. */
#include "web/store_int.h"

#include <stdio.h>
#include <string.h>

/* Roll up one minute for every series, then forget that it is dirty. */
static int rollup_minute(struct hp_store *s, int64_t minute, char *err, size_t len)
{
    static const char sql[] =
        "INSERT OR REPLACE INTO rollup(series_id, minute, n, vmin, vavg, vmax)"
        " SELECT series_id, ?1, count(*), min(value), avg(value), max(value) FROM samples"
        " WHERE series_id IN (SELECT id FROM series) AND ts >= ?1 AND ts < ?1 + 60000"
        " GROUP BY series_id;"
        "DELETE FROM dirty_minutes WHERE minute = ?1;";
    const char *tail = sql;
    while (tail && *tail) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s->db, tail, -1, &st, &tail) != SQLITE_OK) {
            snprintf(err, len, "store: rollup: %s", sqlite3_errmsg(s->db));
            return -1;
        }
        if (!st)
            break;
        sqlite3_bind_int64(st, 1, minute);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            snprintf(err, len, "store: rollup: %s", sqlite3_errmsg(s->db));
            return -1;
        }
    }
    return 0;
}

static int dirty_minutes(struct hp_store *s, int64_t before, int64_t *out, int max, char *err,
                         size_t len)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT minute FROM dirty_minutes WHERE minute + 60000 <= ?1"
                           " ORDER BY minute LIMIT ?2",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, len, "store: rollup: %s", sqlite3_errmsg(s->db));
        return -1;
    }
    sqlite3_bind_int64(st, 1, before);
    sqlite3_bind_int(st, 2, max);
    int n = 0;
    while (n < max && sqlite3_step(st) == SQLITE_ROW)
        out[n++] = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

int hp_store_rollup_dirty(struct hp_store *s, int64_t now_ms, char *err, size_t len)
{
    int64_t minutes[HP_DIRTY_BATCH];
    int n = dirty_minutes(s, now_ms, minutes, HP_DIRTY_BATCH, err, len);
    if (n <= 0)
        return n;
    if (hp_store_exec(s->db, "BEGIN IMMEDIATE", "rollup", err, len) != 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (rollup_minute(s, minutes[i], err, len) != 0) {
            hp_store_exec(s->db, "ROLLBACK", "rollup", err + strlen(err), 0);
            return -1;
        }
    return hp_store_exec(s->db, "COMMIT", "rollup", err, len);
}

static int delete_before(struct hp_store *s, const char *sql, int64_t cutoff, char *err, size_t len)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, len, "store: retention: %s", sqlite3_errmsg(s->db));
        return -1;
    }
    sqlite3_bind_int64(st, 1, cutoff);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        snprintf(err, len, "store: retention: %s", sqlite3_errmsg(s->db));
        return -1;
    }
    return 0;
}

int hp_store_retain(struct hp_store *s, int64_t now_ms, char *err, size_t len)
{
    int64_t raw_cut = now_ms - (int64_t)(s->o.retention_hours * 3600e3);
    int64_t roll_cut = now_ms - (int64_t)(s->o.rollup_days * 86400e3);
    int64_t keep_cut = raw_cut < roll_cut ? raw_cut : roll_cut;
    if (hp_store_exec(s->db, "BEGIN IMMEDIATE", "retention", err, len) != 0)
        return -1;
    if (delete_before(s,
                      "DELETE FROM samples WHERE series_id IN (SELECT id FROM series)"
                      " AND ts < ?1",
                      raw_cut, err, len) != 0 ||
        delete_before(s,
                      "DELETE FROM msgs WHERE stream_id IN (SELECT id FROM streams)"
                      " AND ts < ?1",
                      raw_cut, err, len) != 0 ||
        delete_before(s,
                      "DELETE FROM rollup WHERE series_id IN (SELECT id FROM series)"
                      " AND minute < ?1",
                      roll_cut, err, len) != 0 ||
        delete_before(s, "DELETE FROM dirty_minutes WHERE minute < ?1", raw_cut, err, len) != 0 ||
        /* series, streams and hosts nothing refers to any more */
        delete_before(s,
                      "DELETE FROM series WHERE NOT EXISTS (SELECT 1 FROM rollup"
                      " WHERE series_id = series.id AND minute >= ?1) AND NOT EXISTS"
                      " (SELECT 1 FROM samples WHERE series_id = series.id)",
                      roll_cut, err, len) != 0 ||
        delete_before(s, "DELETE FROM streams WHERE last_ms < ?1", keep_cut, err, len) != 0 ||
        delete_before(s, "DELETE FROM latest WHERE ts < ?1", keep_cut, err, len) != 0 ||
        delete_before(s, "DELETE FROM hosts WHERE last_ms < ?1", keep_cut, err, len) != 0) {
        hp_store_exec(s->db, "ROLLBACK", "retention", err + strlen(err), 0);
        return -1;
    }
    if (hp_store_exec(s->db, "COMMIT", "retention", err, len) != 0)
        return -1;
    /* Rows the caches may name are gone. */
    hp_strmap_clear(&s->hosts, NULL);
    hp_strmap_clear(&s->streams, NULL);
    hp_strmap_clear(&s->series, NULL);
    hp_strmap_clear(&s->shapes, hp_shape_free);
    return 0;
}
