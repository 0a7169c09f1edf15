"""The chunk files of a checkpoint layer's Zarr array, read and written a whole chunk at a time.

zarr-python creates the checkpoint's arrays (metadata, coordinates) and is how anyone else opens them. Their
chunks, though, are only ever written and read whole, one chunk per task, and zarr-python 3 takes each one through
its event loop and thread pool: about 2 ms a chunk on top of the codec's own work (at 10,000², 12,500 chunk reads
and 4,500 writes per run). :class:`ChunkFiles` calls the array's codec (numcodecs, the library zarr-python uses)
on the chunk files itself, in the layout of the Zarr v2 storage specification
(https://zarr-specs.readthedocs.io/en/latest/v2/v2.0.html): one file per chunk, named by its indices joined with
the array's dimension separator; a chunk at the array's far edge is stored whole, its cells beyond the edge set to
the fill value; a chunk that is all fill value is not stored, and reads as the fill value.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ChunkFiles"]


def _fill_value(raw: Any, dtype: np.dtype[Any]) -> Any:
    """A Zarr v2 ``fill_value`` as a value of ``dtype`` (``null`` reads as zero, as zarr-python reads it)."""
    if raw is None:
        return dtype.type(0)
    if isinstance(raw, str):  # the specification's names of the special floats
        return dtype.type({"NaN": np.nan, "Infinity": np.inf, "-Infinity": -np.inf}[raw])
    return dtype.type(raw)


class ChunkFiles:
    """One Zarr v2 array's chunks, read and written whole with the array's own codec.

    Parameters
    ----------
    path
        The array's folder (it holds ``.zarray``): C order, no filters, as the checkpoint writes them.
    """

    def __init__(self, path: Path) -> None:
        meta = json.loads((path / ".zarray").read_text())
        if meta.get("zarr_format") != 2 or meta.get("order", "C") != "C" or meta.get("filters"):
            raise ValueError(f"{path}: not a Zarr v2 array in C order without filters")
        self.path = path
        self.shape: tuple[int, ...] = tuple(meta["shape"])
        self.chunks: tuple[int, ...] = tuple(meta["chunks"])
        self.dtype = np.dtype(meta["dtype"])
        self.ndim = len(self.shape)
        self.fill = _fill_value(meta["fill_value"], self.dtype)
        self._sep = str(meta.get("dimension_separator", "."))
        self._compressor = meta["compressor"]
        self._codec: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_codec": None}  # a worker makes its own

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        return (str(self.path), os.stat(self.path / ".zarray").st_mtime_ns)

    @property
    def codec(self) -> Any:
        """The array's compressor (numcodecs), or None."""
        if self._codec is None and self._compressor is not None:
            import numcodecs

            self._codec = numcodecs.get_codec(dict(self._compressor))
        return self._codec

    def _file(self, index: tuple[int, ...]) -> Path:
        return self.path / self._sep.join(map(str, index))

    def read_chunk(self, index: tuple[int, ...]) -> np.ndarray:
        """The chunk at ``index`` (chunk numbers along each axis), cut at the array's edge."""
        out = np.empty(self.chunks, self.dtype)
        try:
            raw = self._file(index).read_bytes()
        except FileNotFoundError:
            out.fill(self.fill)
        else:
            if self.codec is None:
                out.ravel()[:] = np.frombuffer(raw, self.dtype)
            else:
                self.codec.decode(raw, out=out)
        cut = tuple(slice(0, min(c, n - i * c)) for i, c, n in zip(index, self.chunks, self.shape, strict=True))
        part = out[cut]
        return part if part.shape == out.shape else np.ascontiguousarray(part)

    def write_chunk(self, index: tuple[int, ...], block: np.ndarray, start: tuple[int, ...] | None = None) -> None:
        """Store the chunk at ``index``: ``block`` from cell ``start`` of the chunk (its first cell by default) to
        its end or the array's edge; the cells before ``start`` hold the fill value."""
        block = np.asarray(block, dtype=self.dtype)
        if block.shape != self.chunks:
            full = np.full(self.chunks, self.fill, self.dtype)
            full[tuple(slice(a, a + s) for a, s in zip(start or (0,) * self.ndim, block.shape, strict=True))] = block
            block = full
        path = self._file(index)
        if _all_fill(block, self.fill):
            path.unlink(missing_ok=True)
            return
        block = np.ascontiguousarray(block)  # an array, not bytes: Blosc's shuffle works on its item size
        path.write_bytes(block.tobytes() if self.codec is None else self.codec.encode(block))

    def __setitem__(self, key: tuple[slice, ...], value: np.ndarray) -> None:
        """Write one chunk, given as the region it covers (how :func:`dask.array.store` writes): the region runs to
        the chunk's end or the array's edge, and may start inside the chunk (a layer's padding is in front)."""
        index, start = [], []
        for k, c, n in zip(key, self.chunks, self.shape, strict=True):
            a = k.start or 0
            b = n if k.stop is None else k.stop
            if b != min((a // c + 1) * c, n) or k.step not in (None, 1) or b <= a:
                raise ValueError(f"{self.path}: region {key} does not end one chunk of {self.chunks}")
            index.append(a // c)
            start.append(a % c)
        self.write_chunk(tuple(index), value, tuple(start))

    def __getitem__(self, key: Any) -> np.ndarray:
        """The cells of ``key``: integers and slices of step 1 (what :func:`dask.array.from_array` asks for)."""
        key = key if isinstance(key, tuple) else (key,)
        if any(k is Ellipsis for k in key):
            i = key.index(Ellipsis)
            key = key[:i] + (slice(None),) * (self.ndim - len(key) + 1) + key[i + 1:]
        key = key + (slice(None),) * (self.ndim - len(key))
        spans: list[tuple[int, int]] = []
        squeeze: list[int] = []
        for axis, (k, n) in enumerate(zip(key, self.shape, strict=True)):
            if isinstance(k, (int, np.integer)):
                i = int(k) + n if k < 0 else int(k)
                spans.append((i, i + 1))
                squeeze.append(axis)
            elif isinstance(k, slice) and k.step in (None, 1):
                start, stop, _ = k.indices(n)
                spans.append((start, max(start, stop)))
            else:
                raise TypeError(f"{self.path}: unsupported selection {key!r}")
        firsts = [range(a // c, (b - 1) // c + 1) for (a, b), c in zip(spans, self.chunks, strict=True)]
        if all(len(r) == 1 for r in firsts):  # within one chunk: a task's whole chunk, or part of it
            idx = tuple(r[0] for r in firsts)
            chunk = self.read_chunk(idx)
            within = zip(spans, self.chunks, idx, strict=True)
            part = chunk[tuple(slice(a - i * c, b - i * c) for (a, b), c, i in within)]
            out = part if part.shape == chunk.shape else part.copy()  # a part does not hold its whole chunk
        else:
            out = np.empty([b - a for a, b in spans], self.dtype)
            for index in np.ndindex(*[len(r) for r in firsts]):
                idx = tuple(r[i] for r, i in zip(firsts, index, strict=True))
                src, dst = [], []
                for (a, b), c, i in zip(spans, self.chunks, idx, strict=True):
                    lo, hi = max(a, i * c), min(b, (i + 1) * c)
                    src.append(slice(lo - i * c, hi - i * c))
                    dst.append(slice(lo - a, hi - a))
                out[tuple(dst)] = self.read_chunk(idx)[tuple(src)]
        return out.reshape([s for a, s in enumerate(out.shape) if a not in squeeze]) if squeeze else out

    def to_dask(self) -> Any:
        """The array, lazily, one task per chunk."""
        import dask.array
        from dask.base import tokenize

        return dask.array.from_array(self, chunks=self.chunks, name=f"chunk-files-{tokenize(self)}", lock=False,
                                     asarray=False, fancy=False, meta=np.empty((0,) * self.ndim, self.dtype))


def _all_fill(block: np.ndarray, fill: Any) -> bool:
    """Whether every cell of ``block`` is ``fill`` (NaN equal to NaN); the first cell decides most chunks."""
    first = block.flat[0]
    if fill != fill:  # NaN
        return bool(first != first) and bool(np.isnan(block).all())
    return bool(first == fill) and not bool((block != fill).any())
