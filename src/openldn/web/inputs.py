"""The Data panel: a project's inputs with their grids, years and provenance.

Read from the project's run file (``inputs``, ``aoi``, ``zones`` and any other file it names) and from the files
themselves (rasterio for rasters, pyogrio for vector layers); the other data files of the run file's folder are
listed too. Provenance is what the run file declares (catalogue ``dataset``, ``title``, ``source``, ``doi``,
``licence``, ``citation``) and, when the folder has a ``README.md`` with a ``| file | content |`` table (as the demo
data has), the file's line of that table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from openldn.web.security import inside

__all__ = ["assign_role", "project_inputs", "role_key", "run_file_errors", "unit_fields"]

_DATA_SUFFIXES = {".tif", ".tiff", ".nc", ".zarr", ".gpkg", ".geojson", ".json", ".shp", ".csv", ".vrt"}
_PROVENANCE_KEYS = ("dataset", "title", "source", "doi", "licence", "citation", "legend", "scale", "nodata")
_YEAR = re.compile(r"^(\d{4})(?:[-_]?\d{2,3}(?:[-_]?\d{2})?)?$")


def _readme_notes(folder: Path) -> dict[str, str]:
    """``file -> content`` from the table of the folder's README.md (file names may be joined with '+')."""
    path = folder / "README.md"
    notes: dict[str, str] = {}
    if not path.is_file():
        return notes
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or set(cells[0]) <= {"-", " ", ":"}:
            continue
        first = cells[0].replace("`", "")
        brace = re.search(r"\{([^}]*)\}", first)
        names = [first[: brace.start()] + part + first[brace.end():] for part in brace.group(1).split(",")] if brace \
            else re.split(r"\s*\+\s*|,\s*", first)
        for name in names:
            if name.strip():
                notes[name.strip()] = cells[1]
    return notes


def _years(descriptions: list[str]) -> list[int]:
    years = []
    for text in descriptions:
        match = _YEAR.match(str(text or "").strip())
        if match:
            years.append(int(match.group(1)))
    return sorted(set(years))


def _raster(path: Path) -> dict[str, Any]:
    import rasterio

    with rasterio.open(path) as src:
        crs = src.crs
        epsg = crs.to_epsg() if crs else None
        descriptions = [d or "" for d in src.descriptions]
        tags = [src.tags(i + 1) for i in range(src.count)]
        years = _years(descriptions) or sorted({int(t["YEAR"]) for t in tags if str(t.get("YEAR", "")).isdigit()})
        return {
            "kind": "raster",
            "grid": {
                "crs": f"EPSG:{epsg}" if epsg else (crs.to_string() if crs else None),
                "resolution": [abs(src.res[0]), abs(src.res[1])],
                "width": src.width,
                "height": src.height,
                "bounds": [round(float(b), 6) for b in src.bounds],
            },
            "bands": src.count,
            "dtype": src.dtypes[0],
            "nodata": src.nodata,
            "years": [years[0], years[-1]] if years else None,
            "band_names": [descriptions[0], descriptions[-1]] if any(descriptions) else None,
        }


def _vector(path: Path) -> dict[str, Any]:
    import pyogrio

    info = pyogrio.read_info(path)
    return {"kind": "vector", "grid": {"crs": info.get("crs")}, "features": int(info.get("features", 0)),
            "fields": [str(f) for f in info.get("fields", [])][:12], "geometry": info.get("geometry_type")}


def _describe(path: Path) -> dict[str, Any]:
    suffix = path.suffix.lower()
    try:
        if suffix in (".tif", ".tiff", ".nc", ".vrt"):
            return _raster(path)
        if suffix in (".gpkg", ".geojson", ".shp") or (suffix == ".json" and path.stat().st_size < 50_000_000
                                                       and '"features"' in path.read_text(errors="replace")[:4096]):
            return _vector(path)
        if suffix == ".csv":
            with open(path, encoding="utf-8", errors="replace") as fh:
                header = fh.readline().strip()
                rows = sum(1 for _ in fh)
            return {"kind": "table", "columns": header.split(",")[:12], "rows": rows}
    except Exception as error:  # an unreadable file is listed with its problem, never hidden
        return {"kind": "unreadable", "problem": " ".join(str(error).split())[:300]}
    return {"kind": "file"}


def _entry(name: str, key: str, path: Path, root: Path, notes: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    exists = path.is_file() or path.is_dir()
    info: dict[str, Any] = _describe(path) if exists and inside(root, path) else {"kind": "missing"}
    provenance = {k: spec[k] for k in _PROVENANCE_KEYS if spec.get(k) is not None}
    if path.name in notes:
        provenance["description"] = notes[path.name]
    rel = path.resolve().relative_to(root).as_posix() if inside(root, path) else path.name
    return {"name": name, "key": key, "path": rel, "size": path.stat().st_size if path.is_file() else None,
            "provenance": provenance, **info}


def project_inputs(run_file: Path, root: Path) -> list[dict[str, Any]]:
    """Describe every input of a project's run file, then the other data files of its folder.

    Parameters
    ----------
    run_file : pathlib.Path
        The project's run file (YAML).
    root : pathlib.Path
        The data folder; files outside it are listed by name only, never read.

    Returns
    -------
    list of dict
        One item per file: ``name`` (input name or run-file key), ``key`` (where the run file names it; empty
        for other files of the folder), ``path`` (relative to the data folder), ``kind``, ``grid``, ``years``,
        ``bands`` and ``provenance``.
    """
    root = root.resolve()
    data = yaml.safe_load(run_file.read_text(encoding="utf-8")) or {}
    base = run_file.parent
    notes = _readme_notes(base)
    out: list[dict[str, Any]] = []
    seen: set[Path] = set()

    def add(name: str, key: str, value: str, spec: dict[str, Any]) -> None:
        for path in sorted(base.glob(value)) if any(c in value for c in "*?[") else [base / value]:
            resolved = path.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            out.append(_entry(name, key, path, root, notes, spec))

    for name, spec in (data.get("inputs") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        paths = spec.get("path")
        for value in [paths] if isinstance(paths, str) else list(paths or []):
            add(str(name), f"inputs.{name}.path", str(value), spec)
        if not paths and spec.get("dataset"):
            out.append({"name": str(name), "key": f"inputs.{name}.dataset", "path": None, "kind": "catalogue",
                        "provenance": {k: spec[k] for k in _PROVENANCE_KEYS if spec.get(k) is not None}})
    if isinstance(data.get("aoi"), str):
        add("area of interest", "aoi", data["aoi"], {})
    zones = data.get("zones")
    if isinstance(zones, dict) and isinstance(zones.get("path"), str):
        add("admin units", "zones.path", zones["path"], {})

    def walk(node: Any, key: str) -> None:  # any other file the run file names (e.g. drought.dvi_factors)
        if isinstance(node, dict):
            for k, v in node.items():
                if key == "" and k in ("inputs", "aoi", "zones"):
                    continue
                walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(node, str) and Path(node).suffix.lower() in _DATA_SUFFIXES and (base / node).exists():
            add(key.rsplit(".", 1)[-1].replace("_", " "), key, node, {})

    walk(data, "")
    for path in sorted(base.iterdir()) if base.is_dir() else []:
        if path.suffix.lower() in _DATA_SUFFIXES and path.resolve() not in seen and path.resolve() != run_file.resolve():
            seen.add(path.resolve())
            out.append(_entry(path.stem.replace("_", " "), "", path, root, notes, {}))
    return out


# ------------------------------------------------------------------------------------------ roles of uploaded files
#: Fields tried, in order, as the id and the name of admin units when the user names none (GADM, geoBoundaries,
#: OCHA COD and Natural Earth spellings).
_ID_FIELDS = ("id", "code", "pcode", "shapeid", "gid_2", "gid_1", "gid_0", "adm2_pcode", "adm1_pcode", "iso_a3",
              "iso3", "fid")
_NAME_FIELDS = ("name", "shapename", "name_2", "name_1", "name_0", "adm2_en", "adm1_en", "admin", "name_en")


def role_key(role: str) -> str | None:
    """Where the run file names a file of ``role``: ``aoi``, ``zones.path``, ``inputs.<role>.path`` (None: other)."""
    if role == "aoi":
        return "aoi"
    if role == "zones":
        return "zones.path"
    from openldn.registry import input_decls

    return f"inputs.{role}.path" if role in input_decls() else None


def unit_fields(path: Path) -> tuple[str, str]:
    """The id and name fields of an admin-units file, guessed from its field names (first field otherwise)."""
    import pyogrio

    fields = [str(f) for f in pyogrio.read_info(path).get("fields", [])]
    lower = {f.lower(): f for f in fields}
    id_field = next((lower[c] for c in _ID_FIELDS if c in lower), fields[0] if fields else "id")
    name_field = next((lower[c] for c in _NAME_FIELDS if c in lower), id_field)
    return id_field, name_field


def assign_role(data: dict[str, Any], role: str, path: str, *, id_field: str | None = None,
                name_field: str | None = None, legend: str | None = None,
                fields_of: Path | None = None) -> dict[str, Any]:
    """The run-file content with ``path`` put under the key of ``role`` (a copy; other keys are kept).

    Parameters
    ----------
    data : dict
        Run-file content (may be incomplete: a draft).
    role : str
        ``aoi``, ``zones`` or an input name of :func:`openldn.registry.input_decls`.
    path : str
        The file as the run file names it (relative to the run file's folder).
    id_field, name_field : str, optional
        Admin-unit fields (``zones`` only); guessed from ``fields_of`` when not given.
    legend : str, optional
        Legend of a land-cover file (kept when the input already has one; default ``esa_cci``).
    fields_of : pathlib.Path, optional
        The admin-units file on disk, read to guess the fields.

    Raises
    ------
    ValueError
        ``role`` has no place in the run file.
    """
    import copy

    key = role_key(role)
    if key is None:
        raise ValueError(f"role {role!r} has no key in the run file")
    out = copy.deepcopy(data)
    if role == "aoi":
        out["aoi"] = path
    elif role == "zones":
        zones: dict[str, Any] = out["zones"] if isinstance(out.get("zones"), dict) else {}
        if (id_field is None or name_field is None) and fields_of is not None:
            guessed = unit_fields(fields_of)
            id_field, name_field = id_field or guessed[0], name_field or guessed[1]
        out["zones"] = {**zones, "path": path, "id_field": id_field or zones.get("id_field", "id"),
                        "name_field": name_field or zones.get("name_field", "name")}
    else:
        inputs: dict[str, Any] = out["inputs"] if isinstance(out.get("inputs"), dict) else {}
        spec = dict(inputs.get(role) or {}) if isinstance(inputs.get(role), dict) else {}
        spec.pop("dataset", None)  # a local file replaces a catalogue dataset
        spec["path"] = path
        if role == "land_cover":
            spec["legend"] = legend or spec.get("legend") or "esa_cci"
        out["inputs"] = {**inputs, role: spec}
    if not out.get("name"):
        out["name"] = Path(path).stem
    return out


# ------------------------------------------------------------------------------------------ every run-file error
def _error(key: str, message: str, fix: str) -> dict[str, str]:
    return {"key": key, "message": message, "fix": fix}


def _schema_errors(data: dict[str, Any]) -> list[dict[str, str]]:
    """Every error of the run-file model (not only the first, as ``load_assessment``'s one-line message)."""
    from pydantic import ValidationError

    from openldn import config
    from openldn.i18n import _

    try:
        merged = config._merge_preset(dict(data), "<assessment>")
        config.Assessment.model_validate(merged)
    except ValidationError as err:
        out = []
        for item in err.errors():
            loc = ".".join(str(x) for x in item.get("loc", ()) if not str(x).startswith("function-after"))
            message = " ".join(str(item.get("msg", "invalid value")).removeprefix("Value error, ").split()).rstrip(".")
            fix = {"missing": _("add it"),
                   "extra_forbidden": _("remove it or check its spelling (see docs/run-file.md)")}.get(
                item.get("type", ""), _("correct it (see docs/run-file.md)"))
            out.append(_error(loc or "(top level)", message, fix))
        return out
    except (ValueError, TypeError) as err:  # ConfigError of the preset merge or of a domain validator
        return [_error("", " ".join(str(err).split()), "")]
    return []


def _missing_files(data: dict[str, Any], base: Path) -> list[dict[str, str]]:
    """Every local file the run file names that does not exist (``load_assessment`` stops at the first)."""
    from openldn.i18n import _

    named: list[tuple[str, str]] = []
    if isinstance(data.get("aoi"), str):
        named.append(("aoi", data["aoi"]))
    zones = data.get("zones")
    if isinstance(zones, dict) and isinstance(zones.get("path"), str):
        named.append(("zones.path", zones["path"]))
    for name, spec in (data.get("inputs") or {}).items() if isinstance(data.get("inputs"), dict) else []:
        paths = spec.get("path") if isinstance(spec, dict) else None
        for value in [paths] if isinstance(paths, str) else [p for p in paths or [] if isinstance(p, str)]:
            named.append((f"inputs.{name}.path", value))
    out = []
    for key, value in named:
        found = base.glob(value) if any(c in value for c in "*?[") else [base / value] if (base / value).exists() else []
        if not any(True for _p in found):
            out.append(_error(key, _("no file %(path)s") % {"path": value}, _("upload it or correct the path")))
    return out


def run_file_errors(data: dict[str, Any], base: Path, validate: Callable[[dict[str, Any], Path], Any]) -> list[dict[str, str]]:
    """Every problem of run-file content: ``[]`` when ``validate`` (``load_assessment``) accepts it.

    When it refuses it, every error of the run-file model and every missing file is listed, each as ``key``
    (dotted path), ``message`` and ``fix``, after ``validate``'s own message when that names another key or none
    (a domain check).
    """
    from openldn.exceptions import OpenLDNError

    try:
        validate(data, base)
    except OpenLDNError as first:
        found = _schema_errors(data) + _missing_files(data, base)
        text = re.sub(r" \(\+\d+ more\)", "", " ".join(str(first).split())).removeprefix("<assessment>: ")
        key = text.split("'")[1] if text.startswith("key '") and text.count("'") >= 2 else ""
        if not key or key not in {e["key"] for e in found}:  # the library's own refusal is always listed
            found.insert(0, _error(key, text, ""))
        return found
    return []
