"""PNG maps (legend, geodesic scale bar, boundaries) and QGIS styles."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr
from shapely.geometry import box

from openldn.reporting.maps import nice_length, render_map, scale_bar_length, write_qml

LEGEND = {-1: ("Degraded", "#9B2779"), 0: ("Stable", "#FFFFE0"), 1: ("Improved", "#006500")}


def _raster(lat0: float = 60.0) -> xr.DataArray:
    v = np.array([[-1, 0, 1, -32768]] * 4, dtype="int16")
    da = xr.DataArray(v, dims=("y", "x"), coords={"y": lat0 + 4 - np.arange(4) - 0.5, "x": np.arange(4) + 0.5})
    return da.rio.write_crs("EPSG:4326")


def test_nice_length() -> None:
    assert nice_length(73_000) == 50_000
    assert nice_length(2_300) == 2_000
    assert nice_length(999) == 500


def test_scale_bar_is_geodesic() -> None:
    # 1 degree of longitude along 60 N is about 55.8 km on WGS84 (111.32 km x cos 60 = 55.66; ellipsoid 55.80)
    length, units = scale_bar_length("EPSG:4326", 0.0, 60.0, 4.0, fraction=0.25)
    assert length == 50_000
    assert units == pytest.approx(50_000 / 55_800, rel=5e-3)
    length_eq, units_eq = scale_bar_length("EPSG:4326", 0.0, 0.0, 4.0, fraction=0.25)
    assert length_eq == 100_000
    assert units_eq == pytest.approx(100_000 / 111_320, rel=5e-3)


def test_render_map_png(tmp_path: Path) -> None:
    zones = gpd.GeoDataFrame({"id": [1]}, geometry=[box(0, 60, 2, 64)], crs="EPSG:4326")
    p = render_map(_raster(), tmp_path / "m.png", title="SDG 15.3.1", legend=LEGEND, boundaries=zones)
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image as mpimg

    img = mpimg.imread(p)
    assert img.shape[0] > 400 and img.shape[1] > 300  # taller than wide: 1 degree of longitude at 60 N is half a degree of latitude
    assert img.shape[0] > img.shape[1]
    cont = render_map(_raster().astype("float32") * 2.5, tmp_path / "c.png", title="SOC", units="t/ha")
    assert cont.stat().st_size > 1000


def test_qml(tmp_path: Path) -> None:
    root = ET.parse(write_qml(tmp_path / "a.qml", legend=LEGEND)).getroot()
    entries = root.findall(".//paletteEntry")
    assert [(e.get("value"), e.get("label")) for e in entries] == [("-1", "Degraded"), ("0", "Stable"),
                                                                    ("1", "Improved")]
    root2 = ET.parse(write_qml(tmp_path / "b.qml", vmin=0, vmax=80)).getroot()
    assert root2.find(".//rasterrenderer").get("type") == "singlebandpseudocolor"
