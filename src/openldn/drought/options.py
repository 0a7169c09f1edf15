"""Run-file options of the drought stage (SO3-1, SO3-2, SO3-3): the ``drought:`` section.

Defaults are those of the ``prais_2026_te`` preset (PRAIS 2026 reporting manual, Introduction and §1.2 Step 6, §9); the preset's ``drought:``
section (``index``, ``scale``, ``calibration``, ``distribution``, ``class_boundaries``) is merged under the user's
values by :func:`openldn.config.load_assessment`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from openldn.core.periods import Period

__all__ = ["DroughtOptions"]


def _period(value: str, what: str) -> str:
    try:
        return Period.from_user_input(value).label
    except Exception as err:  # PeriodError -> pydantic message
        raise ValueError(f"{what} {value!r} is not a period 'YYYY-YYYY'") from err


class DroughtOptions(BaseModel):
    """Options of the drought indicators: index, classes, windows, exposure and vulnerability."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    index: Literal["spi", "spei"] = Field(
        "spi", description="Drought index: spi (precipitation) or spei (precipitation minus PET, needs input 'pet')."
    )
    scale: int = Field(12, ge=1, le=48, description="Accumulation in months (SO3-1 uses SPI-12).")
    month: int = Field(
        12, ge=1, le=12, description="Calendar month whose index value represents the year (12 = calendar year)."
    )
    calibration: str = Field("1981-2010", description="Calibration (reference) period of the fit, 'YYYY-YYYY'.")
    distribution: Literal["gamma", "pearson3", "loglogistic"] = Field(
        "gamma",
        description="Distribution fitted per pixel and calendar month: gamma (SPI default), pearson3, or "
        "loglogistic (SPEI default).",
    )
    class_boundaries: Literal["upper_inclusive", "lower_inclusive"] = Field(
        "upper_inclusive",
        description="Intensity class boundaries: upper_inclusive = manual Table 19 (SPI = 0 mild, -1 moderate, "
        "-1.5 severe, -2 extreme); lower_inclusive = Trends.Earth.",
    )
    years: str = Field("2000-2023", description="Years of the annual drought classes and tables, 'YYYY-YYYY'.")
    window_start: int = Field(2000, description="First year of the first maximum-intensity window.")
    window_length: int = Field(4, ge=1, le=10, description="Length of the maximum-intensity windows in years.")
    window_anchor: Literal["window_start", "first_year"] = Field(
        "window_start",
        description="Where the maximum-intensity windows start: window_start = fixed windows from window_start "
        "(PRAIS 2000-2003 ... 2020-2023); first_year = every window_length years from the first of 'years' "
        "(Trends.Earth).",
    )
    population: bool = Field(True, description="Compute SO3-2 exposure when population inputs are given.")
    population_year: Literal["min_index", "window_end"] = Field(
        "min_index",
        description="Population counted at a window's highest drought intensity: min_index = each cell's "
        "population in the year of its minimum SPI/SPEI in the window (Trends.Earth; first such year on a tie); "
        "window_end = the window's last year.",
    )
    exclude_water: bool = Field(
        True,
        description="Exclude water (the run's one water mask) from drought exposure: population on water cells is "
        "reported as water (code -2) in the population table and is no data on the exposure maps.",
    )
    dvi_factors: str | None = Field(
        None,
        description="CSV of DVI factors: year, factor, sex, value (Tier 1/2), plus zone_id (Tier 3); "
        "format in openldn/data/drought/dvi_example.csv. None = no SO3-3.",
    )
    dvi_catalogue: str | None = Field(
        None,
        description="CSV of extra or redefined DVI factors: factor, component, direction (positive/negative); "
        "default: the GPG-SO3 factors of openldn/data/drought/dvi_factors.csv.",
    )
    dvi_grids: dict[str, str] = Field(
        default_factory=dict,
        description="Tier 3 gridded DVI factors: factor name -> raster (one band, or one band per year); "
        "normalised over every cell and year of the area.",
    )
    dvi_weights: dict[str, float] = Field(
        default_factory=dict, description="Weights of DVI factors inside their component (default 1 each)."
    )
    dvi_end_year: int = Field(2023, description="Last year of the history used to normalise the DVI factors.")
    dvi_trend_tolerance: float = Field(
        0.05, ge=0, description="DVI change over the years below which SO3-3.T2 reports 'No change'."
    )

    @field_validator("calibration")
    @classmethod
    def _check_calibration(cls, v: str) -> str:
        return _period(v, "calibration")

    @field_validator("years")
    @classmethod
    def _check_years(cls, v: str) -> str:
        return _period(v, "years")
