"""SO3-3 drought vulnerability index (DVI) (PRAIS 2026 §3.3, Figure 7; GPG-SO3 Level III; PRAIS 2026 reporting manual §3.3).

``DVI = (C_social + C_economic + C_infrastructure) / 3`` in [0, 1] (1 = most vulnerable), each component the
(optionally weighted) mean of its min-max normalised factors:

* positively related factor (more = more vulnerable): ``F = (x - min) / (max - min)``;
* negatively related factor (more = less vulnerable): ``F = 1 - (x - min) / (max - min)``.

The minimum and maximum are taken over the country's own history up to and including ``end_year`` (2023), per
factor and per sex, and for sub-national / gridded factors (Tier 3) over all units of the country
(docs/differences.md). A factor without variation (``max == min``) carries no information and is left out of its
component.
The direction of each factor is data: ``openldn/data/drought/dvi_factors.csv`` (GPG-SO3 factors, the UNCCD PRAIS 2026 reporting manual and GPG v2
§11.2), replaceable by a user catalogue with the same columns.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from openldn.core.years import closest_year as _closest_year
from openldn.exceptions import ConfigError, InputFileError

__all__ = [
    "COMPONENTS",
    "GROUPS",
    "dvi_grid",
    "dvi_method_table",
    "dvi_table",
    "dvi_trend",
    "load_factor_catalogue",
    "normalise",
    "read_factor_table",
]

#: The three DVI components, in report order.
COMPONENTS: tuple[str, ...] = ("social", "economic", "infrastructure")
#: Population groups of the sex-disaggregated DVI.
GROUPS: tuple[str, ...] = ("total", "female", "male")
_COMPONENT_ALIASES = {"infrastructural": "infrastructure", "infra": "infrastructure"}
_DIRECTIONS = {"positive": 1, "+": 1, "+1": 1, "1": 1, "negative": -1, "-": -1, "-1": -1}

Direction = Literal["positive", "negative"]


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise InputFileError(f"{what} {path} does not exist: check the path in the run file.")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError, csv.Error, UnicodeDecodeError) as err:
        raise InputFileError(f"{what} {path} cannot be read as CSV ({err}): save it as UTF-8 CSV.") from err
    df.columns = [str(c).strip().lower() for c in df.columns]
    return df


@lru_cache(maxsize=1)
def _package_catalogue() -> pd.DataFrame:
    res = resources.files("openldn") / "data" / "drought" / "dvi_factors.csv"
    with resources.as_file(res) as path:
        return _validate_catalogue(_read_csv(Path(path), "DVI factor catalogue"), "openldn:drought/dvi_factors.csv")


def _validate_catalogue(df: pd.DataFrame, source: str) -> pd.DataFrame:
    need = {"factor", "component", "direction"}
    missing = need - set(df.columns)
    if missing:
        raise ConfigError(
            f"DVI factor catalogue {source}: missing column(s) {', '.join(sorted(missing))}; "
            "give factor, component, direction."
        )
    out = df.copy()
    out["factor"] = out["factor"].str.strip().str.lower()
    out["component"] = out["component"].str.strip().str.lower().replace(_COMPONENT_ALIASES)
    bad = sorted(set(out["component"]) - set(COMPONENTS))
    if bad:
        raise ConfigError(
            f"DVI factor catalogue {source}: unknown component(s) {bad}; use social, economic, infrastructure."
        )
    dirs = out["direction"].str.strip().str.lower()
    bad = sorted(set(dirs) - set(_DIRECTIONS))
    if bad:
        raise ConfigError(f"DVI factor catalogue {source}: unknown direction(s) {bad}; use positive or negative.")
    out["direction"] = [("positive" if _DIRECTIONS[d] > 0 else "negative") for d in dirs]
    if out["factor"].duplicated().any():
        dup = sorted(out.loc[out["factor"].duplicated(), "factor"])
        raise ConfigError(f"DVI factor catalogue {source}: factor(s) {dup} listed twice; keep one row each.")
    if "core" in out.columns:
        out["core"] = out["core"].str.strip().str.lower().isin(["true", "1", "yes"])
    else:
        out["core"] = False
    for col in ("label", "unit"):
        if col not in out.columns:
            out[col] = out["factor"] if col == "label" else ""
    return out[["factor", "component", "direction", "core", "label", "unit"]].reset_index(drop=True)


def load_factor_catalogue(path: str | Path | None = None, *, extend: bool = True) -> pd.DataFrame:
    """The DVI factor catalogue: ``factor, component, direction, core, label, unit``.

    Parameters
    ----------
    path : str or Path, optional
        A user catalogue (CSV with at least ``factor, component, direction``). Default: the GPG-SO3 factors of
        ``openldn/data/drought/dvi_factors.csv``.
    extend : bool, default True
        With a user catalogue, keep the package factors it does not redefine.

    Returns
    -------
    pandas.DataFrame
    """
    base = _package_catalogue()
    if path is None:
        return base.copy()
    user = _validate_catalogue(_read_csv(Path(path), "DVI factor catalogue"), str(path))
    if not extend:
        return user
    keep = base[~base["factor"].isin(user["factor"])]
    return pd.concat([keep, user], ignore_index=True)


def read_factor_table(path: str | Path | pd.DataFrame, *, catalogue: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and validate a DVI factor table (Tier 1 and 2: national; Tier 3: with ``zone_id``).

    Columns: ``year, factor, value`` and optionally ``sex`` (``total``/``female``/``male``, empty = total),
    ``zone_id`` and ``zone_name`` (sub-national units; absent = the whole country, ``zone_id = "ALL"``).

    Parameters
    ----------
    path : str, Path or pandas.DataFrame
        CSV file (or an already loaded frame).
    catalogue : pandas.DataFrame, optional
        Factor catalogue (default :func:`load_factor_catalogue`).

    Returns
    -------
    pandas.DataFrame
        ``zone_id, zone_name, year, factor, sex, value`` with ``year`` int and ``value`` float.
    """
    cat = load_factor_catalogue() if catalogue is None else catalogue
    src = "DVI factor table" if isinstance(path, pd.DataFrame) else f"DVI factor table {path}"
    if isinstance(path, pd.DataFrame):
        df = path.copy()
        df.columns = [str(c).strip().lower() for c in df.columns]
        df = df.astype({c: str for c in df.columns if c in ("factor", "sex", "zone_id", "zone_name")})
    else:
        df = _read_csv(Path(path), "DVI factor table")
    missing = {"year", "factor", "value"} - set(df.columns)
    if missing:
        raise ConfigError(f"{src}: missing column(s) {', '.join(sorted(missing))}; give year, factor, sex, value.")
    out = pd.DataFrame(index=df.index)
    out["zone_id"] = df["zone_id"].astype(str).str.strip() if "zone_id" in df.columns else "ALL"
    out["zone_name"] = df["zone_name"].astype(str).str.strip() if "zone_name" in df.columns else out["zone_id"]
    out.loc[out["zone_name"] == "", "zone_name"] = out["zone_id"]
    years = pd.to_numeric(df["year"], errors="coerce")
    if years.isna().any() or (years % 1 != 0).any():
        row = int(np.flatnonzero(years.isna() | (years % 1 != 0))[0]) + 2
        raise ConfigError(f"{src}: line {row}: year {df['year'].iloc[row - 2]!r} is not a whole year.")
    out["year"] = years.astype(int)
    out["factor"] = df["factor"].astype(str).str.strip().str.lower()
    unknown = sorted(set(out["factor"]) - set(cat["factor"]))
    if unknown:
        raise ConfigError(
            f"{src}: unknown factor(s) {unknown}; use a factor of the catalogue ({', '.join(cat['factor'])}) "
            "or add it to a user catalogue (drought.dvi_catalogue)."
        )
    sex = df["sex"].astype(str).str.strip().str.lower() if "sex" in df.columns else pd.Series("total", index=df.index)
    sex = sex.replace({"": "total", "both": "total", "all": "total", "f": "female", "m": "male"})
    bad = sorted(set(sex) - set(GROUPS))
    if bad:
        raise ConfigError(f"{src}: unknown sex value(s) {bad}; use total, female or male.")
    out["sex"] = sex.to_numpy()
    values = pd.to_numeric(df["value"], errors="coerce")
    if values.isna().any():
        row = int(np.flatnonzero(values.isna())[0]) + 2
        raise ConfigError(f"{src}: line {row}: value {df['value'].iloc[row - 2]!r} is not a number.")
    out["value"] = values.astype(float).to_numpy()
    dup = out.duplicated(["zone_id", "year", "factor", "sex"])
    if dup.any():
        r = out[dup].iloc[0]
        raise ConfigError(
            f"{src}: factor {r['factor']} ({r['sex']}) of {r['year']} in zone {r['zone_id']} is given twice; "
            "keep one value."
        )
    return out.reset_index(drop=True)


def normalise(values: Any, direction: Direction, *, vmin: Any = None, vmax: Any = None) -> Any:
    """Min-max normalisation of a DVI factor in its vulnerability direction.

    Parameters
    ----------
    values : array-like, pandas.Series or xarray.DataArray
        Factor values.
    direction : {"positive", "negative"}
        ``positive``: more means more vulnerable, ``F = (x - min) / (max - min)``; ``negative``:
        ``F = 1 - (x - min) / (max - min)``.
    vmin, vmax : optional
        Range of the normalisation (default: the minimum and maximum of ``values``, NaN ignored).

    Returns
    -------
    same type as ``values``
        Values in [0, 1]; NaN where ``max == min``.
    """
    sign = _DIRECTIONS.get(str(direction).strip().lower())
    if sign is None:
        raise ConfigError(f"direction {direction!r} is not understood: use 'positive' or 'negative'.")
    if isinstance(values, xr.DataArray):
        lo = values.min() if vmin is None else vmin
        hi = values.max() if vmax is None else vmax
        span = xr.DataArray(hi - lo)
        f = (values - lo) / span.where(span > 0)
    elif isinstance(values, pd.Series):
        lo = values.min() if vmin is None else vmin
        hi = values.max() if vmax is None else vmax
        f = (values - lo) / (hi - lo) if hi > lo else values * np.nan
    else:
        arr = np.asarray(values, dtype=float)
        lo = np.nanmin(arr) if vmin is None else vmin
        hi = np.nanmax(arr) if vmax is None else vmax
        f = (arr - lo) / (hi - lo) if hi > lo else np.full(arr.shape, np.nan)
    return f if sign > 0 else 1.0 - f


def _check_components(factors: pd.DataFrame, cat: pd.DataFrame, what: str) -> None:
    comps = set(cat.set_index("factor").loc[sorted(set(factors["factor"])), "component"])
    missing = [c for c in COMPONENTS if c not in comps]
    if missing:
        raise ConfigError(
            f"{what}: no factor for the {', '.join(missing)} component(s); give at least one factor per component "
            "(Tier 1: literacy rate, poverty rate, safely managed drinking water)."
        )


def dvi_table(
    factors: pd.DataFrame,
    *,
    catalogue: pd.DataFrame | None = None,
    weights: Mapping[str, float] | None = None,
    years: list[int] | None = None,
    end_year: int = 2023,
    fill: Literal["nearest", "none"] = "nearest",
) -> pd.DataFrame:
    """DVI per unit, year and population group from a factor table (SO3-3.T1).

    Parameters
    ----------
    factors : pandas.DataFrame
        Output of :func:`read_factor_table`.
    catalogue : pandas.DataFrame, optional
        Factor catalogue with the directions (default :func:`load_factor_catalogue`).
    weights : mapping of factor to float, optional
        Weights of factors inside their component (default 1; weights apply to factors, not components).
    years : list of int, optional
        Years to report (default: every year of the table up to ``end_year``).
    end_year : int, default 2023
        Last year of the normalisation history.
    fill : {"nearest", "none"}
        ``"nearest"``: a factor missing in a year takes its value from the nearest year with data (ties: the
        earlier year, as every substitution of a run: :func:`openldn.core.years.closest_year`) and the filled factors
        are listed in ``filled``; ``"none"``: only the factors of that very year.

    Returns
    -------
    pandas.DataFrame
        One row per (zone, year, group): ``zone_id, zone_name, period, variable`` (``"dvi_total"``,
        ``"dvi_female"``, ``"dvi_male"``), ``group, social, economic, infrastructure, value`` (the DVI),
        ``n_factors``, ``filled``. Female and male rows exist when at least
        one factor is sex-disaggregated; a factor without sex-specific values enters them with its total value.
    """
    cat = load_factor_catalogue() if catalogue is None else catalogue
    if factors.empty:
        raise ConfigError("DVI factor table is empty: give at least one factor per component.")
    _check_components(factors, cat, "DVI factor table")
    info = cat.set_index("factor")
    w = {str(k).lower(): float(v) for k, v in (weights or {}).items()}
    bad = [k for k, v in w.items() if not v >= 0]
    if bad:
        raise ConfigError(f"DVI weights: factor(s) {bad} have a negative or invalid weight; use weights >= 0.")
    hist = factors[factors["year"] <= end_year]
    # normalise each (factor, sex) over all units and years of the history
    norm_rows = []
    for (factor, sex), grp in factors.groupby(["factor", "sex"], sort=True):
        h = hist[(hist["factor"] == factor) & (hist["sex"] == sex)]["value"]
        lo, hi = (h.min(), h.max()) if len(h) else (np.nan, np.nan)
        g = grp.copy()
        g["norm"] = normalise(g["value"], info.loc[factor, "direction"], vmin=lo, vmax=hi) if hi > lo else np.nan
        norm_rows.append(g)
    normed = pd.concat(norm_rows, ignore_index=True)
    if years is None:
        years = sorted(int(y) for y in set(factors["year"]) if y <= end_year)
    groups = list(GROUPS) if factors["sex"].isin(["female", "male"]).any() else ["total"]
    zones = factors[["zone_id", "zone_name"]].drop_duplicates("zone_id")
    rows = []
    for zone_id, zone_name in zones.itertuples(index=False):
        zdf = normed[normed["zone_id"] == zone_id]
        for group in groups:
            # per factor: the group's own values when given, else the total values
            per_factor = {}
            for factor, fdf in zdf.groupby("factor"):
                own = fdf[fdf["sex"] == group]
                per_factor[factor] = own if not own.empty else fdf[fdf["sex"] == "total"]
            for year in years:
                comp_vals: dict[str, list[tuple[float, float]]] = {c: [] for c in COMPONENTS}
                filled = []
                for factor, fdf in per_factor.items():
                    if fdf.empty:
                        continue
                    exact = fdf[fdf["year"] == year]
                    if not exact.empty:
                        val = float(exact["norm"].iloc[0])
                    elif fill == "nearest":
                        yrs = fdf["year"].to_numpy()
                        best = _closest_year(yrs, year, what=f"DVI factor {factor}").used
                        val = float(fdf.loc[fdf["year"] == best, "norm"].iloc[0])
                        filled.append(f"{factor}:{int(best)}")
                    else:
                        continue
                    if np.isnan(val):
                        continue
                    comp_vals[info.loc[factor, "component"]].append((val, w.get(factor, 1.0)))
                comps = {}
                for c, vals in comp_vals.items():
                    tot_w = sum(x[1] for x in vals)
                    comps[c] = sum(x[0] * x[1] for x in vals) / tot_w if vals and tot_w > 0 else np.nan
                dvi = float(np.mean([comps[c] for c in COMPONENTS])) if all(
                    not np.isnan(comps[c]) for c in COMPONENTS
                ) else np.nan
                rows.append({
                    "zone_id": zone_id, "zone_name": zone_name, "period": str(year), "variable": f"dvi_{group}",
                    "group": group, **comps, "value": dvi,
                    "n_factors": sum(len(v) for v in comp_vals.values()), "filled": ";".join(filled),
                })
    out = pd.DataFrame(rows)
    return out


def dvi_trend(table: pd.DataFrame, *, tolerance: float = 0.05) -> pd.DataFrame:
    """Direction of change of the DVI over time (SO3-3.T2), per zone and group.

    The change is the least-squares slope of the DVI over the years times the span of years; ``|change| <
    tolerance`` is "No change".

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`dvi_table`.
    tolerance : float, default 0.05
        Change (DVI units) below which the DVI is considered stable.

    Returns
    -------
    pandas.DataFrame
        ``zone_id, zone_name, group, first_year, last_year, n_years, slope_per_year, change, direction`` with
        direction one of "Increasing vulnerability", "Decreasing vulnerability", "No change", "Unknown".
    """
    rows = []
    for (zone_id, zone_name, group), g in table.groupby(["zone_id", "zone_name", "group"], sort=False):
        g = g[g["value"].notna() & g["period"].astype(str).str.fullmatch(r"\d{4}")]
        yrs = g["period"].astype(int).to_numpy()
        vals = g["value"].to_numpy(dtype=float)
        if len(np.unique(yrs)) < 2:
            slope, change, direction = np.nan, np.nan, "Unknown"
        else:
            slope = float(np.polyfit(yrs, vals, 1)[0])
            change = slope * float(yrs.max() - yrs.min())
            direction = (
                "No change" if abs(change) < tolerance
                else "Increasing vulnerability" if change > 0 else "Decreasing vulnerability"
            )
        rows.append({
            "zone_id": zone_id, "zone_name": zone_name, "group": group,
            "first_year": int(yrs.min()) if len(yrs) else None, "last_year": int(yrs.max()) if len(yrs) else None,
            "n_years": len(yrs), "slope_per_year": slope, "change": change, "direction": direction,
        })
    return pd.DataFrame(rows)


def dvi_method_table(factors: pd.DataFrame, *, catalogue: pd.DataFrame | None = None) -> pd.DataFrame:
    """The PRAIS "method" rows: per component, the factors used, whether sex-disaggregated, whether sub-national.

    Returns
    -------
    pandas.DataFrame
        ``component, factors, sex_disaggregated, subnational, tier``; the tier is 3 with sub-national factors,
        2 with more than one factor per component and sex disaggregation, else 1.
    """
    cat = load_factor_catalogue() if catalogue is None else catalogue
    info = cat.set_index("factor")
    rows = []
    sub = bool((factors["zone_id"] != "ALL").any())
    for c in COMPONENTS:
        fs = sorted(f for f in set(factors["factor"]) if info.loc[f, "component"] == c)
        sx = bool(factors[factors["factor"].isin(fs)]["sex"].isin(["female", "male"]).any())
        rows.append({"component": c, "factors": ";".join(fs), "n_factors": len(fs), "sex_disaggregated": sx,
                     "subnational": sub})
    df = pd.DataFrame(rows)
    tier = 3 if sub else (2 if (df["n_factors"] > 1).all() and df["sex_disaggregated"].any() else 1)
    df["tier"] = tier
    return df


def dvi_grid(
    factors: Mapping[str, xr.DataArray],
    *,
    catalogue: pd.DataFrame | None = None,
    weights: Mapping[str, float] | None = None,
) -> xr.DataArray:
    """Tier 3 DVI from gridded factors (lazy; min and max over every cell and year of the country).

    Parameters
    ----------
    factors : mapping of factor name to xarray.DataArray
        Factor grids on one analysis grid, dims ``(y, x)`` or ``(time, y, x)``, NaN outside the country.
    catalogue : pandas.DataFrame, optional
        Factor catalogue (directions and components).
    weights : mapping of factor to float, optional
        Weights of factors inside their component.

    Returns
    -------
    xarray.DataArray, [1]
        DVI in [0, 1], float32; attrs ``social``/``economic``/``infrastructure`` list the factors used.
    """
    cat = load_factor_catalogue() if catalogue is None else catalogue
    info = cat.set_index("factor")
    names = {str(k).lower(): v for k, v in factors.items()}
    unknown = sorted(set(names) - set(info.index))
    if unknown:
        raise ConfigError(f"DVI grids: unknown factor(s) {unknown}; use catalogue factors or a user catalogue.")
    _check_components(pd.DataFrame({"factor": list(names)}), cat, "DVI grids")
    w = {str(k).lower(): float(v) for k, v in (weights or {}).items()}
    comps = []
    attrs: dict[str, str] = {}
    for c in COMPONENTS:
        fs = [f for f in names if info.loc[f, "component"] == c]
        num = None
        den = None
        for f in fs:
            da = names[f].astype(np.float64)
            nf = normalise(da, info.loc[f, "direction"])
            wt = w.get(f, 1.0)
            term = (nf * wt).fillna(0.0)
            cnt = nf.notnull() * wt
            num = term if num is None else num + term
            den = cnt if den is None else den + cnt
        comps.append(num / den.where(den > 0))
        attrs[c] = ";".join(fs)
    out = ((comps[0] + comps[1] + comps[2]) / 3.0).astype(np.float32)
    out.name = "dvi"
    out.attrs = {"long_name": "Drought vulnerability index", "units": "1", **attrs}
    return out
