# SPDX-License-Identifier: Apache-2.0
"""test_example_sink.py -- "adding a sink is one new file in transport/sinks/
plus one line in transport/registry.c" is checked, not just claimed.

The example sink's code and its registry line are extracted from
docs/architecture.md (between the example-sink markers), written into a
scratch copy of the source tree (lib, agent, reporters, transport, the
Makefile) with its own copy of this build's objects, so make only compiles
the new file and the registry; the agent built there with no Makefile edit
runs --once with a config naming the sink, and every message it wrote must
be a valid envelope.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import tests.integration.hp as hp

DOC = os.path.join(hp.ROOT, "docs", "architecture.md")
SOURCES = ("lib", "agent", "reporters", "transport", "Makefile")


def extract():
    """(file path, its code, the registry line) from the architecture doc."""
    with open(DOC) as f:
        doc = f.read()
    m = re.search(r"<!-- example-sink:begin (\S+) -->\s*```c\n(.*?)```\s*<!-- example-sink:end -->",
                  doc, re.S)
    r = re.search(r"<!-- example-sink:registry -->\s*```c\n(.*?)```", doc, re.S)
    if not m or not r:
        raise AssertionError("docs/architecture.md lost its example-sink markers")
    return m.group(1), m.group(2), r.group(1).rstrip("\n")


class ExampleSink(unittest.TestCase):
    def test_doc_example_builds_and_delivers(self):
        path, code, line = extract()
        self.assertTrue(path.startswith("transport/sinks/"), path)
        variant = os.path.basename(hp.BUILD.rstrip("/"))
        with tempfile.TemporaryDirectory() as tmp:
            for s in SOURCES:
                src, dst = os.path.join(hp.ROOT, s), os.path.join(tmp, s)
                if os.path.isdir(src):
                    shutil.copytree(src, dst)
                else:
                    shutil.copy2(src, dst)
            # This build's objects, timestamps kept: only the new file and
            # the registry are compiled again.
            shutil.copytree(hp.BUILD, os.path.join(tmp, "build", variant), symlinks=True,
                            ignore=shutil.ignore_patterns("test-logs", "tests", "bench"))
            self.assertFalse(os.path.exists(os.path.join(tmp, path)), "the example already exists")
            with open(os.path.join(tmp, path), "w") as f:
                f.write(code)
            reg = os.path.join(tmp, "transport", "registry.c")
            with open(reg) as f:
                text = f.read()
            anchor = re.search(r"#define HP_SINKS\s*\\\n", text)
            self.assertIsNotNone(anchor, "transport/registry.c has no HP_SINKS list")
            with open(reg, "w") as f:
                f.write(text[:anchor.end()] + line + "\n" + text[anchor.end():])
            b = subprocess.run(["make", "-s", "-j2", "VARIANT=" + variant,
                                "build/%s/hostpulse" % variant],
                               cwd=tmp, capture_output=True, text=True, timeout=600)
            self.assertEqual(b.returncode, 0, b.stdout + b.stderr)
            out = os.path.join(tmp, "out.jsonl")
            conf = hp.write_config(tmp, """
                reporters: { uptime: { enabled = true; }; mem: { enabled = true; }; };
                sinks: ( { type = "example"; path = "%s"; } );
            """ % out)
            agent = os.path.join(tmp, "build", variant, "hostpulse")
            env = dict(os.environ, HOSTPULSE_SPOOL_DIR=os.path.join(tmp, "spool"))
            p = subprocess.run([agent, "-c", conf, "--once"], capture_output=True, text=True,
                               timeout=60 * hp.SLOW, env=env)
            hp.check_sanitizers(p.stderr)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out) as f:
                msgs = hp.parse_lines(f.read())
            self.assertIn("uptime", [m["reporter"] for m in msgs], p.stderr)
            for m in msgs:
                hp.validate(m)


if __name__ == "__main__":
    unittest.main()
