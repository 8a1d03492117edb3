# SPDX-License-Identifier: Apache-2.0
"""hp.py -- shared helpers for the integration tests (not a test module).

The tests run the real built agent (HOSTPULSE_BUILD/hostpulse) and check its
output against docs/schema/message.schema.json with python3-jsonschema.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import jsonschema

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("HOSTPULSE_BUILD", "build/release"))
BIN = os.path.join(BUILD, "hostpulse")
HELPERS = os.path.join(BUILD, "tests", "helpers")
LABEL = os.environ.get("HOSTPULSE_LABEL", "release")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")

with open(os.path.join(ROOT, "docs", "schema", "message.schema.json")) as f:
    SCHEMA = json.load(f)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

# Sanitizer builds are slower: scale waits, never assert on time.
SLOW = 3.0 if LABEL in ("asan", "tsan") else 1.0


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer")


def check_sanitizers(stderr):
    """Fail on any sanitizer report in the agent's stderr (asan/tsan passes)."""
    for mark in SANITIZER_MARKS:
        if mark in (stderr or ""):
            i = stderr.index(mark)
            raise AssertionError("sanitizer report:\n" + stderr[max(0, i - 200):i + 3000])


def validate(msg):
    """Raise AssertionError naming the first schema violation."""
    errors = sorted(VALIDATOR.iter_errors(msg), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        raise AssertionError("schema: %s at %s in %s message: %s" % (
            e.message, "/".join(str(p) for p in e.absolute_path), msg.get("reporter"),
            json.dumps(msg)[:400]))


def parse_lines(text):
    """JSON lines -> list of dicts; every line must parse."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(directory, text, name="hostpulse.conf"):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def run(args, timeout=60, env=None, input=None):
    """Run the agent with args; returns CompletedProcess (text)."""
    e = dict(os.environ)
    e.update(env or {})
    with tempfile.TemporaryDirectory() as spool:  # never the system's spool
        e.setdefault("HOSTPULSE_SPOOL_DIR", spool)
        e.setdefault("HOSTPULSE_HEALTH_SOCKET", os.path.join(spool, "health.sock"))
        p = subprocess.run([BIN] + list(args), capture_output=True, text=True,
                           timeout=timeout * SLOW, env=e, input=input)
    check_sanitizers(p.stderr)
    return p


def run_once(config_text, extra=(), env=None, timeout=60):
    """Write config_text to a temporary file, run --once --stdout with it, and
    return (messages, completed process)."""
    with tempfile.TemporaryDirectory() as d:
        path = write_config(d, config_text)
        p = run(["-c", path, "--once", "--stdout"] + list(extra), env=env, timeout=timeout)
        return parse_lines(p.stdout), p


class Agent:
    """The agent running in the background; stdout and stderr go to files.

        with Agent(config_path, ["--stdout"]) as a:
            time.sleep(2)
        a.stdout  # text, after exit
    """

    def __init__(self, config_path, extra=(), env=None):
        self.args = [BIN, "-c", config_path] + list(extra)
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.tmp = tempfile.TemporaryDirectory()
        # each agent spools into its own directory unless the config says otherwise
        self.env.setdefault("HOSTPULSE_SPOOL_DIR", os.path.join(self.tmp.name, "spool"))
        # and answers health on its own socket, never /run/hostpulse's
        self.env.setdefault("HOSTPULSE_HEALTH_SOCKET", os.path.join(self.tmp.name, "health.sock"))
        self.proc = None
        self.returncode = None
        self.stdout = self.stderr = ""

    def start(self):
        self.out = open(os.path.join(self.tmp.name, "stdout"), "w+")
        self.err = open(os.path.join(self.tmp.name, "stderr"), "w+")
        self.proc = subprocess.Popen(self.args, stdout=self.out, stderr=self.err, env=self.env)
        return self

    def send(self, sig):
        self.proc.send_signal(sig)

    def read_stdout(self):
        with open(self.out.name) as f:
            return f.read()

    def read_stderr(self):
        with open(self.err.name) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("agent did not exit within %ss of %s" % (timeout, sig))
        self.returncode = self.proc.returncode if self.proc else None
        self.stdout = self.read_stdout() if self.proc else ""
        self.stderr = self.read_stderr() if self.proc else ""
        check_sanitizers(self.stderr)
        return self.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            self.out.close()
            self.err.close()
            self.tmp.cleanup()
        return False


def tiny_tmpfs(test, size, where=None):
    """Mount a tmpfs of `size` ("64k", "2m") for a disk-full test and return
    its path; unmounted (and its directory removed) in the test's cleanup.
    Skips the test, saying why, where mounting is not permitted (not root)."""
    mnt = where or tempfile.mkdtemp(prefix="hp-tmpfs-")
    os.makedirs(mnt, exist_ok=True)
    test.addCleanup(shutil.rmtree, mnt, ignore_errors=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", mnt],
                       capture_output=True, text=True)
    if p.returncode != 0:
        test.skipTest("cannot mount a tmpfs to fill up (needs root): " + p.stderr.strip())
    test.addCleanup(subprocess.run, ["umount", "-l", mnt], capture_output=True)
    return mnt


def grow_tmpfs(mnt, size):
    """Give a tiny_tmpfs more room: the disk-full condition ends."""
    subprocess.run(["mount", "-o", "remount,size=%s" % size, mnt], check=True)


def wait_for(predicate, timeout=30, interval=0.1, what="condition"):
    """Poll predicate() until it is true; AssertionError after timeout."""
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("timed out waiting for " + what)
