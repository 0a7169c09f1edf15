"""Drought monitoring in the web app: the latest bulletins and alerts written by ``openldn monitor``.

Bulletins are read from ``<data folder>/monitoring/<name>/``: each ``<name>`` folder is the ``--out`` folder of
``openldn monitor`` (``latest.json``, ``<YYYY-MM>/bulletin.json`` and its maps, charts and tables). ``router``
serves the JSON under ``/api/monitoring`` (token-protected like the rest of the API); ``page_router`` serves the
page ``/monitor`` and its script and style (from ``web/frontend``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response

from openldn.web.errors import WebError
from openldn.web.routes.deps import settings
from openldn.web.security import inside, require_token, safe_join

__all__ = ["MONITORING_DIR", "page_router", "router"]

#: Sub-folder of the data folder holding the monitoring output folders.
MONITORING_DIR = "monitoring"
FRONTEND = Path(__file__).resolve().parents[1] / "frontend"
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_MEDIA = {".png": "image/png", ".json": "application/json", ".csv": "text/csv", ".html": "text/html",
          ".pdf": "application/pdf", ".tif": "image/tiff"}

router = APIRouter(prefix="/api/monitoring", tags=["monitoring"], dependencies=[Depends(require_token)])
page_router = APIRouter(include_in_schema=False)


def _root(request: Request) -> Path:
    path = settings(request).root / MONITORING_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def _folder(request: Request, name: str) -> Path:
    if not _NAME.match(name):
        raise WebError(404, f"monitoring folder {name!r} does not exist")
    root = _root(request)
    folder = root / name
    if not folder.is_dir() or not inside(root, folder):
        raise WebError(404, f"monitoring folder {name!r} does not exist")
    return folder


def _months(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if _MONTH.match(p.name) and (p / "bulletin.json").is_file())


def _read_json(path: Path, root: Path) -> dict[str, Any]:
    if not path.is_file() or not inside(root, path):
        raise WebError(404, f"{path.name} is not available")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise WebError(409, f"{path.name} cannot be read ({type(err).__name__}); run openldn monitor again") from err
    if not isinstance(doc, dict):
        raise WebError(409, f"{path.name} is not a bulletin")
    return doc


def _latest_month(folder: Path) -> str | None:
    months = _months(folder)
    latest = folder / "latest.json"
    if latest.is_file():
        try:
            m = json.loads(latest.read_text(encoding="utf-8")).get("month")
        except (OSError, ValueError):
            m = None
        if isinstance(m, str) and m in months:
            return m
    return months[-1] if months else None


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    units = [u for u in doc.get("units", []) if u.get("zone_id") != "ALL"]
    levels = doc.get("rules", {}).get("levels", [])
    counts = {lv["key"]: sum(1 for u in units if u.get("level") == lv["code"]) for lv in levels}
    return {"name": doc.get("name"), "month": doc.get("month"), "index": doc.get("index"), "units": len(units),
            "counts": counts, "text": doc.get("text", [])}


@router.get("", summary="List the monitoring folders and their latest bulletin")
def list_monitoring(request: Request) -> list[dict[str, Any]]:
    """Return, for every folder under ``<data>/monitoring``, its months and a summary of the latest bulletin."""
    root = _root(request)
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and _NAME.match(p.name)):
        if not inside(root, folder):
            continue
        month = _latest_month(folder)
        if month is None:
            continue
        doc = _read_json(folder / month / "bulletin.json", root)
        out.append({"folder": folder.name, "months": _months(folder), "latest": _summary(doc)})
    return out


@router.get("/{name}", summary="A bulletin (the latest by default)")
def bulletin(
    request: Request,
    name: str,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM; default the latest")] = None,
) -> dict[str, Any]:
    """Return ``bulletin.json`` of a month: units with their level, shares, people by sex, index values,
    histories, data notes and the rule set."""
    folder = _folder(request, name)
    month = month or _latest_month(folder)
    if month is None or month not in _months(folder):
        raise WebError(404, f"no bulletin for {month or 'any month'} in {name!r}")
    doc = _read_json(folder / month / "bulletin.json", _root(request))
    doc["months_available"] = _months(folder)
    return doc


@router.get("/{name}/files/{path:path}", summary="A file of a bulletin (map, chart, table, HTML, PDF)",
            response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}, "description": "The file"}})
def bulletin_file(request: Request, name: str, path: str) -> FileResponse:
    """Return one file of a monitoring folder; paths outside it are refused."""
    folder = _folder(request, name)
    target = safe_join(folder, path)
    if not target.is_file() or target.suffix.lower() not in _MEDIA:
        raise WebError(404, f"file {path!r} is not among the bulletin's outputs")
    return FileResponse(target, media_type=_MEDIA[target.suffix.lower()], filename=target.name,
                        content_disposition_type="inline" if target.suffix.lower() != ".tif" else "attachment")


@page_router.get("/monitor")
def monitor_page() -> FileResponse:
    """The drought monitoring page."""
    return FileResponse(FRONTEND / "monitor.html", media_type="text/html")


@page_router.get("/monitor/{asset}")
def monitor_asset(asset: str) -> FileResponse:
    """Script and style of the monitoring page."""
    media = {"monitor.js": "text/javascript", "monitor.css": "text/css"}.get(asset)
    if media is None:
        raise WebError(404, f"{asset!r} does not exist")
    return FileResponse(FRONTEND / asset, media_type=media)
