"""Settings from OPENLDN_* environment variables, and the web package's import hygiene."""

from __future__ import annotations

import subprocess
import sys

from openldn.web.settings import Settings


def test_settings__defaults_bind_loopback(monkeypatch) -> None:
    for name in ("OPENLDN_HOST", "OPENLDN_PORT", "OPENLDN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.token is None


def test_settings__read_from_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("OPENLDN_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("OPENLDN_HOST", "0.0.0.0")
    monkeypatch.setenv("OPENLDN_PORT", "9001")
    monkeypatch.setenv("OPENLDN_TOKEN", "t0k")
    monkeypatch.setenv("OPENLDN_MAX_UPLOAD_MB", "2.5")
    settings = Settings()
    assert settings.root == (tmp_path / "d").resolve() and settings.root.is_dir()
    assert (settings.host, settings.port, settings.token) == ("0.0.0.0", 9001, "t0k")
    assert settings.max_upload_bytes == int(2.5 * 1024 * 1024)
    assert settings.db_path == settings.root / "openldn.sqlite"


def test_import__openldn_web_does_not_import_fastapi() -> None:
    code = "import sys, openldn.web; print('fastapi' in sys.modules, 'uvicorn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
