"""Run-file options of the SOC sub-indicator (SO1-3), section ``soil_carbon:`` of the assessment file."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["SoilCarbonOptions"]


class SoilCarbonOptions(BaseModel):
    """Options of the SOC sub-indicator (PRAIS 2026 reporting manual §1.3; GPG v2 ch. 5)."""

    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(
        default=0.10, gt=0, lt=1, description="Relative change threshold of SOC degradation (0.10 = 10 %)."
    )
    strict: bool = Field(
        default=True,
        description="True: exactly +/-threshold is stable ('more than 10 %'); False: it is degraded / improved "
        "(Trends.Earth local pipeline).",
    )
    method: Literal["relative", "statistical"] = Field(
        default="relative",
        description="'relative': threshold on the relative change; 'statistical': reporting mean outside the "
        "baseline mean +/- n_sd standard deviations (needs several baseline stock years).",
    )
    n_sd: float = Field(default=2.0, gt=0, description="Half-width in standard deviations of the statistical test.")
    round_stocks: bool = Field(
        default=False, description="Compute the relative change from stocks rounded to whole t C/ha (Trends.Earth)."
    )
    stocks: Literal["auto", "model", "input"] = Field(
        default="auto",
        description="'model': Tier 1/2 stocks from the reference stock and the land cover; 'input': the SOC input "
        "already holds one stock per year (e.g. a national SOC series), used as is; 'auto': 'input' when the SOC "
        "input has several years, else 'model'.",
    )
    coefficients: str = Field(
        default="ipcc_tier1",
        description="Stock-change coefficients: 'ipcc_tier1' (Tier 1) or a YAML/CSV file of country-specific "
        "coefficients (Tier 2).",
    )
    climate_factor: str | float = Field(
        default="per_pixel",
        description="Climate factor f: 'per_pixel' (from the climate_zones input), a regime name "
        "('temperate_dry', 'temperate_moist', 'tropical_dry', 'tropical_moist', 'tropical_montane') or a number.",
    )
    reference_year: int | None = Field(
        default=None,
        description="Year the reference SOC stock represents (default: the year of the SOC input if it has one, "
        "else the baseline's first year, as SoilGrids is treated as 2000).",
    )
    annualisation: Literal["linear_20y", "geometric_20y"] = Field(
        default="linear_20y",
        description="How the 20-year coefficients are spread over the years after a change.",
    )
    transition_timing: Literal["mid", "start"] = Field(
        default="mid",
        description="Where a change between land cover years more than one year apart is placed (mid-interval as "
        "Trends.Earth, or at its start). Irrelevant with annual land cover.",
    )
    years: list[int] | None = Field(
        default=None,
        description="Years of the SOC stock table SO1-3.T1 (default: the initial and final years of the baseline "
        "and of every reporting period, e.g. 2000, 2015, 2019, 2023).",
    )
    max_year_gap: int = Field(
        default=3, ge=0, description="Largest distance to the closest available year used as a substitute."
    )
    write_maps: bool = Field(default=True, description="Write SOC stock, change and degradation maps.")

    @field_validator("climate_factor")
    @classmethod
    def _cf(cls, v: str | float) -> str | float:
        if isinstance(v, str):
            key = v.strip().lower().replace(" ", "_").replace("-", "_")
            allowed = {"per_pixel", "temperate_dry", "temperate_moist", "tropical_dry", "tropical_moist",
                       "tropical_montane"}
            if key not in allowed:
                try:
                    return float(key)
                except ValueError:
                    raise ValueError(f"climate_factor {v!r}: use one of {sorted(allowed)} or a number") from None
            return key
        if not 0 < float(v) <= 10:
            raise ValueError(f"climate_factor {v} must be a positive number")
        return v
