"""``openldn init``: start an assessment of one's own area, writing a commented run file.

The area of interest is a vector file, or a country picked by name or ISO 3166 code from the Natural Earth 1:10m
admin-0 boundaries (public domain) that the ``world-atlas`` npm package ships as TopoJSON (installed with the web
front-end, ``src/openldn/web/frontend``). Every input of the run file is either a local file given with
``--input name=path`` or a catalogue dataset (``--input name=dataset:<id>``, fetched by ``openldn fetch``); the
periods are those of the current reporting cycle (the run file's defaults).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from openldn.exceptions import ConfigError, InputFileError
from openldn.i18n import _

__all__ = ["country_boundary", "init_run_file", "world_atlas_path"]

#: The TopoJSON file of Natural Earth 1:10m countries inside the world-atlas npm package.
_ATLAS = Path("world-atlas") / "countries-10m.json"


def world_atlas_path() -> Path:
    """Path of world-atlas' ``countries-10m.json`` (``OPENLDN_WORLD_ATLAS`` or the web front-end's node_modules).

    Raises
    ------
    InputFileError
        The file is not installed.
    """
    env = os.environ.get("OPENLDN_WORLD_ATLAS")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[1] / "web" / "frontend" / "node_modules" / _ATLAS)
    for c in candidates:
        if c.is_file():
            return c
    raise InputFileError(_(
        "Country boundaries (Natural Earth, npm package world-atlas) are not installed; run `npm ci` in "
        "src/openldn/web/frontend, set OPENLDN_WORLD_ATLAS to countries-10m.json, or give the area with --aoi FILE."
    ))


def _decode_topojson(topo: dict[str, Any], obj: dict[str, Any]) -> Any:
    """Shapely geometry of one TopoJSON Polygon/MultiPolygon (quantized, delta-encoded arcs)."""
    import numpy as np
    import shapely

    tr = topo.get("transform")
    scale = np.asarray(tr["scale"], dtype="float64") if tr else np.ones(2)
    shift = np.asarray(tr["translate"], dtype="float64") if tr else np.zeros(2)

    def arc(i: int) -> Any:
        pts = np.asarray(topo["arcs"][i if i >= 0 else ~i], dtype="float64")
        if tr:
            pts = np.cumsum(pts, axis=0) * scale + shift
        return pts if i >= 0 else pts[::-1]

    def ring(ids: list[int]) -> Any:
        parts = [arc(i) for i in ids]
        return np.concatenate([parts[0]] + [p[1:] for p in parts[1:]])

    if obj["type"] == "Polygon":
        polys = [obj["arcs"]]
    elif obj["type"] == "MultiPolygon":
        polys = obj["arcs"]
    else:
        raise InputFileError(_("world-atlas: unexpected geometry type %(type)r.") % {"type": obj["type"]})
    geoms = [shapely.Polygon(ring(p[0]), [ring(h) for h in p[1:]]) for p in polys]
    return shapely.make_valid(shapely.MultiPolygon(geoms) if len(geoms) > 1 else geoms[0])


def _norm(text: str) -> str:
    import unicodedata

    t = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(t.replace(".", " ").replace("-", " ").replace(",", " ").split())


def country_boundary(country: str, *, atlas: Path | None = None) -> tuple[str, str, Any]:
    """The boundary of a country from Natural Earth 1:10m (world-atlas), by name or ISO 3166 code.

    Parameters
    ----------
    country : str
        Name (``"Dominican Republic"``, accents and case ignored), ISO 3166-1 alpha-3 (``"DOM"``), alpha-2 or
        numeric code.
    atlas : Path, optional
        ``countries-10m.json``; default :func:`world_atlas_path`.

    Returns
    -------
    (str, str, shapely geometry)
        ISO3 code (or the numeric id when the country has none), Natural Earth name, boundary in EPSG:4326.

    Raises
    ------
    ConfigError
        No country, or several, match.
    """
    import iso3166

    topo = json.loads((atlas or world_atlas_path()).read_text(encoding="utf-8"))
    geoms = topo["objects"]["countries"]["geometries"]
    want = _norm(country)
    code = iso3166.countries_by_alpha3.get(country.strip().upper()) or iso3166.countries_by_alpha2.get(
        country.strip().upper()) or iso3166.countries_by_numeric.get(country.strip().zfill(3))
    if code is None:
        code = next((c for c in iso3166.countries if want in (_norm(c.name), _norm(c.apolitical_name))), None)
    hits = [g for g in geoms if code is not None and str(g.get("id", "")).zfill(3) == code.numeric]
    if not hits:
        hits = [g for g in geoms if _norm(g["properties"].get("name", "")) == want]
    if not hits:
        near = sorted(g["properties"]["name"] for g in geoms if want[:4] and _norm(g["properties"]["name"]).startswith(want[:4]))
        if near:
            raise ConfigError(_("--country %(country)r: no such country in Natural Earth 1:10m; did you mean "
                                "%(names)s?") % {"country": country, "names": ", ".join(near[:5])})
        raise ConfigError(_("--country %(country)r: no such country in Natural Earth 1:10m; use the English name or "
                            "the ISO3 code.") % {"country": country})
    g = hits[0]
    iso3 = code.alpha3 if code is not None else str(g.get("id", ""))
    label = code.name if code is not None else str(g["properties"]["name"])
    return iso3, label, _decode_topojson(topo, g)


def _rel(p: Path, base: Path) -> str:
    """A path as the run file writes it: relative to the run file's folder when inside it, else absolute."""
    full = Path(p).expanduser().resolve()
    try:
        return json.dumps(full.relative_to(base.resolve()).as_posix())
    except ValueError:
        return json.dumps(str(full))


def _input_lines(inputs: dict[str, str], base: Path, legend: str | None) -> list[str]:
    from openldn.registry import input_decls

    decls = input_decls()
    lines: list[str] = []
    for name, value in inputs.items():
        if name not in decls:
            raise ConfigError(_("--input %(name)s=...: unknown input; use one of %(names)s.")
                              % {"name": name, "names": ", ".join(sorted(decls))})
        d = decls[name]
        lines.append(f"  # {d.description}")
        lines.append(f"  {name}:")
        if value.startswith("dataset:"):
            lines.append(f"    dataset: {value.split(':', 1)[1]}   # catalogue dataset; run `openldn fetch` first")
        else:
            lines.append(f"    path: {_rel(Path(value), base)}")
            if name == "ndvi":
                lines.append("    # scale: 0.0001        # when NDVI is stored as integers x 10000 without scale metadata")
                lines.append("    # composite: mean      # sub-annual composites: mean, max, integral, season_months,"
                             " season_threshold")
            if name == "land_cover":
                lines.append(f"    legend: {legend or 'esa_cci'}   # legend of the codes: a legend id or your legend file")
    return lines


def init_run_file(
    run_file: Path,
    *,
    aoi: Path | None = None,
    country: str | None = None,
    zones: Path | None = None,
    id_field: str = "id",
    name_field: str = "name",
    inputs: dict[str, str] | None = None,
    name: str | None = None,
    legend: str | None = None,
    force: bool = False,
) -> Path:
    """Write a commented run file (and, for ``country``, the AOI GeoPackage beside it).

    Parameters
    ----------
    run_file : Path
        YAML file to write.
    aoi : Path, optional
        Area of interest (vector file); exclusive with ``country``.
    country : str, optional
        Country name or ISO 3166 code; its Natural Earth boundary is written to ``aoi_<ISO3>.gpkg``.
    zones : Path, optional
        Admin units (vector file) with ``id_field`` and ``name_field``.
    inputs : dict, optional
        Input name -> local path, or ``dataset:<catalogue id>``.
    name : str, optional
        Assessment name (default: the country's name or the AOI file's stem).
    legend : str, optional
        Legend of a local land-cover file (legend id or file; default esa_cci).
    force : bool
        Overwrite an existing run file.

    Returns
    -------
    Path
        The run file.
    """
    from openldn.config import AssessmentBase

    run_file = Path(run_file)
    if run_file.exists() and not force:
        raise ConfigError(_("%(file)s: exists already; pick another name or add --force to overwrite it.")
                          % {"file": run_file})
    if (aoi is None) == (country is None):
        raise ConfigError(_("openldn init: give the area of interest with exactly one of --aoi FILE or --country "
                            "NAME."))
    base = run_file.parent if str(run_file.parent) else Path(".")
    base.mkdir(parents=True, exist_ok=True)
    header = ["# openldn run file written by `openldn init`; every key is described in docs/run-file.md."]
    if country is not None:
        import geopandas as gpd

        iso3, ne_name, geom = country_boundary(country)
        aoi = base / f"aoi_{iso3}.gpkg"
        import logging

        quiet = logging.getLogger("pyogrio")
        level = quiet.level
        quiet.setLevel(logging.WARNING)  # no "Created 1 records" on the console
        try:
            gpd.GeoDataFrame({"id": [iso3], "name": [ne_name]}, geometry=[geom], crs="EPSG:4326").to_file(aoi)
        finally:
            quiet.setLevel(level)
        header.append(f"# Area of interest: {ne_name} ({iso3}), Natural Earth 1:10m admin-0 boundary (public domain,")
        header.append("# naturalearthdata.com). Replace it with the official national boundary when you have it.")
        name = name or ne_name
    else:
        from openldn.io import read_vector

        assert aoi is not None
        read_vector(aoi)  # a clear error now rather than at the first run
    assert aoi is not None
    if zones is not None:
        from openldn.io import read_vector

        read_vector(zones, id_field=id_field, name_field=name_field)
    fields = AssessmentBase.model_fields
    baseline = fields["baseline"].default
    reporting = fields["reporting"].get_default(call_default_factory=True)

    def rel(p: Path) -> str:
        return _rel(p, base)

    lines = [
        *header,
        "",
        f"name: {json.dumps(name or Path(aoi).stem)}",
        "preset: prais_2026_te          # method preset (PRAIS 2026 reporting with the Trends.Earth defaults)",
        "",
        "# Periods of the current reporting cycle (UNCCD PRAIS 2026): baseline, then reporting periods from 2016.",
        f"baseline: {json.dumps(baseline)}",
        "reporting: [" + ", ".join(json.dumps(r) for r in reporting) + "]",
        "",
        f"aoi: {rel(aoi)}",
    ]
    if zones is not None:
        lines += ["", "# Admin units: one table row per unit.", "zones:", f"  path: {rel(zones)}",
                  f"  id_field: {json.dumps(id_field)}", f"  name_field: {json.dumps(name_field)}"]
    else:
        lines += ["# zones:                       # admin units for per-unit tables",
                  "#   path: admin_units.gpkg", "#   id_field: id", "#   name_field: name"]
    given = dict(inputs or {})
    if not given:
        raise ConfigError(_("openldn init: give at least one input, e.g. --input land_cover=landcover.tif or "
                            "--input land_cover=dataset:esa_cci_lc (see `openldn catalog`)."))
    if "land_cover" not in given:
        lines += ["", "grid:", f"  reference: {next(iter(given))}   # input whose grid is the analysis grid"]
    lines += ["", "# Inputs: a local file (path:) or a catalogue dataset (dataset:, then `openldn fetch`).", "inputs:"]
    lines += _input_lines(given, base, legend)
    run_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return run_file
