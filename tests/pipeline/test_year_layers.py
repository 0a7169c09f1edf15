"""The land cover of each reported year is one stored layer, which every stage's tables read (issue 14).

The series ``lc_unccd`` is stored with all its years in each chunk, so a table over one year that reads it holds
every year of each chunk it touches (at 10,000² x 24 years, 20 to 36 chunks of 12.6 MB per strip of rows: the
peak of the soil carbon tables). The land cover stage stores each reported year as ``lc_unccd/<year>``; the tables of
the land cover, productivity and soil carbon stages read those, never the series. Checked on the low-level graphs
the zonal tables compute (``openldn.zonal.tables.run_graph``), on a small synthetic country run for real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from openldn.config import load_assessment
from openldn.core.periods import years_of
from openldn.datasets import make_synthetic_country
from openldn.land_cover.stage import YEAR_ATTR, land_cover_of_year
from openldn.testing import make_context, run_stage

YEARS = range(2000, 2020)  # baseline 2000-2015, reporting 2016-2019 (the generated run file's periods)


@pytest.fixture(scope="module")
def country(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("year_layers_country")
    make_synthetic_country(out, width=120, height=100, years=YEARS, tile=64, cog=False, seed=3)
    return out


def _names(graph: Any, keys: Any) -> set[str]:
    """The dask names of a graph's keys."""
    return {str(k[0]) if isinstance(k, tuple) else str(k) for k in graph}


def test_land_cover_stage__stores_each_reported_year_as_its_own_layer(country: Path, tmp_path: Path) -> None:
    ctx = make_context(load_assessment(country / "assessment.yaml", check_files=False), out_dir=tmp_path / "run",
                       chunk_size=32)
    run_stage(ctx, "land_cover")
    series = ctx.layers["lc_unccd"]
    # the periods' years: baseline 2000 -> 2015, reporting 2015 -> 2019 (reporting_lc_start), as the run file says;
    # and 2016, the reporting period's first year, whose land area the land area table reports
    stored = sorted(k for k in ctx.layers if k.startswith("lc_unccd/"))
    assert stored == ["lc_unccd/2000", "lc_unccd/2015", "lc_unccd/2016", "lc_unccd/2019"]
    for key in stored:
        year = int(key.split("/")[1])
        layer = ctx.layers[key]
        assert layer.dims == ("y", "x")
        assert layer.attrs[YEAR_ATTR] == year
        assert ctx.checkpoint.has_layer(key)
        band = series.isel(time=int(np.flatnonzero(years_of(series) == year)[0]))
        np.testing.assert_array_equal(layer.values, band.values)
        assert land_cover_of_year(ctx.layers, year) is layer
    # a year no stage reports is the series' band
    other = land_cover_of_year(ctx.layers, 2007)
    assert other.dims == ("y", "x")
    np.testing.assert_array_equal(other.values, series.isel(time=7).values)


def test_tables__read_the_year_layers_not_the_series(country: Path, tmp_path: Path, table_computes: Any) -> None:
    """No table compute of the land cover, land area, productivity or soil carbon stage reads the stored series (the
    area ledger's water included). Before the year layers, the land cover tables (area per year, transitions, the
    water row), the land area table (every reported year), the productivity table by class and the soil carbon
    stock table by class read it."""
    ctx = make_context(load_assessment(country / "assessment.yaml", check_files=False), out_dir=tmp_path / "run",
                       chunk_size=32)
    seen = table_computes(_names)
    by_stage: dict[str, list[set[str]]] = {}
    for stage in ("land_cover", "land_area", "productivity", "soil_carbon"):
        start = len(seen)
        run_stage(ctx, stage)
        by_stage[stage] = seen[start:]
    series = ctx.layers["lc_unccd"].data.name
    years = {ctx.layers[k].data.name for k in ctx.layers if k.startswith("lc_unccd/")}
    assert {"lc_area", "lc_transitions", "lc_degradation", "lpd_by_lc", "soc_by_lc"} <= set(ctx.tables)
    def reads(names: set[str], layer: str) -> bool:  # a read of the layer, fused or not ("original-<name>")
        return any(layer in n for n in names)

    for stage in ("land_cover", "land_area", "productivity", "soil_carbon"):
        assert by_stage[stage], f"{stage}: no table computed"
        assert not [names for names in by_stage[stage] if reads(names, series)], stage
        assert any(reads(names, y) for names in by_stage[stage] for y in years), stage  # what they read instead
    # the counter does see the series when a table reads it
    from openldn.zonal import class_area_table

    start = len(seen)
    class_area_table(ctx.layers["lc_unccd"].isel(time=7), ctx.coverage, ctx.area, variable="lc", period="2007")
    assert any(reads(names, series) for names in seen[start:])
