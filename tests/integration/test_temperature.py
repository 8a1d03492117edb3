# SPDX-License-Identifier: Apache-2.0
# test_temperature.py -- the temperature reporter end to end: the agent in a
# private mount namespace whose /sys/class holds a fake hwmon tree (values,
# limits, labels and the cpu summary must come out exactly), the live run
# on this machine (no sensors: an empty list and one warning), and a bad
# libsensors config path as a FILE:LINE error of --check.
import os
import shutil
import subprocess
import tempfile
import unittest

import tests.integration.hp as hp

CONFIG = """
reporters: {
  uptime: { enabled = false; };
  agent: { enabled = false; };
  process: { enabled = false; };
  temperature: { enabled = true; interval = 1.0; };
};
sinks = ( { type = "stdout"; } );
"""

# hwmonN: {file: content}; written under a tmpfs mounted on /sys/class
HWMON = {
    "hwmon0": {"name": "k10temp", "temp1_input": "61250", "temp1_label": "Tctl",
               "temp3_input": "55000", "temp3_label": "Tccd1"},
    "hwmon1": {"name": "nvme", "temp1_input": "38850", "temp1_label": "Composite",
               "temp1_max": "81850", "temp1_crit": "84850"},
    "hwmon2": {"name": "acpitz", "temp1_input": "16800", "temp1_crit": "105000"},
}

EXPECTED = {
    "sensors": [
        {"chip": "k10temp-virtual-0", "adapter": "Virtual device", "label": "Tctl",
         "value": 61.25},
        {"chip": "k10temp-virtual-0", "adapter": "Virtual device", "label": "Tccd1",
         "value": 55},
        {"chip": "nvme-virtual-0", "adapter": "Virtual device", "label": "Composite",
         "value": 38.85, "high": 81.85, "crit": 84.85},
        {"chip": "acpitz-virtual-0", "adapter": "Virtual device", "label": "temp1",
         "value": 16.8, "crit": 105},
    ],
    "cpu": 61.25,
    "cpu_sensor": "k10temp-virtual-0/Tctl",
}


def fake_hwmon_script(agent_args):
    lines = ["set -e", "mount --make-rprivate /", "mount -t tmpfs hp-hwmon /sys/class",
             "mkdir -p /sys/class/hwmon"]
    for chip, files in HWMON.items():
        d = "/sys/class/hwmon/" + chip
        lines.append("mkdir %s" % d)
        for name, text in files.items():
            lines.append("echo '%s' > %s/%s" % (text, d, name))
    lines.append("exec " + " ".join("'%s'" % a for a in agent_args))
    return "\n".join(lines)


class FakeHwmonTest(unittest.TestCase):
    def test_fake_tree_in_private_mount_namespace(self):
        if os.geteuid() != 0:
            self.skipTest("needs root for a private mount namespace (unshare -m)")
        if not shutil.which("unshare"):
            self.skipTest("unshare(1) is not installed")
        probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True)
        if probe.returncode != 0:
            self.skipTest("cannot create a mount namespace here: " + probe.stderr.strip())
        with tempfile.TemporaryDirectory() as d:
            conf = hp.write_config(d, CONFIG)
            script = fake_hwmon_script([hp.BIN, "-c", conf, "--once", "--stdout"])
            p = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True,
                               text=True, timeout=60 * hp.SLOW)
        self.assertEqual(p.returncode, 0, p.stderr)
        msgs = [m for m in hp.parse_lines(p.stdout) if m["reporter"] == "temperature"]
        self.assertEqual(len(msgs), 1, p.stdout)
        hp.validate(msgs[0])
        self.assertEqual(msgs[0]["data"], EXPECTED)
        self.assertNotIn("no temperature sensors", p.stderr)


def host_has_temperature():
    hwmon = "/sys/class/hwmon"
    return os.path.isdir(hwmon) and any(
        f.startswith("temp") and f.endswith("_input")
        for c in os.listdir(hwmon) for d in (os.path.join(hwmon, c), os.path.join(hwmon, c, "device"))
        if os.path.isdir(d) for f in os.listdir(d))


class AutoTest(unittest.TestCase):
    """Without `enabled` the reporter is on only where a sensor exists."""

    def test_auto_on_this_host(self):
        msgs, p = hp.run_once(CONFIG.replace("enabled = true; interval", "interval"))
        self.assertEqual(p.returncode, 0, p.stderr)
        temps = [m for m in msgs if m["reporter"] == "temperature"]
        if host_has_temperature():
            self.assertEqual(len(temps), 1, p.stdout)
            self.assertTrue(temps[0]["data"]["sensors"])
        else:
            self.assertEqual(temps, [], "no message with an empty sensor list")
            self.assertNotIn("warning", p.stderr)
            lines = [l for l in p.stderr.splitlines() if "temperature:" in l]
            self.assertEqual(len(lines), 1, p.stderr)
            self.assertIn(": info: temperature: no temperature sensors", lines[0])

    def test_auto_with_a_fake_sensor(self):
        if os.geteuid() != 0:
            self.skipTest("needs root for a private mount namespace (unshare -m)")
        if not shutil.which("unshare"):
            self.skipTest("unshare(1) is not installed")
        probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True)
        if probe.returncode != 0:
            self.skipTest("cannot create a mount namespace here: " + probe.stderr.strip())
        with tempfile.TemporaryDirectory() as d:
            conf = hp.write_config(d, CONFIG.replace("enabled = true; interval", "interval"))
            script = fake_hwmon_script([hp.BIN, "-c", conf, "--once", "--stdout"])
            p = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True,
                               text=True, timeout=60 * hp.SLOW)
        self.assertEqual(p.returncode, 0, p.stderr)
        msgs = [m for m in hp.parse_lines(p.stdout) if m["reporter"] == "temperature"]
        self.assertEqual(len(msgs), 1, p.stdout)
        self.assertEqual(msgs[0]["data"], EXPECTED)


class LiveTest(unittest.TestCase):
    def test_live_run(self):
        msgs, p = hp.run_once(CONFIG)
        self.assertEqual(p.returncode, 0, p.stderr)
        temps = [m for m in msgs if m["reporter"] == "temperature"]
        self.assertEqual(len(temps), 1, p.stdout)
        hp.validate(temps[0])
        if host_has_temperature():
            self.assertTrue(temps[0]["data"]["sensors"])
        else:
            # enabled = true on a host without sensors: empty lists, a warning once
            self.assertEqual(temps[0]["data"], {"sensors": []})
            self.assertEqual(p.stderr.count("temperature: no temperature sensors found"), 1,
                             p.stderr)

    def test_missing_sensors_config_is_a_check_error(self):
        with tempfile.TemporaryDirectory() as d:
            path = hp.write_config(d, 'reporters: { temperature: { enabled = true;\n'
                                      '  config = "/nonexistent/sensors3.conf"; }; };\n')
            p = hp.run(["-c", path, "--check"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("%s:2: reporters.temperature.config: cannot open" % path, p.stderr)

    def test_custom_sensors_config(self):
        # an empty libsensors config is valid; the run still succeeds
        with tempfile.TemporaryDirectory() as d:
            sc = os.path.join(d, "sensors.conf")
            with open(sc, "w") as f:
                f.write("# nothing\n")
            msgs, p = hp.run_once(CONFIG.replace("interval = 1.0;",
                                                 'interval = 1.0; config = "%s";' % sc))
        self.assertEqual(p.returncode, 0, p.stderr)
        temps = [m for m in msgs if m["reporter"] == "temperature"]
        self.assertEqual(len(temps), 1)
        hp.validate(temps[0])


if __name__ == "__main__":
    unittest.main()
