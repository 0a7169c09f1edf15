"""Land productivity dynamics (LPD): combination look-up tables, the 5 -> 3 recode and imported LPD maps.

References
----------
PRAIS 2026 §1.2 Step 5, Table 13; PRAIS 2022 Tables 12-13; PRAIS 2026 reporting manual §1.2; GPG v2 ch. 4, §5.5, §5.6; Trends.Earth (docs/differences.md)
§4.5-4.8 and D6 (unknown codes are errors, or nodata when explicitly allowed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import xarray as xr

from openldn.core.blocks import cellwise
from openldn.core.codes import LPD_CLASSES, NODATA
from openldn.core.vocab import _resolve, list_data_files
from openldn.exceptions import LegendError

__all__ = [
    "LPDSource",
    "LPDTable",
    "import_lpd",
    "list_lpd_tables",
    "load_lpd_table",
    "lpd_class",
    "lpd_to_degradation",
]

#: Origin of an imported LPD map.
LPDSource = Literal["jrc", "fao_wocat", "trends_earth", "custom"]

_TS = {"improving": 1, "stable": 0, "degrading": -1}
_PERF = {"stable": 0, "degraded": -1}
_YN = {"y": True, "n": False, True: True, False: False}


@dataclass(frozen=True)
class LPDTable:
    """A named, versioned combination table of Trend x State x Performance.

    Build it with :func:`load_lpd_table`. ``lookup`` is a dense int16 array indexed by
    ``(trajectory + 1, state + 1, performance + 1)`` (performance -1 or 0).
    """

    #: Table identifier, e.g. ``"prais_2026_table13"``.
    id: str
    #: Human name.
    name: str
    #: Version (reporting cycle).
    version: str
    #: Bibliographic source.
    source: str
    #: ``"lpd5"`` (classes 1-5) or ``"degradation"`` (-1 degraded / 0 not degraded).
    output: str
    #: Output code -> label.
    outputs: dict[int, str]
    #: Dense look-up (3, 3, 2), int16.
    lookup: np.ndarray = field(repr=False)

    def __call__(self, trajectory: int, state: int, performance: int) -> int:
        """Output code of one combination of -1/0/1 classes."""
        return int(self.lookup[trajectory + 1, state + 1, performance + 1])


def list_lpd_tables() -> list[str]:
    """Identifiers of the LPD tables shipped with openldn."""
    return list_data_files("lpd")


def load_lpd_table(table: str | Path) -> LPDTable:
    """Load and validate an LPD combination table (package id or path to a YAML file).

    Parameters
    ----------
    table : str or Path
        ``"prais_2026_table13"``, ``"prais_2022_table13"``, ``"prais_2022_table12"`` or a user YAML file in the same
        format (see ``openldn/data/lpd/README.md``). GPG v2 Table 4-5 (LUT-4) is not shipped: the UNCCD PRAIS 2026 reporting manual and GPG v2 does not
        transcribe it.

    Returns
    -------
    LPDTable

    References
    ----------
    PRAIS 2026 reporting manual §1.2; GPG v2 ch. 4 (LUT-1 to LUT-3).
    """
    doc, src = _resolve(table, "lpd", "LPD table")
    if not isinstance(doc, dict) or not {"id", "output", "rows"} <= set(doc):
        raise LegendError(
            f"LPD table {src}: keys id, output and rows are required; see openldn/data/lpd/README.md."
        )
    output = str(doc["output"])
    if output not in ("lpd5", "degradation"):
        raise LegendError(f"LPD table {src}: output {output!r} is unknown; use 'lpd5' or 'degradation'.")
    allowed = set(LPD_CLASSES) if output == "lpd5" else {-1, 0}
    binary = bool(doc.get("binary", False))
    lut = np.full((3, 3, 2), NODATA, np.int16)
    for row in doc["rows"]:
        if not isinstance(row, list) or len(row) != 4:
            raise LegendError(
                f"LPD table {src}: row {row!r} must have 4 entries [trajectory, state, performance, out]."
            )
        t, s, p, code = row
        try:
            code = int(code)
            if binary:
                ty, sy, py = (_YN[k.lower() if isinstance(k, str) else k] for k in (t, s, p))
                combos = [
                    (ti, si, pi)
                    for ti in ((-1,) if ty else (0, 1))
                    for si in ((-1,) if sy else (0, 1))
                    for pi in ((-1,) if py else (0,))
                ]
            else:
                combos = [(_TS[str(t).lower()], _TS[str(s).lower()], _PERF[str(p).lower()])]
        except (KeyError, ValueError, TypeError) as err:
            raise LegendError(
                f"LPD table {src}: row {row!r} is not understood; use improving/stable/degrading, stable/degraded "
                "(or Y/N with binary: true) and an integer output."
            ) from err
        if code not in allowed:
            raise LegendError(
                f"LPD table {src}: output {code} of row {row!r} is not one of {sorted(allowed)}."
            )
        for ti, si, pi in combos:
            if lut[ti + 1, si + 1, pi + 1] != NODATA:
                raise LegendError(
                    f"LPD table {src}: the combination of row {row!r} is listed twice; keep one row."
                )
            lut[ti + 1, si + 1, pi + 1] = code
    if (lut == NODATA).any():
        missing = [(t - 1, s - 1, p - 1) for t, s, p in zip(*np.nonzero(lut == NODATA), strict=True)]
        raise LegendError(
            f"LPD table {src}: combinations {missing} (trajectory, state, performance) are missing."
        )
    outputs = {int(k): str(v) for k, v in (doc.get("outputs") or {}).items()}
    lut.setflags(write=False)
    return LPDTable(
        id=str(doc["id"]),
        name=str(doc.get("name", doc["id"])),
        version=str(doc.get("version", "")),
        source=str(doc.get("source", src)),
        output=output,
        outputs=outputs,
        lookup=lut,
    )


def _combine(t: np.ndarray, s: np.ndarray, p: np.ndarray, lut: np.ndarray) -> np.ndarray:
    if all(np.asarray(a).dtype.kind in "iu" for a in (t, s, p)):  # class codes: one pass of a kernel
        from openldn.productivity._kernels import lpd_combine

        return cellwise(lpd_combine, [t, s, p], lut, NODATA, dtype=np.int16)
    ok = (t >= -1) & (t <= 1) & (s >= -1) & (s <= 1) & (p >= -1) & (p <= 0)
    ti = np.where(ok, t + 1, 0).astype(np.intp)
    si = np.where(ok, s + 1, 0).astype(np.intp)
    pi = np.where(ok, p + 1, 0).astype(np.intp)
    return np.where(ok, lut[ti, si, pi], NODATA).astype(np.int16)


def lpd_class(
    trajectory: xr.DataArray,
    state: xr.DataArray,
    performance: xr.DataArray,
    *,
    table: str | Path | LPDTable = "prais_2026_table13",
) -> xr.DataArray:
    """Combine the trajectory, state and performance classes through a named look-up table.

    Parameters
    ----------
    trajectory, state : xarray.DataArray
        int16 classes -1/0/1 (nodata -32768).
    performance : xarray.DataArray
        int16 classes -1 (degraded) / 0 (not degraded) (nodata -32768).
    table : str, Path or LPDTable, default "prais_2026_table13"
        The combination table (:func:`load_lpd_table`).

    Returns
    -------
    xarray.DataArray
        int16: LPD classes 1-5 for ``lpd5`` tables, or degradation -1/0 for binary tables (``attrs["lpd_output"]``
        says which); -32768 where any input is nodata (or outside its classes).

    References
    ----------
    PRAIS 2026 §1.2 Step 5, Table 13; PRAIS 2022 Tables 12-13; PRAIS 2026 reporting manual §1.2; GPG v2 ch. 4.
    """
    lut = table if isinstance(table, LPDTable) else load_lpd_table(table)
    out = xr.apply_ufunc(
        _combine,
        trajectory,
        state,
        performance,
        kwargs={"lut": lut.lookup},
        dask="parallelized",
        output_dtypes=[np.int16],
    )
    out.name = "lpd" if lut.output == "lpd5" else "prod_degradation"
    out.attrs = {
        "long_name": "Land productivity dynamics" if lut.output == "lpd5" else "Productivity degradation",
        "_FillValue": NODATA,
        "lpd_table": lut.id,
        "lpd_table_version": lut.version,
        "lpd_output": lut.output,
        "flag_values": list(lut.outputs),
        "flag_meanings": " ".join(v.lower().replace(" ", "_") for v in lut.outputs.values()),
    }
    return out


def _recode53(a: np.ndarray, strict: bool) -> np.ndarray:
    out = np.full(a.shape, NODATA, np.int16)
    out[(a == 1) | (a == 2)] = -1
    out[(a == 3) | (a == 4)] = 0
    out[a == 5] = 1
    if strict:
        bad = ~np.isin(a, [1, 2, 3, 4, 5, NODATA])
        if bad.any():
            vals = np.unique(a[bad])[:5].tolist()
            raise LegendError(
                f"LPD: codes {vals} are not LPD classes 1-5 or nodata -32768; recode them (import_lpd) or pass "
                "strict=False to treat them as nodata."
            )
    return out


def lpd_to_degradation(lpd: xr.DataArray, *, strict: bool = True) -> xr.DataArray:
    """Recode the 5 LPD classes into productivity degradation: 1-2 degraded (-1), 3-4 stable (0), 5 improved (1).

    Parameters
    ----------
    lpd : xarray.DataArray
        LPD classes 1-5, nodata -32768.
    strict : bool, default True
        Raise :class:`~openldn.exceptions.LegendError` (when the data are computed) on any other code; with False,
        other codes become nodata (Trends.Earth passes them through, Trends.Earth (docs/differences.md)-10, D6).

    Returns
    -------
    xarray.DataArray
        int16 -1/0/1, nodata -32768.

    References
    ----------
    PRAIS 2026 reporting manual §1.2; GPG v2 ch. 4 ("stressed counts as stable"); Trends.Earth productivity (docs/differences.md).
    """
    out = xr.apply_ufunc(
        _recode53, lpd, kwargs={"strict": strict}, dask="parallelized", output_dtypes=[np.int16]
    )
    out.name = "prod_degradation"
    out.attrs = {
        "long_name": "Productivity degradation (-1 degraded, 0 stable, 1 improved)",
        "_FillValue": NODATA,
        **{
            k: v
            for k, v in lpd.attrs.items()
            if k.endswith("_window") or k in ("assessment_period", "lpd_table")
        },
    }
    return out


def _import(a: np.ndarray, nodata: tuple[float, ...], strict: bool) -> np.ndarray:
    a = np.asarray(a)
    isnan = np.isnan(a) if np.issubdtype(a.dtype, np.floating) else np.zeros(a.shape, bool)
    ai = np.where(isnan, NODATA, a).astype(np.int64)
    nd = isnan | np.isin(ai, np.asarray(nodata, dtype=np.int64)) | (ai == NODATA)
    ok = (ai >= 1) & (ai <= 5)
    if strict:
        bad = ~(ok | nd)
        if bad.any():
            vals = np.unique(ai[bad])[:5].tolist()
            raise LegendError(
                f"imported LPD: codes {vals} are neither classes 1-5 nor declared nodata; list them in the nodata "
                "values of the input or recode the map."
            )
    return np.where(ok & ~nd, ai, NODATA).astype(np.int16)


def import_lpd(
    lpd: xr.DataArray,
    *,
    source: LPDSource = "custom",
    nodata: tuple[float, ...] | None = None,
    strict: bool = True,
) -> xr.DataArray:
    """Normalise an imported 5-class LPD map (JRC, FAO-WOCAT, Trends.Earth or custom) to int16 classes 1-5.

    Codes 1-5 keep their meaning (1 declining ... 5 increasing). Codes 0 and 15 (JRC / Trends.Earth "no data" and
    "water") and the map's declared nodata become -32768 in every path (Trends.Earth productivity (docs/differences.md),
    §15-18).

    Parameters
    ----------
    lpd : xarray.DataArray
        The imported map on the analysis grid.
    source : {"jrc", "fao_wocat", "trends_earth", "custom"}, default "custom"
        Origin, recorded in the metadata.
    nodata : tuple of float, optional
        Codes read as nodata (default ``(0, 15)`` plus the map's ``_FillValue`` / ``nodata`` attribute).
    strict : bool, default True
        Raise on any other code (when the data are computed); with False they become nodata.

    Returns
    -------
    xarray.DataArray
        int16 LPD classes 1-5, nodata -32768.

    References
    ----------
    PRAIS 2026 §1.2 Step 2, Table 11 (JRC and FAO-WOCAT LPD as alternatives); PRAIS 2026 reporting manual §1.2; GPG v2 ch. 4.
    """
    if source not in ("jrc", "fao_wocat", "trends_earth", "custom"):
        raise LegendError(
            f"imported LPD: source {source!r} is unknown; use jrc, fao_wocat, trends_earth or custom."
        )
    nd: list[float] = [0, 15] if nodata is None else list(nodata)
    for k in ("_FillValue", "nodata"):
        v = lpd.attrs.get(k, lpd.encoding.get(k) if hasattr(lpd, "encoding") else None)
        if v is not None and np.isfinite(v):
            nd.append(float(v))
    out = xr.apply_ufunc(
        _import,
        lpd,
        kwargs={"nodata": tuple(nd), "strict": strict},
        dask="parallelized",
        output_dtypes=[np.int16],
    )
    out.name = "lpd"
    out.attrs = {
        "long_name": "Land productivity dynamics (imported)",
        "_FillValue": NODATA,
        "lpd_source": source,
    }
    return out
