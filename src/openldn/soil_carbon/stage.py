"""Pipeline stage of the SOC sub-indicator (SO1-3): layers ``soc/<year>`` and ``soc_degradation/<period>``,
tables ``soc_by_lc`` (SO1-3.T1) and ``soc_degradation`` (SO1-3.T2), maps.

Stocks (the layer ``soc_series``: the years used, or every year for the statistical test) come either from the
Tier 1 / Tier 2 model (a reference stock and the ``lc_unccd`` layer of the land cover stage) or, when the SOC input already holds one stock per year, straight from the input. Years follow the land cover
stage (baseline first -> last year; reporting periods from ``land_cover.reporting_lc_start``). SOC degradation is
nodata on water, as the SOC method says (``land_cover.water_mask``: UNCCD class 7 of the period's initial year by
default, Trends.Earth conventions (docs/differences.md)); the table's water row is the run's area ledger's (code
:data:`openldn.core.codes.WATER`, year chosen by ``integration.water_mask_year``), so that its land area equals every
other table's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from openldn.core.periods import year_band, years_of
from openldn.core.vocab import load_legend
from openldn.exceptions import ConfigError
from openldn.land_cover.stage import (
    closest_year,
    degradation_table_legend,
    land_cover_of_year,
    period_years,
    resolve_option_path,
)
from openldn.soil_carbon.change import degradation, relative_change, statistical_degradation
from openldn.soil_carbon.stocks import as_stock, tier1_stock

__all__ = ["run"]


def _drop_time(da: xr.DataArray) -> xr.DataArray:
    return da.isel(time=0, drop=True) if "time" in da.dims else da


def run(ctx: Any) -> None:
    """Compute SOC stocks for the reported years and SOC degradation per period; write maps and tables.

    Parameters
    ----------
    ctx : openldn.pipeline.RunContext
        The run context (architecture.md, "Stage contract").
    """
    from openldn.pipeline.ledger import ledger_of, water_of
    from openldn.zonal import compute_table_groups, zonal_mean_table

    a = ctx.assessment
    opts = a.soil_carbon
    lcopts = a.land_cover
    soc_in = ctx.input("soc")
    soc_years = years_of(soc_in) if "time" in soc_in.dims else None
    mode = opts.stocks
    if mode == "auto":
        mode = "input" if soc_years is not None and len(soc_years) > 1 else "model"
    lc = ctx.layers.get("lc_unccd", None)
    lc_years = years_of(lc) if lc is not None else None
    unccd = load_legend("unccd")
    baseline = a.baseline_period

    def pick(available: np.ndarray, target: int, what: str) -> int:
        used = closest_year(available, target, opts.max_year_gap, what)
        if used != target:
            ctx.substitute(f"{what.split(' (')[0]} {used} used for {target} ({what})")
        return used

    def lc_at(target: int, what: str) -> xr.DataArray | None:
        if lc is None or lc_years is None:
            return None
        return land_cover_of_year(ctx.layers, pick(lc_years, target, f"land cover ({what})"))

    pairs = {p.label: (p, *period_years(p, baseline, lcopts.reporting_lc_start)) for p in a.periods}
    targets = sorted(set(opts.years) if opts.years else {t for _, t0, t1 in pairs.values() for t in (t0, t1)})

    def _used_years(available: np.ndarray) -> list[int]:
        """The stock years the tables and periods use (the closest to each target)."""
        wanted = set(targets) | {t for _, t0, t1 in pairs.values() for t in (t0, t1)}
        return sorted({closest_year(available, t, opts.max_year_gap, f"SOC ({t})") for t in wanted})

    ctx.progress("soil_carbon", 0, 3, "SOC stocks")
    if mode == "model":
        if lc is None:
            raise ConfigError(
                "The SOC model needs land cover: add inputs.land_cover, or give one SOC stock per year with "
                "soil_carbon.stocks: input."
            )
        assert lc_years is not None
        ref = opts.reference_year or (int(soc_years[0]) if soc_years is not None else baseline.start)
        ref_lc = pick(lc_years, ref, "land cover (SOC reference year)")
        cf = opts.climate_factor
        climate: xr.DataArray | float | str
        if cf == "per_pixel":
            if not ctx.has_input("climate_zones"):
                raise ConfigError(
                    "soil_carbon.climate_factor is 'per_pixel' but there is no climate_zones input: add "
                    "inputs.climate_zones or set climate_factor to a regime name or a number."
                )
            climate = _drop_time(ctx.input("climate_zones"))
        else:
            climate = cf
        stock_years = lc_years[lc_years >= ref_lc]
        stocks = tier1_stock(
            _drop_time(soc_in), lc, climate, factors=resolve_option_path(ctx, opts.coefficients), soc_year=ref_lc,
            annualisation=opts.annualisation, transition_timing=opts.transition_timing,
            years=None if opts.method == "statistical" else _used_years(stock_years),
        )
        stock_years = years_of(stocks)
        tier = "Tier 2" if opts.coefficients != "ipcc_tier1" else "Tier 1"
    else:
        if soc_years is None:
            raise ConfigError(
                "soil_carbon.stocks is 'input' but the SOC input has no years: give one band per year."
            )
        stocks = as_stock(soc_in)
        stock_years = soc_years
        tier = "input stocks"

    # The stocks of the years used are computed once (the model needs the whole land cover series, and returns only
    # those; inputs are aligned once) and stored; every year and period reads them back. The statistical test keeps
    # every year.
    if opts.method != "statistical":
        keep = np.flatnonzero(np.isin(stock_years, _used_years(stock_years)))
        stocks, stock_years = stocks.isel(time=keep), stock_years[keep]

    def stock_at(target: int, what: str) -> xr.DataArray:  # of `stocks`: lazy for the year layers, stored after
        y = pick(stock_years, target, f"SOC ({what})")
        return year_band(stocks, y, drop=True)

    # SO1-3.T1: mean stock per land cover class and year. The series and the years' layers are stored in one pass
    # (taking the years from the stored series afterwards read it whole once more).
    frames = []
    year_stocks: dict[str, xr.DataArray] = {}
    for t in targets:
        st = stock_at(t, str(t))
        st.attrs.update({"units": "t C ha-1", "long_name": f"SOC stock {t}, 0-30 cm", "tier": tier})
        year_stocks[f"soc/{t}"] = st
    ctx.layers.update({"soc_series": stocks, **year_stocks})
    stocks = ctx.layers["soc_series"]
    for t in targets:
        key = f"soc/{t}"
        st = ctx.layers[key]
        by = lc_at(t, f"SOC table {t}")
        frames.append(zonal_mean_table.plan(st, ctx.coverage, ctx.area, by=by, variable="soc_stock",
                                            period=str(t), legend=unccd if by is not None else None))
        if opts.write_maps and a.outputs.maps:
            ctx.write_raster(key, st, title=f"SOC stock {t}", units="t C ha-1")

    # SO1-3.T2: degradation per period.
    ctx.progress("soil_carbon", 1, 3, "SOC degradation")
    deg_legend = load_legend("degradation")
    b0 = pairs[baseline.label][1]
    ledger = ledger_of(ctx)  # the water row of the table: the run's one water mask
    degs: dict[str, xr.DataArray] = {}
    changes: dict[str, xr.DataArray] = {}
    for label, (p, t0, t1) in pairs.items():
        s0, s1 = stock_at(t0, f"{label} initial"), stock_at(t1, f"{label} final")
        if lcopts.water_mask == "run":
            water = ledger.water
        else:  # the SOC method's own mask (Trends.Earth: class 7 of the period's initial year)
            wlc = lc_at(t0 if lcopts.water_mask == "period_initial" else b0, f"{label} water")
            water = water_of(wlc) if wlc is not None else None
        if opts.method == "statistical" and p.name != "baseline":
            bsel = (stock_years >= pairs[baseline.label][1]) & (stock_years <= pairs[baseline.label][2])
            rsel = (stock_years > t0) & (stock_years <= t1)
            if bsel.sum() < 2 or rsel.sum() < 1:
                raise ConfigError(
                    f"SOC statistical test for {label}: needs at least two baseline stock years and one reporting "
                    "year; use method: relative or give annual stocks."
                )
            deg = statistical_degradation(stocks.isel(time=np.flatnonzero(bsel)),
                                          stocks.isel(time=np.flatnonzero(rsel)), n_sd=opts.n_sd, water=water)
        else:
            deg = degradation(s0, s1, opts.threshold, strict=opts.strict, water=water,
                              round_stocks=opts.round_stocks)
        deg.attrs.update({"initial_year": t0, "final_year": t1, "period": label, "method": opts.method})
        degs[f"soc_degradation/{label}"] = deg
        if opts.write_maps and a.outputs.maps:
            change = (relative_change(s0, s1, round_stocks=opts.round_stocks) * 100).astype(np.float32)
            change.attrs = {"units": "%", "long_name": f"SOC change {t0}-{t1}"}
            changes[f"soc_change/{label}"] = change
    # every period's layers and their area tables in one pass over the stocks
    degs = {k: ctx.as_stored(v) for k, v in degs.items()}
    deg_frames = [ledger.plan_class_table(degs[f"soc_degradation/{label}"].astype(np.int16),
                                          variable="soc_degradation", period=label, legend=degradation_table_legend())
                  for label in pairs]
    maps = ctx.materialize_many({**degs, **changes}, tables=deg_frames)
    ctx.layers.update(degs)  # already stored: the same layers
    for label in pairs:
        key = f"soc_degradation/{label}"
        deg = ctx.layers[key]
        if changes:
            ctx.write_raster(f"soc_change/{label}", maps[f"soc_change/{label}"], title=f"SOC change {label}",
                             units="%")
            ctx.write_raster(key, deg, legend=deg_legend, title=f"SOC degradation {label}")
    # the stage's tables in one pass
    for key, frame in compute_table_groups({"soc_by_lc": frames, "soc_degradation": deg_frames}).items():
        ctx.add_table(key, frame)
    ctx.provenance["soil_carbon"] = {
        "stocks": mode,
        "tier": tier,
        "coefficients": opts.coefficients,
        "climate_factor": opts.climate_factor,
        "threshold": opts.threshold,
        "strict": opts.strict,
        "method": opts.method,
        "years": {k: {"initial": v[1], "final": v[2]} for k, v in pairs.items()},
    }
    ctx.progress("soil_carbon", 3, 3, "done")


# -- the stage declaration (openldn.core.stage; registered in openldn.registry) ---------------------------------
from openldn.core.stage import InputDecl, KeyPattern, Stage, YearNeed  # noqa: E402
from openldn.soil_carbon.options import SoilCarbonOptions  # noqa: E402


def _check(a: Any, inputs: Any) -> list[str]:
    """What ``run`` would refuse about the SOC inputs, known before computing (same messages)."""
    opts: SoilCarbonOptions = a.soil_carbon
    soc = inputs.get("soc")
    if soc is None:
        return []
    model = opts.stocks == "model" or (opts.stocks == "auto" and ("time" not in soc.dims or soc.sizes["time"] < 2))
    out = []
    if model and "land_cover" not in a.inputs:
        out.append("The SOC model needs land cover: add inputs.land_cover, or give one SOC stock per year with "
                   "soil_carbon.stocks: input.")
    if model and opts.climate_factor == "per_pixel" and "climate_zones" not in a.inputs:
        out.append("soil_carbon.climate_factor is 'per_pixel' but there is no climate_zones input: add "
                   "inputs.climate_zones or set climate_factor to a regime name or a number.")
    return out


def _year_needs(a: Any) -> list[YearNeed]:
    """The land cover year of an explicit SOC reference year (the model's starting stock)."""
    opts: SoilCarbonOptions = a.soil_carbon
    if opts.reference_year is None:
        return []
    return [YearNeed("land_cover", int(opts.reference_year), "land cover (SOC reference year)", opts.max_year_gap)]

STAGE = Stage(
    name="soil_carbon",
    title="Soil organic carbon (SO1-3)",
    run=run,
    options_key="soil_carbon",
    options=SoilCarbonOptions,
    inputs=(
        InputDecl("soc", "continuous", "Soil organic carbon stock 0-30 cm in t C/ha (one baseline map, or one "
                  "band per year).", time="auto", valid_range=(0.0, None), units="t C/ha"),
        InputDecl("climate_zones", "categorical", "IPCC climate zones (codes of the IPCC Tier 1 factor table) for "
                  "the land-use change factors.", time="static"),
    ),
    switched_on_by=("soc",),
    check=_check,
    year_needs=_year_needs,
    tables=(KeyPattern("soc_by_lc", "mean SOC stock per land cover class and year (SO1-3.T1)"),
            KeyPattern("soc_degradation", "SOC degradation areas per period (SO1-3.T2)")),
    layers=(KeyPattern("soc_series"), KeyPattern("soc/{year}"), KeyPattern("soc_change/{period}"),
            KeyPattern("soc_degradation/{period}")),
)
