"""XLSX / CSV / JSON exports and the JSON Schema of the run document."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import jsonschema
import pytest
from reporting_factory import BASELINE, REPORTING

from openldn.reporting.export import load_schema, report_document, write_csv, write_json, write_xlsx
from openldn.reporting.prais import build_report

REPO = Path(__file__).resolve().parents[2]
PROV = {
    "openldn_version": "0.1.0",
    "preset": {"id": "prais_2026_te", "hash": "ab" * 32},
    "parameters": {"baseline": BASELINE},
    "inputs": [{"role": "ndvi", "path": "ndvi.tif", "sha256": "0" * 64, "size": 10, "dataset": None}],
}


@pytest.fixture
def report(tidy_tables):
    return build_report(tidy_tables, baseline=BASELINE, reporting=REPORTING, substitutions=["lc 2022 for 2023"])


def test_schema_copies_identical() -> None:
    repo = json.loads((REPO / "schemas" / "openldn-run.schema.json").read_text())
    assert repo == load_schema()
    jsonschema.Draft202012Validator.check_schema(repo)


def test_json_document_validates(report, tmp_path: Path) -> None:
    doc = report_document(report, name="Demo", provenance=PROV, outputs=[{"key": "sdg/2000-2015", "path": "x.tif"}])
    path = write_json(doc, tmp_path / "run.json")
    back = json.loads(path.read_text())
    jsonschema.validate(back, load_schema(), format_checker=jsonschema.FormatChecker())
    assert {t["code"] for t in back["tables"]} >= {"SO1-4.T2", "SO2-3.T1", "CP-1.T1"}
    assert back["provenance"]["inputs"][0]["sha256"] == "0" * 64
    bad = dict(back, tables=[{**back["tables"][0], "code": "XX"}])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, load_schema())
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary files left


def test_csv(report, tmp_path: Path) -> None:
    files = write_csv(report, tmp_path)
    assert {f.name for f in files} >= {"SO1-4_T2.csv", "CP-1_T1.csv"}
    with (tmp_path / "SO1-4_T2.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {r["zone_id"] for r in rows} == {"ALL", "Z1", "Z2"}
    first = next(r for r in rows if r["zone_id"] == "ALL")
    assert float(first["Total degraded area (km²)"]) == pytest.approx(220.0)


def test_xlsx_has_a_sheet_per_table_and_no_formulas(report, tmp_path: Path) -> None:
    path = write_xlsx(report, tmp_path / "prais.xlsx", name="Demo", provenance=PROV)
    with zipfile.ZipFile(path) as z:
        wb = z.read("xl/workbook.xml").decode()
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == 2 + len(report.codes())  # About, Consistency and one per table code
        for code in report.codes():
            assert f'name="{code}"' in wb
        for n in sheets:
            xml = z.read(n).decode()
            assert "<f>" not in xml and "#REF!" not in xml
