"""Productivity performance: a pixel's mean productivity against the 90th percentile of its land productivity unit.

References
----------
GPG v2 §4.2.5.3; PRAIS 2026 §1.2 Step 5 (Performance); PRAIS 2026 reporting manual §1.2; GPG v2 ch. 4; Trends.Earth (docs/differences.md)
§4.4 and D9 (exact percentile over every pixel of the area of interest, no subsampling; ``< 0.5`` by default,
``<= 0.5`` as Trends.Earth on request).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import dask
import dask.array
import numpy as np
import xarray as xr

from openldn.core.blocks import map_values, where_inside
from openldn.core.codes import NODATA
from openldn.core.periods import Period, SomePeriod
from openldn.core.steps import Steps, drive
from openldn.exceptions import ConfigError, GridMismatchError
from openldn.productivity import _kernels
from openldn.productivity._series import count_sum

__all__ = [
    "land_productivity_units",
    "performance",
    "performance_percentiles",
    "unit_percentiles",
    "window_mean",
]

#: Nodata of the land productivity unit raster.
UNIT_NODATA = -1


def _unit_part(values: np.ndarray, nodata: float | None, limit: int | None) -> np.ndarray:
    """The int64 code of each value (truncated), -1 where it is nodata, NaN, negative or not below ``limit``."""
    v = np.asarray(values)
    ok = (v >= 0) & (v == v)
    if nodata is not None:
        ok &= v != nodata
    if limit is not None:
        ok &= v < limit
    return np.where(ok, np.where(ok, v, 0).astype(np.int64), UNIT_NODATA)


def _units_block(lc: np.ndarray, soil: np.ndarray | None = None, *, nodata: list[float | None]) -> np.ndarray:
    """Unit codes of a block: each layer's codes worked out once per distinct value (``core.blocks.map_values``)."""
    code = map_values(lc, functools.partial(_unit_part, nodata=nodata[0], limit=None))
    if soil is None:
        return code
    part = map_values(soil, functools.partial(_unit_part, nodata=nodata[1], limit=100000))
    return np.where((code >= 0) & (part >= 0), code * 100000 + part, UNIT_NODATA)


def land_productivity_units(
    land_cover: xr.DataArray,
    soil_units: xr.DataArray | None = None,
    *,
    land_cover_nodata: int | None = None,
    soil_nodata: int | None = None,
) -> xr.DataArray:
    """Land productivity units: land cover class x soil (or ecological) unit, as one int64 code per pixel.

    ``unit = land_cover * 100000 + soil`` (land cover alone when ``soil_units`` is None); -1 where either input is
    nodata (its declared nodata, -32768 or NaN) or negative; soil codes must be below 100000 (others are
    nodata).

    Parameters
    ----------
    land_cover : xarray.DataArray
        Land cover classes ``(y, x)`` (Trends.Earth uses the ESA CCI classes of the first year of the window).
    soil_units : xarray.DataArray, optional
        Soil taxonomy or ecological units ``(y, x)`` on the same grid.
    land_cover_nodata, soil_nodata : int, optional
        Nodata codes (default: the ``_FillValue`` / ``nodata`` attribute, else -32768).

    Returns
    -------
    xarray.DataArray
        int64 unit codes, -1 = nodata.

    References
    ----------
    GPG v2 §4.2.5.3 (land cover / ecosystem functional units); Trends.Earth productivity (docs/differences.md) (soil taxonomy x
    ESA CCI class).
    """

    def _nodata(a: xr.DataArray, nd: int | None) -> float | None:
        nd = a.attrs.get("_FillValue", a.attrs.get("nodata", NODATA)) if nd is None else nd
        return None if nd is None or (isinstance(nd, float) and np.isnan(nd)) else nd

    arrays = [land_cover]
    nodata = [_nodata(land_cover, land_cover_nodata)]
    if soil_units is not None:
        if soil_units.shape != land_cover.shape:
            raise GridMismatchError(
                f"soil_units: shape {soil_units.shape} differs from land cover {land_cover.shape}; align both onto "
                "the analysis grid."
            )
        if "x" in land_cover.coords and "x" in soil_units.coords:
            soil_units = soil_units.assign_coords(x=land_cover.x.values, y=land_cover.y.values)
        arrays.append(soil_units)
        nodata.append(_nodata(soil_units, soil_nodata))
    out: xr.DataArray = xr.apply_ufunc(_units_block, *arrays, kwargs={"nodata": nodata}, dask="parallelized",
                                       output_dtypes=[np.int64])
    out.name = "productivity_unit"
    out.attrs = {"long_name": "Land productivity unit (land cover x soil)", "_FillValue": UNIT_NODATA}
    return out


def _group_percentiles(
    values: np.ndarray, units: np.ndarray, q: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact percentile (linear interpolation between order statistics) of ``values`` per unit code."""
    v = np.asarray(values, dtype=np.float64).ravel()
    u = np.asarray(units, dtype=np.int64).ravel()
    ok = np.isfinite(v) & (u != UNIT_NODATA)
    v = v[ok]
    u = u[ok]
    if v.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.int64)
    codes, group = np.unique(u, return_inverse=True)
    counts = np.bincount(group.ravel(), minlength=codes.size).astype(np.int64)
    # linear-time selection per unit (numba kernel) instead of sorting every value
    p = _kernels.group_percentiles(v, group.ravel().astype(np.int64), counts, float(q))
    return codes, p, counts


#: Widest range of unit codes counted on a dense array (else sorted), in ``_stats_block``.
_DENSE_UNITS = 1 << 20
#: Bins per unit of the histogram pass of the blockwise percentile (dask inputs).
_BINS = 1024


def _block_pairs(v: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(v, dtype=np.float64).ravel()
    u = np.asarray(u, dtype=np.int64).ravel()
    ok = np.isfinite(v) & (u != UNIT_NODATA)
    return v[ok], u[ok]


def _stats_block(v: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-unit (codes, count, min, max) of one block."""
    v, u = _block_pairs(v, u)
    lo, hi = (int(u.min()), int(u.max())) if v.size else (0, _DENSE_UNITS)
    if hi - lo < _DENSE_UNITS:
        # one pass over the values, on a dense range of unit codes (the codes are small integers)
        n, mn, mx = _kernels.dense_unit_stats(v, u, lo, hi - lo + 1)
        seen = n > 0
        return np.flatnonzero(seen).astype(np.int64) + lo, n[seen], mn[seen], mx[seen]
    codes, inv = np.unique(u, return_inverse=True)
    count = np.bincount(inv, minlength=codes.size)
    vmin = np.full(codes.size, np.inf)
    vmax = np.full(codes.size, -np.inf)
    np.minimum.at(vmin, inv, v)
    np.maximum.at(vmax, inv, v)
    return codes, count, vmin, vmax


def _stats_merge(*parts: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    codes = np.unique(np.concatenate([p[0] for p in parts])) if parts else np.empty(0, np.int64)
    count = np.zeros(codes.size, np.int64)
    vmin = np.full(codes.size, np.inf)
    vmax = np.full(codes.size, -np.inf)
    for c, n, lo, hi in parts:
        i = np.searchsorted(codes, c)
        count[i] += n
        vmin[i] = np.minimum(vmin[i], lo)
        vmax[i] = np.maximum(vmax[i], hi)
    return codes, count, vmin, vmax


def _bins(v: np.ndarray, u: np.ndarray, stats: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Unit index and histogram bin of every value (a monotone map of [min, max] of its unit onto the bins)."""
    codes, vmin = stats[0], stats[2]
    i = np.searchsorted(codes, u)
    b = np.minimum(((v - vmin[i]) * _bin_scale(stats)[i]).astype(np.int64), _BINS - 1)
    return i, b


def _bin_scale(stats: tuple[np.ndarray, ...]) -> np.ndarray:
    """Bins per unit of value of each unit: ``_BINS`` over its range, 0 for a unit of one value."""
    span = stats[3] - stats[2]
    scale: np.ndarray = np.where(span > 0, _BINS / np.where(span > 0, span, 1.0), 0.0)
    return scale


_BinTable = tuple[np.ndarray, int, np.ndarray, np.ndarray]


def _bin_table(stats: tuple[np.ndarray, ...]) -> _BinTable | None:
    """``(index, lo, vmin, scale)`` of the histogram kernels: the unit index of each code ``lo + j`` at ``index[j]``,
    the per-unit minimum and bin scale of :func:`_bins`; None when the codes span more than ``_DENSE_UNITS``."""
    codes, vmin = stats[0], stats[2]
    if codes.size == 0 or int(codes[-1]) - int(codes[0]) >= _DENSE_UNITS:
        return None
    lo = int(codes[0])
    index = np.full(int(codes[-1]) - lo + 1, -1, np.int64)
    index[codes - lo] = np.arange(codes.size)
    return index, lo, np.asarray(vmin, np.float64), _bin_scale(stats)


def _hist_block(v: np.ndarray, u: np.ndarray, stats: tuple[np.ndarray, ...], bins: _BinTable | None = None
                ) -> np.ndarray:
    if bins is not None:  # one pass of a kernel (the same bins as _bins)
        return _kernels.unit_histogram(np.ravel(v), np.ravel(u), bins[0], bins[1], bins[2], bins[3], _BINS, UNIT_NODATA)
    v, u = _block_pairs(v, u)
    i, b = _bins(v, u, stats)
    return np.bincount(i * _BINS + b, minlength=stats[0].size * _BINS).reshape(stats[0].size, _BINS)


def _targets(stats: tuple[np.ndarray, ...], hist: np.ndarray, q: float) -> dict[str, np.ndarray]:
    """Ranks of the two order statistics of the percentile and the bins holding them, per unit."""
    count = stats[1]
    pos = (q / 100.0) * (count - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, count - 1)
    cum = np.cumsum(hist, axis=1)
    b_lo = np.array([np.searchsorted(cum[k], lo[k], side="right") for k in range(count.size)], np.int64)
    b_hi = np.array([np.searchsorted(cum[k], hi[k], side="right") for k in range(count.size)], np.int64)
    before = np.where(b_lo > 0, cum[np.arange(count.size), np.maximum(b_lo - 1, 0)], 0)
    return {"lo": lo, "hi": hi, "frac": pos - lo, "b_lo": b_lo, "b_hi": b_hi, "before": before}


def _gather_block(
    v: np.ndarray, u: np.ndarray, stats: tuple[np.ndarray, ...], tg: dict[str, np.ndarray],
    bins: _BinTable | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    if bins is not None:
        return _kernels.unit_gather(np.ravel(v), np.ravel(u), bins[0], bins[1], bins[2], bins[3], _BINS, UNIT_NODATA,
                                    tg["b_lo"], tg["b_hi"])
    v, u = _block_pairs(v, u)
    i, b = _bins(v, u, stats)
    keep = (b >= tg["b_lo"][i]) & (b <= tg["b_hi"][i])
    return i[keep], v[keep]


def _finish(
    stats: tuple[np.ndarray, ...], tg: dict[str, np.ndarray], *parts: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes, count = stats[0], stats[1]
    i = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.int64)
    v = np.concatenate([p[1] for p in parts]) if parts else np.empty(0)
    order = np.lexsort((v, i))
    i, v = i[order], v[order]
    start = np.searchsorted(i, np.arange(codes.size))
    base = start - tg["before"]
    a = v[base + tg["lo"]] if v.size else np.empty(0)
    b = v[base + tg["hi"]] if v.size else np.empty(0)
    return codes, a + (b - a) * tg["frac"], count


def _percentile_passes(values: dask.array.Array, units: dask.array.Array, q: float, *, now: bool) -> Steps[Any]:
    """Exact per-unit percentiles in three passes over the blocks, memory bounded by the blocks.

    Pass 1: count, min and max per unit; pass 2: a 1024-bin histogram per unit, which gives the bins holding the
    two order statistics of the percentile; pass 3: only the values of those bins are gathered and sorted.

    Steps (:func:`openldn.core.steps.drive`): each pass's small result is yielded as a ``Delayed``, and the
    generator is sent back either its computed value (``now``: each pass a compute of its own, which computes the
    blocks again and frees them one by one) or its key (one lazy graph, returned as a ``Delayed`` of the table, in
    which dask holds every block of ``values`` and ``units`` from the first pass to the last: 1.6 GB at 10,000² for
    a float64 mean and int64 units); the next pass's tasks take it as an argument.

    The tasks are written as one graph layer over the arrays' blocks (optimised together once), not as a
    ``dask.delayed`` call per block: merging each call's graph took seconds per period at 10,000².
    """
    from dask.base import tokenize
    from dask.core import flatten
    from dask.delayed import Delayed
    from dask.highlevelgraph import HighLevelGraph

    vo, uo = dask.optimize(values, units)  # fused once, as ``to_delayed(optimize_graph=True)`` would
    pairs = list(zip(flatten(vo.__dask_keys__()), flatten(uo.__dask_keys__()), strict=True))
    name = "unit-percentiles-" + tokenize(vo, uo, q)
    layer: dict[Any, Any] = {}

    def step(key: Any) -> Delayed:
        return Delayed(key, HighLevelGraph.from_collections(name, dict(layer), dependencies=[vo, uo]), layer=name)

    layer.update({(name, "stats", i): (_stats_block, v, u) for i, (v, u) in enumerate(pairs)})
    layer[(name, "stats")] = (_stats_merge, *[(name, "stats", i) for i in range(len(pairs))])
    (stats,) = yield [step((name, "stats"))]
    layer[(name, "bins")] = (_bin_table, stats)  # once per compute, not once per block
    bins = (name, "bins")
    layer.update({(name, "hist", i): (_hist_block, v, u, stats, bins) for i, (v, u) in enumerate(pairs)})
    layer[(name, "targets")] = (_targets, stats, _tree_sum(layer, name, [(name, "hist", i) for i in range(len(pairs))]), q)
    (tg,) = yield [step((name, "targets"))]
    layer.update({(name, "gather", i): (_gather_block, v, u, stats, tg, bins) for i, (v, u) in enumerate(pairs)})
    layer[(name, "table")] = (_finish, stats, tg, *[(name, "gather", i) for i in range(len(pairs))])
    table = step((name, "table"))
    if not now:
        return table
    (computed,) = yield [table]
    return computed


def _tree_sum(layer: dict[Any, Any], name: str, keys: list[Any], split: int = 8) -> Any:
    """Key of the sum of ``keys`` (integer arrays), added by groups of ``split`` so each part is freed once added.

    One sum over every block would hold each block's histogram (units x 1024 bins) until the last block: a size
    that grows with the grid. Integer sums are exact in any grouping.
    """
    level = 0
    while len(keys) > 1:
        groups = {(name, "sum", level, j): keys[j : j + split] for j in range(0, len(keys), split)}
        layer.update({key: (sum, group) for key, group in groups.items()})
        keys, level = list(groups), level + 1
    return keys[0]


def unit_percentiles(values: xr.DataArray, units: xr.DataArray, *, q: float = 90.0, compute: bool = False) -> Any:
    """Exact ``q``-th percentile of ``values`` within each land productivity unit.

    Parameters
    ----------
    values : xarray.DataArray
        Mean productivity ``(y, x)`` (NaN ignored).
    units : xarray.DataArray
        Unit codes from :func:`land_productivity_units` (-1 ignored).
    q : float, default 90
        Percentile, with linear interpolation between order statistics (numpy's default rule).
    compute : bool, default False
        For dask inputs, compute the table now, each pass a compute of its own that computes the blocks again
        (memory bounded by the blocks; cheap when they are read from storage). Otherwise the table is a lazy
        graph, in which dask holds every block from the first pass to the last.

    Returns
    -------
    tuple of numpy arrays, or a dask Delayed of it
        ``(unit codes, percentiles, pixel counts)``, sorted by unit code; a Delayed for dask inputs unless
        ``compute``.

    Notes
    -----
    For dask inputs the percentiles are computed blockwise in three passes (per-unit range, per-unit histogram,
    then only the values of the bins holding the needed order statistics), so no task holds the whole raster; the
    result is identical to the in-memory computation.
    """
    return _unit_tables([(values, units)], q, compute=compute)[0]


def _unit_tables(pairs: Sequence[tuple[xr.DataArray, xr.DataArray]], q: float, *, compute: bool) -> list[Any]:
    """:func:`unit_percentiles` of several ``(values, units)`` pairs, the dask ones pass by pass together."""
    tables: dict[int, Any] = {}
    passes: dict[int, tuple[Steps[Any], list[Any]]] = {}
    for i, (values, units) in enumerate(pairs):
        if isinstance(values.data, dask.array.Array) or isinstance(units.data, dask.array.Array):
            vd = values.data if isinstance(values.data, dask.array.Array) else dask.array.from_array(values.data)
            ud = units.data if isinstance(units.data, dask.array.Array) else dask.array.from_array(units.data)
            steps = _percentile_passes(vd, ud.rechunk(vd.chunks), q, now=compute)
            passes[i] = (steps, next(steps))
        else:
            tables[i] = _group_percentiles(values.values, units.values, q)
    # each pass of every raster in one compute (a fixed cost per compute on a cluster), or wired lazily by key
    def run(needs: list[Any]) -> Sequence[Any]:
        return dask.compute(*needs) if compute else [d.key for d in needs]

    tables.update(drive(passes, run))
    return [tables[i] for i in range(len(pairs))]


def _lookup(
    values: np.ndarray, units: np.ndarray, table: tuple[np.ndarray, np.ndarray, np.ndarray], min_pixels: int
) -> np.ndarray:
    codes, p, counts = table
    out = np.full(values.shape, np.nan, np.float64)
    if codes.size == 0:
        return out
    idx = np.clip(np.searchsorted(codes, units), 0, codes.size - 1)
    found = (codes[idx] == units) & (units != UNIT_NODATA) & (counts[idx] >= min_pixels)
    out[found] = p[idx[found]]
    return out


def window_mean(ndvi: xr.DataArray, window: SomePeriod | None = None) -> xr.DataArray:
    """Per-pixel float64 mean of the valid years of ``window`` (every year when omitted), as numpy's nanmean.

    The per-tile part of :func:`performance`: a run stores it in the pass over the vegetation index that also
    computes the trajectory and the state, and derives the class from the stored mean (the unit percentiles
    need every tile first).

    Parameters
    ----------
    ndvi : xarray.DataArray
        Annual productivity ``(time, y, x)``.
    window : Period or str, optional
        Performance window.

    Returns
    -------
    xarray.DataArray
        ``(y, x)`` float64, NaN where no year is valid.
    """
    series = Period.from_user_input(window).select(ndvi) if window is not None else ndvi
    n, total = count_sum(series)  # one pass over the series
    return total / n.where(n > 0)


def _check_percentile(percentile: float) -> None:
    if not 0 < percentile <= 100:
        raise ConfigError(f"performance: percentile={percentile} must lie in (0, 100], e.g. 90.")


def _percentile_inputs(
    mean: xr.DataArray, units: xr.DataArray, mask: xr.DataArray | None
) -> tuple[xr.DataArray, xr.DataArray]:
    """The mean as the percentiles and the ratio see it (float64, inside ``mask``) and the units on its grid."""
    if mean.shape != units.shape:
        raise GridMismatchError(
            f"performance: productivity grid {mean.shape} differs from the unit grid {units.shape}; align both onto "
            "the analysis grid."
        )
    if "x" in mean.coords and "x" in units.coords:
        units = units.assign_coords(x=mean.x.values, y=mean.y.values)
    if mask is not None:
        if mean.chunks is not None and mask.chunks is not None and mask.chunks != mean.chunks:
            # the mean's chunks (a stored layer's, larger than the run's): at the mask's, every chunk of the mean
            # would be read whole and split, and the passes would run at the smaller chunk
            mask = mask.chunk(dict(zip(mean.dims, mean.chunks, strict=True)))
        mean = where_inside(mean, mask)
    # float64 throughout: the unit percentile and the ratio are compared with the threshold in float64
    return mean.astype(np.float64), units


def performance_percentiles(
    means: Sequence[xr.DataArray],
    units: Sequence[xr.DataArray],
    *,
    percentile: float = 90.0,
    mask: xr.DataArray | None = None,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The unit percentiles of several performance means (a run's periods), computed now and together.

    Each of the three passes (see :func:`unit_percentiles`) is one compute over the blocks of every mean, rather
    than one per mean: on a cluster each compute has a fixed cost. Memory stays bounded by the blocks, since each
    pass computes them again: meant for means read from storage.

    Parameters
    ----------
    means : sequence of xarray.DataArray
        Performance-window means ``(y, x)`` (:func:`window_mean`).
    units : sequence of xarray.DataArray
        The land productivity units of each mean.
    percentile : float, default 90
        Percentile of the unit used as its potential.
    mask : xarray.DataArray of bool, optional
        Area of interest, as given to :func:`performance`.

    Returns
    -------
    list of tuple of numpy arrays
        One ``(unit codes, percentiles, pixel counts)`` per mean, for :func:`performance`'s ``unit_table``.
    """
    _check_percentile(percentile)
    if len(means) != len(units):
        raise ValueError(f"performance_percentiles: {len(means)} means but {len(units)} unit rasters.")
    pairs = [_percentile_inputs(m, u, mask) for m, u in zip(means, units, strict=True)]
    return _unit_tables(pairs, percentile, compute=True)


def performance(
    ndvi: xr.DataArray,
    units: xr.DataArray,
    *,
    window: SomePeriod | None = None,
    threshold: float = 0.5,
    inclusive: bool = False,
    percentile: float = 90.0,
    min_unit_pixels: int = 1,
    mask: xr.DataArray | None = None,
    compute_percentiles: bool = False,
    unit_table: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> xr.Dataset:
    """Productivity performance: ratio of a pixel's mean productivity to its unit's ``percentile``-th percentile.

    ``ratio = mean / p90(unit)``, the percentile taken exactly over every valid pixel of the unit inside the area
    analysed; ``ratio < threshold`` (``<=`` when ``inclusive``) is degraded (-1), otherwise not degraded (0).

    Parameters
    ----------
    ndvi : xarray.DataArray
        Annual productivity ``(time, y, x)`` (its mean over ``window`` is used) or an already averaged ``(y, x)``.
    units : xarray.DataArray
        Land productivity units ``(y, x)`` from :func:`land_productivity_units`.
    window : Period or str, optional
        Performance window (16 years ending at *E* by default in the stage); every year when omitted.
    threshold : float, default 0.5
        Ratio below which a pixel is degraded.
    inclusive : bool, default False
        Also count ``ratio == threshold`` as degraded (Trends.Earth's ``<= 0.5``; the manual says "below 50 %").
    percentile : float, default 90
        Percentile of the unit used as its potential.
    min_unit_pixels : int, default 1
        Units with fewer valid pixels get nodata.
    mask : xarray.DataArray of bool, optional
        Area of interest: only its pixels enter the percentiles and receive a class.
    compute_percentiles : bool, default False
        Compute the unit percentiles now, in passes that each compute the mean's blocks again (see
        :func:`unit_percentiles`): memory bounded by the blocks, for a mean read from storage. The classes stay
        lazy either way.
    unit_table : tuple of numpy arrays, optional
        The unit percentiles when already computed, by :func:`performance_percentiles` with the same mean, units,
        percentile and mask.

    Returns
    -------
    xarray.Dataset
        ``performance`` (int16 -1/0, nodata -32768), ``ratio``, ``unit_max`` (the unit percentile) and ``mean``.

    References
    ----------
    GPG v2 §4.2.5.3; PRAIS 2026 §1.2 Step 5; Trends.Earth productivity (docs/differences.md), D9.
    """
    _check_percentile(percentile)
    if threshold <= 0:
        raise ConfigError(f"performance: threshold={threshold} must be positive, e.g. 0.5.")
    attrs: dict[str, object] = {}
    if "time" in ndvi.dims:
        mean = window_mean(ndvi, window)
        if window is not None:
            attrs["performance_window"] = Period.from_user_input(window).label
    else:
        mean = ndvi
    mean, units = _percentile_inputs(mean, units, mask)
    table = unit_table if unit_table is not None else unit_percentiles(mean, units, q=percentile,
                                                                       compute=compute_percentiles)
    if isinstance(mean.data, dask.array.Array) or isinstance(units.data, dask.array.Array):
        md = mean.data if isinstance(mean.data, dask.array.Array) else dask.array.from_array(mean.data)
        ud = (
            units.data
            if isinstance(units.data, dask.array.Array)
            else dask.array.from_array(units.data, chunks=md.chunks)
        )
        ud = ud.rechunk(md.chunks)
        pmax = dask.array.map_blocks(_lookup, md, ud, table, int(min_unit_pixels), dtype=np.float64)
    else:
        pmax = _lookup(mean.values, units.values, table, int(min_unit_pixels))
    unit_max = mean.copy(data=pmax)
    # the class from the float64 ratio (a ratio exactly at the threshold classifies by ``inclusive``)
    ratio64 = mean / unit_max.where(unit_max > 0)
    degraded = (ratio64 <= threshold) if inclusive else (ratio64 < threshold)
    cls = xr.where(degraded, -1, 0).where(ratio64.notnull(), NODATA).astype(np.int16)
    ratio = ratio64.astype(np.float32)
    cls.attrs = {
        "long_name": "Productivity performance (-1 degraded, 0 not degraded)",
        "_FillValue": NODATA,
        "performance_threshold": threshold,
        "performance_inclusive": inclusive,
        "performance_percentile": percentile,
        **attrs,
    }
    ratio.attrs = {"long_name": f"Mean productivity / unit {percentile:g}th percentile"}
    unit_max.attrs = {"long_name": f"{percentile:g}th percentile of the unit"}
    ds = xr.Dataset(
        {
            "performance": cls,
            "ratio": ratio,
            "unit_max": unit_max.astype(np.float32).assign_attrs(unit_max.attrs),
            "mean": mean.astype(np.float32),
        }
    )
    ds.attrs.update(cls.attrs)
    return ds
