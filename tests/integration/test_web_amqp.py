# SPDX-License-Identifier: Apache-2.0
# test_web_amqp.py -- the real pipeline: agent -> a real rabbitmq-server
# (tests/integration/rabbit.py) -> hostpulse-web -> its store, read through
# the store's reader API. Each series holds the agent's values; a kill -9
# of hostpulse-web and a restart of the broker mid-stream lose nothing and
# store nothing twice; bad messages published to the queue (not JSON,
# envelope v2, missing fields, binary garbage, a 10 MB body) are counted,
# acked and never stop the valid ones behind them.
# hp: slow
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

import tests.integration.hp as hp
import tests.integration.rabbit as rabbit
import tests.integration.web as web

PUBLISH = os.path.join(hp.HELPERS, "web_publish")

AGENT_CONF = """
agent: { hostname = "%(host)s"; log: { level = "info"; }; shutdown_timeout = 20.0; };
reporters: {
  cpu: { interval = 0.2; }; mem: { interval = 0.2; }; net: { interval = 0.5; };
  disk: { interval = 0.5; }; uptime: { interval = 0.5; }; agent: { interval = 0.5; };
};
sinks = ( { type = "amqp"; url = "%(url)s"; retry_initial = 0.2; retry_max = 1.0; },
          { type = "stdout"; } );
"""


def setUpModule():
    why = web.available() or rabbit.available()
    if why:
        raise unittest.SkipTest(why)


class WebAmqp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b = rabbit.Broker()
        cls.addClassCleanup(cls.b.close)
        cls.b.start()

    def web(self, d, queue):
        w = web.Web(d, input_conf='type = "amqp"; url = "%s"; queue = "%s"; prefetch = 500;'
                    % (self.b.url(), queue))
        self.addCleanup(lambda: w.alive() and w.stop())
        return w.start()

    def agent(self, d, host):
        return hp.Agent(hp.write_config(d, AGENT_CONF % dict(host=host, url=self.b.url())))

    def wait_all(self, w, msgs, timeout=60):
        hp.wait_for(lambda: w.stored() >= len(msgs), timeout=timeout,
                    what="%d messages stored (have %d)" % (len(msgs), w.stored()))

    def test_agent_broker_web_values(self):
        with tempfile.TemporaryDirectory() as d:
            w = self.web(d, "web-e2e")
            hp.wait_for(lambda: "web-e2e" in self.b.ctl("list_queues", "name"),
                        what="queue declared")
            with self.agent(d, "amqp-e2e") as a:
                time.sleep(3)
            self.assertEqual(a.returncode, 0, a.stderr)
            msgs = hp.parse_lines(a.stdout)
            self.wait_all(w, msgs)
            self.assertLessEqual({"cpu", "mem", "net", "disk", "uptime"},
                                 web.check_values(self, w, msgs))
            web.check_complete(self, w, msgs)
            self.assertEqual(w.stop(), 0)
            self.assertIn("consuming queue web-e2e", w.stderr)
            self.assertNotIn("guest:guest", w.stderr)

    def test_restarts_of_web_and_broker_lose_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            w = self.web(d, "web-restart")
            hp.wait_for(lambda: "web-restart" in self.b.ctl("list_queues", "name"),
                        what="queue declared")
            with self.agent(d, "amqp-restart") as a:
                time.sleep(2)
                w.stop(sig=signal.SIGKILL)  # nothing committed after this is acked
                time.sleep(1.5)
                w.start()
                time.sleep(1.5)
                self.b.stop()
                time.sleep(1.5)
                self.b.start()
                time.sleep(2)
                w.stop()  # and both at once
                self.b.stop()
                time.sleep(1)
                self.b.start()
                w.start()
                time.sleep(2)
            self.assertEqual(a.returncode, 0, a.stderr)
            msgs = hp.parse_lines(a.stdout)
            self.wait_all(w, msgs, timeout=90)
            web.check_complete(self, w, msgs)
            web.check_values(self, w, msgs)
            self.assertTrue(w.alive())
            self.assertEqual(w.stop(), 0)

    def publish(self, lines, key="hostpulse.bad.mem"):
        p = subprocess.run([PUBLISH, self.b.url(), "hostpulse", key],
                           input="\n".join(lines) + "\n", capture_output=True, text=True,
                           timeout=120 * hp.SLOW)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_bad_messages_are_acked_counted_and_skipped(self):
        t = int(time.time() * 1000)

        def good(seq):
            return json.dumps({"v": 1, "host": "bad", "reporter": "mem", "ts": t + seq,
                               "session": "s", "seq": seq, "interval": 1,
                               "data": {"percent": seq}})
        lines = [good(1), "not json {", json.dumps({"v": 2, "host": "bad"}), good(2),
                 json.dumps({"v": 1, "host": "bad", "reporter": "mem"}), "@random 5000",
                 good(3), "@big %d" % (10 << 20), good(4), "", good(5)]
        with tempfile.TemporaryDirectory() as d:
            w = self.web(d, "web-bad")
            hp.wait_for(lambda: "web-bad" in self.b.ctl("list_queues", "name"),
                        what="queue declared")
            self.publish(lines)
            hp.wait_for(lambda: w.stored() == 5, what="the valid messages stored")
            hp.wait_for(lambda: sum(w.query("stats")["rejected"].values()) == 6,
                        what="bad ones counted")
            rej = w.query("stats")["rejected"]
            self.assertEqual(rej.get("version"), 1)
            self.assertEqual(rej.get("oversize"), 1)
            self.assertEqual(rej.get("fields"), 1)
            self.assertEqual(rej.get("json"), 3)  # "not json {", random bytes, empty body
            pts = w.points("bad", "mem", "percent", t, t + 10)["points"]
            self.assertEqual([p[1] for p in pts], [1, 2, 3, 4, 5])
            hp.wait_for(lambda: "web-bad\t0" in self.b.ctl("list_queues", "name", "messages"),
                        what="queue drained: every message acked")
            self.assertTrue(w.alive())
            self.assertEqual(w.stop(), 0)


if __name__ == "__main__":
    unittest.main()


class WebAmqps(unittest.TestCase):
    """amqps:// with the broker's certificate verified against cacert; a
    wrong CA is refused with a reason and no password in the log."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.certs = rabbit.make_certs(cls.tmp.name)
        cls.b = rabbit.Broker(tls=cls.certs)
        cls.addClassCleanup(cls.b.close)
        cls.b.start()

    def web(self, d, ca):
        w = web.Web(d, input_conf='type = "amqp"; url = "%s"; queue = "web-tls"; cacert = "%s";'
                    % (self.b.tls_url(), ca))
        self.addCleanup(lambda: w.alive() and w.stop())
        return w.start()

    def test_tls_verified(self):
        t = int(time.time() * 1000)
        with tempfile.TemporaryDirectory() as d:
            w = self.web(d, self.certs["ca"])
            hp.wait_for(lambda: "consuming queue web-tls" in w.read_stderr(), what="consuming")
            body = json.dumps({"v": 1, "host": "tls", "reporter": "mem", "ts": t,
                               "session": "s", "seq": 1, "interval": 1,
                               "data": {"percent": 42}})
            p = subprocess.run([PUBLISH, self.b.url(), "hostpulse", "hostpulse.tls.mem"],
                               input=body + "\n", capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            hp.wait_for(lambda: w.stored() == 1, what="stored over TLS")
            self.assertEqual(w.stop(), 0)

    def test_wrong_ca_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            w = self.web(d, self.certs["other_ca"])
            hp.wait_for(lambda: "amqps://guest:***@" in w.read_stderr(), what="a failure logged")
            self.assertEqual(w.stop(), 0)
            self.assertNotIn("consuming queue", w.stderr)
            self.assertNotIn("guest:guest", w.stderr)
