/* SPDX-License-Identifier: Apache-2.0 */
/* mysql_schema.c -- DDL and INSERT text for the MySQL/MariaDB sink.
 *
 * One table per reporter: typed columns for the envelope (host, session,
 * seq, ts_ms as Unix epoch milliseconds like the JSON's ts, ts_dt as
 * DATETIME(3) UTC) and `data`, a JSON column holding the message's whole
 * data object. For the reporters analysts query most, the main fields are
 * also VIRTUAL generated columns of their numeric type (gen_cols below),
 * so `AVG(percent)` needs no JSON_VALUE and no cast; the first of each
 * table is indexed, and every table has an index on time alone for
 * per-minute rollups across hosts. The INSERTs name only the envelope
 * columns, so a DBA may add further generated columns (docs/mysql.md).
 * The unique key (host, session, seq) turns a resend after a lost commit
 * into a no-op. A `sessions` table keeps one row per agent run. */
#include "transport/sinks/mysql/mysql_schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A reporter's field as a generated column. */
struct gen_col {
    const char *reporter, *name, *type, *path;
};

/* Text must match etc/mysql-schema.sql (checked by the integration test).
 * Order: per reporter, the first is indexed. */
static const struct gen_col gen_cols[] = {
    {"cpu", "percent", "DOUBLE", "$.percent"},
    {"cpu", "user", "DOUBLE", "$.user"},
    {"cpu", "system", "DOUBLE", "$.system"},
    {"cpu", "iowait", "DOUBLE", "$.iowait"},
    {"cpu", "load1", "DOUBLE", "$.load1"},
    {"mem", "percent", "DOUBLE", "$.percent"},
    {"mem", "available", "BIGINT UNSIGNED", "$.available"},
    {"mem", "used", "BIGINT UNSIGNED", "$.used"},
    {"uptime", "uptime", "DOUBLE", "$.uptime"},
    {"net", "bytes_recv_per_sec", "DOUBLE", "$.total.bytes_recv_per_sec"},
    {"net", "bytes_sent_per_sec", "DOUBLE", "$.total.bytes_sent_per_sec"},
    {"disk", "root_percent", "DOUBLE", "$.filesystems.\"/\".percent"},
    {"agent", "dropped", "BIGINT UNSIGNED", "$.dropped"},
};

static const char reporter_head[] =
    "CREATE TABLE IF NOT EXISTS `%s%s` (\n"
    "  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,\n"
    "  `host` VARCHAR(255) NOT NULL,\n"
    "  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,\n"
    "  `seq` BIGINT UNSIGNED NOT NULL,\n"
    "  `ts_ms` BIGINT NOT NULL COMMENT 'sample time, Unix epoch ms',\n"
    "  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',\n"
    "  `data` JSON NOT NULL COMMENT 'the message data object',\n";
static const char gen_line[] = "  `%s` %s AS (JSON_VALUE(`data`, '%s')) VIRTUAL,\n";
static const char reporter_keys[] = "  PRIMARY KEY (`id`),\n"
                                    "  UNIQUE KEY `message` (`host`, `session`, `seq`),\n"
                                    "  KEY `host_time` (`host`, `ts_dt`),\n"
                                    "  KEY `time` (`ts_dt`)";
static const char gen_key[] = ",\n  KEY `%s` (`%s`)";
static const char reporter_tail[] = "\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

static const char sessions_ddl[] =
    "CREATE TABLE IF NOT EXISTS `%ssessions` (\n"
    "  `host` VARCHAR(255) NOT NULL,\n"
    "  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,\n"
    "  `seq` BIGINT UNSIGNED NOT NULL COMMENT 'of the latest session message',\n"
    "  `ts_ms` BIGINT NOT NULL COMMENT 'latest session message, Unix epoch ms',\n"
    "  `ts_dt` DATETIME(3) NOT NULL COMMENT 'latest session message, UTC',\n"
    "  `description` TEXT NULL,\n"
    "  `start_ms` BIGINT NULL COMMENT 'agent start, Unix epoch ms',\n"
    "  `start_dt` DATETIME(3) NULL COMMENT 'agent start, UTC',\n"
    "  `version` VARCHAR(64) NULL,\n"
    "  `boot_id` VARCHAR(64) NULL,\n"
    "  `data` JSON NOT NULL COMMENT 'the session message data object',\n"
    "  PRIMARY KEY (`host`, `session`),\n"
    "  KEY `start` (`start_dt`)\n"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

bool hp_mysql_ident_ok(const char *s, size_t max, bool allow_empty)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!(s[n] == '_' || (s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'z') ||
              (s[n] >= 'A' && s[n] <= 'Z')))
            return false;
    return n <= max && (n > 0 || allow_empty);
}

static size_t fmt(char *buf, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));
static size_t fmt(char *buf, size_t len, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(buf, len, f, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

/* Appends to buf at *n; false (and *n = len) once buf is full. */
static bool append(char *buf, size_t len, size_t *n, const char *f, ...)
    __attribute__((format(printf, 4, 5)));
static bool append(char *buf, size_t len, size_t *n, const char *f, ...)
{
    if (*n >= len)
        return false;
    va_list ap;
    va_start(ap, f);
    int k = vsnprintf(buf + *n, len - *n, f, ap);
    va_end(ap);
    *n = k < 0 || (size_t)k >= len - *n ? len : *n + (size_t)k;
    return *n < len;
}

size_t hp_mysql_reporter_ddl(char *buf, size_t len, const char *prefix, const char *reporter)
{
    size_t n = 0, ncols = sizeof(gen_cols) / sizeof(gen_cols[0]);
    const struct gen_col *first = NULL;
    append(buf, len, &n, reporter_head, prefix, reporter);
    for (size_t i = 0; i < ncols; i++)
        if (strcmp(gen_cols[i].reporter, reporter) == 0) {
            first = first ? first : &gen_cols[i];
            append(buf, len, &n, gen_line, gen_cols[i].name, gen_cols[i].type, gen_cols[i].path);
        }
    append(buf, len, &n, "%s", reporter_keys);
    if (first)
        append(buf, len, &n, gen_key, first->name, first->name);
    return append(buf, len, &n, "%s", reporter_tail) ? n : 0;
}

size_t hp_mysql_sessions_ddl(char *buf, size_t len, const char *prefix)
{
    return fmt(buf, len, sessions_ddl, prefix);
}

size_t hp_mysql_reporter_insert(char *buf, size_t len, const char *prefix, const char *reporter,
                                size_t rows)
{
    size_t n = fmt(
        buf, len, "INSERT INTO `%s%s` (`host`, `session`, `seq`, `ts_ms`, `ts_dt`, `data`) VALUES ",
        prefix, reporter);
    static const char row[] = "(?,?,?,?,?,?)";
    static const char tail[] = " ON DUPLICATE KEY UPDATE `id` = `id`";
    if (n == 0 || rows == 0 || n + rows * sizeof(row) + sizeof(tail) > len)
        return 0;
    for (size_t i = 0; i < rows; i++) {
        if (i)
            buf[n++] = ',';
        memcpy(buf + n, row, sizeof(row) - 1);
        n += sizeof(row) - 1;
    }
    memcpy(buf + n, tail, sizeof(tail));
    return n + sizeof(tail) - 1;
}

size_t hp_mysql_sessions_insert(char *buf, size_t len, const char *prefix)
{
    return fmt(buf, len,
               "INSERT INTO `%ssessions` (`host`, `session`, `seq`, `ts_ms`, `ts_dt`, "
               "`description`, `start_ms`, `start_dt`, `version`, `boot_id`, `data`) "
               "VALUES (?,?,?,?,?,?,?,?,?,?,?) ON DUPLICATE KEY UPDATE "
               "`seq` = VALUES(`seq`), `ts_ms` = VALUES(`ts_ms`), `ts_dt` = VALUES(`ts_dt`), "
               "`description` = VALUES(`description`), `version` = VALUES(`version`), "
               "`boot_id` = VALUES(`boot_id`), `data` = VALUES(`data`)",
               prefix);
}

/* Step `step` of the upgrade of a reporter table (or, with reporter NULL,
 * of the sessions table) made before ts_ms: MariaDB's ADD COLUMN IF NOT
 * EXISTS makes a repeated step harmless. The result equals a table made
 * by the DDL above (same columns, order and keys). */
static size_t upgrade_reporter(char *buf, size_t len, const char *t, const char *reporter, int step)
{
    size_t n = 0, ncols = sizeof(gen_cols) / sizeof(gen_cols[0]);
    const struct gen_col *first = NULL;
    if (step == 1)
        return fmt(buf, len, "UPDATE `%s` SET `ts_ms` = ROUND(`ts` * 1000)", t);
    if (step == 2)
        return fmt(buf, len, "ALTER TABLE `%s` ALTER COLUMN `ts_ms` DROP DEFAULT, DROP COLUMN `ts`",
                   t);
    if (step != 0)
        return 0;
    append(buf, len, &n,
           "ALTER TABLE `%s` ADD COLUMN IF NOT EXISTS `ts_ms` BIGINT NOT NULL DEFAULT 0 "
           "COMMENT 'sample time, Unix epoch ms' AFTER `seq`",
           t);
    for (size_t i = 0; i < ncols; i++)
        if (strcmp(gen_cols[i].reporter, reporter) == 0) {
            first = first ? first : &gen_cols[i];
            append(buf, len, &n,
                   ", ADD COLUMN IF NOT EXISTS `%s` %s AS (JSON_VALUE(`data`, '%s')) VIRTUAL",
                   gen_cols[i].name, gen_cols[i].type, gen_cols[i].path);
        }
    append(buf, len, &n, ", ADD KEY IF NOT EXISTS `time` (`ts_dt`)");
    if (first)
        append(buf, len, &n, ", ADD KEY IF NOT EXISTS `%s` (`%s`)", first->name, first->name);
    return n < len ? n : 0;
}

static size_t upgrade_sessions(char *buf, size_t len, const char *t, int step)
{
    switch (step) {
    case 0:
        return fmt(buf, len,
                   "ALTER TABLE `%s` ADD COLUMN IF NOT EXISTS `ts_ms` BIGINT NOT NULL DEFAULT 0 "
                   "COMMENT 'latest session message, Unix epoch ms' AFTER `seq`, "
                   "ADD COLUMN IF NOT EXISTS `start_ms` BIGINT NULL "
                   "COMMENT 'agent start, Unix epoch ms' AFTER `description`",
                   t);
    case 1:
        return fmt(
            buf, len,
            "UPDATE `%s` SET `ts_ms` = ROUND(`ts` * 1000), `start_ms` = ROUND(`start` * 1000)", t);
    case 2:
        return fmt(buf, len,
                   "ALTER TABLE `%s` ALTER COLUMN `ts_ms` DROP DEFAULT, DROP COLUMN `ts`, "
                   "DROP COLUMN `start`",
                   t);
    default:
        return 0;
    }
}

size_t hp_mysql_upgrade(char *buf, size_t len, const char *prefix, const char *reporter, int step)
{
    char t[128];
    if (!fmt(t, sizeof(t), "%s%s", prefix, reporter ? reporter : "sessions"))
        return 0;
    return reporter ? upgrade_reporter(buf, len, t, reporter, step)
                    : upgrade_sessions(buf, len, t, step);
}
