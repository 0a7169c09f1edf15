"""Checkpoints: layers materialised to Zarr and stage completion recorded, so a killed run resumes."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
import shutil
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import xarray as xr

from openldn.io import atomic_path
from openldn.pipeline.chunk_files import ChunkFiles

if TYPE_CHECKING:
    from openldn.zonal import TablePass

__all__ = ["Checkpoint"]


def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "__", key)


class Checkpoint:
    """A run's checkpoint folder: ``<out>/.openldn/``.

    * ``state.json``: the run fingerprint and the stages completed, with the layers and tables they produced;
    * ``layers/<key>.zarr``: every layer shared between stages, written once (streamed chunk by chunk);
    * ``tables/<key>.pkl``: the tidy tables of completed stages.
    """

    def __init__(self, out_dir: Path, fingerprint: str) -> None:
        self.root = out_dir / ".openldn"
        self.fingerprint = fingerprint
        self.state_path = self.root / "state.json"
        self.state: dict[str, Any] = {"fingerprint": fingerprint, "stages": {}, "finished": False}

    # -- state ----------------------------------------------------------------------------------------------
    def load(self) -> bool:
        """Load an earlier state with the same fingerprint; False (and a fresh state) otherwise."""
        if not self.state_path.is_file():
            return False
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, json.JSONDecodeError):
            return False
        if state.get("fingerprint") != self.fingerprint:
            return False
        self.state = state
        return True

    def reset(self) -> None:
        """Forget everything checkpointed."""
        if self.root.exists():
            shutil.rmtree(self.root)
        self.state = {"fingerprint": self.fingerprint, "stages": {}, "finished": False}

    def save(self) -> None:
        """Write the state atomically."""
        with atomic_path(self.state_path) as tmp:
            tmp.write_text(json.dumps(self.state, indent=1, default=str))

    def stage_done(self, name: str) -> bool:
        """Whether ``name`` completed in an earlier attempt."""
        return bool(self.state["stages"].get(name, {}).get("done"))

    def mark_done(self, name: str, *, layers: list[str], tables: list[str], outputs: list[dict[str, Any]],
                  provenance: dict[str, Any] | None = None, substitutions: list[str] | None = None) -> None:
        """Record a completed stage, with the provenance entries and substitution notes it added."""
        self.state["stages"][name] = {"done": True, "layers": layers, "tables": tables, "outputs": outputs,
                                      "provenance": provenance or {}, "substitutions": substitutions or []}
        self.save()

    # -- layers ---------------------------------------------------------------------------------------------
    def layer_path(self, key: str) -> Path:
        """Zarr store of a layer."""
        return self.root / "layers" / f"{_safe(key)}.zarr"

    def has_layer(self, key: str) -> bool:
        """Whether a layer is complete on disk."""
        return (self.layer_path(key) / ".complete").is_file()

    def write_layer(self, key: str, da: xr.DataArray) -> xr.DataArray:
        """Materialise ``da`` into its Zarr store (streamed) and return it re-opened lazily from there."""
        return self.write_layers({key: da})[key]

    def write_layers(self, layers: dict[str, xr.DataArray], tables: TablePass | None = None
                     ) -> dict[str, xr.DataArray]:
        """Materialise several layers in one computation and return them re-opened lazily from their stores.

        One dask graph computes them all, so the work they share (reading an input tile, a common intermediate) is
        done once per tile, not once per layer; each store is streamed chunk by chunk and renamed into place only
        when every layer is written. The pieces of ``tables`` (planned on these layers) are summed in the same
        pass, chunk by chunk; the tables are complete when this returns.
        """
        import dask.array

        todo = {key: da for key, da in layers.items() if not self.has_layer(key)}
        tmps: dict[str, Path] = {}
        sources: list[Any] = []
        targets: list[Any] = []
        rows: list[int] = []  # the row axis of each source
        guard = _StoreGuard()
        try:
            for key, da in todo.items():
                path = self.layer_path(key)
                path.parent.mkdir(parents=True, exist_ok=True)
                tmps[key] = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
                ds, pad = _padded(_to_dataset(da))
                # metadata, coordinates and in-memory data now; the lazy data below, all layers in one store call
                ds.to_zarr(tmps[key], mode="w", consolidated=True, zarr_format=2, compute=False,
                           encoding={"data": {"compressors": _compressor(ds["data"].dtype)}})
                if isinstance(da.data, dask.array.Array):
                    sources.append(da.data)
                    rows.append(da.dims.index("y") if "y" in da.dims else da.ndim - 2)
                    targets.append(_GuardedTarget(ChunkFiles(tmps[key] / "data"), guard, pad))
            results = _store_by_rows(sources, targets, rows, tables) if sources or tables is not None else {}
        except BaseException:
            guard.stop_and_wait()  # chunks still being written by other threads: refused or finished first
            for tmp in tmps.values():
                shutil.rmtree(tmp, ignore_errors=True)
            raise
        for key, tmp in tmps.items():
            path = self.layer_path(key)
            if path.exists():
                shutil.rmtree(path)
            os.replace(tmp, path)
            (path / ".complete").write_text("ok")
        if tables is not None:
            tables.finish(results)
        return {key: self.read_layer(key, chunks=da.chunks) for key, da in layers.items()}

    def read_layer(self, key: str, chunks: Any = None) -> xr.DataArray:
        """Open a materialised layer lazily."""
        path = self.layer_path(key)
        ds = xr.open_zarr(path, consolidated=True, mask_and_scale=False, chunks=None)
        da = ds["data"].copy(data=ChunkFiles(path / "data").to_dask())  # zarr-python's chunk reads cost 2 ms more
        pad = json.loads(ds.attrs.get("openldn_pad", "{}"))  # a chunk grid shifted onto the inputs' tiles
        if pad:
            da = da.isel({f"{d}{_PADDED}": slice(p, None) for d, p in pad.items()})
            da = da.rename({f"{d}{_PADDED}": d for d in pad}).assign_coords({d: ds[d] for d in pad})
        attrs = json.loads(ds.attrs.get("openldn_attrs", "{}"))
        da.attrs.update(attrs)
        if "spatial_ref" in ds.coords:
            da = da.assign_coords(spatial_ref=ds["spatial_ref"])
        if chunks is not None and da.chunks != chunks:
            da = da.chunk(dict(zip(da.dims, chunks, strict=False)))
        da.name = key
        return da

    # -- tables ---------------------------------------------------------------------------------------------
    def write_table(self, key: str, df: pd.DataFrame) -> None:
        """Store a stage's table."""
        with atomic_path(self.root / "tables" / f"{_safe(key)}.pkl") as tmp:
            df.to_pickle(tmp)

    def read_table(self, key: str) -> pd.DataFrame:
        """A stored table."""
        return pd.read_pickle(self.root / "tables" / f"{_safe(key)}.pkl")


#: Cells (over every layer) of one compute of :func:`_store_by_rows`, per worker thread (2**24 before: the SOC
#: degradation pass of a 10,000² run peaked at 1.00 GiB, 0.92 GiB with 2**23, in the same time).
STORE_BAND_CELLS = 1 << 23


def _store_by_rows(sources: list[Any], targets: list[Any], rows: list[int], also: TablePass | None = None
                   ) -> dict[Any, Any]:
    """Store the sources' chunks into the targets in bands of chunks in row-major order, one compute per band; with
    ``also``, its tables' pieces in the bands of the chunks they start at. Returns the pieces' results by key.

    One optimised graph for every layer, so what they share (an input tile, a common intermediate) is computed once
    per tile, not once per layer (separate ``to_zarr`` writes are optimised one by one, and their fused reads run
    once each). Computed whole, dask ordered the work layer by layer and held a block shared by several layers
    (a SOC stock read by two periods, a change ratio both classified and mapped) from the first layer to the last:
    at 10,000² the SOC pass held up to 0.6 GiB of such blocks. Computed band by band, in row-major order, what a
    band holds is bounded by the band, whatever the grid; a block a band shares with the next (an input tile under
    two chunks) is computed again there.
    """
    import dask
    import dask.array
    from dask.core import flatten
    from dask.highlevelgraph import HighLevelGraph
    from dask.utils import ensure_dict

    from openldn.core.workers import fuse_chains, optimize_together, run_graph, worker_threads

    stored = dask.array.store(sources, targets, lock=False, compute=False) if sources else ()
    stored = stored if isinstance(stored, tuple) else (stored,)
    extra = also.arrays if also is not None else []
    # without low-level fusion: it fused a block shared by several layers (a series and the years taken from it)
    # into each of them, computing it once per layer
    with dask.config.set({"optimization.fuse.active": False}):
        optimised = optimize_together([*stored, *extra])
    arrays = optimised[: len(stored)]
    pieces = also.pieces(optimised[len(stored) :]) if also is not None else []
    graph = ensure_dict(HighLevelGraph.merge(*[a.__dask_graph__() for a in arrays],
                                             *[t.__dask_graph__() for _, t in pieces]))
    tasks: list[tuple[tuple[int, int], int, Any]] = []  # ((first row, first column), cells, key) of every chunk
    for a, ax in zip(arrays, rows, strict=True):
        row0 = list(itertools.accumulate(a.chunks[ax], initial=0))
        col0 = list(itertools.accumulate(a.chunks[ax + 1], initial=0))
        for k in flatten(a.__dask_keys__()):
            tasks.append(((row0[k[1 + ax]], col0[k[2 + ax]]),
                          math.prod(c[i] for c, i in zip(a.chunks, k[1:], strict=True)), k))
    # a table's piece is summed with the chunk it starts at, while the chunk's layers are in memory (its cells are
    # those of the chunk: not counted again)
    tasks += [(corner, 0, t.key) for corner, t in pieces]
    graph = fuse_chains(graph, [t[2] for t in tasks])
    tasks.sort(key=lambda t: t[0])  # row-major, the layers of a chunk together (stable: its pieces after them)
    budget = STORE_BAND_CELLS * worker_threads()
    wanted = {t.key for _, t in pieces}
    results: dict[Any, Any] = {}
    band: list[Any] = []
    size = 0
    for i, (corner, n, key) in enumerate(tasks):
        band.append(key)
        size += n
        # a band ends with a chunk of every layer: the next task starts another chunk (a band is not a whole row of
        # chunks: at 10,000², one row of chunks of the SOC degradation pass held twice the budget)
        if i + 1 == len(tasks) or (size >= budget and tasks[i + 1][0] != corner):
            results.update((k, v) for k, v in zip(band, run_graph(graph, band), strict=True) if k in wanted)
            band, size = [], 0
    return results


class _StoreGuard:
    """Chunk writes in flight of one store call, so that a failed call removes its folders only after them.

    The threaded scheduler raises the first error while other threads are still computing and writing chunks; a
    write that ends after the clean-up would leave a partial store behind. Pickled (a cluster), each worker gets a
    fresh guard: a failed cluster run is cleaned up with the whole run's staging area.
    """

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.active = 0
        self.stopped = False

    def __reduce__(self) -> tuple[Any, ...]:
        return (_StoreGuard, ())

    def stop_and_wait(self, timeout: float = 120.0) -> None:
        with self.cond:
            self.stopped = True
            self.cond.wait_for(lambda: self.active == 0, timeout)


class _GuardedTarget:
    """A layer's chunk files, written only while its store call has not failed (see :class:`_StoreGuard`)."""

    def __init__(self, array: ChunkFiles, guard: _StoreGuard, pad: tuple[int, ...] = ()) -> None:
        self.array = array
        self.guard = guard
        self.pad = pad or (0,) * array.ndim  # leading cells of the stored array before the layer's first
        self.shape = tuple(n - p for n, p in zip(array.shape, self.pad, strict=True))
        self.dtype = array.dtype

    def __setitem__(self, key: Any, value: Any) -> None:
        g = self.guard
        with g.cond:
            if g.stopped:
                return
            g.active += 1
        try:
            if any(self.pad):
                key = tuple(slice((k.start or 0) + p, None if k.stop is None else k.stop + p)
                            for k, p in zip(key, self.pad, strict=True))
            self.array[key] = value
        finally:
            with g.cond:
                g.active -= 1
                g.cond.notify_all()


#: Suffix of a stored layer's dimension that starts with padding (see :func:`_padded`).
_PADDED = "_padded"


def _padded(ds: xr.Dataset) -> tuple[xr.Dataset, tuple[int, ...]]:
    """The dataset to store, with ``data`` padded in front where its first chunk is shorter than the others.

    A run's chunk grid is shifted onto its inputs' tiles (``RunContext.chunk_offset``), so its first chunk is
    short. Zarr chunks are all alike, so the stored array starts with that many empty cells and every chunk of
    the layer is exactly one Zarr chunk (written by one task, read whole); :meth:`Checkpoint.read_layer` cuts the
    padding off. Returns the dataset (its ``data`` lazy and empty: only the metadata is written from it) and
    the padding per dimension of ``data``.
    """
    import dask.array

    data = ds["data"]
    if not isinstance(data.data, dask.array.Array):
        return ds, ()
    blocks = data.data.chunks
    pad = [c[1] - c[0] if len(c) > 1 and c[0] < c[1] else 0 for c in blocks]
    if not any(pad):
        return ds, ()
    dims = tuple(f"{d}{_PADDED}" if p else d for d, p in zip(data.dims, pad, strict=True))
    shape = tuple(n + p for n, p in zip(data.shape, pad, strict=True))
    chunks = tuple(c[1] if p else c[0] for c, p in zip(blocks, pad, strict=True))
    empty = dask.array.empty(shape, chunks=chunks, dtype=data.dtype)
    out = ds.drop_vars("data").assign(data=xr.Variable(dims, empty))
    out.attrs["openldn_pad"] = json.dumps({d: p for d, p in zip(data.dims, pad, strict=True) if p})
    return out, tuple(pad)


def _compressor(dtype: Any) -> Any:
    """The Blosc codec of a stored layer: LZ4 (zarr-python's default), byte-shuffled for floats only.

    Class codes and counts are mostly runs of a few values, which LZ4 finds as well unshuffled: a 24-year int16
    land cover chunk (24, 512, 512) compressed to the same 2.6 % and was encoded in 1.02 ms instead of 1.83 ms and
    decoded in 0.65 ms instead of 1.44 ms (a 10,000² run reads such chunks thousands of times). Float layers
    compress to a third less with the shuffle (a SOC stock chunk 27 % against 35 %), and encode three times faster.
    """
    from numcodecs import Blosc

    shuffle = Blosc.SHUFFLE if dtype.kind == "f" else Blosc.NOSHUFFLE
    return Blosc(cname="lz4", clevel=5, shuffle=shuffle)


def _to_dataset(da: xr.DataArray) -> xr.Dataset:
    """Dataset with JSON-safe attributes (legends and arrays are stored as JSON text)."""
    clean = da.copy(deep=False)
    attrs = {}
    for k, v in da.attrs.items():
        try:
            json.dumps(v)
            attrs[k] = v
        except TypeError:
            attrs[k] = v.tolist() if hasattr(v, "tolist") else str(v)
    clean.attrs = {}
    clean.encoding = {}
    clean.name = "data"
    ds = clean.to_dataset()
    ds.attrs["openldn_attrs"] = json.dumps(attrs)
    for c in ds.coords:
        ds[c].encoding = {}
    return ds


def fingerprint(payload: dict[str, Any]) -> str:
    """Stable hash of a run's configuration and inputs."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]
