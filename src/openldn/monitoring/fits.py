"""Stored fits of the standardised drought indices, for month-by-month monitoring.

:func:`openldn.drought.spi` fits and transforms in one pass over the whole record. A monitoring service adds one
month at a time while the reference-period fits never change, so here the two steps are split:

* :func:`fit_parameters` fits, per pixel and calendar month, the distribution of the ``scale``-month accumulations
  whose last month lies in the reference years (the same estimators, sample selection and zero handling as
  :func:`openldn.drought.spi` / :func:`openldn.drought.spei`, built from the same numba building blocks of
  :mod:`openldn.drought._kernels`);
* :func:`transform` maps accumulations of any later month through the stored fits to the standard normal.

:class:`FitStore` keeps the fits in ``<out>/cache`` keyed by a checksum of the reference-period data, the options
and the code of the kernels, so a new month reuses them and a changed reference period, option or kernel refits.
The parameter layout per pixel and calendar month is ``(p1, p2, p3, q)``: gamma ``(shape, scale, nan, q)`` with
``q`` the share of zeros (NaN when the month has no calibration value), Pearson III ``(loc, scale, skew, q)``,
log-logistic ``(loc, scale, shape, nan)``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd

from openldn.core.periods import Period
from openldn.drought import _kernels
from openldn.drought._kernels import (
    GAMMA,
    LOGLOGISTIC,
    PEARSON3,
    SPI_MAX,
    SPI_MIN,
    accumulate_row,
    fit_month_sample,
    month_probability,
    norm_ppf,
)
from openldn.drought.spi import SPEI_OFFSET, STRIP_PIXELS
from openldn.exceptions import ConfigError, MissingYearError
from openldn.io import atomic_path

__all__ = ["DIST_CODES", "FitStore", "IndexSpec", "fit_parameters", "transform"]

#: Distribution names accepted here (the names of :func:`openldn.drought.spi`) -> kernel code.
DIST_CODES: dict[str, int] = {"gamma": GAMMA, "pearson3": PEARSON3, "loglogistic": LOGLOGISTIC}
_N_PARAMS = 4


@numba.njit(cache=True, nogil=True)
def _fit_block(
    values: np.ndarray, month: np.ndarray, calib: np.ndarray, scale: int, dist: int, offset: float,
    clip_negative: bool,
) -> np.ndarray:
    """Parameters ``(pixels, 12, 4)`` of every pixel and calendar month (see the module docstring)."""
    npix, nt = values.shape
    out = np.full((npix, 12, 4), np.nan)
    series = np.empty(nt)
    acc = np.empty(nt)
    buf = np.empty(nt)
    for i in range(npix):
        accumulate_row(values[i], scale, offset, clip_negative, series, acc)
        for m in range(12):
            n_valid = 0
            for t in range(nt):
                if month[t] != m or not calib[t]:
                    continue
                v = acc[t]
                if math.isnan(v):
                    continue
                buf[n_valid] = v
                n_valid += 1
            p1, p2, p3, q = fit_month_sample(buf, n_valid, dist)
            out[i, m, 0] = p1
            out[i, m, 1] = p2
            out[i, m, 2] = p3
            out[i, m, 3] = q
    return out


@numba.njit(cache=True, nogil=True)
def _clip_z(prob: float) -> float:
    z = norm_ppf(prob, False)
    if math.isnan(z):
        return math.nan
    return min(SPI_MAX, max(SPI_MIN, z))


@numba.njit(cache=True, nogil=True)
def _transform_block(
    values: np.ndarray, month: np.ndarray, scale: int, dist: int, offset: float, clip_negative: bool,
    params: np.ndarray, first_out: int,
) -> np.ndarray:
    """Standardised index ``(pixels, time)`` of the steps ``first_out..`` through stored parameters."""
    npix, nt = values.shape
    out = np.full((npix, nt), np.nan, dtype=np.float32)
    series = np.empty(nt)
    acc = np.empty(nt)
    for i in range(npix):
        accumulate_row(values[i], scale, offset, clip_negative, series, acc)
        for t in range(first_out, nt):
            v = acc[t]
            if math.isnan(v):
                continue
            m = month[t]
            p1 = params[i, m, 0]
            p2 = params[i, m, 1]
            p3 = params[i, m, 2]
            q = params[i, m, 3]
            prob = month_probability(v, p1, p2, p3, q, dist)
            if not math.isnan(prob):
                out[i, t] = _clip_z(prob)
    return out


@dataclass(frozen=True)
class IndexSpec:
    """What is fitted: the index, its distribution and the reference (calibration) years.

    Parameters
    ----------
    index : {"spi", "spei"}
        SPI from precipitation, or SPEI from precipitation minus PET (plus the 1000 mm offset of
        :func:`openldn.drought.spei`).
    distribution : {"gamma", "pearson3", "loglogistic"}
        SPI: gamma or pearson3; SPEI: loglogistic, pearson3 or gamma.
    calibration : str
        Reference years, ``"YYYY-YYYY"`` (default 1991-2020, the current WMO climatological standard normal).
    """

    index: str = "spi"
    distribution: str = "gamma"
    calibration: str = "1991-2020"

    def __post_init__(self) -> None:
        if self.index not in ("spi", "spei"):
            raise ConfigError(f"index {self.index!r} is not spi or spei: use one of them.")
        allowed = ("gamma", "pearson3") if self.index == "spi" else ("loglogistic", "pearson3", "gamma")
        if self.distribution not in allowed:
            raise ConfigError(
                f"distribution {self.distribution!r} is not available for {self.index}: use one of {', '.join(allowed)}."
            )
        object.__setattr__(self, "calibration", Period.from_user_input(self.calibration, name="calibration").label)

    @property
    def code(self) -> int:
        """Kernel code of the distribution."""
        return DIST_CODES[self.distribution]

    @property
    def offset(self) -> float:
        """Value added to each month before accumulation (SPEI: 1000 mm)."""
        return SPEI_OFFSET if self.index == "spei" else 0.0

    @property
    def period(self) -> Period:
        """Reference years."""
        return Period.from_user_input(self.calibration, name="calibration")


def _by_strips(fn: Any, arrays: tuple[np.ndarray, ...], out_shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """``fn(*strips)`` over strips of pixel rows of ``arrays`` on a thread pool (the kernels release the GIL)."""
    n = arrays[0].shape[0]
    out = np.empty((n, *out_shape), dtype=dtype)
    starts = list(range(0, n, STRIP_PIXELS))

    def run(i0: int) -> None:
        out[i0 : i0 + STRIP_PIXELS] = fn(*(a[i0 : i0 + STRIP_PIXELS] for a in arrays))

    workers = min(os.cpu_count() or 1, len(starts))
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, starts))
    else:
        for i0 in starts:
            run(i0)
    return out


def _pixels(values: np.ndarray) -> np.ndarray:
    """``(time, y, x)`` -> contiguous ``(pixels, time)`` float64."""
    nt = values.shape[0]
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64).reshape(nt, -1).T)


def fit_parameters(values: np.ndarray, months: pd.DatetimeIndex, scale: int, spec: IndexSpec) -> np.ndarray:
    """Fit the index distribution of every pixel and calendar month over the reference years.

    Parameters
    ----------
    values : ndarray (time, y, x)
        Monthly precipitation (SPI) or precipitation minus PET (SPEI, without the offset), mm, on a complete
        monthly axis (missing months NaN).
    months : pandas.DatetimeIndex
        Month starts of ``values``.
    scale : int
        Accumulation length in months.
    spec : IndexSpec
        Index, distribution and reference years.

    Returns
    -------
    ndarray (y, x, 12, 4) float64
        Parameters per pixel and calendar month (module docstring).

    Raises
    ------
    MissingYearError
        The data do not cover the reference years.
    """
    cal = spec.period
    if months[0].year > cal.start or months[-1].year < cal.end:
        raise MissingYearError(
            f"{spec.index}: reference period {cal.label} is not covered by the data ({months[0]:%Y-%m} to "
            f"{months[-1]:%Y-%m}): choose reference years inside the data (--reference YYYY-YYYY)."
        )
    month = (months.month.to_numpy() - 1).astype(np.int64)
    calib = np.asarray((months.year >= cal.start) & (months.year <= cal.end), dtype=np.bool_)
    px = _pixels(values)
    clip = spec.index == "spi"
    out = _by_strips(lambda b: _fit_block(b, month, calib, int(scale), spec.code, spec.offset, clip), (px,),
                     (12, _N_PARAMS), np.float64)
    return out.reshape(*values.shape[1:], 12, _N_PARAMS)


def transform(values: np.ndarray, months: pd.DatetimeIndex, scale: int, spec: IndexSpec, params: np.ndarray,
              first_out: int) -> np.ndarray:
    """Standardised index of the months ``first_out..`` of ``values`` through stored parameters.

    Parameters
    ----------
    values : ndarray (time, y, x)
        Monthly values as for :func:`fit_parameters`, including the ``scale - 1`` months before ``first_out``.
    months : pandas.DatetimeIndex
        Month starts of ``values`` (a complete monthly axis).
    scale : int
        Accumulation length in months.
    spec : IndexSpec
        As used for the fit.
    params : ndarray (y, x, 12, 4)
        From :func:`fit_parameters`.
    first_out : int
        First step to compute; earlier steps are NaN.

    Returns
    -------
    ndarray (time, y, x) float32
        The index, clipped to [-3.09, 3.09]; NaN where undefined (an accumulation with a missing month, a failed
        fit).
    """
    nt = values.shape[0]
    month = (months.month.to_numpy() - 1).astype(np.int64)
    px = _pixels(values)
    par = np.ascontiguousarray(params.reshape(-1, 12, _N_PARAMS), dtype=np.float64)
    clip = spec.index == "spi"
    out = _by_strips(
        lambda b, p: _transform_block(b, month, int(scale), spec.code, spec.offset, clip, p, int(first_out)),
        (px, par), (nt,), np.float32,
    )
    return out.T.reshape(nt, *values.shape[1:])


def _code_digest() -> str:
    """Checksum of the kernel sources: fits made by other code are not reused."""
    h = hashlib.sha256()
    for mod_file in (_kernels.__file__, __file__):
        if mod_file:
            h.update(Path(mod_file).read_bytes())
    return h.hexdigest()[:16]


class FitStore:
    """Reference-period fits stored as ``.npz`` files in a cache folder, keyed by an input checksum.

    The key hashes the index options, the scale, the code of the kernels, the grid coordinates and the monthly
    values that enter the reference accumulations (the reference years and the ``scale - 1`` months before them).
    Adding later months leaves the key unchanged, so the stored fit is reused.

    Parameters
    ----------
    folder : path, optional
        Cache folder (created when needed); None keeps the fits in memory only (for the life of the store).
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self._memory: dict[str, np.ndarray] = {}
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(values: np.ndarray, months: pd.DatetimeIndex, scale: int, spec: IndexSpec,
            coords: tuple[np.ndarray, np.ndarray]) -> str:
        """Checksum of everything the fit depends on."""
        cal = spec.period
        lo = pd.Timestamp(cal.start, 1, 1) - pd.DateOffset(months=int(scale) - 1)
        hi = pd.Timestamp(cal.end, 12, 1)
        sel = np.flatnonzero((months >= lo) & (months <= hi))
        h = hashlib.sha256()
        h.update(json.dumps({"index": spec.index, "dist": spec.distribution, "cal": spec.calibration,
                             "scale": int(scale), "code": _code_digest(),
                             "first": str(months[sel[0]]) if sel.size else "", "shape": list(values.shape[1:])},
                            sort_keys=True).encode())
        for c in coords:
            h.update(np.ascontiguousarray(c, dtype=np.float64).tobytes())
        block = np.ascontiguousarray(np.asarray(values[sel], dtype=np.float64))
        h.update(block.tobytes())
        return h.hexdigest()[:32]

    def get(self, values: np.ndarray, months: pd.DatetimeIndex, scale: int, spec: IndexSpec,
            coords: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """The stored fit for these inputs, fitting and storing it when absent.

        Parameters are those of :func:`fit_parameters`; ``coords`` are the ``(y, x)`` coordinates of the grid.
        """
        key = self.key(values, months, scale, spec, coords)
        if self.folder is None:
            if key in self._memory:
                self.hits += 1
                return self._memory[key]
            self._memory[key] = fit_parameters(values, months, scale, spec)
            self.misses += 1
            return self._memory[key]
        path = self.folder / f"{spec.index}-{int(scale):02d}-{key}.npz"
        if path.is_file():
            try:
                with np.load(path) as z:
                    params = np.asarray(z["params"])
                if params.shape == (*values.shape[1:], 12, _N_PARAMS):
                    self.hits += 1
                    return params
            except (OSError, ValueError, KeyError):  # a damaged cache file: refit
                pass
        params = fit_parameters(values, months, scale, spec)
        self.misses += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        meta: dict[str, Any] = {"index": spec.index, "distribution": spec.distribution,
                                "calibration": spec.calibration, "scale": int(scale)}
        with atomic_path(path) as tmp, tmp.open("wb") as fh:
            np.savez_compressed(fh, params=params, meta=np.array(json.dumps(meta)))
        return params
