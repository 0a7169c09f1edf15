// openldn web platform: the roles of the project's files and the start wizard (as `openldn init`).
// Loaded after i18n.js and before app.js; it uses app.js's helpers ($, el, api, toast, guarded, state) when called.
"use strict";

// Names of the roles a file can play (the server lists them from openldn.registry: GET /api/roles); a role the
// interface does not know yet is shown by its run-file name.
function roleLabel(role) {
  const labels = {
    aoi: t("area of interest"),
    "area of interest": t("area of interest"),
    zones: t("admin units"),
    "admin units": t("admin units"),
    land_cover: t("land cover"),
    ndvi: t("vegetation index (NDVI)"),
    lpd: t("land productivity dynamics (existing map)"),
    lpd_alternative: t("land productivity dynamics (alternative map)"),
    soil_units: t("soil or land units"),
    soc: t("soil organic carbon"),
    climate_zones: t("climate zones"),
    population_total: t("population, total"),
    population_female: t("population, female"),
    population_male: t("population, male"),
    precipitation: t("precipitation"),
    pet: t("potential evapotranspiration"),
    spi: t("SPI (precomputed)"),
    spei: t("SPEI (precomputed)"),
    other: t("other (not in the run file)"),
  };
  return labels[role] || String(role).replaceAll("_", " ");
}

function kindLabel(kind) {
  const labels = { raster: t("raster"), vector: t("vector"), table: t("table"), catalogue: t("catalogue dataset"),
    missing: t("missing"), unreadable: t("unreadable"), file: t("file") };
  return labels[kind] || kind;
}

function statusLabel(status) {
  const labels = { queued: t("queued"), running: t("running"), succeeded: t("succeeded"), failed: t("failed"),
    cancelled: t("cancelled"), interrupted: t("interrupted") };
  return labels[status] || status;
}

const roles = { list: [{ role: "aoi" }, { role: "zones" }, { role: "other" }] };

function roleSelect(value, id, label) {
  const select = el("select", { id, "aria-label": label, class: "role-select" },
    ...roles.list.map((r) => el("option", { value: r.role, text: roleLabel(r.role), title: r.description || "" })));
  select.value = value;
  return select;
}

// the upload box's role menu, from the registry (a new input of the pipeline becomes a role by itself); before
// sign-in (fetch false) the short list is only translated
async function fillRoles(fetch = true) {
  if (fetch && !roles.loaded) {
    try {
      roles.list = [...await api("GET", "/api/roles"), { role: "other", key: "" }];
      roles.loaded = true;
    } catch (error) { /* before sign-in: the short list until the next call */ }
  }
  const menu = $("upload-role");
  const chosen = menu.value || "aoi";
  menu.replaceChildren(...roles.list.map((r) => el("option", { value: r.role, text: roleLabel(r.role), title: r.description || "" })));
  menu.value = roles.list.some((r) => r.role === chosen) ? chosen : "aoi";
}

// put a file of the project under its role's key of the run file (a draft until complete), then show what is missing
async function assignRole(dataset, role) {
  if (role === "other") { toast(t("Choose the role the file plays in the run file.")); return; }
  const answer = await guarded(() => api("PUT", `/api/projects/${state.project.id}/datasets/${dataset.id}/role`, { role }));
  if (!answer) return;
  toast(t("{file} is now the {role} of the run file.", { file: dataset.original_name, role: roleLabel(role) }), true);
  await afterRunFileChange(answer.errors);
}

// the run file changed on the server: the form, the inputs, the map outlines and its problems are read again
async function afterRunFileChange(errors) {
  state.project = await api("GET", `/api/projects/${state.project.id}`);
  await Promise.all([loadDatasets(), loadInputs(), loadForm(), loadBoundaries()]);
  if (errors === undefined) {
    const checked = await guarded(() => api("GET", `/api/projects/${state.project.id}/assessment/problems`));
    errors = checked ? checked.errors : [];
  }
  $("options").open = true;
  if (errors.length) showProblems(errors);
  else { $("form-message").textContent = t("The run file is complete and valid."); $("form-message").className = "message ok"; $("form-errors").replaceChildren(); }
}

// ---------------------------------------------------------------------------------------------------- wizard
// The area of interest is a country (Natural Earth 1:10m, from the world-atlas file the map already uses) or a
// vector file of the project; admin units are optional; the inputs are the project's files with an input role,
// and catalogue datasets typed as "name=dataset id".
function fillWizard() {
  const datasets = state.datasets || [];
  const vectors = datasets.filter((d) => d.kind === "vector");
  const aoi = $("wizard-aoi"), zones = $("wizard-zones");
  const keepAoi = aoi.value, keepZones = zones.value;
  aoi.replaceChildren(el("option", { value: "", text: t("(the country above)") }),
    ...vectors.map((d) => el("option", { value: d.path, text: d.original_name })));
  zones.replaceChildren(el("option", { value: "", text: t("(none)") }),
    ...vectors.map((d) => el("option", { value: d.path, text: d.original_name })));
  const byRole = (role) => vectors.find((d) => d.role === role);
  aoi.value = [...aoi.options].some((o) => o.value === keepAoi) && keepAoi ? keepAoi : (byRole("aoi") ? byRole("aoi").path : "");
  zones.value = [...zones.options].some((o) => o.value === keepZones) && keepZones ? keepZones : (byRole("zones") ? byRole("zones").path : "");
  $("wizard-country").disabled = aoi.value !== "";
  const inputs = datasets.filter((d) => !["aoi", "zones", "other"].includes(d.role));
  $("wizard-inputs").replaceChildren(...(inputs.length ? inputs.map((d) => el("li", { "data-role": d.role },
    el("label", {}, el("input", { type: "checkbox", class: "wizard-input", value: d.path, "data-role": d.role, checked: true }),
      " " + roleLabel(d.role) + ": " + d.original_name))) : [el("li", { class: "hint", text: t("Upload files with their role above, or name catalogue datasets below.") })]));
}

async function loadCountryNames() {
  if (loadCountryNames.done || !$("wizard").open) return;
  loadCountryNames.done = true;
  const response = await fetch("/vendor/world-atlas/countries-10m.json");
  if (!response.ok) return;
  const atlas = await response.json();
  const names = atlas.objects.countries.geometries.map((g) => g.properties.name).filter(Boolean).sort();
  $("country-names").replaceChildren(...names.map((n) => el("option", { value: n })));
}

async function runWizard() {
  if (!state.project) { toast(t("Choose a project first.")); return; }
  const body = { inputs: {} };
  const aoi = $("wizard-aoi").value;
  const country = $("wizard-country").value.trim();
  if (aoi) body.aoi = aoi; else if (country) body.country = country;
  else { toast(t("Give the area of interest: a country or a file of the project.")); return; }
  if ($("wizard-zones").value) body.zones = $("wizard-zones").value;
  for (const box of document.querySelectorAll(".wizard-input")) if (box.checked) body.inputs[box.dataset.role] = box.value;
  for (const part of $("wizard-catalogue").value.split(",").map((x) => x.trim()).filter(Boolean)) {
    const [name, id] = part.split("=").map((x) => x.trim());
    if (!name || !id) { toast(t("Write catalogue datasets as name=dataset id, e.g. land_cover=esa_cci_lc.")); return; }
    body.inputs[name] = "dataset:" + id;
  }
  if (state.project.assessment && !confirm(t("Replace the project's run file?"))) return;
  const button = $("wizard-btn");
  button.disabled = true;
  try {
    const answer = await api("POST", `/api/projects/${state.project.id}/wizard`, body);
    toast(t("Run file written with the periods of the current reporting cycle."), true);
    await afterRunFileChange(answer.errors);
    document.body.dataset.wizard = "done";
  } catch (error) { toast(error.message); } finally { button.disabled = false; }
}

// ---------------------------------------------------------------------------------------------------- language
// The language changed (i18n.js already translated the page's fixed texts): draw again what app.js drew.
async function relabel() {
  await fillRoles(roles.loaded);
  showRun(state.run || null);
  if (state.project) {
    const problems = state.problems;
    await guarded(() => selectProject(state.project.id));
    if (problems && problems.length) showProblems(problems);
  } else {
    await guarded(() => loadProjects());
  }
  if (map && map.attributionControl) map.invalidateSize();
  document.body.dataset.lang = I18N.lang;
}
