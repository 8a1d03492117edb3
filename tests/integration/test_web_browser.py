# SPDX-License-Identifier: Apache-2.0
# hp: slow
"""hostpulse-web in a real browser: Debian's headless chromium, driven over
the DevTools protocol, opens the fleet page and host pages of an instance
fed through --stdin with crafted agent messages (tests/integration/webfeed):
every chart canvas must be drawn (pixels of its lines' colours inside the
plot area), the page must log no JavaScript error, a host named
<script>alert(1)</script> must stay text (no dialog, no extra script
element), stale hosts and lost messages must be marked, and a new sample
must reach an open page without a reload. A new host's few samples must
spread over its charts' width, with a note saying since when it reports,
and byte axes must tick at a power of two bytes apart. Screenshots of
each page are kept in the test output directory (build/VARIANT/test-logs/).
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

from tests.integration import hp, webfeed

WEB = os.path.join(hp.BUILD, "hostpulse-web")
LOGS = os.path.join(hp.BUILD, "test-logs")
HOSTILE = "<script>alert(1)</script>"
STEP_S = 30

# Charts the host page draws for webfeed's reporters, by card id.
CHARTS = ["cpu", "load", "mem", "membytes", "rx", "tx", "fs", "dread", "dwrite", "dbusy",
          "temp", "pcpu", "prss", "tasks"]

# For every chart: how many pixels inside its plot area have one of its
# datasets' colours. The canvas is transparent and getImageData returns
# un-premultiplied colours, so an antialiased pixel of a thin line or a dot
# keeps its line's colour with a lower alpha: match the colour within a few
# steps per channel, any alpha from a quarter up. Grid lines (#2a3240) are
# far from every line colour, tick labels (#8a94a6) from every colour of
# the palette.
DRAWN_JS = r"""
(() => {
  const out = {};
  const rgb = hex => [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16));
  for (const c of Object.values(Chart.instances)) {
    const a = c.chartArea, ctx = c.ctx;
    // the plot area plus 3 px right and below: a line along zero, or the
    // newest dot at the right edge, is drawn half across the border
    const w = Math.min(c.canvas.width, Math.floor(a.right) + 3) - Math.ceil(a.left);
    const h = Math.min(c.canvas.height, Math.floor(a.bottom) + 3) - Math.ceil(a.top);
    const img = ctx.getImageData(Math.ceil(a.left), Math.ceil(a.top), w, h).data;
    const want = c.data.datasets.map(d => rgb(d.borderColor));
    let n = 0;
    for (let i = 0; i < img.length; i += 4) {
      if (img[i + 3] < 64) continue;
      if (want.some(w => Math.abs(w[0] - img[i]) <= 24 && Math.abs(w[1] - img[i + 1]) <= 24 &&
                         Math.abs(w[2] - img[i + 2]) <= 24)) n++;
    }
    out[c.canvas.closest(".card").id.replace("chart-", "")] = n;
  }
  return out;
})()
"""

# For every chart: where its drawn pixels (as DRAWN_JS counts them) begin
# and end across the plot area, as fractions of its width.
SPAN_JS = r"""
(() => {
  const out = {};
  const rgb = hex => [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16));
  for (const c of Object.values(Chart.instances)) {
    const a = c.chartArea;
    const x0 = Math.ceil(a.left), y0 = Math.ceil(a.top);
    const w = Math.floor(a.right) - x0, h = Math.floor(a.bottom) - y0;
    const img = c.ctx.getImageData(x0, y0, w, h).data;
    const want = c.data.datasets.map(d => rgb(d.borderColor));
    let left = w, right = -1;
    for (let i = 0; i < img.length; i += 4) {
      if (img[i + 3] < 64) continue;
      if (!want.some(w => Math.abs(w[0] - img[i]) <= 24 && Math.abs(w[1] - img[i + 1]) <= 24 &&
                          Math.abs(w[2] - img[i + 2]) <= 24)) continue;
      const x = (i / 4) % w;
      left = Math.min(left, x);
      right = Math.max(right, x);
    }
    out[c.canvas.closest(".card").id.replace("chart-", "")] = right < 0 ? null : [left / w, right / w];
  }
  return out;
})()
"""

# For every chart: the smallest and largest radius of its drawn points.
RADII_JS = r"""
(() => {
  const out = {};
  for (const c of Object.values(Chart.instances)) {
    const r = c.data.datasets.flatMap((d, i) => c.getDatasetMeta(i).data
      .filter(p => !p.skip).map(p => p.options.radius));
    out[c.canvas.closest(".card").id.replace("chart-", "")] = [Math.min(...r), Math.max(...r)];
  }
  return out;
})()
"""

# Byte-valued and byte-rate charts, and their y axes' ticks: values and labels.
BYTE_CHARTS = ["membytes", "rx", "tx", "dread", "dwrite", "prss"]
BYTE_TICKS_JS = r"""
Object.fromEntries(%s.filter(id => document.querySelector("#chart-" + id + " canvas")).map(id => {
  const c = Chart.getChart(document.querySelector("#chart-" + id + " canvas"));
  const top = Math.max(...c.data.datasets.flatMap(d => d.data.map(p => p.y)));
  return [id, { values: c.scales.y.ticks.map(t => t.value), max: c.scales.y.max, top: top,
                labels: c.scales.y.ticks.map(t => t.label) }];
}))
""" % json.dumps(BYTE_CHARTS)
BYTE_LABEL = r"^(0|[1-9][0-9]{0,3})(\.[0-9]{1,2})? (B|KiB|MiB|GiB|TiB)%s$"

CHARTS_READY_JS = r"""
(() => {
  const all = Object.values(window.Chart ? Chart.instances : {});
  return all.length >= %d && all.every(c => c.data.datasets.some(d => d.data.some(p => p.y !== null))) &&
         !!document.querySelector("#charts .card h2 .unit") &&
         [...document.querySelectorAll("#charts .card h2 .unit")].every(u => u.textContent.length > 0);
})()
""" % len(CHARTS)


def check_binary_axes(test, b):
    """Every byte axis ticks from 0 at one power of two bytes apart
    (256 MiB, 1 GiB...), up to a tick at or above its highest value,
    labelled compactly ("2 GiB", "1.5 MiB/s")."""
    axes = b.eval(BYTE_TICKS_JS)
    test.assertEqual(sorted(axes), sorted(BYTE_CHARTS))
    for chart, y in axes.items():
        values = y["values"]
        test.assertGreaterEqual(len(values), 3, (chart, y))
        test.assertEqual(values[0], 0, (chart, y))
        step = values[1] - values[0]
        test.assertTrue(step >= 1 and step == int(step), (chart, y))
        test.assertEqual(int(step) & (int(step) - 1), 0, "%s: step %s is not a power of two: %s"
                         % (chart, step, y))
        test.assertEqual([v - u for u, v in zip(values, values[1:])],
                         [step] * (len(values) - 1), (chart, y))
        test.assertGreaterEqual(values[-1], y["top"], (chart, y))
        test.assertEqual(values[-1], y["max"], (chart, y))
        suffix = "/s" if chart in ("rx", "tx", "dread", "dwrite") else ""
        for label in y["labels"]:
            test.assertRegex(label, BYTE_LABEL % suffix, (chart, y))


def have_chromium():
    return shutil.which("chromium") is not None


class Web:
    """hostpulse-web --stdin on a free loopback port, with a fresh database."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="hp-web-")
        self.port = hp.free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.err = open(os.path.join(self.tmp, "stderr"), "w+")
        conf = hp.write_config(self.tmp, "web: { static_dir = \"%s\"; };\n" % os.path.join(
            hp.ROOT, "web", "static"), name="web.conf")
        self.proc = subprocess.Popen(
            [WEB, "-c", conf, "--stdin", "--db", os.path.join(self.tmp, "web.db"),
             "--listen", "127.0.0.1:%d" % self.port],
            stdin=subprocess.PIPE, stdout=self.err, stderr=self.err, text=True)

    def feed(self, lines):
        self.proc.stdin.write("\n".join(lines) + "\n")
        self.proc.stdin.flush()

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=10) as r:
            return json.load(r)

    def poll(self, path):
        """get(path), or None while the server is not answering yet."""
        try:
            return self.get(path)
        except OSError:
            return None

    def stderr(self):
        with open(self.err.name) as f:
            return f.read()

    def stop(self):
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20 * hp.SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()
        text = self.stderr()
        shutil.rmtree(self.tmp, ignore_errors=True)
        hp.check_sanitizers(text)


@unittest.skipUnless(have_chromium(), "chromium is not installed (make deps installs it)")
class BrowserTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(LOGS, exist_ok=True)
        cls.web = Web()
        now = int(time.time() * 1000)
        lines = []
        # web01: an hour of samples, six in a row lost on the way (3 minutes:
        # more than three intervals, so the charts must show a gap)
        lines += webfeed.history("web01", now, minutes=60, step_s=STEP_S, skip=range(40, 46))
        lines += webfeed.history("db01", now, minutes=60, step_s=STEP_S, hot=30)
        lines += webfeed.history(HOSTILE, now, minutes=20, step_s=STEP_S)
        # old01 stopped reporting half an hour ago: stale
        lines += webfeed.history("old01", now - 1800e3, minutes=30, step_s=STEP_S,
                                 version="0.0.9")
        cls.sent = len(lines)
        cls.web.feed(lines)
        try:
            hp.wait_for(lambda: cls._stored() >= cls.sent, timeout=60,
                        what="hostpulse-web to store %d messages" % cls.sent)
        except BaseException:
            print(cls.web.stderr())
            cls.web.stop()
            raise

    @classmethod
    def _stored(cls):
        try:
            return cls.web.get("/api/fleet")["stats"]["stored"]
        except (OSError, KeyError, TypeError, ValueError):
            return 0

    @classmethod
    def tearDownClass(cls):
        cls.web.stop()

    def browse(self):
        from tests.integration.chromium import Browser
        return Browser(width=1600, height=1000)

    def assertClean(self, b):
        b.pump(0.5)
        self.assertEqual(b.dialogs, [], "a dialog opened: a message string ran as script")
        self.assertEqual(b.errors, [], "JavaScript errors:\n" + "\n".join(b.errors))

    def test_fleet_page(self):
        with self.browse() as b:
            b.open(self.web.base + "/")
            b.wait("document.querySelectorAll('#rows .row').length === 4",
                   what="four host rows")
            b.screenshot(os.path.join(LOGS, "web-fleet.png"))
            names = b.eval("[...document.querySelectorAll('#rows .host a')]"
                           ".map(a => a.textContent)")
            self.assertEqual(sorted(names), sorted(["web01", "db01", "old01", HOSTILE]))
            # two scripts of our own, none from a host name
            self.assertEqual(b.eval("document.scripts.length"), 2)
            stale = b.eval("[...document.querySelectorAll('#rows .row.stale .host')]"
                           ".map(td => td.textContent)")
            self.assertEqual(stale, ["old01"])
            lost = b.eval("Object.fromEntries([...document.querySelectorAll('#rows .row')]"
                          ".map(tr => [tr.querySelector('.host').textContent,"
                          " tr.lastElementChild.textContent]))")
            # two samples of every interval reporter are missing on web01
            self.assertGreater(int(lost["web01"]), 0, lost)
            self.assertEqual(lost["db01"], "0", lost)
            link = b.eval("[...document.querySelectorAll('#rows .host a')]"
                          ".find(a => a.textContent.startsWith('<')).getAttribute('href')")
            self.assertEqual(link, "/host/" + urllib.parse.quote(HOSTILE, safe="()"))
            # sorting: a click on "cpu %" puts the busiest first, a second click reverses
            cpus = ("[...document.querySelectorAll('#rows .row')]"
                    ".map(r => parseFloat(r.children[3].textContent))")
            b.eval("document.querySelector('#fleet [data-key=cpu_pct]').click()")
            got = b.eval(cpus)
            self.assertEqual(got, sorted(got, reverse=True))
            self.assertNotEqual(got, sorted(got), "all hosts have the same cpu: a weak check")
            b.eval("document.querySelector('#fleet [data-key=cpu_pct]').click()")
            self.assertEqual(b.eval(cpus), sorted(got))
            self.assertClean(b)

    def check_host_page(self, b, name, shot):
        b.open(self.web.base + "/host/" + urllib.parse.quote(name, safe=""))
        b.wait(CHARTS_READY_JS, timeout=60, what="every chart of %s to have data" % name)
        b.pump(0.5)
        b.screenshot(os.path.join(LOGS, shot))
        drawn = b.eval(DRAWN_JS)
        self.assertEqual(sorted(drawn), sorted(CHARTS))
        blank = {k: v for k, v in drawn.items() if v < 20}
        self.assertEqual(blank, {}, "charts without drawn lines (pixels per chart): %s" % drawn)
        units = b.eval("[...document.querySelectorAll('#charts .card h2')].map(h => h.textContent)")
        for u in units[:len(CHARTS)]:
            self.assertRegex(u, r"\(.+, last hour", "a chart without unit or range: " + u)
        self.assertEqual(b.eval("document.getElementById('hostname').textContent"), name)
        self.assertTrue(b.eval("document.title").startswith(name))
        self.assertEqual(b.eval("document.scripts.length"), 3)
        check_binary_axes(self, b)

    def test_host_page(self):
        with self.browse() as b:
            self.check_host_page(b, "web01", "web-host.png")
            # an hour of samples: the whole range, no note
            self.assertTrue(b.eval("document.getElementById('since').hidden"))
            self.assertNotIn("since", b.eval("document.querySelector('#chart-cpu h2').textContent"))
            self.assertEqual({k: v for k, v in b.eval(RADII_JS).items() if v[1] > 0}, {},
                             "an hour of samples drawn as dots")
            span = b.eval("(() => { const x = Chart.getChart(document.querySelector("
                          "'#chart-cpu canvas')).scales.x; return x.max - x.min; })()")
            self.assertEqual(span, 3600e3)
            # up to 20 GiB of memory: GiB ticks
            labels = b.eval(BYTE_TICKS_JS)["membytes"]["labels"]
            self.assertTrue(all(t == "0 B" or t.endswith(" GiB") for t in labels), labels)
            procs = b.eval("[...document.querySelectorAll('#procs td:nth-child(2)')]"
                           ".map(td => td.textContent)")
            self.assertIn("postgres", procs)
            facts = b.eval("document.getElementById('facts').textContent")
            self.assertIn("6.1.0-13-amd64", facts)
            self.assertIn("192.0.2.10", facts)
            lost = b.eval("[...document.querySelectorAll('#loss tr')].slice(1)"
                          ".map(tr => [tr.children[0].textContent, tr.children[2].textContent])")
            self.assertIn(["cpu", "6"], lost)
            # the lost samples are a gap in the line: a null point between
            # non-null ones, and Chart.js told not to bridge it
            gap = b.eval("(() => { const c = Chart.getChart(document.querySelector('#chart-cpu canvas'));"
                         " const d = c.data.datasets.find(d => d.label.startsWith('user'));"
                         " const ys = d.data.map(p => p.y);"
                         " const first = ys.findIndex(y => y !== null);"
                         " const inner = ys.slice(first, ys.length - [...ys].reverse().findIndex(y => y !== null));"
                         " return [inner.includes(null), d.spanGaps]; })()")
            self.assertEqual(gap, [True, False], "no gap in web01's cpu line")
            self.assertClean(b)

    def test_hostile_host_page(self):
        with self.browse() as b:
            self.check_host_page(b, HOSTILE, "web-host-hostile.png")
            self.assertClean(b)

    def test_live_update(self):
        # A new sample reaches an open page's chart without a reload.
        with self.browse() as b:
            b.open(self.web.base + "/host/db01")
            b.wait(CHARTS_READY_JS, timeout=60, what="charts of db01")
            b.eval("window.hpMarker = 42")
            ts = int(time.time() * 1000)
            data = dict(webfeed.samples("db01", 0, ts))["cpu"]
            data["user"] = 99.5  # a value no crafted sample has
            msg = webfeed.envelope("db01", "live-session", "cpu", 1, ts, STEP_S, data)
            self.web.feed([json.dumps(msg)])
            b.wait("Chart.getChart(document.querySelector('#chart-cpu canvas')).data.datasets"
                   ".some(d => d.label.startsWith('user') && d.data.some(p => p.y === 99.5))",
                   timeout=30, what="the new cpu sample in the open page's chart")
            self.assertEqual(b.eval("window.hpMarker"), 42, "the page was reloaded")
            self.assertClean(b)

    def test_range_switch(self):
        with self.browse() as b:
            b.open(self.web.base + "/host/db01")
            b.wait(CHARTS_READY_JS, timeout=60, what="charts of db01")
            b.eval("document.querySelector('button[data-range=\"7d\"]').click()")
            b.wait("[...document.querySelectorAll('#charts .card h2 .unit')]"
                   ".every(u => u.textContent.includes('last 7 days'))", timeout=60,
                   what="every chart to show the 7-day range")
            b.wait(CHARTS_READY_JS, timeout=60, what="7-day charts with data")
            self.assertEqual(b.eval("location.hash"), "#7d")
            b.screenshot(os.path.join(LOGS, "web-host-7d.png"))
            self.assertClean(b)


@unittest.skipUnless(have_chromium(), "chromium is not installed (make deps installs it)")
class NewHostTest(unittest.TestCase):
    """A host that has just started: three samples, ten seconds apart."""

    def test_new_host_page(self):
        web = Web()
        self.addCleanup(web.stop)
        now = int(time.time() * 1000)
        lines = webfeed.history("new01", now, minutes=0.5, step_s=10)
        first = json.loads(lines[2])["ts"]  # after the session and ipaddr messages
        web.feed(lines)
        hp.wait_for(lambda: ((web.poll("/api/fleet") or {}).get("stats") or {}).get("stored", 0)
                    >= len(lines), timeout=30, what="the new host's messages stored")
        from tests.integration.chromium import Browser
        with Browser(width=1600, height=1000) as b:
            b.open(web.base + "/host/new01")
            b.wait(CHARTS_READY_JS, timeout=60, what="the new host's charts with data")
            b.pump(0.5)
            b.screenshot(os.path.join(LOGS, "web-host-new.png"))
            # three samples over 20 s: lines across the chart, not a few
            # dots at the right edge of an hour
            spans = b.eval(SPAN_JS)
            self.assertEqual(sorted(spans), sorted(CHARTS))
            narrow = {k: v for k, v in spans.items() if v is None or v[1] - v[0] < 0.3 or v[0] > 0.6}
            self.assertEqual(narrow, {}, "charts drawn in a narrow strip (left, right): %s" % spans)
            # and each sample a dot on its line
            radii = b.eval(RADII_JS)
            self.assertEqual({k: v for k, v in radii.items() if v[0] < 2}, {},
                             "charts whose samples are not dots (smallest, largest radius): %s"
                             % radii)
            since = time.strftime("%H:%M", time.localtime(first / 1000))
            self.assertFalse(b.eval("document.getElementById('since').hidden"))
            note = b.eval("document.getElementById('since').textContent")
            self.assertIn("only since " + since, note)
            self.assertIn("last hour", note)
            self.assertTrue(b.eval("getComputedStyle(document.getElementById('since')).display")
                            != "none")
            for h2 in b.eval("[...document.querySelectorAll('#charts .card h2')]"
                             ".map(h => h.textContent)"):
                self.assertIn("last hour; data since " + since, h2)
            self.assertEqual(b.dialogs, [])
            self.assertEqual(b.errors, [], "\n".join(b.errors))
            check_binary_axes(self, b)


AGENT_CONF = """
agent: { description = "browser test"; };
reporters: {
  cpu: { interval = 0.5; }; mem: { interval = 0.5; }; net: { interval = 0.5; };
  disk: { interval = 0.5; }; uptime: { interval = 1.0; }; agent: { interval = 1.0; };
  process: { enabled = true; interval = 0.5; watch = ( { self = true; } ); };
};
sinks = ( { type = "stdout"; } );
"""

# The real agent's charts: cpu, load, memory (two), network (two),
# filesystems, disk I/O (three), its own process (two), tasks.
AGENT_CHARTS = {"cpu", "load", "mem", "membytes", "rx", "tx", "fs", "dread", "dwrite", "dbusy",
                "pcpu", "prss", "tasks"}


def read_from_disk(path):
    """Read path from the device, not the page cache: drop its cached pages
    (POSIX_FADV_DONTNEED, no privilege needed) and read it through, so the
    host shows disk reads even when everything else is cached."""
    with open(os.path.realpath(path), "rb") as f:
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        while f.read(1 << 20):
            pass


@unittest.skipUnless(have_chromium(), "chromium is not installed (make deps installs it)")
class RealAgentTest(unittest.TestCase):
    """`hostpulse --stdout | hostpulse-web --stdin`: the real agent's messages."""

    def test_agent_pipeline_page(self):
        web = Web()
        self.addCleanup(web.stop)
        conf = hp.write_config(web.tmp, AGENT_CONF)
        env = dict(os.environ, HOSTPULSE_SPOOL_DIR=os.path.join(web.tmp, "spool"))
        agent = subprocess.Popen([hp.BIN, "-c", conf, "--stdout"], stdout=web.proc.stdin,
                                 stderr=subprocess.DEVNULL, env=env)
        self.addCleanup(agent.wait)
        self.addCleanup(agent.terminate)
        hosts = hp.wait_for(lambda: (web.poll("/api/fleet") or {}).get("hosts"), timeout=30,
                            what="the agent's host in the fleet")
        name = hosts[0]["host"]
        # a few samples of each reporter, so that every chart has a line
        want = {"cpu", "mem", "net", "disk", "process"}

        def enough():
            read_from_disk(hp.BIN)  # the disk read chart needs reads to draw
            loss = web.get("/api/host?host=" + urllib.parse.quote(name))["loss"]
            have = {r["reporter"] for r in loss if r["received"] >= 4}
            return want <= have
        hp.wait_for(enough, timeout=60, what="four samples of every reporter")
        from tests.integration.chromium import Browser
        with Browser(width=1600, height=1000) as b:
            b.open(web.base + "/host/" + urllib.parse.quote(name, safe=""))
            b.wait(CHARTS_READY_JS.replace(">= %d" % len(CHARTS), ">= %d" % len(AGENT_CHARTS)),
                   timeout=60, what="the agent's charts with data")
            b.pump(0.5)
            b.screenshot(os.path.join(LOGS, "web-host-agent.png"))
            # live charts redraw as samples arrive: a chart caught between
            # clearing and drawing counts as blank once, never every time
            drawn = {}
            for _ in range(10):
                for k, v in b.eval(DRAWN_JS).items():
                    drawn[k] = max(v, drawn.get(k, 0))
                if all(drawn.get(k) for k in AGENT_CHARTS):
                    break
                b.pump(0.5)
            self.assertTrue(AGENT_CHARTS <= set(drawn), "missing charts: %s" % (
                AGENT_CHARTS - set(drawn)))
            # dots (few samples): fewer pixels than lines, but never none
            blank = {k: v for k, v in drawn.items() if k in AGENT_CHARTS and v == 0}
            self.assertEqual(blank, {}, "charts with nothing drawn: %s" % drawn)
            facts = b.eval("document.getElementById('facts').textContent")
            self.assertIn("browser test", facts)  # the session message's description

            # the fleet page follows the running agent without a reload
            b.open(web.base + "/")
            stored = ("(() => { const b = document.querySelectorAll('#summary b');"
                      " return b.length ? parseInt(b[b.length - 1].textContent) : 0; })()")
            first = b.wait(stored, what="the stored count in the fleet header")
            b.eval("window.hpMarker = 7")
            b.wait("%s > %d" % (stored, first), timeout=30,
                   what="the fleet header to count new messages")
            self.assertEqual(b.eval("window.hpMarker"), 7, "the page was reloaded")
            self.assertEqual(b.eval("document.querySelector('#rows .host').textContent"), name)
            self.assertEqual(b.dialogs, [])
            self.assertEqual(b.errors, [], "\n".join(b.errors))


if __name__ == "__main__":
    unittest.main()
