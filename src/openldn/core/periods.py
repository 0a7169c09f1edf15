"""Periods of years and the productivity windows derived from them (PRAIS 2026 reporting manual, Introduction and §1.2 Step 6)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import numpy as np
import pandas as pd

from openldn.exceptions import PeriodError

if TYPE_CHECKING:
    import xarray as xr

_Series = TypeVar("_Series", "xr.DataArray", "xr.Dataset")

__all__ = [
    "Period",
    "ProductivityWindows",
    "SomePeriod",
    "productivity_windows",
    "year_band",
    "year_coords",
    "years_of",
]

_RANGE = re.compile(r"^\s*(\d{4})\s*(?:-|–|/|\.\.|:)\s*(\d{4})\s*$")
_SINGLE = re.compile(r"^\s*(\d{4})\s*$")


@dataclass(frozen=True)
class Period:
    """A closed range of calendar years used for a baseline, a reporting period or a window.

    Parameters
    ----------
    name : str
        Short identifier used in variable names and tables, e.g. ``"baseline"``.
    start, end : int
        First and last year, inclusive.
    """

    #: Short identifier used in variable names and tables, e.g. "baseline".
    name: str
    #: First year, inclusive.
    start: int
    #: Last year, inclusive.
    end: int

    def __post_init__(self) -> None:
        for field in ("start", "end"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise PeriodError(f"Period {self.name!r}: {field} must be a whole year, got {value!r}.")
            if not 1800 <= int(value) <= 2200:
                raise PeriodError(f"Period {self.name!r}: {field} year {value} is outside 1800-2200.")
        if self.start > self.end:
            raise PeriodError(
                f"Period {self.name!r}: start {self.start} is after end {self.end}; write it as "
                f"'{self.end}-{self.start}'."
            )

    @classmethod
    def from_user_input(cls, value: SomePeriod, *, name: str | None = None) -> Period:
        """Build a period from ``"2000-2015"``, ``(2000, 2015)``, ``2019`` or a :class:`Period`.

        Parameters
        ----------
        value : Period, str, int or tuple of int
            The period as written by a user.
        name : str, optional
            Name given to the period (defaults to its label, or keeps the name of a Period).

        Returns
        -------
        Period
        """
        if isinstance(value, Period):
            return value if name is None else cls(name, value.start, value.end)
        start: Any
        end: Any
        if isinstance(value, str):
            m = _RANGE.match(value)
            if m:
                start, end = int(m.group(1)), int(m.group(2))
            elif _SINGLE.match(value):
                start = end = int(value)
            else:
                raise PeriodError(
                    f"Period {value!r} is not understood: write it as 'YYYY-YYYY', e.g. '2000-2015'."
                )
        elif isinstance(value, int | np.integer) and not isinstance(value, bool):
            start = end = int(value)
        elif isinstance(value, tuple | list) and len(value) == 2:
            start, end = value
        elif isinstance(value, dict) and {"start", "end"} <= set(value):
            start, end = value["start"], value["end"]
            name = name or value.get("name")
        else:
            raise PeriodError(f"Period {value!r} is not understood: write it as 'YYYY-YYYY', e.g. '2000-2015'.")
        label = f"{start}-{end}"
        return cls(name or label, start, end)

    @property
    def label(self) -> str:
        """The period as ``"2000-2015"``."""
        return f"{self.start}-{self.end}"

    @property
    def years(self) -> list[int]:
        """Every year of the period."""
        return list(range(self.start, self.end + 1))

    @property
    def n_years(self) -> int:
        """Number of years in the period."""
        return self.end - self.start + 1

    def contains(self, year: int) -> bool:
        """Whether ``year`` lies in the period."""
        return self.start <= year <= self.end

    def select(self, obj: xr.DataArray | xr.Dataset) -> Any:
        """Select the years of the period from an object with a ``time`` dimension."""
        yrs = years_of(obj)
        idx = np.flatnonzero((yrs >= self.start) & (yrs <= self.end))
        if idx.size and idx[-1] - idx[0] == idx.size - 1:  # consecutive steps: a slice (dask takes views, not copies)
            return obj.isel(time=slice(int(idx[0]), int(idx[-1]) + 1))
        return obj.isel(time=idx)

    def to_attrs(self, prefix: str = "period") -> dict[str, str | int]:
        """Attributes describing the period, for output metadata."""
        return {f"{prefix}_name": self.name, f"{prefix}_start": self.start, f"{prefix}_end": self.end}

    def __str__(self) -> str:
        return self.label if self.name == self.label else f"{self.name} ({self.label})"


SomePeriod: TypeAlias = Period | str | int | tuple[int, int]


@dataclass(frozen=True)
class ProductivityWindows:
    """The productivity windows of one assessment period (PRAIS 2026 reporting manual, Introduction and §1.2 Step 6)."""

    #: The assessment period the windows belong to.
    period: Period
    #: Trend (trajectory) window, E-15 .. E by default.
    trend: Period
    #: State, historical part, E-15 .. E-3 by default.
    state_baseline: Period
    #: State, recent part, E-2 .. E by default.
    state_recent: Period
    #: Performance window, E-15 .. E by default.
    performance: Period

    def to_attrs(self) -> dict[str, str | int]:
        """Window labels as output metadata."""
        return {
            "assessment_period": self.period.label,
            "trend_window": self.trend.label,
            "state_baseline_window": self.state_baseline.label,
            "state_recent_window": self.state_recent.label,
            "performance_window": self.performance.label,
        }


def productivity_windows(
    period: SomePeriod,
    *,
    end_year: int | None = None,
    trend_years: int = 16,
    state_recent_years: int = 3,
    performance_years: int | None = None,
) -> ProductivityWindows:
    """Derive the productivity windows of a period from its last year of data *E*.

    Parameters
    ----------
    period : Period or str
        The baseline or reporting period, e.g. ``"2016-2023"``.
    end_year : int, optional
        Last year of data *E* (defaults to the period's last year).
    trend_years : int, default 16
        Length of the trend window (E - trend_years + 1 .. E).
    state_recent_years : int, default 3
        Length of the recent State window; the historical window covers the rest of the trend window.
    performance_years : int, optional
        Length of the Performance window (defaults to ``trend_years``).

    Returns
    -------
    ProductivityWindows

    References
    ----------
    PRAIS 2026 §1.2 Step 6, Table 12 (PRAIS 2026 reporting manual, Introduction and §1.2 Step 6).
    """
    p = Period.from_user_input(period)
    e = p.end if end_year is None else int(end_year)
    if trend_years < 3:
        raise PeriodError(f"trend_years must be at least 3, got {trend_years}.")
    if not 1 <= state_recent_years < trend_years - 1:
        raise PeriodError(
            f"state_recent_years must be between 1 and {trend_years - 2}, got {state_recent_years}."
        )
    perf = trend_years if performance_years is None else performance_years
    start = e - trend_years + 1
    return ProductivityWindows(
        period=p,
        trend=Period("trend", start, e),
        state_baseline=Period("state_baseline", start, e - state_recent_years),
        state_recent=Period("state_recent", e - state_recent_years + 1, e),
        performance=Period("performance", e - perf + 1, e),
    )


def years_of(obj: Any) -> np.ndarray:
    """Integer years of the ``time`` coordinate of an xarray object (datetime64 or integer years)."""
    t: np.ndarray = np.asarray(obj["time"].values)
    if np.issubdtype(t.dtype, np.datetime64):
        return np.asarray(pd.DatetimeIndex(t).year.to_numpy(), dtype=int)
    if np.issubdtype(t.dtype, np.integer):
        return t.astype(int)
    try:  # cftime or objects
        return np.array([v.year for v in t], dtype=int)
    except AttributeError as err:
        raise PeriodError(f"Cannot read years from the time coordinate {t[:3]!r}.") from err


def year_band(da: _Series, year: int, *, drop: bool = False) -> _Series:
    """The band of ``year`` of a ``(time, ...)`` series (its first time step in that year).

    Parameters
    ----------
    da : xarray.DataArray or xarray.Dataset
        With a ``time`` coordinate (see :func:`years_of`).
    year : int
        A year the series has (chosen, for instance, with :func:`openldn.core.years.closest_year`).
    drop : bool
        Drop the ``time`` coordinate of the band.
    """
    return da.isel(time=int(np.flatnonzero(years_of(da) == int(year))[0]), drop=drop)


def year_coords(years: list[int] | np.ndarray) -> pd.DatetimeIndex:
    """Time coordinate values (1 January) for a list of years."""
    return pd.DatetimeIndex([pd.Timestamp(year=int(y), month=1, day=1) for y in years], name="time")
