"""Year selection: the one rule for picking an available year in place of a wanted one.

Every stage that needs "the land cover of year Y", "the population of year Y" or "the SOC stock of year Y" asks
:func:`closest_year`; the pipeline records each substitution (a year served by another) so that ``validate`` can
warn about it and the report can list it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from openldn.exceptions import MissingYearError

__all__ = ["YearChoice", "closest_year"]


@dataclass(frozen=True)
class YearChoice:
    """The year used for a wanted year.

    Attributes
    ----------
    wanted : int
        The year the computation asked for.
    used : int
        The available year that serves it (the closest; the earlier one on ties).
    what : str
        What the year is for, in words ("land cover for the water mask"), used in the substitution note.
    """

    wanted: int
    used: int
    what: str

    @property
    def substituted(self) -> bool:
        """Whether another year serves the wanted one."""
        return self.used != self.wanted

    def note(self) -> str:
        """One-line substitution note (empty when the wanted year is available)."""
        if not self.substituted:
            return ""
        return f"{self.what}: year {self.wanted} is not in the input; year {self.used} is used instead"


def closest_year(available: Iterable[int], wanted: int, *, what: str, max_gap: int | None = None) -> YearChoice:
    """Pick the available year closest to ``wanted`` (the earlier one on ties).

    Parameters
    ----------
    available : iterable of int
        Years present in the input.
    wanted : int
        Year the computation needs.
    what : str
        What the year is for (appears in errors and substitution notes).
    max_gap : int, optional
        Largest accepted distance in years; ``None`` accepts any distance.

    Returns
    -------
    YearChoice

    Raises
    ------
    MissingYearError
        No year is available, or the closest is more than ``max_gap`` years away.
    """
    years = sorted({int(y) for y in available})
    if not years:
        raise MissingYearError(f"{what}: no year is available; give at least one year in the input.")
    used = min(years, key=lambda y: (abs(y - int(wanted)), y))
    if max_gap is not None and abs(used - int(wanted)) > max_gap:
        raise MissingYearError(
            f"{what}: year {wanted} is missing and the closest year {used} is more than {max_gap} years away; "
            f"add {wanted} to the input or widen max_year_gap."
        )
    return YearChoice(wanted=int(wanted), used=used, what=what)
