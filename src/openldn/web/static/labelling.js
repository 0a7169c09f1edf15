// openldn web platform: reference labelling of a sample design (issue 16 item 2; docs/accuracy.md).
//
// The page lists a project's samples (folders written by `openldn accuracy design`), shows their points on a
// Leaflet map coloured by label state, and for the selected point the map values, the vegetation index series with
// its trend, the land cover history and the soil organic carbon. Labels are saved in the project database through
// /api/projects/{id}/labelling/...; any number of points may stay unlabelled. Address: /static/labelling.html
// ?project=<id>&sample=<folder>. Every string goes through t() / tn() of i18n.js.
"use strict";

const L_STATE = {
  project: null,     // project id
  sample: null,      // sample id (folder relative to the data folder)
  classes: [],       // reference classes {code, label, color}
  points: [],        // {point_id, lon, lat, stratum, labelled, reference}
  markers: new Map(),
  current: null,     // selected point id
  details: null,     // details of the selected point
  map: null,
  layer: null,      // the points
  outline: null,    // area of interest and admin units
  legend: null,
};
const UNLABELLED_COLOR = "#9aa5ad";

function $(id) { return document.getElementById(id); }

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

async function api(method, url, body) {
  const headers = languageHeaders({});
  const init = { method, headers, credentials: "same-origin" };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  const response = await fetch(url, init);
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const error = new Error(response.status === 401
      ? t("Sign in on the main page first, then come back to this page.")
      : (data && data.detail) || response.statusText);
    error.status = response.status;
    throw error;
  }
  return data;
}

function say(text, ok = false) {
  const box = $("message");
  box.textContent = text;
  box.className = "message " + (ok ? "ok" : "error");
  box.hidden = !text;
}

async function guarded(fn) {
  try { return await fn(); } catch (error) { say(error.message); return undefined; }
}

function q(sample) { return "?sample=" + encodeURIComponent(sample); }
function base() { return "/api/projects/" + encodeURIComponent(L_STATE.project) + "/labelling"; }

function classOf(code) { return L_STATE.classes.find((c) => c.code === code) || null; }

// ------------------------------------------------------------------------------------------- projects and samples
async function loadProjects() {
  const projects = await api("GET", "/api/projects");
  const menu = $("project-select");
  menu.replaceChildren(...projects.map((p) => el("option", { value: p.id, text: p.name })));
  const wanted = new URLSearchParams(location.search).get("project");
  L_STATE.project = projects.some((p) => p.id === wanted) ? wanted : (projects[0] ? projects[0].id : null);
  if (L_STATE.project) menu.value = L_STATE.project;
  if (!projects.length) say(t("No project yet: create one on the main page."));
  await loadSamples();
}

async function loadSamples() {
  const menu = $("sample-select");
  menu.replaceChildren();
  clearSample();
  if (!L_STATE.project) return;
  await loadOutline();
  const samples = await api("GET", "/api/projects/" + encodeURIComponent(L_STATE.project) + "/samples");
  const prefix = "projects/" + L_STATE.project + "/";
  const name = (s) => (s.name.startsWith(prefix) ? s.name.slice(prefix.length) : s.name);
  menu.replaceChildren(...samples.map((s) => el("option", { value: s.id, text: s.map ? s.map + " — " + name(s) : name(s) })));
  if (!samples.length) {
    say(t("This project has no sample yet: draw one with 'openldn accuracy design' into the project or run folder."));
    return;
  }
  const wanted = new URLSearchParams(location.search).get("sample");
  L_STATE.sample = samples.some((s) => s.id === wanted) ? wanted : samples[0].id;
  menu.value = L_STATE.sample;
  await loadPoints(true);
}

function remember() {
  const params = new URLSearchParams({ project: L_STATE.project || "", sample: L_STATE.sample || "" });
  if (L_STATE.current) params.set("point", L_STATE.current);
  history.replaceState(null, "", location.pathname + "?" + params.toString());
}

function clearSample() {
  L_STATE.sample = null;
  L_STATE.points = [];
  L_STATE.current = null;
  if (L_STATE.layer) L_STATE.layer.clearLayers();
  L_STATE.markers.clear();
  $("point-box").hidden = true;
  renderProgress();
}

// -------------------------------------------------------------------------------------------------- map and points
function initMap() {
  L_STATE.map = L.map("map", { zoomControl: true, attributionControl: false, keyboard: true }).setView([0, 0], 2);
  L_STATE.outline = L.featureGroup().addTo(L_STATE.map);
  L_STATE.layer = L.featureGroup().addTo(L_STATE.map);
  L_STATE.legend = L.control({ position: "bottomleft" });
  L_STATE.legend.onAdd = () => el("div", { class: "map-legend", id: "map-legend" });
  L_STATE.legend.addTo(L_STATE.map);
}

// The area of interest and admin units of the project's run file, as outlines under the points.
async function loadOutline() {
  L_STATE.outline.clearLayers();
  if (!L_STATE.project) return;
  const data = await api("GET", "/api/projects/" + encodeURIComponent(L_STATE.project) + "/boundaries").catch(() => null);
  if (!data) return;
  if (data.zones) L.geoJSON(data.zones, { style: { color: "#8a98a3", weight: 1, fill: false }, interactive: false }).addTo(L_STATE.outline);
  if (data.aoi) L.geoJSON(data.aoi, { style: { color: "#1a6f5a", weight: 2, fill: false }, interactive: false }).addTo(L_STATE.outline);
}

function renderLegend() {
  const box = $("map-legend");
  if (!box) return;
  box.replaceChildren();
  const row = (color, text, unlabelled) => {
    const dot = el("span", { class: "dot" + (unlabelled ? " unlabelled" : "") });
    dot.style.backgroundColor = color;
    return el("div", {}, dot, el("span", { text }));
  };
  for (const c of L_STATE.classes) box.append(row(c.color, c.label, false));
  box.append(row(UNLABELLED_COLOR, t("not labelled yet"), true));
}

function markerStyle(p) {
  const selected = p.point_id === L_STATE.current;
  const cls = p.labelled ? classOf(p.reference) : null;
  return {
    radius: selected ? 9 : 6,
    color: selected ? "#111111" : (p.labelled ? "#1d2a33" : "#4d5a63"),
    weight: selected ? 3 : 1,
    fillColor: cls ? cls.color : UNLABELLED_COLOR,
    fillOpacity: p.labelled ? 0.95 : 0.45,
    dashArray: p.labelled ? null : "2 2",
  };
}

async function loadPoints(fit) {
  const data = await api("GET", base() + "/points" + q(L_STATE.sample));
  L_STATE.classes = data.classes;
  L_STATE.points = data.points;
  L_STATE.layer.clearLayers();
  L_STATE.markers.clear();
  for (const p of data.points) {
    const marker = L.circleMarker([p.lat, p.lon], markerStyle(p));
    marker.bindTooltip(p.point_id);
    marker.on("click", () => guarded(() => selectPoint(p.point_id)));
    marker.addTo(L_STATE.layer);
    L_STATE.markers.set(p.point_id, marker);
  }
  if (fit && data.points.length) L_STATE.map.fitBounds(L_STATE.layer.getBounds(), { padding: [30, 30], maxZoom: 14 });
  renderClasses();
  renderLegend();
  renderProgress();
  $("export-link").href = base() + "/labels.csv" + q(L_STATE.sample);
  const wanted = new URLSearchParams(location.search).get("point");
  const start = data.points.find((p) => p.point_id === wanted) || data.points.find((p) => !p.labelled) || data.points[0];
  if (start) await selectPoint(start.point_id);
  remember();
}

function renderProgress() {
  const n = L_STATE.points.length;
  const done = L_STATE.points.filter((p) => p.labelled).length;
  $("progress-text").textContent = n ? t("{done} of {n} labelled", { done, n }) : t("No sample selected");
  $("progress-bar").style.width = n ? (100 * done / n).toFixed(1) + "%" : "0";
  $("prev-btn").disabled = $("next-btn").disabled = !n || done === n;
}

function restyle(id) {
  const p = L_STATE.points.find((x) => x.point_id === id);
  const marker = L_STATE.markers.get(id);
  if (p && marker) marker.setStyle(markerStyle(p));
}

// ---------------------------------------------------------------------------------------------------- the point
async function selectPoint(id) {
  const previous = L_STATE.current;
  L_STATE.current = id;
  if (previous) restyle(previous);
  restyle(id);
  const marker = L_STATE.markers.get(id);
  if (marker) {
    marker.bringToFront();
    if (!L_STATE.map.getBounds().contains(marker.getLatLng())) L_STATE.map.panTo(marker.getLatLng());
  }
  $("point-box").setAttribute("aria-busy", "true");
  $("point-title").textContent = t("Loading point {id}…", { id });
  let details;
  try {
    details = await api("GET", base() + "/points/" + encodeURIComponent(id) + q(L_STATE.sample));
  } finally {
    if (L_STATE.current === id) $("point-box").removeAttribute("aria-busy");
  }
  if (L_STATE.current !== id) return;  // another point was chosen meanwhile
  L_STATE.details = details;
  renderDetails();
  remember();
}

function renderDetails() {
  const d = L_STATE.details;
  if (!d) return;
  $("point-box").hidden = false;
  const p = d.point;
  const index = L_STATE.points.findIndex((x) => x.point_id === p.point_id);
  $("point-title").textContent = t("Point {id} ({i} of {n})", { id: p.point_id, i: index + 1, n: L_STATE.points.length });
  const where = t("Longitude {lon}, latitude {lat}", {
    lon: formatNumber(p.lon, { maximumFractionDigits: 5 }), lat: formatNumber(p.lat, { maximumFractionDigits: 5 }) });
  $("point-meta").textContent = p.zone_id ? where + " · " + t("admin unit {id}", { id: p.zone_id }) : where;
  renderMapValues(d.maps);
  renderChart(d.ndvi);
  renderLandCover(d.land_cover);
  renderSoc(d.soc);
  renderLabel(d.label);
}

function swatch(color) {
  const box = el("span", { class: "swatch", "aria-hidden": "true" });
  if (color) box.style.backgroundColor = color;
  return box;
}

function renderMapValues(maps) {
  const body = $("map-values").tBodies[0];
  body.replaceChildren();
  if (!maps.length) {
    body.append(el("tr", {}, el("td", { class: "hint", text: t("The points table holds no map values.") })));
    return;
  }
  for (const m of maps) {
    const value = m.value === null ? t("no data") : (m.label ? m.label + " (" + m.value + ")" : String(m.value));
    body.append(el("tr", {}, el("th", { scope: "row", text: m.key }), el("td", {}, swatch(m.color), value)));
  }
}

function renderChart(ndvi) {
  const box = $("ndvi-chart");
  box.replaceChildren();
  const note = $("ndvi-trend");
  if (!ndvi) {
    note.textContent = t("The project has no vegetation index input (inputs.ndvi) covering this point.");
    return;
  }
  const W = 360, H = 170, left = 44, right = 16, top = 10, bottom = 26;
  const years = ndvi.years, values = ndvi.values;
  const finite = values.filter((v) => v !== null);
  const tr = ndvi.trend;
  const lines = tr ? [tr.intercept + tr.slope * years[0], tr.intercept + tr.slope * years[years.length - 1]] : [];
  let lo = Math.min(...finite, ...lines), hi = Math.max(...finite, ...lines);
  if (!finite.length) { lo = 0; hi = 1; }
  if (hi - lo < 1e-9) { lo -= 0.05; hi += 0.05; }
  const pad = (hi - lo) * 0.08;
  lo -= pad; hi += pad;
  const x0 = years[0], x1 = years[years.length - 1] === x0 ? x0 + 1 : years[years.length - 1];
  const X = (y) => left + (W - left - right) * (y - x0) / (x1 - x0);
  const Y = (v) => top + (H - top - bottom) * (1 - (v - lo) / (hi - lo));
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "ndvi" });
  chart.setAttribute("aria-label", t("Vegetation index series at the point, with its trend"));
  chart.append(svg("rect", { x: left, y: top, width: W - left - right, height: H - top - bottom, fill: "#ffffff", stroke: "#d5dde2" }));
  for (const v of [lo + pad, (lo + hi) / 2, hi - pad]) {
    chart.append(svg("line", { x1: left, x2: W - right, y1: Y(v), y2: Y(v), stroke: "#eef1f3" }));
    const label = svg("text", { x: left - 4, y: Y(v) + 4, "text-anchor": "end", class: "tick" });
    label.textContent = formatNumber(v, { maximumFractionDigits: 3 });
    chart.append(label);
  }
  const step = Math.max(1, Math.ceil(years.length / 6));
  years.forEach((y, i) => {
    if (i % step !== 0 && i !== years.length - 1) return;
    const label = svg("text", { x: X(y), y: H - 8, "text-anchor": "middle", class: "tick" });
    label.textContent = String(y);
    chart.append(label);
  });
  let path = "";
  years.forEach((y, i) => {
    if (values[i] === null) return;
    path += (i > 0 && values[i - 1] !== null ? "L" : "M") + X(y).toFixed(1) + " " + Y(values[i]).toFixed(1) + " ";
  });
  chart.append(svg("path", { d: path, fill: "none", stroke: "#1a6f5a", "stroke-width": 1.5 }));
  years.forEach((y, i) => {
    if (values[i] === null) return;
    const dot = svg("circle", { cx: X(y), cy: Y(values[i]), r: 2.8, fill: "#1a6f5a" });
    const tip = svg("title");
    tip.textContent = y + ": " + formatNumber(values[i], { maximumFractionDigits: 4 });
    dot.append(tip);
    chart.append(dot);
  });
  if (tr) {
    chart.append(svg("line", { x1: X(years[0]), y1: Y(lines[0]), x2: X(years[years.length - 1]), y2: Y(lines[1]),
      stroke: "#b0222c", "stroke-width": 1.5, "stroke-dasharray": "5 3", class: "trend" }));
  }
  box.append(chart);
  note.textContent = tr
    ? t("Theil-Sen trend {slope} per year (OLS {ols}), Mann-Kendall p = {p}, {n} years", {
      slope: formatNumber(tr.slope, { maximumSignificantDigits: 3 }),
      ols: formatNumber(tr.ols_slope, { maximumSignificantDigits: 3 }),
      p: formatNumber(tr.p, { maximumFractionDigits: 3 }), n: tr.n })
    : t("Too few valid years for a trend.");
}

function renderLandCover(lc) {
  const box = $("lc-chips");
  box.replaceChildren();
  if (!lc) {
    box.append(el("span", { class: "hint", text: t("The project has no land cover input (inputs.land_cover) covering this point.") }));
    return;
  }
  for (const c of lc.classes) {
    const name = c.code === null ? t("no data") : (c.label || String(c.code));
    const chip = el("span", { class: "chip", title: (c.year === null ? "" : c.year + ": ") + name },
      swatch(c.color), el("span", { class: "year", text: c.year === null ? "" : String(c.year) }),
      el("span", { class: "name", text: name }));
    box.append(chip);
  }
}

function renderSoc(soc) {
  if (!soc) { $("soc-value").textContent = t("The project has no soil organic carbon input (inputs.soc) covering this point."); return; }
  $("soc-value").textContent = soc.values.map((v) => {
    const value = v.value === null ? t("no data") : t("{value} t C/ha", { value: formatNumber(v.value, { maximumFractionDigits: 1 }) });
    return v.year === null ? value : v.year + ": " + value;
  }).join(" · ");
}

function renderClasses() {
  const box = $("class-options");
  box.replaceChildren();
  L_STATE.classes.forEach((c, i) => {
    const id = "ref-" + i;
    box.append(el("label", { class: "class-option", for: id },
      el("input", { type: "radio", name: "reference", id, value: String(c.code) }),
      swatch(c.color), el("span", { text: (i < 9 ? (i + 1) + " · " : "") + c.label })));
  });
}

function renderLabel(label) {
  for (const input of document.querySelectorAll("input[name=reference]")) {
    input.checked = label !== null && Number(input.value) === label.reference;
  }
  if (label) {
    $("interpreter").value = label.interpreter || $("interpreter").value;
    $("confidence").value = label.confidence || "";
    $("notes").value = label.notes || "";
  } else {
    $("confidence").value = "";
    $("notes").value = "";
  }
  $("clear-btn").disabled = !label;
}

function chosen() {
  const input = document.querySelector("input[name=reference]:checked");
  return input ? Number(input.value) : null;
}

async function saveLabel() {
  const reference = chosen();
  if (reference === null) { say(t("Choose the reference class first.")); return; }
  const id = L_STATE.current;
  const label = await api("PUT", base() + "/points/" + encodeURIComponent(id) + q(L_STATE.sample), {
    reference, interpreter: $("interpreter").value.trim(), confidence: $("confidence").value, notes: $("notes").value.trim(),
  });
  try { localStorage.setItem("openldn.interpreter", label.interpreter); } catch (error) { /* private mode */ }
  const p = L_STATE.points.find((x) => x.point_id === id);
  p.labelled = true;
  p.reference = label.reference;
  restyle(id);
  renderProgress();
  $("clear-btn").disabled = false;
  say(t("Label of point {id} saved.", { id }), true);
  const next = nextUnlabelled(1);
  if (next) await selectPoint(next);
}

async function clearLabel() {
  const id = L_STATE.current;
  await api("DELETE", base() + "/points/" + encodeURIComponent(id) + q(L_STATE.sample));
  const p = L_STATE.points.find((x) => x.point_id === id);
  p.labelled = false;
  p.reference = null;
  restyle(id);
  renderProgress();
  renderLabel(null);
  say(t("Label of point {id} removed.", { id }), true);
}

// The next (direction 1) or previous (-1) unlabelled point after the current one, wrapping around.
function nextUnlabelled(direction) {
  const n = L_STATE.points.length;
  const start = Math.max(0, L_STATE.points.findIndex((p) => p.point_id === L_STATE.current));
  for (let k = 1; k <= n; k++) {
    const p = L_STATE.points[(start + direction * k + n * k) % n];
    if (!p.labelled) return p.point_id;
  }
  return null;
}

function typing(target) {
  return target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type !== "radio") || target.tagName === "SELECT");
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target) || !L_STATE.points.length) return;
  const key = event.key.toLowerCase();
  if (key === "n" || key === "p") {
    const id = nextUnlabelled(key === "n" ? 1 : -1);
    if (id) guarded(() => selectPoint(id));
    event.preventDefault();
  } else if (key === "s") {
    guarded(saveLabel);
    event.preventDefault();
  } else if (/^[1-9]$/.test(key)) {
    const input = document.querySelectorAll("input[name=reference]")[Number(key) - 1];
    if (input) { input.checked = true; input.focus(); event.preventDefault(); }
  }
}

async function uploadSample() {
  const points = $("upload-points").files[0];
  if (!points || !L_STATE.project) return;
  const form = new FormData();
  form.append("files", points);
  if ($("upload-design").files[0]) form.append("files", $("upload-design").files[0]);
  const sample = await api("POST", "/api/projects/" + encodeURIComponent(L_STATE.project) + "/samples", form);
  $("upload-form").reset();
  history.replaceState(null, "", location.pathname + "?project=" + encodeURIComponent(L_STATE.project) + "&sample=" + encodeURIComponent(sample.id));
  await loadSamples();
  say(tn("Sample uploaded: one point.", "Sample uploaded: {n} points.", sample.n), true);
}

async function importLabels() {
  if (!L_STATE.sample) return;
  const result = await api("POST", base() + "/import" + q(L_STATE.sample));
  await loadPoints(false);
  say(t("Labels imported: {imported}; already labelled here and kept: {kept}.", result), true);
}

async function start() {
  await I18N.ready;
  initMap();
  try { $("interpreter").value = localStorage.getItem("openldn.interpreter") || ""; } catch (error) { /* private mode */ }
  try { $("blind").checked = localStorage.getItem("openldn.blind") === "1"; } catch (error) { /* private mode */ }
  $("map-values").hidden = $("blind").checked;
  $("blind").addEventListener("change", () => {
    $("map-values").hidden = $("blind").checked;
    try { localStorage.setItem("openldn.blind", $("blind").checked ? "1" : "0"); } catch (error) { /* private mode */ }
  });
  $("project-select").addEventListener("change", () => guarded(async () => {
    L_STATE.project = $("project-select").value;
    history.replaceState(null, "", location.pathname + "?project=" + encodeURIComponent(L_STATE.project));
    await loadSamples();
  }));
  $("sample-select").addEventListener("change", () => guarded(async () => {
    clearSample();
    L_STATE.sample = $("sample-select").value;
    history.replaceState(null, "", location.pathname + "?project=" + encodeURIComponent(L_STATE.project) + "&sample=" + encodeURIComponent(L_STATE.sample));
    await loadPoints(true);
  }));
  $("label-form").addEventListener("submit", (event) => { event.preventDefault(); guarded(saveLabel); });
  $("clear-btn").addEventListener("click", () => guarded(clearLabel));
  $("upload-form").addEventListener("submit", (event) => { event.preventDefault(); guarded(uploadSample); });
  $("import-btn").addEventListener("click", () => guarded(importLabels));
  $("next-btn").addEventListener("click", () => { const id = nextUnlabelled(1); if (id) guarded(() => selectPoint(id)); });
  $("prev-btn").addEventListener("click", () => { const id = nextUnlabelled(-1); if (id) guarded(() => selectPoint(id)); });
  document.addEventListener("keydown", onKey);
  onLanguageChange(() => guarded(async () => {  // legend labels and messages come from the server in the language
    if (L_STATE.sample) await loadPoints(false);
  }));
  await guarded(loadProjects);
}

start();
