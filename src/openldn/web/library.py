"""The library calls the web layer makes (imported lazily, so the app starts while parts are missing)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from openldn.web.errors import WebError

__all__ = ["assessment_schema", "make_demo", "validate_run_file"]


def _attr(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise WebError(503, f"{module}.{name} is not available in this installation ({error})") from None


def assessment_schema() -> dict[str, Any]:
    """Return the JSON schema of the run file (``openldn.config.Assessment``), which drives the web form."""
    return _attr("openldn.config", "Assessment").model_json_schema()


def validate_run_file(data: dict[str, Any], base_dir: Path) -> Any:
    """Validate run-file content with :func:`openldn.config.load_assessment`, paths relative to ``base_dir``.

    Raises the library's errors (``ConfigError``, ``InputFileError``, ...) with the same one-line messages as
    ``openldn validate``.
    """
    return _attr("openldn.config", "load_assessment")(data, base_dir=base_dir)


def make_demo(out_dir: Path) -> Path:
    """Write the demo data set with :func:`openldn.datasets.make_demo`; return its run file."""
    return Path(_attr("openldn.datasets", "make_demo")(out_dir))
