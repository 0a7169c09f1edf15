"""Agreement counts, ranges and ranking on small hand-worked cases (expected values written out by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from openldn.agreement import agreement_count, national_shares, range_table, sensitivity_table
from openldn.core.codes import NODATA

N = NODATA


def _da(rows: list[list[int]]) -> xr.DataArray:
    a = np.array(rows, dtype=np.int16)
    return xr.DataArray(a, dims=("y", "x"), coords={"y": np.arange(a.shape[0]), "x": np.arange(a.shape[1])})


def test_agreement_count_by_hand() -> None:
    a = _da([[-1, -1, 0], [1, -1, N]])
    b = _da([[-1, 0, 0], [-1, -1, 0]])
    c = _da([[-1, 0, 1], [0, N, 0]])
    got = agreement_count([a, b, c]).values
    # pixel by pixel: 3 call (0,0) degraded; (0,1) one; (0,2) none; (1,0) one; (1,1) and (1,2): a variant has no data
    assert got.tolist() == [[3, 1, 0], [1, N, N]]
    assert got.dtype == np.int16


def test_agreement_count_stays_lazy(no_dask_compute) -> None:  # type: ignore[no-untyped-def]
    maps = [_da([[-1, 0], [0, 1]]).chunk(1), _da([[-1, -1], [0, 1]]).chunk(1)]
    with no_dask_compute():
        out = agreement_count(maps)
    assert out.chunks is not None
    assert out.values.tolist() == [[2, 1], [0, 0]]


def _tables() -> pd.DataFrame:
    rows = []
    # two units, two variants, one period; areas (km2) and land shares chosen by hand
    for variant, deg_all, deg_a in (("run", 10.0, 4.0), ("x", 16.0, 3.0), ("y", 7.0, 6.0)):
        for zone, deg, land in (("ALL", deg_all, 100.0), ("A", deg_a, 40.0)):
            rows.append({"variant": variant, "period": "2016-2023", "zone_id": zone, "zone_name": zone,
                         "class_code": -1, "class_label": "Degraded", "area_km2": deg, "share_of_land": deg / land})
            rows.append({"variant": variant, "period": "2016-2023", "zone_id": zone, "zone_name": zone,
                         "class_code": 0, "class_label": "Stable", "area_km2": land - deg,
                         "share_of_land": (land - deg) / land})
    return pd.DataFrame(rows)


def test_range_table_by_hand() -> None:
    r = range_table(_tables()).set_index(["zone_id", "class_code"])
    # ALL degraded: 10, 16, 7 -> min 7 (y), max 16 (x), range 9; shares 0.07 .. 0.16
    row = r.loc[("ALL", -1)]
    assert (row["min_km2"], row["max_km2"], row["range_km2"]) == (7.0, 16.0, 9.0)
    assert (row["variant_min"], row["variant_max"], row["variants"]) == ("y", "x", 3)
    assert row["range_share"] == pytest.approx(0.09)
    # unit A stable: 36, 37, 34 -> range 3
    row = r.loc[("A", 0)]
    assert (row["min_km2"], row["max_km2"], row["range_km2"]) == (34.0, 37.0, 3.0)
    assert row["min_share"] == pytest.approx(34 / 40) and row["max_share"] == pytest.approx(37 / 40)


def test_national_shares_and_ranking_by_hand() -> None:
    nat = national_shares(_tables())
    assert nat.set_index("variant")["share"].to_dict() == pytest.approx({"run": 0.10, "x": 0.16, "y": 0.07})
    s = sensitivity_table(nat.rename(columns={"variant": "choice"}))
    # x moves the national share by +6 points, y by -3: x ranks first
    assert s["choice"].tolist() == ["x", "y"]
    assert s["change"].tolist() == pytest.approx([0.06, -0.03])
    assert s["rank"].tolist() == [1, 2]
