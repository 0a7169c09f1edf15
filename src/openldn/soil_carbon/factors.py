"""SOC stock-change factors: the modified IPCC Tier 1 coefficient matrix and the climate factor f.

The default coefficients (package file ``data/soc/ipcc_tier1.yaml``) are those of PRAIS 2026 §1.3 Step 4 (Figure 3)
and PRAIS 2026 reporting manual §1.3; GPG v2 ch. 5; the 12 IPCC 2006 climate zones map to the five f values as in Trends.Earth
(Trends.Earth (docs/differences.md)). Tier 2 coefficients are the same structure read from a user file (GPG v2
§5.2.6.2; PRAIS 2026 reporting manual §1.3; GPG v2 ch. 5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import xarray as xr

from openldn.core.vocab import Legend, load_legend, read_data_file
from openldn.exceptions import ConfigError, LegendError
from openldn.land_cover._lookup import as_int_codes, input_nodata_codes

__all__ = [
    "KIND_CONSTANT",
    "KIND_F",
    "KIND_INVERSE_F",
    "SocFactors",
    "SomeFactors",
    "climate_factor",
    "load_soc_factors",
    "stock_change_factor",
]

#: Cell kinds of the coefficient matrix.
KIND_CONSTANT, KIND_F, KIND_INVERSE_F = 0, 1, 2

_INV = re.compile(r"^1\s*/\s*([0-9.]+)$")


@dataclass(frozen=True)
class SocFactors:
    """Stock-change coefficients (SOC after ``period_years`` / SOC before) for each land cover transition."""

    #: Identifier, e.g. ``"ipcc_tier1"``.
    id: str
    #: Legend of both axes (the UNCCD classes by default).
    legend: Legend
    #: Constant value of each cell (unused where ``kind`` is f or 1/f).
    constant: np.ndarray
    #: Cell kind: 0 constant, 1 climate factor f, 2 its inverse 1/f.
    kind: np.ndarray
    #: Climate regime -> f.
    regimes: dict[str, float] = field(default_factory=dict)
    #: IPCC climate zone code -> (label, regime).
    zones: dict[int, tuple[str, str]] = field(default_factory=dict)
    #: Codes of the climate zone raster that are nodata.
    zone_nodata: tuple[int, ...] = (0,)
    #: Years after which the coefficient is reached (20 for IPCC).
    period_years: int = 20
    #: Tier (1 default IPCC, 2 country-specific).
    tier: int = 1
    #: Where it came from.
    source: str = ""

    def __post_init__(self) -> None:
        n = len(self.legend.classes)
        src = self.source or self.id
        if self.constant.shape != (n, n) or self.kind.shape != (n, n):
            raise LegendError(f"SOC coefficient matrix {src} must be {n}x{n} (legend {self.legend.id}).")
        if np.any(self.constant[self.kind == KIND_CONSTANT] < 0):
            raise LegendError(f"SOC coefficient matrix {src} has negative coefficients: use values >= 0.")
        for r, v in self.regimes.items():
            if not 0 < v <= 10:
                raise LegendError(f"SOC factors {src}: climate factor of {r!r} = {v} must be positive.")
        for z, (_, r) in self.zones.items():
            if r not in self.regimes:
                raise LegendError(f"SOC factors {src}: zone {z} uses unknown regime {r!r}; define it.")
        if self.period_years < 1:
            raise LegendError(f"SOC factors {src}: period_years must be >= 1.")

    def zone_factor(self, zone: int) -> float:
        """Climate factor f of an IPCC climate zone code."""
        if zone not in self.zones:
            raise LegendError(
                f"IPCC climate zone {zone} is not in SOC factors {self.source or self.id}: use one of "
                f"{sorted(self.zones)}."
            )
        return self.regimes[self.zones[zone][1]]

    def regime_factor(self, regime: str) -> float:
        """Climate factor f of a regime name (``"tropical_moist"``...)."""
        key = regime.strip().lower().replace(" ", "_").replace("-", "_")
        if key not in self.regimes:
            raise ConfigError(f"Unknown climate regime {regime!r}: use one of {', '.join(self.regimes)} or a number.")
        return self.regimes[key]

    def value(self, initial: int, final: int, f: float) -> float:
        """Coefficient of one transition (class codes) for climate factor ``f``."""
        i = self.legend.codes.index(initial)
        j = self.legend.codes.index(final)
        k = int(self.kind[i, j])
        if k == KIND_F:
            return float(f)
        if k == KIND_INVERSE_F:
            return 1.0 / float(f)
        return float(self.constant[i, j])

    def tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Look-up tables: ``pos[code]`` (position or -1), flat ``constant`` and flat ``kind`` (row-major)."""
        codes = self.legend.codes
        pos = np.full(max(codes) + 1, -1, dtype=np.int64)
        pos[np.asarray(codes)] = np.arange(len(codes))
        return pos, self.constant.ravel().astype(np.float64), self.kind.ravel().astype(np.int8)


SomeFactors: TypeAlias = SocFactors | str | Path


def _cell(v: Any, where: str) -> tuple[float, int]:
    s = str(v).strip().lower()
    if s == "f":
        return np.nan, KIND_F
    if s in ("1/f", "-99"):
        return np.nan, KIND_INVERSE_F
    if s == "99":
        return np.nan, KIND_F
    m = _INV.match(s)
    try:
        if m:
            return 1.0 / float(m.group(1)), KIND_CONSTANT
        return float(s), KIND_CONSTANT
    except (ValueError, ZeroDivisionError) as err:
        raise LegendError(f"{where} = {v!r}: use a number, 'f', '1/f' or '1/<number>'.") from err


def _read_user(path: Path) -> dict[str, Any]:
    import csv

    import yaml

    if not path.is_file():
        raise LegendError(f"SOC coefficient file {path} does not exist: check the path in the run file.")
    if path.suffix.lower() == ".csv":
        try:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                rows = list(csv.reader(fh))
        except (OSError, csv.Error, UnicodeDecodeError) as err:
            raise LegendError(f"SOC coefficient file {path} cannot be read as CSV: {err}.") from err
        if len(rows) < 2:
            raise LegendError(f"SOC coefficient file {path}: write a header of final classes and one row per class.")
        columns = [c.strip().lower() for c in rows[0][1:]]
        matrix = {r[0].strip().lower(): r[1:] for r in rows[1:] if r and r[0].strip()}
        return {"id": path.stem, "columns": columns, "matrix": matrix, "tier": 2}
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise LegendError(f"SOC coefficient file {path} is not valid YAML: {err}.") from err
    if not isinstance(doc, dict):
        raise LegendError(f"SOC coefficient file {path} must be a mapping with 'columns' and 'matrix'.")
    doc.setdefault("id", path.stem)
    doc.setdefault("tier", 2)
    return doc


def load_soc_factors(value: SomeFactors = "ipcc_tier1") -> SocFactors:
    """
    Load SOC stock-change coefficients by package id or from a user YAML/CSV file (Tier 2).

    Parameters
    ----------
    value : SocFactors, str or path, default "ipcc_tier1"
        ``"ipcc_tier1"`` (package data), or a file. YAML: ``legend`` (default ``unccd``), ``columns`` (class keys),
        ``matrix`` (one row per initial class key; cells a number, ``f``, ``1/f`` or ``1/<number>``), optional
        ``climate_regimes``, ``climate_zones``, ``period_years``; missing climate sections are taken from the
        IPCC Tier 1 file. CSV: a header row of final class keys after one empty cell, then one row per initial
        class key.

    Returns
    -------
    SocFactors

    Raises
    ------
    LegendError
        The file is missing or malformed, keys do not match the legend, or a coefficient is invalid.

    References
    ----------
    PRAIS 2026 §1.3 Step 4 (Figure 3); GPG v2 §5.2.6; PRAIS 2026 reporting manual §1.3; GPG v2 ch. 5.
    """
    if isinstance(value, SocFactors):
        return value
    s = str(value)
    default = read_data_file("soc/ipcc_tier1.yaml")
    if isinstance(value, Path) or s.endswith((".yaml", ".yml", ".csv")) or "/" in s or "\\" in s:
        path = Path(s).expanduser()
        doc = _read_user(path)
        source = str(path)
    elif s == "ipcc_tier1":
        doc, source = default, "openldn:soc/ipcc_tier1.yaml"
    else:
        raise ConfigError(f"Unknown SOC coefficients {s!r}: use 'ipcc_tier1' or a path to a YAML/CSV file.")
    legend = load_legend(doc.get("legend", "unccd"))
    cols = [str(c).strip().lower() for c in doc.get("columns", legend.keys)]
    matrix = {str(k).strip().lower(): v for k, v in (doc.get("matrix") or {}).items()}
    if sorted(cols) != sorted(legend.keys) or sorted(matrix) != sorted(legend.keys):
        raise LegendError(
            f"SOC coefficient file {source}: rows and columns must be exactly the classes of legend {legend.id} "
            f"({', '.join(legend.keys)})."
        )
    n = len(legend.keys)
    const = np.ones((n, n), dtype=np.float64)
    kind = np.zeros((n, n), dtype=np.int8)
    for rkey, row in matrix.items():
        if len(row) != n:
            raise LegendError(f"SOC coefficient file {source}: row {rkey!r} has {len(row)} values, expected {n}.")
        i = legend.keys.index(rkey)
        for ckey, v in zip(cols, row, strict=True):
            j = legend.keys.index(ckey)
            const[i, j], kind[i, j] = _cell(v, f"SOC coefficient file {source}, cell ({rkey}, {ckey})")
    regimes = {str(k): float(v) for k, v in (doc.get("climate_regimes") or default["climate_regimes"]).items()}
    zdoc = doc.get("climate_zones") or default["climate_zones"]
    zones = {int(k): (str(v.get("label", k)), str(v["regime"])) for k, v in zdoc.items()}
    zone_nodata = tuple(int(x) for x in doc.get("climate_nodata", default["climate_nodata"]))
    return SocFactors(
        id=str(doc.get("id", Path(source).stem)),
        legend=legend,
        constant=const,
        kind=kind,
        regimes=regimes,
        zones=zones,
        zone_nodata=zone_nodata,
        period_years=int(doc.get("period_years", 20)),
        tier=int(doc.get("tier", 1)),
        source=source,
    )


def _zone_block(z: np.ndarray, *, lut: np.ndarray, nodata: list[int]) -> np.ndarray:
    codes, nd = as_int_codes(z, nodata)
    inside = (codes >= 0) & (codes < lut.size) & ~nd
    out = np.take(lut, np.clip(codes, 0, lut.size - 1))
    return np.where(inside, out, np.nan).astype(np.float32)


def climate_factor(zones: xr.DataArray, factors: SomeFactors = "ipcc_tier1") -> xr.DataArray:
    """
    Climate factor f of each pixel from an IPCC climate zone raster.

    Parameters
    ----------
    zones : xarray.DataArray
        IPCC 2006 climate zone codes 1-12 (nodata: 0, the raster's declared nodata, or NaN).
    factors : SocFactors, str or path, default "ipcc_tier1"
        Coefficients holding the zone -> regime -> f mapping.

    Returns
    -------
    xarray.DataArray
        float32 f, NaN where the zone is nodata or not in the mapping. Same backing as ``zones``.

    References
    ----------
    PRAIS 2026 §1.3 Step 4; PRAIS 2026 reporting manual §1.3; GPG v2 ch. 5; Trends.Earth (docs/differences.md).
    """
    fac = load_soc_factors(factors)
    lut = np.full(max(max(fac.zones), 0) + 1, np.nan, dtype=np.float32)
    for z, (_, r) in fac.zones.items():
        if z >= 0:
            lut[z] = fac.regimes[r]
    out = xr.apply_ufunc(
        _zone_block,
        zones,
        kwargs={"lut": lut, "nodata": sorted({*fac.zone_nodata, *input_nodata_codes(zones)})},
        dask="parallelized",
        output_dtypes=[np.float32],
    )
    out.attrs = {"long_name": "SOC climate factor f", "units": "1"}
    out.name = "soc_climate_factor"
    return out


def _factor_block(
    a: np.ndarray, b: np.ndarray, f: np.ndarray, *, pos: np.ndarray, n: int, const: np.ndarray, kind: np.ndarray
) -> np.ndarray:
    ca, nda = as_int_codes(a, [])
    cb, ndb = as_int_codes(b, [])
    pa = np.where((ca >= 0) & (ca < pos.size), np.take(pos, np.clip(ca, 0, pos.size - 1)), -1)
    pb = np.where((cb >= 0) & (cb < pos.size), np.take(pos, np.clip(cb, 0, pos.size - 1)), -1)
    bad = nda | ndb | (pa < 0) | (pb < 0)
    idx = np.maximum(pa, 0) * n + np.maximum(pb, 0)
    k = np.take(kind, idx)
    fv = np.asarray(f, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        val = np.where(k == KIND_F, fv, np.where(k == KIND_INVERSE_F, 1.0 / fv, np.take(const, idx)))
    return np.where(bad, np.nan, val).astype(np.float32)


def stock_change_factor(
    initial: xr.DataArray,
    final: xr.DataArray,
    f: xr.DataArray | float,
    factors: SomeFactors = "ipcc_tier1",
) -> xr.DataArray:
    """
    Stock-change coefficient (SOC after 20 years / SOC before) of each pixel's land cover transition.

    Parameters
    ----------
    initial, final : xarray.DataArray
        Land cover codes in the legend of ``factors`` (UNCCD 1-7 by default), nodata -32768.
    f : xarray.DataArray or float
        Climate factor (see :func:`climate_factor`), broadcast against the land cover.
    factors : SocFactors, str or path, default "ipcc_tier1"

    Returns
    -------
    xarray.DataArray
        float32 coefficient, NaN where a class is nodata or the transition needs f and f is NaN.

    References
    ----------
    PRAIS 2026 §1.3 Step 4, Figure 3; PRAIS 2026 reporting manual §1.3; GPG v2 ch. 5.
    """
    fac = load_soc_factors(factors)
    pos, const, kind = fac.tables()
    fa = f if isinstance(f, xr.DataArray) else xr.DataArray(np.float32(f))
    out = xr.apply_ufunc(
        _factor_block,
        initial,
        final,
        fa,
        kwargs={"pos": pos, "n": len(fac.legend.codes), "const": const, "kind": kind},
        dask="parallelized",
        output_dtypes=[np.float32],
    )
    out.attrs = {"long_name": "SOC stock-change factor", "units": "1"}
    out.name = "soc_factor"
    return out
