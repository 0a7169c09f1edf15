"""Helpers for testing code built on openldn (shipped, like xarray.testing and xclim.testing)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["raise_if_dask_computes"]


@contextmanager
def raise_if_dask_computes() -> Iterator[None]:
    """Fail if anything inside the block triggers a dask computation (compute functions must stay lazy).

    Examples
    --------
    >>> import dask.array as dsa, xarray as xr
    >>> from openldn.testing import raise_if_dask_computes
    >>> with raise_if_dask_computes():
    ...     y = xr.DataArray(dsa.ones(4)) + 1  # building the graph is fine
    """
    import dask

    def _refuse(dsk: Any, keys: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a dask computation was triggered inside a block that must stay lazy")

    with dask.config.set(scheduler=_refuse):
        yield
