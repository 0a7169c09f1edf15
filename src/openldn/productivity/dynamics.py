"""One call for one period: trajectory, state, performance, LPD and productivity degradation."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from openldn.core.periods import Period, SomePeriod, productivity_windows
from openldn.productivity.lpd import load_lpd_table, lpd_class, lpd_to_degradation
from openldn.productivity.options import ProductivityOptions
from openldn.productivity.performance import performance
from openldn.productivity.state import state_percentile_shift, state_zscore
from openldn.productivity.trajectory import trajectory

__all__ = ["land_productivity_dynamics"]


def land_productivity_dynamics(
    ndvi: xr.DataArray,
    *,
    period: SomePeriod,
    units: xr.DataArray | None = None,
    options: ProductivityOptions | dict[str, Any] | None = None,
    climate: xr.DataArray | None = None,
    mask: xr.DataArray | None = None,
    baseline: bool = False,
    performance_mean: xr.DataArray | None = None,
    performance_table: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> xr.Dataset:
    """Land productivity dynamics of one assessment period, with the windows derived from its last year.

    The trend, state and performance windows come from :func:`openldn.core.periods.productivity_windows`
    (16 years ending at *E*, State 13 + 3); the methods, thresholds and look-up table from ``options`` (a
    :class:`~openldn.productivity.options.ProductivityOptions`, e.g. a preset's ``productivity:`` section).

    Parameters
    ----------
    ndvi : xarray.DataArray
        Annual productivity ``(time, y, x)``.
    period : Period or str
        The baseline or reporting period, e.g. ``"2016-2023"``.
    units : xarray.DataArray, optional
        Land productivity units (:func:`openldn.productivity.land_productivity_units`); one unit over the whole
        array when omitted.
    options : ProductivityOptions or dict, optional
        Method options (defaults: PRAIS 2026 / Trends.Earth).
    climate : xarray.DataArray, optional
        Annual climate series for ``options.climate_correction``.
    mask : xarray.DataArray of bool, optional
        Area of interest.
    baseline : bool, default False
        Use ``options.lpd_table_baseline`` (when set) instead of ``options.lpd_table``.
    performance_mean : xarray.DataArray, optional
        The performance window's mean (:func:`openldn.productivity.performance.window_mean`) when already
        computed (a run stores it in its pass over ``ndvi``); computed from ``ndvi`` otherwise. A given mean is
        taken to be stored: the unit percentiles are then computed at once, in passes that each read it again
        (``compute_percentiles`` of :func:`openldn.productivity.performance`), so memory stays bounded by the
        blocks.
    performance_table : tuple of numpy arrays, optional
        The unit percentiles of ``performance_mean`` when already computed
        (:func:`openldn.productivity.performance_percentiles`, which computes every period's together).

    Returns
    -------
    xarray.Dataset
        ``trajectory``, ``state``, ``performance`` (int16 -1/0/1), ``lpd`` (int16 1-5; absent for a binary
        table), ``prod_degradation`` (int16 -1/0/1), and ``slope``, ``p``, ``ratio``; attributes give the windows
        and the table.

    References
    ----------
    PRAIS 2026 §1.2 Steps 5-6, Tables 12-13; GPG v2 §4.2.5; PRAIS 2026 reporting manual, Introduction and §1.2 Step 6, §5.
    """
    opts = options if isinstance(options, ProductivityOptions) else ProductivityOptions(**(options or {}))
    w = productivity_windows(
        Period.from_user_input(period),
        trend_years=opts.trend_years,
        state_recent_years=opts.state_recent_years,
        performance_years=opts.performance_years,
    )
    traj = trajectory(
        ndvi,
        window=w.trend,
        method=opts.trajectory_method,
        alpha=opts.trajectory_alpha,
        z_threshold=opts.trajectory_z,
        slope=opts.trajectory_slope,
        dead_band=opts.trajectory_dead_band,
        min_years=opts.min_years,
        autocorrelation=opts.autocorrelation,
        p_method=opts.trajectory_p_method,
        fdr=opts.fdr,
        fdr_q=opts.fdr_q,
        climate=climate,
        climate_correction=opts.climate_correction,
        climate_scale=opts.climate_scale,
        mask=mask,
        level=opts.trajectory_level,
        quantum=opts.value_quantum,
    )
    if opts.state_method == "percentile_shift":
        st = state_percentile_shift(
            ndvi,
            baseline=w.state_baseline,
            recent=w.state_recent,
            n_classes=opts.state_classes,
            shift=opts.state_shift,
            extension=opts.state_extension,
            dead_band=opts.state_dead_band,
            quantum=opts.value_quantum,
        )
    else:
        st = state_zscore(
            ndvi,
            baseline=w.state_baseline,
            recent=w.state_recent,
            z_threshold=opts.state_z,
            standard_error=opts.state_standard_error,
        )
    if units is None:
        units = xr.zeros_like(ndvi.isel(time=0), dtype="int64")
    perf = performance(
        ndvi if performance_mean is None else performance_mean,
        units,
        window=w.performance if performance_mean is None else None,
        threshold=opts.performance_threshold,
        inclusive=opts.performance_inclusive,
        percentile=opts.performance_percentile,
        min_unit_pixels=opts.performance_min_unit_pixels,
        mask=mask,
        compute_percentiles=performance_mean is not None,
        unit_table=performance_table,
    )
    if performance_mean is not None:
        perf["performance"].attrs["performance_window"] = w.performance.label
    table = load_lpd_table(
        opts.lpd_table_baseline if baseline and opts.lpd_table_baseline else opts.lpd_table
    )
    comb = lpd_class(traj["trajectory"], st["state"], perf["performance"], table=table)
    out = xr.Dataset(
        {
            "trajectory": traj["trajectory"],
            "state": st["state"],
            "performance": perf["performance"],
            "slope": traj["ols_slope" if opts.trajectory_slope == "ols" else "slope"],
            "p": traj["p"],
            "ratio": perf["ratio"],
        }
    )
    if table.output == "lpd5":
        out["lpd"] = comb
        out["prod_degradation"] = lpd_to_degradation(comb)
    else:
        out["prod_degradation"] = comb
    meta = {**w.to_attrs(), "lpd_table": table.id}
    out.attrs.update(meta)
    for v in ("trajectory", "state", "performance", "lpd", "prod_degradation"):
        if v in out:
            out[v].attrs.update(meta)
    return out
