# SPDX-License-Identifier: Apache-2.0
"""web.py -- run hostpulse-web and read its store, for the integration tests
(not a test module).

    w = web.Web(tmpdir, input_conf='type = "amqp"; url = "...";')
    w.start(); ...; w.stop()
    w.query("fleet"), w.points(host, "cpu", "percent", from_ms, to_ms)

The store is read through tests/helpers/web_query, i.e. the store's own
reader API (web/store.h) that the HTTP API serves.
"""
import json
import os
import signal
import subprocess

import tests.integration.hp as hp

WEB = os.path.join(hp.BUILD, "hostpulse-web")
QUERY = os.path.join(hp.HELPERS, "web_query")

CONFIG = """
web: { listen = "127.0.0.1:%(port)d"; };
store: { path = "%(db)s"; batch_wait = 0.05; };
input: { %(input)s retry_initial = 0.2; retry_max = 2.0; };
log: { level = "info"; };
"""


def available():
    for path in (WEB, QUERY):
        if not os.access(path, os.X_OK):
            return "%s is not built (make test-bins)" % path
    return None


class Web:
    def __init__(self, directory, input_conf="", extra=()):
        self.dir = directory
        self.db = os.path.join(directory, "web.db")
        self.conf = hp.write_config(directory, CONFIG % dict(
            port=hp.free_port(), db=self.db, input=input_conf), name="web.conf")
        self.args = [WEB, "-c", self.conf] + list(extra)
        self.proc = None
        self.runs = 0
        self.stderr = ""

    def start(self, stdin=subprocess.DEVNULL):
        self.runs += 1
        self.err = open(os.path.join(self.dir, "web.stderr.%d" % self.runs), "w+")
        self.proc = subprocess.Popen(self.args, stdin=stdin, stdout=subprocess.DEVNULL,
                                     stderr=self.err)
        return self

    def read_stderr(self):
        try:
            with open(self.err.name, errors="replace") as f:
                return f.read()
        except FileNotFoundError:  # its directory is gone: a cleanup after the test
            return ""


    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stop it; returns its exit status. stderr of every run is kept."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout * hp.SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("hostpulse-web did not exit within %ss" % timeout)
        self.err.close()
        self.stderr += self.read_stderr()
        hp.check_sanitizers(self.stderr)
        return self.proc.returncode

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def query(self, *args):
        p = subprocess.run([QUERY, self.db] + [str(a) for a in args], capture_output=True,
                           text=True, timeout=60 * hp.SLOW)
        if p.returncode != 0:
            raise AssertionError("web_query %s: %s" % (" ".join(map(str, args)), p.stderr))
        return json.loads(p.stdout)

    def stored(self):
        """Messages stored so far (0 before the store exists)."""
        if not os.path.exists(self.db):
            return 0
        try:
            return self.query("stats")["stored"]
        except AssertionError:
            return 0

    def points(self, host, reporter, path, from_ms, to_ms, max_points=100000):
        return self.query("points", host, reporter, path, from_ms, to_ms, max_points)


def by_reporter(msgs):
    out = {}
    for m in msgs:
        out.setdefault(m["reporter"], []).append(m)
    return out


def check_values(test, w, msgs):
    """Every cpu, mem, net, disk and uptime message's main values are in
    the store at its timestamp, as the agent sent them."""
    def present(d, names):  # a reporter leaves out a value it cannot compute this time
        return {k: d[k] for k in names if k in d}

    checks = {
        "cpu": lambda d: present(d, ("percent", "user", "system", "load1")),
        "mem": lambda d: dict(present(d, ("percent", "used")),
                              **{"swap." + k: v for k, v in
                                 present(d.get("swap", {}), ("percent",)).items()}),
        "net": lambda d: {"interfaces.%s.bytes_recv_per_sec" % i: v["bytes_recv_per_sec"]
                          for i, v in d["interfaces"].items() if "bytes_recv_per_sec" in v},
        "disk": lambda d: {"filesystems.%s.percent" % f: v["percent"]
                           for f, v in d["filesystems"].items() if "percent" in v},
        "uptime": lambda d: present(d, ("uptime",)),
    }
    seen = set()
    for reporter, fields in checks.items():
        got = [m for m in msgs if m["reporter"] == reporter]
        if not got:
            continue
        seen.add(reporter)
        host = got[0]["host"]
        lo, hi = min(m["ts"] for m in got), max(m["ts"] for m in got)
        for path in sorted(set().union(*(fields(m["data"]) for m in got))):
            pts = {p[0]: p[1] for p in w.points(host, reporter, path, lo, hi)["points"]
                   if p[1] is not None}
            for m in got:
                want = fields(m["data"]).get(path)
                if want is None:
                    continue
                test.assertIn(m["ts"], pts, "%s %s at %d not stored" % (reporter, path, m["ts"]))
                test.assertAlmostEqual(pts[m["ts"]], want, places=6,
                                       msg="%s %s at %d" % (reporter, path, m["ts"]))
    return seen


def check_complete(test, w, msgs):
    """Each (reporter, session) stream holds exactly the agent's messages:
    none lost, none stored twice."""
    host = msgs[0]["host"]
    want = {}
    for m in msgs:
        want.setdefault((m["reporter"], m["session"]), set()).add(m["seq"])
    loss = {(r["reporter"], r["session"]): r for r in w.query("loss", host)}
    for key, seqs in want.items():
        test.assertIn(key, loss, "stream %s never stored" % (key,))
        test.assertEqual(loss[key]["received"], len(seqs), "stream %s" % (key,))
        test.assertEqual(loss[key]["last_seq"], max(seqs), "stream %s" % (key,))
        test.assertEqual(loss[key]["lost"], 0, "stream %s" % (key,))
