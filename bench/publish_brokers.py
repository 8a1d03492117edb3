#!/usr/bin/python3
"""publish_brokers.py -- the RabbitMQ and Kafka rows of `make bench`.

For each broker, the agent's whole path (bench/publish: ring, transport,
backlog, sink) and a bare client loop with the same settings (bench/amqp_bare,
bench/kafka_bare) run against the same broker, one after the other, with
messages of the same size; the ratio agent/bare is what the target speaks of
(>= 80%). RabbitMQ is Debian's rabbitmq-server started privately on loopback
(tests/integration/rabbit.py); Kafka is librdkafka's mock cluster
(tests/helpers/kafka_mock), since Debian packages no Kafka broker.
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
# The sinks get a memory backlog larger than the burst: these rows compare
# delivery with the bare loops, not spilling to the disk spool.


def envelope_size(build):
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "c.conf")
        with open(conf, "w") as f:
            f.write('sinks = ( { type = "stdout"; } );\n')
        p = subprocess.run([os.path.join(build, "bench", "publish"), "--config", conf,
                            "--messages", "1", "--size", str(PAD)],
                           capture_output=True, text=True)
        return len(p.stdout.splitlines()[0])


def agent_row(build, label, conf_text, n):
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "c.conf")
        with open(conf, "w") as f:
            f.write(conf_text)
        p = subprocess.run([os.path.join(build, "bench", "publish"), "--config", conf,
                            "--messages", str(n), "--size", str(PAD)],
                           capture_output=True, text=True, timeout=600)
    m = re.search(r"rate=(\d+) p50_ms=([\d.]+) p99_ms=([\d.]+)", p.stderr)
    if not m:
        print("%-34s failed: %s" % (label, p.stderr.strip()[-300:]))
        return None
    print("%-34s %12s %10s %10s" % (label, m.group(1), m.group(2), m.group(3)))
    return int(m.group(1))


def bare_row(label, args):
    p = subprocess.run(args, capture_output=True, text=True, timeout=600)
    m = re.search(r"rate=(\d+)", p.stdout)
    if not m:
        print("%-34s failed: %s" % (label, (p.stderr or p.stdout).strip()[-300:]))
        return None
    print("%-34s %12s %10s %10s" % (label, m.group(1), "-", "-"))
    return int(m.group(1))


def ratio(label, agent, bare):
    if agent and bare:
        print("%-34s %11.0f%%   (target >= 80%%)" % (label, 100.0 * agent / bare))


def rabbit(build, size, n):
    from tests.integration import rabbit as rmq
    reason = rmq.available()
    if reason:
        print("no RabbitMQ rows: %s" % reason)
        return
    b = rmq.Broker().start()
    try:
        conf = ('sinks = ( { type = "amqp"; url = "%s"; persistent = true; confirm = true;\n'
                '  confirm_window = 1000; backlog = 1000000; queue: { declare = true; prefix = "bench"; }; } );\n'
                % b.url())
        bare = bare_row("rabbitmq: bare rabbitmq-c loop", [
            os.path.join(build, "bench", "amqp_bare"), "127.0.0.1", str(b.port), str(n),
            str(size), "1000"])
        agent = agent_row(build, "rabbitmq: agent (confirms, persist.)", conf, n)
        ratio("rabbitmq: agent / bare", agent, bare)
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
        conf = ('sinks = ( { type = "kafka"; brokers = "%s"; topic = "bench"; backlog = 1000000; } );\n'
                % bootstrap)
        bare = bare_row("kafka (mock): bare librdkafka loop", [
            os.path.join(build, "bench", "kafka_bare"), bootstrap, "bench.bare", str(n),
            str(size)])
        agent = agent_row(build, "kafka (mock): agent", conf, n)
        ratio("kafka (mock): agent / bare", agent, bare)
    finally:
        mock.stdin.close()
        mock.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--messages", type=int, default=100000)
    args = ap.parse_args()
    size = envelope_size(args.build)
    print("(messages of %d bytes; bare loops and agent against the same broker)" % size)
    rabbit(args.build, size, args.messages)
    kafka(args.build, size, args.messages * 2)


if __name__ == "__main__":
    main()
