-- mysql-schema.sql -- the tables the hostpulse MySQL/MariaDB sink writes.
--
-- The agent creates these itself when they are missing (CREATE TABLE IF NOT
-- EXISTS, with the same text as transport/sinks/mysql/mysql_schema.c), so loading this
-- file is optional: it is for DBAs who create the schema up front and give
-- the agent's user only INSERT/SELECT (see docs/mysql.md). Table names
-- assume the default table_prefix "hp_"; replace it if you set another.
--
--   mariadb hostpulse < /usr/share/hostpulse/mysql-schema.sql
--
-- One generic table per reporter: the envelope in typed columns, the whole
-- data object in `data` (JSON). A reporter not listed here gets its table
-- created by the agent on its first message. Typed columns for the fields
-- you query are added as generated columns; examples at the end.

-- One row per agent run, from the `session` message.
CREATE TABLE IF NOT EXISTS `hp_sessions` (
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL COMMENT 'of the latest session message',
  `ts` DOUBLE NOT NULL COMMENT 'latest session message, Unix seconds',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'latest session message, UTC',
  `description` TEXT NULL,
  `start` DOUBLE NULL COMMENT 'agent start, Unix seconds',
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
  `ts` DOUBLE NOT NULL COMMENT 'sample time, Unix seconds',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter cpu
CREATE TABLE IF NOT EXISTS `hp_cpu` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts` DOUBLE NOT NULL COMMENT 'sample time, Unix seconds',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter disk
CREATE TABLE IF NOT EXISTS `hp_disk` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts` DOUBLE NOT NULL COMMENT 'sample time, Unix seconds',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter ipaddr
CREATE TABLE IF NOT EXISTS `hp_ipaddr` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts` DOUBLE NOT NULL COMMENT 'sample time, Unix seconds',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter mem
CREATE TABLE IF NOT EXISTS `hp_mem` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts` DOUBLE NOT NULL COMMENT 'sample time, Unix seconds',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter net
CREATE TABLE IF NOT EXISTS `hp_net` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts` DOUBLE NOT NULL COMMENT 'sample time, Unix seconds',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter process
CREATE TABLE IF NOT EXISTS `hp_process` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts` DOUBLE NOT NULL COMMENT 'sample time, Unix seconds',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter temperature
CREATE TABLE IF NOT EXISTS `hp_temperature` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts` DOUBLE NOT NULL COMMENT 'sample time, Unix seconds',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter uptime
CREATE TABLE IF NOT EXISTS `hp_uptime` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts` DOUBLE NOT NULL COMMENT 'sample time, Unix seconds',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter cgroup
CREATE TABLE IF NOT EXISTS `hp_cgroup` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts` DOUBLE NOT NULL COMMENT 'sample time, Unix seconds',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter netstat
CREATE TABLE IF NOT EXISTS `hp_netstat` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts` DOUBLE NOT NULL COMMENT 'sample time, Unix seconds',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- reporter pressure
CREATE TABLE IF NOT EXISTS `hp_pressure` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `host` VARCHAR(255) NOT NULL,
  `session` VARCHAR(64) CHARACTER SET ascii NOT NULL,
  `seq` BIGINT UNSIGNED NOT NULL,
  `ts` DOUBLE NOT NULL COMMENT 'sample time, Unix seconds',
  `ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC',
  `data` JSON NOT NULL COMMENT 'the message data object',
  PRIMARY KEY (`id`),
  UNIQUE KEY `message` (`host`, `session`, `seq`),
  KEY `host_time` (`host`, `ts_dt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Typed columns for chosen fields: add generated columns. The agent names
-- its columns in every INSERT, so it keeps working with any columns added.
-- JSON_VALUE works on MariaDB >= 10.2.3 and MySQL >= 8.0.21. STORED columns
-- take disk space and can be indexed; VIRTUAL ones are computed on read.
--
-- ALTER TABLE `hp_uptime`
--   ADD COLUMN `uptime` DOUBLE AS (JSON_VALUE(`data`, '$.uptime')) VIRTUAL,
--   ADD COLUMN `boot_time` BIGINT AS (JSON_VALUE(`data`, '$.boot_time')) VIRTUAL;
--
-- ALTER TABLE `hp_cpu`
--   ADD COLUMN `percent` DOUBLE AS (JSON_VALUE(`data`, '$.percent')) STORED,
--   ADD INDEX `percent` (`host`, `percent`);
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
