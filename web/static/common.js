// SPDX-License-Identifier: Apache-2.0
// common.js -- helpers shared by the fleet and host pages. Strings from
// messages are only ever put into the page with textContent (el() below),
// never as HTML.
"use strict";

// A new element with text content and attributes (class, href, title...).
function el(tag, text, attrs) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  return e;
}

async function getJSON(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) {
    let why = r.status + " " + r.statusText;
    try { why = (await r.json()).error || why; } catch (e) { /* not JSON */ }
    throw new Error(url.split("?")[0] + ": " + why);
  }
  return r.json();
}

function num(v, digits) {
  return v === null || v === undefined || !isFinite(v) ? "–" : Number(v).toFixed(digits);
}

// 1536 -> "1.5 KiB" (binary units, as free(1) -h)
function bytes(v, suffix) {
  if (v === null || v === undefined || !isFinite(v)) return "–";
  const u = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0, x = Math.abs(v);
  while (x >= 1024 && i < u.length - 1) { x /= 1024; i++; }
  return (v < 0 ? "-" : "") + x.toFixed(x < 10 && i ? 1 : 0) + " " + u[i] + (suffix || "");
}

function duration(s) {
  if (s === null || s === undefined || !isFinite(s)) return "–";
  s = Math.max(0, Math.floor(s));
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  if (d) return d + "d " + h + "h";
  if (h) return h + "h " + m + "m";
  if (m) return m + "m " + (s % 60) + "s";
  return s + "s";
}

function ago(ms, now) {
  if (!ms) return "never";
  return duration((now - ms) / 1000) + " ago";
}

function pad2(n) { return (n < 10 ? "0" : "") + n; }

// Local wall-clock time of an epoch-ms value; with the date when long.
function clock(ms, withDate) {
  const d = new Date(ms);
  const t = pad2(d.getHours()) + ":" + pad2(d.getMinutes());
  return withDate ? (d.getMonth() + 1) + "-" + pad2(d.getDate()) + " " + t : t;
}
