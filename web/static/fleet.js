// SPDX-License-Identifier: Apache-2.0
// fleet.js -- the fleet page: one row per host from /api/fleet, sortable by
// any column, refreshed every few seconds. Stale hosts (nothing for three
// of their intervals) are marked, lost-message counts stand out.
"use strict";

const REFRESH_MS = 5000;
const state = { key: "host", dir: 1, hosts: [], now: Date.now() };

function level(p) { return p >= 90 ? "lvl-bad" : p >= 75 ? "lvl-warn" : "lvl-ok"; }

function pctCell(v) {
  const td = el("td", null, { class: "pct" });
  if (v !== null && v !== undefined && isFinite(v)) {
    const bar = el("div", null, { class: "bar " + level(v) });
    bar.style.width = Math.min(100, Math.max(0, v)) + "%";
    td.appendChild(bar);
  }
  td.appendChild(el("span", num(v, 1)));
  return td;
}

function row(h, now) {
  const tr = el("tr", null, { class: h.stale ? "stale" : "" });
  const name = el("td", null, { class: "l host", title: h.host });
  name.appendChild(el("a", h.host, { href: "/host/" + encodeURIComponent(h.host) }));
  tr.appendChild(name);
  const st = el("td", null, { class: "l" });
  st.appendChild(el("span", h.stale ? "STALE" : "ok", { class: "badge " + (h.stale ? "stale" : "ok") }));
  tr.appendChild(st);
  tr.appendChild(el("td", ago(h.last_seen_ms, now), { title: h.last_seen_ms ? new Date(h.last_seen_ms).toISOString() : "" }));
  tr.appendChild(pctCell(h.cpu_pct));
  tr.appendChild(pctCell(h.mem_pct));
  tr.appendChild(pctCell(h.fs_max_pct));
  const t = h.temp_max_c;
  tr.appendChild(el("td", num(t, 1), { class: t >= 85 ? "t-bad" : t >= 70 ? "t-warn" : "" }));
  tr.appendChild(el("td", num(h.load1, 2)));
  tr.appendChild(el("td", duration(h.uptime_s)));
  tr.appendChild(el("td", h.version || "–", { class: "l" }));
  tr.appendChild(el("td", h.lost === null || h.lost === undefined ? "–" : h.lost, { class: h.lost > 0 ? "lost" : "" }));
  return tr;
}

function compare(a, b) {
  const x = a[state.key], y = b[state.key];
  const nx = x === null || x === undefined, ny = y === null || y === undefined;
  if (nx || ny) return nx === ny ? 0 : nx ? 1 : -1; // missing values last
  if (typeof x === "string") return state.dir * x.localeCompare(y);
  return state.dir * (x < y ? -1 : x > y ? 1 : 0);
}

function render() {
  const tbody = document.querySelector("#fleet tbody");
  const rows = state.hosts.slice().sort((a, b) => compare(a, b) || a.host.localeCompare(b.host));
  const frag = document.createDocumentFragment();
  for (const h of rows) frag.appendChild(row(h, state.now));
  tbody.replaceChildren(frag);
  for (const th of document.querySelectorAll("#fleet th")) {
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

for (const th of document.querySelectorAll("#fleet th")) {
  th.addEventListener("click", () => {
    if (state.key === th.dataset.key) state.dir = -state.dir;
    else { state.key = th.dataset.key; state.dir = th.dataset.key === "host" || th.dataset.key === "version" ? 1 : -1; }
    render();
  });
}
refresh();
setInterval(refresh, REFRESH_MS);
