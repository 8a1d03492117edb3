#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bench/web_fleet.py -- hostpulse-web's fleet page with many hosts (the
"webfleet" section of bench/run; also runnable alone):

  - /api/fleet (what the page fetches every 5 s): median and worst of 20
    requests, with 10 hosts (the baseline) and with 1,000;
  - the whole page in Debian's headless chromium: from navigation to every
    host's row in the table (HTML, scripts, the API call and the DOM);
  - hostpulse-web's RSS holding 1,000 hosts, after those requests.

Each host gets a session message and ten samples of every reporter
(tests/integration/webfeed), fed through --stdin.

  bench/web_fleet.py --build build/release [--hosts 10,1000]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.integration import hp, webfeed  # noqa: E402

TARGET_S = 1.0


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def get(url):
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as r:
        body = r.read()
    return time.perf_counter() - t, body


def feed_lines(hosts):
    now = int(time.time() * 1000)
    for h in range(hosts):
        yield from webfeed.history("host%04d.example.org" % h, now, minutes=5, step_s=30)


def page_seconds(base, hosts):
    """Navigation to every row drawn, in headless chromium; None without it."""
    if not shutil.which("chromium"):
        return None
    from tests.integration.chromium import Browser
    with Browser(width=1600, height=1000) as b:
        b.open(base + "/static/style.css")  # warm the browser, not the page
        t = time.perf_counter()
        b.call("Page.navigate", url=base + "/")
        b.wait("document.querySelectorAll('#rows .row').length === %d" % hosts,
               timeout=120, what="%d rows" % hosts)
        took = time.perf_counter() - t
        if b.errors:
            print("  page errors: %s" % b.errors)
        return took


def run(build, hosts):
    web = os.path.join(build, "hostpulse-web")
    tmp = tempfile.mkdtemp(prefix="hp-bench-web-")
    port = hp.free_port()
    base = "http://127.0.0.1:%d" % port
    conf = hp.write_config(tmp, 'web: { static_dir = "%s"; };\n' % os.path.join(
        ROOT, "web", "static"), name="web.conf")
    err = open(os.path.join(tmp, "stderr"), "w")
    p = subprocess.Popen([web, "-c", conf, "--stdin", "--db", os.path.join(tmp, "web.db"),
                          "--listen", "127.0.0.1:%d" % port],
                         stdin=subprocess.PIPE, stdout=err, stderr=err, text=True)
    try:
        n = 0
        for line in feed_lines(hosts):
            p.stdin.write(line + "\n")
            n += 1
        p.stdin.flush()

        def stored():
            try:
                return json.loads(get(base + "/api/stats")[1]).get("stored", 0) >= n
            except OSError:
                return False
        hp.wait_for(stored, timeout=600, interval=0.5, what="%d messages stored" % n)
        times = []
        for _ in range(20):
            took, body = get(base + "/api/fleet")
            times.append(took)
        got = len(json.loads(body)["hosts"])
        page = page_seconds(base, hosts)
        return {"hosts": got, "api_median": statistics.median(times), "api_max": max(times),
                "bytes": len(body), "page": page, "rss_kib": rss_kib(p.pid)}
    finally:
        p.stdin.close()
        p.terminate()
        p.wait(timeout=30)
        err.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main(build, host_counts=(10, 1000)):
    print("\n== web fleet page: 10 and 1,000 hosts ==")
    print("fleet page (target: < %.0f s with 1,000 hosts)" % TARGET_S)
    print("  %6s %14s %12s %10s %14s %10s" % ("hosts", "api median ms", "api max ms",
                                               "api KiB", "page (rows) s", "RSS MiB"))
    for hosts in host_counts:
        r = run(build, hosts)
        page = "%.3f" % r["page"] if r["page"] is not None else "n/a"
        print("  %6d %14.1f %12.1f %10.0f %14s %10.1f" % (
            r["hosts"], r["api_median"] * 1e3, r["api_max"] * 1e3, r["bytes"] / 1024, page,
            r["rss_kib"] / 1024), flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--hosts", default="10,1000")
    a = ap.parse_args()
    main(a.build if os.path.isabs(a.build) else os.path.join(ROOT, a.build),
         [int(x) for x in a.hosts.split(",")])
