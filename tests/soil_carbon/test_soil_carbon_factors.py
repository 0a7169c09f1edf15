"""IPCC Tier 1 stock-change factors for every climate zone and every transition; Tier 2 coefficients."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from openldn.exceptions import LegendError
from openldn.soil_carbon import climate_factor, load_soc_factors, stock_change_factor

# standard.md §6.2 coefficient table, typed ("f" and "1/f" symbolic); rows from, columns to, classes 1..7.
TABLE = """
1    1    f      1      0.1 0.1 1
1    1    f      1      0.1 0.1 1
1/f  1/f  1      1/0.71 0.1 0.1 1
1    1    0.71   1      0.1 0.1 1
2    2    2      2      1   1   1
2    2    2      2      1   1   1
1    1    1      1      1   1   1
"""
# reference-implementation.md §6.1: IPCC zone code -> f
ZONE_F = {1: 0.69, 2: 0.80, 3: 0.69, 4: 0.80, 5: 0.69, 6: 0.80, 7: 0.69, 8: 0.80, 9: 0.64, 10: 0.48, 11: 0.48,
          12: 0.58}


def _expected(cell: str, f: float) -> float:
    if cell == "f":
        return f
    if cell == "1/f":
        return 1 / f
    if cell.startswith("1/"):
        return 1 / float(cell[2:])
    return float(cell)


CELLS = [row.split() for row in TABLE.strip().splitlines()]


def test_factors__every_zone_and_transition_as_rasters() -> None:
    # one row per (zone, initial), one column per final class: 12 * 7 rows x 7 columns
    zones = np.repeat(np.arange(1, 13), 7)[:, None].repeat(7, axis=1)
    initial = np.tile(np.arange(1, 8), 12)[:, None].repeat(7, axis=1)
    final = np.arange(1, 8)[None, :].repeat(84, axis=0)
    expected = np.array(
        [[_expected(CELLS[i - 1][j - 1], ZONE_F[z]) for j in range(1, 8)] for z, i in zip(zones[:, 0], initial[:, 0],
                                                                                          strict=True)]
    )
    z = xr.DataArray(zones.astype(np.uint8), dims=("y", "x"))
    f = climate_factor(z)
    np.testing.assert_allclose(f.values, np.vectorize(ZONE_F.get)(zones), rtol=1e-6)
    out = stock_change_factor(xr.DataArray(initial, dims=("y", "x")), xr.DataArray(final, dims=("y", "x")), f)
    np.testing.assert_allclose(out.values, expected, rtol=1e-6)
    lazy = stock_change_factor(xr.DataArray(initial, dims=("y", "x")).chunk(20),
                               xr.DataArray(final, dims=("y", "x")).chunk(20), climate_factor(z.chunk(20)))
    np.testing.assert_allclose(lazy.compute().values, expected, rtol=1e-6)


@pytest.mark.parametrize("zone", range(1, 13))
def test_factors__zone_factor_and_scalar_value(zone: int) -> None:
    fac = load_soc_factors()
    assert fac.zone_factor(zone) == pytest.approx(ZONE_F[zone])
    for i in range(1, 8):
        for j in range(1, 8):
            assert fac.value(i, j, ZONE_F[zone]) == pytest.approx(_expected(CELLS[i - 1][j - 1], ZONE_F[zone]))


def test_factors__regimes_and_nodata_zones() -> None:
    fac = load_soc_factors("ipcc_tier1")
    assert fac.regimes == {"temperate_dry": 0.80, "temperate_moist": 0.69, "tropical_dry": 0.58,
                           "tropical_moist": 0.48, "tropical_montane": 0.64}
    z = xr.DataArray(np.array([[0, 11, 13]], dtype=np.uint8), dims=("y", "x"))
    assert np.isnan(climate_factor(z).values[0, [0, 2]]).all()
    assert climate_factor(z).values[0, 1] == pytest.approx(0.48)
    # f needed (forest -> cropland) but unknown: NaN; not needed (forest -> artificial): 0.1
    a = xr.DataArray(np.array([[1, 1]]), dims=("y", "x"))
    b = xr.DataArray(np.array([[3, 5]]), dims=("y", "x"))
    out = stock_change_factor(a, b, climate_factor(z.isel(x=[0, 0])))
    assert np.isnan(out.values[0, 0]) and out.values[0, 1] == pytest.approx(0.1)


def test_factors__tier2_csv(tmp_path: Path) -> None:
    keys = ["tree_covered", "grassland", "cropland", "wetland", "artificial", "other_land", "water_body"]
    rows = [["from", *keys]] + [[k] + ["1"] * 7 for k in keys]
    rows[1][3] = "0.62"  # forest -> cropland, a national coefficient
    rows[3][1] = "1/0.62"
    path = tmp_path / "national_soc.csv"
    path.write_text("\n".join(",".join(r) for r in rows) + "\n")
    fac = load_soc_factors(str(path))
    assert fac.tier == 2
    assert fac.value(1, 3, 0.48) == pytest.approx(0.62)
    assert fac.value(3, 1, 0.48) == pytest.approx(1 / 0.62)
    assert fac.value(2, 5, 0.48) == pytest.approx(1.0)
    rows[2][2] = "abc"
    path.write_text("\n".join(",".join(r) for r in rows) + "\n")
    with pytest.raises(LegendError, match="abc"):
        load_soc_factors(str(path))
