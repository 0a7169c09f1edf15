"""Fixtures of the drought tests: a minimal run context for the drought stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import xarray as xr


class _Layers(dict):
    """Layers computed once when set (as the pipeline materialises them)."""

    def __setitem__(self, key: str, value: xr.DataArray) -> None:
        super().__setitem__(key, value.compute())


@dataclass
class StageContext:
    """The parts of :class:`openldn.pipeline.RunContext` the drought stage uses (rasters kept in memory)."""

    geobox: Any
    area: xr.DataArray
    coverage: Any
    inputs_raw: dict[str, xr.DataArray]
    drought: Any = None
    base_dir: Path = Path(".")
    layers: dict[str, xr.DataArray] = field(default_factory=_Layers)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    rasters: dict[str, xr.DataArray] = field(default_factory=dict)
    substitutions: list[str] = field(default_factory=list)

    @property
    def assessment(self) -> Any:
        ctx = self

        class _A:
            source = "<test>"
            drought = ctx.drought
            inputs = ctx.inputs_raw

            @staticmethod
            def resolve(p: str) -> Path:
                q = Path(p)
                return q if q.is_absolute() else ctx.base_dir / q

        return _A()

    def has_input(self, name: str) -> bool:
        return name in self.inputs_raw

    def input(self, name: str) -> xr.DataArray:
        from openldn.io import align

        kind = "count" if name.startswith("population") else "continuous"
        return align(self.inputs_raw[name], self.geobox, kind=kind)

    def rechunk(self, da: xr.DataArray) -> xr.DataArray:
        return da

    def write_raster(self, key: str, da: xr.DataArray, **kwargs: Any) -> Path:
        self.rasters[key] = da.compute()
        return Path(key)

    def add_table(self, key: str, df: pd.DataFrame) -> None:
        self.tables[key] = df

    def substitute(self, message: str) -> None:
        self.substitutions.append(message)

    def progress(self, *args: Any) -> None:
        pass


@pytest.fixture
def stage_context() -> type[StageContext]:
    """The :class:`StageContext` class."""
    return StageContext
