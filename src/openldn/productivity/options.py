"""Run-file options of the productivity stage (``productivity:`` section; docs/differences.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ProductivityOptions"]


class ProductivityOptions(BaseModel):
    """Options of land productivity dynamics (SO1-2). Presets (``data/presets``) set them; the run file overrides."""

    model_config = ConfigDict(extra="forbid")

    # windows (PRAIS 2026 reporting manual, Introduction and §1.2 Step 6)
    trend_years: int = Field(
        16, ge=3, le=100, description="Length of the trend window ending at the period's last year E."
    )
    state_recent_years: int = Field(
        3, ge=1, description="Length of the recent State window (E-2..E by default)."
    )
    performance_years: int | None = Field(
        None, ge=1, description="Length of the Performance window (default: trend_years)."
    )
    # annual productivity
    annual_aggregation: Literal["mean", "max", "sum"] = Field(
        "mean",
        description="How sub-annual vegetation index values are aggregated to one value per year (Trends.Earth: mean); "
        "ignored when the input is already annual.",
    )
    min_years: int = Field(
        10, ge=3, description="Minimum valid years of the trend window; fewer gives nodata."
    )
    # trajectory
    trajectory_method: Literal["mann_kendall", "zscore", "kendall_table"] = Field(
        "mann_kendall",
        description="mann_kendall: slope sign where the Mann-Kendall test is significant (PRAIS 2026); zscore: "
        "Mann-Kendall z against trajectory_z (GPG v2); kendall_table: Trends.Earth's rule, |S| against the "
        "critical values of Hollander & Wolfe Table A.30 for the window length, in its rule order.",
    )
    trajectory_level: Literal[90, 95, 99] = Field(
        95,
        description="Confidence level of the kendall_table method (Trends.Earth counts 95 and 99 as significant).",
    )
    trajectory_alpha: float = Field(
        0.05, gt=0, lt=1, description="Two-sided significance level of the trend test."
    )
    trajectory_z: float = Field(1.96, gt=0, description="z threshold of the zscore trajectory method.")
    trajectory_slope: Literal["ols", "theil_sen"] = Field(
        "ols", description="Slope whose sign gives the direction (Trends.Earth: OLS)."
    )
    trajectory_dead_band: float = Field(
        0.0, ge=0, description="Absolute slope (units per year) at or below which the trajectory is stable."
    )
    value_quantum: float | None = Field(
        None,
        gt=0,
        description="Storage step of the vegetation index (Trends.Earth: 0.0001, NDVI x 10000 as integers). When "
        "set, values are rounded to multiples of it and the trajectory and State dead bands are compared exactly "
        "in those integer units; None uses the values as given (comparisons in float64).",
    )
    autocorrelation: Literal["none", "hamed_rao", "pre_whitening"] = Field(
        "none",
        description="Autocorrelation-robust Mann-Kendall variant: Hamed-Rao variance or Yue-Wang pre-whitening.",
    )
    trajectory_p_method: Literal["normal", "exact"] = Field(
        "normal",
        description="p-value of the Mann-Kendall S: normal approximation (classical test) or the exact permutation "
        "distribution for series without ties.",
    )
    fdr: bool = Field(
        False, description="Benjamini-Hochberg false discovery rate control over the area of interest."
    )
    fdr_q: float = Field(0.05, gt=0, lt=1, description="False discovery rate when fdr is true.")
    climate_correction: Literal["none", "restrend", "rue", "wue"] = Field(
        "none",
        description="Climate correction of the trajectory: RESTREND residuals, rain or water use efficiency.",
    )
    climate_input: str = Field(
        "precipitation",
        description="Input holding the climate series: precipitation (RESTREND, RUE), climate (e.g. soil moisture) "
        "or pet / evapotranspiration (WUE).",
    )
    climate_aggregation: Literal["sum", "mean"] = Field(
        "sum", description="Aggregation of a monthly climate series to years (precipitation: sum)."
    )
    climate_scale: float = Field(
        1000.0, gt=0, description="Divisor of the climate variable for RUE/WUE (Trends.Earth: 1000)."
    )
    # state
    state_method: Literal["percentile_shift", "zscore"] = Field(
        "percentile_shift",
        description="percentile_shift: decile-class shift (PRAIS 2026); zscore: GPG v2 z-score.",
    )
    state_shift: int = Field(2, ge=1, description="Class shift counted as a change (percentile_shift).")
    state_classes: int = Field(10, ge=2, description="Number of percentile classes (percentile_shift).")
    state_extension: float = Field(
        0.05,
        ge=0,
        lt=1,
        description="Fraction of the historical range added at both ends before the percentiles.",
    )
    state_dead_band: float | None = Field(
        None, ge=0, description="Mean difference at or below which State is stable (Trends.Earth: 0.01 NDVI)."
    )
    state_z: float = Field(1.96, gt=0, description="z threshold of the zscore State.")
    state_standard_error: bool = Field(
        False, description="Divide the State z-score by the standard error of the recent mean (SEPAL, SYKE)."
    )
    # performance
    performance_threshold: float = Field(
        0.5, gt=0, description="Ratio to the unit percentile below which land is degraded."
    )
    performance_inclusive: bool = Field(
        False, description="Also count a ratio equal to the threshold as degraded (Trends.Earth: <= 0.5)."
    )
    performance_percentile: float = Field(
        90.0, gt=0, le=100, description="Percentile of the unit used as its potential."
    )
    performance_land_cover: Literal["unccd", "input"] = Field(
        "unccd",
        description="Land cover of the productivity units: the 7 UNCCD classes, or the input's own classes (e.g. the "
        "37 ESA CCI classes, as Trends.Earth).",
    )
    performance_min_unit_pixels: int = Field(1, ge=1, description="Units with fewer valid pixels get nodata.")
    # combination
    lpd_table: str = Field(
        "prais_2026_table13",
        description="LPD combination table: prais_2026_table13, prais_2022_table13, prais_2022_table12 or a YAML path.",
    )
    lpd_table_baseline: str | None = Field(
        None, description="Table used for the baseline only (GPG v2 preset: prais_2022_table12)."
    )
    # imported LPD (PRAIS 2026 reporting manual §1.2; GPG v2 ch. 4)
    lpd_source: Literal["jrc", "fao_wocat", "trends_earth", "custom"] = Field(
        "custom", description="Origin of an imported LPD map (input 'lpd'), used instead of computing LPD."
    )
    lpd_nodata: list[float] = Field(
        default_factory=lambda: [0.0, 15.0], description="Codes of an imported LPD map read as nodata."
    )
    strict_codes: bool = Field(True, description="Unknown LPD codes are errors (false: nodata).")

    @model_validator(mode="after")
    def _windows(self) -> ProductivityOptions:
        if self.state_recent_years >= self.trend_years - 1:
            raise ValueError(
                f"state_recent_years={self.state_recent_years} must be smaller than trend_years - 1 "
                f"({self.trend_years - 1})"
            )
        if self.min_years > self.trend_years:
            raise ValueError(f"min_years={self.min_years} exceeds trend_years={self.trend_years}")
        if self.trajectory_method == "kendall_table" and not 4 <= self.trend_years <= 60:
            raise ValueError(
                f"trajectory_method=kendall_table: the critical-S table covers trend_years 4 to 60, not "
                f"{self.trend_years}; use trajectory_method: mann_kendall for longer windows"
            )
        if self.trajectory_method == "kendall_table" and (self.fdr or self.autocorrelation != "none"):
            raise ValueError(
                "trajectory_method=kendall_table tests the plain S against a critical-value table: set fdr: false "
                "and autocorrelation: none, or use trajectory_method: mann_kendall"
            )
        if self.trajectory_method == "kendall_table" and self.trajectory_level == 99 and self.trend_years == 60:
            raise ValueError("trajectory_level=99: the critical-S table has no 99 % value for 60 years")
        return self
