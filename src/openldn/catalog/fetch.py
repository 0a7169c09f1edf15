"""Fetching catalogue datasets for an area and years into the local cache, and finding them again offline.

``fetch_dataset`` is the engine: search the STAC items (or expand the URL template), read only the area of interest
(window reads over HTTP with odc-stac / GDAL, or whole files downloaded with resume for ``access: download``),
build annual values (sub-annual composites -> mean / integral / max per year), apply scale, offset and nodata, and
write one tiled COG per request (one band per year, ``YYYY`` band descriptions; ``YYYY-MM`` for monthly data) with a
manifest recording the STAC items, checksums and citation.

``fetch_assessment`` does it for every ``{dataset: ...}`` input of a run file; ``resolve_input`` finds the cached
file of one input without any network access.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import yaml

from openldn.catalog._definitions import Catalog, DatasetDef, load_catalog
from openldn.catalog.cache import (
    DATA_FILE,
    MANIFEST,
    CacheEntry,
    cache_key,
    default_cache_dir,
    find_cached,
    read_entry,
    write_manifest,
)
from openldn.catalog.download import (
    ChecksumMismatchError,
    ProgressCallback,
    download_file,
    file_lock,
    sha256_file,
)
from openldn.exceptions import ConfigError, DataAccessError, OpenLDNWarning

__all__ = [
    "AssessmentRequest",
    "FetchRequest",
    "cached_entries",
    "fetch_assessment",
    "fetch_dataset",
    "fetched_input_spec",
    "make_request",
    "parse_years",
    "plan_assessment",
    "read_assessment_request",
    "resolve_input",
]

BBox = tuple[float, float, float, float]

#: Keys of an input spec understood by the catalogue (besides the lead's path/years/nodata/scale/offset/legend).
SPEC_KEYS = frozenset(
    {"dataset", "years", "bbox", "iso3", "composite", "crs", "resolution", "min_count", "season_months", "season_threshold",
     "path", "nodata", "scale", "offset", "legend", "variable", "title", "licence", "citation", "source", "doi"}
)  # fmt: skip


def _clean_url(url: str) -> str:
    """URL without query string or credentials (signed tokens must not leak into provenance)."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")) if parts.scheme else url


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def parse_years(value: Any, where: str) -> list[int] | None:
    """Years from ``2000-2015``, ``[2000, 2015, 2019]``, ``2019`` or a list of such items; None when absent."""
    if value is None:
        return None
    items = value if isinstance(value, list | tuple) else [value]
    out: set[int] = set()
    for item in items:
        text = str(item).strip()
        try:
            if "-" in text[1:]:
                a, b = (int(t) for t in text.split("-", 1))
                if a > b:
                    raise ValueError
                out.update(range(a, b + 1))
            else:
                out.add(int(text))
        except ValueError:
            raise ConfigError(f"{where}: years must look like 2000-2015 or [2000, 2015], got {item!r}.") from None
    return sorted(out)


@dataclass(frozen=True)
class FetchRequest:
    """What to fetch: a dataset over an area, for some years, on a grid.

    Parameters
    ----------
    dataset : str
        Catalogue id.
    bbox : tuple of float
        (west, south, east, north) in degrees (lon/lat), already buffered.
    years : tuple of int or None
        Calendar years (None for static data).
    crs, resolution : str, float
        Load grid.
    composite : str or None
        Annual aggregation of composites (openldn.core.annual.METHODS).
    params : dict
        Template parameters (``iso3``).
    min_count : int
        Minimum number of valid composites per year.
    """

    #: Catalogue id.
    dataset: str
    #: (west, south, east, north) in degrees.
    bbox: BBox
    #: Calendar years (None for static data).
    years: tuple[int, ...] | None
    #: CRS of the load grid.
    crs: str
    #: Cell size of the load grid.
    resolution: float
    #: Annual aggregation of composites.
    composite: str | None = None
    #: Template parameters, e.g. {"iso3": "KEN"}.
    params: Mapping[str, str] = field(default_factory=dict)
    #: Minimum number of valid composites per year.
    min_count: int = 1
    #: Growing season of ``season_months`` (first, last month) or ``season_threshold`` (fraction,).
    season: tuple[float, ...] | None = None

    def key(self, entry: DatasetDef) -> str:
        """Cache key of this request for ``entry``."""
        doc = asdict(self)
        if doc.get("season") is None:  # keys of requests without a season stay as they were
            doc.pop("season", None)
        doc["params"] = dict(self.params)
        doc["definition"] = entry.content_hash
        return cache_key(doc)


def _span(years: Sequence[int]) -> str:
    """``2021-2023`` for consecutive years, else a comma list."""
    ys = sorted(years)
    if len(ys) > 2 and ys[-1] - ys[0] == len(ys) - 1:
        return f"{ys[0]}-{ys[-1]}"
    return ", ".join(str(y) for y in ys)


def _round_bbox(bbox: Sequence[float], buffer: float) -> BBox:
    w, s, e, n = (float(v) for v in bbox)
    if not (w < e and s < n):
        raise ConfigError(f"bbox {list(bbox)} is empty: give [west, south, east, north] with west < east and south < north.")
    return (
        round(max(w - buffer, -180.0), 6),
        round(max(s - buffer, -90.0), 6),
        round(min(e + buffer, 180.0), 6),
        round(min(n + buffer, 90.0), 6),
    )


def make_request(
    entry: DatasetDef,
    spec: Mapping[str, Any],
    *,
    bbox: Sequence[float],
    run_years: Sequence[int] | None,
    where: str,
) -> FetchRequest:
    """Build the :class:`FetchRequest` of one input ``spec`` for ``entry``.

    Years: the spec's ``years``; else the run's years (baseline start to last reporting end) plus the entry's
    ``reference_years``; both clipped to the years the dataset has.
    """
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} for a catalogue input.")
    years: list[int] | None = None
    if entry.temporal != "static":
        assert entry.years is not None
        wanted = parse_years(spec.get("years"), where)
        if wanted is None:
            wanted = list(run_years or range(entry.years[0], entry.years[1] + 1))
            if entry.reference_years:
                wanted = sorted(set(wanted) | set(range(entry.reference_years[0], entry.reference_years[1] + 1)))
        years = [y for y in wanted if entry.years[0] <= y <= entry.years[1]]
        dropped = sorted(set(wanted) - set(years))
        if years and dropped:
            warnings.warn(
                f"{where}: dataset {entry.id} has years {entry.years[0]}-{entry.years[1]}; {_span(dropped)} not "
                "fetched (the run uses the closest years, or give national data for them).",
                OpenLDNWarning,
                stacklevel=2,
            )
        if not years:
            raise ConfigError(
                f"{where}: dataset {entry.id} has years {entry.years[0]}-{entry.years[1]}, none of {wanted[0]}-{wanted[-1]}; "
                "give other years or national data."
            )
    resolution = float(spec.get("resolution") or entry.resolution or 0)
    if resolution <= 0:
        raise ConfigError(f"{where}: dataset {entry.id} has no resolution: add 'resolution' to the input.")
    crs = str(spec.get("crs") or entry.crs)
    params: dict[str, str] = {}
    if spec.get("iso3"):
        params["iso3"] = str(spec["iso3"]).strip().upper()
    if entry.source.href and "{iso3}" in entry.source.href.lower() and "iso3" not in params:
        raise ConfigError(f"{where}: dataset {entry.id} is one file per country: add 'iso3: <ISO 3166 alpha-3 code>'.")
    composite = str(spec.get("composite") or entry.composite) if entry.temporal == "composites" else None
    from openldn.core.annual import METHODS

    if composite is not None and composite not in METHODS:
        raise ConfigError(f"{where}: composite must be one of {', '.join(METHODS)}, got {composite!r}.")
    season: tuple[float, ...] | None = None
    if composite == "season_months":
        if not spec.get("season_months"):
            raise ConfigError(f"{where}: composite season_months needs season_months: [first, last] (months 1-12).")
        season = tuple(float(m) for m in spec["season_months"])
    elif composite == "season_threshold":
        season = (float(spec.get("season_threshold") or 0.2),)
    buffer = 2 * resolution if crs.upper() in ("EPSG:4326", "OGC:CRS84") else 0.01
    return FetchRequest(
        dataset=entry.id,
        bbox=_round_bbox(bbox, buffer),
        years=tuple(years) if years is not None else None,
        crs=crs,
        resolution=resolution,
        composite=composite,
        params=params,
        min_count=int(spec.get("min_count") or 1),
        season=season,
    )


# --------------------------------------------------------------------------------------------------- loading


def _geobox(req: FetchRequest) -> Any:
    from odc.geo.geobox import GeoBox
    from odc.geo.geom import BoundingBox

    bbox = BoundingBox(*req.bbox, crs="EPSG:4326")
    if req.crs.upper() not in ("EPSG:4326", "OGC:CRS84"):
        bbox = bbox.to_crs(req.crs)
    return GeoBox.from_bbox(tuple(bbox), crs=req.crs, resolution=req.resolution)


def _gdal_env() -> dict[str, Any]:
    return {
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "GDAL_HTTP_MAX_RETRY": os.environ.get("GDAL_HTTP_MAX_RETRY", "4"),
        "GDAL_HTTP_RETRY_DELAY": os.environ.get("GDAL_HTTP_RETRY_DELAY", "1"),
        "GDAL_HTTP_TIMEOUT": os.environ.get("GDAL_HTTP_TIMEOUT", "60"),
        "VSI_CACHE": "TRUE",
    }


@dataclass
class _Loaded:
    """Bands (label -> 2-D array) plus what was read."""

    bands: dict[str, np.ndarray]
    items: list[dict[str, Any]]


class _PartStore:
    """Finished bands of an entry being fetched, kept in ``<entry>/.parts`` so an interrupted fetch resumes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, label: str) -> Path:
        return self.folder / f"{label or 'static'}.npy"

    def get(self, label: str) -> np.ndarray | None:
        path = self._path(label)
        if not path.is_file():
            return None
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
            return None

    def put(self, label: str, arr: np.ndarray) -> np.ndarray:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{label or 'static'}.{os.getpid()}.tmp.npy"
        np.save(tmp, arr, allow_pickle=False)
        os.replace(tmp, self._path(label))
        return arr

    def clear(self) -> None:
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)


def _to_physical(arr: np.ndarray, entry: DatasetDef, nodata: float | None) -> np.ndarray:
    if entry.kind == "categorical":
        return arr
    out = arr.astype("float32")
    if nodata is not None and not np.isnan(nodata):
        out[arr == nodata] = np.nan
    if entry.scale != 1.0 or entry.offset != 0.0:
        out = out * np.float32(entry.scale) + np.float32(entry.offset)
    return out


def _download_dir(cache_dir: Path, entry: DatasetDef) -> Path:
    return cache_dir / "downloads" / entry.id


def _download_name(url: str) -> str:
    import hashlib

    name = Path(urlsplit(url).path).name or "file"
    return f"{hashlib.sha256(_clean_url(url).encode()).hexdigest()[:10]}_{name}"


def _load_stac(entry: DatasetDef, req: FetchRequest, cache_dir: Path, progress: ProgressCallback | None,
               store: _PartStore) -> _Loaded:
    import odc.stac
    import rasterio.errors

    from openldn.catalog.stac import item_sha256, search_items

    asset = entry.source.asset
    assert asset is not None
    if progress:
        progress(f"{entry.id}: searching {entry.source.collection}", 0, None)
    items = search_items(entry, bbox=req.bbox, years=req.years)
    items = [it for it in items if asset in it.assets]
    if not items:
        span = f" for {req.years[0]}-{req.years[-1]}" if req.years else ""
        raise DataAccessError(
            f"dataset {entry.id}: no STAC item in {entry.source.collection} over bbox {list(req.bbox)}{span}: "
            "check the area, the years or the catalogue entry."
        )
    records = [
        {"id": it.id, "collection": it.collection_id, "datetime": str(it.datetime or it.properties.get("start_datetime")),
         "href": _clean_url(it.assets[asset].href)}
        for it in items
    ]
    local: dict[str, str] = {}
    if entry.access == "download":
        ddir = _download_dir(cache_dir, entry)
        for it in items:
            href = it.assets[asset].href
            target = ddir / _download_name(href)
            download_file(href, target, sha256=item_sha256(it, asset), dataset=entry.id, progress=progress)
            local[href] = str(target)
    geobox = _geobox(req)
    band_cfg: dict[str, Any] = {}
    if entry.nodata is not None:
        band_cfg["nodata"] = entry.nodata
    if entry.dtype:
        band_cfg["data_type"] = entry.dtype
    cfg = {"*": {"assets": {asset: band_cfg}}} if band_cfg else None
    odc.stac.configure_rio(cloud_defaults=True, **{k: v for k, v in _gdal_env().items()
                                                   if k.startswith("GDAL_HTTP")})
    try:
        ds = odc.stac.load(
            items,
            bands=[asset],
            geobox=geobox,
            resampling=entry.resampling,
            groupby=_utc_date,
            chunks={"x": 2048, "y": 2048},
            stac_cfg=cfg,
            patch_url=(lambda u: local.get(u, u)) if local else None,
        )
    except (rasterio.errors.RasterioError, OSError, RuntimeError) as err:
        raise DataAccessError(f"dataset {entry.id}: reading the assets failed ({_short(err)}): check the network.") from err
    da = ds[asset]
    nodata = entry.nodata if entry.nodata is not None else da.attrs.get("nodata")
    return _Loaded(bands=_bands_from_stack(da, entry, req, nodata, progress, store), items=records)


def _utc_date(item: Any, parsed: Any, idx: int) -> Any:
    """odc-stac group key: the item's nominal UTC date.

    Not "solar_day": an annual item stamped 2000-01-01T00:00Z is on 1999-12-31 in solar time west of Greenwich,
    which would label the year wrongly. Tiles of one composite share the nominal date, so they are mosaicked.
    """
    return parsed.nominal_datetime.astimezone(dt.UTC).date()


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:200]


def _compute(da: Any, entry: DatasetDef) -> np.ndarray:
    import rasterio.errors

    try:
        with _rio_env():
            return np.asarray(da.compute().values if hasattr(da, "compute") else da.values)
    except (rasterio.errors.RasterioError, OSError, RuntimeError) as err:
        raise DataAccessError(f"dataset {entry.id}: reading the data failed ({_short(err)}): check the network.") from err


def _rio_env() -> Any:
    import rasterio

    return rasterio.Env(**_gdal_env())


def _bands_from_stack(da: Any, entry: DatasetDef, req: FetchRequest, nodata: float | None,
                      progress: ProgressCallback | None, store: _PartStore) -> dict[str, np.ndarray]:
    import pandas as pd

    from openldn.catalog.composite import annual_composite

    times = pd.DatetimeIndex(da["time"].values)
    bands: dict[str, np.ndarray] = {}
    wanted = set(req.years or [])
    if entry.temporal == "static":
        done = store.get("")
        if done is None:
            done = store.put("", _to_physical(_compute(da.isel(time=0), entry), entry, nodata))
        return {"": done}
    if entry.temporal == "composites":
        keep = [i for i, t in enumerate(times) if t.year in wanted]
        years = sorted({times[i].year for i in keep})
        for n, year in enumerate(years):
            restored = store.get(str(year))
            if restored is not None:
                bands[str(year)] = restored
                continue
            sel = [i for i in keep if times[i].year == year]
            raw = da.isel(time=sel)
            phys = raw.astype("float32")  # lazy: the year's composites are reduced chunk by chunk
            if nodata is not None and not np.isnan(nodata):
                phys = phys.where(raw != nodata)
            if entry.scale != 1.0 or entry.offset != 0.0:
                phys = phys * np.float32(entry.scale) + np.float32(entry.offset)
            phys.attrs = {"units": entry.units}
            method = req.composite or "mean"
            months = tuple(int(m) for m in req.season) if method == "season_months" and req.season else None
            fraction = float(req.season[0]) if method == "season_threshold" and req.season else 0.2
            out = annual_composite(phys, method=method, min_count=req.min_count, months=months, fraction=fraction)
            bands[str(year)] = store.put(str(year), _compute(out.isel(time=0), entry).astype("float32"))
            if progress:
                progress(f"{entry.id}: annual {req.composite}", n + 1, len(years))
        return bands
    for n, t in enumerate(times):
        if t.year not in wanted:
            continue
        label = f"{t.year}" if entry.temporal == "annual" else f"{t.year}-{t.month:02d}"
        if label in bands:  # several items per year/month: keep the first
            continue
        restored = store.get(label)
        if restored is not None:
            bands[label] = restored
            continue
        raw = _compute(da.isel(time=n), entry)
        bands[label] = store.put(label, _to_physical(raw, entry, nodata))
        if progress:
            progress(f"{entry.id}: reading", n + 1, len(times))
    return bands


def _expand_parts(entry: DatasetDef) -> Iterator[dict[str, Any]]:
    parts = entry.source.parts or {}
    keys = list(parts)
    for combo in itertools.product(*(parts[k] for k in keys)):
        yield dict(zip(keys, combo, strict=True))


def _read_warped(href: str, geobox: Any, entry: DatasetDef) -> tuple[np.ndarray, float | None]:
    import rasterio
    import rasterio.errors
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    h, w = geobox.shape
    try:
        with _rio_env(), rasterio.open(href) as src:
            nodata = entry.nodata if entry.nodata is not None else src.nodata
            fill = nodata if nodata is not None else 0
            with WarpedVRT(
                src, crs=str(geobox.crs), transform=geobox.transform, width=w, height=h,
                resampling=Resampling[entry.resampling], src_nodata=nodata, nodata=fill,
            ) as vrt:
                return vrt.read(1), fill
    except (rasterio.errors.RasterioError, OSError) as err:
        raise DataAccessError(f"dataset {entry.id}: cannot read {_clean_url(href)} ({_short(err)}): check the network.") from err


def _load_url(entry: DatasetDef, req: FetchRequest, cache_dir: Path, progress: ProgressCallback | None,
              store: _PartStore) -> _Loaded:
    assert entry.source.href is not None
    geobox = _geobox(req)
    periods: list[int | None] = list(req.years) if req.years is not None else [None]
    bands: dict[str, np.ndarray] = {}
    records: list[dict[str, Any]] = []
    parts = list(_expand_parts(entry))
    total = len(periods) * len(parts)
    done = 0
    for year in periods:
        label = str(year) if year is not None else ""
        acc: np.ndarray | None = store.get(label)
        restored = acc is not None
        for part in parts:
            fields = {**part, **req.params, "year": year}
            if "iso3" in req.params:
                fields.update(iso3=req.params["iso3"].lower(), ISO3=req.params["iso3"].upper())
            try:
                href = entry.source.href.format(**fields)
            except KeyError as err:
                raise ConfigError(f"dataset {entry.id}: the URL template needs {{{err.args[0]}}}: add it to the input.") from err
            records.append({"id": Path(urlsplit(href).path).name, "href": _clean_url(href),
                            "datetime": str(year) if year else None})
            done += 1
            if restored:
                continue
            src = href
            if entry.access == "download":
                target = _download_dir(cache_dir, entry) / _download_name(href)
                download_file(href, target, dataset=entry.id, progress=progress)
                src = str(target)
            raw, nodata = _read_warped(src, geobox, entry)
            phys = _to_physical(raw, entry, nodata)
            acc = phys if entry.kind == "categorical" else phys if acc is None else acc + phys
            if progress:
                progress(f"{entry.id}: reading", done, total)
        assert acc is not None
        bands[label] = acc if restored else store.put(label, acc)
    return _Loaded(bands=bands, items=records)


# --------------------------------------------------------------------------------------------------- writing


def _write_cog(path: Path, bands: Mapping[str, np.ndarray], geobox: Any, entry: DatasetDef,
               tags: Mapping[str, Any]) -> None:
    import rasterio
    import rasterio.shutil

    first = next(iter(bands.values()))
    categorical = entry.kind == "categorical"
    dtype = str(first.dtype) if categorical else "float32"
    nodata = (entry.nodata if entry.nodata is not None else 0) if categorical else float("nan")
    h, w = first.shape
    tmp = path.with_name(f".{path.name}.{os.getpid()}.gtiff.tmp")
    tmp_cog = path.with_name(f".{path.name}.{os.getpid()}.cog.tmp")
    try:
        with _rio_env(), rasterio.open(
            tmp, "w", driver="GTiff", width=w, height=h, count=len(bands), dtype=dtype, crs=str(geobox.crs),
            transform=geobox.transform, nodata=nodata, tiled=True, blockxsize=256, blockysize=256,
            compress="deflate", BIGTIFF="IF_SAFER",
        ) as dst:
            for i, (label, arr) in enumerate(bands.items(), start=1):
                dst.write(arr.astype(dtype, copy=False), i)
                if label:
                    dst.set_band_description(i, label)
                    key = "MONTH" if len(label) == 7 else "YEAR"
                    dst.update_tags(i, **{key: label})
            dst.update_tags(**{k: str(v) for k, v in tags.items()})
        with _rio_env():
            rasterio.shutil.copy(tmp, tmp_cog, driver="COG", COMPRESS="DEFLATE", BLOCKSIZE="256", BIGTIFF="IF_SAFER")
        os.replace(tmp_cog, path)
    finally:
        tmp.unlink(missing_ok=True)
        tmp_cog.unlink(missing_ok=True)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("openldn")
    except Exception:  # pragma: no cover - not installed
        return "unknown"


def fetch_dataset(
    entry: DatasetDef,
    request: FetchRequest,
    *,
    cache_dir: str | Path | None = None,
    offline: bool = False,
    force: bool = False,
    progress: ProgressCallback | None = None,
    command: str = "openldn fetch ASSESSMENT.yaml",
) -> CacheEntry:
    """Fetch one dataset for one request into the cache (or return the cached copy).

    Parameters
    ----------
    entry : DatasetDef
        The catalogue entry.
    request : FetchRequest
        Area, years and grid.
    cache_dir : path, optional
        Cache folder (default :func:`openldn.catalog.cache.default_cache_dir`).
    offline : bool
        Never use the network: return the cached entry or raise.
    force : bool
        Fetch again even when cached.
    progress : callable, optional
        ``progress(description, done, total_or_None)``.
    command : str
        The command quoted in the "not cached" error.

    Returns
    -------
    CacheEntry
        The COG and its manifest.

    Raises
    ------
    DataAccessError
        Offline and not cached, the source cannot be reached, or no data was found.
    ChecksumMismatchError
        Offline and the cached file is corrupt, or a download does not match its STAC checksum.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = request.key(entry)
    folder = cache / "datasets" / entry.id / key
    if not force:
        try:
            hit = read_entry(folder, verify=True)
        except ChecksumMismatchError:
            if offline:
                raise
            hit = None
        if hit is not None:
            return hit
    if offline:
        span = f" for {request.years[0]}-{request.years[-1]}" if request.years else ""
        raise DataAccessError(
            f"dataset {entry.id} is not cached for this area{span} and the network is off: run `{command}` "
            "with network access first."
        )
    folder.mkdir(parents=True, exist_ok=True)
    with file_lock(folder / ".lock"):
        if not force:  # another process may have fetched it while we waited for the lock
            try:
                hit = read_entry(folder, verify=True)
            except ChecksumMismatchError:
                hit = None
            if hit is not None:
                return hit
        else:  # finished bands of an interrupted fetch are not reused either
            _PartStore(folder / ".parts").clear()
        (folder / MANIFEST).unlink(missing_ok=True)  # no valid-looking entry while the data file is rewritten
        return _fetch_into(entry, request, folder, key, cache, progress)


def _fetch_into(entry: DatasetDef, request: FetchRequest, folder: Path, key: str, cache: Path,
                progress: ProgressCallback | None) -> CacheEntry:
    store = _PartStore(folder / ".parts")
    loaded = _load_url(entry, request, cache, progress, store) if entry.source.type == "url" else \
        _load_stac(entry, request, cache, progress, store)
    if not loaded.bands:
        raise DataAccessError(f"dataset {entry.id}: no data for the requested years: check the years or the catalogue.")
    labels = list(loaded.bands)
    got_years = sorted({int(lb[:4]) for lb in labels if lb})
    missing = sorted(set(request.years or []) - set(got_years))
    path = folder / DATA_FILE
    tags = {"openldn_dataset": entry.id, "units": entry.units, "licence": entry.licence, "citation": entry.citation}
    if entry.legend:
        tags["legend"] = entry.legend
    if request.composite:
        tags["annual_composite"] = request.composite
    _write_cog(path, loaded.bands, _geobox(request), entry, tags)
    manifest = {
        "openldn_cache": 1,
        "openldn_version": _version(),
        "dataset": entry.id,
        "key": key,
        "file": DATA_FILE,
        "sha256": sha256_file(path),
        "size": path.stat().st_size,
        "created": _now(),
        "request": {**asdict(request), "params": dict(request.params)},
        "years": got_years,
        "missing_years": missing,
        "bands": labels,
        "units": entry.units,
        "kind": entry.kind,
        "legend": entry.legend,
        "source": {k: v for k, v in asdict(entry.source).items() if v is not None},
        "items": loaded.items,
        "metadata": entry.metadata(),
        "definition_sha256": entry.content_hash,
        "definition_origin": entry.origin,
    }
    write_manifest(folder, manifest)
    store.clear()
    return CacheEntry(path=path, manifest=manifest)


# --------------------------------------------------------------------------------------------------- run files


@dataclass(frozen=True)
class AssessmentRequest:
    """What a run file asks the catalogue for.

    Parameters
    ----------
    path : Path
        The run file.
    base_dir : Path
        Folder relative paths are resolved against.
    bbox : tuple of float or None
        Lon/lat bounds of the area of interest.
    run_years : list of int
        Baseline start to last reporting end.
    inputs : dict
        Every input spec by name.
    """

    #: The run file.
    path: Path
    #: Folder relative paths are resolved against.
    base_dir: Path
    #: Lon/lat bounds of the area of interest (None when the run file has neither aoi nor bbox).
    bbox: BBox | None
    #: Baseline start to last reporting end.
    run_years: list[int]
    #: Every input spec by name.
    inputs: Mapping[str, Mapping[str, Any]]
    #: The parsed run file.
    doc: Mapping[str, Any]

    def dataset_inputs(self) -> dict[str, Mapping[str, Any]]:
        """The inputs given as ``{dataset: ...}``."""
        return {k: v for k, v in self.inputs.items() if isinstance(v, Mapping) and v.get("dataset")}


def aoi_bbox(path: str | Path) -> BBox:
    """Lon/lat bounds (west, south, east, north) of a vector file."""
    import geopandas as gpd

    p = Path(path)
    if not p.exists():
        raise ConfigError(f"area of interest {p} does not exist: check 'aoi' in the run file.")
    try:
        gdf = gpd.read_file(p)
    except Exception as err:
        raise ConfigError(f"area of interest {p} cannot be read ({_short(err)}): give a GeoPackage or GeoJSON.") from err
    if gdf.empty:
        raise ConfigError(f"area of interest {p} has no features.")
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    w, s, e, n = (float(v) for v in gdf.total_bounds)
    return (w, s, e, n)


def read_assessment_request(assessment: str | Path) -> AssessmentRequest:
    """Parse the parts of a run file the catalogue needs (aoi, periods, inputs) without validating the rest.

    Raises
    ------
    ConfigError
        Unreadable YAML, a bad period or a missing area of interest.
    """
    from openldn.core.periods import Period
    from openldn.core.vocab import load_preset

    path = Path(assessment).expanduser()
    if not path.is_file():
        raise ConfigError(f"run file {path} does not exist: check the path.")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: fix the syntax.") from err
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{path}: a run file must be a YAML mapping.")
    base = path.resolve().parent
    preset = load_preset(str(doc.get("preset", "prais_2026_te")))
    baseline = doc.get("baseline", preset.get("baseline", "2000-2015"))
    reporting = doc.get("reporting", preset.get("reporting", []))
    if isinstance(reporting, str):
        reporting = [reporting]
    periods = [Period.from_user_input(str(p)) for p in [baseline, *reporting]]
    run_years = list(range(min(p.start for p in periods), max(p.end for p in periods) + 1))
    bbox: BBox | None = None
    if doc.get("bbox") is not None:
        bbox = tuple(float(v) for v in doc["bbox"])  # type: ignore[assignment]
    elif doc.get("aoi"):
        bbox = aoi_bbox(base / str(doc["aoi"]))
    elif isinstance(doc.get("zones"), Mapping) and doc["zones"].get("path"):
        bbox = aoi_bbox(base / str(doc["zones"]["path"]))
    inputs = doc.get("inputs") or {}
    if not isinstance(inputs, Mapping):
        raise ConfigError(f"{path}: 'inputs' must be a mapping of input name -> {{path: ...}} or {{dataset: ...}}.")
    return AssessmentRequest(path=path, base_dir=base, bbox=bbox, run_years=run_years, inputs=dict(inputs), doc=doc)


def _request_for(name: str, spec: Mapping[str, Any], req: AssessmentRequest, catalog: Catalog) -> tuple[DatasetDef, FetchRequest]:
    where = f"{req.path}: input '{name}'"
    entry = catalog[str(spec["dataset"])]
    bbox = spec.get("bbox") or req.bbox
    if bbox is None:
        raise ConfigError(f"{where}: no area of interest: add 'aoi: <vector file>' (or 'bbox') to the run file.")
    return entry, make_request(entry, spec, bbox=bbox, run_years=req.run_years, where=where)


def fetch_assessment(
    assessment_path: str | Path,
    *,
    cache_dir: str | Path | None = None,
    catalog: Catalog | str | Path | None = None,
    progress: ProgressCallback | None = None,
    offline: bool = False,
    force: bool = False,
) -> dict[str, Path]:
    """Fetch every ``{dataset: ...}`` input of a run file into the cache.

    Parameters
    ----------
    assessment_path : path
        The run file (YAML).
    cache_dir : path, optional
        Cache folder (default ``$OPENLDN_CACHE_DIR`` or ``~/.cache/openldn``).
    catalog : Catalog or path, optional
        The catalogue, or a user catalogue file extending the package one.
    progress : callable, optional
        ``progress(description, done, total_or_None)``.
    offline : bool
        Use only the cache; a missing dataset raises :class:`DataAccessError` naming the fetch command.
    force : bool
        Fetch again even when cached.

    Returns
    -------
    dict of str to Path
        Local COG of each fetched input, by input name.
    """
    req = read_assessment_request(assessment_path)
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    out: dict[str, Path] = {}
    command = f"openldn fetch {req.path}"
    for name, spec in req.dataset_inputs().items():
        entry, freq = _request_for(name, spec, req, cat)
        out[name] = fetch_dataset(entry, freq, cache_dir=cache_dir, offline=offline, force=force,
                                  progress=progress, command=command).path
    return out


def plan_assessment(
    assessment_path: str | Path,
    *,
    cache_dir: str | Path | None = None,
    catalog: Catalog | str | Path | None = None,
    search: bool = False,
) -> list[dict[str, Any]]:
    """What ``openldn fetch`` would do for a run file, without downloading anything.

    Parameters
    ----------
    assessment_path : path
        The run file.
    cache_dir : path, optional
        Cache folder.
    catalog : Catalog or path, optional
        The catalogue, or a user catalogue file.
    search : bool
        Also search the STAC API (network) and count the matching items of each STAC dataset.

    Returns
    -------
    list of dict
        One row per ``{dataset: ...}`` input: ``input``, ``dataset``, ``years``, ``bbox``, ``key``, ``cached``
        (bool), ``path`` (when cached), and ``items`` (int, when ``search``; None for URL sources).
    """
    from openldn.catalog.stac import search_items

    req = read_assessment_request(assessment_path)
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    rows = []
    for name, spec in req.dataset_inputs().items():
        entry, freq = _request_for(name, spec, req, cat)
        key = freq.key(entry)
        try:
            hit = read_entry(cache / "datasets" / entry.id / key, verify=False)
        except ChecksumMismatchError:  # pragma: no cover - verify=False never raises
            hit = None
        row: dict[str, Any] = {
            "input": name, "dataset": entry.id, "years": list(freq.years) if freq.years else None,
            "bbox": list(freq.bbox), "key": key, "cached": hit is not None,
            "path": str(hit.path) if hit is not None else None,
        }
        if search:
            row["items"] = (len(search_items(entry, bbox=freq.bbox, years=freq.years))
                            if entry.source.type == "stac" else None)
        rows.append(row)
    return rows


def cached_entries(
    assessment_path: str | Path, *, cache_dir: str | Path | None = None, catalog: Catalog | str | Path | None = None
) -> dict[str, CacheEntry]:
    """Cache entries of a run file's ``{dataset: ...}`` inputs, offline (raises when one is missing)."""
    req = read_assessment_request(assessment_path)
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    out = {}
    for name, spec in req.dataset_inputs().items():
        entry, freq = _request_for(name, spec, req, cat)
        out[name] = fetch_dataset(entry, freq, cache_dir=cache_dir, offline=True, command=f"openldn fetch {req.path}")
    return out


def resolve_input(
    spec: Mapping[str, Any],
    *,
    base_dir: str | Path,
    cache_dir: str | Path | None = None,
    aoi: str | Path | Sequence[float] | None = None,
    run_years: Sequence[int] | None = None,
    catalog: Catalog | None = None,
    assessment: str = "ASSESSMENT.yaml",
) -> Path:
    """Local file of one input: its ``path``, or the cached COG of its ``dataset`` (never uses the network).

    Parameters
    ----------
    spec : mapping
        The input spec from the run file (``{path: ...}`` or ``{dataset: ..., years: ...}``).
    base_dir : path
        Folder relative paths are resolved against (the run file's folder).
    cache_dir : path, optional
        Cache folder.
    aoi : path or bbox, optional
        Area of interest (vector file relative to ``base_dir``, or lon/lat bbox). With ``run_years`` (or years in
        the spec) it selects the exact entry ``openldn fetch`` made; otherwise, or when that entry is missing, the
        newest cached entry of the dataset that covers the area and the years is used. Without an area, the newest
        entry covering the years is used: pass ``aoi`` when several areas are cached.
    run_years : sequence of int, optional
        Baseline start to last reporting end (used when the spec has no years).
    catalog : Catalog, optional
        The catalogue.
    assessment : str
        Run file name quoted in the error message.

    Returns
    -------
    Path

    Raises
    ------
    DataAccessError
        The dataset is not cached: the message names it and the `openldn fetch` command.
    """
    base = Path(base_dir)
    if spec.get("path") is not None:
        value = spec["path"]
        if not isinstance(value, str | Path):
            raise ConfigError("resolve_input handles a single path; lists and globs are read by openldn.io.")
        p = Path(value).expanduser()
        return p if p.is_absolute() else base / p
    if not spec.get("dataset"):
        raise ConfigError("input needs 'path' or 'dataset'.")
    cat = catalog or load_catalog()
    entry = cat[str(spec["dataset"])]
    command = f"openldn fetch {assessment}"
    bbox: BBox | None = None
    if spec.get("bbox") is not None:
        bbox = tuple(float(v) for v in spec["bbox"])  # type: ignore[assignment]
    elif aoi is not None:
        bbox = aoi_bbox(base / Path(aoi)) if isinstance(aoi, str | Path) else tuple(float(v) for v in aoi)  # type: ignore[assignment]
    years = parse_years(spec.get("years"), f"input {entry.id}")
    exact = bbox is not None and (run_years is not None or years is not None or entry.temporal == "static")
    if exact:
        with warnings.catch_warnings():  # the same warning was given by `openldn fetch`
            warnings.simplefilter("ignore", OpenLDNWarning)
            freq = make_request(entry, spec, bbox=bbox, run_years=run_years, where=f"input {entry.variable}")
        try:
            return fetch_dataset(entry, freq, cache_dir=cache_dir, offline=True, command=command).path
        except ChecksumMismatchError:
            raise
        except DataAccessError:
            pass  # an entry fetched for a larger area or more years may still cover this input
        years = list(freq.years) if freq.years else None
    elif years and entry.years:
        years = [y for y in years if entry.years[0] <= y <= entry.years[1]]
    params = {"iso3": str(spec["iso3"]).upper()} if spec.get("iso3") else {}
    hit = find_cached(entry.id, cache_dir=Path(cache_dir) if cache_dir else None, bbox=bbox, years=years,
                      params=params)
    if hit is None:
        raise DataAccessError(f"dataset {entry.id} is not cached: run `{command}` with network access first.")
    return hit.path


def fetched_input_spec(spec: Mapping[str, Any], path: str | Path, *, catalog: Catalog | None = None) -> dict[str, Any]:
    """The ``{path: ...}`` input spec that replaces a ``{dataset: ...}`` spec once fetched.

    The cached file holds physical values (scale and offset applied, nodata declared, years in the band
    descriptions), so only ``path`` and, for categorical data, ``legend`` are set.
    """
    cat = catalog or load_catalog()
    entry = cat[str(spec["dataset"])]
    out: dict[str, Any] = {"path": str(path)}
    legend = spec.get("legend") or entry.legend
    if legend:
        out["legend"] = legend
    return out

