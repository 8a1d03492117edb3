# SPDX-License-Identifier: Apache-2.0
# test_web_kafka.py -- agent -> librdkafka's mock cluster (tests/helpers/
# kafka_mock) -> hostpulse-web's consumer group -> its store: every series
# with the agent's values; a kill -9 of hostpulse-web and an outage of the
# whole cluster mid-stream lose nothing and store nothing twice (offsets
# are committed only after the store has committed).
# hp: slow
import os
import signal
import tempfile
import time
import unittest

import tests.integration.hp as hp
import tests.integration.web as web
from tests.integration.test_kafka import MOCK, Mock, skip_under_tsan

AGENT_CONF = """
agent: { hostname = "%(host)s"; log: { level = "info"; }; shutdown_timeout = 20.0; };
reporters: {
  cpu: { interval = 0.2; }; mem: { interval = 0.2; }; net: { interval = 0.5; };
  disk: { interval = 0.5; }; uptime: { interval = 0.5; }; agent: { interval = 0.5; };
};
sinks = ( { type = "kafka"; brokers = "%(brokers)s"; topic = "hp-web"; linger_ms = 1;
            retry_initial = 0.2; retry_max = 1.0; },
          { type = "stdout"; } );
"""


class WebKafka(unittest.TestCase):
    def setUp(self):
        skip_under_tsan(self)
        why = web.available()
        if why:
            self.skipTest(why)
        if not os.path.exists(MOCK):
            self.skipTest("tests/helpers/kafka_mock is not built (make test-bins)")
        self.mock = Mock()
        self.addCleanup(self.mock.stop)
        self.mock.cmd("create hp-web 3")
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def web(self):
        # A killed consumer keeps its partitions until its session times
        # out (librdkafka's default: 45 s); 6 s lets the restarted one take
        # them over sooner without changing what is tested.
        w = web.Web(self.tmp.name, input_conf='type = "kafka"; brokers = "%s"; topics = "hp-web";'
                    ' group = "web-test"; properties = { session_timeout_ms = 6000; };'
                    % self.mock.bootstrap)
        self.addCleanup(lambda: w.alive() and w.stop())
        return w.start()

    def agent(self, host):
        return hp.Agent(hp.write_config(self.tmp.name, AGENT_CONF % dict(
            host=host, brokers=self.mock.bootstrap)))

    def finish(self, w, a):
        self.assertEqual(a.returncode, 0, a.stderr)
        msgs = hp.parse_lines(a.stdout)
        hp.wait_for(lambda: w.stored() >= len(msgs), timeout=90,
                    what="%d messages stored" % len(msgs))
        web.check_complete(self, w, msgs)
        return msgs

    def test_agent_kafka_web_values(self):
        w = self.web()
        with self.agent("kafka-e2e") as a:
            time.sleep(3)
        msgs = self.finish(w, a)
        self.assertLessEqual({"cpu", "mem", "net", "disk", "uptime"},
                             web.check_values(self, w, msgs))
        self.assertEqual(w.stop(), 0)
        self.assertIn("consumer group web-test", w.stderr)

    def test_kill_of_web_and_cluster_outage_lose_nothing(self):
        w = self.web()
        with self.agent("kafka-restart") as a:
            time.sleep(2)
            w.stop(sig=signal.SIGKILL)
            time.sleep(1)
            w.start()
            time.sleep(1.5)
            for b in (1, 2, 3):
                self.mock.cmd("down %d" % b)
            time.sleep(2)
            for b in (1, 2, 3):
                self.mock.cmd("up %d" % b)
            time.sleep(2)
        msgs = self.finish(w, a)
        web.check_values(self, w, msgs)
        self.assertEqual(w.stop(), 0)


if __name__ == "__main__":
    unittest.main()
