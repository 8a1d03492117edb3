# SPDX-License-Identifier: Apache-2.0
# test_units.py -- units as data: every numeric field of the message schema
# has a "unit" from the documented vocabulary (or "1", explicitly none),
# lib/units_table.c is what tools/gen_units.py makes of the schema (a stale
# table fails here), and the checks do fail on a field without a unit, an
# unknown unit or an edited schema. Messages of a real agent, every
# reporter on, validate against the annotated schema.
import copy
import importlib.util
import os
import re
import subprocess
import sys
import unittest

import tests.integration.hp as hp

GEN = os.path.join(hp.ROOT, "tools", "gen_units.py")
spec = importlib.util.spec_from_file_location("gen_units", GEN)
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)


class UnitsTest(unittest.TestCase):
    def test_committed_table_is_current(self):
        p = subprocess.run([sys.executable, GEN, "--check"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_every_numeric_field_has_a_unit(self):
        rows, errors = gen.table(hp.SCHEMA)
        self.assertEqual(errors, [])
        got = {(r, p): (u, d) for r, p, u, d in rows}
        # spot checks, one per kind of place a unit comes from
        self.assertEqual(got[("disk", "devices.*.busy_time_ms")], ("ms", False))
        self.assertEqual(got[("disk", "devices.*.busy_time")], ("ms", True))
        self.assertEqual(got[("net", "interfaces.*.bytes_recv")], ("B", False))
        self.assertEqual(got[("net", "total.bytes_recv_per_sec")], ("B/s", False))
        self.assertEqual(got[("uptime", "boot_time")], ("epoch_ms", False))
        self.assertEqual(got[("cpu", "cpus.*.times.user")], ("s", False))
        self.assertEqual(got[("pressure", "io.some.total")], ("us", False))
        self.assertEqual(got[("netstat", "tcp.*_per_sec")], ("1/s", False))
        self.assertEqual(got[("temperature", "sensors.*.value")], ("Cel", False))
        self.assertEqual(got[("ipaddr", "interfaces.*.*.prefixlen")], ("bit", False))
        reporters = {r for r, _, _, _ in rows}
        self.assertEqual(reporters, {"session", "agent", "uptime", "cpu", "mem", "net", "ipaddr",
                                     "disk", "process", "temperature", "pressure", "netstat",
                                     "cgroup"})

    def test_a_field_without_a_unit_is_an_error(self):
        s = copy.deepcopy(hp.SCHEMA)
        del s["$defs"]["uptime"]["properties"]["boot_time"]["$ref"]
        s["$defs"]["uptime"]["properties"]["boot_time"]["type"] = "integer"
        _, errors = gen.table(s)
        self.assertEqual(errors, ['uptime: boot_time: numeric field without a "unit"'])
        s["$defs"]["uptime"]["properties"]["boot_time"]["unit"] = "msec"
        _, errors = gen.table(s)
        self.assertEqual(errors, ["uptime: boot_time: unit 'msec' is not in the vocabulary"])

    def test_an_edited_schema_makes_the_table_stale(self):
        s = copy.deepcopy(hp.SCHEMA)
        s["$defs"]["disk"]["properties"]["devices"]["additionalProperties"]["properties"][
            "in_progress"]["unit"] = "s"
        rows, _ = gen.table(s)
        with open(gen.TABLE) as f:
            self.assertNotEqual(gen.render(rows), f.read())

    def test_vocabulary_is_documented(self):
        with open(os.path.join(hp.ROOT, "docs", "message-format.md")) as f:
            doc = f.read()
        section = doc.split("## Units", 1)[1].split("\n## ", 1)[0]
        documented = set(re.findall(r"^\| `([^`]+)` \|", section, re.M))
        self.assertEqual(documented, gen.UNITS)

    def test_live_messages_validate(self):
        conf = ("reporters: { pressure: { enabled = true; }; netstat: { enabled = true; "
                "full = true; }; cgroup: { enabled = true; }; process: { enabled = true; }; };\n")
        msgs, p = hp.run_once(conf)
        self.assertEqual(p.returncode, 0, p.stderr)
        seen = set()
        for m in msgs:
            hp.validate(m)
            seen.add(m["reporter"])
        self.assertLessEqual({"cpu", "mem", "disk", "netstat", "agent"}, seen)


if __name__ == "__main__":
    unittest.main()
