"""Whole-run progress: which stage runs, what share of the whole run is done, and the time left.

The pipeline reports ``progress(stage, done, total, message)`` per stage (``done/total`` of that stage). A run's
stages do not cost the same (the productivity trend over every pixel and year dominates), so each stage has a
weight: the seconds it took in the project's last finished run when known, otherwise a relative cost from
:data:`DEFAULT_WEIGHTS`. The share of the run done is the weight of the finished stages plus the done part of the
running one, over the total; the time left extrapolates the seconds spent on the work done in this attempt (stages
resumed from a checkpoint cost nothing and are left out of the rate).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEFAULT_WEIGHTS", "RunProgress", "finished_stage_files", "stage_timings"]

#: Relative cost of each stage of the pipeline when no earlier timing is known (measured shares of a demo run,
#: rounded); a stage not listed weighs 1.
DEFAULT_WEIGHTS: dict[str, float] = {
    "land_cover": 2.0,
    "productivity": 5.0,
    "soil_carbon": 1.5,
    "integration": 2.0,
    "drought": 2.0,
    "population": 1.0,
    "reporting": 2.0,
}
#: Stage names the pipeline uses for the whole run rather than for one stage.
_WHOLE_RUN = {"run", "done"}


def finished_stage_files(out_dir: Path) -> dict[str, dict[str, list[str]]]:
    """The files each finished stage of a run in progress wrote in its staging area, readable before the run ends.

    Read from the run's checkpoint state (``.openldn/state.json``): each stage marked done lists its map outputs
    (``outputs``: paths inside ``.openldn/staging``) and its tables (``tables``: keys, written as
    ``tables/<key>.csv``).

    Parameters
    ----------
    out_dir : pathlib.Path
        The run's output folder.

    Returns
    -------
    dict
        Stage name -> ``{"maps": [...], "tables": [...]}``, paths relative to the staging area, in the order the
        stages finished; empty when the state cannot be read.
    """
    path = out_dir / ".openldn" / "state.json"
    try:
        stages = json.loads(path.read_text(encoding="utf-8")).get("stages") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    out: dict[str, dict[str, list[str]]] = {}
    for name, stage in stages.items() if isinstance(stages, dict) else []:
        if not (isinstance(stage, dict) and stage.get("done")):
            continue
        maps = [str(e["path"]) for e in stage.get("outputs") or [] if isinstance(e, dict) and e.get("path")]
        keys = [str(k) for k in stage.get("tables") or [] if isinstance(k, str) and k]
        out[str(name)] = {"maps": maps, "tables": [f"tables/{k}.csv" for k in keys]}
    return out


def stage_timings(out_dir: Path) -> dict[str, float]:
    """Seconds per stage of a finished run, from its checkpoint state (``.openldn/state.json`` ``timings``)."""
    path = out_dir / ".openldn" / "state.json"
    try:
        timings = json.loads(path.read_text(encoding="utf-8")).get("timings") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(k): float(v) for k, v in timings.items() if k != "total" and isinstance(v, int | float) and v > 0}


@dataclass
class RunProgress:
    """Progress of one run attempt across its stages.

    Parameters
    ----------
    stages : iterable of str
        The stages the run executes, in order (may be empty: stages are then learnt as they are reported).
    timings : dict, optional
        Seconds per stage of an earlier run of the same project (the weights); missing stages take
        :data:`DEFAULT_WEIGHTS` scaled to the known ones.
    clock : callable, optional
        Time source (seconds); :func:`time.monotonic` by default.
    """

    stages: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    current: str = ""
    fraction: float = 0.0
    _done: set[str] = field(default_factory=set)
    _resumed: set[str] = field(default_factory=set)
    _part: float = 0.0
    _stage_start: float = 0.0
    _work_start: float | None = None
    _worked_weight: float = 0.0
    _worked_seconds: float = 0.0

    def __post_init__(self) -> None:
        self.stages = list(dict.fromkeys(self.stages))
        self._planned = bool(self.stages)

    # -- weights ------------------------------------------------------------------------------------------------
    def weight(self, stage: str) -> float:
        """The weight of one stage (seconds of an earlier run, or the default relative cost)."""
        if stage in self.timings:
            return self.timings[stage]
        default = DEFAULT_WEIGHTS.get(stage, 1.0)
        known = [s for s in self.stages if s in self.timings]
        if known:  # scale the defaults to the seconds of the stages that have a timing
            scale = sum(self.timings[s] for s in known) / sum(DEFAULT_WEIGHTS.get(s, 1.0) for s in known)
            return default * scale
        return default

    def _total(self) -> float:
        total = sum(self.weight(s) for s in self.stages)
        # without a plan, the stages still to come are unknown: count one more of average weight
        return (total + total / max(1, len(self.stages)) if not self._planned else total) or 1.0

    def _rate(self) -> float | None:
        """Seconds per unit of weight: measured in this attempt, else 1 when the weights are earlier seconds."""
        if self._worked_weight > 0 and self._worked_seconds > 0:
            return self._worked_seconds / self._worked_weight
        if self.timings and all(s in self.timings for s in self.stages):
            return 1.0
        return None

    # -- updates ------------------------------------------------------------------------------------------------
    def update(self, stage: str, done: int = 0, total: int = 0, message: str = "") -> float:
        """Record one progress report and return the share of the whole run done (0-1)."""
        now = float(self.clock())
        if stage in _WHOLE_RUN:
            if total and done >= total:
                self.fraction, self.current = 1.0, stage
            return self.fraction
        if stage not in self.stages:
            self.stages.append(stage)
        if stage != self.current:
            self._stage_start = now
        index = self.stages.index(stage)
        self._done.update(self.stages[:index])  # stages before the running one are finished (or resumed)
        part = min(1.0, max(0.0, done / total)) if total else 0.0
        if "resumed from checkpoint" in (message or ""):
            self._resumed.add(stage)
        elif self._work_start is None:
            self._work_start = now  # the first stage computed in this attempt: the rate is measured from here
        if part >= 1.0 and stage not in self._done:
            self._done.add(stage)
            if stage not in self._resumed and self._work_start is not None:
                self._worked_weight += self.weight(stage)
                self._worked_seconds = now - self._work_start
        self.current = stage
        self._part = 0.0 if stage in self._done else part
        self.fraction = max(self.fraction, self._estimate(now))
        return self.fraction

    def _estimate(self, now: float) -> float:
        done_weight = sum(self.weight(s) for s in self._done)
        running = self.current if self.current in self.stages and self.current not in self._done else None
        if running is not None:
            part = self._part
            rate = self._rate()
            if rate is not None:  # the running stage advances with its expected duration (never past 95 %)
                part = max(part, min(0.95, (now - self._stage_start) / (self.weight(running) * rate)))
            done_weight += self.weight(running) * part
        return min(1.0, done_weight / self._total())

    def tick(self) -> float:
        """Re-estimate the share done now (the running stage advances with the time spent in it)."""
        if self.fraction < 1.0 and self.current:
            self.fraction = max(self.fraction, self._estimate(float(self.clock())))
        return self.fraction

    def stage_index(self) -> tuple[int, int]:
        """1-based position of the current stage and the number of stages (0 before any report)."""
        if self.current not in self.stages:
            return (len(self.stages) if self.fraction >= 1.0 else 0), len(self.stages)
        return self.stages.index(self.current) + 1, len(self.stages)

    def eta(self) -> float | None:
        """Seconds left; None until a rate is known (a stage computed in this attempt, or earlier timings)."""
        if self.fraction >= 1.0:
            return 0.0
        rate = self._rate()
        if rate is None:
            return None
        now = float(self.clock())
        left = sum(self.weight(s) for s in self.stages if s not in self._done) * rate
        if self.current in self.stages and self.current not in self._done:
            left -= min(now - self._stage_start, 0.95 * self.weight(self.current) * rate)
        return max(0.0, left)


def plan_from(names: Iterable[str]) -> list[str]:
    """Stage names in order, without repeats."""
    return list(dict.fromkeys(str(n) for n in names))
