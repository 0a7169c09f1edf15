"""The run pipeline: run files to maps, tables and reports, streamed, resumable, on any Dask engine.

Names are imported on first use, so that stage modules inside this package (``openldn.pipeline.land_area``) load
without pulling in the whole pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openldn.pipeline.context import Cancelled, RunContext
    from openldn.pipeline.run import RunResult, run_assessment

__all__ = ["Cancelled", "RunContext", "RunResult", "run_assessment"]


def __getattr__(name: str) -> Any:
    if name in ("Cancelled", "RunContext"):
        from openldn.pipeline import context

        return getattr(context, name)
    if name in ("RunResult", "run_assessment"):
        from openldn.pipeline import run

        return getattr(run, name)
    raise AttributeError(f"module 'openldn.pipeline' has no attribute {name!r}")
