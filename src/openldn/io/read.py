"""Reading rasters (GeoTIFF/COG, NetCDF, Zarr) lazily and vector files with validation.

Rasters come back as :class:`xarray.DataArray` with dims ``(time, y, x)`` (annual stacks at 1 January, monthly
stacks at the 1st of the month) or ``(y, x)`` (static layers), dask-backed, with the CRS and transform written by
rioxarray. The time axis is read from the band descriptions or ``YEAR``/``MONTH`` band tags of a multi-band file,
from the file names of a list of files, or from ``years=``.
"""

from __future__ import annotations

import functools
import glob as _glob
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from openldn.core.blocks import map_values
from openldn.exceptions import ConfigError, EmptyAOIError, GridMismatchError, InputFileError, MissingYearError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["open_raster", "parse_time_label", "read_vector", "wrap_longitudes"]

TimeMode = Literal["auto", "annual", "monthly", "static"]

_YEAR = re.compile(r"^\s*(\d{4})\s*$")
_MONTH = re.compile(r"^\s*(\d{4})[-_./](\d{1,2})\s*$")
_YEAR_IN_NAME = re.compile(r"(?<!\d)(1[89]\d{2}|2[01]\d{2})(?!\d)")
_DATE = re.compile(r"^\s*A?(\d{4})[-_./]?(\d{2})[-_./]?(\d{2})(?:T[\d:.]*Z?)?\s*$")
_DOY = re.compile(r"^\s*A?(\d{4})[-_./]?(\d{3})\s*$")
_DATE_IN_NAME = re.compile(r"(?<!\d)(1[89]\d{2}|2[01]\d{2})([-_.]?)(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?![\dA-Za-z])")
_DOY_IN_NAME = re.compile(r"(?<![\dA-Za-z])A?(1[89]\d{2}|2[01]\d{2})[-_.]?([0-3]\d{2})(?![\dA-Za-z])")
_MONTH_IN_NAME = re.compile(r"(?<!\d)(1[89]\d{2}|2[01]\d{2})[-_.]?(0[1-9]|1[0-2])(?!\d)")
_RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".img", ".gtiff", ".cog"}
_NETCDF_SUFFIXES = {".nc", ".nc4", ".netcdf", ".h5", ".hdf5"}


def parse_time_label(label: Any) -> tuple[str, pd.Timestamp] | None:
    """Read a band label as a year (``"2015"``), a month (``"2015-03"``) or a date.

    Dates are ``YYYY-MM-DD`` (also ``YYYYMMDD``, ``YYYY/MM/DD``, an ISO time after it) or a day of year ``YYYYDDD``
    / ``YYYY-DDD`` (MODIS ``A2015065``).

    Parameters
    ----------
    label : Any
        Band description or tag value.

    Returns
    -------
    tuple of (str, pandas.Timestamp) or None
        ``("annual", 1 January)``, ``("monthly", 1st of the month)`` or ``("dated", the date)``; None when the label
        is none of these.
    """
    if label is None:
        return None
    if isinstance(label, pd.Timestamp | np.datetime64):
        return "dated", pd.Timestamp(label)
    text = str(label)
    m = _YEAR.match(text)
    if m:
        return "annual", pd.Timestamp(year=int(m.group(1)), month=1, day=1)
    m = _MONTH.match(text)
    if m and 1 <= int(m.group(2)) <= 12:
        return "monthly", pd.Timestamp(year=int(m.group(1)), month=int(m.group(2)), day=1)
    return _parse_date(text)


def _parse_date(text: str) -> tuple[str, pd.Timestamp] | None:
    m = _DATE.match(text)
    if m:
        try:
            return "dated", pd.Timestamp(year=int(m.group(1)), month=int(m.group(2)), day=int(m.group(3)))
        except ValueError:
            return None
    m = _DOY.match(text)
    if m:
        year, doy = int(m.group(1)), int(m.group(2))
        last = 366 if pd.Timestamp(year=year, month=1, day=1).is_leap_year else 365
        if 1 <= doy <= last:
            return "dated", pd.Timestamp(year=year, month=1, day=1) + pd.Timedelta(days=doy - 1)
    return None


def _date_in_text(text: str) -> str | None:
    """A date (``YYYY-MM-DD``, ``YYYYMMDD``) or day of year (``A2001065``, ``2001_065``) inside a file name."""
    found = [f"{m.group(1)}-{m.group(3)}-{m.group(4)}" for m in _DATE_IN_NAME.finditer(text)]
    if not found:
        found = [f"{m.group(1)}-{m.group(2)}" for m in _DOY_IN_NAME.finditer(text)
                 if 1 <= int(m.group(2)) <= 366]
        found = [f"{t[:4]}{t[5:]}" for t in found]
    return found[-1] if len(set(found)) == 1 and _parse_date(found[-1]) else None


def _loose_label(label: Any, *, monthly: bool) -> str | None:
    """A year (or ``YYYY-MM``) found inside a longer label such as ``"ndvi_2001"`` or ``"pr 2001.03"``."""
    if label is None:
        return None
    text = str(label)
    dated = _date_in_text(text)
    if dated is not None:
        return dated
    if monthly:
        m = _MONTH_IN_NAME.findall(text)
        return f"{m[-1][0]}-{m[-1][1]}" if m else None
    m = _YEAR_IN_NAME.findall(text)
    return m[-1] if len(m) == 1 else None


def _expand_paths(path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    if isinstance(path, str | os.PathLike):
        text = os.fspath(path)
        if any(ch in text for ch in "*?["):
            found = sorted(_glob.glob(text))
            if not found:
                raise InputFileError(f"{text}: no file matches this pattern; check the path and the wildcard.")
            return [Path(p) for p in found]
        return [Path(text)]
    paths = [Path(os.fspath(p)) for p in path]
    if not paths:
        raise ConfigError("open_raster: the list of files is empty; give at least one path.")
    return paths


def _check_exists(p: Path) -> None:
    if not p.exists():
        raise InputFileError(f"{p}: file not found; check the path (relative paths are relative to the run file).")


def _time_values(
    labels: list[Any], years: Sequence[Any] | None, time: TimeMode, where: str, n: int
) -> tuple[str, pd.DatetimeIndex | None]:
    """Decide the time axis: ("static", None), ("annual", idx) or ("monthly", idx)."""
    if years is not None:
        vals = list(years)
        if len(vals) != n:
            raise MissingYearError(
                f"{where}: {n} band(s) but {len(vals)} year(s) given in 'years'; give exactly one year per band."
            )
        parsed = [parse_time_label(v) for v in vals]
        if any(p is None for p in parsed):
            bad = [v for v, p in zip(vals, parsed, strict=True) if p is None]
            raise MissingYearError(f"{where}: years {bad} are not YYYY or YYYY-MM; fix 'years' in the run file.")
        kinds = {p[0] for p in parsed if p is not None}
        given = pd.DatetimeIndex([p[1] for p in parsed if p is not None], name="time")
        if "dated" in kinds:
            return _dated(given, time, where)
        mode = "monthly" if (time == "monthly" or kinds == {"monthly"}) else "annual"
        if mode == "monthly" and kinds != {"monthly"}:
            raise MissingYearError(f"{where}: monthly data needs YYYY-MM labels in 'years', got {vals[:3]}...")
        return mode, given
    parsed = [parse_time_label(v) for v in labels]
    ok = all(p is not None for p in parsed) and n > 0
    if not ok and n > 0 and time != "static":
        loose = [_loose_label(v, monthly=time == "monthly") for v in labels]
        if all(v is not None for v in loose) and len(set(loose)) == n:
            parsed = [parse_time_label(v) for v in loose]
            ok = all(p is not None for p in parsed)
    if time == "static":
        if n != 1:
            raise ConfigError(f"{where}: {n} bands but the input is static (one band); pick one band or drop time.")
        return "static", None
    if not ok:
        if time == "auto" and n == 1:
            return "static", None
        need = "YYYY-MM" if time == "monthly" else "YYYY"
        example = "['2001-01', '2001-02', ...]" if time == "monthly" else "[2001, 2002, ...]"
        raise MissingYearError(
            f"{where}: the {n} band(s) carry no {need} in their descriptions, YEAR/MONTH tags or file names; "
            f"set years: {example} (one per band) in the run file."
        )
    kinds = {p[0] for p in parsed if p is not None}
    if "dated" in kinds and kinds <= {"dated", "monthly"}:
        return _dated(pd.DatetimeIndex([p[1] for p in parsed if p is not None], name="time"), time, where)
    if len(kinds) != 1:
        raise MissingYearError(f"{where}: band labels mix years and months; use one kind (YYYY or YYYY-MM).")
    kind = kinds.pop()
    if time == "monthly" and kind != "monthly":
        raise MissingYearError(
            f"{where}: monthly data expected but bands are labelled with years; label them YYYY-MM or set years."
        )
    if time == "annual" and kind != "annual":
        raise MissingYearError(f"{where}: annual data expected but bands are labelled with months (YYYY-MM).")
    idx = pd.DatetimeIndex([p[1] for p in parsed if p is not None], name="time")
    if idx.has_duplicates:
        dup = sorted({str(t.date()) for t in idx[idx.duplicated()]})
        raise MissingYearError(f"{where}: the time labels {dup} appear more than once; each band needs its own date.")
    return kind, idx


def _dated(idx: pd.DatetimeIndex, time: TimeMode, where: str) -> tuple[str, pd.DatetimeIndex]:
    """Dated bands: ``"dated"`` (sub-annual composites), or months when a monthly input has one date per month."""
    if idx.has_duplicates:
        dup = sorted({str(t.date()) for t in idx[idx.duplicated()]})
        raise MissingYearError(f"{where}: the dates {dup} appear more than once; each band needs its own date.")
    if time == "monthly":
        months = pd.DatetimeIndex([pd.Timestamp(year=t.year, month=t.month, day=1) for t in idx], name="time")
        if months.has_duplicates:
            raise MissingYearError(f"{where}: monthly data expected but some months hold several dated bands; give "
                                   "one band per month.")
        return "monthly", months
    if time == "annual":
        raise MissingYearError(f"{where}: annual data expected but the bands are dated; an annual input given as "
                               "sub-annual composites is aggregated with `composite:` (see docs/run-file.md).")
    return "dated", idx.rename("time")


def _norm_chunks(chunks: Any, dims: tuple[str, ...]) -> Any:
    if chunks is None:
        return None
    if chunks == "auto":
        return {d: (-1 if d in ("band", "time") else "auto") for d in dims}
    if isinstance(chunks, dict):
        out = {("band" if k == "time" and "band" in dims else k): v for k, v in chunks.items()}
        return {k: v for k, v in out.items() if k in dims}
    return chunks


def _tile_aligned_chunks(
    count: int, itemsize: int, block: tuple[int, int], shape: tuple[int, int]
) -> dict[str, int] | None:
    """Dask chunks of a GeoTIFF on its tile grid: whole bands, square edges of 512 pixels (or of the tile, when
    larger).

    dask's "auto" spatial chunks (e.g. 836 pixels) cut the file's tiles, so every cut tile is decoded by two or four
    chunks: reading a deflate-compressed stack took 2-3x longer than on the tile grid. The edge is no larger than
    the smallest run chunk on the tile grid (512, :func:`openldn.pipeline.engine.auto_chunk_size`), so a run chunk
    is one input chunk or a union of them, never a piece split out of a larger chunk: a single-band input read in
    chunks of 4,096 pixels (dask's chunk-size budget) had every 4,096² chunk held until its 64 run chunks had used
    it: with their pieces, most of the 0.35 GiB the soil carbon model pass held at 10,000², a figure that grows
    with the grid. None (dask's "auto") when a unit of whole bands exceeds ``array.chunk-size`` (long monthly
    series).
    """
    import dask
    from dask.utils import parse_bytes

    budget = parse_bytes(dask.config.get("array.chunk-size"))
    bh, bw = block
    unit = 512 if bh == bw and 512 % bh == 0 else (bh if bh == bw and bh % 512 == 0 else 0)
    if unit == 0:  # strips or rectangular tiles: no tile grid to follow
        return None
    if unit * unit * count * itemsize > budget:
        return None
    return {"band": -1, "y": min(unit, shape[0]), "x": min(unit, shape[1])}


def _open_gdal(p: Path, chunks: Any) -> tuple[xr.DataArray, list[Any], float | None, tuple[float, ...], tuple[float, ...]]:
    import rasterio
    import rioxarray

    try:
        with rasterio.open(p) as src:
            labels: list[Any] = []
            for b in range(1, src.count + 1):
                desc = src.descriptions[b - 1]
                tags = src.tags(b)
                lab = desc if parse_time_label(desc) else (
                    tags.get("YEAR") or tags.get("MONTH") or tags.get("DATE") or tags.get("date") or desc)
                if tags.get("MONTH") and parse_time_label(tags["MONTH"]):
                    lab = tags["MONTH"] if not parse_time_label(desc) else desc
                labels.append(lab)
            nodata = src.nodata
            scales, offsets = tuple(src.scales), tuple(src.offsets)
            norm = _norm_chunks(chunks, ("band", "y", "x"))
            if chunks == "auto":
                norm = _tile_aligned_chunks(src.count, np.dtype(src.dtypes[0]).itemsize, src.block_shapes[0],
                                            (src.height, src.width)) or norm
        # lock=False: each read opens its own handle, so the worker threads decode tiles in parallel. rioxarray's
        # default lock serialises every read of the process: reading a 2,500² x 24 deflated stack on 2 threads took
        # 1.7 s with it and 0.79 s without (one thread alone: 1.2 s)
        da = rioxarray.open_rasterio(p, chunks=norm, mask_and_scale=False, lock=False)
    except rasterio.errors.RasterioIOError as err:
        raise InputFileError(f"{p}: cannot be read as a raster ({err}); check that it is a GeoTIFF/COG.") from err
    if isinstance(da, list | xr.Dataset):
        raise InputFileError(f"{p}: holds several sub-datasets; give the path of one variable.")
    return da, labels, nodata, scales, offsets


def _open_xarray(
    p: Path, chunks: Any, name: str | None
) -> tuple[xr.DataArray, list[Any], float | None, tuple[float, ...], tuple[float, ...]]:
    import rioxarray  # noqa: F401  (registers .rio)

    # NetCDF: let xarray pick an installed backend (h5netcdf needs h5py; scipy reads NetCDF3).
    engine = "zarr" if (p.suffix == ".zarr" or p.is_dir()) else None
    try:
        ds = xr.open_dataset(p, engine=engine, chunks={}, mask_and_scale=False, decode_coords="all")
    except Exception as err:
        raise InputFileError(f"{p}: cannot be read as {'Zarr' if engine == 'zarr' else 'NetCDF'} ({err}).") from err
    data_vars = [v for v in ds.data_vars if ds[v].ndim >= 2]
    if name is not None and name in ds.data_vars:
        var = name
    elif len(data_vars) == 1:
        var = str(data_vars[0])
    else:
        raise InputFileError(
            f"{p}: holds variables {data_vars}; name the one to read (open_raster(..., name=...))."
        )
    da = ds[var]
    ren = {}
    for a, b in (("lat", "y"), ("latitude", "y"), ("lon", "x"), ("longitude", "x"), ("band", "time")):
        if a in da.dims and b not in da.dims:
            ren[a] = b
    da = da.rename(ren)
    if da.rio.crs is None:
        crs = da.attrs.get("crs") or ds.attrs.get("crs")
        if crs is None and any(k in ren for k in ("lat", "latitude")):
            crs = "EPSG:4326"
        if crs is None:
            raise InputFileError(f"{p}: variable {var!r} has no CRS (no grid_mapping); write one with rioxarray.")
        da = da.rio.write_crs(crs)
    nodata = da.attrs.get("_FillValue", da.encoding.get("_FillValue"))
    if nodata is None:  # CF: missing_value when there is no _FillValue
        missing = da.attrs.get("missing_value")
        nodata = np.ravel(missing)[0] if missing is not None else None
    # CF packing (MODIS/VIIRS products in NetCDF/HDF5 carry it): unpacked = packed * scale_factor + add_offset,
    # applied by open_raster exactly as a GeoTIFF's scale/offset tags are.
    file_scale = (float(np.ravel(da.attrs.pop("scale_factor", 1.0))[0]),)
    file_offset = (float(np.ravel(da.attrs.pop("add_offset", 0.0))[0]),)
    extra = [d for d in da.dims if d not in ("y", "x")]
    if len(extra) > 1:
        raise InputFileError(f"{p}: variable {var!r} has dims {da.dims}; expected (time, y, x) or (y, x).")
    labels: list[Any] = []
    if extra:
        d = extra[0]
        if d != "band":
            da = da.rename({d: "band"})
        vals = da["band"].values if "band" in da.coords else np.arange(da.sizes["band"])
        if np.issubdtype(np.asarray(vals).dtype, np.datetime64):
            ts = pd.DatetimeIndex(vals)
            monthly = len(ts) > 1 and len(set(ts.year)) < len(ts)
            dated = len({(t.year, t.month) for t in ts}) < len(ts) or any(t.day != 1 for t in ts)
            labels = [f"{t.year:04d}-{t.month:02d}-{t.day:02d}" if dated else
                      f"{t.year:04d}-{t.month:02d}" if monthly else f"{t.year:04d}" for t in ts]
        else:
            labels = [str(v) for v in vals]
        da = da.drop_vars("band", errors="ignore")
    else:
        da = da.expand_dims("band")
    da = da.transpose("band", "y", "x")
    nch = _norm_chunks(chunks, ("band", "y", "x"))
    if nch is not None:
        da = da.chunk(nch)
    return da, labels, None if nodata is None else float(nodata), file_scale, file_offset


def open_raster(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    years: Sequence[int | str] | None = None,
    nodata: float | None = None,
    scale: float | None = None,
    offset: float | None = None,
    time: TimeMode = "auto",
    chunks: Literal["auto"] | dict[str, Any] | None = "auto",
    name: str | None = None,
) -> xr.DataArray:
    """Open a raster input lazily as ``(time, y, x)`` or ``(y, x)``.

    Parameters
    ----------
    path : path, glob pattern or list of paths
        One GeoTIFF/COG (multi-band: one band per year or month), a NetCDF file or a Zarr store, or a list / glob
        of single-band files, one per year (the year, or ``YYYY-MM``/``YYYY_MM`` with ``time="monthly"``, is read
        from each file name).
    years : sequence of int or str, optional
        Time label of each band (``2001`` or ``"2001-03"``); overrides what the file says.
    nodata : float, optional
        Nodata value; defaults to the file's.
    scale, offset : float, optional
        ``value * scale + offset`` is applied to continuous data (the result is float32). Default: the file's
        scale/offset when they differ from 1/0, else none.
    time : {"auto", "annual", "monthly", "static"}
        What the bands are. ``"auto"``: years or months when the bands say so, static for one unlabelled band.
    chunks : "auto", dict or None
        Dask chunks; ``"auto"`` keeps the time axis whole and lets dask choose spatial chunks. None gives a lazily
        loaded, non-dask array.
    name : str, optional
        Name of the returned array (and the NetCDF/Zarr variable to read).

    Returns
    -------
    xarray.DataArray
        Floats have NaN for nodata (``_FillValue`` = NaN); integers keep their dtype and carry the nodata value in
        ``attrs["_FillValue"]`` and ``rio.nodata``. ``attrs["time_kind"]`` is ``"annual"``, ``"monthly"`` or
        ``"static"``.

    Raises
    ------
    InputFileError
        A file is missing or unreadable.
    MissingYearError
        A time axis is needed and the bands carry no year.
    GridMismatchError
        The files of a list are not on one grid.
    """
    paths = _expand_paths(path)
    for p in paths:
        _check_exists(p)
    where = str(paths[0]) if len(paths) == 1 else f"{paths[0].parent}/[{len(paths)} files]"
    file_scale: tuple[float, ...] = (1.0,)
    file_offset: tuple[float, ...] = (0.0,)
    if len(paths) == 1:
        p = paths[0]
        if p.suffix.lower() in _NETCDF_SUFFIXES or p.suffix == ".zarr" or p.is_dir():
            da, labels, file_nodata, file_scale, file_offset = _open_xarray(p, chunks, name)
        else:
            da, labels, file_nodata, file_scale, file_offset = _open_gdal(p, chunks)
        mode, tindex = _time_values(labels, years, time, where, da.sizes["band"])
    else:
        parts: list[xr.DataArray] = []
        labels = []
        file_nodata = None
        for p in paths:
            one, _, nd, sc, of = _open_gdal(p, chunks)
            if one.sizes["band"] != 1:
                raise InputFileError(f"{p}: {one.sizes['band']} bands; in a list of files each file holds one band.")
            if parts and (
                one.rio.transform() != parts[0].rio.transform()
                or one.shape != parts[0].shape
                or one.rio.crs != parts[0].rio.crs
            ):
                raise GridMismatchError(
                    f"{p}: grid differs from {paths[0]}; the files of one input must share CRS, transform and size."
                )
            file_nodata = nd if file_nodata is None else file_nodata
            file_scale, file_offset = sc, of
            parts.append(one)
            labels.append(_date_in_text(p.stem) or (
                _loose_label(p.stem, monthly=True) if time == "monthly" else (_YEAR_IN_NAME.findall(p.stem) or [None])[-1]))
        list_time: TimeMode = "monthly" if time == "monthly" else ("auto" if time == "auto" else "annual")
        if list_time == "auto" and years is None and not any(
                (parsed := parse_time_label(lab)) is not None and parsed[0] == "dated" for lab in labels):
            list_time = "annual"
        mode, tindex = _time_values(labels, years, list_time, where, len(paths))
        da = xr.concat(parts, dim="band", join="override", combine_attrs="drop_conflicts")
    da = da.drop_vars("band", errors="ignore")
    if mode == "static":
        da = da.isel(band=0, drop=True)
    else:
        assert tindex is not None
        da = da.rename({"band": "time"}).assign_coords(time=tindex)
        order = np.argsort(tindex.values, kind="stable")
        if (np.diff(order) < 0).any():
            da = da.isel(time=order)
    nd = nodata if nodata is not None else file_nodata
    if scale is None and offset is None and (any(s != 1.0 for s in file_scale) or any(o != 0.0 for o in file_offset)):
        if len(set(file_scale)) > 1 or len(set(file_offset)) > 1:
            warnings.warn(f"{where}: bands have different scales/offsets; using the first.", stacklevel=2)
        scale, offset = float(file_scale[0]), float(file_offset[0])
    attrs = {}
    for k, v in da.attrs.items():
        if k in ("_FillValue", "missing_value", "scale_factor", "add_offset", "long_name", "YEAR", "MONTH"):
            continue
        if isinstance(v, tuple):  # per-band values from rioxarray: keep only when all bands agree
            if len(set(map(str, v))) != 1:
                continue
            v = v[0]
        attrs[k] = v
    da = _apply_nodata_scale(da, nd, scale, offset)
    da.attrs.update(attrs)
    da.attrs["time_kind"] = mode
    da.attrs["source"] = where
    da.encoding.pop("_FillValue", None)
    if name is not None:
        da.name = name
    return da


def _physical(values: np.ndarray, *, nodata: float | None, scale: float | None, offset: float | None,
              dtype: type[np.floating]) -> np.ndarray:
    """Physical values of stored ones: NaN for ``nodata``, then ``value * scale + offset``, in ``dtype``."""
    out = values.astype(dtype)
    if nodata is not None:
        out[values == nodata] = np.nan
    if scale is not None:
        out *= dtype(scale)
    if offset is not None:
        out += dtype(offset)
    return out


def _apply_nodata_scale(da: xr.DataArray, nd: float | None, scale: float | None, offset: float | None) -> xr.DataArray:
    spatial_ref = da.coords.get("spatial_ref")
    crs = da.rio.crs
    is_float = np.issubdtype(da.dtype, np.floating)
    continuous = is_float or scale is not None or offset is not None
    if continuous:
        dtype = np.float64 if da.dtype == np.float64 else np.float32
        nd_mask = nd if nd is not None and not np.isnan(nd) else None
        rule = functools.partial(_physical, nodata=nd_mask, scale=scale, offset=offset, dtype=dtype)
        # keep_attrs: the coordinates' too (spatial_ref's GeoTransform); the array's are replaced below
        out: xr.DataArray = xr.apply_ufunc(map_values, da, kwargs={"rule": rule}, dask="parallelized",
                                           output_dtypes=[dtype], keep_attrs=True)
        out.attrs = {"_FillValue": np.nan}
        out = out.rio.write_nodata(np.nan, encoded=False)
    else:
        out = da.copy()
        out.attrs = {}
        if nd is not None and not np.isnan(nd):
            info = np.iinfo(da.dtype)
            if info.min <= nd <= info.max:
                ndv = da.dtype.type(nd)
                out.attrs["_FillValue"] = ndv
                out = out.rio.write_nodata(ndv, encoded=False)
    if spatial_ref is not None and "spatial_ref" not in out.coords:
        out = out.assign_coords(spatial_ref=spatial_ref)
    if out.rio.crs is None and crs is not None:
        out = out.rio.write_crs(crs)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Vectors
# ---------------------------------------------------------------------------------------------------------------


def wrap_longitudes(geom: Any) -> Any:
    """Bring the parts of a lon/lat polygon lying beyond ±180° back into -180..180 (split at the antimeridian).

    A polygon drawn across the antimeridian with longitudes such as 175..185 becomes a multipolygon with parts
    175..180 and -180..-175, which is how rasters on a -180..180 grid see it.
    """
    import shapely

    parts = []
    for shift in (-360.0, 0.0, 360.0):
        lo, hi = -180.0 + shift, 180.0 + shift
        piece = shapely.clip_by_rect(geom, lo, -90.0, hi, 90.0)
        if not piece.is_empty:
            parts.append(shapely.transform(piece, lambda xy, s=shift: xy - np.array([s, 0.0])))
    return shapely.make_valid(shapely.union_all(parts)) if parts else geom


def read_vector(
    path: str | os.PathLike[str],
    *,
    id_field: str | None = None,
    name_field: str | None = None,
    layer: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Read an area of interest or admin units (GeoPackage, GeoJSON, Shapefile, zipped Shapefile).

    Parameters
    ----------
    path : str or os.PathLike
        Vector file. A ``.zip`` holding a Shapefile is read directly.
    id_field, name_field : str, optional
        Fields that must exist (zone identifier and name); the error names the available fields.
    layer : str or int, optional
        Layer of a multi-layer file (GeoPackage); default the first.

    Returns
    -------
    geopandas.GeoDataFrame
        Non-empty polygons, invalid geometries repaired with :func:`shapely.make_valid`. A missing CRS is taken as
        EPSG:4326 (with a warning). Lon/lat polygons drawn beyond ±180° are split at the antimeridian and wrapped
        into -180..180 (:func:`wrap_longitudes`).

    Raises
    ------
    InputFileError
        The file is missing or unreadable.
    ConfigError
        ``id_field`` or ``name_field`` is not a field of the file.
    EmptyAOIError
        The file has no (polygon) feature.
    """
    import geopandas as gpd
    import shapely

    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: vector file not found; check the path (relative paths are relative to the run file).")
    target = f"zip://{p}" if p.suffix.lower() == ".zip" else str(p)
    try:
        gdf = gpd.read_file(target, layer=layer) if layer is not None else gpd.read_file(target)
    except Exception as err:
        raise InputFileError(f"{p}: cannot be read as a vector file ({err}); use GeoPackage, GeoJSON or Shapefile.") from err
    fields = [c for c in gdf.columns if c != gdf.geometry.name]
    for what, field in (("id_field", id_field), ("name_field", name_field)):
        if field is not None and field not in gdf.columns:
            raise ConfigError(f"{p}: {what} {field!r} is not a field of the file; available fields: {', '.join(fields) or '(none)'}.")
    if len(gdf) == 0:
        raise EmptyAOIError(f"{p}: the file has no feature; draw the area of interest or pick another layer.")
    if gdf.crs is None:
        warnings.warn(f"{p}: no CRS declared; assuming EPSG:4326 (lon/lat).", stacklevel=2)
        gdf = gdf.set_crs("EPSG:4326")
    geom = gdf.geometry.values
    bad = ~shapely.is_valid(geom) & ~shapely.is_missing(geom)
    if bad.any():
        fixed = shapely.make_valid(geom[bad])
        polys = [shapely.union_all([g for g in shapely.get_parts(f) if g.geom_type in ("Polygon", "MultiPolygon")])
                 if f.geom_type == "GeometryCollection" else f for f in fixed]
        gdf.loc[bad, gdf.geometry.name] = polys
    keep = ~gdf.geometry.is_empty & gdf.geometry.notna() & gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    gdf = gdf[keep].reset_index(drop=True)
    if gdf.crs is not None and gdf.crs.is_geographic and len(gdf):
        b = gdf.total_bounds
        if b[0] < -180 or b[2] > 180:
            gdf = gdf.set_geometry([wrap_longitudes(g) for g in gdf.geometry.values], crs=gdf.crs)
    if len(gdf) == 0:
        raise EmptyAOIError(f"{p}: no polygon feature (only points, lines or empty geometries); give polygons.")
    return gdf
