/* SPDX-License-Identifier: Apache-2.0 */
/* mysql.c -- the MySQL/MariaDB sink (libmariadb).
 *
 * Each message becomes one row of <table_prefix><reporter>; `session`
 * messages become a row of <table_prefix>sessions (schema: mysql_schema.c,
 * etc/mysql-schema.sql, docs/mysql.md). Tables are created when missing.
 *
 * write() is synchronous: the offered batch is inserted with prepared
 * multi-row INSERTs (statements for 1, 2, 4 .. 64 rows per table, prepared
 * once per connection) inside one transaction, committed, and only then
 * acked. A lost connection or a failed commit returns -1: the transport
 * reconnects and resends, and the unique key (host, session, seq) makes a
 * row that did get committed a no-op, so nothing is lost or duplicated. If
 * the server refuses the data itself (a value too long, bad text), the
 * batch is retried one row per transaction and the refused rows go to the
 * sink's dead-letter file (transport/deadletter.h), as does a row larger
 * than the server's max_allowed_packet (checked before sending: the server
 * would drop the connection, and the row would be retried forever).
 * Multi-row statements stay under half of max_allowed_packet.
 *
 * TLS is required for a server not on this host (mysql_tls.h).
 *
 * hp-module-pkgs: libmariadb */
#include "transport/deadletter.h"
#include "transport/sink.h"
#include "transport/sinks/mysql/mysql_schema.h"
#include "transport/sinks/mysql/mysql_tls.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NSIZES               7         /* statements for 1 << 0 .. 1 << 6 rows */
#define CHUNK_ROWS           64        /* 1 << (NSIZES - 1) */
#define CHUNK_BYTES          (1 << 20) /* a multi-row INSERT stays under this */
#define PREFIX_MAX           24
#define SQL_MAX              8192
#define NO_TABLE             ((size_t)-1)              /* a session row */
#define MYSQL_DEFAULT_SOCKET "/run/mysqld/mysqld.sock" /* Debian's server and client default */

struct my_table {
    char reporter[HP_NAME_MAX];
    bool ready;              /* CREATE TABLE done on this connection */
    MYSQL_STMT *ins[NSIZES]; /* ins[b] inserts 1 << b rows */
};

/* One message's values, borrowed from its parsed envelope (env). */
struct my_row {
    const struct hp_out *out;
    json_object *env;
    size_t table; /* index in tables, or NO_TABLE */
    const char *host, *session, *data;
    unsigned long host_len, session_len, data_len;
    unsigned long long seq;
    long long ts_ms; /* the envelope's ts, Unix epoch milliseconds */
    MYSQL_TIME dt;
    /* session rows only; NULL strings / !has_start become SQL NULL */
    const char *desc, *version, *boot_id;
    unsigned long desc_len, version_len, boot_len;
    bool has_start;
    long long start_ms;
    MYSQL_TIME start_dt;
};

struct my {
    /* options, borrowed from the config */
    const char *host, *socket, *user, *password, *database, *prefix;
    const char *ssl_ca, *ssl_cert, *ssl_key;
    int64_t port_opt;       /* options, as loaded */
    double timeout_opt;     /* seconds */
    bool ssl_opt;           /* set: require TLS */
    unsigned port, timeout; /* derived at init */
    const char *via_host;   /* what db_connect really uses (init, see resolve_target) */
    const char *via_socket; /* NULL: TCP to via_host:port */
    bool ssl, ssl_verify;
    bool plaintext_remote;      /* allow no TLS to a server not on this host */
    bool tls_told;              /* the "TLS required" notice was logged */
    unsigned long max_packet;   /* the server's max_allowed_packet */
    char target[512];           /* user@host:port/db, for messages; no password */
    bool connected_once;        /* later connects are logged by the transport */
    struct hp_complain refused; /* rate-limits the warning about refused rows */
    /* connection */
    MYSQL *db;
    MYSQL_STMT *session_ins;
    struct my_table *tables;
    size_t ntables;
    /* per-batch scratch */
    struct my_row *rows; /* rows[0, nrows) hold a parsed envelope */
    size_t nrows, caprows;
    size_t *idx;       /* rows of one table */
    MYSQL_BIND *binds; /* CHUNK_ROWS * HP_MYSQL_ROW_COLS */
    json_tokener *tok;
    char sql[SQL_MAX];
};

/* ---- errors ---------------------------------------------------------- */

/* Server errors about the data itself: retrying cannot help. */
static bool permanent(unsigned code)
{
    switch (code) {
    case ER_BAD_NULL_ERROR:
    case ER_WARN_DATA_OUT_OF_RANGE:
    case WARN_DATA_TRUNCATED:
    case ER_TRUNCATED_WRONG_VALUE:
    case ER_INVALID_CHARACTER_STRING:
    case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
    case ER_DATA_TOO_LONG:
    case ER_CONSTRAINT_FAILED:
        return true;
    default:
        return false;
    }
}

/* Record a failed call in s->error. Returns 1 if the data was refused
 * (permanent), -1 otherwise (reconnect and retry). */
static int db_failed(struct hp_sink *s, const char *what, unsigned code, const char *msg)
{
    hp_sink_fail(s, "%s: %s (%u)", what, msg, code);
    return permanent(code) ? 1 : -1;
}

static int stmt_failed(struct hp_sink *s, const char *what, MYSQL_STMT *st)
{
    return db_failed(s, what, mysql_stmt_errno(st), mysql_stmt_error(st));
}

/* ---- binding --------------------------------------------------------- */

static void bind_str(MYSQL_BIND *b, const char *v, unsigned long *len)
{
    memset(b, 0, sizeof(*b));
    b->buffer_type = v ? MYSQL_TYPE_STRING : MYSQL_TYPE_NULL;
    b->buffer = (void *)v;
    b->buffer_length = v ? *len : 0;
    b->length = len;
}

static void bind_u64(MYSQL_BIND *b, unsigned long long *v)
{
    memset(b, 0, sizeof(*b));
    b->buffer_type = MYSQL_TYPE_LONGLONG;
    b->buffer = v;
    b->is_unsigned = 1;
}

static void bind_i64(MYSQL_BIND *b, long long *v, bool null)
{
    memset(b, 0, sizeof(*b));
    b->buffer_type = null ? MYSQL_TYPE_NULL : MYSQL_TYPE_LONGLONG;
    b->buffer = v;
}

static void bind_time(MYSQL_BIND *b, MYSQL_TIME *v, bool null)
{
    memset(b, 0, sizeof(*b));
    b->buffer_type = null ? MYSQL_TYPE_NULL : MYSQL_TYPE_DATETIME;
    b->buffer = v;
}

static void ms_to_time(int64_t ms, MYSQL_TIME *t)
{
    time_t sec = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    memset(t, 0, sizeof(*t));
    t->year = (unsigned)tm.tm_year + 1900;
    t->month = (unsigned)tm.tm_mon + 1;
    t->day = (unsigned)tm.tm_mday;
    t->hour = (unsigned)tm.tm_hour;
    t->minute = (unsigned)tm.tm_min;
    t->second = (unsigned)tm.tm_sec;
    t->second_part = (unsigned long)((ms - (int64_t)sec * 1000) * 1000);
    t->time_type = MYSQL_TIMESTAMP_DATETIME;
}

/* ---- tables and statements ------------------------------------------- */

static void tables_reset(struct my *m)
{
    for (size_t i = 0; i < m->ntables; i++) {
        m->tables[i].ready = false;
        for (size_t b = 0; b < NSIZES; b++) {
            if (m->tables[i].ins[b])
                mysql_stmt_close(m->tables[i].ins[b]);
            m->tables[i].ins[b] = NULL;
        }
    }
    if (m->session_ins)
        mysql_stmt_close(m->session_ins);
    m->session_ins = NULL;
}

/* Index of reporter's table entry (added if new), or NO_TABLE on ENOMEM. */
static size_t table_index(struct my *m, const char *reporter)
{
    for (size_t i = 0; i < m->ntables; i++)
        if (strcmp(m->tables[i].reporter, reporter) == 0)
            return i;
    struct my_table *t = realloc(m->tables, (m->ntables + 1) * sizeof(*t));
    if (!t)
        return NO_TABLE;
    m->tables = t;
    memset(&t[m->ntables], 0, sizeof(*t));
    snprintf(t[m->ntables].reporter, HP_NAME_MAX, "%s", reporter);
    return m->ntables++;
}

/* Run the CREATE TABLE IF NOT EXISTS in m->sql for table (full name). A
 * user without CREATE may still use a table a DBA created: on "command
 * denied" the table is probed and used if it exists. */
static int create_table(struct hp_sink *s, size_t len, const char *table)
{
    struct my *m = s->priv;
    if (len == 0)
        return hp_sink_fail(s, "create table %s: statement too long", table);
    if (mysql_real_query(m->db, m->sql, len) == 0)
        return 0;
    unsigned code = mysql_errno(m->db);
    hp_sink_fail(s, "create table %s: %s (%u)", table, mysql_error(m->db), code);
    if (code != ER_TABLEACCESS_DENIED_ERROR)
        return -1;
    char probe[128];
    int n = snprintf(probe, sizeof(probe), "SELECT 1 FROM `%s` LIMIT 0", table);
    if (mysql_real_query(m->db, probe, (unsigned long)n) != 0)
        return -1; /* keep the CREATE error: it says what is missing */
    MYSQL_RES *res = mysql_store_result(m->db);
    mysql_free_result(res);
    s->error[0] = '\0';
    return 0;
}

/* Whether table (full name) has column `ts`: made before ts_ms. */
static bool old_layout(struct my *m, const char *table)
{
    char q[256];
    int n = snprintf(q, sizeof(q),
                     "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                     "AND TABLE_NAME = '%s' AND COLUMN_NAME = 'ts'",
                     table);
    if (mysql_real_query(m->db, q, (unsigned long)n) != 0)
        return false;
    MYSQL_RES *res = mysql_store_result(m->db);
    bool old = res && mysql_num_rows(res) > 0;
    mysql_free_result(res);
    return old;
}

/* Bring a table made by an older hostpulse (ts in seconds, no generated
 * columns) to the current layout; reporter NULL: the sessions table. The
 * steps need ALTER and UPDATE and MariaDB's IF NOT EXISTS; a failure says
 * where the manual steps are. Each step commits (DDL), the UPDATE too. */
static int upgrade_table(struct hp_sink *s, const char *table, const char *reporter)
{
    struct my *m = s->priv;
    if (!old_layout(m, table))
        return 0;
    hp_info("sink %s: upgrading table %s to ts_ms and generated columns", s->name, table);
    size_t len;
    for (int step = 0; (len = hp_mysql_upgrade(m->sql, sizeof(m->sql), m->prefix, reporter, step));
         step++)
        if (mysql_real_query(m->db, m->sql, len) != 0 || mysql_commit(m->db) != 0)
            return hp_sink_fail(s,
                                "upgrade table %s: %s (%u); upgrade it by hand "
                                "(docs/mysql.md, \"Upgrading\")",
                                table, mysql_error(m->db), mysql_errno(m->db));
    return 0;
}

static int ensure_table(struct hp_sink *s, struct my_table *t)
{
    struct my *m = s->priv;
    if (t->ready)
        return 0;
    char table[80];
    snprintf(table, sizeof(table), "%s%s", m->prefix, t->reporter);
    if (create_table(s, hp_mysql_reporter_ddl(m->sql, sizeof(m->sql), m->prefix, t->reporter),
                     table) ||
        upgrade_table(s, table, t->reporter))
        return -1;
    t->ready = true;
    return 0;
}

static MYSQL_STMT *prepare(struct hp_sink *s, size_t len, const char *what)
{
    struct my *m = s->priv;
    MYSQL_STMT *st = len ? mysql_stmt_init(m->db) : NULL;
    if (!st) {
        hp_sink_fail(s, "%s: cannot prepare", what);
        return NULL;
    }
    if (mysql_stmt_prepare(st, m->sql, len) != 0) {
        stmt_failed(s, what, st);
        mysql_stmt_close(st);
        return NULL;
    }
    return st;
}

static MYSQL_STMT *insert_stmt(struct hp_sink *s, struct my_table *t, unsigned b)
{
    struct my *m = s->priv;
    if (!t->ins[b]) {
        char what[96];
        snprintf(what, sizeof(what), "insert into %s%s", m->prefix, t->reporter);
        size_t len =
            hp_mysql_reporter_insert(m->sql, sizeof(m->sql), m->prefix, t->reporter, 1u << b);
        t->ins[b] = prepare(s, len, what);
    }
    return t->ins[b];
}

/* ---- parsing --------------------------------------------------------- */

static const char *get_str(json_object *o, const char *key, unsigned long *len)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    *len = (unsigned long)json_object_get_string_len(v);
    return json_object_get_string(v);
}

static void parse_session(struct my_row *r, json_object *data)
{
    json_object *start;
    r->desc = get_str(data, "description", &r->desc_len);
    r->version = get_str(data, "version", &r->version_len);
    r->boot_id = get_str(data, "boot_id", &r->boot_len);
    if (json_object_object_get_ex(data, "start", &start) &&
        json_object_is_type(start, json_type_int)) {
        int64_t ms = json_object_get_int64(start);
        r->has_start = true;
        r->start_ms = ms;
        ms_to_time(ms, &r->start_dt);
    }
}

/* A row the server cannot take in one packet (max_allowed_packet) would
 * break the connection at every try: dead-letter it instead. */
static bool too_big(struct hp_sink *s, const struct my_row *r)
{
    struct my *m = s->priv;
    unsigned long need = r->data_len + r->host_len + r->session_len + 1024;
    if (r->table == NO_TABLE || strcmp(r->out->msg->reporter, "session") == 0)
        need += r->data_len; /* sessions store the data twice */
    if (!m->max_packet || need <= m->max_packet)
        return false;
    char why[160];
    snprintf(why, sizeof(why),
             "row of about %lu bytes exceeds the server's max_allowed_packet (%lu)", need,
             m->max_packet);
    hp_warn("sink %s: dead-lettering %s #%llu: %s", s->name, r->out->msg->reporter,
            (unsigned long long)r->out->msg->seq, why);
    hp_dead_letter(s, r->out->msg, why);
    return true;
}

/* Fill r from o's envelope. Returns 0, 1 if the message can never be
 * stored (it is dropped), -1 on ENOMEM. */
static int parse_row(struct hp_sink *s, const struct hp_out *o, struct my_row *r)
{
    struct my *m = s->priv;
    const struct hp_msg *msg = o->msg;
    memset(r, 0, sizeof(*r));
    r->out = o;
    json_tokener_reset(m->tok);
    r->env = json_tokener_parse_ex(m->tok, msg->json, (int)msg->len);
    json_object *data = NULL;
    const char *why = NULL;
    if (!r->env || !json_object_is_type(r->env, json_type_object) ||
        !json_object_object_get_ex(r->env, "data", &data) ||
        !json_object_is_type(data, json_type_object))
        why = "not an envelope with a data object";
    else if (!(r->host = get_str(r->env, "host", &r->host_len)) ||
             !(r->session = get_str(r->env, "session", &r->session_len)))
        why = "no host or session";
    else if (!hp_mysql_ident_ok(msg->reporter, HP_NAME_MAX, false))
        why = "the reporter name is not a valid table name";
    if (why) {
        hp_warn("sink %s: dead-lettering %s #%llu: %s", s->name, msg->reporter,
                (unsigned long long)msg->seq, why);
        hp_dead_letter(s, msg, why);
        json_object_put(r->env);
        r->env = NULL;
        return 1;
    }
    r->data = json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE);
    r->data_len = (unsigned long)strlen(r->data);
    if (too_big(s, r)) {
        json_object_put(r->env);
        r->env = NULL;
        return 1;
    }
    r->seq = msg->seq;
    r->ts_ms = (long long)msg->ts_ms;
    ms_to_time(msg->ts_ms, &r->dt);
    if (strcmp(msg->reporter, "session") == 0) {
        r->table = NO_TABLE;
        parse_session(r, data);
    } else if ((r->table = table_index(m, msg->reporter)) == NO_TABLE) {
        json_object_put(r->env);
        r->env = NULL;
        return -1;
    }
    return 0;
}

/* ---- inserting ------------------------------------------------------- */

static void bind_row(MYSQL_BIND *b, struct my_row *r)
{
    bind_str(&b[0], r->host, &r->host_len);
    bind_str(&b[1], r->session, &r->session_len);
    bind_u64(&b[2], &r->seq);
    bind_i64(&b[3], &r->ts_ms, false);
    bind_time(&b[4], &r->dt, false);
    bind_str(&b[5], r->data, &r->data_len);
}

static int insert_session(struct hp_sink *s, struct my_row *r)
{
    struct my *m = s->priv;
    if (!m->session_ins) {
        size_t len = hp_mysql_sessions_insert(m->sql, sizeof(m->sql), m->prefix);
        if (!(m->session_ins = prepare(s, len, "insert into sessions")))
            return -1;
    }
    MYSQL_BIND b[HP_MYSQL_SESSION_COLS];
    bind_row(b, r);
    bind_str(&b[5], r->desc, &r->desc_len);
    bind_i64(&b[6], &r->start_ms, !r->has_start);
    bind_time(&b[7], &r->start_dt, !r->has_start);
    bind_str(&b[8], r->version, &r->version_len);
    bind_str(&b[9], r->boot_id, &r->boot_len);
    bind_str(&b[10], r->data, &r->data_len);
    if (mysql_stmt_bind_param(m->session_ins, b) != 0 || mysql_stmt_execute(m->session_ins) != 0)
        return stmt_failed(s, "insert into sessions", m->session_ins);
    return 0;
}

/* How many of the k rows at idx go into the next statement: a power of two,
 * at most CHUNK_ROWS, under CHUNK_BYTES of data unless it is one row.
 * Returns its log2. */
static unsigned chunk_bits(const struct my *m, const size_t *idx, size_t k)
{
    size_t limit = m->max_packet / 2 < CHUNK_BYTES ? m->max_packet / 2 : CHUNK_BYTES;
    unsigned b = NSIZES - 1;
    while ((1u << b) > k)
        b--;
    for (;;) {
        size_t bytes = 0;
        for (size_t i = 0; i < (1u << b); i++)
            bytes += m->rows[idx[i]].data_len;
        if (b == 0 || bytes < limit)
            return b;
        b--;
    }
}

/* Insert the k rows at idx, all of table t, in multi-row statements. */
static int insert_table(struct hp_sink *s, struct my_table *t, const size_t *idx, size_t k)
{
    struct my *m = s->priv;
    while (k > 0) {
        unsigned b = chunk_bits(m, idx, k);
        size_t c = 1u << b;
        MYSQL_STMT *st = insert_stmt(s, t, b);
        if (!st)
            return -1;
        for (size_t i = 0; i < c; i++)
            bind_row(&m->binds[i * HP_MYSQL_ROW_COLS], &m->rows[idx[i]]);
        if (mysql_stmt_bind_param(st, m->binds) != 0 || mysql_stmt_execute(st) != 0) {
            char what[96];
            snprintf(what, sizeof(what), "insert into %s%s", m->prefix, t->reporter);
            return stmt_failed(s, what, st);
        }
        idx += c;
        k -= c;
    }
    return 0;
}

/* Insert rows[first, first + count) (no commit): 0, 1 data refused, -1. */
static int insert_rows(struct hp_sink *s, size_t first, size_t count)
{
    struct my *m = s->priv;
    for (size_t t = 0; t < m->ntables; t++) {
        size_t k = 0;
        for (size_t i = first; i < first + count; i++)
            if (m->rows[i].table == t)
                m->idx[k++] = i;
        int rc = k ? insert_table(s, &m->tables[t], m->idx, k) : 0;
        if (rc)
            return rc;
    }
    for (size_t i = first; i < first + count; i++) {
        int rc = m->rows[i].table == NO_TABLE ? insert_session(s, &m->rows[i]) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

static int commit(struct hp_sink *s)
{
    struct my *m = s->priv;
    if (mysql_commit(m->db) != 0) {
        db_failed(s, "commit", mysql_errno(m->db), mysql_error(m->db));
        return -1;
    }
    return 0;
}

/* The batch was refused: insert row by row, dropping refused rows. */
static int insert_one_by_one(struct hp_sink *s, size_t nrows)
{
    struct my *m = s->priv;
    for (size_t i = 0; i < nrows; i++) {
        struct my_row *r = &m->rows[i];
        int rc = insert_rows(s, i, 1);
        if (rc > 0) {
            hp_debug("sink %s: dead-lettering %s #%llu: %s", s->name, r->out->msg->reporter,
                     (unsigned long long)r->seq, s->error);
            hp_complain(&m->refused, HP_LOG_WARN,
                        "sink %s: rows the server refuses go to the dead-letter file "
                        "(counted as rejected and dead_lettered): %s",
                        s->name, s->error);
            hp_dead_letter(s, r->out->msg, s->error);
            s->error[0] = '\0';
            mysql_rollback(m->db);
            hp_sink_ack(s, r->out->pos, HP_ACK_DROP);
            continue;
        }
        if (rc < 0 || commit(s) != 0)
            return -1;
        hp_sink_ack(s, r->out->pos, HP_ACK_OK);
    }
    return 0;
}

static int reserve(struct my *m, size_t n)
{
    if (n <= m->caprows)
        return 0;
    struct my_row *rows = realloc(m->rows, n * sizeof(*rows));
    if (rows)
        m->rows = rows;
    size_t *idx = rows ? realloc(m->idx, n * sizeof(*idx)) : NULL;
    if (idx)
        m->idx = idx;
    if (!idx)
        return -1;
    m->caprows = n;
    return 0;
}

/* Parse the batch into rows (m->nrows of them) and create missing tables
 * (before the transaction: DDL commits implicitly). 0 or -1. */
static int prepare_batch(struct hp_sink *s, const struct hp_out *out, size_t n)
{
    struct my *m = s->priv;
    if (reserve(m, n) != 0)
        return hp_sink_fail(s, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int rc = parse_row(s, &out[i], &m->rows[m->nrows]);
        if (rc < 0)
            return hp_sink_fail(s, "out of memory");
        if (rc > 0)
            hp_sink_ack(s, out[i].pos, HP_ACK_DROP);
        else
            m->nrows++;
    }
    for (size_t i = 0; i < m->nrows; i++)
        if (m->rows[i].table != NO_TABLE && ensure_table(s, &m->tables[m->rows[i].table]) != 0)
            return -1;
    return 0;
}

static int my_write(struct hp_sink *s, const struct hp_out *out, size_t n)
{
    struct my *m = s->priv;
    m->nrows = 0;
    int rc = prepare_batch(s, out, n);
    if (rc == 0)
        rc = insert_rows(s, 0, m->nrows);
    if (rc == 0)
        rc = commit(s);
    if (rc > 0) { /* some row was refused: find it */
        mysql_rollback(m->db);
        s->error[0] = '\0';
        rc = insert_one_by_one(s, m->nrows);
    } else if (rc == 0) {
        for (size_t i = 0; i < m->nrows; i++)
            hp_sink_ack(s, m->rows[i].out->pos, HP_ACK_OK);
    }
    for (size_t i = 0; i < m->nrows; i++) {
        json_object_put(m->rows[i].env);
        m->rows[i].env = NULL;
    }
    m->nrows = 0;
    return rc < 0 ? -1 : (int)n;
}

/* ---- connection ------------------------------------------------------ */

/* The server's max_allowed_packet, or 0 if it cannot be read (then no
 * row is refused up front). */
static unsigned long server_max_packet(MYSQL *db)
{
    unsigned long v = 0;
    if (mysql_real_query(db, "SELECT @@max_allowed_packet", 27) != 0)
        return 0;
    MYSQL_RES *res = mysql_store_result(db);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (row && row[0])
        v = strtoul(row[0], NULL, 10);
    mysql_free_result(res);
    return v;
}

static MYSQL *db_connect(struct hp_sink *s)
{
    struct my *m = s->priv;
    MYSQL *db = mysql_init(NULL);
    if (!db) {
        hp_sink_fail(s, "out of memory");
        return NULL;
    }
    mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &m->timeout);
    mysql_options(db, MYSQL_OPT_READ_TIMEOUT, &m->timeout);
    mysql_options(db, MYSQL_OPT_WRITE_TIMEOUT, &m->timeout);
    mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    bool local = hp_mysql_is_local(m->via_host, m->via_socket);
    bool tls = hp_mysql_tls_required(m->ssl, local, m->plaintext_remote);
    if (tls && !m->ssl && !m->tls_told) {
        hp_info("sink %s: %s is not on this host: TLS required (set plaintext_remote = true "
                "to allow plaintext)",
                s->name, m->host);
        m->tls_told = true;
    }
    if (tls) {
        my_bool on = 1, verify = m->ssl_verify;
        mysql_ssl_set(db, *m->ssl_key ? m->ssl_key : NULL, *m->ssl_cert ? m->ssl_cert : NULL,
                      *m->ssl_ca ? m->ssl_ca : NULL, NULL, NULL);
        mysql_options(db, MYSQL_OPT_SSL_ENFORCE, &on);
        mysql_options(db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    }
    if (m->via_socket) {
        unsigned proto = MYSQL_PROTOCOL_SOCKET;
        mysql_options(db, MYSQL_OPT_PROTOCOL, &proto);
    }
    if (!mysql_real_connect(db, m->via_host, m->user, m->password, m->database, m->port,
                            m->via_socket, 0)) {
        unsigned code = mysql_errno(db);
        const char *hint = code == ER_BAD_DB_ERROR ? "; create the database first (docs/mysql.md)"
                           : code == ER_DBACCESS_DENIED_ERROR
                               ? "; check that the database exists and the user is granted on it"
                               : "";
        hp_sink_fail(s, "cannot connect to %s: %s (%u)%s", m->target, mysql_error(db), code, hint);
        mysql_close(db);
        return NULL;
    }
    mysql_autocommit(db, 0);
    m->max_packet = server_max_packet(db);
    return db;
}

static void my_close(struct hp_sink *s)
{
    struct my *m = s->priv;
    tables_reset(m);
    if (m->db)
        mysql_close(m->db);
    m->db = NULL;
}

static int my_open(struct hp_sink *s)
{
    struct my *m = s->priv;
    if (!(m->db = db_connect(s)))
        return -1;
    char table[64];
    snprintf(table, sizeof(table), "%ssessions", m->prefix);
    if (create_table(s, hp_mysql_sessions_ddl(m->sql, sizeof(m->sql), m->prefix), table) != 0 ||
        upgrade_table(s, table, NULL) != 0) {
        my_close(s);
        return -1;
    }
    if (!m->connected_once)
        hp_info("sink %s: connected to %s (server %s)", s->name, m->target,
                mysql_get_server_info(m->db));
    m->connected_once = true;
    return 0;
}

/* --check --connect: log in and report, without creating anything. */
static int my_check(struct hp_sink *s)
{
    s->error[0] = '\0';
    MYSQL *db = db_connect(s);
    if (!db) {
        fprintf(stderr, "sink %s (mysql): %s\n", s->name, s->error);
        return 1;
    }
    fprintf(stderr, "sink %s (mysql): ok (%s, server %s)\n", s->name,
            ((struct my *)s->priv)->target, mysql_get_server_info(db));
    mysql_close(db);
    return 0;
}

/* ---- options --------------------------------------------------------- */

/* clang-format off */
static const struct hp_opt my_opts[] = {
    {.name = "host", .type = HP_OPT_STRING, .def = "localhost",
     .help = "server name or address (TCP); \"localhost\" means the default socket "
             "(" MYSQL_DEFAULT_SOCKET "), or TCP to 127.0.0.1 when port is set",
     HP_AT_STR(struct my, host)},
    {.name = "port", .type = HP_OPT_INT, .def = "3306", .min = 1, .max = 65535,
     .help = "server TCP port",
     HP_AT_INT(struct my, port_opt)},
    {.name = "socket", .type = HP_OPT_STRING, .def = "",
     .help = "Unix socket path; when set, host and port are not used",
     HP_AT_STR(struct my, socket)},
    {.name = "user", .type = HP_OPT_STRING, .def = "hostpulse", .help = "user name",
     HP_AT_STR(struct my, user)},
    {.name = "password", .type = HP_OPT_STRING, .def = "", .help = "password (never logged)",
     HP_AT_STR(struct my, password)},
    {.name = "database", .type = HP_OPT_STRING, .def = "hostpulse",
     .help = "database (must exist; tables are created in it)",
     HP_AT_STR(struct my, database)},
    {.name = "table_prefix", .type = HP_OPT_STRING, .def = "hp_",
     .help = "prefix of every table name: letters, digits, _",
     HP_AT_STR(struct my, prefix)},
    {.name = "timeout", .type = HP_OPT_FLOAT, .def = "10.0", .min = 1, .max = 3600,
     .help = "connect, read and write timeout, seconds",
     HP_AT_FLOAT(struct my, timeout_opt)},
    {.name = "ssl", .type = HP_OPT_BOOL, .def = "false",
     .help = "require TLS (implied by ssl_ca, ssl_cert, ssl_key)",
     HP_AT_BOOL(struct my, ssl_opt)},
    {.name = "ssl_ca", .type = HP_OPT_STRING, .def = "", .help = "CA certificate file (PEM)",
     HP_AT_STR(struct my, ssl_ca)},
    {.name = "ssl_cert", .type = HP_OPT_STRING, .def = "",
     .help = "client certificate file (PEM)",
     HP_AT_STR(struct my, ssl_cert)},
    {.name = "ssl_key", .type = HP_OPT_STRING, .def = "", .help = "client key file (PEM)",
     HP_AT_STR(struct my, ssl_key)},
    {.name = "ssl_verify", .type = HP_OPT_BOOL, .def = "true",
     .help = "with TLS: check the server certificate and name",
     HP_AT_BOOL(struct my, ssl_verify)},
    {.name = "plaintext_remote", .type = HP_OPT_BOOL, .def = "false",
     .help = "allow an unencrypted connection to a server that is not on this host",
     HP_AT_BOOL(struct my, plaintext_remote)},
    {0},
};
/* clang-format on */

/* Checks the table cannot express. Returns the number of problems. */
static int check_opts(struct hp_sink *s, const config_setting_t *cfg, struct hp_errs *errs)
{
    struct my *m = s->priv;
    int bad = 0;
    if (!hp_mysql_ident_ok(m->prefix, PREFIX_MAX, true)) {
        hp_errs_add(errs, config_setting_get_member(cfg, "table_prefix"),
                    "sink %s: table_prefix must be at most %d letters, digits or _", s->name,
                    PREFIX_MAX);
        bad++;
    }
    if (*m->socket && cfg && config_setting_get_member(cfg, "host")) {
        hp_errs_add(errs, config_setting_get_member(cfg, "socket"),
                    "sink %s: set either host (TCP) or socket, not both", s->name);
        bad++;
    }
    if (!*m->user || !*m->database) {
        hp_errs_add(errs, cfg, "sink %s: user and database must not be empty", s->name);
        bad++;
    }
    return bad;
}

/* The one rule for where the sink connects (docs/mysql.md, "Where"):
 * `socket` set: that Unix socket. `host = "localhost"` with `port` given:
 * TCP to 127.0.0.1:port (libmysqlclient alone would take the default socket
 * and ignore the port). "localhost" without a port: the default socket,
 * named here so messages show the path really used. Any other host: TCP.
 * m->target names what is used, never the ignored option. */
static void resolve_target(struct my *m, bool port_given)
{
    bool localhost = strcmp(m->host, "localhost") == 0;
    m->via_socket = *m->socket ? m->socket : localhost && !port_given ? MYSQL_DEFAULT_SOCKET : NULL;
    m->via_host = m->via_socket ? "localhost" : localhost ? "127.0.0.1" : m->host;
    if (m->via_socket)
        snprintf(m->target, sizeof(m->target), "%s@%s/%s", m->user, m->via_socket, m->database);
    else
        snprintf(m->target, sizeof(m->target), "%s@%s:%u/%s", m->user, m->via_host, m->port,
                 m->database);
}

static int my_init(struct hp_sink *s, const config_setting_t *cfg, struct hp_errs *errs)
{
    struct my *m = s->priv;
    m->port = (unsigned)m->port_opt;
    m->timeout = (unsigned)(m->timeout_opt + 0.5);
    m->ssl = m->ssl_opt || *m->ssl_ca || *m->ssl_cert || *m->ssl_key;
    resolve_target(m, cfg && config_setting_get_member(cfg, "port"));
    m->tok = json_tokener_new();
    m->binds = calloc(CHUNK_ROWS * HP_MYSQL_ROW_COLS, sizeof(*m->binds));
    return check_opts(s, cfg, errs) || !m->tok || !m->binds ? -1 : 0;
}

static void my_fini(struct hp_sink *s)
{
    struct my *m = s->priv;
    my_close(s);
    free(m->tables);
    free(m->rows);
    free(m->idx);
    free(m->binds);
    if (m->tok)
        json_tokener_free(m->tok);
}

const struct hp_sink_ops hp_sink_mysql = {
    .type = "mysql",
    .opts = my_opts,
    .priv_size = sizeof(struct my),
    .init = my_init,
    .open = my_open,
    .write = my_write,
    .close = my_close,
    .fini = my_fini,
    .check = my_check,
};
