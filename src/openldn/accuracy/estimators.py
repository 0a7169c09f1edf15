"""Stratified estimators of accuracy and area from a sample error matrix (Olofsson et al. 2014).

Every function here is pure: it takes the error matrix of sample counts (rows: map classes, which are the strata;
columns: reference classes, in the same order) and the mapped area of each map class, and returns numbers. No file
is read or written.

References
----------
Olofsson, P., Foody, G. M., Herold, M., Stehman, S. V., Woodcock, C. E., Wulder, M. A. (2014). Good practices for
estimating area and assessing accuracy of land change. Remote Sensing of Environment 148, 42-57,
https://doi.org/10.1016/j.rse.2014.02.015 (equations 2-11 are cited below as "eq. N").

Cochran, W. G. (1977). Sampling Techniques, 3rd edition. Wiley (stratified estimation of a proportion, §5.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from openldn.exceptions import ConfigError

__all__ = [
    "AccuracyEstimate",
    "GeneralEstimate",
    "ProportionEstimate",
    "estimate_accuracy",
    "estimate_accuracy_strata",
    "estimate_class_proportion",
    "estimate_domain_proportion",
    "z_value",
]


def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile of a confidence level (0.95 -> 1.959964).

    Parameters
    ----------
    confidence : float
        Confidence level in (0, 1).

    Returns
    -------
    float
        ``z`` such that ``P(|Z| <= z) = confidence``.
    """
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence={confidence}: must be between 0 and 1 (e.g. 0.95)")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


@dataclass(frozen=True)
class ProportionEstimate:
    """Stratified estimate of the share of the area whose reference class is in a set of classes.

    Attributes
    ----------
    classes : tuple
        Reference classes counted (e.g. the degraded class).
    proportion, se : float
        Estimated proportion of the total area and its standard error (eq. 9-10).
    area, area_se : float
        The same as an area (unit of the mapped areas).
    ci_low, ci_high : float
        Confidence interval of the proportion (``proportion ± z se``, clipped to [0, 1]).
    confidence : float
        Confidence level of the interval.
    mapped_proportion : float
        Share of the mapped area of the same classes (the unadjusted map figure).
    total_area : float
        Total mapped area (the denominator).
    """

    classes: tuple[Any, ...]
    proportion: float
    se: float
    area: float
    area_se: float
    ci_low: float
    ci_high: float
    confidence: float
    mapped_proportion: float
    total_area: float

    @property
    def half_width(self) -> float:
        """Half-width of the (unclipped) confidence interval of the proportion."""
        return z_value(self.confidence) * self.se

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {
            "classes": [_jsonable(c) for c in self.classes],
            "proportion": self.proportion,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "half_width": self.half_width,
            "area": self.area,
            "area_se": self.area_se,
            "area_ci_low": self.ci_low * self.total_area,
            "area_ci_high": self.ci_high * self.total_area,
            "total_area": self.total_area,
            "confidence": self.confidence,
            "mapped_proportion": _jsonable(self.mapped_proportion),
        }


@dataclass(frozen=True)
class AccuracyEstimate:
    """Result of :func:`estimate_accuracy` (one value per class, in the order of ``classes``).

    Attributes
    ----------
    classes : tuple
        Class identifiers (rows = map classes = strata; columns = reference classes).
    counts : numpy.ndarray
        Error matrix of sample counts (int64, map x reference).
    mapped_area : numpy.ndarray
        Mapped area of each map class (the stratum sizes, any area unit).
    proportions : numpy.ndarray
        Error matrix in estimated area proportions ``p_ij = W_i n_ij / n_i.`` (eq. 4).
    users, users_se : numpy.ndarray
        User's accuracy of each map class and its standard error (eq. 2, 6); NaN for a class without sample.
    producers, producers_se : numpy.ndarray
        Producer's accuracy of each reference class and its standard error (eq. 3, 7); NaN when the class has no
        estimated reference area.
    overall, overall_se : float
        Overall accuracy and its standard error (eq. 1, 5).
    area_proportion, area_proportion_se : numpy.ndarray
        Stratified estimate of the proportion of area of each reference class and its standard error (eq. 9, 10).
    area, area_se : numpy.ndarray
        The same as areas (``A_tot * p``), in the unit of ``mapped_area``.
    confidence : float
        Confidence level of the intervals (default 0.95).
    """

    classes: tuple[Any, ...]
    counts: np.ndarray
    mapped_area: np.ndarray
    proportions: np.ndarray
    users: np.ndarray
    users_se: np.ndarray
    producers: np.ndarray
    producers_se: np.ndarray
    overall: float
    overall_se: float
    area_proportion: np.ndarray
    area_proportion_se: np.ndarray
    area: np.ndarray
    area_se: np.ndarray
    confidence: float = 0.95

    @property
    def z(self) -> float:
        """Normal quantile of the confidence level."""
        return z_value(self.confidence)

    @property
    def total_area(self) -> float:
        """Total mapped area (sum over the strata)."""
        return float(self.mapped_area.sum())

    @property
    def area_ci(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the area confidence intervals (``area ± z area_se``)."""
        return self.area - self.z * self.area_se, self.area + self.z * self.area_se

    def index(self, cls: Any) -> int:
        """Position of a class in ``classes``."""
        try:
            return self.classes.index(cls)
        except ValueError:
            raise ConfigError(f"class {cls!r} is not one of {list(self.classes)}") from None

    def class_proportion(self, classes: Sequence[Any]) -> ProportionEstimate:
        """Stratified estimate of the proportion of area whose reference class is in ``classes``.

        The classes are merged into one reference column before the estimator of eq. 9-10 is applied, so the
        standard error accounts for the covariance between the merged classes.
        """
        return estimate_class_proportion(self.counts, self.mapped_area, [self.index(c) for c in classes],
                                         classes=tuple(classes), confidence=self.confidence)  # fmt: skip

    def table(self) -> pd.DataFrame:
        """One row per class: mapped area, estimated area with its interval, user's and producer's accuracies."""
        z = self.z
        lo, hi = self.area_ci
        return pd.DataFrame(
            {
                "class_code": [_jsonable(c) for c in self.classes],
                "n_sample": self.counts.sum(axis=1),
                "n_reference": self.counts.sum(axis=0),
                "mapped_area": self.mapped_area,
                "mapped_proportion": self.mapped_area / self.total_area,
                "area": self.area,
                "area_se": self.area_se,
                "area_ci_low": lo,
                "area_ci_high": hi,
                "area_proportion": self.area_proportion,
                "area_proportion_se": self.area_proportion_se,
                "users_accuracy": self.users,
                "users_accuracy_se": self.users_se,
                "users_accuracy_ci": z * self.users_se,
                "producers_accuracy": self.producers,
                "producers_accuracy_se": self.producers_se,
                "producers_accuracy_ci": z * self.producers_se,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (NaN written as None)."""
        return {
            "method": "Olofsson et al. (2014), stratified estimators; strata = map classes",
            "confidence": self.confidence,
            "z": self.z,
            "classes": [_jsonable(c) for c in self.classes],
            "counts": self.counts.tolist(),
            "mapped_area": self.mapped_area.tolist(),
            "total_area": self.total_area,
            "proportions": _nan_to_none(self.proportions),
            "overall_accuracy": self.overall,
            "overall_accuracy_se": self.overall_se,
            "per_class": [
                {k: _jsonable(v) for k, v in row.items()} for row in self.table().to_dict(orient="records")
            ],
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def _nan_to_none(a: np.ndarray) -> list[Any]:
    return [[_jsonable(float(x)) for x in row] for row in a]


def _check(counts: Any, mapped_area: Any) -> tuple[np.ndarray, np.ndarray]:
    n = np.asarray(counts)
    a = np.asarray(mapped_area, dtype=np.float64)
    if n.ndim != 2 or n.shape[0] != n.shape[1]:
        raise ConfigError(f"error matrix of shape {n.shape}: must be square (rows map classes, columns reference "
                          "classes, same order)")  # fmt: skip
    if a.shape != (n.shape[0],):
        raise ConfigError(f"mapped area has {a.size} values for {n.shape[0]} map classes: give one per class")
    if not np.all(np.isfinite(n)) or np.any(n < 0) or not np.array_equal(n, np.round(n)):
        raise ConfigError("error matrix: counts must be non-negative whole numbers")
    if not np.all(np.isfinite(a)) or np.any(a < 0) or a.sum() <= 0:
        raise ConfigError("mapped area: values must be non-negative and not all zero")
    n = n.astype(np.int64)
    ni = n.sum(axis=1)
    short = [i for i in range(n.shape[0]) if a[i] > 0 and ni[i] < 2]
    if short:
        raise ConfigError(
            f"map classes at positions {short} have a mapped area but fewer than 2 sample units; the stratified "
            "variance needs at least 2 labelled units in every mapped stratum: label (or draw) more points there"
        )
    return n, a


def estimate_class_proportion(
    counts: Any,
    mapped_area: Any,
    columns: Sequence[int],
    *,
    classes: tuple[Any, ...] | None = None,
    confidence: float = 0.95,
) -> ProportionEstimate:
    """Stratified estimate of the area share of a set of reference classes (eq. 9-10 on merged columns).

    Parameters
    ----------
    counts : array-like, shape (k, k)
        Error matrix of sample counts, rows map classes (strata), columns reference classes.
    mapped_area : array-like, shape (k,)
        Mapped area of each map class (stratum size), any unit.
    columns : sequence of int
        Positions of the reference classes counted together (e.g. the degraded class).
    classes : tuple, optional
        Identifiers of those classes (recorded in the result).
    confidence : float
        Confidence level of the interval.

    Returns
    -------
    ProportionEstimate
    """
    n, a = _check(counts, mapped_area)
    cols = list(columns)
    if not cols or any(not 0 <= c < n.shape[0] for c in cols):
        raise ConfigError(f"columns {cols}: give at least one reference class position below {n.shape[0]}")
    w = a / a.sum()
    ni = n.sum(axis=1).astype(np.float64)
    y = n[:, cols].sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(ni > 0, y / ni, 0.0)
        var_terms = np.where(ni > 1, w**2 * share * (1.0 - share) / (ni - 1.0), 0.0)
    p = float(np.sum(w * share))
    se = float(np.sqrt(var_terms.sum()))
    z = z_value(confidence)
    return ProportionEstimate(
        classes=tuple(classes) if classes is not None else tuple(cols),
        proportion=p,
        se=se,
        area=p * float(a.sum()),
        area_se=se * float(a.sum()),
        ci_low=max(0.0, p - z * se),
        ci_high=min(1.0, p + z * se),
        confidence=confidence,
        mapped_proportion=float(w[cols].sum()),
        total_area=float(a.sum()),
    )


def estimate_domain_proportion(
    sample_sizes: Any,
    hits: Any,
    mapped_area: Any,
    domain_area: float,
    *,
    mapped_domain_share: float | None = None,
    classes: tuple[Any, ...] = (),
    confidence: float = 0.95,
) -> ProportionEstimate:
    """Stratified estimate of the area of a domain (e.g. degraded land in one admin unit) and its share of the domain.

    Parameters
    ----------
    sample_sizes : array-like, shape (k,)
        Labelled sample units ``n_h`` in each stratum (the whole sample, inside and outside the domain).
    hits : array-like, shape (k,)
        Units of each stratum that lie in the domain and whose reference class counts (e.g. degraded).
    mapped_area : array-like, shape (k,)
        Mapped area ``A_h`` of each stratum (whole frame).
    domain_area : float
        Known area of the domain (e.g. the admin unit's mapped area), the denominator of the proportion.
    mapped_domain_share : float, optional
        The map's figure for the same share (recorded as ``mapped_proportion``).
    classes : tuple
        Reference classes counted (recorded).
    confidence : float
        Confidence level.

    Returns
    -------
    ProportionEstimate
        ``area`` and ``area_se``: estimated area and standard error; ``proportion``: ``area / domain_area``.

    Notes
    -----
    The stratified estimator of a total (Cochran 1977, §5.2 and §2.13 for domains): with ``y = 1`` for a unit in
    the domain whose reference class counts, ``A = sum_h A_h ybar_h`` and
    ``V(A) = sum_h A_h^2 ybar_h (1 - ybar_h) / (n_h - 1)`` (finite population correction ignored), the same form as
    eq. 10-11 of Olofsson et al. (2014).
    """
    n = np.asarray(sample_sizes, dtype=np.float64)
    y = np.asarray(hits, dtype=np.float64)
    a = np.asarray(mapped_area, dtype=np.float64)
    if not (n.shape == y.shape == a.shape) or np.any(y > n) or np.any(y < 0):
        raise ConfigError("domain estimate: give sample sizes, hits (<= sample sizes) and areas, one per stratum")
    if not domain_area > 0:
        raise ConfigError(f"domain estimate: domain area {domain_area} must be positive")
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n > 0, y / n, 0.0)
        var = np.where(n > 1, a**2 * share * (1.0 - share) / (n - 1.0), 0.0)
    area = float(np.sum(a * share))
    area_se = float(np.sqrt(var.sum()))
    p, se = area / domain_area, area_se / domain_area
    z = z_value(confidence)
    return ProportionEstimate(
        classes=tuple(classes), proportion=p, se=se, area=area, area_se=area_se, ci_low=max(0.0, p - z * se),
        ci_high=min(1.0, p + z * se), confidence=confidence,
        mapped_proportion=float("nan") if mapped_domain_share is None else float(mapped_domain_share),
        total_area=float(domain_area),
    )  # fmt: skip


def estimate_accuracy(
    counts: Any,
    mapped_area: Any,
    *,
    classes: Sequence[Any] | None = None,
    confidence: float = 0.95,
) -> AccuracyEstimate:
    """Accuracy and area estimates of a map from a stratified random sample (Olofsson et al. 2014).

    The strata are the map classes; the sample within each stratum is a simple random sample.

    Parameters
    ----------
    counts : array-like, shape (k, k)
        Error matrix of sample counts ``n_ij``: rows map classes ``i`` (strata), columns reference classes ``j``,
        both in the order of ``classes``.
    mapped_area : array-like, shape (k,)
        Mapped area ``A_m,i`` of each map class (or its pixel count times the pixel area), any unit; estimated areas
        come out in the same unit.
    classes : sequence, optional
        Class identifiers (default ``0 .. k-1``).
    confidence : float
        Confidence level of the intervals (0.95: ``z = 1.96``).

    Returns
    -------
    AccuracyEstimate

    Raises
    ------
    openldn.exceptions.ConfigError
        If the matrix is not square, a count is negative or fractional, the areas do not match the classes, or a
        mapped stratum has fewer than 2 sample units.

    Notes
    -----
    With ``W_i = A_m,i / A_tot`` and ``n_i.`` the sample size of stratum ``i``:

    * ``p_ij = W_i n_ij / n_i.`` (eq. 4); overall accuracy ``O = sum_j p_jj`` (eq. 1);
      user's accuracy ``U_i = p_ii / p_i.`` (eq. 2); producer's accuracy ``P_j = p_jj / p_.j`` (eq. 3);
    * ``V(O) = sum_i W_i^2 U_i (1 - U_i) / (n_i. - 1)`` (eq. 5); ``V(U_i) = U_i (1 - U_i) / (n_i. - 1)`` (eq. 6);
    * ``V(P_j) = [N_j.^2 (1 - P_j)^2 U_j (1 - U_j) / (n_j. - 1) + P_j^2 sum_{i != j} N_i.^2 (n_ij / n_i.)
      (1 - n_ij / n_i.) / (n_i. - 1)] / N_.j^2`` with ``N_.j = sum_i N_i. n_ij / n_i.`` (eq. 7; areas may stand for
      the pixel counts ``N``, the ratio is unit-free);
    * area proportion ``p_.k = sum_i W_i n_ik / n_i.`` (eq. 9) with
      ``S(p_.k)^2 = sum_i W_i^2 (n_ik / n_i.)(1 - n_ik / n_i.) / (n_i. - 1)`` (eq. 10);
      area ``A_k = A_tot p_.k`` and ``S(A_k) = A_tot S(p_.k)`` (eq. 11); interval ``± z S``.

    Examples
    --------
    The worked example of Olofsson et al. (2014), mapped areas in pixels of 0.09 ha:

    >>> est = estimate_accuracy([[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]],
    ...                         [200_000 * 0.09, 150_000 * 0.09, 3_200_000 * 0.09, 6_450_000 * 0.09])
    >>> round(float(est.area[0])), round(float(est.overall), 3)
    (21158, 0.947)
    """
    n, a = _check(counts, mapped_area)
    k = n.shape[0]
    cls = tuple(classes) if classes is not None else tuple(range(k))
    if len(cls) != k or len(set(cls)) != k:
        raise ConfigError(f"classes {list(cls)}: give {k} distinct class identifiers, one per row/column")
    a_tot = float(a.sum())
    w = a / a_tot
    ni = n.sum(axis=1).astype(np.float64)
    nf = n.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(ni[:, None] > 0, nf / ni[:, None], 0.0)  # n_ij / n_i.
        denom = np.where(ni > 1, ni - 1.0, np.nan)
        p = w[:, None] * frac  # eq. 4
        diag = np.diag(p)
        p_col = p.sum(axis=0)
        users = np.where(ni > 0, np.diag(frac), np.nan)  # eq. 2 (= p_ii / p_i.)
        users_se = np.sqrt(users * (1.0 - users) / denom)  # eq. 6
        overall = float(diag.sum())  # eq. 1
        u0 = np.nan_to_num(users)
        overall_var = np.nansum(np.where(ni > 1, w**2 * u0 * (1.0 - u0) / denom, 0.0))  # eq. 5
        producers = np.where(p_col > 0, diag / p_col, np.nan)  # eq. 3
        # eq. 7 with areas for pixel counts: N_i. -> A_m,i, N_.j -> estimated reference area of class j
        n_col = (a[:, None] * frac).sum(axis=0)
        cell_var = np.where(ni[:, None] > 1, frac * (1.0 - frac) / denom[:, None], 0.0)  # (n_ij/n_i.)(1-..)/(n_i.-1)
        prod_var = np.full(k, np.nan)
        for j in range(k):
            if not p_col[j] > 0:
                continue
            pj = producers[j]
            own = a[j] ** 2 * (1.0 - pj) ** 2 * (u0[j] * (1.0 - u0[j]) / denom[j] if ni[j] > 1 else 0.0)
            others = sum(a[i] ** 2 * cell_var[i, j] for i in range(k) if i != j)
            prod_var[j] = (own + pj**2 * others) / n_col[j] ** 2
        producers_se = np.sqrt(prod_var)
        area_prop = p_col  # eq. 9
        area_prop_se = np.sqrt((w[:, None] ** 2 * cell_var).sum(axis=0))  # eq. 10
    return AccuracyEstimate(
        classes=cls,
        counts=n,
        mapped_area=a,
        proportions=p,
        users=users,
        users_se=users_se,
        producers=producers,
        producers_se=producers_se,
        overall=overall,
        overall_se=float(np.sqrt(overall_var)),
        area_proportion=area_prop,
        area_proportion_se=area_prop_se,
        area=a_tot * area_prop,
        area_se=a_tot * area_prop_se,
        confidence=confidence,
    )


@dataclass(frozen=True)
class GeneralEstimate:
    """Result of :func:`estimate_accuracy_strata` (strata different from the map classes; Stehman 2014).

    Arrays are per class of ``classes``; standard errors ignore the finite population correction.
    """

    classes: tuple[Any, ...]
    area_proportion: np.ndarray
    area_proportion_se: np.ndarray
    users: np.ndarray
    users_se: np.ndarray
    producers: np.ndarray
    producers_se: np.ndarray
    overall: float
    overall_se: float
    total_area: float
    degraded: ProportionEstimate | None = None
    confidence: float = 0.95

    @property
    def area(self) -> np.ndarray:
        """Estimated area of each class (unit of the stratum areas)."""
        return self.total_area * self.area_proportion

    @property
    def area_se(self) -> np.ndarray:
        """Standard error of the estimated areas."""
        return self.total_area * self.area_proportion_se

    def table(self) -> pd.DataFrame:
        """One row per class: estimated area with its interval, user's and producer's accuracies."""
        z = z_value(self.confidence)
        return pd.DataFrame(
            {
                "class_code": [_jsonable(c) for c in self.classes],
                "area": self.area,
                "area_se": self.area_se,
                "area_ci_low": self.area - z * self.area_se,
                "area_ci_high": self.area + z * self.area_se,
                "area_proportion": self.area_proportion,
                "area_proportion_se": self.area_proportion_se,
                "users_accuracy": self.users,
                "users_accuracy_se": self.users_se,
                "users_accuracy_ci": z * self.users_se,
                "producers_accuracy": self.producers,
                "producers_accuracy_se": self.producers_se,
                "producers_accuracy_ci": z * self.producers_se,
            }
        )


def _ratio(y: np.ndarray, x: np.ndarray, strata: np.ndarray, n_h: np.ndarray, a_h: np.ndarray) -> tuple[float, float]:
    """Stratified combined ratio estimator R = Y/X and its standard error (Stehman 2014, eq. 27-28, no fpc)."""
    k = a_h.size
    ybar = np.bincount(strata, weights=y, minlength=k) / n_h
    xbar = np.bincount(strata, weights=x, minlength=k) / n_h
    x_tot = float(np.sum(a_h * xbar))
    if x_tot <= 0:
        return float("nan"), float("nan")
    r = float(np.sum(a_h * ybar)) / x_tot
    dy = y - ybar[strata]
    dx = x - xbar[strata]
    s_yy = np.bincount(strata, weights=dy * dy, minlength=k) / (n_h - 1)
    s_xx = np.bincount(strata, weights=dx * dx, minlength=k) / (n_h - 1)
    s_xy = np.bincount(strata, weights=dx * dy, minlength=k) / (n_h - 1)
    var = np.sum(a_h**2 * (s_yy + r**2 * s_xx - 2 * r * s_xy) / n_h) / x_tot**2
    return r, float(np.sqrt(max(var, 0.0)))


def estimate_accuracy_strata(
    strata: Any,
    stratum_area: Any,
    map_class: Any,
    reference_class: Any,
    *,
    classes: Sequence[Any],
    degraded: Sequence[Any] = (),
    confidence: float = 0.95,
) -> GeneralEstimate:
    """Accuracy and area of a map from a stratified random sample whose strata are not its classes (Stehman 2014).

    Use it to assess another map of the run with a sample drawn on the SDG map (``points.csv`` carries every map's
    value at the points), or with strata of any other kind.

    Parameters
    ----------
    strata : array-like of int, shape (n,)
        Stratum index (0 .. H-1) of each labelled sample unit.
    stratum_area : array-like, shape (H,)
        Area of each stratum (any unit).
    map_class, reference_class : array-like, shape (n,)
        Map class and reference class of each unit.
    classes : sequence
        The classes, in output order.
    degraded : sequence
        Reference classes whose merged area share is estimated as ``degraded`` (none: ``degraded`` is None).
    confidence : float
        Confidence level.

    Returns
    -------
    GeneralEstimate

    Notes
    -----
    Stehman, S. V. (2014), Estimating area and map accuracy for stratified random sampling when the strata are
    different from the map classes, International Journal of Remote Sensing 35, 4923-4939: the area proportion of
    class ``k`` and overall accuracy are stratified means of indicators (eq. 2-3, variance eq. 25); user's and
    producer's accuracies are combined ratio estimators (eq. 27-28). With strata equal to the map classes they reduce
    to the estimators of :func:`estimate_accuracy`.
    """
    h = np.asarray(strata, dtype=np.int64)
    a_h = np.asarray(stratum_area, dtype=np.float64)
    m = np.asarray(map_class)
    r = np.asarray(reference_class)
    if not (h.shape == m.shape == r.shape) or h.ndim != 1:
        raise ConfigError("estimate_accuracy_strata: strata, map and reference classes need one value per unit")
    if h.size and (h.min() < 0 or h.max() >= a_h.size):
        raise ConfigError(f"estimate_accuracy_strata: stratum indices must lie in 0..{a_h.size - 1}")
    n_h = np.bincount(h, minlength=a_h.size).astype(np.float64)
    short = [i for i in range(a_h.size) if a_h[i] > 0 and n_h[i] < 2]
    if short:
        raise ConfigError(f"strata {short} have an area but fewer than 2 labelled units; label at least 2 in each")
    a_tot = float(a_h.sum())
    ones = np.ones(h.size)
    cls = tuple(classes)
    k = len(cls)
    props, props_se, users, users_se, prods, prods_se = (np.full(k, np.nan) for _ in range(6))
    for j, c in enumerate(cls):
        in_ref = (r == c).astype(np.float64)
        in_map = (m == c).astype(np.float64)
        both = in_ref * in_map
        p, se = _ratio(in_ref, ones, h, n_h, a_h)  # a mean is a ratio with x = 1
        props[j], props_se[j] = p, se
        users[j], users_se[j] = _ratio(both, in_map, h, n_h, a_h)
        prods[j], prods_se[j] = _ratio(both, in_ref, h, n_h, a_h)
    overall, overall_se = _ratio((m == r).astype(np.float64), ones, h, n_h, a_h)
    deg = None
    if len(degraded):
        z = z_value(confidence)
        p, se = _ratio(np.isin(r, np.asarray(degraded)).astype(np.float64), ones, h, n_h, a_h)
        deg = ProportionEstimate(
            classes=tuple(degraded), proportion=p, se=se, area=p * a_tot, area_se=se * a_tot,
            ci_low=max(0.0, p - z * se), ci_high=min(1.0, p + z * se), confidence=confidence,
            mapped_proportion=float("nan"), total_area=a_tot,
        )  # fmt: skip
    return GeneralEstimate(
        classes=cls, area_proportion=props, area_proportion_se=props_se, users=users, users_se=users_se,
        producers=prods, producers_se=prods_se, overall=overall, overall_se=overall_se, total_area=a_tot,
        degraded=deg, confidence=confidence,
    )  # fmt: skip
