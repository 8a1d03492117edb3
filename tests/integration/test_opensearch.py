# SPDX-License-Identifier: Apache-2.0
# test_opensearch.py -- the `elasticsearch` and `es-file` sinks against a
# real OpenSearch node (tests/integration/opensearch.py: one node from the
# jars `make deps` fetched), where test_elasticsearch.py uses a test double
# of _bulk. What only a server shows: the index template applied to real
# mappings, _id de-duplication of a resent batch, a mapping conflict refused
# per item, real 429 back-pressure from a full write queue, and the es-file
# output loaded by a real _bulk POST.
# The node is started once for the module (a JVM takes many seconds); its
# write thread pool is one thread with a queue of 16 shard-level requests:
# room for one agent's bulk request (one index per reporter), so only
# concurrent bulk requests over many indices get 429 (the back-pressure
# test sends them).
# hp: slow
import json
import os
import socket
import tempfile
import threading
import time
import unittest

import tests.integration.hp as hp
import tests.integration.opensearch as opensearch

TEMPLATE = os.path.join(hp.ROOT, "etc", "elasticsearch-template.json")
REPORTERS = ("cpu", "mem", "net", "process", "uptime", "ipaddr", "temperature", "disk", "agent",
             "pressure", "netstat", "cgroup")

CONFIG = """agent: { hostname = "oshost"; tick = 0.02; shutdown_timeout = 10.0; };
reporters: { %(reporters)s };
sinks = (
  { type = "stdout"; },
  { %(sink)s retry_initial = 0.05; retry_max = 0.5; }
);
"""

node = None


def setUpModule():
    global node
    why = opensearch.available()
    if why:
        raise unittest.SkipTest(why)
    node = opensearch.Node({"thread_pool.write.size": "1", "thread_pool.write.queue_size": "16"})
    try:
        node.start()
        with open(TEMPLATE) as f:
            node.request("PUT", "/_index_template/hostpulse", f.read())
    except BaseException:
        node.close()
        raise


def tearDownModule():
    if node:
        node.close()


def doc_id(m):
    return "%s:%s:%s:%d" % (m["host"], m["session"], m["reporter"], m["seq"])


def leaves(value, path=""):
    """(dotted path, value) of every number in a JSON value; arrays of
    objects share their path, as in a mapping."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, path + "." + k if path else k)
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v, path)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path, value


def mapped_types(props, path=""):
    """{dotted path: type} of a mapping's properties."""
    out = {}
    for k, v in props.items():
        p = path + "." + k if path else k
        if "properties" in v:
            out.update(mapped_types(v["properties"], p))
        else:
            out[p] = v.get("type", "object")
    return out


def reporters(interval, names=("uptime", "agent")):
    return " ".join("%s: { enabled = true; interval = %s; };" % (n, interval) for n in names)


class CuttingProxy:
    """A TCP proxy in front of the node that can drop the answer to a
    request after the node has processed it: the agent sees the connection
    cut and sends the same batch again."""

    def __init__(self, port):
        self.target = ("127.0.0.1", port)
        self.lsock = socket.create_server(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.lsock.getsockname()[1]
        self.cut_next = 0
        self.cuts = 0
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            s = socket.create_connection(self.target)
            threading.Thread(target=self.pipe, args=(c, s, False), daemon=True).start()
            threading.Thread(target=self.pipe, args=(s, c, True), daemon=True).start()

    def pipe(self, src, dst, answers):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if answers and data.startswith(b"HTTP/1.1 200"):
                    with self.lock:
                        cut = self.cut_next > 0
                        if cut:
                            self.cut_next -= 1
                            self.cuts += 1
                    if cut:
                        break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self):
        self.lsock.close()


class OpenSearchTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        # one index pattern per test, under the template's hostpulse-*
        self.prefix = "hostpulse-" + self._testMethodName.replace("_", "")[4:24].lower()
        self.addCleanup(node.request, "DELETE", "/%s-*" % self.prefix, ok=None)

    def es_sink(self, url=None, extra="", index="{reporter}-%Y.%m.%d"):
        # One index per reporter (see test_default_index_holds_every_reporter)
        return ('type = "elasticsearch"; url = "%s"; index = "%s-%s"; timeout = 30.0; %s'
                % (url or node.url, self.prefix, index, extra))

    def run_agent(self, sink, reps=None, during=None, settle=1.0):
        text = CONFIG % {"sink": sink, "reporters": reps or reporters(0.05)}
        path = hp.write_config(self.tmp.name, text)
        with hp.Agent(path) as a:
            hp.wait_for(lambda: "started:" in a.read_stderr(), what="agent start")
            time.sleep(settle)
            if during:
                during(a)
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertNotIn("not delivered at exit", a.stderr)
        return hp.parse_lines(a.stdout), a

    def assertStored(self, msgs, skip=(), log=""):
        # Every message once, as its document (minus @timestamp), by _id.
        # log: the agent's stderr, whose refusals explain a difference.
        docs = node.docs(self.prefix + "-*")
        want = {doc_id(m): m for m in msgs if doc_id(m) not in skip}
        refused = "\n".join(l for l in log.splitlines() if "dropping" in l)
        self.assertEqual(set(docs), set(want), "every message once, nothing else\n" + refused)
        for i, m in want.items():
            d = dict(docs[i][0])
            self.assertEqual(d.pop("@timestamp"), m["ts"])
            self.assertEqual(d, m)
        self.assertEqual(node.count(self.prefix + "-*"), len(want))
        return docs

    def test_every_reporter_bulk_ingest(self):
        # process watches itself and the busiest processes, so the watched
        # fields (utime, stime, cpu_percent, rates...) are mapped too.
        reps = (reporters(0.2, [r for r in REPORTERS if r != "process"]) +
                ' process: { enabled = true; interval = 0.2; watch = ( { self = true; }, '
                '{ top = 3; by = "cpu"; }, { name = "hostpulse"; aggregate = true; } ); };')
        msgs, a = self.run_agent(self.es_sink(), reps=reps, settle=1.5)
        watched = [p for m in msgs if m["reporter"] == "process"
                   for p in m["data"].get("watched", []) + m["data"].get("aggregates", [])]
        self.assertTrue(watched and all("utime" in p for p in watched), "watched processes")
        self.assertEqual({m["reporter"] for m in msgs}, set(REPORTERS) | {"session"})
        self.assertStored(msgs, log=a.stderr)
        for rep in set(REPORTERS):
            n = node.count(self.prefix + "-*", {"term": {"reporter": rep}})
            self.assertEqual(n, len([m for m in msgs if m["reporter"] == rep]), rep)
        # A field that ever held a fraction is mapped as a floating type
        # (etc/elasticsearch-template.json), or a long mapping would store
        # it truncated.
        mapping = node.request("GET", "/%s-*/_mapping" % self.prefix)
        types = {}
        for idx in mapping.values():
            types.update(mapped_types(idx["mappings"]["properties"]))
        wrong = set()
        for m in msgs:
            for path, v in leaves(m["data"], "data"):
                if isinstance(v, float) and not v.is_integer() and types[path] != "double":
                    wrong.add("%s (%s in %s)" % (path, types[path], m["reporter"]))
        self.assertEqual(wrong, set(), "fractional values in a non-double field")
        self.assertNotIn("sink elasticsearch", a.stderr)

    def test_default_index_holds_every_reporter(self):
        # Found by this node: with one index per day for every reporter,
        # data.total (mem: a number, net: an object) and data.reporters
        # (session: numbers, agent: objects) conflicted and whichever came
        # second was refused. The default index is now per reporter
        # (hostpulse-{reporter}-%Y.%m.%d), so the sink sets no index here.
        reps = reporters(0.2, ("mem", "net", "agent"))
        names = ("mem", "net", "agent", "session")
        for r in names:
            self.addCleanup(node.request, "DELETE", "/hostpulse-%s-*" % r, ok=None)
        sink = 'type = "elasticsearch"; url = "%s"; timeout = 30.0;' % node.url
        msgs, a = self.run_agent(sink, reps=reps, settle=1.0)
        self.assertNotIn("mapper_parsing_exception", a.stderr)
        self.prefix = "hostpulse"  # every other test's indices are deleted by now
        day = time.strftime("%Y.%m.%d", time.gmtime(msgs[0]["ts"] / 1000))
        for r in names:
            self.assertGreater(node.count("hostpulse-%s-%s" % (r, day)), 0, r)
        self.assertStored(msgs, log=a.stderr)

    def test_index_template_maps_types(self):
        msgs, _ = self.run_agent(self.es_sink())
        self.assertStored(msgs)
        idx = node.request("GET", "/%s-uptime-*/_mapping" % self.prefix)
        props = list(idx.values())[0]["mappings"]["properties"]
        self.assertEqual(props["@timestamp"]["type"], "date")
        self.assertEqual(props["ts"]["type"], "date")
        self.assertEqual(props["host"]["type"], "keyword")
        self.assertEqual(props["seq"]["type"], "long")
        data = props["data"]["properties"]
        self.assertEqual(data["uptime"]["type"], "double", "a gauge, even when whole")
        # @timestamp is a date: a range query in date math finds them all,
        # one in the future none; numbers compare as numbers
        ts = [m["ts"] for m in msgs]
        q = lambda r: node.count(self.prefix + "-*", {"range": r})
        self.assertEqual(q({"@timestamp": {"gte": "now-1h"}}), len(msgs))
        self.assertEqual(q({"@timestamp": {"gte": "now+1h"}}), 0)
        self.assertEqual(q({"@timestamp": {"gte": min(ts), "lte": max(ts)}}), len(msgs))
        ups = [m for m in msgs if m["reporter"] == "uptime"]
        above = [m for m in ups if m["data"]["uptime"] > 10]
        self.assertEqual(q({"data.uptime": {"gt": 10}}), len(above))
        r = node.request("POST", "/%s-*/_search" % self.prefix, {
            "size": 0, "query": {"term": {"reporter": "uptime"}},
            "aggs": {"top": {"max": {"field": "data.uptime"}}}})
        self.assertAlmostEqual(r["aggregations"]["top"]["value"],
                               max(m["data"]["uptime"] for m in ups), places=3)

    def test_template_maps_cpu_gauges_as_double(self):
        # A cpu message whose first cpu has only whole values and the second
        # only fractional ones, as a busy host can sample: every gauge must
        # be mapped double from the first value on, or the node refuses the
        # document ("mapper [data.cpus.nice] cannot be changed from type
        # [long] to [double]"). Counts (interrupts, ctx_switches, count)
        # stay long.
        msgs, _ = hp.run_once('reporters: { cpu: {}; };')
        m = [m for m in msgs if m["reporter"] == "cpu"][0]
        cpus = m["data"]["cpus"]
        self.assertGreaterEqual(len(cpus), 1)
        # every number replaced, nested objects (a cpu's "times") kept as
        # objects: the whole first cpu, the fractional second
        fill = lambda o, v: {k: fill(x, v) if isinstance(x, dict) else v for k, x in o.items()}
        first, second = fill(cpus[0], 3), fill(cpus[0], 2.5)
        first["cpu"], second["cpu"] = 0, 1
        m["data"]["cpus"] = [first, second]
        m["data"]["times"] = {k: 7 for k in m["data"]["times"]}
        index = self.prefix + "-cpu"
        node.request("PUT", "/%s/_doc/whole?refresh=true" % index, m)
        m["data"]["times"] = {k: 7.5 for k in m["data"]["times"]}
        node.request("PUT", "/%s/_doc/fractional?refresh=true" % index, m)
        props = node.request("GET", "/%s/_mapping" % index)[index]["mappings"]["properties"]
        data = props["data"]["properties"]
        for group in ("cpus", "times"):
            for k, v in mapped_types(data[group]["properties"]).items():
                self.assertEqual(v, "double", "data.%s.%s" % (group, k))
        for k in ("interrupts", "ctx_switches", "count"):
            self.assertEqual(data[k]["type"], "long", k)

    def test_resend_after_cut_connection_does_not_duplicate(self):
        # The node stores a batch, the answer never reaches the agent: the
        # batch is sent again and each document overwrites itself (_id is
        # the message's identity), so _version goes up, the count does not.
        proxy = CuttingProxy(node.port)
        self.addCleanup(proxy.close)

        def cut(a):
            proxy.cut_next = 3
            hp.wait_for(lambda: proxy.cuts == 3, what="three answers cut")
            time.sleep(1.0)

        msgs, a = self.run_agent(self.es_sink(url=proxy.url), during=cut, settle=0.5)
        docs = self.assertStored(msgs)
        resent = [i for i, (_, version) in docs.items() if version > 1]
        self.assertTrue(resent, "no document was sent twice")
        self.assertIn("retrying", a.stderr)

    def test_mapping_conflict_rejected_per_item(self):
        # A document from elsewhere made data.uptime an object in today's
        # index; every uptime message now conflicts with that mapping and is
        # refused (400 mapper_parsing_exception) item by item. The sink drops
        # and counts those; every other message arrives.
        index = time.strftime(self.prefix + "-uptime-%Y.%m.%d", time.gmtime())
        node.request("PUT", "/%s/_doc/crafted?refresh=true" % index,
                     {"reporter": "crafted", "data": {"uptime": {"crafted": True}}})

        def counted(a):
            def rejected():
                for m in reversed(hp.parse_lines(a.read_stdout())):
                    if m["reporter"] == "agent":
                        return m["data"]["sinks"]["elasticsearch"]["rejected"] >= 5
                return False
            hp.wait_for(rejected, what="rejections in the self-report")

        msgs, a = self.run_agent(self.es_sink(), during=counted, settle=0.5)
        uptime = {doc_id(m) for m in msgs if m["reporter"] == "uptime"}
        self.assertTrue(uptime)
        docs = node.docs(self.prefix + "-*")
        self.assertEqual(docs.pop("crafted")[0]["reporter"], "crafted")
        want = {doc_id(m): m for m in msgs if doc_id(m) not in uptime}
        self.assertEqual(set(docs), set(want), "everything but the conflicting uptime")
        last = [m for m in msgs if m["reporter"] == "agent"][-1]
        n = last["data"]["sinks"]["elasticsearch"]["rejected"]
        self.assertGreaterEqual(n, 5)
        self.assertLessEqual(n, len(uptime))
        self.assertIn("mapper_parsing_exception", a.stderr)
        self.assertIn("uptime", a.stderr)

    def test_429_back_pressure_retried_without_loss(self):
        # Other clients fill the node's write queue (one thread, 16 queued
        # shard requests): the node answers 429 (rejected_execution_exception)
        # to the agent's bulk requests too, which are retried until accepted.
        stop = threading.Event()
        refused = []
        body = "".join('{"index":{"_index":"%s-flood-%d"}}\n{"n":%d,"pad":"%s"}\n'
                       % (self.prefix, i % 24, i, "x" * 200) for i in range(480))

        def flood():
            while not stop.is_set():
                try:
                    r = node.request("POST", "/_bulk", body, ndjson=True, ok=None)
                    if r.get("status") == 429 or r.get("errors"):
                        refused.append(1)
                except OSError:
                    pass

        def overload(a):
            threads = [threading.Thread(target=flood, daemon=True) for _ in range(6)]
            for t in threads:
                t.start()
            try:
                hp.wait_for(lambda: "429" in a.read_stderr(), timeout=60,
                            what="the agent refused with 429")
            finally:
                stop.set()
                for t in threads:
                    t.join()
            time.sleep(1.5)

        msgs, a = self.run_agent(self.es_sink(), reps=reporters(0.02), during=overload,
                                 settle=0.5)
        self.assertTrue(refused, "the flood itself was never refused")
        node.request("DELETE", "/%s-flood-*" % self.prefix)
        self.assertStored(msgs, log=a.stderr)
        self.assertTrue("refused for now (429/5xx)" in a.stderr or "HTTP 429" in a.stderr,
                        a.stderr)

    def test_es_file_loads_with_bulk(self):
        path = os.path.join(self.tmp.name, "es", "hp.ndjson")
        sink = 'type = "es-file"; path = "%s"; index = "%s-{reporter}-%%Y.%%m.%%d";' % (
            path, self.prefix)
        msgs, _ = self.run_agent(sink)
        with open(path, "rb") as f:
            body = f.read()
        r = node.request("POST", "/_bulk?refresh=true", body, ndjson=True)
        self.assertFalse(r["errors"], json.dumps(r)[:2000])
        self.assertEqual(len(r["items"]), len(msgs))
        self.assertStored(msgs)
        # loading the same file again changes nothing but _version
        r = node.request("POST", "/_bulk?refresh=true", body, ndjson=True)
        self.assertFalse(r["errors"])
        self.assertEqual(node.count(self.prefix + "-*"), len(msgs))


if __name__ == "__main__":
    unittest.main()
