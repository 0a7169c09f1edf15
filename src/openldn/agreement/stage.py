"""Pipeline stage ``agreement``: productivity and SDG 15.3.1 under several method variants, and how they agree.

Run-file section::

    agreement:
      variants: [trends_earth, gpg_v2_zscore, robust_fdr, imported_lpd]   # or {name, preset, productivity}
      periods: [2016-2023]          # default: every period of the run
      decompose: true               # also change one productivity option at a time

Every variant computes land productivity degradation with the productivity stage's own functions
(:func:`openldn.productivity.dynamics.land_productivity_dynamics`, the same windows, units and look-up tables) or
imports the LPD map of the input ``lpd_alternative``; SDG 15.3.1 is then combined by the integration stage's
:func:`openldn.integration.sdg.one_out_all_out` with the run's land cover and SOC sub-indicators and its rules. The
run's own method is the reference variant ``run``. Outputs per period:

* map ``agreement/<period>``: how many variants call each pixel degraded (COG with a legend);
* table ``agreement_variants``: the SDG 15.3.1 class areas of every variant (admin units, land shares);
* table ``agreement_range``: the range of every table cell (period x unit x class) across variants;
* table ``agreement_sensitivity``: the change of the national degraded share each variant (and, with
  ``decompose``, each single productivity option) makes against the run's method, ranked;
* ``ctx.provenance["agreement"]``: the variants' definitions, the national figures and the most influential choice.

Each variant's SDG map is computed once into the checkpoint store (``ctx.materialize``), so memory stays bounded
(dask, chunk by chunk). See docs/accuracy.md, "Agreement between methods".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from openldn.agreement.compute import agreement_count, national_shares, range_table, sensitivity_table
from openldn.core.blocks import where_inside
from openldn.core.codes import NODATA, STATUS_DTYPE
from openldn.core.periods import Period, year_band, years_of
from openldn.core.vocab import LandClass, Legend, load_preset, read_data_file
from openldn.exceptions import ConfigError, MissingYearError
from openldn.i18n import N_, _, ngettext
from openldn.productivity.options import ProductivityOptions

__all__ = ["BUILTIN_VARIANTS", "VARIANT_NAMES", "AgreementOptions", "AgreementVariant", "VariantProductivity",
           "agreement_legend", "run"]

#: Built-in variants (package data ``data/agreement/variants.yaml``).
BUILTIN_VARIANTS: dict[str, dict[str, Any]] = dict(read_data_file("agreement/variants.yaml"))

#: Names shown for the variants (the reference ``run`` and the built-ins); other variants show their own name.
VARIANT_NAMES: dict[str, str] = {
    "run": N_("This run's method"),
    "trends_earth": N_("Trends.Earth conformance preset"),
    "gpg_v2_zscore": N_("GPG v2 z-score State"),
    "robust_fdr": N_("Robust trend with false discovery rate control"),
    "imported_lpd": N_("Imported LPD map"),
}


class AgreementVariant(BaseModel):
    """A method variant of the ``agreement`` section (a built-in is given by its name alone)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Identifier (lower case, digits, underscores), unique in the list.")
    preset: str | None = Field(None, description="Method preset whose productivity section replaces the run's.")
    productivity: dict[str, Any] = Field(
        default_factory=dict, description="Productivity options changed on top of the run's (or the preset's)."
    )
    lpd_input: bool = Field(False, description="Use the imported LPD map of the input lpd_alternative instead.")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", v) or v == "run":
            raise ValueError(f"variant name {v!r}: use lower case letters, digits and underscores (not 'run')")
        return v

    @model_validator(mode="after")
    def _one_kind(self) -> AgreementVariant:
        if self.lpd_input and (self.preset or self.productivity):
            raise ValueError(f"variant {self.name}: lpd_input imports a map; preset and productivity do not apply")
        if self.productivity:
            try:
                ProductivityOptions.model_validate({**ProductivityOptions.model_validate({}).model_dump(),
                                                    **self.productivity})
            except ValidationError as err:
                raise ValueError(f"variant {self.name}: productivity options: {err.errors()[0]['msg']}") from None
        return self


class AgreementOptions(BaseModel):
    """Run-file section ``agreement:`` (docs/accuracy.md, "Agreement between methods")."""

    model_config = ConfigDict(extra="forbid")

    variants: list[str | AgreementVariant] = Field(
        default_factory=list,
        description="Method variants compared with the run's own method: built-in names (trends_earth, "
        "gpg_v2_zscore, robust_fdr, imported_lpd) or {name, preset, productivity, lpd_input}. Empty: the stage "
        "does nothing (and every other key of this section is an error).",
    )
    periods: list[str] | None = Field(None, description="Periods compared (default: every period of the run).")
    decompose: bool = Field(
        False,
        description="Also compute the national degraded share with one productivity option of each variant changed "
        "at a time, to name the single choice that moves the national figure most.",
    )
    lpd_source: Literal["jrc", "fao_wocat", "trends_earth", "custom"] = Field(
        "custom", description="Origin of the input lpd_alternative (its class codes)."
    )

    @model_validator(mode="after")
    def _check(self) -> AgreementOptions:
        others = sorted(self.model_fields_set - {"variants"})
        if not self.variants and others:
            raise ValueError(f"agreement: {', '.join(others)} given without variants; list the variants or remove "
                             "the section")  # fmt: skip
        names = []
        for v in self.variants:
            if isinstance(v, str) and v not in BUILTIN_VARIANTS:
                raise ValueError(f"agreement variant {v!r} is not built in: use one of {', '.join(BUILTIN_VARIANTS)}"
                                 " or give {name, preset, productivity}")  # fmt: skip
            names.append(v if isinstance(v, str) else v.name)
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"agreement: variant(s) {dup} listed twice")
        return self


@dataclass
class _Variant:
    name: str
    title: str
    kind: Literal["run", "computed", "imported"]
    options: ProductivityOptions | None = None
    definition: dict[str, Any] = field(default_factory=dict)


class _Quiet:
    """The run context with its substitution notes kept aside (they belong to the variant, not the run)."""

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx
        self.notes: list[str] = []

    def substitute(self, message: str) -> None:
        self.notes.append(message)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


def _options(a: Any) -> AgreementOptions:
    from openldn.core.stage import section_options

    return section_options(a, "agreement", AgreementOptions)


def _run_productivity(a: Any) -> ProductivityOptions:
    raw = getattr(a, "productivity", None)
    if isinstance(raw, ProductivityOptions):
        return raw
    return ProductivityOptions.model_validate(raw if isinstance(raw, dict) else {})


def _variants(opts: AgreementOptions, base: ProductivityOptions) -> list[_Variant]:
    out = [_Variant("run", _(VARIANT_NAMES["run"]), "run", base, {"method": "the run's productivity options"})]
    for v in opts.variants:
        spec = AgreementVariant(name=v, **BUILTIN_VARIANTS[v]) if isinstance(v, str) else v
        title = _(VARIANT_NAMES[spec.name]) if spec.name in VARIANT_NAMES else spec.name
        if spec.lpd_input:
            out.append(_Variant(spec.name, title, "imported", None, {"lpd_input": "lpd_alternative",
                                                                     "lpd_source": opts.lpd_source}))
            continue
        start = base.model_dump()
        if spec.preset:
            start = {**start, **(load_preset(spec.preset).get("productivity") or {})}
        try:
            vopts = ProductivityOptions.model_validate({**start, **spec.productivity})
        except ValidationError as err:
            raise ConfigError(f"agreement variant {spec.name}: {err.errors()[0]['msg']}") from None
        changed = {k: val for k, val in vopts.model_dump().items() if base.model_dump()[k] != val}
        out.append(_Variant(spec.name, title, "computed", vopts,
                            {"preset": spec.preset, "changed_options": changed}))  # fmt: skip
    return out


def agreement_legend(n_variants: int) -> Legend:
    """Legend of the agreement map: 0 .. n variants calling the pixel degraded (light to dark)."""
    import matplotlib as mpl

    cmap = mpl.colormaps["YlOrRd"]
    classes = []
    for k in range(n_variants + 1):
        label = ngettext("%(count)s of %(total)s methods call it degraded",
                         "%(count)s of %(total)s methods call it degraded", n_variants) % {
            "count": k, "total": n_variants}  # fmt: skip
        classes.append(LandClass(k, f"n{k}", label, mpl.colors.to_hex(cmap(0.08 + 0.9 * k / max(n_variants, 1)))
                                 .upper()))  # fmt: skip
    return Legend(id="agreement", name=_("Agreement between methods"), classes=tuple(classes), nodata=NODATA,
                  source="openldn.agreement")  # fmt: skip


class VariantProductivity:
    """Land productivity of a method variant, with the productivity stage's own functions."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.quiet = _Quiet(ctx)
        self._ndvi: dict[str, xr.DataArray] = {}

    def ndvi(self, how: str) -> xr.DataArray:
        from openldn.productivity.stage import _grid_mask, annual

        if how not in self._ndvi:
            if not self.ctx.has_input("ndvi"):
                raise ConfigError("agreement: computed variants need the input 'ndvi'; add it, or compare only "
                                  "imported LPD maps (lpd_input)")  # fmt: skip
            raw = self.ctx.input("ndvi")
            if "time" not in raw.dims:
                raise MissingYearError("agreement: input 'ndvi' has no years; give one band per year")
            da = annual(raw, how)
            mask = _grid_mask(self.ctx, da)
            self._ndvi[how] = where_inside(da, mask) if mask is not None else da
        return self._ndvi[how]

    def computed(self, opts: ProductivityOptions, period: Period, baseline: Period) -> xr.DataArray:
        """Productivity degradation (-1/0/1) of ``period`` under ``opts``."""
        return self.dynamics(opts, period, baseline)["prod_degradation"]

    def dynamics(self, opts: ProductivityOptions, period: Period, baseline: Period) -> xr.Dataset:
        """Every layer of :func:`~openldn.productivity.dynamics.land_productivity_dynamics` for ``period``."""
        from openldn.productivity.dynamics import land_productivity_dynamics
        from openldn.productivity.stage import _check_years, _grid_mask, _units, annual, period_windows

        a = self.ctx.assessment
        ndvi = self.ndvi(opts.annual_aggregation)
        w = period_windows(period, opts)
        _check_years(self.quiet, ndvi, w, opts)
        climate = None
        if opts.climate_correction != "none":
            if not self.ctx.has_input(opts.climate_input):
                raise ConfigError(f"agreement: climate_correction={opts.climate_correction!r} needs the input "
                                  f"{opts.climate_input!r}")  # fmt: skip
            climate = annual(self.ctx.input(opts.climate_input), opts.climate_aggregation)
        table_id = opts.lpd_table_baseline if (period == baseline and opts.lpd_table_baseline) else opts.lpd_table
        table_ref = str(a.resolve(table_id)) if table_id.endswith((".yaml", ".yml")) else table_id
        units, _what = _units(self.quiet, w, ndvi.isel(time=0), opts.performance_land_cover)
        period_opts = opts.model_copy(update={"lpd_table": table_ref, "lpd_table_baseline": None})
        dyn = land_productivity_dynamics(ndvi, period=period, units=units, options=period_opts, climate=climate,
                                         mask=_grid_mask(self.ctx, ndvi))  # fmt: skip
        return dyn

    def imported(self, period: Period, source: str, nodata: tuple[float, ...]) -> xr.DataArray:
        from openldn.productivity.lpd import import_lpd, lpd_to_degradation

        if not self.ctx.has_input("lpd_alternative"):
            raise ConfigError("agreement variant imported_lpd needs the input 'lpd_alternative' (an LPD map such as "
                              "the JRC or FAO-WOCAT one); add it under inputs: or remove the variant")  # fmt: skip
        raw = self.ctx.input("lpd_alternative")
        if "time" in raw.dims:
            yrs = years_of(raw)
            if period.end in yrs:
                raw = year_band(raw, period.end)
            elif yrs.size == 1:
                self.quiet.substitute(f"imported LPD of {int(yrs[0])} used for {period.label} (agreement)")
                raw = raw.isel(time=0)
            else:
                raise MissingYearError(f"input 'lpd_alternative': no map for the period {period.label} (years "
                                       f"{yrs.tolist()}); label one band per period with its last year "
                                       f"({period.end})")  # fmt: skip
        return lpd_to_degradation(import_lpd(raw, source=source, nodata=nodata, strict=True))  # type: ignore[arg-type]


def _sdg(ctx: Any, prod: xr.DataArray, label: str) -> xr.DataArray:
    """SDG 15.3.1 of a variant: the integration stage's one-out-all-out with the run's other sub-indicators."""
    from openldn.integration.sdg import one_out_all_out
    from openldn.integration.stage import _options as integration_options

    io = integration_options(ctx)
    like = prod.astype(STATUS_DTYPE)
    lc = ctx.layers.get(f"lc_degradation/{label}")
    soc = ctx.layers.get(f"soc_degradation/{label}")
    zeros = xr.zeros_like(like, dtype=STATUS_DTYPE)
    return one_out_all_out(lc if lc is not None else zeros, like, soc if soc is not None else zeros,
                           improved_rule=io.improved_rule, nodata_rule=io.nodata_rule)  # fmt: skip


def _georef(ctx: Any, da: xr.DataArray) -> xr.DataArray:
    if da.rio.crs is None and getattr(ctx, "geobox", None) is not None:
        out: xr.DataArray = da.rio.write_crs(ctx.geobox.crs.to_wkt())
        return out
    return da


def _table(ledger: Any, sdg: xr.DataArray, label: str, variant: str) -> pd.DataFrame:
    from openldn.integration.summary import SDG_LABELS

    t: pd.DataFrame = ledger.class_table(sdg.astype(STATUS_DTYPE), variable="sdg_15_3_1", period=label,
                                         legend=SDG_LABELS)
    t.insert(0, "variant", variant)
    return t


def _single_choices(v: _Variant, base: ProductivityOptions) -> list[tuple[str, ProductivityOptions]]:
    """The run's options with one option of ``v`` changed at a time (invalid combinations are left out)."""
    out = []
    for key, value in (v.definition.get("changed_options") or {}).items():
        try:
            out.append((key, ProductivityOptions.model_validate({**base.model_dump(), key: value})))
        except ValidationError:
            continue
    return out


def run(ctx: Any) -> None:
    """Compute every variant, the agreement maps and tables (no-op without ``agreement.variants``).

    Parameters
    ----------
    ctx : openldn.core.stage.StageContext
        Run context after the integration stage.
    """
    from openldn.pipeline.ledger import ledger_of

    a = ctx.assessment
    opts = _options(a)
    if not opts.variants:
        return
    base = _run_productivity(a)
    variants = _variants(opts, base)
    baseline = a.baseline_period
    periods = list(a.periods)
    if opts.periods:
        known = {p.label: p for p in periods}
        unknown = [p for p in opts.periods if p not in known]
        if unknown:
            raise ConfigError(f"agreement.periods {unknown} are not periods of the run ({', '.join(known)})")
        periods = [known[p] for p in opts.periods]
    ledger = ledger_of(ctx)
    prod = VariantProductivity(ctx)
    frames: list[pd.DataFrame] = []
    single: list[dict[str, Any]] = []
    total = len(periods) * len(variants)
    for i, p in enumerate(periods):
        label = p.label
        run_prod = ctx.layers.get(f"prod_degradation/{label}")
        if run_prod is None:
            raise ConfigError(f"agreement: the run has no productivity degradation for {label}; run the "
                              "productivity stage (input ndvi or lpd)")  # fmt: skip
        maps = []
        for j, v in enumerate(variants):
            ctx.progress("agreement", i * len(variants) + j, total, f"{v.name} {label}")
            if v.kind == "run":
                deg = run_prod
            elif v.kind == "imported":
                deg = prod.imported(p, opts.lpd_source, tuple(base.lpd_nodata))
            else:
                assert v.options is not None
                deg = prod.computed(v.options, p, baseline)
            sdg = ctx.materialize(f"agreement_sdg/{v.name}/{label}", _georef(ctx, _sdg(ctx, deg, label)))
            maps.append(sdg)
            frames.append(_table(ledger, sdg, label, v.name))
            if opts.decompose and v.kind == "computed":
                for key, one in _single_choices(v, base):
                    t = _table(ledger, _sdg(ctx, prod.computed(one, p, baseline), label), label, v.name)
                    share = national_shares(t)["share"]
                    single.append({"choice": f"{key}={v.options.model_dump()[key]!r}" if v.options else key,
                                   "period": label, "share": float(share.iloc[0]) if len(share) else np.nan,
                                   "kind": "single option", "variant": v.name})  # fmt: skip
        count = agreement_count(maps)
        ctx.write_raster(f"agreement/{label}", count, legend=agreement_legend(len(variants)),
                         title=_("Agreement between methods %(period)s") % {"period": label})  # fmt: skip
    tables = pd.concat(frames, ignore_index=True)
    ranges = range_table(tables)
    nat = national_shares(tables).rename(columns={"variant": "choice"}).assign(kind="variant")
    sens_in = nat[["choice", "period", "share", "kind"]]
    if single:
        sens_in = pd.concat([sens_in, pd.DataFrame(single)[["choice", "period", "share", "kind"]]],
                            ignore_index=True)  # fmt: skip
    sens = sensitivity_table(sens_in)
    ctx.add_table("agreement_variants", tables)
    ctx.add_table("agreement_range", ranges)
    ctx.add_table("agreement_sensitivity", sens)
    top = sens[sens["rank"] == 1]
    ctx.provenance["agreement"] = {
        "variants": [{"name": v.name, "title": v.title, "kind": v.kind, **v.definition} for v in variants],
        "periods": [p.label for p in periods],
        "decompose": opts.decompose,
        "national": nat.drop(columns=["kind"]).to_dict(orient="records"),
        "most_influential": top.to_dict(orient="records"),
        "range": ranges.to_dict(orient="records"),
        "notes": sorted(set(prod.quiet.notes)),
        "method": "SDG 15.3.1 one-out-all-out of the run's land cover and SOC sub-indicators with each variant's "
                  "productivity degradation; no false-positive recode; agreement map is no data where any variant "
                  "has no data",
    }  # fmt: skip
    ctx.progress("agreement", total, total, "done")


# -- the stage declaration (openldn.core.stage; registered in openldn.registry) ---------------------------------
from openldn.core.stage import InputDecl, KeyPattern, Stage  # noqa: E402

STAGE = Stage(
    name="agreement",
    title="Agreement between method variants",
    run=run,
    options_key="agreement",
    options=AgreementOptions,
    inputs=(InputDecl("lpd_alternative", "categorical", "Another land productivity dynamics map (JRC, FAO-WOCAT, "
                      "...) compared with the run's by the agreement stage (variant imported_lpd); one band, or one "
                      "per period labelled with the period's last year.", time="auto"),),
    tables=(KeyPattern("agreement_variants", "SDG 15.3.1 class areas of every method variant"),
            KeyPattern("agreement_range", "range of every table cell across the method variants"),
            KeyPattern("agreement_sensitivity", "change of the national degraded share per choice, ranked")),
    layers=(KeyPattern("agreement/{period}"), KeyPattern("agreement_sdg/{variant}/{period}")),
)
