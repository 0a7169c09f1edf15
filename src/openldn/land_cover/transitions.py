"""Land cover transitions and land cover degradation from a transition matrix.

PRAIS 2026 §1.1 Steps 3-5 (Table 9), GPG v2 ch. 3; PRAIS 2026 reporting manual §1.1; GPG v2 ch. 3. The degradation of a pixel is the
matrix value of its (initial class, final class) pair: -1 degradation, 0 stable, 1 improvement. One national matrix,
or up to five region-specific matrices applied through a region raster.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import xarray as xr

from openldn.core.blocks import isin, map_values
from openldn.core.codes import NODATA
from openldn.core.vocab import TransitionMatrix, load_transition_matrix
from openldn.exceptions import GridMismatchError, LegendError
from openldn.land_cover._lookup import (
    UNKNOWN,
    as_int_codes,
    code_rows,
    input_nodata_codes,
    unknown_codes_error,
)

__all__ = [
    "MAX_REGIONS",
    "SomeMatrix",
    "degradation",
    "degradation_by_region",
    "transition_codes",
    "water_mask",
]

#: Largest number of region-specific matrices (PRAIS 2026 §1.1 Step 3; PRAIS 2026 reporting manual, validation rules C3).
MAX_REGIONS: int = 5

SomeMatrix: TypeAlias = TransitionMatrix | str | Path


def _check_pair(initial: xr.DataArray, final: xr.DataArray) -> None:
    if initial.dims != final.dims or initial.shape != final.shape:
        raise GridMismatchError(
            f"Initial and final land cover differ in shape ({initial.dims} {initial.shape} vs "
            f"{final.dims} {final.shape}): align them on one grid."
        )


def _class_table(matrix: TransitionMatrix) -> tuple[np.ndarray, int]:
    """``pos[code]`` = 1 + position of the class in the legend (its row in :func:`_padded_tables`), :data:`UNKNOWN`
    otherwise; and the number of classes."""
    codes = matrix.legend.codes
    if min(codes) < 0:
        raise LegendError(f"Transition matrix {matrix.source or matrix.id}: class codes must be >= 0.")
    pos = np.full(max(codes) + 1, UNKNOWN, dtype=np.int64)
    pos[np.asarray(codes)] = np.arange(1, len(codes) + 1)
    return pos, len(codes)


def _padded_tables(matrices: list[np.ndarray], n: int) -> np.ndarray:
    """The ``(n, n)`` matrices, flattened, as ``(regions + 1, n + 1, n + 1)`` int16 tables with a nodata region, row
    and column at index 0: one look-up of ``(region, row_a, row_b)`` then gives every cell, nodata included."""
    padded = np.full((len(matrices) + 1, n + 1, n + 1), NODATA, dtype=np.int16)
    padded[1:, 1:, 1:] = np.stack([np.asarray(m).reshape(n, n) for m in matrices])
    return padded.reshape(-1)


def _deg_block(
    a: np.ndarray,
    b: np.ndarray,
    r: np.ndarray | None,
    *,
    pos: np.ndarray,
    n: int,
    table: np.ndarray,
    region_pos: np.ndarray | None,
    nodata_a: list[int],
    nodata_b: list[int],
    source: str,
) -> np.ndarray:
    # the rows of each class in the padded table (0 for nodata), worked out once per distinct value
    pa = code_rows(a, pos, nodata_a, nodata_row=0)
    pb = code_rows(b, pos, nodata_b, nodata_row=0)
    ua, ub = pa == UNKNOWN, pb == UNKNOWN
    if ua.any() or ub.any():
        bad = np.concatenate([as_int_codes(a[ua], nodata_a)[0], as_int_codes(b[ub], nodata_b)[0]])
        raise unknown_codes_error(
            bad, "the land cover", f"the legend of transition matrix {source}", "reclassify the land cover first"
        )
    region: Any = 1
    if r is not None:
        assert region_pos is not None
        region = code_rows(r, region_pos, [], nodata_row=0, unknown_row=0)  # a code of no region is nodata
    out: np.ndarray = np.take(table, (region * (n + 1) + pa) * (n + 1) + pb)
    return out


def _deg_block_national(a: np.ndarray, b: np.ndarray, **kw: object) -> np.ndarray:
    return _deg_block(a, b, None, **kw)  # type: ignore[arg-type]


def _finish(out: xr.DataArray, what: str, matrix_ids: str) -> xr.DataArray:
    out.attrs = {
        "long_name": f"Land cover degradation ({what})",
        "_FillValue": NODATA,
        "flag_values": np.array([-1, 0, 1], dtype=np.int16),
        "flag_meanings": "degradation stable improvement",
        "transition_matrix": matrix_ids,
    }
    out.name = "lc_degradation"
    return out


def degradation(
    initial: xr.DataArray,
    final: xr.DataArray,
    matrix: SomeMatrix | None = None,
) -> xr.DataArray:
    """
    Land cover degradation (-1 / 0 / 1) of each pixel from its initial and final class.

    Parameters
    ----------
    initial, final : xarray.DataArray
        Land cover codes of the initial and final year, same dims and shape, codes of the matrix's legend
        (the UNCCD classes 1-7 with the default matrix), nodata -32768 (or the array's declared nodata / NaN).
    matrix : TransitionMatrix, str or path, optional
        Transition matrix: package id, YAML/CSV file or :class:`~openldn.core.vocab.TransitionMatrix`.
        ``None`` is the default UNCCD matrix (PRAIS 2026 reporting manual §1.1; GPG v2 ch. 3 (b), package file ``unccd_default``).

    Returns
    -------
    xarray.DataArray
        int16: -1 degradation, 0 stable, 1 improvement, -32768 where either class is nodata. Same backing
        (numpy or dask) as the inputs.

    Raises
    ------
    LegendError
        A code that is neither nodata nor a class of the matrix's legend (raised when the blocks are computed
        for dask input).

    References
    ----------
    PRAIS 2026 §1.1 Steps 3 and 5, Table 9; GPG v2 ch. 3; PRAIS 2026 reporting manual §1.1; GPG v2 ch. 3, §4.6.
    """
    _check_pair(initial, final)
    m = load_transition_matrix(matrix)
    pos, n = _class_table(m)
    out = xr.apply_ufunc(
        _deg_block_national,
        initial,
        final,
        kwargs={
            "pos": pos,
            "n": n,
            "table": _padded_tables([m.values], n),
            "region_pos": None,
            "nodata_a": input_nodata_codes(initial),
            "nodata_b": input_nodata_codes(final),
            "source": m.source or m.id,
        },
        dask="parallelized",
        output_dtypes=[np.int16],
    )
    return _finish(out, "national matrix", m.id)


def degradation_by_region(
    initial: xr.DataArray,
    final: xr.DataArray,
    regions: xr.DataArray,
    matrices: Mapping[int, SomeMatrix | None],
) -> xr.DataArray:
    """
    Land cover degradation with a transition matrix per region (at most five regions).

    Parameters
    ----------
    initial, final : xarray.DataArray
        Land cover codes of the initial and final year (see :func:`degradation`).
    regions : xarray.DataArray
        Integer region codes on the same grid, ``(y, x)``; pixels whose code is not a key of ``matrices``
        (including the region raster's nodata) are nodata in the result: the regions must cover the land exactly
        once (PRAIS 2026 reporting manual, validation rules C3).
    matrices : mapping of int to matrix
        Region code -> transition matrix (package id, file, object, or ``None`` for the default matrix). Every
        matrix must use the same legend.

    Returns
    -------
    xarray.DataArray
        int16 -1 / 0 / 1, nodata -32768, same backing as the inputs.

    Raises
    ------
    LegendError
        More than five regions, matrices on different legends, or an unknown class code.

    References
    ----------
    PRAIS 2026 §1.1 Step 3 ("up to five region-specific matrices"; SO1-1.T3 per region); PRAIS 2026 reporting manual §1.1; GPG v2 ch. 3.
    """
    _check_pair(initial, final)
    if regions.shape != initial.shape[-2:] or regions.dims != initial.dims[-2:]:
        raise GridMismatchError(
            f"Region raster {regions.dims} {regions.shape} is not on the land cover grid "
            f"{initial.dims[-2:]} {initial.shape[-2:]}: rasterise or resample it onto that grid."
        )
    if not matrices:
        raise LegendError("No region matrices given: map at least one region code to a transition matrix.")
    if len(matrices) > MAX_REGIONS:
        raise LegendError(
            f"{len(matrices)} region matrices given, at most {MAX_REGIONS} are allowed (PRAIS 2026 §1.1 Step 3): "
            "merge regions."
        )
    loaded = {int(k): load_transition_matrix(v) for k, v in matrices.items()}
    legends = {m.legend.codes.__repr__() for m in loaded.values()}
    if len(legends) > 1:
        raise LegendError("The region matrices use different legends: give every region a matrix of one legend.")
    first = next(iter(loaded.values()))
    pos, n = _class_table(first)
    keys = sorted(loaded)
    if min(keys) < 0:
        raise LegendError(f"Region codes must be >= 0, got {keys}: recode the region raster.")
    region_pos = np.full(max(keys) + 1, UNKNOWN, dtype=np.int64)
    region_pos[np.asarray(keys)] = np.arange(1, len(keys) + 1)  # the region's index in the padded table
    table = _padded_tables([loaded[k].values for k in keys], n)
    out = xr.apply_ufunc(
        _deg_block,
        initial,
        final,
        regions,
        kwargs={
            "pos": pos,
            "n": n,
            "table": table,
            "region_pos": region_pos,
            "nodata_a": input_nodata_codes(initial),
            "nodata_b": input_nodata_codes(final),
            "source": ", ".join(loaded[k].source or loaded[k].id for k in keys),
        },
        dask="parallelized",
        output_dtypes=[np.int16],
    )
    return _finish(out, "regional matrices", ",".join(f"{k}:{loaded[k].id}" for k in keys))


def _trans_block(
    a: np.ndarray, b: np.ndarray, *, mult: int, nodata_a: list[int], nodata_b: list[int], dtype: type
) -> np.ndarray:
    def code(values: np.ndarray, nodata: list[int]) -> np.ndarray:  # the code, -1 for nodata (once per value)
        c, nd = as_int_codes(values, nodata)
        return np.where(nd | (c < 0), -1, c).astype(np.int64)

    ca = map_values(a, functools.partial(code, nodata=nodata_a))
    cb = map_values(b, functools.partial(code, nodata=nodata_b))
    out = ca * mult + cb
    bad = (ca < 0) | (cb < 0) | (cb >= mult) | (out > np.iinfo(dtype).max)
    return np.where(bad, NODATA, out).astype(dtype)


def transition_codes(initial: xr.DataArray, final: xr.DataArray, *, multiplier: int = 10) -> xr.DataArray:
    """
    Transition code of each pixel: ``initial * multiplier + final`` (e.g. 13 = tree-covered -> cropland).

    Parameters
    ----------
    initial, final : xarray.DataArray
        Land cover codes (same grid), nodata -32768.
    multiplier : int, default 10
        10 for codes 1-9 (the UNCCD legend); use 100 or 1000 for larger codes. Unlike Trends.Earth, the codes
        themselves are used, not their positions in the legend (Trends.Earth (docs/differences.md)).

    Returns
    -------
    xarray.DataArray
        Transition codes, int16 for ``multiplier <= 100`` (int32 above), -32768 where either year is nodata or a
        code does not fit (a final code >= ``multiplier``). Same backing as the inputs.

    References
    ----------
    PRAIS 2026 §1.1 Step 5 (land cover change maps); PRAIS 2026 reporting manual §1.1; GPG v2 ch. 3 step 2.
    """
    _check_pair(initial, final)
    if multiplier < 2:
        raise LegendError(f"multiplier must be at least 2, got {multiplier}.")
    dtype = np.int16 if multiplier <= 100 else np.int32
    out: xr.DataArray = xr.apply_ufunc(
        _trans_block,
        initial,
        final,
        kwargs={
            "mult": int(multiplier),
            "nodata_a": input_nodata_codes(initial),
            "nodata_b": input_nodata_codes(final),
            "dtype": dtype,
        },
        dask="parallelized",
        output_dtypes=[dtype],
    )
    out.attrs = {"long_name": "Land cover transition (initial * multiplier + final)", "_FillValue": NODATA,
                 "multiplier": int(multiplier)}
    out.name = "lc_transition"
    return out


def water_mask(lc: xr.DataArray, *, water_codes: tuple[int, ...] = (7,)) -> xr.DataArray:
    """
    Boolean water mask: the land cover is a water class (UNCCD class 7 by default).

    Parameters
    ----------
    lc : xarray.DataArray
        Land cover codes of one year (use the initial year of the period, Trends.Earth conventions (docs/differences.md)).
    water_codes : tuple of int, default (7,)
        Codes that are water.

    Returns
    -------
    xarray.DataArray
        bool, same backing as ``lc``.

    References
    ----------
    PRAIS 2026 §1.1 Step 3 (water and the land-area denominator); GPG v2 (Sims et al. 2021) ch. 2; docs/differences.md.
    """
    out = isin(lc, water_codes)
    out.name = "water"
    return out
