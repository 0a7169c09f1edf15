"""Real and synthetic cases end to end: Alaska GIMMS NDVI (32 years), Catalonia standing biomass (EPSG:3035), the demo."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import xarray as xr
from tests.productivity._helpers import read_annual

from openldn.core.periods import productivity_windows
from openldn.productivity import (
    land_productivity_units,
    lpd_class,
    lpd_to_degradation,
    performance,
    state_percentile_shift,
    trajectory,
)

mk = pytest.importorskip("pymannkendall")


def _lpd_chain(ndvi: xr.DataArray, units: xr.DataArray, period: str) -> tuple[xr.Dataset, ...]:
    w = productivity_windows(period)
    traj = trajectory(ndvi, window=w.trend)
    st = state_percentile_shift(ndvi, baseline=w.state_baseline, recent=w.state_recent)
    perf = performance(ndvi, units, window=w.performance)
    lpd = lpd_class(traj.trajectory, st.state, perf.performance)
    return traj, st, perf, lpd, w


@pytest.mark.realdata
def test_alaska__end_to_end_two_periods(shared_data) -> None:
    import rioxarray

    ndvi = read_annual(shared_data / "alaska" / "ndvi_annual_1982_2013.tif").chunk({"y": 128, "x": 128})
    land = rioxarray.open_rasterio(shared_data / "alaska" / "land_class.tif").squeeze("band", drop=True)
    land = land.where(land != 0, -32768).astype(np.int16)
    units = land_productivity_units(land)
    valid = np.isfinite(ndvi.isel(time=0).values)
    assert valid.sum() == 31486
    for period in ("1982-1997", "1998-2013"):
        traj, _st, perf, lpd, w = _lpd_chain(ndvi, units, period)
        lpd_v = lpd.values
        # every valid pixel gets a class, every other pixel is nodata
        assert set(np.unique(lpd_v[valid])) <= {1, 2, 3, 4, 5}
        assert (lpd_v[~valid] == -32768).all()
        deg = lpd_to_degradation(lpd).values
        assert set(np.unique(deg[valid])) <= {-1, 0, 1}
        assert traj.attrs["trend_window"] == w.trend.label == period
        # independent check of the trajectory on a sample of pixels: pymannkendall p and scipy OLS slope sign
        tv = traj.trajectory.values
        vals = ndvi.sel(time=slice(period[:4], period[5:])).values
        idx = np.argwhere(valid)[::997]
        for r, c in idx:
            x = vals[:, r, c].astype(np.float64)
            p = mk.original_test(x).p
            slope = scipy.stats.linregress(np.arange(x.size), x).slope
            expected = int(np.sign(slope)) if p <= 0.05 else 0
            assert tv[r, c] == expected
        # performance: p90 of each land class by numpy
        mean = vals.mean(axis=0)
        lv = land.values
        for code in (6, 7, 8):
            sel = (lv == code) & valid
            p90 = np.percentile(mean[sel], 90)
            ratio = perf.ratio.values[sel]
            np.testing.assert_allclose(ratio, mean[sel] / p90, rtol=1e-5)
            np.testing.assert_array_equal(
                perf.performance.values[sel], np.where(mean[sel] / p90 < 0.5, -1, 0)
            )


@pytest.mark.realdata
def test_catalonia__biomass_proxy_on_a_projected_grid(shared_data) -> None:
    sb = read_annual(shared_data / "catalonia" / "standing_biomass_2000_2016.tif")
    assert sb.rio.crs.to_epsg() == 3035
    units = xr.zeros_like(sb.isel(time=0), dtype=np.int64)  # one unit: no land cover in this case
    traj, st, _perf, lpd, w = _lpd_chain(sb, units, "2001-2016")
    assert (w.trend.label, w.state_baseline.label, w.state_recent.label) == (
        "2001-2016",
        "2001-2013",
        "2014-2016",
    )
    v = lpd.values
    all_nan = np.isnan(sb.values).all(axis=0)
    assert (v[all_nan] == -32768).all()
    hist = sb.sel(time=slice("2001", "2013")).values
    rec = sb.sel(time=slice("2014", "2016")).values
    n_trend = np.isfinite(sb.sel(time=slice("2001", "2016")).values).sum(axis=0)
    too_few = (n_trend < 10) | (np.isfinite(hist).sum(axis=0) < 6) | ~np.isfinite(rec).any(axis=0)
    # nodata exactly where a window lacks years (min_years = 10, half the historical years, one recent year)
    np.testing.assert_array_equal(v == -32768, all_nan | too_few)
    assert set(np.unique(v[~too_few])) <= {1, 2, 3, 4, 5}
    # state on sample pixels against numpy percentiles of the extended historical series
    sv = st.class_change.values
    for r, c in np.argwhere(~too_few)[::401]:
        h = hist[:, r, c][np.isfinite(hist[:, r, c])]
        lo, hi = h.min(), h.max()
        ext = np.r_[h, lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)]
        q = np.percentile(ext, np.arange(10, 100, 10))
        exp = (np.nanmean(rec[:, r, c]) > q).sum() - (h.mean() > q).sum()
        assert sv[r, c] == exp
    # 2005 (the Iberian drought, most gaps) is a missing year for some pixels: they still get a trend
    assert (traj.n.values[~too_few] >= 10).all()


def test_demo__planted_declining_and_improving_patches_are_found(tmp_path) -> None:
    datasets = pytest.importorskip("openldn.datasets")
    if not hasattr(datasets, "make_demo"):
        pytest.skip("openldn.datasets.make_demo is not available")
    import rioxarray

    from openldn.pipeline import run_assessment

    run_file = datasets.make_demo(tmp_path / "data", size=120)
    out = tmp_path / "out"
    result = run_assessment(run_file, out, stages=["land_cover", "productivity"])
    assert "productivity" in result.timings
    truth = datasets.demo_truth(tmp_path / "data")
    patches = {p["name"]: p for p in truth["patches"]}
    for name, lpd_exp, deg_exp in (("declining_productivity", 1, -1), ("improving_productivity", 5, 1)):
        b = patches[name]["bbox"]
        for period in ("2016-2019", "2016-2023"):
            for var, exp in (("lpd", lpd_exp), ("prod_degradation", deg_exp)):
                r = rioxarray.open_rasterio(out / "maps" / f"{var}_{period}.tif").squeeze()
                inside = r.where((r.x > b[0]) & (r.x < b[2]) & (r.y > b[1]) & (r.y < b[3]), drop=True).values
                assert (inside == exp).mean() >= 0.9, (name, period, var)
    tables = {p.stem: p for p in (out / ".openldn" / "tables").glob("*")}
    assert any(k.startswith("lpd_by_lc") for k in tables) and any(
        k.startswith("prod_degradation") for k in tables
    )
    assert isinstance(pd.DataFrame(), pd.DataFrame)


@pytest.mark.realdata
def test_land_productivity_dynamics__equals_the_step_by_step_chain_on_catalonia(shared_data) -> None:
    from openldn.productivity import land_productivity_dynamics

    sb = read_annual(shared_data / "catalonia" / "standing_biomass_2000_2016.tif")
    units = xr.zeros_like(sb.isel(time=0), dtype=np.int64)
    _, _, _, lpd, _ = _lpd_chain(sb, units, "2001-2016")
    ds = land_productivity_dynamics(sb, period="2001-2016", units=units)
    np.testing.assert_array_equal(ds.lpd.values, lpd.values)
    assert ds.attrs["state_recent_window"] == "2014-2016"
    gpg = land_productivity_dynamics(
        sb,
        period="2001-2016",
        options={"trajectory_method": "zscore", "state_method": "zscore", "lpd_table": "prais_2022_table12"},
    )
    assert "lpd" not in gpg and set(np.unique(gpg.prod_degradation.values)) <= {-1, 0, -32768}
