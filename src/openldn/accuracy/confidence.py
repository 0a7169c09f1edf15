"""Per-pixel confidence of an indicator call: how far each pixel is from changing class.

A pixel's class is uncertain when its trend test is borderline (``p`` close to the significance level), when it
rests on few valid years, or when its value sits close to a classification threshold (performance ratio near 0.5,
State z near ±1.96, SOC change near ±10 %). Each component here is a score in [0, 1] (0: a coin toss, 1: far from
any boundary); :func:`pixel_confidence` combines them by their minimum (a call is as sure as its weakest part), and
:func:`confidence_class` bins the result into low / medium / high. The layer is meant to show where a map is fragile
and where extra reference samples are best spent (docs/accuracy.md). It is not a probability.

Every function is pure and element-wise: it accepts numpy arrays or xarray DataArrays (numpy- or dask-backed) and
returns the same kind, lazily for dask.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

import numpy as np

from openldn.core.codes import NODATA
from openldn.exceptions import ConfigError

__all__ = [
    "CONFIDENCE_CLASSES",
    "confidence_class",
    "pixel_confidence",
    "threshold_distance",
    "trend_decisiveness",
    "year_coverage",
]

A = TypeVar("A")

#: Codes of :func:`confidence_class`.
CONFIDENCE_CLASSES: dict[int, str] = {1: "Low", 2: "Medium", 3: "High"}


def trend_decisiveness(p: A, *, alpha: float = 0.05, decades: float = 1.0) -> A:
    """How clearly a trend test decides: ``min(1, |log10 p - log10 alpha| / decades)``.

    Parameters
    ----------
    p : array-like
        Two-sided p-value of the trend test (NaN = no test).
    alpha : float
        Significance level the classification uses.
    decades : float
        Distance, in orders of magnitude of ``p``, that counts as fully decisive (default 1: ``p <= alpha / 10``
        for a significant trend, ``p >= 10 alpha`` for none).

    Returns
    -------
    array-like
        0 at ``p = alpha``, 1 at ``decades`` orders of magnitude away, NaN where ``p`` is NaN.
    """
    if not 0 < alpha < 1 or decades <= 0:
        raise ConfigError(f"trend_decisiveness: alpha={alpha} must be in (0, 1) and decades={decades} positive")
    tiny = np.finfo(np.float64).tiny
    result: Any = np.minimum(1.0, np.abs(np.log10(np.maximum(p, tiny)) - np.log10(alpha)) / decades)  # type: ignore[call-overload]
    return result  # type: ignore[no-any-return]


def year_coverage(n_valid: A, n_years: int, *, min_years: int = 0) -> A:
    """Share of the window's years beyond the minimum that have data: ``(n - min) / (N - min)`` clipped to [0, 1].

    Parameters
    ----------
    n_valid : array-like
        Valid years of each pixel in the window.
    n_years : int
        Years in the window.
    min_years : int
        Minimum number of valid years a classification needs (a pixel at the minimum scores 0).

    Returns
    -------
    array-like
    """
    if not 0 <= min_years < n_years:
        raise ConfigError(f"year_coverage: min_years={min_years} must be below the window length {n_years}")
    span = float(n_years - min_years)
    result: Any = np.minimum(np.maximum((n_valid - min_years) / span, 0.0), 1.0)  # type: ignore[operator]
    return result  # type: ignore[no-any-return]


def threshold_distance(value: A, thresholds: float | tuple[float, ...], scale: float) -> A:
    """Distance of a value to its nearest classification threshold, in units of ``scale``, capped at 1.

    Parameters
    ----------
    value : array-like
        The classified quantity (e.g. performance ratio, State z-score, SOC change in %).
    thresholds : float or tuple of float
        Class boundaries (e.g. ``0.5``; ``(-1.96, 1.96)``; ``(-10, 10)``).
    scale : float
        Distance counted as fully safe (e.g. 0.1 for the ratio, 1 for z, 5 percentage points for SOC).

    Returns
    -------
    array-like
        ``min(1, min_t |value - t| / scale)``; NaN where ``value`` is NaN.
    """
    if scale <= 0:
        raise ConfigError(f"threshold_distance: scale={scale} must be positive")
    ts = (thresholds,) if np.isscalar(thresholds) else tuple(thresholds)  # type: ignore[arg-type]
    if not ts:
        raise ConfigError("threshold_distance: give at least one threshold")
    dist: Any = functools.reduce(np.minimum, [np.abs(value - t) for t in ts])  # type: ignore[operator]
    return np.minimum(dist / scale, 1.0)  # type: ignore[no-any-return]


def pixel_confidence(*components: A) -> A:
    """Combine component scores (each in [0, 1]) by their minimum; NaN where any component is NaN.

    Parameters
    ----------
    *components : array-like
        Scores from :func:`trend_decisiveness`, :func:`year_coverage`, :func:`threshold_distance`, on one grid.

    Returns
    -------
    array-like
        float in [0, 1].
    """
    if not components:
        raise ConfigError("pixel_confidence: give at least one component")
    result: Any = components[0]
    for c in components[1:]:
        other: Any = c
        result = np.minimum(result, other)
    return result  # type: ignore[no-any-return]


def confidence_class(confidence: A, *, bounds: tuple[float, float] = (1 / 3, 2 / 3)) -> A:
    """Bin a confidence score into 1 low (< first bound), 2 medium, 3 high (>= second bound); NODATA where NaN.

    Returns
    -------
    array-like
        int16 codes of :data:`CONFIDENCE_CLASSES`.
    """
    lo, hi = bounds
    if not 0 <= lo <= hi <= 1:
        raise ConfigError(f"confidence_class: bounds {bounds} must satisfy 0 <= low <= high <= 1")
    c: Any = confidence
    if hasattr(c, "where") and hasattr(c, "dims"):  # xarray: keep it lazy
        import xarray as xr

        out: Any = xr.where(c >= hi, 3, xr.where(c >= lo, 2, 1))  # type: ignore[no-untyped-call]
        return out.where(c.notnull(), NODATA).astype(np.int16)  # type: ignore[no-any-return]
    arr = np.asarray(c, dtype=np.float64)
    res = np.where(arr >= hi, 3, np.where(arr >= lo, 2, 1))
    return np.where(np.isnan(arr), NODATA, res).astype(np.int16)  # type: ignore[return-value]
