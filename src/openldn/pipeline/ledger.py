"""The area ledger: the one land/water mask and the one land area of a run, shared by every area table.

The ledger is computed once per run, as soon as the UNCCD land cover (layer ``lc_unccd``) exists, and exposed as
``ctx.ledger``. Every area table of the run (land cover, productivity, SOC, SDG 15.3.1, status, sub-indicator and
drought tables) splits water off with :meth:`AreaLedger.with_water` / :meth:`AreaLedger.class_table`, and every
percentage (PRAIS workbook, JSON, HTML report) divides by :meth:`AreaLedger.denominator_km2`. So the water row of
every table is the same cells, and land = zone area - water is the same number everywhere, by construction.

Definitions (docs/design/architecture.md, "Area ledger"):

* **water**: cells whose UNCCD land cover class is 7 (water bodies) in ONE land cover year, chosen by the run option
  ``integration.water_mask_year`` (``baseline_initial``: the baseline's first year, the default;
  ``baseline_final``: its last year). The year is the closest available one (:func:`openldn.core.years.closest_year`,
  at most ``land_cover.max_year_gap`` years away); a substitution is recorded. Without land cover there is no water.
* **zone area**: the sum of cell area x coverage fraction of the zone (``ctx.area`` x ``ctx.coverage``).
* **land area** = zone area - water area. Nothing else is removed: cells without land cover data in the water year
  (no data on land) and cells where an indicator is no data stay in the land area and appear as a "No data" row.
* **denominator** of every percentage: the land area, or the official CP-1.T1 land area
  (``integration.land_area_km2``) for the whole area of interest when one is given.

Water rows carry the one water code :data:`openldn.core.codes.WATER` (-2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from openldn.core.codes import NODATA, WATER
from openldn.core.periods import Period, years_of
from openldn.core.years import closest_year
from openldn.exceptions import ConfigError, GridMismatchError
from openldn.zonal._kernels import AREA_QUANTUM_M2

if TYPE_CHECKING:
    from openldn.core.vocab import Legend
    from openldn.zonal import PendingTable

__all__ = [
    "LAND_WATER_LABELS",
    "LAND_WATER_LAYER",
    "UNCCD_WATER_CLASS",
    "WATER_RULES",
    "AreaLedger",
    "ZoneArea",
    "build_ledger",
    "land_water_codes",
    "ledger_of",
    "water_of",
]

#: UNCCD land cover class of water bodies (the only definition of water from a land cover map).
UNCCD_WATER_CLASS: int = 7
#: Values of ``integration.water_mask_year``: which land cover year defines water for every table of the run.
WATER_RULES: tuple[str, ...] = ("baseline_initial", "baseline_final")
#: Layer key of the stored land/water codes of the ledger (1 land, 2 water, nodata = land without land cover data).
LAND_WATER_LAYER = "land_water"
#: Codes of :func:`land_water_codes` -> (label, colour).
LAND_WATER_LABELS: dict[int, tuple[str, str]] = {1: ("Land", "#C8B560"), 2: ("Water bodies", "#0053C4")}
_LAND, _WATER_CELL = 1, 2
_KM2_PER_QUANTUM = AREA_QUANTUM_M2 * 1e-6  # the zonal tables' area quantum in km²


def _with_water_block(classes: np.ndarray, land_water: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    """One block of :meth:`AreaLedger.with_water`: a block with no water cell is the classes as they are."""
    water = np.asarray(land_water) == _WATER_CELL
    if not water.any():
        return np.asarray(classes).astype(dtype, copy=False)
    return np.where(water, np.array(WATER, dtype=dtype), classes).astype(dtype, copy=False)


def water_of(lc_year: xr.DataArray) -> xr.DataArray:
    """Boolean water mask of one UNCCD land cover map (class 7)."""
    return lc_year == UNCCD_WATER_CLASS


def land_water_codes(lc_year: xr.DataArray) -> xr.DataArray:
    """1 where land (UNCCD 1-6), 2 where water (7), nodata elsewhere (no land cover data); int16, ``(y, x)``."""
    land = (lc_year >= 1) & (lc_year <= 6)
    out = xr.where(land, np.int16(_LAND), xr.where(water_of(lc_year), np.int16(_WATER_CELL), np.int16(NODATA)))
    out = out.astype("int16")
    out.attrs = {"long_name": "Land and water", "_FillValue": NODATA}
    return out


@dataclass(frozen=True)
class ZoneArea:
    """Areas of one zone in km² (``zone_id == "ALL"``: the whole area of interest)."""

    zone_id: str
    zone_name: str
    #: Zone area: cell areas x coverage, water included.
    total_km2: float
    #: Water (the ledger's water mask).
    water_km2: float
    #: Part of the land area without land cover data in the water year (stays in the land area).
    land_nodata_km2: float

    @property
    def land_km2(self) -> float:
        """Land area = zone area - water."""
        return self.total_km2 - self.water_km2


@dataclass(frozen=True)
class AreaLedger:
    """The run's land/water mask, zone areas and land-area denominators (built by :func:`build_ledger`).

    Attributes
    ----------
    coverage : openldn.zonal.Coverage
        Zone coverage of the run.
    area : xarray.DataArray
        Cell areas in m² ``(y, x)``.
    zones : tuple of ZoneArea
        One entry per zone, ``"ALL"`` first.
    land_water : xarray.DataArray or None
        Land/water codes ``(y, x)`` of :func:`land_water_codes` in the water year (layer ``land_water``); None
        without land cover (then no cell is water).
    water_rule : str or None
        The value of ``integration.water_mask_year`` that chose the water year.
    water_year : int or None
        Land cover year whose class 7 is the water mask.
    wanted_year : int or None
        Year the rule asked for (differs from ``water_year`` after a substitution).
    official_land_km2 : float or None
        Official CP-1.T1 land area of the whole area of interest (``integration.land_area_km2``).
    """

    coverage: Any
    area: xr.DataArray
    zones: tuple[ZoneArea, ...]
    land_water: xr.DataArray | None = None
    water_rule: str | None = None
    water_year: int | None = None
    wanted_year: int | None = None
    official_land_km2: float | None = None
    _by_id: dict[str, ZoneArea] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update({z.zone_id: z for z in self.zones})

    @property
    def water(self) -> xr.DataArray | None:
        """Boolean water mask ``(y, x)`` (None without land cover)."""
        return None if self.land_water is None else self.land_water == _WATER_CELL

    # -- numbers -----------------------------------------------------------------------------------------------
    def zone(self, zone_id: str = "ALL") -> ZoneArea:
        """Areas of one zone.

        Raises
        ------
        KeyError
            ``zone_id`` is not a zone of the run.
        """
        try:
            return self._by_id[str(zone_id)]
        except KeyError:
            raise KeyError(f"zone {zone_id!r} is not a zone of the run ({', '.join(self._by_id)})") from None

    def total_area_km2(self, zone_id: str = "ALL") -> float:
        """Zone area (water included), km²."""
        return self.zone(zone_id).total_km2

    def water_area_km2(self, zone_id: str = "ALL") -> float:
        """Water area of the zone, km²."""
        return self.zone(zone_id).water_km2

    def land_area_km2(self, zone_id: str = "ALL") -> float:
        """Land area of the zone computed from the data (zone area - water), km²: what class tables sum to."""
        return self.zone(zone_id).land_km2

    def denominator_km2(self, zone_id: str = "ALL") -> float:
        """Denominator of every percentage: the official CP-1.T1 land area for ``"ALL"`` when given, else land."""
        if self.official_land_km2 is not None and str(zone_id) == "ALL":
            return float(self.official_land_km2)
        return self.land_area_km2(zone_id)

    @property
    def zone_ids(self) -> list[str]:
        """Zone ids, ``"ALL"`` first."""
        return [z.zone_id for z in self.zones]

    @property
    def source(self) -> str:
        """Where the water mask comes from, in words."""
        if self.water_year is None:
            return "no land cover: no water separated"
        sub = f" (closest to {self.wanted_year})" if self.wanted_year not in (None, self.water_year) else ""
        return (f"UNCCD class 7 of land cover {self.water_year}{sub}, "
                f"integration.water_mask_year = {self.water_rule}")

    # -- tables ------------------------------------------------------------------------------------------------
    def with_water(self, classes: xr.DataArray) -> xr.DataArray:
        """``classes`` with :data:`~openldn.core.codes.WATER` on the ledger's water cells (unchanged without water).

        Parameters
        ----------
        classes : xarray.DataArray
            Integer class raster ``(..., y, x)`` on the analysis grid.

        Returns
        -------
        xarray.DataArray
            Same dims and attributes, a signed integer dtype.
        """
        w = self.land_water
        if w is None:
            return classes
        if classes.sizes.get("y") != w.sizes["y"] or classes.sizes.get("x") != w.sizes["x"]:
            raise GridMismatchError(
                f"area ledger: raster {classes.name or ''} of shape {classes.sizes.get('y')}x{classes.sizes.get('x')} "
                f"is not on the analysis grid {w.sizes['y']}x{w.sizes['x']}; align it first (openldn.io.align)."
            )
        # one grid: take the raster's coordinates (float round-off between stages must not misalign cells)
        w = w.drop_vars([c for c in w.coords if c not in ("y", "x")], errors="ignore")
        if "y" in classes.coords and "x" in classes.coords:
            w = w.assign_coords(y=classes["y"].values, x=classes["x"].values)
        dtype = classes.dtype if np.issubdtype(classes.dtype, np.signedinteger) else np.dtype("int16")
        out = xr.apply_ufunc(_with_water_block, classes, w, kwargs={"dtype": np.dtype(dtype)}, dask="parallelized",
                             output_dtypes=[dtype])
        out.attrs = dict(classes.attrs)
        if out.dims != classes.dims:
            out = out.transpose(*classes.dims)
        return out

    def class_table(
        self, classes: xr.DataArray, *, variable: str, period: str | None = None,
        legend: Legend | Mapping[int, Any] | None = None, water_label: str = "Water body",
    ) -> pd.DataFrame:
        """Tidy class-area table of ``classes`` with the ledger's water row and both shares.

        The table has ``share_of_area`` (over the zone area, water included) and ``share_of_land`` (over the zone
        area minus the water row = :meth:`land_area_km2`; NaN on the water row). See
        :func:`openldn.zonal.class_area_table`.
        """
        return self.plan_class_table(classes, variable=variable, period=period, legend=legend,
                                     water_label=water_label).compute()

    def plan_class_table(
        self, classes: xr.DataArray, *, variable: str, period: str | None = None,
        legend: Legend | Mapping[int, Any] | None = None, water_label: str = "Water body",
    ) -> PendingTable:
        """:meth:`class_table`, planned: computed with other tables by :func:`openldn.zonal.compute_tables`."""
        from openldn.zonal import class_area_table

        lg: Any = legend
        if self.water is not None:
            lg = _with_water_label(legend, water_label)
        return class_area_table.plan(self.with_water(classes), self.coverage, self.area, variable=variable,
                                     period=period, legend=lg, land_share=True)

    # -- serialisation ---------------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """JSON-ready description: the rule, the year, the definitions and every zone's areas."""
        return {
            "water_rule": self.water_rule,
            "water_year": self.water_year,
            "wanted_year": self.wanted_year,
            "water_code": WATER,
            "source": self.source,
            "definition": ("land area = zone area (cell area x coverage) minus water; cells without data on land "
                           "stay in the land area and are reported as 'No data'"),
            "official_land_km2": self.official_land_km2,
            "zones": {z.zone_id: {"zone_name": z.zone_name, "total_km2": z.total_km2, "water_km2": z.water_km2,
                                  "land_km2": z.land_km2, "land_nodata_km2": z.land_nodata_km2,
                                  "denominator_km2": self.denominator_km2(z.zone_id)} for z in self.zones},
        }


def _with_water_label(legend: Any, label: str) -> Any:
    if legend is None:
        return {WATER: label}
    if hasattr(legend, "classes"):
        out: dict[int, str] = {int(c.code): str(c.label) for c in legend.classes}
    else:
        out = dict(legend)
    out.setdefault(WATER, label)
    return out


def _option(ctx: Any, section: str, name: str, default: Any) -> Any:
    sec = getattr(getattr(ctx, "assessment", None), section, None)
    if sec is None:
        return default
    if isinstance(sec, dict):
        return sec.get(name, default)
    return getattr(sec, name, default)


def _baseline(ctx: Any) -> Period | None:
    a = getattr(ctx, "assessment", None)
    b = getattr(a, "baseline_period", None)
    if isinstance(b, Period):
        return b
    raw = getattr(a, "baseline", None)
    return Period.from_user_input(raw, name="baseline") if raw is not None else None


def _zone_areas(codes: xr.DataArray, cov: Any, area: xr.DataArray) -> tuple[ZoneArea, ...]:
    """Per-zone totals of a land/water code raster (exact int64 sums of the zonal tables)."""
    from openldn.zonal import class_area_table

    t = class_area_table(codes, cov, area, variable="area_ledger")
    out = []
    for zid, g in t.groupby(t["zone_id"].astype(str), sort=False):
        by = dict(zip(g["class_code"].astype(int), g["area_km2"].astype(float), strict=True))
        total = float(g["area_km2"].sum())
        out.append(ZoneArea(zone_id=str(zid), zone_name=str(g["zone_name"].iloc[0]), total_km2=total,
                            water_km2=by.get(_WATER_CELL, 0.0), land_nodata_km2=by.get(NODATA, 0.0)))
    return tuple(out)


def build_ledger(ctx: Any, *, land_water: xr.DataArray | None = None) -> AreaLedger:
    """Compute the area ledger of a run context.

    Parameters
    ----------
    ctx : openldn.pipeline.RunContext
        The run context; uses the layer ``lc_unccd`` (when present), ``ctx.area``, ``ctx.coverage`` and the options
        ``integration.water_mask_year``, ``integration.land_area_km2`` and ``land_cover.max_year_gap``.
    land_water : xarray.DataArray, optional
        Stored land/water codes (:func:`land_water_codes`) to rebuild from (resume); computed from ``lc_unccd``
        otherwise.

    Returns
    -------
    AreaLedger

    Raises
    ------
    ConfigError
        ``integration.water_mask_year`` is not one of :data:`WATER_RULES`.
    MissingYearError
        The water year is further than ``land_cover.max_year_gap`` from any land cover year.
    """
    rule = str(_option(ctx, "integration", "water_mask_year", "baseline_initial"))
    if rule not in WATER_RULES:
        raise ConfigError(f"integration.water_mask_year = {rule!r} is unknown; use one of {', '.join(WATER_RULES)}.")
    official = _option(ctx, "integration", "land_area_km2", None)
    official = float(official) if official is not None else None
    layers = getattr(ctx, "layers", {})
    lc = layers.get("lc_unccd", None)
    wanted = used = None
    if land_water is None and lc is not None:
        if "time" in lc.dims:
            years = [int(y) for y in years_of(lc)]
            base = _baseline(ctx)
            wanted = (base.start if rule == "baseline_initial" else base.end) if base is not None else years[0]
            choice = closest_year(years, wanted, what=f"land cover for the water mask (integration.water_mask_year "
                                  f"= {rule})", max_gap=_option(ctx, "land_cover", "max_year_gap", None))
            if choice.substituted and hasattr(ctx, "substitute"):
                ctx.substitute(choice.note())
            used = choice.used
            from openldn.land_cover.stage import land_cover_of_year

            lc_year = land_cover_of_year(layers, used)  # the stored year layer when the land cover stage has one
            lc_year = lc_year.drop_vars("time", errors="ignore")
        else:
            lc_year = lc
        land_water = land_water_codes(lc_year)
        land_water.attrs.update({"water_rule": rule, "water_year": -1 if used is None else used,
                                 "wanted_year": -1 if wanted is None else wanted})
    elif land_water is not None:
        used = int(land_water.attrs.get("water_year", -1))
        wanted = int(land_water.attrs.get("wanted_year", -1))
        used = None if used < 0 else used
        wanted = None if wanted < 0 else wanted
    area = ctx.area
    if land_water is None:
        codes = xr.zeros_like(area, dtype=np.int16)
        return AreaLedger(coverage=ctx.coverage, area=area, zones=_zone_areas(codes, ctx.coverage, area),
                          land_water=None, water_rule=rule, official_land_km2=official)
    return AreaLedger(coverage=ctx.coverage, area=area, zones=_zone_areas(land_water, ctx.coverage, area),
                      land_water=land_water, water_rule=rule, water_year=used, wanted_year=wanted,
                      official_land_km2=official)


def ledger_of(ctx: Any) -> AreaLedger:
    """The run's area ledger: ``ctx.ledger``, built (once) when the context has none yet.

    On resume the ledger is rebuilt from the stored ``land_water`` layer when present, else from ``lc_unccd``; both
    give the same ledger (the water year and rule are stored with the layer).
    """
    led = getattr(ctx, "ledger", None)
    if led is None:
        layers = getattr(ctx, "layers", {})
        stored = layers.get(LAND_WATER_LAYER, None)
        led = build_ledger(ctx, land_water=stored)
        ctx.ledger = led
    return led
