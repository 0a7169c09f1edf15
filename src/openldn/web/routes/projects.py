"""Projects, their datasets (uploads, local paths, drawn polygons) and their run file."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from openldn.i18n import _
from openldn.web import library
from openldn.web.db import new_id
from openldn.web.errors import WebError
from openldn.web.inputs import assign_role, role_key, run_file_errors
from openldn.web.models import DatasetOut, GeometryIn, LocalDatasetIn, ProjectIn, ProjectOut, Role
from openldn.web.routes.deps import database, get_project, heavy, project_dir, settings
from openldn.web.security import check_run_paths, inside, resolve_inside, safe_join
from openldn.web.uploads import check_content, kind_of, save_stream

router = APIRouter(tags=["projects"])

#: Keys of the run file whose string values are always file paths (checked to stay in the data folder).
_PATH_KEYS = {"path", "aoi"}
#: Endings of other strings taken as file paths (legend, matrix, coefficient, hotspot files ...).
_FILE_ENDINGS = (
    ".tif", ".tiff", ".nc", ".zarr", ".gpkg", ".geojson", ".json", ".shp", ".zip", ".yaml", ".yml", ".csv", ".vrt",
)


def _looks_like_path(key: str, value: str) -> bool:
    text = value.strip().lower()
    return key in _PATH_KEYS or "/" in text or "\\" in text or text.endswith(_FILE_ENDINGS) or text.startswith("~")


class RoleIn(BaseModel):
    """The role given to a dataset of the project: where the run file names it."""

    model_config = ConfigDict(extra="forbid")

    role: Role = Field(description="aoi, zones, or an input name (openldn.registry).")
    id_field: str | None = Field(None, max_length=200, description="zones: field of each unit's id (guessed when omitted).")
    name_field: str | None = Field(None, max_length=200, description="zones: field of each unit's name (guessed when omitted).")
    legend: str | None = Field(None, max_length=200, description="land_cover: legend id or file (default esa_cci).")


class RunFileProblem(BaseModel):
    """One problem of a run file."""

    key: str = Field(description="Dotted key path in the run file (empty when the problem has no single key).")
    message: str
    fix: str


class DraftOut(BaseModel):
    """The project's run file (possibly an incomplete draft) and every problem it still has."""

    assessment: dict[str, Any] = Field(description="Run-file content.")
    errors: list[RunFileProblem] = Field(description="Every problem; empty when the run file is valid.")


class RunFileErrorsOut(BaseModel):
    """A refused run file: every problem, none summarised away."""

    detail: str = Field(description="All problems on one line.")
    errors: list[RunFileProblem] = Field(
        default_factory=list, description="Every problem of the run file (absent when the body is not a JSON object)."
    )


class WizardIn(BaseModel):
    """What ``openldn init`` needs: the area (a file of the project or a country), admin units and inputs."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200, description="Assessment name (default: the project's).")
    country: str | None = Field(None, max_length=100,
                                description="Country name or ISO 3166 code: its Natural Earth 1:10m boundary.")
    aoi: str | None = Field(None, max_length=1000, description="Area of interest: a dataset path of the project.")
    zones: str | None = Field(None, max_length=1000, description="Admin units: a dataset path of the project.")
    id_field: str | None = Field(None, max_length=200)
    name_field: str | None = Field(None, max_length=200)
    inputs: dict[str, str] = Field(
        default_factory=dict, description="Input name -> dataset path of the project, or dataset:<catalogue id>."
    )
    legend: str | None = Field(None, max_length=200, description="Legend of a local land-cover file.")


@router.get("/projects", response_model=list[ProjectOut], summary="List projects")
def list_projects(request: Request) -> list[dict[str, Any]]:
    """Return every project, newest first."""
    return database(request).list_projects()


@router.post("/projects", response_model=ProjectOut, status_code=201, summary="Create a project")
async def create_project(request: Request, body: ProjectIn) -> dict[str, Any]:
    """Create a project; with ``demo: true`` it is filled with the demo data and its run file."""
    return await heavy(request, _create_project, request, body)


def _create_project(request: Request, body: ProjectIn) -> dict[str, Any]:
    db = database(request)
    project = db.create_project(body.name)
    folder = project_dir(request, project["id"])
    if body.demo:
        try:
            run_file = library.make_demo(folder)
        except Exception:
            db.delete_project(project["id"])
            shutil.rmtree(folder, ignore_errors=True)
            raise
        db.set_assessment(project["id"], Path(run_file).resolve().relative_to(folder.resolve()).as_posix())
    return get_project(request, project["id"])


@router.get("/projects/{project_id}", response_model=ProjectOut, summary="Get a project")
def read_project(request: Request, project_id: str) -> dict[str, Any]:
    """Return one project."""
    return get_project(request, project_id)


@router.delete("/projects/{project_id}", status_code=204, summary="Delete a project")
def delete_project(request: Request, project_id: str) -> None:
    """Delete a project with its files; refused while one of its runs is active."""
    get_project(request, project_id)
    db = database(request)
    if db.list_runs(project_id, status=("queued", "running")):
        raise WebError(409, "the project has an active run: cancel it first")
    db.delete_project(project_id)
    shutil.rmtree(settings(request).root / "projects" / project_id, ignore_errors=True)


# datasets ---------------------------------------------------------------------------------------------------------
@router.get("/projects/{project_id}/datasets", response_model=list[DatasetOut], summary="List datasets")
def list_datasets(request: Request, project_id: str) -> list[dict[str, Any]]:
    """Return the project's uploaded and linked datasets."""
    get_project(request, project_id)
    return database(request).list_datasets(project_id)


@router.post(
    "/projects/{project_id}/datasets",
    response_model=DatasetOut,
    status_code=201,
    summary="Upload a dataset",
    responses={413: {"description": "Too large"}, 415: {"description": "Unsupported type"}},
)
async def upload_dataset(
    request: Request,
    project_id: str,
    file: Annotated[UploadFile, File(description="GeoTIFF/COG, NetCDF, GeoPackage, GeoJSON or zipped Shapefile")],
    role: Annotated[Role, Query(description="What the file is used for in the run file")] = "other",
    assign: Annotated[bool, Query(description="Also put the file under its role's key of the run file (a draft)")] = False,
) -> dict[str, Any]:
    """Store an upload under a generated name after checking its size, extension and content.

    With ``assign=true`` the project's run file is filled from it as ``PUT .../datasets/{id}/role`` does.
    """
    get_project(request, project_id)
    ext, kind = kind_of(file.filename or "")
    limit = settings(request).max_upload_bytes
    if file.size is not None and file.size > limit:
        raise WebError(413, f"upload is larger than the limit of {limit / 2**20:.0f} MiB (OPENLDN_MAX_UPLOAD_MB)")
    folder = project_dir(request, project_id) / "uploads"
    folder.mkdir(exist_ok=True)
    target = folder / f"{new_id()}{ext}"
    size = await heavy(request, save_stream, file.file, target, limit)
    try:
        await heavy(request, check_content, target, ext)
    except WebError:
        target.unlink(missing_ok=True)
        raise
    dataset = database(request).add_dataset(
        project_id,
        role=role,
        kind=kind,
        original_name=Path(file.filename or target.name).name[:200],
        path=f"uploads/{target.name}",
        size=size,
    )
    if assign and role_key(role) is not None:
        await heavy(request, _assign, request, project_id, dataset, RoleIn(role=role, id_field=None, name_field=None, legend=None))
    return dataset


@router.post(
    "/projects/{project_id}/datasets/local",
    response_model=DatasetOut,
    status_code=201,
    summary="Link a file already in the data folder",
)
async def link_dataset(request: Request, project_id: str, body: LocalDatasetIn) -> dict[str, Any]:
    """Register a file inside the data folder without copying it (paths outside the folder are refused)."""
    return await heavy(request, _link_dataset, request, project_id, body)


def _link_dataset(request: Request, project_id: str, body: LocalDatasetIn) -> dict[str, Any]:
    get_project(request, project_id)
    root = settings(request).root
    raw = Path(body.path)
    if raw.is_absolute():
        if "\x00" in body.path or not inside(root, raw):
            raise WebError(403, f"path {body.path!r} is outside the data folder")
        target = raw.resolve()
    else:
        target = safe_join(root, body.path)
    if not target.is_file():
        raise WebError(404, f"file {body.path!r} does not exist in the data folder")
    ext, kind = kind_of(target.name)
    check_content(target, ext)
    # stored relative to the project folder (as run-file paths are), so no server path is shown
    relative = Path(os.path.relpath(target, project_dir(request, project_id).resolve())).as_posix()
    return database(request).add_dataset(
        project_id, role=body.role, kind=kind, original_name=target.name, path=relative, size=target.stat().st_size
    )


@router.post(
    "/projects/{project_id}/geometry",
    response_model=DatasetOut,
    status_code=201,
    summary="Save a polygon drawn on the map",
)
def save_geometry(request: Request, project_id: str, body: GeometryIn) -> dict[str, Any]:
    """Store a drawn polygon as a GeoJSON dataset (area of interest or admin unit)."""
    from shapely.geometry import mapping, shape

    get_project(request, project_id)
    data = body.geojson
    features = data.get("features") if data.get("type") == "FeatureCollection" else [data]
    out = []
    try:
        for i, feature in enumerate(features or []):
            geom = shape(feature.get("geometry", feature) if feature.get("type") == "Feature" else feature)
            if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty or not geom.is_valid:
                raise ValueError(f"feature {i} is not a valid polygon")
            out.append({"type": "Feature", "properties": {"id": str(i + 1), "name": body.name}, "geometry": mapping(geom)})
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as error:
        raise WebError(422, f"geojson: {' '.join(str(error).split()) or 'not a polygon'}") from None
    if not out:
        raise WebError(422, "geojson: no polygon given")
    folder = project_dir(request, project_id) / "uploads"
    folder.mkdir(exist_ok=True)
    target = folder / f"{new_id()}.geojson"
    text = json.dumps({"type": "FeatureCollection", "features": out})
    target.write_text(text, encoding="utf-8")
    return database(request).add_dataset(
        project_id, role=body.role, kind="vector", original_name=f"{body.name}.geojson",
        path=f"uploads/{target.name}", size=len(text),
    )


# run file ---------------------------------------------------------------------------------------------------------
@router.get("/schema/assessment", summary="JSON schema of the run file")
def assessment_schema() -> dict[str, Any]:
    """Return the JSON schema of the run file; the web form is generated from it."""
    return library.assessment_schema()


@router.get("/projects/{project_id}/assessment", summary="Read the project's run file")
def read_assessment(request: Request, project_id: str) -> dict[str, Any]:
    """Return the project's run file as JSON (an empty object until one is saved)."""
    project = get_project(request, project_id)
    if not project["assessment"]:
        return {}
    path = safe_join(project_dir(request, project_id), project["assessment"])
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return data if isinstance(data, dict) else {}


@router.get("/projects/{project_id}/inputs", summary="The project's inputs with their grids, years and provenance")
async def list_inputs(request: Request, project_id: str) -> list[dict[str, Any]]:
    """Return every file the run file names (inputs, area of interest, admin units, tables) and the other data
    files of its folder: kind, grid (CRS, resolution, size), years, bands and provenance."""
    from openldn.web.inputs import project_inputs

    project = get_project(request, project_id)
    if not project["assessment"]:
        return []
    run_file = safe_join(project_dir(request, project_id), project["assessment"])
    if not run_file.is_file():
        return []
    return await heavy(request, project_inputs, run_file, settings(request).root)


def _check_paths(value: Any, base: Path, root: Path) -> None:
    """Refuse any path of run-file content outside the data folder (globs expanded, symbolic links followed)."""
    check_run_paths(value, base, root, _looks_like_path)


def check_saved_run_file(request: Request, project: dict[str, Any]) -> None:
    """Check the paths of a project's saved run file again (before a run reads them: links may have changed)."""
    if not project["assessment"]:
        return
    folder = project_dir(request, project["id"])
    run_file = safe_join(folder, project["assessment"])
    if not run_file.is_file():
        return
    data = yaml.safe_load(run_file.read_text(encoding="utf-8"))
    _check_paths(data if isinstance(data, dict) else {}, run_file.parent, settings(request).root)


@router.put(
    "/projects/{project_id}/assessment",
    summary="Validate and save the project's run file",
    responses={422: {"model": RunFileErrorsOut, "description": "Every problem of the run file"}},
)
async def save_assessment(request: Request, project_id: str, body: dict[str, Any]) -> Any:
    """Validate the run file with ``openldn.config.load_assessment`` (same messages as the CLI) and save it.

    Paths are relative to the project folder (as returned by the dataset endpoints) and must stay inside the data
    folder: globs are expanded and symbolic links followed before the check. A refused run file is answered with
    every problem (``errors``: key path, message, fix), never only the first.
    """
    return await heavy(request, _save_assessment, request, project_id, body)


def problems_line(errors: list[dict[str, str]]) -> str:
    """Every problem of a run file on one line (for ``detail``): ``key 'aoi': Field required (add it); ...``."""
    parts = []
    for e in errors:
        text = _("key '%(key)s': %(message)s") % {"key": e["key"], "message": e["message"]} if e["key"] \
            and not e["message"].startswith("key '") else e["message"]
        parts.append(f"{text} ({e['fix']})" if e["fix"] else text)
    return "; ".join(parts)


def _save_assessment(request: Request, project_id: str, body: dict[str, Any]) -> Any:
    project = get_project(request, project_id)
    folder = project_dir(request, project_id)
    base = folder if not project["assessment"] else safe_join(folder, project["assessment"]).parent
    _check_paths(body, base, settings(request).root)
    errors = run_file_errors(body, base, library.validate_run_file)
    if errors:
        from openldn.web.errors import _clean

        errors = [{k: _clean(request, v) for k, v in e.items()} for e in errors]  # no server path in an answer
        return JSONResponse({"detail": problems_line(errors), "errors": errors}, status_code=422)
    target = base / "assessment.yaml"
    tmp = base / f".assessment-{new_id()}.yaml"
    tmp.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    os.replace(tmp, target)
    database(request).set_assessment(project_id, target.relative_to(folder).as_posix())
    return body


@router.get("/projects/{project_id}/boundaries", summary="Area of interest and admin units as GeoJSON")
async def boundaries(
    request: Request,
    project_id: str,
    offset: Annotated[int, Query(ge=0, description="First admin unit of the page")] = 0,
    limit: Annotated[int, Query(ge=1, le=5000, description="Admin units per page")] = 500,
) -> dict[str, Any]:
    """Return the run file's area of interest and a page of its admin units in lon/lat, simplified for the map.

    ``zones`` is a GeoJSON FeatureCollection with ``total`` (number of admin units) and ``next_offset`` (None on
    the last page).
    """
    return await heavy(request, _boundaries, request, project_id, offset, limit)


def _boundaries(request: Request, project_id: str, offset: int, limit: int) -> dict[str, Any]:
    project = get_project(request, project_id)
    out: dict[str, Any] = {"aoi": None, "zones": None}
    if not project["assessment"]:
        return out
    folder = project_dir(request, project_id)
    run_file = safe_join(folder, project["assessment"])
    data = read_assessment(request, project_id)
    root = settings(request).root

    def resolve(value: str, key: str) -> Path:
        """Resolve a run-file path (glob expanded, links followed) and refuse it outside the data folder."""
        found = resolve_inside(value, run_file.parent, root, what=key)
        if not found:
            raise WebError(404, f"{key} {value!r} matches no file")
        return found[0]

    if isinstance(data.get("aoi"), str):
        out["aoi"] = library.boundaries_geojson(resolve(data["aoi"], "aoi"), limit=5000)
    zones = data.get("zones")
    if isinstance(zones, dict) and isinstance(zones.get("path"), str):
        out["zones"] = library.boundaries_geojson(
            resolve(zones["path"], "zones.path"), id_field=zones.get("id_field"), name_field=zones.get("name_field"),
            offset=offset, limit=limit,
        )
    return out


# roles, assignment and the start wizard ---------------------------------------------------------------------------
@router.get("/roles", summary="Roles a dataset can have in the run file")
def list_roles() -> list[dict[str, str]]:
    """Every role (area of interest, admin units, each input the stages declare) with its run-file key."""
    from openldn.registry import input_decls

    decls = input_decls()
    out = [{"role": "aoi", "key": "aoi", "description": "Area of interest (polygons)."},
           {"role": "zones", "key": "zones.path", "description": "Admin units: one table row per unit."}]
    out += [{"role": name, "key": f"inputs.{name}.path", "description": d.description} for name, d in decls.items()]
    return out


def _draft(request: Request, project: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """The project's run file (``assessment.yaml`` of its folder until one is saved) and its content."""
    folder = project_dir(request, project["id"])
    path = safe_join(folder, project["assessment"]) if project["assessment"] else folder / "assessment.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return path, data if isinstance(data, dict) else {}


def _write_draft(request: Request, project_id: str, path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".assessment-{new_id()}.yaml")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    os.replace(tmp, path)
    database(request).set_assessment(project_id, path.relative_to(project_dir(request, project_id)).as_posix())


def _assign(request: Request, project_id: str, dataset: dict[str, Any], body: RoleIn) -> dict[str, Any]:
    project = get_project(request, project_id)
    folder = project_dir(request, project_id)
    run_file, data = _draft(request, project)
    base = run_file.parent
    on_disk = (folder / dataset["path"]).resolve()  # linked files may lie elsewhere in the data folder
    if not inside(settings(request).root, on_disk):
        raise WebError(403, f"path {dataset['path']!r} is outside the data folder")
    value = Path(os.path.relpath(on_disk, base)).as_posix()
    if body.role in ("aoi", "zones") and dataset["kind"] != "vector":
        raise WebError(422, _("%(file)s is a raster: the area of interest and admin units are vector files") % {
            "file": dataset["original_name"]})
    try:
        data = assign_role(data, body.role, value, id_field=body.id_field, name_field=body.name_field,
                           legend=body.legend, fields_of=on_disk if body.role == "zones" else None)
    except ValueError:
        raise WebError(422, _("role %(role)s has no key in the run file; choose another role") % {
            "role": body.role}) from None
    if not data.get("name") or data["name"] == Path(value).stem:
        data["name"] = project["name"]
    _check_paths(data, base, settings(request).root)
    _write_draft(request, project_id, run_file, data)
    return {"assessment": data, "errors": run_file_errors(data, base, library.validate_run_file)}


@router.put(
    "/projects/{project_id}/datasets/{dataset_id}/role",
    response_model=DraftOut,
    summary="Give a dataset its role: the run file names it under the role's key",
)
async def assign_dataset(request: Request, project_id: str, dataset_id: str, body: RoleIn) -> dict[str, Any]:
    """Put the dataset under the key of its role (``aoi``, ``zones.path``, ``inputs.<role>.path``) in the project's
    run file, saved as a draft even when it is not complete yet; return it with every problem it still has."""
    get_project(request, project_id)
    dataset = next((d for d in database(request).list_datasets(project_id) if d["id"] == dataset_id), None)
    if dataset is None:
        raise WebError(404, _("dataset %(id)s not found in this project") % {"id": dataset_id})
    return await heavy(request, _assign, request, project_id, dataset, body)


@router.get("/projects/{project_id}/assessment/problems", response_model=DraftOut,
            summary="The project's run file and every problem it has")
async def assessment_problems(request: Request, project_id: str) -> dict[str, Any]:
    """Return the run file (or draft) with every problem that would stop a run; ``errors`` is empty when valid."""
    project = get_project(request, project_id)

    def check() -> dict[str, Any]:
        run_file, data = _draft(request, project)
        return {"assessment": data, "errors": run_file_errors(data, run_file.parent, library.validate_run_file)}

    return await heavy(request, check)


def _wizard(request: Request, project_id: str, body: WizardIn) -> dict[str, Any]:
    from openldn.cli.init import init_run_file
    from openldn.registry import input_decls

    project = get_project(request, project_id)
    folder = project_dir(request, project_id)
    root = settings(request).root
    if (body.country is None) == (body.aoi is None):
        raise WebError(422, _("give the area of interest: either a country or a file of the project, not both"))
    decls = input_decls()
    unknown = sorted(set(body.inputs) - set(decls))
    if unknown:
        raise WebError(422, _("unknown input %(names)s; use one of %(known)s") % {
            "names": ", ".join(unknown), "known": ", ".join(decls)})
    if not body.inputs:
        raise WebError(422, _("choose at least one input (a file of the project or a catalogue dataset)"))

    def local(value: str, what: str) -> Path:
        found = resolve_inside(value, folder, root, what=what)
        if not found:
            raise WebError(404, _("%(what)s: no file %(path)s in the project") % {"what": what, "path": value})
        return found[0]

    inputs = {name: value if value.startswith("dataset:") else str(local(value, f"inputs.{name}"))
              for name, value in body.inputs.items()}
    zones = local(body.zones, "zones") if body.zones else None
    id_field, name_field = body.id_field, body.name_field
    if zones is not None and (id_field is None or name_field is None):
        from openldn.web.inputs import unit_fields

        guessed = unit_fields(zones)
        id_field, name_field = id_field or guessed[0], name_field or guessed[1]
    run_file = folder / "assessment.yaml"
    aoi = local(body.aoi, "aoi") if body.aoi else None
    init_run_file(
        run_file, aoi=aoi, country=body.country, zones=zones, id_field=id_field or "id",
        name_field=name_field or "name", inputs=inputs, name=body.name or project["name"], legend=body.legend,
        force=True,
    )
    # `openldn init` writes a file outside the run file's folder with its absolute path; the web app names every
    # file relative to the project folder (no server path is shown), the comments of the run file kept
    text = run_file.read_text(encoding="utf-8")
    for path in [aoi, zones, *(Path(v) for v in inputs.values() if not v.startswith("dataset:"))]:
        if path is not None:
            full = Path(path).resolve()
            text = text.replace(json.dumps(str(full)), json.dumps(Path(os.path.relpath(full, folder.resolve())).as_posix()))
    run_file.write_text(text, encoding="utf-8")
    database(request).set_assessment(project_id, run_file.name)
    data = yaml.safe_load(run_file.read_text(encoding="utf-8")) or {}
    _check_paths(data, folder, root)
    return {"assessment": data, "errors": run_file_errors(data, folder, library.validate_run_file)}


@router.post("/projects/{project_id}/wizard", response_model=DraftOut, summary="Start the run file (openldn init)")
async def start_wizard(request: Request, project_id: str, body: WizardIn) -> dict[str, Any]:
    """Write the project's run file as ``openldn init`` does: the area of interest from a file of the project or a
    country (Natural Earth 1:10m), optional admin units, the inputs, and the periods of the current reporting cycle.
    An existing run file of the project is replaced. Returns it with every problem it still has."""
    get_project(request, project_id)
    return await heavy(request, _wizard, request, project_id, body)
