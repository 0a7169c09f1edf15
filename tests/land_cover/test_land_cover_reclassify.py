"""Reclassification through nestings: ESA CCI, CGLS-LC100, custom legends up to 45 classes, per-year legends."""

from __future__ import annotations

import csv
from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from openldn.exceptions import LegendError, MissingYearError
from openldn.land_cover import MAX_CUSTOM_CLASSES, check_nesting, reclassify

# standard.md §4.2, compact form (typed from the standard, not read from the package file).
ESA_TO_UNCCD = {
    1: [50, 60, 61, 62, 70, 71, 72, 80, 81, 82, 90, 100],
    2: [110, 120, 121, 122, 130, 140, 150, 151, 152, 153],
    3: [10, 11, 12, 20, 30, 40],
    4: [160, 170, 180],
    5: [190],
    6: [200, 201, 202, 220],
    7: [210],
}
UNCCD_KEYS = ["tree_covered", "grassland", "cropland", "wetland", "artificial", "other_land", "water_body"]


def _grid(values: np.ndarray) -> xr.DataArray:
    return xr.DataArray(values, dims=("y", "x"), name="lc")


def test_reclassify__every_esa_code() -> None:
    pairs = [(c, p) for p, codes in ESA_TO_UNCCD.items() for c in codes]
    codes = np.array([c for c, _ in pairs], dtype=np.int16).reshape(1, -1)
    out = reclassify(_grid(codes), "esa_cci__unccd")
    assert out.dtype == np.int16
    assert out.values.ravel().tolist() == [p for _, p in pairs]
    assert out.attrs["legend"] == "unccd"


def test_reclassify__nodata_codes_and_nan() -> None:
    out = reclassify(_grid(np.array([[0, 9999, 255, 210]], dtype=np.int32)), "esa_cci__unccd")
    assert out.values.tolist() == [[-32768, -32768, -32768, 7]]
    outf = reclassify(_grid(np.array([[np.nan, 10.0]])), "esa_cci__unccd")
    assert outf.values.tolist() == [[-32768, 3]]


def test_reclassify__unknown_code_names_code_and_file(tmp_path: Path) -> None:
    lc = _grid(np.array([[10, 15, 999]], dtype=np.int16))
    with pytest.raises(LegendError, match=r"15, 999.*esa_cci__unccd"):
        reclassify(lc, "esa_cci__unccd")
    # non-strict: unknown codes become nodata, never passed through
    assert reclassify(lc, "esa_cci__unccd", strict=False).values.tolist() == [[3, -32768, -32768]]
    path = tmp_path / "national.csv"
    path.write_text("code,label,parent\n1,Forest,tree_covered\n2,Crops,cropland\n")
    with pytest.raises(LegendError, match=rf"3.*{path.name}"):
        reclassify(_grid(np.array([[1, 2, 3]])), str(path))


def test_reclassify__dask_is_lazy_and_equal(no_dask_compute) -> None:
    rng = np.random.default_rng(0)
    all_codes = np.array([c for codes in ESA_TO_UNCCD.values() for c in codes] + [0], dtype=np.int16)
    arr = rng.choice(all_codes, size=(3, 40, 30))
    lc = xr.DataArray(arr, dims=("time", "y", "x"))
    with no_dask_compute():
        lazy = reclassify(lc.chunk({"y": 16, "x": 16}), "esa_cci__unccd")
    assert isinstance(lazy.data, da.Array)
    np.testing.assert_array_equal(lazy.compute().values, reclassify(lc, "esa_cci__unccd").values)
    # unknown codes in a dask block raise when computed
    bad = lc.copy(data=np.where(arr == 10, 11111, arr).astype(np.int16)).chunk({"y": 16})
    with pytest.raises(LegendError, match="11111"):
        reclassify(bad, "esa_cci__unccd").compute()


def _custom_legend(tmp_path: Path, n: int) -> tuple[Path, dict[int, int]]:
    path = tmp_path / f"national_{n}.csv"
    expected = {}
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "label", "color", "parent"])
        for i in range(n):
            code = 200 + 3 * i  # non-contiguous national codes
            parent = i % 7 + 1
            expected[code] = parent
            w.writerow([code, f"National class {i + 1}", "#12AB34", UNCCD_KEYS[parent - 1]])
    return path, expected


def test_reclassify__45_class_custom_legend_keeps_every_class(tmp_path: Path) -> None:
    path, expected = _custom_legend(tmp_path, 45)
    nesting = check_nesting(str(path))
    assert len(nesting.child.classes) == 45 == MAX_CUSTOM_CLASSES
    codes = np.array(sorted(expected), dtype=np.int16).reshape(5, 9)
    out = reclassify(_grid(codes), nesting)
    assert out.values.ravel().tolist() == [expected[c] for c in sorted(expected)]
    # every national class is distinct in the national legend (nothing merged or dropped)
    assert sorted(nesting.child.codes) == sorted(expected)
    assert len({c.label for c in nesting.child.classes}) == 45


def test_reclassify__more_than_45_classes_is_an_error(tmp_path: Path) -> None:
    path, _ = _custom_legend(tmp_path, 46)
    with pytest.raises(LegendError, match="46 classes"):
        check_nesting(str(path))


def test_reclassify__legend_per_year(tmp_path: Path) -> None:
    path, expected = _custom_legend(tmp_path, 7)
    years = pd.DatetimeIndex(["2000-01-01", "2015-01-01"], name="time")
    esa = np.array([[50, 130, 10, 180, 190, 200, 210]], dtype=np.int16)
    nat = np.array([sorted(expected)], dtype=np.int16)
    lc = xr.DataArray(np.stack([esa, nat]), dims=("time", "y", "x"), coords={"time": years})
    out = reclassify(lc, {2000: "esa_cci__unccd", 2015: str(path)})
    assert out.values[0].tolist() == [[1, 2, 3, 4, 5, 6, 7]]
    assert out.values[1].tolist() == [[expected[c] for c in sorted(expected)]]
    with pytest.raises(MissingYearError, match="2015"):
        reclassify(lc, {2000: "esa_cci__unccd"})


def test_reclassify__cgls_lc100_every_class_of_the_product_table(shared_data: Path) -> None:
    table = pd.read_csv(shared_data / "sierra_de_neiba" / "cgls_lc100_class_codes.csv")
    # expected parents by the class names (forest -> 1, shrubs/herbaceous/moss -> 2, cropland -> 3, wetland -> 4,
    # built-up -> 5, bare/snow -> 6, water/sea -> 7, unknown/fill -> nodata)
    def parent(name: str) -> int:
        n = name.lower()
        for words, p in (
            (("forest",), 1), (("shrubs", "herbaceous vegetation", "moss"), 2), (("cropland",), 3),
            (("wetland",), 4), (("built",), 5), (("bare", "snow"), 6), (("water", "sea"), 7),
        ):
            if any(w in n for w in words):
                return p
        return -32768

    codes = table["code"].to_numpy().reshape(1, -1)
    out = reclassify(_grid(codes.astype(np.int16)), "cgls_lc100__unccd")
    assert out.values.ravel().tolist() == [parent(c) for c in table["class"]]
