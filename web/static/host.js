// SPDX-License-Identifier: Apache-2.0
// host.js -- one host's page: facts from its session message, charts over
// a selectable range (Chart.js from Debian's libjs-chart.js, served
// locally), the latest process list and loss per reporter. Which charts
// exist follows the series the store holds for this host (/api/host); each
// chart's lines come from /api/series. Gaps stay gaps: the API sends null
// points and Chart.js runs with spanGaps false. Live: data is refetched on
// a timer without reloading the page. A host that began reporting within
// the last half of the range has its charts drawn from its first sample
// to now, with a note saying so (chartWindow). Byte axes tick at binary
// steps (binaryTicks).
"use strict";

const HOST = document.body.dataset.host;
const RANGES = { "1h": 3600e3, "6h": 6 * 3600e3, "24h": 24 * 3600e3, "48h": 48 * 3600e3,
                 "7d": 7 * 86400e3, "30d": 30 * 86400e3 };
const RANGE_TEXT = { "1h": "last hour", "6h": "last 6 hours", "24h": "last 24 hours",
                     "48h": "last 48 hours", "7d": "last 7 days", "30d": "last 30 days" };
const COLORS = ["#5aa9e6", "#e0584f", "#f0a030", "#5fb760", "#b67be0", "#4fd1c5", "#e07bb6",
                "#c9c95a", "#ffd166", "#ff8c69", "#7bdff2", "#a3be8c"];
const POINTS = 600;
// the narrowest time axis of a new host: wide enough for a few ticks, and
// narrow enough that its first samples (seconds apart) spread across it
const MIN_SPAN = 10e3;
let range = (location.hash || "").slice(1) in RANGES ? location.hash.slice(1) : "1h";
let charts = []; // {def, chart, card}
let timer = null;

// whole numbers as they are, small fractions with one decimal (axis ticks
// of an idle process: 0.2 %, 0.4 %, not 0 %, 0 %)
function pct(v) {
  return (Number.isInteger(v) ? v : num(v, Math.abs(v) < 10 ? 1 : 0)) + " %";
}
function rate(v) { return bytes(v, "/s"); }

// A byte axis' tick: its values are multiples of a power of two, so at
// most two decimals in the largest unit it reaches ("1.25 GiB", "512 MiB").
function binary(v, suffix) {
  const u = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return +v.toFixed(2) + " " + u[i] + suffix;
}

// Chart definitions: which series of /api/host's list each chart draws.
// match(reporter, path) returns a line label, or null when not this chart.
const DEFS = [
  { id: "cpu", title: "CPU time by state", unit: "% of all cpus", fmt: pct, max: 100,
    match: (r, p) => r === "cpu" && ["user", "system", "iowait", "steal", "nice", "irq", "softirq"].includes(p) ? p : null },
  { id: "load", title: "Load average", unit: "runnable tasks", fmt: v => num(v, 2),
    match: (r, p) => r === "cpu" && /^load(1|5|15)$/.test(p) ? p.replace("load", "") + " min" : null },
  { id: "mem", title: "Memory and swap used", unit: "%", fmt: pct, max: 100,
    match: (r, p) => r === "mem" && p === "percent" ? "memory" : r === "mem" && p === "swap.percent" ? "swap" : null },
  { id: "membytes", title: "Memory", unit: "bytes", fmt: v => bytes(v), binary: "", floor: 1024,
    match: (r, p) => r === "mem" && ["used", "available", "cached", "buffers"].includes(p) ? p : null },
  { id: "rx", title: "Network received", unit: "bytes/s", fmt: rate, binary: "/s", floor: 1024,
    match: (r, p) => r === "net" ? (p.match(/^interfaces\.(.+)\.bytes_recv_per_sec$/) || [])[1] || null : null },
  { id: "tx", title: "Network sent", unit: "bytes/s", fmt: rate, binary: "/s", floor: 1024,
    match: (r, p) => r === "net" ? (p.match(/^interfaces\.(.+)\.bytes_sent_per_sec$/) || [])[1] || null : null },
  { id: "fs", title: "Filesystem use", unit: "% of size", fmt: pct, max: 100,
    match: (r, p) => r === "disk" ? (p.match(/^filesystems\.(.+)\.percent$/) || [])[1] || null : null },
  { id: "dread", title: "Disk reads", unit: "bytes/s", fmt: rate, binary: "/s", floor: 1024,
    match: (r, p) => r === "disk" ? (p.match(/^devices\.(.+)\.read_bytes_per_sec$/) || [])[1] || null : null },
  { id: "dwrite", title: "Disk writes", unit: "bytes/s", fmt: rate, binary: "/s", floor: 1024,
    match: (r, p) => r === "disk" ? (p.match(/^devices\.(.+)\.write_bytes_per_sec$/) || [])[1] || null : null },
  { id: "dbusy", title: "Disk busy", unit: "% of time", fmt: pct, max: 100,
    match: (r, p) => r === "disk" ? (p.match(/^devices\.(.+)\.busy_percent$/) || [])[1] || null : null },
  { id: "temp", title: "Temperatures", unit: "°C", fmt: v => num(v, 1) + " °C",
    match: (r, p) => r === "temperature" ? (p === "cpu" ? "cpu" : (p.match(/^sensors\.(.+)\.value$/) || [])[1] || null) : null },
  { id: "pcpu", title: "Watched processes: cpu", unit: "% of one cpu", fmt: pct, maxLines: 8, floor: 10,
    match: (r, p) => r === "process" ? (p.match(/^watched\.(.+)\.cpu_percent$/) || [])[1] || null : null },
  { id: "prss", title: "Watched processes: resident memory", unit: "bytes", fmt: v => bytes(v), binary: "",
    floor: 1024, maxLines: 8,
    match: (r, p) => r === "process" ? (p.match(/^watched\.(.+)\.rss$/) || [])[1] || null : null },
  { id: "tasks", title: "Tasks", unit: "count", fmt: v => num(v, 0),
    match: (r, p) => r === "process" && (p === "processes" || p === "threads") ? p : null },
];

// Time ticks at round local times (every 10 min, hour, 6 hours, day...),
// about six per chart whatever the range; seconds for a new host's chart.
const STEPS = [1e3, 2e3, 5e3, 10e3, 15e3, 30e3, 60e3, 300e3, 600e3, 900e3, 1800e3, 3600e3,
               2 * 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 86400e3, 2 * 86400e3, 7 * 86400e3];

function timeTicks(axis) {
  const span = axis.max - axis.min;
  const step = STEPS.find(s => span / s <= 7) || STEPS[STEPS.length - 1];
  const off = new Date(axis.max).getTimezoneOffset() * 60e3; // local wall clock = t - off
  const ticks = [];
  for (let t = Math.ceil((axis.min - off) / step) * step + off; t <= axis.max; t += step)
    ticks.push({ value: t });
  axis.ticks = ticks;
  axis.hpStep = step;
}

function tickLabel(ms, i, ticks) {
  const step = this.hpStep || 0;
  if (step >= 86400e3) { const d = new Date(ms); return (d.getMonth() + 1) + "-" + pad2(d.getDate()); }
  if (step < 60e3) return clock(ms) + ":" + pad2(new Date(ms).getSeconds());
  return clock(ms, this.max - this.min > 24 * 3600e3 && (i === 0 || new Date(ms).getHours() === 0));
}

// Byte axes: ticks at a power of two bytes apart (256 MiB, 1 GiB, 2 GiB...),
// not at Chart.js's decimal steps (4.7 GiB, 9.3 GiB); the top becomes the
// first such tick above the data. afterDataLimits keeps the data's top,
// because Chart.js rounds max itself before afterBuildTicks.
function keepTop(axis) { axis.hpTop = axis.max; }

function binaryTicks(axis) {
  const top = Math.max(axis.hpTop, 1);
  const most = (axis.options.ticks.maxTicksLimit || 6) - 1;
  let step = 1;
  while (top / step > most) step *= 2;
  axis.max = axis.end = Math.ceil(top / step) * step;
  const ticks = [];
  for (let v = 0; v <= axis.max; v += step) ticks.push({ value: v });
  axis.ticks = ticks;
}

// Few samples (a new host, a long gap): lines with dots, or a single
// sample vanishes. Scriptable: Chart.js caches a dataset's plain options,
// so a radius set on the dataset after the first draw would not show.
function dots(ctx) { return ctx.dataset.hpFew ? 2.5 : 0; }

function makeChart(def, lines, box) {
  const canvas = el("canvas");
  box.replaceChildren(canvas);
  const now = Date.now();
  const bin = def.binary !== undefined;
  return new Chart(canvas, {
    type: "line",
    data: { datasets: lines.map((l, i) => ({
      label: l.label, data: [], borderColor: COLORS[i % COLORS.length],
      backgroundColor: COLORS[i % COLORS.length], borderWidth: 1.5, pointRadius: dots,
      spanGaps: false, tension: 0 })) },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
      normalized: true, interaction: { mode: "index", intersect: false },
      scales: {
        x: { type: "linear", min: now - RANGES[range], max: now, afterBuildTicks: timeTicks,
             ticks: { color: "#8a94a6", autoSkip: false, maxRotation: 0, callback: tickLabel },
             grid: { color: "#2a3240" } },
        // floor: an all-zero byte series gets a 0-1 KiB axis, not 0-1 B in fractions
        y: { min: 0, suggestedMax: def.max || def.floor, max: def.max,
             afterDataLimits: bin ? keepTop : undefined, afterBuildTicks: bin ? binaryTicks : undefined,
             title: { display: true, text: def.unit, color: "#8a94a6" },
             ticks: { color: "#8a94a6", callback: bin ? v => binary(v, def.binary) : def.fmt,
                      maxTicksLimit: 6 },
             grid: { color: "#2a3240" } },
      },
      plugins: {
        legend: { labels: { color: "#d8dee9", boxWidth: 10, boxHeight: 10 } },
        tooltip: { callbacks: { title: items => items.length ? new Date(items[0].parsed.x).toLocaleString() : "",
                                label: c => c.dataset.label + ": " + def.fmt(c.parsed.y) } },
      },
    },
  });
}

// Build the charts this host has series for.
function buildCharts(series) {
  const grid = document.getElementById("charts");
  grid.replaceChildren();
  charts = [];
  for (const def of DEFS) {
    const lines = [];
    for (const s of series) {
      const label = def.match(s.reporter, s.path);
      if (label !== null) lines.push({ label: label, reporter: s.reporter, path: s.path, last: s.last_ms || 0 });
    }
    if (!lines.length) continue;
    // top-N process lists come and go: keep the lines seen most recently
    if (def.maxLines && lines.length > def.maxLines)
      lines.splice(0, lines.length, ...lines.sort((a, b) => b.last - a.last).slice(0, def.maxLines));
    lines.sort((a, b) => a.label.localeCompare(b.label, undefined, { numeric: true }));
    const card = el("div", null, { class: "card", id: "chart-" + def.id });
    const h2 = el("h2", def.title + " ");
    const unit = el("span", "", { class: "unit" });
    h2.appendChild(unit);
    const box = el("div", null, { class: "box" });
    card.append(h2, box);
    grid.appendChild(card);
    charts.push({ def: def, lines: lines, unit: unit, chart: makeChart(def, lines, box) });
  }
  if (!charts.length)
    grid.appendChild(el("p", "No series stored for this host yet.", { class: "dim" }));
}

// The time axis: the selected range, or for a host whose oldest sample is
// less than half the range old, its first sample (MIN_SPAN at least) to
// now, so that a new host's few samples are not a few dots at the right
// edge of an empty chart. since is then that first sample, else null.
function chartWindow(series, now) {
  const full = { from: now - RANGES[range], to: now, since: null };
  const firsts = series.map(s => s.first_ms).filter(t => typeof t === "number");
  if (!firsts.length) return full;
  const since = Math.min(...firsts);
  if (now - since >= RANGES[range] / 2) return full;
  // a little room before the first sample, so that its dot is not cut
  return { from: now - Math.max(MIN_SPAN, (now - since) * 1.05), to: now, since: since };
}

function sinceText(since, now) {
  return clock(since, new Date(since).toDateString() !== new Date(now).toDateString());
}

// The page's note while the charts span less than the selected range.
function showSince(win) {
  const note = document.getElementById("since");
  note.hidden = win.since === null;
  note.textContent = win.since === null ? "" :
    "This host has reported only since " + sinceText(win.since, win.to) +
    ": the charts start there, not at the start of the " + RANGE_TEXT[range] + ".";
}

async function loadChart(c, win) {
  const from = win.from, now = win.to;
  let source = "raw";
  await Promise.all(c.lines.map(async (l, i) => {
    const q = new URLSearchParams({ host: HOST, reporter: l.reporter, path: l.path,
                                    from: Math.round(from), to: Math.round(now), points: POINTS });
    const s = await getJSON("/api/series?" + q);
    source = s.source;
    const ds = c.chart.data.datasets[i];
    ds.data = s.points.map(p => ({ x: p[0], y: p[1] }));
    const have = s.points.filter(p => p[1] !== null);
    ds.hpFew = have.length < 20;
    // the legend shows each line's latest value, readable from afar
    ds.label = l.label + (have.length ? " " + c.def.fmt(have[have.length - 1][1]) : "");
  }));
  c.chart.options.scales.x.min = from;
  c.chart.options.scales.x.max = now;
  c.unit.textContent = "(" + c.def.unit + ", " + RANGE_TEXT[range] +
    (win.since === null ? "" : "; data since " + sinceText(win.since, now)) +
    (source === "minute" ? ", per-minute averages" : "") + ")";
  c.chart.update("none");
}

function facts(info, fleetRow) {
  const f = document.getElementById("facts");
  const d = (info && info.facts) || {};
  const items = [
    ["kernel", d.kernel || d.kernel_release], ["os", d.os || d.os_name || d.distribution],
    ["cpus", d.cpu_count || d.cpus], ["memory", d.mem_total ? bytes(d.mem_total) : d.memory ? bytes(d.memory) : null],
    ["agent", d.version], ["description", d.description],
    ["boot", d.boot_time ? new Date(d.boot_time).toLocaleString() : null],
    ["session", info && info.session], ["first seen", info && info.first_seen_ms ? new Date(info.first_seen_ms).toLocaleString() : null],
  ];
  if (fleetRow) items.push(["uptime", duration(fleetRow.uptime_s)]);
  f.replaceChildren();
  for (const [k, v] of items) {
    if (v === null || v === undefined || v === "") continue;
    const div = el("div");
    div.append(el("span", k), el("b", typeof v === "object" ? JSON.stringify(v) : v));
    f.appendChild(div);
  }
}

function addresses(latest) {
  const ifs = latest && latest.data && latest.data.interfaces;
  if (!ifs) return;
  const div = el("div");
  const list = [];
  for (const name in ifs) for (const a of ifs[name]) list.push(name + " " + a.address + "/" + a.prefixlen);
  div.append(el("span", "addresses"), el("b", list.join(", ")));
  document.getElementById("facts").appendChild(div);
}

function processes(latest) {
  const box = document.getElementById("procs");
  const list = latest && latest.data && latest.data.watched;
  if (!list || !list.length) { box.replaceChildren(el("p", "No process message yet.", { class: "dim" })); return; }
  document.getElementById("procs-when").textContent = "(latest sample, " + clock(latest.ts) + ", " +
    latest.data.processes + " processes, " + latest.data.threads + " threads)";
  const t = el("table", null, { class: "procs" });
  const head = el("tr");
  for (const h of ["pid", "name", "user", "state", "cpu %", "rss", "mem %", "threads", "fds", "why watched", "command line"])
    head.appendChild(el("th", h, { class: ["name", "user", "state", "why watched", "command line"].includes(h) ? "l" : "" }));
  t.appendChild(head);
  for (const p of list) {
    const tr = el("tr");
    tr.append(el("td", p.pid), el("td", p.name, { class: "l" }), el("td", p.user, { class: "l" }),
              el("td", p.state, { class: "l" }), el("td", num(p.cpu_percent, 1)), el("td", bytes(p.rss)),
              el("td", num(p.memory_percent, 1)), el("td", p.threads), el("td", p.fds === undefined ? "–" : p.fds),
              el("td", (p.watch || []).join(" "), { class: "l" }),
              el("td", p.cmdline, { class: "l cmd", title: p.cmdline || "" }));
    t.appendChild(tr);
  }
  box.replaceChildren(t);
}

// Messages per reporter, over every session of the host (an agent restart
// starts a new session): lost and duplicates add up, the rest is the latest.
function loss(list) {
  const by = {};
  for (const r of list || []) {
    const b = by[r.reporter] || (by[r.reporter] = { reporter: r.reporter, received: 0, lost: 0,
                                                    duplicates: 0, sessions: 0, last_ms: 0 });
    b.received += r.received; b.lost += r.lost; b.duplicates += r.duplicates; b.sessions++;
    if (r.last_ms >= b.last_ms) { b.last_ms = r.last_ms; b.last_seq = r.last_seq; }
  }
  const box = document.getElementById("loss");
  const t = el("table", null, { class: "loss" });
  const head = el("tr");
  for (const h of ["reporter", "received", "lost", "duplicates", "sessions", "last seq", "last message"])
    head.appendChild(el("th", h, { class: h === "reporter" ? "l" : "" }));
  t.appendChild(head);
  for (const r of Object.values(by).sort((a, b) => a.reporter.localeCompare(b.reporter))) {
    const tr = el("tr");
    tr.append(el("td", r.reporter, { class: "l" }), el("td", r.received),
              el("td", r.lost, { class: r.lost > 0 ? "err" : "" }), el("td", r.duplicates),
              el("td", r.sessions), el("td", r.last_seq), el("td", r.last_ms ? clock(r.last_ms) : "–"));
    t.appendChild(tr);
  }
  box.replaceChildren(t);
}

function showState(row, now) {
  const s = document.getElementById("state");
  if (!row) { s.replaceChildren(el("span", "unknown host", { class: "badge stale" })); return; }
  s.replaceChildren(el("span", row.stale ? "STALE" : "live", { class: "badge " + (row.stale ? "stale" : "ok") }),
                    " last seen " + ago(row.last_seen_ms, now) + ", lost ",
                    el("b", row.lost || 0, { class: row.lost ? "bad" : "" }));
}

async function refresh(rebuild) {
  try {
    const h = await getJSON("/api/host?" + new URLSearchParams({ host: HOST }));
    if (rebuild) buildCharts(h.series || []);
    showState(h.fleet, h.now_ms);
    facts(h.info, h.fleet);
    addresses(h.latest && h.latest.ipaddr);
    processes(h.latest && h.latest.process);
    loss(h.loss);
    const now = Date.now();
    const win = chartWindow(h.series || [], now);
    showSince(win);
    await Promise.all(charts.map(c => loadChart(c, win)));
    document.getElementById("updated").textContent = "updated " + clock(now) + ", every " + period() / 1000 + " s";
  } catch (e) {
    document.getElementById("updated").replaceChildren(el("span", "update failed: " + e.message, { class: "err" }));
  }
}

// Refresh often for short ranges, rarely for long ones (a 30-day chart has
// one point per hour or so).
function period() { return Math.max(5000, Math.min(300e3, RANGES[range] / 720)); }

function setRange(r) {
  range = r;
  history.replaceState(null, "", "#" + r);
  for (const b of document.querySelectorAll("#ranges button")) b.classList.toggle("on", b.dataset.range === r);
  clearInterval(timer);
  for (const c of charts) c.chart.destroy();
  refresh(true);
  timer = setInterval(() => refresh(false), period());
}

for (const b of document.querySelectorAll("#ranges button"))
  b.addEventListener("click", () => setRange(b.dataset.range));
setRange(range);
