"""1OAO and status truth tables (hand-written from standard.md §7.2-7.4), proportion degraded and change."""

from __future__ import annotations

import itertools

import dask
import dask.array as dsa
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from openldn.core.codes import NODATA
from openldn.exceptions import ConfigError, GridMismatchError
from openldn.integration import (
    change_assessment,
    one_out_all_out,
    proportion_degraded,
    status,
    status7_to_status3,
)

ND = NODATA
VALUES = (-1, 0, 1, ND)

# standard.md §7.2 / reference-implementation.md §7.1, written out by hand for the 27 non-ND combinations
# (lc, lp, soc) -> 1OAO. Any -1 is degraded; otherwise improved if any is +1 (TE: lp = 1, or lp = 0 and lc or
# soc = 1, which is the same set once no input is degraded); else stable.
TRUTH_27 = {
    (-1, -1, -1): -1, (-1, -1, 0): -1, (-1, -1, 1): -1,
    (-1, 0, -1): -1, (-1, 0, 0): -1, (-1, 0, 1): -1,
    (-1, 1, -1): -1, (-1, 1, 0): -1, (-1, 1, 1): -1,
    (0, -1, -1): -1, (0, -1, 0): -1, (0, -1, 1): -1,
    (0, 0, -1): -1, (0, 0, 0): 0, (0, 0, 1): 1,
    (0, 1, -1): -1, (0, 1, 0): 1, (0, 1, 1): 1,
    (1, -1, -1): -1, (1, -1, 0): -1, (1, -1, 1): -1,
    (1, 0, -1): -1, (1, 0, 0): 1, (1, 0, 1): 1,
    (1, 1, -1): -1, (1, 1, 0): 1, (1, 1, 1): 1,
}

# standard.md §7.4: EXPANDED[baseline][period]
EXPANDED = {
    -1: {-1: 1, 0: 3, 1: 6, ND: ND},
    0: {-1: 2, 0: 4, 1: 6, ND: ND},
    1: {-1: 2, 0: 5, 1: 7, ND: ND},
    ND: {-1: ND, 0: ND, 1: ND, ND: ND},
}
# standard.md §7.3 status matrix (3 classes)
MATRIX = {
    -1: {-1: -1, 0: -1, 1: 1, ND: ND},
    0: {-1: -1, 0: 0, 1: 1, ND: ND},
    1: {-1: -1, 0: 1, 1: 1, ND: ND},
    ND: {-1: ND, 0: ND, 1: ND, ND: ND},
}


def _expected(lc: int, lp: int, soc: int, nodata_rule: str) -> int:
    combo = (lc, lp, soc)
    if ND not in combo:
        return TRUTH_27[combo]
    if nodata_rule == "degraded_wins" and -1 in combo:
        return -1
    return ND


def _layers(combos: list[tuple[int, ...]]) -> list[xr.DataArray]:
    arr = np.array(combos, dtype="int16").T  # (3 or 2, n)
    return [xr.DataArray(a.reshape(1, -1), dims=("y", "x")) for a in arr]


ALL64 = list(itertools.product(VALUES, repeat=3))


@pytest.mark.parametrize("improved_rule", ["trends_earth", "any_improved"])
@pytest.mark.parametrize("nodata_rule", ["any_nodata", "degraded_wins"])
def test_one_out_all_out__every_combination(improved_rule: str, nodata_rule: str) -> None:
    lc, lp, soc = _layers(ALL64)
    out = one_out_all_out(lc, lp, soc, improved_rule=improved_rule, nodata_rule=nodata_rule)
    assert out.dtype == np.int16
    got = out.values.ravel().tolist()
    want = [_expected(*c, nodata_rule) for c in ALL64]
    bad = [(c, g, w) for c, g, w in zip(ALL64, got, want, strict=True) if g != w]
    assert not bad, bad


def test_one_out_all_out__stays_lazy() -> None:
    lc, lp, soc = (x.chunk({"x": 16}) for x in _layers(ALL64))
    with dask.config.set(scheduler=_raise_scheduler):
        out = one_out_all_out(lc, lp, soc)
    assert isinstance(out.data, dsa.Array)
    assert out.values.ravel().tolist() == [_expected(*c, "any_nodata") for c in ALL64]


def _raise_scheduler(*args: object, **kwargs: object) -> None:
    raise RuntimeError("a compute function called compute()")


def test_one_out_all_out__unknown_code_is_nodata() -> None:
    lc, lp, soc = _layers([(5, 0, 0), (0, 0, 0)])
    assert one_out_all_out(lc, lp, soc).values.ravel().tolist() == [ND, 0]


def test_one_out_all_out__bad_rule_and_grid() -> None:
    lc, lp, soc = _layers([(0, 0, 0)])
    with pytest.raises(ConfigError, match="improved_rule"):
        one_out_all_out(lc, lp, soc, improved_rule="majority")  # type: ignore[arg-type]
    other = lp.assign_coords(x=[5])
    with pytest.raises(GridMismatchError):
        one_out_all_out(lc.assign_coords(x=[0]), other, soc.assign_coords(x=[0]))


PAIRS = list(itertools.product(VALUES, repeat=2))


@pytest.mark.parametrize("expanded", [False, True])
def test_status__every_combination(expanded: bool) -> None:
    b, p = _layers(PAIRS)
    out = status(b, p, expanded=expanded)
    table = EXPANDED if expanded else MATRIX
    assert out.values.ravel().tolist() == [table[bi][pj] for bi, pj in PAIRS]


def test_status__degraded_then_stable_stays_degraded() -> None:
    # standard.md §7.3: "degraded during the baseline but stable afterwards ... still degraded"
    b, p = _layers([(-1, 0)])
    assert int(status(b, p).values.ravel()[0]) == -1


def test_status__codes_outside_the_assessment_are_nodata() -> None:
    # an unknown code, a NaN and a fraction in either input give no data, like NODATA itself
    b = xr.DataArray(np.array([[5.0, 0.0, np.nan, 0.5, -1.0, 1.0]]), dims=("y", "x"))
    p = xr.DataArray(np.array([[0.0, 5.0, 0.0, 0.0, 1.0, -1.0]]), dims=("y", "x"))
    assert status(b, p, expanded=True).values.ravel().tolist() == [ND, ND, ND, ND, 6, 2]
    assert status(b, p).values.ravel().tolist() == [ND, ND, ND, ND, 1, -1]


def test_status7_to_status3_reproduces_matrix() -> None:
    b, p = _layers(PAIRS)
    assert (status7_to_status3(status(b, p, expanded=True)) == status(b, p)).all()


def test_status__dask() -> None:
    b, p = (x.chunk({"x": 4}) for x in _layers(PAIRS))
    with dask.config.set(scheduler=_raise_scheduler):
        out = status(b, p, expanded=True)
    assert isinstance(out.data, dsa.Array)
    assert out.values.ravel().tolist() == [EXPANDED[bi][pj] for bi, pj in PAIRS]


def test_proportion_degraded__water_excluded_nodata_included() -> None:
    sdg = xr.DataArray(np.array([[-1, 0, 1, ND, -1]], dtype="int16"), dims=("y", "x"))
    area = xr.DataArray(np.array([[2.0, 1.0, 1.0, 1.0, 5.0]]), dims=("y", "x"))
    land = xr.DataArray(np.array([[True, True, True, True, False]]), dims=("y", "x"))
    # land = 2 + 1 + 1 + 1 = 5 (no data counts, water not); degraded on land = 2
    assert float(proportion_degraded(sdg, area, land=land)) == pytest.approx(40.0)
    assert float(proportion_degraded(sdg, area)) == pytest.approx(70.0)


def test_change_assessment() -> None:
    out = change_assessment(100.0, 80.0, 1000.0)
    assert out == {"change_km2": -20.0, "change_percent": -2.0}


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([-1, 0, 1]), st.sampled_from([-1, 0, 1]), st.sampled_from([-1, 0, 1])),
             min_size=1, max_size=30),
    st.integers(0, 2),
)
def test_one_out_all_out__monotone(combos: list[tuple[int, int, int]], which: int) -> None:
    """Degrading one sub-indicator never improves the 1OAO result; any degraded input gives degraded."""
    before = one_out_all_out(*_layers(combos)).values.ravel()
    worse = [tuple(max(-1, v - 1) if i == which else v for i, v in enumerate(c)) for c in combos]
    after = one_out_all_out(*_layers(worse)).values.ravel()
    assert (after <= before).all()
    assert ((after == -1) == np.array([-1 in c for c in worse])).all()


def test_proportion_and_population_stay_lazy() -> None:
    from openldn.integration import population_on_class

    sdg = xr.DataArray(np.array([[-1, 0, 1, ND]] * 4, dtype="int16"), dims=("y", "x")).chunk({"x": 2})
    area = xr.ones_like(sdg, dtype="float64")
    pop = xr.full_like(sdg, 10.0, dtype="float64")
    with dask.config.set(scheduler=_raise_scheduler):
        prop = proportion_degraded(sdg, area)
        exposed = population_on_class(pop, sdg)
        s3 = status7_to_status3(status(sdg, sdg, expanded=True))
    assert all(isinstance(x.data, dsa.Array) for x in (prop, exposed, s3))
    assert float(prop) == pytest.approx(25.0)
    assert float(exposed.sum()) == pytest.approx(40.0)
