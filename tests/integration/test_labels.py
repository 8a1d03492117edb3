# SPDX-License-Identifier: Apache-2.0
"""test_labels.py -- agent.labels: in every envelope (schema-valid), in sink
templates as {label.NAME}, on hostpulse_agent_info of the prometheus sink,
and bad names, values and references refused with FILE:LINE."""
import json
import os
import tempfile
import unittest
import urllib.request

from tests.integration import hp

LABELS = 'agent = { labels = { role = "db"; dc = "fra1"; note = "rack 4, row \\"b\\""; }; };\n'


class Labels(unittest.TestCase):
    def test_every_envelope_carries_the_labels(self):
        msgs, p = hp.run_once(LABELS)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreater(len(msgs), 3)
        for m in msgs:
            hp.validate(m)
            self.assertEqual(m["labels"], {"role": "db", "dc": "fra1", "note": 'rack 4, row "b"'})

    def test_no_labels_no_member(self):
        msgs, p = hp.run_once('agent = { hostname = "h"; };\n')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse([m for m in msgs if "labels" in m])

    def test_label_in_a_path_template(self):
        with tempfile.TemporaryDirectory() as d:
            conf = LABELS + ('sinks = ( { type = "es-file"; path = "%s/{label.dc}/{label.role}-'
                             '{reporter}.json"; } );\n' % d)
            path = hp.write_config(d, conf)
            p = hp.run(["-c", path, "--once"])
            self.assertEqual(p.returncode, 0, p.stderr)
            files = sorted(os.listdir(os.path.join(d, "fra1")))
            self.assertIn("db-mem.json", files)
            with open(os.path.join(d, "fra1", "db-mem.json")) as f:
                docs = [json.loads(line) for line in f if line.strip()]
            self.assertEqual(docs[1]["labels"]["dc"], "fra1")

    def test_bad_labels_and_references_name_file_and_line(self):
        with tempfile.TemporaryDirectory() as d:
            path = hp.write_config(d, (
                'agent = {\n'
                '  labels = {\n'
                '    ok = "a\\nb";\n'
                '    n = 3;\n'
                '    x-y = "1";\n'
                '    long = "%s";\n'
                '  };\n'
                '};\n') % ("v" * 129))
            p = hp.run(["-c", path, "--check"])
            self.assertEqual(p.returncode, 1)
            self.assertIn("hostpulse.conf:3: agent.labels.ok: contains a control character", p.stderr)
            self.assertIn("hostpulse.conf:4: agent.labels.n: must be a string", p.stderr)
            self.assertIn("hostpulse.conf:5: agent.labels.x-y: not a label name", p.stderr)
            self.assertIn("hostpulse.conf:6: agent.labels.long: 129 bytes; at most 128", p.stderr)
            path = hp.write_config(d, (
                'agent = { labels = { role = "a{b}"; }; };\n'
                'sinks = (\n'
                '  { type = "es-file"; path = "/tmp/{label.nope}.json"; },\n'
                '  { type = "es-file"; name = "b"; path = "/tmp/{label.role}.json"; }\n'
                ');\n'))
            p = hp.run(["-c", path, "--check"])
            self.assertEqual(p.returncode, 1)
            self.assertIn('hostpulse.conf:3: sinks[0].path: no label "nope" in agent.labels',
                          p.stderr)
            self.assertIn("hostpulse.conf:4: sinks[1].path: the value of label role contains",
                          p.stderr)

    def test_a_reload_applies_new_labels(self):
        with tempfile.TemporaryDirectory() as d:
            conf = 'reporters = { cpu = { interval = 0.2; }; };\n'
            path = hp.write_config(d, LABELS + conf)
            with hp.Agent(path, ["--stdout"]) as a:
                hp.wait_for(lambda: '"role":"db"' in a.read_stdout(), what="a labelled message")
                hp.write_config(d, 'agent = { labels = { role = "web"; }; };\n' + conf)
                a.send(hp.signal.SIGHUP)
                hp.wait_for(lambda: '"labels":{"role":"web"}' in a.read_stdout(),
                            what="the new labels")
            msgs = hp.parse_lines(a.stdout)
        labels = [m["labels"] for m in msgs]
        first_new = labels.index({"role": "web"})
        self.assertTrue(all(x == {"role": "web"} for x in labels[first_new:]))
        self.assertEqual(labels[0]["role"], "db")

    def test_prometheus_agent_info_has_the_labels(self):
        port = hp.free_port()
        with tempfile.TemporaryDirectory() as d:
            path = hp.write_config(d, LABELS + (
                'reporters = { agent = { interval = 0.5; }; };\n'
                'sinks = ( { type = "prometheus"; listen = "127.0.0.1:%d"; } );\n' % port))
            with hp.Agent(path):
                def info():
                    try:
                        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                                    timeout=5) as r:
                            body = r.read().decode()
                    except OSError:
                        return None
                    lines = [x for x in body.splitlines() if x.startswith("hostpulse_agent_info")]
                    return lines[0] if lines else None
                info_line = hp.wait_for(info, what="hostpulse_agent_info")
        self.assertIn('role="db"', info_line)
        self.assertIn('dc="fra1"', info_line)
        self.assertIn('note="rack 4, row \\"b\\""', info_line)
        self.assertIn('version="', info_line)


if __name__ == "__main__":
    unittest.main()
