# SPDX-License-Identifier: Apache-2.0
# test_process_live.py -- the process reporter on this machine's /proc: a
# child started by the test is found by name and by pid file, its fields
# agree with /proc read here independently, and after a restart (new pid)
# both groups follow it; the agent finds itself with `self`; watch-group
# mistakes are FILE:LINE errors of --check.
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import tests.integration.hp as hp

PAGE = os.sysconf("SC_PAGE_SIZE")
HZ = os.sysconf("SC_CLK_TCK")


def proc_stat(pid):
    # (comm, fields after comm) of /proc/PID/stat
    with open("/proc/%d/stat" % pid) as f:
        text = f.read()
    comm = text[text.index("(") + 1:text.rindex(")")]
    return comm, text[text.rindex(")") + 2:].split()


def btime():
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("btime "):
                return int(line.split()[1])
    raise AssertionError("no btime in /proc/stat")


def messages(agent, reporter="process"):
    out = []
    for line in agent.read_stdout().splitlines():
        try:
            m = hp.parse_lines(line)[0]
        except ValueError:
            continue  # a line being written
        if m["reporter"] == reporter:
            out.append(m)
    return out


def entry(msg, pid):
    for e in msg["data"]["watched"]:
        if e["pid"] == pid:
            return e
    return None


class LiveTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        # a copy of sleep with a name no other process has (comm: 15 bytes)
        self.name = "hpsl%06x" % random.randrange(1 << 24)
        self.bin = os.path.join(self.tmp.name, self.name)
        shutil.copy("/bin/sleep", self.bin)
        self.pidfile = os.path.join(self.tmp.name, "child.pid")
        self.children = []
        self.addCleanup(self.reap)

    def reap(self):
        for c in self.children:
            if c.poll() is None:
                c.kill()
                c.wait()

    def start_child(self):
        c = subprocess.Popen([self.bin, "1000"])
        self.children.append(c)
        with open(self.pidfile, "w") as f:
            f.write("%d\n" % c.pid)
        return c

    def config(self):
        text = """
reporters: {
  uptime: { enabled = false; };
  agent: { enabled = false; };
  temperature: { enabled = false; };
  process: {
    enabled = true;
    interval = 0.2;
    cmdline = true;
    watch = (
      { name = "%s"; label = "byname"; aggregate = true; },
      { pidfile = "%s"; label = "bypidfile"; },
      { self = true; }
    );
  };
};
sinks = ( { type = "stdout"; } );
""" % (self.name, self.pidfile)
        return hp.write_config(self.tmp.name, text)

    def wait_entry(self, agent, pid, after=0):
        def found():
            for m in messages(agent)[after:]:
                e = entry(m, pid)
                if e and sorted(e["watch"]) == ["byname", "bypidfile"]:
                    return m, e
            return None
        return hp.wait_for(found, timeout=20, what="pid %d watched by name and pid file" % pid)

    def check_against_proc(self, e, pid):
        comm, f = proc_stat(pid)
        self.assertEqual(e["name"], comm)
        self.assertEqual(e["name"], self.name)
        self.assertEqual(e["ppid"], int(f[1]))
        self.assertEqual(e["ppid"], os.getpid())
        self.assertEqual(e["rss"], int(f[21]) * PAGE)
        self.assertEqual(e["vms"], int(f[20]))
        self.assertEqual(e["threads"], int(f[17]))
        self.assertEqual(e["start_time"], btime() * 1000 + int(f[19]) * 1000 // HZ)
        self.assertEqual(e["cmdline"], "%s 1000" % self.bin)
        self.assertEqual(e["uid"], os.geteuid())
        self.assertIn(e["state"], ("sleeping", "running"))
        with open("/proc/%d/cgroup" % pid) as cg:
            v2 = [l.strip()[3:] for l in cg if l.startswith("0::")]
        if v2 and v2[0]:
            self.assertEqual(e.get("cgroup"), v2[0])

    def test_watch_by_name_and_pidfile_across_restart(self):
        child = self.start_child()
        with hp.Agent(self.config()) as a:
            m, e = self.wait_entry(a, child.pid)
            self.check_against_proc(e, child.pid)
            agg = [g for g in m["data"]["aggregates"] if g["watch"] == "byname"][0]
            self.assertEqual(agg["pids"], [child.pid])
            self.assertEqual(agg["rss"], e["rss"])
            # the agent itself
            me = entry(m, a.proc.pid)
            self.assertIsNotNone(me, "self not watched")
            self.assertEqual(me["watch"], ["self"])
            self.assertEqual(me["name"], "hostpulse")
            self.assertGreaterEqual(me["fds"], 3)
            # restart the watched program: the new pid is picked up
            old = child.pid
            n = len(messages(a))
            child.kill()
            child.wait()
            child = self.start_child()
            m, e = self.wait_entry(a, child.pid, after=n)
            self.assertIsNone(entry(m, old))
            self.check_against_proc(e, child.pid)
        self.assertEqual(a.returncode, 0, a.stderr)
        for m in hp.parse_lines(a.stdout):
            hp.validate(m)

    def test_cpu_percent_of_a_busy_child(self):
        # a child spinning for a while: its cpu_percent is positive and
        # never more than one core (it has one thread)
        spin = os.path.join(self.tmp.name, "hpspin")
        shutil.copy("/bin/sh", spin)
        c = subprocess.Popen([spin, "-c", "while :; do :; done"])
        self.children.append(c)
        text = """
reporters: { uptime: { enabled = false; }; agent: { enabled = false; };
  temperature: { enabled = false; };
  process: { enabled = true; interval = 0.3; watch = ( { name = "hpspin"; } ); }; };
sinks = ( { type = "stdout"; } );
"""
        with hp.Agent(hp.write_config(self.tmp.name, text)) as a:
            def busy():
                for m in messages(a):
                    e = entry(m, c.pid)
                    if e and e.get("cpu_percent", 0) > 0:
                        return e
                return None
            e = hp.wait_for(busy, timeout=20, what="cpu_percent > 0 for the spinning child")
            self.assertLessEqual(e["cpu_percent"], 100.0 * 1.05)
        c.kill()
        for m in hp.parse_lines(a.stdout):
            hp.validate(m)


class FixtureRunTest(unittest.TestCase):
    def test_agent_on_the_fixture_tree_validates(self):
        # the real binary with HOSTPULSE_PROC_ROOT at tests/fixtures/process:
        # the message validates and carries the hand-computed values
        text = """
reporters: { uptime: { enabled = false; }; agent: { enabled = false; };
  temperature: { enabled = false; };
  process: { enabled = true;
    watch = ( { name = "nginx"; aggregate = true; }, { self = true; } ); }; };
sinks = ( { type = "stdout"; } );
"""
        root = os.path.join(hp.FIXTURES, "process")
        msgs, p = hp.run_once(text, env={"HOSTPULSE_PROC_ROOT": root})
        self.assertEqual(p.returncode, 0, p.stderr)
        procs = [m for m in msgs if m["reporter"] == "process"]
        self.assertEqual(len(procs), 1, p.stdout)
        hp.validate(procs[0])
        d = procs[0]["data"]
        self.assertEqual(d["processes"], 8)
        self.assertEqual(d["threads"], 14)
        self.assertEqual([e["pid"] for e in d["watched"]], [100, 101, 102, 300])
        master = d["watched"][0]
        self.assertEqual(master["start_time"], 1700000000000 + 200000 * 1000 // HZ)
        self.assertEqual(master["rss"], 2000 * PAGE)
        self.assertEqual(master["unit"], "nginx.service")
        self.assertEqual(master["cpu_percent"], 0)  # the fixture does not change
        self.assertNotIn("read_bytes", d["watched"][2])  # 102 has no io file
        self.assertIn("cannot read %s/102/io" % root, p.stderr)
        self.assertEqual(d["aggregates"][0]["count"], 3)


class CheckTest(unittest.TestCase):
    def assertProblem(self, text, line, fragment):
        with tempfile.TemporaryDirectory() as d:
            path = hp.write_config(d, text)
            p = hp.run(["-c", path, "--check"])
        self.assertEqual(p.returncode, 1, p.stderr)
        want = "%s:%d: " % (path, line)
        hits = [l for l in p.stderr.splitlines() if l.startswith(want) and fragment in l]
        self.assertTrue(hits, "expected %r with %r in:\n%s" % (want, fragment, p.stderr))

    def test_unknown_key_in_a_watch_group(self):
        self.assertProblem('reporters: { process: { enabled = true; watch = (\n { name = "a"; },\n'
                           ' { nmae = "b"; }\n ); }; };\n', 3, "nmae: unknown option")

    def test_invalid_regex(self):
        self.assertProblem('reporters: { process: { enabled = true; watch = (\n\n { cmdline = "[a-"; }\n'
                           ' ); }; };\n', 3, "invalid regular expression")

    def test_bad_by(self):
        self.assertProblem('reporters: { process: { enabled = true; watch = (\n { top = 3;\n by = "disk"; }\n'
                           ' ); }; };\n', 3, "unknown value")

    def test_empty_group(self):
        self.assertProblem('reporters: { process: { enabled = true; watch = (\n { aggregate = true; }\n'
                           ' ); }; };\n', 2, "needs a selector")


class CmdlineTest(unittest.TestCase):
    """Command lines are not published unless asked for, and then with
    secrets redacted (issue 16: one held a JSON blob of environment values)."""

    CONF = """
reporters: { uptime: { enabled = false; }; agent: { enabled = false; };
  process: { enabled = true; %s watch = ( { pid = %d; } ); }; };
sinks = ( { type = "stdout"; } );
"""

    def setUp(self):
        self.child = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)", "--db-password=hunter2",
             "--token", "abc123", '{"AWS_SECRET":"xyzxyzxyz","HOME":"/root"}', "--verbose"])
        self.addCleanup(lambda: (self.child.kill(), self.child.wait()))

    def watched(self, opts):
        msgs, p = hp.run_once(self.CONF % (opts, self.child.pid))
        self.assertEqual(p.returncode, 0, p.stderr)
        procs = [m for m in msgs if m["reporter"] == "process"]
        self.assertEqual(len(procs), 1, p.stdout)
        e = entry(procs[0], self.child.pid)
        self.assertIsNotNone(e, p.stdout)
        return e, p.stdout

    def test_off_by_default(self):
        e, out = self.watched("")
        self.assertNotIn("cmdline", e)
        self.assertNotIn("hunter2", out)

    def test_on_with_default_redaction(self):
        e, out = self.watched("cmdline = true;")
        self.assertTrue(e["cmdline"].endswith(" -c import time; time.sleep(60) "
                                              "--db-password=*** --token *** *** --verbose"),
                        e["cmdline"])
        for secret in ("hunter2", "abc123", "xyzxyzxyz"):
            self.assertNotIn(secret, out)

    def test_configured_patterns_replace_the_defaults(self):
        e, _ = self.watched('cmdline = true; cmdline_redact = [ "abc[0-9]+" ];')
        self.assertIn("--db-password=hunter2 --token *** {", e["cmdline"])

    def test_bad_pattern_is_a_check_error(self):
        with tempfile.TemporaryDirectory() as d:
            path = hp.write_config(d, 'reporters: { process: { enabled = true; cmdline = true;\n'
                                      '  cmdline_redact = [ "(open" ]; }; };\n')
            p = hp.run(["-c", path, "--check"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("reporters.process.cmdline_redact: invalid regular expression", p.stderr)


if __name__ == "__main__":
    unittest.main()
