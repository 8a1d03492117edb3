# SPDX-License-Identifier: Apache-2.0
"""test_prometheus.py -- the prometheus sink, scraped over HTTP from the real
agent and read with python3-prometheus-client's own parsers (the text format
and OpenMetrics), compared value by value with the JSON of the same samples
(a stdout sink beside it), and node_* names checked against node_exporter's."""
import json
import os
import re
import time
import unittest
import urllib.error
import urllib.request

from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families as text_parse

from tests.integration import hp

REPORTERS = ("cpu", "mem", "net", "uptime", "ipaddr", "disk", "process", "agent")


def node_exporter_names():
    names = {}
    with open(os.path.join(hp.FIXTURES, "node_exporter_metrics.txt")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                parts = line.split()
                names[parts[0]] = set(parts[1].split(",")) if len(parts) > 1 else set()
    return names


def scrape(port, openmetrics=False):
    req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port)
    if openmetrics:
        req.add_header("Accept", "application/openmetrics-text; version=1.0.0")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.headers.get("Content-Type"), r.read().decode()


def samples(text, parse=text_parse):
    """{(name, frozenset(labels)): value} of every sample."""
    out = {}
    for fam in parse(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


class PrometheusTest(unittest.TestCase):
    def setUp(self):
        self.tmp = self.enterContext(hp.tempfile.TemporaryDirectory())
        self.port = hp.free_port()
        self.conf = hp.write_config(self.tmp, """
reporters: {
  cpu: { interval = 2.0; }; mem: { interval = 2.0; }; net: { interval = 2.0; };
  uptime: { interval = 2.0; }; ipaddr: { interval = 2.0; }; agent: { interval = 2.0; };
  disk: { interval = 2.0; }; temperature: { enabled = false; };
  process: { interval = 2.0; watch = ( { self = true; } ); };
};
sinks = ( { type = "prometheus"; listen = "127.0.0.1:%d"; }, { type = "stdout"; } );
""" % self.port)

    def latest(self, agent):
        """The newest message of each reporter printed so far."""
        last = {}
        for m in hp.parse_lines(agent.read_stdout()):
            last[m["reporter"]] = m
        return last

    def stable_scrape(self, agent, openmetrics=False):
        """A scrape with the JSON it must match: retried until no message
        arrived between reading the JSON and scraping."""
        for _ in range(20):
            before = self.latest(agent)
            ctype, body = scrape(self.port, openmetrics)
            after = self.latest(agent)
            seqs = {r: m["seq"] for r, m in before.items()}
            if all(r in before for r in REPORTERS) and seqs == {r: m["seq"] for r, m in after.items()}:
                return ctype, body, before
            time.sleep(0.3)
        self.fail("no scrape between two rounds of samples")

    def start(self):
        agent = self.enterContext(hp.Agent(self.conf))
        hp.wait_for(lambda: all(r in self.latest(agent) for r in REPORTERS), timeout=30,
                    what="a message from every reporter")
        return agent

    def test_values_match_the_json_of_the_same_samples(self):
        agent = self.start()
        ctype, body, msgs = self.stable_scrape(agent)
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
        got = samples(body)
        checked = 0

        def eq(name, labels, want):
            nonlocal checked
            key = (name, frozenset(labels.items()))
            self.assertIn(key, got, "%s%s missing" % (name, labels))
            self.assertAlmostEqual(got[key], want, places=6, msg=name)
            checked += 1

        cpu = msgs["cpu"]["data"]
        for c in cpu["cpus"]:
            for mode in ("user", "system", "idle", "iowait", "steal"):
                eq("node_cpu_seconds_total", {"cpu": str(c["cpu"]), "mode": mode}, c["times"][mode])
        eq("node_load1", {}, cpu["load1"])
        eq("node_context_switches_total", {}, cpu["ctx_switches"])
        mem = msgs["mem"]["data"]
        eq("node_memory_MemTotal_bytes", {}, mem["total"])
        eq("node_memory_MemAvailable_bytes", {}, mem["available"])
        eq("node_memory_SwapTotal_bytes", {}, mem["swap"]["total"])
        for dev, n in msgs["net"]["data"]["interfaces"].items():
            eq("node_network_receive_bytes_total", {"device": dev}, n["bytes_recv"])
            eq("node_network_transmit_packets_total", {"device": dev}, n["packets_sent"])
        disk = msgs["disk"]["data"]
        for mnt, fs in disk["filesystems"].items():
            labels = {"device": fs["device"], "fstype": fs["fstype"], "mountpoint": mnt}
            eq("node_filesystem_size_bytes", labels, fs["total"])
            eq("node_filesystem_avail_bytes", labels, fs["free"])
        for dev, d in disk["devices"].items():
            eq("node_disk_written_bytes_total", {"device": dev}, d["write_bytes"])
            eq("node_disk_io_time_seconds_total", {"device": dev}, d["busy_time_ms"] / 1000)
        eq("node_boot_time_seconds", {}, msgs["uptime"]["data"]["boot_time"] / 1000)
        me = msgs["process"]["data"]["watched"][0]
        eq("hostpulse_process_resident_memory_bytes", {"pid": str(me["pid"]), "name": me["name"]},
           me["rss"])
        for ifname, addrs in msgs["ipaddr"]["data"]["interfaces"].items():
            for a in addrs:
                eq("hostpulse_ipaddr_info", {"interface": ifname, "family": a["family"],
                                             "address": a["address"],
                                             "prefixlen": str(a["prefixlen"])}, 1)
        eq("hostpulse_sink_sent_messages_total", {"sink": "stdout"},
           msgs["agent"]["data"]["sinks"]["stdout"]["sent"])
        self.assertGreater(checked, 20)

    def test_openmetrics_by_accept_header(self):
        agent = self.start()
        ctype, body, msgs = self.stable_scrape(agent, openmetrics=True)
        self.assertTrue(ctype.startswith("application/openmetrics-text"), ctype)
        self.assertTrue(body.endswith("# EOF\n"))
        got = samples(body, om_parse)  # the strict parser: rejects interleaved families
        self.assertEqual(got[("node_memory_MemTotal_bytes", frozenset())],
                         msgs["mem"]["data"]["total"])
        types = {f.name: f.type for f in om_parse(body)}
        self.assertEqual(types["node_cpu_seconds"], "counter")
        self.assertEqual(types["hostpulse_ipaddr"], "info")

    def test_node_names_and_labels_are_node_exporters(self):
        agent = self.start()
        _, body, _ = self.stable_scrape(agent)
        known = node_exporter_names()
        seen = set()
        for fam in text_parse(body):
            for s in fam.samples:
                if s.name.startswith("node_"):
                    self.assertIn(s.name, known, "not a node_exporter name")
                    self.assertEqual(set(s.labels), known[s.name], s.name)
                    seen.add(s.name)
                else:
                    self.assertTrue(s.name.startswith("hostpulse_"), s.name)
            self.assertTrue(fam.documentation, fam.name + " has no HELP")
        for must in ("node_cpu_seconds_total", "node_memory_MemAvailable_bytes",
                     "node_network_receive_bytes_total", "node_filesystem_avail_bytes",
                     "node_disk_read_bytes_total", "node_load1", "node_boot_time_seconds"):
            self.assertIn(must, seen)

    def test_other_paths_and_methods(self):
        self.start()
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen("http://127.0.0.1:%d/nope" % self.port, timeout=10)
        self.assertEqual(e.exception.code, 404)
        req = urllib.request.Request("http://127.0.0.1:%d/metrics" % self.port, data=b"x",
                                     method="POST")
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(e.exception.code, 405)

    def test_bad_listen_is_a_config_error(self):
        path = hp.write_config(self.tmp, 'sinks = ( { type = "prometheus"; listen = "nope"; } );\n',
                               "bad.conf")
        p = hp.run(["-c", path, "--check"])
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(p.stderr, re.escape(path) + r":1: .*listen: \"nope\" is not ADDRESS:PORT")

    def test_port_in_use_is_retried_not_fatal(self):
        import socket
        blocker = socket.socket()
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", self.port))
        blocker.listen()
        agent = self.enterContext(hp.Agent(self.conf))
        hp.wait_for(lambda: "cannot listen on 127.0.0.1:%d" % self.port in agent.read_stderr(),
                    what="the listen failure in the log")
        blocker.close()
        hp.wait_for(lambda: self._scrapes(), timeout=60, what="the sink to listen after retrying")

    def _scrapes(self):
        try:
            return "node_" in scrape(self.port)[1]
        except (urllib.error.URLError, ConnectionError):
            return False


if __name__ == "__main__":
    unittest.main()
