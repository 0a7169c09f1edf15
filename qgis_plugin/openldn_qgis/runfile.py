"""Write an openldn run file (YAML) from the layers and options picked in QGIS.

No QGIS import and no YAML library: the run file is a small fixed structure written by hand (every string
double-quoted, which YAML reads as written). The keys are those of the run-file reference (docs/run-file.md).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

__all__ = ["INPUTS", "LEGENDS", "PRESETS", "build", "dump", "parse_periods", "parse_years", "relative"]

#: Run-file input names, in the order of the run-file reference, with a short description for the dialog.
INPUTS = (
    ("land_cover", "Land cover (one band or file per year)"),
    ("ndvi", "Vegetation index, annual (NDVI)"),
    ("lpd", "Existing land productivity dynamics map (instead of computing it)"),
    ("soil_units", "Soil or land units for productivity performance"),
    ("soc", "Soil organic carbon stock 0-30 cm (t C/ha)"),
    ("climate_zones", "IPCC climate zones"),
    ("population_total", "Population, total (people per cell)"),
    ("population_female", "Population, female"),
    ("population_male", "Population, male"),
    ("precipitation", "Monthly precipitation (mm)"),
    ("pet", "Monthly potential evapotranspiration (mm)"),
)

#: Method presets shipped with openldn.
PRESETS = ("prais_2026_te", "gpg_v2_2021", "gpg_v1_2017")

#: Land cover legends shipped with openldn.
LEGENDS = ("esa_cci", "cgls_lc100", "unccd")

_PERIOD = re.compile(r"^\d{4}-\d{4}$")


def parse_periods(text: str) -> list[str]:
    """``'2016-2019, 2016-2023'`` -> ``['2016-2019', '2016-2023']`` (openldn checks the periods themselves)."""
    periods = [p.strip() for p in re.split(r"[,;\s]+", text or "") if p.strip()]
    for p in periods:
        if not _PERIOD.match(p):
            raise ValueError(f"{p!r} is not a period: write periods as YYYY-YYYY separated by commas.")
    return periods


def parse_years(text: str) -> dict[str, str | list[int]]:
    """``'ndvi=2000-2023; land_cover=2000,2015'`` -> ``{'ndvi': '2000-2023', 'land_cover': [2000, 2015]}``."""
    names = {n for n, _ in INPUTS}
    out: dict[str, str | list[int]] = {}
    for part in re.split(r"[;\n]+", text or ""):
        if not part.strip():
            continue
        if "=" not in part:
            raise ValueError(f"{part.strip()!r}: write input years as name=YYYY-YYYY or name=YYYY,YYYY,... "
                             "separated by semicolons.")
        name, value = (s.strip() for s in part.split("=", 1))
        if name not in names:
            raise ValueError(f"{name!r} is not an input name; known: {', '.join(sorted(names))}.")
        if _PERIOD.match(value):
            out[name] = value
        else:
            try:
                out[name] = [int(y) for y in re.split(r"[,\s]+", value) if y]
            except ValueError:
                raise ValueError(f"{name}={value!r}: years are YYYY-YYYY or a comma-separated list.") from None
    return out


def relative(path: str, base_dir: str) -> str:
    """``path`` relative to the run file's folder when it is below or beside it, else absolute (forward slashes)."""
    path = os.path.abspath(path)
    try:
        rel = os.path.relpath(path, os.path.abspath(base_dir))
    except ValueError:  # another drive (Windows)
        return path.replace("\\", "/")
    if rel.startswith(".." + os.sep + ".." + os.sep):
        return path.replace("\\", "/")
    return rel.replace("\\", "/")


def build(
    *, name: str, preset: str, baseline: str, reporting: list[str], aoi: str,
    inputs: dict[str, dict[str, Any]], zones: dict[str, Any] | None = None, dvi_factors: str | None = None,
) -> dict[str, Any]:
    """The run file as a dictionary, in the key order of the reference; paths as given."""
    if not inputs:
        raise ValueError("Pick at least one input raster (land cover, vegetation index, SOC, population, "
                         "precipitation...).")
    data: dict[str, Any] = {"name": name, "preset": preset, "baseline": baseline, "reporting": list(reporting),
                            "aoi": aoi}
    if zones:
        data["zones"] = {k: v for k, v in zones.items() if v not in (None, "")}
    ordered = [n for n, _ in INPUTS if n in inputs]
    data["grid"] = {"reference": "land_cover" if "land_cover" in inputs else ordered[0]}
    data["inputs"] = {n: {k: v for k, v in inputs[n].items() if v not in (None, "")} for n in ordered}
    if dvi_factors:
        data["drought"] = {"dvi_factors": dvi_factors}
    return data


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if value is None:
        return "null"
    return json.dumps(str(value), ensure_ascii=False)


def dump(data: dict[str, Any], indent: int = 0) -> str:
    """YAML text of a mapping of mappings, lists of scalars and scalars."""
    lines: list[str] = []
    pad = "  " * indent
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"{pad}{key}:")
            lines.append(dump(value, indent + 1).rstrip("\n"))
        elif isinstance(value, (list, tuple)):
            lines.append(f"{pad}{key}: [{', '.join(_scalar(v) for v in value)}]")
        else:
            lines.append(f"{pad}{key}: {_scalar(value)}")
    return "\n".join(lines) + "\n"
