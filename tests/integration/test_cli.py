# SPDX-License-Identifier: Apache-2.0
# test_cli.py -- the command line end to end: --once, --check, --stdout,
# a short real run stopped by SIGTERM, SIGHUP reload, bad input.
import os
import re
import subprocess
import signal
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import tests.integration.hp as hp

BASIC = """
agent: { hostname = "testhost"; description = "cli test"; };
reporters: { uptime: { interval = 0.2; }; agent: { interval = 0.2; }; };
sinks = ( { type = "stdout"; } );
"""


class OnceTest(unittest.TestCase):
    def test_once_stdout_one_valid_message_per_reporter(self):
        msgs, p = hp.run_once(BASIC)
        self.assertEqual(p.returncode, 0, p.stderr)
        names = [m["reporter"] for m in msgs]
        for m in msgs:
            hp.validate(m)
            self.assertEqual(m["host"], "testhost")
            self.assertEqual(m["seq"], 1)
        self.assertEqual(sorted(names), sorted(set(names)), "one message per reporter")
        self.assertIn("uptime", names)
        self.assertIn("agent", names)

    def test_version_and_help(self):
        p = hp.run(["--version"])
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"^hostpulse \d+\.\d+")
        p = hp.run(["--help"])
        self.assertEqual(p.returncode, 0)
        for opt in ("--check", "--once", "--stdout", "--connect", "-c"):
            self.assertIn(opt, p.stdout)

    def test_unknown_flag_is_an_error(self):
        p = hp.run(["--frobnicate"])
        self.assertNotEqual(p.returncode, 0)


STAMP = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z hostpulse: "
NO_JOURNAL = {"JOURNAL_STREAM": "", "INVOCATION_ID": ""}


class LogLineTest(unittest.TestCase):
    """Foreground log lines carry a UTC ISO 8601 time; under systemd (the
    journal stamps lines itself) and with timestamps = "never" they do not."""

    CONF = BASIC.replace('description = "cli test";',
                         'description = "cli test"; log: { level = "debug"; %s };')

    def log_lines(self, env, opt=""):
        _, p = hp.run_once(self.CONF % opt, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = [l for l in p.stderr.splitlines() if "hostpulse: " in l]
        self.assertTrue(lines, p.stderr)
        return lines

    def test_foreground_lines_start_with_utc_time(self):
        for l in self.log_lines(NO_JOURNAL):
            self.assertRegex(l, STAMP)

    def test_no_time_under_the_journal(self):
        for env in ({"JOURNAL_STREAM": "8:1234", "INVOCATION_ID": ""},
                    {"JOURNAL_STREAM": "", "INVOCATION_ID": "0123abcd"}):
            for l in self.log_lines(env):
                self.assertTrue(l.startswith("hostpulse: "), l)

    def test_option_overrides_detection(self):
        for l in self.log_lines(NO_JOURNAL, 'timestamps = "never";'):
            self.assertTrue(l.startswith("hostpulse: "), l)
        for l in self.log_lines({"INVOCATION_ID": "0123abcd"}, 'timestamps = "always";'):
            self.assertRegex(l, STAMP)


class CheckTest(unittest.TestCase):
    def check(self, text):
        with tempfile.TemporaryDirectory() as d:
            path = hp.write_config(d, text)
            p = hp.run(["-c", path, "--check"])
            return p, path

    def test_good_config(self):
        p, _ = self.check(BASIC)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_shipped_configs_are_valid(self):
        for name in sorted(os.listdir(os.path.join(hp.ROOT, "etc"))):
            if not name.endswith(".conf") or name == "web.conf":  # hostpulse-web's
                continue
            path = os.path.join(hp.ROOT, "etc", name)
            if name == "web.conf":  # hostpulse-web's, checked by its own program
                p = subprocess.run([os.path.join(hp.BUILD, "hostpulse-web"), "-c", path,
                                    "--check"], capture_output=True, text=True, timeout=60)
            else:
                p = hp.run(["-c", path, "--check"])
            self.assertEqual(p.returncode, 0, "%s: %s" % (name, p.stderr))

    def assertProblem(self, text, line, fragment):
        p, path = self.check(text)
        self.assertEqual(p.returncode, 1, p.stderr)
        want = "%s:%d: " % (path, line)
        hits = [l for l in p.stderr.splitlines() if l.startswith(want) and fragment in l]
        self.assertTrue(hits, "expected %r with %r in:\n%s" % (want, fragment, p.stderr))

    def test_syntax_error(self):
        self.assertProblem('agent: {\n  hostname = ;\n};\n', 2, "syntax error")

    def test_unknown_key(self):
        self.assertProblem('agent: {\n  hostnme = "x";\n};\n', 2, "agent.hostnme: unknown option")

    def test_wrong_type(self):
        self.assertProblem('agent: {\n\n  batch_size = "many";\n};\n', 3, "must be an integer")

    def test_out_of_range(self):
        self.assertProblem('reporters: {\n  uptime: {\n    interval = 0.0;\n  };\n};\n', 3,
                           "out of range")

    def test_unknown_reporter(self):
        self.assertProblem('reporters: {\n  cpux: { };\n};\n', 2, "unknown reporter")

    def test_unknown_sink_type(self):
        self.assertProblem('sinks = (\n  { type = "carrier-pigeon"; }\n);\n', 2,
                           "unknown sink type")

    def test_missing_sink_module(self):
        # A sink whose module is not installed: the config's line and the
        # module's path, not a crash or a generic failure.
        with tempfile.TemporaryDirectory() as d:
            path = hp.write_config(d, 'sinks = (\n  { type = "kafka"; }\n);\n')
            p = hp.run(["-c", path, "--check"], env={"HOSTPULSE_MODULE_DIR": d})
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("%s:2:" % path, p.stderr)
        self.assertIn("%s/kafka.so" % d, p.stderr)

    def test_help_config_lists_module_sinks(self):
        p = hp.run(["--help-config"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("not available", p.stdout)
        for opt in ("brokers (strings)", "exchange (group)", "table_prefix (string)"):
            self.assertIn(opt, p.stdout)

    def test_help_config_tells_defaults_truly(self):
        """The temperature reporter is on only where it finds sensors, and a
        default URL's password is masked like every other URL the agent prints."""
        out = hp.run(["--help-config"]).stdout
        self.assertIn("temperature: {   # enabled = auto,", out)
        self.assertIn("amqp://guest:***@localhost", out)
        self.assertNotIn("guest:guest", out)

    def test_missing_sink_type(self):
        self.assertProblem('sinks = (\n  { name = "x"; }\n);\n', 2, "required")

    def test_bad_choice(self):
        self.assertProblem('agent: { log: {\n level = "loud"; }; };\n', 2, "unknown value")

    def test_duplicate_sink_names(self):
        self.assertProblem('sinks = (\n { type = "stdout"; },\n { type = "stdout"; }\n);\n', 3,
                           "already exists")

    def test_every_problem_is_reported(self):
        p, path = self.check('agent: {\n a = 1;\n b = 2;\n};\nreporters: {\n c: {};\n};\n')
        lines = [l for l in p.stderr.splitlines() if l.startswith(path + ":")]
        self.assertEqual(len(lines), 3, p.stderr)

    def test_every_problem_in_one_pass(self):
        # Four kinds: an unknown key, a value out of range, an unknown sink
        # type, and problems only the sinks' init() finds (two sinks).
        text = ('agent: {\n  hostnme = "x";\n};\n'
                'reporters: {\n  uptime: { interval = 0.0; };\n};\n'
                'sinks = (\n  { type = "carrier-pigeon"; },\n'
                '  { type = "csv"; directory = ""; },\n'
                '  { type = "amqp"; url = "http://nope"; }\n);\n')
        p, path = self.check(text)
        self.assertEqual(p.returncode, 1, p.stderr)
        for line, fragment in ((2, "agent.hostnme: unknown option"), (5, "out of range"),
                               (8, "unknown sink type"), (9, "directory must not be empty"),
                               (10, "not an AMQP URL")):
            self.assertIn("%s:%d: " % (path, line), p.stderr)
            self.assertIn(fragment, p.stderr)
        self.assertIn("5 problem(s)", p.stderr)

    def test_start_reports_the_same_problems_as_check(self):
        text = ('agent: {\n  hostnme = "x";\n};\n'
                'sinks = (\n  { type = "csv"; directory = ""; }\n);\n')
        with tempfile.TemporaryDirectory() as d:
            path = hp.write_config(d, text)
            check = hp.run(["-c", path, "--check"])
            run = hp.run(["-c", path], timeout=20)
        self.assertEqual(run.returncode, 1, run.stderr)
        problems = lambda p: [l for l in p.stderr.splitlines() if l.startswith(path + ":")]
        self.assertEqual(len(problems(check)), 2, check.stderr)
        self.assertEqual(problems(check), problems(run))

    def test_no_config_option_and_no_default_file_runs_on_defaults(self):
        if os.path.exists("/etc/hostpulse/hostpulse.conf"):
            self.skipTest("/etc/hostpulse/hostpulse.conf exists on this machine")
        p = hp.run(["--once", "--stdout"])
        self.assertEqual(p.returncode, 0, p.stderr)
        msgs = hp.parse_lines(p.stdout)
        self.assertIn("cpu", [m["reporter"] for m in msgs])
        info = [l for l in p.stderr.splitlines() if "built-in defaults" in l]
        self.assertEqual(len(info), 1, p.stderr)
        self.assertIn(": info: ", info[0])

    def test_missing_file(self):
        p = hp.run(["-c", "/nonexistent/hostpulse.conf", "--check"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("/nonexistent/hostpulse.conf:0: cannot open configuration", p.stderr)

    def test_include(self):
        with tempfile.TemporaryDirectory() as d:
            hp.write_config(d, 'uptime: { interval = 7.0;\n  bogus = 1; };\n', "frag.conf")
            path = hp.write_config(d, 'reporters: {\n@include "frag.conf"\n};\n')
            p = hp.run(["-c", path, "--check"])
            self.assertEqual(p.returncode, 1)
            self.assertIn(os.path.join(d, "frag.conf") + ":2: reporters.uptime.bogus", p.stderr)

    def test_duplicate_setting_is_named(self):
        self.assertProblem('agent: {\n  hostname = "a";\n  hostname = "b";\n};\n', 3,
                           'duplicate setting name "hostname"')
        self.assertProblem('reporters: {\n  uptime: { interval = 1.0; interval = 2.0; };\n};\n',
                           2, 'duplicate setting name "interval"')
        # the same key in two groups of one line is no duplicate: the group is
        self.assertProblem('reporters: { cpu: { enabled = false; }; mem: { enabled = false; }; '
                           'cpu: { interval = 1.0; }; };\n', 1, 'duplicate setting name "cpu"')

    def test_duplicate_in_an_include_names_setting_and_file(self):
        with tempfile.TemporaryDirectory() as d:
            hp.write_config(d, 'uptime: { };\nuptime: { };\n', "frag.conf")
            path = hp.write_config(d, 'reporters: {\n@include "frag.conf"\n};\n')
            p = hp.run(["-c", path, "--check"])
        self.assertEqual(p.returncode, 1)
        self.assertIn(os.path.join(d, "frag.conf") + ':2: duplicate setting name "uptime"',
                      p.stderr)

    def test_missing_include_is_named(self):
        with tempfile.TemporaryDirectory() as d:
            path = hp.write_config(d, 'reporters: {\n  @include "conf.d/nope.conf"\n};\n')
            p = hp.run(["-c", path, "--check"])
        self.assertEqual(p.returncode, 1)
        self.assertIn('%s:2: @include "conf.d/nope.conf"' % path, p.stderr)

    def test_binary_garbage(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.conf")
            with open(path, "wb") as f:
                f.write(bytes(range(256)) * 64)
            p = hp.run(["-c", path, "--check"])
            self.assertEqual(p.returncode, 1)
            self.assertTrue(p.stderr.startswith(path + ":"), p.stderr)


class RunTest(unittest.TestCase):
    def test_sigterm_flushes_and_exits_zero(self):
        with tempfile.TemporaryDirectory() as d:
            path = hp.write_config(d, BASIC)
            with hp.Agent(path) as a:
                hp.wait_for(lambda: a.read_stdout().count('"reporter":"uptime"') >= 5,
                            what="5 uptime messages")
            self.assertEqual(a.returncode, 0, a.stderr)
            msgs = hp.parse_lines(a.stdout)
            for m in msgs:
                hp.validate(m)
            self.assertEqual(msgs[0]["reporter"], "session")
            self.assertEqual(len({m["session"] for m in msgs}), 1)
            # seq is per reporter and has no gaps
            by = {}
            for m in msgs:
                by.setdefault(m["reporter"], []).append(m["seq"])
            for rep, seqs in by.items():
                self.assertEqual(seqs, list(range(1, len(seqs) + 1)), rep)

    def test_sighup_reload_applies_new_interval_and_keeps_session(self):
        with tempfile.TemporaryDirectory() as d:
            path = hp.write_config(d, BASIC)
            with hp.Agent(path) as a:
                hp.wait_for(lambda: '"reporter":"uptime"' in a.read_stdout(), what="uptime")
                hp.write_config(d, BASIC.replace("uptime: { interval = 0.2; }",
                                                 "uptime: { enabled = false; }"))
                a.send(signal.SIGHUP)
                hp.wait_for(lambda: "reload: configuration" in a.read_stderr(), what="reload")
                n = a.read_stdout().count('"reporter":"uptime"')
                time.sleep(1.0 * hp.SLOW)
                self.assertEqual(a.read_stdout().count('"reporter":"uptime"'), n)
                # a bad config is refused and the old one kept
                hp.write_config(d, "agent: { nonsense = 1; };\n")
                a.send(signal.SIGHUP)
                hp.wait_for(lambda: "keeping the running configuration" in a.read_stderr(),
                            what="refused reload")
                k = a.read_stdout().count('"reporter":"agent"')
                hp.wait_for(lambda: a.read_stdout().count('"reporter":"agent"') > k + 2,
                            what="agent messages after a refused reload")
            self.assertEqual(a.returncode, 0)
            msgs = hp.parse_lines(a.stdout)
            self.assertEqual(len({m["session"] for m in msgs}), 1)
            seqs = [m["seq"] for m in msgs if m["reporter"] == "agent"]
            self.assertEqual(seqs, list(range(1, len(seqs) + 1)), "seq continues across reload")


class StateDirectoryTest(unittest.TestCase):
    """Issue 16, item 4: a missing state directory (the package creates
    /var/lib/hostpulse) is reported the same way by --check --connect and by
    a run, and neither the csv sink nor the spool creates it."""

    def test_missing_state_directory(self):
        with tempfile.TemporaryDirectory() as d:
            state = os.path.join(d, "var-lib-hostpulse")
            path = hp.write_config(d, """
reporters: { uptime: { interval = 0.2; }; agent: { enabled = false; }; };
agent: { spool: { directory = "%s/spool"; }; };
sinks = ( { type = "csv"; directory = "%s/csv"; retry_initial = 0.1; } );
""" % (state, state))
            check = hp.run(["-c", path, "--check", "--connect"])
            self.assertEqual(check.returncode, 1, check.stderr)
            want = "create directory %s/csv: the directory above it does not exist" % state
            self.assertIn(want, check.stderr)
            with hp.Agent(path) as a:
                hp.wait_for(lambda: "spool csv: cannot write" in a.read_stderr(),
                            what="the spool's complaint")
                self.assertFalse(os.path.exists(state), "the state directory was created")
            self.assertIn(want, a.stderr)
            self.assertNotIn("connected again", a.stderr)
            self.assertFalse(os.path.exists(state), "the state directory was created")


class ShippedConfigTest(unittest.TestCase):
    """Issue 16, item 15: the configuration the package installs writes
    nothing to disk and sends nothing off the host; it serves the latest
    samples on loopback only, answering before the first sample too."""

    def test_installed_default_is_harmless(self):
        with open(os.path.join(hp.ROOT, "etc", "hostpulse.conf")) as f:
            text = f.read()
        self.assertEqual(text.count('listen = "127.0.0.1:9105";'), 1)
        active = [l for l in text.splitlines() if re.match(r"\s*type\s*=", l)]
        self.assertEqual(active, ['    type = "prometheus";'], "the only sink, uncommented")
        port = hp.free_port()
        with tempfile.TemporaryDirectory() as d:
            state = os.path.join(d, "state")
            os.mkdir(state)
            path = hp.write_config(d, text.replace("127.0.0.1:9105", "127.0.0.1:%d" % port))
            with hp.Agent(path, env={"HOSTPULSE_SPOOL_DIR": os.path.join(state, "spool")}) as a:
                url = "http://127.0.0.1:%d/metrics" % port
                first = hp.wait_for(lambda: fetch(url), what="the metrics endpoint")
                self.assertEqual(first[0], 200, first)
                hp.wait_for(lambda: "hostpulse_" in (fetch(url) or (0, ""))[1], timeout=30,
                            what="samples on " + url)
                # the spool directory is made and locked at start (so a second
                # agent on it is told at once), but no file is written there
                written = [os.path.join(r, f) for r, _, fs in os.walk(state) for f in fs]
                self.assertEqual(written, [], "nothing written")
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertEqual(a.stdout, "", "nothing on stdout (the journal)")
            self.assertNotIn("error", a.stderr)


def fetch(url):
    """(status, body) of a GET, None while nothing listens."""
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None


if __name__ == "__main__":
    unittest.main()
