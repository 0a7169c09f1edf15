"""DVI: normalisation directions, components, sex disaggregation, Tier 3, trend; exposure helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from openldn.core.codes import NODATA
from openldn.core.periods import year_coords
from openldn.drought import (
    dvi_grid,
    dvi_method_table,
    dvi_table,
    dvi_trend,
    exposed_population,
    load_factor_catalogue,
    nearest_years,
    normalise,
    population_for_years,
    read_factor_table,
)
from openldn.exceptions import ConfigError, GridMismatchError


def _table(rows) -> pd.DataFrame:
    return read_factor_table(pd.DataFrame(rows, columns=["year", "factor", "sex", "value"]))


def test_normalise__directions():
    x = np.array([10.0, 20.0, 40.0])
    # positive: (x - min) / (max - min); negative: 1 - that
    np.testing.assert_allclose(normalise(x, "positive"), [0.0, 1 / 3, 1.0])
    np.testing.assert_allclose(normalise(x, "negative"), [1.0, 2 / 3, 0.0])
    np.testing.assert_allclose(normalise(x, "negative", vmin=0.0, vmax=50.0), [0.8, 0.6, 0.2])
    assert np.isnan(normalise(np.array([5.0, 5.0]), "positive")).all()
    with pytest.raises(ConfigError, match="positive"):
        normalise(x, "up")


def test_catalogue__gpg_so3_directions():
    cat = load_factor_catalogue().set_index("factor")
    # more literacy / water access / GDP = less vulnerable; more poverty / rural population = more vulnerable
    assert cat.loc["literacy_rate", "direction"] == "negative"
    assert cat.loc["safe_drinking_water", "direction"] == "negative"
    assert cat.loc["gdp_per_capita", "direction"] == "negative"
    assert cat.loc["poverty_rate", "direction"] == "positive"
    assert cat.loc["rural_population", "direction"] == "positive"
    assert set(cat[cat["core"]].index) == {"literacy_rate", "poverty_rate", "safe_drinking_water"}
    assert set(cat["component"]) == {"social", "economic", "infrastructure"}


def test_dvi_table__tier1_hand_computed():
    rows = [
        (2000, "literacy_rate", "total", 80.0), (2010, "literacy_rate", "total", 90.0),
        (2020, "literacy_rate", "total", 100.0),
        (2000, "poverty_rate", "total", 30.0), (2010, "poverty_rate", "total", 10.0),
        (2020, "poverty_rate", "total", 20.0),
        (2000, "safe_drinking_water", "total", 50.0), (2010, "safe_drinking_water", "total", 50.0),
        (2020, "safe_drinking_water", "total", 70.0),
    ]
    out = dvi_table(_table(rows)).set_index("period")
    # social: 1 - (x-80)/20 -> 1, .5, 0; economic: (x-10)/20 -> 1, 0, .5; infrastructure: 1 - (x-50)/20 -> 1, 1, 0
    np.testing.assert_allclose(out["social"], [1.0, 0.5, 0.0])
    np.testing.assert_allclose(out["economic"], [1.0, 0.0, 0.5])
    np.testing.assert_allclose(out["infrastructure"], [1.0, 1.0, 0.0])
    np.testing.assert_allclose(out["value"], [1.0, 0.5, 0.5 / 3])
    assert (out["group"] == "total").all() and (out["zone_id"] == "ALL").all()
    assert out["value"].between(0, 1).all()  # check C8
    trend = dvi_trend(out.reset_index())
    assert trend.loc[0, "direction"] == "Decreasing vulnerability"
    assert dvi_method_table(_table(rows))["tier"].iloc[0] == 1


def test_dvi_table__weights_and_sex_disaggregation():
    rows = [
        (2000, "literacy_rate", "total", 80.0), (2020, "literacy_rate", "total", 100.0),
        (2000, "literacy_rate", "female", 70.0), (2020, "literacy_rate", "female", 100.0),
        (2000, "rural_population", "total", 60.0), (2020, "rural_population", "total", 40.0),
        (2000, "poverty_rate", "total", 30.0), (2020, "poverty_rate", "total", 10.0),
        (2000, "safe_drinking_water", "total", 50.0), (2020, "safe_drinking_water", "total", 70.0),
    ]
    t = _table(rows)
    out = dvi_table(t, weights={"rural_population": 3.0}, years=[2000, 2010, 2020])
    assert set(out["group"]) == {"total", "female", "male"}
    # 2010 has no data: the closest year fills every factor; on a tie the earlier (2000), the one rule of
    # openldn.core.years.closest_year used for every year substitution of a run
    r2010 = out[(out["period"] == "2010") & (out["group"] == "total")].iloc[0]
    r2000 = out[(out["period"] == "2000") & (out["group"] == "total")].iloc[0]
    assert r2010["value"] == r2000["value"] and "literacy_rate:2000" in r2010["filled"]
    # female literacy normalised over female values; male has none: it takes the total values
    f2000 = out[(out["period"] == "2000") & (out["group"] == "female")].iloc[0]
    assert f2000["social"] == pytest.approx((1.0 * 1 + 1.0 * 3) / 4)
    m2000 = out[(out["period"] == "2000") & (out["group"] == "male")].iloc[0]
    t2000 = out[(out["period"] == "2000") & (out["group"] == "total")].iloc[0]
    assert m2000["value"] == t2000["value"]
    method = dvi_method_table(t).set_index("component")
    assert bool(method.loc["social", "sex_disaggregated"]) and not bool(method.loc["economic", "sex_disaggregated"])


def test_dvi_table__tier3_normalised_over_all_units():
    df = pd.DataFrame({
        "zone_id": ["A", "B", "A", "B", "A", "B"],
        "year": [2018] * 6,
        "factor": ["literacy_rate"] * 2 + ["poverty_rate"] * 2 + ["safe_drinking_water"] * 2,
        "sex": ["total"] * 6,
        "value": [60.0, 90.0, 40.0, 10.0, 30.0, 90.0],
    })
    t = read_factor_table(df)
    out = dvi_table(t).set_index("zone_id")
    assert out.loc["A", "value"] == pytest.approx(1.0) and out.loc["B", "value"] == pytest.approx(0.0)
    assert dvi_method_table(t)["tier"].iloc[0] == 3
    # the same factors as grids give the same DVI
    grids = {f: xr.DataArray(np.array([[df.value[i], df.value[i + 1]]]), dims=("y", "x"))
             for i, f in zip((0, 2, 4), ("literacy_rate", "poverty_rate", "safe_drinking_water"), strict=True)}
    g = dvi_grid(grids)
    np.testing.assert_allclose(g.values.ravel(), [1.0, 0.0])


def test_dvi__bad_tables():
    with pytest.raises(ConfigError, match="infrastructure"):
        dvi_table(_table([(2000, "literacy_rate", "total", 1.0), (2000, "poverty_rate", "total", 2.0)]))
    with pytest.raises(ConfigError, match="unknown factor"):
        _table([(2000, "happiness", "total", 1.0)])
    with pytest.raises(ConfigError, match="sex"):
        _table([(2000, "literacy_rate", "other", 1.0)])
    with pytest.raises(ConfigError, match="twice"):
        _table([(2000, "literacy_rate", "total", 1.0), (2000, "literacy_rate", "total", 2.0)])
    with pytest.raises(ConfigError, match="not a number"):
        _table([(2000, "literacy_rate", "total", "n/a")])


def test_dvi__example_file_reads():
    from importlib import resources

    with resources.as_file(resources.files("openldn") / "data" / "drought" / "dvi_example.csv") as p:
        out = dvi_table(read_factor_table(p))
    assert out["value"].between(0, 1).all() and set(out["group"]) == {"total", "female", "male"}


# --- exposure -----------------------------------------------------------------------------------------------------


def test_nearest_years__ties_go_to_the_later_year():
    assert nearest_years([2000, 2020], [2010, 2019, 2023, 1995]) == {2010: 2020, 2019: 2020, 2023: 2020, 1995: 2000}


def test_population_for_years__fills_gaps():
    pop = xr.DataArray(np.arange(3.0).reshape(3, 1, 1), dims=("time", "y", "x"),
                       coords={"time": year_coords([2000, 2010, 2020])})
    out, subs = population_for_years(pop, [2000, 2004, 2006, 2021])
    assert out.values.ravel().tolist() == [0.0, 0.0, 1.0, 2.0]
    assert subs == {2004: 2000, 2006: 2010, 2021: 2020}


def test_exposed_population__drought_cells_only():
    classes = xr.DataArray(np.array([[0, 1, 4, NODATA]], dtype=np.int16), dims=("y", "x"))
    pop = xr.DataArray(np.array([[10.0, 20.0, 30.0, 40.0]]), dims=("y", "x"))
    out = exposed_population(pop, classes)
    assert out.values.ravel()[:3].tolist() == [0.0, 20.0, 30.0] and np.isnan(out.values.ravel()[3])
    with pytest.raises(GridMismatchError, match="align"):
        exposed_population(pop.isel(x=slice(0, 2)), classes)


def test_dvi_grid_and_exposure__stay_lazy():
    import dask
    import dask.array as dsa

    class _Counter:
        n = 0

        def __call__(self, dsk, keys, **kw):
            _Counter.n += 1
            return dask.get(dsk, keys, **kw)

    rng = np.random.default_rng(0)
    lazy = {f: xr.DataArray(dsa.from_array(rng.uniform(0, 100, (4, 6)), chunks=(2, 3)), dims=("y", "x"))
            for f in ("literacy_rate", "poverty_rate", "safe_drinking_water", "gdp_per_capita")}
    classes = xr.DataArray(dsa.from_array(rng.integers(0, 5, (4, 6)).astype(np.int16), chunks=(2, 3)), dims=("y", "x"))
    with dask.config.set(scheduler=_Counter()):
        g = dvi_grid(lazy)
        e = exposed_population(lazy["poverty_rate"], classes)
    assert _Counter.n == 0 and isinstance(g.data, dsa.Array) and isinstance(e.data, dsa.Array)
    eager = dvi_grid({k: v.compute() for k, v in lazy.items()})
    np.testing.assert_allclose(g.values, eager.values, rtol=1e-6)
    assert float(g.min()) >= 0.0 and float(g.max()) <= 1.0
