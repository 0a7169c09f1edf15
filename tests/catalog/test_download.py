"""Resumable downloads: interruption, resume with Range, backoff, checksum verification."""

from __future__ import annotations

import hashlib

import pytest

from openldn.catalog.download import ChecksumMismatchError, download_file, multihash_to_sha256
from openldn.exceptions import DataAccessError


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_file__interrupted_download_is_resumed_with_range(stac_server, tmp_path, cache_dir) -> None:
    src = stac_server.root / "data" / "lc_2000.tif"
    size = src.stat().st_size
    stac_server.flaky["lc_2000.tif"] = size // 3
    n_before = len(stac_server.requests_to("/data/lc_2000.tif"))
    target = tmp_path / "dl" / "lc.tif"
    download_file(f"{stac_server.url}/data/lc_2000.tif", target, sha256=_sha(src), dataset="test_lc", backoff=0)
    assert _sha(target) == _sha(src)
    reqs = stac_server.requests_to("/data/lc_2000.tif")[n_before:]
    assert len(reqs) == 2
    assert reqs[0]["range"] is None
    assert reqs[1]["range"] == f"bytes={size // 3}-"  # only the missing bytes were asked for
    assert not target.with_name("lc.tif.part").exists()


def test_download_file__resumes_across_calls(stac_server, tmp_path, cache_dir) -> None:
    src = stac_server.root / "data" / "lc_2001.tif"
    size = src.stat().st_size
    stac_server.flaky["lc_2001.tif"] = size // 2
    target = tmp_path / "lc.tif"
    url = f"{stac_server.url}/data/lc_2001.tif"
    with pytest.raises(DataAccessError, match=r"partial file is kept.*openldn fetch"):
        download_file(url, target, dataset="test_lc", retries=0)
    part = target.with_name("lc.tif.part")
    assert part.stat().st_size == size // 2
    progress = []
    download_file(url, target, dataset="test_lc", retries=0, progress=lambda d, n, t: progress.append((n, t)))
    assert _sha(target) == _sha(src)
    assert progress[-1] == (size, size) and progress[0][0] > size // 2  # the second call started mid-file
    assert stac_server.requests_to("/data/lc_2001.tif")[-1]["range"] == f"bytes={size // 2}-"


def test_download_file__checksum_mismatch_is_detected(stac_server, tmp_path, cache_dir) -> None:
    target = tmp_path / "x.tif"
    with pytest.raises(ChecksumMismatchError, match="checksum mismatch") as err:
        download_file(f"{stac_server.url}/data/lc_2002.tif", target, sha256="0" * 64, dataset="test_lc")
    assert isinstance(err.value, DataAccessError)
    assert not target.exists() and not target.with_name("x.tif.part").exists()


def test_download_file__http_errors(stac_server, tmp_path, cache_dir) -> None:
    n_before = len(stac_server.requests_to("/data/missing.tif"))
    with pytest.raises(DataAccessError, match="answered HTTP 404: check the URL"):
        download_file(f"{stac_server.url}/data/missing.tif", tmp_path / "m.tif", dataset="d", backoff=0)
    assert len(stac_server.requests_to("/data/missing.tif")) == n_before + 1  # a 404 is not retried
    with pytest.raises(DataAccessError, match="failed after 2 attempts"):
        download_file("http://127.0.0.1:9/x.tif", tmp_path / "n.tif", dataset="d", retries=1, backoff=0)
    stac_server.down = True
    try:
        with pytest.raises(DataAccessError, match="HTTP 503"):
            download_file(f"{stac_server.url}/data/lc_2003.tif", tmp_path / "o.tif", dataset="d", retries=1, backoff=0)
    finally:
        stac_server.down = False


def test_multihash_to_sha256() -> None:
    digest = "ab" * 32
    assert multihash_to_sha256("1220" + digest) == digest
    assert multihash_to_sha256(digest.upper()) == digest
    assert multihash_to_sha256("1114" + "00" * 20) is None and multihash_to_sha256(None) is None
