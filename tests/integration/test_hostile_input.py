# SPDX-License-Identifier: Apache-2.0
# test_hostile_input.py -- input that used to hang, spin or be cut short:
# a FIFO or a device where a regular file belongs (config, @include, a file
# in the proc root, the libsensors config), a config whose @includes add up
# past the size limit, over-long names, and a reporter blocked in a read
# that never returns. A hang shows as the agent not exiting within
# agent.shutdown_timeout of SIGTERM (or --check not returning).
import os
import shutil
import signal
import tempfile
import time
import unittest

import tests.integration.hp as hp
import tests.integration.stuckfs as stuckfs

LIMIT = 256 << 10  # HP_CONFIG_MAX_BYTES
SHUTDOWN = 1.0
ONLY_CPU = """
agent: { hostname = "hostile"; proc_root = "%(proc)s"; shutdown_timeout = %(shutdown)s; };
reporters: { cpu: { interval = 0.2; }; mem: { enabled = false; }; net: { enabled = false; };
  uptime: { enabled = false; }; ipaddr: { enabled = false; }; disk: { enabled = false; };
  process: { enabled = false; }; agent: { interval = 0.2; }; };
sinks = ( { type = "stdout"; } );
"""


def check(test, text, files=None, timeout=15):
    """--check a config (plus other files in its directory); the process."""
    d = tempfile.mkdtemp(prefix="hp-hostile-")
    test.addCleanup(shutil.rmtree, d, ignore_errors=True)
    for name, make in (files or {}).items():
        make(os.path.join(d, name))
    path = hp.write_config(d, text)
    return hp.run(["-c", path, "--check"], timeout=timeout), path, d


class ConfigFilesTest(unittest.TestCase):
    def test_fifo_as_config_is_refused_at_once(self):
        d = tempfile.mkdtemp(prefix="hp-hostile-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        fifo = os.path.join(d, "hostpulse.conf")
        os.mkfifo(fifo)
        p = hp.run(["-c", fifo, "--check"], timeout=10)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(fifo + ":0: cannot open configuration: not a regular file", p.stderr)

    def test_fifo_as_include_is_refused_with_its_line(self):
        p, path, d = check(self, 'agent: { hostname = "x"; };\n@include "frag.conf"\n',
                           {"frag.conf": os.mkfifo}, timeout=10)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(path + ':2: @include "frag.conf": not a regular file', p.stderr)

    def test_includes_count_towards_the_size_limit(self):
        def big(path):  # 3 MB of comments: valid, but past the limit
            with open(path, "w") as f:
                f.write(("# " + "x" * 97 + "\n") * ((3 << 20) // 100))
        start = time.monotonic()
        p, path, d = check(self, 'reporters: {\n};\n@include "big.conf"\n', {"big.conf": big})
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(path + ':3: @include "big.conf": the configuration with its includes is '
                      "too large", p.stderr)
        self.assertLess(time.monotonic() - start, 5 * hp.SLOW, "refused before parsing")

    def test_nested_includes_add_up(self):
        def part(path):  # each alone is within the limit, three are not
            with open(path, "w") as f:
                f.write(("# " + "y" * 97 + "\n") * (LIMIT // 100 // 2))
                if path.endswith("a.conf"):
                    f.write('@include "b.conf"\n')
        p, path, d = check(self, '@include "a.conf"\n@include "c.conf"\n',
                           {"a.conf": part, "b.conf": part, "c.conf": part})
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("with its includes is too large", p.stderr)

    def test_device_as_sensors_config(self):
        p, path, d = check(self, 'reporters: { temperature: {\n  enabled = true;\n'
                                 '  config = "/dev/zero"; }; };\n', timeout=10)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(path + ":3: reporters.temperature.config: cannot open /dev/zero: "
                      "not a regular file", p.stderr)

    def test_long_hostname_is_an_error_not_truncated(self):
        p, path, d = check(self, 'agent: {\n  hostname = "%s"; };\n' % ("h" * 5000))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(path + ":2: agent.hostname: 5000 bytes; at most 255", p.stderr)
        p, path, d = check(self, 'agent: { hostname = "%s"; };\n' % ("h" * 255))
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_long_watch_label_is_an_error(self):
        p, path, d = check(self, 'reporters: { process: { watch = (\n'
                                 '  { self = true; label = "%s"; } ); }; };\n' % ("l" * 200))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(path + ":2: reporters.process.watch[0].label: 200 bytes; at most 127",
                      p.stderr)

    def test_sink_names_are_identifiers(self):
        for bad in ("../etc", "a/b", "x" * 40, "", "sp ace"):
            p, path, d = check(self, 'sinks = (\n { type = "stdout"; name = "%s"; } );\n' % bad)
            self.assertEqual(p.returncode, 1, "%r: %s" % (bad, p.stderr))
            self.assertIn(path + ":2: sinks[0].name: ", p.stderr)
        p, path, d = check(self, 'sinks = ( { type = "stdout"; name = "out-1.a_b"; } );\n')
        self.assertEqual(p.returncode, 0, p.stderr)


class ProcRootTest(unittest.TestCase):
    def run_agent(self, proc, env=None):
        d = tempfile.mkdtemp(prefix="hp-hostile-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        path = hp.write_config(d, ONLY_CPU % {"proc": proc, "shutdown": SHUTDOWN})
        a = hp.Agent(path, ["--stdout"], env=env)
        a.start()
        self.addCleanup(a.__exit__, None, None, None)
        return a

    def stop_in_time(self, a):
        start = time.monotonic()
        a.send(signal.SIGTERM)
        # the agent's own limit plus process start-up/exit slack
        rc = a.stop(timeout=SHUTDOWN + 2.0)
        self.assertLess(time.monotonic() - start, (SHUTDOWN + 2.0) * hp.SLOW)
        return rc

    def test_fifo_in_the_proc_root(self):
        d = tempfile.mkdtemp(prefix="hp-hostile-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        proc = os.path.join(d, "proc")
        shutil.copytree(os.path.join(hp.FIXTURES, "big-a", "proc"), proc)
        os.unlink(os.path.join(proc, "loadavg"))
        os.mkfifo(os.path.join(proc, "loadavg"))
        a = self.run_agent(proc)
        hp.wait_for(lambda: '"reporter":"cpu"' in a.read_stdout(), timeout=10,
                    what="a cpu message despite the FIFO")
        self.assertEqual(self.stop_in_time(a), 0, a.stderr)
        self.assertIn("cannot read %s/loadavg" % proc, a.stderr)

    def test_reporter_blocked_in_a_read_does_not_block_shutdown(self):
        fs = stuckfs.mount(self, ["stat", "loadavg"])
        a = self.run_agent(fs.path)
        self.addCleanup(fs.abort)  # before the agent's cleanup waits for it
        hp.wait_for(lambda: '"reporter":"agent"' in a.read_stdout(), timeout=10,
                    what="the other reporters keep running")
        time.sleep(0.5)
        a.send(signal.SIGTERM)
        # The process may only be reaped once the file system answers (its
        # blocked thread sleeps uninterruptibly), so the agent's own last
        # word is what must come within the shutdown timeout.
        hp.wait_for(lambda: "exiting with a reporter thread left behind" in a.read_stderr(),
                    timeout=SHUTDOWN + 2.0, what="the agent to give up on the stuck reporter")
        fs.abort()
        self.assertEqual(a.stop(), 1, a.stderr)
        self.assertIn("cpu: the reporter thread did not stop in time", a.stderr)


if __name__ == "__main__":
    unittest.main()
