"""Drought alert levels from multi-scale standardised indices and their persistence.

The rule is data (``openldn/data/drought/alert_rules.yaml``, replaceable by a user file): every level above 0 has
a list of clauses (any may hold), each a list of conditions (all must hold), each condition
``{scale, max, months}``: the index at ``scale`` months is at most ``max`` in the month and in the ``months - 1``
months before it. A pixel gets the highest level whose rule holds; a unit the highest level covering at least
``unit_min_share`` of its area (pixels at that level or above). See ``docs/monitoring.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from openldn.core.codes import NODATA
from openldn.core.vocab import read_data_file
from openldn.exceptions import ConfigError

__all__ = ["AlertLevel", "AlertRules", "Condition", "alert_levels", "load_alert_rules", "months_in_a_row", "unit_level"]

DEFAULT_RULES = "drought/alert_rules.yaml"


@dataclass(frozen=True)
class Condition:
    """Index at ``scale`` months <= ``max`` in the month and the ``months - 1`` months before."""

    scale: int
    max: float
    months: int = 1


@dataclass(frozen=True)
class AlertLevel:
    """One alert level: code, key, label, colour and its rule (clauses of conditions)."""

    code: int
    key: str
    label: str
    color: str
    description: str = ""
    clauses: tuple[tuple[Condition, ...], ...] = ()


@dataclass(frozen=True)
class AlertRules:
    """A complete alert rule set (see the module docstring)."""

    levels: tuple[AlertLevel, ...]
    requires_scales: tuple[int, ...] = (1,)
    unit_min_share: float = 0.25
    nodata_label: str = "No data"
    nodata_color: str = "#FFFFFF"
    source: str = DEFAULT_RULES
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def scales(self) -> list[int]:
        """Every scale the rules read (sorted)."""
        s = set(self.requires_scales)
        for lev in self.levels:
            for clause in lev.clauses:
                s.update(c.scale for c in clause)
        return sorted(s)

    @property
    def max_persistence(self) -> int:
        """Longest persistence (months) of any condition."""
        return max([c.months for lev in self.levels for cl in lev.clauses for c in cl] + [1])

    def by_code(self, code: int) -> AlertLevel:
        """The level with this code."""
        for lev in self.levels:
            if lev.code == code:
                return lev
        raise KeyError(code)

    def label(self, code: int) -> str:
        """Label of a code (nodata included)."""
        return self.nodata_label if code == NODATA else self.by_code(code).label

    def legend(self) -> dict[int, tuple[str, str]]:
        """``{code: (label, colour)}`` for maps (levels only; nodata is drawn as no data)."""
        return {lev.code: (lev.label, lev.color) for lev in self.levels}


def _fail(source: str, msg: str) -> ConfigError:
    return ConfigError(f"alert rules {source}: {msg}; see docs/monitoring.md for the format.")


def _condition(doc: Any, source: str, where: str) -> Condition:
    if not isinstance(doc, dict) or set(doc) - {"scale", "max", "months"} or "scale" not in doc or "max" not in doc:
        raise _fail(source, f"{where}: a condition is a mapping {{scale: S, max: T, months: N}}, got {doc!r}")
    try:
        cond = Condition(int(doc["scale"]), float(doc["max"]), int(doc.get("months", 1)))
    except (TypeError, ValueError):
        raise _fail(source, f"{where}: scale and months must be integers and max a number, got {doc!r}") from None
    if not 1 <= cond.scale <= 72 or cond.months < 1:
        raise _fail(source, f"{where}: scale must be 1-72 months and months >= 1, got {doc!r}")
    return cond


def parse_alert_rules(doc: Any, source: str = "<rules>") -> AlertRules:
    """Validate a rule document (the YAML content) into :class:`AlertRules`."""
    if not isinstance(doc, dict) or not isinstance(doc.get("levels"), list) or not doc["levels"]:
        raise _fail(source, "the file must be a mapping with a non-empty 'levels' list")
    unknown = set(doc) - {"id", "name", "nodata", "levels", "requires_scales", "unit_min_share"}
    if unknown:
        raise _fail(source, f"unknown key(s) {sorted(unknown)}")
    levels = []
    for i, lev in enumerate(doc["levels"]):
        where = f"levels[{i}]"
        if not isinstance(lev, dict) or "code" not in lev or "label" not in lev:
            raise _fail(source, f"{where}: each level needs at least 'code' and 'label'")
        extra = set(lev) - {"code", "key", "label", "color", "description", "any"}
        if extra:
            raise _fail(source, f"{where}: unknown key(s) {sorted(extra)}")
        clauses = []
        for j, cl in enumerate(lev.get("any") or []):
            conds = cl.get("all") if isinstance(cl, dict) else None
            if not isinstance(conds, list) or not conds:
                raise _fail(source, f"{where}.any[{j}]: a clause is {{all: [conditions]}}")
            clauses.append(tuple(_condition(c, source, f"{where}.any[{j}]") for c in conds))
        code = int(lev["code"])
        if code != i:
            raise _fail(source, f"{where}: level codes must be 0, 1, 2, ... in order (got {code})")
        if code > 0 and not clauses:
            raise _fail(source, f"{where}: level {code} has no rule ('any')")
        levels.append(AlertLevel(code, str(lev.get("key", lev["label"])).lower(), str(lev["label"]),
                                 str(lev.get("color", "#999999")), str(lev.get("description", "")), tuple(clauses)))
    share = float(doc.get("unit_min_share", 0.25))
    if not 0.0 < share <= 1.0:
        raise _fail(source, f"unit_min_share must be in (0, 1], got {share}")
    nod = doc.get("nodata") or {}
    return AlertRules(
        levels=tuple(levels),
        requires_scales=tuple(int(s) for s in doc.get("requires_scales", [1])),
        unit_min_share=share,
        nodata_label=str(nod.get("label", "No data")),
        nodata_color=str(nod.get("color", "#FFFFFF")),
        source=source,
        raw=doc,
    )


def load_alert_rules(path: str | Path | None = None) -> AlertRules:
    """The alert rules of a YAML file, or the default ``drought/alert_rules.yaml``.

    Raises
    ------
    ConfigError
        The file is missing, not YAML, or not a valid rule set.
    """
    if path is None:
        return parse_alert_rules(read_data_file(DEFAULT_RULES), DEFAULT_RULES)
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"alert rules {p} do not exist: check the path of --rules.")
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"alert rules {p}: not valid YAML: fix the syntax.") from err
    return parse_alert_rules(doc, str(p))


def _holds(index: Mapping[int, np.ndarray], cond: Condition) -> np.ndarray:
    """Where ``cond`` holds at every step (``(time, ...)``; false in the first ``months - 1`` steps)."""
    if cond.scale not in index:
        raise ConfigError(f"alert rules need the {cond.scale}-month index, which was not computed.")
    v = np.asarray(index[cond.scale])
    with np.errstate(invalid="ignore"):
        ok = v <= cond.max  # NaN -> False
    if cond.months == 1:
        return ok
    out = ok.copy()
    for k in range(1, cond.months):
        shifted = np.zeros_like(ok)
        shifted[k:] = ok[:-k]
        out &= shifted
    return out


def alert_levels(index: Mapping[int, np.ndarray], rules: AlertRules) -> np.ndarray:
    """Alert level of every pixel and month.

    Parameters
    ----------
    index : mapping of int to ndarray
        Standardised index by scale (months), each ``(time, ...)`` on one consecutive monthly axis (NaN missing).
        Persistence looks back along axis 0; the first steps see no earlier month (their persistent conditions
        are false), so give ``rules.max_persistence - 1`` extra months before the first month of interest.
    rules : AlertRules

    Returns
    -------
    ndarray of int16, same shape as the arrays
        Level codes; -32768 where the index at any of ``rules.requires_scales`` is missing.
    """
    shape = np.asarray(next(iter(index.values()))).shape
    out = np.zeros(shape, dtype=np.int16)
    for lev in rules.levels:
        if not lev.clauses:
            continue
        hit = np.zeros(shape, dtype=bool)
        for clause in lev.clauses:
            c_ok = np.ones(shape, dtype=bool)
            for cond in clause:
                c_ok &= _holds(index, cond)
            hit |= c_ok
        out[hit] = np.maximum(out[hit], lev.code)
    for s in rules.requires_scales:
        if s not in index:
            raise ConfigError(f"alert rules need the {s}-month index, which was not computed.")
        out[np.isnan(np.asarray(index[s], dtype=float))] = NODATA
    return out


def unit_level(shares: Mapping[int, float], rules: AlertRules) -> int:
    """A unit's level from the area share of each pixel level (nodata excluded from neither numerator nor rule).

    Parameters
    ----------
    shares : mapping of int to float
        Share (0-1) of the unit's area at each level code.
    rules : AlertRules

    Returns
    -------
    int
        The highest level ``L`` with ``sum(shares[l] for l >= L) >= rules.unit_min_share``, else 0 (or -32768
        when the whole unit is nodata).
    """
    codes = sorted((c for c in shares if c != NODATA), reverse=True)
    total = 0.0
    for c in codes:
        total += float(shares[c])
        if c > 0 and total >= rules.unit_min_share - 1e-12:
            return int(c)
    if shares and sum(float(v) for c, v in shares.items() if c != NODATA) <= 0.0:
        return NODATA
    return 0


def months_in_a_row(levels: np.ndarray, minimum: int = 1) -> np.ndarray:
    """Months in a row, ending at the last step, at level ``minimum`` or above ("since when", per pixel).

    Parameters
    ----------
    levels : ndarray of int (time, ...)
        Alert levels of consecutive months (nodata -32768 breaks a run).
    minimum : int
        Lowest level that counts.

    Returns
    -------
    ndarray of int16 (...)
        The run length (0 when the last month is below ``minimum``; at most the number of steps, so a run
        reaching the first step may be longer); -32768 where the last month has no level.
    """
    lv = np.asarray(levels)
    on = (lv >= minimum) & (lv != NODATA)
    run = np.zeros(lv.shape[1:], dtype=np.int16)
    alive = np.ones(lv.shape[1:], dtype=bool)
    for t in range(lv.shape[0] - 1, -1, -1):
        alive &= on[t]
        run += alive
    run[lv[-1] == NODATA] = NODATA
    return run
