# SPDX-License-Identifier: Apache-2.0
# test_faults.py -- the broker/database fault suite (issue 8): RabbitMQ and
# MariaDB (tests/integration/rabbit.py, mariadb.py) are stopped together for
# 30 s while uptime and agent report every 0.1 s into an amqp sink, a mysql
# sink and stdout (the reference of what was produced). After both come back
# every message of the reference is in the queue and in the tables (zero
# loss), queue duplicates stay within the amqp confirm window, the
# self-report showed both sinks down and spooling, and the agent kept
# producing without a gap. A second test crashes both services (SIGKILL,
# 10 s); a third SIGKILLs the agent mid-outage and restarts it on the same
# spool before the services return. Duplicate counts and catch-up times go
# to build/<variant>/test-logs/test_faults.duplicates.
# hp: slow
import collections
import json
import os
import signal
import struct
import tempfile
import threading
import time
import unittest

import tests.integration.hp as hp
import tests.integration.rabbit as rabbit
from tests.integration.mariadb import MariaDB
from tests.integration.test_amqp import consume

USER, PASSWORD = "hpfaults", "Fault-t0lerant-PW"
OUTAGE = 30.0  # seconds both services are down (the figure)
WINDOW = 256  # amqp confirm_window: the most a lost connection can duplicate
DUPLICATES = os.path.join(hp.BUILD, "test-logs", "test_faults.duplicates")

CONFIG = """
agent: {{ hostname = "{host}"; shutdown_timeout = 15.0;
          spool: {{ directory = "{spool}"; }}; }};
reporters: {{ uptime: {{ interval = 0.1; }}; agent: {{ interval = 0.1; }}; }};
sinks = (
  {{ type = "stdout"; }},
  {{ type = "amqp"; url = "{amqp}"; retry_initial = 0.2; retry_timer = 1.0;
     confirm_window = {window}; }},
  {{ type = "mysql"; host = "127.0.0.1"; port = {port}; user = "{user}";
     password = "{password}"; database = "hp"; table_prefix = "{prefix}";
     timeout = 3.0; retry_initial = 0.2; retry_max = 1.0; }}
);
"""


class Reference:
    """The agent's stdout, read as it grows: every message in order, and the
    latest self-report. A line cut by SIGKILL is left out."""

    def __init__(self, path):
        self.path, self.offset, self.msgs, self.reports = path, 0, [], []

    def update(self):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].splitlines():
            try:
                m = json.loads(line)
            except ValueError:
                continue
            self.msgs.append(m)
            if m.get("reporter") == "agent":
                self.reports.append(m["data"])
        return self

    def last(self):
        self.update()
        return self.reports[-1] if self.reports else None

    def keys(self, session=None):
        return {(m["reporter"], m["seq"]) for m in self.msgs
                if session is None or m["session"] == session}


def spool_records(directory):
    """(session, reporter, seq) of every record in a sink's spool directory
    (format: docs/reliability.md); a torn tail ends a segment."""
    out = set()
    if not os.path.isdir(directory):
        return out
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".seg"):
            continue
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read()
        i = 8 if data[:8] == b"HPSPOOL1" else len(data)
        while i + 8 <= len(data):
            (n,) = struct.unpack_from("<I", data, i)
            body = data[i + 8:i + 8 + n]
            if len(body) < n:
                break
            m = json.loads(body)
            out.add((m["session"], m["reporter"], m["seq"]))
            i += 8 + n
    return out


def both(f, g):
    # run f and g at the same time (stop or start both services together)
    errors = []

    def call(fn):
        try:
            fn()
        except BaseException as e:  # re-raised in the caller's thread
            errors.append(e)

    t = threading.Thread(target=call, args=(g,))
    t.start()
    call(f)
    t.join()
    if errors:
        raise errors[0]


class FaultSuite(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = rabbit.available()
        if why:
            raise unittest.SkipTest(why)
        cls.db = MariaDB()
        cls.addClassCleanup(cls.db.cleanup)
        cls.b = rabbit.Broker()
        cls.addClassCleanup(cls.b.close)
        both(cls.b.start, cls.db.start)
        cls.b.ctl("add_user", USER, PASSWORD)
        cls.b.ctl("set_permissions", "-p", "/", USER, ".*", ".*", ".*")
        cls.db.sql("CREATE DATABASE hp")
        cls.db.create_user(USER, PASSWORD, ["hp"])

    def setUp(self):
        # a test that failed mid-outage leaves the services stopped
        if not self.b.proc or self.b.proc.poll() is not None:
            self.b.start()
        if self.db.proc is None:
            self.db.start()
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.spool = os.path.join(self.tmp.name, "spool")
        self.url = self.b.url(USER, PASSWORD)

    # ---- helpers -------------------------------------------------------

    def config(self, host):
        return hp.write_config(self.tmp.name, CONFIG.format(
            host=host, spool=self.spool, amqp=self.url, window=WINDOW, port=self.db.port,
            user=USER, password=PASSWORD, prefix=host + "_"))

    def start_agent(self, path):
        a = hp.Agent(path).start()

        def reap():
            if a.proc.poll() is None:
                a.proc.kill()
                a.proc.wait()
            a.out.close()
            a.err.close()
            a.tmp.cleanup()
        self.addCleanup(reap)
        return a, Reference(a.out.name)

    def wait_report(self, ref, pred, what, timeout=60):
        # the first self-report for which pred holds
        def check():
            r = ref.last()
            return r if r and pred(r) else None
        return hp.wait_for(check, timeout=timeout, interval=0.2, what=what)

    def stop_services(self, crash=False):
        if not crash:
            return both(self.b.stop, self.db.stop)

        def kill_broker():  # the whole process group, as the OOM killer might
            os.killpg(self.b.proc.pid, signal.SIGKILL)
            self.b.proc.wait()
        both(kill_broker, lambda: self.db.stop(signal.SIGKILL))

    def start_services(self):
        both(self.b.start, self.db.start)

    def outage_seen(self, r):
        # both sinks down and their spools in use
        s, sp = r["sinks"], r["spool"]
        return all(not s[k]["up"] and (sp[k]["spilling"] or sp[k]["bytes"] > 0)
                   for k in ("amqp", "mysql"))

    def caught_up(self, r):
        s, sp = r["sinks"], r["spool"]
        return all(s[k]["up"] and s[k]["backlog"] == 0 and sp[k]["queued"] == 0
                   for k in ("amqp", "mysql"))

    def queue(self, host):
        # (session, reporter, seq) of every message in the host's queue, in
        # queue order, and how often each came
        got = [(d["body"]["session"], d["body"]["reporter"], d["body"]["seq"])
               for d in consume(self.url, "hostpulse." + host)]
        return got, collections.Counter(got)

    def rows(self, host, session, reporters):
        # reporter -> list of seqs stored for session (the unique key makes
        # a duplicate row impossible; checked anyway)
        out = {}
        for rep in reporters:
            r = self.db.sql("SELECT seq FROM `%s_%s` WHERE session = '%s'"
                            % (host, rep, session), "hp")
            out[rep] = [int(x[0]) for x in r]
        return out

    def assertNoGaps(self, ref, session):
        by = collections.defaultdict(list)
        for m in ref.msgs:
            if m["session"] == session:
                by[m["reporter"]].append(m["seq"])
        for rep, seqs in by.items():
            self.assertEqual(seqs, list(range(1, len(seqs) + 1)), "%s: gap in stdout" % rep)
        return by

    def assertInTables(self, host, session, by):
        reps = [r for r in by if r != "session"]
        stored = self.rows(host, session, reps)
        for rep in reps:
            self.assertEqual(len(stored[rep]), len(set(stored[rep])), "duplicate rows")
            missing = sorted(set(by[rep]) - set(stored[rep]))
            self.assertEqual(missing, [], "%s rows missing in MariaDB" % rep)
        n = self.db.sql("SELECT COUNT(*) FROM `%s_sessions` WHERE session = '%s'"
                        % (host, session), "hp")
        self.assertEqual(n, [["1"]])

    def note(self, text):
        os.makedirs(os.path.dirname(DUPLICATES), exist_ok=True)
        with open(DUPLICATES, "a") as f:
            f.write("%s [%s]: %s\n" % (self.id(), hp.LABEL, text))

    def outage(self, ref, during=None, crash=False, seconds=OUTAGE):
        """Stop (crash: SIGKILL) both services, wait until the self-report
        shows the outage, call during() (if any), restart both `seconds`
        after the stop began. Returns the time both were back."""
        t0 = time.monotonic()
        self.stop_services(crash)
        self.wait_report(ref, self.outage_seen, "both sinks down and spooling")
        seen = len(ref.msgs)
        if during:
            during()
        time.sleep(max(0.0, seconds - (time.monotonic() - t0)))
        ref.update()
        # the agent kept producing while both were down
        self.assertGreater(len([m for m in ref.msgs[seen:] if m["reporter"] == "uptime"]), 0)
        self.start_services()
        return time.monotonic()

    # ---- tests ---------------------------------------------------------

    def test_outage_of_broker_and_database_loses_nothing(self):
        self.check_outage("fa", crash=False, seconds=OUTAGE)

    def test_crash_of_broker_and_database_loses_nothing(self):
        # SIGKILL: what was persisted but not yet confirmed comes twice
        self.check_outage("fc", crash=True, seconds=OUTAGE / 3)

    def check_outage(self, host, crash, seconds):
        a, ref = self.start_agent(self.config(host))
        self.wait_report(ref, lambda r: r["sinks"]["amqp"]["sent"] >= 20 and
                         r["sinks"]["mysql"]["sent"] >= 20, "delivery before the outage")
        back = self.outage(ref, crash=crash, seconds=seconds)
        self.assertIsNone(a.proc.poll(), "the agent died during the outage")
        self.wait_report(ref, self.caught_up, "both backlogs empty after the restart",
                         timeout=120)
        catch_up = time.monotonic() - back
        self.assertEqual(a.stop(), 0, a.stderr)
        self.assertNotIn("not delivered", a.stderr)
        self.assertNotIn(PASSWORD, a.stderr + a.stdout)
        self.assertIn("sink amqp: connected again", a.stderr)
        self.assertIn("sink mysql: connected again", a.stderr)
        ref.update()
        session = ref.msgs[0]["session"]
        by = self.assertNoGaps(ref, session)
        peak = max(r["sinks"]["amqp"]["backlog"] for r in ref.reports)
        # (a report taken before the transport opened the spools has none yet)
        self.assertGreater(max(r["spool"].get("amqp", {}).get("bytes", 0) for r in ref.reports), 0)
        self.assertGreater(max(r["spool"].get("mysql", {}).get("bytes", 0) for r in ref.reports), 0)

        _, got = self.queue(host)
        want = {(session, rep, seq) for rep, seq in ref.keys(session)}
        self.assertEqual(sorted(want - set(got))[:20], [], "lost in RabbitMQ")
        self.assertEqual(sorted(set(got) - want)[:20], [], "not produced")
        dups = sum(got.values()) - len(got)
        self.assertInTables(host, session, by)
        last = ref.reports[-1]["sinks"]
        self.note("%d produced, %d amqp duplicates (window %d), retried amqp %d mysql %d, "
                  "peak backlog %d, caught up %.1f s after both were back"
                  % (len(want), dups, WINDOW, last["amqp"]["retried"], last["mysql"]["retried"],
                     peak, catch_up))
        self.assertLessEqual(dups, WINDOW)

    def test_agent_killed_during_the_outage_loses_nothing_it_spooled(self):
        host = "fk"
        path = self.config(host)
        a, ref_a = self.start_agent(path)
        self.wait_report(ref_a, lambda r: r["sinks"]["amqp"]["sent"] >= 20 and
                         r["sinks"]["mysql"]["sent"] >= 20, "delivery before the outage")
        state = {}

        def kill_and_restart():
            # mid-outage: SIGKILL, read what reached the spools, start again
            time.sleep(OUTAGE / 3)
            a.proc.kill()
            a.proc.wait()
            hp.check_sanitizers(a.read_stderr())
            ref_a.update()
            state["spooled"] = {k: spool_records(os.path.join(self.spool, k))
                                for k in ("amqp", "mysql")}
            state["down_from"] = next(i for i, m in enumerate(ref_a.msgs)
                                      if m["reporter"] == "agent" and
                                      self.outage_seen(m["data"]))
            b, ref_b = self.start_agent(path)
            hp.wait_for(lambda: b.read_stderr().count("to replay") >= 2,
                        what="both spools replayed at start")
            state["b"], state["ref_b"] = b, ref_b

        back = self.outage(ref_a, during=kill_and_restart)
        b, ref_b = state["b"], state["ref_b"]
        self.wait_report(ref_b, self.caught_up, "both backlogs empty after the restart",
                         timeout=120)
        catch_up = time.monotonic() - back
        self.assertEqual(b.stop(), 0, b.stderr)
        self.assertNotIn("not delivered", b.stderr)
        ref_b.update()

        s1 = ref_a.msgs[0]["session"]
        s2 = ref_b.msgs[0]["session"]
        self.assertNotEqual(s1, s2)
        # Everything the first agent produced while both sinks were down was
        # on disk in both spools at the kill: the transport spools a message
        # (drain) before it writes it to stdout.
        for sink, recs in state["spooled"].items():
            produced = {(s1, m["reporter"], m["seq"]) for m in ref_a.msgs[state["down_from"]:]}
            self.assertTrue(produced)
            self.assertEqual(sorted(produced - recs)[:20], [], "not in the %s spool" % sink)
        by1 = self.assertNoGaps(ref_a, s1)
        by2 = self.assertNoGaps(ref_b, s2)

        order, got = self.queue(host)
        want1 = {(s1, rep, seq) for rep, seq in ref_a.keys(s1)}
        want2 = {(s2, rep, seq) for rep, seq in ref_b.keys(s2)}
        # Zero loss of every message the first agent wrote to stdout (and so
        # spooled); at most the ring at the kill (never on stdout) is lost.
        self.assertEqual(sorted(want1 - set(got))[:20], [], "first session lost in RabbitMQ")
        self.assertEqual(sorted(want2 - set(got))[:20], [], "second session lost in RabbitMQ")
        extra = {k for k in got if k not in want1 and k not in want2}
        # spooled but killed before stdout: delivered, never invented
        self.assertTrue(extra <= state["spooled"]["amqp"], sorted(extra)[:20])
        # the spool is replayed before any message of the second session
        sessions = [k[0] for k in order]
        self.assertLess(max(i for i, s in enumerate(sessions) if s == s1), sessions.index(s2))
        dups = sum(got.values()) - len(got)
        self.assertInTables(host, s1, by1)
        self.assertInTables(host, s2, by2)
        last = ref_b.reports[-1]["sinks"]
        self.note("%d + %d produced, %d spooled at the kill (amqp), %d delivered beyond "
                  "stdout, %d amqp duplicates (window %d), retried amqp %d mysql %d, "
                  "caught up %.1f s after both were back"
                  % (len(want1), len(want2), len(state["spooled"]["amqp"]), len(extra), dups,
                     WINDOW, last["amqp"]["retried"], last["mysql"]["retried"], catch_up))
        self.assertLessEqual(dups, WINDOW)
