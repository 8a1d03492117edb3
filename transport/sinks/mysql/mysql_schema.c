/* mysql_schema.c -- DDL and INSERT text for the MySQL/MariaDB sink.
 *
 * One generic table per reporter: fixed typed columns for the envelope
 * (host, session, seq, ts as Unix seconds like pypro's MySQL logger, ts_dt
 * as DATETIME(3) UTC) and `data`, a JSON column holding the message's whole
 * data object. Reporters change without the sink knowing them; typed
 * columns for chosen fields are added by a DBA as generated columns (see
 * docs/mysql.md), which the INSERTs here never name, so they keep working.
 * The unique key (host, session, seq) turns a resend after a lost commit
 * into a no-op. A `sessions` table keeps one row per agent run. */
#include "transport/sinks/mysql/mysql_schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Text must match etc/mysql-schema.sql (checked by the integration test). */
static const char reporter_ddl[] = "CREATE TABLE IF NOT EXISTS `%s%s` (\n"
                                   "  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,\n"
                                   "  `host` VARCHAR(255) NOT NULL,\n"
                                   "  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,\n"
                                   "  `seq` BIGINT UNSIGNED NOT NULL,\n"
                                   "  `ts` DOUBLE NOT NULL COMMENT 'sample time, Unix seconds',\n"
                                   "  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',\n"
                                   "  `data` JSON NOT NULL COMMENT 'the message data object',\n"
                                   "  PRIMARY KEY (`id`),\n"
                                   "  UNIQUE KEY `message` (`host`, `session`, `seq`),\n"
                                   "  KEY `host_time` (`host`, `ts_dt`)\n"
                                   ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

static const char sessions_ddl[] =
    "CREATE TABLE IF NOT EXISTS `%ssessions` (\n"
    "  `host` VARCHAR(255) NOT NULL,\n"
    "  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,\n"
    "  `seq` BIGINT UNSIGNED NOT NULL COMMENT 'of the latest session message',\n"
    "  `ts` DOUBLE NOT NULL COMMENT 'latest session message, Unix seconds',\n"
    "  `ts_dt` DATETIME(3) NOT NULL COMMENT 'latest session message, UTC',\n"
    "  `description` TEXT NULL,\n"
    "  `start` DOUBLE NULL COMMENT 'agent start, Unix seconds',\n"
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

size_t hp_mysql_reporter_ddl(char *buf, size_t len, const char *prefix, const char *reporter)
{
    return fmt(buf, len, reporter_ddl, prefix, reporter);
}

size_t hp_mysql_sessions_ddl(char *buf, size_t len, const char *prefix)
{
    return fmt(buf, len, sessions_ddl, prefix);
}

size_t hp_mysql_reporter_insert(char *buf, size_t len, const char *prefix, const char *reporter,
                                size_t rows)
{
    size_t n = fmt(buf, len,
                   "INSERT INTO `%s%s` (`host`, `session`, `seq`, `ts`, `ts_dt`, `data`) VALUES ",
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
               "INSERT INTO `%ssessions` (`host`, `session`, `seq`, `ts`, `ts_dt`, "
               "`description`, `start`, `start_dt`, `version`, `boot_id`, `data`) "
               "VALUES (?,?,?,?,?,?,?,?,?,?,?) ON DUPLICATE KEY UPDATE "
               "`seq` = VALUES(`seq`), `ts` = VALUES(`ts`), `ts_dt` = VALUES(`ts_dt`), "
               "`description` = VALUES(`description`), `version` = VALUES(`version`), "
               "`boot_id` = VALUES(`boot_id`), `data` = VALUES(`data`)",
               prefix);
}
