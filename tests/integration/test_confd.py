# SPDX-License-Identifier: Apache-2.0
"""test_confd.py -- conf.d fragments: read in sorted order after the main
file, groups merged key by key, the sinks list appended, a sink with the
same name replaced; errors name the fragment's FILE:LINE; the size limit
covers the main file and the fragments; --config-dir and agent.config_dir."""
import json
import os
import tempfile
import unittest

from tests.integration import hp

OFF = ("cpu", "net", "uptime", "ipaddr", "disk", "process", "temperature", "pressure",
       "netstat", "cgroup")
MAIN = """
agent = { hostname = "main"; labels = { role = "db"; }; };
reporters = { %s; mem = { interval = 3.0; };
  exec = ( { name = "a"; command = [ "/bin/echo", "{\\"from\\": \\"main\\"}" ]; } ); };
sinks = ( { type = "stdout"; }, { type = "es-file"; name = "es"; path = "%%s/main.json"; } );
""" % "; ".join("%s = { enabled = false; }" % r for r in OFF)


class ConfD(unittest.TestCase):
    def setUp(self):
        self.d = self.enterContext(tempfile.TemporaryDirectory())
        self.main = hp.write_config(self.d, MAIN % self.d)
        os.mkdir(os.path.join(self.d, "conf.d"))

    def frag(self, name, text, where="conf.d"):
        return hp.write_config(os.path.join(self.d, where), text, name)

    def test_fragments_merge_in_sorted_order(self):
        self.frag("20-late.conf", 'agent = { hostname = "late"; };\n'
                  'reporters = { mem = { interval = 9.0; }; };\n')
        self.frag("10-early.conf", 'agent = { hostname = "early"; labels = { dc = "fra1"; }; };\n'
                  'reporters = { exec = ( { name = "a"; command = [ "/bin/echo",'
                  ' "{\\"from\\": \\"frag\\"}" ]; }, { name = "b"; command = [ "/bin/echo",'
                  ' "{}" ]; } ); };\n'
                  'sinks = ( { type = "es-file"; name = "es"; path = "%s/{label.dc}.json"; },'
                  ' { type = "es-file"; name = "more"; path = "%s/more.json"; } );\n'
                  % (self.d, self.d))
        self.frag("README", "this is not a fragment {")
        self.frag("99-off.conf.disabled", "this is not a fragment either {")
        p = hp.run(["-c", self.main, "--once"])
        self.assertEqual(p.returncode, 0, p.stderr)
        msgs = hp.parse_lines(p.stdout)
        by = {m["reporter"]: m for m in msgs}
        for m in msgs:
            hp.validate(m)
            self.assertEqual(m["host"], "late")  # the later fragment wins
            self.assertEqual(m["labels"], {"role": "db", "dc": "fra1"})  # merged key by key
        self.assertEqual(by["mem"]["interval"], 9.0)
        self.assertEqual(by["a"]["data"], {"from": "frag"})  # same name: replaced
        self.assertIn("b", by)  # appended
        files = sorted(f for f in os.listdir(self.d) if f.endswith(".json"))
        self.assertEqual(files, ["fra1.json", "more.json"])  # "es" replaced, "more" appended

    def test_error_names_the_fragment_and_line(self):
        self.frag("10-ok.conf", "reporters = { mem = { interval = 2.0; }; };\n")
        path = self.frag("20-bad.conf", "\n\nreporters = {\n  mem = { intervall = 2.0; };\n};\n")
        p = hp.run(["-c", self.main, "--check"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("%s:4: reporters.mem.intervall: unknown option" % os.path.realpath(path),
                      p.stderr)
        os.unlink(path)
        path = self.frag("30-syntax.conf", "agent = {\n  hostname = ;\n};\n")
        p = hp.run(["-c", self.main, "--check"])
        self.assertEqual(p.returncode, 1)
        self.assertIn(":2: syntax error", p.stderr)
        self.assertIn("30-syntax.conf", p.stderr)

    def test_size_limit_covers_main_file_and_fragments(self):
        pad = "# " + "x" * 1000 + "\n"
        for i in range(3):
            self.frag("%02d.conf" % i, pad * 100)  # ~100 KB each: 300 KB together
        p = hp.run(["-c", self.main, "--check"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("02.conf:0: the configuration with its fragments is too large", p.stderr)

    def test_a_fifo_fragment_is_refused(self):
        os.mkfifo(os.path.join(self.d, "conf.d", "fifo.conf"))
        p = hp.run(["-c", self.main, "--check"], timeout=20)
        self.assertEqual(p.returncode, 1)
        self.assertIn("fifo.conf:0: cannot open configuration", p.stderr)

    def test_config_dir_option_and_flag(self):
        os.mkdir(os.path.join(self.d, "other"))
        self.frag("1.conf", 'agent = { hostname = "other"; };\n', where="other")
        self.frag("1.conf", 'agent = { hostname = "default"; };\n')
        p = hp.run(["-c", self.main, "--config-dir", os.path.join(self.d, "other"), "--once"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual({m["host"] for m in hp.parse_lines(p.stdout)}, {"other"})
        with open(self.main) as f:
            text = f.read()
        # relative to the main file's directory, as @include is
        text = text.replace('hostname = "main";', 'hostname = "main"; config_dir = "other";')
        with open(self.main, "w") as f:
            f.write(text)
        p = hp.run(["-c", self.main, "--once"], env={"PWD": "/"})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual({m["host"] for m in hp.parse_lines(p.stdout)}, {"other"})
        p = hp.run(["-c", self.main, "--config-dir", os.path.join(self.d, "missing"), "--check"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot read the configuration directory", p.stderr)

    def test_reload_reads_the_fragments_again(self):
        with hp.Agent(self.main) as a:
            hp.wait_for(lambda: '"host":"main"' in a.read_stdout(), what="a message")
            self.frag("1.conf", 'agent = { hostname = "reloaded"; };\n'
                      'reporters = { mem = { interval = 0.3; }; };\n')
            a.send(hp.signal.SIGHUP)
            hp.wait_for(lambda: '"reporter":"mem","ts"' in a.read_stdout()
                        and '"interval":0.3' in a.read_stdout(),
                        what="mem on the fragment's interval after the reload")
        self.assertIn("reload: configuration", a.stderr)


if __name__ == "__main__":
    unittest.main()
