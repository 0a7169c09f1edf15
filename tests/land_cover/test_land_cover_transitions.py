"""Land cover degradation: every cell of the default matrix, custom and regional matrices, transition codes."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from openldn.exceptions import GridMismatchError, LegendError
from openldn.land_cover import degradation, degradation_by_region, transition_codes, water_mask

# standard.md §4.4 (b), typed row by row (rows = initial Tree..Water, columns = final Tree..Water).
DEFAULT = """
0 - - - - - 0
+ 0 + - - - 0
+ - 0 - - - 0
- - - 0 - - 0
+ + + + 0 + 0
+ + + + - 0 0
0 0 0 0 0 0 0
"""
SIGN = {"+": 1, "-": -1, "0": 0}
EXPECTED = np.array([[SIGN[c] for c in row.split()] for row in DEFAULT.strip().splitlines()])


def _all_pairs() -> tuple[xr.DataArray, xr.DataArray]:
    init = np.repeat(np.arange(1, 8), 7).reshape(7, 7).astype(np.int16)
    final = np.tile(np.arange(1, 8), 7).reshape(7, 7).astype(np.int16)
    return xr.DataArray(init, dims=("y", "x")), xr.DataArray(final, dims=("y", "x"))


@pytest.mark.parametrize("initial", range(1, 8))
@pytest.mark.parametrize("final", range(1, 8))
def test_degradation__each_cell_of_the_default_matrix(initial: int, final: int) -> None:
    a = xr.DataArray(np.array([[initial]], dtype=np.int16), dims=("y", "x"))
    b = xr.DataArray(np.array([[final]], dtype=np.int16), dims=("y", "x"))
    assert int(degradation(a, b).values[0, 0]) == EXPECTED[initial - 1, final - 1]


def test_degradation__whole_matrix_numpy_and_dask(no_dask_compute) -> None:
    a, b = _all_pairs()
    out = degradation(a, b, None)
    assert out.dtype == np.int16
    np.testing.assert_array_equal(out.values, EXPECTED)
    with no_dask_compute():
        lazy = degradation(a.chunk(3), b.chunk(3))
    assert isinstance(lazy.data, da.Array)
    np.testing.assert_array_equal(lazy.compute().values, EXPECTED)


def test_degradation__nodata_and_unknown_codes() -> None:
    a = xr.DataArray(np.array([[1, -32768, 3]], dtype=np.int16), dims=("y", "x"))
    b = xr.DataArray(np.array([[3, 1, -32768]], dtype=np.int16), dims=("y", "x"))
    assert degradation(a, b).values.tolist() == [[-1, -32768, -32768]]
    bad = xr.DataArray(np.array([[8, 1, 1]], dtype=np.int16), dims=("y", "x"))
    with pytest.raises(LegendError, match="8"):
        degradation(bad, b)
    with pytest.raises(GridMismatchError):
        degradation(a, b.isel(x=[0, 1]))


def test_degradation__custom_matrix_from_csv(tmp_path: Path) -> None:
    keys = ["tree_covered", "grassland", "cropland", "wetland", "artificial", "other_land", "water_body"]
    # a national matrix: grassland -> cropland is degradation, cropland -> grassland improvement, water changes
    # are degradation; everything else as the default
    custom = EXPECTED.copy()
    custom[1, 2], custom[2, 1] = -1, 1
    custom[6, :6] = -1
    sym = {1: "+", -1: "-", 0: "0"}
    lines = ["initial," + ",".join(keys)]
    lines += [keys[i] + "," + ",".join(sym[int(v)] for v in custom[i]) for i in range(7)]
    path = tmp_path / "national_matrix.csv"
    path.write_text("\n".join(lines) + "\n")
    a, b = _all_pairs()
    np.testing.assert_array_equal(degradation(a, b, str(path)).values, custom)


def test_degradation_by_region__two_regions(tmp_path: Path) -> None:
    keys = ["tree_covered", "grassland", "cropland", "wetland", "artificial", "other_land", "water_body"]
    path = tmp_path / "all_stable.yaml"
    path.write_text(
        "legend: unccd\ncolumns: [" + ", ".join(keys) + "]\nmatrix:\n"
        + "".join(f"  {k}: [0, 0, 0, 0, 0, 0, 0]\n" for k in keys)
    )
    a, b = _all_pairs()
    # region 10 = first 3 columns (default matrix), region 20 = next 3 columns (all stable), column 6 region 99
    # (no matrix -> nodata)
    reg = np.array([10, 10, 10, 20, 20, 20, 99])[None, :].repeat(7, axis=0)
    regions = xr.DataArray(reg, dims=("y", "x"))
    out = degradation_by_region(a, b, regions, {10: None, 20: str(path)})
    expected = np.where(reg == 10, EXPECTED, np.where(reg == 20, 0, -32768))
    np.testing.assert_array_equal(out.values, expected)
    lazy = degradation_by_region(a.chunk(4), b.chunk(4), regions.chunk(4), {10: None, 20: str(path)})
    np.testing.assert_array_equal(lazy.compute().values, expected)


def test_degradation_by_region__at_most_five() -> None:
    a, b = _all_pairs()
    regions = xr.DataArray(np.ones((7, 7), dtype=np.int16), dims=("y", "x"))
    with pytest.raises(LegendError, match="at most 5"):
        degradation_by_region(a, b, regions, dict.fromkeys(range(6)))


def test_transition_codes_and_water_mask() -> None:
    a, b = _all_pairs()
    assert transition_codes(a, b).dtype == np.int16
    codes = transition_codes(a, b).values
    assert codes[0].tolist() == [11, 12, 13, 14, 15, 16, 17]
    assert codes[6, 2] == 73
    nd = transition_codes(a.where(a != 2, -32768), b).values
    assert (nd[1] == -32768).all()
    assert water_mask(a).values[6].all() and not water_mask(a).values[:6].any()


def test_degradation__chunked_equals_in_memory(rng: np.random.Generator) -> None:
    a = rng.integers(1, 8, size=(31, 29)).astype(np.int16)
    b = rng.integers(1, 8, size=(31, 29)).astype(np.int16)
    a[rng.random(a.shape) < 0.05] = -32768
    regions = rng.integers(1, 4, size=(31, 29))
    ad, bd, rd = (xr.DataArray(x, dims=("y", "x")) for x in (a, b, regions))
    ref = degradation(ad, bd).values
    expected = np.where(a == -32768, -32768, EXPECTED[np.clip(a, 1, 7) - 1, b - 1])
    np.testing.assert_array_equal(ref, expected)
    np.testing.assert_array_equal(degradation(ad.chunk(8), bd.chunk(8)).compute().values, ref)
    byreg = degradation_by_region(ad.chunk(8), bd.chunk(8), rd.chunk(8), {1: None, 2: None, 3: None})
    np.testing.assert_array_equal(byreg.compute().values, ref)
