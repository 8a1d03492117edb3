#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""publish_brokers.py -- the RabbitMQ and Kafka rows of `make bench`.

For each broker, the agent's whole path (bench/publish: ring, transport,
backlog, sink) and a bare client loop with the same settings (bench/amqp_bare,
bench/kafka_bare) run against the same broker, interleaved over ROUNDS rounds
(medians and ranges printed), with messages of the same size. Two bare
loops each: one sending the same records as the agent (its documented
headers or properties, mandatory flag, window), which is the baseline of
the >= 80% target, and a minimal one without them, to show what the
documented format itself costs.

What each side times, until the broker has confirmed the last message:
- bench/publish: from the start of the burst, once the sink is open and
  its session message confirmed (so after connecting). Its N messages
  (hp_msg: serialized envelopes, each with its own seq) are built before
  the clock starts, as the agent's reporters build theirs; timed are the
  pushes into the ring, the transport thread moving them into the sink's
  backlog and waking the sink's thread, the sink's produce/publish calls
  and the confirmations.
- the bare loops: one static body, no per-message allocation; timed are
  the produce/publish calls with each record's key, headers or properties
  (a snprintf of seq or message id) and the confirmations. amqp_bare (and
  bench/mqtt_bare, in bench/run) start after connecting; kafka_bare after
  a first record is delivered (connection, metadata and producer id).
RabbitMQ is Debian's rabbitmq-server started privately on loopback
(tests/integration/rabbit.py); Kafka runs twice: against librdkafka's mock
cluster (tests/helpers/kafka_mock, in memory, no disk) and against a real
Apache Kafka broker (tests/integration/kafka_server.py: one KRaft node from
the jars `make deps` fetched, on loopback, its log on the temporary disk).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

PAD = 400  # bench/publish --size: the envelope adds ~170 bytes around it
# The sinks get a memory backlog larger than the burst, in messages and in
# bytes (backlog_bytes = 0: no cap; 200,000 messages of 545 bytes are more
# than the default 64 MiB, and the pre-built burst reaches the backlog far
# faster than a broker confirms): these rows compare delivery with the bare
# loops, not spilling to the disk spool.


def envelope_size(build):
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "c.conf")
        with open(conf, "w") as f:
            f.write('sinks = ( { type = "stdout"; } );\n')
        p = subprocess.run([os.path.join(build, "bench", "publish"), "--config", conf,
                            "--messages", "1", "--size", str(PAD)],
                           capture_output=True, text=True)
        # The bench's message, not the session message printed before it.
        return len([line for line in p.stdout.splitlines() if '"reporter":"bench"' in line][0])


ROUNDS = 5  # each row is the median of this many runs, interleaved


STEADY_RATE = 2000  # msg/s for the latency-below-saturation rows
STEADY_SECONDS = 3


def agent_run(build, conf_text, n, rate=0):
    """One agent run: (msg/s, p50_ms, p99_ms), or an error string. With a
    rate, the source is paced and only the latency means something."""
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "c.conf")
        with open(conf, "w") as f:
            f.write(conf_text)
        p = subprocess.run([os.path.join(build, "bench", "publish"), "--config", conf,
                            "--messages", str(n), "--size", str(PAD), "--rate", str(rate)],
                           capture_output=True, text=True, timeout=600)
    m = re.search(r"rate=(\d+) p50_ms=([\d.]+) p99_ms=([\d.]+)", p.stderr)
    if not m:
        return p.stderr.strip()[-300:]
    return int(m.group(1)), float(m.group(2)), float(m.group(3))


def bare_run(args):
    """One bare loop run: (msg/s,), or an error string."""
    p = subprocess.run(args, capture_output=True, text=True, timeout=600)
    m = re.search(r"rate=(\d+)", p.stdout)
    if not m:
        return (p.stderr or p.stdout).strip()[-300:]
    return (int(m.group(1)),)


def rounds(runs):
    """Run every (label, thunk) of runs ROUNDS times, interleaved so that a
    slow spell of the shared machine hits every row alike. Returns
    {label: [result, ...]} or {label: "error"}."""
    res = {label: [] for label, _ in runs}
    for _ in range(ROUNDS):
        for label, thunk in runs:
            if isinstance(res[label], str):
                continue
            r = thunk()
            res[label] = r if isinstance(r, str) else res[label] + [r]
    return res


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def print_rows(res):
    """One line per row: median msg/s, the range, and latency medians.
    Returns {label: (median, best)}."""
    med = {}
    for label, rs in res.items():
        if isinstance(rs, str):
            print("%-40s failed: %s" % (label, rs))
            continue
        rates = [r[0] for r in rs]
        med[label] = (median(rates), max(rates), rates)
        lat = ("%10.2f %10.2f" % (median([r[1] for r in rs]), median([r[2] for r in rs]))
               if len(rs[0]) == 3 else "%10s %10s" % ("-", "-"))
        print("%-40s %10d %21s %s" % (label, med[label][0],
                                      "(%d-%d)" % (min(rates), max(rates)), lat))
    return med


def ratio(label, med, agent, bare, target=True):
    """The ratio per round (agent and bare loop ran back to back in the same
    round, so a slow spell of the shared machine hits both): its median and
    range; then the ratio of medians and of best runs (when a broker is
    bimodal between runs, as the Kafka mock is, only the best runs compare
    like with like)."""
    if agent in med and bare in med:
        per = sorted(100.0 * a / b for a, b in zip(med[agent][2], med[bare][2]) if b)
        print("%-40s %9.0f%% (rounds %.0f-%.0f%%)  of medians: %.0f%%  best runs: %.0f%%%s" % (
            label, median(per), per[0], per[-1], 100.0 * med[agent][0] / med[bare][0],
            100.0 * med[agent][1] / med[bare][1], "   (target >= 80%)" if target else ""))


def header():
    print("%-40s %10s %21s %10s %10s" % ("row (median of %d)" % ROUNDS, "msg/s", "range",
                                         "p50_ms", "p99_ms"))


def rabbit(build, size, n):
    from tests.integration import rabbit as rmq
    reason = rmq.available()
    if reason:
        print("no RabbitMQ rows: %s" % reason)
        return
    b = rmq.Broker().start()
    try:
        conf = ('sinks = ( { type = "amqp"; url = "%s"; persistent = true; confirm = true;\n'
                '  confirm_window = 1000; backlog = 1000000; backlog_bytes = 0;\n'
                '  queue: { declare = true; prefix = "bench"; }; } );\n'
                % b.url())
        bare = [os.path.join(build, "bench", "amqp_bare"), "127.0.0.1", str(b.port), str(n),
                str(size), "1000"]
        header()
        med = print_rows(rounds([
            ("rabbitmq: bare loop, same messages", lambda: bare_run(bare + ["0"])),
            ("rabbitmq: bare loop, minimal", lambda: bare_run(bare + ["1"])),
            ("rabbitmq: agent (confirms, persistent)", lambda: agent_run(build, conf, n)),
            ("rabbitmq: agent at %d msg/s (latency)" % STEADY_RATE,
             lambda: agent_run(build, conf, STEADY_RATE * STEADY_SECONDS, STEADY_RATE)),
        ]))
        ratio("rabbitmq: agent / bare, same messages", med,
              "rabbitmq: agent (confirms, persistent)", "rabbitmq: bare loop, same messages")
        ratio("rabbitmq: agent / bare, minimal", med, "rabbitmq: agent (confirms, persistent)",
              "rabbitmq: bare loop, minimal", target=False)
    finally:
        b.close()


def kafka(build, size, n):
    helper = os.path.join(build, "tests", "helpers", "kafka_mock")
    if not os.path.exists(helper):
        print("tests/helpers/kafka_mock not built (make test-bins): no Kafka rows")
        return
    mock = subprocess.Popen([helper], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        bootstrap = mock.stdout.readline().strip()
        conf = ('sinks = ( { type = "kafka"; brokers = "%s"; topic = "bench";\n'
                '  backlog = 1000000; backlog_bytes = 0; } );\n'
                % bootstrap)
        bare = [os.path.join(build, "bench", "kafka_bare"), bootstrap, "bench.bare", str(n),
                str(size), "10000"]
        header()
        med = print_rows(rounds([
            ("kafka (mock): bare loop, same records", lambda: bare_run(bare + ["1"])),
            ("kafka (mock): bare loop, no headers", lambda: bare_run(bare + ["0"])),
            ("kafka (mock): agent", lambda: agent_run(build, conf, n)),
            ("kafka (mock): agent at %d msg/s (latency)" % STEADY_RATE,
             lambda: agent_run(build, conf, STEADY_RATE * STEADY_SECONDS, STEADY_RATE)),
        ]))
        ratio("kafka (mock): agent / bare, same records", med, "kafka (mock): agent",
              "kafka (mock): bare loop, same records")
        ratio("kafka (mock): agent / bare, no headers", med, "kafka (mock): agent",
              "kafka (mock): bare loop, no headers", target=False)
    finally:
        mock.stdin.close()
        mock.wait(timeout=30)


def kafka_real(build, size, n):
    from tests.integration import kafka_server
    reason = kafka_server.available()
    if reason:
        print("no real-broker Kafka rows: %s" % reason)
        return
    b = kafka_server.Broker().start()
    label = "kafka %s" % kafka_server.version()
    try:
        conf = ('sinks = ( { type = "kafka"; brokers = "%s"; topic = "bench";\n'
                '  backlog = 1000000; backlog_bytes = 0; } );\n' % b.plain())
        bare = [os.path.join(build, "bench", "kafka_bare"), b.plain(), "bench.bare", str(n),
                str(size), "10000", "1"]
        header()
        med = print_rows(rounds([
            ("%s: bare loop, same records" % label, lambda: bare_run(bare)),
            ("%s: agent" % label, lambda: agent_run(build, conf, n)),
            ("%s: agent at %d msg/s (latency)" % (label, STEADY_RATE),
             lambda: agent_run(build, conf, STEADY_RATE * STEADY_SECONDS, STEADY_RATE)),
        ]))
        ratio("%s: agent / bare, same records" % label, med, "%s: agent" % label,
              "%s: bare loop, same records" % label)
    finally:
        b.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--only", default="amqp,kafka,kafka-real",
                    help="rows to run: amqp, kafka (mock cluster), kafka-real")
    args = ap.parse_args()
    only = args.only.split(",")
    size = envelope_size(args.build)
    print("(messages of %d bytes; bare loops and agent against the same broker)" % size)
    if "amqp" in only:
        rabbit(args.build, size, args.messages)
    if "kafka" in only:
        kafka(args.build, size, args.messages * 2)
    if "kafka-real" in only:
        kafka_real(args.build, size, args.messages)


if __name__ == "__main__":
    main()
