"""A local STAC API (and static catalogue) on 127.0.0.1 serving small COGs made by the tests.

The server implements what pystac-client and GDAL need: a landing page with the item-search conformance class,
``/collections/{id}``, ``GET``/``POST /search`` (collections, bbox, datetime, the query extension's ``eq``, paging
with ``limit`` and a ``next`` link), a static catalogue under ``/static/`` (pystac JSON with relative links), and
files under ``/data/`` with HTTP Range support. A file name registered in ``server.flaky`` is cut after the given
number of bytes on its first download; ``server.log`` records every request (path, method, Range header).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import rasterio
import rasterio.shutil
from rasterio.transform import from_origin

# grid of every test raster: 0.01 degree cells over [10, -1] - [14, 1] (400 x 200 cells)
WEST, NORTH, RES = 10.0, 1.0, 0.01
WIDTH, HEIGHT = 400, 200
LC_YEARS = [2000, 2001, 2002, 2003]
NDVI_DATES = [(1, 1), (4, 1), (7, 1), (10, 1)]
NDVI_TERRA = [0.2, 0.4, 0.6, 0.4]  # per date, 2001; 2002 = + 0.1
NDVI_AQUA = 0.9


def lc_array(year: int) -> np.ndarray:
    """Land cover of ``year``: ESA CCI codes in vertical stripes, shifted by the year; 0 (nodata) in one column."""
    codes = np.array([10, 50, 130, 190, 210], dtype="uint8")
    cols = (np.arange(WIDTH) // 10 + (year - 2000)) % len(codes)
    out = np.broadcast_to(codes[cols], (HEIGHT, WIDTH)).copy()
    out[:, 150] = 0
    return out


def ndvi_array(value: float, *, gap: bool = False) -> np.ndarray:
    """NDVI x 10000 (int16) filled with ``value``; -3000 (nodata) in the top-left 10 x 10 block when ``gap``."""
    out = np.full((HEIGHT, WIDTH), round(value * 10000), dtype="int16")
    if gap:
        out[:10, :10] = -3000
    return out


def pop_array() -> np.ndarray:
    """Population counts: 1 + column index / 100 (float32)."""
    return np.broadcast_to((1 + np.arange(WIDTH) / 100).astype("float32"), (HEIGHT, WIDTH)).copy()


def soc_array() -> np.ndarray:
    """SOC t/ha (int16): 40 + row index."""
    return np.broadcast_to((40 + np.arange(HEIGHT)).astype("int16")[:, None], (HEIGHT, WIDTH)).copy()


def write_cog(path: Path, arr: np.ndarray, *, nodata: float | None) -> None:
    """Write a small tiled COG (128 x 128 blocks) on the test grid."""
    tmp = path.with_suffix(".tmp.tif")
    with rasterio.open(
        tmp, "w", driver="GTiff", width=WIDTH, height=HEIGHT, count=1, dtype=arr.dtype, crs="EPSG:4326",
        transform=from_origin(WEST, NORTH, RES, RES), nodata=nodata,
    ) as dst:
        dst.write(arr, 1)
    rasterio.shutil.copy(tmp, path, driver="COG", BLOCKSIZE="128", COMPRESS="NONE")
    tmp.unlink()


def _item(item_id: str, collection: str, when: dt.datetime, href: str, *, asset: str, extra: dict[str, Any],
          checksum: str | None = None, end: dt.datetime | None = None) -> dict[str, Any]:
    bbox = [WEST, NORTH - HEIGHT * RES, WEST + WIDTH * RES, NORTH]
    w, s, e, n = bbox
    props: dict[str, Any] = {"datetime": when.strftime("%Y-%m-%dT%H:%M:%SZ"), **extra}
    if end is not None:
        props["start_datetime"] = props["datetime"]
        props["end_datetime"] = end.strftime("%Y-%m-%dT%H:%M:%SZ")
    asset_doc: dict[str, Any] = {
        "href": href, "type": "image/tiff; application=geotiff; profile=cloud-optimized", "roles": ["data"],
        "proj:code": "EPSG:4326", "proj:shape": [HEIGHT, WIDTH], "proj:transform": [RES, 0, WEST, 0, -RES, NORTH],
    }
    if checksum:
        asset_doc["file:checksum"] = checksum
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
            "https://stac-extensions.github.io/file/v2.1.0/schema.json",
        ],
        "id": item_id,
        "collection": collection,
        "bbox": bbox,
        "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
        "properties": props,
        "links": [],
        "assets": {asset: asset_doc},
    }


@dataclass
class StacServer:
    """Handle on the running test server."""

    root: Path
    url: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)
    collections: dict[str, dict[str, Any]] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)
    flaky: dict[str, int] = field(default_factory=dict)
    served: dict[str, int] = field(default_factory=dict)
    down: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def api(self) -> str:
        return f"{self.url}/stac"

    def requests_to(self, prefix: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.log if r["path"].startswith(prefix)]

    def bytes_served(self, name: str) -> int:
        with self.lock:
            return self.served.get(name, 0)


def _intersects(a: list[float], b: list[float]) -> bool:
    return not (a[2] < b[0] or a[0] > b[2] or a[3] < b[1] or a[1] > b[3])


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _search(server: StacServer, params: dict[str, Any]) -> dict[str, Any]:
    colls = params.get("collections")
    if isinstance(colls, str):
        colls = colls.split(",")
    bbox = params.get("bbox")
    if isinstance(bbox, str):
        bbox = [float(v) for v in bbox.split(",")]
    lo = hi = None
    if params.get("datetime"):
        a, _, b = str(params["datetime"]).partition("/")
        lo = _parse(a) if a and a != ".." else None
        hi = _parse(b) if b and b != ".." else None
    query = params.get("query") or {}
    if isinstance(query, str):
        query = json.loads(query)
    hits = []
    for item in server.items:
        if colls and item["collection"] not in colls:
            continue
        if bbox and not _intersects(item["bbox"], bbox):
            continue
        when = _parse(item["properties"]["datetime"])
        if (lo and when < lo) or (hi and when > hi):
            continue
        if any(item["properties"].get(k) != cond.get("eq") for k, cond in query.items()):
            continue
        hits.append(item)
    limit = int(params.get("limit") or 10)
    start = int(params.get("token") or 0)
    page = hits[start : start + limit]
    links = []
    if start + limit < len(hits):
        body = {**params, "token": str(start + limit)}
        links.append({"rel": "next", "href": f"{server.api}/search", "method": "POST", "body": body,
                      "type": "application/geo+json"})
    return {"type": "FeatureCollection", "features": page, "links": links, "numberMatched": len(hits)}


def _handler(server: StacServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, doc: Any, status: int = 200) -> None:
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _record(self) -> str:
            path = urlsplit(self.path).path
            with server.lock:
                server.log.append({"method": self.command, "path": path, "range": self.headers.get("Range")})
            return path

        def do_HEAD(self) -> None:
            self._file(self._record(), head=True)

        def do_POST(self) -> None:
            path = self._record()
            if server.down:
                self._json({"error": "down"}, 503)
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if path == "/stac/search":
                self._json(_search(server, body))
            else:
                self._json({"error": "not found"}, 404)

        def do_GET(self) -> None:
            path = self._record()
            if server.down:
                self._json({"error": "down"}, 503)
                return
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            api = server.api
            if path in ("/stac", "/stac/"):
                self._json({
                    "type": "Catalog", "stac_version": "1.0.0", "id": "test-api", "description": "test STAC API",
                    "conformsTo": [
                        "https://api.stacspec.org/v1.0.0/core",
                        "https://api.stacspec.org/v1.0.0/item-search",
                        "https://api.stacspec.org/v1.0.0/item-search#query",
                        "https://api.stacspec.org/v1.0.0/collections",
                    ],
                    "links": [
                        {"rel": "self", "href": api, "type": "application/json"},
                        {"rel": "root", "href": api, "type": "application/json"},
                        {"rel": "search", "href": f"{api}/search", "method": "GET", "type": "application/geo+json"},
                        {"rel": "search", "href": f"{api}/search", "method": "POST", "type": "application/geo+json"},
                        {"rel": "data", "href": f"{api}/collections", "type": "application/json"},
                        *[{"rel": "child", "href": f"{api}/collections/{c}", "type": "application/json"}
                          for c in server.collections],
                    ],
                })
            elif path == "/stac/search":
                self._json(_search(server, query))
            elif path == "/stac/collections":
                self._json({"collections": list(server.collections.values()), "links": []})
            elif path.startswith("/stac/collections/"):
                cid = path.split("/")[3]
                if cid in server.collections:
                    self._json(server.collections[cid])
                else:
                    self._json({"error": "no collection"}, 404)
            else:
                self._file(path)

        def _file(self, path: str, head: bool = False) -> None:
            if server.down:
                self._json({"error": "down"}, 503)
                return
            target = (server.root / path.lstrip("/")).resolve()
            if not target.is_file() or server.root.resolve() not in target.parents:
                self._json({"error": "not found"}, 404)
                return
            data = target.read_bytes()
            size = len(data)
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            rng = self.headers.get("Range")
            start, end, status = 0, size - 1, 200
            if rng and rng.startswith("bytes=") and (self.headers.get("If-Range") in (None, etag)):
                a, _, b = rng[6:].partition("-")
                start = int(a) if a else max(size - int(b), 0)
                end = min(int(b), size - 1) if (a and b) else size - 1
                if start >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            body = data[start : end + 1]
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            if head:
                return
            name = target.name
            cut = server.flaky.pop(name, None) if start == 0 and len(body) == size else None
            if cut is not None:
                self.wfile.write(body[:cut])
                self.wfile.flush()
                with server.lock:
                    server.served[name] = server.served.get(name, 0) + cut
                self.close_connection = True
                return
            self.wfile.write(body)
            with server.lock:
                server.served[name] = server.served.get(name, 0) + len(body)

    return Handler


def build_catalogue(server: StacServer) -> None:
    """Write the COGs and the STAC items (API and static catalogue) of the test datasets."""
    data = server.root / "data"
    data.mkdir(parents=True, exist_ok=True)
    base = f"{server.url}/data"
    items: list[dict[str, Any]] = []
    # land cover: one annual item per year
    for year in LC_YEARS:
        write_cog(data / f"lc_{year}.tif", lc_array(year), nodata=0)
        items.append(_item(f"lc-{year}", "test-lc", dt.datetime(year, 1, 1), f"{base}/lc_{year}.tif",
                           asset="lccs_class", extra={}, end=dt.datetime(year, 12, 31, 23, 59, 59)))
    # NDVI: four composites per year, Terra and Aqua (Aqua must be filtered out by the query)
    for year in (2001, 2002):
        for (month, day), value in zip(NDVI_DATES, NDVI_TERRA, strict=True):
            v = value + (0.1 if year == 2002 else 0.0)
            name = f"ndvi_terra_{year}{month:02d}{day:02d}.tif"
            write_cog(data / name, ndvi_array(v, gap=(month == 7)), nodata=-3000)
            items.append(_item(f"ndvi-terra-{year}-{month:02d}", "test-ndvi", dt.datetime(year, month, day),
                               f"{base}/{name}", asset="NDVI", extra={"platform": "terra"}))
            aname = f"ndvi_aqua_{year}{month:02d}{day:02d}.tif"
            write_cog(data / aname, ndvi_array(NDVI_AQUA), nodata=-3000)
            items.append(_item(f"ndvi-aqua-{year}-{month:02d}", "test-ndvi", dt.datetime(year, month, day),
                               f"{base}/{aname}", asset="NDVI", extra={"platform": "aqua"}))
    # monthly precipitation 2001: value = month number (mm)
    for month in range(1, 13):
        name = f"precip_2001{month:02d}.tif"
        write_cog(data / name, np.full((HEIGHT, WIDTH), float(month), dtype="float32"), nodata=-9999)
        items.append(_item(f"precip-2001-{month:02d}", "test-precip", dt.datetime(2001, month, 1), f"{base}/{name}",
                           asset="rainfall", extra={}))
    # population: whole-file downloads with file:checksum; 2001 carries a wrong checksum
    for year in (2000, 2001):
        name = f"pop_{year}.tif"
        write_cog(data / name, pop_array() * (1 + (year - 2000)), nodata=-99999)
        digest = hashlib.sha256((data / name).read_bytes()).hexdigest()
        if year == 2001:
            digest = "0" * 64
        items.append(_item(f"pop-{year}", "test-pop", dt.datetime(year, 1, 1), f"{base}/{name}", asset="population",
                           extra={}, checksum="1220" + digest))
    # SOC (url source) and two parts of a summed count layer
    write_cog(data / "soc.tif", soc_array(), nodata=-32768)
    for part in ("a", "b"):
        write_cog(data / f"parts_{part}_2000.tif", pop_array(), nodata=-99999)
    server.items = items
    extent = {"spatial": {"bbox": [[WEST, NORTH - HEIGHT * RES, WEST + WIDTH * RES, NORTH]]},
              "temporal": {"interval": [["2000-01-01T00:00:00Z", "2003-12-31T23:59:59Z"]]}}
    for cid in ("test-lc", "test-ndvi", "test-precip", "test-pop"):
        server.collections[cid] = {
            "type": "Collection", "stac_version": "1.0.0", "id": cid, "description": cid, "license": "CC-BY-4.0",
            "extent": extent, "links": [{"rel": "self", "href": f"{server.api}/collections/{cid}"}],
        }
    # static catalogue (no /search): catalog.json -> test-lc/collection.json -> items
    static = server.root / "static"
    (static / "test-lc").mkdir(parents=True, exist_ok=True)
    lc_items = [it for it in items if it["collection"] == "test-lc"]
    (static / "catalog.json").write_text(json.dumps({
        "type": "Catalog", "stac_version": "1.0.0", "id": "static", "description": "static test catalogue",
        "links": [{"rel": "root", "href": "./catalog.json"}, {"rel": "child", "href": "./test-lc/collection.json"}],
    }))
    coll = {**server.collections["test-lc"], "links": [
        {"rel": "root", "href": "../catalog.json"}, {"rel": "parent", "href": "../catalog.json"},
        *[{"rel": "item", "href": f"./{it['id']}.json"} for it in lc_items]]}
    (static / "test-lc" / "collection.json").write_text(json.dumps(coll))
    for it in lc_items:
        doc = {**it, "links": [{"rel": "root", "href": "../catalog.json"},
                               {"rel": "collection", "href": "./collection.json"},
                               {"rel": "parent", "href": "./collection.json"}]}
        (static / "test-lc" / f"{it['id']}.json").write_text(json.dumps(doc))


def catalogue_extra(server: StacServer) -> dict[str, Any]:
    """A user catalogue (mapping) of test datasets pointing at the local server."""
    common = {"licence": "CC BY 4.0", "crs": "EPSG:4326", "resolution": RES, "publisher": "openldn tests"}
    return {"datasets": {
        "test_lc": {**common, "title": "Test land cover", "variable": "land_cover", "kind": "categorical",
                    "source": {"type": "stac", "api": server.api, "collection": "test-lc", "asset": "lccs_class"},
                    "temporal": "annual", "years": [2000, 2003], "units": "1", "nodata": 0, "legend": "esa_cci",
                    "dtype": "uint8",
                    "citation": "Test land cover (2026).", "doi": "10.0000/test.lc"},
        "test_lc_static": {**common, "title": "Test land cover, static catalogue", "variable": "land_cover",
                           "kind": "categorical",
                           "source": {"type": "stac", "api": f"{server.url}/static/catalog.json",
                                      "collection": "test-lc", "asset": "lccs_class"},
                           "temporal": "annual", "years": [2000, 2003], "units": "1", "nodata": 0,
                           "dtype": "uint8", "citation": "Test land cover (2026)."},
        "test_ndvi": {**common, "title": "Test NDVI composites", "variable": "ndvi", "kind": "continuous",
                      "source": {"type": "stac", "api": server.api, "collection": "test-ndvi", "asset": "NDVI",
                                 "query": {"platform": {"eq": "terra"}}},
                      "temporal": "composites", "composite": "mean", "years": [2001, 2002], "units": "1",
                      "scale": 0.0001, "nodata": -3000, "dtype": "int16", "citation": "Test NDVI (2026)."},
        "test_precip": {**common, "title": "Test monthly precipitation", "variable": "precipitation",
                        "source": {"type": "stac", "api": server.api, "collection": "test-precip",
                                   "asset": "rainfall"},
                        "temporal": "monthly", "years": [2001, 2001], "units": "mm month-1", "nodata": -9999,
                        "citation": "Test precipitation (2026)."},
        "test_pop": {**common, "title": "Test population", "variable": "population_total", "kind": "count",
                     "source": {"type": "stac", "api": server.api, "collection": "test-pop", "asset": "population"},
                     "temporal": "annual", "years": [2000, 2001], "units": "people", "nodata": -99999,
                     "access": "download", "citation": "Test population (2026)."},
        "test_soc": {**common, "title": "Test SOC", "variable": "soc",
                     "source": {"type": "url", "href": f"{server.url}/data/soc.tif"},
                     "temporal": "static", "units": "t ha-1", "nodata": -32768, "citation": "Test SOC (2026)."},
        "test_parts": {**common, "title": "Test summed parts", "variable": "population_female", "kind": "count",
                       "source": {"type": "url", "href": f"{server.url}/data/parts_{{part}}_{{year}}.tif",
                                  "parts": {"part": ["a", "b"]}},
                       "temporal": "annual", "years": [2000, 2000], "units": "people", "nodata": -99999,
                       "access": "download", "citation": "Test parts (2026)."},
    }}


@pytest.fixture(scope="session")
def stac_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StacServer]:
    """The running local STAC server (session scope: the COGs are made once)."""
    root = tmp_path_factory.mktemp("stac")
    server = StacServer(root=root)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    build_catalogue(server)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def catalog_extra(stac_server: StacServer) -> dict[str, Any]:
    """The test datasets as a user catalogue mapping."""
    return catalogue_extra(stac_server)


@pytest.fixture
def catalog(stac_server: StacServer) -> Any:
    """The package catalogue extended with the test datasets."""
    from openldn.catalog import load_catalog

    return load_catalog(catalogue_extra(stac_server))


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder, also set as OPENLDN_CACHE_DIR; fast HTTP retries."""
    path = tmp_path / "cache"
    monkeypatch.setenv("OPENLDN_CACHE_DIR", str(path))
    monkeypatch.setenv("OPENLDN_HTTP_RETRIES", "1")
    monkeypatch.setenv("OPENLDN_HTTP_BACKOFF", "0.01")
    monkeypatch.delenv("OPENLDN_CATALOG", raising=False)
    return path


AOI_BBOX = (10.205, 0.305, 10.395, 0.495)  # inside the test grid: about 19 x 19 cells


@pytest.fixture
def grid() -> SimpleNamespace:
    """Constants of the test grid and the array makers, for assertions."""
    return SimpleNamespace(aoi_bbox=AOI_BBOX, west=WEST, north=NORTH, res=RES, lc_array=lc_array)


@pytest.fixture
def assessment(tmp_path: Path, stac_server: StacServer, catalog: Any) -> Path:
    """A run file with catalogue inputs, a GeoJSON AOI and a local national input with metadata."""
    w, s, e, n = AOI_BBOX
    aoi = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": 1}, "geometry": {
        "type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}}]}
    (tmp_path / "aoi.geojson").write_text(json.dumps(aoi))
    (tmp_path / "climate.tif").write_bytes(b"national climate zones placeholder")
    text = """
name: Test country
baseline: 2000-2001
reporting: [2002-2003]
aoi: aoi.geojson
inputs:
  land_cover: {dataset: test_lc}
  ndvi: {dataset: test_ndvi, years: [2001, 2002], composite: integral}
  precipitation: {dataset: test_precip, years: [2001]}
  soc: {dataset: test_soc}
  climate_zones: {path: climate.tif, title: National climate zones, licence: CC BY 4.0,
                   citation: "Ministry (2024). Climate zones.", source: "https://example.org/cz"}
"""
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path
