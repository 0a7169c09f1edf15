"""Atomic file writing: a temporary name in the target folder, renamed on success, removed on failure."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["atomic_path", "sha256_file", "write_table"]


def _tmp_name(path: Path, tag: str = "tmp") -> Path:
    return path.with_name(f".{path.stem}.{tag}-{uuid.uuid4().hex[:12]}{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` on success, delete it on failure.

    The temporary file lives in the same folder as ``path`` (so :func:`os.replace` is an atomic rename on the same
    file system) and keeps the suffix of ``path`` (so drivers that choose the format from the extension work).
    A reader never sees a partial file at ``path``: either the old content or the complete new one.

    Parameters
    ----------
    path : str or os.PathLike
        Final destination. Its folder is created when missing.

    Yields
    ------
    pathlib.Path
        Temporary path to write to.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "a.txt").read_text()
    'hello'
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(final)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"{final}: nothing was written to the temporary file {tmp.name}.")
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    finally:  # GDAL side files of the temporary name (statistics, external overviews)
        for side in (tmp.with_name(tmp.name + ".aux.xml"), tmp.with_name(tmp.name + ".ovr")):
            with contextlib.suppress(FileNotFoundError):
                side.unlink()


def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` as CSV (UTF-8, no index) atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        The table (tidy tables from :mod:`openldn.zonal`).
    path : str or os.PathLike
        Destination ``.csv`` file.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    final = Path(path)
    with atomic_path(final) as tmp:
        df.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
    return final


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in blocks (the one checksum of inputs, outputs and caches)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
