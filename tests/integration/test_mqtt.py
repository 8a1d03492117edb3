# SPDX-License-Identifier: Apache-2.0
# test_mqtt.py -- the mqtt sink against a real mosquitto started by the test
# (tests/integration/mosquitto.py), read by mosquitto_sub: every reporter
# on its documented topic and valid against the schema; zero loss and
# bounded duplicates through a 30 s broker stop and a frozen broker
# (noticed by keepalive); the Last Will when the
# agent is SIGKILLed; TLS with verification (a wrong CA and a wrong name
# are refused); QoS 2 over MQTT 5; retained last values; the psistats
# format on psistats/<host> as psimonweb reads it; no password in output.
# hp: slow
import collections
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

import jsonschema

import tests.integration.hp as hp
import tests.integration.mosquitto as mosquitto

PASSWORD = "Mqtt-s3cret-PW"
REPORTERS = ["cpu", "mem", "net", "process", "uptime", "ipaddr", "temperature", "disk", "agent"]

CONFIG = """
agent: { hostname = "%(host)s"; log: { level = "info"; }; shutdown_timeout = 10.0; };
reporters: { %(reporters)s };
sinks = ( { type = "mqtt"; url = "%(url)s"; retry_initial = 0.2; retry_max = 1.0; %(extra)s } );
"""

with open(os.path.join(hp.ROOT, "docs", "schema", "psistats.schema.json")) as f:
    PSISTATS = jsonschema.Draft202012Validator(json.load(f))


def config(d, url, host="h1", extra="", reporters=None):
    reps = reporters or {"uptime": 0.1, "agent": 0.2}
    text = CONFIG % dict(host=host, url=url, extra=extra,
                         reporters=" ".join("%s: { enabled = true; interval = %s; };" % kv for kv in reps.items()))
    return hp.write_config(d, text)


def envelopes(test, msgs, host):
    """Parse and validate every message on hostpulse/HOST/REPORTER."""
    out = []
    for topic, payload in msgs:
        if topic == "hostpulse/%s/status" % host:
            continue
        m = json.loads(payload)
        hp.validate(m)
        test.assertEqual(topic, "hostpulse/%s/%s" % (host, m["reporter"]))
        out.append(m)
    return out


def seq_report(test, msgs):
    """Every reporter's seqs run 1..max without a gap; returns (duplicates,
    last seq per reporter)."""
    seqs = collections.defaultdict(list)
    for m in msgs:
        seqs[m["reporter"]].append(m["seq"])
    dups = 0
    for reporter, got in seqs.items():
        unique = sorted(set(got))
        test.assertEqual(sorted(set(range(1, unique[-1] + 1)) - set(unique)), [],
                         "%s: seqs missing" % reporter)
        dups += len(got) - len(unique)
    return dups, {r: max(v) for r, v in seqs.items()}


def start_broker(test, tls=None):
    why = mosquitto.available()
    if why:
        raise unittest.SkipTest(why)
    b = mosquitto.Broker(tls=tls)
    test.addClassCleanup(b.close)
    return b.start()


class MqttEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b = start_broker(cls)

    def test_every_reporter_on_its_topic(self):
        sub = self.b.subscribe("hostpulse/e2e/#", "sub-e2e")
        reps = {r: 0.5 for r in REPORTERS}
        with tempfile.TemporaryDirectory() as d:
            url = self.b.url("hpuser:" + PASSWORD)
            with hp.Agent(config(d, url, host="e2e", reporters=reps)) as a:
                time.sleep(3)
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertNotIn("not delivered", a.stderr)
            self.assertIn("connected to mqtt://hpuser:***@", a.stderr)
            self.assertNotIn(PASSWORD, a.stderr + a.stdout)
        sub.wait_idle()
        msgs = sub.messages()
        status = [p for t, p in msgs if t == "hostpulse/e2e/status"]
        self.assertEqual(status[0], "online")
        self.assertEqual(status[-1], "offline")  # a clean stop says so
        got = envelopes(self, msgs, "e2e")
        self.assertEqual({m["reporter"] for m in got}, set(REPORTERS) | {"session"})
        dups, _ = seq_report(self, got)
        self.assertEqual(dups, 0)

    def test_zero_loss_through_a_30s_broker_stop(self):
        sub = self.b.subscribe("hostpulse/outage/#", "sub-outage")
        with tempfile.TemporaryDirectory() as d:
            with hp.Agent(config(d, self.b.url(), host="outage")) as a:
                time.sleep(2)
                self.b.stop()
                hp.wait_for(lambda: "retrying in" in a.read_stderr(), timeout=20,
                            what="the outage noticed")
                time.sleep(30)
                self.b.start()
                hp.wait_for(lambda: "connected again" in a.read_stderr(), timeout=40,
                            what="reconnect")
                time.sleep(2)
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertNotIn("not delivered", a.stderr)
        sub.wait_idle(idle=3)
        got = envelopes(self, sub.messages(), "outage")
        dups, last = seq_report(self, got)
        # The whole outage (30 s of uptime at 10/s) came through.
        self.assertGreater(last["uptime"], 300)
        # Duplicates: at most what was in flight when the connection broke.
        # (No print: output between the test's name and "ok" hides it from
        # tests/run.)
        self.assertLessEqual(dups, 1000, "%d delivered, last seqs %s" % (len(got), last))

    def test_frozen_broker_noticed_by_keepalive_nothing_lost(self):
        sub = self.b.subscribe("hostpulse/frozen/#", "sub-frozen")
        with tempfile.TemporaryDirectory() as d:
            with hp.Agent(config(d, self.b.url(), host="frozen", extra="keepalive = 5;")) as a:
                time.sleep(1)
                self.b.freeze()
                try:
                    hp.wait_for(lambda: "retrying in" in a.read_stderr(), timeout=30,
                                what="the silent broker noticed (keepalive 5 s)")
                finally:
                    self.b.thaw()
                hp.wait_for(lambda: "connected again" in a.read_stderr(), timeout=30,
                            what="reconnect")
                time.sleep(1)
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertNotIn("not delivered", a.stderr)
        sub.wait_idle()
        got = envelopes(self, sub.messages(), "frozen")
        dups, last = seq_report(self, got)
        self.assertGreater(last["uptime"], 50)

    def test_last_will_when_the_agent_is_killed(self):
        sub = self.b.subscribe("hostpulse/will/status", "sub-will")
        with tempfile.TemporaryDirectory() as d:
            a = hp.Agent(config(d, self.b.url(), host="will"))
            with a:
                hp.wait_for(lambda: ("hostpulse/will/status", "online") in sub.messages(),
                            timeout=20, what="online")
                a.proc.send_signal(signal.SIGKILL)
                a.proc.wait()
                hp.wait_for(lambda: sub.messages()[-1:] == [("hostpulse/will/status", "offline")],
                            timeout=20, what="the Last Will")
        # Retained: a late subscriber learns the host is gone at once.
        p = subprocess.run([mosquitto.SUB, "-h", "127.0.0.1", "-p", str(self.b.port), "-t",
                            "hostpulse/will/status", "-C", "1", "-W", "5"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(p.stdout.strip(), "offline")

    def test_qos2_over_mqtt5_and_retained_values(self):
        sub = self.b.subscribe("hostpulse/q2/#", "sub-q2")
        with tempfile.TemporaryDirectory() as d:
            extra = 'qos = 2; protocol = "5"; retain = true;'
            with hp.Agent(config(d, self.b.url(), host="q2", extra=extra)) as a:
                time.sleep(2)
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertIn("(MQTT 5, QoS 2)", a.stderr)
            self.assertNotIn("not delivered", a.stderr)
        sub.wait_idle()
        got = envelopes(self, sub.messages(), "q2")
        dups, last = seq_report(self, got)
        self.assertEqual(dups, 0)
        self.assertGreater(last["uptime"], 10)
        p = subprocess.run([mosquitto.SUB, "-h", "127.0.0.1", "-p", str(self.b.port), "-t",
                            "hostpulse/q2/uptime", "-C", "1", "-W", "5"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(json.loads(p.stdout)["seq"], last["uptime"])

    def test_psistats_format_as_psimonweb_reads_it(self):
        sub = self.b.subscribe("psistats/+", "sub-psistats")
        reps = {"cpu": 0.3, "mem": 0.3, "uptime": 0.6, "ipaddr": 0.6, "temperature": 0.6}
        with tempfile.TemporaryDirectory() as d:
            extra = 'format = "psistats"; topic = "psistats/{host}"; status = false;'
            with hp.Agent(config(d, self.b.url(), host="psi", extra=extra, reporters=reps)) as a:
                time.sleep(3)
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertNotIn("not delivered", a.stderr)
        sub.wait_idle()
        msgs = sub.messages()
        self.assertGreater(len(msgs), 5)
        seqs = []
        for topic, payload in msgs:
            self.assertEqual(topic, "psistats/psi")
            o = json.loads(payload)
            errors = list(PSISTATS.iter_errors(o))
            self.assertEqual(errors, [], payload)
            self.assertEqual(o["hostname"], "psi")
            self.assertTrue(0 <= o["cpu"] <= 100)
            seqs.append(o["seq"])
        self.assertEqual(len(seqs), len(set(seqs)))
        last = json.loads(msgs[-1][1])
        self.assertTrue(0 < last["mem"] < 100)
        self.assertGreater(last["uptime"], 0)
        self.assertIsInstance(last["ipaddr"], list)


class MqttConfig(unittest.TestCase):
    def test_bad_url_and_topic_are_named_without_the_password(self):
        with tempfile.TemporaryDirectory() as d:
            path = hp.write_config(d, 'sinks = ( { type = "mqtt";\n'
                                      '  url = "http://u:%s@x"; topic = "a/{nope}"; } );\n'
                                   % PASSWORD)
            p = hp.run(["-c", path, "--check"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("hostpulse.conf:2: sink mqtt: url \"http://u:***@x\" is not an MQTT URL",
                      p.stderr)
        self.assertIn("hostpulse.conf:2: sink mqtt: topic \"a/{nope}\"", p.stderr)
        self.assertNotIn(PASSWORD, p.stderr)


class MqttTLS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.addClassCleanup(cls.tmp.cleanup)
        try:
            cls.certs = mosquitto.make_certs(cls.tmp.name)
        except (OSError, subprocess.CalledProcessError) as e:
            raise unittest.SkipTest("openssl cannot make test certificates: %s" % e)
        cls.b = start_broker(cls, tls=cls.certs)

    def check(self, url, ca):
        with tempfile.TemporaryDirectory() as d:
            path = config(d, url, extra='tls: { ca_file = "%s"; };' % ca)
            return hp.run(["-c", path, "--check", "--connect"])

    def test_tls_verified_delivery(self):
        sub = self.b.subscribe("hostpulse/tls/#", "sub-tls")
        p = self.check(self.b.tls_url(), self.certs["ca"])
        self.assertEqual(p.returncode, 0, p.stderr)
        with tempfile.TemporaryDirectory() as d:
            path = config(d, self.b.tls_url(), host="tls",
                          extra='tls: { ca_file = "%s"; };' % self.certs["ca"])
            with hp.Agent(path) as a:
                time.sleep(1.5)
            self.assertIn("connected to mqtts://localhost", a.stderr)
            self.assertNotIn("not delivered", a.stderr)
        sub.wait_idle()
        got = envelopes(self, sub.messages(), "tls")
        self.assertGreater(len(got), 3)
        seq_report(self, got)

    def test_tls_wrong_ca_is_refused(self):
        p = self.check(self.b.tls_url(), self.certs["other_ca"])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("certificate verify failed", p.stderr)

    def test_tls_wrong_name_is_refused(self):
        # The certificate names only localhost.
        p = self.check(self.b.tls_url(host="127.0.0.1"), self.certs["ca"])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("certificate verify failed", p.stderr)


if __name__ == "__main__":
    unittest.main()
