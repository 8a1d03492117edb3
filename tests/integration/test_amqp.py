# SPDX-License-Identifier: Apache-2.0
# test_amqp.py -- the amqp sink against a real RabbitMQ started by the test
# (tests/integration/rabbit.py): end to end with properties and routing
# keys, --check --connect failures, broker restart and a frozen broker
# without loss, TLS with verification, and that no password is ever shown.
# The consumer is tests/helpers/amqp_consume (rabbitmq-c).
# hp: slow
import collections
import os
import re
import subprocess
import tempfile
import time
import unittest

import tests.integration.hp as hp
import tests.integration.rabbit as rabbit

CONSUME = os.path.join(hp.HELPERS, "amqp_consume")
USER, PASSWORD = "hpuser", "Sup3r-s3cret-PW"
WRONG = "Wr0ng-passw0rd-XY"

CONFIG = """
agent: { hostname = "%(host)s"; log: { level = "info"; }; shutdown_timeout = 10.0; };
reporters: { uptime: { interval = 0.1; }; agent: { interval = 0.1; }; };
sinks = ( { type = "amqp"; url = %(url)s; retry_initial = 0.2; retry_timer = 1.0;
            heartbeat = %(heartbeat)d; %(extra)s } );
"""


def config(d, url, host="h1", heartbeat=30, extra=""):
    urls = url if isinstance(url, str) else None
    text = CONFIG % dict(host=host, heartbeat=heartbeat, extra=extra,
                         url='"%s"' % urls if urls else "[" + ", ".join('"%s"' % u for u in url) + "]")
    return hp.write_config(d, text)


def consume(url, queue, idle=3.0, seconds=60, extra=()):
    p = subprocess.run([CONSUME, "-u", url, "-q", queue, "-i", str(idle * hp.SLOW),
                        "-t", str(seconds * hp.SLOW)] + list(extra),
                       capture_output=True, text=True, timeout=seconds * hp.SLOW + 30)
    if p.returncode != 0:
        raise AssertionError("amqp_consume: " + p.stderr)
    return hp.parse_lines(p.stdout)


def bind_queue(url, queue, binding, exchange="hostpulse", extra=()):
    subprocess.run([CONSUME, "-u", url, "-q", queue, "-b", exchange, "-k", binding, "-d"]
                   + list(extra), check=True, capture_output=True, timeout=30)


def seq_report(test, deliveries):
    """Every reporter's seqs must run 1..max without a gap. Returns the
    number of duplicates (at-least-once allows them)."""
    seqs = collections.defaultdict(list)
    for d in deliveries:
        seqs[d["body"]["reporter"]].append(d["body"]["seq"])
    dups = 0
    for reporter, got in seqs.items():
        unique = sorted(set(got))
        missing = sorted(set(range(1, unique[-1] + 1)) - set(unique))
        test.assertEqual(missing, [], "%s: seqs missing" % reporter)
        dups += len(got) - len(unique)
    return dups, {r: max(v) for r, v in seqs.items()}


def start_broker(test, tls=None):
    why = rabbit.available()
    if why:
        raise unittest.SkipTest(why)
    b = rabbit.Broker(tls=tls)
    test.addClassCleanup(b.close)
    b.start()
    b.ctl("add_user", USER, PASSWORD)
    b.ctl("set_permissions", "-p", "/", USER, ".*", ".*", ".*")
    return b


class AmqpEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b = start_broker(cls)
        cls.url = cls.b.url(USER, PASSWORD)

    def assertNoSecret(self, *texts):
        for t in texts:
            self.assertNotIn(PASSWORD, t)
            self.assertNotIn(WRONG, t)

    def test_end_to_end_properties_keys_and_seqs(self):
        # A second queue, bound by topic pattern, sees only uptime messages.
        bind_queue(self.url, "uptime-everywhere", "hostpulse.*.uptime")
        with tempfile.TemporaryDirectory() as d:
            path = config(d, self.url, host="e2e")
            with hp.Agent(path) as a:
                time.sleep(3)
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertNotIn("not delivered", a.stderr)
            self.assertIn("connected to amqp://%s:***@" % USER, a.stderr)
            self.assertNoSecret(a.stderr, a.stdout)
        host_msgs = consume(self.url, "hostpulse.e2e")
        topic_msgs = consume(self.url, "uptime-everywhere")
        self.assertGreater(len(host_msgs), 20)
        for d in host_msgs + topic_msgs:
            m = d["body"]
            hp.validate(m)
            p = d["properties"]
            self.assertEqual(d["routing_key"], "hostpulse.e2e.%s" % m["reporter"])
            self.assertEqual(d["exchange"], "hostpulse")
            self.assertEqual(p["content_type"], "application/json")
            self.assertEqual(p["app_id"], "hostpulse")
            self.assertEqual(p["type"], m["reporter"])
            self.assertEqual(p["delivery_mode"], 2)
            self.assertEqual(p["timestamp"], m["ts"] // 1000)
            self.assertEqual(p["message_id"],
                             "%s:%s:%s:%d" % (m["host"], m["session"], m["reporter"], m["seq"]))
        self.assertEqual({d["body"]["reporter"] for d in topic_msgs}, {"uptime"})
        self.assertEqual({d["body"]["reporter"] for d in host_msgs},
                         {"session", "uptime", "agent"})
        dups, last = seq_report(self, host_msgs)
        self.assertEqual(dups, 0)
        seq_report(self, topic_msgs)
        ids = [d["properties"]["message_id"] for d in host_msgs]
        self.assertEqual(len(ids), len(set(ids)), "message_id is unique")

    def test_dotted_host_names_route_with_hash_bindings(self):
        # docs/amqp.md: "hostpulse.*.uptime" misses a dotted host name,
        # "hostpulse.#.uptime" and "hostpulse.<host>.#" catch it.
        bind_queue(self.url, "dotted-star", "hostpulse.*.uptime")
        bind_queue(self.url, "dotted-hash", "hostpulse.#.uptime")
        bind_queue(self.url, "dotted-host", "hostpulse.web01.example.com.#")
        with tempfile.TemporaryDirectory() as d:
            with hp.Agent(config(d, self.url, host="web01.example.com")) as a:
                time.sleep(2)
            self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(consume(self.url, "dotted-star", idle=1.0), [])
        hashed = consume(self.url, "dotted-hash")
        self.assertGreater(len(hashed), 5)
        self.assertEqual({d["body"]["host"] for d in hashed}, {"web01.example.com"})
        self.assertEqual({d["body"]["reporter"] for d in hashed}, {"uptime"})
        self.assertEqual({d["body"]["reporter"] for d in consume(self.url, "dotted-host")},
                         {"session", "uptime", "agent"})

    def test_headers_exchange_routes_on_identity_headers(self):
        # A consumer's queue bound on x-match=all, reporter=uptime, and the
        # agent's own per-host queue bound on its host header.
        bind_queue(self.url, "hdr-uptime", "", exchange="hp-headers",
                   extra=["-x", "headers", "-H", "reporter=uptime"])
        bind_queue(self.url, "hdr-other-host", "", exchange="hp-headers",
                   extra=["-x", "headers", "-H", "host=not-this-one"])
        extra = ('exchange: { name = "hp-headers"; type = "headers"; }; '
                 'queue: { prefix = "hdr"; };')
        with tempfile.TemporaryDirectory() as d:
            with hp.Agent(config(d, self.url, host="hdr.example", extra=extra)) as a:
                time.sleep(2)
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertNotIn("unroutable", a.stderr)
        uptime = consume(self.url, "hdr-uptime")
        self.assertGreater(len(uptime), 5)
        for d in uptime:
            m, h = d["body"], d["properties"]["headers"]
            self.assertEqual(m["reporter"], "uptime")
            self.assertEqual(h, {"host": m["host"], "reporter": m["reporter"],
                                 "session": m["session"], "seq": m["seq"]})
        own = consume(self.url, "hdr.hdr.example")
        self.assertEqual({d["body"]["reporter"] for d in own}, {"session", "uptime", "agent"})
        dups, _ = seq_report(self, own)
        self.assertEqual(dups, 0)
        self.assertEqual(consume(self.url, "hdr-other-host", idle=1.0), [])

    def check_connect(self, url, extra=""):
        with tempfile.TemporaryDirectory() as d:
            p = hp.run(["-c", config(d, url, extra=extra), "--check", "--connect"])
        self.assertNoSecret(p.stdout, p.stderr)
        return p

    def test_check_connect_ok(self):
        p = self.check_connect(self.url)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(": ok (exchange 'hostpulse'", p.stderr)

    def test_check_connect_wrong_password(self):
        p = self.check_connect(self.b.url(USER, WRONG))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("login refused (wrong user or password?) as user '%s'" % USER, p.stderr)
        self.assertIn("ACCESS_REFUSED", p.stderr)

    def test_check_connect_unknown_vhost(self):
        p = self.check_connect(self.b.url(USER, PASSWORD, vhost="no-such-vhost"))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("vhost refused", p.stderr)
        self.assertIn("no-such-vhost", p.stderr)

    def test_check_connect_tcp_and_dns(self):
        p = self.check_connect("amqp://%s:%s@127.0.0.1:%d/" % (USER, PASSWORD, hp.free_port()))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("Connection refused", p.stderr)
        p = self.check_connect("amqp://%s:%s@no-such-host.invalid/" % (USER, PASSWORD))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("cannot resolve host no-such-host.invalid", p.stderr)

    def test_check_connect_exchange_with_other_arguments(self):
        bind_queue(self.url, "some-queue", "x.#", exchange="hp-topic")
        p = self.check_connect(self.url, extra='exchange: { name = "hp-topic"; type = "fanout"; };')
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("exchange 'hp-topic' (fanout, durable): PRECONDITION_FAILED", p.stderr)
        # A missing exchange is no problem: the agent declares it.
        p = self.check_connect(self.url, extra='exchange: { name = "hp-new"; };')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("does not exist yet", p.stderr)

    def test_check_connect_every_url(self):
        bad = "amqp://%s:%s@127.0.0.1:%d/" % (USER, PASSWORD, hp.free_port())
        p = self.check_connect([bad, self.url])
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("Connection refused", p.stderr)
        self.assertIn(": ok (exchange", p.stderr)

    def test_malformed_url_is_a_config_error(self):
        with tempfile.TemporaryDirectory() as d:
            p = hp.run(["-c", config(d, "http://%s:%s@x/" % (USER, PASSWORD)), "--check"])
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(p.stderr, r"hostpulse\.conf:\d+: sink amqp: url .* is not an AMQP URL")
        self.assertNoSecret(p.stderr)

    def test_bad_option_is_file_line_error(self):
        with tempfile.TemporaryDirectory() as d:
            p = hp.run(["-c", config(d, self.url, extra="queue: { prefx = \"x\"; };"), "--check"])
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(p.stderr, r"hostpulse\.conf:\d+: .*queue\.prefx")

    def agent_log(self, url, seconds=2.5):
        # A constant retry delay keeps the transport's complaint text (which
        # names the delay) the same, so a persistent reason is logged once.
        # Nothing can be delivered: 2 s of shutdown_timeout, not 10, to give
        # up at exit.
        with tempfile.TemporaryDirectory() as d:
            path = config(d, url, host="errs")
            with open(path) as f:
                text = f.read().replace("retry_initial = 0.2", "retry_initial = 0.5")
                text = text.replace("shutdown_timeout = 10.0", "shutdown_timeout = 2.0")
            with open(path, "w") as f:
                f.write(text.replace("retry_timer = 1.0", "retry_timer = 0.5"))
            with hp.Agent(path) as a:
                time.sleep(seconds)
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertNoSecret(a.stderr, a.stdout)
        return a.stderr

    def logged(self, log, text):
        # error lines naming text; the exit summary repeats the last reason
        return sum(1 for line in log.splitlines()
                   if text in line and "not delivered at exit" not in line)

    def test_agent_logs_wrong_password_once(self):
        log = self.agent_log(self.b.url(USER, WRONG))
        self.assertEqual(self.logged(log, "login refused"), 1, log)

    def test_agent_logs_unknown_vhost_once(self):
        log = self.agent_log(self.b.url(USER, PASSWORD, vhost="nowhere"))
        self.assertEqual(self.logged(log, "vhost refused"), 1, log)

    def test_failover_to_second_url(self):
        bad = "amqp://%s:%s@127.0.0.1:%d/" % (USER, PASSWORD, hp.free_port())
        with tempfile.TemporaryDirectory() as d:
            with hp.Agent(config(d, [bad, self.url], host="fo")) as a:
                time.sleep(1.5)
        self.assertIn("(failover)", a.stderr)
        self.assertNotIn("not delivered", a.stderr)
        msgs = consume(self.url, "hostpulse.fo")
        self.assertGreater(len(msgs), 3)
        seq_report(self, msgs)

    def test_unroutable_messages_are_counted(self):
        # No queue: every message is returned, yet confirmed (not resent).
        with tempfile.TemporaryDirectory() as d:
            path = config(d, self.url, host="noq",
                          extra='queue: { declare = false; }; exchange: { name = "hp-void"; };')
            with hp.Agent(path) as a:
                time.sleep(1.5)
        self.assertIn("returned an unroutable message", a.stderr)
        self.assertNotIn("not delivered", a.stderr)


class AmqpFaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b = start_broker(cls)
        cls.url = cls.b.url(USER, PASSWORD)

    def test_broker_restart_loses_nothing(self):
        with tempfile.TemporaryDirectory() as d:
            with hp.Agent(config(d, self.url, host="restart")) as a:
                time.sleep(2)
                self.b.stop()
                hp.wait_for(lambda: "retrying" in a.read_stderr(), what="outage logged")
                time.sleep(10)
                self.b.start()
                hp.wait_for(lambda: "connected again" in a.read_stderr(), timeout=30,
                            what="reconnect")
                time.sleep(2)
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertNotIn("not delivered", a.stderr)
            self.assertNotIn(PASSWORD, a.stderr)
        msgs = consume(self.url, "hostpulse.restart")
        dups, last = seq_report(self, msgs)
        # Messages from the whole outage (~10 s at 10/s per reporter) came.
        self.assertGreater(last["uptime"], 100)
        print("\nbroker restart: %d delivered, %d duplicates, last seqs %s"
              % (len(msgs), dups, last))

    def test_frozen_broker_is_noticed_and_nothing_lost(self):
        with tempfile.TemporaryDirectory() as d:
            with hp.Agent(config(d, self.url, host="frozen", heartbeat=2)) as a:
                time.sleep(2)
                self.b.freeze()
                t0 = time.monotonic()
                try:
                    hp.wait_for(lambda: "no heartbeat" in a.read_stderr(), timeout=20,
                                what="dead peer noticed")
                    noticed = time.monotonic() - t0
                    time.sleep(1)
                finally:
                    self.b.thaw()
                hp.wait_for(lambda: "connected again" in a.read_stderr(), timeout=40,
                            what="reconnect")
                time.sleep(2)
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertNotIn("not delivered", a.stderr)
        msgs = consume(self.url, "hostpulse.frozen")
        dups, last = seq_report(self, msgs)
        print("\nfrozen broker: noticed after %.1f s (heartbeat 2 s); %d delivered, "
              "%d duplicates" % (noticed, len(msgs), dups))

    def test_blocked_broker_keeps_the_backlog(self):
        with tempfile.TemporaryDirectory() as d:
            with hp.Agent(config(d, self.url, host="blocked")) as a:
                time.sleep(1)
                self.b.ctl("set_vm_memory_high_watermark", "0.000001")
                try:
                    hp.wait_for(lambda: "blocked publishing" in a.read_stderr(), timeout=20,
                                what="connection.blocked")
                    time.sleep(2)
                finally:
                    self.b.ctl("set_vm_memory_high_watermark", "0.4")
                hp.wait_for(lambda: "unblocked" in a.read_stderr(), timeout=20, what="unblocked")
                time.sleep(1)
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertNotIn("not delivered", a.stderr)
        msgs = consume(self.url, "hostpulse.blocked")
        seq_report(self, msgs)


class AmqpTLS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.addClassCleanup(cls.tmp.cleanup)
        try:
            cls.certs = rabbit.make_certs(cls.tmp.name)
        except (OSError, subprocess.CalledProcessError) as e:
            raise unittest.SkipTest("openssl cannot make test certificates: %s" % e)
        cls.b = start_broker(cls, tls=cls.certs)

    def tls_extra(self, ca):
        return 'tls: { ca_file = "%s"; verify_peer = true; verify_hostname = true; };' % ca

    def test_tls_verified_delivery(self):
        url = self.b.tls_url(USER, PASSWORD)
        with tempfile.TemporaryDirectory() as d:
            path = config(d, url, host="tls", extra=self.tls_extra(self.certs["ca"]))
            p = hp.run(["-c", path, "--check", "--connect"])
            self.assertEqual(p.returncode, 0, p.stderr)
            with hp.Agent(path) as a:
                time.sleep(1.5)
            self.assertIn("connected to amqps://", a.stderr)
            self.assertNotIn("not delivered", a.stderr)
        msgs = consume(self.b.url(USER, PASSWORD), "hostpulse.tls")
        self.assertGreater(len(msgs), 3)
        seq_report(self, msgs)

    def test_tls_wrong_ca_is_refused(self):
        url = self.b.tls_url(USER, PASSWORD)
        with tempfile.TemporaryDirectory() as d:
            path = config(d, url, extra=self.tls_extra(self.certs["other_ca"]))
            p = hp.run(["-c", path, "--check", "--connect"])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("TLS", p.stderr)
        self.assertIn("not trusted", p.stderr)
        self.assertNotIn(PASSWORD, p.stderr)


def help_defaults(sink_type):
    """{dotted option: default text or None} of one sink, from --help-config."""
    out = hp.run(["--help-config"]).stdout.splitlines()
    start = out.index("  { type = \"%s\";" % sink_type)
    opts, group = {}, None
    for line in out[start + 1:]:
        if line.startswith("  }"):
            break
        m = re.match(r"( +)(\w+) \((\w+)\)(?: = (.*?))?(?: [\[{][^\]}]*[\]}])?: ", line)
        if not m:
            continue
        indent, name, kind, default = m.groups()
        if len(indent) == 4:
            group = name if kind == "group" else None
            if kind == "group":
                continue
        opts[group + "." + name if len(indent) > 4 else name] = default
    return opts


def example_settings(path):
    """{dotted option: value text} set (not commented out) in the first
    sink block of an example file, and the names mentioned in comments."""
    text = open(path).read()
    body = text[text.index("sinks = ("):]
    groups, got, mentioned = [], {}, set()
    for line in body.splitlines():
        q = re.match(r'((?:[^"#]|"[^"]*")*)#?(.*)', line)
        code, comment = q.group(1), q.group(2)
        for m in re.finditer(r"(\w+)\s*=", comment):
            mentioned.add(".".join(groups + [m.group(1)]))
        if re.match(r"\s*(\w+)\s*:\s*\{", code):
            groups.append(re.match(r"\s*(\w+)", code).group(1))
        elif re.match(r"\s*\};", code) and groups:
            groups.pop()
        m = re.match(r"\s*(\w+)\s*=\s*(.*?);\s*$", code)
        if m:
            got[".".join(groups + [m.group(1)])] = m.group(2).strip('"')
    return got, mentioned


class AmqpExample(unittest.TestCase):
    def test_example_shows_every_option_with_its_default(self):
        # etc/amqp.conf says so in its first lines; a value that is not the
        # default must be commented out, with the default said in words.
        defaults = help_defaults("amqp")
        got, mentioned = example_settings(os.path.join(hp.ROOT, "etc", "amqp.conf"))
        common = {"type", "backlog", "retry_initial", "retry_max", "name", "enabled"}
        for key, value in got.items():
            if key in common:
                continue
            self.assertIn(key, defaults, "etc/amqp.conf sets an unknown option")
            want = defaults[key]
            self.assertIsNotNone(want, "%s has no default but is set" % key)
            try:
                self.assertEqual(float(value), float(want), key)
            except ValueError:
                # --help-config masks a default URL's password as *** too
                self.assertEqual(re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", value), want, key)
        for key in defaults:
            self.assertTrue(key in got or key in mentioned, "etc/amqp.conf omits " + key)


if __name__ == "__main__":
    unittest.main()
