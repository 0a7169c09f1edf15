"""A stand-in for ``openldn.pipeline.run_assessment`` used by the web tests.

It writes small real outputs (COGs with legends, tidy tables, report files and ``outputs.json``) in the layout of
the pipeline contract, reports progress, honours ``cancel`` and resumes from per-step checkpoints. The delay per
step is read from ``OPENLDN_FAKE_DELAY`` (seconds) so tests can cancel or interrupt a run midway.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
from rasterio.transform import from_origin

#: Geographic frame of the fixture rasters: 40 x 40 cells of 0.025 degree from (10 E, 6 N).
WEST, NORTH, RES, SIZE = 10.0, 6.0, 0.025, 40
NODATA = -32768

LPD_LEGEND = {
    "1": ["Declining", "#f23c46"],
    "2": ["Moderate decline", "#ffae4c"],
    "3": ["Stressed", "#ffe4a2"],
    "4": ["Stable", "#9bd38d"],
    "5": ["Increasing", "#1a9850"],
}
SDG_LEGEND = {"-1": ["Degraded", "#9b2779"], "0": ["Stable", "#ffffe0"], "1": ["Improved", "#006500"]}
STEPS = ["land_cover", "productivity", "soil_carbon", "integration", "drought", "reporting"]


def lpd_array() -> np.ndarray:
    """LPD classes: column bands 1..5 left to right, with a nodata square in the top-left corner."""
    arr = (np.arange(SIZE)[None, :] * 5 // SIZE + 1).repeat(SIZE, axis=0).astype("int16")
    arr[:4, :4] = NODATA
    return arr


def sdg_array() -> np.ndarray:
    """1OAO status: degraded in the top half, stable below, improved in the last 5 rows."""
    arr = np.zeros((SIZE, SIZE), dtype="int16")
    arr[: SIZE // 2] = -1
    arr[-5:] = 1
    return arr


def _write(path: Path, data: np.ndarray, *, nodata: float, names: list[str] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = data if data.ndim == 3 else data[None]
    profile = {
        "driver": "COG",
        "width": SIZE,
        "height": SIZE,
        "count": data.shape[0],
        "dtype": str(data.dtype),
        "crs": "EPSG:4326",
        "transform": from_origin(WEST, NORTH, RES, RES),
        "nodata": nodata,
        "blocksize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for i, name in enumerate(names or [], start=1):
            dst.set_band_description(i, name)


def write_outputs(out_dir: Path) -> None:
    """Write every output of the fake run in ``out_dir``.

    ``OPENLDN_FAKE_NAME`` (when set) replaces the admin unit's name, a land cover class label and a legend label,
    so that tests can check how user-supplied text is shown.
    """
    out_dir = Path(out_dir)
    name = os.environ.get("OPENLDN_FAKE_NAME")
    lpd_legend = {**LPD_LEGEND, "1": [name, LPD_LEGEND["1"][1]]} if name else LPD_LEGEND
    _write(out_dir / "maps" / "lpd_2000-2015.tif", lpd_array(), nodata=NODATA)
    _write(out_dir / "maps" / "sdg_2000-2015.tif", sdg_array(), nodata=NODATA)
    soc = np.stack([np.full((SIZE, SIZE), 40.0, "float32"), np.linspace(20, 60, SIZE * SIZE, dtype="float32").reshape(SIZE, SIZE)])
    soc[:, 0, 0] = np.nan
    _write(out_dir / "maps" / "soc.tif", soc, nodata=float("nan"), names=["2015", "2023"])
    tables = out_dir / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    rows = []
    for zid, zname in (("ALL", "Whole area"), ("A1", name or "North")):
        for lpd in range(1, 6):
            for lc, lab in ((1, "Tree-covered"), (3, name or "Cropland")):
                rows.append(
                    {"zone_id": zid, "zone_name": zname, "period": "2000-2015", "variable": "lpd_by_lc",
                     "class_code_a": lpd, "class_label_a": lpd_legend[str(lpd)][0], "class_code_b": lc,
                     "class_label_b": lab, "area_km2": float(lpd * lc), "share": 0.05}
                )
    pd.DataFrame(rows).to_csv(tables / "lpd_by_lc.csv", index=False)
    rows = [
        {"zone_id": "ALL", "zone_name": "Whole area", "period": str(year), "variable": "drought_class",
         "class_code": c, "class_label": f"class {c}", "area_km2": float(year - 2000 + c), "share": 0.2}
        for year in (2016, 2017) for c in range(5)
    ]
    pd.DataFrame(rows).to_csv(tables / "drought_area.csv", index=False)
    report = out_dir / "report"
    report.mkdir(parents=True, exist_ok=True)
    (report / "report.html").write_text("<html><body><h1>Fake report</h1></body></html>", encoding="utf-8")
    (report / "prais.json").write_text(json.dumps({"SO1-2.T1": []}), encoding="utf-8")
    (report / "prais.xlsx").write_bytes(b"PK\x03\x04fake-workbook")
    manifest = [
        {"key": "lpd/2000-2015", "path": "maps/lpd_2000-2015.tif", "title": "Land productivity dynamics 2000-2015",
         "legend": lpd_legend, "kind": "categorical"},
        {"key": "sdg/2000-2015", "path": "maps/sdg_2000-2015.tif", "title": "SDG 15.3.1 baseline",
         "legend": SDG_LEGEND, "kind": "categorical"},
        {"key": "soc", "path": "maps/soc.tif", "title": "Soil organic carbon (t/ha)", "legend": {},
         "kind": "continuous", "ramp": {"id": "carbon_stock", "kind": "sequential", "name": "Low to high stock",
                                        "vmin": 20.0, "vmax": 60.0, "stops": [[20.0, "#FFF7BC"], [60.0, "#8C2D04"]]}},
        {"key": "report", "path": "report/report.html", "title": "HTML report", "legend": {}, "kind": "report"},
        {"key": "escape", "path": "../../../etc/passwd", "title": "bad", "legend": {}, "kind": "map"},
    ]
    (out_dir / "outputs.json").write_text(json.dumps(manifest), encoding="utf-8")


#: Map layers each stage publishes in the staging area as soon as it finishes (keys of the manifest).
STAGE_LAYERS = {"productivity": ["lpd/2000-2015"], "integration": ["sdg/2000-2015"], "soil_carbon": ["soc"]}
#: Tables each stage writes in the staging area as soon as it finishes (``tables/<key>.csv``).
STAGE_TABLES = {"productivity": ["lpd_by_lc"], "drought": ["drought_area"]}


def plan_stages(assessment) -> list[str]:
    """The stages this pipeline runs, in order (read by the web worker for its whole-run progress bar)."""
    return list(STEPS)


def _manifest_entries(out_dir: Path) -> list[dict]:
    return json.loads((out_dir / "outputs.json").read_text(encoding="utf-8"))


def run_assessment(assessment, out_dir, *, progress=None, cancel=None, resume=True):
    """Fake pipeline in the layout of the real one: each stage's maps appear in ``.openldn/staging`` with the
    stage recorded in ``.openldn/state.json``; at the end the result is published whole with ``manifest.json``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    from openldn.i18n import current_language

    (out_dir / "language.txt").write_text(current_language())  # the language the worker runs in
    delay = float(os.environ.get("OPENLDN_FAKE_DELAY", "0"))
    internal = out_dir / ".openldn"
    staging = internal / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    state_path = internal / "state.json"
    state = json.loads(state_path.read_text()) if resume and state_path.is_file() else {"stages": {}, "finished": False}
    executed = out_dir / "executed_steps.txt"
    scratch = internal / "scratch"
    write_outputs(scratch)  # every output, from which each stage copies its own into the staging area
    records = {e["key"]: e for e in _manifest_entries(scratch)}
    for i, step in enumerate(STEPS):
        if cancel is not None and cancel():
            raise RuntimeError("cancelled")
        if state["stages"].get(step, {}).get("done"):
            if progress is not None:
                progress(step, 1, 1, "resumed from checkpoint")
            continue
        if progress is not None:
            progress(step, 0, 1, f"stage {i + 1}/{len(STEPS)}")
        if step == "reporting" and Path(assessment).read_text().strip() == "fail: true":
            raise ValueError("fake failure in reporting")
        if step == "reporting" and Path(assessment).read_text().strip() == "fail: path":
            raise FileNotFoundError(f"{Path(assessment).resolve().parent}/inputs/ndvi.tif: not found in /srv/site/cache")
        time.sleep(delay)
        outputs = []
        for key in STAGE_LAYERS.get(step, []):
            record = records[key]
            (staging / record["path"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(scratch / record["path"], staging / record["path"])
            outputs.append({**record, "stage": step})
        for key in STAGE_TABLES.get(step, []):
            (staging / "tables").mkdir(parents=True, exist_ok=True)
            shutil.copy(scratch / "tables" / f"{key}.csv", staging / "tables" / f"{key}.csv")
        state["stages"][step] = {"done": True, "layers": [], "tables": STAGE_TABLES.get(step, []), "outputs": outputs}
        state_path.write_text(json.dumps(state), encoding="utf-8")
        with open(executed, "a") as fh:
            fh.write(step + "\n")
        if progress is not None:
            progress(step, 1, 1, f"done in {delay:.1f} s")
    write_outputs(staging)
    published = []
    for entry in sorted(staging.iterdir()):
        target = out_dir / entry.name
        if target.is_dir():
            shutil.rmtree(target)
        shutil.move(str(entry), str(target))
    for path in sorted(out_dir.rglob("*")):
        rel = path.relative_to(out_dir)
        if path.is_file() and rel.parts[0] in ("maps", "tables", "report", "outputs.json"):
            published.append({"path": rel.as_posix(), "size": path.stat().st_size,
                              "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
    (out_dir / "manifest.json").write_text(json.dumps({"files": published}), encoding="utf-8")
    state["finished"] = True
    state["timings"] = {s: max(delay, 0.01) for s in STEPS}
    state_path.write_text(json.dumps(state), encoding="utf-8")
    if progress is not None:
        progress("done", len(STEPS), len(STEPS), "finished")
    return out_dir
