"""Private helpers: vectorised code look-ups on numpy blocks, lifted onto xarray (numpy- or dask-backed)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import numpy as np
import xarray as xr

from openldn.core.blocks import map_values
from openldn.core.codes import NODATA
from openldn.exceptions import LegendError

__all__ = ["as_int_codes", "code_rows", "input_nodata_codes", "lookup_codes", "unknown_codes_error"]

#: Marker of "code not in the table" inside look-up arrays (never a class code).
UNKNOWN = -32767


def input_nodata_codes(da: xr.DataArray) -> list[int]:
    """Nodata codes declared on a DataArray (``_FillValue`` / ``nodata`` attrs or encoding, rioxarray nodata)."""
    out: list[int] = []
    candidates: list[Any] = [da.attrs.get("_FillValue"), da.attrs.get("nodata"), da.encoding.get("_FillValue")]
    with contextlib.suppress(Exception):  # rioxarray not imported, or no spatial dims
        candidates.append(da.rio.nodata)
    for v in candidates:
        if v is None:
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if np.isfinite(f) and f == int(f):
            out.append(int(f))
    return sorted(set(out))


def as_int_codes(block: np.ndarray, nodata_codes: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """Integer view of a block of codes (int32, or int64 for wide inputs) and its nodata mask (NaN or a nodata code)."""
    arr = np.asarray(block)
    wide = arr.dtype.itemsize > 4 or arr.dtype == np.uint32
    itype = np.int64 if wide else np.int32
    if np.issubdtype(arr.dtype, np.floating):
        nan = ~np.isfinite(arr)
        codes = np.where(nan, NODATA, arr).astype(itype)
    else:
        nan = np.zeros(arr.shape, dtype=bool)
        codes = arr.astype(itype, copy=False)
    mask = nan
    for v in sorted({*nodata_codes, NODATA}):
        mask |= codes == v  # a few equality passes are much faster than np.isin on large blocks
    return codes, mask


def lookup_codes(codes: np.ndarray, lut: np.ndarray, offset: int) -> np.ndarray:
    """``lut[codes - offset]`` with :data:`UNKNOWN` for codes outside the table (one vectorised ``take``)."""
    idx = codes - offset
    inside = (idx >= 0) & (idx < lut.size)
    out = np.take(lut, np.clip(idx, 0, lut.size - 1))
    return np.where(inside, out, np.asarray(UNKNOWN, dtype=lut.dtype))


def code_rows(
    block: np.ndarray, lut: np.ndarray, nodata_codes: Iterable[int], *, offset: int = 0, nodata_row: int = -1,
    unknown_row: int = UNKNOWN, dtype: Any = np.int32,
) -> np.ndarray:
    """:func:`lookup_codes` of every cell of a block, worked out once per distinct value
    (:func:`openldn.core.blocks.map_values`): ``lut[code - offset]``, ``nodata_row`` where the cell is nodata and
    ``unknown_row`` where its code has no entry (:data:`UNKNOWN` in ``lut``, or outside it), in ``dtype``."""

    def rule(values: np.ndarray) -> np.ndarray:
        codes, nd = as_int_codes(values, nodata_codes)
        out = lookup_codes(codes, lut, offset)
        if unknown_row != UNKNOWN:
            out = np.where(out == UNKNOWN, unknown_row, out)
        return np.where(nd, nodata_row, out).astype(dtype)

    return map_values(block, rule)


def unknown_codes_error(codes: np.ndarray, what: str, source: str, fix: str) -> LegendError:
    """One-line error naming the unknown codes (at most 10) and the file that should define them."""
    u = np.unique(codes)
    shown = ", ".join(str(int(c)) for c in u[:10]) + (" ..." if u.size > 10 else "")
    return LegendError(f"Code(s) {shown} in {what} are not in {source}: {fix}.")
