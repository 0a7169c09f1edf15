"""End-to-end check of the demo's planted truth against the whole pipeline (slow; opt-in).

Run with ``OPENLDN_RUN_SLOW=1 pytest tests/datasets/test_datasets_demo_pipeline.py``. It computes the SO1 and SO3
stages on the default demo and checks that, for every planted patch, at least 80 % of the patch's pixels get the
value(s) documented in ``truth.json``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import from_bounds

from openldn.datasets import DEMO_DROUGHT_YEAR, demo_truth, make_demo

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("OPENLDN_RUN_SLOW"), reason="slow end-to-end run; set OPENLDN_RUN_SLOW=1"
    ),
]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from openldn.pipeline.run import run_assessment

    root = tmp_path_factory.mktemp("demo_run")
    run_file = make_demo(root / "inputs")
    run_assessment(run_file, root / "out",
                   stages=["land_cover", "productivity", "soil_carbon", "integration", "drought"])  # fmt: skip
    return root / "out", demo_truth(run_file)


def _values(path: Path, bbox: list[float]) -> np.ndarray:
    with rasterio.open(path) as ds:
        win = from_bounds(*bbox, transform=ds.transform).round_offsets().round_lengths()
        return ds.read(1, window=win)


def test_demo_pipeline__patches_match_the_truth(run: tuple[Path, dict]) -> None:
    out, truth = run
    failures = []
    for patch in truth["patches"]:
        for indicator, per_period in patch["expected"].items():
            if not isinstance(per_period, dict):
                continue
            for period, expected in per_period.items():
                if expected is None:
                    continue
                path = out / "maps" / f"{indicator}_{period}.tif"
                if not path.is_file():
                    continue
                values = _values(path, patch["bbox"])
                accepted = expected if isinstance(expected, list) else [expected]
                share = float(np.isin(values, accepted).mean())
                if share < 0.8:
                    failures.append(
                        f"{patch['name']} {indicator} {period}: {share:.2f} of pixels in {accepted}"
                    )
    assert not failures, "\n".join(failures)


def test_demo_pipeline__drought_year(run: tuple[Path, dict]) -> None:
    out, truth = run
    values = _values(out / "maps" / f"drought_class_{DEMO_DROUGHT_YEAR}.tif", truth["drought"]["bbox"])
    inside = values[values != -32768]
    assert inside.size > 0
    assert (inside == 4).mean() >= 0.95
