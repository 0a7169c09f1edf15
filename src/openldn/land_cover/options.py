"""Run-file options of the land cover sub-indicator (SO1-1), section ``land_cover:`` of the assessment file."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["LandCoverOptions", "RegionOptions"]


class RegionOptions(BaseModel):
    """Region-specific transition matrices (at most five regions; PRAIS 2026 §1.1 Step 3)."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        description="Region boundaries: a vector file (GeoPackage, GeoJSON, Shapefile) or an integer raster of "
        "region codes; relative paths are relative to the run file."
    )
    id_field: str = Field(
        default="id",
        description="Attribute holding the region id (vector files only). Ids are matched to the keys of 'matrices'.",
    )
    matrices: dict[str, str] = Field(
        description="Region id -> transition matrix (package id such as 'unccd_default', or a YAML/CSV file). "
        "At most five regions."
    )

    @field_validator("matrices")
    @classmethod
    def _at_most_five(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            raise ValueError("give at least one region matrix")
        if len(v) > 5:
            raise ValueError(f"{len(v)} region matrices given; PRAIS allows at most 5: merge regions")
        return v


class LandCoverOptions(BaseModel):
    """Options of the land cover change sub-indicator (SO1-1; PRAIS 2026 reporting manual §1.1; GPG v2 ch. 3)."""

    model_config = ConfigDict(extra="forbid")

    nesting: str | dict[int, str] | None = Field(
        default=None,
        description="Nesting of the input legend into the 7 UNCCD classes: a package id ('esa_cci__unccd', "
        "'cgls_lc100__unccd'), or a YAML/CSV custom legend with a 'parent' column (at most 45 classes); or a "
        "mapping year -> nesting when the legend differs between years. Default: '<input legend>__unccd'.",
    )
    transition_matrix: str = Field(
        default="unccd_default",
        description="National transition matrix: package id or a YAML/CSV file (rows initial class, columns "
        "final class, cells -1/0/1).",
    )
    regions: RegionOptions | None = Field(
        default=None, description="Region-specific transition matrices (at most five); none = national matrix."
    )
    reporting_lc_start: int | None = Field(
        default=2015,
        description="Initial land cover year of every reporting period (Trends.Earth preset: 2015; the manual's "
        "text: 2016). None = the first year of each reporting period.",
    )
    extra_years: list[int] = Field(
        default_factory=list,
        description="Years added to the land cover area table SO1-1.T4 (e.g. [2019] when it is not a period end).",
    )
    max_year_gap: int = Field(
        default=3,
        ge=0,
        description="A missing year is replaced by the closest available year at most this many years away "
        "(recorded as a substitution, e.g. 2022 for 2023); beyond it the run stops.",
    )
    strict_codes: bool = Field(
        default=True,
        description="Stop on a land cover code that the nesting does not define (False: treat it as no data).",
    )
    water_mask: Literal["period_initial", "baseline_initial", "run"] = Field(
        default="period_initial",
        description="Where SOC change is masked as water in the SOC degradation layers (the SOC method only): "
        "class 7 of each period's initial year (Trends.Earth), of the baseline's initial year, or 'run' = the "
        "run's water mask. The water row of every table (SOC included) is always the run's one water mask, "
        "chosen by integration.water_mask_year (the area ledger), so every table has the same land area.",
    )
    write_maps: bool = Field(default=True, description="Write land cover, change and degradation maps.")

    @model_validator(mode="after")
    def _check(self) -> LandCoverOptions:
        if isinstance(self.nesting, dict) and not self.nesting:
            raise ValueError("nesting per year is empty: give a nesting for every land cover year, or one nesting")
        return self
