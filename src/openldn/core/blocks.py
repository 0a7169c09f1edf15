"""Block-level machinery: per-pixel reductions of an axis (the years) on the blocks as they are stored, and rules
over code values applied to a block through a table of its type's values.

``xarray.apply_ufunc`` with a core dimension moves that dimension last (a transposed view) and, on dask input, has
dask concatenate each block's pieces along it (``blockwise(concatenate=True)``), which copies the block even when
the axis is one chunk. A ``(24, 512, 512)`` float block is then copied into ``(512, 512, 24)`` order for every
reduction that reads it, and the row kernels, written for rows of contiguous pixels, read a stride of 24 values.
:func:`reduce_axis` hands the kernels the blocks themselves, axis first, with no copy: at 10,000² the productivity
pass spent about 14 s of thread time in those copies, and the kernels ran up to twice as fast on contiguous rows.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numba
import numpy as np
import xarray as xr

__all__ = ["cellwise", "chunk_spans", "isin", "map_values", "plane_chunks", "reduce_axis", "reduce_axis_each",
           "where_inside"]

_LETTERS = "abcdefghijklmnopqrstuvw"


def chunk_spans(sizes: Iterable[int]) -> list[tuple[int, int]]:
    """``(start, stop)`` of each chunk along an axis of chunk ``sizes`` (one axis of ``dask.array.Array.chunks``).

    Examples
    --------
    >>> chunk_spans((3, 4, 2))
    [(0, 3), (3, 7), (7, 9)]
    """
    edges = [0, *itertools.accumulate(int(n) for n in sizes)]
    return list(itertools.pairwise(edges))


def plane_chunks(da: xr.DataArray) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """The row and column chunk sizes (``y``, ``x``) of a dask-backed raster; None for a numpy-backed one."""
    if da.chunks is None:
        return None
    sizes = da.chunksizes
    return tuple(sizes["y"]), tuple(sizes["x"])


def _block(fn: Callable[..., np.ndarray], kwargs: Mapping[str, Any], *pieces: Any) -> np.ndarray:
    """One block of :func:`reduce_axis` (module level: a task ships it by reference)."""
    # without concatenation a contracted index gives the list of its blocks: one, the axis being one chunk
    return fn(*(p[0] if isinstance(p, list) else p for p in pieces), **kwargs)


def reduce_axis(
    fn: Callable[..., np.ndarray],
    arrays: Sequence[xr.DataArray],
    dims: Sequence[str | None],
    n_out: int,
    *,
    kwargs: Mapping[str, Any] | None = None,
    dtype: Any = np.float64,
) -> xr.DataArray:
    """``fn(*blocks, **kwargs)`` over every spatial block, each input's ``dims[i]`` first and whole.

    Parameters
    ----------
    fn : callable
        Takes one numpy array per input, shaped ``(len(dims[i]), *rest)`` (the reduced axis first, the other
        dimensions in the order of the first input; ``rest`` alone for an input without one), and returns an array
        ``(n_out, *rest)``.
    arrays : sequence of xarray.DataArray
        Inputs with the same other dimensions; dask-backed inputs are chunked in space as the first dask one (the
        reduced axes in one chunk).
    dims : sequence of str or None
        The dimension each input is reduced over (None: an input without one, such as a per-pixel factor; not the
        first).
    n_out : int
        Outputs per pixel.
    kwargs : mapping, optional
        Keyword arguments of ``fn``.
    dtype : numpy dtype, default float64
        Of ``fn``'s result.

    Returns
    -------
    xarray.DataArray
        ``(output, *rest)``, lazy when any input is dask-backed; the coordinates of the first input not on its
        reduced dimension.
    """
    data, rest, coords = _reduce(fn, arrays, dims, n_out, kwargs, dtype, split=False)
    return xr.DataArray(data, dims=("output", *rest), coords=coords)


def reduce_axis_each(
    fn: Callable[..., np.ndarray],
    arrays: Sequence[xr.DataArray],
    dims: Sequence[str | None],
    n_out: int,
    *,
    kwargs: Mapping[str, Any] | None = None,
    dtype: Any = np.float64,
) -> tuple[xr.DataArray, ...]:
    """:func:`reduce_axis`, each output its own array (``out[i]`` of it, without copying the blocks).

    Taking ``out[i]`` of a lazy :func:`reduce_axis` result has dask copy every block of the output (its ``getitem``
    copies a view smaller than its base, so the base can be freed): at 10,000² x 3 periods, 2.7 s of thread time for
    the trend and state outputs. Here each block of ``fn``'s result is split into views, one per output.

    Parameters and outputs as :func:`reduce_axis`, which see; returns ``n_out`` arrays of dimensions ``rest``.
    """
    data, rest, coords = _reduce(fn, arrays, dims, n_out, kwargs, dtype, split=True)
    return tuple(xr.DataArray(d, dims=tuple(rest), coords=coords) for d in data)


def _views(fn: Callable[..., np.ndarray], kwargs: Mapping[str, Any], *pieces: Any) -> tuple[np.ndarray, ...]:
    """One block of :func:`reduce_axis_each`: ``fn``'s outputs as views of its result."""
    return tuple(_block(fn, kwargs, *pieces))


def _reduce(fn: Callable[..., np.ndarray], arrays: Sequence[xr.DataArray], dims: Sequence[str | None], n_out: int,
            kwargs: Mapping[str, Any] | None, dtype: Any, *, split: bool) -> tuple[Any, list[Any], dict[Any, Any]]:
    """The data of :func:`reduce_axis` (one array) or :func:`reduce_axis_each` (a list), its other dims, coords."""
    import dask.array as dsa
    from dask.base import tokenize

    if len(arrays) != len(dims) or not arrays or dims[0] is None:
        raise ValueError("reduce_axis: give one reduced dimension per input (None for none), the first's not None")
    first = arrays[0]
    rest = [d for d in first.dims if d != dims[0]]
    ordered = [a.transpose(*rest) if d is None else a.transpose(d, *rest) for a, d in zip(arrays, dims, strict=True)]
    for a, d in zip(ordered, dims, strict=True):
        if list(a.dims[d is not None:]) != rest or any(a.sizes[r] != first.sizes[r] for r in rest):
            raise ValueError(f"reduce_axis: input dims {a.dims} differ from ({d}, {', '.join(map(str, rest))})")
    coords = {k: v for k, v in first.coords.items() if dims[0] not in v.dims}
    kw = dict(kwargs or {})
    lazy = [a.data for a in ordered if isinstance(a.data, dsa.Array)]
    if not lazy:
        data: Any = fn(*(np.asarray(a.data) for a in ordered), **kw)
        return (list(data) if split else data), rest, coords
    space = lazy[0].chunks[lazy[0].ndim - len(rest):]  # the spatial chunks of the first lazy input
    spatial = _LETTERS[len(ordered):len(ordered) + len(rest)]
    pairs: list[Any] = []
    for i, (a, d) in enumerate(zip(ordered, dims, strict=True)):
        data = a.data if isinstance(a.data, dsa.Array) else dsa.from_array(np.asarray(a.data), chunks=-1)
        chunks = ((-1,) if d is not None else ()) + tuple(space)
        pairs += [data.rechunk(chunks), (_LETTERS[i] if d is not None else "") + spatial]
    datas = pairs[::2]
    name = f"{getattr(fn, '__name__', 'reduce').strip('_')}-{tokenize(fn, *datas, kw, n_out, split)}"
    if not split:
        out = dsa.blockwise(
            functools.partial(_block, fn, kw), "z" + spatial, *pairs,
            new_axes={"z": n_out}, concatenate=False, dtype=dtype, meta=np.empty((0,) * (len(rest) + 1), dtype),
            name=name,
        )
        return out, rest, coords
    # blocks of tuples (never computed as an array), then one array of views per output, as dask's apply_gufunc
    # does for several outputs
    meta = np.empty((0,) * len(rest), dtype)
    views = dsa.blockwise(functools.partial(_views, fn, kw), spatial, *pairs, concatenate=False, dtype=dtype,
                          meta=meta, name=name)
    return [dsa.blockwise(operator.getitem, spatial, views, spatial, k, None, dtype=dtype, meta=meta,
                          name=f"{name}-{k}") for k in range(n_out)], rest, coords


@numba.njit(cache=True, nogil=True)
def _take(table: np.ndarray, keys: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    for i in range(keys.size):
        out[i] = table[keys[i]]


def map_values(block: np.ndarray, rule: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``rule`` applied to every cell of ``block``, evaluated once per distinct value, not per cell.

    ``rule`` maps a 1-D array of values (of the block's dtype) to as many results. For integers of up to 16 bits it
    is evaluated on every value of the type and each cell indexes the resulting table by its unsigned view (one
    pass, no temporary the size of the block: a rule applied to the block itself makes one per step, often in
    int32 or int64); other types (floats, wide integers) get the rule applied to the block itself.

    Parameters
    ----------
    block : numpy.ndarray
        Codes (any shape).
    rule : callable
        ``rule(values) -> results``, vectorised.

    Returns
    -------
    numpy.ndarray
        ``rule``'s results, shaped as ``block``.
    """
    arr = np.asarray(block)
    if arr.dtype.kind in "iu" and arr.dtype.itemsize <= 2:
        udt = np.dtype(f"uint{8 * arr.dtype.itemsize}")
        table = np.ascontiguousarray(rule(np.arange(1 << (8 * arr.dtype.itemsize)).astype(udt).view(arr.dtype)))
        out = np.empty(arr.size, dtype=table.dtype)
        _take(table, np.ascontiguousarray(arr).view(udt).reshape(-1), out)
        return out.reshape(arr.shape)
    return np.asarray(rule(arr.reshape(-1))).reshape(arr.shape)


def _isin_block(block: np.ndarray, values: np.ndarray) -> np.ndarray:
    return map_values(block, functools.partial(np.isin, test_elements=values))


def isin(da: xr.DataArray, values: Iterable[Any]) -> xr.DataArray:
    """``da.isin(values)``, block by block (numpy- or dask-backed alike).

    dask's ``isin`` adds a dimension per block and reduces it with ``any`` (a reduction tree per block, in which
    dask held up to 0.6 GiB of intermediates in a 10,000² pass of the SOC stage); here each block is one call of
    :func:`numpy.isin` through :func:`map_values` (one pass of a table for integer codes up to 16 bits).

    Parameters
    ----------
    da : xarray.DataArray
        Codes.
    values : iterable
        The values looked for.

    Returns
    -------
    xarray.DataArray
        bool, same shape and backing as ``da``.
    """
    out: xr.DataArray = xr.apply_ufunc(_isin_block, da, kwargs={"values": np.asarray(list(values))},
                                       dask="parallelized", output_dtypes=[np.bool_])
    return out


def _inside_block(block: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = np.asarray(mask)
    if m.all():
        return block  # every cell inside: the block itself, not a copy
    if not m.any():
        return np.full(np.broadcast_shapes(block.shape, m.shape), np.nan, block.dtype)  # written, nothing read
    return np.where(m, block, np.nan).astype(block.dtype, copy=False)


def where_inside(da: xr.DataArray, mask: xr.DataArray) -> xr.DataArray:
    """``da.where(mask)`` for floating-point data: a block wholly inside the mask is handed back as it is, one wholly
    outside is filled with NaN without being read.

    ``where`` reads and copies every block; a country's grid has most of its blocks wholly inside or wholly outside
    its area of interest (in ``benchmarks/bench_country.py``, 45 % and 38 % of the 512² blocks), and the masked
    array here is a vegetation index series of 24 years. Other dtypes, which ``where`` promotes to a float type,
    go through ``where`` itself.

    Parameters
    ----------
    da : xarray.DataArray
        Values, any dimensions including the mask's.
    mask : xarray.DataArray of bool
        On ``da``'s grid (its dimensions a subset of ``da``'s).

    Returns
    -------
    xarray.DataArray
        ``da`` with NaN outside the mask: same dtype, dimensions, coordinates and attributes as ``da.where(mask)``.
    """
    if da.dtype.kind != "f":
        return da.where(mask)
    out: xr.DataArray = xr.apply_ufunc(_inside_block, da, mask, dask="parallelized", output_dtypes=[da.dtype],
                                       keep_attrs=True)
    return out.transpose(*da.dims)


def cellwise(kernel: Callable[..., None], arrays: Sequence[np.ndarray | None], *params: Any, dtype: Any
             ) -> np.ndarray:
    """``kernel(*cells, *params, out)`` on the cells of blocks: a per-cell rule over several layers in one pass.

    ``arrays`` are broadcast together and handed to the kernel as contiguous 1-D arrays (None: an empty array, for an
    optional input the kernel tests by its size); ``out`` is the 1-D result in ``dtype``, returned in the blocks'
    shape.

    Parameters
    ----------
    kernel : callable
        A numba function ``kernel(*cells, *params, out)``.
    arrays : sequence of numpy.ndarray or None
        The blocks, in the kernel's order.
    *params
        Passed after the cells.
    dtype : numpy dtype
        Of the result.

    Returns
    -------
    numpy.ndarray
        The blocks' broadcast shape.
    """
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays if a is not None))
    cells = [np.zeros(0) if a is None else np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1) for a in arrays]
    out = np.empty(shape, dtype)
    kernel(*cells, *params, out.reshape(-1))
    return out
