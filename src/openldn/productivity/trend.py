"""Per-pixel trend statistics: Mann-Kendall test, Theil-Sen and OLS slopes, false discovery rate control.

References
----------
UNCCD Good Practice Guidance v2 (2021) §4.2.5 (trajectory); PRAIS 2026 §1.2 Step 5 (Trends.Earth trajectory: slope
with Mann-Kendall significance, p <= 0.05); PRAIS 2026 reporting manual §1.2; GPG v2 ch. 4; Trends.Earth productivity (docs/differences.md) and D10 (exact
p-values over every year instead of a critical-value table over at most 50 images).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import dask
import dask.array
import numpy as np
import xarray as xr
from scipy.special import ndtri  # the normal quantile, as scipy.stats.norm.ppf (0.3-0.5 s less to import)

from openldn.core.blocks import reduce_axis_each
from openldn.core.periods import years_of
from openldn.exceptions import ConfigError, MissingYearError
from openldn.productivity import _kernels
from openldn.productivity._fdr import bh_threshold_dask

__all__ = ["AutocorrelationMethod", "bh_threshold", "fdr_significant", "mann_kendall"]

#: Autocorrelation handling of the Mann-Kendall test.
AutocorrelationMethod = Literal["none", "hamed_rao", "pre_whitening"]
_METHODS = {"none": 0, "original": 0, "hamed_rao": 1, "pre_whitening": 2}
#: Longest series given an exact p-value (longer ones keep the normal approximation, accurate there).
_EXACT_MAX_N = 60
_OUT_DTYPES = {"s": np.float32, "var_s": np.float64, "z": np.float64, "p": np.float64}


def _time_values(da: xr.DataArray, dim: str) -> np.ndarray:
    t = years_of(da).astype(np.float64) if dim == "time" else np.asarray(da[dim].values, dtype=np.float64)
    if t.size > 1 and not np.all(np.diff(t) > 0):
        raise MissingYearError(
            f"dimension {dim!r}: time values must be strictly increasing (got {t[:5].tolist()}...); sort the input "
            "and drop duplicate years."
        )
    return t


#: Long names of :func:`mann_kendall`'s variables.
_LONG_NAMES = {
    "s": "Mann-Kendall S",
    "var_s": "Variance of S (ties correction)",
    "z": "Mann-Kendall z (continuity correction)",
    "p": "Two-sided p-value",
    "slope": "Theil-Sen slope",
    "ols_slope": "Ordinary least squares slope",
    "n": "Number of valid years",
}


def _mk_numpy(
    x: np.ndarray,
    *,
    t: np.ndarray,
    min_years: int,
    method: int,
    z_crit: float,
    threads: int | None,
    theil_sen: bool = True,
) -> np.ndarray:
    """The kernel's float64 outputs ``(len(MK_OUTPUTS), *x.shape[1:])`` for an array whose first axis is time (the
    Theil-Sen slope NaN without ``theil_sen``, plain Mann-Kendall only)."""
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    lead = x.shape[1:]
    if len(lead) == 0:
        x3 = x.reshape(x.shape[0], 1, 1)
    else:
        x3 = x.reshape(x.shape[0], int(np.prod(lead[:-1], dtype=np.int64)), lead[-1])
    out = np.empty((len(_kernels.MK_OUTPUTS), x3.shape[1], x3.shape[2]), np.float64)
    if method == 0:
        kernel = _kernels.mk_block if theil_sen else _kernels.mk_test_block
        _kernels.run_rows(kernel, x3.shape[1], x3, t, min_years, out=out, threads=threads)
    else:
        _kernels.run_rows(
            _kernels.mk_variant_block, x3.shape[1], x3, t, min_years, method, z_crit, out=out, threads=threads
        )
    return out.reshape(len(_kernels.MK_OUTPUTS), *lead)


@lru_cache(maxsize=4)
def _exact_upper_tail(n_max: int) -> np.ndarray:
    """``tail[n, k] = P(inversions <= k)`` of a random permutation of ``n`` items (Mahonian numbers), ``n <= n_max``.

    Under H0 without ties, ``S = N - 2 * inversions`` with ``N = n (n - 1) / 2``; the distribution is built by
    convolving the uniform distributions of the inversion counts contributed by each new item.
    """
    n_pairs = n_max * (n_max - 1) // 2
    out = np.ones((n_max + 1, n_pairs + 1))
    dist = np.array([1.0])
    for n in range(1, n_max + 1):
        dist = np.convolve(dist, np.full(n, 1.0 / n))
        cdf = np.minimum(np.cumsum(dist), 1.0)
        out[n, : cdf.size] = cdf
    return out


def _exact_p(s: np.ndarray, n: np.ndarray, var_s: np.ndarray, p_normal: np.ndarray, n_max: int) -> np.ndarray:
    """Exact two-sided p-value ``P(|S| >= |s|)`` where the series has no ties; the normal p-value elsewhere."""
    tail = _exact_upper_tail(n_max)
    out = np.array(p_normal, dtype=np.float64, copy=True)
    ok = np.isfinite(s) & np.isfinite(n) & (n >= 2) & (n <= n_max)
    nn = np.where(ok, n, 2).astype(np.int64)
    no_ties = ok & np.isclose(var_s, nn * (nn - 1) * (2 * nn + 5) / 18.0, rtol=1e-12, atol=0)
    npairs = nn * (nn - 1) // 2
    k = np.where(no_ties, (npairs - np.abs(np.where(ok, s, 0)).astype(np.int64)) // 2, 0)
    p = np.minimum(2.0 * tail[nn, k], 1.0)
    p = np.where(np.where(ok, s, 0) == 0, 1.0, p)
    return np.where(no_ties, p, out)


def mann_kendall(
    da: xr.DataArray,
    dim: str = "time",
    *,
    min_years: int = 4,
    autocorrelation: AutocorrelationMethod = "none",
    alpha: float = 0.05,
    p_method: Literal["normal", "exact"] = "normal",
    theil_sen: bool = True,
) -> xr.Dataset:
    """Mann-Kendall trend test with Theil-Sen and OLS slopes, per pixel, ignoring missing years.

    S is the sum of the signs of all pairwise differences; its variance carries the ties correction
    ``(n (n-1) (2n+5) - sum_t t (t-1) (2t+5)) / 18``; ``z = (S - sign(S)) / sqrt(var S)`` (continuity correction,
    0 when S = 0) and ``p`` is the two-sided normal p-value: the classical test, as ``pymannkendall.original_test``.
    The Theil-Sen slope is the exact median of the pairwise slopes ``(x_j - x_i) / (t_j - t_i)`` over valid years;
    the OLS slope is the least-squares slope of value on year.

    Parameters
    ----------
    da : xarray.DataArray
        Annual series with dimension ``dim`` (numpy- or dask-backed; NaN = missing year).
    dim : str, default "time"
        Time dimension. For ``"time"`` the coordinate is read as years (:func:`openldn.core.periods.years_of`);
        otherwise its numeric values are used.
    min_years : int, default 4
        Pixels with fewer valid years are NaN in every output (``n`` still gives the count).
    autocorrelation : {"none", "hamed_rao", "pre_whitening"}, default "none"
        ``"hamed_rao"``: variance of S corrected for autocorrelation of the ranks of the Theil-Sen-detrended
        series (Hamed and Rao 1998; lags whose autocorrelation lies outside the ``alpha`` confidence band);
        ``"pre_whitening"``: S computed on the series pre-whitened by its lag-1 autocorrelation (Yue and Wang
        2002). The slopes are those of the original series in every case.
    alpha : float, default 0.05
        Significance level of the autocorrelation band (``"hamed_rao"`` only).
    p_method : {"normal", "exact"}, default "normal"
        ``"exact"``: for series without ties (and without autocorrelation correction), the two-sided p-value is
        taken from the exact permutation distribution of S (Kendall 1975) instead of its normal approximation;
        series with ties or longer than 60 years keep the normal p-value. Useful for short windows (16 years).
    theil_sen : bool, default True
        Compute the Theil-Sen slope. Without it (the plain test only: ``autocorrelation="none"``) the dataset has
        no ``slope`` variable and the kernel is about three times faster: the median of the pairwise slopes is
        most of its work.

    Returns
    -------
    xarray.Dataset
        Variables ``s``, ``var_s``, ``z``, ``p`` (float64 for ``var_s``, ``z``, ``p``; float32 otherwise),
        ``slope`` (Theil-Sen, units of ``da`` per year; absent without ``theil_sen``), ``ols_slope`` and ``n``
        (int16, valid years), on the non-time dimensions of ``da``.

    References
    ----------
    Mann (1945); Kendall (1975); Sen (1968); Hamed and Rao (1998); Yue and Wang (2002). GPG v2 §4.2.5;
    PRAIS 2026 §1.2 Step 5; Trends.Earth productivity (docs/differences.md) (Trends.Earth), D10.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray([1.0, 2.0, 2.0, 4.0, np.nan, 5.0], dims="time", coords={"time": np.arange(2000, 2006)})
    >>> ds = mann_kendall(da)
    >>> int(ds.s), round(float(ds.slope), 6), round(float(ds.var_s), 4)
    (9, 0.9, 15.6667)
    """
    if dim not in da.dims:
        raise ConfigError(f"mann_kendall: dimension {dim!r} is not in the input dims {da.dims}; pass dim=...")
    if autocorrelation not in _METHODS:
        raise ConfigError(
            f"mann_kendall: autocorrelation={autocorrelation!r} is unknown; use 'none', 'hamed_rao' or "
            "'pre_whitening'."
        )
    if int(min_years) < 3:
        raise ConfigError(f"mann_kendall: min_years={min_years} is too small; use at least 3.")
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"mann_kendall: alpha={alpha} must lie between 0 and 1.")
    if p_method not in ("normal", "exact"):
        raise ConfigError(f"mann_kendall: p_method={p_method!r} is unknown; use 'normal' or 'exact'.")
    if not theil_sen and autocorrelation != "none":
        raise ConfigError(
            f"mann_kendall: autocorrelation={autocorrelation!r} detrends the series by its Theil-Sen slope; "
            "keep theil_sen=True."
        )
    t = _time_values(da, dim)
    method = _METHODS[autocorrelation]
    z_crit = float(ndtri(1.0 - alpha / 2.0))
    is_dask = isinstance(da.data, dask.array.Array)
    names = _kernels.MK_OUTPUTS
    out = reduce_axis_each(
        _mk_numpy,
        [da],
        [dim],
        len(names),
        kwargs={
            "t": t,
            "min_years": int(min_years),
            "method": method,
            "z_crit": z_crit,
            "threads": 1 if is_dask else None,
            "theil_sen": theil_sen,
        },
    )
    outs = [out[i].astype(np.int16 if n == "n" else _OUT_DTYPES.get(n, np.float32)) for i, n in enumerate(names)]
    units = da.attrs.get("units", "")
    ds = xr.Dataset(dict(zip(names, outs, strict=True)))
    if p_method == "exact" and autocorrelation == "none":
        n_max = min(max(int(t.size), 2), _EXACT_MAX_N)
        ds["p"] = xr.apply_ufunc(
            _exact_p,
            ds.s,
            ds.n,
            ds.var_s,
            ds.p,
            kwargs={"n_max": n_max},
            dask="parallelized",
            output_dtypes=[np.float64],
        )
    if not theil_sen:
        ds = ds.drop_vars("slope")
    for v, long_name in _LONG_NAMES.items():
        if v in ds:
            if v in ("slope", "ols_slope"):
                ds[v].attrs["units"] = f"{units} year-1".strip() if units else "year-1"
            ds[v].attrs["long_name"] = long_name
    ds.attrs.update(
        {
            "autocorrelation": autocorrelation,
            "p_method": p_method,
            "min_years": int(min_years),
            "first_year": int(t[0]) if t.size else -1,
            "last_year": int(t[-1]) if t.size else -1,
        }
    )
    return ds


def _bh(p: np.ndarray, q: float) -> np.float64:
    v = np.asarray(p, dtype=np.float64).ravel()
    v = np.sort(v[np.isfinite(v)])
    m = v.size
    if m == 0:
        return np.float64(-1.0)
    ok = v <= q * np.arange(1, m + 1) / m
    if not ok.any():
        return np.float64(-1.0)
    return np.float64(v[np.flatnonzero(ok)[-1]])


def bh_threshold(p: xr.DataArray, *, q: float = 0.05) -> float | dask.array.Array:
    """Benjamini-Hochberg p-value threshold over every finite p-value of ``p``.

    The largest ordered p-value ``p_(k)`` with ``p_(k) <= k q / m``; -1 when no test is rejected.

    Parameters
    ----------
    p : xarray.DataArray
        p-values (NaN outside the area of interest or where no test was made).
    q : float, default 0.05
        False discovery rate.

    Returns
    -------
    float or dask.array.Array
        The threshold (a 0-d dask array for dask input, computed with the rest of the graph).

    Notes
    -----
    For dask input the threshold is found from block-wise counts in bounded memory (no task holds more than one
    block of p-values; see :mod:`openldn.productivity._fdr`), and equals the sort-based result exactly.

    References
    ----------
    Benjamini and Hochberg (1995), J. R. Stat. Soc. B 57, 289-300.
    """
    if not 0.0 < q < 1.0:
        raise ConfigError(f"fdr: q={q} must lie between 0 and 1, e.g. 0.05.")
    if isinstance(p.data, dask.array.Array):
        return bh_threshold_dask(p.data, float(q))
    return float(_bh(p.values, q))


def fdr_significant(p: xr.DataArray, *, q: float = 0.05) -> xr.DataArray:
    """Significance of every test after Benjamini-Hochberg false discovery rate control over the whole array.

    Parameters
    ----------
    p : xarray.DataArray
        p-values of the per-pixel tests over the area of interest (NaN elsewhere).
    q : float, default 0.05
        False discovery rate.

    Returns
    -------
    xarray.DataArray
        Boolean, True where the test is rejected (significant); False where ``p`` is NaN.

    References
    ----------
    Benjamini and Hochberg (1995); docs/differences.md (FDR control is absent from the other LDN tools).
    """
    thr = bh_threshold(p, q=q)
    out = p.copy(data=p.data <= thr)
    out.attrs = {"long_name": "Significant after Benjamini-Hochberg FDR control", "fdr_q": q}
    return out
