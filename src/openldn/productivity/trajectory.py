"""Productivity trajectory (trend) classes, with optional climate correction (RESTREND, RUE, WUE).

References
----------
PRAIS 2026 §1.2 Step 5 (Trends.Earth trajectory: slope with Mann-Kendall significance, p <= 0.05; climate
correction by RESTREND, rain use efficiency or water use efficiency); GPG v2 §4.2.5.1 and PRAIS 2022 §1.2 Step 4
(z-score of the trend, thresholds ±1.28 / ±1.96); standard.md §5.3-5.4; reference-implementation.md §4.2.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr

from openldn.core.codes import NODATA
from openldn.core.periods import Period, SomePeriod, years_of
from openldn.exceptions import ConfigError, GridMismatchError, MissingYearError
from openldn.productivity.trend import AutocorrelationMethod, fdr_significant, mann_kendall

__all__ = [
    "ClimateCorrection",
    "TrajectoryMethod",
    "classify_trajectory",
    "restrend_residuals",
    "trajectory",
    "use_efficiency",
]

#: How the trend is turned into a class.
TrajectoryMethod = Literal["mann_kendall", "zscore"]
#: Climate correction of the series before the trend test.
ClimateCorrection = Literal["none", "restrend", "rue", "wue"]


def _as_int16_class(cls: xr.DataArray, valid: xr.DataArray) -> xr.DataArray:
    out = cls.where(valid, NODATA).astype(np.int16)
    out.attrs["_FillValue"] = NODATA
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
) -> xr.DataArray:
    """Trajectory class -1 (degrading), 0 (stable), 1 (improving) from trend statistics.

    Parameters
    ----------
    trend : xarray.Dataset
        Output of :func:`openldn.productivity.mann_kendall`.
    method : {"mann_kendall", "zscore"}, default "mann_kendall"
        ``"mann_kendall"`` (PRAIS 2026 / Trends.Earth): the sign of the slope where the test is significant
        (``p <= alpha``, or ``significant`` when given). ``"zscore"`` (GPG v2 / PRAIS 2022): ``z < -z_threshold``
        degrading, ``z > z_threshold`` improving.
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

    Returns
    -------
    xarray.DataArray
        int16 classes, -32768 where the trend is undefined.

    References
    ----------
    PRAIS 2026 §1.2 Step 5; GPG v2 §4.2.5.1; reference-implementation.md §4.2.
    """
    sl = trend["ols_slope"] if slope == "ols" else trend["slope"]
    if slope not in ("ols", "theil_sen"):
        raise ConfigError(f"trajectory: slope={slope!r} is unknown; use 'ols' or 'theil_sen'.")
    valid = trend["z"].notnull() & sl.notnull()
    if method == "mann_kendall":
        sig = (trend["p"] <= alpha) if significant is None else significant
        cls = xr.where(sig & (sl > 0), 1, xr.where(sig & (sl < 0), -1, 0))
    elif method == "zscore":
        z = trend["z"]
        cls = xr.where(z > z_threshold, 1, xr.where(z < -z_threshold, -1, 0))
    else:
        raise ConfigError(f"trajectory: method={method!r} is unknown; use 'mann_kendall' or 'zscore'.")
    cls = xr.where(np.abs(sl) <= dead_band, 0, cls)
    out = _as_int16_class(cls, valid)
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
    Evans and Geerken (2004); Wessels et al. (2007); PRAIS 2026 §1.2 Step 5; reference-implementation.md §4.2
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
    Le Houérou (1984); PRAIS 2026 §1.2 Step 5; reference-implementation.md §4.2 (Trends.Earth ``ue``).
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

    Returns
    -------
    xarray.Dataset
        ``trajectory`` (int16 -1/0/1, nodata -32768) and the variables of :func:`mann_kendall`; attributes give
        the window and the parameters.

    References
    ----------
    PRAIS 2026 §1.2 Steps 5-6, Table 12; GPG v2 §4.2.5.1; standard.md §2.3, §5.3-5.4.
    """
    series = ndvi
    attrs: dict[str, object] = {}
    if window is not None:
        w = Period.from_user_input(window)
        series = w.select(ndvi)
        if series.sizes["time"] == 0:
            yrs = years_of(ndvi)
            raise MissingYearError(
                f"trajectory: no productivity year in the window {w.label} (data cover "
                f"{yrs.min() if yrs.size else '-'}-{yrs.max() if yrs.size else '-'}); choose periods within the data."
            )
        attrs["trend_window"] = w.label
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
        series = series.where(mask)
    stats = mann_kendall(
        series, min_years=min_years, autocorrelation=autocorrelation, alpha=alpha, p_method=p_method
    )
    significant = fdr_significant(stats["p"], q=fdr_q) if fdr else None
    cls = classify_trajectory(
        stats,
        method=method,
        alpha=alpha,
        z_threshold=z_threshold,
        slope=slope,
        dead_band=dead_band,
        significant=significant,
    )
    cls.attrs.update(attrs)
    cls.attrs.update(
        {"climate_correction": climate_correction, "autocorrelation": autocorrelation, "fdr": fdr}
    )
    ds = stats.assign(trajectory=cls)
    ds.attrs.update(attrs)
    ds.attrs.update(cls.attrs)
    return ds
