"""Productivity state: recent years against the historical distribution of the same pixel.

Two variants (PRAIS 2026 reporting manual §1.2; GPG v2 ch. 4):

* percentile-class shift (PRAIS 2026 / Trends.Earth): the historical annual values, extended by 5 % of their range at
  both ends, are split into 10 percentile classes; a shift of the mean class by >= 2 classes is a change;
* z-score (GPG v2 / PRAIS 2022): ``z = (mean recent - mean historical) / sd historical`` (optionally divided by
  ``sqrt(n recent)``, the standard error of the recent mean), classified at a threshold.
"""

from __future__ import annotations

import dask.array
import numba
import numpy as np
import xarray as xr

from openldn.core.blocks import cellwise, reduce_axis_each
from openldn.core.codes import NODATA
from openldn.core.periods import Period, SomePeriod, years_of
from openldn.exceptions import ConfigError, MissingYearError
from openldn.productivity import _kernels
from openldn.productivity._series import count_sum

__all__ = ["state_percentile_shift", "state_zscore"]


def _windows(
    ndvi: xr.DataArray, baseline: SomePeriod, recent: SomePeriod
) -> tuple[xr.DataArray, xr.DataArray, Period, Period]:
    b = Period.from_user_input(baseline)
    r = Period.from_user_input(recent)
    if b.end >= r.start:
        raise ConfigError(
            f"state: the historical window {b.label} overlaps the recent window {r.label}; the historical window must "
            "end before the recent one starts."
        )
    yrs = years_of(ndvi)
    hist = b.select(ndvi)
    rec = r.select(ndvi)
    for win, sel in ((b, hist), (r, rec)):
        if sel.sizes["time"] == 0:
            raise MissingYearError(
                f"state: no productivity year in the window {win.label} (data cover "
                f"{yrs.min() if yrs.size else '-'}-{yrs.max() if yrs.size else '-'}); choose periods within the data."
            )
    return hist, rec, b, r


@numba.njit(cache=True, nogil=True)
def _state_kernel(chg: np.ndarray, nh: np.ndarray, sh: np.ndarray, nr: np.ndarray, sr: np.ndarray, band: float,
                  use_band: bool, shift: float, out: np.ndarray) -> None:  # pragma: no cover - compiled
    for i in range(out.size):
        c = chg[i]
        if c != c:
            out[i] = NODATA
            continue
        if use_band and abs(sr[i] * nh[i] - sh[i] * nr[i]) <= band * nh[i] * nr[i]:
            c = 0.0
        out[i] = -1 if c <= -shift else (1 if c >= shift else 0)


def _state_classes(chg: np.ndarray, *sums: np.ndarray, band: float, shift: float) -> np.ndarray:
    """-1/0/1 state classes of a block: ``chg`` the class change (float32), ``sums`` the counts and sums of the
    historical and recent windows (``nh, sh, nr, sr``; none without a dead band). One pass: a change inside the dead
    band ``|sr nh - sh nr| <= band nh nr`` is 0, then ``<= -shift`` is -1, ``>= shift`` 1, NaN nodata."""
    parts = [np.asarray(a, dtype=np.float64) for a in sums] if sums else [None] * 4
    return cellwise(_state_kernel, [chg, *parts], float(band), bool(sums), float(shift), dtype=np.int16)


def _shift_numpy(
    h: np.ndarray,
    r: np.ndarray,
    *,
    n_classes: int,
    extension: float,
    min_hist: int,
    min_recent: int,
    threads: int | None,
) -> np.ndarray:
    """float32 ``(3, *lead)``: baseline and target percentiles and the class change, for a baseline and a recent
    series whose first axis is time."""
    if not np.issubdtype(h.dtype, np.floating):
        h = h.astype(np.float64)
    if not np.issubdtype(r.dtype, np.floating):
        r = r.astype(np.float64)
    lead = h.shape[1:]
    h3 = h.reshape(
        h.shape[0], int(np.prod(lead[:-1], dtype=np.int64)) if lead else 1, lead[-1] if lead else 1
    )
    r3 = r.reshape(r.shape[0], h3.shape[1], h3.shape[2])
    out = np.empty((3, h3.shape[1], h3.shape[2]), np.float64)
    _kernels.run_rows(
        _kernels.percentile_shift_block,
        h3.shape[1],
        h3,
        r3,
        n_classes,
        extension,
        min_hist,
        min_recent,
        out=out,
        threads=threads,
    )
    return out.reshape(3, *lead).astype(np.float32)


def state_percentile_shift(
    ndvi: xr.DataArray,
    *,
    baseline: SomePeriod,
    recent: SomePeriod,
    n_classes: int = 10,
    shift: int = 2,
    extension: float = 0.05,
    dead_band: float | None = None,
    min_baseline_years: int | None = None,
    min_recent_years: int = 1,
    quantum: float | None = None,
) -> xr.Dataset:
    """Productivity state by the percentile-class shift of the recent mean (PRAIS 2026 / Trends.Earth).

    Per pixel, the historical annual values are extended by two synthetic values ``min - extension * range`` and
    ``max + extension * range``; the ``n_classes - 1`` quantiles of this extended series (linear interpolation
    between order statistics, computed by a per-pixel kernel) define classes 1 (``<= q1``) to ``n_classes``
    (``> q_last``). The historical mean and the recent mean are classed; a change of ``<= -shift`` classes is
    degrading (-1), ``>= shift`` improving (1), otherwise stable (0).

    Parameters
    ----------
    ndvi : xarray.DataArray
        Annual productivity ``(time, y, x)``.
    baseline, recent : Period or str
        Historical window (13 years by default) and recent window (3 years), from
        :func:`openldn.core.periods.productivity_windows`.
    n_classes : int, default 10
        Number of percentile classes (deciles).
    shift : int, default 2
        Minimum class change counted as a change.
    extension : float, default 0.05
        Fraction of the historical range added at both ends.
    dead_band : float, optional
        Where ``|recent mean - historical mean| <= dead_band`` the change is forced to 0 (Trends.Earth: 0.01 NDVI on
        mean annual NDVI). None disables it.
    min_baseline_years : int, optional
        Minimum valid historical years (default: half the window, at least 3); fewer gives nodata.
    min_recent_years : int, default 1
        Minimum valid recent years.
    quantum : float, optional
        Storage step of the values (Trends.Earth: 0.0001, NDVI x 10000 integers): values are rounded to multiples
        of it and the classes and the dead band computed in those integer units, the dead band exactly as
        ``|sum_r n_h - sum_h n_r| <= dead_band / quantum * n_h n_r``. Without it the dead band is compared in
        float64 on the same sums.

    Returns
    -------
    xarray.Dataset
        ``state`` (int16 -1/0/1, nodata -32768), ``baseline_mean``, ``recent_mean`` and ``class_change``.

    References
    ----------
    PRAIS 2026 §1.2 Step 5 (State); Trends.Earth productivity (docs/differences.md) (Trends.Earth, quantiles by GEE's percentile
    reducer; the interpolation rule here is numpy's "linear"); PRAIS 2026 reporting manual §1.2; GPG v2 ch. 4.
    """
    if n_classes < 2 or shift < 1:
        raise ConfigError(f"state: n_classes={n_classes} and shift={shift} must be at least 2 and 1.")
    if not 0.0 <= extension < 1.0:
        raise ConfigError(f"state: extension={extension} must lie in [0, 1), e.g. 0.05.")
    if quantum is not None and not quantum > 0:
        raise ConfigError(f"state: quantum={quantum} must be positive, e.g. 0.0001.")
    values = ndvi if quantum is None else (ndvi.astype(np.float64) / quantum).round()
    hist, rec, b, r = _windows(values, baseline, recent)
    min_b = max(3, hist.sizes["time"] // 2) if min_baseline_years is None else int(min_baseline_years)
    flat = None
    if dead_band is not None:
        # |recent mean - historical mean| <= dead_band, in float64 on sums and counts (exact for integer values)
        nh, sh = count_sum(hist)
        nr, sr = count_sum(rec)
        band_units = float(dead_band) if quantum is None else round(float(dead_band) / quantum, 9)
        flat = abs(sr * nh - sh * nr) <= band_units * nh * nr
    is_dask = isinstance(ndvi.data, dask.array.Array)
    bl, tg, chg = reduce_axis_each(
        _shift_numpy,
        [hist, rec],
        ["time", "time"],
        3,
        kwargs={
            "n_classes": int(n_classes),
            "extension": float(extension),
            "min_hist": min_b,
            "min_recent": int(min_recent_years),
            "threads": 1 if is_dask else None,
        },
        dtype=np.float32,
    )
    # the classes in one kernel pass (the dead band and the shift rule as the array expressions of class_change)
    sums = [] if flat is None else [nh, sh, nr, sr]
    cls = xr.apply_ufunc(_state_classes, chg, *sums, kwargs={"band": band_units if sums else 0.0, "shift": shift},
                         dask="parallelized", output_dtypes=[np.int16])
    if flat is not None:
        chg = xr.where(flat, 0.0, chg).where(chg.notnull())
    if quantum is not None:
        bl = (bl * quantum).astype(np.float32)
        tg = (tg * quantum).astype(np.float32)
    cls.attrs = {
        "long_name": "Productivity state (-1 degrading, 0 stable, 1 improving)",
        "_FillValue": NODATA,
        "state_method": "percentile_shift",
        "state_classes": n_classes,
        "state_shift": shift,
        "state_baseline_window": b.label,
        "state_recent_window": r.label,
    }
    if quantum is not None:
        cls.attrs["value_quantum"] = quantum
    ds = xr.Dataset({"state": cls, "baseline_mean": bl, "recent_mean": tg, "class_change": chg})
    ds.attrs.update(cls.attrs)
    return ds


def state_zscore(
    ndvi: xr.DataArray,
    *,
    baseline: SomePeriod,
    recent: SomePeriod,
    z_threshold: float = 1.96,
    standard_error: bool = False,
    ddof: int = 1,
    min_baseline_years: int | None = None,
    min_recent_years: int = 1,
) -> xr.Dataset:
    """Productivity state as the z-score of the recent mean against the historical years (GPG v2).

    ``z = (A - B) / C`` with ``A`` the mean of the recent years, ``B`` the mean and ``C`` the standard deviation of
    the historical years (``C / sqrt(n recent)`` when ``standard_error``); ``z < -z_threshold`` degrading,
    ``z > z_threshold`` improving, stable otherwise. A pixel with a zero historical deviation has ``z = 0`` when
    ``A == B`` and is otherwise classed by the sign of ``A - B``.

    Parameters
    ----------
    ndvi : xarray.DataArray
        Annual productivity ``(time, y, x)``.
    baseline, recent : Period or str
        Historical and recent windows.
    z_threshold : float, default 1.96
        Threshold of the classes (GPG v2: only z < -1.96 counts as degraded; 1.28 for the 3-class reduction).
    standard_error : bool, default False
        Divide by the standard error of the recent mean (SEPAL, SYKE) instead of the standard deviation.
    ddof : int, default 1
        Delta degrees of freedom of the standard deviation (1 = sample standard deviation).
    min_baseline_years : int, optional
        Minimum valid historical years (default: half the window, at least 3).
    min_recent_years : int, default 1
        Minimum valid recent years.

    Returns
    -------
    xarray.Dataset
        ``state`` (int16 -1/0/1, nodata -32768) and ``z``.

    References
    ----------
    GPG v2 §4.2.5.2; PRAIS 2022 §1.2 Step 4; PRAIS 2026 reporting manual §1.2; GPG v2 ch. 4.
    """
    hist, rec, b, r = _windows(ndvi, baseline, recent)
    min_b = max(3, hist.sizes["time"] // 2) if min_baseline_years is None else int(min_baseline_years)
    nb = hist.notnull().sum("time")
    nr = rec.notnull().sum("time")
    bm = hist.mean("time", skipna=True)
    sd = hist.std("time", skipna=True, ddof=ddof)
    am = rec.mean("time", skipna=True)
    if standard_error:
        sd = sd / np.sqrt(nr.where(nr > 0))
    diff = am - bm
    z = xr.where(sd > 0, diff / sd.where(sd > 0), xr.where(diff == 0, 0.0, np.sign(diff) * np.inf))
    valid = (nb >= min_b) & (nr >= min_recent_years) & diff.notnull()
    z = z.where(valid).astype(np.float32)
    cls = (
        xr.where(z < -z_threshold, -1, xr.where(z > z_threshold, 1, 0)).where(valid, NODATA).astype(np.int16)
    )
    cls.attrs = {
        "long_name": "Productivity state (-1 degrading, 0 stable, 1 improving)",
        "_FillValue": NODATA,
        "state_method": "zscore",
        "state_z": z_threshold,
        "state_standard_error": standard_error,
        "state_baseline_window": b.label,
        "state_recent_window": r.label,
    }
    z.attrs = {"long_name": "State z-score"}
    ds = xr.Dataset({"state": cls, "z": z})
    ds.attrs.update(cls.attrs)
    return ds
