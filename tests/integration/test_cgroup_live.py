# SPDX-License-Identifier: Apache-2.0
# test_cgroup_live.py -- the cgroup reporter on this machine: a cgroup made
# here (mkdir in the unified hierarchy, as root) gets a known cpu burner, and
# the agent's messages about it follow: usage_usec lies between reads of the
# group's cpu.stat made here before and after, the rates agree with the
# usage deltas over the message timestamps, and once the burner is killed
# the rate drops to 0. A known memory allocator is checked the same way
# where the memory controller is available in the v2 hierarchy (on a hybrid
# host it is bound to v1: skipped, saying so). A v1-only tree gets one clear
# log line and no message.
# hp: slow
import os
import subprocess
import sys
import tempfile
import time
import unittest

import tests.integration.hp as hp

OFF = "".join("  %s: { enabled = false; };\n" % n for n in (
    "cpu", "mem", "net", "uptime", "ipaddr", "disk", "process", "temperature", "agent"))


def unified_root():
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if os.path.exists(os.path.join(root, "cgroup.controllers")):
            return root
    return None


def read(path):
    with open(path) as f:
        return f.read()


def usage(group):
    for line in read(os.path.join(group, "cpu.stat")).splitlines():
        k, v = line.split()
        if k == "usage_usec":
            return int(v)
    raise AssertionError("no usage_usec in %s/cpu.stat" % group)


def describe(pids, watched):
    """What a failed selection saw: each pid's stat and cgroup now, and the
    watched entries the agent sent."""
    lines = []
    for pid in sorted(pids):
        try:
            lines.append("%d: %s| %s" % (pid, read("/proc/%d/stat" % pid)[:100],
                                         read("/proc/%d/cgroup" % pid).strip()))
        except OSError as e:
            lines.append("%d: %s" % (pid, e))
    return "\n".join(lines + [str(w) for w in watched])


class LiveGroup:
    """A cgroup of our own, removed (after its processes are killed) at exit."""

    def __init__(self, root, controllers=(), suffix=""):
        self.name = "hp-live-%d-%d%s" % (os.getpid(), int(time.time() * 1000) % 100000, suffix)
        self.path = os.path.join(root, self.name)
        self.procs = []
        if controllers:
            with open(os.path.join(root, "cgroup.subtree_control"), "w") as f:
                f.write(" ".join("+" + c for c in controllers))
        os.mkdir(self.path)

    def run(self, code):
        # The child joins the group before exec ("0" is the writer), so
        # whatever the code forks starts in it. sys.executable, not
        # "python3": on PATH that may be a wrapper (a pyenv shim) whose own
        # short-lived helpers would be in the group too.
        procs = os.path.join(self.path, "cgroup.procs")

        def join():
            with open(procs, "w") as f:
                f.write("0")

        p = subprocess.Popen([sys.executable, "-c", code], preexec_fn=join)
        self.procs.append(p)
        return p

    def close(self):
        kill = os.path.join(self.path, "cgroup.kill")  # every task, forked children too
        if os.path.exists(kill):
            with open(kill, "w") as f:
                f.write("1")
        else:
            for pid in read(os.path.join(self.path, "cgroup.procs")).split():
                try:
                    os.kill(int(pid), 9)
                except ProcessLookupError:
                    pass
        for p in self.procs:
            p.kill()
            p.wait()
        for _ in range(50):  # the kernel frees the group a moment after its last task
            try:
                os.rmdir(self.path)
                return
            except OSError:
                time.sleep(0.1)


def agent_messages(config, seconds, during=None):
    with tempfile.TemporaryDirectory() as d:
        path = hp.write_config(d, config)
        with hp.Agent(path, ["--stdout"]) as a:
            time.sleep(seconds[0])
            if during:
                during()
            time.sleep(seconds[1])
    msgs = hp.parse_lines(a.stdout)
    for m in msgs:
        hp.validate(m)
    return [m for m in msgs if m["reporter"] == "cgroup"], a


def config_for(name):
    return ("reporters: {\n%s  cgroup: { enabled = true; interval = 1.0; paths = \"/%s\"; };\n};\n"
            "sinks = ( { type = \"stdout\"; } );\n" % (OFF, name))


@unittest.skipUnless(os.geteuid() == 0, "creating a cgroup needs root")
class CgroupLiveTest(unittest.TestCase):
    def setUp(self):
        self.root = unified_root()
        if not self.root:
            self.skipTest("no cgroup v2 hierarchy mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified")
        try:
            self.group = LiveGroup(self.root)
        except OSError as e:
            self.skipTest("cannot create a cgroup under %s: %s" % (self.root, e))
        self.addCleanup(self.group.close)

    def test_cpu_follows_a_burner(self):
        g = self.group
        burner = g.run("while True: pass")
        time.sleep(0.3)
        u0 = usage(g.path)

        def stop_burner():
            burner.kill()
            burner.wait()

        msgs, a = agent_messages(config_for(g.name), (3.5, 3.5), during=stop_burner)
        u1 = usage(g.path)
        key = "/" + g.name
        series = [(m["ts"], m["data"]["groups"][key]["cpu"]) for m in msgs
                  if key in m["data"]["groups"]]
        self.assertGreaterEqual(len(series), 5, a.stderr)
        if self.root.endswith("unified"):
            self.assertEqual(msgs[0]["data"]["hierarchy"], "hybrid")
        last = None
        for ts, cpu in series:
            self.assertTrue(u0 <= cpu["usage_usec"] <= u1,
                            "usage_usec %d outside [%d, %d]" % (cpu["usage_usec"], u0, u1))
            if last:
                delta = cpu["usage_usec"] - last[1]["usage_usec"]
                elapsed = (ts - last[0]) / 1000.0
                # the rate uses the monotonic time between reads, ts the wall clock
                # taken beside it: they agree within a few percent and a few ms
                want = delta / elapsed
                self.assertLess(abs(cpu["usage_usec_per_sec"] - want), 0.1 * want + 20000,
                                "rate %s vs %s" % (cpu["usage_usec_per_sec"], want))
                self.assertAlmostEqual(cpu["percent"], cpu["usage_usec_per_sec"] / 1e4, delta=0.01)
            last = (ts, cpu)
        self.assertGreater(series[0][1]["usage_usec_per_sec"], 0)  # burning
        self.assertEqual(series[-1][1]["usage_usec_per_sec"], 0)   # killed: nothing more
        self.assertEqual(series[-1][1]["usage_usec"], u1)

    def test_memory_follows_an_allocator(self):
        if "memory" not in read(os.path.join(self.root, "cgroup.controllers")).split():
            self.skipTest("the memory controller is not in the v2 hierarchy %s (on this host "
                          "it is mounted as cgroup v1), so a v2 group has no memory files"
                          % self.root)
        g = self.group
        try:
            with open(os.path.join(self.root, "cgroup.subtree_control"), "w") as f:
                f.write("+memory")
        except OSError as e:
            self.skipTest("cannot enable the memory controller: %s" % e)
        g.run("import time\nb = bytearray(64 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\n"
              "time.sleep(60)")
        hp.wait_for(lambda: int(read(os.path.join(g.path, "memory.current"))) >= 64 << 20,
                    what="the allocator's 64 MiB")
        msgs, a = agent_messages(config_for(g.name), (2.5, 0))
        mem = msgs[-1]["data"]["groups"]["/" + g.name]["memory"]
        self.assertGreaterEqual(mem["current"], 64 << 20)
        self.assertGreaterEqual(mem["anon"], 60 << 20)
        self.assertLess(mem["current"], 256 << 20)


    def test_process_reporter_selects_by_unit_and_cgroup_with_children(self):
        unit = LiveGroup(self.root, suffix=".scope")  # a "unit" name, as systemd makes them
        self.addCleanup(unit.close)
        # a parent that forks a child: the child stays in the parent's group
        parent = unit.run("import os, time\nif os.fork() == 0:\n    time.sleep(60)\n"
                          "time.sleep(60)")
        hp.wait_for(lambda: len(read(os.path.join(unit.path, "cgroup.procs")).split()) == 2,
                    what="parent and child in the group")
        pids = sorted(int(x) for x in read(os.path.join(unit.path, "cgroup.procs")).split())
        self.assertIn(parent.pid, pids)
        conf = ("reporters: {\n%s" % OFF.replace("  process: { enabled = false; };\n", "") +
                "  process: { enabled = true; interval = 1.0; watch = (\n"
                "    { label = \"by-unit\"; unit = \"%s\"; aggregate = true; },\n"
                "    { label = \"by-cgroup\"; cgroup = \"/hp-live-*.scope\"; aggregate = true; },\n"
                "    { label = \"elsewhere\"; cgroup = \"/no-such-group\"; aggregate = true; }\n"
                "  ); };\n};\nsinks = ( { type = \"stdout\"; } );\n" % unit.name)
        msgs, p = hp.run_once(conf)
        self.assertEqual(p.returncode, 0, p.stderr)
        for m in msgs:
            hp.validate(m)
        d = [m for m in msgs if m["reporter"] == "process"][0]["data"]
        by_pid = {w["pid"]: w for w in d["watched"]}
        self.assertEqual(sorted(by_pid), pids, describe(set(by_pid) | set(pids), d["watched"]))
        for pid in pids:
            self.assertEqual(sorted(by_pid[pid]["watch"]), ["by-cgroup", "by-unit"])
        aggs = {a["watch"]: a for a in d["aggregates"]}
        self.assertEqual(aggs["by-unit"]["count"], 2)
        self.assertEqual(aggs["by-cgroup"]["count"], 2)
        self.assertEqual(aggs["elsewhere"]["count"], 0)


class CgroupV1Test(unittest.TestCase):
    def test_v1_only_tree_says_so_and_sends_nothing(self):
        tree = os.path.join(hp.FIXTURES, "cgroup-v1")
        msgs, p = hp.run_once("reporters: {\n%s  cgroup: { enabled = true; };\n};\n"
                              "sinks = ( { type = \"stdout\"; } );\n" % OFF,
                              env={"HOSTPULSE_SYS_ROOT": os.path.join(tree, "sys")})
        self.assertEqual(msgs, [])
        self.assertIn("cgroup v1 only", p.stderr)
        self.assertEqual(p.stderr.count("cgroup v1 only"), 1)

    def test_fixture_tree_once(self):
        tree = os.path.join(hp.FIXTURES, "cgroup-a")
        msgs, p = hp.run_once("reporters: {\n%s  cgroup: { enabled = true; };\n};\n"
                              "sinks = ( { type = \"stdout\"; } );\n" % OFF,
                              env={"HOSTPULSE_SYS_ROOT": os.path.join(tree, "sys")})
        self.assertEqual(p.returncode, 0, p.stderr)
        for m in msgs:
            hp.validate(m)
        g = msgs[0]["data"]["groups"]["/system.slice/nginx.service"]
        self.assertEqual(g["memory"]["current"], 104857600)
        self.assertEqual(g["io"]["sda"]["rbytes"], 1048576)


if __name__ == "__main__":
    unittest.main()
