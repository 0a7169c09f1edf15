"""Run-file options of the integration stage (SO1-4 and SO2-3): the ``integration:`` section."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["IntegrationOptions"]


class IntegrationOptions(BaseModel):
    """Options of SDG 15.3.1 integration, status, false-positive recode and SO2-3."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    improved_rule: Literal["trends_earth", "any_improved"] = Field(
        "trends_earth",
        description=(
            "How 'not degraded' splits into stable and improved: trends_earth = improved if "
            "productivity improved, or productivity stable and land cover or SOC improved; any_improved = any "
            "sub-indicator improved and none degraded."
        ),
    )
    nodata_rule: Literal["any_nodata", "degraded_wins"] = Field(
        "any_nodata",
        description="No-data propagation in 1OAO: any_nodata = no data if any input is no data; "
        "degraded_wins = a degraded input makes the pixel degraded even if another input is no data.",
    )
    status: Literal["matrix", "matrix_and_7class"] = Field(
        "matrix_and_7class",
        description="Status layers written per reporting period: the 3x3 status matrix, or it plus the 7-class status.",
    )
    land_area_km2: float | None = Field(
        None,
        gt=0,
        description="Official total land area (CP-1.T1) of the whole area of interest, in km²; "
        "None = computed from the land cover water mask.",
    )
    water_mask_year: Literal["baseline_initial", "baseline_final"] = Field(
        "baseline_initial",
        description="Land cover year (the baseline's first or last) whose water class (UNCCD 7) is the run's one "
        "water mask: the water row of every area table and the land-area denominator of every percentage ("
        "the area ledger).",
    )
    false_positives: str | None = Field(
        None,
        description="Polygon file of false positives / negatives, fields 'reason' (false_positive or "
        "false_negative), 'target' (degraded, stable or improved), optional 'periods', 'name', 'basis', 'start'.",
    )
    hotspots: str | None = Field(
        None, description="Polygon file of hotspots (SO1-4.T4), optional fields name, process, drivers, actions."
    )
    brightspots: str | None = Field(
        None, description="Polygon file of brightspots (SO1-4.T5), optional fields name, process, drivers, actions."
    )
    confidence: Literal["high", "medium", "low"] | None = Field(
        None, description="Confidence in the SDG 15.3.1 estimate reported in SO1-4.T2 (a national judgement)."
    )
    te_population_band: bool = Field(
        False,
        description="Also write Trends.Earth's signed population band (people, negated where degraded, no data on "
        "water) for file compatibility (docs/differences.md, D15); counts stay float.",
    )
    population_classes: Literal["period_sdg", "status"] = Field(
        "period_sdg",
        description="Map on which SO2-3 counts the population of the latest year: period_sdg = the last reporting "
        "period's own one-out-all-out map (Trends.Earth; architecture.md), status = the 3-class status of that "
        "period against the baseline. The baseline year always uses the baseline one-out-all-out map.",
    )
    population_baseline_year: int | None = Field(
        None, description="Population year for the SO2-3 baseline (default: last year of the baseline period)."
    )
    population_latest_year: int | None = Field(
        None, description="Population year for the SO2-3 latest value (default: last year of the last reporting period)."
    )
