"""Productivity trajectory (trend) classes, with optional climate correction (RESTREND, RUE, WUE).

References
----------
PRAIS 2026 §1.2 Step 5 (Trends.Earth trajectory: slope with Mann-Kendall significance, p <= 0.05; climate
correction by RESTREND, rain use efficiency or water use efficiency); GPG v2 §4.2.5.1 and PRAIS 2022 §1.2 Step 4
(z-score of the trend, thresholds ±1.28 / ±1.96); PRAIS 2026 reporting manual §1.2; GPG v2 ch. 4; Trends.Earth productivity (docs/differences.md).
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources
from typing import Literal

import numba
import numpy as np
import xarray as xr

from openldn.core.blocks import cellwise, where_inside
from openldn.core.codes import NODATA
from openldn.core.periods import Period, SomePeriod, years_of
from openldn.exceptions import ConfigError, GridMismatchError, MissingYearError
from openldn.productivity import _kernels
from openldn.productivity._series import reduce_time
from openldn.productivity.trend import AutocorrelationMethod, fdr_significant, mann_kendall

__all__ = [
    "ClimateCorrection",
    "TrajectoryMethod",
    "classify_trajectory",
    "kendall_critical_s",
    "kendall_table_significance",
    "ols_slope_parts",
    "restrend_residuals",
    "trajectory",
    "use_efficiency",
]

#: How the trend is turned into a class.
TrajectoryMethod = Literal["mann_kendall", "zscore", "kendall_table"]
#: Confidence levels of the critical-S table.
_LEVELS = (90, 95, 99)
#: Climate correction of the series before the trend test.
ClimateCorrection = Literal["none", "restrend", "rue", "wue"]


def _as_int16_class(cls: xr.DataArray, valid: xr.DataArray, flat: xr.DataArray) -> xr.DataArray:
    """int16 classes: 0 in the dead band (``flat``), nodata where not ``valid``."""
    out: xr.DataArray = xr.where(flat, 0, cls).where(valid, NODATA).astype(np.int16)
    out.attrs["_FillValue"] = NODATA
    return out


@numba.njit(cache=True, nogil=True)
def _mk_class_kernel(sl: np.ndarray, z: np.ndarray, sig: np.ndarray, flat: np.ndarray, p_given: bool, alpha: float,
                     out: np.ndarray) -> None:  # pragma: no cover - compiled
    for i in range(out.size):
        s = np.float64(sl[i])
        if z[i] != z[i] or s != s:
            out[i] = NODATA
        elif flat[i]:
            out[i] = 0
        else:
            significant = (sig[i] <= alpha) if p_given else (sig[i] != 0)
            out[i] = 1 if significant and s > 0 else (-1 if significant and s < 0 else 0)


def _mk_classes(sl: np.ndarray, z: np.ndarray, sig: np.ndarray, flat: np.ndarray, *, alpha: float) -> np.ndarray:
    """Mann-Kendall trajectory classes of a block: nodata where ``z`` or the slope is NaN, 0 in the dead band
    (``flat``), else the slope's sign where significant (``sig``: the p-value, ``<= alpha``, or a boolean)."""
    sig_arr = np.asarray(sig)
    p_given = sig_arr.dtype.kind == "f"
    return cellwise(_mk_class_kernel, [sl, np.asarray(z, dtype=np.float64), sig_arr if p_given else
                                       sig_arr.astype(np.bool_), np.asarray(flat, dtype=np.bool_)],
                    p_given, alpha, dtype=np.int16)


@lru_cache(maxsize=1)
def _kendall_rows() -> dict[int, tuple[int, int, int | None]]:
    """``n -> (s90, s95, s99)`` from ``openldn/data/productivity/kendall_critical_s.csv`` (s99 None when absent)."""
    src = resources.files("openldn") / "data" / "productivity" / "kendall_critical_s.csv"
    with src.open("r", encoding="utf-8") as fh:
        rows = {
            int(r["n"]): (int(r["s90"]), int(r["s95"]), int(r["s99"]) if r["s99"].strip() else None)
            for r in csv.DictReader(fh)
        }
    return rows


def kendall_critical_s(n: int, level: int = 95) -> int:
    """Critical value of the Mann-Kendall |S| for ``n`` years at the 90, 95 or 99 % level.

    Values of Hollander and Wolfe, *Nonparametric Statistical Methods*, Table A.30, as tabulated by Trends.Earth
    for n = 4 ... 60 (package data ``openldn/data/productivity/kendall_critical_s.csv``; n = 60 has no 99 % value).

    Parameters
    ----------
    n : int
        Number of years of the trend window (Trends.Earth: the window length, whatever the valid years of a pixel).
    level : {90, 95, 99}, default 95
        Confidence level of the table column.

    Returns
    -------
    int
        The critical |S|.

    Raises
    ------
    ConfigError
        When ``n`` is outside 4 ... 60, the level is unknown or the table has no value for it.

    Examples
    --------
    >>> kendall_critical_s(15, 95)
    33
    """
    if level not in _LEVELS:
        raise ConfigError(f"kendall_table: level {level!r} is unknown; use 90, 95 or 99.")
    rows = _kendall_rows()
    if int(n) not in rows:
        raise ConfigError(
            f"kendall_table: the critical-S table covers windows of {min(rows)} to {max(rows)} years, not {n}; "
            "change productivity.trend_years or use trajectory_method: mann_kendall."
        )
    value = rows[int(n)][_LEVELS.index(level)]
    if value is None:
        raise ConfigError(
            f"kendall_table: the table has no {level} % value for n = {n}; use trajectory_level 90 or 95 or a "
            "shorter window."
        )
    return value


def ols_slope_parts(series: xr.DataArray, *, dim: str = "time") -> xr.Dataset:
    """Numerator and denominator of the per-pixel least-squares slope, in float64, over the valid years.

    With ``t`` the years counted from the first step of ``series`` and ``m`` the valid years,
    ``num = n * sum(t x) - sum(t) * sum(x)`` and ``den = n * sum(t t) - sum(t) ** 2`` (``slope = num / den``). For
    integer values (e.g. a vegetation index stored as integers, see ``value_quantum``) every sum is an exact
    integer in float64, so a threshold ``|slope| <= b`` can be tested exactly as ``|num| <= b * den``.

    Parameters
    ----------
    series : xarray.DataArray
        Annual values, NaN = missing year.
    dim : str, default "time"
        Time dimension (read as years for ``"time"``).

    Returns
    -------
    xarray.Dataset
        ``num`` and ``den`` (float64; ``den`` is 0 where fewer than two years are valid).
    """
    t_abs = years_of(series).astype(np.float64) if dim == "time" else np.asarray(series[dim].values, np.float64)
    t = np.ascontiguousarray(t_abs - (t_abs[0] if t_abs.size else 0.0), np.float64)
    num, den = reduce_time(series, _kernels.ols_parts_block, 2, t, dim=dim)  # one pass over the series
    return xr.Dataset({"num": num, "den": den})


def kendall_table_significance(
    s: xr.DataArray,
    slope: xr.DataArray,
    *,
    n: int,
    flat: xr.DataArray | None = None,
    dead_band: float = 0.0,
) -> xr.DataArray:
    """Trends.Earth's trajectory significance band (-3 ... 3) from S, the slope and the critical-S table.

    The band is built as the reference tool builds it (Trends.Earth productivity (docs/differences.md)), each rule overriding the
    previous ones, with ``k90, k95, k99`` the critical values of :func:`kendall_critical_s` for ``n``:
    slope > 0 and |S| >= k90, k95, k99 give 1, 2, 3; slope < 0 gives -1, -2, -3 likewise; then |S| <= k90 gives 0;
    then a slope inside the dead band gives 0. Hence a pixel is non-zero only when |S| > k90 (strictly), and is
    at least 95 % significant when also |S| >= k95.

    Parameters
    ----------
    s : xarray.DataArray
        Mann-Kendall S (NaN where undefined).
    slope : xarray.DataArray
        Slope whose sign gives the direction (Trends.Earth: OLS), NaN where undefined.
    n : int
        Length of the trend window in years (not the valid years of a pixel, as in the reference).
    flat : xarray.DataArray of bool, optional
        Pixels inside the dead band (e.g. ``|num| <= b * den`` from :func:`ols_slope_parts`, exact for integer
        values); by default ``|slope| <= dead_band`` in float64.
    dead_band : float, default 0.0
        Absolute slope at or below which the band is 0 (Trends.Earth: 10 in NDVI x 10000 per year); used when
        ``flat`` is not given.

    Returns
    -------
    xarray.DataArray
        int16 -3 ... 3, -32768 where S or the slope is undefined.

    References
    ----------
    Hollander and Wolfe, Table A.30; Trends.Earth productivity (docs/differences.md) (Trends.Earth ``productivity_trajectory``).
    """
    k90 = kendall_critical_s(n, 90)
    k95 = kendall_critical_s(n, 95)
    k99 = _kendall_rows()[int(n)][2]
    sl = slope.astype(np.float64)
    a = abs(s.astype(np.float64))
    if flat is None:
        flat = abs(sl) <= float(dead_band)
    band = xr.full_like(sl, NODATA, dtype=np.float64)
    for sign, cond in ((1, sl > 0), (-1, sl < 0)):
        band = xr.where(cond & (a >= k90), sign * 1, band)
        band = xr.where(cond & (a >= k95), sign * 2, band)
        if k99 is not None:
            band = xr.where(cond & (a >= k99), sign * 3, band)
    band = xr.where(a <= k90, 0, band)
    band = xr.where(flat, 0, band)
    valid = s.notnull() & sl.notnull()
    out: xr.DataArray = band.where(valid, NODATA).astype(np.int16)
    out.name = "trajectory_significance"
    out.attrs = {
        "long_name": "Trajectory significance (-3/-2/-1 decline at 99/95/90 %, 0 stable, 1/2/3 increase)",
        "_FillValue": NODATA,
        "kendall_n": int(n),
        "kendall_s90": k90,
        "kendall_s95": k95,
        "kendall_s99": -1 if k99 is None else k99,
    }
    return out


def classify_trajectory(
    trend: xr.Dataset,
    *,
    method: TrajectoryMethod = "mann_kendall",
    alpha: float = 0.05,
    z_threshold: float = 1.96,
    slope: Literal["ols", "theil_sen"] = "ols",
    dead_band: float = 0.0,
    significant: xr.DataArray | None = None,
    n_window: int | None = None,
    level: int = 95,
    flat: xr.DataArray | None = None,
) -> xr.DataArray:
    """Trajectory class -1 (degrading), 0 (stable), 1 (improving) from trend statistics.

    Parameters
    ----------
    trend : xarray.Dataset
        Output of :func:`openldn.productivity.mann_kendall`.
    method : {"mann_kendall", "zscore", "kendall_table"}, default "mann_kendall"
        ``"mann_kendall"`` (PRAIS 2026 manual): the sign of the slope where the test is significant
        (``p <= alpha``, or ``significant`` when given). ``"zscore"`` (GPG v2 / PRAIS 2022): ``z < -z_threshold``
        degrading, ``z > z_threshold`` improving. ``"kendall_table"`` (Trends.Earth exactly): the significance band
        of :func:`kendall_table_significance` reduced to 3 classes, significant where ``|band|`` reaches
        ``level`` (90 -> 1, 95 -> 2, 99 -> 3).
    alpha : float, default 0.05
        Significance level of the two-sided test (``"mann_kendall"``).
    z_threshold : float, default 1.96
        z threshold (``"zscore"``); 1.28 reproduces the 3-class reduction of GPG v2.
    slope : {"ols", "theil_sen"}, default "ols"
        Slope whose sign gives the direction (Trends.Earth uses the OLS slope).
    dead_band : float, default 0.0
        Pixels whose absolute slope is at most this value are stable (Trends.Earth uses 0.001 NDVI per year on mean
        annual NDVI; 0 disables it except for an exactly flat slope).
    significant : xarray.DataArray of bool, optional
        Significance mask replacing ``p <= alpha`` (e.g. from :func:`fdr_significant`).
    n_window : int, optional
        Length of the trend window in years (``"kendall_table"``; default: the largest ``n`` of ``trend``).
    level : {90, 95, 99}, default 95
        Confidence level of ``"kendall_table"``.
    flat : xarray.DataArray of bool, optional
        Pixels inside the dead band, computed exactly by the caller (:func:`trajectory` does it from
        :func:`ols_slope_parts`); by default ``|slope| <= dead_band`` in float64.

    Returns
    -------
    xarray.DataArray
        int16 classes, -32768 where the trend is undefined.

    References
    ----------
    PRAIS 2026 §1.2 Step 5; GPG v2 §4.2.5.1; Trends.Earth productivity (docs/differences.md).
    """
    sl = trend["ols_slope"] if slope == "ols" else trend["slope"]
    if slope not in ("ols", "theil_sen"):
        raise ConfigError(f"trajectory: slope={slope!r} is unknown; use 'ols' or 'theil_sen'.")
    sl = sl.astype(np.float64)
    if flat is None:
        flat = abs(sl) <= float(dead_band)
    band: xr.DataArray | None = None
    if method == "mann_kendall":  # the rules below in one kernel pass per block
        sig_in = trend["p"] if significant is None else significant
        out: xr.DataArray = xr.apply_ufunc(_mk_classes, sl, trend["z"], sig_in, flat, kwargs={"alpha": float(alpha)},
                                           dask="parallelized", output_dtypes=[np.int16], keep_attrs=False)
        out.attrs = {"_FillValue": NODATA}
    elif method == "zscore":
        z = trend["z"]
        cls = xr.where(z > z_threshold, 1, xr.where(z < -z_threshold, -1, 0))
        out = _as_int16_class(cls, z.notnull() & sl.notnull(), flat)
    elif method == "kendall_table":
        if level not in _LEVELS:
            raise ConfigError(f"trajectory: level={level!r} is unknown; use 90, 95 or 99.")
        n = int(n_window) if n_window is not None else int(trend["n"].max())
        band = kendall_table_significance(trend["s"], sl, n=n, flat=flat)
        cls = xr.where(band >= _LEVELS.index(level) + 1, 1, xr.where(band <= -(_LEVELS.index(level) + 1), -1, 0))
        out = _as_int16_class(cls, band != NODATA, flat)
    else:
        raise ConfigError(
            f"trajectory: method={method!r} is unknown; use 'mann_kendall', 'zscore' or 'kendall_table'."
        )
    out.name = "trajectory"
    out.attrs.update(
        {
            "long_name": "Productivity trajectory (-1 degrading, 0 stable, 1 improving)",
            "trajectory_method": method,
            "trajectory_alpha": alpha,
            "trajectory_z": z_threshold,
            "trajectory_slope": slope,
            "trajectory_dead_band": dead_band,
        }
    )
    if band is not None:
        out.attrs.update({"trajectory_level": level, **{k: v for k, v in band.attrs.items() if k.startswith("kendall")}})
    return out


def restrend_residuals(ndvi: xr.DataArray, climate: xr.DataArray, *, dim: str = "time") -> xr.DataArray:
    """Residuals of the per-pixel linear regression of productivity on a climate variable (RESTREND).

    For every pixel, ``ndvi = a + b * climate`` is fitted by least squares over the years where both are valid;
    the residuals ``ndvi - (a + b * climate)`` are returned (NaN where either is missing). Their trend is the
    climate-corrected trajectory.

    Parameters
    ----------
    ndvi, climate : xarray.DataArray
        Annual series on the same grid and years (e.g. annual precipitation or soil moisture).
    dim : str, default "time"
        Time dimension.

    Returns
    -------
    xarray.DataArray
        Residual productivity, same units as ``ndvi``.

    References
    ----------
    Evans and Geerken (2004); Wessels et al. (2007); PRAIS 2026 §1.2 Step 5; Trends.Earth productivity (docs/differences.md)
    (Trends.Earth ``p_restrend``).
    """
    ndvi, climate = _align(ndvi, climate, dim)
    ok = ndvi.notnull() & climate.notnull()
    y = ndvi.where(ok)
    x = climate.where(ok)
    xm = x.mean(dim)
    ym = y.mean(dim)
    sxx = ((x - xm) ** 2).sum(dim)
    sxy = ((x - xm) * (y - ym)).sum(dim)
    b = xr.where(sxx > 0, sxy / sxx.where(sxx > 0), 0.0)
    res = y - (ym + b * (x - xm))
    res.name = "restrend_residual"
    res.attrs = {
        "long_name": "Residual of productivity regressed on climate (RESTREND)",
        "units": ndvi.attrs.get("units", ""),
    }
    return res


def use_efficiency(ndvi: xr.DataArray, climate: xr.DataArray, *, scale: float = 1000.0) -> xr.DataArray:
    """Rain (or water) use efficiency: productivity per unit of climate input, ``ndvi / (climate / scale)``.

    With annual precipitation this is the rain use efficiency (RUE); with annual evapotranspiration, the water
    use efficiency (WUE). Years with a climate value <= 0 are missing.

    Parameters
    ----------
    ndvi, climate : xarray.DataArray
        Annual series on the same grid and years.
    scale : float, default 1000
        Divisor of the climate variable (Trends.Earth divides precipitation in mm by 1000).

    Returns
    -------
    xarray.DataArray
        Use efficiency.

    References
    ----------
    Le Houérou (1984); PRAIS 2026 §1.2 Step 5; Trends.Earth productivity (docs/differences.md) (Trends.Earth ``ue``).
    """
    ndvi, climate = _align(ndvi, climate, "time")
    c = climate.where(climate > 0)
    out = ndvi / (c / scale)
    out.name = "use_efficiency"
    out.attrs = {"long_name": "Productivity per unit of climate input (RUE/WUE)"}
    return out


def _align(ndvi: xr.DataArray, climate: xr.DataArray, dim: str) -> tuple[xr.DataArray, xr.DataArray]:
    for d in ndvi.dims:
        if d != dim and d in climate.dims and climate.sizes[d] != ndvi.sizes[d]:
            raise GridMismatchError(
                f"climate input: dimension {d!r} has {climate.sizes[d]} cells, productivity {ndvi.sizes[d]}; "
                "align both onto the analysis grid."
            )
    if dim == "time":
        yn, yc = years_of(ndvi), years_of(climate)
        common = np.intersect1d(yn, yc)
        missing = np.setdiff1d(yn, yc)
        if missing.size:
            raise MissingYearError(
                f"climate input: years {missing.tolist()} of the productivity series are missing; supply the "
                "climate variable for every productivity year."
            )
        climate = climate.isel(time=[int(np.flatnonzero(yc == y)[0]) for y in common])
        climate = climate.assign_coords(time=ndvi["time"].values)
    for d in ("x", "y"):
        if d in ndvi.coords and d in climate.coords:
            climate = climate.assign_coords({d: ndvi[d].values})
    return ndvi, climate


def trajectory(
    ndvi: xr.DataArray,
    *,
    window: SomePeriod | None = None,
    method: TrajectoryMethod = "mann_kendall",
    alpha: float = 0.05,
    z_threshold: float = 1.96,
    slope: Literal["ols", "theil_sen"] = "ols",
    dead_band: float = 0.0,
    min_years: int = 10,
    autocorrelation: AutocorrelationMethod = "none",
    p_method: Literal["normal", "exact"] = "normal",
    fdr: bool = False,
    fdr_q: float = 0.05,
    climate: xr.DataArray | None = None,
    climate_correction: ClimateCorrection = "none",
    climate_scale: float = 1000.0,
    mask: xr.DataArray | None = None,
    level: int = 95,
    quantum: float | None = None,
) -> xr.Dataset:
    """Productivity trajectory over a window: trend statistics and the -1/0/1 class.

    Parameters
    ----------
    ndvi : xarray.DataArray
        Annual productivity ``(time, y, x)``.
    window : Period or str, optional
        Years of the trend (e.g. the ``trend`` window of :func:`openldn.core.periods.productivity_windows`);
        every year of ``ndvi`` when omitted.
    method, alpha, z_threshold, slope, dead_band
        See :func:`classify_trajectory`.
    min_years : int, default 10
        Minimum number of valid years; fewer gives nodata.
    autocorrelation : {"none", "hamed_rao", "pre_whitening"}, default "none"
        See :func:`openldn.productivity.mann_kendall`.
    p_method : {"normal", "exact"}, default "normal"
        p-value of S: normal approximation, or exact permutation distribution for series without ties.
    fdr : bool, default False
        Control the false discovery rate (Benjamini-Hochberg, rate ``fdr_q``) over the pixels of ``mask`` (or every
        pixel) instead of testing each pixel at ``alpha``.
    fdr_q : float, default 0.05
        False discovery rate.
    climate : xarray.DataArray, optional
        Annual climate series (precipitation, soil moisture or evapotranspiration) for the climate correction.
    climate_correction : {"none", "restrend", "rue", "wue"}, default "none"
        ``"restrend"``: trend of the residuals of productivity regressed on ``climate``; ``"rue"`` / ``"wue"``:
        trend of ``ndvi / (climate / climate_scale)``.
    climate_scale : float, default 1000
        Divisor of the climate variable for RUE/WUE.
    mask : xarray.DataArray of bool, optional
        Area of interest (pixels outside are nodata and excluded from the FDR control).
    level : {90, 95, 99}, default 95
        Confidence level of the ``"kendall_table"`` method.
    quantum : float, optional
        Storage step of the values (Trends.Earth: 0.0001 for NDVI stored as NDVI x 10000 integers). The values are
        rounded to multiples of it and the statistics computed in those integer units, so that S, its ties and
        the dead band (``|num| <= dead_band / quantum * den``, :func:`ols_slope_parts`) are exact. The slopes
        returned are in the units of ``ndvi``.

    Returns
    -------
    xarray.Dataset
        ``trajectory`` (int16 -1/0/1, nodata -32768) and the variables of :func:`mann_kendall` (``ols_slope`` in
        float64; the Theil-Sen ``slope`` only when it gives the direction or an autocorrelation correction uses
        it), plus ``trajectory_significance`` (-3 ... 3) for ``"kendall_table"``; attributes give the window and
        the parameters.

    References
    ----------
    PRAIS 2026 §1.2 Steps 5-6, Table 12; GPG v2 §4.2.5.1; PRAIS 2026 reporting manual, Introduction and §1.2 Step 6, §5.3-5.4.
    """
    series = ndvi
    attrs: dict[str, object] = {}
    n_window: int | None = None
    if quantum is not None:
        if not quantum > 0:
            raise ConfigError(f"trajectory: quantum={quantum} must be positive, e.g. 0.0001.")
        series = (series.astype(np.float64) / quantum).round()
    if window is not None:
        w = Period.from_user_input(window)
        series = w.select(series)
        if series.sizes["time"] == 0:
            yrs = years_of(ndvi)
            raise MissingYearError(
                f"trajectory: no productivity year in the window {w.label} (data cover "
                f"{yrs.min() if yrs.size else '-'}-{yrs.max() if yrs.size else '-'}); choose periods within the data."
            )
        attrs["trend_window"] = w.label
        n_window = w.end - w.start + 1
    elif series.sizes.get("time", 0):
        yrs = years_of(series)
        n_window = int(yrs.max() - yrs.min() + 1)
    if climate_correction != "none":
        if climate is None:
            raise ConfigError(
                f"trajectory: climate_correction={climate_correction!r} needs a climate series; add the "
                "precipitation (or soil moisture) input or set climate_correction to 'none'."
            )
        if climate_correction == "restrend":
            series = restrend_residuals(series, climate)
        elif climate_correction in ("rue", "wue"):
            series = use_efficiency(series, climate, scale=climate_scale)
        else:
            raise ConfigError(
                f"trajectory: climate_correction={climate_correction!r} is unknown; use none, restrend, rue or wue."
            )
    if mask is not None:
        series = where_inside(series, mask)
    # the Theil-Sen slope (two thirds of the kernel's time) only where it gives the direction or detrends the series
    stats = mann_kendall(
        series, min_years=min_years, autocorrelation=autocorrelation, alpha=alpha, p_method=p_method,
        theil_sen=slope != "ols" or autocorrelation != "none",
    )
    significant = fdr_significant(stats["p"], q=fdr_q) if fdr else None
    # the OLS slope and the dead band in float64 (exact for integer values: see ols_slope_parts)
    parts = ols_slope_parts(series)
    unit = 1.0 if quantum is None else float(quantum)
    band_units = float(dead_band) if quantum is None else round(float(dead_band) / unit, 9)
    ols = (parts["num"] / parts["den"].where(parts["den"] > 0)) * unit
    stats["ols_slope"] = ols.where(stats["ols_slope"].notnull()).assign_attrs(stats["ols_slope"].attrs)
    if slope == "ols":
        flat = abs(parts["num"]) <= band_units * parts["den"]
    else:
        flat = abs(stats["slope"].astype(np.float64)) <= band_units
    if quantum is not None and slope != "ols":
        stats["slope"] = (stats["slope"].astype(np.float64) * unit).assign_attrs(stats["slope"].attrs)
    cls = classify_trajectory(
        stats,
        method=method,
        alpha=alpha,
        z_threshold=z_threshold,
        slope=slope,
        dead_band=dead_band,
        significant=significant,
        n_window=n_window,
        level=level,
        flat=flat,
    )
    if quantum is not None:
        cls.attrs["value_quantum"] = quantum
    cls.attrs.update(attrs)
    cls.attrs.update(
        {"climate_correction": climate_correction, "autocorrelation": autocorrelation, "fdr": fdr}
    )
    ds = stats.assign(trajectory=cls)
    if method == "kendall_table":
        assert n_window is not None
        ds["trajectory_significance"] = kendall_table_significance(
            stats["s"], stats["ols_slope" if slope == "ols" else "slope"], n=n_window, flat=flat
        )
    ds.attrs.update(attrs)
    ds.attrs.update(cls.attrs)
    return ds
