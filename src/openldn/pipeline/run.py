"""``run_assessment``: from a run file to every map, table and report, streamed and resumable."""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

import openldn
from openldn.config import Assessment, load_assessment
from openldn.core.grid import pixel_area
from openldn.core.stage import Stage
from openldn.core.years import YearChoice
from openldn.exceptions import (
    ConfigError,
    EmptyAOIError,
    GridMismatchError,
    InputFileError,
    OpenLDNError,
    OpenLDNWarning,
    OutputWriteError,
)
from openldn.i18n import LANGUAGES, _, current_language, normalize_language, use_language
from openldn.pipeline.checkpoint import Checkpoint, fingerprint
from openldn.pipeline.context import Cancelled, ProgressFn, RunContext, manifest
from openldn.pipeline.engine import auto_chunk_size, axis_chunks, chunk_offset, engine
from openldn.pipeline.publish import INTERNAL, OutputLock, publish, recover, staging_dir
from openldn.registry import input_decls, stages

__all__ = ["RunResult", "plan_years", "run_assessment", "runnable_stages"]

log = logging.getLogger("openldn")


def runnable_stages(a: Assessment, only: list[str] | None = None) -> list[Stage]:
    """The registered stages a run of ``a`` executes, in order: those switched on by a given input.

    Parameters
    ----------
    a : Assessment
        The run file.
    only : list of str, optional
        Restrict to these stage names.

    Raises
    ------
    ConfigError
        ``only`` names a stage that does not exist.
    """
    registered = stages()
    if only is not None:
        unknown = sorted(set(only) - {s.name for s in registered})
        if unknown:
            raise ConfigError(
                f"unknown stage(s) {unknown}; use names from {[s.name for s in registered]}."
            )
    return [
        s for s in registered
        if (only is None or s.name in only) and (not s.switched_on_by or any(i in a.inputs for i in s.switched_on_by))
    ]


def plan_years(a: Assessment, raw: dict[str, xr.DataArray]) -> list[YearChoice]:
    """The input years every stage of a run of ``a`` will use, resolved by the one closest-year rule.

    Parameters
    ----------
    a : Assessment
        The run file.
    raw : dict
        The opened inputs (their time coordinates say which years exist).

    Returns
    -------
    list of YearChoice
        One per (input, wanted year); ``choice.substituted`` marks a year served by another.

    Raises
    ------
    MissingYearError
        A wanted year is farther than its stage accepts from every available year (``run`` would refuse it too).
    """
    from openldn.core.periods import years_of
    from openldn.core.years import closest_year

    out: list[YearChoice] = []
    seen: set[tuple[str, int]] = set()
    for stage in runnable_stages(a):
        if stage.year_needs is None:
            continue
        for need in stage.year_needs(a):
            da = raw.get(need.input)
            if da is None or "time" not in da.dims or (need.input, need.year) in seen:
                continue
            seen.add((need.input, need.year))
            available = sorted({int(y) for y in years_of(da)})
            out.append(closest_year(available, need.year, what=f"{a.source}: {need.what}", max_gap=need.max_gap))
    return out


@dataclass
class RunResult:
    """What a run produced."""

    #: Output folder.
    out_dir: Path
    #: Written rasters (key, path relative to out_dir, title, legend, kind).
    outputs: list[dict[str, Any]] = field(default_factory=list)
    #: Tidy tables by key.
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: Seconds spent per stage.
    timings: dict[str, float] = field(default_factory=dict)
    #: Stages skipped because a previous attempt completed them.
    resumed: list[str] = field(default_factory=list)
    #: True when the run was already complete and nothing was done.
    noop: bool = False


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file():
                h.update(p.read_bytes())
        return h.hexdigest()
    from openldn.io import sha256_file

    return sha256_file(path)


def _fetched(a: Assessment, name: str) -> tuple[Path, dict[str, Any]]:
    """Cached file of a catalogue input and the local input spec that replaces it (never uses the network)."""
    spec = a.inputs[name]
    try:
        from openldn.catalog import resolve_input
        from openldn.catalog.fetch import fetched_input_spec
    except ImportError as err:  # pragma: no cover - catalog extra absent
        raise ConfigError(
            f"{a.source}: input {name!r} names dataset {spec.dataset!r}: install the catalog extra "
            "(pip install 'openldn[catalog]')."
        ) from err
    years = range(min(p.start for p in a.periods), max(p.end for p in a.periods) + 1)
    raw = spec.model_dump(exclude_none=True)
    path = Path(resolve_input(raw, base_dir=a.base_dir, aoi=a.resolve(a.aoi), run_years=years, assessment=a.source))
    return path, fetched_input_spec(raw, path)


def _input_paths(a: Assessment, name: str) -> list[Path]:
    spec = a.inputs[name]
    if spec.dataset is not None:
        return [_fetched(a, name)[0]]
    paths = [spec.path] if isinstance(spec.path, str) else list(spec.path or [])
    out: list[Path] = []
    for p in paths:
        if any(ch in p for ch in "*?["):
            import glob

            out.extend(Path(x) for x in sorted(glob.glob(str(a.resolve(p)))))
        else:
            out.append(a.resolve(p))
    return out


def _open_inputs(a: Assessment, hashing: Executor | None = None) -> tuple[dict[str, xr.DataArray], list[Any]]:
    """The inputs opened lazily, and their provenance records: futures of them from ``hashing`` (:func:`_prepare`:
    the checksums computed beside the data checks), the records themselves without it."""
    from openldn.io import open_raster

    raw: dict[str, xr.DataArray] = {}
    records: list[Any] = []
    decls = input_decls()
    for name, spec in a.inputs.items():
        kind = decls[name].kind
        monthly: Literal["monthly", "auto"] = "monthly" if decls[name].time == "monthly" else "auto"
        if spec.dataset is not None:
            # fetched files already hold physical values, years in band descriptions and the legend
            path, local = _fetched(a, name)
            paths = [path]
            da = open_raster(path, time=monthly, name=name)
            legend = local.get("legend") or spec.legend
        else:
            paths = _input_paths(a, name)
            from openldn.io.subannual import open_input  # dates, masks, sub-annual composites -> annual

            da = open_input(name, spec, paths, time=decls[name].time, resolve=a.resolve)
            legend = spec.legend
        if legend:
            da.attrs["legend"] = legend
        da.attrs["openldn_kind"] = kind
        raw[name] = da
        meta = {k: v for k, v in spec.model_dump(include={"title", "source", "doi", "licence", "citation"}).items()
                if v is not None}
        for p in paths:
            args = (p, name, spec.dataset, meta)
            records.append(_input_record(*args) if hashing is None else hashing.submit(_input_record, *args))
    return raw, records


def _input_record(path: Path, role: str, dataset: str | None, meta: dict[str, Any]) -> dict[str, Any]:
    return {**_provenance_record(path, role, dataset), **meta}


def _provenance_record(path: Path, role: str, dataset: str | None) -> dict[str, Any]:
    try:
        from openldn.catalog.provenance import record_file

        return dict(record_file(path, role=role, name=role, dataset=dataset))
    except ImportError:  # pragma: no cover - catalog extra absent
        st = path.stat()
        return {"role": role, "path": str(path), "sha256": _sha256(path), "size": st.st_size, "dataset": dataset}


#: Bytes of one chunk of an opened input (dask's "auto" chunks, the time axis whole): bounds the memory of the input
#: checks and of the alignment, whatever the grid.
_INPUT_CHUNK_BYTES = 32 * 2**20


def _prepare(a: Assessment, chunk_size: int | None, raw_inputs: dict[str, xr.DataArray] | None = None, *,
             strict: bool = False, check_data: bool = True) -> dict[str, Any]:
    """Open and check everything before anything is written (user mistakes fail here, leaving nothing).

    ``raw_inputs`` replaces the inputs the run file names (tests and the Python API hand arrays in directly).
    """
    from openldn.io import read_vector

    aoi = read_vector(a.resolve(a.aoi))
    zones = None
    if a.zones is not None:
        zones = read_vector(a.resolve(a.zones.path), id_field=a.zones.id_field, name_field=a.zones.name_field,
                            layer=a.zones.layer)
    hashing = ThreadPoolExecutor(1, thread_name_prefix="openldn-checksum")  # its thread starts with a first input
    try:
        out = _prepare_opened(a, chunk_size, raw_inputs, hashing, aoi, zones, strict=strict, check_data=check_data)
        # the checksums, computed in one thread beside the checks (4.3 GB: about 6 s on its own)
        out["records"] = [f.result() for f in out["records"]]
        return out
    finally:
        hashing.shutdown(wait=False, cancel_futures=True)  # a check's error is not held up by a checksum


def _prepare_opened(a: Assessment, chunk_size: int | None, raw_inputs: dict[str, xr.DataArray] | None,
                    hashing: Executor, aoi: Any, zones: Any, *, strict: bool, check_data: bool
                    ) -> dict[str, Any]:
    from openldn.io import analysis_grid, crosses_antimeridian

    if raw_inputs is None:
        import dask

        # input chunks of a bounded size whatever the grid (the checks and the alignment read them one by one)
        with dask.config.set({"array.chunk-size": _INPUT_CHUNK_BYTES}):
            raw, records = _open_inputs(a, hashing)
    else:
        raw, records = dict(raw_inputs), []
    ref = raw.get(a.grid.reference) if a.grid.reference else None
    if a.grid.crs is None and ref is not None and crosses_antimeridian(aoi):
        crs, res = antimeridian_grid(aoi, ref)
        log.info("The area of interest crosses the 180th meridian: analysis grid in %s at %.1f m.", crs, res)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OpenLDNWarning)
            geobox = analysis_grid(None, aoi, crs=crs, resolution=res)
    else:
        geobox = analysis_grid(ref, aoi, crs=a.grid.crs, resolution=a.grid.resolution)
    n_time = max([da.sizes.get("time", 1) for da in raw.values()] + [1])
    if chunk_size is None:
        cs = a.engine.chunk_size
        chunk_size = auto_chunk_size(n_time) if cs == "auto" else int(cs)
    from openldn.io.grid import geobox_of

    for name, da in raw.items():  # a rotated grid or a missing CRS stops here, not mid-run
        try:
            geobox_of(da)
        except GridMismatchError as err:
            where = da.attrs.get("source", name)
            raise GridMismatchError(f"{where} (inputs.{name}): {str(err).split(': ', 1)[-1]}") from None
    for name, da in raw.items():
        _check_overlap(name, da, geobox, a)
    findings = _check_data(a, raw, aoi, zones, strict=strict) if check_data else []
    return {"aoi": aoi, "zones": zones, "raw": raw, "records": records, "geobox": geobox, "chunk_size": chunk_size,
            "chunk_offset": chunk_offset(raw, geobox, chunk_size), "findings": findings}


def _check_data(a: Assessment, raw: dict[str, xr.DataArray], aoi: Any, zones: Any, *, strict: bool) -> list[Any]:
    """Data faults stop here (errors, and warnings under ``strict``); other warnings are logged and returned."""
    from openldn.exceptions import InputDataError
    from openldn.io.checks import Finding, aoi_window, check_inputs, check_zones, with_present_codes
    # one input at a time: its AOI mask (a whole-window array) is dropped before the next is made
    findings: list[Any] = []
    cropped: dict[str, xr.DataArray] = {}
    present: dict[str, np.ndarray] = {}  # the values of each 16-bit input, listed by its checks' scan
    for name, da in raw.items():
        win, mask = aoi_window(da, aoi)  # once, for both kinds of check
        findings += check_inputs({name: da}, aoi, specs=dict(a.inputs), source=a.source, windows={name: (win, mask)},
                                 present=present)
        cropped[name] = with_present_codes(win, present.get(name))  # a stage's check of its codes reads no pixel
        del mask
    if not any(f.level == "error" for f in findings):
        for stage in runnable_stages(a):
            if stage.check is not None:
                findings += [Finding("error", stage.name, msg) for msg in stage.check(a, cropped)]
    if zones is not None and a.zones is not None:
        findings += check_zones(zones, id_field=a.zones.id_field, path=str(a.resolve(a.zones.path)))
    fatal = [f for f in findings if f.level == "error" or strict]
    if fatal:
        more = f" (+{len(fatal) - 1} more: see `openldn validate`)" if len(fatal) > 1 else ""
        suffix = " (a warning, fatal with --strict)" if fatal[0].level == "warning" else ""
        raise InputDataError(f"{fatal[0].message}{suffix}{more}")
    for f in findings:
        warnings.warn(f.message, OpenLDNWarning, stacklevel=2)
        log.warning(f.message)
    return findings


def antimeridian_grid(aoi: Any, reference: xr.DataArray) -> tuple[str, float]:
    """CRS and cell size of the analysis grid for an AOI that crosses the 180th meridian.

    A lon/lat grid cannot hold such an area without spanning the whole globe, so the grid is a Lambert azimuthal
    equal-area projection centred on the AOI (cells keep their nominal area exactly), with cells of the same area as
    the reference raster's cells at the AOI's centre. Inputs are warped onto it by their kind's rule.
    """
    import shapely
    from shapely.affinity import translate

    geoms = []
    for part in shapely.get_parts(aoi.to_crs(4326).geometry.values):
        geoms.append(translate(part, xoff=360.0) if part.bounds[2] <= 0 else part)
    c = shapely.union_all(geoms).centroid
    lon0 = ((c.x + 180.0) % 360.0) - 180.0
    crs = f"+proj=laea +lat_0={c.y:.6f} +lon_0={lon0:.6f} +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
    rx, ry = (abs(v) for v in reference.rio.resolution())
    if reference.rio.crs is not None and reference.rio.crs.is_geographic:
        from openldn.core.grid import row_areas

        area = row_areas(np.array([c.y - ry / 2, c.y + ry / 2]), rx)[0]
        return crs, float(np.sqrt(area))
    return crs, float(np.sqrt(rx * ry))


def _check_overlap(name: str, da: xr.DataArray, geobox: Any, a: Assessment) -> None:
    from odc.geo.geom import BoundingBox

    try:
        b = da.rio.bounds()
        src = BoundingBox(*b, crs=da.rio.crs)
        target = geobox.extent.to_crs(src.crs).boundingbox
    except Exception:
        return
    ix = max(0.0, min(src.right, target.right) - max(src.left, target.left))
    iy = max(0.0, min(src.top, target.top) - max(src.bottom, target.bottom))
    if ix * iy <= 0:
        raise EmptyAOIError(
            f"{a.source}: input {name!r} ({src.left:.4f}, {src.bottom:.4f}, {src.right:.4f}, {src.top:.4f}) does not "
            f"overlap the area of interest ({target.left:.4f}, {target.bottom:.4f}, {target.right:.4f}, {target.top:.4f}); "
            "check the AOI file and the raster's CRS."
        )


def _fingerprint(a: Assessment, records: list[dict[str, Any]]) -> str:
    """Configuration, input checksums and version: chunking is left out (results do not depend on it)."""
    payload = {
        "assessment": a.model_dump(mode="json"),
        "inputs": sorted((r.get("role"), r.get("sha256")) for r in records),
        "aoi": _sha256(a.resolve(a.aoi)),
        "zones": _sha256(a.resolve(a.zones.path)) if a.zones else None,
        "version": openldn.__version__,
    }
    return fingerprint(payload)


def run_assessment(
    assessment: Assessment | str | Path,
    out_dir: str | Path,
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
    resume: bool = True,
    force: bool = False,
    chunk_size: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    stages: list[str] | None = None,
    strict: bool = False,
    language: str | None = None,
) -> RunResult:
    """Run a whole assessment: every stage whose inputs are present, then the report.

    Parameters
    ----------
    assessment : Assessment or path
        A validated assessment or the path of a run file.
    out_dir : path
        Output folder (created). Maps in ``maps/``, tables in ``tables/``, reports in ``report/``, the rasters'
        manifest in ``outputs.json``, every file with its checksum in ``manifest.json``; checkpoints and the staging
        area in ``.openldn/``. One run at a time per folder; the result is published whole at the end
        (:mod:`openldn.pipeline.publish`), so a failed run leaves the previous result intact.
    progress : callable, optional
        ``progress(stage, done, total, message)``.
    cancel : threading.Event or callable, optional
        Checked between steps; when set the run stops with :class:`~openldn.pipeline.context.Cancelled` and can be
        resumed.
    resume : bool, default True
        Continue from the checkpoints of an earlier attempt with the same configuration and inputs.
    force : bool, default False
        Recompute everything even if the run is complete.
    chunk_size : int, optional
        Chunk edge in pixels (default: the run file's ``engine.chunk_size``, ``auto`` from available memory).
    workers, scheduler : optional
        Engine: local cluster of ``workers`` processes, or an existing scheduler address (default: threads).
    stages : list of str, optional
        Restrict to these stages (reporting always runs last when listed).
    strict : bool, default False
        Treat the input checks' warnings (partial coverage, overlapping units...) as errors.
    language : str, optional
        Language of the report, workbook, maps and messages (``ar en es fr ru zh``); default: the run file's
        ``outputs.language``, else the current language (:func:`openldn.i18n.current_language`; the command line sets
        it from ``--lang`` or the system locale). Part of the run's fingerprint: another language writes the outputs
        again.

    Returns
    -------
    RunResult
    """
    t0 = time.perf_counter()
    a = assessment if isinstance(assessment, Assessment) else load_assessment(assessment)
    lang = _run_language(a, language)
    if a.outputs.language != lang:  # the language in force is recorded (provenance, fingerprint)
        a = _with_language(a, lang)
    with use_language(lang):
        return _run(a, out_dir, t0, progress=progress, cancel=cancel, resume=resume, force=force,
                    chunk_size=chunk_size, workers=workers, scheduler=scheduler, stages=stages, strict=strict)


def _run_language(a: Assessment, language: str | None) -> str:
    """The language of a run: ``language`` (``--lang``), else the run file's, else the current language."""
    chosen = language if language is not None else a.outputs.language
    if chosen is None:
        return current_language()
    code = normalize_language(chosen)
    if code is None:
        raise ConfigError(_("Unknown language %(value)r: use one of %(languages)s.")
                          % {"value": chosen, "languages": ", ".join(LANGUAGES)})
    return code


def _with_language(a: Assessment, lang: str) -> Assessment:
    """A copy of ``a`` whose ``outputs.language`` is ``lang`` (its run-file folder and source kept)."""
    b = a.model_copy(update={"outputs": a.outputs.model_copy(update={"language": lang})})
    b._base_dir = a.base_dir
    b._source = a.source
    return b


def _run(
    a: Assessment, out_dir: str | Path, t0: float, *, progress: ProgressFn | None,
    cancel: threading.Event | Callable[[], bool] | None, resume: bool, force: bool, chunk_size: int | None,
    workers: int | None, scheduler: str | None, stages: list[str] | None, strict: bool,
) -> RunResult:
    out = Path(out_dir).expanduser().resolve()
    try:
        exists, is_dir = out.exists(), out.is_dir()
    except OSError as err:  # e.g. a name longer than the file system allows
        raise _output_error(out, err) from None
    if exists and not is_dir:
        raise InputFileError(f"Output folder {out} is a file: choose a folder path with --out.")
    prep = _prepare(a, chunk_size, strict=strict)
    fp = _fingerprint(a, prep["records"])
    cancel_fn = cancel.is_set if isinstance(cancel, threading.Event) else cancel

    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _output_error(out, err) from None
    with OutputLock(out):  # a second run on this folder stops here, touching nothing
        try:
            recover(out)
            return _execute(a, out, prep, fp, progress=progress, cancel_fn=cancel_fn, resume=resume, force=force,
                            workers=workers, scheduler=scheduler, stages=stages, t0=t0, strict=strict)
        except Cancelled:
            raise  # kept for resuming
        except OSError as err:
            _discard(out, created)
            if isinstance(err, OpenLDNError):
                raise
            raise _output_error(out, err) from None
        except Exception:
            # A user mistake found mid-run, or a bug: leave nothing of this attempt behind; the previously
            # published result (if any) is untouched.
            _discard(out, created)
            raise


def _discard(out: Path, created: bool) -> None:
    """Remove what a failed attempt wrote: the whole folder if this run created it, else the staging area."""
    if created:
        shutil.rmtree(out, ignore_errors=True)
    else:
        shutil.rmtree(out / INTERNAL, ignore_errors=True)


def _output_error(out: Path, err: OSError) -> OutputWriteError:
    """A one-line error for an output that cannot be written, with the fix."""
    import errno

    where = err.filename or out
    fixes = {
        errno.ENOSPC: "the disk is full: free space or choose another --out",
        errno.EDQUOT: "the disk quota is exceeded: free space or choose another --out",
        errno.EACCES: "the folder is not writable: choose a folder you can write to with --out",
        errno.EPERM: "the folder is not writable: choose a folder you can write to with --out",
        errno.EROFS: "the file system is read-only: choose another --out",
        errno.ENAMETOOLONG: "the path is too long: choose a shorter --out",
    }
    fix = fixes.get(err.errno or 0, "check the output folder")
    return OutputWriteError(f"{where}: cannot write the results ({err.strerror or err}); {fix}.")


def _execute(
    a: Assessment, out: Path, prep: dict[str, Any], fp: str, *, progress: ProgressFn | None,
    cancel_fn: Callable[[], bool] | None, resume: bool, force: bool, workers: int | None, scheduler: str | None,
    stages: list[str] | None, t0: float, strict: bool = False,
) -> RunResult:
    ckpt = Checkpoint(out, fp)
    resumed_state = resume and not force and ckpt.load()
    if not resumed_state:
        ckpt.reset()
    staging = staging_dir(out)
    if resumed_state and ckpt.state.get("finished"):
        if staging.is_dir():  # finished but killed before publishing
            publish(out)
        result = RunResult(out_dir=out, noop=True, resumed=list(ckpt.state["stages"]))
        outputs = out / "outputs.json"
        if outputs.is_file():
            result.outputs = json.loads(outputs.read_text())
        if progress:
            progress("run", 1, 1, "already complete (use --force to recompute)")
        return result

    workers = workers if workers is not None else a.engine.workers
    scheduler = scheduler if scheduler is not None else a.engine.scheduler
    with engine(workers=workers, scheduler=scheduler, log=lambda m: log.info(m)) as _client:
        staging.mkdir(parents=True, exist_ok=True)
        ctx = build_context(a, staging, prep, ckpt, progress=progress, cancel_fn=cancel_fn)
        ctx.strict = strict
        result = RunResult(out_dir=out)
        runnable = runnable_stages(a, stages)
        for i, stage in enumerate(runnable):
            name = stage.name
            ctx.check_cancel()
            if ckpt.stage_done(name):
                ctx.restore_stage(stage)
                _write_tables(ctx, ckpt.state["stages"][name].get("tables") or [])
                result.resumed.append(name)
                if progress:
                    progress(name, 1, 1, "resumed from checkpoint")
                continue
            ts = time.perf_counter()
            if progress:
                progress(name, 0, 1, f"stage {i + 1}/{len(runnable)}")
            ctx.begin_stage(stage)
            stage.run(ctx)
            ctx.end_stage()
            # the stage's tables, readable in the staging area while the run goes on (web: partial results)
            _write_tables(ctx, ckpt.state["stages"][name].get("tables") or [])
            result.timings[name] = time.perf_counter() - ts
            if progress:
                progress(name, 1, 1, f"done in {result.timings[name]:.1f} s")
        _write_tables(ctx)
        _atomic_text(staging / "outputs.json", manifest(ctx))
        ckpt.state["finished"] = True
        ckpt.state["timings"] = result.timings
        ckpt.save()
        publish(out)
    result.outputs = ctx.outputs
    result.tables = ctx.tables
    result.timings["total"] = time.perf_counter() - t0
    return result


def build_context(
    a: Assessment, out: Path, prep: dict[str, Any], ckpt: Checkpoint, *, progress: ProgressFn | None = None,
    cancel_fn: Callable[[], bool] | None = None,
) -> RunContext:
    """The run context of a prepared run: grid, cell areas, coverage, inputs and provenance.

    The one way a context is made, by ``run_assessment`` and by :func:`openldn.testing.make_context`.
    """
    geobox = prep["geobox"]
    from openldn.zonal import build_coverage

    offset = prep["chunk_offset"]
    area = pixel_area(grid_template(geobox, chunk_size=prep["chunk_size"], chunk_offset=offset))
    zones_spec = a.zones
    coverage = build_coverage(
        geobox, aoi=prep["aoi"], zones=prep["zones"],
        id_field=zones_spec.id_field if zones_spec else "id",
        name_field=zones_spec.name_field if zones_spec else "name", rule=a.grid.coverage,
    )
    ctx = RunContext(
        assessment=a, out_dir=out, geobox=geobox, area=area, coverage=coverage, checkpoint=ckpt,
        chunk_size=prep["chunk_size"], chunk_offset=offset, inputs_raw=prep["raw"],
        progress_fn=progress, cancel_fn=cancel_fn,
    )
    ctx.area = ctx.rechunk(area)
    ctx.provenance = {
        "openldn_version": openldn.__version__,
        "run_file": a.source,
        "preset": {"id": a.preset, "hash": a.preset_content()["hash"]},
        "parameters": a.model_dump(mode="json"),
        "inputs": prep["records"],
        "grid": {"crs": str(geobox.crs), "shape": list(geobox.shape), "transform": list(geobox.transform)[:6]},
        "chunk_size": prep["chunk_size"],
        "fingerprint": ckpt.fingerprint,
    }
    return ctx


def _atomic_text(path: Path, text: str) -> None:
    from openldn.io import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _write_tables(ctx: RunContext, keys: list[str] | None = None) -> None:
    """Write the run's tables (or those of ``keys``) as CSV in ``tables/`` of the staging area (atomically)."""
    from openldn.io import write_table

    for key, df in ctx.tables.items():
        if keys is None or key in keys:
            write_table(df, ctx.out_dir / "tables" / f"{key}.csv")


def grid_template(geobox: Any, *, chunk_size: int | None = None, chunk_offset: tuple[int, int] = (0, 0)
                  ) -> xr.DataArray:
    """A zero (y, x) DataArray on ``geobox`` with its CRS and transform (cell-centre coordinates); lazy if chunked
    (the run's chunks: ``chunk_size``, shifted by ``chunk_offset``)."""
    import rioxarray  # noqa: F401

    ny, nx = geobox.shape
    t = geobox.transform
    x = t.c + t.a * (np.arange(nx) + 0.5)
    y = t.f + t.e * (np.arange(ny) + 0.5)
    if chunk_size:
        import dask.array as dsa

        chunks = tuple(axis_chunks(n, chunk_size, o) for n, o in zip((ny, nx), chunk_offset, strict=True))
        zeros: Any = dsa.zeros((ny, nx), dtype="uint8", chunks=chunks)
    else:
        zeros = np.zeros((ny, nx), dtype="uint8")
    da = xr.DataArray(zeros, dims=("y", "x"), coords={"y": y, "x": x})
    return da.rio.write_crs(geobox.crs.to_wkt()).rio.write_transform(t)
