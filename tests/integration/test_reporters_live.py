# SPDX-License-Identifier: Apache-2.0
# test_reporters_live.py -- the system reporters (cpu, mem, net, uptime,
# ipaddr, disk) end to end: `hostpulse --once --stdout` on this machine gives
# one schema-valid message per reporter whose values agree with /proc, /sys,
# statvfs and `ip -j addr` read independently here; the same run against
# the fixture tree (HOSTPULSE_PROC_ROOT/HOSTPULSE_SYS_ROOT) gives the
# fixture's hand-computed values.
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import tests.integration.hp as hp

NAMES = ("cpu", "mem", "net", "uptime", "ipaddr", "disk")
CONFIG = """
agent: { hostname = "livetest"; };
reporters: {
  cpu: { interval = 1.0; }; mem: { interval = 1.0; }; net: { interval = 1.0; };
  uptime: { interval = 1.0; }; ipaddr: { interval = 1.0; }; disk: { interval = 1.0; };
  agent: { enabled = false; }; process: { enabled = false; };
  temperature: { enabled = false; };
};
sinks = ( { type = "stdout"; } );
"""

EVERY = ("cpu", "mem", "net", "process", "uptime", "ipaddr", "temperature", "disk", "agent")
EVERY_CONFIG = "reporters: {\n%s};\nsinks = ( { type = \"stdout\"; } );\n" % "".join(
    "  %s: { enabled = true; interval = 1.0; };\n" % n for n in EVERY)


def read(path):
    with open(path) as f:
        return f.read()


def meminfo_kb(key, root="/proc"):
    for line in read(root + "/meminfo").splitlines():
        name, _, rest = line.partition(":")
        if name == key:
            return int(rest.split()[0])
    raise KeyError(key)


def net_dev(root="/proc"):
    out = {}
    for line in read(root + "/net/dev").splitlines()[2:]:
        name, _, rest = line.partition(":")
        v = [int(x) for x in rest.split()]
        out[name.strip()] = {"bytes_recv": v[0], "packets_recv": v[1], "bytes_sent": v[8],
                             "packets_sent": v[9]}
    return out


def is_loopback(name, sys_root="/sys"):
    try:
        return int(read("%s/class/net/%s/flags" % (sys_root, name)), 16) & 0x8 != 0
    except OSError:
        return name == "lo"


class EveryReporterTest(unittest.TestCase):
    def test_every_reporter_once_gives_one_valid_message_each(self):
        msgs, p = hp.run_once(EVERY_CONFIG)
        self.assertEqual(p.returncode, 0, p.stderr)
        for m in msgs:
            hp.validate(m)
        self.assertEqual(sorted(m["reporter"] for m in msgs), sorted(EVERY))


def run(env=None):
    msgs, p = hp.run_once(CONFIG, env=env)
    if p.returncode != 0:
        raise AssertionError("hostpulse failed: %s" % p.stderr)
    by = {}
    for m in msgs:
        hp.validate(m)
        if m["reporter"] in by:
            raise AssertionError("two %s messages" % m["reporter"])
        by[m["reporter"]] = m["data"]
    return by, p


class LiveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.before_net = net_dev()
        cls.before_uptime = float(read("/proc/uptime").split()[0])
        cls.data, cls.proc = run()
        cls.after_net = net_dev()
        cls.after_uptime = float(read("/proc/uptime").split()[0])

    def test_one_valid_message_per_reporter(self):
        self.assertEqual(sorted(self.data), sorted(NAMES))

    def test_cpu(self):
        d = self.data["cpu"]
        stat = read("/proc/stat").splitlines()
        ncpu = sum(1 for l in stat if l.startswith("cpu") and l[3].isdigit())
        self.assertEqual(d["count"], ncpu)
        self.assertEqual(len(d["cpus"]), ncpu)
        # Primed by the scheduler: the published message carries percentages.
        self.assertIn("percent", d)
        self.assertIn("ctx_switches_per_sec", d)
        total = sum(d[k] for k in ("user", "nice", "system", "idle", "iowait", "irq", "softirq",
                                   "steal"))
        self.assertAlmostEqual(total, 100.0, delta=0.1)
        ctxt = int(next(l for l in stat if l.startswith("ctxt ")).split()[1])
        self.assertLessEqual(d["ctx_switches"], ctxt)
        hz = os.sysconf("SC_CLK_TCK")
        user_now = int(stat[0].split()[1]) / hz
        self.assertLessEqual(d["times"]["user"], user_now + 0.01)

    def test_mem(self):
        d = self.data["mem"]
        self.assertEqual(d["total"], meminfo_kb("MemTotal") * 1024)
        self.assertEqual(d["swap"]["total"], meminfo_kb("SwapTotal") * 1024)
        self.assertLessEqual(d["available"], d["total"])
        self.assertEqual(d["used"], d["total"] - d["free"] - d["buffers"] - d["cached"])

    def test_net(self):
        d = self.data["net"]
        want = sorted(n for n in self.before_net if not is_loopback(n))
        self.assertEqual(sorted(d["interfaces"]), want)
        for name, got in d["interfaces"].items():
            for key in ("bytes_recv", "packets_recv", "bytes_sent", "packets_sent"):
                self.assertGreaterEqual(got[key], self.before_net[name][key], name + key)
                self.assertLessEqual(got[key], self.after_net[name][key], name + key)
            self.assertIn("bytes_recv_per_sec", got)
        self.assertEqual(d["total"]["bytes_recv"],
                         sum(v["bytes_recv"] for v in d["interfaces"].values()))

    def test_uptime(self):
        d = self.data["uptime"]
        btime = int(next(l for l in read("/proc/stat").splitlines()
                         if l.startswith("btime ")).split()[1])
        self.assertEqual(d["boot_time"], btime * 1000)
        self.assertGreaterEqual(d["uptime"], self.before_uptime - 0.01)
        self.assertLessEqual(d["uptime"], self.after_uptime + 0.01)

    def test_ipaddr_matches_ip_addr(self):
        ip = shutil.which("ip")
        if not ip:
            self.skipTest("iproute2's ip is not installed")
        links = json.loads(subprocess.run([ip, "-j", "addr"], capture_output=True, text=True,
                                          check=True).stdout)
        want = {}
        for link in links:
            if "LOOPBACK" in link.get("flags", []):
                continue
            for a in link.get("addr_info", []):
                if a["family"] not in ("inet", "inet6") or a.get("scope") == "link":
                    continue
                want.setdefault(link["ifname"], set()).add(
                    (a["family"], a["local"], a["prefixlen"]))
        got = {name: {(a["family"], a["address"], a["prefixlen"]) for a in addrs}
               for name, addrs in self.data["ipaddr"]["interfaces"].items()}
        self.assertEqual(got, want)

    def test_disk(self):
        d = self.data["disk"]
        names = [l.split()[2] for l in read("/proc/diskstats").splitlines()]
        want = sorted(n for n in names if not n.startswith(("loop", "ram")))
        self.assertEqual(sorted(d["devices"]), want)
        for name in want:
            self.assertIn("read_bytes_per_sec", d["devices"][name])
        real = {l.split()[1] for l in read("/proc/self/mounts").splitlines()
                if l.split()[2] in {x.strip() for x in read("/proc/filesystems").splitlines()
                                    if not x.startswith("nodev")}}
        self.assertTrue(set(d["filesystems"]) <= real, (d["filesystems"].keys(), real))
        if "/" in d["filesystems"]:
            st = os.statvfs("/")
            self.assertEqual(d["filesystems"]["/"]["total"], st.f_blocks * st.f_frsize)
            self.assertEqual(d["filesystems"]["/"]["inodes_total"], st.f_files)


class FixtureRootTest(unittest.TestCase):
    # The same run with /proc and /sys redirected to the big-a fixture.
    def test_fixture_values(self):
        root = os.path.join(hp.FIXTURES, "big-a")
        data, _ = run(env={"HOSTPULSE_PROC_ROOT": os.path.join(root, "proc"),
                           "HOSTPULSE_SYS_ROOT": os.path.join(root, "sys")})
        self.assertEqual(sorted(data), sorted(NAMES))
        self.assertEqual(data["cpu"]["count"], 64)
        self.assertEqual(data["cpu"]["load1"], 1.5)
        self.assertNotIn("percent", data["cpu"])  # the files did not change: no interval
        self.assertEqual(data["mem"]["total"], 16384000 * 1024)
        self.assertEqual(data["mem"]["used"], 8704000 * 1024)
        self.assertEqual(data["mem"]["swap"]["percent"], 25)
        self.assertEqual(len(data["net"]["interfaces"]), 10)
        self.assertEqual(data["net"]["total"]["bytes_recv"], 6479000)
        self.assertEqual(data["net"]["total"]["bytes_recv_per_sec"], 0)
        self.assertEqual(data["uptime"]["boot_time"], 1763700000000)
        self.assertEqual(sorted(data["disk"]["devices"]), ["dm-0", "nvme0n1", "sda", "sda1"])
        self.assertEqual(sorted(data["disk"]["filesystems"]), ["/", "/tmp"])


if __name__ == "__main__":
    unittest.main()


IPADDR_CONFIG = """
reporters: {
  ipaddr: { interval = 0.2; loopback = true; };
  cpu: { enabled = false; }; mem: { enabled = false; }; net: { enabled = false; };
  uptime: { enabled = false; }; disk: { enabled = false; }; agent: { enabled = false; };
  process: { enabled = false; }; temperature: { enabled = false; };
};
sinks = ( { type = "stdout"; } );
"""


class IpaddrChangeTest(unittest.TestCase):
    """ipaddr reuses its last address list until netlink reports a change:
    in a private network namespace, an address added while the agent runs
    shows up in the samples after it, and one removed goes away."""

    def test_address_changes_are_seen(self):
        if os.geteuid() != 0:
            self.skipTest("needs root for a private network namespace (unshare -n)")
        if not shutil.which("unshare") or not shutil.which("ip"):
            self.skipTest("unshare(1) or ip(8) is not installed")
        probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
        if probe.returncode != 0:
            self.skipTest("cannot create a network namespace here: " + probe.stderr.strip())
        with tempfile.TemporaryDirectory() as d:
            conf = hp.write_config(d, IPADDR_CONFIG)
            script = ("ip link set lo up; '%s' -c '%s' & sleep %s; "
                      "echo MARK-ADD >&2; ip addr add 10.9.9.9/32 dev lo; sleep %s; "
                      "ip addr del 10.9.9.9/32 dev lo; sleep %s; kill -TERM $!; wait $!"
                      % (hp.BIN, conf, 1.0 * hp.SLOW, 1.0 * hp.SLOW, 1.0 * hp.SLOW))
            p = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True,
                               text=True, timeout=60 * hp.SLOW,
                               env=dict(os.environ, HOSTPULSE_SPOOL_DIR=d))
        self.assertEqual(p.returncode, 0, p.stderr)
        seen = []
        for m in hp.parse_lines(p.stdout):
            hp.validate(m)
            if m["reporter"] != "ipaddr":
                continue
            addrs = {a["address"] for a in m["data"]["interfaces"].get("lo", [])}
            seen.append("10.9.9.9" in addrs)
        # absent, then present, then absent again: in that order
        runs = [k for i, k in enumerate(seen) if i == 0 or seen[i - 1] != k]
        self.assertEqual(runs, [False, True, False], seen)


DISK_CONFIG = """
reporters: { disk: { interval = 0.2; %s }; };
sinks = ( { type = "stdout"; } );
"""


class DiskMountChangeTest(unittest.TestCase):
    """disk keeps the mount table it read until procfs reports a change
    (poll on /proc/self/mounts): a filesystem mounted while the agent runs
    shows up in the samples after it, and goes away after its unmount."""

    def fstypes(self, conf_extra, mount, umount, where):
        with tempfile.TemporaryDirectory() as d:
            conf = hp.write_config(d, DISK_CONFIG % conf_extra)
            with hp.Agent(conf) as a:
                time.sleep(1.0 * hp.SLOW)
                mount()
                time.sleep(1.0 * hp.SLOW)
                umount()
                time.sleep(1.0 * hp.SLOW)
                self.assertIsNone(a.proc.poll(), a.read_stderr())
            self.assertEqual(a.returncode, 0, a.stderr)
        seen = []
        for m in hp.parse_lines(a.stdout):
            if m["reporter"] == "disk":
                hp.validate(m)
                seen.append(m["data"].get("filesystems", {}).get(where, {}).get("fstype"))
        return [k for i, k in enumerate(seen) if i == 0 or seen[i - 1] != k]

    def need_root(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to mount")

    def test_configured_mount_point_gets_its_new_filesystem(self):
        self.need_root()
        mnt = tempfile.mkdtemp(prefix="hp-mnt-")
        self.addCleanup(shutil.rmtree, mnt, ignore_errors=True)
        self.addCleanup(subprocess.run, ["umount", "-l", mnt], capture_output=True)
        runs = self.fstypes('mounts = ["%s"];' % mnt,
                            lambda: subprocess.run(["mount", "-t", "tmpfs", "tmpfs", mnt],
                                                   check=True),
                            lambda: subprocess.run(["umount", mnt], check=True), mnt)
        self.assertEqual(runs, [None, "tmpfs", None])

    def test_new_real_filesystem_is_listed(self):
        self.need_root()
        if not shutil.which("mkfs.ext4"):
            self.skipTest("mkfs.ext4 is not installed")
        d = tempfile.mkdtemp(prefix="hp-ext4-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        img, mnt = os.path.join(d, "img"), os.path.join(d, "mnt")
        os.makedirs(mnt)
        subprocess.run(["mkfs.ext4", "-q", img, "2M"], check=True, capture_output=True)
        probe = subprocess.run(["mount", "-o", "loop", img, mnt], capture_output=True, text=True)
        if probe.returncode != 0:
            self.skipTest("cannot loop-mount here: " + probe.stderr.strip())
        subprocess.run(["umount", mnt], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", mnt], capture_output=True)
        runs = self.fstypes("", lambda: subprocess.run(["mount", "-o", "loop", img, mnt],
                                                       check=True),
                            lambda: subprocess.run(["umount", mnt], check=True), mnt)
        self.assertEqual(runs, [None, "ext4", None])
