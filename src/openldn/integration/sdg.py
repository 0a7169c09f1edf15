"""One-Out-All-Out integration of the three SO1 sub-indicators into SDG 15.3.1 (PRAIS 2026 reporting manual §1.4; GPG v2 ch. 2; GPG Addendum 2025).

A pixel is degraded if any sub-indicator (land cover, land productivity, soil organic carbon) is degraded; stable or
improved sub-indicators cannot compensate. The standard leaves two choices open (docs/differences.md), exposed here as
keyword arguments:

``improved_rule``
    ``"trends_earth"`` (default): improved if productivity is improved, or productivity is stable and land cover or
    SOC is improved (Trends.Earth (docs/differences.md)). ``"any_improved"``: improved if any sub-indicator is improved
    and none is degraded. On -1/0/1 inputs the two rules give the same map (without a degraded input, productivity is
    0 or 1, so "productivity improved, or stable with LC or SOC improved" is "any improved"); both are kept so that
    the rule is explicit in every run record.
``nodata_rule``
    ``"any_nodata"`` (default, Trends.Earth): no data if any input is no data, even when another input is degraded.
    ``"degraded_wins"``: a degraded input makes the pixel degraded even if another input is no data; other pixels with
    a no-data input stay no data.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr

from openldn.core.blocks import map_values
from openldn.core.codes import NODATA, STATUS_DTYPE
from openldn.exceptions import ConfigError, GridMismatchError
from openldn.integration._georef import keep_crs

__all__ = ["IMPROVED_RULES", "NODATA_RULES", "ImprovedRule", "NodataRule", "assessment_lookup", "one_out_all_out"]

ImprovedRule = Literal["trends_earth", "any_improved"]
NodataRule = Literal["any_nodata", "degraded_wins"]
#: Accepted values of ``improved_rule``.
IMPROVED_RULES: tuple[str, ...] = ("trends_earth", "any_improved")
#: Accepted values of ``nodata_rule``.
NODATA_RULES: tuple[str, ...] = ("any_nodata", "degraded_wins")


#: The assessment codes, in the order of the look-up tables' axes; any other value (no data, NaN, an unknown code)
#: takes the last index.
ASSESSED: tuple[int, ...] = (-1, 0, 1)


def _assessed(a: np.ndarray) -> np.ndarray:
    """Where ``a`` holds one of the assessment codes -1, 0, 1."""
    ok: np.ndarray = (a == -1) | (a == 0) | (a == 1)
    return ok


def _code_index(a: np.ndarray) -> np.ndarray:
    """0, 1, 2 for -1, 0, 1 and 3 for any other value (int8)."""
    index: np.ndarray = (np.where(_assessed(a), a, 2) + 1).astype(np.int8)
    return index


def _lookup_block(*arrays: np.ndarray, table: np.ndarray) -> np.ndarray:
    # the index of each array's codes through a table of their values (one pass for int16 layers), then one
    # look-up in the flattened table
    k = np.zeros(np.shape(arrays[0]), dtype=np.int32)
    for a, size in zip(arrays, table.shape, strict=True):
        k *= size
        k += map_values(a, _code_index)
    out: np.ndarray = np.take(table.reshape(-1), k)
    return out


def assessment_lookup(table: np.ndarray, *arrays: xr.DataArray) -> xr.DataArray:
    """Combine -1/0/1 assessments through ``table`` (one look-up per pixel).

    Parameters
    ----------
    table : numpy.ndarray
        ``(4,) * len(arrays)`` int16 table, indexed per array by the position of its code in -1, 0, 1, and 3 for any
        other value (no data, NaN, an unknown code).
    *arrays : xarray.DataArray
        The assessments, on one grid (aligned), numpy- or dask-backed.

    Returns
    -------
    xarray.DataArray
        int16, same backing as the inputs.
    """
    out: xr.DataArray = xr.apply_ufunc(_lookup_block, *arrays,
                                       kwargs={"table": np.asarray(table, dtype=STATUS_DTYPE)},
                                       dask="parallelized", output_dtypes=[STATUS_DTYPE])
    return out


def _rule_table(improved_rule: str, nodata_rule: str) -> np.ndarray:
    """The (4, 4, 4) One-Out-All-Out table: the rule evaluated once on every combination of codes and no data."""
    lc, lp, soc = np.meshgrid(*[np.array([*ASSESSED, NODATA], dtype=STATUS_DTYPE)] * 3, indexing="ij")
    any_nd = ~_assessed(lc) | ~_assessed(lp) | ~_assessed(soc)
    any_deg = (lc == -1) | (lp == -1) | (soc == -1)
    if improved_rule == "trends_earth":
        improved = (lp == 1) | ((lp == 0) & ((lc == 1) | (soc == 1)))
    else:
        improved = (lc == 1) | (lp == 1) | (soc == 1)
    out = np.where(improved, 1, 0)
    out = np.where(any_deg, -1, out)
    nd = any_nd & ~any_deg if nodata_rule == "degraded_wins" else any_nd
    return np.where(nd, NODATA, out).astype(STATUS_DTYPE)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    v = str(value).lower()
    if v not in allowed:
        raise ConfigError(f"{name}={value!r} is not a known rule: use one of {', '.join(allowed)}.")
    return v


def _align(*arrays: xr.DataArray) -> tuple[xr.DataArray, ...]:
    try:
        return xr.align(*arrays, join="exact")
    except ValueError as err:
        raise GridMismatchError(
            "one_out_all_out: the land cover, productivity and SOC rasters are not on the same grid; "
            "align them onto the analysis grid first."
        ) from err


def one_out_all_out(
    land_cover: xr.DataArray,
    productivity: xr.DataArray,
    soil_carbon: xr.DataArray,
    *,
    improved_rule: ImprovedRule = "trends_earth",
    nodata_rule: NodataRule = "any_nodata",
) -> xr.DataArray:
    """SDG 15.3.1 degradation status by One-Out-All-Out.

    Combines the land cover, land productivity and soil organic carbon degradation layers (-1 degraded, 0 stable,
    1 improved, -32768 no data) into one -1/0/1 layer. Values other than -1, 0 and 1 are read as no data.

    Parameters
    ----------
    land_cover, productivity, soil_carbon : xarray.DataArray
        Sub-indicator degradation layers on the same grid, integer codes -1/0/1 with nodata -32768; numpy- or
        dask-backed.
    improved_rule : {"trends_earth", "any_improved"}
        How "not degraded" splits into stable and improved (docs/differences.md).
    nodata_rule : {"any_nodata", "degraded_wins"}
        How a no-data sub-indicator propagates (docs/differences.md).

    Returns
    -------
    xarray.DataArray
        int16 -1/0/1 with nodata -32768, same backing (numpy or dask) as the inputs.

    References
    ----------
    PRAIS 2026 §1.4; GPG v2 ch. 2; PRAIS 2026 reporting manual §1.4; GPG v2 ch. 2; GPG Addendum 2025; Trends.Earth (docs/differences.md).
    """
    improved_rule = _check_choice("improved_rule", improved_rule, IMPROVED_RULES)  # type: ignore[assignment]
    nodata_rule = _check_choice("nodata_rule", nodata_rule, NODATA_RULES)  # type: ignore[assignment]
    lc, lp, soc = _align(land_cover, productivity, soil_carbon)
    out = assessment_lookup(_rule_table(improved_rule, nodata_rule), lc, lp, soc)
    out.name = "sdg_15_3_1"
    out.attrs = {
        "long_name": "SDG 15.3.1 degradation status (One-Out-All-Out)",
        "flag_values": np.array([-1, 0, 1], dtype=STATUS_DTYPE),
        "flag_meanings": "degraded stable improved",
        "_FillValue": NODATA,
        "improved_rule": improved_rule,
        "nodata_rule": nodata_rule,
    }
    return keep_crs(out, lc)

