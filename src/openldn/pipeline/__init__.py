"""The run pipeline: run files to maps, tables and reports, streamed, resumable, on any Dask engine."""

from __future__ import annotations

from openldn.pipeline.context import Cancelled, RunContext
from openldn.pipeline.run import STAGES, RunResult, run_assessment

__all__ = ["STAGES", "Cancelled", "RunContext", "RunResult", "run_assessment"]
