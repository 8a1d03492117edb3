# SPDX-License-Identifier: Apache-2.0
# test_spool.py -- the fault suite of the disk spool and bad input:
# the agent SIGKILLed during a sink outage and restarted delivers every
# spooled message, in order, before live data; a full disk under the spool
# is survived (drops counted, recovery when space returns); truncated,
# binary and huge config files and garbage /proc fixtures give clear errors,
# never a crash. A failing sink is the real CSV sink whose directory's
# parent is a regular file; the outage ends by replacing it with a directory.
# SpoolDamageTest: spools written and damaged by tests/integration/spool_gen.py
# (flipped bytes at several offsets, torn tails, bad magic, bad lengths, bad
# `acked`, a symlinked segment): every good record is delivered, the skipped
# ones are counted and logged, and no file outside the spool is touched.
import csv
import hashlib
import json
import os
import signal
import tempfile
import unittest

import tests.integration.hp as hp
import tests.integration.spool_gen as gen

CONFIG = """
agent: {{
  hostname = "spooltest";
  spool: {{ directory = "{spool}"; fsync = "{fsync}"; }};
}};
reporters: {{ uptime: {{ interval = 0.1; }}; agent: {{ interval = {agent_interval}; }}; }};
sinks = (
  {{ type = "stdout"; }},
  {{ type = "csv"; directory = "{csv}"; retry_initial = 0.1; retry_max = 0.3;
     backlog = {backlog}; }}
);
"""


def csv_rows(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def stdout_msgs(agent, reporter):
    # agent: a running hp.Agent, or the text of a stopped one's stdout
    text = agent if isinstance(agent, str) else agent.read_stdout()
    out = []
    for line in text.splitlines():
        try:
            m = json.loads(line)
        except ValueError:
            continue  # a line cut by SIGKILL
        if m.get("reporter") == reporter:
            out.append(m)
    return out


class SpoolTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.d = self.tmp.name
        self.blocker = os.path.join(self.d, "out")
        with open(self.blocker, "w") as f:  # the CSV directory's parent: a file
            f.write("not a directory\n")
        self.csvdir = os.path.join(self.blocker, "csv")

    def config(self, spool, fsync="batch", agent_interval=1.0, backlog=10000):
        return hp.write_config(self.d, CONFIG.format(spool=spool, fsync=fsync, csv=self.csvdir,
                                                     agent_interval=agent_interval,
                                                     backlog=backlog))

    def end_outage(self):
        os.unlink(self.blocker)
        os.mkdir(self.blocker)

    def test_sigkill_during_outage_then_replay_in_order(self):
        spool = os.path.join(self.d, "spool")
        path = self.config(spool)
        a = hp.Agent(path).start()
        try:
            hp.wait_for(lambda: len(stdout_msgs(a, "uptime")) >= 20, what="20 uptime messages")
            a.proc.kill()  # SIGKILL mid-outage: nothing flushed on the way out
            a.proc.wait()
            first = stdout_msgs(a, "uptime")
        finally:
            a.stop()
            a.out.close()
            a.err.close()
            a.tmp.cleanup()
        session1 = first[0]["session"]
        seqs1 = [m["seq"] for m in first]
        self.assertTrue(os.listdir(os.path.join(spool, "csv")), "nothing spooled")

        self.end_outage()
        upcsv = os.path.join(self.csvdir, "uptime.csv")

        def replayed():
            got = {int(r["seq"]) for r in csv_rows(upcsv) if r["session"] == session1}
            return set(seqs1) <= got

        with hp.Agent(path) as b:
            hp.wait_for(replayed, what="the first session's messages in the CSV")
            hp.wait_for(lambda: any(r["session"] != session1 for r in csv_rows(upcsv)),
                        what="live data after the replay")
        self.assertEqual(b.returncode, 0, b.stderr)
        self.assertIn("to replay", b.stderr)
        rows = csv_rows(upcsv)
        old = [int(r["seq"]) for r in rows if r["session"] == session1]
        self.assertEqual(old, sorted(old), "replayed in order")
        self.assertEqual(len(old), len(set(old)), "no duplicates")
        self.assertTrue(set(seqs1) <= set(old))
        sessions = [r["session"] for r in rows]
        last_old = max(i for i, s in enumerate(sessions) if s == session1)
        first_new = min(i for i, s in enumerate(sessions) if s != session1)
        self.assertLess(last_old, first_new, "the spool is replayed before live data")

    def session_seqs(self, agent):
        msgs = stdout_msgs(agent, "uptime")
        return msgs[0]["session"], [m["seq"] for m in msgs]

    def assertDeliveredInOrder(self, session, seqs):
        rows = csv_rows(os.path.join(self.csvdir, "uptime.csv"))
        got = [int(r["seq"]) for r in rows if r["session"] == session]
        self.assertEqual(got, sorted(got), "in order")
        self.assertEqual(len(got), len(set(got)), "no duplicates")
        self.assertTrue(set(seqs) <= set(got), "missing: %s" % sorted(set(seqs) - set(got)))

    def test_renamed_sink_hands_its_spool_over(self):
        # Messages spooled by sink "old" during an outage reach the CSV after
        # the sink is renamed "new" (same type), and the old spool goes.
        spool = os.path.join(self.d, "spool")
        conf = CONFIG.format(spool=spool, fsync="batch", csv=self.csvdir, agent_interval=1.0,
                             backlog=10000)
        old = hp.write_config(self.d, conf.replace('{ type = "csv";', '{ type = "csv"; name = "old";'))
        with hp.Agent(old) as a:
            hp.wait_for(lambda: len(stdout_msgs(a, "uptime")) >= 10, what="10 uptime messages")
        first = stdout_msgs(a.stdout, "uptime")
        self.assertTrue(os.path.isdir(os.path.join(spool, "old")))
        self.end_outage()
        new = hp.write_config(self.d, conf.replace('{ type = "csv";', '{ type = "csv"; name = "new";'))
        upcsv = os.path.join(self.csvdir, "uptime.csv")
        session1 = first[0]["session"]
        want = {m["seq"] for m in first}
        with hp.Agent(new) as b:
            hp.wait_for(lambda: want <= {int(r["seq"]) for r in csv_rows(upcsv)
                                         if r["session"] == session1},
                        what="the old sink's messages in the CSV")
        self.assertEqual(b.returncode, 0, b.stderr)
        self.assertIn("handed to sink new (same type, csv)", b.stderr)
        self.assertFalse(os.path.exists(os.path.join(spool, "old")), "the old spool is gone")

    def test_reload_during_outage_keeps_the_spool(self):
        path = self.config(os.path.join(self.d, "spool"))
        with hp.Agent(path) as a:
            hp.wait_for(lambda: len(stdout_msgs(a, "uptime")) >= 10, what="10 uptime messages")
            a.send(signal.SIGHUP)
            hp.wait_for(lambda: "reload: configuration" in a.read_stderr(), what="reload")
            hp.wait_for(lambda: len(stdout_msgs(a, "uptime")) >= 20, what="20 uptime messages")
            self.end_outage()
            session, seqs = self.session_seqs(a)
            upcsv = os.path.join(self.csvdir, "uptime.csv")
            hp.wait_for(lambda: set(seqs) <= {int(r["seq"]) for r in csv_rows(upcsv)},
                        what="everything spooled before and after the reload")
        self.assertEqual(a.returncode, 0, a.stderr)
        session, seqs = self.session_seqs(a.stdout)
        self.assertDeliveredInOrder(session, seqs)

    def test_always_spools_and_delivers_everything(self):
        spool = os.path.join(self.d, "spool")
        self.end_outage()
        with open(self.config(spool)) as f:
            text = f.read().replace('fsync = "batch";', 'fsync = "batch"; always = true;')
        path = hp.write_config(self.d, text)
        with hp.Agent(path) as a:
            hp.wait_for(lambda: len(stdout_msgs(a, "uptime")) >= 20, what="20 uptime messages")
            hp.wait_for(lambda: [f for f in os.listdir(os.path.join(spool, "csv"))
                                 if f.endswith(".seg")], what="a segment file")
        self.assertEqual(a.returncode, 0, a.stderr)
        session, seqs = self.session_seqs(a.stdout)
        self.assertDeliveredInOrder(session, seqs)
        with open(os.path.join(spool, "csv", "acked")) as f:
            self.assertGreater(int(f.read()), 0)

    def test_env_spool_dir_is_the_default(self):
        spool = os.path.join(self.d, "envspool")
        path = hp.write_config(self.d, CONFIG.format(spool="unused", fsync="never",
                                                     csv=self.csvdir, agent_interval=1.0,
                                                     backlog=100).replace(
            'directory = "unused"; ', ""))
        with hp.Agent(path, env={"HOSTPULSE_SPOOL_DIR": spool}) as a:
            hp.wait_for(lambda: os.path.isdir(os.path.join(spool, "csv")) and
                        os.listdir(os.path.join(spool, "csv")), what="a spool under the env dir")
        self.assertEqual(a.returncode, 0, a.stderr)

    def mount_tmpfs(self, size):
        return hp.tiny_tmpfs(self, size, os.path.join(self.d, "fs"))

    def test_sink_failing_mid_run_spools_then_catches_up(self):
        # the CSV sink's own disk fills up while it runs: its writes fail
        mnt = self.mount_tmpfs("2m")
        self.csvdir = os.path.join(mnt, "csv")
        path = self.config(os.path.join(self.d, "spool"))
        filler = os.path.join(mnt, "filler")
        with hp.Agent(path) as a:
            upcsv = os.path.join(self.csvdir, "uptime.csv")
            hp.wait_for(lambda: len(csv_rows(upcsv)) >= 5, what="CSV rows before the outage")
            with open(filler, "wb") as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                except OSError:
                    pass
            hp.wait_for(lambda: "No space left on device" in a.read_stderr(), what="sink failure")
            spooldir = os.path.join(self.d, "spool", "csv")
            hp.wait_for(lambda: os.path.isdir(spooldir) and os.listdir(spooldir),
                        what="spooling during the outage")
            n = len(stdout_msgs(a, "uptime"))
            hp.wait_for(lambda: len(stdout_msgs(a, "uptime")) >= n + 10, what="more messages")
            os.unlink(filler)
            _, seqs = self.session_seqs(a)
            hp.wait_for(lambda: set(seqs) <= {int(r["seq"]) for r in csv_rows(upcsv)},
                        what="the CSV sink catching up")
        self.assertEqual(a.returncode, 0, a.stderr)
        session, seqs = self.session_seqs(a.stdout)
        self.assertDeliveredInOrder(session, seqs)

    def test_disk_full_counts_drops_and_recovers(self):
        mnt = self.mount_tmpfs("512k")
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb") as f:  # leave about 32 KiB for the spool
            try:
                f.write(b"\0" * (480 * 1024))
            except OSError:
                pass
        spool = os.path.join(mnt, "spool")
        # a small memory backlog: with the disk full, memory holds 50, then drops
        path = self.config(spool, fsync="interval", agent_interval=0.1, backlog=50)

        def report(agent):
            msgs = stdout_msgs(agent, "agent")
            return msgs[-1]["data"] if msgs else None

        def csv_stats(agent):
            r = report(agent)
            return (r["sinks"]["csv"], r["spool"].get("csv")) if r else (None, None)

        with hp.Agent(path) as a:
            hp.wait_for(lambda: (csv_stats(a)[0] or {}).get("dropped", 0) > 0, timeout=60,
                        what="drops counted while the spool's disk is full")
            sink, sp = csv_stats(a)
            self.assertGreater(sp["failed"], 0)
            self.assertIsNone(a.proc.poll(), "the agent keeps running")
            self.assertIn("No space left on device", a.read_stderr())
            os.unlink(filler)  # space returns
            failed = sp["failed"]
            hp.wait_for(lambda: csv_stats(a)[1]["queued"] > 100, timeout=60,
                        what="spooling again after space returned")
            self.end_outage()
            hp.wait_for(lambda: csv_stats(a)[0]["up"] and csv_stats(a)[1]["queued"] == 0,
                        timeout=60, what="the CSV sink catching up")
            self.assertGreaterEqual(csv_stats(a)[1]["failed"], failed)
            self.assertIn("writing again", a.read_stderr())
        self.assertEqual(a.returncode, 0, a.stderr)
        for m in hp.parse_lines(a.stdout):
            hp.validate(m)
        seqs = [int(r["seq"]) for r in csv_rows(os.path.join(self.csvdir, "uptime.csv"))]
        self.assertTrue(seqs)
        self.assertEqual(seqs, sorted(seqs), "order kept across the drops")
        self.assertEqual(len(seqs), len(set(seqs)), "no duplicates")


GOOD = """
agent: { hostname = "badinput"; };
reporters: { uptime: { interval = 0.5; }; agent: { interval = 0.5; }; };
sinks = ( { type = "stdout"; } );
"""


DAMAGE_CONFIG = """
agent: {{ hostname = "spooltest"; spool: {{ directory = "{spool}"; }}; }};
reporters: {{ uptime: {{ interval = 3600.0; }}; agent: {{ interval = 0.2; }}; }};
sinks = ( {{ type = "stdout"; name = "out"; }} );
"""


class SpoolDamageTest(unittest.TestCase):
    """A spool for the stdout sink "out" is generated and damaged, then the
    agent replays it to stdout: what it prints is what it delivered."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.d = self.tmp.name
        self.spool_dir = os.path.join(self.d, "spool")
        self.spool = gen.Spool(self.spool_dir, "out")
        self.victim = os.path.join(self.d, "victim")  # outside the spool
        with open(self.victim, "wb") as f:
            f.write(gen.MAGIC + b"a file the agent must never touch\n")

    def segment(self, first, n=30):
        """A segment of n envelopes, seq first+1 .. first+n; (path, payloads)."""
        payloads = [gen.envelope(first + i + 1) for i in range(n)]
        return self.spool.write(first, payloads), payloads

    def outside(self):
        """Digest, size and mtime of every file outside the spool directory."""
        seen = {}
        for root, dirs, files in os.walk(self.d):
            if root.startswith(self.spool_dir):
                continue
            for name in files:
                p = os.path.join(root, name)
                if os.path.islink(p) or p.endswith(".conf"):
                    continue
                with open(p, "rb") as f:
                    seen[p] = (hashlib.sha256(f.read()).hexdigest(), os.stat(p).st_mtime_ns)
        return seen

    def replay(self, want):
        """Run the agent until `want` generated messages and a self-report
        with the spool emptied came out; (seqs delivered, self-report, log)."""
        path = hp.write_config(self.d, DAMAGE_CONFIG.format(spool=self.spool_dir))
        before = self.outside()

        def done(a):
            msgs = stdout_msgs(a, "uptime")
            got = [m for m in msgs if m["session"] == "gen-session"]
            reports = [m for m in stdout_msgs(a, "agent")
                       if m["data"]["spool"].get("out", {}).get("queued") == 0]
            return len(got) >= want and reports

        with hp.Agent(path) as a:
            hp.wait_for(lambda: done(a), timeout=30, what="the replay")
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(self.outside(), before, "a file outside the spool changed")
        seqs = [m["seq"] for m in stdout_msgs(a.stdout, "uptime") if m["session"] == "gen-session"]
        self.assertEqual(seqs, sorted(seqs), "in order")
        self.assertEqual(len(seqs), len(set(seqs)), "no duplicates")
        report = stdout_msgs(a.stdout, "agent")[-1]["data"]["spool"]["out"]
        return seqs, report, a.stderr

    def test_flipped_bytes_lose_only_the_damaged_records(self):
        p0, r0 = self.segment(0)
        gen.flip(p0, gen.record_offset(r0, 5) + 40)  # a payload byte of seq 6
        p1, r1 = self.segment(30)
        gen.flip(p1, gen.record_offset(r1, 0) + 1)  # a length byte of seq 31
        p2, r2 = self.segment(60)
        gen.flip(p2, gen.record_offset(r2, 12) + 5)  # a CRC byte of seq 73
        seqs, report, log = self.replay(87)
        self.assertEqual(seqs, [s for s in range(1, 91) if s not in (6, 31, 73)])
        self.assertEqual(report["corrupt"], 3)
        self.assertEqual(log.count("damaged record at offset"), 3, log)
        self.assertIn("87 message(s) to replay", log)  # real records only

    def test_torn_tail_bad_magic_and_bad_length(self):
        p0, r0 = self.segment(0)
        gen.poke(p0, 0, b"NOTSPOOL")  # bad magic: the records are still read
        p1, r1 = self.segment(30)
        gen.poke(p1, gen.record_offset(r1, 10), b"\xff\xff\xff\x7f")  # a length of 2 GiB
        p2, r2 = self.segment(60)
        with open(p2, "ab") as f:  # a crash mid-append: half a record
            f.write(gen.record(gen.envelope(91))[:37])
        seqs, report, log = self.replay(89)
        self.assertEqual(seqs, [s for s in range(1, 91) if s != 41])
        self.assertEqual(report["corrupt"], 3)  # the magic, the length, the tail
        self.assertIn("bad magic", log)
        self.assertIn("torn or corrupt data", log)
        # (that only the tail was cut is shown by tests/unit/test_spool.c: here the
        # segment is deleted once delivered)

    def test_bad_acked_replays_everything(self):
        for bad in ("-1\n", "18446744073709551615\n", "garbage", "999999\n"):
            with self.subTest(acked=bad):
                self.segment(0)
                self.spool.acked(bad)
                seqs, report, log = self.replay(30)
                self.assertEqual(seqs, list(range(1, 31)))
                self.assertIn("replaying the whole spool", log)
                # and the numbering did not wrap: the next run starts clean
                self.assertEqual([n for n in os.listdir(self.spool.dir) if n.endswith(".seg")],
                                 [])

    def test_unusable_records_are_counted_and_skipped(self):
        # CRC-valid records that are not usable envelopes: one naming a
        # reporter that would leave a directory (it names CSV files), and
        # one that is not JSON at all.
        payloads = [gen.envelope(i + 1) for i in range(10)]
        payloads[3] = gen.envelope(4, reporter="../../pwned")
        payloads[6] = b"not json at all"
        self.spool.write(0, payloads)
        seqs, report, log = self.replay(8)
        self.assertEqual(seqs, [1, 2, 3, 5, 6, 8, 9, 10])
        self.assertEqual(report["corrupt"], 2)
        self.assertIn("is not a usable message envelope", log)

    def test_second_agent_on_the_same_spool_is_told(self):
        path = hp.write_config(self.d, DAMAGE_CONFIG.format(spool=self.spool_dir))
        with hp.Agent(path) as a:
            hp.wait_for(lambda: stdout_msgs(a, "agent"), what="the first agent running")
            with hp.Agent(path) as b:
                hp.wait_for(lambda: "in use by another hostpulse" in b.read_stderr(),
                            what="the second agent's error")
        self.assertIn("sink out: no disk spool (%s/out is in use by another hostpulse"
                      % self.spool_dir, b.stderr)
        self.assertNotIn("in use", a.stderr)

    def test_symlinked_segment_is_not_followed(self):
        self.segment(0)
        os.symlink(self.victim, self.spool.path(30))
        seqs, report, log = self.replay(30)
        self.assertEqual(seqs, list(range(1, 31)))
        self.assertIn("a symbolic link", log)
        with open(self.victim, "rb") as f:
            self.assertEqual(f.read(), gen.MAGIC + b"a file the agent must never touch\n")


class BadConfigTest(unittest.TestCase):
    def check_file(self, data):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.conf")
            with open(path, "wb") as f:
                f.write(data)
            p = hp.run(["-c", path, "--check"], timeout=120)
            return p, path

    def assertCleanError(self, data):
        p, path = self.check_file(data)
        self.assertEqual(p.returncode, 1, "no clean failure (a crash is negative): %s"
                         % p.stderr[-500:])
        self.assertTrue(p.stderr.startswith(path + ":"), p.stderr[:500])

    def test_sink_names_that_leave_the_spool_are_refused(self):
        # A sink name names its spool directory: "../../x" would put it
        # outside. Refused with the file and line of the name.
        for name in ("../../x", "..", "a/b", ".hidden", "-x", "x" * 40):
            with self.subTest(name=name):
                p, path = self.check_file(
                    b'sinks = (\n  { type = "stdout";\n    name = "%s"; }\n);\n' % name.encode())
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn('%s:3: sinks[0].name: "%s" is not a name' % (path, name[:64]),
                              p.stderr)
        p, _ = self.check_file(b'sinks = ( { type = "stdout"; name = "out-1.b_2"; } );\n')
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_truncated_configs(self):
        text = GOOD.encode()
        for cut in (len(text) - 3, len(text) // 2, 20, 9):
            self.assertCleanError(text[:cut])

    def test_binary_configs(self):
        self.assertCleanError(b"\0" * 1000)
        self.assertCleanError(GOOD.encode() + b"\xff\xfe\x00\x01garbage")
        self.assertCleanError(b'agent: { hostname = "\x00\xff"; };\nbogus')
        self.assertCleanError(bytes(range(128, 256)) * 100)

    def test_huge_configs(self):
        # 20 MB: refused before parsing (libconfig is quadratic in long tokens)
        p, path = self.check_file(b'agent: { description = "' + b"x" * (20 << 20) + b'"; };\n')
        self.assertEqual(p.returncode, 1)
        self.assertIn(path + ":0: configuration is too large", p.stderr)
        # a 200 KB string value, then an error after it
        self.assertCleanError(b'agent: { description = "' + b"x" * (200 << 10) + b'"; oops = 1; };\n')
        # 10000 unknown keys: every one reported, no crash
        body = b"".join(b"k%d = %d;\n" % (i, i) for i in range(10000))
        p, path = self.check_file(b"agent: {\n" + body + b"};\n")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.count("unknown option"), 10000)
        # deep nesting
        self.assertCleanError(b"agent: " + b"{ a: " * 5000 + b"1" + b"}" * 5000 + b";\n")

    def test_directory_as_config(self):
        with tempfile.TemporaryDirectory() as d:
            p = hp.run(["-c", d, "--check"])
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(d + ":0: cannot read configuration", p.stderr)

    def test_overflowing_numbers(self):
        self.assertCleanError(b"agent: { batch_size = 99999999999999999999999999; };\n")
        self.assertCleanError(b"agent: { spool: { max_bytes = -1; }; };\n")
        self.assertCleanError(b"agent: { tick = 1e999; };\n")


class BadProcTest(unittest.TestCase):
    # /proc fixtures with garbage, truncated lines and overflowing numbers
    CASES = {
        "empty": ("", ""),
        "garbage": ("abc def\n", "cpu x y\nbtime\n"),
        "binary": ("\x00\xff\x01", "\x00\x00btime \xff\n"),
        "truncated": ("12", "cpu  1 2 3\nbti"),
        "overflow": ("1" * 400 + ".5 " + "9" * 400 + "\n",
                     "btime 99999999999999999999999999999\n"),
        "huge_exp": ("1e999 -1e999\n", "btime 18446744073709551615\n"),
        "negative": ("-5.0 -3.0\n", "btime -1\n"),
        "nan": ("nan inf\n", "intr 1\nbtime 12abc\n"),
        "long_line": ("7.5 " * 100000 + "\n", "x" * 1000000 + "\nbtime 1700000000\n"),
    }

    def run_fixture(self, uptime, stat):
        with tempfile.TemporaryDirectory() as d:
            proc = os.path.join(d, "proc")
            os.mkdir(proc)
            with open(os.path.join(proc, "uptime"), "w", encoding="latin-1") as f:
                f.write(uptime)
            with open(os.path.join(proc, "stat"), "w", encoding="latin-1") as f:
                f.write(stat)
            return hp.run_once(GOOD, env={"HOSTPULSE_PROC_ROOT": proc})

    def test_garbage_proc_files(self):
        for name, (uptime, stat) in self.CASES.items():
            with self.subTest(name):
                msgs, p = self.run_fixture(uptime, stat)
                self.assertGreaterEqual(p.returncode, 0, "crashed: " + p.stderr[-500:])
                self.assertIn(p.returncode, (0, 1), p.stderr)
                for m in msgs:
                    hp.validate(m)
                self.assertIn("agent", [m["reporter"] for m in msgs], p.stderr)

    def test_missing_proc_files(self):
        with tempfile.TemporaryDirectory() as d:
            msgs, p = hp.run_once(GOOD, env={"HOSTPULSE_PROC_ROOT": d})
            self.assertIn(p.returncode, (0, 1), p.stderr)
            self.assertIn("uptime: cannot read", p.stderr)
            for m in msgs:
                hp.validate(m)


if __name__ == "__main__":
    unittest.main()
