"""Reclassification of land cover through a legend nesting (child legend -> parent legend).

PRAIS 2026 §1.1 Step 2 (Table 8) and GPG v2 ch. 3: every class of the national (or global) legend maps to exactly one
of the 7 UNCCD classes. openldn fails loudly on any code that the nesting does not define (PRAIS 2026 reporting manual, validation rules C4,
Trends.Earth (docs/differences.md) #17 and differences register D6).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TypeAlias

import numpy as np
import xarray as xr

from openldn.core.codes import NODATA
from openldn.core.periods import years_of
from openldn.core.vocab import Legend, Nesting, load_nesting
from openldn.exceptions import LegendError, MissingYearError
from openldn.land_cover._lookup import (
    UNKNOWN,
    as_int_codes,
    code_rows,
    input_nodata_codes,
    unknown_codes_error,
)

__all__ = ["MAX_CUSTOM_CLASSES", "SomeNesting", "check_nesting", "reclassify"]

#: Largest custom legend accepted (the Trends.Earth user documentation's limit; PRAIS 2026 reporting manual §1.1; GPG v2 ch. 3 recommends <= 15).
MAX_CUSTOM_CLASSES: int = 45

SomeNesting: TypeAlias = Nesting | str | Path


def check_nesting(nesting: SomeNesting) -> Nesting:
    """Load a nesting and check the size of its child legend.

    Parameters
    ----------
    nesting : Nesting, str or path
        Package id (``"esa_cci__unccd"``, ``"cgls_lc100__unccd"``) or a YAML/CSV file (see
        :func:`openldn.core.vocab.load_nesting`).

    Returns
    -------
    Nesting

    Raises
    ------
    LegendError
        If the file is invalid, a class is unmapped, or the child legend has more than
        :data:`MAX_CUSTOM_CLASSES` classes.
    """
    n = load_nesting(nesting)
    if len(n.child.classes) > MAX_CUSTOM_CLASSES and n.source and not n.source.startswith("openldn:"):
        raise LegendError(
            f"Legend {n.source} has {len(n.child.classes)} classes, more than {MAX_CUSTOM_CLASSES}: merge classes "
            "(PRAIS recommends at most 15)."
        )
    return n


def _nodata_codes(child: Legend, da: xr.DataArray) -> list[int]:
    return sorted({child.nodata, *child.extra_nodata, *input_nodata_codes(da)} - set(child.codes))


def _reclass_block(
    block: np.ndarray, lut: np.ndarray, offset: int, nodata: list[int], strict: bool, source: str, name: str
) -> np.ndarray:
    # the parent code of each value (once per distinct value); a code of no class is nodata, or an error if strict
    out = code_rows(block, lut, nodata, offset=offset, nodata_row=NODATA, unknown_row=UNKNOWN if strict else NODATA,
                    dtype=np.int16)
    if strict:
        unknown = out == UNKNOWN
        if unknown.any():
            raise unknown_codes_error(
                as_int_codes(np.asarray(block)[unknown], nodata)[0], f"land cover {name!r}", f"the nesting {source}",
                "add them to that file or fix the raster",
            )
    return out


def _reclassify_one(lc: xr.DataArray, nesting: Nesting, strict: bool) -> xr.DataArray:
    lut, offset = nesting.lookup()
    nodata = _nodata_codes(nesting.child, lc)
    source = nesting.source or nesting.id
    name = str(lc.name or "land_cover")
    return xr.apply_ufunc(
        _reclass_block,
        lc,
        kwargs={"lut": lut, "offset": offset, "nodata": nodata, "strict": strict, "source": source, "name": name},
        dask="parallelized",
        output_dtypes=[np.int16],
    )


def reclassify(
    lc: xr.DataArray,
    nesting: SomeNesting | Mapping[int, SomeNesting] = "esa_cci__unccd",
    *,
    strict: bool = True,
) -> xr.DataArray:
    """
    Land cover in the parent legend of a nesting (by default the 7 UNCCD classes).

    Each code of the child legend is replaced by the code of the parent class it nests into, with one vectorised
    look-up. Codes declared as nodata (the child legend's nodata and extra nodata codes, the raster's own nodata,
    NaN) become -32768.

    Parameters
    ----------
    lc : xarray.DataArray
        Land cover codes, dims ``(y, x)`` or ``(time, y, x)``, integer (or float with NaN as nodata), numpy- or
        dask-backed.
    nesting : Nesting, str, path, or mapping of year to one of those
        The nesting (package id such as ``"esa_cci__unccd"`` or ``"cgls_lc100__unccd"``, or a YAML/CSV file of a
        custom legend with a ``parent`` column). A mapping ``{year: nesting}`` gives each year its own legend
        (legends may differ between years as long as they nest into the same parent legend); ``lc`` must then have
        a ``time`` dimension and every year must be in the mapping.
    strict : bool, default True
        Raise :class:`~openldn.exceptions.LegendError` naming the code and the nesting file when a code is not in
        the child legend. ``False`` turns such codes into nodata (never a silent pass-through of the code).

    Returns
    -------
    xarray.DataArray
        int16 parent-legend codes, nodata -32768, same dims and backing as ``lc``; ``attrs["legend"]`` is the
        parent legend id. With dask input the unknown-code check runs when the blocks are computed.

    Raises
    ------
    LegendError
        Unknown code (``strict=True``), invalid nesting file, or parent legends that differ between years.

    References
    ----------
    PRAIS 2026 §1.1 Step 2, Table 8; GPG v2 ch. 3 (custom legends nested into the 7 classes); PRAIS 2026 reporting manual §1.1; GPG v2 ch. 3.
    """
    if isinstance(nesting, Mapping):
        if "time" not in lc.dims:
            raise LegendError("A nesting per year needs land cover with a 'time' dimension: pass one nesting.")
        nestings = {int(y): check_nesting(n) for y, n in nesting.items()}
        parents = {n.parent.id for n in nestings.values()}
        if len(parents) > 1:
            raise LegendError(
                f"The per-year nestings nest into different legends ({', '.join(sorted(parents))}): use one parent."
            )
        years = years_of(lc)
        missing = sorted({int(y) for y in years} - set(nestings))
        if missing:
            raise MissingYearError(
                f"No nesting given for land cover year(s) {missing}: add them to the per-year nesting mapping."
            )
        parts = [_reclassify_one(lc.isel(time=[i]), nestings[int(y)], strict) for i, y in enumerate(years)]
        out = xr.concat(parts, dim="time")
        parent = next(iter(nestings.values())).parent
        ids = ",".join(f"{y}:{n.id}" for y, n in sorted(nestings.items()))
    else:
        n = check_nesting(nesting)
        out = _reclassify_one(lc, n, strict)
        parent = n.parent
        ids = n.id
    out.attrs = {"legend": parent.id, "_FillValue": NODATA, "nesting": ids, "long_name": "Land cover"}
    out.name = lc.name if lc.name is not None else "land_cover"
    return out
