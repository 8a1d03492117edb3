# SPDX-License-Identifier: Apache-2.0
# test_notify.py -- the sd_notify protocol spoken to the service manager
# (systemd Type=notify, start-stop-daemon --notify-await): READY=1 after
# start, RELOADING=1 then READY=1 around a SIGHUP reload, STOPPING=1 at
# shutdown, and WATCHDOG=1 keep-alives at half of $WATCHDOG_USEC. A
# datagram socket in a temporary directory stands in for the manager.
# Also --syslog, which the SysV script passes: no log line on stderr, even
# after a reload whose file says destination = "stderr".
import os
import signal
import socket
import tempfile
import time
import unittest

import tests.integration.hp as hp
import tests.integration.stuckfs as stuckfs

CONFIG = """
agent: { hostname = "notifyhost"; };
reporters: { uptime: { interval = 0.5; }; agent: { interval = 0.5; }; };
sinks = ( { type = "stdout"; } );
"""


class NotifyTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.path = os.path.join(self.tmp.name, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(self.sock.close)
        self.sock.bind(self.path)
        self.sock.settimeout(10 * hp.SLOW)
        self.config = hp.write_config(self.tmp.name, CONFIG)

    def agent(self, env, extra=()):
        a = hp.Agent(self.config, ["--stdout"] + list(extra),
                     env=dict(env, NOTIFY_SOCKET=self.path))
        a.start()
        self.addCleanup(a.__exit__, None, None, None)
        return a

    def next_message(self, skip_watchdog=True):
        # One notification as a dict of KEY=VALUE lines.
        while True:
            data = self.sock.recv(4096).decode()
            fields = dict(line.split("=", 1) for line in data.splitlines() if "=" in line)
            if not (skip_watchdog and fields.get("WATCHDOG") == "1" and len(fields) == 1):
                return fields

    def test_ready_reload_stop(self):
        a = self.agent({})
        m = self.next_message()
        self.assertEqual(m.get("READY"), "1", m)
        self.assertRegex(m.get("STATUS", ""), r"^running: \d+ reporters, 1 sinks$")
        a.send(signal.SIGHUP)
        m = self.next_message()
        self.assertEqual(m.get("RELOADING"), "1", m)
        self.assertTrue(m.get("MONOTONIC_USEC", "").isdigit(), m)
        m = self.next_message()
        self.assertEqual(m.get("READY"), "1", m)
        a.send(signal.SIGTERM)
        m = self.next_message()
        self.assertEqual(m.get("STOPPING"), "1", m)
        self.assertEqual(a.stop(), 0, a.stderr)

    def test_failed_reload_still_ready(self):
        a = self.agent({})
        self.assertEqual(self.next_message().get("READY"), "1")
        with open(self.config, "w") as f:
            f.write("agent: { nonsense = 1; };\n")
        a.send(signal.SIGHUP)
        self.assertEqual(self.next_message().get("RELOADING"), "1")
        m = self.next_message()
        self.assertEqual(m.get("READY"), "1", m)
        self.assertIn("reload failed", m.get("STATUS", ""))
        self.assertEqual(a.stop(), 0, a.stderr)

    def test_watchdog_keepalive(self):
        # WatchdogSec=0.4s: pings every 0.2 s; several arrive while running.
        a = self.agent({"WATCHDOG_USEC": "400000"})
        pings = 0
        while pings < 3:
            if self.next_message(skip_watchdog=False).get("WATCHDOG") == "1":
                pings += 1
        self.assertEqual(a.stop(), 0, a.stderr)

    def test_watchdog_stops_while_a_reporter_is_stuck(self):
        # cpu reads its proc root from a file system whose reads never
        # return: the main thread still answers, but the keep-alives must
        # stop so that the service manager restarts the agent.
        fs = stuckfs.mount(self, ["stat", "loadavg"])
        with open(self.config, "w") as f:
            f.write('agent: { hostname = "notifyhost"; proc_root = "%s"; shutdown_timeout = 1.0; };\n'
                    'reporters: { cpu: { interval = 0.2; }; mem: { enabled = false; };\n'
                    '  net: { enabled = false; }; uptime: { enabled = false; };\n'
                    '  disk: { enabled = false; }; process: { enabled = false; };\n'
                    '  agent: { interval = 0.5; }; };\n'
                    'sinks = ( { type = "stdout"; } );\n' % fs.path)
        a = self.agent({"WATCHDOG_USEC": "400000"})  # pings every 0.2 s while healthy
        self.addCleanup(fs.abort)  # before the agent's cleanup waits for it
        self.assertEqual(self.next_message().get("READY"), "1")
        time.sleep(1.0 * hp.SLOW)  # the cpu sample is now stuck for longer than 0.4 s
        while True:  # drain what was sent before
            self.sock.settimeout(0.01)
            try:
                self.sock.recv(4096)
            except socket.timeout:
                break
        msgs, until = [], time.monotonic() + 1.5 * hp.SLOW
        while time.monotonic() < until:  # a window: a healthy agent pings all along
            self.sock.settimeout(max(until - time.monotonic(), 0.01))
            try:
                msgs.append(self.next_message(skip_watchdog=False))
            except socket.timeout:
                break
        self.assertFalse([m for m in msgs if m.get("WATCHDOG")], msgs)
        fs.abort()  # the read fails, the reporter moves on: a clean stop
        self.assertEqual(a.stop(), 0, a.stderr)
        self.assertIn("watchdog: reporter cpu has been in one sample for", a.stderr)

    def test_watchdog_for_another_pid_is_ignored(self):
        # WATCHDOG_PID names another process: the agent must not ping.
        a = self.agent({"WATCHDOG_USEC": "100000", "WATCHDOG_PID": "1"})
        self.assertEqual(self.next_message().get("READY"), "1")
        self.sock.settimeout(1.0)
        msgs = []
        try:
            while True:
                msgs.append(self.next_message(skip_watchdog=False))
        except socket.timeout:
            pass
        self.assertFalse([m for m in msgs if m.get("WATCHDOG")], msgs)
        self.assertEqual(a.stop(), 0, a.stderr)

    def test_syslog_flag_survives_reload(self):
        a = self.agent({}, ["--syslog"])
        self.assertEqual(self.next_message().get("READY"), "1")
        a.send(signal.SIGHUP)
        m = {}
        while m.get("READY") != "1":
            m = self.next_message()
        self.assertEqual(a.stop(), 0, a.stderr)
        self.assertNotIn("hostpulse: info:", a.stderr)
        self.assertTrue(hp.parse_lines(a.stdout), "--stdout still prints messages")


if __name__ == "__main__":
    unittest.main()
