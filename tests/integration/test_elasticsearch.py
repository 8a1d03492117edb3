# SPDX-License-Identifier: Apache-2.0
# test_elasticsearch.py -- the `elasticsearch` sink end to end against
# es_double.py (a test double of the _bulk API: no Elasticsearch server is
# packaged in Debian), and the `es-file` sink's output.
#
# The agent runs with a stdout sink next to the one under test: its stdout is
# the reference set of messages that must each arrive exactly once per _id.
import glob
import json
import os
import subprocess
import tempfile
import time
import unittest

import tests.integration.hp as hp
from tests.integration.es_double import EsDouble

CONFIG = """
agent: { hostname = "eshost"; tick = 0.05; };
reporters: { uptime: { interval = 0.1; }; agent: { interval = 0.1; }; };
sinks = (
  { type = "stdout"; },
  { type = "elasticsearch"; url = "%(url)s"; retry_initial = 0.05; retry_max = 0.2;
    timeout = 2.0; %(extra)s }
);
"""


def doc_id(m):
    return "%s:%s:%s:%d" % (m["host"], m["session"], m["reporter"], m["seq"])


def day_index(m, prefix="hostpulse-"):
    """The default index: one per reporter and UTC day of the sample."""
    return "%s%s-%s" % (prefix, m["reporter"], time.strftime("%Y.%m.%d", time.gmtime(m["ts"] / 1000)))


class ElasticsearchTest(unittest.TestCase):
    def setUp(self):
        self.es = EsDouble().start()
        self.addCleanup(self.es.stop)
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.spool = os.path.join(self.tmp.name, "spool")

    def dead_letters(self):
        """The dead-letter lines of the elasticsearch sink, parsed."""
        path = os.path.join(self.spool, "elasticsearch.dead-letters.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f]

    def run_agent(self, extra="", until=None, min_docs=10, config=CONFIG):
        path = hp.write_config(self.tmp.name, config % {"url": self.es.url, "extra": extra})
        with hp.Agent(path, env={"HOSTPULSE_SPOOL_DIR": self.spool}) as a:
            hp.wait_for(lambda: len(self.es.ids()) >= min_docs, timeout=20, what="documents")
            if until:
                hp.wait_for(lambda: until(a), timeout=20, what="agent state")
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(self.es.protocol_errors, [])
        return hp.parse_lines(a.stdout), a

    def assertDelivered(self, msgs, skip=(), index=day_index):
        docs = {i: (idx, d) for (idx, i), d in self.es.docs.items()}
        self.assertEqual(len(docs), len(self.es.docs), "one index per _id")
        want = {doc_id(m): m for m in msgs if doc_id(m) not in skip}
        self.assertEqual(set(docs), set(want), "every message once, nothing else")
        for i, m in want.items():
            idx, d = docs[i]
            self.assertEqual(idx, index(m))
            self.assertEqual(d.pop("@timestamp"), m["ts"])
            hp.validate(d)
            self.assertEqual(d, m)

    def test_end_to_end(self):
        msgs, _ = self.run_agent()
        self.assertDelivered(msgs)
        for i, n in self.es.attempts.items():
            self.assertEqual(n, 1, i)
        self.assertEqual(self.es.gzipped, self.es.requests, "gzip is the default")

    def test_plain_body_auth_and_index_template(self):
        extra = 'gzip = false; user = "elastic"; password = "s3cret"; index = "hp-{reporter}-%Y.%m";'
        msgs, a = self.run_agent(extra)
        self.assertDelivered(msgs, index=lambda m: "hp-%s-%s" % (
            m["reporter"], time.strftime("%Y.%m", time.gmtime(m["ts"] / 1000))))
        self.assertEqual(self.es.gzipped, 0)
        self.assertEqual(self.es.auth, {"Basic ZWxhc3RpYzpzM2NyZXQ="})
        self.assertNotIn("s3cret", a.stderr)

    def test_api_key(self):
        msgs, a = self.run_agent('api_key = "aWQ6a2V5";')
        self.assertDelivered(msgs)
        self.assertEqual(self.es.auth, {"ApiKey aWQ6a2V5"})
        self.assertNotIn("aWQ6a2V5", a.stderr)

    def test_429_and_503_back_off_without_loss(self):
        self.es.fail_requests([429, 503, 503, 429])
        msgs, a = self.run_agent()
        self.assertDelivered(msgs)
        self.assertIn("HTTP 429", a.stderr)
        self.assertIn("retrying", a.stderr)
        last = [m for m in msgs if m["reporter"] == "agent"][-1]
        self.assertGreaterEqual(last["data"]["sinks"]["elasticsearch"]["failed"], 1)

    def test_item_400_is_dropped_and_counted(self):
        bad = lambda meta, d: d["reporter"] == "uptime" and d["seq"] in (2, 3)
        self.es.fail_items(bad, 400, times=99)

        def counted(a):
            for m in reversed(hp.parse_lines(a.read_stdout())):
                if m["reporter"] == "agent":
                    return m["data"]["sinks"]["elasticsearch"]["rejected"] == 2
            return False

        msgs, a = self.run_agent(until=counted)
        rejected = {doc_id(m) for m in msgs if m["reporter"] == "uptime" and m["seq"] in (2, 3)}
        self.assertEqual(len(rejected), 2)
        self.assertDelivered(msgs, skip=rejected)
        for i in rejected:
            self.assertEqual(self.es.statuses[i], [400], "a 400 item is not retried")
        self.assertIn("mapper_parsing_exception", a.stderr)
        # the dead letters hold exactly the refused messages, with the reason
        dead = self.dead_letters()
        self.assertEqual({doc_id(json.loads(d["message"])) for d in dead}, rejected)
        self.assertEqual(len(dead), 2)
        for d in dead:
            self.assertEqual(d["sink"], "elasticsearch")
            self.assertIn("item status 400", d["reason"])
            self.assertIn("mapper_parsing_exception", d["reason"])
            self.assertRegex(d["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        last = [m for m in msgs if m["reporter"] == "agent"][-1]
        self.assertEqual(last["data"]["sinks"]["elasticsearch"]["dead_lettered"], 2)

    def test_413_splits_the_batch_and_dead_letters_a_lone_giant(self):
        # Bodies over 1200 bytes are refused whole (413). A message over 900
        # bytes (agent reports ~1.5 KB, net ~1.5 KB) is too big even alone
        # as a bulk pair: it must be dead-lettered; the others (uptime
        # ~200 B, session ~540 B) arrive, after batches of them are split.
        self.es.max_content_length = 1200
        big = lambda m: len(json.dumps(m, separators=(",", ":"))) > 900

        def settled(a):
            giants = [m for m in hp.parse_lines(a.read_stdout()) if big(m)]
            return len(giants) >= 5 and len(self.dead_letters()) >= len(giants) - 2

        # Slower reporters: through a bad patch each document costs about
        # one request more, and the double answers only a few dozen a second.
        slow = CONFIG.replace("interval = 0.1", "interval = 0.3")
        msgs, a = self.run_agent("gzip = false;", until=settled, min_docs=20, config=slow)
        self.assertGreater(self.es.rejected_413, 0)
        giants = {doc_id(m) for m in msgs if big(m)}
        dead = [json.loads(d["message"]) for d in self.dead_letters()]
        dead_ids = {doc_id(m) for m in dead}
        self.assertEqual(len(dead_ids), len(dead), "each dead letter once")
        self.assertTrue(dead_ids <= giants, "only the giants are dead letters")
        # a message between 900 and about 1050 bytes still fits one 1200-byte
        # request with its action line: it may arrive; one over 1200 never can
        huge = {doc_id(m) for m in msgs if len(json.dumps(m, separators=(",", ":"))) > 1200}
        self.assertGreaterEqual(len(dead_ids & huge), len(huge) - 3)
        for d in self.dead_letters():
            self.assertIn("HTTP 413", d["reason"])
        for m in dead:
            hp.validate(m)
        # everything else arrived, once, unchanged (giants that fit did too)
        arrived = {i for (_, i) in self.es.docs}
        self.assertFalse(huge & arrived, "a message too big alone never arrives")
        self.assertDelivered(msgs, skip=giants - arrived)
        self.assertIn("dead-lettering agent #", a.stderr)

    def test_whole_request_400_isolates_the_poison(self):
        # Any request holding uptime #3 is refused whole (400): the batches
        # are split until that document is alone, it is dead-lettered, and
        # every other message arrives.
        self.es.poison_requests(lambda meta, d: d["reporter"] == "uptime" and d["seq"] == 3)

        def settled(a):
            return len(self.dead_letters()) == 1

        msgs, a = self.run_agent(until=settled, min_docs=20)
        bad = {doc_id(m) for m in msgs if m["reporter"] == "uptime" and m["seq"] == 3}
        self.assertEqual(len(bad), 1)
        self.assertGreater(self.es.rejected_400, 0)
        self.assertDelivered(msgs, skip=bad)
        dead = self.dead_letters()
        self.assertEqual([doc_id(json.loads(d["message"])) for d in dead], list(bad))
        self.assertIn("HTTP 400 for the document alone", dead[0]["reason"])
        self.assertIn("x_content_parse_exception", dead[0]["reason"])

    def test_401_keeps_the_data_and_says_why(self):
        self.es.fail_requests([401, 401, 403])
        msgs, a = self.run_agent('user = "elastic"; password = "s3cret";')
        self.assertDelivered(msgs)
        self.assertIn("HTTP 401", a.stderr)
        self.assertIn("sink elasticsearch", a.stderr)
        self.assertIn("refused the credentials", a.stderr)
        self.assertNotIn("s3cret", a.stderr)
        self.assertEqual(self.dead_letters(), [])

    def test_item_429_retries_only_those(self):
        bad = lambda meta, d: d["seq"] in (2, 4)
        self.es.fail_items(bad, 429, times=1)
        msgs, _ = self.run_agent()
        self.assertDelivered(msgs)
        for i, statuses in self.es.statuses.items():
            want = [429, 201] if int(i.rsplit(":", 1)[1]) in (2, 4) else [201]
            self.assertEqual(statuses, want, i)

    def test_server_down_then_up(self):
        # Nothing listens at first: the sink keeps its backlog and delivers later.
        port = hp.free_port()
        path = hp.write_config(self.tmp.name, CONFIG % {
            "url": "http://127.0.0.1:%d" % port, "extra": ""})
        with hp.Agent(path) as a:
            hp.wait_for(lambda: "retrying" in a.read_stderr(), timeout=20, what="a failure")
        self.assertEqual(a.returncode, 0)
        self.assertIn("127.0.0.1:%d/_bulk" % port, a.stderr)

    def test_check_connect(self):
        path = hp.write_config(self.tmp.name, CONFIG % {"url": self.es.url, "extra": ""})
        p = hp.run(["-c", path, "--check", "--connect"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("sink elasticsearch (elasticsearch): ok", p.stderr)
        path = hp.write_config(self.tmp.name, CONFIG % {
            "url": "http://127.0.0.1:%d" % hp.free_port(), "extra": ""})
        p = hp.run(["-c", path, "--check", "--connect"])
        self.assertNotEqual(p.returncode, 0)

    def test_bad_options(self):
        for extra, fragment in (('index = "HostPulse";', "lowercase"),
                                ('url = "ftp://x";', "http://")):
            text = CONFIG % {"url": self.es.url, "extra": ""}
            text = text.replace('url = "%s";' % self.es.url, extra if "url" in extra else
                                'url = "%s"; %s' % (self.es.url, extra))
            path = hp.write_config(self.tmp.name, text)
            p = hp.run(["-c", path, "--check"])
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(fragment, p.stderr)


ES_FILE = """
agent: { hostname = "eshost"; tick = 0.05; };
reporters: { uptime: { interval = 0.1; }; agent: { interval = 0.1; }; };
sinks = (
  { type = "stdout"; },
  { type = "es-file"; path = "%s/bulk/hostpulse-%%Y-%%m-%%d.ndjson"; }
);
"""


def read_bulk(path):
    with open(path) as f:
        text = f.read()
    assert text.endswith("\n")
    lines = text[:-1].split("\n")
    assert len(lines) % 2 == 0
    return [(json.loads(lines[i])["index"], json.loads(lines[i + 1]))
            for i in range(0, len(lines), 2)]


class EsFileTest(unittest.TestCase):
    def test_file_holds_every_message_and_imports(self):
        with tempfile.TemporaryDirectory() as d:
            path = hp.write_config(d, ES_FILE % d)
            with hp.Agent(path) as a:
                hp.wait_for(lambda: len(hp.parse_lines(a.read_stdout())) >= 10, what="messages")
            self.assertEqual(a.returncode, 0, a.stderr)
            msgs = hp.parse_lines(a.stdout)
            files = sorted(glob.glob(os.path.join(d, "bulk", "hostpulse-*.ndjson")))
            self.assertTrue(files)
            got = {}
            for fn in files:
                for meta, doc in read_bulk(fn):
                    self.assertEqual(meta["_index"], day_index(doc))
                    self.assertEqual(os.path.basename(fn), time.strftime(
                        "hostpulse-%Y-%m-%d.ndjson", time.gmtime(doc["ts"] / 1000)))
                    self.assertNotIn(meta["_id"], got)
                    self.assertEqual(doc.pop("@timestamp"), doc["ts"])
                    hp.validate(doc)
                    got[meta["_id"]] = doc
            self.assertEqual(got, {doc_id(m): m for m in msgs})
            # The documented import command works against the _bulk double.
            with EsDouble() as es:
                for fn in files:
                    p = subprocess.run(
                        ["curl", "-sS", "-f", "-H", "Content-Type: application/x-ndjson",
                         "-X", "POST", es.url + "/_bulk", "--data-binary", "@" + fn],
                        capture_output=True, text=True, timeout=30)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertFalse(json.loads(p.stdout)["errors"])
                self.assertEqual(es.protocol_errors, [])
                self.assertEqual(es.ids(), set(got))

    def test_full_disk_is_retried_without_loss(self):
        d = hp.tiny_tmpfs(self, "64k")
        grown = []

        def full_then_grow(a):
            err = a.read_stderr()
            if not grown and "No space left on device" in err:
                hp.grow_tmpfs(d, "16m")
                grown.append(True)
            return grown and "connected again" in err and a.read_stdout().count("\n") > 200

        with tempfile.TemporaryDirectory() as cdir:
            text = ES_FILE.replace("interval = 0.1", "interval = 0.01") % d
            text = text.replace('.ndjson"; }', '.ndjson"; retry_initial = 0.05; retry_max = 0.2; }')
            path = hp.write_config(cdir, text)
            with hp.Agent(path) as a:
                hp.wait_for(lambda: full_then_grow(a), timeout=30, what="full disk, then space")
        self.assertEqual(a.returncode, 0, a.stderr)
        got = {}
        for fn in glob.glob(os.path.join(d, "bulk", "*.ndjson")):
            for meta, doc in read_bulk(fn):
                self.assertNotIn(meta["_id"], got, "written twice")
                got[meta["_id"]] = doc
        self.assertEqual(set(got), {doc_id(m) for m in hp.parse_lines(a.stdout)})


class TemplateTest(unittest.TestCase):
    def test_index_template_is_valid_json(self):
        with open(os.path.join(hp.ROOT, "etc", "elasticsearch-template.json")) as f:
            t = json.load(f)
        self.assertEqual(t["index_patterns"], ["hostpulse-*"])
        m = t["template"]["mappings"]
        self.assertEqual(m["properties"]["@timestamp"]["type"], "date")
        self.assertEqual(m["properties"]["@timestamp"]["format"], "epoch_millis")
        rules = {k: v for d in m["dynamic_templates"] for k, v in d.items()}
        self.assertEqual(rules["longs"]["match_mapping_type"], "long")
        self.assertEqual(rules["longs"]["mapping"]["type"], "long")
        self.assertEqual(rules["doubles"]["mapping"]["type"], "double")
        self.assertEqual(rules["strings"]["mapping"]["type"], "keyword")
        # Gauges come before the catch-all for integers: a percent that is
        # whole on its first sample still maps to double.
        names = [list(d)[0] for d in m["dynamic_templates"]]
        self.assertLess(names.index("gauges_as_double"), names.index("longs"))
        import re
        gauge = re.compile(rules["gauges_as_double"]["match"])
        for name in ("percent", "cpu_percent", "rx_bytes_rate", "uptime", "load1"):
            self.assertTrue(gauge.match(name), name)
        for name in ("rx_bytes", "sent", "pid", "seq"):
            self.assertFalse(gauge.match(name), name)

    def test_every_fractional_field_is_a_gauge_to_the_template(self):
        # A field the schema calls "number" (it may hold a fraction) must be
        # mapped as double by the template: by name (the gauges rule), by
        # path (a path_match rule) or as an envelope property. Dynamic
        # mapping would make it a long when its first value is whole
        # (wakeups_per_second of 0 did, on CI), truncating what follows.
        import fnmatch
        import re
        with open(os.path.join(hp.ROOT, "etc", "elasticsearch-template.json")) as f:
            m = json.load(f)["template"]["mappings"]
        rules = {k: v for d in m["dynamic_templates"] for k, v in d.items()}
        gauge = re.compile(rules["gauges_as_double"]["match"])
        paths = [r["path_match"] for r in rules.values()
                 if "path_match" in r and r["mapping"]["type"] == "double"]
        envelope = {k for k, v in m["properties"].items() if v.get("type") == "double"}
        with open(os.path.join(hp.ROOT, "docs", "schema", "message.schema.json")) as f:
            schema = json.load(f)
        missed = set()

        def double(path):
            leaf = path.split(".")[-1]
            return (path in envelope or gauge.match(leaf) or
                    any(fnmatch.fnmatchcase(path, g) for g in paths))

        def walk(node, path, depth=0):
            if isinstance(node, list):
                for x in node:
                    walk(x, path, depth)
            if not isinstance(node, dict) or depth > 20:
                return
            ref = node.get("$ref", "").split("/")[-1]  # "#/$defs/NAME"
            if ref and ref not in exempt:
                walk(schema["$defs"][ref], path, depth + 1)
            if node.get("type") == "number" and path and not double(path):
                missed.add(path)
            for k, v in node.items():
                if k == "properties":
                    for field, sub in v.items():
                        walk(sub, path + "." + field if path else field, depth)
                elif k in ("additionalProperties", "patternProperties") and isinstance(v, dict):
                    subs = v.values() if k == "patternProperties" else [v]
                    for sub in subs:
                        walk(sub, path + ".*", depth)
                elif k != "$defs":
                    walk(v, path, depth)

        # netstat's counters are integers and its rates NAME_per_sec, which
        # the gauges rule matches: the schema cannot name them one by one
        exempt = {"netstat_section"}
        walk(schema, "")
        self.assertEqual(missed, set(), "number fields the template would map as long")


if __name__ == "__main__":
    unittest.main()
