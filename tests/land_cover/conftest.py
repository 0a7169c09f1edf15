"""Fixtures of these tests: a dask scheduler that fails on any compute (laziness checks)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import dask
import pytest


class _NoCompute:
    def __call__(self, dsk: Any, keys: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a compute function triggered a dask compute")


@pytest.fixture
def no_dask_compute() -> Callable[[], AbstractContextManager[None]]:
    """Context manager factory: any dask compute inside raises RuntimeError."""

    @contextmanager
    def manager() -> Iterator[None]:
        with dask.config.set(scheduler=_NoCompute()):
            yield

    return manager
