"""Per-pixel reductions over the time axis by the numba kernels of :mod:`openldn.productivity._kernels` (private).

Each reduction reads a ``(time, y, x)`` block once and writes its float64 outputs, where the array expressions it
replaces (``notnull().sum``, ``fillna(0).sum``, products with the years...) made one pass over the block each. The
sums run over the years in order, as numpy sums over a first axis, so the results are the same floats.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask.array
import numpy as np
import xarray as xr

from openldn.core.blocks import reduce_axis_each
from openldn.productivity import _kernels

__all__ = ["count_sum", "reduce_time"]


def reduce_time(
    series: xr.DataArray, kernel: Callable[..., None], n_out: int, *args: Any, dim: str = "time"
) -> tuple[xr.DataArray, ...]:
    """Apply a row kernel ``kernel(x, *args, r0, r1, out)`` reducing ``dim``; ``n_out`` float64 ``(y, x)`` outputs.

    Lazy for dask input (one task per spatial chunk, the time axis whole); every CPU for numpy input.
    """
    name = getattr(kernel, "__name__", "")
    if getattr(_kernels, name, None) is not kernel:
        raise ValueError(f"reduce_time: {kernel!r} is not a kernel of openldn.productivity._kernels")
    is_dask = isinstance(series.data, dask.array.Array)
    # the kernel by name: a numba dispatcher shipped to a worker process is rebuilt there and compiled again (about
    # 4 s per kernel and process), while the module's own dispatcher loads from the on-disk cache
    return reduce_axis_each(_reduce_numpy, [series], [dim], n_out,
                            kwargs={"kernel": name, "args": args, "n_out": n_out,
                                    "threads": 1 if is_dask else None})


def _reduce_numpy(
    x: np.ndarray, *, kernel: str, args: tuple[Any, ...], n_out: int, threads: int | None
) -> np.ndarray:
    """``(n_out, *lead)`` float64 outputs of a row kernel over ``x`` (the reduced axis first)."""
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    lead = x.shape[1:]
    x3 = x.reshape(x.shape[0], int(np.prod(lead[:-1], dtype=np.int64)), lead[-1] if lead else 1)
    out = np.empty((n_out, x3.shape[1], x3.shape[2]), np.float64)
    _kernels.run_rows(getattr(_kernels, kernel), x3.shape[1], x3, *args, out=out, threads=threads)
    return out.reshape(n_out, *lead)


def count_sum(series: xr.DataArray, dim: str = "time") -> tuple[xr.DataArray, xr.DataArray]:
    """Valid values and their sum over ``dim`` per pixel, float64 (``notnull().sum`` and ``sum`` in one pass).

    Parameters
    ----------
    series : xarray.DataArray
        Values, NaN = missing.
    dim : str, default "time"
        Dimension reduced.

    Returns
    -------
    tuple of xarray.DataArray
        ``(n, sum)``; the sum is 0 where no value is valid.
    """
    n, s = reduce_time(series, _kernels.count_sum_block, 2, dim=dim)
    return n, s
