"""The area accumulation kernel against numpy: every counting path gives the same int64 quanta."""

from __future__ import annotations

import math

import numpy as np
import pytest

from openldn.zonal._kernels import AREA_QUANTUM_M2, pair_area


def _quanta(area: np.ndarray) -> np.ndarray:
    """Each cell's area in int64 quanta, rounded half up as documented (independent of the kernel)."""
    return np.array([math.floor(v / AREA_QUANTUM_M2 + 0.5) for v in area.ravel()], dtype=np.int64).reshape(area.shape)


def _expected(codes, a, b, nb, area, n_codes, n_pairs):
    """numpy: np.add.at of every cell's quanta by (full-cell code, class pair)."""
    out = np.zeros((n_codes, n_pairs), dtype=np.int64)
    np.add.at(out, (codes.ravel().astype(np.int64), (a * nb + b).ravel()), _quanta(area).ravel())
    out[0] = 0  # cells outside every zone are not reported
    return out


@pytest.mark.parametrize("nx", [7, 64, 1031])  # one bank (few cells per row) and four banks, with a remainder
@pytest.mark.parametrize("pattern", ["random", "patches"])
@pytest.mark.parametrize("row_areas", [True, False])
def test_pair_area__every_path_equals_numpy(nx, pattern, row_areas):
    rng = np.random.default_rng(nx)
    ny, na, nb, n_codes = 37, 4, 3, 5
    if pattern == "random":
        a = rng.integers(0, na, (ny, nx))
        b = rng.integers(0, nb, (ny, nx))
    else:  # long runs of the same class pair, as in class maps (consecutive cells hit the same counter)
        a = np.repeat(rng.integers(0, na, (ny, nx // 7 + 1)), 7, axis=1)[:, :nx]
        b = np.repeat(rng.integers(0, nb, (ny, nx // 11 + 1)), 11, axis=1)[:, :nx]
    codes = rng.integers(0, n_codes, (ny, nx)).astype(np.int16)
    rows = 9.0e6 + rng.random(ny) * 1e5  # a different area per row, as on a geographic grid
    if row_areas:
        area = np.broadcast_to(rows[:, None], (ny, nx))  # what pixel_area gives per block: a broadcast column
        assert area.strides[1] == 0
    else:
        area = rows[:, None] + np.zeros((ny, nx))
        area[5, 3] += 0.5  # one row whose cells differ: counted cell by cell
    lut = np.arange(max(na, nb), dtype=np.int64)
    acc_c = np.zeros((n_codes, na * nb), dtype=np.int64)
    acc = np.zeros((1, na * nb), dtype=np.int64)
    empty_i = np.zeros(0, dtype=np.int64)
    pair_area(codes, a.astype(np.uint8), lut, b.astype(np.uint8), lut, nb, area,
              empty_i, empty_i, empty_i, np.zeros(0), acc_c, acc)
    np.testing.assert_array_equal(acc_c[1:], _expected(codes, a, b, nb, area, n_codes, na * nb)[1:])
    assert not acc.any()
