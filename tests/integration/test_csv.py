# SPDX-License-Identifier: Apache-2.0
# test_csv.py -- the csv sink in a real agent run: the files parse with
# Python's csv module, the columns are the flattened data, and the rows are
# exactly the messages the stdout sink printed, per-device records (the
# agent report's sinks, spool and reporters) as rows of <reporter>.<group>.csv
# with a `device` column. A full disk (a tiny tmpfs)
# and an unwritable directory are clear, retried errors, not crashes, and
# lose nothing once space is back. The first column is the envelope's ts
# (epoch ms), header cells carry the schema's units ("bytes_recv [B]",
# checked against tools/gen_units.py's table) and deprecated fields have
# no column.
import csv
import fnmatch
import glob
import importlib.util
import json
import os
import re
import signal
import tempfile
import time
import unittest

import tests.integration.hp as hp

_spec = importlib.util.spec_from_file_location("gen_units",
                                               os.path.join(hp.ROOT, "tools", "gen_units.py"))
gen_units = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen_units)
UNITS, _ = gen_units.table(hp.SCHEMA)
LEAD = ["ts [epoch_ms]", "host", "session", "seq"]
# the columns every device row starts with; a record's field of one of these
# names is written as GROUP.NAME
DEVICE_LEAD = {"ts", "host", "session", "seq", "device"}


def unit_row(reporter, path):
    """(unit, deprecated) of the first table row matching path, or None."""
    segs = path.split(".")
    for rep, pat, unit, dep in UNITS:
        p = pat.split(".")
        if rep == reporter and len(p) == len(segs) and \
                all(fnmatch.fnmatchcase(v, g) for v, g in zip(segs, p)):
            return unit, dep
    return None


def schema_path(stem, key):
    """(reporter, path in data) of a column: <reporter>.csv columns carry the
    reporter's prefix; a group file's columns are a record's fields."""
    rep, _, group = stem.partition(".")
    if not group:
        return rep, key[len(rep) + 1:]
    return rep, group + ".*." + key


def column_unit(stem, key):
    rep, path = schema_path(stem, key)
    return unit_row(rep, path) or (unit_row(rep, path.replace(".*.", ".*.*.", 1))
                                   if "." in stem else None)


def split_header(stem, header):
    """Header cells -> bare keys, checking every cell's unit is the schema's."""
    keys = []
    for cell in header:
        m = re.fullmatch(r"(.*) \[([^\]]+)\]", cell)
        key = m.group(1) if m else cell
        u = column_unit(stem, key)
        want = u[0] if u and u[0] != "1" else None
        assert (m.group(2) if m else None) == want, "%s: %s, schema unit %s" % (stem, cell, want)
        assert not (u and u[1]), "%s: deprecated field %s has a column" % (stem, cell)
        keys.append(key)
    return keys


def deprecated(stem, key):
    u = column_unit(stem, key)
    return bool(u and u[1])

CONFIG = """
agent: { hostname = "csvhost"; tick = 0.05; };
reporters: { uptime: { interval = %(interval)s; }; agent: { interval = %(interval)s; }; };
sinks = (
  { type = "stdout"; },
  { type = "csv"; directory = "%(dir)s"; retry_initial = 0.05; retry_max = 0.2; %(extra)s }
);
"""


def is_group(v):
    """Per-device records (docs/csv.md): a non-empty list of objects, or a
    non-empty object whose values are all objects or all lists of objects."""
    objs = lambda a: all(isinstance(x, dict) for x in a)
    if isinstance(v, list):
        return bool(v) and objs(v)
    if not isinstance(v, dict) or not v:
        return False
    kinds = {"o" if isinstance(x, dict) else "a" if isinstance(x, list) and objs(x) else "x"
             for x in v.values()}
    return kinds in ({"o"}, {"a"})


def device_records(group):
    if isinstance(group, list):
        return [(str(i), r) for i, r in enumerate(group)]
    out = []
    for name, rec in group.items():
        out.extend([(name, rec)] if isinstance(rec, dict) else [(name, r) for r in rec])
    return out


def flatten(prefix, value, out):
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(prefix + "." + k, v, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            flatten("%s.%d" % (prefix, i), v, out)
    else:
        out[prefix] = value
    return out


def csv_files(directory, stem):
    """stem.csv and its rotated generations stem-<time>.csv."""
    return sorted(glob.glob(os.path.join(directory, stem + ".csv")) +
                  glob.glob(os.path.join(directory, stem + "-*.csv")))


def read_device_rows(directory, stem):
    """Rows of a group file by (seq, device): lists (a device may repeat)."""
    rows = {}
    for path in csv_files(directory, stem):
        with open(path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            assert header[:5] == LEAD + ["device"], header
            header = header[:5] + split_header(stem, header[5:])
            for row in reader:
                assert len(row) == len(header), "row width differs from %s's header" % path
                rows.setdefault((int(row[3]), row[4]), []).append(dict(zip(header, row)))
    return rows


def read_rows(directory, reporter):
    """All rows of a reporter's files (current and rotated), by seq."""
    rows = {}
    for path in csv_files(directory, reporter):
        with open(path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            assert header[:4] == LEAD, header
            header = LEAD + split_header(reporter, header[4:])
            assert len(header) == len(set(header)), "duplicate columns in %s" % path
            for row in reader:
                assert len(row) == len(header), "row width differs from %s's header" % path
                seq = int(row[3])
                assert seq not in rows, "%s #%d twice" % (reporter, seq)
                rows[seq] = dict(zip(header, row))
    return rows


def csv_failures(stdout):
    # sinks.csv.failed of the newest agent self-report in stdout
    failed = 0
    for m in hp.parse_lines(stdout):
        if m["reporter"] == "agent" and "csv" in m["data"]["sinks"]:
            failed = m["data"]["sinks"]["csv"]["failed"]
    return failed


class CsvTest(unittest.TestCase):
    def assertRowsMatch(self, directory, msgs):
        by_rep = {}
        for m in msgs:
            by_rep.setdefault(m["reporter"], []).append(m)
        for rep, ms in by_rep.items():
            rows = read_rows(directory, rep)
            self.assertEqual(sorted(rows), sorted(m["seq"] for m in ms), rep)
            for m in ms:
                row = rows[m["seq"]]
                self.assertEqual(row["ts [epoch_ms]"], str(m["ts"]))
                self.assertEqual(row["host"], m["host"])
                self.assertEqual(row["session"], m["session"])
                plain = {k: v for k, v in m["data"].items() if not is_group(v)}
                want = {k: v for k, v in flatten(rep, plain, {}).items()
                        if not deprecated(rep, k)}
                self.assertCells(row, want)
                for group, value in m["data"].items():
                    if is_group(value):
                        self.assertDevices(directory, rep + "." + group, m, value)

    def assertDevices(self, directory, stem, m, value):
        rows = read_device_rows(directory, stem)
        seen = {}
        for device, rec in device_records(value):
            k = seen[device] = seen.get(device, -1) + 1
            got = rows.get((m["seq"], device), [])
            self.assertGreater(len(got), k, "%s: #%d %s" % (stem, m["seq"], device))
            want = {k: v for k, v in flatten("", rec, {}).items() if not deprecated(stem, k[1:])}
            # a field named like a lead column (disk.filesystems' own
            # `device`) is written under the group's name
            group = stem.split(".")[-1]
            want = {("." + group + k if k[1:].split(".")[0] in DEVICE_LEAD else k): v
                    for k, v in want.items()}
            self.assertCells(got[k], want, skip=5, strip=True)

    def assertCells(self, row, want, skip=4, strip=False):
        if strip:  # a device record's fields have no prefix
            want = {k[1:]: v for k, v in want.items()}
        for col, cell in list(row.items())[skip:]:
            if col not in want:
                self.assertEqual(cell, "", col)
            elif isinstance(want[col], str):
                self.assertEqual(cell, want[col], col)
            elif isinstance(want[col], bool) or want[col] is None:
                self.assertEqual(cell, json.dumps(want[col]), col)
            else:
                self.assertEqual(float(cell), float(want[col]), col)
        self.assertLessEqual(set(want), set(row), "every data field has a column")

    def run_agent(self, directory, interval="0.1", extra="", until=None):
        with tempfile.TemporaryDirectory() as cdir:
            path = hp.write_config(cdir, CONFIG % {"dir": directory, "interval": interval,
                                                   "extra": extra})
            with hp.Agent(path) as a:
                hp.wait_for(lambda: until(a), timeout=30, what="agent state")
            self.assertEqual(a.returncode, 0, a.stderr)
            return hp.parse_lines(a.stdout), a

    def test_rows_match_stdout(self):
        with tempfile.TemporaryDirectory() as d:
            msgs, _ = self.run_agent(d, until=lambda a: a.read_stdout().count("\n") >= 12)
            self.assertTrue(os.path.exists(os.path.join(d, "uptime.csv")))
            self.assertRowsMatch(d, msgs)

    def test_disk_devices_in_ms_with_units(self):
        # Issue 16 item 8, read as a user would: every row's first column is
        # the sample time in epoch ms, close to now; the disk times are
        # busy_time_ms [ms] and the deprecated busy_time has no column.
        conf = CONFIG.replace("uptime: {", "disk: { interval = 0.2; exclude_devices = []; }; "
                                           "uptime: {")
        with tempfile.TemporaryDirectory() as d, tempfile.TemporaryDirectory() as cdir:
            path = hp.write_config(cdir, conf % {"dir": d, "interval": "0.1", "extra": ""})
            devs = os.path.join(d, "disk.devices.csv")
            with hp.Agent(path) as a:
                hp.wait_for(lambda: os.path.exists(devs) and
                            open(devs).read().count("\n") > 3, what="disk device rows")
            self.assertEqual(a.returncode, 0, a.stderr)
            now = time.time() * 1000
            for name in sorted(os.listdir(d)):
                with open(os.path.join(d, name), newline="") as f:
                    rows = list(csv.reader(f))
                self.assertEqual(rows[0][0], "ts [epoch_ms]", name)
                for row in rows[1:]:
                    self.assertRegex(row[0], r"^[0-9]{13}$", name)
                    self.assertLess(abs(int(row[0]) - now), 120000, name)
            with open(devs, newline="") as f:
                header = next(csv.reader(f))
            for cell in ("busy_time_ms [ms]", "read_time_ms [ms]", "write_time_ms [ms]",
                         "read_bytes [B]", "read_bytes_per_sec [B/s]", "busy_percent [%]",
                         "read_count"):
                self.assertIn(cell, header)
            self.assertFalse([c for c in header if re.match(r"(read|write|busy)_time( |$)", c)],
                             header)
            self.assertRowsMatch(d, hp.parse_lines(a.stdout))

    def test_directory_template_and_reload_refused_at_init(self):
        # {host} in the directory is the agent's host name. A reload whose
        # sink init fails (an unknown placeholder: only init can tell) is
        # refused with the setting's FILE:LINE, after the old transport
        # stopped; the old sink then goes on writing where it did.
        with tempfile.TemporaryDirectory() as d, tempfile.TemporaryDirectory() as cdir:
            good = CONFIG % {"dir": d + "/{host}", "interval": "0.1", "extra": ""}
            path = hp.write_config(cdir, good)
            rows = os.path.join(d, "csvhost", "uptime.csv")
            with hp.Agent(path) as a:
                hp.wait_for(lambda: os.path.exists(rows), what="csv file under {host}")
                hp.write_config(cdir, good.replace("/{host}", "/{hots}"))
                a.send(signal.SIGHUP)
                hp.wait_for(lambda: "keeping the running configuration" in a.read_stderr(),
                            what="refused reload")
                n = len(read_rows(os.path.join(d, "csvhost"), "uptime"))
                hp.wait_for(lambda: len(read_rows(os.path.join(d, "csvhost"), "uptime")) > n + 2,
                            what="rows after the refused reload")
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertRegex(a.stderr, r"hostpulse.conf:6: sink csv: directory \"[^\"]*/\{hots\}\": "
                             r"unknown placeholder \{hots\}")
            self.assertFalse(os.path.exists(os.path.join(d, "{hots}")))
            self.assertRowsMatch(os.path.join(d, "csvhost"), hp.parse_lines(a.stdout))

    def test_unwritable_directory_is_retried(self):
        with tempfile.TemporaryDirectory() as d:
            open(os.path.join(d, "plain"), "w").close()
            target = os.path.join(d, "plain", "csv")
            _, a = self.run_agent(target, until=lambda a: csv_failures(a.read_stdout()) >= 3)
            self.assertIn("create directory %s: Not a directory" % target, a.stderr)
            # retried (the self-report counts every attempt) but logged once
            self.assertEqual(a.stderr.count("Not a directory; retrying"), 1, a.stderr)

    def test_full_disk_is_retried_without_loss(self):
        d = hp.tiny_tmpfs(self, "64k")
        grown = []

        def full_then_grow(a):
            err = a.read_stderr()
            if not grown and "No space left on device" in err:
                # Space comes back: the backlog must arrive, once.
                hp.grow_tmpfs(d, "16m")
                grown.append(err.count("\n"))
            return grown and "connected again" in err[len(err) - 2000:] and \
                a.read_stdout().count("\n") > 50

        msgs, a = self.run_agent(d, interval="0.01", until=full_then_grow)
        self.assertIn("write %s/" % d, a.stderr)
        self.assertIn("No space left on device", a.stderr)
        self.assertRowsMatch(d, msgs)


if __name__ == "__main__":
    unittest.main()
