"""Zonal tables: invariants (hypothesis), chunking invariance, and an independent brute-force computation."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from odc.geo.geobox import GeoBox

from openldn.core.codes import NODATA
from openldn.core.grid import pixel_area
from openldn.core.vocab import load_legend
from openldn.exceptions import GridMismatchError
from openldn.io import attach_grid
from openldn.zonal import (
    build_coverage,
    class_area_table,
    crosstab_area_table,
    zonal_mean_table,
    zonal_sum_table,
)

GB = GeoBox((30, 40), Affine(0.05, 0, 10.0, 0, -0.05, 46.0), "EPSG:4326")
AOI_POLY = shapely.Polygon([(10.12, 44.61), (11.83, 44.7), (11.9, 45.93), (10.4, 45.71), (10.9, 45.2)])
ZONE_POLYS = {  # a partition of the plane around the AOI (three zones)
    "w": shapely.box(9, 44, 10.73, 47),
    "ne": shapely.box(10.73, 45.31, 13, 47),
    "se": shapely.box(10.73, 44, 13, 45.31),
}


def _grid(data, dims=("y", "x")) -> xr.DataArray:
    return attach_grid(xr.DataArray(data, dims=dims), GB)


@pytest.fixture(scope="module")
def cov():
    aoi = gpd.GeoDataFrame({"name": ["Land"]}, geometry=[AOI_POLY], crs="EPSG:4326")
    zones = gpd.GeoDataFrame({"id": list(ZONE_POLYS), "name": [k.upper() for k in ZONE_POLYS]},
                             geometry=list(ZONE_POLYS.values()), crs="EPSG:4326")
    return build_coverage(GB, aoi=aoi, zones=zones)


@pytest.fixture(scope="module")
def area():
    return pixel_area(_grid(np.zeros((30, 40))))


def _brute_fractions(poly) -> np.ndarray:
    """Independent: shapely intersection area of each cell polygon / cell area (lon/lat plane)."""
    t = GB.affine
    jj, ii = np.meshgrid(np.arange(40), np.arange(30))
    x0 = t.c + t.a * jj
    y0 = t.f + t.e * ii
    boxes = shapely.box(x0, y0 + t.e, x0 + t.a, y0)
    return shapely.area(shapely.intersection(boxes, poly)) / abs(t.a * t.e)


def _brute_class_areas(classes: np.ndarray, area: np.ndarray) -> dict[str, pd.Series]:
    out = {}
    for zid, poly in [("ALL", AOI_POLY)] + [(k, v.intersection(AOI_POLY)) for k, v in ZONE_POLYS.items()]:
        w = _brute_fractions(poly) * area
        out[zid] = pd.Series(w.ravel()).groupby(classes.ravel()).sum() * 1e-6
    return out


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cy=st.integers(1, 30), cx=st.integers(1, 40), nod=st.floats(0, 0.3))
def test_class_areas_invariants_and_chunking(cov, area, seed, cy, cx, nod):
    rng = np.random.default_rng(seed)
    data = rng.integers(1, 8, (30, 40)).astype("int16")
    data[rng.random((30, 40)) < nod] = NODATA
    cl = _grid(data)
    t1 = class_area_table(cl, cov, area, variable="lc", period="2015")
    t2 = class_area_table(cl.chunk({"y": cy, "x": cx}), cov, area.chunk({"y": cx, "x": cy}), variable="lc", period="2015")
    pd.testing.assert_frame_equal(t1, t2, check_exact=True)  # bit-identical whatever the chunking
    q = np.rint(t1["area_km2"].to_numpy() / 1e-10).astype(np.int64)  # back to 1e-4 m2 quanta
    t1 = t1.assign(q=q)
    zone_q = t1.groupby("zone_id", sort=False)["q"].sum()
    # shares sum to 1 in every zone with area
    np.testing.assert_allclose(t1.groupby("zone_id")["share_of_area"].sum(), 1.0, rtol=1e-12)
    # zones partition the AOI: their areas add up to ALL (up to one quantum per boundary cell)
    n_boundary = sum(lev.cells.size for lev in cov.levels)
    assert abs(zone_q.drop("ALL").sum() - zone_q["ALL"]) <= n_boundary
    # per class too
    per_class = t1[t1.zone_id != "ALL"].groupby("class_code")["q"].sum()
    all_class = t1[t1.zone_id == "ALL"].set_index("class_code")["q"]
    assert (per_class - all_class).abs().max() <= n_boundary
    # independent brute-force computation
    brute = _brute_class_areas(data, area.values)
    for zid, ser in brute.items():
        got = t1[t1.zone_id == zid].set_index("class_code")["area_km2"]
        ser = ser.reindex(got.index, fill_value=0.0)
        np.testing.assert_allclose(got.to_numpy(), ser.to_numpy(), rtol=1e-9, atol=1e-9)


def test_class_table_legend_nodata_and_time(cov, area):
    data = np.full((2, 30, 40), 2, dtype="uint8")
    data[0, :, :20] = 255
    data[1, :, 30:] = 9  # not in the legend
    cl = attach_grid(xr.DataArray(data, dims=("time", "y", "x"),
                                  coords={"time": pd.to_datetime(["2001-01-01", "2002-01-01"])}), GB)
    cl.attrs["_FillValue"] = 255
    t = class_area_table(cl, cov, area, variable="lc", legend=load_legend("unccd"))
    assert list(t.columns) == ["zone_id", "zone_name", "period", "variable", "class_code", "class_label", "area_km2",
                               "share_of_area", "share_of_land"]
    assert set(t.period) == {"2001", "2002"}
    all01 = t[(t.zone_id == "ALL") & (t.period == "2001")]
    assert list(all01.class_code) == [1, 2, 3, 4, 5, 6, 7, NODATA]
    assert all01.set_index("class_code").loc[NODATA, "class_label"] == "No data"
    assert all01.set_index("class_code").loc[2, "class_label"] == "Grassland"
    assert all01.set_index("class_code").loc[NODATA, "area_km2"] > 0
    all02 = t[(t.zone_id == "ALL") & (t.period == "2002")].set_index("class_code")
    assert 9 in all02.index and all02.loc[9, "class_label"] == "9"
    assert all02.loc[9, "area_km2"] > 0
    assert t.zone_name.iloc[0] == "Land"


def test_crosstab_margins_equal_class_tables(cov, area, rng):
    a = _grid(rng.integers(1, 8, (30, 40)).astype("int16"))
    b = _grid(rng.integers(1, 6, (30, 40)).astype("int8"))
    x = crosstab_area_table(a, b.chunk(7), cov, area, variable="tr", period="2000-2015")
    ta = class_area_table(a, cov, area, variable="a")
    tb = class_area_table(b, cov, area, variable="b")
    for zid in cov.zone_ids:
        xs = x[x.zone_id == zid]
        ma = xs.groupby("class_code_a")["area_km2"].sum()
        mb = xs.groupby("class_code_b")["area_km2"].sum()
        ea = ta[(ta.zone_id == zid) & (ta.area_km2 > 0)].set_index("class_code")["area_km2"]
        eb = tb[(tb.zone_id == zid) & (tb.area_km2 > 0)].set_index("class_code")["area_km2"]
        np.testing.assert_allclose(ma.reindex(ea.index).to_numpy(), ea.to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(mb.reindex(eb.index).to_numpy(), eb.to_numpy(), rtol=1e-12)
    assert (x.period == "2000-2015").all()
    # with both legends: full matrix of legend classes + nodata per zone
    lg = load_legend("unccd")
    full = crosstab_area_table(a, a, cov, area, variable="tr", legend_a=lg, legend_b=lg)
    assert len(full) == cov.n_zones * 8 * 8
    off_diag = full[full.class_code_a != full.class_code_b]
    assert (off_diag.area_km2 == 0).all()


def test_zonal_sum_and_mean_against_brute_force(cov, area, rng):
    pop = rng.random((30, 40)) * 100
    pop[4, 5] = np.nan
    by = rng.integers(-1, 2, (30, 40)).astype("int16")
    by[10:12] = NODATA
    soc = rng.random((30, 40)) * 80
    soc[15, :] = np.nan
    s = zonal_sum_table(_grid(pop).chunk(11), cov, by=_grid(by), variable="population_total", period="2015")
    m = zonal_mean_table(_grid(soc), cov, area, variable="soc")
    m_by = zonal_mean_table(_grid(soc).chunk(9), cov, area, by=_grid(by), variable="soc")
    for zid, poly in [("ALL", AOI_POLY)] + [(k, v.intersection(AOI_POLY)) for k, v in ZONE_POLYS.items()]:
        f = _brute_fractions(poly)
        got = s[s.zone_id == zid].set_index("class_code")["value"]
        for code in (-1, 0, 1, NODATA):
            sel = by == code
            np.testing.assert_allclose(got.loc[code], np.nansum((pop * f)[sel]), rtol=1e-10)
        w = f * area.values * np.isfinite(soc)
        row = m[m.zone_id == zid].iloc[0]
        assert row["value"] == pytest.approx(np.nansum(soc * w) / w.sum(), rel=1e-10)
        assert row["area_km2"] == pytest.approx(w.sum() * 1e-6, rel=1e-10)
        mb = m_by[m_by.zone_id == zid].set_index("class_code")
        for code in (-1, 0, 1):
            sel = by == code
            assert mb.loc[code, "value"] == pytest.approx(np.nansum((soc * w)[sel]) / w[sel].sum(), rel=1e-10)
    assert pd.isna(m["class_code"]).all() and (m["class_label"] == "").all()


def test_sums_reproducible_across_chunkings(cov, rng):
    pop = _grid(rng.random((30, 40)) * 1e6)
    a = zonal_sum_table(pop, cov, variable="p")
    b = zonal_sum_table(pop.chunk({"y": 3, "x": 17}), cov, variable="p")
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_grid_mismatch(cov, area):
    other = xr.DataArray(np.zeros((5, 5), "int16"), dims=("y", "x"))
    with pytest.raises(GridMismatchError, match="align it first"):
        class_area_table(other, cov, area, variable="lc")


def test_strip_layout_does_not_change_areas(cov, area, rng, monkeypatch):
    """Class areas are int64 sums: identical for one strip or many (the coverage is rebuilt with tiny strips too)."""
    import openldn.zonal.coverage as covmod

    data = _grid(rng.integers(1, 8, (30, 40)).astype("int16"))
    pop = _grid(rng.random((30, 40)) * 100)
    ref = class_area_table(data, cov, area, variable="lc")
    ref_sum = zonal_sum_table(pop, cov, variable="p")
    monkeypatch.setattr(covmod, "_STRIP_CELLS", 120)  # 3 rows per strip
    assert list(cov.strips()) == [(r, min(30, r + 3)) for r in range(0, 30, 3)]
    aoi = gpd.GeoDataFrame({"name": ["Land"]}, geometry=[AOI_POLY], crs="EPSG:4326")
    zones = gpd.GeoDataFrame({"id": list(ZONE_POLYS), "name": [k.upper() for k in ZONE_POLYS]},
                             geometry=list(ZONE_POLYS.values()), crs="EPSG:4326")
    cov_small = build_coverage(GB, aoi=aoi, zones=zones)
    np.testing.assert_array_equal(cov_small.codes, cov.codes)
    for la, lb in zip(cov_small.levels, cov.levels, strict=True):
        np.testing.assert_array_equal(la.cells, lb.cells)
        np.testing.assert_allclose(la.fractions, lb.fractions, rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(class_area_table(data.chunk(4), cov, area, variable="lc"), ref, check_exact=True)
    got = zonal_sum_table(pop, cov, variable="p")
    np.testing.assert_allclose(got["value"], ref_sum["value"], rtol=1e-12)


def test_tasks_pickle_for_distributed(cov, area, rng):
    """The strip tasks can be shipped to dask workers (cloudpickle round trip of a lazy table computation)."""
    import cloudpickle
    import dask

    data = _grid(rng.integers(1, 8, (30, 40)).astype("int16")).chunk(10)
    captured = {}

    def scheduler(dsk, keys, **kwargs):
        blob = cloudpickle.dumps(dsk)
        captured["graph"] = len(blob)
        return dask.get(cloudpickle.loads(blob), keys, **kwargs)  # run the unpickled graph

    with dask.config.set(scheduler=scheduler):
        t = class_area_table(data, cov, area.chunk(10), variable="lc")
    assert captured["graph"]
    pd.testing.assert_frame_equal(t, class_area_table(data.compute(), cov, area, variable="lc"), check_exact=True)


def test_transposed_input_gives_same_table(cov, area, rng):
    data = _grid(rng.integers(1, 4, (30, 40)).astype("uint8"))
    a = class_area_table(data, cov, area, variable="lc")
    b = class_area_table(data.transpose("x", "y"), cov, area.transpose("x", "y"), variable="lc")
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_sum_by_yearly_classes(cov, rng):
    pop = _grid(rng.random((30, 40)) * 10)
    by = attach_grid(xr.DataArray(np.stack([np.zeros((30, 40), "int16"), np.ones((30, 40), "int16")]),
                                  dims=("time", "y", "x"),
                                  coords={"time": pd.to_datetime(["2001-01-01", "2002-01-01"])}), GB)
    t = zonal_sum_table(pop, cov, by=by, variable="p")
    assert set(t.period) == {"2001", "2002"}
    a = t[(t.zone_id == "ALL") & (t.period == "2001")].set_index("class_code")["value"]
    b = t[(t.zone_id == "ALL") & (t.period == "2002")].set_index("class_code")["value"]
    assert a.loc[0] == pytest.approx(b.loc[1], rel=1e-12) and a.loc[0] > 0


def test_projected_grid_with_varying_cell_areas(rng):
    """UTM cells have slightly different true areas: the per-cell quantisation path, against brute force."""
    gb = GeoBox((25, 30), Affine(1000, 0, 400_000, 0, -1000, 5_000_000), "EPSG:32633")
    poly = shapely.Polygon([(402_500, 4_977_300), (428_100, 4_980_000), (421_000, 4_999_100)])
    cov = build_coverage(gb, aoi=gpd.GeoDataFrame(geometry=[poly], crs="EPSG:32633"))
    data = attach_grid(xr.DataArray(rng.integers(0, 3, (25, 30)).astype("int16"), dims=("y", "x")), gb)
    area = pixel_area(data)
    assert np.ptp(area.values[0]) > 0  # areas vary along rows
    t = class_area_table(data, cov, area, variable="c")
    t2 = class_area_table(data.chunk(7), cov, area.chunk(9), variable="c")
    pd.testing.assert_frame_equal(t, t2, check_exact=True)
    jj, ii = np.meshgrid(np.arange(30), np.arange(25))
    x0 = 400_000 + 1000 * jj
    y0 = 5_000_000 - 1000 * ii
    frac = shapely.area(shapely.intersection(shapely.box(x0, y0 - 1000, x0 + 1000, y0), poly)) / 1e6
    brute = pd.Series((frac * area.values).ravel()).groupby(data.values.ravel()).sum() * 1e-6
    got = t.set_index("class_code")["area_km2"]
    for code, val in brute.items():
        assert got.loc[code] == pytest.approx(val, rel=1e-9)


def test_zone_area_table_matches_brute_force(cov, area):
    from openldn.zonal import zone_area_table

    t = zone_area_table(cov, area)
    assert list(t.zone_id) == list(cov.zone_ids)
    for zid, poly in [("ALL", AOI_POLY)] + [(k, v.intersection(AOI_POLY)) for k, v in ZONE_POLYS.items()]:
        ref = float((_brute_fractions(poly) * area.values).sum()) * 1e-6
        assert t.set_index("zone_id").loc[zid, "area_km2"] == pytest.approx(ref, rel=1e-9)


def test_chunkwise_path_equals_strips(cov, area, rng, monkeypatch):
    """Integer tables from dask inputs processed chunk by chunk equal the strip path, bit for bit."""
    import openldn.zonal.tables as tabmod

    a = _grid(rng.integers(1, 8, (30, 40)).astype("int16"))
    b = _grid(rng.integers(0, 3, (30, 40)).astype("uint8"))
    ref = crosstab_area_table(a, b, cov, area, variable="x")
    monkeypatch.setattr(tabmod, "_MIN_BLOCK_CELLS", 1)
    got = crosstab_area_table(a.chunk({"y": 7, "x": 9}), b.chunk({"y": 11, "x": 6}), cov, area, variable="x")
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    got2 = class_area_table(a.chunk(8), cov, area.chunk(5), variable="x")
    pd.testing.assert_frame_equal(got2, class_area_table(a, cov, area, variable="x"), check_exact=True)



def test_table_tasks_ship_no_numba_kernel(cov, area, table_computes):
    """Tasks carry the kernels by reference: a numba dispatcher pickled by value is compiled again in every worker."""
    import cloudpickle
    from dask.optimization import cull

    # what a distributed client would send
    shipped = table_computes(lambda graph, keys: cloudpickle.dumps(cull(graph, keys)[0]))
    rng = np.random.default_rng(3)
    values = _grid(rng.random((30, 40))).chunk(10)  # small chunks: the row-strip path
    classes = _grid(rng.integers(1, 4, (30, 40)).astype(np.int16)).chunk(20)
    zonal_mean_table(values, cov, area, variable="v")
    zonal_mean_table(values, cov, area, variable="v", by=classes)
    big = GeoBox((300, 400), Affine(0.005, 0, 10.0, 0, -0.005, 46.0), "EPSG:4326")  # chunks of 90,000 cells:
    big_classes = attach_grid(xr.DataArray(rng.integers(1, 4, (300, 400)).astype(np.int16), dims=("y", "x")), big)
    big_cov = build_coverage(big, aoi=gpd.GeoDataFrame(geometry=[AOI_POLY], crs="EPSG:4326"))
    class_area_table(big_classes.chunk(300), big_cov, pixel_area(big_classes), variable="c")  # the chunk path
    assert len(shipped) >= 3
    assert not [b for b in shipped if b"numba.core.serialize" in b]


def test_compute_tables__together_equal_each_alone_in_one_compute(cov, area, rng, monkeypatch, table_computes):
    """Planned tables of every kind computed together: each equals its table alone, bit for bit, and all of them
    take one dask compute (one per table, or more, alone)."""
    import openldn.zonal.tables as tabmod
    from openldn.zonal import compute_tables

    monkeypatch.setattr(tabmod, "_MIN_BLOCK_CELLS", 1)  # the chunk path of integer tables, with these small chunks
    lc = _grid(rng.integers(1, 8, (30, 40)).astype("int16")).chunk(10)
    deg = _grid(rng.integers(-1, 2, (30, 40)).astype("int16")).chunk(10)
    soc = _grid(rng.random((30, 40)) * 50).chunk(10)
    pop = _grid(rng.random((30, 40)) * 100).chunk(10)
    ar = area.chunk(10)
    calls = [
        (class_area_table, (lc, cov, ar), {"variable": "lc", "period": "2015"}),
        (class_area_table, (deg, cov, ar), {"variable": "deg"}),
        (crosstab_area_table, (lc, deg, cov, ar), {"variable": "lc_by_deg"}),
        (zonal_mean_table, (soc, cov, ar), {"by": lc, "variable": "soc"}),
        (zonal_sum_table, (pop, cov), {"by": deg, "variable": "pop"}),
    ]
    alone = [fn(*a, **kw) for fn, a, kw in calls]
    computes = table_computes(lambda graph, keys: len(keys))  # pieces per compute
    planned = [fn.plan(*a, **kw) for fn, a, kw in calls]
    assert computes == []  # planning computes nothing
    together = compute_tables(planned)
    assert len(computes) == 1
    assert computes[0] == 3 * 12 + 2  # three integer tables of 3 x 4 chunks, two float tables of one row strip
    for got, ref in zip(together, alone, strict=True):
        pd.testing.assert_frame_equal(got, ref, check_exact=True)
    assert planned[0].compute() is together[0]  # computed once
    # a wrong grid fails when the table is planned, not when it is computed
    with pytest.raises(GridMismatchError):
        class_area_table.plan(lc.isel(x=slice(0, 20)), cov, ar, variable="lc")


def test_compute_tables__a_layer_shared_by_tables_is_read_once_per_piece(cov, area, rng, monkeypatch):
    """Tables computed together share the reads of a common layer (optimised together, not fused into each); two
    tables computed apart read it twice, and no more."""
    import threading

    import dask.array as dsa

    import openldn.zonal.tables as tabmod
    from openldn.zonal import compute_tables

    monkeypatch.setattr(tabmod, "_MIN_BLOCK_CELLS", 1)
    values = rng.integers(1, 8, (3, 30, 40)).astype("int16")  # a yearly stack, as a stored land cover series
    reads = [0]
    lock = threading.Lock()

    def read(block: np.ndarray) -> np.ndarray:
        with lock:
            reads[0] += 1
        return block

    def stack() -> xr.DataArray:
        data = dsa.from_array(values, chunks=(3, 10, 10)).map_blocks(read, meta=np.array((), dtype=values.dtype))
        return _grid(data, dims=("time", "y", "x"))

    ar = area.chunk(10)
    series = stack()
    y0, y2 = series.isel(time=0), series.isel(time=2)
    compute_tables([class_area_table.plan(y0, cov, ar, variable="lc"),
                    crosstab_area_table.plan(y0, y2, cov, ar, variable="tr")])
    assert reads[0] == 12  # 3 x 4 blocks, once
    reads[0] = 0
    class_area_table(y0, cov, ar, variable="lc")
    crosstab_area_table(y0, y2, cov, ar, variable="tr")
    assert reads[0] == 2 * 12  # once per table (the crosstab's two year maps, optimised together, share the read)


def test_compute_tables__computes_stay_within_the_memory_budget(cov, area, rng, monkeypatch, table_computes):
    """However many tables are computed together, one compute holds at most the budget's cells (a strip per worker
    thread): with 120-cell strips and two threads, 240 cells, i.e. two pieces of 100-120 cells."""

    import openldn.zonal.coverage as covmod
    import openldn.zonal.tables as tabmod
    from openldn.zonal import compute_tables

    monkeypatch.setattr(tabmod, "_MIN_BLOCK_CELLS", 1)
    monkeypatch.setattr(covmod, "_STRIP_CELLS", 120)  # strips of 3 rows x 40
    monkeypatch.setattr(tabmod, "worker_threads", lambda: 2)
    lc = _grid(rng.integers(1, 8, (30, 40)).astype("int16")).chunk(10)  # 12 pieces of 100 cells
    soc = _grid(rng.random((30, 40)) * 50).chunk(10)  # 10 strips of 120 cells
    ar = area.chunk(10)
    calls = [(class_area_table, (lc, cov, ar), {"variable": "lc"}),
             (zonal_mean_table, (soc, cov, ar), {"by": lc, "variable": "soc"}),
             (crosstab_area_table, (lc, lc, cov, ar), {"variable": "lc2"})]
    alone = [fn(*a, **kw) for fn, a, kw in calls]
    sizes = table_computes(lambda graph, keys: len(keys))
    together = compute_tables([fn.plan(*a, **kw) for fn, a, kw in calls])
    assert sum(sizes) == 12 + 10 + 12
    assert max(sizes) == 2 and len(sizes) == 17
    for got, ref in zip(together, alone, strict=True):
        pd.testing.assert_frame_equal(got, ref, check_exact=True)
