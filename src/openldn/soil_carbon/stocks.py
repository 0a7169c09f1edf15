"""SOC stocks over time driven by land cover transitions (modified IPCC Tier 1, or Tier 2 coefficients).

PRAIS 2026 §1.3 Step 4; GPG v2 ch. 5; PRAIS 2026 reporting manual §1.3; GPG v2 ch. 5. The coefficient of a transition is the ratio of the stock
20 years after the change to the stock before it; it is reached linearly over 20 years (the Trends.Earth rule)
or geometrically. With annual land cover every year-to-year transition is followed
(Trends.Earth (docs/differences.md)); with gaps between land cover years the change is placed at mid-interval
(Trends.Earth local model, Trends.Earth (docs/differences.md)) or at its start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numba
import numpy as np
import xarray as xr

from openldn.core.blocks import cellwise, reduce_axis
from openldn.core.codes import NODATA
from openldn.core.periods import years_of
from openldn.exceptions import ConfigError, LegendError, MissingYearError
from openldn.land_cover._lookup import (
    UNKNOWN,
    as_int_codes,
    code_rows,
    input_nodata_codes,
    unknown_codes_error,
)
from openldn.soil_carbon.factors import KIND_F, KIND_INVERSE_F, SomeFactors, climate_factor, load_soc_factors

__all__ = ["Annualisation", "TransitionTiming", "as_stock", "tier1_stock"]

Annualisation = Literal["linear_20y", "geometric_20y"]
TransitionTiming = Literal["mid", "start"]


@numba.njit(cache=True, nogil=True)
def _stock_values_kernel(x: np.ndarray, nodata: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    for i in range(x.size):
        v = x[i]
        bad = False
        for k in range(nodata.size):
            bad |= v == nodata[k]
        out[i] = np.nan if bad else v


def _stock_values(block: np.ndarray, nodata: np.ndarray, dtype: type) -> np.ndarray:
    """One block of :func:`as_stock`, in one pass: the values as ``dtype``, NaN where one of ``nodata``."""
    return cellwise(_stock_values_kernel, [block], nodata, dtype=dtype)


def as_stock(da: xr.DataArray, dtype: type = np.float32) -> xr.DataArray:
    """SOC stock as float (float32 by default) with NaN for nodata (declared nodata codes, -32768, NaN)."""
    nd = np.asarray([*input_nodata_codes(da), NODATA], dtype=np.float64)
    out: xr.DataArray = xr.apply_ufunc(_stock_values, da, kwargs={"nodata": nd, "dtype": dtype}, dask="parallelized",
                                       output_dtypes=[dtype], keep_attrs=False)
    out.attrs = {k: v for k, v in da.attrs.items() if k not in ("_FillValue", "nodata")}
    return out


@numba.njit(cache=True)
def _advance(s: float, rate: float, years: int, geometric: bool) -> float:
    if years <= 0:
        return s
    if geometric:
        return s * rate**years
    return s - rate * years


@numba.njit(cache=True, nogil=True)  # nogil: blocks run in parallel on the threaded scheduler
def _stock_kernel(
    soc0: np.ndarray,
    pos: np.ndarray,
    f: np.ndarray,
    gaps: np.ndarray,
    const: np.ndarray,
    kind: np.ndarray,
    n: int,
    horizon: int,
    geometric: bool,
    mid: bool,
    slot: np.ndarray,
    n_out: int,
) -> np.ndarray:  # pragma: no cover - compiled
    """Stocks of every pixel, year by year; year ``k`` is written to output row ``slot[k]`` when it is kept (>= 0).

    ``pos`` is ``(year, pixel)`` (the land cover block as stored), ``f`` one value per pixel or a single value.
    """
    nt, npix = pos.shape
    out = np.empty((n_out, npix), dtype=np.float32)
    one_f = f.size == 1
    for p in range(npix):
        s = np.float64(soc0[p])
        if slot[0] >= 0:
            out[slot[0], p] = s
        rate = 1.0 if geometric else 0.0
        remaining = 0
        fp = f[0] if one_f else f[p]
        for k in range(nt - 1):
            a = pos[k, p]
            b = pos[k + 1, p]
            gap = gaps[k]
            if not np.isfinite(s) or a < 0 or b < 0:
                s = np.nan
            elif a != b:
                off = gap // 2 if mid else 0
                m = min(off, remaining)
                s = _advance(s, rate, m, geometric)
                remaining -= m
                c = kind[a * n + b]
                if c == KIND_F:
                    factor = fp
                elif c == KIND_INVERSE_F:
                    factor = 1.0 / fp
                else:
                    factor = const[a * n + b]
                if not np.isfinite(factor):
                    s = np.nan
                else:
                    rate = factor ** (1.0 / horizon) if geometric else s * (1.0 - factor) / horizon
                    remaining = horizon
                    m = min(gap - off, remaining)
                    s = _advance(s, rate, m, geometric)
                    remaining -= m
            else:
                m = min(gap, remaining)
                s = _advance(s, rate, m, geometric)
                remaining -= m
            if slot[k + 1] >= 0:
                out[slot[k + 1], p] = s
    return out


def _positions(lc: np.ndarray, pos_table: np.ndarray, lc_nodata: list[int], source: str) -> np.ndarray:
    """Row of each land cover cell's class in the coefficients' legend (int16, -1 for nodata; ``pos_table`` marks a
    code of no class :data:`UNKNOWN`); unknown codes fail."""
    pos = code_rows(lc, pos_table, lc_nodata, dtype=np.int16)
    unknown = pos == UNKNOWN
    if unknown.any():
        raise unknown_codes_error(
            as_int_codes(lc[unknown], lc_nodata)[0], "the land cover", f"the legend of SOC coefficients {source}",
            "reclassify it first",
        )
    return pos


def _stock_block(
    lc: np.ndarray,
    soc: np.ndarray,
    f: np.ndarray | None = None,
    *,
    f_value: float = np.nan,
    slot: np.ndarray,
    gaps: np.ndarray,
    pos_table: np.ndarray,
    const: np.ndarray,
    kind: np.ndarray,
    n: int,
    horizon: int,
    geometric: bool,
    mid: bool,
    lc_nodata: list[int],
    source: str,
) -> np.ndarray:
    """float32 ``(kept years, *soc.shape)`` stocks of one block; ``lc`` is ``(year, *soc.shape)``, ``f`` per pixel
    (or ``f_value`` everywhere)."""
    pos = _positions(np.asarray(lc), pos_table, lc_nodata, source)
    fa = np.full(1, f_value) if f is None else np.ascontiguousarray(np.asarray(f, dtype=np.float64).reshape(-1))
    n_out = int((slot >= 0).sum())
    out = _stock_kernel(
        np.ascontiguousarray(np.asarray(soc, dtype=np.float64).reshape(-1)),
        pos.reshape(pos.shape[0], -1),
        fa,
        gaps,
        const,
        kind,
        n,
        horizon,
        geometric,
        mid,
        slot,
        n_out,
    )
    return out.reshape(n_out, *np.shape(soc))


def tier1_stock(
    soc: xr.DataArray,
    lc: xr.DataArray,
    climate: xr.DataArray | float | str | None = None,
    *,
    factors: SomeFactors = "ipcc_tier1",
    soc_year: int | None = None,
    annualisation: Annualisation = "linear_20y",
    transition_timing: TransitionTiming = "mid",
    years: Sequence[int] | None = None,
) -> xr.DataArray:
    """
    SOC stock of each land cover year, from a reference stock and the land cover transitions.

    Starting from the reference stock at ``soc_year``, each change of land cover class starts a change of the stock
    towards ``stock_at_change * F`` reached after ``period_years`` (20) years, where F is the coefficient of the
    transition (PRAIS 2026 reporting manual §1.3; GPG v2 ch. 5); a later change restarts from the current stock. The 20-year coefficients are thus
    annualised: a period of n years after a change gets ``min(n, 20) / 20`` of the linear change (or
    ``F ** (min(n, 20) / 20)`` geometrically).

    Parameters
    ----------
    soc : xarray.DataArray
        Reference stock (t C/ha, 0-30 cm), dims ``(y, x)``, e.g. SoilGrids treated as the year 2000; nodata as
        declared on the array, -32768 or NaN.
    lc : xarray.DataArray
        Land cover in the legend of ``factors`` (UNCCD 1-7 by default), dims ``(time, y, x)``, annual or with gaps,
        nodata -32768. Years before ``soc_year`` are ignored.
    climate : xarray.DataArray, float or str, optional
        Climate factor source: an IPCC climate-zone raster (``(y, x)`` codes 1-12), a number (f itself), or a
        regime name (``"tropical_moist"``...). Needed only when a transition uses f (to or from cropland);
        ``None`` then gives NaN for those pixels.
    factors : SocFactors, str or path, default "ipcc_tier1"
        Coefficients: ``"ipcc_tier1"`` (Tier 1) or a Tier 2 YAML/CSV file (see
        :func:`openldn.soil_carbon.load_soc_factors`).
    soc_year : int, optional
        Year the reference stock represents (default: the first land cover year). It must be a land cover year.
    annualisation : {"linear_20y", "geometric_20y"}, default "linear_20y"
        Linear change ``SOC * (1 - F) / 20`` per year for 20 years (Trends.Earth), or a constant
        annual ratio ``F ** (1 / 20)``.
    transition_timing : {"mid", "start"}, default "mid"
        Where a change between two land cover years n > 1 years apart is placed: at ``start + n // 2``
        (Trends.Earth local model) or at the start. Equal for annual land cover.
    years : sequence of int, optional
        Land cover years to return (default: all from ``soc_year``); the stocks still run over every year.

    Returns
    -------
    xarray.DataArray, [t C ha-1]
        float32 stocks, dims ``(time, y, x)``, one step per land cover year from ``soc_year`` (the first step is
        the reference stock); NaN where the reference stock or a land cover year is nodata (from that year on),
        or where f is needed and missing. Same backing as the inputs.

    Raises
    ------
    MissingYearError
        ``soc_year`` is not a land cover year.
    LegendError
        A land cover code outside the coefficients' legend.

    References
    ----------
    PRAIS 2026 §1.3 Step 4 (Figure 3, annualisation); GPG v2 ch. 5; IPCC 2006 Vol. 4 ch. 2 (stock-change factors,
    20-year default period); PRAIS 2026 reporting manual §1.3; GPG v2 ch. 5; Trends.Earth (docs/differences.md)-6.3.
    """
    if annualisation not in ("linear_20y", "geometric_20y"):
        raise ConfigError(f"annualisation {annualisation!r} is not known: use 'linear_20y' or 'geometric_20y'.")
    if transition_timing not in ("mid", "start"):
        raise ConfigError(f"transition_timing {transition_timing!r} is not known: use 'mid' or 'start'.")
    if "time" not in lc.dims:
        raise LegendError("Land cover for the SOC model needs a 'time' dimension (one step per year).")
    if soc.dims != lc.dims[-2:] or soc.shape != lc.shape[-2:]:
        from openldn.exceptions import GridMismatchError

        raise GridMismatchError(
            f"SOC {soc.dims} {soc.shape} and land cover {lc.dims} {lc.shape} are not on one grid: align them."
        )
    fac = load_soc_factors(factors)
    lc_years = years_of(lc)
    if np.any(np.diff(lc_years) <= 0):
        raise MissingYearError("Land cover years must be strictly increasing: sort the stack and drop duplicates.")
    y0 = int(lc_years[0]) if soc_year is None else int(soc_year)
    if y0 not in set(lc_years.tolist()):
        raise MissingYearError(
            f"SOC reference year {y0} is not a land cover year ({lc_years.min()}-{lc_years.max()}): give land cover "
            f"for {y0} or set soc_year."
        )
    keep = np.flatnonzero(lc_years >= y0)
    lc = lc.isel(time=keep)
    yrs = lc_years[keep]
    gaps = np.diff(yrs).astype(np.int64)
    if years is None:
        slot = np.arange(yrs.size)
    else:
        missing = sorted({int(y) for y in years} - set(yrs.tolist()))
        if missing:
            raise MissingYearError(f"SOC stocks asked for {missing}, which are not land cover years from {y0}.")
        wanted = np.isin(yrs, [int(y) for y in years])
        slot = np.where(wanted, np.cumsum(wanted) - 1, -1)
    f_map: xr.DataArray | None = None
    if isinstance(climate, xr.DataArray):
        f_map = climate_factor(climate, fac)
        f_value = np.nan
    elif isinstance(climate, str):
        f_value = float(np.float32(fac.regime_factor(climate)))
    else:
        f_value = float(np.float32(np.nan if climate is None else float(climate)))
    pos_table, const, kind = fac.tables()
    pos_table = np.where(pos_table < 0, UNKNOWN, pos_table)  # a code of no class (-1 there) is an error, not nodata
    stock0 = as_stock(soc)
    out = reduce_axis(
        _stock_block,
        [lc, stock0] + ([] if f_map is None else [f_map]),
        ["time", None] + ([] if f_map is None else [None]),
        int((slot >= 0).sum()),
        kwargs={
            "f_value": f_value,
            "slot": slot.astype(np.int64),
            "gaps": gaps,
            "pos_table": pos_table,
            "const": const,
            "kind": kind,
            "n": len(fac.legend.codes),
            "horizon": fac.period_years,
            "geometric": annualisation == "geometric_20y",
            "mid": transition_timing == "mid",
            "lc_nodata": input_nodata_codes(lc),
            "source": fac.source or fac.id,
        },
        dtype=np.float32,
    )
    out = out.rename(output="time").assign_coords(time=lc["time"].values[slot >= 0])
    out.attrs = {
        "long_name": "Soil organic carbon stock, 0-30 cm",
        "units": "t C ha-1",
        "soc_factors": fac.id,
        "tier": fac.tier,
        "annualisation": annualisation,
        "transition_timing": transition_timing,
        "soc_reference_year": y0,
    }
    out.name = "soc"
    return out
