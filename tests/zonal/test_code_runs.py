"""Full-cell coverage codes stored as runs along rows: exact round trip, windows, and size independent of the cells."""

from __future__ import annotations

import numpy as np
import pytest

from openldn.zonal.coverage import CodeRuns


def _random_codes(rng: np.random.Generator, shape: tuple[int, int], dtype: type) -> np.ndarray:
    """Blocky codes (runs of equal values), zeros included, as a real coverage has."""
    ny, nx = shape
    out = np.zeros(shape, dtype=dtype)
    for r in range(ny):
        cuts = np.sort(rng.choice(np.arange(1, nx), size=min(6, nx - 1), replace=False))
        vals = rng.integers(0, 9, size=cuts.size + 1)
        out[r] = np.repeat(vals, np.diff(np.r_[0, cuts, nx])).astype(dtype)
    return out


@pytest.mark.parametrize("dtype", [np.int16, np.int32])
def test_code_runs__decode_equals_the_dense_codes(dtype: type) -> None:
    codes = _random_codes(np.random.default_rng(1), (37, 53), dtype)
    runs = CodeRuns.encode(codes, block_rows=5)  # several encoding blocks
    got = runs.decode()
    assert got.dtype == codes.dtype
    np.testing.assert_array_equal(got, codes)
    assert (runs.values != 0).all()  # zeros are not stored


def test_code_runs__windows_equal_slices_of_the_dense_codes() -> None:
    codes = _random_codes(np.random.default_rng(2), (40, 31), np.int16)
    runs = CodeRuns.encode(codes)
    for r0, r1, c0, c1 in [(0, 40, 0, 31), (3, 17, 0, 31), (5, 6, 7, 8), (10, 40, 12, 31), (0, 1, 0, 1), (39, 40, 30, 31)]:
        np.testing.assert_array_equal(runs.window(r0, r1, c0, c1).decode(), codes[r0:r1, c0:c1])
    # a window of a window is the same as the direct window
    np.testing.assert_array_equal(runs.window(4, 30, 2, 29).window(3, 9, 5, 20).decode(), codes[7:13, 7:22])


def test_code_runs__edge_cases() -> None:
    empty = np.zeros((4, 5), dtype=np.int16)
    runs = CodeRuns.encode(empty)
    assert runs.rows.size == 0
    np.testing.assert_array_equal(runs.decode(), empty)
    full = np.full((3, 4), 7, dtype=np.int16)  # a run ends where the next row's run starts in the flat index
    np.testing.assert_array_equal(CodeRuns.encode(full).decode(), full)


def test_coverage__codes_held_as_runs_are_small_for_a_large_grid() -> None:
    """A disc AOI with two admin units on 3,000 x 3,000 cells: the runs hold far less than 2 bytes per cell."""
    import geopandas as gpd
    import shapely
    from affine import Affine
    from odc.geo.geobox import GeoBox

    from openldn.zonal import build_coverage

    n = 3000
    gb = GeoBox((n, n), Affine(1.0, 0, 0.0, 0, -1.0, float(n)), "EPSG:3857")
    aoi = gpd.GeoDataFrame(geometry=[shapely.Point(n / 2, n / 2).buffer(n * 0.45, 64)], crs="EPSG:3857")
    zones = gpd.GeoDataFrame({"id": ["A", "B"], "name": ["A", "B"]},
                             geometry=[shapely.box(0, 0, n * 0.4, n), shapely.box(n * 0.4, 0, n, n)], crs="EPSG:3857")
    cov = build_coverage(gb, aoi=aoi, zones=zones)
    # each row crosses at most: outside | zone A | zone B | outside -> at most 2 non-zero runs per row
    assert cov.runs.rows.size <= 2 * n
    assert cov.runs.nbytes < 0.02 * n * n * 2
    # the decoded codes count the full cells of the disc: about pi r^2 minus its boundary ring
    full = int(cov.full_mask().sum())
    assert full == pytest.approx(np.pi * (0.45 * n) ** 2, rel=0.01)
    # codes of a window are the window of the decoded codes
    np.testing.assert_array_equal(cov.codes_window(1000, 1100, 500, 900).decode(), cov.codes[1000:1100, 500:900])
