# SPDX-License-Identifier: Apache-2.0
# test_web_ingest.py -- hostpulse-web's input side end to end without a
# broker: `hostpulse --stdout | hostpulse-web --stdin` stores each series
# with the agent's values, counts nothing lost; bad lines (not JSON, another
# envelope version, missing fields, binary garbage, a 10 MB line) are
# counted by reason and never stop the valid ones after them; a restart
# keeps everything; --check and the loopback warning.
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import tests.integration.hp as hp
import tests.integration.web as web

AGENT_CONF = """
agent: { hostname = "%(host)s"; log: { level = "warning"; }; };
reporters: {
  cpu: { interval = 0.2; }; mem: { interval = 0.2; }; net: { interval = 0.2; };
  disk: { interval = 0.5; }; uptime: { interval = 0.5; }; agent: { interval = 0.5; };
};
sinks = ( { type = "stdout"; } );
"""


def setUpModule():
    why = web.available()
    if why:
        raise unittest.SkipTest(why)


def envelope(host="h", reporter="mem", seq=1, ts=None, **over):
    m = {"v": 1, "host": host, "reporter": reporter, "ts": ts or int(time.time() * 1000),
         "session": "s-1", "seq": seq, "interval": 1.0,
         "data": {"percent": 10.0 + seq} if isinstance(seq, int) else {}}
    m.update(over)
    return m


class Pipe:
    """agent --stdout | (a copy kept here) | hostpulse-web --stdin"""

    def __init__(self, d, w, host):
        self.lines = []
        self.agent = hp.Agent(hp.write_config(d, AGENT_CONF % dict(host=host)), ["--stdout"])
        self.w = w

    def run(self, seconds):
        self.agent.env["HOSTPULSE_SPOOL_DIR"] = os.path.join(self.agent.tmp.name, "spool")
        err = tempfile.TemporaryFile(mode="w+")
        proc = subprocess.Popen(self.agent.args, stdout=subprocess.PIPE, stderr=err,
                                env=self.agent.env, text=True)
        self.w.start(stdin=subprocess.PIPE)
        pump = threading.Thread(target=self.pump, args=(proc.stdout, self.w.proc.stdin))
        pump.start()
        time.sleep(seconds)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30 * hp.SLOW)
        pump.join()  # it ends at the agent's end of output
        proc.stdout.close()
        err.seek(0)
        hp.check_sanitizers(err.read())
        err.close()
        self.agent.tmp.cleanup()
        return rc

    def pump(self, src, dst):
        for line in src:
            self.lines.append(json.loads(line))
            dst.write(line.encode())
            dst.flush()
        dst.close()


class StdinPipeline(unittest.TestCase):
    def test_agent_pipe_stores_every_series_with_its_values(self):
        with tempfile.TemporaryDirectory() as d:
            w = web.Web(d, extra=["--stdin"])
            self.addCleanup(lambda: w.alive() and w.stop())
            pipe = Pipe(d, w, "pipe-host")
            self.assertEqual(pipe.run(3), 0)
            msgs = pipe.lines
            hp.wait_for(lambda: w.stored() >= len(msgs), what="every message stored")
            self.assertTrue(w.alive(), "hostpulse-web keeps serving after the end of stdin")
            seen = web.check_values(self, w, msgs)
            self.assertLessEqual({"cpu", "mem", "net", "disk", "uptime"}, seen)
            web.check_complete(self, w, msgs)
            fleet = w.query("fleet")
            self.assertEqual([h["host"] for h in fleet], ["pipe-host"])
            last_cpu = [m for m in msgs if m["reporter"] == "cpu"][-1]["data"]
            self.assertAlmostEqual(fleet[0]["cpu_pct"], last_cpu["percent"])
            facts = w.query("host", "pipe-host")["facts"]
            self.assertEqual(facts["version"], [m for m in msgs
                                                if m["reporter"] == "session"][0]["data"]["version"])
            self.assertEqual(w.stop(), 0)
            self.assertIn("end of input", w.stderr)


class BadInput(unittest.TestCase):
    def feed(self, w, lines):
        w.start(stdin=subprocess.PIPE)
        self.addCleanup(lambda: w.alive() and w.stop())
        for line in lines:
            w.proc.stdin.write(line if isinstance(line, bytes) else line.encode() + b"\n")
        w.proc.stdin.close()

    def test_bad_lines_are_counted_and_never_block_valid_ones(self):
        t = int(time.time() * 1000)
        good = [envelope(seq=i, ts=t + i) for i in range(1, 7)]
        lines = [
            json.dumps(good[0]),
            "this is not json",
            json.dumps(envelope(v=2, seq=100)),
            json.dumps(good[1]),
            json.dumps({k: v for k, v in envelope(seq=101).items() if k != "session"}),
            json.dumps(envelope(seq="7")),
            b"\x00\x01\x02\xff\xfe binary garbage \x00\n",
            json.dumps(good[2]),
            b"{\"v\":1,\"pad\":\"" + b"x" * (10 << 20) + b"\"}\n",  # 10 MB line
            json.dumps(good[3]),
            "[1, 2, 3]",
            json.dumps(good[4]) + " trailing",
            json.dumps(good[5]),
            json.dumps(good[0]),  # a duplicate
        ]
        with tempfile.TemporaryDirectory() as d:
            w = web.Web(d, extra=["--stdin"])
            self.feed(w, lines)
            hp.wait_for(lambda: w.stored() >= 5, what="valid messages stored")
            hp.wait_for(lambda: sum(w.query("stats")["rejected"].values()) >= 8,
                        what="bad messages counted")
            st = w.query("stats")
            self.assertEqual(st["rejected"], {"json": 3, "version": 1, "fields": 3,
                                              "oversize": 1})
            self.assertEqual(st["stored"], 5)
            self.assertEqual(st["duplicates"], 1)
            self.assertTrue(w.alive())
            pts = w.points("h", "mem", "percent", t, t + 10)["points"]
            self.assertEqual([p[0] - t for p in pts], [1, 2, 3, 4, 6])
            self.assertEqual(w.stop(), 0)
        self.assertIn("rejected a message (version: envelope version 2, not 1)", w.stderr)
        self.assertIn("oversize", w.stderr)
        self.assertLess(w.stderr.count("rejected a message"), 11, "bounded log")

    def test_restart_keeps_everything_and_stores_nothing_twice(self):
        t = int(time.time() * 1000)
        first = [envelope(seq=i, ts=t + i) for i in range(1, 51)]
        with tempfile.TemporaryDirectory() as d:
            w = web.Web(d, extra=["--stdin"])
            self.feed(w, [json.dumps(m) for m in first])
            hp.wait_for(lambda: w.stored() == 50, what="first half stored")
            self.assertEqual(w.stop(), 0)
            # Again with an overlap of 25 (a redelivery) and 25 new ones.
            second = [envelope(seq=i, ts=t + i) for i in range(26, 76)]
            self.feed(w, [json.dumps(m) for m in second])
            hp.wait_for(lambda: w.stored() == 75, what="second half stored")
            loss = w.query("loss", "h")
            self.assertEqual(len(loss), 1)
            self.assertEqual((loss[0]["received"], loss[0]["duplicates"], loss[0]["lost"]),
                             (75, 25, 0))
            self.assertEqual(len(w.points("h", "mem", "percent", t, t + 100)["points"]), 75)
            self.assertEqual(w.stop(), 0)

    def test_gaps_are_shown_as_loss(self):
        t = int(time.time() * 1000)
        msgs = [envelope(seq=s, ts=t + s) for s in (1, 2, 3, 7, 8, 10)]
        with tempfile.TemporaryDirectory() as d:
            w = web.Web(d, extra=["--stdin"])
            self.feed(w, [json.dumps(m) for m in msgs])
            hp.wait_for(lambda: w.stored() == 6, what="stored")
            self.assertEqual(w.query("loss", "h")[0]["lost"], 4)
            self.assertEqual(w.query("fleet")[0]["lost"], 4)
            self.assertEqual(w.stop(), 0)


class Lifecycle(unittest.TestCase):
    """READY=1 / RELOADING=1 / STOPPING=1 to the service manager (a datagram
    socket stands in for it), SIGHUP reload (a bad file keeps the running
    configuration), SIGTERM clean stop with the input's batch committed."""

    def next_message(self, sock):
        while True:
            data = sock.recv(4096).decode()
            fields = dict(line.split("=", 1) for line in data.splitlines() if "=" in line)
            if fields.get("WATCHDOG") != "1":
                return fields

    def test_notify_reload_and_stop(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "notify")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.addCleanup(sock.close)
            sock.bind(path)
            sock.settimeout(10 * hp.SLOW)
            w = web.Web(d, input_conf='type = "file"; file = "%s/in.jsonl";' % d)
            t = int(time.time() * 1000)
            with open(os.path.join(d, "in.jsonl"), "w") as f:
                for i in range(1, 4):
                    f.write(json.dumps(envelope(seq=i, ts=t + i)) + "\n")
            env = dict(os.environ, NOTIFY_SOCKET=path)
            w.err = open(os.path.join(d, "stderr"), "w+")
            w.proc = subprocess.Popen(w.args, stdout=subprocess.DEVNULL, stderr=w.err, env=env)
            self.addCleanup(lambda: w.proc.poll() is None and w.proc.kill())
            m = self.next_message(sock)
            self.assertEqual(m.get("READY"), "1", m)
            self.assertIn("running on 127.0.0.1:", m.get("STATUS", ""))
            hp.wait_for(lambda: w.stored() == 3, what="file stored")
            # A broken file: reload refused, still running.
            with open(w.conf, "a") as f:
                f.write("bogus_group: { x = 1; };\n")
            w.proc.send_signal(signal.SIGHUP)
            self.assertEqual(self.next_message(sock).get("RELOADING"), "1")
            m = self.next_message(sock)
            self.assertEqual(m.get("READY"), "1", m)
            self.assertIn("reload failed", m.get("STATUS", ""))
            self.assertTrue(w.alive())
            # Fixed: the reload restarts both halves; the file is read again
            # and every line is a duplicate.
            with open(w.conf) as f:
                text = f.read().replace("bogus_group: { x = 1; };\n", "")
            with open(w.conf, "w") as f:
                f.write(text)
            w.proc.send_signal(signal.SIGHUP)
            self.assertEqual(self.next_message(sock).get("RELOADING"), "1")
            m = self.next_message(sock)
            self.assertIn("reloaded", m.get("STATUS", ""))
            hp.wait_for(lambda: w.query("stats")["duplicates"] == 3, what="file read again")
            w.proc.send_signal(signal.SIGTERM)
            self.assertEqual(self.next_message(sock).get("STOPPING"), "1")
            self.assertEqual(w.proc.wait(timeout=30), 0)
            w.err.close()
            with open(os.path.join(d, "stderr")) as f:
                err = f.read()
            hp.check_sanitizers(err)
            self.assertRegex(err, r"web\.conf:\d+: .*bogus_group")
            self.assertIn("in.jsonl: end of input", err)
            self.assertEqual(w.query("stats")["stored"], 3)


class Cli(unittest.TestCase):
    def run_web(self, args, conf=None):
        with tempfile.TemporaryDirectory() as d:
            if conf is not None:
                args = ["-c", hp.write_config(d, conf, name="web.conf")] + args
            return subprocess.run([web.WEB] + args, capture_output=True, text=True,
                                  timeout=30 * hp.SLOW)

    def test_check_accepts_defaults_and_names_file_and_line(self):
        p = self.run_web(["--check"], conf="store: { retention_hours = 12.0; };\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.run_web(["--check"], conf="store: {\n  retention_hours = \"x\";\n};\n")
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr, r"web\.conf:2: .*retention_hours")
        p = self.run_web(["--check"], conf="web: { bogus = 1; };\n")
        self.assertEqual(p.returncode, 1)
        self.assertIn("bogus", p.stderr)
        p = self.run_web(["--check"], conf='input: {\n type = "amqp";\n'
                         ' url = "http://u:Secr3t@h/";\n};\n')
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr, r"web\.conf:3: input\.url: http://u:\*\*\*@h/ is not an amqp")
        self.assertNotIn("Secr3t", p.stderr)
        p = self.run_web(["--check"], conf='input: {\n type = "kafka";\n properties: {\n'
                         '  security_protocol = "ssl";\n  no_such_property = 1;\n };\n};\n')
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr, r"web\.conf:5: input\.properties\.no_such_property: ")
        p = self.run_web(["--check"], conf='input: { type = "carrier-pigeon"; };\n')
        self.assertEqual(p.returncode, 1)
        self.assertIn("carrier-pigeon", p.stderr)

    def test_listening_beyond_loopback_without_auth_or_tls_warns(self):
        p = self.run_web(["--check", "--listen", "0.0.0.0:9180"], conf="")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("beyond loopback with neither", p.stderr)
        p = self.run_web(["--check", "--listen", "127.0.0.1:9180"], conf="")
        self.assertNotIn("beyond loopback", p.stderr)
        p = self.run_web(["--check"], conf='web: { listen = "0.0.0.0:1"; auth_user = "a";'
                         ' auth_hash = "$y$j9T$abc$def"; tls_cert = "/c"; tls_key = "/k"; };\n')
        self.assertNotIn("beyond loopback", p.stderr)

    def test_help_config_lists_every_group(self):
        p = self.run_web(["--help-config"])
        self.assertEqual(p.returncode, 0)
        for key in ("listen", "retention_hours", "rollup_days", "prefetch", "topic", "bindings"):
            self.assertIn(key, p.stdout)


if __name__ == "__main__":
    unittest.main()
