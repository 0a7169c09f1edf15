"""False-positive recode from polygons, site records, and count-conserving population (SO2-3)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr
from shapely.geometry import box

from openldn.core.codes import NODATA
from openldn.exceptions import ConfigError
from openldn.integration import aggregate_counts, population_on_class, recode_from_polygons, site_records
from openldn.integration.fp import polygon_class_shares


def _grid(values: np.ndarray) -> xr.DataArray:
    ny, nx = values.shape
    da = xr.DataArray(values, dims=("y", "x"), coords={"y": 10 - np.arange(ny) - 0.5, "x": np.arange(nx) + 0.5})
    return da.rio.write_crs("EPSG:4326")


def test_false_positive_polygon_changes_exactly_the_covered_cells() -> None:
    sdg = _grid(np.full((10, 10), 1, dtype="int16"))
    sdg[0, 0] = NODATA
    sdg[5, 3] = NODATA  # inside the polygon: stays no data
    polys = gpd.GeoDataFrame(
        {"reason": ["false_positive"], "target": ["degraded"]}, geometry=[box(2, 2, 5, 6)], crs="EPSG:4326"
    )
    out = recode_from_polygons(sdg, polys)
    # cell centres x in {2.5, 3.5, 4.5}, y in {2.5, 3.5, 4.5, 5.5} -> rows 4..7, cols 2..4: 12 cells, one no data
    changed = (out != sdg).values
    assert changed.sum() == 11
    rows, cols = np.nonzero(changed)
    assert set(rows) == {4, 5, 6, 7} and set(cols) == {2, 3, 4}
    assert (out.values[changed] == -1).all()
    assert out.values[5, 3] == NODATA and out.values[0, 0] == NODATA


def test_recode__periods_and_dask() -> None:
    sdg = _grid(np.zeros((4, 4), dtype="int16")).chunk({"y": 2, "x": 2})
    polys = gpd.GeoDataFrame(
        {"reason": ["false_negative"], "target": ["improved"], "periods": ["2016-2019"]},
        geometry=[box(0, 6, 4, 10)], crs="EPSG:4326",
    )
    assert int((recode_from_polygons(sdg, polys, period="2016-2019") == 1).sum()) == 16
    assert int((recode_from_polygons(sdg, polys, period="2000-2015") == 1).sum()) == 0
    assert recode_from_polygons(sdg, polys).chunks is not None


def test_recode__bad_target() -> None:
    sdg = _grid(np.zeros((2, 2), dtype="int16"))
    polys = gpd.GeoDataFrame({"reason": ["x"], "target": ["worse"]}, geometry=[box(0, 8, 1, 9)], crs="EPSG:4326")
    with pytest.raises(ConfigError, match="target"):
        recode_from_polygons(sdg, polys)


def test_site_records_and_shares() -> None:
    polys = gpd.GeoDataFrame(
        {"name": ["Mine"], "process": ["mining"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4326"
    )
    rec = site_records(polys, kind="hotspot")
    # 1 x 1 degree cell at the equator: about 12 308 km² (WGS84)
    assert rec.loc[0, "area_km2"] == pytest.approx(12308.8, rel=1e-3)
    assert rec.loc[0, "location"] == "Mine" and rec.loc[0, "process"] == "mining"
    layer = _grid(np.array([[-1, 0], [1, NODATA]], dtype="int16")).assign_coords(y=[0.75, 0.25], x=[0.25, 0.75])
    layer = layer.rio.write_crs("EPSG:4326")
    area = xr.ones_like(layer, dtype="float64")
    sh = polygon_class_shares(polys, {"sdg_15_3_1": layer}, area)
    assert sh["share"].sum() == pytest.approx(1.0)
    assert sh.set_index("class_code")["share"].to_dict() == {-1: 0.25, 0: 0.25, 1: 0.25, NODATA: 0.25}


def test_aggregate_counts_conserves_totals() -> None:
    pop = xr.DataArray(np.array([[1.4, 2.6, np.nan, 0.5], [40000.0, 0.1, np.nan, np.nan]]), dims=("y", "x"))
    out = aggregate_counts(pop, 2)
    # blocks: [1.4, 2.6, 40000, 0.1] = 40004.1 ; [nan, 0.5, nan, nan] = 0.5. No int16 cap or rounding.
    assert out.values.tolist() == [[pytest.approx(40004.1), 0.5]]
    with pytest.raises(ConfigError):
        aggregate_counts(pop, 3)


def test_population_on_class() -> None:
    pop = xr.DataArray(np.array([[10.0, 20.0, 30.0, np.nan]]), dims=("y", "x"))
    cls = xr.DataArray(np.array([[-1, 0, NODATA, -1]], dtype="int16"), dims=("y", "x"))
    out = population_on_class(pop, cls)
    np.testing.assert_array_equal(out.values, np.array([[10.0, 0.0, np.nan, 0.0]], dtype="float32"))
