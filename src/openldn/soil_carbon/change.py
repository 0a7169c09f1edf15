"""SOC change and SOC degradation (-1 / 0 / 1) between an initial and a final stock.

PRAIS 2022 §1.3 Step 4 and PRAIS 2026 §1.3 Step 5; GPG v2 ch. 5; PRAIS 2026 reporting manual §1.3; GPG v2 ch. 5. The relative change
``(SOC_final - SOC_initial) / SOC_initial`` is compared with a threshold (10 % by default). Whether exactly
+/-threshold is stable ("more than 10 %", strict, the default) or degraded/improved (Trends.Earth local pipeline)
is a parameter (differences register D12).
"""

from __future__ import annotations

import numba
import numpy as np
import xarray as xr

from openldn.core.blocks import cellwise
from openldn.core.codes import NODATA
from openldn.exceptions import ConfigError, GridMismatchError
from openldn.soil_carbon.stocks import as_stock

__all__ = ["THRESHOLD_TOLERANCE", "degradation", "relative_change", "statistical_degradation"]


def _check(a: xr.DataArray, b: xr.DataArray, what: str) -> None:
    if a.shape[-2:] != b.shape[-2:] or a.dims[-2:] != b.dims[-2:]:
        raise GridMismatchError(
            f"{what}: the two stocks are not on one grid ({a.dims} {a.shape} vs {b.dims} {b.shape}): align them."
        )


@numba.njit(cache=True, nogil=True)
def _ratio_kernel(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    for i in range(out.size):
        out[i] = (b[i] - a[i]) / a[i] if a[i] > 0 else np.nan


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(b - a) / a`` where ``a > 0``, NaN elsewhere, in float64 (one pass)."""
    return cellwise(_ratio_kernel, [np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)],
                    dtype=np.float64)


#: Relative changes closer than this to the threshold count as exactly at it (floating-point rounding of stocks
#: such as 57 -> 51.3 must not decide the class).
THRESHOLD_TOLERANCE: float = 1e-6


def relative_change(initial: xr.DataArray, final: xr.DataArray, *, round_stocks: bool = False) -> xr.DataArray:
    """
    Relative SOC change ``(final - initial) / initial`` (a fraction; x 100 for percent).

    Parameters
    ----------
    initial, final : xarray.DataArray
        SOC stocks (t C/ha) on one grid; nodata as declared on the arrays, -32768 or NaN.
    round_stocks : bool, default False
        Round both stocks to whole t C/ha first (Trends.Earth local pipeline, which computes the change from Int16
        stocks; Trends.Earth (docs/differences.md) #26).

    Returns
    -------
    xarray.DataArray, [1]
        float64 fraction; NaN where either stock is nodata or the initial stock is not positive. Same backing as
        the inputs.

    References
    ----------
    PRAIS 2022 §1.3 Step 4 (T_SOC); PRAIS 2026 reporting manual §1.3; GPG v2 ch. 5.
    """
    _check(initial, final, "SOC change")
    a = as_stock(initial, np.float64)
    b = as_stock(final, np.float64)
    if round_stocks:
        a, b = np.round(a), np.round(b)
    out = xr.apply_ufunc(_ratio, a, b, dask="parallelized", output_dtypes=[np.float64])
    out.attrs = {"long_name": "Relative SOC change", "units": "1"}
    out.name = "soc_change"
    return out


@numba.njit(cache=True, nogil=True)
def _classify_kernel(change: np.ndarray, water: np.ndarray, threshold: float, tol: float, strict: bool,
                     out: np.ndarray) -> None:  # pragma: no cover - compiled
    has_water = water.size > 0
    for i in range(out.size):
        c = change[i]
        if np.isnan(c) or (has_water and water[i] != 0):
            out[i] = NODATA
            continue
        at_lo = abs(c + threshold) <= tol
        at_hi = abs(c - threshold) <= tol
        if strict:
            deg = c < -threshold and not at_lo
            imp = c > threshold and not at_hi
        else:
            deg = c <= -threshold or at_lo
            imp = c >= threshold or at_hi
        out[i] = -1 if deg else (1 if imp else 0)


def _classify_block(change: np.ndarray, *water: np.ndarray, threshold: float, strict: bool) -> np.ndarray:
    """-1 / 0 / 1 of the relative changes of one block (NODATA where NaN or water), in one pass."""
    return cellwise(_classify_kernel, [np.asarray(change, dtype=np.float64), water[0] if water else None],
                    float(threshold), THRESHOLD_TOLERANCE, bool(strict), dtype=np.int16)


def _classify(change: xr.DataArray, threshold: float, strict: bool, water: xr.DataArray | None) -> xr.DataArray:
    arrays = [change] if water is None else [change, water]
    out = xr.apply_ufunc(_classify_block, *arrays, kwargs={"threshold": threshold, "strict": strict},
                         dask="parallelized", output_dtypes=[np.int16])
    out.attrs = {
        "long_name": "SOC degradation",
        "_FillValue": NODATA,
        "flag_values": np.array([-1, 0, 1], dtype=np.int16),
        "flag_meanings": "degradation stable improvement",
    }
    out.name = "soc_degradation"
    return out


def degradation(
    initial: xr.DataArray,
    final: xr.DataArray,
    threshold: float = 0.10,
    *,
    strict: bool = True,
    water: xr.DataArray | None = None,
    round_stocks: bool = False,
) -> xr.DataArray:
    """
    SOC degradation from an initial and a final stock with the threshold rule (10 % by default).

    Degraded if the relative change is below ``-threshold``, improved if above ``threshold``, stable otherwise.

    Parameters
    ----------
    initial, final : xarray.DataArray
        SOC stocks (t C/ha) at the start and the end of the period, same grid; nodata as declared on the arrays,
        -32768 or NaN.
    threshold : float, default 0.10
        Relative change threshold, a fraction (0.10 = 10 %; PRAIS 2026 §1.3 Step 5: "a suggested starting point").
    strict : bool, default True
        ``True``: exactly +/-threshold is stable ("more than 10 %", PRAIS wording and the Trends.Earth all-GEE
        script). ``False``: exactly -threshold is degraded and +threshold improved (Trends.Earth local pipeline).
    water : xarray.DataArray, optional
        Boolean water mask (land cover class 7 in the initial year); water pixels are nodata
        (Trends.Earth conventions (docs/differences.md)).
    round_stocks : bool, default False
        Compare whole-t/ha stocks (Trends.Earth local pipeline) instead of the exact stocks.

    Returns
    -------
    xarray.DataArray
        int16: -1 degraded, 0 stable, 1 improved, -32768 where either stock is nodata, the initial stock is zero
        (or negative) or the pixel is water. Same backing as the inputs.

    References
    ----------
    PRAIS 2022 §1.3 Step 4; PRAIS 2026 §1.3 Step 5; GPG v2 ch. 5; PRAIS 2026 reporting manual §1.3; GPG v2 ch. 5.
    """
    if not 0 < float(threshold) < 1:
        raise ConfigError(f"SOC threshold {threshold!r} must be a fraction between 0 and 1 (0.10 = 10 %).")
    change = relative_change(initial, final, round_stocks=round_stocks)
    out = _classify(change, float(threshold), strict, water)
    out.attrs.update({"threshold": float(threshold), "strict": int(strict)})
    return out


def statistical_degradation(
    baseline: xr.DataArray,
    reporting: xr.DataArray,
    *,
    baseline_sd: xr.DataArray | float | None = None,
    n_sd: float = 2.0,
    water: xr.DataArray | None = None,
) -> xr.DataArray:
    """
    SOC degradation by the confidence-interval test: the reporting mean against the baseline mean +/- n sd.

    Degraded if the reporting-period mean stock is below ``mean_baseline - n_sd * sd``, improved if above
    ``mean_baseline + n_sd * sd``, stable otherwise (the 95 % interval "measured as twice the standard
    deviation").

    Parameters
    ----------
    baseline : xarray.DataArray
        Baseline stocks: ``(time, y, x)`` (several years or realisations; their mean and sample standard deviation
        per pixel are used) or ``(y, x)`` with ``baseline_sd``.
    reporting : xarray.DataArray
        Reporting-period stocks, ``(time, y, x)`` (averaged) or ``(y, x)``.
    baseline_sd : xarray.DataArray or float, optional
        Standard deviation of the baseline stock (e.g. a SoilGrids uncertainty layer, t C/ha). Overrides the
        standard deviation over ``time``; required when ``baseline`` has no ``time`` dimension.
    n_sd : float, default 2.0
        Half-width of the interval in standard deviations.
    water : xarray.DataArray, optional
        Boolean water mask; water is nodata.

    Returns
    -------
    xarray.DataArray
        int16 -1 / 0 / 1, nodata -32768 where a mean or the standard deviation is missing, or on water.

    References
    ----------
    PRAIS 2022 §1.3 Step 4 (alternative statistical test); GPG v2 ch. 5; PRAIS 2026 reporting manual §1.3; GPG v2 ch. 5.
    """
    _check(baseline, reporting, "SOC statistical test")
    b = as_stock(baseline, np.float64)
    r = as_stock(reporting, np.float64)
    if "time" in b.dims:
        mean_b = b.mean("time", skipna=False)
        sd = b.std("time", ddof=1, skipna=False) if b.sizes["time"] > 1 else None
    else:
        mean_b, sd = b, None
    if baseline_sd is not None:
        sd = as_stock(baseline_sd, np.float64) if isinstance(baseline_sd, xr.DataArray) else baseline_sd
    if sd is None:
        raise ConfigError(
            "The SOC statistical test needs a baseline spread: give several baseline years or baseline_sd."
        )
    mean_r = r.mean("time", skipna=False) if "time" in r.dims else r
    lower = mean_b - n_sd * sd
    upper = mean_b + n_sd * sd
    out = xr.where(mean_r < lower, -1, xr.where(mean_r > upper, 1, 0))
    nd = mean_r.isnull() | mean_b.isnull() | (lower.isnull() if isinstance(lower, xr.DataArray) else False)
    if water is not None:
        nd = nd | water.astype(bool)
    out = out.where(~nd, NODATA).astype(np.int16)
    out.attrs = {
        "long_name": "SOC degradation (statistical test)",
        "_FillValue": NODATA,
        "flag_values": np.array([-1, 0, 1], dtype=np.int16),
        "flag_meanings": "degradation stable improvement",
        "n_sd": float(n_sd),
    }
    out.name = "soc_degradation"
    return out
