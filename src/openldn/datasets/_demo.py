"""The built-in demo: a small synthetic area of interest in semi-arid Kenya with planted, documented patches.

Every value is generated from a seeded random generator, so two runs with the same arguments give identical
files (rasters, truth.json, run file). See :func:`make_demo` for the content and ``truth.json`` (written beside the
data) for the planted truth. The default demo (300 x 300) takes about 1-2 s and 21 MB on disk.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import yaml
from affine import Affine
from shapely.geometry import box

from openldn.core.codes import NODATA
from openldn.datasets._raster import smooth_field, write_stack
from openldn.datasets._vector import irregular_aoi, split_into_zones, write_gpkg
from openldn.exceptions import InputFileError
from openldn.io import atomic_path

__all__ = [
    "DEMO_BASELINE",
    "DEMO_BOUNDS_ORIGIN",
    "DEMO_CHANGE_YEAR",
    "DEMO_DROUGHT_YEAR",
    "DEMO_FILES",
    "DEMO_MONTHS",
    "DEMO_PRECIP_FACTOR",
    "DEMO_REPORTING",
    "DEMO_RESOLUTION",
    "DEMO_SEED",
    "DEMO_YEARS",
    "IPCC_CLIMATE_ZONES",
    "demo_truth",
    "make_demo",
]

#: Years of the annual stacks (NDVI, land cover, population).
DEMO_YEARS: tuple[int, ...] = tuple(range(2000, 2024))
#: Months of the precipitation stack, as ``YYYY-MM`` labels (1981-01 .. 2023-12).
DEMO_MONTHS: tuple[str, ...] = tuple(f"{y}-{m:02d}" for y in range(1981, 2024) for m in range(1, 13))
#: Baseline and reporting periods written in ``assessment.yaml``.
DEMO_BASELINE = "2000-2015"
DEMO_REPORTING: tuple[str, ...] = ("2016-2019", "2016-2023")
#: Default seed of :func:`make_demo`.
DEMO_SEED = 20261125
#: Pixel size of the demo grid in degrees (about 278 m at this latitude).
DEMO_RESOLUTION = 0.0025
#: Upper-left corner (lon, lat) of the demo grid: Machakos/Kitui counties, Kenya (semi-arid, tropical dry/moist).
DEMO_BOUNDS_ORIGIN: tuple[float, float] = (37.5, -1.0)
#: Precipitation is on a coarser grid: this many demo pixels per precipitation cell (0.025°, like CHIRPS-class data).
DEMO_PRECIP_FACTOR = 10
#: First year of the new land cover in the deforestation, cropland-expansion and urban-expansion patches.
DEMO_CHANGE_YEAR = 2017
#: Calendar year of the planted drought.
DEMO_DROUGHT_YEAR = 2021
#: File names written by :func:`make_demo` (key -> file name).
DEMO_FILES: dict[str, str] = {
    "ndvi": "ndvi.tif",
    "land_cover": "land_cover.tif",
    "soc": "soc.tif",
    "climate_zones": "climate_zones.tif",
    "climate_zone_codes": "climate_zone_codes.csv",
    "precipitation": "precipitation.tif",
    "population_total": "population_total.tif",
    "population_female": "population_female.tif",
    "population_male": "population_male.tif",
    "aoi": "aoi.gpkg",
    "zones": "zones.gpkg",
    "truth": "truth.json",
    "assessment": "assessment.yaml",
    "readme": "README.md",
}

#: IPCC 2006 climate zones (Vol. 4, Fig. 3A.5.1), the 12-class numbering of the Trends.Earth/JRC raster.
IPCC_CLIMATE_ZONES: dict[int, str] = {
    0: "No data",
    1: "Warm Temperate Moist",
    2: "Warm Temperate Dry",
    3: "Cool Temperate Moist",
    4: "Cool Temperate Dry",
    5: "Polar Moist",
    6: "Polar Dry",
    7: "Boreal Moist",
    8: "Boreal Dry",
    9: "Tropical Montane",
    10: "Tropical Wet",
    11: "Tropical Moist",
    12: "Tropical Dry",
}
#: SOC land-use factor f of the climate zones present in the demo (PRAIS 2026 reporting manual §1.3; GPG v2 ch. 5).
_F_BY_ZONE = {11: 0.48, 12: 0.58}

# ESA CCI codes used in the demo.
CROP, TREE_EVERGREEN, TREE_DECIDUOUS, SHRUB, GRASS, SPARSE, URBAN, BARE, WATER = (
    10,
    50,
    60,
    120,
    130,
    150,
    190,
    200,
    210,
)
_UNCCD = {10: 3, 50: 1, 60: 1, 120: 2, 130: 2, 150: 2, 190: 5, 200: 6, 210: 7}

#: Mean annual NDVI of each ESA CCI class (semi-arid East Africa, MODIS-like annual mean).
_NDVI_MEAN = {
    CROP: 0.46,
    TREE_EVERGREEN: 0.72,
    TREE_DECIDUOUS: 0.64,
    SHRUB: 0.36,
    GRASS: 0.42,
    SPARSE: 0.20,
    URBAN: 0.14,
    BARE: 0.09,
    WATER: -0.10,
}
#: Sensitivity of each class to the common interannual (rainfall-driven) NDVI anomaly.
_NDVI_RESPONSE = {
    CROP: 1.0,
    TREE_EVERGREEN: 0.6,
    TREE_DECIDUOUS: 0.8,
    SHRUB: 1.0,
    GRASS: 1.1,
    SPARSE: 0.8,
    URBAN: 0.3,
    BARE: 0.3,
    WATER: 0.2,
}
#: Per-pixel, per-year NDVI noise standard deviation of each class.
_NDVI_NOISE = {
    CROP: 0.005,
    TREE_EVERGREEN: 0.005,
    TREE_DECIDUOUS: 0.005,
    SHRUB: 0.005,
    GRASS: 0.005,
    SPARSE: 0.004,
    URBAN: 0.003,
    BARE: 0.003,
    WATER: 0.003,
}
#: Reference SOC stock 0-30 cm (t C/ha) of each class in 2000.
_SOC_MEAN = {
    CROP: 32.0,
    TREE_EVERGREEN: 70.0,
    TREE_DECIDUOUS: 55.0,
    SHRUB: 30.0,
    GRASS: 38.0,
    SPARSE: 22.0,
    URBAN: 25.0,
    BARE: 12.0,
}
#: Population density in 2000 (persons / km²) of each class.
_POP_DENSITY = {
    CROP: 120.0,
    TREE_EVERGREEN: 15.0,
    TREE_DECIDUOUS: 15.0,
    SHRUB: 25.0,
    GRASS: 40.0,
    SPARSE: 8.0,
    URBAN: 3000.0,
    BARE: 2.0,
    WATER: 0.0,
}
#: Annual population growth rate.
_POP_GROWTH = 0.027

#: Common interannual NDVI anomaly 2000-2023 (rainfall-driven greenness), chosen so that it has no trend and no
#: recent-vs-historical shift in any of the three productivity windows (Mann-Kendall S = -8, 10, 3 and
#: mean(last 3) - mean(first 13) < 0.001 for 2000-2015, 2004-2019, 2008-2023).
COMMON_NDVI_ANOMALY: tuple[float, ...] = (
    0.0, 0.006, 0.003, -0.019, -0.025, 0.007, 0.008, 0.039, -0.013, 0.008, 0.003, -0.005,
    -0.027, -0.031, 0.04, -0.011, 0.041, 0.014, -0.013, 0.009, -0.032, -0.01, 0.0, 0.006,
)  # fmt: skip

#: Seasonal share of the annual precipitation per month (bimodal East African long and short rains).
_MONTH_WEIGHTS = np.array([0.03, 0.03, 0.10, 0.20, 0.12, 0.02, 0.01, 0.01, 0.02, 0.10, 0.22, 0.14])

#: NDVI slope (per year) of the declining and improving patches from 2008 on.
_TREND_SLOPE = 0.012
_TREND_START = 2008
#: Precipitation multiplier of the drought year inside / outside the drought patch.
_DROUGHT_FACTOR = 0.33
_NO_DROUGHT_FACTOR = 1.10

_PERIODS = (DEMO_BASELINE, *DEMO_REPORTING)


@dataclass(frozen=True)
class _Patch:
    """A planted rectangle: centre offset and half-size as fractions of the grid size."""

    name: str
    dr: float
    dc: float
    half_h: float
    half_w: float

    def window(self, size: int) -> tuple[int, int, int, int]:
        """(row_off, col_off, height, width) in pixels for a ``size`` x ``size`` grid."""
        h, w = max(3, round(size * self.half_h)), max(3, round(size * self.half_w))
        r = round(size * (0.5 + self.dr))
        c = round(size * (0.5 + self.dc))
        return r - h, c - w, 2 * h, 2 * w


_PATCHES = (
    _Patch("deforestation", -0.15, -0.15, 0.04, 0.04),
    _Patch("cropland_expansion", -0.20, 0.08, 0.04, 0.04),
    _Patch("urban_expansion", 0.00, 0.20, 0.04, 0.04),
    _Patch("declining_productivity", 0.18, -0.18, 0.04, 0.04),
    _Patch("improving_productivity", 0.21, 0.08, 0.04, 0.04),
    _Patch("water_body", -0.01, -0.22, 0.04, 0.03),
    _Patch("town", 0.00, 0.05, 0.025, 0.03),
)
#: Drought patch in fractions of the grid (row0, row1, col0, col1), snapped to precipitation cells.
_DROUGHT_FRACTIONS = (0.58, 0.92, 0.66, 0.95)


def _windows(size: int) -> dict[str, tuple[int, int, int, int]]:
    return {p.name: p.window(size) for p in _PATCHES}


def _drought_window(size: int) -> tuple[int, int, int, int]:
    """Drought patch as (row_off, col_off, height, width) in precipitation cells."""
    nc = -(-size // DEMO_PRECIP_FACTOR)
    r0, r1, c0, c1 = (round(f * nc) for f in _DROUGHT_FRACTIONS)
    return r0, c0, max(1, r1 - r0), max(1, c1 - c0)


def _sl(win: tuple[int, int, int, int]) -> tuple[slice, slice]:
    r, c, h, w = win
    return slice(r, r + h), slice(c, c + w)


def _lookup(codes: np.ndarray, table: dict[int, float]) -> np.ndarray:
    lut = np.zeros(256, dtype=np.float32)
    for k, v in table.items():
        lut[k] = v
    return lut[codes]


def _wetness(size: int, n: int | None = None, step: float = 1.0, offset: float = 0.5) -> np.ndarray:
    """Deterministic NW (wet) to SE (dry) gradient in [0, 1] at cell centres ``(i * step + offset) / size``."""
    n = size if n is None else n
    u = (np.arange(n) * step + offset) / size
    return np.clip(1.0 - 0.5 * (u[None, :] + u[:, None]), 0.0, 1.0)


def _mean_annual_precip(wet: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Mean annual precipitation (mm) from the wetness gradient: 420 mm (SE) to 1200 mm (NW)."""
    return 420.0 + 780.0 * wet + 40.0 * noise


def _land_cover(size: int, seed: int, wins: dict[str, tuple[int, int, int, int]]) -> np.ndarray:
    """Annual ESA CCI land cover (year, y, x) uint8."""
    shape = (size, size)
    wet = _wetness(size) + 0.22 * smooth_field((seed, 1), coarse=(9, 9), shape=shape)
    use = smooth_field((seed, 2), coarse=(8, 8), shape=shape)
    lc = np.full(shape, GRASS, dtype=np.uint8)
    lc[use > 0.3] = CROP
    lc[use < -0.35] = SHRUB
    lc[wet < 0.30] = SPARSE
    lc[wet < 0.17] = BARE
    lc[wet > 0.68] = TREE_DECIDUOUS
    lc[wet > 0.86] = TREE_EVERGREEN
    for name, code in (("water_body", WATER), ("town", URBAN), ("declining_productivity", GRASS),
                       ("improving_productivity", SHRUB), ("deforestation", TREE_DECIDUOUS),
                       ("cropland_expansion", GRASS), ("urban_expansion", CROP)):  # fmt: skip
        lc[_sl(wins[name])] = code
    stack = np.repeat(lc[np.newaxis], len(DEMO_YEARS), axis=0)
    after = slice(DEMO_YEARS.index(DEMO_CHANGE_YEAR), None)
    for name, code in (("deforestation", CROP), ("cropland_expansion", CROP), ("urban_expansion", URBAN)):
        rs, cs = _sl(wins[name])
        stack[after, rs, cs] = code
    return stack


def _ndvi(size: int, seed: int, lc: np.ndarray, wins: dict[str, tuple[int, int, int, int]]) -> np.ndarray:
    """Annual mean NDVI (year, y, x) float64."""
    shape = (size, size)
    rng = np.random.default_rng((seed, 3))
    # multiplicative spatial variation (+-20 %), so that no background pixel falls below half its class's
    # 90th percentile (Performance)
    spatial = (
        1.0 + 0.25 * (_wetness(size) - 0.5) + 0.06 * smooth_field((seed, 4), coarse=(12, 12), shape=shape)
    )
    gain = np.clip(1.0 + 0.3 * smooth_field((seed, 5), coarse=(5, 5), shape=shape), 0.5, 1.5)
    anomaly = np.asarray(COMMON_NDVI_ANOMALY)[:, None, None]
    ndvi = (
        _lookup(lc, _NDVI_MEAN) * spatial
        + anomaly * gain * _lookup(lc, _NDVI_RESPONSE)
        + rng.standard_normal(lc.shape) * _lookup(lc, _NDVI_NOISE)
    )
    years = np.asarray(DEMO_YEARS)[:, None, None]
    ramp = _TREND_SLOPE * np.clip(years - (_TREND_START - 1), 0, None)
    rs, cs = _sl(wins["declining_productivity"])
    ndvi[:, rs, cs] -= ramp
    rs, cs = _sl(wins["improving_productivity"])
    ndvi[:, rs, cs] += ramp - 0.08  # a degraded shrubland that recovers
    return np.clip(ndvi, -0.2, 0.95)


def _soc(size: int, seed: int, lc2000: np.ndarray) -> np.ndarray:
    """SOC stock 0-30 cm in 2000 (t C/ha) as int16, -32768 on water."""
    shape = (size, size)
    rng = np.random.default_rng((seed, 6))
    soc = _lookup(lc2000, _SOC_MEAN) * np.exp(0.12 * smooth_field((seed, 7), coarse=(10, 10), shape=shape))
    soc += 12.0 * (_wetness(size) - 0.5) + rng.normal(0.0, 1.5, shape)
    out = np.clip(np.round(soc), 3, 300).astype(np.int16)
    out[lc2000 == WATER] = -32768
    return out


def _precipitation(size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Monthly precipitation (month, y, x) float32 mm on the coarse grid and the mean annual precipitation."""
    nc = -(-size // DEMO_PRECIP_FACTOR)
    shape = (nc, nc)
    f = DEMO_PRECIP_FACTOR
    wet = _wetness(size, nc, f, f / 2)
    mean_annual = _mean_annual_precip(wet, smooth_field((seed, 8), coarse=(4, 4), shape=shape))
    years = np.arange(1981, 2024)
    rng = np.random.default_rng((seed, 9))
    z_year = rng.standard_normal(len(years))
    sigma = 0.16
    factor = np.empty((len(years), *shape))
    for i, _ in enumerate(years):
        local = smooth_field((seed, 10, i), coarse=(3, 3), shape=shape)
        factor[i] = np.exp(sigma * (z_year[i] + 0.5 * local) - 0.5 * sigma**2 * 1.09)
    iy = int(np.where(years == DEMO_DROUGHT_YEAR)[0][0])
    factor[iy] = _NO_DROUGHT_FACTOR
    rs, cs = _sl(_drought_window(size))
    factor[iy, rs, cs] = _DROUGHT_FACTOR
    eps = rng.gamma(4.0, 0.25, size=(len(years), 12, *shape))
    monthly = mean_annual[None, None] * _MONTH_WEIGHTS[None, :, None, None] * factor[:, None] * eps
    return np.round(monthly.reshape(len(years) * 12, *shape), 2).astype(np.float32), mean_annual


def _population(size: int, seed: int, lc: np.ndarray, lat_centres: np.ndarray) -> tuple[np.ndarray, ...]:
    """Population total, female, male (year, y, x) float32 persons per pixel; female + male == total exactly."""
    shape = (size, size)
    km_per_deg = 111.32
    cell_km2 = (DEMO_RESOLUTION * km_per_deg) ** 2 * np.cos(np.deg2rad(lat_centres))[:, None]
    spread = np.exp(0.35 * smooth_field((seed, 11), coarse=(14, 14), shape=shape))
    growth = (1.0 + _POP_GROWTH) ** (np.asarray(DEMO_YEARS) - DEMO_YEARS[0])
    total = (_lookup(lc, _POP_DENSITY) * (cell_km2 * spread)[None] * growth[:, None, None]).astype(np.float32)
    share = 0.505 + 0.008 * smooth_field((seed, 12), coarse=(6, 6), shape=shape)
    # Sterbenz: with big in [total/2, total], total - big is exact, so small + big == total in any precision.
    big = (total * np.maximum(share, 1.0 - share)[None]).astype(np.float32)
    small = (total - big).astype(np.float32)
    female_big = (share >= 0.5)[None]
    female = np.where(female_big, big, small)
    male = np.where(female_big, small, big)
    return total, female.astype(np.float32), male.astype(np.float32)


def _bbox(transform: Affine, win: tuple[int, int, int, int]) -> list[float]:
    r, c, h, w = win
    x0, y0 = transform * (c, r)
    x1, y1 = transform * (c + w, r + h)
    return [round(min(x0, x1), 7), round(min(y0, y1), 7), round(max(x0, x1), 7), round(max(y0, y1), 7)]


def _mk_significant_fraction(series: np.ndarray) -> float:
    """Fraction of pixels whose Mann-Kendall Z (no tie correction) exceeds 1.96 in absolute value."""
    n = series.shape[0]
    s = np.zeros(series.shape[1:], dtype=np.int64)
    for i in range(n - 1):
        s += np.sign(series[i + 1 :] - series[i]).sum(axis=0).astype(np.int64)
    var = n * (n - 1) * (2 * n + 5) / 18.0
    z = (s - np.sign(s)) / math.sqrt(var)
    return float(np.mean(np.abs(z) > 1.96))


def _patch_truth(
    size: int,
    transform: Affine,
    wins: dict[str, tuple[int, int, int, int]],
    zones: gpd.GeoDataFrame,
    cz: np.ndarray,
) -> list[dict[str, Any]]:
    """The truth entries of the land patches."""
    cy = DEMO_CHANGE_YEAR
    both = {"2000-2015": 0, "2016-2019": None, "2016-2023": None}
    entries: dict[str, dict[str, Any]] = {
        "deforestation": {
            "planted": f"ESA CCI 60 (tree cover, broadleaved deciduous) in 2000-{cy - 1}, 10 (cropland, rainfed) "
            f"from {cy}; NDVI follows the class means (0.64 -> 0.46)",
            "years": [cy],
            "land_cover": {"before": TREE_DECIDUOUS, "after": CROP, "change_year": cy},
            "expected": {
                "lc_degradation": {**both, "2016-2019": -1, "2016-2023": -1},
                "lpd": {"2000-2015": [3, 4], "2016-2019": [1, 2], "2016-2023": [1, 2]},
                "prod_degradation": {"2000-2015": 0, "2016-2019": -1, "2016-2023": -1},
                "soc_degradation": {"2000-2015": 0, "2016-2019": 0, "2016-2023": -1},
                "sdg": {"2000-2015": 0, "2016-2019": -1, "2016-2023": -1},
            },
        },
        "cropland_expansion": {
            "planted": f"ESA CCI 130 (grassland) in 2000-{cy - 1}, 10 (cropland, rainfed) from {cy}; "
            "NDVI follows the class means (0.42 -> 0.46)",
            "years": [cy],
            "land_cover": {"before": GRASS, "after": CROP, "change_year": cy},
            "expected": {
                "lc_degradation": {**both, "2016-2019": 1, "2016-2023": 1},
                "lpd": {"2000-2015": [3, 4], "2016-2019": [3, 4, 5], "2016-2023": [3, 4, 5]},
                "prod_degradation": {"2000-2015": 0, "2016-2019": [0, 1], "2016-2023": [0, 1]},
                "soc_degradation": {"2000-2015": 0, "2016-2019": 0, "2016-2023": -1},
                "sdg": {"2000-2015": 0, "2016-2019": 1, "2016-2023": -1},
                "note": "LC and productivity improve, but the SOC loss of grassland -> cropland (f = 0.58: "
                "12.6-14.7 % after 6-7 years, linear 20-year annualisation) makes the SDG degraded by 2023 (1OAO)",
            },
        },
        "urban_expansion": {
            "planted": f"ESA CCI 10 (cropland) in 2000-{cy - 1}, 190 (urban) from {cy}; NDVI 0.46 -> 0.14; "
            "population density 120 -> 3000 persons/km²",
            "years": [cy],
            "land_cover": {"before": CROP, "after": URBAN, "change_year": cy},
            "expected": {
                "lc_degradation": {**both, "2016-2019": -1, "2016-2023": -1},
                "lpd": {"2000-2015": [3, 4], "2016-2019": [1, 2], "2016-2023": [1, 2]},
                "prod_degradation": {"2000-2015": 0, "2016-2019": -1, "2016-2023": -1},
                "soc_degradation": {"2000-2015": 0, "2016-2019": None, "2016-2023": -1},
                "sdg": {"2000-2015": 0, "2016-2019": -1, "2016-2023": -1},
                "note": "SOC loss to 2019 is 9-13.5 % (factor 0.1 over 20 years, 2-3 years of change): degraded "
                "or stable depending on the transition-timing convention",
            },
        },
        "declining_productivity": {
            "planted": f"stable ESA CCI 130 (grassland); NDVI flat until {_TREND_START - 1}, then "
            f"-{_TREND_SLOPE} per year ({_TREND_START}-2023, total -{_TREND_SLOPE * 16:.3f})",
            "years": list(range(_TREND_START, 2024)),
            "land_cover": {"before": GRASS, "after": GRASS, "change_year": None},
            "ndvi_slope_per_year": -_TREND_SLOPE,
            "expected": {
                "lc_degradation": {"2000-2015": 0, "2016-2019": 0, "2016-2023": 0},
                "lpd": {"2000-2015": [1, 2], "2016-2019": 1, "2016-2023": 1},
                "prod_degradation": {"2000-2015": -1, "2016-2019": -1, "2016-2023": -1},
                "soc_degradation": {"2000-2015": 0, "2016-2019": 0, "2016-2023": 0},
                "sdg": {"2000-2015": -1, "2016-2019": -1, "2016-2023": -1},
            },
        },
        "improving_productivity": {
            "planted": f"stable ESA CCI 120 (shrubland) starting 0.08 below the class mean; NDVI flat until "
            f"{_TREND_START - 1}, then +{_TREND_SLOPE} per year ({_TREND_START}-2023)",
            "years": list(range(_TREND_START, 2024)),
            "land_cover": {"before": SHRUB, "after": SHRUB, "change_year": None},
            "ndvi_slope_per_year": _TREND_SLOPE,
            "expected": {
                "lc_degradation": {"2000-2015": 0, "2016-2019": 0, "2016-2023": 0},
                "lpd": {"2000-2015": 5, "2016-2019": 5, "2016-2023": 5},
                "prod_degradation": {"2000-2015": 1, "2016-2019": 1, "2016-2023": 1},
                "soc_degradation": {"2000-2015": 0, "2016-2019": 0, "2016-2023": 0},
                "sdg": {"2000-2015": 1, "2016-2019": 1, "2016-2023": 1},
            },
        },
        "water_body": {
            "planted": "stable ESA CCI 210 (water bodies) in every year; SOC nodata; no population",
            "years": [],
            "land_cover": {"before": WATER, "after": WATER, "change_year": None},
            "expected": {
                "lc_unccd": 7,
                "lc_degradation": {"2000-2015": 0, "2016-2019": 0, "2016-2023": 0},
                "soc_degradation": {"2000-2015": NODATA, "2016-2019": NODATA, "2016-2023": NODATA},
                "sdg": {"2000-2015": NODATA, "2016-2019": NODATA, "2016-2023": NODATA},
                "note": "water is excluded from the land area; SOC and SDG are no data on water (Trends.Earth)",
            },
        },
        "town": {
            "planted": "stable ESA CCI 190 (urban) in every year; 3000 persons/km² in 2000",
            "years": [],
            "land_cover": {"before": URBAN, "after": URBAN, "change_year": None},
            "expected": {"lc_degradation": {"2000-2015": 0, "2016-2019": 0, "2016-2023": 0}},
        },
    }
    out = []
    for p in _PATCHES:
        win = wins[p.name]
        rs, cs = _sl(win)
        zone_code = int(np.bincount(cz[rs, cs].ravel()).argmax())
        poly = box(*_bbox(transform, win))
        touching = zones[zones.intersects(poly)]
        out.append(
            {
                "name": p.name,
                **{k: v for k, v in entries[p.name].items() if k != "expected"},
                "bbox": _bbox(transform, win),
                "window": {"row_off": win[0], "col_off": win[1], "height": win[2], "width": win[3]},
                "climate_zone": zone_code,
                "soc_factor_f": _F_BY_ZONE.get(zone_code),
                "zone_ids": sorted(str(z) for z in touching["id"]),
                "expected": entries[p.name]["expected"],
            }
        )
    return out


def _readme(size: int, truth: dict[str, Any]) -> str:
    lines = [
        "# openldn demo data (synthetic)",
        "",
        f"Synthetic area in semi-arid Kenya, {size} x {size} pixels of {DEMO_RESOLUTION}° (EPSG:4326), "
        f"seed {truth['seed']}. Generated by `openldn.datasets.make_demo`; every value is synthetic.",
        "",
        "| file | content |",
        "|---|---|",
        "| ndvi.tif | annual mean NDVI 2000-2023, int16 x 10000 (scale 0.0001 declared), nodata -32768 |",
        "| land_cover.tif | annual ESA CCI land cover 2000-2023, uint8, nodata 0 |",
        "| soc.tif | SOC stock 0-30 cm in 2000, t C/ha, int16, nodata -32768 (water) |",
        "| climate_zones.tif + climate_zone_codes.csv | IPCC 2006 climate zones (12-class codes), uint8, nodata 0 |",
        f"| precipitation.tif | monthly precipitation 1981-01..2023-12, mm, float32, nodata -9999, on a "
        f"{DEMO_RESOLUTION * DEMO_PRECIP_FACTOR}° grid |",
        "| population_{total,female,male}.tif | persons per pixel 2000-2023, float32, nodata -99999; "
        "female + male == total |",
        "| aoi.gpkg | irregular area of interest (layer `aoi`) |",
        "| zones.gpkg | admin units partitioning the AOI (layer `zones`, fields `id`, `name`) |",
        "| truth.json | planted patches and expected outcomes |",
        "| assessment.yaml | run file for `openldn run` |",
        "",
        "Band descriptions hold the year (`YYYY`) or month (`YYYY-MM`); bands also carry a `YEAR` or `MONTH` tag.",
        "",
        "## Planted patches",
        "",
    ]
    for p in truth["patches"]:
        lines.append(f"* **{p['name']}** (window {p['window']}): {p['planted']}")
    d = truth["drought"]
    lines.append(f"* **drought** (precipitation cells {d['precip_window']}): {d['planted']}")
    lines += ["", "## Background", "", truth["background"]["note"], ""]
    return "\n".join(lines)


def make_demo(out_dir: str | Path, *, size: int = 300, seed: int = DEMO_SEED) -> Path:
    """Write the built-in demo: every input of SO1, SO2-3 and SO3 for a small synthetic area with planted patches.

    The area lies in semi-arid Kenya (upper-left corner 37.5° E, 1.0° S), on a geographic grid of ``size`` x
    ``size`` pixels of 0.0025° (EPSG:4326); the IPCC climate zones are tropical moist (north-west) and tropical
    dry. Background land cover is stable and background NDVI has no trend (a common, trendless interannual anomaly
    plus small per-pixel noise). Planted rectangles (see ``truth.json``): deforestation, cropland expansion and
    urban expansion in 2017, a declining and an improving NDVI patch (slope ∓0.012/yr from 2008), a water body, a
    town, and a 2021 drought (calendar-year precipitation at 33 % of normal) over the south-east.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Output folder (created if needed); existing demo files are replaced.
    size : int
        Grid size in pixels (rows = columns), at least 120.
    seed : int
        Seed of every random draw; the same seed and size give identical files' arrays.

    Returns
    -------
    pathlib.Path
        Path of the run file ``assessment.yaml`` in ``out_dir``.

    Raises
    ------
    ValueError
        If ``size`` is below 120 (the planted patches would not fit).

    Notes
    -----
    Files (see ``DEMO_FILES``): ``ndvi.tif`` (int16 x 10000, scale 0.0001), ``land_cover.tif`` (ESA CCI, uint8),
    ``soc.tif`` (t C/ha in 2000, int16), ``climate_zones.tif`` + ``climate_zone_codes.csv``,
    ``precipitation.tif`` (monthly mm on a 0.025° grid, float32), ``population_{total,female,male}.tif`` (float32
    persons per pixel), ``aoi.gpkg``, ``zones.gpkg`` (fields ``id``, ``name``), ``truth.json``,
    ``assessment.yaml``, ``README.md``.

    Examples
    --------
    >>> from openldn.datasets import make_demo, demo_truth  # doctest: +SKIP
    >>> run_file = make_demo("demo")  # doctest: +SKIP
    >>> demo_truth("demo")["patches"][0]["name"]  # doctest: +SKIP
    'deforestation'
    """
    if size < 120:
        raise ValueError(
            f"make_demo: size={size} is too small; use size >= 120 so that the planted patches fit"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    west, north = DEMO_BOUNDS_ORIGIN
    res = DEMO_RESOLUTION
    transform = Affine(res, 0.0, west, 0.0, -res, north)
    wins = _windows(size)
    years = [str(y) for y in DEMO_YEARS]
    lat_centres = north - (np.arange(size) + 0.5) * res

    # vectors: AOI and admin units (sectors around the centre)
    cx, cy = west + size * res / 2, north - size * res / 2
    aoi = irregular_aoi((cx, cy), 0.40 * size * res)
    pieces = split_into_zones(aoi, (cx, cy), [15.0, 85.0, 160.0, 230.0, 300.0])
    names = ["Kaloleni", "Mbitini", "Ngomeni", "Kyuso", "Tharaka"]
    zones = gpd.GeoDataFrame(
        {"id": [f"Z{i + 1}" for i in range(len(pieces))], "name": names[: len(pieces)]},
        geometry=pieces,
        crs="EPSG:4326",
    )
    aoi_gdf = gpd.GeoDataFrame({"name": ["Demo area"]}, geometry=[aoi], crs="EPSG:4326")
    margin = 3 * res
    for name, win in wins.items():
        if not aoi.contains(box(*_bbox(transform, win)).buffer(margin)):
            raise RuntimeError(f"make_demo: patch {name} is not inside the AOI (internal layout error)")
    write_gpkg(out / DEMO_FILES["aoi"], aoi_gdf, layer="aoi")
    write_gpkg(out / DEMO_FILES["zones"], zones, layer="zones")

    # land cover, NDVI, SOC
    lc = _land_cover(size, seed, wins)
    write_stack(out / DEMO_FILES["land_cover"], lc, transform=transform, nodata=0, labels=years,
                tags={"legend": "esa_cci"})  # fmt: skip
    ndvi = _ndvi(size, seed, lc, wins)
    ndvi_i16 = np.round(ndvi * 10000).astype(np.int16)
    write_stack(out / DEMO_FILES["ndvi"], ndvi_i16, transform=transform, nodata=-32768, labels=years,
                scale=0.0001, tags={"units": "1", "long_name": "annual mean NDVI"})  # fmt: skip
    soc = _soc(size, seed, lc[0])
    write_stack(out / DEMO_FILES["soc"], soc, transform=transform, nodata=-32768, labels=["2000"],
                tags={"units": "t C/ha", "depth": "0-30 cm"})  # fmt: skip

    # precipitation (coarse grid) and climate zones (fine grid, from the same mean annual precipitation)
    precip, mean_annual = _precipitation(size, seed)
    f = DEMO_PRECIP_FACTOR
    ptransform = Affine(res * f, 0.0, west, 0.0, -res * f, north)
    write_stack(out / DEMO_FILES["precipitation"], precip, transform=ptransform, nodata=-9999.0,
                labels=list(DEMO_MONTHS), tags={"units": "mm/month"})  # fmt: skip
    map_fine = np.repeat(np.repeat(mean_annual, f, axis=0), f, axis=1)[:size, :size]
    cz = np.where(map_fine >= 1000.0, 11, 12).astype(np.uint8)
    write_stack(out / DEMO_FILES["climate_zones"], cz, transform=transform, nodata=0,
                tags={"legend": "ipcc_2006_climate_zones"})  # fmt: skip
    counts = np.bincount(cz.ravel(), minlength=13)
    with atomic_path(out / DEMO_FILES["climate_zone_codes"]) as tmp, tmp.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["code", "zone", "n_pixels_in_clip"])
        for code, zone in IPCC_CLIMATE_ZONES.items():
            writer.writerow([code, zone, int(counts[code]) if code else 0])

    # population
    pop_total, pop_female, pop_male = _population(size, seed, lc, lat_centres)
    for key, arr in (("population_total", pop_total), ("population_female", pop_female),
                     ("population_male", pop_male)):  # fmt: skip
        write_stack(out / DEMO_FILES[key], arr, transform=transform, nodata=-99999.0, labels=years,
                    tags={"units": "persons per pixel"})  # fmt: skip

    # truth
    patches = _patch_truth(size, transform, wins, zones, cz)
    dr = _drought_window(size)
    fine = (dr[0] * f, dr[1] * f, min(dr[2] * f, size - dr[0] * f), min(dr[3] * f, size - dr[1] * f))
    annual = precip.reshape(-1, 12, *precip.shape[1:]).sum(axis=1)
    rs, cs = _sl(dr)
    ref = annual[:30, rs, cs].mean()
    background = np.ones((size, size), dtype=bool)
    for win in wins.values():
        background[_sl(win)] = False
    mk = {}
    for period, end in (("2000-2015", 2015), ("2016-2019", 2019), ("2016-2023", 2023)):
        sel = slice(DEMO_YEARS.index(end - 15), DEMO_YEARS.index(end) + 1)
        mk[period] = round(_mk_significant_fraction(ndvi_i16[sel][:, background]), 4)
    truth: dict[str, Any] = {
        "name": "openldn demo",
        "generator": "openldn.datasets.make_demo",
        "seed": seed,
        "size": size,
        "crs": "EPSG:4326",
        "resolution_deg": res,
        "bounds": [west, north - size * res, west + size * res, north],
        "years": [DEMO_YEARS[0], DEMO_YEARS[-1]],
        "baseline": DEMO_BASELINE,
        "reporting": list(DEMO_REPORTING),
        "files": {k: v for k, v in DEMO_FILES.items() if k != "truth"},
        "conventions": {
            "window": "pixel window on the land-cover/NDVI grid: row_off, col_off, height, width",
            "bbox": "lon_min, lat_min, lon_max, lat_max (EPSG:4326), outer edges of the window",
            "expected": "per indicator and period label, the value (or list of acceptable values) that most "
            "(>= 80 %) pixels of the patch should get; null = not determined by the design; -32768 = no data. Codes: "
            "degradation -1/0/1, LPD 1-5, drought classes 0-4 (upper-inclusive boundaries). Assumes the preset "
            "prais_2026_te: reporting LC/SOC change from 2015, SOC Tier 1 with linear 20-year annualisation "
            "and a 10 % threshold, Trends.Earth 1OAO (improved if LP = +1, or LP = 0 and LC or SOC = +1)",
        },
        "land_cover_classes": sorted(int(c) for c in np.unique(lc)),
        "patches": patches,
        "drought": {
            "name": "drought",
            "planted": f"{DEMO_DROUGHT_YEAR} precipitation multiplied by {_DROUGHT_FACTOR} in every month inside "
            f"the window (elsewhere {DEMO_DROUGHT_YEAR} is {_NO_DROUGHT_FACTOR} x normal)",
            "years": [DEMO_DROUGHT_YEAR],
            "bbox": _bbox(ptransform, dr),
            "precip_window": {"row_off": dr[0], "col_off": dr[1], "height": dr[2], "width": dr[3]},
            "window": {"row_off": fine[0], "col_off": fine[1], "height": fine[2], "width": fine[3]},
            "annual_precip_mean_1981_2010_mm": round(float(ref), 1),
            "annual_precip_2021_mm": round(float(annual[DEMO_DROUGHT_YEAR - 1981, rs, cs].mean()), 1),
            "expected": {"drought_class": {str(DEMO_DROUGHT_YEAR): 4}, "spi_12_december_max": -2.0},
        },
        "background": {
            "ndvi_class_means": {str(k): v for k, v in _NDVI_MEAN.items()},
            "ndvi_pixel_noise_sd": 0.005,
            "common_ndvi_anomaly": list(COMMON_NDVI_ANOMALY),
            "mk_significant_fraction": mk,
            "note": "Background land cover is identical in every year. Background NDVI = class mean x a smooth "
            "spatial factor (+-20 %) + a common trendless interannual anomaly (sd 0.02, scaled 0.5-1.5 in space "
            "and by class) + independent per-pixel noise (sd 0.003-0.005, about the noise of a mean of 23 "
            "16-day composites with sd 0.025 each). With independent noise alone about 5 % of pixels would show "
            "a significant Mann-Kendall trend by chance; here most interannual variability is common and "
            "trendless, so the measured share is far lower (`mk_significant_fraction`, |Z| > 1.96 without tie "
            "correction). Without a dead band on the State mean difference a few per cent of background pixels "
            "still get a State shift of 2 deciles (about 3-5 % flagged degraded per period); with the "
            "Trends.Earth dead band (0.01 NDVI) almost none. NDVI does not respond to the planted drought. "
            "Precipitation: mean annual 420 mm (south-east) to 1200 mm (north-west), bimodal seasons, year "
            "factors lognormal (sd 0.16), gamma monthly noise (shape 4).",
        },
    }
    with atomic_path(out / DEMO_FILES["truth"]) as tmp:
        tmp.write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    with atomic_path(out / DEMO_FILES["readme"]) as tmp:
        tmp.write_text(_readme(size, truth), encoding="utf-8")

    # SO3-3: national vulnerability factors (the package's example table of GPG-SO3 core factors)
    from importlib import resources

    factors = resources.files("openldn") / "data" / "drought" / "dvi_example.csv"
    with atomic_path(out / "dvi_factors.csv") as tmp:
        tmp.write_text(factors.read_text(encoding="utf-8"), encoding="utf-8")

    assessment = {
        "name": "openldn demo (synthetic, Kenya)",
        "preset": "prais_2026_te",
        "baseline": DEMO_BASELINE,
        "reporting": list(DEMO_REPORTING),
        "aoi": DEMO_FILES["aoi"],
        "zones": {"path": DEMO_FILES["zones"], "id_field": "id", "name_field": "name"},
        "grid": {"reference": "land_cover"},
        "inputs": {
            "ndvi": {"path": DEMO_FILES["ndvi"], "scale": 0.0001},
            "land_cover": {"path": DEMO_FILES["land_cover"], "legend": "esa_cci"},
            "soc": {"path": DEMO_FILES["soc"]},
            "climate_zones": {"path": DEMO_FILES["climate_zones"]},
            "precipitation": {"path": DEMO_FILES["precipitation"]},
            "population_total": {"path": DEMO_FILES["population_total"]},
            "population_female": {"path": DEMO_FILES["population_female"]},
            "population_male": {"path": DEMO_FILES["population_male"]},
        },
        "drought": {"dvi_factors": "dvi_factors.csv"},
    }
    run_file = out / DEMO_FILES["assessment"]
    with atomic_path(run_file) as tmp:
        tmp.write_text(yaml.safe_dump(assessment, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return run_file


def demo_truth(out_dir: str | Path) -> dict[str, Any]:
    """Read the planted truth (``truth.json``) of a demo written by :func:`make_demo`.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Demo folder (or the path of its ``truth.json`` / ``assessment.yaml``).

    Returns
    -------
    dict
        The parsed ``truth.json``: grid, files, ``patches`` (list), ``drought`` and ``background``.

    Raises
    ------
    openldn.exceptions.InputFileError
        If ``truth.json`` is missing (a ``FileNotFoundError``).
    """
    path = Path(out_dir)
    if path.is_file():
        path = path.parent
    truth_path = path / DEMO_FILES["truth"]
    if not truth_path.is_file():
        raise InputFileError(f"{truth_path}: no demo truth file; write the demo first with make_demo()")
    result: dict[str, Any] = json.loads(truth_path.read_text(encoding="utf-8"))
    return result
