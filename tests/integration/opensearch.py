# SPDX-License-Identifier: Apache-2.0
"""opensearch.py -- a real OpenSearch node for the integration tests.

The jars come from `make deps` (build/servers/opensearch, version pinned in
tests/servers/pom.xml); tests/servers/OpenSearchNode.java, compiled here
with javac into the node's temporary directory, starts one node with the
netty4 HTTP transport on a free loopback port, single-node discovery and
no security plugin (plain HTTP, no authentication). Heap 512 MiB.

    n = opensearch.Node({"thread_pool.write.queue_size": "1"})
    n.start()
    ... n.url, n.request("GET", "/_cat/indices") ...
    n.close()
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import tests.integration.hp as hp

JARS = os.path.join(hp.ROOT, "build", "servers", "opensearch")
LAUNCHER = os.path.join(hp.ROOT, "tests", "servers", "OpenSearchNode.java")
JAVA = shutil.which("java")
JAVAC = shutil.which("javac")


def available():
    """None when a node can be started here, else the reason it cannot."""
    if not JAVA or not JAVAC:
        return "java/javac are not installed (make deps installs default-jdk-headless)"
    if not glob.glob(os.path.join(JARS, "opensearch-2*.jar")):
        return "the OpenSearch jars are not in %s (make deps)" % JARS
    return None


def version():
    jar = [j for j in glob.glob(os.path.join(JARS, "opensearch-2*.jar"))][0]
    return os.path.basename(jar)[len("opensearch-"):-len(".jar")]


class Node:
    def __init__(self, settings=None):
        self.dir = tempfile.mkdtemp(prefix="hp-opensearch-")
        self.port = hp.free_port()
        self.transport_port = hp.free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.settings = dict(settings or {})
        self.proc = None
        self.log = os.path.join(self.dir, "node.out")
        self.classes = os.path.join(self.dir, "classes")
        os.makedirs(os.path.join(self.dir, "config"))
        os.makedirs(os.path.join(self.dir, "plugins"))
        os.makedirs(os.path.join(self.dir, "modules"))

    def compile(self):
        p = subprocess.run([JAVAC, "-d", self.classes, "-cp", os.path.join(JARS, "*"), LAUNCHER],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError("javac %s: %s" % (LAUNCHER, p.stderr))

    def start(self, timeout=120):
        self.compile()
        cp = os.path.join(JARS, "*") + ":" + self.classes
        args = [JAVA, "-Xms512m", "-Xmx512m", "-XX:+UseSerialGC", "-Djava.awt.headless=true",
                "-cp", cp, "OpenSearchNode", self.dir, str(self.port), str(self.transport_port)]
        args += ["%s=%s" % kv for kv in self.settings.items()]
        out = open(self.log, "a")
        # stdin stays open: the launcher closes the node when it is closed.
        self.proc = subprocess.Popen(args, stdout=out, stderr=out, stdin=subprocess.PIPE,
                                     start_new_session=True, cwd=self.dir)
        out.close()
        deadline = time.monotonic() + timeout * hp.SLOW
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("opensearch exited (%s): %s" % (self.proc.returncode,
                                                                     self.tail()))
            try:
                health = self.request("GET", "/_cluster/health")
                if health.get("status") in ("green", "yellow"):
                    return self
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError("opensearch did not answer: " + self.tail())

    def request(self, method, path, body=None, ndjson=False, ok=(200, 201)):
        """One HTTP request; returns the JSON answer. body: a dict/list (sent
        as JSON) or bytes/str (sent as is, as NDJSON when ndjson)."""
        data = body
        if isinstance(body, (dict, list)):
            data = json.dumps(body)
        if isinstance(data, str):
            data = data.encode()
        ctype = "application/x-ndjson" if ndjson else "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": ctype} if data else {})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, text = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        answer = json.loads(text) if text else {}
        if ok and status not in ok:
            raise AssertionError("%s %s: HTTP %d %s" % (method, path, status, text[:2000]))
        return answer

    def docs(self, index):
        """Every document of index (refreshed first): {_id: (source, version)}."""
        self.request("POST", "/%s/_refresh" % index)
        r = self.request("POST", "/%s/_search?size=10000&version=true" % index,
                         {"query": {"match_all": {}}})
        return {h["_id"]: (h["_source"], h["_version"]) for h in r["hits"]["hits"]}

    def count(self, index, query=None):
        self.request("POST", "/%s/_refresh" % index)
        return self.request("POST", "/%s/_count" % index,
                            {"query": query or {"match_all": {}}})["count"]

    def tail(self, n=3000):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def close(self):
        try:
            if self.proc and self.proc.poll() is None:
                self.proc.stdin.close()
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
        finally:
            if self.proc and self.proc.stdin:
                self.proc.stdin.close()
            shutil.rmtree(self.dir, ignore_errors=True)
