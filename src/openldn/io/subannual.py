"""Local inputs as providers ship them: sub-annual composites turned into the annual values a stage reads.

:func:`open_input` opens the file(s) of ``inputs.<name>`` of the run file with :func:`openldn.io.read.open_raster`
(dates from band labels, file names, NetCDF times or a ``dates:`` list/CSV; scale and offset from the file's metadata
unless the run file gives them), applies an optional quality/valid mask, and, when the stage wants annual values and
the file holds sub-annual composites (dated or monthly bands), aggregates them per calendar year with
:func:`openldn.core.annual.annual_composite`, the same function the catalogue uses. Years that the composites do
not cover are dropped (or kept, ``partial_years: keep``) with a warning naming them.
"""

from __future__ import annotations

import csv
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from openldn.core.annual import annual_composite
from openldn.exceptions import ConfigError, InputFileError, MissingYearError, OpenLDNWarning
from openldn.io.read import open_raster, parse_time_label

if TYPE_CHECKING:
    from openldn.config import InputSpec

__all__ = ["aggregate_subannual", "open_input", "partial_years", "read_dates"]

log = logging.getLogger(__name__)

#: Keys of an input that only act on sub-annual composites.
_SUBANNUAL_KEYS = ("composite", "min_count", "season_months", "season_threshold", "partial_years")


def read_dates(path: str | os.PathLike[str]) -> list[str]:
    """Dates of the bands from a CSV file: one date per line (``YYYY-MM-DD`` or ``YYYYDDD``), in band order.

    The first column is read; a header line (a first cell that is not a date) and empty lines are skipped.

    Raises
    ------
    InputFileError
        The file is missing, empty, or a line is not a date.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: dates file not found; check the 'dates:' path (relative to the run file).")
    with p.open(newline="", encoding="utf-8-sig") as fh:
        rows = [r[0].strip() for r in csv.reader(fh) if r and r[0].strip()]
    if rows and parse_time_label(rows[0]) is None:
        rows = rows[1:]  # header
    bad = [(i + 1, r) for i, r in enumerate(rows) if parse_time_label(r) is None]
    if bad:
        line, text = bad[0]
        raise InputFileError(f"{p}: value {text!r} (date {line}) is not a date; write YYYY-MM-DD or YYYYDDD, one per line.")
    if not rows:
        raise InputFileError(f"{p}: no date in the file; write one date (YYYY-MM-DD) per band, one per line.")
    return rows


def partial_years(times: pd.DatetimeIndex) -> list[int]:
    """Years whose composites do not span the year.

    The sampling step is the median spacing of the dates; a year is partial when its first composite starts more
    than 1.5 steps after 1 January or its last one more than 1.5 steps before the next 1 January (e.g. a year with
    only January's composites). With fewer than two dates nothing can be judged and no year is partial.
    """
    t = pd.DatetimeIndex(sorted(times))
    if len(t) < 2:
        return []
    step = float(np.median(np.diff(t.values).astype("timedelta64[s]").astype("float64"))) / 86400.0
    out = []
    for year in sorted(set(t.year)):
        sel = t[t.year == year]
        start = pd.Timestamp(year=int(year), month=1, day=1)
        end = pd.Timestamp(year=int(year) + 1, month=1, day=1)
        head = (sel[0] - start) / pd.Timedelta(days=1)
        tail = (end - sel[-1]) / pd.Timedelta(days=1)
        if head > 1.5 * step or tail > 1.5 * step:
            out.append(int(year))
    return out


def aggregate_subannual(
    da: xr.DataArray,
    *,
    method: str = "mean",
    min_count: int = 1,
    season_months: Sequence[int] | None = None,
    season_threshold: float | None = None,
    keep_partial: bool = False,
    where: str = "",
) -> xr.DataArray:
    """Annual values from sub-annual composites, partial years dropped or kept (a warning names them).

    Parameters
    ----------
    da : xarray.DataArray
        (time, y, x) composites, NaN where invalid, physical values.
    method, min_count, season_months, season_threshold
        See :func:`openldn.core.annual.annual_composite` (``season_threshold`` is its ``fraction``, default 0.2).
    keep_partial : bool
        Keep years the composites do not span (default: drop them).
    where : str
        File and key named in warnings and errors.

    Returns
    -------
    xarray.DataArray
        float32 (time, y, x), ``time`` at 1 January, ``attrs["time_kind"] = "annual"``.
    """
    times = pd.DatetimeIndex(da["time"].values)
    partial = partial_years(times)
    if partial:
        listed = ", ".join(map(str, partial))
        if keep_partial:
            msg = (f"{where}: year(s) {listed} are only partly covered by the composites; kept as asked "
                   "(partial_years: keep), their annual values use the composites present.")
        else:
            msg = (f"{where}: year(s) {listed} are only partly covered by the composites and are dropped; "
                   "set partial_years: keep to use them.")
        warnings.warn(msg, OpenLDNWarning, stacklevel=2)
        log.warning(msg)  # also shown by `openldn validate`, which silences the warnings it prints itself
        if not keep_partial:
            keep = np.flatnonzero(~np.isin(times.year, partial))
            if keep.size == 0:
                raise MissingYearError(f"{where}: every year is only partly covered by the composites; give whole "
                                       "years or set partial_years: keep.")
            da = da.isel(time=keep)
    attrs = dict(da.attrs)
    out = annual_composite(
        da.astype("float32") if not np.issubdtype(da.dtype, np.floating) else da,
        method=method,
        min_count=min_count,
        months=tuple(season_months) if season_months is not None else None,  # type: ignore[arg-type]
        fraction=0.2 if season_threshold is None else float(season_threshold),
    )
    out.attrs.update({k: v for k, v in attrs.items() if k not in ("units", "time_kind", "_FillValue")})
    out.attrs["time_kind"] = "annual"
    out.attrs["_FillValue"] = np.nan
    out.attrs["subannual_count"] = int(times.size)
    if da.rio.crs is not None and out.rio.crs is None:
        out = out.rio.write_crs(da.rio.crs)
    result: xr.DataArray = out.rio.write_nodata(np.nan, encoded=False)
    return result


def _apply_mask(da: xr.DataArray, spec: InputSpec, mask_path: Path, labels: Sequence[Any] | None,
                where: str) -> xr.DataArray:
    mask = open_raster(mask_path, years=labels, time="auto", name="mask")
    if mask.shape[-2:] != da.shape[-2:] or mask.rio.transform() != da.rio.transform():
        raise ConfigError(f"{where}: the mask {mask_path} is not on the grid of the values; give a mask of the same "
                          "grid (same size, transform and CRS).")
    if "time" in mask.dims:
        if "time" not in da.dims or mask.sizes["time"] != da.sizes["time"]:
            raise ConfigError(f"{where}: the mask {mask_path} has {mask.sizes['time']} band(s), the values "
                              f"{da.sizes.get('time', 1)}; give one mask band per band, or one mask band for all.")
        mask = mask.assign_coords(time=da["time"].values)
    values = np.asarray(spec.mask_valid, dtype="float64") if spec.mask_valid is not None else None
    fill = mask.attrs.get("_FillValue")
    valid = mask.isin(values) if values is not None else (mask != 0) & mask.notnull()
    if fill is not None and values is None:
        valid = valid & (mask != fill)
    out = da.where(valid)
    out.attrs = dict(da.attrs)
    return out


def open_input(
    name: str,
    spec: InputSpec,
    paths: Sequence[Path],
    *,
    time: str = "auto",
    resolve: Any = None,
) -> xr.DataArray:
    """Open a local input of the run file, aggregating sub-annual composites when the stage wants annual values.

    Parameters
    ----------
    name : str
        Input name (``inputs.<name>``).
    spec : openldn.config.InputSpec
        The input's keys.
    paths : sequence of Path
        Its file(s), resolved.
    time : {"annual", "monthly", "static", "auto"}
        What the stage declares (:class:`openldn.core.stage.InputDecl`).
    resolve : callable, optional
        Resolves a path of the run file (for ``dates:`` and ``mask:``); default: as given.

    Returns
    -------
    xarray.DataArray
        As :func:`openldn.io.read.open_raster`; annual when the stage wants annual values.

    Raises
    ------
    ConfigError
        A key that cannot act on this file (``composite`` on annual values, a mask on another grid).
    """
    res = resolve or (lambda p: Path(p))
    where = f"{paths[0] if len(paths) == 1 else paths[0].parent} (inputs.{name})"
    labels: list[Any] | None = list(spec.years) if spec.years is not None else None
    if spec.dates is not None:
        labels = read_dates(res(spec.dates)) if isinstance(spec.dates, str) else list(spec.dates)
    mode = "monthly" if time == "monthly" else ("static" if time == "static" else "auto")
    da = open_raster(list(paths) if len(paths) > 1 else paths[0], years=labels, nodata=spec.nodata,
                     scale=spec.scale, offset=spec.offset, time=mode, name=name)  # type: ignore[arg-type]
    if spec.mask is not None:
        mask_labels = labels
        if mask_labels is None and "time" in da.dims:
            mask_labels = [str(pd.Timestamp(t).date()) for t in da["time"].values]
        da = _apply_mask(da, spec, res(spec.mask), mask_labels, where)
    kind = da.attrs.get("time_kind")
    given = [k for k in _SUBANNUAL_KEYS if getattr(spec, k) is not None]
    if kind == "dated" and not given:
        times = pd.DatetimeIndex(da["time"].values)
        if len(set(times.year)) == len(times):  # one dated band per year (e.g. 2015-07-01): annual values
            da = da.assign_coords(time=pd.DatetimeIndex([pd.Timestamp(year=t.year, month=1, day=1) for t in times],
                                                        name="time"))
            da.attrs["time_kind"] = kind = "annual"
    sub = kind == "dated" or (kind == "monthly" and time == "annual")
    if not sub:
        if kind == "dated":
            raise MissingYearError(f"{where}: the bands are dated composites but this input takes "
                                   f"{time} values; give one band per {'month' if time == 'monthly' else 'year'}.")
        if given:
            raise ConfigError(f"{where}: {', '.join(repr(k) for k in given)} apply to sub-annual composites but the "
                              f"file holds {kind} values; remove them.")
        return da
    source = da.attrs.get("source")
    out = aggregate_subannual(
        da,
        method=spec.composite or "mean",
        min_count=spec.min_count or 1,
        season_months=spec.season_months,
        season_threshold=spec.season_threshold,
        keep_partial=spec.partial_years == "keep",
        where=where,
    )
    out.attrs["source"] = source
    out.name = name
    return out
