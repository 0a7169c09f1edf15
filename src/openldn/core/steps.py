"""Computations written as steps, run side by side so that each round of all of them is one compute.

A step generator yields the list of things it needs computed (dask ``Delayed`` objects, pieces of a grid...), is
sent the list of their results, and eventually returns its own result. :func:`drive` runs several such generators
together: every round, what they all need is handed to one ``run`` call. The unit percentiles of every period
(:mod:`openldn.productivity.performance`) and the zonal tables of a stage (:func:`openldn.zonal.compute_tables`)
are computed this way: on a cluster, where every compute has a fixed cost, a round is one compute for all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, TypeVar

__all__ = ["Steps", "drive"]

_R = TypeVar("_R")

#: A step generator: yields what it needs, is sent their results (a list as long), returns its result.
Steps = Generator[list[Any], list[Any], _R]


def drive(
    started: Mapping[Any, tuple[Steps[_R], list[Any]]], run: Callable[[list[Any]], Sequence[Any]]
) -> dict[Any, _R]:
    """Run started step generators side by side until each returns.

    Parameters
    ----------
    started : mapping
        ``{name: (generator, what it first yielded)}``: each generator has been advanced to its first yield (so
        that what it checks before needing anything fails there, when it is created).
    run : callable
        Computes a list of needs, returning their results in the same order; called once per round with the
        needs of every generator still running.

    Returns
    -------
    dict
        ``{name: what its generator returned}``.
    """
    done: dict[Any, _R] = {}
    pending = dict(started)
    while pending:
        got = list(run([need for _, needs in pending.values() for need in needs]))
        following = {}
        k = 0
        for name, (steps, needs) in pending.items():
            mine, k = got[k : k + len(needs)], k + len(needs)
            try:
                following[name] = (steps, steps.send(mine))
            except StopIteration as stop:
                done[name] = stop.value
        pending = following
    return done

