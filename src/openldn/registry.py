"""The stage registry: the one list of stages, in run order.

Adding a stage is one line here plus the ``STAGE`` declaration at the end of the stage's module
(:class:`openldn.core.stage.Stage`). The pipeline, the run-file model (option sections and input names), the input
kinds, the web form's roles and ``docs/run-file.md`` are all derived from these declarations.
"""

from __future__ import annotations

import importlib
from functools import cache

from openldn.core.stage import InputDecl, InputKind, Stage
from openldn.exceptions import OpenLDNError

__all__ = ["STAGE_MODULES", "StageLoadError", "input_decls", "input_kinds", "stages"]

#: Modules holding a ``STAGE`` declaration, in the order the pipeline runs them.
STAGE_MODULES: tuple[str, ...] = (
    "openldn.land_cover.stage",
    "openldn.pipeline.land_area",
    "openldn.productivity.stage",
    "openldn.soil_carbon.stage",
    "openldn.integration.stage",
    "openldn.drought.stage",
    "openldn.accuracy.pixel_stage",
    "openldn.agreement.stage",
    "openldn.accuracy.stage",
    "openldn.reporting.stage",
)


class StageLoadError(OpenLDNError, ImportError):
    """A registered stage cannot be loaded (a broken installation, never a skipped stage)."""


@cache
def stages() -> tuple[Stage, ...]:
    """Every registered stage, in run order.

    Raises
    ------
    StageLoadError
        A stage module fails to import or declares no valid ``STAGE``.
    """
    out: list[Stage] = []
    for module in STAGE_MODULES:
        try:
            mod = importlib.import_module(module)
        except ImportError as err:
            raise StageLoadError(
                f"stage module {module} cannot be imported ({err}); reinstall openldn with "
                "`pip install --force-reinstall openldn` or fix the environment."
            ) from err
        stage = getattr(mod, "STAGE", None)
        if not isinstance(stage, Stage):
            raise StageLoadError(f"stage module {module} has no STAGE declaration (openldn.core.stage.Stage).")
        out.append(stage)
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise StageLoadError(f"duplicate stage names in the registry: {names}.")
    sections = [s.options_key for s in out if s.options_key]
    if len(set(sections)) != len(sections):
        raise StageLoadError(f"two stages declare the same run-file section: {sections}.")
    input_decls_of(out)  # duplicate input names fail here, at load time
    return tuple(out)


def input_decls_of(stage_list: tuple[Stage, ...] | list[Stage]) -> dict[str, InputDecl]:
    """Input declarations by name; an input declared by two stages is an error."""
    decls: dict[str, InputDecl] = {}
    for s in stage_list:
        for d in s.inputs:
            if d.name in decls:
                raise StageLoadError(f"input {d.name!r} is declared by two stages; declare it once.")
            decls[d.name] = d
    return decls


def input_decls() -> dict[str, InputDecl]:
    """Every input a run file can name, with its declaration."""
    return input_decls_of(stages())


def input_kinds() -> dict[str, InputKind]:
    """Input name -> resampling kind (``categorical``, ``continuous``, ``count``)."""
    return {name: d.kind for name, d in input_decls().items()}


def stage(name: str) -> Stage:
    """The registered stage ``name``."""
    for s in stages():
        if s.name == name:
            return s
    raise KeyError(name)
