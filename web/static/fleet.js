// SPDX-License-Identifier: Apache-2.0
// fleet.js -- the fleet page: one row per host from /api/fleet, sortable by
// any column, refreshed every few seconds. Stale hosts (nothing for three
// of their intervals) are marked, lost-message counts stand out.
"use strict";

const REFRESH_MS = 5000;
const state = { key: "host", dir: 1, hosts: [], now: Date.now() };

function level(p) { return p >= 90 ? "lvl-bad" : p >= 75 ? "lvl-warn" : "lvl-ok"; }

function pctCell(v) {
  const ok = v !== null && v !== undefined && isFinite(v);
  const td = el("div", num(v, 1), { class: ok ? "pct " + level(v) : "pct", role: "cell" });
  // the bar takes at most 60 % of the cell, the number stays clear of it
  if (ok) td.style.backgroundSize = (0.6 * Math.min(100, Math.max(0, v))).toFixed(1) + "% 70%";
  return td;
}

function cell(text, cls, title) {
  const attrs = { role: "cell" };
  if (cls) attrs.class = cls;
  if (title) attrs.title = title;
  return el("div", text, attrs);
}

function row(h, now) {
  const r = el("div", null, { class: h.stale ? "row stale" : "row", role: "row" });
  const name = cell(null, "l host", h.host);
  name.appendChild(el("a", h.host, { href: "/host/" + encodeURIComponent(h.host) }));
  const st = cell(null, "l");
  st.appendChild(el("span", h.stale ? "STALE" : "ok", { class: "badge " + (h.stale ? "stale" : "ok") }));
  const t = h.temp_max_c;
  r.append(name, st,
    cell(ago(h.last_seen_ms, now), null, h.last_seen_ms ? new Date(h.last_seen_ms).toISOString() : ""),
    pctCell(h.cpu_pct), pctCell(h.mem_pct), pctCell(h.fs_max_pct),
    cell(num(t, 1), t >= 85 ? "t-bad" : t >= 70 ? "t-warn" : ""),
    cell(num(h.load1, 2)), cell(duration(h.uptime_s)), cell(h.version || "–", "l"),
    cell(h.lost === null || h.lost === undefined ? "–" : h.lost, h.lost > 0 ? "lost" : ""));
  return r;
}

function compare(a, b) {
  const x = a[state.key], y = b[state.key];
  const nx = x === null || x === undefined, ny = y === null || y === undefined;
  if (nx || ny) return nx === ny ? 0 : nx ? 1 : -1; // missing values last
  if (typeof x === "string") return state.dir * x.localeCompare(y);
  return state.dir * (x < y ? -1 : x > y ? 1 : 0);
}

function render() {
  const tbody = document.getElementById("rows");
  const rows = state.hosts.slice().sort((a, b) => compare(a, b) || a.host.localeCompare(b.host));
  const frag = document.createDocumentFragment();
  for (const h of rows) frag.appendChild(row(h, state.now));
  tbody.replaceChildren(frag);
  for (const th of document.querySelectorAll("#fleet .head > div")) {
    const on = th.dataset.key === state.key;
    th.classList.toggle("sorted", on);
    th.dataset.arrow = on ? (state.dir > 0 ? " ▲" : " ▼") : "";
    th.textContent = th.textContent.replace(/ [▲▼]$/, "") + th.dataset.arrow;
  }
}

function summary(data) {
  const s = document.getElementById("summary");
  const hosts = state.hosts, stale = hosts.filter(h => h.stale).length;
  const lost = hosts.reduce((n, h) => n + (h.lost || 0), 0);
  const st = data.stats || {};
  let rejected = 0;
  for (const k in st.rejected || {}) rejected += st.rejected[k];
  s.replaceChildren(el("b", hosts.length), " hosts, ",
    el("b", stale, { class: stale ? "bad" : "" }), " stale, ",
    el("b", lost, { class: lost ? "bad" : "" }), " messages lost, ",
    el("b", rejected, { class: rejected ? "bad" : "" }), " rejected, ",
    el("b", st.stored !== undefined ? st.stored : "–"), " stored");
}

async function refresh() {
  try {
    const data = await getJSON("/api/fleet");
    state.hosts = data.hosts;
    state.now = data.now_ms;
    summary(data);
    render();
    document.getElementById("updated").textContent = "updated " + clock(Date.now()) +
      ", every " + REFRESH_MS / 1000 + " s";
    document.getElementById("note").textContent = state.hosts.length ? "" :
      "No host has reported yet: point an agent at this instance's input.";
  } catch (e) {
    document.getElementById("updated").replaceChildren(el("span", "update failed: " + e.message, { class: "err" }));
  }
}

for (const th of document.querySelectorAll("#fleet .head > div")) {
  th.addEventListener("click", () => {
    if (state.key === th.dataset.key) state.dir = -state.dir;
    else { state.key = th.dataset.key; state.dir = th.dataset.key === "host" || th.dataset.key === "version" ? 1 : -1; }
    render();
  });
}
refresh();
setInterval(refresh, REFRESH_MS);
