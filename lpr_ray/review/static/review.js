// lpr-ray review: keyboard-first correction of low-confidence reads.
// Everything from the results (keys, plates, errors) goes into the page as text, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
// One id per browser tab, kept across reloads: the reads the server set aside for this tab
// come back to it instead of waiting out their claim.
const pageId = sessionStorage.getItem("lpr-ray-page") ||
  Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
sessionStorage.setItem("lpr-ray-page", pageId);
const FILTERS = ["min_confidence", "max_confidence", "status", "site", "camera", "date", "model"];
let queue = [];        // reads fetched and not yet decided, the first one shown
let undoStack = [];    // {id, item} of this page's verdicts, latest last
let counts = { done: 0, left: 0 };
let imageUrl = null;
let busy = false;
let ready = false;     // the shown crop (or its error) is on screen: Enter may decide
let heldByOthers = 0;

function say(text, isError) {
  $("message").textContent = text || "";
  $("message").className = isError ? "error" : "";
}

function filterQuery() {
  const q = new URLSearchParams({ page: pageId, limit: "20" });
  for (const f of FILTERS) if ($(f).value !== "") q.set(f, $(f).value);
  return q;
}

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const r = await fetch(path, init);
  let data = null;
  try { data = await r.json(); } catch (e) { data = { error: `HTTP ${r.status}` }; }
  return { ok: r.ok, status: r.status, data };
}

function showCounter() {
  $("counter").textContent = `done ${counts.done} · left ${Math.max(counts.left, 0)}`;
}

async function fetchMore() {
  const r = await api("/api/next?" + filterQuery().toString());
  if (!r.ok) { say(r.data.error, true); return; }
  const held = new Set(queue.map((i) => i.uri));
  for (const item of r.data.items) if (!held.has(item.uri)) queue.push(item);
  counts = { done: r.data.done, left: r.data.left };
  heldByOthers = r.data.held_by_others || 0;
  showCounter();
}

function renderRead(item) {
  const read = $("read");
  read.replaceChildren();
  const chars = Array.from(item.plate || "");
  const confs = item.char_confidences || [];
  chars.forEach((c, i) => {
    const span = document.createElement("span");
    span.textContent = c;
    const p = confs[i];
    if (p !== undefined && p !== null) {
      span.title = `${(p * 100).toFixed(1)}%`;
      if (p < 0.5) span.className = "low"; else if (p < 0.9) span.className = "mid";
    }
    read.appendChild(span);
  });
  if (!chars.length) read.textContent = "(no read)";
}

async function showImage(item) {
  if (imageUrl) { URL.revokeObjectURL(imageUrl); imageUrl = null; }
  ready = false;
  $("crop").removeAttribute("src");
  $("image-error").hidden = true;
  const r = await fetch("/api/image?uri=" + encodeURIComponent(item.uri));
  if (queue[0] !== item) return;  // moved on meanwhile
  if (r.ok) {
    imageUrl = URL.createObjectURL(await r.blob());
    $("crop").src = imageUrl;
    $("crop").hidden = false;
  } else {
    let msg = `HTTP ${r.status}`;
    try { const d = await r.json(); msg = d.status ? `${d.status}: ${d.error}` : d.error; } catch (e) { /* keep */ }
    $("crop").hidden = true;
    $("image-error").textContent = "The image cannot be shown: " + msg;
    $("image-error").hidden = false;
  }
  ready = true;
}

function show() {
  const item = queue[0];
  $("card").hidden = !item;
  $("empty").hidden = !!item;
  if (!item) {
    $("empty").textContent = "Nothing left to review with these filters." + (heldByOthers ?
      ` ${heldByOthers} more are on other reviewers' screens; they come back here if left for 5 minutes.` : "");
    return;
  }
  renderRead(item);
  const where = ["site", "camera", "date"].filter((k) => item[k]).map((k) => `${k} ${item[k]}`);
  const conf = item.confidence === null ? "no confidence" : `confidence ${(item.confidence * 100).toFixed(1)}%`;
  $("meta").textContent = [item.uri, item.status, conf, ...where, item.model].join(" · ");
  $("row-error").textContent = item.error || "";
  $("row-error").hidden = !item.error;
  $("plate").value = item.plate || "";
  $("plate").focus();
  $("plate").select();
  showImage(item);
}

async function advance() {
  queue.shift();
  if (queue.length < 5) await fetchMore();
  show();
}

async function decide(verdict, label) {
  const item = queue[0];
  if (!item || busy || !ready) return;  // a second Enter must not decide on an image not yet seen
  busy = true;
  try {
    const r = await api("/api/review", {
      uri: item.uri, verdict, label, reviewer: $("reviewer").value, seen_review: null,
    });
    if (r.status === 409) {
      say(`Skipped: ${r.data.error}.`, false);
      counts.left -= 1;
    } else if (!r.ok) {
      say(r.data.error, true);
      return;
    } else {
      undoStack.push({ id: r.data.id, item });
      counts.done += 1; counts.left -= 1;
      say(`Saved ${item.uri} as ${r.data.verdict}${label ? " " + r.data.label : ""}.`, false);
    }
    showCounter();
    await advance();
  } finally {
    busy = false;
  }
}

function normalise(text) {
  return text.replace(/[\s\-·・•]/g, "").toUpperCase();
}

async function undo() {
  if (busy) return;
  const last = undoStack.pop();
  if (!last) { say("Nothing to undo.", false); return; }
  busy = true;
  try {
    const r = await api("/api/undo", { id: last.id, reviewer: $("reviewer").value });
    if (!r.ok) { say(r.data.error, true); undoStack.push(last); return; }
    queue = queue.filter((i) => i.uri !== last.item.uri);
    queue.unshift(last.item);
    counts.done -= 1; counts.left += 1;
    showCounter();
    say(`Undone: ${last.item.uri} is back in the queue.`, false);
    show();
  } finally {
    busy = false;
  }
}

async function reload() {
  say("", false);
  queue = [];
  await fetchMore();
  show();
}

async function start() {
  const r = await api("/api/config");
  if (!r.ok) { say(r.data.error, true); return; }
  $("root").textContent = r.data.root;
  $("reviewer").value = localStorage.getItem("lpr-ray-reviewer") || r.data.reviewer;
  for (const key of ["site", "camera", "date", "model"]) {
    const values = r.data.facets[key] || [];
    $(key).closest("label").hidden = values.length === 0;
    for (const v of values) {
      const o = document.createElement("option");
      o.value = v; o.textContent = v;
      $(key).appendChild(o);
    }
  }
  for (const s of r.data.facets.status || []) {
    const o = document.createElement("option");
    o.value = s; o.textContent = s;
    $("status").appendChild(o);
  }
  await reload();
}

$("decide").addEventListener("submit", (e) => {
  e.preventDefault();
  const item = queue[0];
  const label = normalise($("plate").value);
  if (!label) { say("Type the plate, or mark the image unreadable (Alt+U) or not a plate (Alt+N).", true); return; }
  decide(item && label === item.plate ? "accepted" : "corrected", label);
});
$("unreadable").addEventListener("click", () => decide("unreadable", null));
$("not-a-plate").addEventListener("click", () => decide("not_a_plate", null));
$("undo").addEventListener("click", () => undo());
document.addEventListener("keydown", (e) => {
  const key = e.key.toLowerCase();
  if (e.altKey && key === "u") { e.preventDefault(); decide("unreadable", null); }
  else if (e.altKey && key === "n") { e.preventDefault(); decide("not_a_plate", null); }
  else if ((e.ctrlKey || e.metaKey) && key === "z" && e.target.id !== "reviewer" && e.target.tagName !== "SELECT"
           && !(e.target.type === "number")) { e.preventDefault(); undo(); }
});
$("reviewer").addEventListener("change", () => localStorage.setItem("lpr-ray-reviewer", $("reviewer").value));
for (const f of FILTERS) $(f).addEventListener("change", () => reload());
start();
