# SPDX-License-Identifier: Apache-2.0
"""webfeed.py -- crafted agent messages for hostpulse-web's tests and
benchmarks (not a test module): a history of plausible samples per host, in
the agent's envelope and field names (docs/message-format.md), with values
that are a known function of time so that a test can check what the API and
the pages show.

    for line in webfeed.history("web01", end_ms, minutes=60, step_s=30): ...
"""
import json
import math
import uuid

GIB = 1 << 30


def envelope(host, session, reporter, seq, ts, interval, data):
    return {"v": 1, "host": host, "reporter": reporter, "ts": ts, "session": session,
            "seq": seq, "interval": interval, "data": data}


def cpu_at(i):
    """cpu user percent of sample i: a slow wave between 10 and 60."""
    return round(35 + 25 * math.sin(i / 15.0), 2)


def samples(host, i, ts, hot=0.0, phase=0):
    """The data of each reporter for sample number i at ts (ms); phase
    shifts the waves (and fills /var more) to make hosts differ."""
    var_pct = round(50.0 + (phase * 7) % 48, 2)
    i += phase
    user = cpu_at(i)
    system = round(5 + 3 * math.cos(i / 7.0), 2)
    iowait = round(1 + abs(math.sin(i / 5.0)) * 4, 2)
    yield "cpu", {"percent": round(user + system + iowait, 2), "user": user, "system": system,
                  "nice": 0.5, "idle": round(100 - user - system - iowait - 1.2, 2),
                  "iowait": iowait, "irq": 0.3, "softirq": 0.4, "steal": 0.0, "count": 8,
                  "load1": round(1.5 + math.sin(i / 9.0), 2), "load5": 1.4, "load15": 1.2}
    total = 32 * GIB
    used = int(total * (0.45 + 0.1 * math.sin(i / 20.0)))
    yield "mem", {"total": total, "available": total - used, "used": used,
                  "free": total - used - 4 * GIB, "percent": round(100.0 * used / total, 2),
                  "buffers": GIB // 4, "cached": 4 * GIB, "shared": 0,
                  "swap": {"total": 8 * GIB, "used": GIB // 2, "free": 8 * GIB - GIB // 2,
                           "percent": 6.25, "sin": 0, "sout": 0, "sin_per_sec": 0,
                           "sout_per_sec": 0}}
    ifs = {}
    for k, name in enumerate(("eth0", "eth1")):
        rx = round((k + 1) * 2e6 * (1.2 + math.sin(i / 11.0 + k)), 1)
        ifs[name] = {"bytes_recv": 1000 * i, "bytes_sent": 500 * i,
                     "bytes_recv_per_sec": rx, "bytes_sent_per_sec": round(rx / 3, 1),
                     "packets_recv_per_sec": 100.0, "packets_sent_per_sec": 80.0,
                     "errin_per_sec": 0, "dropin_per_sec": 0, "errout_per_sec": 0,
                     "dropout_per_sec": 0}
    yield "net", {"interfaces": ifs, "total": ifs["eth0"]}
    fs = {"/": {"device": "/dev/sda1", "fstype": "ext4", "total": 100 * GIB,
                "used": 40 * GIB, "free": 60 * GIB, "percent": round(40 + i * 0.05, 2)},
          "/var": {"device": "/dev/sdb1", "fstype": "xfs", "total": 500 * GIB,
                   "used": 400 * GIB, "free": 100 * GIB, "percent": var_pct}}
    devs = {"sda": {"read_bytes_per_sec": round(5e5 * (1 + math.sin(i / 4.0)), 1),
                    "write_bytes_per_sec": round(2e6 * (1 + math.cos(i / 6.0)), 1),
                    "busy_percent": round(10 + 5 * math.sin(i / 3.0), 2)},
            "sdb": {"read_bytes_per_sec": 1e5, "write_bytes_per_sec": 3e5, "busy_percent": 2.0}}
    yield "disk", {"filesystems": fs, "devices": devs}
    yield "temperature", {
        "sensors": [{"chip": "coretemp-isa-0000", "adapter": "ISA adapter",
                     "label": "Package id 0", "value": round(50 + hot + 8 * math.sin(i / 10.0), 2),
                     "high": 80.0, "crit": 100.0},
                    {"chip": "nvme-pci-0100", "adapter": "PCI adapter", "label": "Composite",
                     "value": 38.5, "high": 70.0, "crit": 85.0}],
        "cpu": round(50 + hot + 8 * math.sin(i / 10.0), 2),
        "cpu_sensor": "coretemp-isa-0000/Package id 0"}
    yield "uptime", {"uptime": 86400 * 3 + i * 30, "idle": 1000, "boot_time": ts - 86400e3 * 3}
    yield "process", {
        "processes": 210, "threads": 480,
        "states": {"running": 2, "sleeping": 200, "idle": 8},
        "watched": [
            {"pid": 1234, "ppid": 1, "name": "postgres", "state": "sleeping",
             "cpu_percent": round(20 + 10 * math.sin(i / 8.0), 2), "rss": 512 << 20,
             "vms": 2 * GIB, "memory_percent": 1.6, "threads": 12, "fds": 40, "user": "postgres",
             "cmdline": "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql",
             "watch": ["name:postgres"]},
            {"pid": 999, "ppid": 1, "name": "hostpulse", "state": "sleeping",
             "cpu_percent": 0.4, "rss": 6 << 20, "vms": 40 << 20, "memory_percent": 0.02,
             "threads": 10, "fds": 12, "user": "hostpulse",
             "cmdline": "/usr/sbin/hostpulse -c /etc/hostpulse/hostpulse.conf",
             "watch": ["self"]}]}


def history(host, end_ms, minutes=60, step_s=30, skip=(), hot=0.0, version="0.1.0",
            session=None, phase=0):
    """JSON lines: a session message, then every reporter every step_s
    seconds for `minutes` up to end_ms. Sample numbers in `skip` are left
    out (their seq numbers too: the store must count them as lost)."""
    session = session or str(uuid.uuid4())
    n = int(minutes * 60 / step_s)
    start = int(end_ms - (n - 1) * step_s * 1000)
    seq = {}
    out = [json.dumps(envelope(host, session, "session", 1, start, 0, {
        "description": "test host " + host, "start": start, "version": version,
        "kernel": "6.1.0-13-amd64", "machine": "x86_64", "os": "Debian GNU/Linux 12 (bookworm)",
        "cpu_count": 8, "mem_total": 32 * GIB,
        "reporters": {"cpu": step_s, "mem": step_s}}))]
    out.append(json.dumps(envelope(host, session, "ipaddr", 1, start, 600, {
        "interfaces": {"eth0": [{"family": "inet", "address": "192.0.2.10", "prefixlen": 24},
                                {"family": "inet6", "address": "2001:db8::10",
                                 "prefixlen": 64}]}})))
    for i in range(n):
        ts = start + i * step_s * 1000
        for reporter, data in samples(host, i, ts, hot, phase):
            seq[reporter] = seq.get(reporter, 0) + 1
            if i in skip:
                continue
            out.append(json.dumps(envelope(host, session, reporter, seq[reporter], ts,
                                           step_s, data)))
    return out
