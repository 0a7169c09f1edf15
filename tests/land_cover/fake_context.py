"""The run context of the stage tests: a REAL :class:`openldn.pipeline.RunContext` built by
:func:`openldn.testing.make_context` (the same construction as ``openldn run``), so it cannot drift from the stage
contract. Loaded by the ``fake_context`` fixture of tests/conftest.py (name kept for the existing tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openldn.pipeline.context import RunContext


def FakeContext(
    assessment: Any, files: dict[str, Any], reference: str = "land_cover", *, out_dir: Path
) -> RunContext:
    """A real run context on ``reference``'s grid with ``files`` (DataArray, path or ``(path, years)``) as inputs,
    writing under ``out_dir`` (the fixture gives a pytest temporary folder, removed with pytest's others)."""
    from openldn.testing import make_context

    ctx = make_context(assessment, files, reference=reference, out_dir=out_dir, whole_reference_grid=True)
    ctx.template = ctx.area  # type: ignore[attr-defined]  # a grid-shaped array for pixel_area() in assertions
    return ctx
