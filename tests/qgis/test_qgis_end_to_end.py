"""End to end in QGIS: ``qgis_process run openldn:run_assessment`` gives the same workbook as ``openldn demo``;
the results load into a PyQGIS project with their styles and the headline figures; cancelling stops the run.

Slow (a demo run through the CLI, one through qgis_process): opt in with ``OPENLDN_RUN_SLOW=1``. Skipped without
QGIS (Debian's qgis and python3-qgis).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("OPENLDN_RUN_SLOW"), reason="slow end-to-end run; set OPENLDN_RUN_SLOW=1"),
]

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
      "p": "http://schemas.openxmlformats.org/package/2006/relationships"}
SIZE = "120"


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``openldn demo --size 120``: the reference run (its inputs are in ``inputs/``)."""
    out = tmp_path_factory.mktemp("qgis_demo") / "demo"
    proc = subprocess.run([sys.executable, "-m", "openldn", "-q", "demo", "--size", SIZE, "--out", str(out)],
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def read_xlsx(path: Path) -> dict[str, dict[str, Any]]:
    """Every cell of every sheet: ``{sheet: {'B7': value}}`` (numbers as float, strings as text)."""
    with zipfile.ZipFile(path) as zf:
        strings = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t"))
                   for si in ET.fromstring(zf.read("xl/sharedStrings.xml")).findall("m:si", NS)]
        rels = {r.get("Id"): r.get("Target") for r in
                ET.fromstring(zf.read("xl/_rels/workbook.xml.rels")).findall("p:Relationship", NS)}
        sheets = {}
        for sheet in ET.fromstring(zf.read("xl/workbook.xml")).find("m:sheets", NS):
            target = rels[sheet.get(f"{{{NS['r']}}}id")].lstrip("/")
            xml = ET.fromstring(zf.read(target if target.startswith("xl/") else f"xl/{target}"))
            cells: dict[str, Any] = {}
            for c in xml.iter(f"{{{NS['m']}}}c"):
                v = c.find("m:v", NS)
                kind = c.get("t")
                if kind == "inlineStr":
                    cells[c.get("r")] = "".join(t.text or "" for t in c.iter(f"{{{NS['m']}}}t"))
                elif v is None:
                    continue
                elif kind == "s":
                    cells[c.get("r")] = strings[int(v.text or 0)]
                elif kind in ("str", "b", "e"):
                    cells[c.get("r")] = v.text
                else:
                    cells[c.get("r")] = float(v.text or "nan")
            sheets[sheet.get("name")] = cells
    return sheets


def test_qgis_process_run_gives_the_demo_workbook(demo_out: Path, qgis_process: list[str], plugin_path: Path,
                                                  qgis_env: dict[str, str], openldn_exe: str, tmp_path: Path) -> None:
    env = dict(qgis_env, QGIS_PLUGINPATH=str(plugin_path), OPENLDN_EXECUTABLE=openldn_exe)
    enable = subprocess.run([*qgis_process, "plugins", "enable", "openldn_qgis"], env=env, capture_output=True,
                            text=True, timeout=600)
    assert enable.returncode == 0, enable.stdout + enable.stderr
    out = tmp_path / "via_qgis"
    proc = subprocess.run(
        [*qgis_process, "run", "openldn:run_assessment", "--",
         f"RUN_FILE={demo_out / 'inputs' / 'assessment.yaml'}", f"OUTPUT={out}", "LOAD=true"],
        env=env, capture_output=True, text=True, timeout=1800)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    # the progress of the run streamed into the Processing feedback: stages and percent
    assert re.search(r"land_cover: stage 1/\d", log), log[:3000]
    assert re.search(r"reporting: stage (\d+)/\1", log), log[-3000:]
    assert "WORKBOOK:" in log
    # loaded into qgis_process's project after the run (the path the QGIS window takes too)
    n_maps = len(json.loads((out / "outputs.json").read_text()))
    assert f"Loaded {n_maps} maps and the admin units into the group 'openldn: " in log

    mine, reference = read_xlsx(out / "report" / "prais_tables.xlsx"), read_xlsx(demo_out / "report" /
                                                                                   "prais_tables.xlsx")
    assert sorted(mine) == sorted(reference)
    tables = [s for s in reference if s != "About"]  # About: run date, paths
    assert len(tables) >= 15
    numbers = 0
    for sheet in tables:
        assert mine[sheet].keys() == reference[sheet].keys(), sheet
        for ref, value in reference[sheet].items():
            if isinstance(value, float):
                numbers += 1
                assert mine[sheet][ref] == pytest.approx(value, rel=1e-9, abs=1e-9), (sheet, ref)
            else:
                assert mine[sheet][ref] == value, (sheet, ref)
    assert numbers > 500
    assert any(v > 0 for v in reference["SO1-4.T2"].values() if isinstance(v, float))


def _qml(path: str) -> dict[str, Any]:
    """Renderer type and classes (or ramp) of a QML style file, read with ElementTree."""
    root = ET.parse(Path(path).with_suffix(".qml")).getroot()
    renderer = root.find(".//rasterrenderer")
    assert renderer is not None
    out: dict[str, Any] = {"renderer": renderer.get("type")}
    entries = renderer.findall(".//paletteEntry")
    if entries:
        out["classes"] = [[float(e.get("value")), e.get("color").lower(), e.get("label")] for e in entries]
    items = renderer.findall(".//colorrampshader/item")
    if items:
        out["ramp"] = [[float(i.get("value")), i.get("color").lower()] for i in items]
    return out


def _layers(node: dict[str, Any]) -> list[dict[str, Any]]:
    if "layer" in node:
        return [node]
    return [leaf for child in node["children"] for leaf in _layers(child)]


def test_results_load_with_styles_and_headline_figures(demo_out: Path, run_driver: Any) -> None:
    out = run_driver([{"alg": "openldn:load_results", "params": {"FOLDER": str(demo_out)}}], links=str(demo_out))
    call = out["calls"][0]
    assert "error" not in call, call
    assert call["results"]["WORKBOOK"] == str(demo_out / "report" / "prais_tables.xlsx")
    assert call["results"]["REPORT"] == str(demo_out / "report" / "report.html")
    assert len(out["tree"]) == 1
    group = out["tree"][0]
    assert group["group"] == "openldn: openldn demo (synthetic, Kenya) (demo)"

    manifest = json.loads((demo_out / "outputs.json").read_text())
    rasters = [leaf for leaf in _layers(group) if "renderer" in leaf]
    assert len(rasters) == len(manifest) > 50
    assert {Path(r["source"]).name for r in rasters} == {Path(m["path"]).name for m in manifest}
    for layer in rasters:
        assert layer["valid"], layer
        style = _qml(layer["source"])
        assert layer["renderer"] == style["renderer"], layer["layer"]
        if "classes" in style:
            assert [[float(v), c, lab] for v, c, lab in layer["classes"]] == style["classes"], layer["layer"]
        if "ramp" in style:
            assert [c for _, c in layer["ramp"]] == [c for _, c in style["ramp"]], layer["layer"]
            assert [float(v) for v, _ in layer["ramp"]] == pytest.approx([v for v, _ in style["ramp"]])
    assert {r["renderer"] for r in rasters} == {"paletted", "singlebandpseudocolor"}
    visible = [r["layer"] for r in rasters if r["visible"]]
    assert visible == [next(m["title"] for m in reversed(manifest) if m["key"].startswith("sdg/"))]

    # admin units with the workbook's headline figures (SO1-4.T2 as written in report/csv)
    zones = [leaf for leaf in _layers(group) if "fields" in leaf]
    assert len(zones) == 1 and zones[0]["valid"]
    features = {f["id"]: f for f in zones[0]["features"]}
    with (demo_out / "report" / "csv" / "SO1-4_T2.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["zone_id"] != "ALL"]
    assert {r["zone_id"] for r in rows} == set(features)
    for row in rows:
        period = "_".join(re.findall(r"(\d{4})-(\d{4})", row["Assessment"])[-1])
        feature = features[row["zone_id"]]
        assert feature["name"] == row["zone_name"]
        assert feature[f"sdg_{period}_km2"] == pytest.approx(float(row["Total degraded area (km²)"]), rel=1e-12)
        assert feature[f"sdg_{period}_pct"] == pytest.approx(float(row["% of total land area"]), rel=1e-12)
    assert (demo_out / "qgis" / "zones_headline.gpkg").is_file()

    # the message bar: links to the report, the workbook and the folder, opened by the desktop
    links = out["links"]
    assert links["shown"]
    (i,) = [i for i, text in enumerate(links["labels"]) if "href=" in text]
    assert links["open_external"][i]
    label = links["labels"][i]
    for target in (demo_out / "report" / "report.html", demo_out / "report" / "prais_tables.xlsx", demo_out):
        assert f'href="{target.as_uri()}"' in label


def test_cancel_stops_the_run(demo_out: Path, run_driver: Any, tmp_path: Path) -> None:
    out = tmp_path / "cancelled"
    res = run_driver([{"alg": "openldn:run_assessment", "cancel_on": "stage 2/",
                       "params": {"RUN_FILE": str(demo_out / "inputs" / "assessment.yaml"), "OUTPUT": str(out),
                                  "LOAD": False}}])
    call = res["calls"][0]
    assert call["canceled"]
    assert "Cancelled" in call.get("error", ""), call
    assert not (out / "outputs.json").exists()
    assert not (out / "report").exists()
    alive = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(out) in cmdline.read_bytes().decode(errors="replace"):
                alive.append(cmdline.parent.name)
        except OSError:
            continue
    assert not alive, f"openldn processes still running: {alive}"
