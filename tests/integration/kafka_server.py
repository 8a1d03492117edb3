# SPDX-License-Identifier: Apache-2.0
"""kafka_server.py -- a real Apache Kafka broker for the integration tests.

One KRaft node (broker and controller in one JVM) run from the jars that
`make deps` put in build/servers/kafka (tests/servers/pom.xml pins the
version), in a temporary directory, on free loopback ports:

    PLAINTEXT      plain(), no authentication
    SASL_PLAINTEXT sasl(), SCRAM-SHA-256; the user and password are USER, PASSWORD
    SSL            tls(), server certificate signed by certs["ca"]

The log directory is formatted with kafka.tools.StorageTool, which also
stores the SCRAM credentials. The data survives kill() and start(), so a
test can SIGKILL the broker and bring it back with its partitions.
close() kills the JVM and removes the directory.

    b = kafka_server.Broker(certs=rabbit.make_certs(d))
    b.start()
    ... b.plain(), b.consume(topic) ...
    b.close()
"""
import base64
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import tests.integration.hp as hp

JARS = os.path.join(hp.ROOT, "build", "servers", "kafka")
JAVA = shutil.which("java")
KCAT = shutil.which("kcat")
USER = "hostpulse"
PASSWORD = "s3cret-scram-pw"
MECHANISM = "SCRAM-SHA-256"


def available():
    """None when a broker can be started here, else the reason it cannot."""
    if not JAVA:
        return "java is not installed (make deps installs default-jre-headless)"
    if not glob.glob(os.path.join(JARS, "kafka_2.13-*.jar")):
        return "the Kafka jars are not in %s (make deps)" % JARS
    if not KCAT:
        return "kcat is not installed (Debian package kcat)"
    return None


def version():
    """The broker's version, from its jar name (kafka_2.13-3.9.1.jar)."""
    jar = glob.glob(os.path.join(JARS, "kafka_2.13-*.jar"))[0]
    return os.path.basename(jar)[len("kafka_2.13-"):-len(".jar")]


def pkcs12(certs, directory, password):
    """The server certificate and key as the PKCS12 keystore Java reads."""
    path = os.path.join(directory, "server.p12")
    subprocess.run(["openssl", "pkcs12", "-export", "-in", certs["cert"], "-inkey", certs["key"],
                    "-certfile", certs["ca"], "-name", "server", "-out", path,
                    "-passout", "pass:" + password], check=True, capture_output=True)
    return path


class Broker:
    def __init__(self, certs=None, auto_create=True):
        self.dir = tempfile.mkdtemp(prefix="hp-kafka-")
        names = ("PLAINTEXT", "CONTROLLER", "SASL_PLAINTEXT")
        self.ports = {name: hp.free_port() for name in names}
        if certs:
            self.ports["SSL"] = hp.free_port()
        self.proc = None
        self.log = os.path.join(self.dir, "server.out")
        self.props = os.path.join(self.dir, "server.properties")
        try:
            self.write_config(certs, auto_create)
            self.format()
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def write_config(self, certs, auto_create):
        listeners = ",".join("%s://127.0.0.1:%d" % (n, p) for n, p in self.ports.items())
        advertised = ",".join("%s://127.0.0.1:%d" % (n, p) for n, p in self.ports.items()
                              if n != "CONTROLLER")
        protocols = ",".join("%s:%s" % (n, "PLAINTEXT" if n == "CONTROLLER" else n)
                             for n in self.ports)
        scram = "listener.name.sasl_plaintext.%s.sasl.jaas.config" % MECHANISM.lower()
        lines = [
            "process.roles=broker,controller",
            "node.id=1",
            "controller.quorum.voters=1@127.0.0.1:%d" % self.ports["CONTROLLER"],
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listeners=" + listeners,
            "advertised.listeners=" + advertised,
            "listener.security.protocol.map=" + protocols,
            "sasl.enabled.mechanisms=" + MECHANISM,
            scram + "=org.apache.kafka.common.security.scram.ScramLoginModule required;",
            "log.dirs=" + os.path.join(self.dir, "data"),
            "num.partitions=3",
            "auto.create.topics.enable=" + ("true" if auto_create else "false"),
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            # After a SIGKILL the controller (the same node) waits for the
            # dead incarnation's session to time out before it registers
            # the new one: 9 s by default, kept short here.
            "broker.session.timeout.ms=2000",
            "broker.heartbeat.interval.ms=500",
        ]
        if certs:
            password = "hp-keystore"
            lines += [
                "ssl.keystore.type=PKCS12",
                "ssl.keystore.location=" + pkcs12(certs, self.dir, password),
                "ssl.keystore.password=" + password,
                "ssl.client.auth=none",
            ]
        with open(self.props, "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(self.dir, "log4j.properties"), "w") as f:
            f.write("log4j.rootLogger=INFO, out\n"
                    "log4j.appender.out=org.apache.log4j.ConsoleAppender\n"
                    "log4j.appender.out.layout=org.apache.log4j.PatternLayout\n"
                    "log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n\n")

    def java(self, main, *args):
        return [JAVA, "-Xms256m", "-Xmx512m", "-XX:+UseSerialGC", "-Djava.awt.headless=true",
                "-Dlog4j.configuration=file:" + os.path.join(self.dir, "log4j.properties"),
                "-cp", os.path.join(JARS, "*"), main] + list(args)

    def format(self):
        # The cluster id is a base64url UUID without padding, as
        # `kafka-storage random-uuid` prints it.
        cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        scram = "%s=[name=%s,password=%s]" % (MECHANISM, USER, PASSWORD)
        p = subprocess.run(self.java("kafka.tools.StorageTool", "format", "-t", cluster,
                                     "-c", self.props, "--add-scram", scram),
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError("kafka-storage format: %s%s" % (p.stdout, p.stderr))

    def plain(self):
        return "127.0.0.1:%d" % self.ports["PLAINTEXT"]

    def sasl(self):
        return "127.0.0.1:%d" % self.ports["SASL_PLAINTEXT"]

    def tls(self, host="localhost"):
        return "%s:%d" % (host, self.ports["SSL"])

    def start(self, timeout=90):
        out = open(self.log, "a")
        self.proc = subprocess.Popen(self.java("kafka.Kafka", self.props), stdout=out,
                                     stderr=out, stdin=subprocess.DEVNULL,
                                     start_new_session=True, cwd=self.dir)
        out.close()
        deadline = time.monotonic() + timeout * hp.SLOW
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("kafka exited (%s): %s" % (self.proc.returncode,
                                                                self.tail()))
            if self.ready():
                return self
            time.sleep(0.3)
        raise AssertionError("kafka did not start: " + self.tail())

    def ready(self):
        # Ready when the broker answers metadata with itself as a broker.
        try:
            socket.create_connection(("127.0.0.1", self.ports["PLAINTEXT"]), timeout=1).close()
        except OSError:
            return False
        p = subprocess.run([KCAT, "-L", "-J", "-b", self.plain(), "-m", "2"],
                           capture_output=True, text=True, timeout=30)
        return p.returncode == 0 and bool(json.loads(p.stdout).get("brokers"))

    def tail(self, n=3000):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def kill(self):
        """SIGKILL the JVM: no clean shutdown, what is on disk stays."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout=30):
        if not self.proc or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def close(self):
        try:
            self.kill()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def topics(self, prefix=""):
        p = subprocess.run([KCAT, "-L", "-J", "-b", self.plain()], capture_output=True,
                           text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("kcat -L: %s" % p.stderr)
        return sorted(t["topic"] for t in json.loads(p.stdout)["topics"]
                      if t["topic"].startswith(prefix) and not t.get("err"))

    def count(self, topic):
        """How many records topic holds (the sum of its end offsets), 0 if
        it does not exist. Unlike consume(), usable while a producer is
        writing: kcat -e never sees the end of a partition that grows."""
        p = subprocess.run([KCAT, "-L", "-J", "-b", self.plain(), "-t", topic],
                           capture_output=True, text=True, timeout=60)
        meta = [t for t in json.loads(p.stdout or "{}").get("topics", []) if not t.get("err")]
        if p.returncode != 0 or not meta:
            return 0
        args = [KCAT, "-Q", "-b", self.plain()]
        for part in meta[0]["partitions"]:
            args += ["-t", "%s:%d:-1" % (topic, part["partition"])]
        p = subprocess.run(args, capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("kcat -Q %s: %s" % (topic, p.stderr))
        return sum(int(line.rsplit(" ", 1)[1]) for line in p.stdout.splitlines()
                   if " offset " in line)

    def consume(self, topic):
        """Every record of topic (kcat -J), in offset order per partition.
        Only once nobody writes to it (see count())."""
        p = subprocess.run([KCAT, "-C", "-b", self.plain(), "-t", topic, "-o", "beginning",
                            "-e", "-J", "-q"], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("kcat %s: %s" % (topic, p.stderr))
        return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
