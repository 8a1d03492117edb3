#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bench/web.py -- hostpulse-web's rows of `make bench` (bench/run calls it
for the "web" section), each beside its baseline in the same run:

  ingest      messages/s through parse, validation, dedup and the SQLite
              store, beside a bare batched insert loop of the same sample
              rows, in interleaved rounds (target: >= 80% of it in the
              median, and above what 2,000 hosts send at every reporter's
              default interval); disk per host per day
  query       the 48-hour cpu series of one host at 1 s samples (target:
              < 100 ms), the 8-series cpu chart, a 30-day range (rollups)
  memory      RSS of hostpulse-web --stdin after 1,000 hosts' messages
  (the fleet page with 1,000 hosts is bench/web_fleet.py, the webfleet
  section of bench/run)

  bench/web.py --build build/release [--hosts 100] [--seconds 300] [--rounds 5]
"""
import argparse
import os
import re
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Default interval of each reporter (reporters/*.c), and messages/s that
# 2,000 hosts send with every reporter enabled at its default.
DEFAULT_INTERVALS = {"cpu": 5, "mem": 5, "net": 5, "process": 5, "disk": 30,
                     "temperature": 10, "agent": 10, "uptime": 60, "ipaddr": 60}
FLEET_MSG_S = 2000 * sum(1.0 / i for i in DEFAULT_INTERVALS.values())


def templates(build, d):
    """One real message per reporter, every reporter at its default."""
    conf = os.path.join(d, "t.conf")
    with open(conf, "w") as f:
        f.write("reporters: { process: { enabled = true; }; temperature: { enabled = true; }; };\n")
    out = subprocess.run([os.path.join(build, "hostpulse"), "-c", conf, "--once", "--stdout"],
                         capture_output=True, text=True).stdout
    path = os.path.join(d, "templates.jsonl")
    with open(path, "w") as f:
        f.write(out)
    return path


def kv(text):
    return dict(re.findall(r"^(\w+) ([\d.]+)$", text, re.M))


def ingest(build, d, tpl, hosts, seconds, rounds):
    exe = os.path.join(build, "bench", "web_ingest")
    p = subprocess.run([exe, "ingest", tpl, str(hosts), str(seconds), d, str(rounds)],
                       capture_output=True, text=True)
    v = kv(p.stdout)
    if "ratio" not in v:
        print("ingest failed: " + p.stderr[-300:])
        return
    for line in p.stdout.splitlines():
        if line.startswith("round ") or line.startswith("messages "):
            print(line)
    print("%-44s %12s" % ("path (median of %d interleaved rounds)" % rounds, "msg/s"))
    print("%-44s %12.0f" % ("hostpulse-web ingest (parse+dedup+store)", float(v["ingest_msg_s"])))
    print("%-44s %12.0f" % ("bare batched INSERT of the same rows", float(v["bare_msg_s"])))
    print("ratio ingest/bare: median %.2f, range %.2f-%.2f (target >= 0.80); 2,000 hosts at"
          " default intervals send %.0f msg/s: %.1fx headroom"
          % (float(v["ratio"]), float(v["ratio_min"]), float(v["ratio_max"]), FLEET_MSG_S,
             float(v["ingest_msg_s"]) / FLEET_MSG_S))
    print("rollups and retention, per minute of data from these %d hosts: %.0f ms (once a"
          " minute, off the per-message path)" % (hosts, float(v["rollup_ms_per_minute"])))
    print("disk: %.1f MB per host per day of raw samples (+ rollups), %.0f MB per host for 48 h"
          % (float(v["bytes_per_host_day"]) / 1e6, 2 * float(v["bytes_per_host_day"]) / 1e6))


def query(build, d, hours):
    exe = os.path.join(build, "bench", "web_ingest")
    p = subprocess.run([exe, "query", d, str(hours)], capture_output=True, text=True)
    if p.returncode != 0:
        print("query failed: " + p.stderr[-300:])
        return
    out = p.stdout.splitlines()
    print(out[0])
    print("%-44s %12s" % ("query (median of 9, 1,000 points)", "ms"))
    for line in out[1:]:
        k, v = line.split()
        print("%-44s %12s" % (k, v))
    print("(target: the 48-hour series under 100 ms; at 1,000 points it reads the minute"
          " rollups, at 3,000 every raw sample)")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        m = dict(line.split(":", 1) for line in f if ":" in line)
    return int(m["VmRSS"].split()[0]), int(m["VmHWM"].split()[0])


def memory(build, d, tpl, hosts=1000, rounds=3):
    exe = os.path.join(build, "bench", "web_ingest")
    lines = subprocess.run([exe, "emit", tpl, str(hosts), str(rounds)], capture_output=True,
                           text=True).stdout
    n = lines.count("\n")
    web = subprocess.Popen([os.path.join(build, "hostpulse-web"), "--stdin", "--db",
                            os.path.join(d, "mem.db"), "--listen", "127.0.0.1:0"],
                           stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        web.stdin.write(lines)
        web.stdin.close()
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            time.sleep(1)
            st = subprocess.run([os.path.join(build, "tests", "helpers", "web_query"),
                                 os.path.join(d, "mem.db"), "stats"], capture_output=True,
                                text=True).stdout
            m = re.search(r'"stored":(\d+)', st)
            if m and int(m.group(1)) >= n:
                break
        rss, hwm = rss_kib(web.pid)
    finally:
        web.terminate()
        web.wait()
    print("hostpulse-web --stdin after %d messages from %d hosts: RSS %d KiB, peak %d KiB"
          % (n, hosts, rss, hwm))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--hosts", type=int, default=100)
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--hours", type=float, default=48)
    args = ap.parse_args()
    build = os.path.join(ROOT, args.build)
    with tempfile.TemporaryDirectory(prefix="hp-bench-web-") as d:
        tpl = templates(build, d)
        print("\n== web ingest: %d hosts x %d simulated s at default intervals ==" % (
            args.hosts, args.seconds), flush=True)
        ingest(build, d, tpl, args.hosts, args.seconds, args.rounds)
        print("\n== web query: one host, %g h of cpu at 1 s ==" % args.hours, flush=True)
        query(build, d, args.hours)
        print("\n== web memory: 1,000 hosts ==", flush=True)
        memory(build, d, tpl)


if __name__ == "__main__":
    main()
