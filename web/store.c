/* SPDX-License-Identifier: Apache-2.0 */
/* store.c -- the SQLite store's schema and its writer.
 *
 * As SQLite's documentation recommends: one write connection owned by one
 * thread, every statement prepared once (SQLITE_PREPARE_PERSISTENT) and
 * reused, inserts batched in one transaction, WAL so that the HTTP threads'
 * readers never wait. The message identity is a primary key, so that a
 * duplicate is an INSERT OR IGNORE that changes nothing.
 *
 * Tables: hosts (one row per host, its facts from the session message),
 * streams (host, reporter, session: the seq range seen and how many were
 * received, from which loss is counted), msgs (the identity of every stored
 * message, for dedup), series (host, reporter, path), samples (raw values),
 * rollup (per minute min/avg/max), latest (each reporter's latest data per
 * host), rejects (bad messages by reason) and dirty_minutes (minutes whose
 * rollups must be recomputed). */
#include "web/store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS hosts(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, session TEXT,"
    " facts TEXT, facts_ms INTEGER);"
    "CREATE TABLE IF NOT EXISTS streams(id INTEGER PRIMARY KEY, host_id INTEGER NOT NULL,"
    " reporter TEXT NOT NULL, session TEXT NOT NULL, min_seq INTEGER, max_seq INTEGER,"
    " received INTEGER NOT NULL DEFAULT 0, duplicates INTEGER NOT NULL DEFAULT 0,"
    " first_ms INTEGER, last_ms INTEGER, interval REAL,"
    " UNIQUE(host_id, reporter, session));"
    "CREATE TABLE IF NOT EXISTS msgs(stream_id INTEGER NOT NULL, ts INTEGER NOT NULL,"
    " seq INTEGER NOT NULL, PRIMARY KEY(stream_id, ts, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS series(id INTEGER PRIMARY KEY, host_id INTEGER NOT NULL,"
    " reporter TEXT NOT NULL, path TEXT NOT NULL, UNIQUE(host_id, reporter, path));"
    "CREATE TABLE IF NOT EXISTS samples(series_id INTEGER NOT NULL, ts INTEGER NOT NULL,"
    " value, PRIMARY KEY(series_id, ts)) WITHOUT ROWID;" /* no affinity: see put_sample */
    "CREATE TABLE IF NOT EXISTS rollup(series_id INTEGER NOT NULL, minute INTEGER NOT NULL,"
    " n INTEGER NOT NULL, vmin REAL, vavg REAL, vmax REAL,"
    " PRIMARY KEY(series_id, minute)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS latest(host_id INTEGER NOT NULL, reporter TEXT NOT NULL,"
    " ts INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY(host_id, reporter));"
    "CREATE TABLE IF NOT EXISTS rejects(reason TEXT PRIMARY KEY, count INTEGER NOT NULL,"
    " last_ms INTEGER, last_host TEXT) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS dirty_minutes(minute INTEGER PRIMARY KEY) WITHOUT ROWID;";

/* clang-format off */
static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_HOST_SEL] = "SELECT id FROM hosts WHERE name = ?1",
    [ST_HOST_INS] = "INSERT INTO hosts(name, first_ms, last_ms, session) VALUES(?1, ?2, ?2, ?3)",
    [ST_HOST_UPD] = "UPDATE hosts SET session = CASE WHEN ?2 >= last_ms THEN ?3 ELSE session END,"
                    " last_ms = max(last_ms, ?2) WHERE id = ?1",
    [ST_HOST_FACTS] = "UPDATE hosts SET facts = ?2, facts_ms = ?3"
                      " WHERE id = ?1 AND (facts_ms IS NULL OR facts_ms <= ?3)",
    [ST_STREAM_SEL] = "SELECT id FROM streams WHERE host_id = ?1 AND reporter = ?2 AND session = ?3",
    [ST_STREAM_INS] = "INSERT INTO streams(host_id, reporter, session) VALUES(?1, ?2, ?3)",
    /* min(x, NULL) is NULL in SQL: coalesce keeps whichever side is known */
    [ST_STREAM_UPD] = "UPDATE streams SET min_seq = coalesce(min(min_seq, ?2), min_seq, ?2),"
                      " max_seq = coalesce(max(max_seq, ?3), max_seq, ?3),"
                      " received = received + ?4, duplicates = duplicates + ?5,"
                      " first_ms = coalesce(min(first_ms, ?6), first_ms, ?6),"
                      " last_ms = coalesce(max(last_ms, ?7), last_ms, ?7),"
                      " interval = CASE WHEN ?7 >= coalesce(last_ms, 0) THEN ?8 ELSE interval END"
                      " WHERE id = ?1",
    [ST_MSG_INS] = "INSERT OR IGNORE INTO msgs(stream_id, ts, seq) VALUES(?1, ?2, ?3)",
    [ST_SERIES_SEL] = "SELECT id FROM series WHERE host_id = ?1 AND reporter = ?2 AND path = ?3",
    [ST_SERIES_INS] = "INSERT INTO series(host_id, reporter, path) VALUES(?1, ?2, ?3)",
    [ST_SAMPLE_INS] = "INSERT OR REPLACE INTO samples(series_id, ts, value) VALUES(?1, ?2, ?3)",
    [ST_LATEST_UPS] = "INSERT INTO latest(host_id, reporter, ts, data) VALUES(?1, ?2, ?3, ?4)"
                      " ON CONFLICT(host_id, reporter) DO UPDATE SET ts = excluded.ts,"
                      " data = excluded.data WHERE excluded.ts >= latest.ts",
    [ST_REJECT_UPS] = "INSERT INTO rejects(reason, count, last_ms, last_host) VALUES(?1, 1, ?2, ?3)"
                      " ON CONFLICT(reason) DO UPDATE SET count = count + 1,"
                      " last_ms = excluded.last_ms, last_host = excluded.last_host",
    [ST_DIRTY_INS] = "INSERT OR IGNORE INTO dirty_minutes(minute) VALUES(?1)",
};
/* clang-format on */

int hp_store_exec(sqlite3 *db, const char *sql, const char *what, char *err, size_t len)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    snprintf(err, len, "%s: %s", what, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

/* synchronous=FULL: a commit is on disk before the input acks it, so an
 * acked message survives a power loss too (WAL makes that one fsync). */
int hp_store_pragmas(sqlite3 *db, bool writer, char *err, size_t len)
{
    sqlite3_busy_timeout(db, 5000);
    if (!writer)
        return hp_store_exec(db, "PRAGMA query_only = 1", "pragmas", err, len);
    return hp_store_exec(db,
                         "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                         " PRAGMA foreign_keys = OFF; PRAGMA cache_size = -65536;"
                         " PRAGMA wal_autocheckpoint = 4000;",
                         "pragmas", err, len);
}

int hp_store_schema(sqlite3 *db, char *err, size_t len)
{
    return hp_store_exec(db, schema_sql, "schema", err, len);
}

static int fail(struct hp_store *s, const char *what, char *err, size_t len)
{
    snprintf(err, len, "store: %s: %s", what, sqlite3_errmsg(s->db));
    return -1;
}

static int prepare_all(struct hp_store *s, char *err, size_t len)
{
    for (int i = 0; i < ST_COUNT; i++)
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                               NULL) != SQLITE_OK)
            return fail(s, stmt_sql[i], err, len);
    return 0;
}

struct hp_store *hp_store_open(const char *path, const struct hp_store_opts *o, char *err,
                               size_t len)
{
    struct hp_store *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, len, "store: out of memory");
        return NULL;
    }
    s->o = *o;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        snprintf(err, len, "store: cannot open %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto err;
    }
    char why[400];
    if (hp_store_pragmas(s->db, true, why, sizeof(why)) != 0 ||
        hp_store_schema(s->db, why, sizeof(why)) != 0) {
        snprintf(err, len, "store: %s: %s", path, why);
        goto err;
    }
    if (prepare_all(s, err, len) != 0)
        goto err;
    return s;
err:
    hp_store_close(s);
    return NULL;
}

void hp_store_close(struct hp_store *s)
{
    if (!s)
        return;
    if (s->in_tx)
        sqlite3_step(s->st[ST_ROLLBACK]);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    hp_strmap_clear(&s->hosts, NULL);
    hp_strmap_clear(&s->streams, NULL);
    hp_strmap_clear(&s->series, NULL);
    hp_strmap_clear(&s->shapes, hp_shape_free);
    hp_strmap_clear(&s->tx_hosts, free);
    hp_strmap_clear(&s->tx_streams, free);
    hp_json_free(&s->conv);
    sqlite3_close(s->db);
    free(s);
}

/* Step a write statement once and reset it: SQLITE_DONE -> 0. */
static int step(struct hp_store *s, enum hp_stmt i, char *err, size_t len)
{
    sqlite3_stmt *st = s->st[i];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    snprintf(err, len, "store: %.60s: %s", stmt_sql[i], sqlite3_errmsg(s->db));
    return -1;
}

/* Step a one-column id lookup: the id, 0 when no row, -1 on error. */
static int64_t step_id(struct hp_store *s, enum hp_stmt i, char *err, size_t len)
{
    sqlite3_stmt *st = s->st[i];
    int rc = sqlite3_step(st);
    int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return id;
    snprintf(err, len, "store: %.60s: %s", stmt_sql[i], sqlite3_errmsg(s->db));
    return -1;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v, size_t n)
{
    sqlite3_bind_text(st, i, v, (int)n, SQLITE_STATIC);
}

static int begin(struct hp_store *s, char *err, size_t len)
{
    if (s->in_tx)
        return 0;
    if (step(s, ST_BEGIN, err, len) != 0)
        return -1;
    s->in_tx = true;
    s->pending = 0;
    s->n_dirty = 0;
    return 0;
}

/* Roll back after a failure: the caches may name rows that are now gone. */
static void rollback(struct hp_store *s)
{
    if (s->in_tx)
        sqlite3_step(s->st[ST_ROLLBACK]);
    sqlite3_reset(s->st[ST_ROLLBACK]);
    s->in_tx = false;
    s->pending = 0;
    s->n_dirty = 0;
    hp_strmap_clear(&s->hosts, NULL);
    hp_strmap_clear(&s->streams, NULL);
    hp_strmap_clear(&s->series, NULL);
    hp_strmap_clear(&s->shapes, hp_shape_free);
    hp_strmap_clear(&s->tx_hosts, free);
    hp_strmap_clear(&s->tx_streams, free);
}

/* The id of a row found by a (select, insert) statement pair bound the same
 * way by bind(), cached under key. 0 on error. */
typedef void (*bind_fn)(sqlite3_stmt *st, const void *ud);
static int64_t cached_id(struct hp_store *s, struct hp_strmap *cache, const void *key, size_t klen,
                         enum hp_stmt sel, enum hp_stmt ins, bind_fn bind, const void *ud,
                         char *err, size_t len)
{
    int64_t id = (int64_t)(intptr_t)hp_strmap_get(cache, key, klen);
    if (id)
        return id;
    bind(s->st[sel], ud);
    id = step_id(s, sel, err, len);
    if (id == 0) {
        bind(s->st[ins], ud);
        if (step(s, ins, err, len) != 0)
            return 0;
        id = sqlite3_last_insert_rowid(s->db);
    }
    if (id <= 0)
        return 0;
    if (hp_strmap_put(cache, key, klen, (void *)(intptr_t)id) != 0) {
        snprintf(err, len, "store: out of memory");
        return 0;
    }
    return id;
}

static void bind_host(sqlite3_stmt *st, const void *ud)
{
    const struct hp_store_msg *m = ud;
    sqlite3_bind_text(st, 1, m->host, -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(st) >= 2) {
        sqlite3_bind_int64(st, 2, m->ts_ms);
        sqlite3_bind_text(st, 3, m->session, -1, SQLITE_STATIC);
    }
}

struct stream_key {
    int64_t host_id;
    const struct hp_store_msg *m;
};

static void bind_stream(sqlite3_stmt *st, const void *ud)
{
    const struct stream_key *k = ud;
    sqlite3_bind_int64(st, 1, k->host_id);
    sqlite3_bind_text(st, 2, k->m->reporter, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, k->m->session, -1, SQLITE_STATIC);
}

/* Cache key: the fields joined by NULs ("a\0b\0c"), with an id in front. */
static size_t make_key(char *buf, size_t cap, int64_t id, const char *a, const char *b, size_t blen)
{
    size_t al = strlen(a);
    if (sizeof(id) + al + 1 + blen > cap)
        return 0;
    memcpy(buf, &id, sizeof(id));
    memcpy(buf + sizeof(id), a, al + 1);
    memcpy(buf + sizeof(id) + al + 1, b, blen);
    return sizeof(id) + al + 1 + blen;
}

/* Writer state passed to the flatten callback for one message. */
struct put_ctx {
    struct hp_store *s;
    int64_t host_id;
    const struct hp_store_msg *m;
    struct hp_shape *shape; /* of (host, reporter): its last message's ids */
    size_t i;               /* numbers with a series so far */
    char *err;
    size_t len;
};

struct series_key {
    int64_t host_id;
    const char *reporter, *path;
    size_t plen;
};

static void bind_series(sqlite3_stmt *st, const void *ud)
{
    const struct series_key *k = ud;
    sqlite3_bind_int64(st, 1, k->host_id);
    sqlite3_bind_text(st, 2, k->reporter, -1, SQLITE_STATIC);
    bind_text(st, 3, k->path, k->plen);
}

static int put_sample(void *ud, const char *path, size_t plen, double value)
{
    struct put_ctx *c = ud;
    struct hp_store *s = c->s;
    int64_t id = hp_shape_id(c->shape, c->i, path, plen);
    if (!id) {
        char key[HP_PATH_MAX + 128];
        size_t klen = make_key(key, sizeof(key), c->host_id, c->m->reporter, path, plen);
        if (!klen)
            return 0; /* absurdly long names: no series */
        struct series_key sk = {c->host_id, c->m->reporter, path, plen};
        id = cached_id(s, &s->series, key, klen, ST_SERIES_SEL, ST_SERIES_INS, bind_series, &sk,
                       c->err, c->len);
        if (!id)
            return -1;
        hp_shape_set(c->shape, c->i, path, plen, id); /* a failure only costs speed */
    }
    c->i++;
    sqlite3_stmt *st = s->st[ST_SAMPLE_INS];
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, c->m->ts_ms);
    /* Most values are small integers (counts, bytes, 0): SQLite stores an
     * integer in 0 to 6 bytes, a REAL always in 8, so the column has no type
     * affinity and whole numbers go in as integers (a third less disk). */
    if (value == (double)(int64_t)value && value > -9e15 && value < 9e15)
        sqlite3_bind_int64(st, 3, (int64_t)value);
    else
        sqlite3_bind_double(st, 3, value);
    return step(s, ST_SAMPLE_INS, c->err, c->len);
}

static void mark_dirty(struct hp_store *s, int64_t ts_ms)
{
    int64_t minute = ts_ms - ((ts_ms % HP_MINUTE_MS) + HP_MINUTE_MS) % HP_MINUTE_MS;
    for (size_t i = 0; i < s->n_dirty; i++)
        if (s->dirty[i] == minute)
            return;
    if (s->n_dirty < sizeof(s->dirty) / sizeof(s->dirty[0])) {
        s->dirty[s->n_dirty++] = minute;
        return;
    }
    sqlite3_bind_int64(s->st[ST_DIRTY_INS], 1, minute); /* the set is full: straight in */
    sqlite3_step(s->st[ST_DIRTY_INS]);
    sqlite3_reset(s->st[ST_DIRTY_INS]);
}

/* The open transaction's changes to one hosts row. */
struct host_acc {
    int64_t id, last_ms;
    char session[HP_SESSION_MAX + 1];
};

/* The open transaction's changes to one streams row. */
struct stream_acc {
    int64_t id, min_seq, max_seq, received, dups, first_ms, last_ms;
    double interval;
};

/* The accumulator of row id in map, made on first use. NULL on ENOMEM. */
static void *acc(struct hp_strmap *map, int64_t id, size_t size)
{
    void *a = hp_strmap_get(map, &id, sizeof(id));
    if (a)
        return a;
    a = calloc(1, size);
    if (!a || hp_strmap_put(map, &id, sizeof(id), a) != 0) {
        free(a);
        return NULL;
    }
    *(int64_t *)a = id;
    return a;
}

static int note_stream(struct hp_store *s, int64_t id, const struct hp_store_msg *m, bool dup)
{
    struct stream_acc *a = acc(&s->tx_streams, id, sizeof(*a));
    if (!a)
        return -1;
    int64_t seq = (int64_t)m->seq;
    if (dup) {
        a->dups++;
        return 0;
    }
    if (!a->received || seq < a->min_seq)
        a->min_seq = seq;
    if (!a->received || seq > a->max_seq)
        a->max_seq = seq;
    if (!a->received || m->ts_ms < a->first_ms)
        a->first_ms = m->ts_ms;
    if (!a->received || m->ts_ms >= a->last_ms) {
        a->last_ms = m->ts_ms;
        a->interval = m->interval;
    }
    a->received++;
    return 0;
}

static int note_host(struct hp_store *s, int64_t id, const struct hp_store_msg *m)
{
    struct host_acc *a = acc(&s->tx_hosts, id, sizeof(*a));
    if (!a)
        return -1;
    if (!a->session[0] || m->ts_ms >= a->last_ms) {
        a->last_ms = m->ts_ms;
        snprintf(a->session, sizeof(a->session), "%s", m->session);
    }
    return 0;
}

static void flush_stream(void *val, void *ud)
{
    struct hp_store *s = ud;
    const struct stream_acc *a = val;
    sqlite3_stmt *st = s->st[ST_STREAM_UPD];
    sqlite3_bind_int64(st, 1, a->id);
    if (a->received) {
        sqlite3_bind_int64(st, 2, a->min_seq);
        sqlite3_bind_int64(st, 3, a->max_seq);
        sqlite3_bind_int64(st, 6, a->first_ms);
        sqlite3_bind_int64(st, 7, a->last_ms);
        sqlite3_bind_double(st, 8, a->interval);
    } else { /* only duplicates: NULLs leave the columns as they are */
        for (int i = 2; i <= 8; i++)
            sqlite3_bind_null(st, i);
    }
    sqlite3_bind_int64(st, 4, a->received);
    sqlite3_bind_int64(st, 5, a->dups);
    if (sqlite3_step(st) != SQLITE_DONE)
        s->tx_err = -1;
    sqlite3_reset(st);
}

static void flush_host(void *val, void *ud)
{
    struct hp_store *s = ud;
    const struct host_acc *a = val;
    sqlite3_stmt *st = s->st[ST_HOST_UPD];
    sqlite3_bind_int64(st, 1, a->id);
    sqlite3_bind_int64(st, 2, a->last_ms);
    sqlite3_bind_text(st, 3, a->session, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        s->tx_err = -1;
    sqlite3_reset(st);
}

/* Bind the latest-data text: the envelope as it came (no re-serialising),
 * or one made of the data's text when the caller has no envelope text. */
static void bind_latest(sqlite3_stmt *st, int i, const struct hp_store_msg *m,
                        const struct hp_jnode *data)
{
    if (m->json)
        sqlite3_bind_text(st, i, m->json, (int)m->json_len, SQLITE_STATIC);
    else /* sqlite3_free'd by SQLite; NULL (out of memory) fails the NOT NULL */
        sqlite3_bind_text(st, i, sqlite3_mprintf("{\"data\":%.*s}", (int)data->slen, data->str), -1,
                          sqlite3_free);
}

/* The message is new: its samples, its latest data, its host's facts
 * (the data's text as it came). */
static int put_new(struct put_ctx *c, int64_t stream_id, const struct hp_json *doc,
                   const struct hp_jnode *data)
{
    struct hp_store *s = c->s;
    const struct hp_store_msg *m = c->m;
    if (note_stream(s, stream_id, m, false) != 0 || note_host(s, c->host_id, m) != 0)
        return snprintf(c->err, c->len, "store: out of memory"), -1;
    bool session = strcmp(m->reporter, "session") == 0;
    enum hp_stmt which = session ? ST_HOST_FACTS : ST_LATEST_UPS;
    sqlite3_stmt *st = s->st[which];
    sqlite3_bind_int64(st, 1, c->host_id);
    if (session) {
        bind_text(st, 2, data->str, data->slen);
        sqlite3_bind_int64(st, 3, m->ts_ms);
    } else {
        sqlite3_bind_text(st, 2, m->reporter, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, m->ts_ms);
        bind_latest(st, 4, m, data);
    }
    int rc = step(s, which, c->err, c->len);
    char key[HP_PATH_MAX + 128];
    size_t klen = make_key(key, sizeof(key), c->host_id, m->reporter, "", 0);
    c->shape = klen ? hp_shape_of(&s->shapes, key, klen) : NULL;
    if (rc != 0 || hp_store_flatten(m->reporter, doc, data, put_sample, c) != 0)
        return -1;
    mark_dirty(s, m->ts_ms);
    return 0;
}

/* The message's data as a node: jdata, or json-c's data read from its text. */
static const struct hp_jnode *msg_data(struct hp_store *s, const struct hp_store_msg *m,
                                       const struct hp_json **doc, char *err, size_t len)
{
    *doc = m->doc;
    if (m->jdata)
        return m->jdata;
    const char *text = json_object_to_json_string_ext(m->data, JSON_C_TO_STRING_PLAIN);
    int rc = text ? hp_json_parse(&s->conv, text, strlen(text)) : -2;
    if (rc != 0 || hp_json_root(&s->conv)->type != HP_JOBJECT) {
        snprintf(err, len, "store: the data is not an object%s",
                 rc == -2 ? " (out of memory)" : "");
        return NULL;
    }
    *doc = &s->conv;
    return hp_json_root(&s->conv);
}

static int64_t host_id(struct hp_store *s, const struct hp_store_msg *m, char *err, size_t len)
{
    return cached_id(s, &s->hosts, m->host, strlen(m->host), ST_HOST_SEL, ST_HOST_INS, bind_host, m,
                     err, len);
}

enum hp_store_put hp_store_put(struct hp_store *s, const struct hp_store_msg *m, char *err,
                               size_t len)
{
    if (begin(s, err, len) != 0)
        return HP_STORE_ERR;
    struct put_ctx c = {.s = s, .m = m, .err = err, .len = len};
    c.host_id = host_id(s, m, err, len);
    if (!c.host_id)
        goto err;
    char key[1024];
    size_t klen =
        make_key(key, sizeof(key), c.host_id, m->reporter, m->session, strlen(m->session) + 1);
    struct stream_key sk = {c.host_id, m};
    int64_t stream = cached_id(s, &s->streams, key, klen, ST_STREAM_SEL, ST_STREAM_INS, bind_stream,
                               &sk, err, len);
    if (!klen || !stream)
        goto err;
    sqlite3_stmt *st = s->st[ST_MSG_INS];
    sqlite3_bind_int64(st, 1, stream);
    sqlite3_bind_int64(st, 2, m->ts_ms);
    sqlite3_bind_int64(st, 3, (int64_t)m->seq);
    if (step(s, ST_MSG_INS, err, len) != 0)
        goto err;
    s->pending++;
    if (sqlite3_changes(s->db) == 0) {
        if (note_stream(s, stream, m, true) != 0)
            goto err;
        return HP_STORE_DUP;
    }
    const struct hp_json *doc;
    const struct hp_jnode *data = msg_data(s, m, &doc, err, len);
    if (!data || put_new(&c, stream, doc, data) != 0)
        goto err;
    return HP_STORE_NEW;
err:
    rollback(s);
    return HP_STORE_ERR;
}

int hp_store_reject(struct hp_store *s, const char *reason, const char *host, int64_t now_ms,
                    char *err, size_t len)
{
    if (begin(s, err, len) != 0)
        return -1;
    sqlite3_stmt *st = s->st[ST_REJECT_UPS];
    sqlite3_bind_text(st, 1, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    if (host)
        sqlite3_bind_text(st, 3, host, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    if (step(s, ST_REJECT_UPS, err, len) != 0) {
        rollback(s);
        return -1;
    }
    s->pending++;
    return 0;
}

void hp_store_rollback(struct hp_store *s)
{
    rollback(s);
}

int hp_store_commit(struct hp_store *s, char *err, size_t len)
{
    if (!s->in_tx)
        return 0;
    for (size_t i = 0; i < s->n_dirty; i++) {
        sqlite3_bind_int64(s->st[ST_DIRTY_INS], 1, s->dirty[i]);
        if (step(s, ST_DIRTY_INS, err, len) != 0)
            goto err;
    }
    s->tx_err = 0;
    hp_strmap_each(&s->tx_hosts, flush_host, s);
    hp_strmap_each(&s->tx_streams, flush_stream, s);
    if (s->tx_err) {
        snprintf(err, len, "store: updating hosts and streams: %s", sqlite3_errmsg(s->db));
        goto err;
    }
    if (step(s, ST_COMMIT, err, len) != 0)
        goto err;
    hp_strmap_clear(&s->tx_hosts, free);
    hp_strmap_clear(&s->tx_streams, free);
    s->in_tx = false;
    s->pending = 0;
    s->n_dirty = 0;
    return 0;
err:
    rollback(s);
    return -1;
}

size_t hp_store_pending(const struct hp_store *s)
{
    return s->pending;
}

int hp_store_maintain(struct hp_store *s, int64_t now_ms, char *err, size_t len)
{
    if (s->in_tx)
        return 0;
    if (hp_store_rollup_dirty(s, now_ms, err, len) != 0)
        return -1;
    return hp_store_retain(s, now_ms, err, len);
}
