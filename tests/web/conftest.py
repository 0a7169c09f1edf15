"""Fixtures of the web tests: an app on a temporary data folder whose worker runs a fake pipeline."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the helper modules next to this file, whatever pytest's import mode
    sys.path.insert(0, str(HERE))

from _web_fakes import fake_demo, fake_validate  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from openldn.web import library  # noqa: E402
from openldn.web.app import create_app  # noqa: E402
from openldn.web.settings import Settings  # noqa: E402

FAKE_PIPELINE = "_web_fake_pipeline:run_assessment"


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the worker processes find the fake pipeline, and fake the library calls of the web layer."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setattr(library, "validate_run_file", fake_validate)
    monkeypatch.setattr(library, "make_demo", fake_demo)


@pytest.fixture
def make_client(tmp_path: Path, fake_env: None) -> Iterator[Callable[..., TestClient]]:
    """Factory of test clients on one data folder (several calls simulate server restarts)."""
    clients: list[TestClient] = []

    def factory(**overrides: Any) -> TestClient:
        # the test client names its host 'testserver'; without an explicit token the tests opt out of it (loopback)
        overrides = {"auth": "token" in overrides, "allowed_hosts": ["testserver"], **overrides}
        settings = Settings(data_dir=tmp_path / "data", pipeline=FAKE_PIPELINE, **overrides)
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        with contextlib.suppress(Exception):
            client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """A test client without token."""
    return make_client()


def _wait_for(client: TestClient, run_id: str, states: tuple[str, ...], timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run.get("status") in states:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not reach {states}: {run}")


@pytest.fixture
def wait_for() -> Callable[..., dict[str, Any]]:
    """``wait_for(client, run_id, states, timeout=60)`` polls a run until it reaches one of ``states``."""
    return _wait_for
