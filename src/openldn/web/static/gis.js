// openldn web platform: the offline basemap drawn from vector tiles, and the partial results of a run in progress.
//
// Basemap: the server cuts Natural Earth (land, lakes, country and first-level boundaries) per web-mercator tile,
// projects it to the tile's pixels and simplifies it to half a pixel at the scale that suits the zoom
// (GET /api/basemap/tiles/{z}/{x}/{y}.json); each tile is drawn here on its own canvas, so a view draws only its
// tiles and a pan only the new ones. Land and lakes lie under the result layers ("land" pane), boundaries over
// them ("outlines" pane).
//
// Partial results: while a run goes on, the tables and maps of its finished stages are read from its staging
// area (marked "staged" by the server); the Layers and Tables panels show them with an "in progress" badge and
// refresh each time a stage finishes. Loaded after i18n.js and Leaflet, before app.js.
"use strict";

const gis = (() => {
  const LAND = "#f3f1ea";
  const WATER = "#b9d3e6";
  const COUNTRY = "#55626b";
  const ADMIN1 = "#7f8b93";
  const pending = new Set(); // canvases whose tile is being fetched
  let waiters = [];

  function settle() {
    if (pending.size) return;
    const ready = waiters;
    waiters = [];
    for (const resolve of ready) resolve();
  }

  // a promise resolved when every basemap tile asked for so far is drawn (tests and timings)
  function whenDrawn() {
    return pending.size ? new Promise((resolve) => waiters.push(resolve)) : Promise.resolve();
  }

  function rings(path, list) {
    for (const ring of list) {
      if (ring.length < 4) continue;
      path.moveTo(ring[0], ring[1]);
      for (let i = 2; i < ring.length; i += 2) path.lineTo(ring[i], ring[i + 1]);
    }
  }

  function drawFill(ctx, data, canvas) {
    const land = new Path2D();
    for (const polygon of data.land) { rings(land, polygon); land.closePath(); }
    ctx.fillStyle = LAND;
    ctx.fill(land, "evenodd");
    if (data.lakes.length) {
      const lakes = new Path2D();
      for (const polygon of data.lakes) { rings(lakes, polygon); lakes.closePath(); }
      ctx.fillStyle = WATER;
      ctx.fill(lakes, "evenodd");
    }
    canvas.dataset.land = String(data.land.length);
    canvas.dataset.lakes = String(data.lakes.length);
  }

  function drawLines(ctx, data, canvas) {
    ctx.lineJoin = "round";
    ctx.lineCap = "round";
    if (data.admin1.length) {
      const admin1 = new Path2D();
      rings(admin1, data.admin1);
      ctx.strokeStyle = ADMIN1;
      ctx.lineWidth = 0.9;
      ctx.setLineDash([4, 3]);
      ctx.stroke(admin1);
      ctx.setLineDash([]);
    }
    const countries = new Path2D();
    rings(countries, data.countries);
    ctx.strokeStyle = COUNTRY;
    ctx.lineWidth = 1.3;
    ctx.stroke(countries);
    canvas.dataset.countries = String(data.countries.length);
    canvas.dataset.admin1 = String(data.admin1.length);
  }

  const VectorTiles = L.GridLayer.extend({
    createTile(coords, done) {
      const canvas = document.createElement("canvas");
      const size = this.getTileSize();
      const ratio = window.devicePixelRatio || 1;
      canvas.width = size.x * ratio;
      canvas.height = size.y * ratio;
      canvas.className = `basemap-${this.options.kind}`;
      pending.add(canvas);
      const url = `/api/basemap/tiles/${coords.z}/${coords.x}/${coords.y}.json?kind=${this.options.kind}`;
      fetch(url, { credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : Promise.reject(new Error(`${response.status}`))))
        .then((data) => {
          const ctx = canvas.getContext("2d");
          ctx.scale((size.x * ratio) / 256, (size.y * ratio) / 256);
          this.options.draw(ctx, data, canvas);
          canvas.dataset.scale = data.scale;
          done(null, canvas);
        })
        .catch((error) => done(error, canvas))
        .finally(() => { pending.delete(canvas); settle(); });
      return canvas;
    },
  });

  let basemap = null;

  // the offline basemap on the map (once); info: GET /api/basemap
  function startBasemap(map, info) {
    if (basemap) return basemap;
    const common = { updateWhenZooming: false, keepBuffer: 1, maxZoom: 24 };
    basemap = {
      fill: new VectorTiles({ ...common, pane: "land", kind: "fill", draw: drawFill, className: "basemap-fill-layer" }),
      lines: new VectorTiles({ ...common, pane: "outlines", kind: "lines", draw: drawLines, className: "basemap-lines-layer" }),
      info,
    };
    basemap.fill.addTo(map);
    basemap.lines.addTo(map);
    document.body.dataset.basemap = "offline";
    document.body.dataset.admin1 = info && info.admin1 ? "1" : "0";
    return basemap;
  }

  // ------------------------------------------------------------------------------------------ partial results
  function badge(box, text) {
    const head = box && box.querySelector("h2");
    if (!head) return;
    let node = head.querySelector(".live-badge");
    if (!text) { if (node) node.remove(); return; }
    if (!node) { node = document.createElement("span"); node.className = "live-badge"; head.append(node); }
    node.textContent = text;
  }

  // the badges of the Layers and Tables panels: "in progress" while the run goes on, "partial" for a stopped run
  // whose finished stages are shown, nothing otherwise
  function markLive(run) {
    const active = !!run && (run.status === "queued" || run.status === "running");
    const staged = (state.layers || []).some((l) => l.staged) || (state.tables || []).some((tb) => tb.staged);
    let text = "";
    let title = "";
    if (active) {
      text = t("in progress");
      title = t("Partial results: the maps and tables of the stages finished so far. The run is still going; its results are published together when it ends.");
    } else if (run && run.status !== "succeeded" && staged) {
      text = t("partial");
      title = t("Maps and tables of the stages this run finished before it stopped. Resume the run to finish and publish them.");
    }
    for (const id of ["layers-box", "tables-box"]) {
      badge(document.getElementById(id), text);
      const node = document.querySelector(`#${id} .live-badge`);
      if (node) node.title = title;
    }
    document.body.dataset.live = active ? "running" : text ? "partial" : "";
  }

  let lastFinished = "";

  // whether a run event tells of a stage that just finished (its done count reached its total)
  function stageFinished(run) {
    if (!run || !run.stage || !run.total || run.done < run.total) return false;
    const key = `${run.id}/${run.stage}/${run.attempts}`;
    if (key === lastFinished) return false;
    lastFinished = key;
    return true;
  }

  // the tables of the finished stages of a run in progress (or stopped), into the Tables panel when they changed
  async function refreshTables(run) {
    const tables = await api("GET", `/api/runs/${run.id}/tables`).catch(() => null);
    if (!tables || !state.run || state.run.id !== run.id) return;
    const names = (list) => list.map((tb) => `${tb.name}:${tb.staged ? 1 : 0}`).join(",");
    if (names(tables) !== names(state.tables || [])) {
      const chosen = $("table-select").value;
      state.tables = tables;
      renderTableChoices();
      if (chosen && tables.some((tb) => tb.name === chosen) && $("table-select").value !== chosen) {
        $("table-select").value = chosen;
        tableChanged();
      }
    }
    document.body.dataset.stagedTables = String(tables.filter((tb) => tb.staged).length);
    markLive(state.run);
  }

  return { startBasemap, whenDrawn, markLive, stageFinished, refreshTables };
})();
window.gis = gis;
