# SPDX-License-Identifier: Apache-2.0
"""mosquitto.py -- a private MQTT broker for the integration tests.

Starts Debian's mosquitto on 127.0.0.1 with its own configuration,
persistence and log in a temporary directory, on a free port, plus a TLS
listener on another free port when given certificates (make_certs below).
Persistence is on, so a subscriber's persistent session and its queued
QoS 1 messages survive stop()/start(). close() stops everything.

    b = mosquitto.Broker(tls=certs)   # certs: make_certs(dir) or None
    b.start()
    sub = b.subscribe("hostpulse/#")  # mosquitto_sub in the background
    ... b.url(), b.tls_url(), sub.messages() ...
    b.close()
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import tests.integration.hp as hp

SERVER = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
SUB = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"


def available():
    """None when a broker can be started here, else the reason it cannot."""
    for path in (SERVER, SUB):
        if not os.access(path, os.X_OK):
            return "%s is not installed (Debian packages mosquitto, mosquitto-clients)" % path
    return None


def make_certs(directory, name="localhost"):
    """A CA and a server certificate naming only DNS:name (so 127.0.0.1 is a
    wrong name), plus an unrelated CA. Returns dict(ca=, cert=, key=, other_ca=)."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=directory, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=hp-mqtt-ca",
        "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=hp-other-ca",
        "-keyout", "other.key", "-out", "other.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name, "-keyout", "server.key",
        "-out", "server.csr")
    with open(os.path.join(directory, "ext.cnf"), "w") as f:
        f.write("subjectAltName = DNS:%s\n" % name)
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", "server.pem", "-extfile", "ext.cnf")
    j = lambda n: os.path.join(directory, n)
    return dict(ca=j("ca.pem"), cert=j("server.pem"), key=j("server.key"),
                other_ca=j("other.pem"))


class Subscriber:
    """mosquitto_sub in the background, QoS 1, a persistent session (-c) with
    a fixed client id, so it gets what was published while the broker was
    away; each line is "TOPIC PAYLOAD"."""

    def __init__(self, broker, topic, client_id):
        self.path = os.path.join(broker.dir, "sub-%s.out" % client_id)
        self.out = open(self.path, "w")
        self.proc = subprocess.Popen(
            [SUB, "-h", "127.0.0.1", "-p", str(broker.port), "-t", topic, "-q", "1", "-c",
             "-i", client_id, "-v"],
            stdout=self.out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def lines(self):
        with open(self.path, errors="replace") as f:
            return [l.rstrip("\n") for l in f if " " in l]

    def messages(self):
        """[(topic, payload text)] so far."""
        return [tuple(l.split(" ", 1)) for l in self.lines()]

    def wait_idle(self, idle=2.0, timeout=60):
        """Until nothing new arrived for idle seconds."""
        deadline = time.monotonic() + timeout * hp.SLOW
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            n = len(self.lines())
            if n != last:
                last, since = n, time.monotonic()
            elif time.monotonic() - since >= idle * hp.SLOW:
                return
            time.sleep(0.2)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()


class Broker:
    def __init__(self, tls=None):
        self.dir = tempfile.mkdtemp(prefix="hp-mosquitto-")
        self.port = hp.free_port()
        self.tls_port = hp.free_port() if tls else None
        self.proc = None
        self.subs = []
        self.log = os.path.join(self.dir, "mosquitto.log")
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        lines = [
            # Started as root, mosquitto would switch to user mosquitto, who
            # cannot read this directory.
            "user %s" % pwd.getpwuid(os.getuid()).pw_name,
            "per_listener_settings false",
            "allow_anonymous true",
            "persistence true",
            "persistence_location %s/" % self.dir,
            "max_queued_messages 0",
            "log_dest file %s" % self.log,
            "log_type error", "log_type warning", "log_type notice", "log_type information",
            "listener %d 127.0.0.1" % self.port,
        ]
        if tls:
            lines += ["listener %d 127.0.0.1" % self.tls_port, "cafile %s" % tls["ca"],
                      "certfile %s" % tls["cert"], "keyfile %s" % tls["key"]]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def url(self, userinfo=""):
        return "mqtt://%s127.0.0.1:%d" % (userinfo + "@" if userinfo else "", self.port)

    def tls_url(self, host="localhost"):
        return "mqtts://%s:%d" % (host, self.tls_port)

    def start(self, timeout=20):
        out = open(os.path.join(self.dir, "server.out"), "a")
        self.proc = subprocess.Popen([SERVER, "-c", self.conf], stdout=out, stderr=out,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        deadline = time.monotonic() + timeout * hp.SLOW
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("mosquitto exited (%s): %s" % (self.proc.returncode,
                                                                    self.tail()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("mosquitto did not listen: " + self.tail())

    def tail(self, n=2000):
        text = ""
        for name in ("server.out", "mosquitto.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    text += f.read()[-n:]
            except OSError:
                pass
        return text[-n:]

    def subscribe(self, topic, client_id="hp-test-sub"):
        s = Subscriber(self, topic, client_id)
        self.subs.append(s)
        time.sleep(0.5 * hp.SLOW)  # subscribed before anyone publishes
        return s

    def freeze(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self, timeout=20):
        """SIGTERM: mosquitto saves its persistence file and exits."""
        if not self.proc or self.proc.poll() is not None:
            return
        self.thaw()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout * hp.SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        try:
            for s in self.subs:
                s.close()
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
