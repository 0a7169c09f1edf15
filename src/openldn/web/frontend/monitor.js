// Drought monitoring page: lists the bulletins written by `openldn monitor` under <data>/monitoring and shows the
// latest alerts per admin unit. No inline script (the server's Content-Security-Policy forbids it).
"use strict";

const $ = (id) => document.getElementById(id);

async function api(path, options) {
  const init = Object.assign({ credentials: "same-origin" }, options || {});
  init.headers = languageHeaders(Object.assign({}, init.headers || {}));  // answers in the page's language (i18n.js)
  const res = await fetch(path, init);
  if (res.status === 401) {
    $("signin").hidden = false;
    throw new Error(t("Sign in with the server's token."));
  }
  if (!res.ok) {
    let detail = res.statusText;
    try { detail = (await res.json()).detail || detail; } catch (e) { /* not JSON */ }
    throw new Error(detail);
  }
  return res.status === 204 ? null : res.json();
}

function showError(err) {
  $("error").textContent = String(err.message || err);
  $("error").hidden = false;
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function fileUrl(folder, path) {
  return `/api/monitoring/${encodeURIComponent(folder)}/files/${path.split("/").map(encodeURIComponent).join("/")}`;
}

function levelCell(row, levels, code) {
  const lv = levels.find((l) => l.code === code);
  const td = cell(row, lv ? lv.label : t("No data"), "level");
  if (lv) {
    td.style.background = lv.color;
    td.style.color = lv.code === levels[levels.length - 1].code ? "#fff" : "#000";
  }
}

function render(folder, doc) {
  const levels = doc.rules.levels;
  const idx = doc.index.toUpperCase();
  $("title").textContent = t("{name}, {month} ({index}, reference {period})", { name: doc.name, month: doc.month, index: idx, period: doc.reference_period });
  const ul = $("text");
  ul.replaceChildren();
  for (const line of doc.text) {
    const li = document.createElement("li");
    li.textContent = line;
    ul.appendChild(li);
  }
  const above = levels.filter((l) => l.code > 0);
  const hasPeople = doc.units.length && ("people_total_" + above[0].key) in doc.units[0];
  const head = [t("Unit"), t("Level"), t("Previous"), t("Since")].concat(above.map((l) => t("{level} (% of the unit)", { level: l.label })));
  const scales = doc.scales.filter((s) => [3, 6, 12].includes(s));
  scales.forEach((s) => head.push(`${idx}-${s}`));
  if (hasPeople) above.forEach((l) => head.push(t("People at {level}", { level: l.label })));
  const tr = document.createElement("tr");
  head.forEach((h) => { const th = document.createElement("th"); th.textContent = h; tr.appendChild(th); });
  $("units").tHead.replaceChildren(tr);
  const body = $("units").tBodies[0];
  body.replaceChildren();
  for (const u of doc.units) {
    const row = document.createElement("tr");
    cell(row, u.zone_name, "name");
    levelCell(row, levels, u.level);
    levelCell(row, levels, u.previous_level);
    cell(row, u.since || "");
    above.forEach((l) => cell(row, formatNumber(Math.round(100 * u["share_" + l.key]))));
    scales.forEach((s) => { const v = u[`${doc.index}_${s}`]; cell(row, v === null ? "–" : formatNumber(v, { minimumFractionDigits: 2, maximumFractionDigits: 2 })); });
    if (hasPeople) above.forEach((l) => cell(row, formatNumber(Math.round(u["people_total_" + l.key]))));
    body.appendChild(row);
  }
  const maps = $("maps");
  maps.replaceChildren();
  for (const [key, path] of Object.entries(doc.files)) {
    if (!key.startsWith("map_")) continue;
    const img = document.createElement("img");
    img.alt = key.slice(4);
    img.src = fileUrl(folder, `${doc.month}/${path}`);
    maps.appendChild(img);
  }
  $("html-link").href = fileUrl(folder, `${doc.month}/bulletin.html`);
  $("csv-link").href = fileUrl(folder, `${doc.month}/units.csv`);
  $("pdf-link").hidden = !doc.files.pdf;
  if (doc.files.pdf) $("pdf-link").href = fileUrl(folder, `${doc.month}/bulletin.pdf`);
  const none = t("none"), noneDeclared = t("none declared");  // (outside the calls below: the extractor reads them)
  const notes = [t("Latest month with data: {month}.", { month: doc.last_data_month }),
    t("Missing months: {months}.", { months: doc.missing_months.length ? doc.missing_months.join(", ") : none }),
    t("Provisional months: {months}.", { months: doc.provisional_months.length ? doc.provisional_months.join(", ") : noneDeclared })];
  if (doc.population) notes.push(t("Population: {source}.", { source: doc.population }));
  $("notes").textContent = notes.join(" ");
  $("bulletin").hidden = false;
}

// the language changed (i18n.js translated the fixed texts): draw the bulletin again
onLanguageChange(() => { if (!$("bulletin").hidden) loadBulletin(); });

async function loadBulletin() {
  const folder = $("folder").value;
  const month = $("month").value;
  $("error").hidden = true;
  try {
    render(folder, await api(`/api/monitoring/${encodeURIComponent(folder)}` + (month ? `?month=${month}` : "")));
  } catch (err) { showError(err); }
}

async function start() {
  $("error").hidden = true;
  let list;
  try { list = await api("/api/monitoring"); } catch (err) { showError(err); return; }
  $("signin").hidden = true;
  if (!list.length) { $("empty").hidden = false; return; }
  const sel = $("folder");
  sel.replaceChildren(...list.map((f) => new Option(`${f.latest.name} (${f.folder})`, f.folder)));
  const fillMonths = () => {
    const f = list.find((x) => x.folder === sel.value);
    $("month").replaceChildren(...f.months.slice().reverse().map((m) => new Option(m, m)));
    $("month").value = f.latest.month;
  };
  sel.onchange = () => { fillMonths(); loadBulletin(); };
  $("month").onchange = loadBulletin;
  fillMonths();
  loadBulletin();
}

$("signin-btn").onclick = async () => {
  try {
    await api("/api/session", { method: "POST", headers: { Authorization: `Bearer ${$("token").value}` } });
    start();
  } catch (err) { showError(err); }
};

I18N.ready.then(start);  // once the remembered language is loaded
