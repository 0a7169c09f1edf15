"""The stage contract: what a domain declares to plug into ``openldn run``.

Each domain's ``stage.py`` ends with one :class:`Stage` value named ``STAGE``; the stage registry
(:mod:`openldn.registry`) lists those modules once. Everything that used to be wired by hand is derived from the
declarations: the order and switches of the pipeline, the run file's option sections and input names
(:mod:`openldn.config`), the input kinds that drive resampling, the web form's roles and the run-file reference in
``docs/run-file.md``.

A stage sees the run through :class:`StageContext`, a typed protocol implemented by
:class:`openldn.pipeline.RunContext` (and by the in-memory context of :func:`openldn.testing.make_context`). The
context refuses a table or a layer key that the stage did not declare, so the declarations cannot drift from what
the code writes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr
    from odc.geo.geobox import GeoBox
    from pydantic import BaseModel

OptionsT = TypeVar("OptionsT", bound="BaseModel")

__all__ = ["InputDecl", "InputKind", "KeyPattern", "Stage", "StageContext", "YearNeed", "section_options"]

#: How an input is resampled onto the analysis grid: class codes (nearest/mode), values (average), counts (sum).
InputKind = Literal["categorical", "continuous", "count"]


@dataclass(frozen=True)
class InputDecl:
    """An input raster a stage introduces into the run file (``inputs.<name>``).

    Attributes
    ----------
    name : str
        Key under ``inputs:`` in the run file.
    kind : {"categorical", "continuous", "count"}
        Resampling rule onto the analysis grid.
    description : str
        What the input is, in words (run-file reference, web form).
    time : {"annual", "monthly", "static", "auto"}
        What the bands are (``auto``: years or months when the bands say so).
    valid_range : (float or None, float or None)
        Physical range of the values after ``scale``/``offset`` (None: unbounded); a value outside it stops the run
        (:mod:`openldn.io.checks`). Categorical inputs must hold integral codes whatever the range.
    units : str
        Units of the values, in words ("NDVI", "t C/ha", "mm", "people per cell").
    """

    name: str
    kind: InputKind
    description: str
    time: Literal["annual", "monthly", "static", "auto"] = "auto"
    valid_range: tuple[float | None, float | None] = (None, None)
    units: str = ""


@dataclass(frozen=True)
class KeyPattern:
    """A table or layer key, fixed (``"lc_area"``) or with fields (``"lpd/{period}"``).

    Examples
    --------
    >>> KeyPattern("lpd/{period}").format(period="2000-2015")
    'lpd/2000-2015'
    >>> KeyPattern("lpd/{period}").matches("lpd/2016-2019")
    True
    """

    pattern: str
    description: str = ""

    def format(self, **fields: object) -> str:
        """The concrete key."""
        return self.pattern.format(**fields)

    def matches(self, key: str) -> bool:
        """Whether ``key`` is an instance of this pattern."""
        parts = re.split(r"\{[a-z_]+\}", self.pattern)
        regex = "[^/]+".join(re.escape(p) for p in parts)
        return re.fullmatch(regex, key) is not None


@dataclass(frozen=True)
class YearNeed:
    """A year of an input that a stage will use, known from the run file alone (for ``validate``).

    Attributes
    ----------
    input : str
        Input name.
    year : int
        The wanted year.
    what : str
        What it is for, in words.
    max_gap : int, optional
        Largest accepted distance to the closest available year (None: any).
    """

    input: str
    year: int
    what: str
    max_gap: int | None = None


class StageContext(Protocol):
    """What a stage may use of the run (implemented by :class:`openldn.pipeline.RunContext`)."""

    assessment: Any
    out_dir: Path
    geobox: GeoBox
    area: xr.DataArray
    coverage: Any
    tables: dict[str, pd.DataFrame]
    outputs: list[dict[str, Any]]
    provenance: dict[str, Any]
    substitutions: list[str]
    stage: str
    log: logging.Logger
    ledger: Any

    @property
    def layers(self) -> MutableMapping[str, xr.DataArray]: ...

    def has_input(self, name: str) -> bool: ...

    def input(self, name: str) -> xr.DataArray: ...

    def on_grid(self, da: xr.DataArray) -> xr.DataArray: ...

    def rechunk(self, da: xr.DataArray) -> xr.DataArray: ...

    def materialize(self, key: str, da: xr.DataArray) -> xr.DataArray: ...

    def as_stored(self, da: xr.DataArray) -> xr.DataArray: ...

    def materialize_many(self, arrays: dict[str, xr.DataArray], tables: Sequence[Any] = ()
                         ) -> dict[str, xr.DataArray]: ...

    def write_raster(
        self, key: str, da: xr.DataArray, *, legend: Any = None, title: str | None = None, units: str | None = None,
    ) -> Path: ...

    def add_table(self, key: str, df: pd.DataFrame) -> None: ...

    def substitute(self, message: str) -> None: ...

    def progress(self, stage: str, done: int, total: int, message: str = "") -> None: ...

    def check_cancel(self) -> None: ...


@dataclass(frozen=True)
class Stage:
    """A domain's declaration for the pipeline.

    Attributes
    ----------
    name : str
        Stage name (progress, checkpoints, ``--stages``).
    run : callable
        ``run(ctx)``: computes, writes rasters with ``ctx.write_raster`` and tables with ``ctx.add_table``.
    title : str
        Name shown to users ("Land productivity (SO1-2)").
    options_key : str, optional
        Section of the run file holding the stage's options (``productivity:``).
    options : type, optional
        The pydantic model of that section (``extra="forbid"``).
    inputs : tuple of InputDecl
        Inputs this stage introduces into the run file.
    switched_on_by : tuple of str
        The stage runs when any of these inputs is given; empty: always.
    tables, layers : tuple of KeyPattern
        Every table key (``ctx.add_table``) and layer key (``ctx.layers[...]`` / ``ctx.write_raster``) it produces.
    restore : callable, optional
        ``restore(ctx)`` after the stage's layers and tables were reloaded on resume (to rebuild run services such
        as the area ledger).
    year_needs : callable, optional
        ``year_needs(assessment)``: the input years the stage will ask for; ``validate`` resolves them with
        :func:`openldn.core.years.closest_year` and warns about every substitution before anything runs.
    check : callable, optional
        ``check(assessment, inputs)``: error messages (one line each) about the stage's inputs that only the stage
        can judge (class codes against its legend...), run by ``validate`` and ``run`` before anything is written;
        ``inputs`` are the opened inputs cropped to the area of interest; for an integer input of up to 16 bits,
        :func:`openldn.io.checks.present_codes` gives the values its cells hold, listed while the input checks
        read it (no need to read it again).
    """

    name: str
    run: Callable[[StageContext], None]
    title: str
    options_key: str | None = None
    options: type[BaseModel] | None = None
    inputs: tuple[InputDecl, ...] = ()
    switched_on_by: tuple[str, ...] = ()
    tables: tuple[KeyPattern, ...] = ()
    layers: tuple[KeyPattern, ...] = ()
    restore: Callable[[StageContext], None] | None = None
    year_needs: Callable[[Any], Iterable[YearNeed]] | None = None
    check: Callable[[Any, Mapping[str, Any]], Iterable[str]] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def produces_table(self, key: str) -> bool:
        """Whether ``key`` is one of the declared tables."""
        return any(p.matches(key) for p in self.tables)

    def produces_layer(self, key: str) -> bool:
        """Whether ``key`` is one of the declared layers."""
        return any(p.matches(key) for p in self.layers)


def section_options(assessment: Any, section: str, model: type[OptionsT]) -> OptionsT:
    """The options of a run-file section as ``model``: the section itself, or validated from its mapping.

    Parameters
    ----------
    assessment
        The run file (an :class:`openldn.config.Assessment`, or a test double carrying the section).
    section
        The section's key (``"productivity"``, ``"accuracy"``...).
    model
        The section's pydantic model.

    Returns
    -------
    model
        The section's options; the model's defaults when the run file has no such section.
    """
    raw = getattr(assessment, section, None)
    if isinstance(raw, model):
        return raw
    if raw is not None and hasattr(raw, "model_dump"):
        raw = raw.model_dump()
    return model.model_validate(raw if isinstance(raw, dict) else {})
