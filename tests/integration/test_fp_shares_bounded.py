"""Class shares per site polygon: hand-worked case, and windows on a dask grid equal to a whole-grid computation."""

from __future__ import annotations

from typing import Any

import dask
import dask.array
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr
from rasterio.features import rasterize
from shapely.geometry import Polygon, box

from openldn.core.codes import NODATA
from openldn.integration.fp import polygon_class_shares

CRS = "EPSG:3857"


def _grid(values: Any, top: float = 4.0) -> xr.DataArray:
    ny, nx = values.shape
    da = xr.DataArray(values, dims=("y", "x"), coords={"y": top - np.arange(ny) - 0.5, "x": np.arange(nx) + 0.5})
    out: xr.DataArray = da.rio.write_crs(CRS)
    return out


def _table(sh: pd.DataFrame, variable: str) -> dict[tuple[str, int], tuple[float, float]]:
    sub = sh[sh["variable"] == variable]
    return {
        (str(s), int(c)): (float(k), float(f))
        for s, c, k, f in zip(sub["site_id"], sub["class_code"], sub["area_km2"], sub["share"], strict=True)
    }


def test_polygon_class_shares__hand_worked() -> None:
    n = NODATA
    layer = _grid(np.array([[-1, 0, 1, n], [0, 0, -1, 1], [1, 1, 0, -1], [n, -1, 0, 0]], dtype="int16"))
    other = _grid(np.ones((4, 4), dtype="int16"))
    other[1, 2] = n
    area = _grid(np.repeat(np.array([1e6, 2e6, 3e6, 4e6])[:, None], 4, axis=1))  # m², by row
    polys = gpd.GeoDataFrame(
        geometry=[box(0, 2, 2, 4), box(1, 1, 3, 3), box(10, 10, 11, 11), None], crs=CRS
    )
    # site 1: cells (0,0) -1 1 km², (0,1) 0 1 km², (1,0) 0 2 km²; (1,1) goes to site 2, drawn later. 4 km².
    # site 2: (1,1) 0 2 km², (1,2) -1 2 km², (2,1) 1 3 km², (2,2) 0 3 km². 10 km².
    # site 3 lies off the grid, site 4 has no geometry: zero area, zero shares.
    expected = {
        "sdg": {
            ("1", -1): (1.0, 0.25), ("1", 0): (3.0, 0.75), ("1", 1): (0.0, 0.0), ("1", n): (0.0, 0.0),
            ("2", -1): (2.0, 0.2), ("2", 0): (5.0, 0.5), ("2", 1): (3.0, 0.3), ("2", n): (0.0, 0.0),
        },
        "other": {
            ("1", -1): (0.0, 0.0), ("1", 0): (0.0, 0.0), ("1", 1): (4.0, 1.0), ("1", n): (0.0, 0.0),
            ("2", -1): (0.0, 0.0), ("2", 0): (0.0, 0.0), ("2", 1): (8.0, 0.8), ("2", n): (2.0, 0.2),
        },
    }
    for chunked in (False, True):
        lay, oth, ar = (x.chunk({"y": 3, "x": 3}) if chunked else x for x in (layer, other, area))
        sh = polygon_class_shares(polys, {"sdg": lay, "other": oth}, ar)
        assert list(sh.columns) == ["site_id", "variable", "class_code", "class_label", "area_km2", "share"]
        assert len(sh) == 2 * 4 * 4
        assert sh["variable"].tolist()[:16] == ["sdg"] * 16  # layer by layer, site by site, class by class
        for variable, exp in expected.items():
            got = _table(sh, variable)
            for key, (km2, share) in exp.items():
                assert got[key] == pytest.approx((km2, share), rel=1e-12), (variable, key)
            for site in ("3", "4"):
                assert all(got[(site, c)] == (0.0, 0.0) for c in (-1, 0, 1, n))


def _whole_grid(
    polys: gpd.GeoDataFrame, layers: dict[str, np.ndarray], area: np.ndarray, transform: Any
) -> list[tuple[str, str, int, float, float]]:
    """The shares from whole arrays: one rasterisation of every polygon, then masked sums (independent of windows)."""
    shapes = [(g, i + 1) for i, g in enumerate(polys.geometry)]
    ids = rasterize(shapes, out_shape=area.shape, transform=transform, fill=0, dtype="int32")
    rows = []
    for name, v in layers.items():
        for sid in range(1, len(polys) + 1):
            inside = ids == sid
            tot = area[inside].sum()
            for code in (-1, 0, 1, NODATA):
                cls = ~np.isin(v, (-1, 0, 1)) if code == NODATA else v == code
                km2 = area[inside & cls].sum() / 1e6
                rows.append((str(sid), name, code, km2, km2 * 1e6 / tot if tot > 0 else 0.0))
    return rows


def test_polygon_class_shares__dask_windows_equal_whole_grid(rng: np.random.Generator) -> None:
    ny, nx = 120, 150
    top = float(ny)
    values = {
        "sdg": rng.choice(np.array([-1, 0, 1, NODATA], dtype="int16"), size=(ny, nx)),
        "lc": rng.choice(np.array([-1, 0, 1, NODATA], dtype="int16"), size=(ny, nx), p=[0.2, 0.5, 0.2, 0.1]),
    }
    area = rng.uniform(0.5e6, 1.5e6, size=(ny, nx))
    area[5, 5] = np.nan  # outside every polygon
    polys = gpd.GeoDataFrame(
        geometry=[
            box(13.2, 17.7, 61.3, 55.1),  # straddles several 16 x 20 chunks
            Polygon([(40.1, 30.3), (90.7, 38.2), (70.2, 95.9), (35.5, 80.4)]),  # overlaps the first, drawn later
            box(140.3, 100.2, 170.0, 130.0),  # partly off the grid
            box(0.0, 0.0, 150.0, 120.0).difference(box(2.2, 2.2, 147.8, 117.8)),  # a frame along the grid's edge
            box(15.3, 19.3, 15.7, 19.7),  # within one cell (inside the first polygon), covering its centre
            box(15.6, 19.6, 15.9, 19.9),  # within one cell, away from its centre: no cell
        ],
        crs=CRS,
    )
    layers = {k: _grid(v, top).chunk({"y": 16, "x": 20}) for k, v in values.items()}
    area_da = _grid(area, top).chunk({"y": 16, "x": 20})
    expected = _whole_grid(polys, values, area, layers["sdg"].rio.transform())
    sh = polygon_class_shares(polys, layers, area_da)
    got = list(zip(sh["site_id"], sh["variable"], sh["class_code"], sh["area_km2"], sh["share"], strict=True))
    assert got == expected  # the same floats, not just close ones
    assert sh.loc[sh["site_id"] == "5", "area_km2"].sum() > 0
    assert sh.loc[sh["site_id"] == "6", "area_km2"].sum() == 0


def test_polygon_class_shares__reads_windows_not_the_grid(rng: np.random.Generator) -> None:
    ny, nx, chunk = 400, 400, 50
    sdg = _grid(dask.array.from_array(rng.choice(np.array([-1, 0, 1], dtype="int16"), size=(ny, nx)),
                                      chunks=chunk), float(ny))
    area = _grid(dask.array.ones((ny, nx), chunks=chunk) * 1e6, float(ny))
    polys = gpd.GeoDataFrame(geometry=[box(10.5, 10.5, 70.5, 30.5), box(300.2, 350.3, 330.0, 390.0)], crs=CRS)
    sizes: list[int] = []

    class _Record(dask.callbacks.Callback):
        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
            if isinstance(result, np.ndarray):
                sizes.append(result.size)

    with _Record():  # type: ignore[no-untyped-call]
        sh = polygon_class_shares(polys, {"sdg": sdg}, area)
    assert sh.groupby("site_id")["share"].sum().tolist() == pytest.approx([1.0, 1.0])
    assert sizes and max(sizes) <= 4 * chunk * chunk < ny * nx  # windows of a few chunks, never the whole grid
