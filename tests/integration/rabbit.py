# SPDX-License-Identifier: Apache-2.0
"""rabbit.py -- a private RabbitMQ broker for the integration tests.

Starts Debian's rabbitmq-server on 127.0.0.1 with its own temporary data,
log, config and cookie directories, free AMQP/AMQPS/distribution ports and
its own epmd port, so it never touches (or depends on) a system broker.
The data directory survives stop()/start(), so a test can restart the
broker with its durable queues. close() kills everything it started.

    b = rabbit.Broker(tls=certs)   # certs: dict(ca=, cert=, key=) or None
    b.start()
    ... b.url(), b.tls_url(), b.ctl("list_queues") ...
    b.close()
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import tests.integration.hp as hp

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
EPMD = shutil.which("epmd") or "/usr/lib/erlang/bin/epmd"


def available():
    """None when a broker can be started here, else the reason it cannot."""
    if not os.access(SERVER, os.X_OK):
        return "rabbitmq-server is not installed (%s)" % SERVER
    return None


class Broker:
    def __init__(self, tls=None):
        self.dir = tempfile.mkdtemp(prefix="hp-rabbit-")
        self.port = hp.free_port()
        self.tls_port = hp.free_port() if tls else None
        self.dist_port = hp.free_port()
        self.epmd_port = hp.free_port()
        self.node = "hp-test-%d@localhost" % self.port
        self.proc = None
        self.log = os.path.join(self.dir, "server.out")
        home = os.path.join(self.dir, "home")
        os.makedirs(home)
        plugins = os.path.join(self.dir, "enabled_plugins")
        with open(plugins, "w") as f:
            f.write("[].\n")
        conf = os.path.join(self.dir, "rabbitmq.conf")
        lines = [
            "listeners.tcp.default = 127.0.0.1:%d" % self.port,
            "loopback_users = none",
            "disk_free_limit.absolute = 1MB",
            "log.console = false",
            "log.file.level = info",
        ]
        if tls:
            lines += [
                "listeners.ssl.default = 127.0.0.1:%d" % self.tls_port,
                "ssl_options.cacertfile = %s" % tls["ca"],
                "ssl_options.certfile = %s" % tls["cert"],
                "ssl_options.keyfile = %s" % tls["key"],
                "ssl_options.verify = verify_none",
                "ssl_options.fail_if_no_peer_cert = false",
            ]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.env = dict(os.environ)
        self.env.update({
            "HOME": home,
            "RABBITMQ_MNESIA_BASE": os.path.join(self.dir, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(self.dir, "log"),
            "RABBITMQ_FEATURE_FLAGS_FILE": os.path.join(self.dir, "feature_flags"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": plugins,
            "RABBITMQ_CONFIG_FILE": conf,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_PID_FILE": os.path.join(self.dir, "pid"),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        })
        self.env.pop("RABBITMQ_CONF_ENV_FILE", None)

    def url(self, user="guest", password="guest", vhost=""):
        return "amqp://%s:%s@127.0.0.1:%d/%s" % (user, password, self.port, vhost)

    def tls_url(self, user="guest", password="guest", host="localhost"):
        return "amqps://%s:%s@%s:%d/" % (user, password, host, self.tls_port)

    def start(self, timeout=60):
        out = open(self.log, "a")
        self.proc = subprocess.Popen([SERVER], env=self.env, stdout=out, stderr=out,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     cwd=self.dir)
        out.close()
        deadline = time.monotonic() + timeout * hp.SLOW
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("rabbitmq-server exited (%s): %s" % (
                    self.proc.returncode, self.tail()))
            if self.accepts_amqp():
                return self
            time.sleep(0.2)
        raise AssertionError("rabbitmq-server did not accept AMQP connections: " + self.tail())

    def accepts_amqp(self):
        # The AMQP 0-9-1 handshake: send the protocol header, expect a
        # method frame (connection.start) back.
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"AMQP\x00\x00\x09\x01")
                return s.recv(1)[:1] == b"\x01"
        except OSError:
            return False

    def tail(self, n=2000):
        paths = [self.log]
        logdir = os.path.join(self.dir, "log")
        if os.path.isdir(logdir):
            paths += [os.path.join(logdir, f) for f in sorted(os.listdir(logdir))]
        text = ""
        for path in paths:
            try:
                with open(path, errors="replace") as f:
                    text += f.read()[-n:]
            except OSError:
                pass
        return text[-n:]

    def ctl(self, *args, timeout=60):
        p = subprocess.run([CTL, "-n", self.node] + list(args), env=self.env, capture_output=True,
                           text=True, timeout=timeout * hp.SLOW)
        if p.returncode != 0:
            raise AssertionError("rabbitmqctl %s: %s%s" % (" ".join(args), p.stdout, p.stderr))
        return p.stdout

    def beam_pid(self):
        return self.proc.pid if self.proc else None

    def freeze(self):
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def thaw(self):
        os.killpg(self.proc.pid, signal.SIGCONT)

    def stop(self, timeout=30):
        # SIGTERM makes the Erlang VM shut down cleanly (durable data kept).
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGCONT)
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=timeout * hp.SLOW)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        # Children (erl_child_setup, inet_gethost) share the group.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def close(self):
        try:
            self.stop()
        finally:
            # Our epmd runs on its own port; ask it to go.
            subprocess.run([EPMD, "-port", str(self.epmd_port), "-kill"], env=self.env,
                           capture_output=True, timeout=10)
            shutil.rmtree(self.dir, ignore_errors=True)


def make_certs(directory, cn="localhost"):
    """A CA and a server certificate for cn signed by it, plus an unrelated
    CA (for the wrong-CA test). Returns dict(ca=, cert=, key=, other_ca=)."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=directory, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=hp-test-ca",
        "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=hp-other-ca",
        "-keyout", "other.key", "-out", "other.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + cn, "-keyout", "server.key",
        "-out", "server.csr")
    with open(os.path.join(directory, "ext.cnf"), "w") as f:
        f.write("subjectAltName = DNS:%s, IP:127.0.0.1\n" % cn)
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", "server.pem", "-extfile", "ext.cnf")
    for name in ("server.key", "ca.key", "other.key"):
        os.chmod(os.path.join(directory, name), 0o644)  # the broker runs as us
    j = lambda n: os.path.join(directory, n)
    return dict(ca=j("ca.pem"), cert=j("server.pem"), key=j("server.key"),
                other_ca=j("other.pem"))
