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


def _load_fake_context() -> type:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "land_cover" / "fake_context.py"
    spec = importlib.util.spec_from_file_location("openldn_tests_fake_context", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FakeContext


@pytest.fixture
def fake_context() -> type:
    """The FakeContext class of tests/land_cover/fake_context.py."""
    return _load_fake_context()
