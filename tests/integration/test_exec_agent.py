# SPDX-License-Identifier: Apache-2.0
"""test_exec.py -- the exec reporter with the real agent: good JSON and
Prometheus output published under the configured names, and a command that
hangs past its timeout, floods 10 MB, prints garbage or exits non-zero gives
a counted error and a log line, never a message; the agent stops within
shutdown_timeout while a command hangs."""
import os
import tempfile
import time
import unittest

from tests.integration import hp

BASE = """
agent = { shutdown_timeout = 2.0; };
reporters = {
  cpu = { enabled = false; }; mem = { enabled = false; }; net = { enabled = false; };
  uptime = { enabled = false; }; ipaddr = { enabled = false; }; disk = { enabled = false; };
  process = { enabled = false; }; temperature = { enabled = false; };
  pressure = { enabled = false; }; netstat = { enabled = false; }; cgroup = { enabled = false; };
  exec = ( %s );
};
"""


def config(*instances):
    return BASE % ",\n".join(instances)


class ExecOnce(unittest.TestCase):
    def test_json_and_prometheus_output_published_under_their_names(self):
        with tempfile.TemporaryDirectory() as d:
            script = os.path.join(d, "textfile.sh")
            with open(script, "w") as f:
                f.write('#!/bin/sh\necho "# TYPE t gauge"\necho \'t{sensor="a"} 41.5\'\necho "up 1"\n')
            os.chmod(script, 0o755)
            msgs, p = hp.run_once(config(
                '{ name = "fans"; command = [ "/bin/echo", "{\\"rpm\\": 1200, \\"ok\\": true}" ]; }',
                '{ name = "textfile"; format = "prometheus"; shell = true; command = "%s"; }'
                % script))
        self.assertEqual(p.returncode, 0, p.stderr)
        by = {m["reporter"]: m for m in msgs}
        for m in msgs:
            hp.validate(m)
        self.assertEqual(by["fans"]["data"], {"rpm": 1200, "ok": True})
        self.assertEqual(by["textfile"]["data"]["up"], 1)
        self.assertEqual(by["textfile"]["data"]["t"], [{"labels": {"sensor": "a"}, "value": 41.5}])
        self.assertEqual(by["fans"]["seq"], 1)
        self.assertEqual(by["textfile"]["seq"], 1)
        errors = by["agent"]["data"]["reporters"]
        self.assertEqual(errors["fans"]["errors"], 0)

    def test_bad_commands_are_counted_errors_and_log_lines(self):
        msgs, p = hp.run_once(config(
            '{ name = "hangs"; command = [ "/bin/sleep", "30" ]; timeout = 0.3; }',
            '{ name = "floods"; command = [ "/bin/sh", "-c", "head -c 10000000 /dev/zero" ]; }',
            '{ name = "garbage"; command = [ "/bin/echo", "{not json" ]; }',
            '{ name = "notobject"; command = [ "/bin/echo", "[1, 2]" ]; }',
            '{ name = "badprom"; format = "prometheus"; command = [ "/bin/echo", "x y z" ]; }',
            '{ name = "fails"; command = [ "/bin/sh", "-c", "echo why >&2; exit 3" ]; }',
            '{ name = "missing"; command = [ "/nonexistent/prog" ]; }'), timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        names = {"hangs", "floods", "garbage", "notobject", "badprom", "fails", "missing"}
        self.assertEqual(names & {m["reporter"] for m in msgs}, set())
        agent = [m for m in msgs if m["reporter"] == "agent"][0]
        for n in names:
            self.assertEqual(agent["data"]["reporters"][n]["errors"], 1, n)
        self.assertIn("exec hangs: /bin/sleep killed after 0.3 s (timeout)", p.stderr)
        self.assertIn("exec floods: /bin/sh printed more than 1048576 bytes", p.stderr)
        self.assertIn("exec garbage: output is not one JSON object", p.stderr)
        self.assertIn("exec notobject: output is not one JSON object (not an object)", p.stderr)
        self.assertIn("exec badprom: output is not Prometheus text", p.stderr)
        self.assertIn("exec fails: /bin/sh exited with status 3 (why)", p.stderr)
        self.assertIn("exec missing: cannot run /nonexistent/prog", p.stderr)

    def test_names_and_commands_are_validated(self):
        with tempfile.TemporaryDirectory() as d:
            path = hp.write_config(d, config(
                '{ name = "cpu"; command = [ "/bin/true" ]; }',
                '{ name = "a/b"; command = [ "/bin/true" ]; }',
                '{ name = "x"; command = [ "/bin/true" ]; }',
                '{ name = "x"; command = [ "/bin/true" ]; }',
                '{ name = "y"; command = [ "/bin/true" ]; format = "xml"; }'))
            p = hp.run(["-c", path, "--check"])
        self.assertEqual(p.returncode, 1)
        self.assertIn('hostpulse.conf:8: reporters.exec[0].name: "cpu" is a built-in', p.stderr)
        self.assertIn('reporters.exec[1].name: "a/b" is not a name', p.stderr)
        self.assertIn('reporters.exec[3].name: "x" is already used by exec[2]', p.stderr)
        self.assertIn("reporters.exec[4].format", p.stderr)


class ExecRunning(unittest.TestCase):
    def test_instances_run_on_their_own_intervals_and_seqs(self):
        with tempfile.TemporaryDirectory() as d:
            path = hp.write_config(d, config(
                '{ name = "fast"; command = [ "/bin/echo", "{\\"n\\": 1}" ]; interval = 0.2; }',
                '{ name = "slow"; command = [ "/bin/echo", "{\\"n\\": 2}" ]; interval = 1.0; }'))
            with hp.Agent(path, ["--stdout"]) as a:
                hp.wait_for(lambda: a.read_stdout().count('"reporter":"fast"') >= 8
                            and a.read_stdout().count('"reporter":"slow"') >= 1,
                            what="eight samples of fast, one of slow")
            msgs = hp.parse_lines(a.stdout)
        fast = [m["seq"] for m in msgs if m["reporter"] == "fast"]
        slow = [m["seq"] for m in msgs if m["reporter"] == "slow"]
        self.assertEqual(fast, list(range(1, len(fast) + 1)))
        self.assertEqual(slow, list(range(1, len(slow) + 1)))
        self.assertGreater(len(fast), len(slow))

    def test_stop_within_shutdown_timeout_while_a_command_hangs(self):
        with tempfile.TemporaryDirectory() as d:
            # The sleep's argument is written as text: as a float, a marker
            # ending in 0 lost its last digits ("60.123405000" -> 60.123405)
            # and the command was never found.
            marker = "%d.%d" % (os.getpid(), int(time.time() * 1000) % 100000)
            path = hp.write_config(d, config(
                '{ name = "hangs"; command = [ "/bin/sleep", "60.%s" ]; timeout = 50.0;'
                '  interval = 0.5; }' % marker.replace(".", "")))
            a = hp.Agent(path, ["--stdout"]).start()
            try:
                hp.wait_for(lambda: sleepers(marker), timeout=20, what="the command to start")
                t0 = time.monotonic()
                a.stop(timeout=10)
                took = time.monotonic() - t0
                # the kernel kills the command with the thread that started it
                hp.wait_for(lambda: not sleepers(marker), timeout=5,
                            what="the hung command to end with the agent")
            finally:
                a.out.close()
                a.err.close()
                a.tmp.cleanup()
        # shutdown_timeout is 2 s; the exit itself may take a little more
        self.assertLess(took, 2.0 * hp.SLOW + 3.0, a.stderr)
        self.assertIn("hangs", a.stderr)


def sleepers(marker):
    """pids of /bin/sleep processes whose argument carries marker's digits."""
    digits = marker.replace(".", "")
    found = []
    for pid in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if len(args) > 1 and args[0].endswith(b"sleep") and digits.encode() in args[1]:
            found.append(int(pid))
    return found


if __name__ == "__main__":
    unittest.main()
