"""Fixtures of the reporting tests."""

from __future__ import annotations

import pandas as pd
import pytest
from reporting_factory import make_tables


@pytest.fixture
def tidy_tables() -> dict[str, pd.DataFrame]:
    """A fresh consistent set of stage tables (tests/reporting/reporting_factory.py)."""
    return make_tables()
