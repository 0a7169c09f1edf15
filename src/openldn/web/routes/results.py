"""Results of a run: map layers and tiles, pixel values, tables, and file downloads."""

from __future__ import annotations

import pathlib
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from openldn.web import downloads, tables, tiles
from openldn.web.errors import WebError
from openldn.web.routes.deps import get_run, heavy, run_dir
from openldn.web.security import inside, safe_join

router = APIRouter(tags=["results"])

_MEDIA = {
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".json": "application/json",
    ".csv": "text/csv",
    ".html": "text/html",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".png": "image/png",
    ".log": "text/plain",
    ".qml": "application/xml",
}


@router.get("/runs/{run_id}/layers", summary="List a run's map layers")
async def list_layers(request: Request, run_id: str) -> list[dict[str, Any]]:
    """Return each map output: key, title, legend, bounds (lon/lat), bands and value range. While the run is in
    progress, the maps of its finished stages (``staged: true``)."""
    out_dir = run_dir(request, get_run(request, run_id))

    def described() -> list[dict[str, Any]]:
        out = []
        for entry in tiles.raster_layers(out_dir):
            try:
                out.append(tiles.layer_info(entry))
            except (WebError, OSError):  # a staged file being published at this moment: listed at the next call
                continue
        return out

    return await heavy(request, described)


@router.get(
    "/runs/{run_id}/tiles/{z}/{x}/{y}.png",
    summary="Map tile of a layer",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "PNG tile"}},
)
async def tile(
    request: Request,
    run_id: str,
    z: Annotated[int, Path(ge=0, le=24)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
    layer: Annotated[str, Query(description="Layer key from /layers")],
    band: Annotated[int, Query(ge=1, le=10000, description="1-based band (year of an annual stack)")] = 1,
) -> Response:
    """Render a 256 x 256 web-mercator PNG tile of a layer from its COG, coloured with its legend."""
    if x >= 2**z or y >= 2**z:
        raise WebError(404, f"tile {z}/{x}/{y} does not exist at zoom {z}")
    out_dir = run_dir(request, get_run(request, run_id))

    def render() -> bytes:
        from rasterio.errors import RasterioIOError

        try:
            return tiles.render_tile(tiles.find_layer(out_dir, layer), z, x, y, band=band)
        except RasterioIOError:  # a staged layer published (moved) while it was being read: read it again
            return tiles.render_tile(tiles.find_layer(out_dir, layer), z, x, y, band=band)

    png = await heavy(request, render)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})


@router.get("/runs/{run_id}/point", summary="Values of every layer at a point")
async def point(
    request: Request,
    run_id: str,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-85.06, le=85.06)],
) -> dict[str, Any]:
    """Return the value (and class label) of every layer and band at ``lon``, ``lat``."""
    out_dir = run_dir(request, get_run(request, run_id))
    values = await heavy(request, lambda: tiles.point_values(tiles.raster_layers(out_dir), lon, lat))
    return {"lon": lon, "lat": lat, "layers": values}


def _tables_inside(out_dir: pathlib.Path, name: str | None = None, base: pathlib.Path | None = None) -> None:
    """Refuse a run's tables folder, or a table file, that is a symbolic link leading out of the run folder
    (``base``: the folder holding ``tables/``, the run folder or its staging area)."""
    folder = (base or out_dir) / "tables"
    if not folder.exists() and not folder.is_symlink():
        return
    if not inside(out_dir, folder):
        raise WebError(403, "the run's tables folder is outside the run folder")
    if name is not None:
        candidates = [folder / f"{name.removesuffix('.csv')}.csv"]
    else:
        candidates = list(folder.glob("*.csv"))
    for path in candidates:
        if (path.exists() or path.is_symlink()) and not inside(out_dir, path):
            raise WebError(403, f"table {path.stem!r} is outside the run folder")


def _published(out_dir: pathlib.Path) -> bool:
    """Whether the run's result is published (its manifest is written last by the publish step)."""
    return (out_dir / "manifest.json").is_file() or (out_dir / tiles.MANIFEST).is_file()


def _staged_tables(out_dir: pathlib.Path) -> list[dict[str, Any]]:
    """The tables of the finished stages of a run not published yet, from its staging area (read only)."""
    from openldn.web.progress import finished_stage_files

    base = out_dir / tiles.STAGING
    names = {pathlib.Path(t).stem for files in finished_stage_files(out_dir).values() for t in files["tables"]}
    if not names or not base.is_dir():
        return []
    _tables_inside(out_dir, base=base)
    out = []
    for table in tables.list_tables(base):
        if table["name"] in names:
            out.append({**table, "staged": True})
    return out


@router.get("/runs/{run_id}/tables", summary="List a run's tables")
async def list_tables(request: Request, run_id: str) -> list[dict[str, Any]]:
    """Return each table with its columns, admin units and periods (links out of the run folder are refused).

    While the run is in progress (nothing published yet), the tables of its finished stages, read from its
    staging area and marked ``staged: true``: they are partial results, replaced by the published tables when the
    run ends."""
    out_dir = run_dir(request, get_run(request, run_id))

    def listed() -> list[dict[str, Any]]:
        if not _published(out_dir):
            try:
                return _staged_tables(out_dir)
            except OSError:
                pass  # published (moved) while being read: the published tables
            except WebError as error:
                if error.status_code != 404:
                    raise
        _tables_inside(out_dir)
        return [{**t, "staged": False} for t in tables.list_tables(out_dir)]

    return await heavy(request, listed)


@router.get("/runs/{run_id}/tables/{name}", summary="Rows of a table")
async def read_table(
    request: Request,
    run_id: str,
    name: str,
    zone_id: Annotated[str | None, Query(max_length=200, description="Only this admin unit ('ALL': the whole area)")] = None,
    period: Annotated[str | None, Query(max_length=100, description="Only this period or year")] = None,
) -> dict[str, Any]:
    """Return a table's rows, optionally for one admin unit and one period."""
    out_dir = run_dir(request, get_run(request, run_id))

    def rows() -> dict[str, Any]:
        plain = name if "/" not in name and "\\" not in name and name not in ("", ".", "..") else None
        if not _published(out_dir) and plain is not None:
            staged = {t["name"] for t in _staged_tables(out_dir)}
            if plain.removesuffix(".csv") in staged:
                base = out_dir / tiles.STAGING
                _tables_inside(out_dir, plain, base=base)
                try:
                    return {**tables.read_table(base, plain, zone_id=zone_id, period=period), "staged": True}
                except WebError as error:  # published between the two reads: read the published table
                    if error.status_code != 404:
                        raise
        _tables_inside(out_dir, plain)
        return {**tables.read_table(out_dir, name, zone_id=zone_id, period=period), "staged": False}

    return await heavy(request, rows)


@router.get("/runs/{run_id}/files", summary="List a run's output files")
def list_files(request: Request, run_id: str) -> list[dict[str, Any]]:
    """Return every published file of the run (``manifest.json``) and the run log, grouped (``group``: report,
    maps, tables, run) in that order, the workbook and the report first; internal files are never listed."""
    out_dir = run_dir(request, get_run(request, run_id)).resolve()
    return downloads.run_files(out_dir)


@router.get(
    "/runs/{run_id}/archive.zip",
    summary="Download all the run's files as one zip",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "Zip archive, streamed"}},
)
def download_all(request: Request, run_id: str) -> StreamingResponse:
    """Stream every file of :func:`list_files` as one zip (read from the run folder only, built as it is sent)."""
    run = get_run(request, run_id)
    out_dir = run_dir(request, run).resolve()
    files = downloads.run_files(out_dir)
    if not files:
        raise WebError(404, f"run {run_id!r} has no published file yet")
    name = f"openldn-run-{run_id}"
    return StreamingResponse(
        downloads.zip_stream(out_dir, files, name), media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}.zip"'},
    )


@router.get(
    "/runs/{run_id}/files/{path:path}",
    summary="Download an output file",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file"}},
)
def download(request: Request, run_id: str, path: str) -> FileResponse:
    """Download one file of the run; paths outside the run folder are refused."""
    out_dir = run_dir(request, get_run(request, run_id))
    target = safe_join(out_dir, path)
    if not target.is_file():
        raise WebError(404, f"file {path!r} is not among the run's outputs")
    media = _MEDIA.get(target.suffix.lower(), "application/octet-stream")
    inline = target.suffix.lower() in (".html", ".png", ".json", ".csv", ".log")
    return FileResponse(
        target, media_type=media, filename=target.name, content_disposition_type="inline" if inline else "attachment"
    )
