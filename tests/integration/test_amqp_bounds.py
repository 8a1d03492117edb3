# SPDX-License-Identifier: Apache-2.0
# test_amqp_bounds.py -- the per-host AMQP queue is bounded on the broker
# (x-max-length, x-overflow), against a real RabbitMQ (rabbit.py): the
# default declares a bound; drop-head keeps the newest messages; with
# reject-publish the broker's nacks send messages back to the agent's
# backlog and spool (never lost), and they arrive once the queue drains.
# hp: slow
import os
import tempfile
import time
import unittest

import tests.integration.hp as hp
from tests.integration.test_amqp import config, consume, seq_report, start_broker, USER, \
    PASSWORD


class AmqpQueueBounds(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b = start_broker(cls)
        cls.url = cls.b.url(USER, PASSWORD)

    def queue(self, name):
        """(messages, arguments text) of queue name, from rabbitmqctl."""
        out = self.b.ctl("list_queues", "-q", "--no-table-headers", "name", "messages",
                         "arguments")
        for line in out.splitlines():
            parts = line.split("\t")
            if parts[0] == name:
                return int(parts[1]), parts[2]
        raise AssertionError("no queue %s in %r" % (name, out))

    def test_default_queue_has_a_bound(self):
        with tempfile.TemporaryDirectory() as d:
            with hp.Agent(config(d, self.url, host="bounded")) as a:
                hp.wait_for(lambda: "connected to" in a.read_stderr(), timeout=20,
                            what="a connection")
        self.assertEqual(a.returncode, 0, a.stderr)
        _, args = self.queue("hostpulse.bounded")
        self.assertIn("x-max-length", args)
        self.assertIn("100000", args)
        self.assertIn("drop-head", args)

    def test_drop_head_keeps_the_newest(self):
        with tempfile.TemporaryDirectory() as d:
            path = config(d, self.url, host="drophead", extra="queue: { max_length = 5; };")
            with hp.Agent(path) as a:
                hp.wait_for(lambda: self.queue("hostpulse.drophead")[0] == 5, timeout=20,
                            what="a full queue")
                time.sleep(1.0)  # and it stays at the bound
                self.assertEqual(self.queue("hostpulse.drophead")[0], 5)
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertNotIn("refused", a.stderr)
        got = consume(self.url, "hostpulse.drophead", idle=1.0)
        self.assertEqual(len(got), 5)
        seqs = [g["body"]["seq"] for g in got if g["body"]["reporter"] == "uptime"]
        self.assertTrue(seqs and min(seqs) > 5, "the oldest were dropped, not the newest")

    def test_reject_publish_keeps_everything(self):
        with tempfile.TemporaryDirectory() as d:
            spool = os.path.join(d, "spool")
            extra = 'queue: { max_length = 5; overflow = "reject-publish"; };'
            path = config(d, self.url, host="rejpub", extra=extra)
            with open(path) as f:  # a stdout sink beside it: what was produced
                text = f.read().replace("sinks = ( {", 'sinks = ( { type = "stdout"; }, {', 1)
            with open(path, "w") as f:
                f.write(text)
            env = {"HOSTPULSE_SPOOL_DIR": spool}
            # 1: the queue fills; the rest is nacked and kept (spooled at exit).
            with hp.Agent(path, env=env) as a:
                hp.wait_for(lambda: "broker refused" in a.read_stderr(), timeout=20,
                            what="nacks")
                time.sleep(1.0)
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertIn("sink amqp: the broker refused", a.stderr)
            self.assertEqual(self.queue("hostpulse.rejpub")[0], 5)
            first = consume(self.url, "hostpulse.rejpub", idle=1.0)
            self.assertEqual(len(first), 5)
            # 2: a quiet second run replays the spool as the queue is
            # drained, until every message the first run produced arrived
            # (the second run's own reporters keep the queue from going
            # quiet, so waiting for silence would only run into the deadline).
            session = first[0]["body"]["session"]
            produced = {(m["reporter"], m["seq"]) for m in hp.parse_lines(a.stdout)}
            self.assertGreater(len(produced), 20)

            def run1(got):
                return [g for g in got if g["body"]["session"] == session]

            def missing(got):
                return produced - {(g["body"]["reporter"], g["body"]["seq"]) for g in run1(got)}

            quiet = os.path.join(d, "quiet.conf")
            with open(path) as f, open(quiet, "w") as g:
                g.write(f.read().replace("interval = 0.1", "interval = 3600.0"))
            got = list(first)
            with hp.Agent(quiet, env=env) as b:
                deadline = time.monotonic() + 90 * hp.SLOW
                while missing(got) and time.monotonic() < deadline:
                    got += consume(self.url, "hostpulse.rejpub", idle=1.0, seconds=20)
            self.assertEqual(b.returncode, 0, b.stderr)
        self.assertGreater(len(run1(got)), 20, "the first run's messages were kept")
        seq_report(self, run1(got))  # no gap: nothing nacked was lost
        self.assertEqual(missing(got), set(), "every message of the first run arrived")


if __name__ == "__main__":
    unittest.main()
