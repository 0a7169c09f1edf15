"""An area of interest across the 180th meridian (Fiji-like) runs, with areas that match the polygons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml


def _write_inputs(folder: Path) -> Path:
    import geopandas as gpd
    import rasterio
    from rasterio.transform import from_origin
    from shapely.geometry import MultiPolygon, box

    res = 0.05
    ny, nx = 80, int(360 / res)
    lon = -180 + res * (np.arange(nx) + 0.5)
    # ESA CCI codes: tree cover (50) east of 0°, grassland (130) west of 0°, for three years
    lc = np.where(lon >= 0, 50, 130).astype("uint8")[None, None, :].repeat(ny, 1).repeat(3, 0)
    profile = {"driver": "GTiff", "dtype": "uint8", "count": 3, "height": ny, "width": nx, "crs": "EPSG:4326",
               "transform": from_origin(-180, -15, res, res), "nodata": 0, "tiled": True, "blockxsize": 256,
               "blockysize": 16, "compress": "deflate"}
    with rasterio.open(folder / "lc.tif", "w", **profile) as dst:
        dst.write(lc)
        for i, y in enumerate((2000, 2015, 2023), start=1):
            dst.set_band_description(i, str(y))
    east, west = box(177.0, -18.0, 180.0, -16.0), box(-180.0, -18.0, -178.5, -16.0)
    gpd.GeoDataFrame({"name": ["Fiji-like"]}, geometry=[MultiPolygon([east, west])], crs=4326).to_file(
        folder / "aoi.gpkg"
    )
    run = {"name": "antimeridian", "aoi": "aoi.gpkg", "baseline": "2000-2015", "reporting": ["2016-2023"],
           "grid": {"reference": "land_cover"},
           "inputs": {"land_cover": {"path": "lc.tif", "legend": "esa_cci"}}}
    (folder / "run.yaml").write_text(yaml.safe_dump(run))
    return folder / "run.yaml"


def _equal_area_km2(geom: object, lon0: float) -> float:
    import geopandas as gpd
    import shapely

    g = shapely.segmentize(geom, 0.01)
    laea = gpd.GeoSeries([g], crs=4326).to_crs(f"+proj=laea +lat_0=-17 +lon_0={lon0} +datum=WGS84")
    return float(laea.area.iloc[0]) / 1e6


def test_antimeridian_aoi__areas_match_the_polygons(tmp_path: Path) -> None:
    from shapely.geometry import box

    from openldn.pipeline import run_assessment

    run_file = _write_inputs(tmp_path)
    result = run_assessment(run_file, tmp_path / "out", stages=["land_cover", "land_area"])
    lc = result.tables["lc_area"]
    rows = lc[(lc["zone_id"] == "ALL") & (lc["period"] == "2000")]
    east = _equal_area_km2(box(177.0, -18.0, 180.0, -16.0), 178.5)
    west = _equal_area_km2(box(-180.0, -18.0, -178.5, -16.0), -179.25)
    assert rows["area_km2"].sum() == pytest.approx(east + west, rel=1e-4)
    tree = float(rows.loc[rows["class_code"] == 1, "area_km2"].sum())
    grass = float(rows.loc[rows["class_code"] == 2, "area_km2"].sum())
    # classes meet at 180°: nearest-neighbour warping moves the boundary by at most one cell
    assert tree == pytest.approx(east, rel=0.03)
    assert grass == pytest.approx(west, rel=0.05)
    # the grid is local, not a globe-wide strip
    import rasterio

    with rasterio.open(tmp_path / "out" / "maps" / "lc_unccd_2000.tif") as ds:
        assert ds.width < 200 and ds.crs.to_dict().get("proj") == "laea"
