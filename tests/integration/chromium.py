# SPDX-License-Identifier: Apache-2.0
"""chromium.py -- Debian's headless chromium driven through the DevTools
protocol (python3-websocket), for the browser tests (not a test module).

    with Browser() as b:
        b.open("http://127.0.0.1:9180/")        # waits for the load event
        b.wait("document.querySelectorAll('tr').length > 3")
        b.eval("document.title")
        b.screenshot("fleet.png")
        b.errors                                  # JS exceptions, console errors
        b.dialogs                                 # alert() and friends: must stay empty

Each Browser has its own new profile directory, no network access beyond
what the page asks for (no component updates, sync or QUIC), and is killed
and its profile removed on exit.
"""
import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import websocket

from tests.integration import hp

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio"]


class Browser:
    def __init__(self, width=1600, height=1000):
        self.width, self.height = width, height
        self.errors, self.dialogs, self.console = [], [], []
        self.proc = self.ws = None
        self.next_id = 0

    def __enter__(self):
        self.profile = tempfile.mkdtemp(prefix="hp-chromium-")
        port = hp.free_port()
        self.log = open(os.path.join(self.profile, "chromium.log"), "w+")
        self.proc = subprocess.Popen(
            [CHROMIUM] + FLAGS + ["--user-data-dir=" + self.profile,
                                  "--remote-debugging-address=127.0.0.1",
                                  "--remote-debugging-port=%d" % port,
                                  "--window-size=%d,%d" % (self.width, self.height),
                                  "about:blank"],
            stdout=self.log, stderr=self.log, start_new_session=True)
        try:
            target = hp.wait_for(lambda: self._page_target(port), timeout=60,
                                 what="chromium's DevTools endpoint")
            self.ws = websocket.create_connection(target, timeout=60 * hp.SLOW,
                                                  suppress_origin=True)
            for domain in ("Page", "Runtime", "Log"):
                self.call(domain + ".enable")
            self.call("Emulation.setDeviceMetricsOverride", width=self.width,
                      height=self.height, deviceScaleFactor=1, mobile=False)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if self.ws:
            self.ws.close()
        if self.proc:
            # chromium's own children (zygote, renderer, gpu) share its
            # process group: kill them all, or they write into the profile
            # while it is being removed
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.log.close()
        for _ in range(20):
            shutil.rmtree(self.profile, ignore_errors=True)
            if not os.path.exists(self.profile):
                break
            time.sleep(0.1)
        return False

    @staticmethod
    def _page_target(port):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=2) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
        except OSError:
            return None
        return pages[0]["webSocketDebuggerUrl"] if pages else None

    # -- protocol -------------------------------------------------------

    def _event(self, msg):
        method, p = msg.get("method"), msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            self.errors.append("exception: %s %s" % (
                d.get("text"), (d.get("exception") or {}).get("description", "")))
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
            self.console.append("%s: %s" % (p["type"], text))
            if p["type"] in ("error", "assert"):
                self.errors.append("console.%s: %s" % (p["type"], text))
        elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
            e = p["entry"]
            self.errors.append("log: %s %s" % (e.get("text"), e.get("url", "")))
        elif method == "Page.javascriptDialogOpening":
            self.dialogs.append(p.get("message"))
            self.send("Page.handleJavaScriptDialog", accept=True)
        elif method == "Page.loadEventFired":
            self.loaded = True

    def send(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        return self.next_id

    def call(self, method, **params):
        """Send a command and return its result; events met meanwhile are recorded."""
        want = self.send(method, **params)
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == want:
                if "error" in msg:
                    raise AssertionError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self._event(msg)

    def pump(self, seconds):
        """Read events for a while (exceptions, dialogs)."""
        end = time.monotonic() + seconds
        self.ws.settimeout(0.1)
        try:
            while time.monotonic() < end:
                try:
                    self._event(json.loads(self.ws.recv()))
                except websocket.WebSocketTimeoutException:
                    pass
        finally:
            self.ws.settimeout(60 * hp.SLOW)

    # -- pages ------------------------------------------------------------

    def open(self, url, timeout=30):
        self.loaded = False
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout * hp.SLOW
        while not self.loaded:
            if time.monotonic() > deadline:
                raise AssertionError("page did not load: " + url)
            self.pump(0.2)

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True,
                      awaitPromise=True)
        if "exceptionDetails" in r:
            raise AssertionError("evaluate %r: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def wait(self, expr, timeout=30, what=None):
        """Poll a JavaScript expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout * hp.SLOW
        while True:
            v = self.eval(expr)
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for " + (what or expr))
            self.pump(0.2)

    def screenshot(self, path, full_page=True):
        params = {"format": "png"}
        if full_page:
            size = self.eval("[document.documentElement.scrollWidth,"
                             " document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": max(size[0], self.width),
                              "height": max(size[1], self.height), "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", **params)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path
