"""Monthly drought monitoring: the latest month's SPI/SPEI at several scales, alert levels, units and people.

:func:`monitor_indices` computes, for the months up to a chosen month, the standardised index at each scale
(1, 3, 6, 12, 24 months by default) through reference-period fits kept in a :class:`~openldn.monitoring.fits.
FitStore`, and the alert level of every pixel (:mod:`openldn.monitoring.alerts`). :func:`summarise` aggregates
them per admin unit (area shares by level, people by sex by level, unit means of each index, the unit's level and
its change from the previous month). :func:`run_monitor` does both from a run file and writes the bulletin
(:mod:`openldn.monitoring.bulletin`).

Missing months are never filled: a month absent from the input or without any value over the area is listed in
``missing_months`` (its accumulations are missing), a month with some cells missing in ``incomplete_months``,
and months the user declares provisional in ``provisional_months``; the bulletin names all three.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from openldn.core.codes import NODATA
from openldn.core.periods import year_band, years_of
from openldn.core.years import closest_year
from openldn.exceptions import ConfigError, GridMismatchError, MissingYearError
from openldn.monitoring.alerts import AlertRules, alert_levels, load_alert_rules, unit_level
from openldn.monitoring.fits import FitStore, IndexSpec, transform

__all__ = ["MonitorOptions", "MonitorResult", "MonthlyIndices", "monitor_indices", "parse_month", "run_monitor",
           "summarise"]

log = logging.getLogger("openldn.monitoring")

#: Default accumulation scales (months).
SCALES: tuple[int, ...] = (1, 3, 6, 12, 24)
_GROUPS = ("total", "female", "male")


def parse_month(label: str | pd.Timestamp) -> pd.Timestamp:
    """``"YYYY-MM"`` -> the month's first day.

    Raises
    ------
    ConfigError
        Not a month.
    """
    if isinstance(label, pd.Timestamp):
        return pd.Timestamp(label.year, label.month, 1)
    text = str(label).strip()
    if not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", text):
        raise ConfigError(f"month {label!r} is not a month: give it as YYYY-MM, e.g. 2023-09.")
    try:
        ts = pd.Timestamp(text[:7] + "-01")
    except (ValueError, TypeError):
        raise ConfigError(f"month {label!r} is not a month: give it as YYYY-MM, e.g. 2023-09.") from None
    return pd.Timestamp(ts.year, ts.month, 1)


@dataclass(frozen=True)
class MonitorOptions:
    """Options of a monitoring run (the command-line options of ``openldn monitor``).

    Parameters
    ----------
    month : str
        Month of the bulletin, ``YYYY-MM``.
    reference : str
        Reference (calibration) years of the fits, default 1991-2020.
    index : {"spi", "spei"}
        SPEI needs a ``pet`` input.
    distribution : str
        ``gamma`` or ``pearson3`` (SPI), ``loglogistic``, ``pearson3`` or ``gamma`` (SPEI).
    scales : tuple of int
        Accumulation scales; the alert rules' scales are added.
    history : int
        Months of the time series charts (ending at ``month``).
    provisional : tuple of str
        Months (``YYYY-MM``) whose input is provisional (e.g. a preliminary satellite estimate).
    rules : path, optional
        Alert rules file (default ``openldn/data/drought/alert_rules.yaml``).
    language : str
        Language of the bulletin (``en``, ``es``, ``fr``: ``openldn/data/drought/bulletin_text.yaml``).
    """

    month: str
    reference: str = "1991-2020"
    index: str = "spi"
    distribution: str | None = None
    scales: tuple[int, ...] = SCALES
    history: int = 24
    provisional: tuple[str, ...] = ()
    rules: str | Path | None = None
    language: str = "en"

    @property
    def spec(self) -> IndexSpec:
        """Index, distribution and reference years."""
        dist = self.distribution or ("gamma" if self.index == "spi" else "loglogistic")
        return IndexSpec(self.index, dist, self.reference)


@dataclass
class MonthlyIndices:
    """Indices and alert levels of the months up to the bulletin month, on the index's own grid."""

    month: pd.Timestamp
    spec: IndexSpec
    rules: AlertRules
    #: scale -> index (time, y, x) float32 over the history months
    values: dict[int, xr.DataArray]
    #: alert level (time, y, x) int16 over the history months, nodata -32768
    levels: xr.DataArray
    missing_months: list[str] = field(default_factory=list)
    incomplete_months: dict[str, float] = field(default_factory=dict)
    provisional_months: list[str] = field(default_factory=list)
    last_data_month: str = ""
    fit_cache: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def months(self) -> pd.DatetimeIndex:
        """The history months."""
        return pd.DatetimeIndex(self.levels["time"].values)

    @property
    def label(self) -> str:
        """``YYYY-MM`` of the bulletin month."""
        return f"{self.month:%Y-%m}"


def _complete_axis(da: xr.DataArray, name: str, end: pd.Timestamp) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Values (time, y, x) float64 on a complete monthly axis from the first month to ``end`` (gaps NaN)."""
    if "time" not in da.dims:
        raise GridMismatchError(f"{name}: no time axis: give monthly data with one band per month (YYYY-MM).")
    t = pd.DatetimeIndex(da["time"].values)
    norm = pd.DatetimeIndex([pd.Timestamp(v.year, v.month, 1) for v in t])
    if norm.has_duplicates:
        raise GridMismatchError(f"{name}: two bands fall in one calendar month: give one band per month.")
    if norm.max() < end:
        raise MissingYearError(
            f"{name}: no data for {end:%Y-%m}; the latest month in the input is {norm.max():%Y-%m}: choose "
            f"--month {norm.max():%Y-%m} or add the month to the input."
        )
    full = pd.date_range(norm.min(), end, freq="MS")
    arr = np.asarray(da.transpose("time", "y", "x").values, dtype=np.float64)
    fill = da.attrs.get("_FillValue")
    if fill is not None and np.isfinite(fill):
        arr[arr == fill] = np.nan
    out = np.full((len(full), *arr.shape[1:]), np.nan)
    pos = full.get_indexer(norm)
    keep = pos >= 0
    out[pos[keep]] = arr[keep]
    return out, full


def monitor_indices(
    pr: xr.DataArray,
    options: MonitorOptions,
    *,
    pet: xr.DataArray | None = None,
    store: FitStore | None = None,
    area_mask: np.ndarray | None = None,
) -> MonthlyIndices:
    """Index at every scale and alert level of each pixel for the history months ending at ``options.month``.

    Parameters
    ----------
    pr : xarray.DataArray
        Monthly precipitation (mm), ``(time, y, x)``, time at month starts; months after ``options.month`` are
        ignored (a bulletin can be re-made for an earlier month).
    options : MonitorOptions
    pet : xarray.DataArray, optional
        Monthly PET (mm), same grid and months, for SPEI.
    store : FitStore, optional
        Where reference fits are kept; default: fitted in memory for this call only.
    area_mask : ndarray of bool (y, x), optional
        Cells of the area of interest (for naming missing months); default all cells.

    Returns
    -------
    MonthlyIndices

    Raises
    ------
    MissingYearError
        The month is not in the data, or has no value over the area, or the reference years are not covered.
    ConfigError
        Bad options or rules.
    """
    t0 = time.perf_counter()
    month = parse_month(options.month)
    spec = options.spec
    rules = load_alert_rules(options.rules)
    scales = sorted({int(s) for s in options.scales} | set(rules.scales))
    if any(not 1 <= s <= 72 for s in scales):
        raise ConfigError(f"scales {scales} must be 1-72 months.")
    if options.history < 1:
        raise ConfigError("history must be at least 1 month.")
    values, months = _complete_axis(pr, "precipitation", month)
    if spec.index == "spei":
        if pet is None:
            raise ConfigError("index spei needs monthly PET: add inputs.pet to the run file or use --index spi.")
        pet_v, pet_m = _complete_axis(pet, "pet", month)
        if pet_v.shape[1:] != values.shape[1:]:
            raise GridMismatchError("pet and precipitation are not on one grid: put PET on the precipitation grid.")
        common = months.intersection(pet_m)
        values = np.clip(values[months.get_indexer(common)], 0, None) - pet_v[pet_m.get_indexer(common)]
        months = pd.DatetimeIndex(common)
    mask = np.ones(values.shape[1:], dtype=bool) if area_mask is None else np.asarray(area_mask, dtype=bool)
    if mask.shape != values.shape[1:]:
        raise GridMismatchError("area mask and precipitation grid differ in shape.")
    n_cells = int(mask.sum())
    have = np.isfinite(values[:, mask]).sum(axis=1) if n_cells else np.zeros(len(months), dtype=int)
    last_ok = months[have > 0].max() if (have > 0).any() else None
    if not len(have) or have[-1] == 0:
        raise MissingYearError(
            f"precipitation: {month:%Y-%m} has no value over the area (all cells nodata); the latest month with "
            f"data is {last_ok:%Y-%m}: choose that month or complete the input." if last_ok is not None else
            "precipitation: no value over the area in any month: check the input covers the area of interest."
        )
    lookback = rules.max_persistence - 1
    n_out = options.history + lookback
    first = len(months) - n_out
    if first < 0:
        raise MissingYearError(f"precipitation: {len(months)} months is shorter than the {n_out} months the "
                               "bulletin needs.")
    window = months[first:]
    # missing and incomplete months among every month entering the window's accumulations
    reach = max(0, first - max(scales) + 1)
    missing = [f"{m:%Y-%m}" for m, h in zip(months[reach:], have[reach:], strict=True) if h == 0]
    incomplete = {f"{m:%Y-%m}": round(1.0 - h / n_cells, 4)
                  for m, h in zip(months[reach:], have[reach:], strict=True) if 0 < h < n_cells}
    store = store if store is not None else FitStore()
    coords = (np.asarray(pr["y"].values, dtype=float), np.asarray(pr["x"].values, dtype=float))
    out_vals: dict[int, np.ndarray] = {}
    hits0, miss0 = store.hits, store.misses
    t_fit = 0.0
    for s in scales:
        tf = time.perf_counter()
        params = store.get(values, months, s, spec, coords)
        t_fit += time.perf_counter() - tf
        lo = max(0, first - s + 1)
        sub = values[lo:]
        res = transform(sub, months[lo:], s, spec, params, first - lo)
        out_vals[s] = res[first - lo:]
    lev = alert_levels(out_vals, rules)
    keep = slice(lookback, None)
    dims = ("time", "y", "x")
    base = {"time": window[keep], "y": pr["y"].values, "x": pr["x"].values}
    import rioxarray  # noqa: F401  (registers .rio)

    from openldn.drought._grid import keep_grid

    def _da(arr: np.ndarray, name: str, attrs: dict[str, Any]) -> xr.DataArray:
        da = xr.DataArray(arr[keep], dims=dims, coords=base, name=name, attrs=attrs)
        da = keep_grid(da, pr)
        if pr.rio.crs is not None:
            da = da.rio.write_crs(pr.rio.crs)
        return da

    vals = {s: _da(v, f"{spec.index}_{s}", {"units": "1", "scale_months": s, "calibration_period": spec.calibration,
                                               "distribution": spec.distribution})
            for s, v in out_vals.items()}
    levels = _da(lev, "alert_level", {"_FillValue": NODATA, "rules": rules.source})
    prov = sorted({f"{parse_month(p):%Y-%m}" for p in options.provisional})
    return MonthlyIndices(
        month=month, spec=spec, rules=rules, values=vals, levels=levels, missing_months=missing,
        incomplete_months=incomplete, provisional_months=[p for p in prov if parse_month(p) <= month],
        last_data_month=f"{last_ok:%Y-%m}" if last_ok is not None else "",
        fit_cache={"reused": store.hits - hits0, "fitted": store.misses - miss0},
        timings={"fits": t_fit, "indices": time.perf_counter() - t0},
    )


# ---------------------------------------------------------------------------------------------------------------
# Per-unit summaries
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class MonitorResult:
    """Everything a bulletin shows."""

    indices: MonthlyIndices
    #: one row per zone (ALL first) for the bulletin month
    units: pd.DataFrame
    #: tidy history: zone_id, zone_name, month, variable (spi_<s> | level | share_<key>), value
    series: pd.DataFrame
    #: generated sentences
    text: list[str]
    #: population year used and substitution note
    population_note: str = ""
    name: str = "Assessment"
    out_dir: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)
    boundaries: Any = None
    aoi: Any = None
    language: str = "en"


def _weights(cov: Any, area: np.ndarray) -> np.ndarray:
    """(zones, pixels) area weights: cell area x covered fraction."""
    frac = np.stack([np.asarray(cov.fraction(z).values, dtype=np.float64).reshape(-1) for z in cov.zone_ids])
    out: np.ndarray = frac * np.asarray(area, dtype=np.float64).reshape(-1)[None, :]
    return out


def summarise(
    ind: MonthlyIndices,
    index_cov: Any,
    index_area: np.ndarray,
    *,
    population: dict[str, xr.DataArray] | None = None,
    pop_cov: Any = None,
    language: str = "en",
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Unit table of the bulletin month, unit histories and the generated text.

    Parameters
    ----------
    ind : MonthlyIndices
    index_cov : openldn.zonal.Coverage
        Coverage of the index grid by the AOI and the units.
    index_area : ndarray (y, x)
        Cell areas (m²) of the index grid.
    population : dict, optional
        ``{"total"|"female"|"male": (y, x) counts}`` on the grid of ``pop_cov`` (one year).
    pop_cov : openldn.zonal.Coverage, optional
        Coverage of the population grid.
    language : str
        Language of the generated text (``data/drought/bulletin_text.yaml``).

    Returns
    -------
    (units, series, text)
    """
    rules = ind.rules
    w = _weights(index_cov, index_area)
    nz = w.shape[0]
    months = ind.months
    lev = np.asarray(ind.levels.values).reshape(len(months), -1)
    codes = [lv.code for lv in rules.levels]
    zone_tot = w.sum(axis=1)
    rows = []
    shares = np.zeros((len(months), nz, len(codes) + 1))
    for k, c in enumerate([*codes, NODATA]):
        shares[:, :, k] = (lev == c).astype(np.float64) @ w.T / np.where(zone_tot > 0, zone_tot, 1.0)
    unit_lv = np.zeros((len(months), nz), dtype=np.int64)
    for t in range(len(months)):
        for z in range(nz):
            unit_lv[t, z] = unit_level({c: shares[t, z, k] for k, c in enumerate([*codes, NODATA])}, rules)
    means: dict[int, np.ndarray] = {}
    for s, da in ind.values.items():
        v = np.asarray(da.values, dtype=np.float64).reshape(len(months), -1)
        ok = np.isfinite(v)
        num = np.where(ok, v, 0.0) @ w.T
        den = ok.astype(np.float64) @ w.T
        with np.errstate(invalid="ignore", divide="ignore"):
            means[s] = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    # people by level (bulletin month and the month before) on the population grid
    people: dict[tuple[int, str, str, int], float] = {}
    if population and pop_cov is not None:
        from openldn.io import align
        from openldn.zonal import zonal_sum_table

        for t in (len(months) - 1, len(months) - 2):
            if t < 0:
                continue
            lv_da = ind.levels.isel(time=t)
            on_pop = align(lv_da.astype(np.int16), pop_cov.geobox, kind="categorical")
            for grp, pop in population.items():
                tab = zonal_sum_table(pop, pop_cov, by=on_pop, variable=f"population_{grp}",
                                      legend=rules.legend())
                for zid_, code_, val_ in zip(tab["zone_id"], tab["class_code"], tab["value"], strict=True):
                    people[(t, grp, str(zid_), int(code_))] = float(val_)
    cur, prev = len(months) - 1, len(months) - 2
    for z, zid in enumerate(index_cov.zone_ids):
        row: dict[str, Any] = {"zone_id": zid, "zone_name": index_cov.zone_names[z], "month": ind.label,
                               "area_km2": zone_tot[z] * 1e-6}
        lvl = int(unit_lv[cur, z])
        plv = int(unit_lv[prev, z]) if prev >= 0 else NODATA
        row["level"] = lvl
        row["level_label"] = rules.label(lvl)
        row["previous_level"] = plv
        row["previous_label"] = rules.label(plv)
        row["change"] = (lvl - plv) if NODATA not in (lvl, plv) else None
        # since when at watch or above
        since = None
        if lvl >= 1:
            t = cur
            while t - 1 >= 0 and unit_lv[t - 1, z] >= 1:
                t -= 1
            since = ("" if t > 0 else "<= ") + f"{months[t]:%Y-%m}"  # "<=": the run began before the history
        row["since"] = since
        for k, c in enumerate([*codes, NODATA]):
            key = "nodata" if c == NODATA else rules.by_code(c).key
            row[f"share_{key}"] = shares[cur, z, k]
            row[f"share_{key}_previous"] = shares[prev, z, k] if prev >= 0 else np.nan
        for s in sorted(means):
            row[f"{ind.spec.index}_{s}"] = means[s][cur, z]
        if people:
            for grp in population or {}:
                for c in codes:
                    key = rules.by_code(c).key
                    row[f"people_{grp}_{key}"] = people.get((cur, grp, zid, c), 0.0)
                    row[f"people_{grp}_{key}_previous"] = people.get((prev, grp, zid, c), 0.0)
        rows.append(row)
    units = pd.DataFrame(rows)
    srows = []
    for z, zid in enumerate(index_cov.zone_ids):
        for t, m in enumerate(months):
            lab = f"{m:%Y-%m}"
            srows.append((zid, index_cov.zone_names[z], lab, "level", float(unit_lv[t, z])))
            for s in sorted(means):
                srows.append((zid, index_cov.zone_names[z], lab, f"{ind.spec.index}_{s}", float(means[s][t, z])))
            for k, c in enumerate([*codes, NODATA]):
                key = "nodata" if c == NODATA else rules.by_code(c).key
                srows.append((zid, index_cov.zone_names[z], lab, f"share_{key}", float(shares[t, z, k])))
    series = pd.DataFrame(srows, columns=["zone_id", "zone_name", "month", "variable", "value"])
    text = _sentences(ind, units, population, language)
    return units, series, text


def _sentences(ind: MonthlyIndices, units: pd.DataFrame, population: dict[str, Any] | None,
               language: str = "en") -> list[str]:
    from openldn.monitoring.text import texts

    tx = texts(language)
    rules = ind.rules
    top = rules.levels[-1]

    def lab(lv: Any) -> str:
        return tx.level(lv.key, lv.label).lower()

    zones = units[units["zone_id"] != "ALL"] if (units["zone_id"] != "ALL").any() else units
    out = []
    counts = [tx("s_count_item", n=int((zones["level"] == lv.code).sum()), level=lab(lv))
              for lv in reversed(rules.levels) if lv.code > 0]
    out.append(tx("s_counts", month=tx.month(ind.month), n=len(zones), counts=", ".join(counts)))
    entered = zones[(zones["level"] >= top.code) & (zones["previous_level"] < top.code)
                    & (zones["previous_level"] != NODATA)]
    left = zones[(zones["level"] < top.code) & (zones["level"] != NODATA) & (zones["previous_level"] >= top.code)]
    has_people = bool(population) and f"people_total_{top.key}" in units.columns

    def _who(df: pd.DataFrame) -> str:
        names = ", ".join(str(n) for n in df["zone_name"])
        if not has_people:
            return names
        tot = sum(df[f"people_total_{lv.key}"].sum() for lv in rules.levels if lv.code >= top.code)
        return tx("s_who_people", names=names, n=tx.number(tot))

    out.append(tx("s_entered", level=lab(top), who=_who(entered)) if len(entered) else
               tx("s_none_entered", level=lab(top)))
    if len(left):
        out.append(tx("s_left", level=lab(top), names=", ".join(str(n) for n in left["zone_name"])))
    rose = zones[(zones["change"].notna()) & (zones["change"] > 0)]
    fell = zones[(zones["change"].notna()) & (zones["change"] < 0)]
    if len(rose) or len(fell):
        out.append(tx("s_changed", up=len(rose), down=len(fell)))
    allrow = units[units["zone_id"] == "ALL"].iloc[0]
    if has_people:
        parts = []
        for lv in rules.levels:
            if lv.code == 0:
                continue
            part = tx("s_people_item", n=tx.number(allrow.get(f"people_total_{lv.key}", 0.0)), level=lab(lv))
            if f"people_female_{lv.key}" in units.columns:
                part += tx("s_people_sex", women=tx.number(allrow[f"people_female_{lv.key}"]),
                           men=tx.number(allrow[f"people_male_{lv.key}"]))
            parts.append(part)
        out.append(tx("s_people", parts="; ".join(parts)))
    shares = [tx("s_area_item", pct=f"{100 * allrow[f'share_{lv.key}']:.0f}", level=lab(lv))
              for lv in rules.levels if lv.code > 0]
    out.append(tx("s_area", parts=", ".join(shares)))
    notes = []
    if ind.missing_months:
        notes.append(tx("s_missing", months=", ".join(ind.missing_months)))
    if ind.incomplete_months:
        notes.append(tx("s_incomplete", months=", ".join(
            tx("s_incomplete_item", month=m, pct=f"{100 * v:.0f}") for m, v in ind.incomplete_months.items())))
    if ind.provisional_months:
        notes.append(tx("s_provisional", months=", ".join(ind.provisional_months)))
    if notes:
        out.append(tx("s_data", notes="; ".join(notes)))
    return out


# ---------------------------------------------------------------------------------------------------------------
# From a run file
# ---------------------------------------------------------------------------------------------------------------


def _crop(raw: xr.DataArray, geobox: Any) -> xr.DataArray:
    """``raw`` cropped by index to the analysis extent plus one cell (:func:`openldn.io.crop_to`)."""
    from openldn.io import crop_to

    return crop_to(raw, geobox)


def run_monitor(run_file: str | Path, options: MonitorOptions, out: str | Path) -> MonitorResult:
    """Compute the monitoring of a month from a run file and write the bulletin into ``out``.

    The run file's ``aoi``, ``zones``, ``grid`` and inputs ``precipitation`` (monthly), ``pet`` (SPEI) and
    ``population_total`` / ``_female`` / ``_male`` (optional) are used; other inputs are ignored. Reference fits
    are kept in ``out/cache`` and reused by later months.

    Returns
    -------
    MonitorResult
    """
    from openldn.config import load_assessment
    from openldn.core.grid import pixel_area
    from openldn.io import geobox_of
    from openldn.monitoring.bulletin import write_bulletin
    from openldn.monitoring.text import texts
    from openldn.pipeline.run import _prepare, grid_template
    from openldn.zonal import build_coverage

    t0 = time.perf_counter()
    texts(options.language)  # an unknown language fails before any computation
    a = load_assessment(run_file)
    if "precipitation" not in a.inputs:
        raise ConfigError(f"{a.source}: monitoring needs a monthly 'precipitation' input: add inputs.precipitation.")
    # only the inputs monitoring reads (and the grid's reference input) are opened and checked
    used = {"precipitation", "pet", *(f"population_{g}" for g in _GROUPS), a.grid.reference}
    a = a.model_copy(update={"inputs": {k: v for k, v in a.inputs.items() if k in used}})
    prep = _prepare(a, None)
    raw = prep["raw"]
    geobox = prep["geobox"]
    pr = _crop(raw["precipitation"], geobox)
    pet = _crop(raw["pet"], geobox) if "pet" in raw and options.index == "spei" else None
    zkw = {"id_field": a.zones.id_field, "name_field": a.zones.name_field} if a.zones else {}
    gb_native = geobox_of(pr)
    cov_native = build_coverage(gb_native, aoi=prep["aoi"], zones=prep["zones"], rule="fraction", **zkw)
    mask = np.asarray(cov_native.aoi_mask().values, dtype=bool)
    out = Path(out).expanduser().resolve()
    store = FitStore(out / "cache")
    ind = monitor_indices(pr.load(), options, pet=pet.load() if pet is not None else None, store=store,
                          area_mask=mask)
    area_native = np.asarray(pixel_area(grid_template(gb_native)).values, dtype=np.float64)
    population: dict[str, xr.DataArray] = {}
    pop_note = ""
    cov_pop = None
    pops = [g for g in _GROUPS if f"population_{g}" in raw]
    if pops:
        from openldn.io import align

        cov_pop = build_coverage(geobox, aoi=prep["aoi"], zones=prep["zones"], rule=a.grid.coverage, **zkw)
        for g in pops:
            p = raw[f"population_{g}"]
            if "time" in p.dims:
                choice = closest_year(years_of(p), ind.month.year, what=f"population_{g} for the bulletin")
                pop_note = choice.note() or f"population of {choice.used}"
                p = year_band(p, choice.used)
            population[g] = align(p, geobox, kind="count").load()
    units, series, text = summarise(ind, cov_native, area_native, population=population or None, pop_cov=cov_pop,
                                    language=options.language)
    res = MonitorResult(indices=ind, units=units, series=series, text=text, population_note=pop_note, name=a.name,
                        out_dir=out, boundaries=prep["zones"], aoi=prep["aoi"], language=options.language)
    res.indices.timings["total_before_bulletin"] = time.perf_counter() - t0
    write_bulletin(res, out)
    log.info("bulletin %s written to %s (fits: %s)", ind.label, out, ind.fit_cache)
    return res


def monitor_command(run_file: Path, month: str, out: Path, *, reference: str = "1991-2020", index: str = "spi",
                    distribution: str | None = None, rules: Path | None = None,
                    provisional: Sequence[str] = (), history: int = 24, language: str = "en") -> MonitorResult:
    """Body of ``openldn monitor`` (kept here so that the command line stays a thin shell)."""
    opts = MonitorOptions(month=month, reference=reference, index=index, distribution=distribution,
                          rules=rules, provisional=tuple(provisional), history=history, language=language)
    return run_monitor(run_file, opts, out)
