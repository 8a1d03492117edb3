# SPDX-License-Identifier: Apache-2.0
# test_psistats.py -- hostpulse as a psistats drop-in: the agent runs with
# etc/psistats.conf (only the broker URL and host name changed) against a
# real RabbitMQ (tests/integration/rabbit.py), and a consumer written the
# way psistats consumers are (python3-pika: declare the exchange `psistats`
# and the queue psistats.<hostname> with psistats' own arguments, consume,
# json.loads, read the six keys) gets every field with psistats' meaning:
# uptime in seconds as /proc/uptime, cpu and mem in percent, the host's
# IPv4 addresses but loopback, cpu_temp in degrees Celsius or null. The
# kafka sink's psistats format is read back from librdkafka's mock cluster
# with kcat (helpers of test_kafka.py) and checked against the schema.
# hp: slow
import json
import os
import re
import subprocess
import tempfile
import time
import unittest

import jsonschema

import tests.integration.hp as hp
import tests.integration.rabbit as rabbit
import tests.integration.test_kafka as tk

try:
    import pika
except ImportError:  # reported as a skip below
    pika = None

HOST = "psihost"
with open(os.path.join(hp.ROOT, "docs", "schema", "psistats.schema.json")) as f:
    SCHEMA = jsonschema.Draft202012Validator(json.load(f))


def psistats_config(d, url):
    with open(os.path.join(hp.ROOT, "etc", "psistats.conf")) as f:
        text = f.read()
    text = text.replace('url = "amqp://guest:guest@localhost:5672/";', 'url = "%s";' % url)
    text = text.replace("agent: {", 'agent: { hostname = "%s";' % HOST, 1)
    assert url in text and HOST in text, "etc/psistats.conf changed shape"
    return hp.write_config(d, text)


def declare(ch):
    """What a psistats consumer declares (psistats.conf defaults): these
    must match the agent's declarations or RabbitMQ refuses one of them."""
    queue = "psistats." + HOST
    ch.exchange_declare(exchange="psistats", exchange_type="topic", durable=False,
                        auto_delete=False)
    ch.queue_declare(queue=queue, durable=False, exclusive=False, auto_delete=True,
                     arguments={"x-message-ttl": 10000})
    ch.queue_bind(queue=queue, exchange="psistats", routing_key=queue)
    return queue


def ipv4_addresses():
    p = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True)
    return {m.group(1) for m in re.finditer(r"\binet (\S+)/", p.stdout)} - {"127.0.0.1"}


def mem_percent():
    info = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":")
            info[k] = int(v.split()[0])
    return 100.0 * (info["MemTotal"] - info["MemAvailable"]) / info["MemTotal"]


class PsistatsDropIn(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if pika is None:
            raise unittest.SkipTest("python3-pika is not installed (the psistats consumer's "
                                    "client library)")
        why = rabbit.available()
        if why:
            raise unittest.SkipTest(why)
        cls.b = rabbit.Broker()
        cls.addClassCleanup(cls.b.close)
        cls.b.start()

    def test_a_psistats_consumer_reads_every_field(self):
        url = self.b.url()
        conn = pika.BlockingConnection(pika.URLParameters(url))
        self.addCleanup(conn.close)
        ch = conn.channel()
        queue = declare(ch)  # first, as a consumer waiting for its hosts
        with tempfile.TemporaryDirectory() as d:
            with hp.Agent(psistats_config(d, url)) as a:
                time.sleep(9)
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertNotIn("not delivered", a.stderr)
        with open("/proc/uptime") as f:
            uptime_now = float(f.read().split()[0])
        objs = []
        for method, props, body in ch.consume(queue, inactivity_timeout=3 * hp.SLOW):
            if method is not None:
                self.assertEqual(list(SCHEMA.iter_errors(json.loads(body))), [], body)
            if method is None:
                break
            self.assertEqual(props.content_type, "application/json")
            self.assertEqual(method.routing_key, queue)
            objs.append(json.loads(body))
            ch.basic_ack(method.delivery_tag)
        ch.cancel()
        # One object per cpu sample (1 s), none for the other reporters.
        self.assertGreaterEqual(len(objs), 3)
        self.assertLessEqual(len(objs), 9)
        for o in objs:
            for key in ("hostname", "uptime", "cpu", "mem", "ipaddr", "cpu_temp"):
                self.assertIn(key, o)
            self.assertEqual(o["hostname"], HOST)
            self.assertTrue(0 <= o["cpu"] <= 100, o)
            # Ticks wait for the first uptime, mem and ipaddr: never null.
            self.assertIsInstance(o["uptime"], (int, float))
            self.assertIsInstance(o["mem"], (int, float))
            self.assertIsInstance(o["ipaddr"], list)
        # The values of slower reporters are carried into every later tick.
        last = objs[-1]
        self.assertLessEqual(last["uptime"], uptime_now)
        self.assertGreater(last["uptime"], uptime_now - 10)
        self.assertAlmostEqual(last["mem"], mem_percent(), delta=5)
        self.assertEqual(set(last["ipaddr"]), ipv4_addresses())
        self.assertTrue(last["cpu_temp"] is None or -40 < last["cpu_temp"] < 150)
        # What hostpulse adds: one session, seqs without repeats.
        self.assertEqual(len({o["session"] for o in objs}), 1)
        seqs = [o["seq"] for o in objs]
        self.assertEqual(seqs, sorted(set(seqs)))


class PsistatsKafka(unittest.TestCase):
    def test_kafka_sink_publishes_psistats_objects(self):
        tk.skip_under_tsan(self)
        if not os.path.exists(tk.MOCK) or not tk.KCAT:
            self.skipTest("needs tests/helpers/kafka_mock (make test-bins) and kcat")
        mock = tk.Mock()
        self.addCleanup(mock.stop)
        conf = """agent: { hostname = "%s"; };
reporters: { cpu: { interval = 0.2; }; mem: { interval = 0.2; }; uptime: { interval = 0.2; };
             ipaddr: { interval = 0.2; }; temperature: { enabled = true; interval = 0.2; }; };
sinks = ( { type = "kafka"; brokers = "%s"; topic = "psistats"; format = "psistats";
            linger_ms = 1; } );
""" % (HOST, mock.bootstrap)
        with tempfile.TemporaryDirectory() as d:
            with hp.Agent(hp.write_config(d, conf)) as a:
                time.sleep(2.5)
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertNotIn("not delivered", a.stderr)
        recs = tk.consume(mock.bootstrap, "psistats")
        self.assertGreater(len(recs), 3)
        seqs = []
        for r in recs:
            o = json.loads(r["payload"])
            self.assertEqual(list(SCHEMA.iter_errors(o)), [], r["payload"])
            self.assertEqual(o["hostname"], HOST)
            self.assertEqual(r["key"], HOST)
            seqs.append(o["seq"])
        self.assertEqual(sorted(seqs), sorted(set(seqs)))


if __name__ == "__main__":
    unittest.main()
