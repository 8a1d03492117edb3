# SPDX-License-Identifier: Apache-2.0
"""test_health.py -- the agent's health: the unix socket (no sink needed),
the prometheus sink's /health, `hostpulse --status` (a table, Nagios exit
codes), and the verdicts: 200 while all is well; 503 with the reason while
a real RabbitMQ is stopped, when a reporter stops sampling; back to 200
when the broker returns."""
import json
import os
import signal
import socket
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import jsonschema

from tests.integration import hp, rabbit

with open(os.path.join(hp.ROOT, "docs", "schema", "health.schema.json")) as f:
    HEALTH = jsonschema.Draft202012Validator(json.load(f))

QUIET = "; ".join("%s = { enabled = false; }" % r for r in (
    "mem", "net", "uptime", "ipaddr", "disk", "process", "temperature"))


def ask(path):
    """The JSON the socket at path answers, checked against the schema."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(path)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    h = json.loads(data)
    HEALTH.validate(h)
    return h


def status(path):
    return hp.run(["--status=" + path], timeout=20)


class HealthSocket(unittest.TestCase):
    def setUp(self):
        self.d = self.enterContext(tempfile.TemporaryDirectory())
        self.sock = os.path.join(self.d, "health.sock")

    def agent(self, extra_agent="", reporters="", sinks=""):
        conf = hp.write_config(self.d, """
agent = { health = { socket = "%s"; %s }; };
reporters = { %s; cpu = { interval = 0.5; }; agent = { interval = 0.5; }; %s };
%s
""" % (self.sock, extra_agent, QUIET, reporters, sinks))
        return hp.Agent(conf, ["--stdout"] if not sinks else [])

    def test_ok_without_any_sink_and_status_prints_a_table(self):
        with self.agent():
            hp.wait_for(lambda: os.path.exists(self.sock), what="the socket")
            h = hp.wait_for(lambda: (lambda j: j if j["reporters"]["agent"]["last_sample"]
                                     else None)(ask(self.sock)), what="a sample of every reporter")
            self.assertEqual((h["status"], h["code"]), ("ok", 200), h)
            self.assertEqual(set(h["reporters"]), {"cpu", "agent"})
            self.assertTrue(h["sinks"]["stdout"]["up"])
            self.assertEqual(h["ring"]["dropped"], 0)
            p = status(self.sock)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("HOSTPULSE OK", p.stdout)
            self.assertRegex(p.stdout, r"\ncpu +0.5s +\d+ s ago")
            self.assertRegex(p.stdout, r"\nstdout +stdout +up ")
        self.assertFalse(os.path.exists(self.sock))  # removed at exit
        p = status(self.sock)
        self.assertEqual(p.returncode, 2)
        self.assertIn("HOSTPULSE CRITICAL: no answer from " + self.sock, p.stdout)

    def test_environment_names_the_default_socket_only(self):
        """HOSTPULSE_HEALTH_SOCKET replaces the default path (the suite
        keeps agents off /run/hostpulse with it); a configured path wins."""
        env_sock = os.path.join(self.d, "env.sock")
        conf = hp.write_config(self.d, "reporters = { %s; };\n" % QUIET)
        with hp.Agent(conf, ["--stdout"], env={"HOSTPULSE_HEALTH_SOCKET": env_sock}):
            hp.wait_for(lambda: os.path.exists(env_sock), what="the socket from the environment")
            self.assertEqual(ask(env_sock)["status"], "ok")
        with hp.Agent(self.agent().args[2], ["--stdout"], env={"HOSTPULSE_HEALTH_SOCKET": env_sock}):
            hp.wait_for(lambda: os.path.exists(self.sock), what="the configured socket")
            self.assertFalse(os.path.exists(env_sock))

    def test_reload_moves_the_socket(self):
        """A new agent.health.socket takes effect at SIGHUP: the new path
        answers, the old one is gone; "" removes it."""
        with self.agent() as a:
            hp.wait_for(lambda: os.path.exists(self.sock), what="the socket")
            moved = os.path.join(self.d, "moved.sock")
            old, self.sock = self.sock, moved
            self.agent()  # rewrites the configuration with the new path
            a.send(signal.SIGHUP)
            hp.wait_for(lambda: os.path.exists(moved), what="the socket at its new path")
            self.assertEqual(ask(moved)["code"], 200)
            self.assertFalse(os.path.exists(old))
            self.sock = ""
            self.agent()
            a.send(signal.SIGHUP)
            hp.wait_for(lambda: not os.path.exists(moved), what="the socket to go")

    def test_a_reporter_that_stops_sampling_is_critical(self):
        with self.agent(reporters='exec = ( { name = "flaky"; interval = 0.3; command = '
                        '[ "/bin/sh", "-c", "test -e %s/broken && exit 1; echo {}" ]; } );'
                        % self.d):
            hp.wait_for(lambda: os.path.exists(self.sock) and
                        ask(self.sock)["reporters"]["flaky"]["last_sample"], what="flaky runs")
            self.assertEqual(ask(self.sock)["code"], 200)
            open(os.path.join(self.d, "broken"), "w").close()
            h = hp.wait_for(lambda: (lambda j: j if j["code"] == 503 else None)(ask(self.sock)),
                            what="a 503")
            self.assertRegex(" ".join(h["reasons"]), r"reporter flaky: no sample for \d+ s "
                             r"\(interval 0.3 s\), its last run failed")
            self.assertGreater(h["reporters"]["flaky"]["errors"], 0)
            p = status(self.sock)
            self.assertEqual(p.returncode, 2)
            self.assertIn("CRITICAL: reporter flaky", p.stdout)


class HealthRabbit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = rabbit.available()
        if why:
            raise unittest.SkipTest(why)
        cls.b = rabbit.Broker()
        cls.addClassCleanup(cls.b.close)
        cls.b.start()

    def test_broker_down_is_503_with_the_reason_and_recovers(self):
        d = self.enterContext(tempfile.TemporaryDirectory())
        sock = os.path.join(d, "health.sock")
        port = hp.free_port()
        conf = hp.write_config(d, """
agent = { health = { socket = "%s"; sink_down = 1.0; }; };
reporters = { %s; cpu = { interval = 0.5; }; agent = { interval = 0.5; }; };
sinks = ( { type = "amqp"; name = "broker"; url = "%s"; retry_max = 0.5; },
          { type = "prometheus"; listen = "127.0.0.1:%d"; } );
""" % (sock, QUIET, self.b.url(), port))

        def http_health():
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=5) as r:
                    h = json.loads(r.read())
                    HEALTH.validate(h)
                    return r.status, h
            except urllib.error.HTTPError as e:
                h = json.loads(e.read())
                HEALTH.validate(h)
                return e.code, h

        with hp.Agent(conf) as a:
            hp.wait_for(lambda: os.path.exists(sock) and
                        ask(sock)["sinks"]["broker"]["last_ok"], what="a delivery to the broker")
            code, h = http_health()
            self.assertEqual((code, h["status"]), (200, "ok"), h)
            self.assertTrue(h["sinks"]["broker"]["up"])
            self.b.stop()
            h = hp.wait_for(lambda: (lambda j: j if j["code"] == 503 else None)(ask(sock)),
                            what="a 503 while the broker is down")
            reason = " ".join(h["reasons"])
            self.assertRegex(reason, r"sink broker down for \d+ s \(limit 1 s\)")
            self.assertFalse(h["sinks"]["broker"]["up"])
            self.assertTrue(h["sinks"]["broker"]["last_error"])
            self.assertNotIn("guest:guest", json.dumps(h))  # the URL's password is redacted
            code, hh = http_health()
            self.assertEqual(code, 503)
            self.assertIn("sink broker down", " ".join(hh["reasons"]))
            p = status(sock)
            self.assertEqual(p.returncode, 2, p.stdout)
            self.assertIn("CRITICAL: sink broker down", p.stdout)
            self.assertRegex(p.stdout, r"\nbroker +amqp +down ")
            self.b.start()
            hp.wait_for(lambda: ask(sock)["code"] == 200, timeout=60,
                        what="200 after the broker is back")
        self.assertIn("connected again", a.stderr)


if __name__ == "__main__":
    unittest.main()
