// openldn web platform: a thin client of the REST API (/api, documented at /docs).
// It holds no indicator logic: it lists, calls and presents what the server returns.
"use strict";

const state = {
  project: null,      // current project object
  run: null,          // current run object
  events: null,       // EventSource of the current run
  layers: [],         // layer descriptions of the current run
  resultsRun: null,   // the run whose final results are shown (its stages' maps no longer replace them)
  leaflet: {},        // key -> L.TileLayer
  tables: [],         // table descriptions of the current run
  visible: [],        // keys of the layer groups shown, in the order they were switched on (the last: legend)
  layerState: {},     // group key -> {current layer, band}
  compare: null,      // swipe comparison in progress
  zoneFeatures: [],   // admin units (GeoJSON features), for identify and zoom
  areaBounds: null,   // bounds of the area of interest and units
  drawing: null,      // {points: [], line: L.Polyline} while drawing a polygon
  boundaries: null,   // L.LayerGroup of the project's area of interest and admin units
  runClickedAt: null, // time the run button was clicked (for the timing shown in the status)
};

// ---------------------------------------------------------------------------------------------------- helpers
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

// The access token is never kept by the page: it is sent once to /api/session, which answers with an HTTP-only,
// same-site cookie that authorises every later call (including map tiles, downloads and event streams).
async function signIn(token) {
  const response = await fetch("/api/session", { method: "POST", headers: { Authorization: "Bearer " + token } });
  if (!response.ok) throw new Error(t("Sign-in failed: wrong access token."));
}

async function api(method, url, body, isForm = false) {
  const headers = languageHeaders({});  // the server answers in the page's language (i18n.js)
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    if (isForm) init.body = body;
    else { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  }
  const response = await fetch(url, init);
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const message = (data && data.detail) || response.statusText;
    const error = new Error(message);
    error.status = response.status;
    error.errors = data && Array.isArray(data.errors) ? data.errors : null;  // every problem of a run file
    throw error;
  }
  return data;
}

function toast(message, ok = false) {
  const box = $("toast");
  box.textContent = message;
  box.className = ok ? "ok" : "";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

async function guarded(fn) {
  try { return await fn(); } catch (error) { toast(error.message); return undefined; }
}

function fmt(value) {
  if (value === null || value === undefined) return "–";
  // as the interface's language writes numbers; no grouping below 10 000, so that years stay years
  if (typeof value === "number") return formatNumber(value, { maximumFractionDigits: 3, useGrouping: Math.abs(value) >= 10000 });
  return String(value);
}

// ---------------------------------------------------------------------------------------------------- map
const map = L.map("map", { center: [10, 10], zoom: 3, worldCopyJump: true, doubleClickZoom: false });
map.createPane("land");
map.getPane("land").style.zIndex = 150; // below the result tiles (tilePane is 200)
for (const [pane, z] of [["compare-left", 210], ["compare-right", 211]]) map.createPane(pane).style.zIndex = z;
map.createPane("places").style.zIndex = 460;
map.getPane("places").style.pointerEvents = "none";
map.createPane("zones");
map.getPane("zones").style.zIndex = 440;
map.createPane("outlines");
map.getPane("outlines").style.zIndex = 450;
map.getPane("outlines").style.pointerEvents = "none";
map.attributionControl.addAttribution("Basemap: Natural Earth (world-atlas), places: GeoNames (CC BY 4.0)");

// offline basemap: Natural Earth land, lakes, country and first-level boundaries as vector tiles cut by the server
// and drawn on canvases (static/gis.js), places of the GeoNames gazetteer at district zoom (/api/basemap/places);
// an online basemap when the server has a tile address (OPENLDN_BASEMAP_URL)
async function loadOutlines() {
  const info = await api("GET", "/api/basemap");
  if (!info.installed) { toast(t("The offline basemap is not installed (run 'npm ci' in src/openldn/web/frontend).")); return; }
  state.basemap = gis.startBasemap(map, info);
  if (!loadOutlines.started) { loadOutlines.started = true; map.on("moveend", loadPlaces); }
  loadPlaces();
}

async function loadPlaces() {
  if (!state.places) state.places = L.layerGroup().addTo(map);
  if (map.getZoom() < 8) { state.places.clearLayers(); return; }
  const b = map.getBounds();
  // clamped on both sides: a view panned into the wrapped world has longitudes beyond ±180 at either edge
  const clamp = (v, limit) => Math.min(limit, Math.max(-limit, v));
  const box = [clamp(b.getWest(), 180), clamp(b.getSouth(), 90), clamp(b.getEast(), 180), clamp(b.getNorth(), 90)];
  const data = await fetch(`/api/basemap/places?west=${box[0]}&south=${box[1]}&east=${box[2]}&north=${box[3]}&limit=120`, { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : null)).catch(() => null);
  if (!data) return;
  state.places.clearLayers();
  for (const f of data.features) {
    const [lon, lat] = f.geometry.coordinates;
    // a DOM label (text node) per place: no SVG path, so the basemap's vector layers are not redrawn
    const icon = L.divIcon({ className: "place-label", html: el("span", { text: f.properties.name }), iconSize: null });
    state.places.addLayer(L.marker([lat, lon], { icon, pane: "places", interactive: false, keyboard: false }));
  }
}

function setupOnlineBasemap(health) {
  if (!health.basemap_url) return;
  const layer = L.tileLayer(health.basemap_url, { pane: "land", maxZoom: 19, attribution: health.basemap_attribution || "" });
  $("online-box").hidden = false;
  $("online-basemap").addEventListener("change", (e) => {
    if (e.target.checked) { layer.addTo(map); document.body.dataset.basemap = "online"; } else { map.removeLayer(layer); document.body.dataset.basemap = "offline"; }
  });
}

// the legend of the visible layer (the last one switched on), on the map
const legendControl = L.control({ position: "bottomright" });
legendControl.onAdd = () => { const box = el("div", { class: "map-legend", id: "map-legend" }); L.DomEvent.disableScrollPropagation(box); return box; };
legendControl.addTo(map);
L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);

function updateMapLegend() {
  const box = $("map-legend");
  const top = state.visible && state.visible[state.visible.length - 1];
  const entry = top && state.layerState[top];
  if (!entry) { box.replaceChildren(); box.hidden = true; return; }
  box.hidden = false;
  const layer = entry.current;
  const head = el("h4", { text: layer.title + (layer.bands.length > 1 ? ` · ${layer.bands[entry.band - 1]}` : "") });
  if (layer.legend.length) {
    box.replaceChildren(head, ...layer.legend.map((c) => {
      const sw = el("span", { class: "sw" }); sw.style.background = c.color;
      return el("div", { class: "item", "data-code": c.code }, sw, el("span", { text: String(c.label) }));
    }));
  } else {
    box.replaceChildren(head, legendFor(layer, entry.band));
  }
  box.dataset.key = layer.key;
}

map.on("click", (event) => {
  if (state.drawing) { addVertex(event.latlng); return; }
  if (state.run && state.layers.length) showPoint(event.latlng);
});

async function showPoint(latlng) {
  const lon = ((latlng.lng + 540) % 360) - 180;
  const data = await guarded(() => api("GET", `/api/runs/${state.run.id}/point?lon=${lon}&lat=${latlng.lat}`));
  if (!data) return;
  const rows = [];
  for (const group of groupLayers(data.layers)) {
    const parts = [];
    for (const layer of group.layers) {
      for (const v of layer.values) {
        const shown = v.value === null ? t("no data") : (v.label ? `${v.label} (${fmt(v.value)})` : fmt(v.value));
        const name = [layer.variant, layer.values.length > 1 ? v.band : ""].filter(Boolean).join(" ");
        parts.push(name ? `${name}: ${shown}` : shown);
      }
    }
    rows.push(el("tr", { "data-key": group.name }, el("td", { text: group.title }), el("td", { class: "value", text: parts.join(" · ") })));
  }
  const unit = unitAt(lon, latlng.lat);
  const content = el("div", { class: "point-values" },
    el("strong", { text: `${lat2(latlng.lat)}, ${lat2(lon)}` }),
    unit ? el("div", { class: "unit-name", text: t("Unit: {name}", { name: unit }) }) : null, el("table", {}, ...rows));
  L.popup({ maxWidth: 520, maxHeight: 320 }).setLatLng(latlng).setContent(content).openOn(map);
}

function lat2(x) { return x.toFixed(4); }

// the admin unit under a point (ray casting over the project's units; holes count as outside)
function inRing(ring, x, y) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i], [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function unitAt(lon, lat) {
  for (const f of state.zoneFeatures || []) {
    const g = f.geometry;
    if (!g) continue;
    const polygons = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
    for (const poly of polygons) {
      if (inRing(poly[0], lon, lat) && !poly.slice(1).some((hole) => inRing(hole, lon, lat))) return String(f.properties.name ?? f.properties.id ?? "");
    }
  }
  return null;
}

// drawing an area of interest: click the vertices, then "Finish polygon"
function startDrawing() {
  map.closePopup();
  state.drawing = { points: [], line: L.polyline([], { color: "#d4380d" }).addTo(map) };
  document.body.classList.add("drawing");
  $("draw-finish").hidden = false;
  toast(t("Click the polygon's corners on the map, then 'Finish polygon'."), true);
}

function addVertex(latlng) {
  state.drawing.points.push(latlng);
  state.drawing.line.setLatLngs(state.drawing.points);
}

async function finishDrawing() {
  const drawing = state.drawing;
  state.drawing = null;
  document.body.classList.remove("drawing");
  $("draw-finish").hidden = true;
  map.removeLayer(drawing.line);
  if (drawing.points.length < 3) { toast(t("A polygon needs at least three corners.")); return; }
  const ring = drawing.points.map((p) => [p.lng, p.lat]);
  ring.push(ring[0]);
  const saved = await guarded(() => api("POST", `/api/projects/${state.project.id}/geometry`,
    { geojson: { type: "Polygon", coordinates: [ring] }, role: $("upload-role").value === "zones" ? "zones" : "aoi" }));
  if (saved) { L.polygon(drawing.points, { color: "#d4380d", fill: false }).addTo(map); toast(t("Area saved as {path}", { path: saved.path }), true); loadDatasets(); }
}

// ---------------------------------------------------------------------------------------------------- projects
async function loadProjects(selectId) {
  const projects = await api("GET", "/api/projects");
  const select = $("project-select");
  select.replaceChildren(...projects.map((p) => el("option", { value: p.id, text: p.name })));
  if (!projects.length) select.append(el("option", { value: "", text: t("(no project yet)") }));
  const chosen = selectId || (state.project && state.project.id) || (projects[0] && projects[0].id);
  if (chosen) { select.value = chosen; await selectProject(chosen); }
}

async function selectProject(id) {
  if (!id) return;
  // the labelling page opens on this project: set with the selection, not after the project's fetch
  const labelling = document.getElementById("labelling-link");
  if (labelling) labelling.href = `/static/labelling.html?project=${encodeURIComponent(id)}`;
  state.project = await api("GET", `/api/projects/${id}`);
  await Promise.all([loadDatasets(), loadInputs(), loadForm(), loadRuns(), loadBoundaries()]);
}

// the project's area of interest (dashed) and admin units (click one to see its tables)
async function loadBoundaries() {
  if (state.boundaries) { map.removeLayer(state.boundaries); state.boundaries = null; }
  let data;
  try {
    // admin units come in pages (big layers): fetch them all, up to 20 000 units
    data = await api("GET", `/api/projects/${state.project.id}/boundaries?limit=2000`);
    let next = data.zones ? data.zones.next_offset : null;
    while (next !== null && next !== undefined && next < 20000) {
      const page = await api("GET", `/api/projects/${state.project.id}/boundaries?limit=2000&offset=${next}`);
      data.zones.features.push(...page.zones.features);
      next = page.zones.next_offset;
    }
  } catch (error) {
    toast(t("Boundaries: {message}", { message: error.message }));
    return;
  }
  const group = L.layerGroup();
  if (data.aoi) group.addLayer(L.geoJSON(data.aoi, { pane: "zones", interactive: false, style: { color: "#222", weight: 2, dashArray: "6 4", fill: false } }));
  if (data.zones) {
    group.addLayer(L.geoJSON(data.zones, {
      pane: "zones",
      style: { color: "#333", weight: 1, fillOpacity: 0 },
      onEachFeature: (feature, layer) => {
        // a text node, never HTML: unit names come from user files
        layer.bindTooltip(el("span", { class: "zone-name", text: String(feature.properties.name ?? "") }), { sticky: true });
        layer.on("click", () => chooseZone(String(feature.properties.id)));
      },
    }));
  }
  group.addTo(map);
  state.boundaries = group;
  state.zoneFeatures = data.zones ? data.zones.features : [];
  state.areaBounds = L.featureGroup(group.getLayers()).getBounds();
  $("zoom-unit").replaceChildren(el("option", { value: "", text: t("Zoom to a unit…") }),
    ...state.zoneFeatures.map((f, i) => el("option", { value: i, text: String(f.properties.name ?? f.properties.id ?? i) })));
  const bounds = state.areaBounds;
  if (bounds.isValid() && !state.layers.length) map.fitBounds(bounds, { padding: [20, 20] });
}

function chooseZone(id) {
  const select = $("zone-select");
  if ([...select.options].some((o) => o.value === id)) { select.value = id; loadTable(); }
}

async function createProject(demo) {
  const name = demo ? t("Demo country") : $("project-name").value.trim();
  if (!name) { toast(t("Give the project a name.")); return; }
  const button = demo ? $("demo-btn") : $("create-btn");
  button.disabled = true;
  try {
    const project = await api("POST", "/api/projects", { name, demo });
    $("project-name").value = "";
    await loadProjects(project.id);
    toast(t("Project '{name}' created.", { name: project.name }), true);
  } catch (error) { toast(error.message); } finally { button.disabled = false; }
}

async function loadDatasets() {
  const datasets = await api("GET", `/api/projects/${state.project.id}/datasets`);
  state.datasets = datasets;
  if (!roles.loaded) await fillRoles();
  // each file with the role it plays: choose another and "Use" puts it under that key of the run file
  $("dataset-list").replaceChildren(...datasets.map((d) => {
    const choice = roleSelect(d.role, `role-${d.id}`, t("Role of {file}", { file: d.original_name }));
    const use = el("button", { type: "button", class: "use-role", text: t("Use") });
    use.addEventListener("click", () => assignRole(d, choice.value));
    return el("li", { class: "dataset", "data-id": d.id, "data-path": d.path },
      el("span", { class: "file", text: `${d.original_name} → ${d.path}` }),
      el("span", { class: "meta", text: t("{size} MiB", { size: formatNumber(d.size / 1048576, { maximumSignificantDigits: 3 }) }) }),
      el("span", { class: "row" }, choice, use));
  }));
  $("dataset-paths").replaceChildren(...datasets.map((d) => el("option", { value: d.path, text: roleLabel(d.role) })));
  fillWizard();
}

// the run file's inputs with their grids, years and provenance
async function loadInputs() {
  const list = $("inputs-list");
  const inputs = await guarded(() => api("GET", `/api/projects/${state.project.id}/inputs`));
  if (!inputs) { list.replaceChildren(); return; }
  if (!inputs.length) { list.replaceChildren(el("li", { class: "hint", text: t("No run file yet.") })); return; }
  list.replaceChildren(...inputs.map((d) => {
    const grid = d.grid || {};
    const parts = [kindLabel(d.kind)];
    if (grid.crs) parts.push(grid.crs);
    if (grid.resolution) parts.push(`${fmt(grid.resolution[0])} × ${fmt(grid.resolution[1])}`);
    if (grid.width) parts.push(`${grid.width} × ${grid.height} px`);
    if (d.bands) parts.push(tn("{n} band", "{n} bands", d.bands));
    if (d.years) parts.push(d.years[0] === d.years[1] ? String(d.years[0]) : `${d.years[0]}–${d.years[1]}`);
    if (d.features !== undefined) parts.push(tn("{n} feature", "{n} features", d.features));
    if (d.rows !== undefined) parts.push(tn("{n} row", "{n} rows", d.rows));
    if (d.problem) parts.push(d.problem);
    const prov = d.provenance || {};
    const source = [prov.description, prov.title, prov.source, prov.dataset && t("catalogue: {id}", { id: prov.dataset }), prov.doi && `doi: ${prov.doi}`, prov.licence, prov.citation]
      .filter(Boolean).join(" · ");
    return el("li", { class: "input", "data-name": d.name },
      el("strong", { text: roleLabel(d.name) }), ` ${d.path || ""}`,
      el("span", { class: "meta", text: parts.join(" · ") }),
      source ? el("span", { class: "meta provenance", text: source }) : null);
  }));
}

async function upload() {
  const file = $("upload-file").files[0];
  if (!file || !state.project) { toast(t("Choose a project and a file.")); return; }
  const form = new FormData();
  form.append("file", file);
  const role = $("upload-role").value;
  // a file with a role goes straight into the run file (as a draft until it is complete)
  const assign = role !== "other";
  const saved = await guarded(() => api("POST", `/api/projects/${state.project.id}/datasets?role=${encodeURIComponent(role)}&assign=${assign}`, form, true));
  if (!saved) return;
  toast(t("Uploaded {file} as {path}", { file: saved.original_name, path: saved.path }), true);
  $("upload-file").value = "";
  if (assign) await afterRunFileChange(); else await loadDatasets();
}

async function linkLocal() {
  const path = $("local-path").value.trim();
  if (!path || !state.project) return;
  const role = $("upload-role").value;
  const saved = await guarded(() => api("POST", `/api/projects/${state.project.id}/datasets/local`, { path, role }));
  if (!saved) return;
  toast(t("Linked {path}", { path: saved.path }), true);
  if (role !== "other") await assignRole(saved, role); else await loadDatasets();
}

// ---------------------------------------------------------------------------------------------------- run-file form
// The form is generated from the JSON schema of openldn.config.Assessment. Only the values present in the run
// file or changed by the user are sent back, so the preset keeps deciding every other option.
let schema = null;
let formValue = {};

function resolve(node) {
  let out = node || {};
  while (out.$ref) out = schema.$defs[out.$ref.split("/").pop()];
  if (out.allOf && out.allOf.length === 1) out = { ...resolve(out.allOf[0]), ...out, allOf: undefined };
  if (out.anyOf) {
    const options = out.anyOf.filter((o) => o.type !== "null");
    if (options.length === 1) return { ...resolve(options[0]), nullable: true, default: out.default, description: out.description || options[0].description, title: out.title };
  }
  return out;
}

function getPath(obj, path) { return path.reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), obj); }

function setPath(obj, path, value) {
  let node = obj;
  for (const key of path.slice(0, -1)) { if (typeof node[key] !== "object" || node[key] === null) node[key] = {}; node = node[key]; }
  if (value === undefined) delete node[path[path.length - 1]];
  else node[path[path.length - 1]] = value;
}

function fieldFor(name, spec, path) {
  const node = resolve(spec);
  const current = getPath(formValue, path);
  const id = "f-" + path.join("-");
  if (node.type === "object" && node.properties) {
    const description = spec.description || node.description;
    const box = el("details", { class: "group", "data-path": path.join(".") }, el("summary", { text: name.replaceAll("_", " ") }));
    if (description) box.append(el("div", { class: "desc hint", text: description }));
    for (const [key, child] of Object.entries(node.properties)) box.append(fieldFor(key, child, [...path, key]));
    return box;
  }
  if (node.type === "object" && !node.properties && node.additionalProperties && resolve(node.additionalProperties).properties) {
    // a map of named entries (e.g. inputs: {ndvi: {...}, land_cover: {...}}): one group per entry, and "add"
    const box = el("details", { class: "group", "data-path": path.join(".") }, el("summary", { text: name.replaceAll("_", " ") }));
    if (spec.description || node.description) box.append(el("div", { class: "desc hint", text: spec.description || node.description }));
    const entries = el("div");
    const addEntry = (key) => entries.append(fieldFor(key, node.additionalProperties, [...path, key]));
    for (const key of Object.keys(current || {})) addEntry(key);
    const newName = el("input", { type: "text", placeholder: t("name, e.g. ndvi"), "aria-label": t("New entry of {name}", { name }) });
    const add = el("button", { type: "button", text: t("Add") });
    add.addEventListener("click", () => {
      const key = newName.value.trim();
      if (!key) return;
      if (getPath(formValue, [...path, key]) === undefined) setPath(formValue, [...path, key], {});
      addEntry(key);
      entries.lastChild.open = true;
      newName.value = "";
    });
    box.append(entries, el("div", { class: "row" }, newName, add));
    return box;
  }
  const shown = current !== undefined ? current : node.default;
  let input;
  let read;
  if (node.enum) {
    input = el("select", { id });
    if (node.nullable || shown === undefined) input.append(el("option", { value: "", text: t("(default)") }));
    for (const v of node.enum) input.append(el("option", { value: JSON.stringify(v), text: String(v) }));
    input.value = shown === undefined || shown === null ? "" : JSON.stringify(shown);
    read = () => (input.value === "" ? undefined : JSON.parse(input.value));
  } else if (node.const !== undefined) {
    input = el("input", { id, value: String(node.const), disabled: true });
    read = () => node.const;
  } else if (node.type === "boolean") {
    input = el("input", { id, type: "checkbox" });
    input.checked = Boolean(shown);
    read = () => input.checked;
  } else if (node.type === "integer" || node.type === "number") {
    input = el("input", { id, type: "number", step: node.type === "integer" ? "1" : "any", min: node.minimum ?? node.exclusiveMinimum, max: node.maximum ?? node.exclusiveMaximum });
    input.value = shown === undefined || shown === null ? "" : shown;
    read = () => (input.value === "" ? (node.nullable ? null : undefined) : Number(input.value));
  } else if (node.type === "array" && resolve(node.items).type === "string" && !resolve(node.items).enum) {
    input = el("input", { id, type: "text", placeholder: t("comma-separated") });
    input.value = Array.isArray(shown) ? shown.join(", ") : "";
    read = () => (input.value.trim() === "" ? undefined : input.value.split(",").map((x) => x.trim()).filter(Boolean));
  } else if (node.anyOf && node.anyOf.some((o) => resolve(o).type === "string")) {
    // a string or something else (e.g. a path or a list of paths): text, or JSON when it starts with [ or {
    input = el("input", { id, type: "text", list: /path|aoi/.test(name) ? "dataset-paths" : undefined });
    input.value = shown === undefined || shown === null ? "" : (typeof shown === "string" ? shown : JSON.stringify(shown));
    read = () => {
      const text = input.value.trim();
      if (text === "") return node.anyOf.some((o) => o.type === "null") ? null : undefined;
      return /^[[{]/.test(text) ? JSON.parse(text) : text;
    };
  } else if (node.type === "string") {
    input = el("input", { id, type: "text", list: /path|aoi/.test(name) ? "dataset-paths" : undefined });
    input.value = shown === undefined || shown === null ? "" : shown;
    read = () => (input.value === "" ? (node.nullable ? null : undefined) : input.value);
  } else {
    input = el("textarea", { id, rows: 3, placeholder: "JSON" });
    input.value = shown === undefined || shown === null ? "" : JSON.stringify(shown, null, 1);
    read = () => { if (input.value.trim() === "") return node.nullable ? null : undefined; return JSON.parse(input.value); };
  }
  input.addEventListener("change", () => {
    try { setPath(formValue, path, read()); input.classList.remove("invalid"); } catch (error) { toast(`${path.join(".")}: ${error.message}`); }
  });
  return el("div", { class: "field" }, el("label", { for: id, text: name.replaceAll("_", " ") }), input,
    node.description ? el("span", { class: "desc", text: node.description }) : null);
}

async function loadForm() {
  const form = $("assessment-form");
  $("form-message").textContent = "";
  try {
    if (!schema) schema = await api("GET", "/api/schema/assessment");
  } catch (error) {
    form.replaceChildren(el("p", { class: "hint", text: t("Form unavailable: {message}", { message: error.message }) }));
    return;
  }
  formValue = await api("GET", `/api/projects/${state.project.id}/assessment`);
  const root = resolve(schema);
  form.replaceChildren(...Object.entries(root.properties || {}).map(([k, v]) => fieldFor(k, v, [k])));
}

async function saveForm() {
  const message = $("form-message");
  try {
    await api("PUT", `/api/projects/${state.project.id}/assessment`, formValue);
    showProblems([]);
    state.project = await api("GET", `/api/projects/${state.project.id}`);
    loadInputs();
  } catch (error) {
    if (error.errors) { showProblems(error.errors); return; }
    $("form-errors").replaceChildren();
    message.textContent = error.message;
    message.className = "message error";
  }
}

// every problem of the run file, each with its key, what is wrong and the fix (never "+1 more")
function showProblems(errors) {
  const message = $("form-message");
  const list = $("form-errors");
  state.problems = errors;
  if (!errors.length) {
    message.textContent = t("Run file is valid and saved.");
    message.className = "message ok";
    list.replaceChildren();
    return;
  }
  message.textContent = tn("The run file has {n} problem:", "The run file has {n} problems:", errors.length);
  message.className = "message error";
  list.replaceChildren(...errors.map((e) => el("li", { class: "problem", "data-key": e.key },
    e.key ? el("code", { text: e.key }) : null, el("span", { class: "what", text: e.message }),
    e.fix ? el("span", { class: "fix", text: t("Fix: {fix}", { fix: e.fix }) }) : null)));
  const key = errors[0].key.split(".")[0];
  const group = key && document.querySelector(`#assessment-form [data-path="${CSS.escape(key)}"]`);
  if (group) group.open = true;
}

// ---------------------------------------------------------------------------------------------------- runs
async function loadRuns(selectId) {
  const runs = await api("GET", `/api/projects/${state.project.id}/runs`);
  const select = $("run-select");
  select.replaceChildren(...runs.map((r) => el("option", { value: r.id, text: runLabel(r) })));
  if (!runs.length) { select.append(el("option", { value: "", text: t("(no run yet)") })); showRun(null); clearResults(); return; }
  const chosen = selectId || runs[0].id;
  select.value = chosen;
  await selectRun(chosen);
}

async function selectRun(id) {
  if (state.events) { state.events.close(); state.events = null; }
  clearResults();
  const run = await api("GET", `/api/runs/${id}`);
  showRun(run);
  if (run.status === "succeeded") await loadResults();
  else {
    await loadLayers(run.id);  // the maps of the stages finished so far
    await gis.refreshTables(run);  // and their tables
    if (run.status === "queued" || run.status === "running") follow(run.id);
  }
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 60) return t("{n} s", { n: Math.max(1, Math.round(seconds)) });
  if (seconds < 3600) return t("{n} min", { n: Math.round(seconds / 60) });
  return t("{h} h {m} min", { h: Math.floor(seconds / 3600), m: Math.round((seconds % 3600) / 60) });
}

function runLabel(run) { return `${new Date(run.created * 1000).toLocaleString(currentLocale())} · ${statusLabel(run.status)}`; }

function showRun(run) {
  state.run = run;
  const status = $("run-status");
  if (!run) {
    status.textContent = t("No run yet.");
    status.dataset.status = "";
    $("progress-bar").style.width = "0";
    $("progress-text").textContent = "";
    $("cancel-btn").disabled = true;
    $("resume-btn").disabled = true;
    $("run-error").textContent = "";
    gis.markLive(null);
    return;
  }
  const active = run.status === "queued" || run.status === "running";
  const percent = Math.round((run.fraction || 0) * 100);
  let text = run.status === "queued" ? t("queued: waiting for its worker to start") : statusLabel(run.status);
  if (run.status === "running" && run.stage) text += ` · ${run.stage.replaceAll("_", " ")}${run.message ? " · " + run.message : ""}`;
  if (run.status === "succeeded" && run.started && run.finished) text += ` · ${duration(run.finished - run.started)}`;
  if (["cancelled", "interrupted"].includes(run.status)) text += " " + t("at {percent}: resume to continue from the last finished stage", { percent: formatNumber(percent / 100, { style: "percent" }) });
  status.textContent = text;
  status.dataset.status = run.status;
  const progress = [];
  if (run.stage_count) progress.push(t("stage {i}/{n}", { i: Math.max(run.stage_index, 0), n: run.stage_count }));
  progress.push(t("{percent} of the run", { percent: formatNumber(percent / 100, { style: "percent" }) }));
  if (active && run.eta !== null && run.eta !== undefined) progress.push(t("about {time} left", { time: duration(run.eta) }));
  $("progress-text").textContent = active || run.status === "succeeded" ? progress.join(" · ") : "";
  $("progress-bar").style.width = `${percent}%`;
  $("progress").setAttribute("aria-valuenow", percent);
  $("progress").dataset.percent = percent;
  $("cancel-btn").disabled = !active;
  $("resume-btn").disabled = !["interrupted", "failed", "cancelled"].includes(run.status);
  $("run-error").textContent = run.error || "";
  const option = $("run-select").querySelector(`option[value="${run.id}"]`);
  if (option) option.textContent = runLabel(run);
  gis.markLive(run);
}

function follow(runId) {
  if (state.events) state.events.close();
  const source = new EventSource(`/api/runs/${runId}/events`);
  state.events = source;
  source.addEventListener("run", async (event) => {
    const run = JSON.parse(event.data);
    if (!state.run || state.run.id !== run.id) return;
    const stageBefore = state.run.stage_index;
    showRun(run);
    if ($("log-box").open && Date.now() - (follow.logAt || 0) > 2000) { follow.logAt = Date.now(); refreshLog(); }
    if (run.status === "running" && (run.stage_index !== stageBefore || gis.stageFinished(run))) {
      loadLayers(run.id);  // a stage finished: its maps and tables
      gis.refreshTables(run);
    }
    if (["succeeded", "failed", "cancelled", "interrupted"].includes(run.status)) {
      source.close();
      state.events = null;
      await refreshLog();
      if (run.status === "succeeded") await loadResults();
    }
  });
  source.onerror = () => {
    // the server closes the stream when the run ends; reconnect only while it is still active
    source.close();
    if (state.events === source) {
      state.events = null;
      setTimeout(async () => {
        const run = await guarded(() => api("GET", `/api/runs/${runId}`));
        if (run && state.run && state.run.id === runId) {
          showRun(run);
          if (run.status === "queued" || run.status === "running") follow(runId);
          else if (run.status === "succeeded") loadResults();
        }
      }, 1000);
    }
  };
}

async function startRun() {
  if (!state.project) { toast(t("Create or choose a project first.")); return; }
  state.runClickedAt = performance.now();
  const run = await guarded(() => api("POST", `/api/projects/${state.project.id}/runs`));
  if (!run) return;
  await loadRuns(run.id);
}

async function cancelRun() {
  const run = await guarded(() => api("POST", `/api/runs/${state.run.id}/cancel`));
  if (run) showRun(run);
}

async function resumeRun() {
  $("resume-btn").disabled = true;
  const run = await guarded(() => api("POST", `/api/runs/${state.run.id}/resume`));
  if (run) { showRun(run); clearResults(); follow(run.id); } else showRun(state.run);
}

async function refreshLog() {
  if (!state.run) return;
  const text = await guarded(() => api("GET", `/api/runs/${state.run.id}/log?tail=400`));
  if (text === undefined) return;
  const pre = $("run-log");
  pre.replaceChildren(...text.split("\n").filter(Boolean).map((line) => {
    const level = (line.match(/^\S+ \S+\s+(INFO|WARNING|ERROR|DEBUG)\b/) || [])[1] || "";
    return el("div", { class: level, text: line });
  }));
  pre.scrollTop = pre.scrollHeight;
}

// ---------------------------------------------------------------------------------------------------- results
function clearResults() {
  for (const layer of Object.values(state.leaflet)) map.removeLayer(layer);
  state.leaflet = {};
  state.resultsRun = null;
  state.layers = [];
  state.tables = [];
  state.visible = [];
  state.layerState = {};
  stopCompare();
  $("layers").replaceChildren(el("p", { class: "hint", text: t("Layers appear as each stage of a run finishes.") }));
  $("downloads").replaceChildren();
  $("download-all").hidden = true;
  updateMapLegend();
  for (const id of ["table-select", "zone-select", "period-select"]) $(id).replaceChildren();
  $("chart").replaceChildren();
  $("table-view").replaceChildren();
  map.closePopup();
}

function tileUrl(layer, band) {
  return `/api/runs/${state.run.id}/tiles/{z}/{x}/{y}.png?layer=${encodeURIComponent(layer.key)}&band=${band}`;
}

// while a run is in progress: the maps of its finished stages (read from its staging area by the server)
async function loadLayers(runId) {
  const layers = await guarded(() => api("GET", `/api/runs/${runId}/layers`));
  // a stage's maps that arrive after the run's final results would replace them (and show a layer turned off)
  if (!layers || !state.run || state.run.id !== runId || state.resultsRun === runId) return;
  if (layers.length === state.layers.length && layers.every((l, i) => l.key === state.layers[i].key)) return;
  for (const layer of Object.values(state.leaflet)) map.removeLayer(layer);
  state.leaflet = {};
  state.visible = [];
  state.layerState = {};
  state.layers = layers;
  if (layers.length) renderLayers(layers);
  document.body.dataset.stagedLayers = String(layers.filter((l) => l.staged).length);
}

async function loadResults() {
  const runId = state.run.id;
  const [layers, files, tables] = await Promise.all([
    api("GET", `/api/runs/${runId}/layers`), api("GET", `/api/runs/${runId}/files`), api("GET", `/api/runs/${runId}/tables`),
  ]);
  if (!state.run || state.run.id !== runId) return;
  clearResults();
  state.resultsRun = runId;
  state.layers = layers;
  renderLayers(layers);
  renderDownloads(files);
  state.tables = tables;
  renderTableChoices();
  if (layers.length) zoomToArea();
  if (state.runClickedAt !== null) {
    const seconds = (performance.now() - state.runClickedAt) / 1000;
    state.runClickedAt = null;
    document.body.dataset.runToMapSeconds = seconds.toFixed(1);
    $("run-status").textContent += " · " + t("map shown {seconds} s after clicking Run", { seconds: Number(seconds.toFixed(1)) });
  }
  refreshLog();
}

function legendFor(layer, band) {
  if (layer.legend.length) {
    const swatch = (color) => { const node = el("span", { class: "sw" }); node.style.background = color; return node; };
    const items = el("div", { class: "legend" }, ...layer.legend.map((c) => el("span", {}, swatch(c.color), String(c.label))));
    return layer.legend.length > 10 ? el("details", {}, el("summary", { text: tn("Legend ({n} class)", "Legend ({n} classes)", layer.legend.length) }), items) : items;
  }
  const [lo, hi] = layer.ranges[band - 1] || [0, 1];
  const bar = el("div", { class: "ramp" });
  if (layer.ramp) {  // the run's ramp: stops placed by value between vmin and vmax
    const span = layer.ramp.vmax - layer.ramp.vmin;
    bar.style.background = `linear-gradient(to right, ${layer.ramp.stops.map(([v, c]) => `${c} ${(((v - layer.ramp.vmin) / span) * 100).toFixed(1)}%`).join(", ")})`;
  }
  return el("div", {}, bar,
    el("div", { class: "ramp-labels" }, el("span", { text: fmt(lo) }), el("span", { text: layer.units || "" }), el("span", { text: fmt(hi) })));
}

// layers are grouped by the first part of their key ("sdg/2000-2015" -> group "sdg", variant "2000-2015")
function groupLayers(layers) {
  const groups = new Map();
  for (const layer of layers) {
    const [prefix, ...rest] = layer.key.split("/");
    if (!groups.has(prefix)) groups.set(prefix, { name: prefix, layers: [] });
    groups.get(prefix).layers.push({ ...layer, variant: rest.join("/") });
  }
  for (const group of groups.values()) {
    const first = group.layers[0];
    group.title = first.variant ? first.title.replace(first.variant, "").replace(/\s+/g, " ").replace(/ ,/g, ",").trim() : first.title;
  }
  return [...groups.values()];
}

function renderLayers(layers) {
  const box = $("layers");
  if (!layers.length) { box.replaceChildren(el("p", { class: "hint", text: t("This run wrote no map layer.") })); return; }
  box.replaceChildren();
  const groups = groupLayers(layers);
  state.groups = groups;
  const shownFirst = groups.find((g) => g.name === "sdg") || groups[0];
  groups.forEach((group, index) => {
    let current = group.layers[0];
    let band = 1;
    const tile = L.tileLayer(tileUrl(current, band), {
      opacity: 0.85, maxZoom: 18, maxNativeZoom: 18, tileSize: 256,
      bounds: [[current.bounds[1], current.bounds[0]], [current.bounds[3], current.bounds[2]]],
    });
    state.leaflet[group.name] = tile;
    const entry = { current, band };
    state.layerState[group.name] = entry;
    const checkbox = el("input", { type: "checkbox", class: "layer-toggle", "data-key": group.name, id: `layer-${index}` });
    checkbox.checked = group === shownFirst;
    const show = (on) => {
      state.visible = state.visible.filter((k) => k !== group.name);
      if (on) { tile.addTo(map); state.visible.push(group.name); } else map.removeLayer(tile);
      updateMapLegend();
    };
    if (checkbox.checked) show(true);
    checkbox.addEventListener("change", () => show(checkbox.checked));
    const label = el("label", { for: `layer-${index}`, text: current.title });
    const opacity = el("input", { type: "range", min: 0, max: 1, step: 0.05, value: 0.85, "aria-label": t("Opacity of {layer}", { layer: group.title }) });
    opacity.addEventListener("input", () => tile.setOpacity(Number(opacity.value)));
    const legendBox = el("div", {}, legendFor(current, band));
    const bandSelect = el("select", { "aria-label": t("Band of {layer}", { layer: group.title }) });
    const fillBands = () => {
      bandSelect.replaceChildren(...current.bands.map((b, i) => el("option", { value: i + 1, text: b })));
      bandSelect.hidden = current.bands.length < 2;
    };
    fillBands();
    const redraw = () => {
      tile.setUrl(tileUrl(current, band));
      label.textContent = current.title;
      legendBox.replaceChildren(legendFor(current, band));
      entry.current = current;
      entry.band = band;
      updateMapLegend();
    };
    bandSelect.addEventListener("change", () => { band = Number(bandSelect.value); redraw(); });
    let variantSelect = null;
    if (group.layers.length > 1) {
      variantSelect = el("select", { class: "variant", "aria-label": t("Period of {layer}", { layer: group.title }) },
        ...group.layers.map((l, i) => el("option", { value: i, text: l.variant })));
      variantSelect.addEventListener("change", () => {
        current = group.layers[Number(variantSelect.value)];
        band = 1;
        fillBands();
        redraw();
      });
    }
    box.append(el("div", { class: "layer", "data-key": group.name },
      el("div", { class: "head" }, checkbox, label), el("div", { class: "row" }, variantSelect, bandSelect),
      opacity, legendBox));
  });
  fillCompareChoices();
}

// ---------------------------------------------------------------------------------------------------- zoom and compare
function zoomToArea() {
  if (state.areaBounds && state.areaBounds.isValid()) { map.fitBounds(state.areaBounds, { padding: [20, 20] }); return; }
  if (state.layers.length) {
    const [w, s, e, n] = state.layers[0].bounds;
    map.fitBounds([[s, w], [n, e]], { padding: [20, 20] });
  }
}

function zoomToUnit() {
  const feature = (state.zoneFeatures || [])[Number($("zoom-unit").value)];
  if ($("zoom-unit").value === "" || !feature) return;
  map.fitBounds(L.geoJSON(feature).getBounds(), { padding: [20, 20] });
}

// every (layer, band) pair that can be compared: the periods of a layer, the years of a stack
function compareChoices() {
  const out = [];
  for (const layer of state.layers) {
    layer.bands.forEach((b, i) => out.push({ id: `${layer.key}#${i + 1}`, layer, band: i + 1,
      text: layer.title + (layer.bands.length > 1 ? ` · ${b}` : "") }));
  }
  return out;
}

function fillCompareChoices() {
  const choices = compareChoices();
  for (const id of ["compare-left", "compare-right"]) $(id).replaceChildren(...choices.map((c) => el("option", { value: c.id, text: c.text })));
  if (!choices.length) return;
  // by default the first two periods of the same layer family (e.g. SDG baseline and the latest period)
  const family = (c) => c.layer.key.split("/")[0];
  const first = choices.find((c) => choices.some((d) => d !== c && family(d) === family(c))) || choices[0];
  const second = [...choices].reverse().find((d) => d !== first && family(d) === family(first)) || choices[Math.min(1, choices.length - 1)];
  $("compare-left").value = first.id;
  $("compare-right").value = second.id;
}

function stopCompare() {
  if (!state.compare) return;
  for (const layer of state.compare.layers) map.removeLayer(layer);
  map.off("move", state.compare.clip);
  state.compare.line.remove();
  for (const pane of ["compare-left", "compare-right"]) map.getPane(pane).style.clip = "";
  state.compare = null;
  $("swipe").hidden = true;
  document.body.dataset.compare = "";
}

function startCompare() {
  stopCompare();
  const choices = compareChoices();
  const pick = (id) => choices.find((c) => c.id === $(id).value);
  const left = pick("compare-left"), right = pick("compare-right");
  if (!left || !right) { toast(t("A run with map layers is needed to compare.")); $("compare-on").checked = false; return; }
  const make = (c, pane) => L.tileLayer(tileUrl(c.layer, c.band), { pane, maxZoom: 18, opacity: 1,
    bounds: [[c.layer.bounds[1], c.layer.bounds[0]], [c.layer.bounds[3], c.layer.bounds[2]]] }).addTo(map);
  const layers = [make(left, "compare-left"), make(right, "compare-right")];
  const line = el("div", { class: "swipe-line" });
  $("map-wrap").append(line);
  const clip = () => {
    const size = map.getSize();
    const nw = map.containerPointToLayerPoint([0, 0]);
    const se = map.containerPointToLayerPoint(size);
    const x = nw.x + (size.x * Number($("swipe").value)) / 100;
    map.getPane("compare-left").style.clip = `rect(${nw.y}px, ${x}px, ${se.y}px, ${nw.x}px)`;
    map.getPane("compare-right").style.clip = `rect(${nw.y}px, ${se.x}px, ${se.y}px, ${x}px)`;
    line.style.left = `${(size.x * Number($("swipe").value)) / 100 - 1}px`;
  };
  map.on("move", clip);
  state.compare = { layers, clip, line };
  $("swipe").hidden = false;
  clip();
  document.body.dataset.compare = `${left.id}|${right.id}`;
}

function compareChanged() {
  const on = $("compare-on").checked;
  $("compare-left").hidden = !on;
  $("compare-right").hidden = !on;
  if (on) startCompare(); else stopCompare();
}

// downloads grouped: the report and workbook first, then maps, tables and the run's own files; all of them as one zip
const GROUP_TITLES = { report: () => t("Report and workbook"), maps: () => t("Maps"), tables: () => t("Tables"), run: () => t("Run files") };

function renderDownloads(files) {
  const href = (f) => `/api/runs/${state.run.id}/files/${f.path.split("/").map(encodeURIComponent).join("/")}`;
  const link = (f) => el("li", {}, el("a", { href: href(f), target: "_blank", rel: "noopener", text: f.path }),
    " " + t("({size} KiB)", { size: formatNumber(f.size / 1024, { maximumFractionDigits: 1 }) }));
  const boxes = [];
  for (const group of Object.keys(GROUP_TITLES)) {
    const inGroup = files.filter((f) => (f.group || "run") === group);
    if (!inGroup.length) continue;
    const list = el("ul", { class: "list" }, ...inGroup.map(link));
    const title = `${GROUP_TITLES[group]()} (${formatNumber(inGroup.length)})`;
    boxes.push(el("section", { class: "download-group", "data-group": group },
      group !== "report" && inGroup.length > 8 ? el("details", {}, el("summary", { text: title }), list) : el("div", {}, el("h3", { text: title }), list)));
  }
  $("downloads").replaceChildren(...boxes);
  const all = $("download-all");
  all.hidden = !files.length;
  all.href = `/api/runs/${state.run.id}/archive.zip`;
  all.setAttribute("download", "");
}

// ---------------------------------------------------------------------------------------------------- tables and charts
function renderTableChoices() {
  const select = $("table-select");
  select.replaceChildren(...state.tables.map((t) => el("option", { value: t.name, text: t.title || t.name.replaceAll("_", " ") })));
  const preferred = ["lpd_by_lc", "lc_transitions", "drought_area"].find((n) => state.tables.some((t) => t.name === n));
  if (preferred) select.value = preferred;
  tableChanged();
}

function currentTable() { return state.tables.find((t) => t.name === $("table-select").value); }

function tableChanged() {
  const table = currentTable();
  if (!table) { $("table-view").replaceChildren(el("p", { class: "hint", text: t("No table.") })); return; }
  const zones = table.zones.length ? table.zones : [{ id: "", name: t("(all rows)") }];
  $("zone-select").replaceChildren(...zones.map((z) => el("option", { value: z.id, text: z.name })));
  $("period-select").replaceChildren(el("option", { value: "", text: t("all periods") }),
    ...table.periods.map((p) => el("option", { value: p, text: p || t("(none)") })));
  if (table.crosstab && table.periods.length) $("period-select").value = table.periods[0];
  loadTable();
}

async function loadTable() {
  const table = currentTable();
  if (!table) return;
  const params = new URLSearchParams();
  if ($("zone-select").value) params.set("zone_id", $("zone-select").value);
  if ($("period-select").value) params.set("period", $("period-select").value);
  const data = await guarded(() => api("GET", `/api/runs/${state.run.id}/tables/${table.name}?${params}`));
  if (!data) return;
  const cols = data.columns;
  if (table.crosstab) renderCrosstab(data.rows);
  else if (cols.includes("class_label") && cols.includes("area_km2")) renderClassTable(data.rows);
  else renderPlain(data);
}

function pivot(rows, rowKey, colKey, valueKey) {
  const rowLabels = [...new Set(rows.map((r) => r[rowKey]))];
  const colLabels = [...new Set(rows.map((r) => r[colKey]))];
  const cells = new Map();
  for (const r of rows) {
    const k = r[rowKey] + "\u0000" + r[colKey];
    cells.set(k, (cells.get(k) || 0) + (Number(r[valueKey]) || 0));
  }
  return { rowLabels, colLabels, get: (a, b) => cells.get(a + "\u0000" + b) };
}

function htmlTable(header, body) {
  return el("table", { class: "data" },
    el("thead", {}, el("tr", {}, ...header.map((h) => el("th", { text: h })))),
    el("tbody", {}, ...body.map((row) => el("tr", {}, ...row.map((c) => el("td", { text: fmt(c) }))))));
}

function renderCrosstab(rows) {
  const value = rows.length && "area_km2" in rows[0] ? "area_km2" : "value";
  const p = pivot(rows, "class_label_a", "class_label_b", value);
  const body = p.rowLabels.map((a) => [a, ...p.colLabels.map((b) => p.get(a, b) ?? 0)]);
  $("chart").replaceChildren(barChart(p.rowLabels, p.colLabels, (a, b) => p.get(a, b) ?? 0, value));
  $("table-view").replaceChildren(htmlTable([t("{value} (rows: {variable})", { value, variable: rows[0]?.variable ?? "" }), ...p.colLabels], body));
}

function renderClassTable(rows) {
  const p = pivot(rows, "period", "class_label", "area_km2");
  const body = p.rowLabels.map((period) => [period || "–", ...p.colLabels.map((c) => p.get(period, c) ?? 0)]);
  $("chart").replaceChildren(barChart(p.rowLabels, p.colLabels, (a, b) => p.get(a, b) ?? 0, "area_km2"));
  $("table-view").replaceChildren(htmlTable([t("period \\ class (km²)"), ...p.colLabels], body));
}

function renderPlain(data) {
  $("chart").replaceChildren();
  $("table-view").replaceChildren(htmlTable(data.columns, data.rows.map((r) => data.columns.map((c) => r[c]))));
}

const PALETTE = ["#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027", "#4575b4", "#984ea3", "#999999", "#8c510a"];

function colourOf(label, index) {
  for (const layer of state.layers) {
    const hit = layer.legend.find((c) => c.label === label);
    if (hit) return hit.color;
  }
  return PALETTE[index % PALETTE.length];
}

// stacked bars: one bar per group, one segment per series
function barChart(groups, series, value, unit) {
  const NS = "http://www.w3.org/2000/svg";
  const step = groups.length > 12 ? 28 : 46;
  const width = Math.max(320, 90 + groups.length * step), height = 190, left = 80, bottom = 50;
  const totals = groups.map((g) => series.reduce((s, k) => s + Math.max(0, value(g, k)), 0));
  const max = Math.max(...totals, 1e-9);
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("width", width + 220);
  svg.setAttribute("height", height);
  const add = (tag, attrs, text) => {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
    return node;
  };
  const plotH = height - bottom - 10;
  const barW = step - 10;
  add("text", { x: 4, y: 12 }, fmt(max) + " " + unit);
  add("line", { x1: left - 4, y1: 10, x2: left - 4, y2: 10 + plotH, stroke: "#999" });
  groups.forEach((g, i) => {
    let y = 10 + plotH;
    const x = left + i * step;
    series.forEach((s, j) => {
      const h = (Math.max(0, value(g, s)) / max) * plotH;
      y -= h;
      const rect = add("rect", { x, y, width: barW, height: h, fill: colourOf(s, j) });
      const title = document.createElementNS(NS, "title");
      title.textContent = `${g} · ${s}: ${fmt(value(g, s))} ${unit}`;
      rect.append(title);
    });
    const ly = height - bottom + 12;
    add("text", { x: x + barW / 2, y: ly, "text-anchor": "end", transform: `rotate(-30 ${x + barW / 2} ${ly})` }, String(g).slice(0, 14));
  });
  series.forEach((s, j) => {
    const y = 14 + j * 15;
    if (y > height - 5) return;
    add("rect", { x: width + 10, y: y - 9, width: 10, height: 10, fill: colourOf(s, j) });
    add("text", { x: width + 26, y }, String(s).slice(0, 28));
  });
  return svg;
}

// ---------------------------------------------------------------------------------------------------- start
async function init() {
  await I18N.ready;  // the remembered language is loaded before anything is drawn (i18n.js)
  fillRoles(false);
  $("wizard-btn").addEventListener("click", runWizard);
  $("wizard-aoi").addEventListener("change", () => { $("wizard-country").disabled = $("wizard-aoi").value !== ""; });
  $("wizard").addEventListener("toggle", loadCountryNames);
  onLanguageChange(relabel);
  $("create-btn").addEventListener("click", () => createProject(false));
  $("demo-btn").addEventListener("click", () => createProject(true));
  $("project-select").addEventListener("change", (e) => guarded(() => selectProject(e.target.value)));
  $("upload-btn").addEventListener("click", upload);
  $("link-btn").addEventListener("click", linkLocal);
  $("draw-btn").addEventListener("click", () => { if (state.project) startDrawing(); else toast(t("Choose a project first.")); });
  $("draw-finish").addEventListener("click", finishDrawing);
  $("save-btn").addEventListener("click", saveForm);
  $("run-btn").addEventListener("click", startRun);
  $("cancel-btn").addEventListener("click", cancelRun);
  $("resume-btn").addEventListener("click", resumeRun);
  $("run-select").addEventListener("change", (e) => { if (e.target.value) guarded(() => selectRun(e.target.value)); });
  $("log-box").addEventListener("toggle", refreshLog);
  $("zoom-area").addEventListener("click", zoomToArea);
  $("zoom-unit").addEventListener("change", zoomToUnit);
  $("compare-on").addEventListener("change", compareChanged);
  for (const id of ["compare-left", "compare-right"]) $(id).addEventListener("change", () => { if ($("compare-on").checked) startCompare(); });
  $("swipe").addEventListener("input", () => { if (state.compare) state.compare.clip(); });
  $("table-select").addEventListener("change", tableChanged);
  $("zone-select").addEventListener("change", loadTable);
  $("period-select").addEventListener("change", loadTable);
  $("token").addEventListener("change", () => guarded(async () => {
    await signIn($("token").value.trim());
    loadOutlines().catch((error) => toast(error.message));
    $("token").value = "";
    $("token-box").hidden = true;
    await loadProjects();
  }));

  // the address printed by 'openldn serve' carries the token in its fragment (never sent to the server)
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.has("token")) {
    history.replaceState(null, "", location.pathname + location.search);
    await signIn(fragment.get("token")).catch((error) => toast(error.message));
  }
  const health = await api("GET", "/api/health");
  setupOnlineBasemap(health);
  if (!health.auth || health.signed_in) loadOutlines().catch((error) => toast(error.message));
  $("token-box").hidden = !health.auth || health.signed_in;
  await guarded(() => loadProjects());
  document.body.dataset.ready = "1";
}

init().catch((error) => toast(error.message));
