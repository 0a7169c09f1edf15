"""The run context handed to every stage (see docs/design/architecture.md, "Stage contract")."""

from __future__ import annotations

import collections
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from openldn.core.blocks import plane_chunks
from openldn.core.codes import NODATA
from openldn.core.stage import Stage
from openldn.core.workers import active_client
from openldn.exceptions import ConfigError, OpenLDNError
from openldn.pipeline.engine import LAYER_CHUNK_BYTES, axis_chunks, plane_blocks, release_memory
from openldn.registry import input_kinds

if TYPE_CHECKING:
    from odc.geo.geobox import GeoBox

    from openldn.config import Assessment
    from openldn.core.vocab import Legend
    from openldn.pipeline.checkpoint import Checkpoint
    from openldn.pipeline.ledger import AreaLedger
    from openldn.zonal import PendingTable

__all__ = ["Cancelled", "RunContext"]

log = logging.getLogger("openldn")

ProgressFn = Callable[[str, int, int, str], Any]


class Cancelled(OpenLDNError, RuntimeError):
    """The run was cancelled by the user."""


class _Layers(MutableMapping[str, xr.DataArray]):
    """Layers shared between stages; every assignment is materialised once to the checkpoint store."""

    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx
        self._data: dict[str, xr.DataArray] = {}

    def __getitem__(self, key: str) -> xr.DataArray:
        return self._data[key]

    def __setitem__(self, key: str, value: xr.DataArray) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        del self._data[key]

    def update(self, layers: Mapping[str, xr.DataArray], /) -> None:  # type: ignore[override]
        """Assign several layers, materialised together in one pass over the grid (``RunContext.materialize_many``)."""
        for key in layers:
            self._ctx.check_key(key, table=False)
        self._data.update(self._ctx.materialize_many(dict(layers)))

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def restore(self, key: str, value: xr.DataArray) -> None:
        """Put an already materialised layer back (resume)."""
        self._data[key] = value


@dataclass
class RunContext:
    """Everything a stage needs: the assessment, the grid, the coverage, inputs, and output sinks."""

    assessment: Assessment
    out_dir: Path
    geobox: GeoBox
    area: xr.DataArray
    coverage: Any
    checkpoint: Checkpoint
    chunk_size: int
    inputs_raw: dict[str, xr.DataArray] = field(default_factory=dict)
    #: Rows and columns (y, x) by which the chunk grid is shifted so that its edges fall on the largest input's
    #: tiles (``chunk_offset`` in :mod:`openldn.pipeline.engine`): the first chunk is ``chunk_size - offset``.
    chunk_offset: tuple[int, int] = (0, 0)
    progress_fn: ProgressFn | None = None
    cancel_fn: Callable[[], bool] | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    substitutions: list[str] = field(default_factory=list)
    stage: str = ""
    log: logging.Logger = log
    #: The declaration of the running stage (keys it may produce); None outside a stage.
    current: Stage | None = None
    #: ``--strict``: warnings (input checks, a failed consistency certificate) stop the run.
    strict: bool = False
    ledger: AreaLedger | None = None  # the area ledger (openldn.pipeline.ledger), set after land cover

    def __post_init__(self) -> None:
        self.layers = _Layers(self)
        self._aligned: dict[str, xr.DataArray] = {}
        self._materialized: dict[str, tuple[int, xr.DataArray]] = {}
        self._stage_layers: list[str] = []
        self._stage_tables: list[str] = []
        self._stage_outputs: list[dict[str, Any]] = []
        self._writes = _BackgroundWrites()
        self._aoi_masks: dict[Any, xr.DataArray] = {}  # the AOI mask on each chunk grid of the maps written

    # -- inputs ---------------------------------------------------------------------------------------------
    def has_input(self, name: str) -> bool:
        """Whether the assessment declares input ``name``."""
        return name in self.assessment.inputs

    def input(self, name: str) -> xr.DataArray:
        """Input ``name`` aligned lazily onto the analysis grid (chunked in space, whole in time)."""
        if name not in self._aligned:
            if not self.has_input(name):
                raise ConfigError(
                    f"{self.assessment.source}: input {name!r} is needed by stage {self.stage!r}; "
                    f"add it under 'inputs:' in the run file."
                )
            from openldn.io import align

            da = align(self.inputs_raw[name], self.geobox, kind=input_kinds()[name])
            # one set of grid coordinates for inputs and layers alike (the analysis grid's), whatever the source
            self._aligned[name] = self.rechunk(self.on_grid(da))
        return self._aligned[name]

    def on_grid(self, da: xr.DataArray) -> xr.DataArray:
        """``da`` with the analysis grid's coordinates, CRS and transform (shapes must match the grid)."""
        from openldn.io import attach_grid

        if da.sizes.get("y") == self.geobox.shape[0] and da.sizes.get("x") == self.geobox.shape[1]:
            return attach_grid(da, self.geobox)
        return da

    def mask_outside_aoi(self, da: xr.DataArray) -> xr.DataArray:
        """``da`` with cells that do not touch the area of interest set to nodata (as written to maps)."""
        chunks = plane_chunks(da)
        if chunks not in self._aoi_masks:  # one block per chunk of the maps it masks (from that window's runs)
            self._aoi_masks[chunks] = self.coverage.aoi_mask(chunks)
        mask = self._aoi_masks[chunks]
        if np.issubdtype(da.dtype, np.integer):
            fill = da.attrs.get("_FillValue", da.encoding.get("_FillValue", NODATA))
            fill = NODATA if fill is None else fill
            out = da.where(mask, fill).astype(da.dtype)
        else:
            out = da.where(mask)
        out.attrs = dict(da.attrs)
        return out.rio.write_crs(da.rio.crs) if da.rio.crs is not None else out

    def rechunk(self, da: xr.DataArray, size: int | None = None) -> xr.DataArray:
        """Chunk ``da`` the run's way: spatial blocks of ``chunk_size`` (or ``size``; edges on the inputs' tiles, see
        :attr:`chunk_offset`), the whole time axis in one chunk."""
        chunks: dict[str, int | tuple[int, ...]] = dict.fromkeys(da.dims, -1)
        for dim, offset in zip(("y", "x"), self.chunk_offset, strict=True):
            if dim in da.dims:
                chunks[dim] = axis_chunks(da.sizes[dim], size or self.chunk_size, offset)
        return da.chunk(chunks)

    def layer_chunks(self, da: xr.DataArray) -> xr.DataArray:
        """Chunk a stored layer in blocks of run chunks (:func:`plane_blocks`; on the run chunks' edges, so each is a
        whole number of them): a map, and a series whose block at that size holds at most
        :data:`LAYER_CHUNK_BYTES` (a few years of stocks or classes); a longer series as :meth:`rechunk`.

        The passes that read only stored layers then run at the larger chunk too (dask keeps its inputs' chunks):
        a series of stocks or classes stored at the run chunk made every map computed from it run at the run chunk,
        its stored maps split in four on reading (the SOC degradation pass at 10,000²: 14.3 s and 0.65 GiB at 512²,
        7.2 s and 0.53 GiB at 1,024²).
        """
        if "y" not in da.dims or "x" not in da.dims:
            return self.rechunk(da)
        edge = self.chunk_size * plane_blocks(da.sizes["y"], da.sizes["x"], self.chunk_size, self.chunk_offset)
        depth = int(np.prod([n for d, n in da.sizes.items() if d not in ("y", "x")], dtype=np.int64))
        if depth * da.dtype.itemsize * edge * edge > LAYER_CHUNK_BYTES:
            return self.rechunk(da)
        return self.rechunk(da, edge)

    # -- layers and outputs ---------------------------------------------------------------------------------
    def materialize(self, key: str, da: xr.DataArray) -> xr.DataArray:
        """Compute ``da`` once into the checkpoint store and return the stored, lazily read array."""
        return self.materialize_many({key: da})[key]

    def as_stored(self, da: xr.DataArray) -> xr.DataArray:
        """``da`` as :meth:`materialize_many` stores it (grid coordinates, :meth:`layer_chunks`): the tables of a
        pass are planned on it, so that their pieces are the chunks the pass computes."""
        return self.layer_chunks(self.on_grid(da))

    def materialize_many(self, arrays: dict[str, xr.DataArray], tables: Sequence[PendingTable] = ()
                         ) -> dict[str, xr.DataArray]:
        """Compute several layers in one pass over the grid into the checkpoint store; the stored arrays, lazily read.

        What the layers share is computed once per tile: e.g. the productivity sub-indicators of every period read
        the vegetation index once, not once per sub-indicator and period. The class and cross-tab area ``tables``
        planned on the layers :meth:`as_stored` are summed in the same pass, each chunk while its layers are in
        memory, rather than in a pass that reads them back (:class:`openldn.zonal.TablePass`); they are computed
        when this returns (``compute_tables`` only collects them).
        """
        out: dict[str, xr.DataArray] = {}
        todo: dict[str, xr.DataArray] = {}
        given: dict[str, int] = {}
        for key, da in arrays.items():
            cached = self._materialized.get(key)
            if cached is not None and (cached[0] == id(da) or cached[1] is da):
                out[key] = cached[1]
                continue
            given[key] = id(da)  # cache by the caller's object: write_raster(key, da) after layers[key] = da
            # maps and short series are stored in larger chunks: the passes over them are light, and the per-chunk
            # costs of dask and of the store weigh more than the work
            todo[key] = self.as_stored(da)
        if todo or tables:
            from openldn.zonal import TablePass

            self.check_cancel()
            self.progress(self.stage, 0, 1, "computing " + ", ".join(todo or ["tables"]))
            release_memory()  # what earlier passes and tables freed, before this pass allocates
            written = self.checkpoint.write_layers(todo, TablePass(tables) if tables else None)
            release_memory()
            for key, stored in written.items():
                stored = self.on_grid(stored)
                self._materialized[key] = (given[key], stored)
                if key not in self._stage_layers:
                    self._stage_layers.append(key)
                out[key] = stored
        return {key: out[key] for key in arrays}

    def write_raster(
        self, key: str, da: xr.DataArray, *, legend: Legend | dict[int, Any] | None = None,
        title: str | None = None, units: str | None = None,
    ) -> Path:
        """Write ``da`` as a COG under ``out_dir/maps`` (atomically) and record it in the outputs manifest."""
        self.check_key(key, table=False)
        stored = self.materialize(key, da)
        if not self.assessment.outputs.maps:
            return self.checkpoint.layer_path(key)
        path = self.out_dir / "maps" / f"{_file_name(key)}.tif"
        path.parent.mkdir(parents=True, exist_ok=True)
        # scalar metadata (productivity windows, LUT, units, periods...) travel with the file as GeoTIFF tags
        tags = {k: v for k, v in stored.attrs.items()
                if isinstance(v, str | int | float) and not k.startswith("_") and k not in ("grid_mapping",)}
        tags.update({"openldn_key": key, "title": title or key, "openldn_version": openldn_version()})
        # written while the next layers compute: by a worker on a cluster (read from the checkpoint store there,
        # never gathered through the client), by a background thread otherwise; the stage waits for its files
        self._writes.submit(self.mask_outside_aoi(stored), path, legend if _is_legend(legend) else None, tags)
        record = {
            "key": key,
            "path": str(path.relative_to(self.out_dir)),
            "title": title or key,
            "kind": "categorical" if legend is not None else "continuous",
            "legend": _legend_record(legend),
            "units": units or stored.attrs.get("units"),
            "stage": self.stage,
        }
        self.outputs = [o for o in self.outputs if o["key"] != key] + [record]
        self._stage_outputs = [o for o in self._stage_outputs if o["key"] != key] + [record]
        return path

    def add_table(self, key: str, df: pd.DataFrame) -> None:
        """Register a tidy table (appended to an existing table with the same key)."""
        self.check_key(key, table=True)
        if key in self.tables and key not in self._stage_tables:
            self.tables[key] = df
        elif key in self.tables:
            self.tables[key] = pd.concat([self.tables[key], df], ignore_index=True)
        else:
            self.tables[key] = df.reset_index(drop=True)
        if key not in self._stage_tables:
            self._stage_tables.append(key)

    def substitute(self, message: str) -> None:
        """Record a substitution (e.g. land cover 2022 used for 2023), reported with check C5."""
        self.substitutions.append(message)
        self.log.warning(message)

    # -- progress -------------------------------------------------------------------------------------------
    def progress(self, stage: str, done: int, total: int, message: str = "") -> None:
        """Report progress to the CLI / web."""
        if self.progress_fn is not None:
            self.progress_fn(stage, done, total, message)

    def check_cancel(self) -> None:
        """Raise :class:`Cancelled` when the user asked to stop."""
        if self.cancel_fn is not None and self.cancel_fn():
            raise Cancelled("Run cancelled; start it again to resume from the last completed step.")

    # -- stage bookkeeping (used by the pipeline) ------------------------------------------------------------
    def check_key(self, key: str, *, table: bool) -> None:
        """Refuse a table or layer key that the running stage did not declare (declarations cannot drift)."""
        st = self.current
        if st is None:
            return
        ok = st.produces_table(key) if table else st.produces_layer(key)
        if not ok:
            what = "table" if table else "layer"
            raise RuntimeError(
                f"stage {st.name!r} produced {what} {key!r}, which its STAGE declaration does not list; "
                f"add it to STAGE.{what}s in the stage module."
            )

    def begin_stage(self, stage: Stage | str) -> None:
        """Start collecting what a stage produces."""
        if isinstance(stage, Stage):
            self.current, self.stage = stage, stage.name
        else:
            self.current, self.stage = None, stage
        self._stage_layers, self._stage_tables, self._stage_outputs = [], [], []
        self._provenance_before = json.dumps(self.provenance, sort_keys=True, default=str)
        self._substitutions_before = len(self.substitutions)

    def wait_writes(self) -> None:
        """Wait for the map files handed to the background writer (errors surface here)."""
        self._writes.wait()

    def end_stage(self) -> None:
        """Persist what the stage produced and mark it done (its map files written)."""
        self.wait_writes()
        for key in self._stage_tables:
            self.checkpoint.write_table(key, self.tables[key])
        before = json.loads(getattr(self, "_provenance_before", "{}"))
        now = json.loads(json.dumps(self.provenance, sort_keys=True, default=str))
        self.checkpoint.mark_done(
            self.stage, layers=list(self._stage_layers), tables=list(self._stage_tables),
            outputs=list(self._stage_outputs),
            provenance={k: v for k, v in now.items() if before.get(k) != v},
            substitutions=self.substitutions[getattr(self, "_substitutions_before", 0):],
        )
        self.current = None

    def restore_stage(self, stage: Stage | str) -> None:
        """Reload what a completed stage produced (resume), then let the stage rebuild its run services."""
        name = stage.name if isinstance(stage, Stage) else stage
        info = self.checkpoint.state["stages"][name]
        for key in info["layers"]:
            stored = self.layer_chunks(self.on_grid(self.checkpoint.read_layer(key)))
            self.layers.restore(key, stored)
            self._materialized[key] = (id(stored), stored)
        for key in info["tables"]:
            self.tables[key] = self.checkpoint.read_table(key)
        for rec in info["outputs"]:
            self.outputs = [o for o in self.outputs if o["key"] != rec["key"]] + [rec]
        # what the stage recorded besides its products, so a resumed run reports what an uninterrupted one does
        self.provenance.update(info.get("provenance", {}))
        self.substitutions.extend(m for m in info.get("substitutions", []) if m not in self.substitutions)
        if isinstance(stage, Stage) and stage.restore is not None:
            stage.restore(self)


def _write_cog_task(da: xr.DataArray, path: Path, legend: Any, tags: dict[str, Any]) -> Path:
    """Write one COG, its strips computed and its tiles compressed in the calling thread or worker (no nested
    scheduling, no GDAL compression threads).

    In the background thread of a threaded run, a threaded compute per strip would start a second pool of worker
    threads beside the run's own, contending with its passes for the cores and for glibc's arenas. GDAL's
    compression threads would contend with them too, for 10-20 % more CPU per map.
    """
    from openldn.io import write_cog

    return write_cog(da, path, legend=legend, tags=tags, scheduler="synchronous", threads=1)


class _BackgroundWrites:
    """COG writes that overlap the computation: worker tasks on a Dask cluster, one background thread otherwise.

    Threaded: the maps queue for one background thread while the passes run (more would contend with them for the
    cores and memory); :meth:`wait`, called when a stage has no pass left, writes queued maps in the calling thread
    too, so two are written at a time while nothing else runs.
    """

    def __init__(self) -> None:
        self._pending: list[Any] = []
        self._queue: collections.deque[tuple[Future[Path], tuple[Any, ...]]] = collections.deque()
        self._pool: Any = None

    def submit(self, da: xr.DataArray, path: Path, legend: Any, tags: dict[str, Any]) -> None:
        client = active_client()
        if client is not None:
            self._pending.append(client.submit(_write_cog_task, da, path, legend, tags, pure=False))
            return
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="openldn-cog")
        done: Future[Path] = Future()
        self._queue.append((done, (da, path, legend, tags)))
        self._pending.append(done)
        self._pool.submit(self._drain)

    def _drain(self) -> None:
        """Write queued maps until none is left (each computes its strips itself: see _write_cog_task)."""
        while True:
            try:
                done, args = self._queue.popleft()
            except IndexError:
                return
            try:
                done.set_result(_write_cog_task(*args))
            except BaseException as err:  # handed to wait(), which re-raises it
                done.set_exception(err)

    def wait(self) -> None:
        self._drain()  # the calling thread writes what is still queued, beside the background thread
        pending, self._pending = self._pending, []
        errors = []
        for f in pending:
            try:
                f.result()
            except Exception as err:  # re-raised below (the first one), after every write has ended
                errors.append(err)
        if errors:
            raise errors[0]


def openldn_version() -> str:
    """The installed openldn version."""
    import openldn

    return openldn.__version__


def _file_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("_")


def _is_legend(legend: Any) -> bool:
    return legend is not None and hasattr(legend, "classes")


def _legend_record(legend: Any) -> dict[str, list[str]] | None:
    if legend is None:
        return None
    if _is_legend(legend):
        rec = {str(c.code): [c.label, c.color] for c in legend.classes}
        return rec
    out = {}
    for code, v in dict(legend).items():
        if isinstance(v, list | tuple):
            out[str(code)] = [str(v[0]), str(v[1]) if len(v) > 1 else "#808080"]
        else:
            out[str(code)] = [str(v), "#808080"]
    return out


def manifest(ctx: RunContext) -> str:
    """The outputs manifest as JSON text."""
    return json.dumps(ctx.outputs, indent=1)
