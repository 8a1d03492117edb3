# SPDX-License-Identifier: Apache-2.0
# test_mysql.py -- the mysql sink against a real MariaDB started here
# (tests/integration/mariadb.py): rows match the messages, the shipped
# schema file matches what the agent creates, a server restart or crash
# loses and duplicates nothing, wrong password / missing database give clear
# errors and are retried without loss, refused rows are dropped alone, and
# the password never appears in any output.
import datetime
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import unittest

import tests.integration.hp as hp
from tests.integration.mariadb import MariaDB

PASSWORD = "Pw-7fq2-secret"
USER = "hpagent"


def sink_conf(db, database, prefix, name="mysql", via="tcp", password=PASSWORD, user=USER,
              extra=""):
    where = ('socket = "%s";' % db.socket if via == "socket"
             else 'host = "127.0.0.1"; port = %d;' % db.port)
    return ('{ type = "mysql"; name = "%s"; %s user = "%s"; password = "%s"; '
            'database = "%s"; table_prefix = "%s"; retry_initial = 0.2; retry_max = 1.0; %s }'
            % (name, where, user, password, database, prefix, extra))


def agent_conf(*sinks, interval=0.1):
    return ('agent: { hostname = "mysqltest"; description = "mysql test"; tick = 0.05; };\n'
            'reporters: { uptime: { interval = %s; }; agent: { interval = %s; }; };\n'
            'sinks = ( { type = "stdout"; }, %s );\n' % (interval, interval, ", ".join(sinks)))


def utc_text(ms):
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S") + ".%03d" % (ms % 1000)


class MySQLTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = MariaDB()
        cls.addClassCleanup(cls.db.cleanup)
        cls.db.start()
        cls.db.sql("CREATE DATABASE hp; CREATE DATABASE schemafile; CREATE DATABASE scratch; "
                   "CREATE DATABASE dba")
        cls.db.create_user(USER, PASSWORD, ["hp", "schemafile", "late_db"])
        cls.db.create_user("tlsonly", PASSWORD, ["hp"], require="REQUIRE SSL")

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    # ---- helpers -------------------------------------------------------

    def assertNoPassword(self, *texts):
        for t in texts:
            self.assertNotIn(PASSWORD, t)
            self.assertNotIn("wrong-" + PASSWORD, t)

    def run_agent(self, conf, until, what, after=None):
        """Run the agent until until(agent) holds, then call after(agent)
        (if any) and stop it; returns (stdout messages, stderr)."""
        path = hp.write_config(self.tmp.name, conf)
        with hp.Agent(path) as a:
            hp.wait_for(lambda: until(a), timeout=60, what=what)
            if after:
                after(a)
            self.assertEqual(a.stop(), 0, a.read_stderr())
        self.assertNoPassword(a.stdout, a.stderr)
        msgs = hp.parse_lines(a.stdout)
        for m in msgs:
            hp.validate(m)
        return msgs, a.stderr

    def count(self, database, table):
        try:
            return int(self.db.sql("SELECT COUNT(*) FROM `%s`" % table, database)[0][0])
        except AssertionError:
            return 0  # not created yet

    def rows(self, database, table, session):
        return self.db.sql("SELECT host, session, seq, ts_ms, ts_dt, data FROM `%s` "
                           "WHERE session = '%s' ORDER BY seq" % (table, session), database)

    def assertStored(self, msgs, database, prefix):
        """Every reporter message of msgs is a row exactly once, with equal
        values; the session message (if any) is in <prefix>sessions."""
        session = msgs[0]["session"]
        by_rep = {}
        for m in msgs:
            by_rep.setdefault(m["reporter"], []).append(m)
        self.assertIn("uptime", by_rep)
        self.assertIn("agent", by_rep)
        for rep, ms in by_rep.items():
            if rep == "session":
                continue
            rows = self.rows(database, prefix + rep, session)
            seqs = [int(r[2]) for r in rows]
            self.assertEqual(len(seqs), len(set(seqs)), "duplicate rows in %s" % rep)
            self.assertEqual(seqs, [m["seq"] for m in ms], "rows of %s differ" % rep)
            for r, m in zip(rows, ms):
                self.assertEqual(r[0], m["host"])
                self.assertEqual(r[1], m["session"])
                self.assertEqual(int(r[3]), m["ts"], "ts_ms is the JSON's ts")
                self.assertEqual(r[4], utc_text(m["ts"]))
                self.assertEqual(json.loads(r[5]), m["data"])
        if "session" not in by_rep:  # --once publishes none
            return
        s = self.db.sql("SELECT host, description, start_ms, version, boot_id, data FROM "
                        "`%ssessions` WHERE session = '%s'" % (prefix, session), database)
        self.assertEqual(len(s), 1)
        sm = by_rep["session"][-1]["data"]
        self.assertEqual(s[0][:2], ["mysqltest", "mysql test"])
        self.assertEqual(int(s[0][2]), sm["start"])
        self.assertEqual(s[0][3:5], [sm["version"], sm["boot_id"]])
        self.assertEqual(json.loads(s[0][5]), sm)

    # ---- tests ---------------------------------------------------------

    def test_rows_match_messages_over_socket(self):
        conf = agent_conf(sink_conf(self.db, "hp", "sock_", via="socket"))
        msgs, err = self.run_agent(conf, lambda a: self.count("hp", "sock_uptime") >= 10,
                                   "10 uptime rows")
        self.assertIn("sink mysql: connected to %s@%s/hp" % (USER, self.db.socket), err)
        self.assertStored(msgs, "hp", "sock_")

    def test_localhost_with_port_is_tcp_and_messages_name_it(self):
        # Without the rule, "localhost" took the default socket (absent here)
        # and the error named the ignored port.
        conf = agent_conf(sink_conf(self.db, "hp", "lh_").replace(
            'host = "127.0.0.1"', 'host = "localhost"'))
        msgs, err = self.run_agent(conf, lambda a: self.count("hp", "lh_uptime") >= 3,
                                   "3 uptime rows over TCP")
        self.assertIn("sink mysql: connected to %s@127.0.0.1:%d/hp" % (USER, self.db.port), err)
        self.assertStored(msgs, "hp", "lh_")
        # "localhost" without a port: the default socket, named in the error.
        conf = agent_conf('{ type = "mysql"; host = "localhost"; user = "u"; database = "d"; }')
        path = hp.write_config(self.tmp.name, conf)
        p = hp.run(["-c", path, "--check", "--connect"])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("u@/run/mysqld/mysqld.sock/d", p.stderr)
        self.assertNotIn("3306", p.stderr)

    def test_schema_file_matches_and_generated_columns_work(self):
        self.db.source(os.path.join(hp.ROOT, "etc", "mysql-schema.sql"), "schemafile")
        # The documented way to get typed columns: generated columns.
        self.db.sql("ALTER TABLE hp_uptime ADD COLUMN boot_time BIGINT AS "
                    "(JSON_VALUE(data, '$.boot_time')) VIRTUAL", "schemafile")
        conf = agent_conf(sink_conf(self.db, "schemafile", "hp_", name="file"),
                          sink_conf(self.db, "hp", "hp_", name="own"))
        msgs, _ = self.run_agent(conf, lambda a: self.count("hp", "hp_uptime") >= 5 and
                                 self.count("schemafile", "hp_uptime") >= 5, "rows in both")
        self.assertStored(msgs, "schemafile", "hp_")
        self.assertStored(msgs, "hp", "hp_")
        rows = self.db.sql("SELECT boot_time, JSON_VALUE(data, '$.boot_time') FROM hp_uptime",
                           "schemafile")
        self.assertTrue(rows and all(int(a) == int(b) for a, b in rows), rows)
        self.db.sql("ALTER TABLE hp_uptime DROP COLUMN boot_time", "schemafile")
        for table in ("hp_sessions", "hp_uptime", "hp_agent"):
            want, got = (self.db.sql("SHOW CREATE TABLE `%s`" % table, d)[0][1]
                         for d in ("schemafile", "hp"))
            strip = lambda t: " ".join(w for w in t.split() if not w.startswith("AUTO_INCREMENT="))
            self.assertEqual(strip(got), strip(want), table)

    def test_generated_columns_typed_indexed_and_as_the_schema_file(self):
        # Analysts' layout: main fields as numeric generated columns, an
        # index on time alone, ts_ms in the JSON's unit; the schema file
        # creates the same tables.
        reps = ("cpu", "mem", "net", "disk", "uptime", "agent")
        conf = agent_conf(sink_conf(self.db, "hp", "gen_")).replace(
            "reporters: {", "reporters: { " + " ".join(
                "%s: { interval = 0.2; };" % r for r in reps[:4]), 1)
        msgs, _ = self.run_agent(conf, lambda a: self.count("hp", "gen_net") >= 3,
                                 "3 net rows")
        cols = {
            "cpu": ["percent", "user", "system", "iowait", "load1"],
            "mem": ["percent", "available", "used"],
            "net": ["bytes_recv_per_sec", "bytes_sent_per_sec"],
            "disk": ["root_percent"], "uptime": ["uptime"], "agent": ["dropped"]}
        paths = {"net": "$.total.%s", "disk": '$.filesystems."/".percent'}
        for rep, names in cols.items():
            for c in names:
                t = self.db.sql("SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE "
                                "TABLE_SCHEMA = 'hp' AND TABLE_NAME = 'gen_%s' AND "
                                "COLUMN_NAME = '%s'" % (rep, c))
                self.assertIn(t[0][0], ("double", "bigint"), (rep, c))
                path = paths.get(rep, "$.%s") % c if rep != "disk" else paths["disk"]
                rows = self.db.sql("SELECT `%s`, JSON_VALUE(data, '%s') FROM gen_%s"
                                   % (c, path, rep), "hp")
                got = [r for r in rows if r[1] is not None]
                self.assertTrue(got or rep == "net", (rep, c))
                for a, b in got:
                    self.assertAlmostEqual(float(a), float(b), 6, (rep, c))
        # A per-minute average over every host reads the time index.
        plan = self.db.sql("EXPLAIN SELECT DATE_FORMAT(ts_dt, '%Y-%m-%d %H:%i') m, AVG(percent) "
                           "FROM gen_cpu WHERE ts_dt > UTC_TIMESTAMP() - INTERVAL 1 HOUR "
                           "GROUP BY m", "hp")
        self.assertIn("time", (plan[0][4] or "").split(","), "possible_keys: %s" % plan[0])
        avg = self.db.sql("SELECT AVG(percent) FROM gen_cpu", "hp")[0][0]
        self.assertGreaterEqual(float(avg), 0.0)
        # The schema file's tables are the agent's.
        self.db.sql("CREATE DATABASE IF NOT EXISTS genfile")
        self.db.source(os.path.join(hp.ROOT, "etc", "mysql-schema.sql"), "genfile")
        strip = lambda t: " ".join(w for w in t.split() if not w.startswith("AUTO_INCREMENT="))
        for rep in cols:
            want = self.db.sql("SHOW CREATE TABLE `hp_%s`" % rep, "genfile")[0][1]
            got = self.db.sql("SHOW CREATE TABLE `gen_%s`" % rep, "hp")[0][1]
            self.assertEqual(strip(got).replace("gen_", "hp_", 1), strip(want), rep)

    def test_tables_of_an_older_version_are_upgraded(self):
        # Tables as hostpulse made them before ts_ms (ts and start in Unix
        # seconds, no generated columns), with a row each.
        old = ("CREATE TABLE `%s` (`id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, "
               "`host` VARCHAR(255) NOT NULL, `session` VARCHAR(64) CHARACTER SET ascii NOT NULL, "
               "`seq` BIGINT UNSIGNED NOT NULL, "
               "`ts` DOUBLE NOT NULL COMMENT 'sample time, Unix seconds', "
               "`ts_dt` DATETIME(3) NOT NULL COMMENT 'sample time, UTC', "
               "`data` JSON NOT NULL COMMENT 'the message data object', PRIMARY KEY (`id`), "
               "UNIQUE KEY `message` (`host`, `session`, `seq`), KEY `host_time` (`host`, `ts_dt`)"
               ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
        self.db.sql("CREATE DATABASE IF NOT EXISTS upg")
        self.db.create_user("upgrader", PASSWORD, ["upg"])
        self.db.sql(old % "old_uptime", "upg")
        self.db.sql("CREATE TABLE `old_sessions` (`host` VARCHAR(255) NOT NULL, "
                    "`session` VARCHAR(64) CHARACTER SET ascii NOT NULL, "
                    "`seq` BIGINT UNSIGNED NOT NULL COMMENT 'of the latest session message', "
                    "`ts` DOUBLE NOT NULL COMMENT 'latest session message, Unix seconds', "
                    "`ts_dt` DATETIME(3) NOT NULL COMMENT 'latest session message, UTC', "
                    "`description` TEXT NULL, `start` DOUBLE NULL COMMENT 'agent start, Unix seconds', "
                    "`start_dt` DATETIME(3) NULL COMMENT 'agent start, UTC', "
                    "`version` VARCHAR(64) NULL, `boot_id` VARCHAR(64) NULL, "
                    "`data` JSON NOT NULL COMMENT 'the session message data object', "
                    "PRIMARY KEY (`host`, `session`), KEY `start` (`start_dt`)"
                    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4", "upg")
        self.db.sql("INSERT INTO old_uptime (host, session, seq, ts, ts_dt, data) VALUES "
                    "('h0', 's0', 1, 1795290000.123, '2026-11-22 06:20:00.123', '{\"uptime\": 5}')",
                    "upg")
        self.db.sql("INSERT INTO old_sessions (host, session, seq, ts, ts_dt, start, data) VALUES "
                    "('h0', 's0', 1, 1795290000.5, '2026-11-22 06:20:00.500', 1795289999.25, '{}')",
                    "upg")
        conf = agent_conf(sink_conf(self.db, "upg", "old_", user="upgrader"))
        msgs, err = self.run_agent(conf, lambda a: self.count("upg", "old_uptime") >= 4,
                                   "rows after the upgrade")
        self.assertIn("upgrading table old_uptime", err)
        self.assertStored(msgs, "upg", "old_")
        self.assertEqual(self.db.sql("SELECT ts_ms, uptime FROM old_uptime WHERE host = 'h0'",
                                     "upg"), [["1795290000123", "5"]])
        self.assertEqual(self.db.sql("SELECT ts_ms, start_ms FROM old_sessions WHERE host = 'h0'",
                                     "upg"), [["1795290000500", "1795289999250"]])
        # The same tables as a fresh start makes.
        self.db.sql("CREATE DATABASE IF NOT EXISTS upgfile")
        self.db.source(os.path.join(hp.ROOT, "etc", "mysql-schema.sql"), "upgfile")
        strip = lambda t: " ".join(w for w in t.split() if not w.startswith("AUTO_INCREMENT="))
        for rep in ("uptime", "sessions"):
            want = self.db.sql("SHOW CREATE TABLE `hp_%s`" % rep, "upgfile")[0][1]
            got = self.db.sql("SHOW CREATE TABLE `old_%s`" % rep, "upg")[0][1]
            self.assertEqual(strip(got).replace("old_", "hp_", 1), strip(want), rep)

    def test_server_restart_and_crash_lose_and_duplicate_nothing(self):
        conf = agent_conf(sink_conf(self.db, "hp", "rs_"))
        n = lambda: self.count("hp", "rs_uptime")

        def bounce(agent):
            for sig in (signal.SIGTERM, signal.SIGKILL):
                before = n()
                self.db.stop(sig)
                time.sleep(0.5)  # the agent keeps sampling meanwhile
                self.db.start()
                hp.wait_for(lambda: n() >= before + 10, timeout=60, what="rows after restart")

        msgs, err = self.run_agent(conf, lambda a: n() >= 5, "first rows", after=bounce)
        self.assertStored(msgs, "hp", "rs_")
        # one line per outage: a later reason is named when the sink recovers
        self.assertIn("cannot connect to %s@127.0.0.1:%d/hp" % (USER, self.db.port), err)
        self.assertIn("sink mysql: connected again", err)

    def test_wrong_password_is_clear_and_retried_without_loss(self):
        self.db.create_user("late", "wrong-" + PASSWORD, ["hp"])
        conf = agent_conf(sink_conf(self.db, "hp", "pw_", user="late"))
        path = hp.write_config(self.tmp.name, conf, "check.conf")
        p = hp.run(["-c", path, "--check", "--connect"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("sink mysql (mysql): cannot connect to late@127.0.0.1:%d/hp: Access denied "
                      "for user 'late'" % self.db.port, p.stderr)
        self.assertNoPassword(p.stdout, p.stderr)

        def fix(agent):
            self.db.set_password("late", PASSWORD)
            hp.wait_for(lambda: self.count("hp", "pw_uptime") >= 5, what="rows after the fix")

        msgs, err = self.run_agent(conf, lambda a: "Access denied" in a.read_stderr(),
                                   "the error in the log", after=fix)
        self.assertIn("error: sink mysql: cannot connect to late@127.0.0.1", err)
        self.assertIn("(using password: YES) (1045); retrying", err)
        self.assertStored(msgs, "hp", "pw_")
        p = hp.run(["-c", path, "--check", "--connect"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("sink mysql (mysql): ok", p.stderr)

    def test_missing_database_is_clear_and_retried_without_loss(self):
        conf = agent_conf(sink_conf(self.db, "late_db", "db_"))
        path = hp.write_config(self.tmp.name, conf, "check.conf")
        p = hp.run(["-c", path, "--check", "--connect"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("Unknown database 'late_db' (1049); create the database first", p.stderr)
        self.assertNoPassword(p.stdout, p.stderr)

        def create(agent):
            self.db.sql("CREATE DATABASE late_db")
            hp.wait_for(lambda: self.count("late_db", "db_uptime") >= 5, what="rows")

        msgs, err = self.run_agent(conf, lambda a: "Unknown database" in a.read_stderr(),
                                   "the error in the log", after=create)
        self.assertIn("error: sink mysql: cannot connect to %s@127.0.0.1:%d/late_db: Unknown "
                      "database 'late_db' (1049)" % (USER, self.db.port), err)
        self.assertStored(msgs, "late_db", "db_")

    def test_refused_rows_are_dropped_alone(self):
        # A constraint the uptime rows break: they can never be stored, the
        # agent rows of the same batches must be.
        conf = agent_conf(sink_conf(self.db, "hp", "ck_"))
        self.db.source(os.path.join(hp.ROOT, "etc", "mysql-schema.sql"), "scratch")
        self.db.sql("CREATE TABLE ck_uptime LIKE scratch.hp_uptime; ALTER TABLE ck_uptime ADD "
                    "CONSTRAINT no_uptime CHECK (JSON_VALUE(data, '$.uptime') < 0)", "hp")
        msgs, err = self.run_agent(conf, lambda a: self.count("hp", "ck_agent") >= 10,
                                   "agent rows")
        self.assertEqual(self.count("hp", "ck_uptime"), 0)
        warning = ("warning: sink mysql: rows the server refuses go to the dead-letter file "
                   "(counted as rejected and dead_lettered): insert into ck_uptime: "
                   "CONSTRAINT `no_uptime` failed")
        self.assertEqual(err.count(warning), 1, err)  # rate-limited
        agent = [m for m in msgs if m["reporter"] == "agent"]
        rows = self.rows("hp", "ck_agent", msgs[0]["session"])
        self.assertEqual([int(r[2]) for r in rows], [m["seq"] for m in agent])
        last = agent[-1]["data"]["sinks"]["mysql"]
        self.assertGreater(last["rejected"], 0)
        self.assertEqual(last["dead_lettered"], last["rejected"])

    def test_write_batches_resend_and_bad_messages(self):
        # The sink's write() driven directly (tests/helpers/mysql_write.c):
        # batches split into multi-row statements, a resend of everything
        # adds no row, and each kind of bad message is dropped alone.
        helper = os.path.join(hp.HELPERS, "mysql_write")
        if not os.path.exists(helper):
            self.skipTest("helper not built: make test-bins")
        env = lambda i, **kw: dict({"v": 1, "host": "h1", "reporter": "cpu",
                                    "ts": 1795290000000 + i, "session": "s-direct", "seq": i,
                                    "interval": 1, "data": {"i": i, "s": "q\"'\\\t\u00e9\U0001f600"}},
                                   **kw)
        good = [env(i) for i in range(1, 301)]
        bad = ["not json", json.dumps({"v": 1, "reporter": "cpu"}),
               json.dumps(env(1, reporter="bad-name")),
               json.dumps(env(999, host="x" * 300))]  # too long for host: refused
        lines = [json.dumps(m) for m in good[:150]] + bad + [json.dumps(m) for m in good[150:]]
        conf = ('sink: { host = "127.0.0.1"; port = %d; user = "%s"; password = "%s"; '
                'database = "hp"; table_prefix = "dw_"; };' % (self.db.port, USER, PASSWORD))
        spool = tempfile.TemporaryDirectory()
        self.addCleanup(spool.cleanup)
        for batch in (256, 7):
            p = subprocess.run([helper, conf, str(batch)], input="\n".join(lines) + "\n",
                               capture_output=True, text=True, timeout=120 * hp.SLOW,
                               env=dict(os.environ, HOSTPULSE_SPOOL_DIR=spool.name))
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertNoPassword(p.stdout, p.stderr)
            self.assertEqual(json.loads(p.stdout), {"ok": 300, "drop": 4, "retry": 0,
                                                    "written": 304})
            rows = self.rows("hp", "dw_cpu", "s-direct")
            self.assertEqual([int(r[2]) for r in rows], list(range(1, 301)))
            self.assertEqual([json.loads(r[5]) for r in rows], [m["data"] for m in good])
            self.assertEqual({r[4] for r in rows[:1]}, {utc_text(good[0]["ts"])})
        self.assertIn("dead-lettering garbage #1: not an envelope", p.stderr)
        self.assertIn("dead-lettering bad-name #1: the reporter name is not a valid table name",
                      p.stderr)
        self.assertIn("rows the server refuses go to the dead-letter file (counted as rejected "
                      "and dead_lettered): insert into dw_cpu: Data too long for column 'host'",
                      p.stderr)
        # the dead letters are exactly the bad messages, once per run
        with open(os.path.join(spool.name, "mysql.dead-letters.jsonl")) as f:
            dead = [json.loads(line) for line in f]
        self.assertEqual(sorted(d["message"] for d in dead), sorted(bad * 2))
        self.assertTrue(all(d["sink"] == "mysql" and d["reason"] for d in dead))

    def test_row_over_max_allowed_packet_is_dead_lettered(self):
        # A row the server could never take in one packet used to break the
        # connection at every retry, stopping the sink for good. It is now
        # dead-lettered up front and the rows around it are stored.
        helper = os.path.join(hp.HELPERS, "mysql_write")
        if not os.path.exists(helper):
            self.skipTest("helper not built: make test-bins")
        old = self.db.sql("SELECT @@GLOBAL.max_allowed_packet")[-1][0]
        self.db.sql("SET GLOBAL max_allowed_packet = 1048576")
        self.addCleanup(self.db.sql, "SET GLOBAL max_allowed_packet = %s" % old)
        env = lambda i, data: json.dumps({"v": 1, "host": "h1", "reporter": "cpu",
                                          "ts": 1795290000000 + i, "session": "s-big",
                                          "seq": i, "interval": 1, "data": data})
        giant = env(50, {"blob": "x" * 1200000})
        lines = [env(i, {"i": i}) for i in range(1, 50)] + [giant] + \
                [env(i, {"i": i}) for i in range(51, 101)]
        conf = ('sink: { host = "127.0.0.1"; port = %d; user = "%s"; password = "%s"; '
                'database = "hp"; table_prefix = "big_"; };' % (self.db.port, USER, PASSWORD))
        spool = tempfile.TemporaryDirectory()
        self.addCleanup(spool.cleanup)
        p = subprocess.run([helper, conf, "64"], input="\n".join(lines) + "\n",
                           capture_output=True, text=True, timeout=120 * hp.SLOW,
                           env=dict(os.environ, HOSTPULSE_SPOOL_DIR=spool.name))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(json.loads(p.stdout), {"ok": 99, "drop": 1, "retry": 0,
                                                "written": 100})
        rows = self.rows("hp", "big_cpu", "s-big")
        self.assertEqual([int(r[2]) for r in rows], [i for i in range(1, 101) if i != 50])
        self.assertIn("exceeds the server's max_allowed_packet (1048576)", p.stderr)
        with open(os.path.join(spool.name, "mysql.dead-letters.jsonl")) as f:
            dead = [json.loads(line) for line in f]
        self.assertEqual([d["message"] for d in dead], [giant])

    def test_remote_host_requires_tls_by_default(self):
        # 192.0.2.1 (TEST-NET-1) is not loopback: TLS is required unless
        # plaintext_remote says otherwise (the decision itself, on resolved
        # addresses, is tests/unit/test_mysql.c tls_decision). Loopback
        # plaintext is every other test here.
        with tempfile.TemporaryDirectory() as d:
            for extra, told in (("", True), ("plaintext_remote = true;", False)):
                path = hp.write_config(d, 'sinks = ( { type = "mysql"; host = "192.0.2.1"; '
                                          'timeout = 1.0; %s } );' % extra)
                p = hp.run(["-c", path, "--check", "--connect"])
                self.assertNotEqual(p.returncode, 0)
                self.assertEqual("192.0.2.1 is not on this host: TLS required" in p.stderr, told,
                                 p.stderr)

    def test_tls_with_verified_server_certificate(self):
        if not self.db.tls:
            self.skipTest("openssl not installed: no certificates for the server")
        # tlsonly is REQUIRE SSL: rows prove the connection used TLS.
        good = sink_conf(self.db, "hp", "tls_", user="tlsonly",
                         extra='ssl_ca = "%s"; ssl_verify = true;' % self.db.ca)
        msgs, _ = self.run_agent(agent_conf(good),
                                 lambda a: self.count("hp", "tls_uptime") >= 5, "rows over TLS")
        self.assertStored(msgs, "hp", "tls_")
        for extra, fragment in (("", "Access denied for user 'tlsonly'"),
                                ('ssl_ca = "%s";' % self.db.other_ca, "TLS/SSL error")):
            conf = agent_conf(sink_conf(self.db, "hp", "tls_", user="tlsonly", extra=extra))
            path = hp.write_config(self.tmp.name, conf, "check.conf")
            p = hp.run(["-c", path, "--check", "--connect"])
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("sink mysql (mysql): cannot connect to tlsonly@127.0.0.1:%d/hp: %s"
                          % (self.db.port, fragment), p.stderr)
            self.assertNoPassword(p.stdout, p.stderr)

    def test_every_reporter_once(self):
        # No reporters section: every registered reporter, each message of
        # --once stored in its own table before the agent exits.
        conf = ('agent: { hostname = "mysqltest"; description = "mysql test"; };\n'
                'sinks = ( { type = "stdout"; }, %s );\n' % sink_conf(self.db, "hp", "once_"))
        path = hp.write_config(self.tmp.name, conf)
        p = hp.run(["-c", path, "--once"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNoPassword(p.stdout, p.stderr)
        msgs = hp.parse_lines(p.stdout)
        for m in msgs:
            hp.validate(m)
        self.assertStored(msgs, "hp", "once_")
        tables = {r[0] for r in self.db.sql("SHOW TABLES LIKE 'once\\_%'", "hp")}
        self.assertEqual(tables, {"once_sessions"} | {"once_" + m["reporter"] for m in msgs})

    def test_user_without_create_uses_tables_a_dba_made(self):
        # Least privilege: the DBA loads the schema file, the agent's user
        # may only INSERT/SELECT/UPDATE.
        self.db.source(os.path.join(hp.ROOT, "etc", "mysql-schema.sql"), "dba")
        self.db.create_user("inserter", PASSWORD, ["dba"], privileges="INSERT, SELECT, UPDATE")
        conf = agent_conf(sink_conf(self.db, "dba", "hp_", user="inserter"))
        msgs, _ = self.run_agent(conf, lambda a: self.count("dba", "hp_uptime") >= 5, "rows")
        self.assertStored(msgs, "dba", "hp_")
        # Tables it may not create: a clear error, retried.
        conf = agent_conf(sink_conf(self.db, "dba", "nope_", user="inserter"))
        _, err = self.run_agent(conf, lambda a: "CREATE command denied" in a.read_stderr(),
                                "the error")
        self.assertIn("error: sink mysql: create table nope_sessions: CREATE command denied "
                      "to user 'inserter'", err)


class InstalledPaths(unittest.TestCase):
    """The install paths the sink docs and examples name exist after
    `make install` (the package installs the same tree)."""
    FILES = ["etc/mysql.conf", "etc/mysql-schema.sql", "etc/amqp.conf", "etc/kafka.conf",
             "etc/elasticsearch.conf", "docs/mysql.md", "docs/elasticsearch.md",
             "docs/amqp.md", "docs/kafka.md"]

    def test_named_paths_are_installed(self):
        with tempfile.TemporaryDirectory() as dest:
            subprocess.run(["make", "-s", "-C", hp.ROOT, "install", "DESTDIR=" + dest,
                            "VARIANT=" + os.path.basename(hp.BUILD)],
                           check=True, capture_output=True, timeout=600)
            for name in self.FILES:
                text = open(os.path.join(hp.ROOT, name)).read()
                for path in re.findall(r"(/(?:usr/share(?:/doc)?|etc)/hostpulse\S*?\.(?:conf|json|sql))\b",
                                       text):
                    if path.startswith("/etc/hostpulse/") and path != "/etc/hostpulse/hostpulse.conf":
                        self.fail("%s names %s, which the package does not install" % (name, path))
                    self.assertTrue(os.path.exists(dest + path) or os.path.exists(dest + path + ".gz"),
                                    "%s names %s, which make install does not create" % (name, path))
