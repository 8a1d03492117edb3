-- mysql-schema.sql -- the tables the hostpulse MySQL/MariaDB sink writes.
--
-- The agent creates these itself when they are missing (CREATE TABLE IF NOT
-- EXISTS, with the same text as transport/sinks/mysql/mysql_schema.c), so
-- loading this file is optional: it is for DBAs who create the schema up
-- front and give the agent's user only INSERT/SELECT (see docs/mysql.md).
-- Table names assume the default table_prefix "hp_"; replace it if you set
-- another.
--
--   mariadb hostpulse < /usr/share/hostpulse/mysql-schema.sql
--
-- One table per reporter: the envelope in typed columns (ts_ms: Unix epoch
-- milliseconds, as the JSON's ts; ts_dt: the same instant as DATETIME(3),
-- UTC), the whole data object in `data` (JSON), and for the main fields of
-- cpu, mem, net, disk, uptime and agent VIRTUAL generated columns of their
-- numeric type, the first of them indexed. Every table has an index on
-- ts_dt alone, for rollups across hosts:
--
--   SELECT DATE_FORMAT(ts_dt, '%Y-%m-%d %H:%i') AS minute, AVG(percent)
--     FROM hp_cpu WHERE ts_dt > UTC_TIMESTAMP() - INTERVAL 1 HOUR
--    GROUP BY minute;
--
-- A reporter not listed here gets its table created by the agent on its
-- first message. Generated columns work on MariaDB >= 10.2.3 and
-- MySQL >= 8.0.21 (JSON_VALUE).

-- One row per agent run, from the `session` message.
CREATE TABLE IF NOT EXISTS `hp_sessions` (
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL COMMENT 'of the latest session message',
  `ts_ms` BIGINT NOT NULL COMMENT 'latest session message, Unix epoch ms',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'latest session message, UTC',
  `description` TEXT NULL,
  `start_ms` BIGINT NULL COMMENT 'agent start, Unix epoch ms',
  `start_dt` DATETIME(3) NULL COMMENT 'agent start, UTC',
  `version` VARCHAR(64) NULL,
  `boot_id` VARCHAR(64) NULL,
  `data` JSON NOT NULL COMMENT 'the session message data object',
  PRIMARY KEY (`host`, `session`),
  KEY `start` (`start_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter agent
CREATE TABLE IF NOT EXISTS `hp_agent` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts_ms` BIGINT NOT NULL COMMENT 'sample time, Unix epoch ms',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  `dropped` BIGINT UNSIGNED AS (JSON_VALUE(`data`, '$.dropped')) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`),
  KEY `time` (`ts_dt`),
  KEY `dropped` (`dropped`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter cpu
CREATE TABLE IF NOT EXISTS `hp_cpu` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts_ms` BIGINT NOT NULL COMMENT 'sample time, Unix epoch ms',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  `percent` DOUBLE AS (JSON_VALUE(`data`, '$.percent')) VIRTUAL,
  `user` DOUBLE AS (JSON_VALUE(`data`, '$.user')) VIRTUAL,
  `system` DOUBLE AS (JSON_VALUE(`data`, '$.system')) VIRTUAL,
  `iowait` DOUBLE AS (JSON_VALUE(`data`, '$.iowait')) VIRTUAL,
  `load1` DOUBLE AS (JSON_VALUE(`data`, '$.load1')) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`),
  KEY `time` (`ts_dt`),
  KEY `percent` (`percent`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter disk
CREATE TABLE IF NOT EXISTS `hp_disk` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts_ms` BIGINT NOT NULL COMMENT 'sample time, Unix epoch ms',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  `root_percent` DOUBLE AS (JSON_VALUE(`data`, '$.filesystems."/".percent')) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`),
  KEY `time` (`ts_dt`),
  KEY `root_percent` (`root_percent`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter ipaddr
CREATE TABLE IF NOT EXISTS `hp_ipaddr` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts_ms` BIGINT NOT NULL COMMENT 'sample time, Unix epoch ms',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`),
  KEY `time` (`ts_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter mem
CREATE TABLE IF NOT EXISTS `hp_mem` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts_ms` BIGINT NOT NULL COMMENT 'sample time, Unix epoch ms',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  `percent` DOUBLE AS (JSON_VALUE(`data`, '$.percent')) VIRTUAL,
  `available` BIGINT UNSIGNED AS (JSON_VALUE(`data`, '$.available')) VIRTUAL,
  `used` BIGINT UNSIGNED AS (JSON_VALUE(`data`, '$.used')) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`),
  KEY `time` (`ts_dt`),
  KEY `percent` (`percent`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter net
CREATE TABLE IF NOT EXISTS `hp_net` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts_ms` BIGINT NOT NULL COMMENT 'sample time, Unix epoch ms',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  `bytes_recv_per_sec` DOUBLE AS (JSON_VALUE(`data`, '$.total.bytes_recv_per_sec')) VIRTUAL,
  `bytes_sent_per_sec` DOUBLE AS (JSON_VALUE(`data`, '$.total.bytes_sent_per_sec')) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`),
  KEY `time` (`ts_dt`),
  KEY `bytes_recv_per_sec` (`bytes_recv_per_sec`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter process
CREATE TABLE IF NOT EXISTS `hp_process` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts_ms` BIGINT NOT NULL COMMENT 'sample time, Unix epoch ms',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`),
  KEY `time` (`ts_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter temperature
CREATE TABLE IF NOT EXISTS `hp_temperature` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts_ms` BIGINT NOT NULL COMMENT 'sample time, Unix epoch ms',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`),
  KEY `time` (`ts_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter uptime
CREATE TABLE IF NOT EXISTS `hp_uptime` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts_ms` BIGINT NOT NULL COMMENT 'sample time, Unix epoch ms',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  `uptime` DOUBLE AS (JSON_VALUE(`data`, '$.uptime')) VIRTUAL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`),
  KEY `time` (`ts_dt`),
  KEY `uptime` (`uptime`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter cgroup
CREATE TABLE IF NOT EXISTS `hp_cgroup` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts_ms` BIGINT NOT NULL COMMENT 'sample time, Unix epoch ms',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`),
  KEY `time` (`ts_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter netstat
CREATE TABLE IF NOT EXISTS `hp_netstat` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts_ms` BIGINT NOT NULL COMMENT 'sample time, Unix epoch ms',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`),
  KEY `time` (`ts_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter pressure
CREATE TABLE IF NOT EXISTS `hp_pressure` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts_ms` BIGINT NOT NULL COMMENT 'sample time, Unix epoch ms',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`),
  KEY `time` (`ts_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- More typed columns: add generated columns. The agent names its columns
-- in every INSERT, so it keeps working with any columns added. VIRTUAL
-- columns are computed on read and can be indexed (the index stores them);
-- STORED ones also take space in the row.
--
-- ALTER TABLE `hp_uptime`
--   ADD COLUMN `boot_time` BIGINT AS (JSON_VALUE(`data`, '$.boot_time')) VIRTUAL;
--
-- ALTER TABLE `hp_pressure`
--   ADD COLUMN `memory_full_avg10` DOUBLE
--     AS (JSON_VALUE(`data`, '$.memory.full.avg10')) VIRTUAL;
--
-- ALTER TABLE `hp_netstat`
--   ADD COLUMN `retrans_per_sec` DOUBLE
--     AS (JSON_VALUE(`data`, '$.tcp.retrans_segs_per_sec')) VIRTUAL,
--   ADD COLUMN `listen_overflows_per_sec` DOUBLE
--     AS (JSON_VALUE(`data`, '$.tcp_ext.listen_overflows_per_sec')) VIRTUAL;
--
-- One group of `hp_cgroup` (the group path is a key of `groups`, quoted
-- in the JSON path because it holds '/' and '.'):
--
-- SELECT ts_dt,
--        JSON_VALUE(`data`, '$.groups."/system.slice/nginx.service".cpu.percent'),
--        JSON_VALUE(`data`, '$.groups."/system.slice/nginx.service".memory.current')
--   FROM `hp_cgroup` WHERE host = 'web01' ORDER BY ts_dt DESC LIMIT 10;
--
-- Nested data (per cpu, per interface, per process) stays in `data`. Read
-- one member with a JSON path, or turn a list into rows with JSON_TABLE
-- (MariaDB >= 10.6, MySQL 8); field names as in
-- docs/schema/message.schema.json:
--
-- SELECT ts_dt, JSON_VALUE(`data`, '$.interfaces.eth0.bytes_recv_per_sec')
--   FROM `hp_net` WHERE host = 'web01' ORDER BY ts_dt DESC LIMIT 10;
--
-- SELECT c.ts_dt, p.cpu, p.percent
--   FROM `hp_cpu` c,
--        JSON_TABLE(c.`data`, '$.cpus[*]' COLUMNS (
--          cpu INT PATH '$.cpu',
--          percent DOUBLE PATH '$.percent')) p
--  WHERE c.host = 'web01' AND c.ts_dt > UTC_TIMESTAMP() - INTERVAL 1 HOUR;

-- Upgrading tables made by hostpulse before ts_ms (columns ts and start in
-- Unix seconds, no generated columns): MariaDB, per table (the same
-- generated columns and keys as above for cpu, mem, net, disk, uptime and
-- agent; docs/mysql.md lists them):
--
-- ALTER TABLE `hp_cpu`
--   ADD COLUMN IF NOT EXISTS `ts_ms` BIGINT NOT NULL DEFAULT 0
--     COMMENT 'sample time, Unix epoch ms' AFTER `seq`,
--   MODIFY COLUMN IF EXISTS `ts` DOUBLE NULL,
--   ADD COLUMN IF NOT EXISTS `percent` DOUBLE AS (JSON_VALUE(`data`, '$.percent')) VIRTUAL,
--   ADD KEY IF NOT EXISTS `time` (`ts_dt`),
--   ADD KEY IF NOT EXISTS `percent` (`percent`);
-- UPDATE `hp_cpu` SET `ts_ms` = ROUND(`ts` * 1000) WHERE `ts_ms` = 0;
-- ALTER TABLE `hp_cpu` ALTER COLUMN `ts_ms` DROP DEFAULT, DROP COLUMN `ts`;
--
-- ALTER TABLE `hp_sessions`
--   ADD COLUMN IF NOT EXISTS `ts_ms` BIGINT NOT NULL DEFAULT 0 AFTER `seq`,
--   ADD COLUMN IF NOT EXISTS `start_ms` BIGINT NULL AFTER `description`,
--   MODIFY COLUMN IF EXISTS `ts` DOUBLE NULL;
-- UPDATE `hp_sessions` SET `ts_ms` = ROUND(`ts` * 1000), `start_ms` = ROUND(`start` * 1000);
-- ALTER TABLE `hp_sessions` DROP COLUMN `ts`, DROP COLUMN `start`;
