"""The synthetic country: a large, deterministic SO1 input set written block by block as tiled COGs.

Memory stays bounded whatever the raster size: every field is evaluated per block from tiny coarse grids
(bilinearly upsampled noise, an event grid), so only one block of every band is in memory at a time; COG
overviews are built band by band inside the staging file and the COG driver then only copies.

Measured (2 shared cores, Python 3.11, GDAL 3.10): 10 000 x 10 000 pixels x 24 years with default options takes
about 300 s of CPU (blocks 40 %, COG conversion 60 %), peak RSS 0.5 GB, 4.1 GB on disk (NDVI 4.0 GB); 2048 x 2048 x
24 years takes about 12 s of CPU and 0.4 GB RSS.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
import yaml
from affine import Affine
from rasterio.windows import Window

from openldn.datasets._demo import (
    _MONTH_WEIGHTS,
    _NDVI_MEAN,
    _NDVI_NOISE,
    _NDVI_RESPONSE,
    _POP_DENSITY,
    _POP_GROWTH,
    _SOC_MEAN,
    BARE,
    COMMON_NDVI_ANOMALY,
    CROP,
    DEMO_DROUGHT_YEAR,
    DEMO_MONTHS,
    GRASS,
    IPCC_CLIMATE_ZONES,
    SHRUB,
    SPARSE,
    TREE_DECIDUOUS,
    TREE_EVERGREEN,
    URBAN,
    WATER,
    _lookup,
)
from openldn.datasets._raster import (
    GDAL_CACHE_MB,
    block_windows,
    convert_to_cog,
    open_stack_writer,
    smooth_field,
)
from openldn.datasets._vector import irregular_aoi, split_into_zones, write_gpkg
from openldn.io import atomic_path

__all__ = ["COUNTRY_EVENT_CELL", "COUNTRY_ORIGIN", "COUNTRY_RESOLUTION", "make_synthetic_country"]

#: Pixel size of the synthetic country in degrees (EPSG:4326), about 278 m at the equator.
COUNTRY_RESOLUTION = 0.0025
#: Upper-left corner (lon, lat) of the synthetic country's grid (tropical Africa; a fictional country).
COUNTRY_ORIGIN: tuple[float, float] = (20.0, 10.0)
#: Precipitation cells are this many pixels wide (0.05°, CHIRPS-like).
PRECIP_FACTOR = 20
#: Edge (pixels) of the cells of the event grid: each cell holds at most one planted change.
COUNTRY_EVENT_CELL = 32

# event codes of the event grid
_NONE, _DEFOREST, _CROP_EXPANSION, _URBAN, _DECLINE, _IMPROVE = 0, 1, 2, 3, 4, 5
_EVENT_NAMES = {
    _DEFOREST: "deforestation",
    _CROP_EXPANSION: "cropland_expansion",
    _URBAN: "urban_expansion",
    _DECLINE: "declining_productivity",
    _IMPROVE: "improving_productivity",
}
_EVENT_PROBS = (0.955, 0.012, 0.012, 0.005, 0.008, 0.008)
_TREND = 0.012


class _Fields:
    """Per-pixel fields of the synthetic country, evaluated for any window."""

    def __init__(self, height: int, width: int, seed: int) -> None:
        self.shape = (height, width)
        self.seed = seed
        self.big = (max(4, height // 400), max(4, width // 400))
        self.small = (max(4, height // 80), max(4, width // 80))
        rng = np.random.default_rng((seed, 100))
        ev_shape = (-(-height // COUNTRY_EVENT_CELL), -(-width // COUNTRY_EVENT_CELL))
        self.events = rng.choice(len(_EVENT_PROBS), size=ev_shape, p=_EVENT_PROBS).astype(np.uint8)
        self.event_year = rng.integers(2003, 2022, size=ev_shape).astype(np.int16)
        self.water = rng.random(ev_shape) < 0.004
        self.town = rng.random(ev_shape) < 0.004

    def _smooth(self, key: int, coarse: tuple[int, int], win: Window) -> np.ndarray:
        return smooth_field((self.seed, key), coarse=coarse, shape=self.shape, window=win)

    def wetness(self, win: Window) -> np.ndarray:
        """South (dry) to north (wet) gradient plus large and small smooth structures, about [0, 1]."""
        rows = np.arange(int(win.row_off), int(win.row_off + win.height)) + 0.5
        grad = 0.75 - 0.45 * rows / self.shape[0]
        return (
            grad[:, None] + 0.25 * self._smooth(1, self.big, win) + 0.08 * self._smooth(2, self.small, win)
        ).astype(np.float32)

    def event_cells(self, win: Window) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the event-grid cell of every pixel of ``win``."""
        rows = np.arange(int(win.row_off), int(win.row_off + win.height)) // COUNTRY_EVENT_CELL
        cols = np.arange(int(win.col_off), int(win.col_off + win.width)) // COUNTRY_EVENT_CELL
        return rows[:, None], cols[None, :]

    def base_land_cover(self, win: Window, wet: np.ndarray) -> np.ndarray:
        """ESA CCI land cover of 2000 for ``win``."""
        use = self._smooth(3, self.small, win)
        lc = np.full(wet.shape, GRASS, dtype=np.uint8)
        lc[use > 0.3] = CROP
        lc[use < -0.35] = SHRUB
        lc[wet < 0.30] = SPARSE
        lc[wet < 0.17] = BARE
        lc[wet > 0.68] = TREE_DECIDUOUS
        lc[wet > 0.86] = TREE_EVERGREEN
        er, ec = self.event_cells(win)
        lc[np.broadcast_to(self.town[er, ec], lc.shape)] = URBAN
        lc[np.broadcast_to(self.water[er, ec], lc.shape)] = WATER
        return lc

    def block(self, win: Window, years: list[int], *, population: bool = False) -> dict[str, np.ndarray]:
        """Land cover (year, y, x), NDVI x 10000 (year, y, x), SOC 2000, climate zones (and population)."""
        wet = self.wetness(win)
        lc0 = self.base_land_cover(win, wet)
        er, ec = self.event_cells(win)
        event = np.broadcast_to(self.events[er, ec], lc0.shape)
        eyear = np.broadcast_to(self.event_year[er, ec], lc0.shape)
        tree = (lc0 == TREE_DECIDUOUS) | (lc0 == TREE_EVERGREEN)
        natural = (lc0 == GRASS) | (lc0 == SHRUB)
        land = lc0 != WATER
        changes = (
            (event == _DEFOREST) & tree,
            (event == _CROP_EXPANSION) & natural,
            (event == _URBAN) & land,
        )
        new_codes = (CROP, CROP, URBAN)
        n_years = len(years)
        lc = np.empty((n_years, *lc0.shape), dtype=np.uint8)
        rng = np.random.default_rng((self.seed, 200, int(win.row_off), int(win.col_off)))
        spatial = 1.0 + 0.25 * (wet - 0.5) + 0.06 * self._smooth(4, self.small, win)
        gain = np.clip(1.0 + 0.3 * self._smooth(5, self.big, win), 0.5, 1.5)
        ndvi = np.empty((n_years, *lc0.shape), dtype=np.int16)
        for i, year in enumerate(years):
            cur = lc0.copy()
            for mask, code in zip(changes, new_codes, strict=True):
                cur[mask & (eyear <= year)] = code
            lc[i] = cur
            anomaly = COMMON_NDVI_ANOMALY[(year - 2000) % len(COMMON_NDVI_ANOMALY)]
            value = (
                _lookup(cur, _NDVI_MEAN) * spatial
                + anomaly * gain * _lookup(cur, _NDVI_RESPONSE)
                + rng.standard_normal(cur.shape, dtype=np.float32) * _lookup(cur, _NDVI_NOISE)
            )
            ramp = _TREND * np.clip(year - eyear + 1, 0, None)
            value = np.where((event == _DECLINE) & land, value - ramp, value)
            value = np.where((event == _IMPROVE) & land, value + ramp - 0.08, value)
            ndvi[i] = np.round(np.clip(value, -0.2, 0.95) * 10000).astype(np.int16)
        soc = _lookup(lc0, _SOC_MEAN) * np.exp(0.12 * self._smooth(7, self.small, win))
        soc = soc + 12.0 * (wet - 0.5) + rng.normal(0.0, 1.5, lc0.shape)
        soc_i16 = np.clip(np.round(soc), 3, 300).astype(np.int16)
        soc_i16[lc0 == WATER] = -32768
        zones = np.where(wet > 0.62, 11, 12).astype(np.uint8)
        out = {
            "land_cover": lc,
            "ndvi": ndvi,
            "soc": soc_i16[np.newaxis],
            "climate_zones": zones[np.newaxis],
        }
        if population:
            out.update(self.population(win, lc, years))
        return out

    def population(self, win: Window, lc: np.ndarray, years: list[int]) -> dict[str, np.ndarray]:
        """Population total, female and male (year, y, x) float32 persons per pixel; female + male == total."""
        lat = COUNTRY_ORIGIN[1] - (np.arange(int(win.row_off), int(win.row_off + win.height)) + 0.5) * (
            COUNTRY_RESOLUTION
        )
        cell_km2 = ((COUNTRY_RESOLUTION * 111.32) ** 2 * np.cos(np.deg2rad(lat)))[:, None]
        spread = np.exp(0.35 * self._smooth(11, self.small, win)) * cell_km2
        growth = (1.0 + _POP_GROWTH) ** (np.asarray(years, dtype=np.float64) - 2000.0)
        total = (_lookup(lc, _POP_DENSITY) * spread[None] * growth[:, None, None]).astype(np.float32)
        share = 0.505 + 0.008 * self._smooth(12, self.big, win)
        big = (total * np.maximum(share, 1.0 - share)[None]).astype(np.float32)
        small = (total - big).astype(np.float32)  # exact (Sterbenz), so small + big == total
        female_big = (share >= 0.5)[None]
        return {
            "population_total": total,
            "population_female": np.where(female_big, big, small),
            "population_male": np.where(female_big, small, big),
        }


def _write_precipitation(
    path: Path, *, height: int, width: int, seed: int, fast: bool, tile: int = 128
) -> tuple[int, int]:
    """Monthly precipitation 1981-01..2023-12 (mm, float32) on a grid ``PRECIP_FACTOR`` times coarser.

    A drought is planted in ``DEMO_DROUGHT_YEAR`` over the southern third (calendar-year precipitation at 33 %
    of normal). Written block by block (``tile`` cells, all 516 months per block).
    """
    f = PRECIP_FACTOR
    ph, pw = -(-height // f), -(-width // f)
    res = COUNTRY_RESOLUTION * f
    transform = Affine(res, 0.0, COUNTRY_ORIGIN[0], 0.0, -res, COUNTRY_ORIGIN[1])
    years = np.arange(1981, 2024)
    z_year = np.random.default_rng((seed, 300)).standard_normal(len(years))
    big = (max(4, ph // 20), max(4, pw // 20))
    sigma = 0.16
    with open_stack_writer(path, height=ph, width=pw, count=len(DEMO_MONTHS), dtype="float32",
                           transform=transform, nodata=-9999.0, labels=list(DEMO_MONTHS), tile=tile,
                           tags={"units": "mm/month"}, fast=fast) as dst:  # fmt: skip
        for win in block_windows(ph, pw, tile):
            rows = np.arange(int(win.row_off), int(win.row_off + win.height)) + 0.5
            wet = (0.75 - 0.45 * rows / ph)[:, None] + 0.25 * smooth_field(
                (seed, 1), coarse=big, shape=(ph, pw), window=win
            )
            mean_annual = np.clip(420.0 + 780.0 * np.clip(wet, 0.0, 1.0), 300.0, None)
            factor = np.empty((len(years), *mean_annual.shape))
            for i in range(len(years)):
                local = smooth_field((seed, 310, i), coarse=(4, 4), shape=(ph, pw), window=win)
                factor[i] = np.exp(sigma * (z_year[i] + 0.5 * local) - 0.5 * sigma**2 * 1.09)
            iy = DEMO_DROUGHT_YEAR - 1981
            south = (rows > 2 * ph / 3)[:, None]
            factor[iy] = np.where(south, 0.33, 1.10)
            rng = np.random.default_rng((seed, 320, int(win.row_off), int(win.col_off)))
            eps = rng.gamma(4.0, 0.25, size=(len(years), 12, *mean_annual.shape))
            monthly = mean_annual[None, None] * _MONTH_WEIGHTS[None, :, None, None] * factor[:, None] * eps
            dst.write(np.round(monthly, 2).astype(np.float32).reshape(-1, *mean_annual.shape), window=win)
    return ph, pw


def _periods(years: list[int]) -> tuple[str, list[str]]:
    """Baseline and reporting periods that the available years support (standard ones by default)."""
    last = max(years)
    reporting = [p for p, end in (("2016-2019", 2019), ("2016-2023", 2023)) if end <= last]
    return "2000-2015", reporting


def make_synthetic_country(
    out_dir: str | Path,
    *,
    width: int = 10_000,
    height: int = 10_000,
    years: Iterable[int] = range(2000, 2024),
    tile: int = 512,
    seed: int = 20261125,
    cog: bool = True,
    drought_inputs: bool = False,
) -> Path:
    """Write a large synthetic country (SO1 inputs) as tiled Cloud Optimized GeoTIFFs, block by block.

    The grid is geographic (EPSG:4326) with 0.0025° pixels (about 278 m) starting at 20° E, 10° N, i.e. a
    fictional tropical African country; the IPCC climate zones are tropical moist (north) and tropical dry. Land
    cover (ESA CCI codes) follows a south-north wetness gradient with smooth structures; changes are planted on an
    event grid of 32 x 32 pixel cells (about 4.5 % of the cells: deforestation, cropland expansion, urban expansion,
    declining and improving NDVI, each from a random year 2003-2021). NDVI is built like the demo's (class mean,
    spatial offset, common trendless anomaly, per-pixel noise).

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Output folder (created if needed).
    width, height : int
        Raster size in pixels.
    years : iterable of int
        Years of the land cover and NDVI stacks (one band per year). The SO1 run needs at least 2000, 2015, 2019 and
        2023 for land cover and 16 consecutive years for productivity.
    tile : int
        Block size of the generation and of the COG tiles (a multiple of 16).
    seed : int
        Seed of every random draw. Outputs are identical for the same (seed, size, years, tile).
    cog : bool
        Convert the tiled GeoTIFFs to COGs with overviews (True), or keep the tiled GeoTIFFs (False, faster).
    drought_inputs : bool
        Also write the SO2-3/SO3 inputs: monthly precipitation 1981-2023 on a 0.05° grid (``precipitation.tif``,
        drought planted in 2021 over the southern third) and population total/female/male for ``years``
        (float32 persons per pixel; 12 bytes per pixel and year on disk before compression).

    Returns
    -------
    pathlib.Path
        Path of the run file ``assessment.yaml`` in ``out_dir``.

    Raises
    ------
    ValueError
        If the size, tile or years are invalid.

    Notes
    -----
    Files: ``ndvi.tif`` (int16 x 10000, scale 0.0001, nodata -32768), ``land_cover.tif`` (uint8 ESA CCI, nodata 0),
    ``soc.tif`` (int16 t C/ha in 2000, nodata -32768), ``climate_zones.tif`` (uint8 IPCC codes, nodata 0),
    ``climate_zone_codes.csv``, ``aoi.gpkg``, ``zones.gpkg`` (6 units, fields ``id``, ``name``),
    ``assessment.yaml`` and ``country.json`` (grid, seed, event counts, timings). Peak memory is about
    ``years x tile² x 20`` bytes (e.g. 130 MB for 24 years and 512-pixel tiles), independent of the raster size.
    """
    years = sorted({int(y) for y in years})
    if width < 64 or height < 64:
        raise ValueError(
            f"make_synthetic_country: size {width} x {height} is too small; use at least 64 x 64"
        )
    if tile < 16 or tile % 16:
        raise ValueError(f"make_synthetic_country: tile={tile} is invalid; use a multiple of 16 (e.g. 512)")
    if not years:
        raise ValueError("make_synthetic_country: years is empty; pass e.g. range(2000, 2024)")
    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    west, north = COUNTRY_ORIGIN
    res = COUNTRY_RESOLUTION
    transform = Affine(res, 0.0, west, 0.0, -res, north)
    labels = [str(y) for y in years]
    fields = _Fields(height, width, seed)

    specs: dict[str, dict[str, Any]] = {
        "land_cover": {"dtype": "uint8", "nodata": 0, "labels": labels, "categorical": True,
                       "tags": {"legend": "esa_cci"}},
        "ndvi": {"dtype": "int16", "nodata": -32768, "labels": labels, "scale": 0.0001, "categorical": False,
                 "tags": {"units": "1", "long_name": "annual mean NDVI"}},
        "soc": {"dtype": "int16", "nodata": -32768, "labels": ["2000"], "categorical": False,
                "tags": {"units": "t C/ha", "depth": "0-30 cm"}},
        "climate_zones": {"dtype": "uint8", "nodata": 0, "labels": None, "categorical": True,
                          "tags": {"legend": "ipcc_2006_climate_zones"}},
    }  # fmt: skip
    if drought_inputs:
        for key in ("population_total", "population_female", "population_male"):
            specs[key] = {"dtype": "float32", "nodata": -99999.0, "labels": labels, "categorical": False,
                          "tags": {"units": "persons per pixel"}}  # fmt: skip
    staging = out / f".staging-{seed}"
    staging.mkdir(exist_ok=True)
    writers: dict[str, Any] = {}
    zone_counts = np.zeros(13, dtype=np.int64)
    lc_counts = np.zeros(256, dtype=np.int64)
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB * 1024 * 1024):
        try:
            for key, spec in specs.items():
                writers[key] = open_stack_writer(
                    staging / f"{key}.tif",
                    height=height,
                    width=width,
                    count=len(spec["labels"]) if spec["labels"] else 1,
                    dtype=spec["dtype"],
                    transform=transform,
                    nodata=spec["nodata"],
                    labels=spec["labels"],
                    scale=spec.get("scale"),
                    tile=tile,
                    tags=spec["tags"],
                    fast=cog,
                )
            for win in block_windows(height, width, tile):
                data = fields.block(win, years, population=drought_inputs)
                for key, arr in data.items():
                    writers[key].write(arr, window=win)
                zone_counts += np.bincount(data["climate_zones"].ravel(), minlength=13)
                lc_counts += np.bincount(data["land_cover"][-1].ravel(), minlength=256)
        finally:
            for dst in writers.values():
                dst.close()
        if drought_inputs:
            _write_precipitation(
                staging / "precipitation.tif", height=height, width=width, seed=seed, fast=cog
            )
            specs["precipitation"] = {"categorical": False}
    t_blocks = time.perf_counter() - t0
    for key, spec in specs.items():
        src = staging / f"{key}.tif"
        if cog:
            convert_to_cog(src, out / f"{key}.tif", categorical=spec["categorical"], tile=tile)
        else:
            with atomic_path(out / f"{key}.tif") as tmp:
                shutil.move(src, tmp)
    shutil.rmtree(staging, ignore_errors=True)
    t_cog = time.perf_counter() - t0 - t_blocks

    with atomic_path(out / "climate_zone_codes.csv") as tmp:
        rows = ["code,zone,n_pixels_in_clip"]
        rows += [f"{c},{z},{int(zone_counts[c]) if c else 0}" for c, z in IPCC_CLIMATE_ZONES.items()]
        tmp.write_text("\n".join(rows) + "\n", encoding="utf-8")

    cx, cy = west + width * res / 2, north - height * res / 2
    radius = 0.42 * min(width, height) * res
    aoi = irregular_aoi((cx, cy), radius, n_vertices=720)
    if width != height:
        from shapely import affinity

        aoi = affinity.scale(aoi, xfact=width / min(width, height), yfact=height / min(width, height))
    pieces = split_into_zones(aoi, (cx, cy), [10.0, 70.0, 135.0, 190.0, 250.0, 310.0])
    zones = gpd.GeoDataFrame(
        {
            "id": [f"R{i + 1}" for i in range(len(pieces))],
            "name": [f"Region {i + 1}" for i in range(len(pieces))],
        },
        geometry=pieces,
        crs="EPSG:4326",
    )
    write_gpkg(out / "aoi.gpkg", gpd.GeoDataFrame({"name": ["Synthetic country"]}, geometry=[aoi],
                                                    crs="EPSG:4326"), layer="aoi")  # fmt: skip
    write_gpkg(out / "zones.gpkg", zones, layer="zones")

    baseline, reporting = _periods(years)
    assessment: dict[str, Any] = {
        "name": f"Synthetic country {width} x {height}",
        "preset": "prais_2026_te",
        "baseline": baseline,
        "reporting": reporting,
        "aoi": "aoi.gpkg",
        "zones": {"path": "zones.gpkg", "id_field": "id", "name_field": "name"},
        "grid": {"reference": "land_cover"},
        "inputs": {
            "ndvi": {"path": "ndvi.tif", "scale": 0.0001},
            "land_cover": {"path": "land_cover.tif", "legend": "esa_cci"},
            "soc": {"path": "soc.tif"},
            "climate_zones": {"path": "climate_zones.tif"},
        },
    }
    if drought_inputs:
        for key in ("precipitation", "population_total", "population_female", "population_male"):
            assessment["inputs"][key] = {"path": f"{key}.tif"}
    run_file = out / "assessment.yaml"
    with atomic_path(run_file) as tmp:
        tmp.write_text(yaml.safe_dump(assessment, sort_keys=False), encoding="utf-8")
    events, counts = np.unique(fields.events, return_counts=True)
    meta = {
        "generator": "openldn.datasets.make_synthetic_country",
        "seed": seed,
        "width": width,
        "height": height,
        "tile": tile,
        "cog": cog,
        "drought_inputs": drought_inputs,
        "crs": "EPSG:4326",
        "resolution_deg": res,
        "bounds": [west, north - height * res, west + width * res, north],
        "years": years,
        "event_cell_pixels": COUNTRY_EVENT_CELL,
        "event_cells": {_EVENT_NAMES.get(int(e), "none"): int(c) for e, c in zip(events, counts, strict=True)},
        "land_cover_pixels_last_year": {str(c): int(n) for c, n in enumerate(lc_counts) if n},
        "seconds": {"blocks": round(t_blocks, 2), "cog": round(t_cog, 2),
                    "total": round(time.perf_counter() - t0, 2)},
    }  # fmt: skip
    with atomic_path(out / "country.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return run_file
