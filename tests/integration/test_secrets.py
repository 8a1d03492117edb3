# SPDX-License-Identifier: Apache-2.0
# test_secrets.py -- no password of any sink, in any URL or option form, ever
# appears in any output: the config check (with URLs the sinks refuse: no
# '@' after the password, an unescaped '@' in it, a list in one string),
# --check --connect, --help-config, the log at -vv while every sink fails
# and retries, stdout (session and agent self-report messages), and every
# file in the spool directory (segments, acked, dead letters).
# Every destination is a closed loopback port: the failures are real.
# hp: slow (every sink failing at once, at -vv: run once, in the release pass)
import os
import subprocess
import tempfile
import unittest

import tests.integration.hp as hp

SECRETS = ["PWnoat1", "Wat2", "PWpct3", "PWlist4", "PWlist5", "Wes6", "PWes7", "PWkey8",
           "PWmy9", "PWkafka10", "PWquery11"]

SINKS_OK = """
  { type = "amqp"; name = "a1"; retry_initial = 0.1; retry_max = 0.2;
    url = ["amqp://user:P%40Wpct3@127.0.0.1:1/vh", "amqp://u:PWlist5@127.0.0.1:2/"]; },
  { type = "elasticsearch"; name = "e1"; url = "http://user:P@Wes6@127.0.0.1:1";
    retry_initial = 0.1; retry_max = 0.2; },
  { type = "elasticsearch"; name = "e2"; url = "http://127.0.0.1:1"; user = "elastic";
    password = "PWes7"; api_key = "PWkey8"; retry_initial = 0.1; retry_max = 0.2; },
  { type = "mysql"; name = "m1"; host = "127.0.0.1"; port = 1; password = "PWmy9";
    retry_initial = 0.1; retry_max = 0.2; },
  { type = "kafka"; name = "k1"; brokers = "127.0.0.1:1"; retry_initial = 0.1;
    retry_max = 0.2; timeout = 1.0;
    properties: { security_protocol = "sasl_plaintext"; sasl_mechanism = "PLAIN";
                  sasl_username = "u"; sasl_password = "PWkafka10"; }; }
"""

SINKS_BAD = """
  { type = "amqp"; name = "b1"; url = ["amqp://user:PWnoat1", "amqp://user:P@Wat2@127.0.0.1:1/",
    "amqps://u:PWlist4@127.0.0.1:1/,amqp://u:PWlist5@127.0.0.1:1/"]; },
  { type = "elasticsearch"; name = "b2"; url = "ftp://u:PWquery11@h/?password=PWquery11"; }
"""

CONFIG = """
agent: { hostname = "sechost"; tick = 0.05; description = "secrets test"; };
reporters: { uptime: { interval = 0.2; }; agent: { interval = 0.3; }; };
sinks = ( { type = "stdout"; }, %s );
"""


class SecretsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.spool = os.path.join(self.tmp.name, "spool")
        self.env = dict(os.environ, HOSTPULSE_SPOOL_DIR=self.spool)

    def assertNoSecret(self, where, text):
        for s in SECRETS:
            self.assertNotIn(s, text, "%s shows a password:\n%s" % (where, text))

    def run_hp(self, args, timeout=60):
        return subprocess.run([hp.BIN] + args, capture_output=True, text=True, env=self.env,
                              timeout=timeout * hp.SLOW)

    def test_config_errors_redact_every_url_form(self):
        path = hp.write_config(self.tmp.name, CONFIG % SINKS_BAD)
        p = self.run_hp(["-c", path, "--check"])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("is not an AMQP URL", p.stderr)  # the URLs are shown, redacted
        self.assertIn("amqp://user:***", p.stderr)
        self.assertNoSecret("--check", p.stdout + p.stderr)

    def test_check_connect_and_help_config(self):
        path = hp.write_config(self.tmp.name, CONFIG % SINKS_OK)
        p = self.run_hp(["-c", path, "--check", "--connect"])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("sink a1 (amqp): amqp://user:***@127.0.0.1:1/vh", p.stderr)
        self.assertNoSecret("--check --connect", p.stdout + p.stderr)
        p = self.run_hp(["-c", path, "--help-config"])
        self.assertNoSecret("--help-config", p.stdout + p.stderr)

    def test_log_messages_and_spool_files(self):
        path = hp.write_config(self.tmp.name, CONFIG % SINKS_OK)
        with hp.Agent(path, ["-vv"], env={"HOSTPULSE_SPOOL_DIR": self.spool}) as a:
            # each sink logs the first failure of an outage with its reason
            # (later ones at most every 30 s): wait for all five
            hp.wait_for(lambda: all(
                any(l.find("sink %s:" % n) >= 0 and "retrying" in l
                    for l in a.read_stderr().splitlines())
                for n in ("a1", "e1", "e2", "m1", "k1")), timeout=30,
                what="the failure of every sink, with its retry")
            hp.wait_for(lambda: '"reporter":"agent"' in a.read_stdout(), timeout=30,
                        what="a self-report (it carries every sink's figures)")
            hp.wait_for(lambda: os.path.isdir(os.path.join(self.spool, "a1")), what="spooling")
        self.assertEqual(a.returncode, 0, a.stderr)
        for name in ("a1", "e1", "e2", "m1", "k1"):
            self.assertIn("sink %s" % name, a.stderr)
        self.assertNoSecret("the log", a.stderr)
        msgs = hp.parse_lines(a.stdout)
        self.assertTrue(any(m["reporter"] == "session" for m in msgs))
        self.assertTrue(any(m["reporter"] == "agent" for m in msgs))
        self.assertNoSecret("stdout", a.stdout)
        files = 0
        for root, _, names in os.walk(self.spool):
            for n in names:
                with open(os.path.join(root, n), "rb") as f:
                    self.assertNoSecret(os.path.join(root, n), f.read().decode("latin-1"))
                files += 1
        self.assertGreater(files, 0)


if __name__ == "__main__":
    unittest.main()
