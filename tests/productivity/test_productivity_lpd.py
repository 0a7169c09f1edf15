"""LPD look-up tables (every input combination), 5 -> 3 recode, imported LPD maps."""

from __future__ import annotations

import itertools

import dask.array
import numpy as np
import pytest
import xarray as xr
from tests.productivity._helpers import raise_if_dask_computes

from openldn.exceptions import LegendError
from openldn.productivity import import_lpd, list_lpd_tables, load_lpd_table, lpd_class, lpd_to_degradation

IM, S, D = 1, 0, -1  # improving / stable / degrading
PS, PD = 0, -1  # performance stable / degraded

#: PRAIS 2026 Table 13 as printed in standard.md §5.5 (18 rows): (trend, state, performance) -> LPD.
PRAIS_2026_TABLE13 = {
    (IM, IM, PS): 5, (IM, IM, PD): 5, (IM, S, PS): 5, (IM, S, PD): 5, (IM, D, PS): 5, (IM, D, PD): 2,
    (S, IM, PS): 4, (S, IM, PD): 4, (S, S, PS): 4, (S, S, PD): 3, (S, D, PS): 2, (S, D, PD): 1,
    (D, IM, PS): 1, (D, IM, PD): 1, (D, S, PS): 1, (D, S, PD): 1, (D, D, PS): 1, (D, D, PD): 1,
}  # fmt: skip
#: Its 3-class column: Improving rows 1-5, Degrading rows 6 and 11-18, Stable rows 7-10.
PRAIS_2026_TABLE13_DEG = {1: -1, 2: -1, 3: 0, 4: 0, 5: 1}


def _all_combinations() -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    combos = list(itertools.product((-1, 0, 1), (-1, 0, 1), (-1, 0)))
    t, s, p = (xr.DataArray(np.array(c, dtype=np.int16), dims="pixel") for c in zip(*combos, strict=True))
    return t, s, p


def test_shipped_tables() -> None:
    assert list_lpd_tables() == ["prais_2022_table12", "prais_2022_table13", "prais_2026_table13"]


@pytest.mark.parametrize("table", ["prais_2026_table13", "prais_2022_table13"])
def test_lpd_class__reproduces_prais_table13_for_every_combination(table: str) -> None:
    t, s, p = _all_combinations()
    out = lpd_class(t, s, p, table=table)
    assert out.dtype == np.int16
    for i in range(t.size):
        key = (int(t[i]), int(s[i]), int(p[i]))
        assert int(out[i]) == PRAIS_2026_TABLE13[key], key
    deg = lpd_to_degradation(out)
    for i in range(t.size):
        assert int(deg[i]) == PRAIS_2026_TABLE13_DEG[PRAIS_2026_TABLE13[(int(t[i]), int(s[i]), int(p[i]))]]


def test_lpd_class__trends_earth_rule_order_gives_the_same_table() -> None:
    # calc_prod5 as described in reference-implementation.md §4.5: rules applied in order, later ones win.
    def te(tr: int, st: int, pf: int) -> int:
        v = {-1: 1, 0: 4, 1: 5}[tr]
        if tr == 0 and st == 0 and pf == -1:
            v = 3
        if (tr == 1 and st == -1 and pf == -1) or (tr == 0 and st == -1 and pf == 0):
            v = 2
        if tr == 0 and st == -1 and pf == -1:
            v = 1
        return v

    lut = load_lpd_table("prais_2026_table13")
    for tr, st, pf in itertools.product((-1, 0, 1), (-1, 0, 1), (-1, 0)):
        assert lut(tr, st, pf) == te(tr, st, pf)


def test_lpd_class__prais_2022_table12_binary_rule() -> None:
    t, s, p = _all_combinations()
    out = lpd_class(t, s, p, table="prais_2022_table12")
    assert out.attrs["lpd_output"] == "degradation"
    for i in range(t.size):
        tr, st, pf = int(t[i]), int(s[i]), int(p[i])
        degraded = tr == -1 or (st == -1 and pf == -1)  # standard.md §5.5 LUT-3 rule
        assert int(out[i]) == (-1 if degraded else 0)


def test_lpd_class__nodata_propagates_and_dask_is_lazy() -> None:
    t = xr.DataArray(np.array([[1, -32768], [0, -1]], np.int16), dims=("y", "x"))
    s = xr.DataArray(np.array([[1, 1], [-32768, -1]], np.int16), dims=("y", "x"))
    p = xr.DataArray(np.array([[0, 0], [0, -1]], np.int16), dims=("y", "x"))
    with raise_if_dask_computes():
        lazy = lpd_class(t.chunk(1), s.chunk(1), p.chunk(1))
    assert isinstance(lazy.data, dask.array.Array)
    np.testing.assert_array_equal(lazy.values, [[5, -32768], [-32768, 1]])


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.uint8, np.float32])
def test_lpd_class__any_code_outside_the_classes_is_nodata(dtype: type) -> None:
    rng = np.random.default_rng(3)
    lo = 0 if dtype is np.uint8 else -3
    t, s, p = (rng.integers(lo, 3, (37, 53)).astype(dtype) for _ in range(3))
    if dtype is not np.uint8:
        t[0, :4] = -32768
    out = lpd_class(*(xr.DataArray(a, dims=("y", "x")) for a in (t, s, p))).values
    for i, j in itertools.product(range(37), range(53)):  # PRAIS Table 13, cell by cell
        want = PRAIS_2026_TABLE13.get((int(t[i, j]), int(s[i, j]), int(p[i, j])), -32768)
        assert out[i, j] == want, (t[i, j], s[i, j], p[i, j])


def test_lpd_to_degradation__recode_and_unknown_codes() -> None:
    lpd = xr.DataArray(np.array([1, 2, 3, 4, 5, -32768], np.int16), dims="x")
    np.testing.assert_array_equal(lpd_to_degradation(lpd).values, [-1, -1, 0, 0, 1, -32768])
    bad = xr.DataArray(np.array([1, 0, 15], np.int16), dims="x")
    with pytest.raises(LegendError):
        lpd_to_degradation(bad).values  # noqa: B018
    np.testing.assert_array_equal(lpd_to_degradation(bad, strict=False).values, [-1, -32768, -32768])


@pytest.mark.parametrize("source", ["jrc", "fao_wocat", "custom"])
def test_import_lpd__codes_0_and_15_are_nodata(source: str) -> None:
    raw = xr.DataArray(np.array([0, 1, 2, 3, 4, 5, 15, 255], np.uint8), dims="x", attrs={"_FillValue": 255})
    out = import_lpd(raw, source=source)
    np.testing.assert_array_equal(out.values, [-32768, 1, 2, 3, 4, 5, -32768, -32768])
    assert out.attrs["lpd_source"] == source
    with pytest.raises(LegendError):
        import_lpd(xr.DataArray(np.array([1, 7], np.int16), dims="x")).values  # noqa: B018


def test_load_lpd_table__user_file_validation(tmp_path) -> None:
    bad = tmp_path / "t.yaml"
    bad.write_text("id: x\noutput: lpd5\nrows:\n  - [improving, improving, stable, 5]\n")
    with pytest.raises(LegendError, match="missing"):
        load_lpd_table(bad)
    with pytest.raises(LegendError):
        load_lpd_table("gpg_v2_table45")
