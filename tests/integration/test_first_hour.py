# SPDX-License-Identifier: Apache-2.0
# test_first_hour.py -- the README's "first hour" walkthrough, run as
# written: its commands are read from README.md between the markers
# <!-- first-hour:begin --> and <!-- first-hour:end --> (so the README and
# this test cannot drift apart), run one after another in a temporary
# directory holding ./hostpulse, against a private rabbitmq-server
# (tests/integration/rabbit.py; localhost:5672 in the README becomes its
# port), and the output of each must have the shape the README shows.
#
# In a ```console block a line "$ cmd" is a command (a heredoc continues it
# to its terminator), the lines after it its output; "..." stands for lines
# left out. Output lines are compared by shape: times, uuids, numbers and
# the host name are wildcards, JSON lines compare their keys. The README's
# lines must appear in order in the real output (which may have more).
# Commands that install packages or build the tree (`sudo ...`, `make ...`)
# are not run: the suite has built the tree and starts its own broker.
#
# Also here: `make run` installs only the build dependencies.
# hp: slow
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import tests.integration.hp as hp
import tests.integration.rabbit as rabbit

README = os.path.join(hp.ROOT, "README.md")


def walkthrough(text):
    """[(command, [expected output lines])] of the marked part of text."""
    m = re.search(r"<!-- first-hour:begin -->(.*?)<!-- first-hour:end -->", text, re.S)
    if not m:
        raise AssertionError("README.md has no first-hour markers")
    steps = []
    for block in re.findall(r"```console\n(.*?)```", m.group(1), re.S):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            i += 1
            if not line.startswith("$ "):
                if not steps:
                    raise AssertionError("output before any command: %r" % line)
                steps[-1][1].append(line)
                continue
            cmd = line[2:]
            here = re.search(r"<<-?'?(\w+)'?", cmd)
            if here:
                while i < len(lines):
                    cmd += "\n" + lines[i]
                    i += 1
                    if lines[i - 1] == here.group(1):
                        break
            steps.append((cmd, []))
    return steps


def shape(line):
    """A line with what differs between runs and machines made a wildcard."""
    line = line.rstrip()
    try:
        v = json.loads(line)
        if isinstance(v, dict):
            return "JSON " + ",".join(sorted(v))
    except ValueError:
        pass
    line = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", "<time>", line)
    line = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", line)
    line = re.sub(r"\d+(\.\d+)?", "<n>", line)
    return re.sub(r"\s+", " ", line).strip()


def subsequence(want, got):
    """The first line of want not found, in order, in got; None if all are."""
    it = iter(got)
    for w in want:
        if not any(g == w for g in it):
            return w
    return None


# A sink's log lines come from its own thread, racing the main thread's
# ("connected" may come before or after "started").
SINK_LINE = re.compile(r"hostpulse: \w+: sink ")


def lines_shown(want, got):
    """The first line of want not in got: a sink thread's lines anywhere,
    every other line in order (subsequence); None if all are."""
    for w in want:
        if SINK_LINE.search(w) and w not in got:
            return w
    return subsequence([w for w in want if not SINK_LINE.search(w)],
                       [g for g in got if not SINK_LINE.search(g)])


class FirstHourTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = rabbit.available()
        if why:
            raise unittest.SkipTest(why)
        for tool in ("amqp-consume", "jq"):
            if not shutil.which(tool):
                raise unittest.SkipTest("%s is not installed (make deps installs it)" % tool)
        cls.broker = rabbit.Broker()
        try:
            cls.broker.start()
        except Exception:
            cls.broker.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.broker.close()

    def test_readme_walkthrough(self):
        with open(README) as f:
            steps = walkthrough(f.read())
        self.assertGreaterEqual(len(steps), 6, "the walkthrough has its steps")
        port = str(self.broker.port)
        env = dict(os.environ, JOURNAL_STREAM="", INVOCATION_ID="")
        env.pop("HOSTPULSE_SPOOL_DIR", None)
        ran = 0
        with tempfile.TemporaryDirectory() as d:
            os.symlink(hp.BIN, os.path.join(d, "hostpulse"))
            env["HOSTPULSE_SPOOL_DIR"] = os.path.join(d, "spool")
            for cmd, out in steps:
                if re.match(r"(sudo|make)\b", cmd):
                    continue
                run = cmd.replace("localhost:5672", "127.0.0.1:" + port)
                run = run.replace("--port 5672", "--port " + port)
                p = subprocess.run(["bash", "-o", "pipefail", "-c", run], cwd=d, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   timeout=120 * hp.SLOW)
                hp.check_sanitizers(p.stdout)
                # timeout -s INT ends a foreground run: 124 is its normal exit
                ok = (0, 124) if cmd.startswith("timeout ") else (0,)
                self.assertIn(p.returncode, ok, "%s\n%s" % (cmd, p.stdout))
                want = [shape(l) for l in out if l.strip() and l.strip() != "..."]
                text = p.stdout.replace("127.0.0.1:" + port, "localhost:5672")
                got = [shape(l) for l in text.splitlines()]
                missing = lines_shown(want, got)
                self.assertIsNone(missing, "%s\nREADME shows a line like\n  %s\nnot in\n%s"
                                  % (cmd, missing, p.stdout))
                ran += 1
        self.assertGreaterEqual(ran, 5)


class ShapeTest(unittest.TestCase):
    def test_shape_and_subsequence(self):
        a = shape('2026-11-28T00:17:47.461Z hostpulse: info: started: 8 reporters, 1 sinks')
        b = shape('2027-01-01T10:00:00.000Z hostpulse: info: started: 12 reporters, 2 sinks')
        self.assertEqual(a, b)
        self.assertNotEqual(a, shape("hostpulse: info: started: 8 reporters, 1 sinks"))
        self.assertEqual(shape('{"reporter":"cpu","seq":1}'), shape('{"seq":9,"reporter":"mem"}'))
        self.assertIsNone(subsequence(["a", "c"], ["a", "b", "c"]))
        self.assertEqual(subsequence(["c", "a"], ["a", "b", "c"]), "a")
        started, connected = "x hostpulse: info: started", "x hostpulse: info: sink amqp: connected"
        self.assertIsNone(lines_shown([started, connected], [connected, started]))
        self.assertEqual(lines_shown([started, connected], [started]), connected)
        self.assertEqual(lines_shown(["a", "c"], ["c", "a"]), "c")


class MakeRunDepsTest(unittest.TestCase):
    """Issue 16, item 14: `make run` installs what building needs, not the
    brokers, databases and linters `make check` needs."""

    def make_vars(self):
        p = subprocess.run(["make", "-s", "-C", hp.ROOT, "-n", "-p", "run"], capture_output=True,
                           text=True, timeout=120)
        out = {}
        for name in ("BUILD_DEPS", "DEPS", "PKGS", "MOD_PKGS", "WEB_PKGS"):
            m = re.search(r"^%s :?= (.*)$" % name, p.stdout, re.M)
            self.assertIsNotNone(m, name)
            out[name] = m.group(1).split()
        return out, p.stdout

    def test_run_installs_build_dependencies_only(self):
        v, plan = self.make_vars()
        deps_line = [l for l in plan.splitlines() if l.startswith("scripts/deps.sh")]
        self.assertEqual(len(deps_line), 1, "make run calls deps.sh once")
        self.assertEqual(deps_line[0].split()[1:], v["BUILD_DEPS"])
        for heavy in ("rabbitmq-server", "mariadb-server", "clang", "lintian", "collectd-core",
                      "maven", "chromium"):
            self.assertIn(heavy, v["DEPS"])
            self.assertNotIn(heavy, v["BUILD_DEPS"])

    def test_build_dependencies_provide_every_library_the_build_uses(self):
        if not shutil.which("dpkg"):
            self.skipTest("dpkg is missing: not a Debian system")
        v, _ = self.make_vars()
        for pc in sorted(set(v["PKGS"] + v["MOD_PKGS"] + v["WEB_PKGS"])):
            d = subprocess.run(["pkg-config", "--variable=pcfiledir", pc], capture_output=True,
                               text=True).stdout.strip()
            path = os.path.realpath(os.path.join(d, pc + ".pc"))
            owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
            self.assertEqual(owner.returncode, 0, "%s: %s" % (pc, owner.stderr))
            pkg = owner.stdout.split(":")[0]
            self.assertIn(pkg, v["BUILD_DEPS"], "%s.pc comes from %s" % (pc, pkg))
        self.assertIn("libsensors-dev", v["BUILD_DEPS"])  # linked without pkg-config


if __name__ == "__main__":
    unittest.main()
