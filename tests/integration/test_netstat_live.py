# SPDX-License-Identifier: Apache-2.0
# test_netstat_live.py -- the netstat and pressure reporters on this machine:
# `hostpulse --once --stdout` gives schema-valid messages whose TCP/UDP
# counters lie between two `nstat -az` reads (iproute2) taken just before
# and just after the agent ran (the counters move, so each value is
# bracketed, not compared for equality), while loopback connections make
# them move; and whose pressure totals lie between two reads of
# /proc/pressure made here independently.
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest

import tests.integration.hp as hp

OFF = "".join("  %s: { enabled = false; };\n" % n for n in (
    "cpu", "mem", "net", "uptime", "ipaddr", "disk", "process", "temperature", "agent"))
CONFIG = "reporters: {\n%s  %%s\n};\nsinks = ( { type = \"stdout\"; } );\n" % OFF

# our name -> nstat's name, for the default set
TCP = {"active_opens": "TcpActiveOpens", "passive_opens": "TcpPassiveOpens",
       "attempt_fails": "TcpAttemptFails", "estab_resets": "TcpEstabResets",
       "in_segs": "TcpInSegs", "out_segs": "TcpOutSegs", "retrans_segs": "TcpRetransSegs",
       "in_errs": "TcpInErrs", "out_rsts": "TcpOutRsts"}
UDP = {"in_datagrams": "UdpInDatagrams", "out_datagrams": "UdpOutDatagrams",
       "no_ports": "UdpNoPorts", "in_errors": "UdpInErrors", "rcvbuf_errors": "UdpRcvbufErrors",
       "sndbuf_errors": "UdpSndbufErrors"}
UDP6 = {k: v.replace("Udp", "Udp6", 1) for k, v in UDP.items()}
TCP_EXT = {"listen_overflows": "TcpExtListenOverflows", "listen_drops": "TcpExtListenDrops",
           "syncookies_sent": "TcpExtSyncookiesSent", "tcp_timeouts": "TcpExtTCPTimeouts",
           "tcp_syn_retrans": "TcpExtTCPSynRetrans"}


def nstat():
    """Absolute counters now, without touching the user's nstat history."""
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, NSTAT_HISTORY=os.path.join(d, "hist"))
        out = subprocess.run(["nstat", "-az"], capture_output=True, text=True, env=env,
                             check=True).stdout
    vals = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 2 and not line.startswith("#"):
            vals[f[0]] = int(f[1])
    return vals


class Traffic:
    """Loopback TCP connections and UDP datagrams while the agent runs."""

    def __init__(self):
        self.stop = threading.Event()
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(64)
        self.srv.settimeout(0.2)
        self.thread = threading.Thread(target=self.run)

    def run(self):
        port = self.srv.getsockname()[1]
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        while not self.stop.is_set():
            c = socket.create_connection(("127.0.0.1", port))
            try:
                self.srv.accept()[0].close()
            except socket.timeout:
                pass
            c.close()
            udp.sendto(b"x", ("127.0.0.1", port))  # nobody listens: no_ports moves
            self.stop.wait(0.01)
        udp.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.srv.close()


def once(section):
    msgs, p = hp.run_once(CONFIG % section)
    if p.returncode != 0:
        raise AssertionError("hostpulse failed: %s" % p.stderr)
    for m in msgs:
        hp.validate(m)
    return msgs, p


@unittest.skipUnless(shutil.which("nstat"), "nstat (iproute2) is not installed")
@unittest.skipUnless(os.path.exists("/proc/net/snmp"), "no /proc/net/snmp here")
class NetstatLiveTest(unittest.TestCase):
    def test_counters_bracketed_by_nstat(self):
        with Traffic():
            before = nstat()
            msgs, _ = once("netstat: { enabled = true; interval = 1.0; };")
            after = nstat()
        self.assertEqual([m["reporter"] for m in msgs], ["netstat"])
        d = msgs[0]["data"]
        sections = [("tcp", TCP), ("udp", UDP), ("tcp_ext", TCP_EXT)]
        if "Udp6InDatagrams" in before:
            sections.append(("udp6", UDP6))
        for sect, names in sections:
            for ours, theirs in names.items():
                v = d[sect][ours]
                self.assertTrue(before[theirs] <= v <= after[theirs],
                                "%s.%s = %d, nstat %s went %d -> %d" % (
                                    sect, ours, v, theirs, before[theirs], after[theirs]))
        # the traffic moved the counters, and the rates say so
        self.assertGreater(after["TcpActiveOpens"], before["TcpActiveOpens"])
        self.assertGreater(d["tcp"]["active_opens_per_sec"], 0)
        self.assertGreater(d["udp"]["no_ports_per_sec"], 0)
        self.assertNotIn("curr_estab_per_sec", d["tcp"])
        self.assertIn("tcp_inuse", d["sockets"])

    def test_full_has_every_snmp_counter(self):
        msgs, _ = once("netstat: { enabled = true; interval = 1.0; full = true; };")
        d = msgs[0]["data"]
        with open("/proc/net/snmp") as f:
            lines = f.read().splitlines()
        names = [ln.split()[1:] for ln in lines[0::2] if ln.startswith("Tcp:")][0]
        self.assertEqual(len([k for k in d["tcp"] if not k.endswith("_per_sec")]), len(names))
        self.assertEqual(d["tcp"]["max_conn"], -1)
        self.assertIn("ip_ext", d)


@unittest.skipUnless(os.path.exists("/proc/pressure/cpu"), "kernel without PSI (/proc/pressure)")
class PressureLiveTest(unittest.TestCase):
    def read(self):
        out = {}
        for r in ("cpu", "memory", "io", "irq"):
            try:
                with open("/proc/pressure/" + r) as f:
                    text = f.read()
            except OSError:
                continue
            for line in text.splitlines():
                kind, *fields = line.split()
                out[(r, kind)] = dict(x.split("=") for x in fields)
        return out

    def test_totals_bracketed_by_proc_pressure(self):
        before = self.read()
        msgs, _ = once("pressure: { enabled = true; interval = 1.0; };")
        after = self.read()
        self.assertEqual([m["reporter"] for m in msgs], ["pressure"])
        d = msgs[0]["data"]
        self.assertEqual(sorted(d), sorted({r for r, _ in before}))
        for (r, kind), b in before.items():
            got = d[r][kind]
            a = after[(r, kind)]
            self.assertTrue(int(b["total"]) <= got["total"] <= int(a["total"]),
                            "%s %s total %d not in [%s, %s]" % (r, kind, got["total"],
                                                                 b["total"], a["total"]))
            for avg, slack in (("avg10", 25), ("avg60", 5), ("avg300", 2)):
                lo = min(float(b[avg]), float(a[avg]))
                hi = max(float(b[avg]), float(a[avg]))
                # the kernel updates the averages every 2 s: the agent's read is one of
                # the two values seen here, or one more update between them (at most
                # about a fifth of the way to 0 or 100 for avg10, far less for the others)
                self.assertTrue(lo - slack <= got[avg] <= hi + slack,
                                "%s %s %s = %s, read %s and %s" % (r, kind, avg, got[avg],
                                                                   b[avg], a[avg]))
            self.assertIn("total_per_sec", got)


if __name__ == "__main__":
    unittest.main()
