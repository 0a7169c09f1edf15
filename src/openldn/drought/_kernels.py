"""Numba kernels of the standardised drought indices (SPI, SPEI).

Every kernel works on a 2-D block ``(pixels, time)`` and loops over pixels, so memory is bounded by the block
(one strip of pixels at a time) and the temporaries of one pixel. The numerical building blocks are written here
from their textbook definitions:

* regularised lower incomplete gamma function P(a, x): series expansion for ``x < a + 1`` and Lentz's continued
  fraction for the complement otherwise (Press et al., *Numerical Recipes*, §6.2) when ``a < 1000``; for larger
  shapes (gamma fits of very regular rainfall, Pearson III fits with ``|skew| < 0.063``, where both need about
  ``8 sqrt(a)`` terms) Temme's uniform asymptotic expansion with its first two terms (DLMF §8.12; Temme 1979;
  DiDonato and Morris 1986), error below 1e-10;
* standard normal quantile: Acklam's rational approximation (relative error below 1.2e-9, far below the float32
  output precision), optionally refined by one Halley step on ``erfc``;
* sample L-moments from unbiased probability-weighted moments (Hosking 1990);
* Pearson III parameters from L-moments with Hosking's rational approximations (Hosking and Wallis 1997, A.9);
* generalised logistic (the "log-logistic" of SPEI) parameters from L-moments (Hosking and Wallis 1997, A.7).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__: list[str] = []

#: Distribution codes used by the kernels.
GAMMA = 0
PEARSON3 = 1
LOGLOGISTIC = 2

#: Range of the standardised values (the reference implementations clip to it).
SPI_MIN = -3.09
SPI_MAX = 3.09

_EPS = 1e-15
#: Relative truncation of the vectorised series (P to 1e-13; the index is stored as float32).
_EPS_SERIES = 1e-13
_FPMIN = 1e-300
_MAXIT = 10000
_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)

# Acklam's coefficients for the inverse normal CDF.
_A = (
    -3.969683028665376e01,
    2.209460984245205e02,
    -2.759285104469687e02,
    1.383577518672690e02,
    -3.066479806614716e01,
    2.506628277459239e00,
)
_B = (
    -5.447609879822406e01,
    1.615858368580409e02,
    -1.556989798598866e02,
    6.680131188771972e01,
    -1.328068155288572e01,
)
_C = (
    -7.784894002430293e-03,
    -3.223964580411365e-01,
    -2.400758277161838e00,
    -2.549732539343734e00,
    4.374664141464968e00,
    2.938163982698783e00,
)
_D = (
    7.784695709041462e-03,
    3.224671290700398e-01,
    2.445134137142996e00,
    3.754408661907416e00,
)
_P_LOW = 0.02425

#: Shape from which P(a, x) uses Temme's uniform asymptotic expansion (series and continued fraction need about
#: ``8 sqrt(a)`` terms; at a = 1000 the neglected third term of the expansion is below 1e-10).
_A_TEMME = 1000.0
#: |eta| below which Temme's c0 and c1 are evaluated from their Taylor series (the closed forms cancel near 0).
_ETA_TAYLOR = 0.3
# Taylor coefficients (in eta) of Temme's c0(eta) = 1/(lambda - 1) - 1/eta and
# c1(eta) = 1/eta^3 - 1/(lambda - 1)^3 - 1/(lambda - 1)^2 - 1/(12 (lambda - 1)), lambda = x / a,
# eta^2 / 2 = lambda - 1 - ln(lambda) (DLMF 8.12.9-8.12.10), obtained by series reversion in exact rational
# arithmetic: -1/3, 1/12, -2/135, 1/864, ... and -1/540, -1/288, 1/378, ... (the first two rows of DiDonato and
# Morris's table, also in Cephes' igam).
_TEMME_C0 = (
    -1.0 / 3.0, 1.0 / 12.0, -2.0 / 135.0, 1.0 / 864.0, 1.0 / 2835.0, -139.0 / 777600.0, 1.0 / 25515.0,
    -571.0 / 261273600.0, -281.0 / 151559100.0, 163879.0 / 197522841600.0, -5221.0 / 29554024500.0,
    5246819.0 / 782190452736000.0, 5459.0 / 531972441000.0, -534703531.0 / 122021710626816000.0,
    91207079.0 / 99704934754425000.0, -4483131259.0 / 175711263302615040000.0,
)
_TEMME_C1 = (
    -1.0 / 540.0, -1.0 / 288.0, 1.0 / 378.0, -77.0 / 77760.0, 1.0 / 4860.0, -1.0 / 2488320.0,
    -2743.0 / 151559100.0, 41969.0 / 5486745600.0, -11.0 / 6823440.0, 47207.0 / 10158317568000.0,
    3761.0 / 27280638000.0, -3599669.0 / 62575236218880.0, 61903187.0 / 5179477130100000.0,
    -4193939.0 / 239062943268864000.0, -2570401.0 / 2547084047508000.0, 54310133948197.0 / 130465613002191667200000.0,
)

# Hosking's rational approximations of the Pearson III shape from the L-skewness.
_PE3_C = (0.2906, 0.1882, 0.0442)
_PE3_D = (0.36067, -0.59567, 0.25361, -2.78861, 2.56096, -0.77045)


@numba.njit(cache=True, nogil=True)
def gammainc_lower(a: float, x: float) -> float:
    """Regularised lower incomplete gamma function P(a, x) for a > 0."""
    if not (a > 0.0):
        return math.nan
    return _gammainc_lower(a, x, math.lgamma(a))


@numba.njit(cache=True, nogil=True)
def _temme_lower(a: float, u: float) -> float:
    """P(a, a (1 + u)) for a large shape ``a`` by Temme's uniform asymptotic expansion.

    ``P = erfc(-eta sqrt(a / 2)) / 2 - exp(-a eta^2 / 2) / sqrt(2 pi a) (c0(eta) + c1(eta) / a)`` with
    ``eta = sign(u) sqrt(2 (u - ln(1 + u)))`` (DLMF 8.12.3-8.12.10). ``u = x / a - 1`` is passed directly so that a
    Pearson III fit with a tiny skew (``u = z skew / 2``) keeps its full precision.
    """
    if math.isnan(u):
        return math.nan
    if u <= -1.0:
        return 0.0
    if math.isinf(u):
        return 1.0
    if abs(u) < 1e-3:
        # u - ln(1 + u) from its series (the difference cancels)
        d = 0.0
        p = u * u
        for k in range(2, 12):
            d += p / k if k % 2 == 0 else -p / k
            p *= u
    else:
        d = u - math.log1p(u)
    eta = math.sqrt(2.0 * max(d, 0.0))
    if u < 0.0:
        eta = -eta
    if abs(eta) < _ETA_TAYLOR:
        c0 = 0.0
        c1 = 0.0
        for k in range(len(_TEMME_C0) - 1, -1, -1):
            c0 = c0 * eta + _TEMME_C0[k]
            c1 = c1 * eta + _TEMME_C1[k]
    else:
        c0 = 1.0 / u - 1.0 / eta
        c1 = 1.0 / (eta * eta * eta) - 1.0 / (u * u * u) - 1.0 / (u * u) - 1.0 / (12.0 * u)
    lead = 0.5 * math.erfc(-eta * math.sqrt(0.5 * a))
    corr = math.exp(-0.5 * a * eta * eta) / math.sqrt(2.0 * math.pi * a) * (c0 + c1 / a)
    return min(1.0, max(0.0, lead - corr))


@numba.njit(cache=True, nogil=True)
def _gammainc_lower(a: float, x: float, lgamma_a: float) -> float:
    """P(a, x) with ``lgamma(a)`` precomputed (one value per pixel and calendar month)."""
    if math.isnan(x):
        return math.nan
    if x <= 0.0:
        return 0.0
    if math.isinf(x):
        return 1.0
    if a >= _A_TEMME:
        return _temme_lower(a, (x - a) / a)
    log_prefix = -x + a * math.log(x) - lgamma_a
    if x < a + 1.0:
        # series: P = e^-x x^a / Gamma(a+1) * sum_n x^n / ((a+1)...(a+n))
        ap = a
        term = 1.0 / a
        total = term
        for _ in range(_MAXIT):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return min(1.0, total * math.exp(log_prefix))
    # continued fraction for Q(a, x) (modified Lentz)
    b = x + 1.0 - a
    c = 1.0 / _FPMIN
    d = 1.0 / b
    h = d
    for i in range(1, _MAXIT):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < _FPMIN:
            d = _FPMIN
        c = b + an / c
        if abs(c) < _FPMIN:
            c = _FPMIN
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return max(0.0, 1.0 - math.exp(log_prefix) * h)


@numba.njit(cache=True, nogil=True)
def norm_cdf(z: float) -> float:
    """Standard normal cumulative distribution function."""
    return 0.5 * math.erfc(-z / _SQRT2)


@numba.njit(cache=True, nogil=True)
def norm_ppf(p: float, refine: bool = True) -> float:
    """Standard normal quantile (inverse CDF) of a probability ``p`` in [0, 1].

    Acklam's approximation has a relative error below 1.2e-9; ``refine`` adds a Halley step (full precision).
    """
    if math.isnan(p) or p < 0.0 or p > 1.0:
        return math.nan
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    if p < _P_LOW:
        q = math.sqrt(-2.0 * math.log(p))
        x = (((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / (
            (((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0
        )
    elif p <= 1.0 - _P_LOW:
        q = p - 0.5
        r = q * q
        x = (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q / (
            ((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0
        )
    else:
        q = math.sqrt(-2.0 * math.log(1.0 - p))
        x = -(((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / (
            (((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0
        )
    if refine:
        # one Halley step on the exact CDF
        e = 0.5 * math.erfc(-x / _SQRT2) - p
        u = e * _SQRT2PI * math.exp(0.5 * x * x)
        x = x - u / (1.0 + 0.5 * x * u)
    return x


@numba.njit(cache=True, nogil=True)
def lmoments3(sample: np.ndarray, n: int) -> tuple[float, float, float]:
    """First three sample L-moments (l1, l2, t3) of the first ``n`` values of ``sample`` (sorted in place)."""
    s = np.sort(sample[:n])
    b0 = 0.0
    b1 = 0.0
    b2 = 0.0
    for i in range(n):
        v = s[i]
        b0 += v
        b1 += v * i / (n - 1.0)
        b2 += v * i * (i - 1.0) / ((n - 1.0) * (n - 2.0))
    b0 /= n
    b1 /= n
    b2 /= n
    l1 = b0
    l2 = 2.0 * b1 - b0
    l3 = 6.0 * b2 - 6.0 * b1 + b0
    if l2 == 0.0:
        return l1, l2, math.nan
    return l1, l2, l3 / l2


@numba.njit(cache=True, nogil=True)
def _log_gamma_ratio_half(a: float) -> float:
    """``ln(Gamma(a) / Gamma(a + 1/2))`` without the cancellation of two large log-gammas.

    For ``a >= 50`` the asymptotic series ``-ln(a) / 2 + 1 / (8a) - 1 / (192 a^3) + 1 / (640 a^5) - 17 / (14336 a^7)``
    (error below 1e-18; it follows from Stirling's series of both log-gammas); the log-gamma difference otherwise.
    """
    if a < 50.0:
        return math.lgamma(a) - math.lgamma(a + 0.5)
    r = 1.0 / a
    r2 = r * r
    return -0.5 * math.log(a) + r * (0.125 + r2 * (-1.0 / 192.0 + r2 * (1.0 / 640.0 - r2 * 17.0 / 14336.0)))


@numba.njit(cache=True, nogil=True)
def pearson3_from_lmoments(l1: float, l2: float, t3: float) -> tuple[float, float, float]:
    """Pearson III (loc, scale, skew) from L-moments; NaNs when the L-moments are invalid."""
    if not (l2 > 0.0) or not (abs(t3) < 1.0):
        return math.nan, math.nan, math.nan
    at3 = abs(t3)
    if at3 <= 1e-6:
        return l1, l2 * math.sqrt(math.pi), 0.0
    if at3 < 1.0 / 3.0:
        t = 3.0 * math.pi * at3 * at3
        alpha = (1.0 + _PE3_C[0] * t) / (t * (1.0 + t * (_PE3_C[1] + t * _PE3_C[2])))
    else:
        t = 1.0 - at3
        alpha = t * (_PE3_D[0] + t * (_PE3_D[1] + t * _PE3_D[2])) / (
            1.0 + t * (_PE3_D[3] + t * (_PE3_D[4] + t * _PE3_D[5]))
        )
    root = math.sqrt(alpha)
    ratio = math.exp(_log_gamma_ratio_half(alpha))
    beta = math.sqrt(math.pi) * l2 * ratio
    scale = beta * root
    skew = 2.0 / root if t3 > 0.0 else -2.0 / root
    return l1, scale, skew


@numba.njit(cache=True, nogil=True)
def pearson3_cdf(x: float, loc: float, scale: float, skew: float) -> float:
    """CDF of the Pearson III distribution with mean ``loc``, sd ``scale`` and skewness ``skew``."""
    if math.isnan(x) or not (scale > 0.0):
        return math.nan
    z = (x - loc) / scale
    if abs(skew) < 1.6e-5:
        # the normal limit, as scipy.stats.pearson3 (the difference is below 1e-6 in probability)
        return norm_cdf(z)
    shape = 4.0 / (skew * skew)
    # standardised gamma variable w = shape (1 + z skew / 2): P(shape, w) for skew > 0, Q for skew < 0
    u = 0.5 * z * skew
    p = _temme_lower(shape, u) if shape >= _A_TEMME else gammainc_lower(shape, shape * (1.0 + u))
    return p if skew > 0.0 else 1.0 - p


@numba.njit(cache=True, nogil=True)
def glo_from_lmoments(l1: float, l2: float, t3: float) -> tuple[float, float, float]:
    """Generalised logistic (loc, scale, shape) from L-moments; NaNs when invalid."""
    k = -t3
    if not (l2 > 0.0) or not (abs(k) < 1.0):
        return math.nan, math.nan, math.nan
    if abs(k) <= 1e-6:
        return l1, l2, 0.0
    gg = k * math.pi / math.sin(k * math.pi)
    scale = l2 / gg
    return l1 - scale * (1.0 - gg) / k, scale, k


@numba.njit(cache=True, nogil=True)
def glo_cdf(x: float, loc: float, scale: float, shape: float) -> float:
    """CDF of the generalised logistic distribution (Hosking's parameterisation)."""
    if math.isnan(x) or not (scale > 0.0) or not (abs(shape) < 1.0):
        return math.nan
    z = (x - loc) / scale
    if abs(shape) <= 1e-6:
        y = z
    else:
        arg = 1.0 - shape * z
        if arg <= 0.0:
            return 0.0 if shape < 0.0 else 1.0
        y = -math.log(arg) / shape
    return 1.0 / (1.0 + math.exp(-y))


@numba.njit(cache=True, nogil=True)
def _rolling_sum(series: np.ndarray, scale: int, out: np.ndarray) -> None:
    """Sums over ``scale`` consecutive steps ending at each step; NaN when any value is missing."""
    nt = series.shape[0]
    if scale <= 8:
        # exact window sums
        for t in range(nt):
            if t < scale - 1:
                out[t] = math.nan
                continue
            total = 0.0
            for k in range(t - scale + 1, t + 1):
                total += series[k]
            out[t] = total  # NaN propagates
        return
    # long windows: running sum, re-summed exactly every 32 steps (drift below 1e-12 relative); a window of zeros is
    # exactly zero (the count of non-zero values decides), so the zero mass of the distribution is not lost
    total = 0.0
    n_missing = 0
    n_nonzero = 0
    for t in range(nt):
        v = series[t]
        if math.isnan(v):
            n_missing += 1
        else:
            total += v
            if v != 0.0:
                n_nonzero += 1
        if t >= scale:
            old = series[t - scale]
            if math.isnan(old):
                n_missing -= 1
            else:
                total -= old
                if old != 0.0:
                    n_nonzero -= 1
        if t < scale - 1 or n_missing > 0:
            out[t] = math.nan
            continue
        if t % 32 == 0:
            total = 0.0
            for k in range(t - scale + 1, t + 1):
                total += series[k]
        out[t] = total if n_nonzero > 0 else 0.0


@numba.njit(cache=True, nogil=True)
def _gamma_cdf_many(a: float, lgamma_a: float, x: np.ndarray, k: int, out: np.ndarray, work: np.ndarray) -> None:
    """P(a, x[j]) for the first ``k`` values of ``x`` (all > 0) sharing one shape ``a``.

    The series is run for all values at once (one loop over values per term, which the compiler vectorises,
    with the reciprocals ``1 / (a + n)`` shared); values far in the upper tail use the continued fraction.
    """
    if a >= _A_TEMME:
        # the series would need about 8 sqrt(a) terms: the uniform asymptotic expansion, value by value
        for j in range(k):
            out[j] = _gammainc_lower(a, x[j], lgamma_a)
        return
    term = work[0]
    total = work[1]
    sx = work[2]
    sidx = work[3]
    limit = a + 1.0 + 6.0 * math.sqrt(a) + 10.0
    ns = 0
    for j in range(k):
        if x[j] < limit:
            sx[ns] = x[j]
            sidx[ns] = j
            ns += 1
        else:
            out[j] = _gammainc_lower(a, x[j], lgamma_a)
    if ns == 0:
        return
    inv_a = 1.0 / a
    for j in range(ns):
        term[j] = inv_a
        total[j] = inv_a
    ap = a
    for _ in range(_MAXIT // 8):
        for _r in range(8):
            ap += 1.0
            inv = 1.0 / ap
            for j in range(ns):
                term[j] *= sx[j] * inv
                total[j] += term[j]
        done = True
        for j in range(ns):
            if term[j] > total[j] * _EPS_SERIES:
                done = False
                break
        if done:
            break
    for j in range(ns):
        v = sx[j]
        out[int(sidx[j])] = min(1.0, total[j] * math.exp(-v + a * math.log(v) - lgamma_a))


@numba.njit(cache=True, nogil=True)
def accumulate_row(row: np.ndarray, scale: int, offset: float, clip_negative: bool, series: np.ndarray,
                   acc: np.ndarray) -> None:
    """``acc`` = rolling ``scale``-step sums of one pixel's monthly values (+ ``offset``; negatives to 0 if asked)."""
    for t in range(row.shape[0]):
        v = float(row[t])
        if clip_negative and v < 0.0:
            v = 0.0
        series[t] = v + offset
    _rolling_sum(series, scale, acc)


@numba.njit(cache=True, nogil=True)
def fit_month_sample(buf: np.ndarray, n_valid: int, dist: int) -> tuple[float, float, float, float]:
    """Distribution parameters of one calendar month's calibration sample ``buf[:n_valid]`` (no NaN).

    Returns ``(p1, p2, p3, q)``: gamma ``(alpha, beta, nan, q)`` by Thom's estimator on the positive values with
    ``q`` the share of zeros; Pearson III ``(loc, scale, skew, q)`` and log-logistic ``(loc, scale, shape, nan)`` by
    L-moments (at least 4 values; Pearson III at least 4 non-zero). NaN where the sample cannot be fitted. The one
    fitting rule of the reporting SPI (:func:`standardized_index_block`) and of the monthly monitoring
    (:mod:`openldn.monitoring.fits`).
    """
    n_zero = 0
    n_pos = 0
    sum_pos = 0.0
    sum_log = 0.0
    for j in range(n_valid):
        v = buf[j]
        if v == 0.0:
            n_zero += 1
        elif v > 0.0:
            n_pos += 1
            sum_pos += v
            sum_log += math.log(v)
    p1 = math.nan
    p2 = math.nan
    p3 = math.nan
    q = math.nan
    if dist == GAMMA:
        if n_valid > 0:
            q = n_zero / n_valid
        if n_pos > 0:
            mean = sum_pos / n_pos
            a_stat = math.log(mean) - sum_log / n_pos
            if a_stat > 0.0:
                p1 = (1.0 + math.sqrt(1.0 + 4.0 * a_stat / 3.0)) / (4.0 * a_stat)
                p2 = mean / p1
    elif dist == PEARSON3:
        if n_valid >= 4 and (n_valid - n_zero) >= 4:
            l1, l2, t3 = lmoments3(buf, n_valid)
            p1, p2, p3 = pearson3_from_lmoments(l1, l2, t3)
            q = n_zero / n_valid if n_zero > 0 else 0.0
    else:
        if n_valid >= 4:
            l1, l2, t3 = lmoments3(buf, n_valid)
            p1, p2, p3 = glo_from_lmoments(l1, l2, t3)
    return p1, p2, p3, q


@numba.njit(cache=True, nogil=True)
def month_probability(v: float, p1: float, p2: float, p3: float, q: float, dist: int) -> float:
    """Non-exceedance probability of one accumulation ``v`` through a month's fitted parameters (NaN if none).

    Gamma: zeros take the probability of zero ``q``; Pearson III: values below 0.0005 take 0 (or 0.0005 without
    zeros) and values beyond the distribution's support 0.0005 / 0.9995 (the rules of the reporting SPI).
    """
    if math.isnan(v):
        return math.nan
    if dist == GAMMA:
        undefined_q = math.isnan(q)
        qq = 0.0 if (undefined_q or q >= 1.0) else q
        if v <= 0.0:
            return math.nan if undefined_q else qq
        if not (p2 > 0.0):
            return math.nan
        return qq + (1.0 - qq) * _gammainc_lower(p1, v / p2, math.lgamma(p1))
    if dist == PEARSON3:
        if math.isnan(p1):
            return math.nan
        cdf = pearson3_cdf(v, p1, p2, p3)
        if v < 0.0005:
            cdf = 0.0 if q > 0.0 else 0.0005
        if p3 != 0.0:
            lowest = p1 - 2.0 * p2 / p3
            if p3 > 0.0 and v <= lowest:
                cdf = 0.0005
            elif p3 < 0.0 and v >= lowest:
                cdf = 0.9995
        return min(1.0, max(0.0, q + (1.0 - q) * cdf))
    return glo_cdf(v, p1, p2, p3)


@numba.njit(cache=True, nogil=True)
def _fit_transform_pixel(
    acc: np.ndarray,
    month: np.ndarray,
    calib: np.ndarray,
    dist: int,
    out: np.ndarray,
    buf: np.ndarray,
    months_out: np.ndarray,
    work: np.ndarray,
    order: np.ndarray,
    starts: np.ndarray,
) -> None:
    """Fit one distribution per calendar month over the calibration steps and transform every step."""
    for m in range(12):
        if not months_out[m]:
            continue
        # collect the calibration sample of this calendar month, then fit it (the one fitting rule)
        n_valid = 0
        for ii in range(starts[m], starts[m + 1]):
            t = order[ii]
            if not calib[t]:
                continue
            v = acc[t]
            if math.isnan(v):
                continue
            buf[n_valid] = v
            n_valid += 1
        p1, p2, p3, q = fit_month_sample(buf, n_valid, dist)
        lg = math.lgamma(p1) if dist == GAMMA and not math.isnan(p1) else math.nan
        undefined_q = math.isnan(q)
        if dist == GAMMA and (undefined_q or q >= 1.0):
            q = 0.0
        if dist == GAMMA:
            # positive accumulations of this month through the gamma CDF, all at once
            xs = work[4]
            pos = work[5]
            probs = work[6]
            k = 0
            if p2 > 0.0:
                for ii in range(starts[m], starts[m + 1]):
                    t = order[ii]
                    if acc[t] > 0.0:
                        xs[k] = acc[t] / p2
                        pos[k] = t
                        k += 1
                _gamma_cdf_many(p1, lg, xs, k, probs, work)
            for ii in range(starts[m], starts[m + 1]):
                t = order[ii]
                v = acc[t]
                if math.isnan(v) or v > 0.0:
                    out[t] = math.nan
                else:
                    z = norm_ppf(math.nan if undefined_q else q, False)
                    out[t] = math.nan if math.isnan(z) else min(SPI_MAX, max(SPI_MIN, z))
            for j in range(k):
                z = norm_ppf(q + (1.0 - q) * probs[j], False)
                out[int(pos[j])] = math.nan if math.isnan(z) else min(SPI_MAX, max(SPI_MIN, z))
            continue
        for ii in range(starts[m], starts[m + 1]):
            t = order[ii]
            v = acc[t]
            if math.isnan(v):
                out[t] = math.nan
                continue
            prob = month_probability(v, p1, p2, p3, q, dist)  # Pearson III and log-logistic (gamma above)
            z = norm_ppf(prob, False)
            if math.isnan(z):
                out[t] = math.nan
            else:
                out[t] = min(SPI_MAX, max(SPI_MIN, z))


@numba.njit(cache=True, nogil=True)
def standardized_index_block(
    values: np.ndarray,
    month: np.ndarray,
    calib: np.ndarray,
    scale: int,
    dist: int,
    offset: float,
    clip_negative: bool,
    months_out: np.ndarray,
) -> np.ndarray:
    """Standardised index of every pixel of a ``(pixels, time)`` block.

    Parameters
    ----------
    values : ndarray (pixels, time)
        Monthly values (precipitation, or precipitation minus PET), any float or integer dtype.
    month : ndarray (time,) of int
        Calendar month (0-11) of each step.
    calib : ndarray (time,) of bool
        Whether each step's year lies in the calibration period.
    scale : int
        Accumulation length in steps.
    dist : int
        ``GAMMA``, ``PEARSON3`` or ``LOGLOGISTIC``.
    offset : float
        Added to every monthly value before accumulation (1000 for SPEI, as in climate-indices).
    clip_negative : bool
        Clip negative monthly values to zero (precipitation).
    months_out : ndarray (12,) of bool
        Calendar months to compute (others are NaN).

    Returns
    -------
    ndarray (pixels, time) float32
    """
    npix, nt = values.shape
    out = np.full((npix, nt), np.nan, dtype=np.float32)
    series = np.empty(nt, dtype=np.float64)
    acc = np.empty(nt, dtype=np.float64)
    res = np.empty(nt, dtype=np.float64)
    buf = np.empty(nt, dtype=np.float64)
    work = np.empty((7, nt), dtype=np.float64)
    # the steps of each calendar month, once for all pixels
    order = np.argsort(month, kind="mergesort")
    starts = np.zeros(13, dtype=np.int64)
    for t in range(nt):
        starts[month[t] + 1] += 1
    for m in range(12):
        starts[m + 1] += starts[m]
    for i in range(npix):
        accumulate_row(values[i], scale, offset, clip_negative, series, acc)
        for t in range(nt):
            res[t] = math.nan
        _fit_transform_pixel(acc, month, calib, dist, res, buf, months_out, work, order, starts)
        for t in range(nt):
            out[i, t] = res[t]
    return out
