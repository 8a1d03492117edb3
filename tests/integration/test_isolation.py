# SPDX-License-Identifier: Apache-2.0
# test_isolation.py -- one sink's stall delays no other sink (issue 14).
#
# An Elasticsearch double (es_double.py) that accepts connections and then
# answers nothing for 60 s -- the hang the issue reports, kept at its full
# length -- while the amqp sink publishes to a real rabbitmq-server
# (rabbit.py) with every reporter at 0.1 s. A consumer (amqp_consume) reads
# the queue as it fills and stamps each message when it reads it from the
# socket (-r), writing to a file, so the stamp does not wait for this
# process (whose Elasticsearch double parses every held bulk body at once
# when the hang ends); latency is that stamp minus the envelope's ts. The p99 latency while Elasticsearch
# hangs must stay within 2x that of the healthy minute before (same agent,
# same broker). With the old single delivery thread every bulk request held
# RabbitMQ's delivery for the sink's 5 s timeout, so the p99 was seconds.
# Afterwards both sinks hold every message: no gap in any reporter's seq,
# and Elasticsearch got the same (reporter, seq) set as RabbitMQ.
# hp: slow
import collections
import os
import subprocess
import tempfile
import time
import unittest

import tests.integration.hp as hp
import tests.integration.rabbit as rabbit
from tests.integration.es_double import EsDouble

CONSUME = os.path.join(hp.HELPERS, "amqp_consume")
HANG = 60.0      # seconds Elasticsearch answers nothing (the figure)
BASELINE = 20.0  # seconds of healthy delivery measured before the hang
HOST = "iso"

# Every reporter at 0.1 s, except process (a full /proc scan ten times a
# second is a CPU test, not a delivery test) and temperature/cgroup, which
# report nothing on hosts without sensors or a cgroup of their own.
CONFIG = """
agent: { hostname = "%(host)s"; shutdown_timeout = 30.0; };
reporters: { cpu: { interval = 0.1; }; mem: { interval = 0.1; }; net: { interval = 0.1; };
             uptime: { interval = 0.1; }; ipaddr: { interval = 0.1; }; disk: { interval = 0.1; };
             pressure: { interval = 0.1; }; netstat: { interval = 0.1; };
             agent: { interval = 0.1; }; };
sinks = (
  { type = "amqp"; url = "%(amqp)s"; retry_initial = 0.2; retry_timer = 1.0; },
  { type = "elasticsearch"; url = "%(es)s"; retry_initial = 0.2; retry_max = 1.0; }
);
"""


def p99(values):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * 0.99))]


class Consumer:
    """amqp_consume in the background, each message stamped by it on receipt
    and written to a file in directory d."""

    def __init__(self, url, queue, d):
        self.path = os.path.join(d, "consumed.jsonl")
        with open(self.path, "w") as out:
            self.proc = subprocess.Popen(
                [CONSUME, "-r", "-u", url, "-q", queue, "-i", "8", "-t", "600"],
                stdout=out, stderr=subprocess.PIPE, text=True)

    def count(self):
        with open(self.path, "rb") as f:
            return f.read().count(b"\n")

    def finish(self):
        """-> [(receipt ms, message body)] once amqp_consume went idle."""
        self.proc.wait(timeout=120)
        err = self.proc.stderr.read()
        self.proc.stderr.close()
        if self.proc.returncode != 0:
            raise AssertionError("amqp_consume: " + err)
        with open(self.path) as f:
            return [(d["received_ms"], d["body"]) for d in hp.parse_lines(f.read())]


def seqs_by_reporter(test, bodies, what):
    seqs = collections.defaultdict(set)
    for b in bodies:
        seqs[b["reporter"]].add(b["seq"])
    for reporter, got in seqs.items():
        missing = sorted(set(range(1, max(got) + 1)) - got)
        test.assertEqual(missing, [], "%s: %s seqs missing" % (what, reporter))
    return seqs


class HungElasticsearch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        why = rabbit.available()
        if why:
            raise unittest.SkipTest(why)
        cls.broker = rabbit.Broker()
        cls.addClassCleanup(cls.broker.close)
        cls.broker.start()

    def test_hung_elasticsearch_does_not_delay_amqp(self):
        url = self.broker.url()
        with tempfile.TemporaryDirectory() as d, EsDouble() as es:
            path = hp.write_config(d, CONFIG % dict(host=HOST, amqp=url, es=es.url))
            with hp.Agent(path) as a:
                hp.wait_for(lambda: len(es.ids()) > 0, what="first documents in Elasticsearch")
                consumer = Consumer(url, "hostpulse." + HOST, d)
                measure_from = time.time() * 1000 + 2000  # the queue's old messages excluded
                time.sleep(2 + BASELINE)
                hang_at = time.time() * 1000
                es.hang(HANG)
                time.sleep(HANG)
                hang_end = time.time() * 1000
                # Elasticsearch answers again: let its backlog go out, then stop.
                hp.wait_for(lambda: len(es.ids()) >= consumer.count(), timeout=60,
                            what="Elasticsearch catching up")
                time.sleep(1)
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertNotIn("not delivered", a.stderr)
            got = consumer.finish()
            self.assertGreater(es.held, 0, "the double never held a request")

            base = [r - b["ts"] for r, b in got if measure_from <= b["ts"] < hang_at]
            hung = [r - b["ts"] for r, b in got if hang_at + 1000 <= b["ts"] < hang_end]
            self.assertGreater(len(base), 100)
            self.assertGreater(len(hung), 100)
            base_p99, hung_p99 = p99(base), p99(hung)
            print("\namqp latency p99: %.1f ms healthy (%d msgs), %.1f ms while Elasticsearch "
                  "hung %.0f s (%d msgs); max %.1f / %.1f ms"
                  % (base_p99, len(base), hung_p99, HANG, len(hung), max(base), max(hung)))
            self.assertLessEqual(hung_p99, 2 * base_p99,
                                 "AMQP delivery slowed down while Elasticsearch hung")

            amqp = seqs_by_reporter(self, [b for _, b in got], "amqp")
            docs = list(es.docs.values())
            elastic = seqs_by_reporter(self, docs, "elasticsearch")
            self.assertEqual(elastic, amqp, "the two sinks got different messages")


if __name__ == "__main__":
    unittest.main()
