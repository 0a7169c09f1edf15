"""Reference labelling of a sample design (issue 16 item 2): points, what is known at each, labels, export.

The sample is named by ``sample``, its folder relative to the data folder (``GET .../samples`` lists them). Labels
are kept in the project database; partial labelling is allowed; ``labels.csv`` is the file that
``openldn accuracy estimate`` reads. See :mod:`openldn.web.labelling`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from openldn.i18n import _
from openldn.web.db import new_id
from openldn.web.errors import WebError
from openldn.web.labelling import (
    LabelStore,
    Sample,
    find_samples,
    labels_csv,
    load_sample,
    point_details,
    point_list,
)
from openldn.web.routes.deps import database, get_project, heavy, project_dir, run_dir, settings
from openldn.web.security import safe_join
from openldn.web.uploads import save_stream

router = APIRouter(tags=["labelling"])

SampleQuery = Annotated[str, Query(min_length=1, max_length=1000, description="Sample folder, relative to the data "
                                                                               "folder (as GET .../samples lists it).")]


class LabelIn(BaseModel):
    """The reference label of one point."""

    model_config = ConfigDict(extra="forbid")

    reference: int = Field(description="Reference class code (a class of the design map's legend).")
    interpreter: str = Field("", max_length=200, description="Who labelled the point.")
    confidence: str = Field("", max_length=50, description="How sure the interpreter is (high, medium, low).")
    notes: str = Field("", max_length=4000, description="Evidence, remarks.")


def _bases(request: Request, project_id: str) -> list[Path]:
    """Folders of a project where its samples may lie: the project folder and its runs' output folders."""
    bases = [project_dir(request, project_id)]
    bases += [run_dir(request, r) for r in database(request).list_runs(project_id)]
    return bases


def _sample(request: Request, project_id: str, sample: str) -> Sample:
    get_project(request, project_id)
    return load_sample(sample, settings(request).root, _bases(request, project_id))


def _run_file(request: Request, project: dict[str, Any]) -> Path | None:
    if not project["assessment"]:
        return None
    return safe_join(project_dir(request, project["id"]), project["assessment"])


@router.get("/projects/{project_id}/samples", summary="Sample designs of a project")
async def list_samples(request: Request, project_id: str) -> list[dict[str, Any]]:
    """Folders written by ``openldn accuracy design`` (or uploaded) in the project's folder and its runs'
    output folders, with their labelling progress."""
    get_project(request, project_id)
    found = await heavy(request, find_samples, _bases(request, project_id), settings(request).root)
    store = LabelStore(database(request))
    for item in found:
        item["labelled"] = len(store.labels(project_id, item["id"]))
    return found


@router.post("/projects/{project_id}/samples", status_code=201, summary="Upload a sample design")
async def upload_sample(
    request: Request,
    project_id: str,
    files: Annotated[list[UploadFile], File(min_length=1, description="points.csv (or points.gpkg) written by `openldn accuracy "
                                                        "design`, and optionally its design.json (needed by "
                                                        "`openldn accuracy estimate`)")],
) -> dict[str, Any]:
    """Store an uploaded sample in ``samples/<id>`` of the project folder; return its entry."""
    get_project(request, project_id)
    limit = settings(request).max_upload_bytes
    points = next((f for f in files if Path(f.filename or "").suffix.lower() in (".csv", ".gpkg")), None)
    design = next((f for f in files if Path(f.filename or "").suffix.lower() == ".json"), None)
    if points is None:
        raise WebError(415, _("the sample points must be a CSV or GeoPackage file written by 'openldn accuracy design'"))
    ext = Path(points.filename or "").suffix.lower()
    folder = project_dir(request, project_id) / "samples" / new_id()
    folder.mkdir(parents=True)
    try:
        await heavy(request, save_stream, points.file, folder / f"upload{ext}", limit)
        if design is not None:
            await heavy(request, save_stream, design.file, folder / "design.json", limit)
        await heavy(request, _normalise_upload, folder, ext)
        rel = folder.resolve().relative_to(settings(request).root.resolve()).as_posix()
        sample = await heavy(request, load_sample, rel, settings(request).root, [folder])
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return {"id": sample.id, "name": sample.id, "map": (sample.design or {}).get("map_key"),
            "n": len(sample.points), "labelled": 0}  # fmt: skip


def _normalise_upload(folder: Path, ext: str) -> None:
    """Turn an uploaded points file into ``points.csv`` (lon/lat from the geometry of a GeoPackage)."""
    import pandas as pd

    src = folder / f"upload{ext}"
    if (folder / "design.json").is_file():
        try:
            json.loads((folder / "design.json").read_text(encoding="utf-8"))
        except ValueError:
            raise WebError(422, _("design.json is not valid JSON; upload the file written by 'openldn accuracy design'")) from None
    if ext == ".csv":
        src.rename(folder / "points.csv")
        return
    import geopandas as gpd

    try:
        gdf = gpd.read_file(src)
    except Exception as err:  # pyogrio raises many kinds
        raise WebError(422, _("cannot read the uploaded GeoPackage (%(error)s)") % {"error": type(err).__name__}) from err
    if gdf.crs is None:
        raise WebError(422, _("the uploaded GeoPackage has no CRS; write it with one"))
    ll = gdf.geometry.to_crs(4326)
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    table["x"], table["y"] = gdf.geometry.x, gdf.geometry.y
    table["lon"], table["lat"] = ll.x.round(7), ll.y.round(7)
    table.to_csv(folder / "points.csv", index=False)
    src.unlink()


@router.get("/projects/{project_id}/labelling/points", summary="Points of a sample and their label state")
async def sample_points(request: Request, project_id: str, sample: SampleQuery) -> dict[str, Any]:
    """The sample's reference classes (code, label, colour), map columns and points (position, stratum,
    labelled or not, reference class), with ``n`` points of which ``n_labelled`` are labelled."""
    s = await heavy(request, _sample, request, project_id, sample)
    labels = LabelStore(database(request)).labels(project_id, sample)
    points = point_list(s, labels)
    return {"sample": s.id, "map": (s.design or {}).get("map_key"), "classes": s.classes,
            "map_columns": s.map_columns, "points": points, "n": len(points),
            "n_labelled": sum(1 for p in points if p["labelled"])}  # fmt: skip


@router.get("/projects/{project_id}/labelling/points/{point_id}", summary="What is known at a point")
async def point(request: Request, project_id: str, point_id: str, sample: SampleQuery) -> dict[str, Any]:
    """Map values at the point (every map and period of the points table), the vegetation index series of the
    project's ``ndvi`` input with its Theil-Sen and OLS trend, the land cover class of every year, the soil
    organic carbon, and the point's label (None when unlabelled)."""
    project = get_project(request, project_id)
    s = await heavy(request, _sample, request, project_id, sample)
    details = await heavy(request, point_details, s, point_id, _run_file(request, project), settings(request).root)
    details["label"] = LabelStore(database(request)).labels(project_id, sample).get(point_id)
    return details


@router.put("/projects/{project_id}/labelling/points/{point_id}", summary="Save the label of a point")
async def save_label(request: Request, project_id: str, point_id: str, sample: SampleQuery,
                     body: LabelIn) -> dict[str, Any]:  # fmt: skip
    """Insert or replace the reference label of a point; the class must be in the design map's legend."""
    s = await heavy(request, _sample, request, project_id, sample)
    if point_id not in set(s.points["point_id"].astype(str)):
        raise WebError(404, _("point %(id)s is not in the sample") % {"id": point_id})
    codes = [c["code"] for c in s.classes]
    if body.reference not in codes:
        raise WebError(422, _("reference class %(code)s is not in the map's legend; use one of %(codes)s")
                       % {"code": body.reference, "codes": ", ".join(str(c) for c in codes)})  # fmt: skip
    return LabelStore(database(request)).save(project_id, sample, point_id, reference=body.reference,
                                              interpreter=body.interpreter.strip(),
                                              confidence=body.confidence.strip(), notes=body.notes.strip())  # fmt: skip


@router.delete("/projects/{project_id}/labelling/points/{point_id}", status_code=204, summary="Remove a label")
async def delete_label(request: Request, project_id: str, point_id: str, sample: SampleQuery) -> None:
    """Make the point unlabelled again."""
    await heavy(request, _sample, request, project_id, sample)
    LabelStore(database(request)).delete(project_id, sample, point_id)


Replace = Annotated[bool, Query(description="Replace labels already saved for the same points")]


@router.post("/projects/{project_id}/labelling/import", summary="Import the labels.csv of the sample folder")
async def import_labels(request: Request, project_id: str, sample: SampleQuery, replace: Replace = False
                        ) -> dict[str, Any]:  # fmt: skip
    """Read the sample folder's ``labels.csv`` (``point_id``, ``reference``, ``interpreter``, ``confidence``,
    ``notes``; checked as ``openldn accuracy estimate`` checks it) and save its labelled rows; points already
    labelled here are kept unless ``replace``. Returns how many labels were imported and kept."""
    return await _import(request, project_id, sample, None, replace)


@router.post("/projects/{project_id}/labelling/import-file", summary="Import labels from an uploaded labels file")
async def import_labels_file(
    request: Request,
    project_id: str,
    sample: SampleQuery,
    file: Annotated[UploadFile, File(description="Labels CSV or GeoPackage")],
    replace: Replace = False,
) -> dict[str, Any]:
    """As ``POST .../labelling/import``, from an uploaded labels file."""
    return await _import(request, project_id, sample, file, replace)


async def _import(request: Request, project_id: str, sample: str, file: UploadFile | None,
                  replace: bool) -> dict[str, Any]:  # fmt: skip
    s = await heavy(request, _sample, request, project_id, sample)
    if file is not None:
        ext = Path(file.filename or "").suffix.lower()
        if ext not in (".csv", ".gpkg"):
            raise WebError(415, _("a labels file must be a CSV or GeoPackage file"))
        folder = project_dir(request, project_id) / "uploads"
        folder.mkdir(exist_ok=True)
        path = folder / f"labels-{new_id()}{ext}"
        await heavy(request, save_stream, file.file, path, settings(request).max_upload_bytes)
    else:
        path = s.folder / "labels.csv"
    checked = await heavy(request, _check_labels_file, s, path)
    store = LabelStore(database(request))
    have = store.labels(project_id, sample)
    imported = kept = 0
    for row in checked.itertuples(index=False):
        if row.reference is None or str(row.reference) == "<NA>":
            continue
        if row.point_id in have and not replace:
            kept += 1
            continue
        store.save(project_id, sample, str(row.point_id), reference=int(row.reference),
                   interpreter=str(row.interpreter), confidence=str(row.confidence), notes=str(row.notes))  # fmt: skip
        imported += 1
    return {"imported": imported, "kept": kept}


def _check_labels_file(sample: Sample, path: Path) -> Any:
    import pandas as pd

    from openldn.accuracy.labels import check_labels, read_labels

    out = check_labels(read_labels(path), sample.legend,
                       sample.points["point_id"].astype(str))  # fmt: skip
    out["reference"] = out["reference"].astype(object).where(out["reference"].notna(), None)
    return pd.DataFrame(out)


@router.get("/projects/{project_id}/labelling/labels.csv", summary="Export the labels (openldn accuracy estimate)")
async def export_labels(request: Request, project_id: str, sample: SampleQuery) -> Response:
    """Every point of the sample with its label (blank reference when not labelled yet), columns ``point_id``,
    ``reference``, ``interpreter``, ``confidence``, ``notes``: the file ``openldn accuracy estimate --labels``
    reads."""
    s = await heavy(request, _sample, request, project_id, sample)
    text = labels_csv(s, LabelStore(database(request)).labels(project_id, sample))
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="labels.csv"'})  # fmt: skip
