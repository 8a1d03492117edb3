/* SPDX-License-Identifier: Apache-2.0 */
/* mysql_schema.h -- the MySQL/MariaDB sink's tables: DDL and the INSERT
 * statements that fill them. The same schema is in etc/mysql-schema.sql
 * for DBAs (tests/integration/test_mysql.py checks that they agree).
 *
 * Names are built from table_prefix and a reporter name; both are checked
 * with hp_mysql_ident_ok() first, so they never need escaping. */
#ifndef HP_MYSQL_SCHEMA_H
#define HP_MYSQL_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

/* Columns bound per row by the reporter-table INSERT, and by the sessions
 * INSERT. */
#define HP_MYSQL_ROW_COLS     6
#define HP_MYSQL_SESSION_COLS 11

/* True if s is a usable identifier part: [A-Za-z0-9_], at most max chars
 * (may be empty when allow_empty). */
bool hp_mysql_ident_ok(const char *s, size_t max, bool allow_empty);

/* Write into buf the statement text; each returns its length, or 0 if buf
 * is too small. */
size_t hp_mysql_reporter_ddl(char *buf, size_t len, const char *prefix, const char *reporter);
size_t hp_mysql_sessions_ddl(char *buf, size_t len, const char *prefix);
/* INSERT of rows rows (host, session, seq, ts_ms, ts_dt, data) that leaves an
 * existing (host, session, seq) row alone. */
size_t hp_mysql_reporter_insert(char *buf, size_t len, const char *prefix, const char *reporter,
                                size_t rows);
/* INSERT of one session row (host, session, seq, ts_ms, ts_dt, description,
 * start_ms, start_dt, version, boot_id, data), updating a known session. */
size_t hp_mysql_sessions_insert(char *buf, size_t len, const char *prefix);

/* Statement `step` (0, 1, 2) of upgrading a table made before ts_ms (it
 * has `ts` in Unix seconds) to the layout above, in MariaDB syntax;
 * reporter NULL: the sessions table. 0 past the last step or if buf is
 * too small. */
size_t hp_mysql_upgrade(char *buf, size_t len, const char *prefix, const char *reporter, int step);

#endif
