"""A minimal run context for stage tests (architecture.md stage contract), on a real grid with the real zonal
functions. Inputs are aligned onto the reference grid with rioxarray (nearest), independently of openldn.io.
Loaded by the conftest files of tests/land_cover and tests/soil_carbon."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr


class FakeContext:
    """A minimal run context (architecture.md stage contract) on a real grid, with the real zonal functions.

    Inputs are aligned onto the land cover grid with rioxarray (nearest), independently of openldn.io.
    """

    def __init__(self, assessment: Any, files: dict[str, Any], reference: str = "land_cover") -> None:
        import logging

        import geopandas as gpd
        import odc.geo.xr  # noqa: F401
        import rioxarray

        from openldn.core.grid import pixel_area
        from openldn.core.periods import year_coords
        from openldn.zonal import build_coverage

        self.assessment = assessment
        self.raw: dict[str, Any] = {}
        for name, spec in files.items():
            if isinstance(spec, xr.DataArray):
                self.raw[name] = spec
                continue
            path, years = spec
            da_ = rioxarray.open_rasterio(path)
            if years is not None:
                da_ = da_.rename(band="time").assign_coords(time=year_coords(years))
            else:
                da_ = da_.squeeze("band", drop=True)
            self.raw[name] = da_
        ref = self.raw[reference]
        self.template = ref.isel(time=0) if "time" in ref.dims else ref
        self.geobox = self.template.odc.geobox
        self.area = pixel_area(self.template)
        self.coverage = build_coverage(self.geobox, aoi=gpd.read_file(assessment.resolve(assessment.aoi)))
        self.layers: dict[str, Any] = {}
        self.tables: dict[str, Any] = {}
        self.rasters: dict[str, dict[str, Any]] = {}
        self.substitutions: list[str] = []
        self.provenance: dict[str, Any] = {}
        self.log = logging.getLogger("openldn.test")

    def has_input(self, name: str) -> bool:
        return name in self.raw

    def input(self, name: str) -> Any:
        from rasterio.enums import Resampling

        da_ = self.raw[name]
        if da_.shape[-2:] != self.template.shape or not np.allclose(
            da_.rio.transform()[:6], self.template.rio.transform()[:6]
        ):
            da_ = da_.rio.reproject_match(self.template, resampling=Resampling.nearest)
        return da_.chunk({"y": 64, "x": 128})

    def write_raster(self, key: str, da_: Any, *, legend: Any = None, title: str | None = None,
                     units: str | None = None) -> None:
        self.rasters[key] = {"legend": legend, "title": title, "dtype": str(da_.dtype), "units": units}

    def add_table(self, key: str, df: Any) -> None:
        import pandas as pd

        self.tables[key] = pd.concat([self.tables[key], df], ignore_index=True) if key in self.tables else df

    def substitute(self, message: str) -> None:
        self.substitutions.append(message)

    def progress(self, *args: Any) -> None:
        pass
