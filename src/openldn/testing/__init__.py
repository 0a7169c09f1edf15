"""Helpers for testing code built on openldn (shipped, like xarray.testing and xclim.testing)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openldn.pipeline.context import RunContext

__all__ = ["make_context", "raise_if_dask_computes", "run_stage"]


@contextmanager
def raise_if_dask_computes() -> Iterator[None]:
    """Fail if anything inside the block triggers a dask computation (compute functions must stay lazy).

    Examples
    --------
    >>> import dask.array as dsa, xarray as xr
    >>> from openldn.testing import raise_if_dask_computes
    >>> with raise_if_dask_computes():
    ...     y = xr.DataArray(dsa.ones(4)) + 1  # building the graph is fine
    """
    import dask

    def _refuse(dsk: Any, keys: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a dask computation was triggered inside a block that must stay lazy")

    with dask.config.set(scheduler=_refuse):
        yield


def make_context(
    assessment: Any,
    inputs: Mapping[str, Any] | None = None,
    *,
    reference: str | None = None,
    out_dir: str | Path | None = None,
    chunk_size: int = 128,
    whole_reference_grid: bool = False,
    check_data: bool = False,
) -> RunContext:
    """A real run context for tests, built the way ``openldn run`` builds it (no stand-in that can drift).

    Parameters
    ----------
    assessment : Assessment, dict or path
        The run file (a mapping is validated with ``check_files=False``; relative paths resolve against
        ``out_dir``'s parent unless the Assessment says otherwise).
    inputs : mapping, optional
        Inputs by name: a DataArray, a file path, or ``(path, years)``; default: the files the run file names.
    reference : str, optional
        Input whose grid is the analysis grid (default: the run file's ``grid.reference``).
    out_dir : path, optional
        Where maps and checkpoints go (default: a new temporary folder).
    chunk_size : int, default 128
        Chunk edge in pixels.
    whole_reference_grid : bool, default False
        Use the reference input's whole grid as the analysis grid instead of its window over the AOI (for tests
        whose expected arrays are laid out on the input's grid).
    check_data : bool, default False
        Run the input checks of ``validate``/``run`` (:mod:`openldn.io.checks`, ``Stage.check``) first; off by
        default so that stage tests reach the stage's own errors.

    Returns
    -------
    openldn.pipeline.RunContext
        With the analysis grid, cell areas, AOI/unit coverage and aligned inputs; run stages on it with
        :func:`run_stage` (which also checks each stage's declared keys).
    """
    import tempfile

    from openldn.config import Assessment, load_assessment
    from openldn.io import open_raster
    from openldn.pipeline.checkpoint import Checkpoint
    from openldn.pipeline.run import _prepare, build_context
    from openldn.registry import input_decls

    a = assessment if isinstance(assessment, Assessment) else load_assessment(assessment, check_files=False)
    if reference is not None and reference != a.grid.reference:
        base, source = a.base_dir, a.source
        a = a.model_copy(update={"grid": a.grid.model_copy(update={"reference": reference, "crs": None})})
        a._base_dir, a._source = base, source
    raw: dict[str, Any] | None = None
    if inputs is not None:
        decls = input_decls()
        raw = {}
        for name, value in inputs.items():
            if isinstance(value, tuple):
                path, years = value
                da = open_raster(path, years=years, time="monthly" if decls[name].time == "monthly" else "auto",
                                 name=name)
            elif isinstance(value, str | Path):
                da = open_raster(value, time="monthly" if decls[name].time == "monthly" else "auto", name=name)
            else:
                da = value
            spec = a.inputs.get(name)
            if spec is not None and spec.legend and "legend" not in da.attrs:
                da.attrs["legend"] = spec.legend
            da.attrs["openldn_kind"] = decls[name].kind
            raw[name] = da
    folder = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="openldn-test-"))
    folder.mkdir(parents=True, exist_ok=True)
    prep = _prepare(a, chunk_size, raw_inputs=raw, check_data=check_data)
    if whole_reference_grid:
        import odc.geo.xr  # noqa: F401

        ref = prep["raw"][a.grid.reference]
        prep["geobox"] = (ref.isel(time=0) if "time" in ref.dims else ref).odc.geobox
    ckpt = Checkpoint(folder, "test")
    ckpt.reset()
    return build_context(a, folder, prep, ckpt)


def run_stage(ctx: RunContext, name: str) -> None:
    """Run the registered stage ``name`` on ``ctx`` as the pipeline does (declared keys are enforced)."""
    from openldn.registry import stage

    st = stage(name)
    ctx.begin_stage(st)
    st.run(ctx)
    ctx.end_stage()
