# SPDX-License-Identifier: Apache-2.0
# test_kafka_broker.py -- the Kafka sink against a real Apache Kafka broker
# (tests/integration/kafka_server.py: one KRaft node from the jars `make
# deps` fetched), where test_kafka.py uses librdkafka's mock cluster.
# The broker checks what the mock does not: idempotent sequence numbers
# across a SIGKILL and restart, topics that do not exist, SCRAM
# credentials, TLS certificates. kcat reads the topics back.
# The broker is started once for the module (a JVM takes seconds).
# hp: slow
import json
import os
import subprocess
import tempfile
import time
import unittest

import tests.integration.hp as hp
import tests.integration.kafka_server as kafka_server
import tests.integration.rabbit as rabbit

HOST = "brokerhost"
REPORTERS = ("cpu", "mem", "net", "process", "uptime", "ipaddr", "temperature", "disk", "agent")

CONFIG = """agent: { hostname = "%(host)s"; tick = 0.02; shutdown_timeout = %(shutdown)s; };
reporters: { %(reporters)s };
sinks = (
  { type = "stdout"; },
  { type = "kafka";
    brokers = "%(brokers)s";
    topic = "%(topic)s";
    linger_ms = 1;
    retry_initial = 0.2;
    retry_max = 1.0;
    %(extra)s
  }
);
"""

broker = None
certs = None
certdir = None


def setUpModule():
    global broker, certs, certdir
    why = kafka_server.available()
    if why:
        raise unittest.SkipTest(why)
    if hp.LABEL == "tsan":
        raise unittest.SkipTest("librdkafka's threads cannot run under ThreadSanitizer")
    certdir = tempfile.TemporaryDirectory()
    certs = rabbit.make_certs(certdir.name)
    broker = kafka_server.Broker(certs=certs)
    try:
        broker.start()
    except BaseException:
        broker.close()
        certdir.cleanup()
        raise


def tearDownModule():
    if broker:
        broker.close()
    if certdir:
        certdir.cleanup()


def reporters(interval, names=("uptime", "agent")):
    return " ".join("%s: { enabled = true; interval = %s; };" % (n, interval) for n in names)


class KafkaBrokerTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def config(self, topic, brokers=None, extra="", reps=None, shutdown=10.0):
        text = CONFIG % {"host": HOST, "brokers": brokers or broker.plain(), "topic": topic,
                         "extra": extra, "reporters": reps or reporters(0.05),
                         "shutdown": shutdown}
        return hp.write_config(self.tmp.name, text)

    def records(self, prefix):
        out = []
        for t in broker.topics(prefix):
            out += broker.consume(t)
        return out

    def check_records(self, recs):
        # Every record a valid envelope keyed by its host, with the headers.
        msgs = []
        for r in recs:
            m = json.loads(r["payload"])
            hp.validate(m)
            self.assertEqual(r["key"], HOST)
            self.assertEqual(m["host"], HOST)
            h = r["headers"]
            self.assertEqual(dict(zip(h[0::2], h[1::2])), {
                "reporter": m["reporter"], "session": m["session"], "seq": str(m["seq"])})
            msgs.append(m)
        return msgs

    def assertAllArrived(self, sent, got):
        # Every message the agent printed on stdout arrived; returns the
        # number of duplicates.
        ident = lambda m: (m["session"], m["reporter"], m["seq"])
        have = [ident(m) for m in got]
        missing = {ident(m) for m in sent} - set(have)
        self.assertEqual(missing, set(), "messages lost")
        return len(have) - len(set(have))

    def run_agent(self, path, during=None, settle=1.0):
        with hp.Agent(path) as a:
            hp.wait_for(lambda: "started:" in a.read_stderr(), what="agent start")
            time.sleep(settle)
            if during:
                during(a)
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertNotIn("not delivered at exit", a.stderr)
        return hp.parse_lines(a.stdout), a

    def test_every_reporter_arrives_keyed_by_host(self):
        # One topic for every reporter (each kcat read costs a second).
        path = self.config("all.{host}", reps=reporters(0.2, REPORTERS))
        sent, a = self.run_agent(path, settle=1.5)
        self.assertEqual({m["reporter"] for m in sent}, set(REPORTERS) | {"session"})
        recs = sorted(broker.consume("all." + HOST), key=lambda r: r["offset"])
        got = self.check_records(recs)
        self.assertEqual(self.assertAllArrived(sent, got), 0)
        # the host's messages share a partition, each reporter in seq order
        self.assertEqual(len({r["partition"] for r in recs}), 1)
        for rep in REPORTERS:
            seqs = [m["seq"] for m in got if m["reporter"] == rep]
            self.assertEqual(seqs, sorted(seqs), rep)
        last = [m for m in sent if m["reporter"] == "agent"][-1]
        self.assertGreater(last["data"]["sinks"]["kafka"]["sent"], 0)

    def test_broker_sigkill_and_restart_idempotent(self):
        # The idempotent producer with its default in-flight window (5):
        # the broker dies without a clean shutdown mid-stream and comes back
        # on the same ports with its log. librdkafka resends what was not
        # acknowledged with the same producer id and sequence numbers; the
        # broker drops what it already has. Zero loss, and no duplicates.
        def crash(a):
            n = broker.count("kill-uptime")
            broker.kill()
            time.sleep(2.0)
            broker.start()
            hp.wait_for(lambda: broker.count("kill-uptime") > n + 20,
                        what="deliveries after the restart", interval=0.5)

        path = self.config("kill-{reporter}", reps=reporters(0.02),
                           extra="properties: { reconnect_backoff_max_ms = 500; };")
        sent, a = self.run_agent(path, during=crash)
        got = self.check_records(self.records("kill-"))
        dups = self.assertAllArrived(sent, got)
        self.assertEqual(dups, 0, "duplicates despite the idempotent producer")
        self.assertNotIn("fatal producer error", a.stderr)
        # the outage was seen (messages were in flight), and its end
        self.assertIn("no broker reachable", a.stderr)
        self.assertIn("the cluster is reachable again", a.stderr)

    def test_missing_topic_keeps_the_data_until_created(self):
        # allow.auto.create.topics off: the broker does not create the
        # topic on first use. The sink says so, keeps the messages (in its
        # spool) and delivers them once the topic exists; here it is
        # created by a first record from kcat, as a producer that is
        # allowed to auto-create topics would.
        topic = "late-%d" % os.getpid()

        def create(a):
            hp.wait_for(lambda: "topic %s does not exist" % topic in a.read_stderr(),
                        what="the missing topic logged")
            spool = os.path.join(a.env["HOSTPULSE_SPOOL_DIR"], "kafka")
            hp.wait_for(lambda: os.path.isdir(spool) and os.listdir(spool),
                        what="messages spooled while the topic is missing")
            self.assertNotIn(topic, broker.topics(topic))
            p = subprocess.run([kafka_server.KCAT, "-P", "-b", broker.plain(), "-t", topic,
                                   "-k", "marker"], input="created\n", text=True,
                                  capture_output=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            hp.wait_for(lambda: broker.count(topic) > 20, interval=0.5,
                        what="deliveries after the topic was created")

        path = self.config(topic, extra="properties: { allow_auto_create_topics = false; "
                           "topic_metadata_propagation_max_ms = 300; };")
        sent, a = self.run_agent(path, during=create, settle=0)
        recs = [r for r in broker.consume(topic) if r["key"] != "marker"]
        self.assertAllArrived(sent, self.check_records(recs))
        lines = [l for l in a.stderr.splitlines() if topic in l]
        self.assertLess(len(lines), 10, "the missing topic is logged rate-limited:\n" + a.stderr)

    def create_topic(self, topic):
        # A first record from kcat creates the topic (auto-create is on).
        p = subprocess.run([kafka_server.KCAT, "-P", "-b", broker.plain(), "-t", topic,
                            "-k", "marker"], input="created\n", text=True,
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_check_connect(self):
        # --check --connect asks the real broker for each topic's metadata.
        self.create_topic("checked")
        p = hp.run(["-c", self.config("checked"), "--check", "--connect"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("sink kafka (kafka): ok", p.stderr)
        absent = "absent-%d" % os.getpid()
        path = self.config(absent, extra="properties: { allow_auto_create_topics = false; };")
        p = hp.run(["-c", path, "--check", "--connect"])
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("topic %s does not exist (allow_auto_create_topics = false" % absent,
                      p.stderr)
        self.assertNotIn(absent, broker.topics("absent-"))

    def test_check_connect_creates_topics(self):
        # Found by this broker: a cluster with auto.create.topics.enable =
        # true creates a topic on the check's metadata request, but KRaft
        # answers "unknown topic" first; the check said "does not exist (and
        # the cluster does not create it)". It now asks the broker's
        # auto.create.topics.enable and waits for the topic to appear.
        p = hp.run(["-c", self.config("autocheck-{reporter}"), "--check", "--connect"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("autocheck-uptime", broker.topics("autocheck-"))
        self.assertIn("topic autocheck-uptime created by the cluster", p.stderr)
        self.assertNotIn("does not exist", p.stderr)
        # A second check finds them: no creation to report.
        p = hp.run(["-c", self.config("autocheck-{reporter}"), "--check", "--connect"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("created by the cluster", p.stderr)

    def sasl(self, password, topic, shutdown=10.0):
        extra = ('properties: { security_protocol = "sasl_plaintext"; sasl_mechanism = "%s"; '
                 'sasl_username = "%s"; sasl_password = "%s"; };'
                 % (kafka_server.MECHANISM, kafka_server.USER, password))
        return self.config(topic, brokers=broker.sasl(), extra=extra, shutdown=shutdown)

    def test_sasl_scram(self):
        sent, _ = self.run_agent(self.sasl(kafka_server.PASSWORD, "scram-{reporter}"))
        self.assertAllArrived(sent, self.check_records(self.records("scram-")))

    def test_sasl_scram_wrong_password(self):
        wrong = "Wr0ng-pa55word-" + str(os.getpid())
        with hp.Agent(self.sasl(wrong, "badscram-{reporter}", shutdown=0.5)) as a:
            hp.wait_for(lambda: "uthentication" in a.read_stderr(), what="an auth failure")
        self.assertIn("sink kafka", a.stderr)
        self.assertIn("invalid credentials", a.stderr)
        self.assertNotIn(wrong, a.stderr + a.stdout)
        self.assertEqual(broker.topics("badscram-"), [])

    def tls(self, ca, topic, shutdown=10.0):
        extra = 'properties: { security_protocol = "ssl"; ssl_ca_location = "%s"; };' % ca
        return self.config(topic, brokers=broker.tls(), extra=extra, shutdown=shutdown)

    def test_tls_verified(self):
        sent, a = self.run_agent(self.tls(certs["ca"], "tls-{reporter}"))
        self.assertAllArrived(sent, self.check_records(self.records("tls-")))
        self.assertNotIn("warning", a.stderr)

    def test_tls_wrong_ca_fails(self):
        with hp.Agent(self.tls(certs["other_ca"], "badtls-{reporter}", shutdown=0.5)) as a:
            hp.wait_for(lambda: "certificate verify failed" in a.read_stderr(),
                        what="a certificate verification failure")
        self.assertIn("sink kafka", a.stderr)
        self.assertEqual(broker.topics("badtls-"), [])


class KafkaNoAutoCreate(unittest.TestCase):
    """A cluster with auto.create.topics.enable = false: --check --connect
    says so at once instead of waiting for a topic that never comes."""

    @classmethod
    def setUpClass(cls):
        cls.b = kafka_server.Broker(auto_create=False)
        cls.addClassCleanup(cls.b.close)
        cls.b.start()

    def test_check_connect_names_the_broker_setting(self):
        with tempfile.TemporaryDirectory() as d:
            text = CONFIG % {"host": HOST, "brokers": self.b.plain(), "topic": "noauto-{reporter}",
                             "extra": "", "reporters": reporters(1.0), "shutdown": 1.0}
            p = hp.run(["-c", hp.write_config(d, text), "--check", "--connect"])
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertRegex(p.stderr, r"topic noauto-\w+ does not exist \(and the cluster does not "
                                   r"create it: auto.create.topics.enable = false\)")
        self.assertEqual(self.b.topics("noauto-"), [])


if __name__ == "__main__":
    unittest.main()
