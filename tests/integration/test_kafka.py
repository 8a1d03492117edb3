# SPDX-License-Identifier: Apache-2.0
# test_kafka.py -- the Kafka sink end to end against librdkafka's mock
# cluster (no Kafka broker is packaged in Debian): tests/helpers/kafka_mock
# runs a 3-broker cluster and injects faults, kcat reads the topics back.
# Checks: every message arrives, validates, carries the host as key and the
# reporter/session/seq headers, in order per reporter within its partition;
# zero loss across a cluster outage and injected produce errors; --check
# reports bad librdkafka properties at FILE:LINE and --check --connect
# reports unreachable brokers, missing topics and refused authorization.
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import tests.integration.hp as hp

MOCK = os.path.join(hp.HELPERS, "kafka_mock")
KCAT = shutil.which("kcat")
HOST = "kafkahost"

CONFIG = """agent: { hostname = "%(host)s"; tick = 0.02; shutdown_timeout = %(shutdown)s; };
reporters: { uptime: { interval = 0.05; }; agent: { interval = 0.1; }; };
sinks = (
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


DUPLICATES = os.path.join(hp.BUILD, "test-logs", "test_kafka.duplicates")


def setUpModule():
    if os.path.exists(DUPLICATES):
        os.unlink(DUPLICATES)


def skip_under_tsan(test):
    # Debian's librdkafka starts its threads with C11 thrd_create, which
    # GCC's TSan runtime does not intercept: they crash before our code runs.
    if hp.LABEL == "tsan":
        test.skipTest("librdkafka's threads cannot run under ThreadSanitizer")


class Mock:
    """The mock cluster: bootstrap address, and fault injection commands."""

    def __init__(self, brokers=3):
        self.proc = subprocess.Popen([MOCK, str(brokers)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.bootstrap = self.proc.stdout.readline().strip()
        if not self.bootstrap:
            self.stop()
            raise AssertionError("kafka_mock printed no bootstrap address")

    def cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if answer != "ok":
            raise AssertionError("kafka_mock %r: %s" % (line, answer))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


def topics(bootstrap, prefix):
    """Names of the cluster's topics that start with prefix (kcat -L)."""
    p = subprocess.run([KCAT, "-L", "-b", bootstrap, "-J"], capture_output=True, text=True,
                       timeout=60 * hp.SLOW)
    if p.returncode != 0:
        raise AssertionError("kcat -L: %s" % p.stderr)
    return sorted(t["topic"] for t in json.loads(p.stdout)["topics"]
                  if t["topic"].startswith(prefix))


def consume(bootstrap, topic):
    """Every record of topic, oldest first per partition (kcat -J)."""
    p = subprocess.run([KCAT, "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-J",
                        "-q"], capture_output=True, text=True, timeout=60 * hp.SLOW)
    if p.returncode != 0:
        raise AssertionError("kcat %s: %s" % (topic, p.stderr))
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


class KafkaTest(unittest.TestCase):
    def setUp(self):
        skip_under_tsan(self)
        if not os.path.exists(MOCK):
            self.skipTest("tests/helpers/kafka_mock is not built (make test-bins)")
        if not KCAT:
            self.skipTest("kcat is not installed (Debian package kcat)")
        self.mock = Mock()
        self.addCleanup(self.mock.stop)
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def config(self, topic="hp-{reporter}", extra="", brokers=None, shutdown=10.0):
        text = CONFIG % {"host": HOST, "brokers": brokers or self.mock.bootstrap,
                         "topic": topic, "extra": extra, "shutdown": shutdown}
        return hp.write_config(self.tmp.name, text)

    def records(self, topics):
        out = []
        for t in topics:
            out += consume(self.mock.bootstrap, t)
        return out

    def check_records(self, recs, topic_of):
        # Every record: valid envelope, right topic, key and headers.
        for r in recs:
            msg = json.loads(r["payload"])
            hp.validate(msg)
            self.assertEqual(r["topic"], topic_of(msg["reporter"]))
            self.assertEqual(r["key"], HOST)
            self.assertEqual(msg["host"], HOST)
            h = r["headers"]
            headers = dict(zip(h[0::2], h[1::2]))
            self.assertEqual(headers, {"reporter": msg["reporter"], "session": msg["session"],
                                       "seq": str(msg["seq"])})
        return [json.loads(r["payload"]) for r in recs]

    def assertNoLoss(self, msgs, required=("session", "uptime", "agent")):
        # Every reporter's seqs are 1..max with none missing; returns the
        # number of duplicates (at-least-once allows them).
        reporters = sorted({m["reporter"] for m in msgs})
        for rep in required:
            self.assertIn(rep, reporters, "no %s messages" % rep)
        dups = 0
        for rep in reporters:
            seqs = [m["seq"] for m in msgs if m["reporter"] == rep]
            self.assertEqual(sorted(set(seqs)), list(range(1, max(seqs) + 1)),
                             "%s: messages lost" % rep)
            dups += len(seqs) - len(set(seqs))
        return dups

    def note(self, msgs, dups):
        # Duplicates are allowed (at-least-once) and reported here, not on
        # stdout, which the test runner parses.
        os.makedirs(os.path.dirname(DUPLICATES), exist_ok=True)
        with open(DUPLICATES, "a") as f:
            f.write("%s: %d messages, %d duplicates\n" % (self.id(), len(msgs), dups))

    def run_agent(self, path, during=None, settle=1.5):
        with hp.Agent(path) as a:
            hp.wait_for(lambda: "started:" in a.read_stderr(), what="agent start")
            time.sleep(settle * hp.SLOW)
            if during:
                during(a)
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertNotIn("not delivered at exit", a.stderr)
        return a

    def test_end_to_end_valid_keyed_ordered(self):
        a = self.run_agent(self.config())
        recs = self.records(topics(self.mock.bootstrap, "hp-"))
        msgs = self.check_records(recs, lambda rep: "hp-" + rep)
        self.assertEqual(self.assertNoLoss(msgs), 0)
        self.assertGreaterEqual(len([m for m in msgs if m["reporter"] == "uptime"]), 5)
        # one host's messages share a partition, in seq order per reporter
        for topic in {r["topic"] for r in recs}:
            rs = [r for r in recs if r["topic"] == topic]
            self.assertEqual(len({r["partition"] for r in rs}), 1, topic)
            seqs = [json.loads(r["payload"])["seq"] for r in sorted(rs, key=lambda r: r["offset"])]
            self.assertEqual(seqs, sorted(seqs), topic)
        # the agent's self-report counts the deliveries
        last = [m for m in msgs if m["reporter"] == "agent"][-1]
        self.assertIn("kafka", json.dumps(last["data"]))
        self.assertNotIn("warning", a.stderr)

    def test_one_topic_with_host_placeholder(self):
        # Every reporter into one topic: still one partition for the host,
        # each reporter's seq increasing in offset order.
        self.run_agent(self.config(topic="metrics.{host}"), settle=0.5)
        recs = sorted(consume(self.mock.bootstrap, "metrics." + HOST), key=lambda r: r["offset"])
        msgs = self.check_records(recs, lambda rep: "metrics." + HOST)
        self.assertEqual(self.assertNoLoss(msgs), 0)
        self.assertEqual(len({r["partition"] for r in recs}), 1)
        for rep in {m["reporter"] for m in msgs}:
            seqs = [m["seq"] for m in msgs if m["reporter"] == rep]
            self.assertEqual(seqs, sorted(seqs), rep)

    def test_cluster_down_then_up_loses_nothing(self):
        # Every broker down for longer than message.timeout.ms: the timed
        # out messages come back as RETRY and are produced again.
        def outage(a):
            for b in (1, 2, 3):
                self.mock.cmd("down %d" % b)
            hp.wait_for(lambda: "will resend" in a.read_stderr(), what="timed out deliveries")
            time.sleep(0.5 * hp.SLOW)
            for b in (1, 2, 3):
                self.mock.cmd("up %d" % b)
            n = len(consume(self.mock.bootstrap, "hp-uptime"))
            hp.wait_for(lambda: len(consume(self.mock.bootstrap, "hp-uptime")) > n + 5,
                        what="deliveries after the outage", interval=0.5)

        # (librdkafka's reconnect backoff shortened from 10 s, to keep the
        # test short)
        path = self.config(extra="properties: { message_timeout_ms = 1500; "
                           "reconnect_backoff_max_ms = 1000; };")
        a = self.run_agent(path, during=outage, settle=1.0)
        msgs = self.check_records(self.records(topics(self.mock.bootstrap, "hp-")),
                                  lambda rep: "hp-" + rep)
        self.note(msgs, self.assertNoLoss(msgs))
        self.assertIn("Message timed out; will resend", a.stderr)
        # the failure is logged with its reason, not once per message
        warnings = [l for l in a.stderr.splitlines() if "warning: sink kafka" in l]
        self.assertLess(len(warnings), 10, a.stderr)

    def produce_errors(self, extra):
        # Retriable errors are retried inside librdkafka; a non-retriable
        # one fails the delivery report and the sink resends the message.
        def errors(a):
            self.mock.cmd("errors 10 NOT_LEADER_FOR_PARTITION")
            time.sleep(0.5 * hp.SLOW)
            self.mock.cmd("errors 10 REQUEST_TIMED_OUT")
            time.sleep(0.5 * hp.SLOW)
            self.mock.cmd("errors 3 TOPIC_AUTHORIZATION_FAILED")
            hp.wait_for(lambda: "authorization failed" in a.read_stderr().lower(),
                        what="a failed delivery report")
            time.sleep(1.0 * hp.SLOW)

        a = self.run_agent(self.config(extra=extra), during=errors, settle=0.5)
        msgs = self.check_records(self.records(topics(self.mock.bootstrap, "hp-")),
                                  lambda rep: "hp-" + rep)
        self.note(msgs, self.assertNoLoss(msgs))
        self.assertIn("will resend", a.stderr)

    def test_injected_produce_errors_lose_nothing_idempotent(self):
        # librdkafka 2.0.2's mock does not check idempotent sequence numbers
        # as a broker does: with several requests in flight, a later batch
        # accepted after a failed one makes librdkafka count the failed one
        # as delivered (an "implicit ack"). A real broker refuses the later
        # batch. One request in flight keeps the mock honest.
        self.produce_errors("properties: { max_in_flight = 1; };")

    def test_injected_produce_errors_lose_nothing_without_idempotence(self):
        self.produce_errors("idempotence = false;")

    def test_one_broker_down_loses_nothing(self):
        def outage(a):
            self.mock.cmd("down 2")
            time.sleep(2.0 * hp.SLOW)
            self.mock.cmd("up 2")
            time.sleep(1.0 * hp.SLOW)

        self.run_agent(self.config(), during=outage, settle=0.5)
        msgs = self.check_records(self.records(topics(self.mock.bootstrap, "hp-")),
                                  lambda rep: "hp-" + rep)
        self.note(msgs, self.assertNoLoss(msgs))

    def test_fatal_producer_error_recovers(self):
        # A sequence the broker refuses is fatal for an idempotent producer:
        # the sink drops it, a new one resends what was unconfirmed.
        def fatal(a):
            self.mock.cmd("errors 1 OUT_OF_ORDER_SEQUENCE_NUMBER")
            hp.wait_for(lambda: "fatal producer error" in a.read_stderr(), what="fatal error")
            time.sleep(1.0 * hp.SLOW)

        a = self.run_agent(self.config(), during=fatal, settle=0.5)
        msgs = self.check_records(self.records(topics(self.mock.bootstrap, "hp-")),
                                  lambda rep: "hp-" + rep)
        self.note(msgs, self.assertNoLoss(msgs))
        self.assertIn("sink kafka: connected again", a.stderr)

    def test_missing_topic_is_retried_until_created(self):
        # As at --check: the topic is missing until its metadata error is
        # cleared (the mock would create it on first use otherwise).
        self.mock.cmd("topicerr hp-late UNKNOWN_TOPIC_OR_PART")

        def create(a):
            hp.wait_for(lambda: "hp-late" in a.read_stderr(), what="missing topic logged")
            time.sleep(0.5 * hp.SLOW)
            self.mock.cmd("topicerr hp-late NO_ERROR")
            hp.wait_for(lambda: len(consume(self.mock.bootstrap, "hp-late")) > 10,
                        what="deliveries after the topic was created", interval=0.5)

        path = self.config(topic="hp-late", extra="properties: { allow_auto_create_topics = "
                           "false; topic_metadata_propagation_max_ms = 300; };")
        a = self.run_agent(path, during=create, settle=0)
        msgs = self.check_records(self.records(["hp-late"]), lambda rep: "hp-late")
        self.note(msgs, self.assertNoLoss(msgs))
        lines = [l for l in a.stderr.splitlines() if "hp-late" in l]
        self.assertLess(len(lines), 10, a.stderr)


class KafkaCheckTest(unittest.TestCase):
    def setUp(self):
        skip_under_tsan(self)
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def check(self, sink, connect=False):
        text = 'sinks = (\n  { type = "kafka";\n' + sink + '\n  }\n);\n'
        path = hp.write_config(self.tmp.name, text)
        p = hp.run(["-c", path, "--check"] + (["--connect"] if connect else []))
        return p, path

    def assertProblem(self, sink, line, *fragments):
        p, path = self.check(sink)
        self.assertEqual(p.returncode, 1, p.stderr)
        want = "%s:%d: " % (path, line)
        hits = [l for l in p.stderr.splitlines()
                if l.startswith(want) and all(f in l for f in fragments)]
        self.assertTrue(hits, "expected %r with %r in:\n%s" % (want, fragments, p.stderr))

    def test_good_properties(self):
        p, _ = self.check('    properties: {\n      socket_timeout_ms = 5000;\n'
                          '      log_level = 3;\n      client_id = "x";\n'
                          '      socket_keepalive_enable = true;\n    };')
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_unknown_property(self):
        self.assertProblem('    properties: {\n      no_such_thing = 1;\n    };', 4,
                           "properties.no_such_thing",
                           'No such configuration property: "no.such.thing"')

    def test_bad_property_value(self):
        self.assertProblem('    properties: {\n\n      message_timeout_ms = "soon";\n    };', 5,
                           "properties.message_timeout_ms",
                           'Invalid value for configuration property "message.timeout.ms"')

    def test_property_conflict_found_by_librdkafka(self):
        self.assertProblem('    properties: { acks = 1; };', 2, "enable.idempotence")

    def test_acks_needs_all_with_idempotence(self):
        self.assertProblem('    acks = "1";', 3, 'acks must be "all"')

    def test_bad_topic(self):
        self.assertProblem('    topic = "a b";', 3, "not a valid Kafka topic name")

    def test_unreachable_brokers(self):
        port = hp.free_port()
        p, _ = self.check('    brokers = [ "127.0.0.1:%d" ];\n    timeout = 1.0;' % port,
                          connect=True)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("cannot reach the cluster at 127.0.0.1:%d" % port, p.stderr)
        self.assertIn("Connection refused", p.stderr)


class KafkaConnectTest(unittest.TestCase):
    def setUp(self):
        skip_under_tsan(self)
        if not os.path.exists(MOCK):
            self.skipTest("tests/helpers/kafka_mock is not built (make test-bins)")
        self.mock = Mock()
        self.addCleanup(self.mock.stop)
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def check(self, sink):
        text = ('reporters: { uptime: {}; };\nsinks = (\n  { type = "kafka"; brokers = "%s";\n'
                '%s\n  }\n);\n' % (self.mock.bootstrap, sink))
        path = hp.write_config(self.tmp.name, text)
        return hp.run(["-c", path, "--check", "--connect"])

    def test_reachable(self):
        p = self.check('    topic = "hp-{reporter}";')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("sink kafka (kafka): ok", p.stderr)

    def test_missing_topic(self):
        # The mock creates every topic asked for; a missing one is the
        # metadata error a broker with auto-create off answers.
        self.mock.cmd("topicerr absent UNKNOWN_TOPIC_OR_PART")
        p = self.check('    topic = "absent";\n    properties: { allow_auto_create_topics = false; };')
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("topic absent does not exist", p.stderr)

    def test_authorization_failure(self):
        self.mock.cmd("create secret 1")
        self.mock.cmd("topicerr secret TOPIC_AUTHORIZATION_FAILED")
        p = self.check('    topic = "secret";')
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("not authorized to use topic secret", p.stderr)


if __name__ == "__main__":
    unittest.main()
