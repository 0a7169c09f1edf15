"""Fixtures of the QGIS plugin tests: the built plugin, a Python that imports PyQGIS, qgis_process, the driver.

Debian's PyQGIS belongs to the system Python (/usr/bin/python3) while the tests may run in another Python: the
QGIS side runs in a subprocess (tests/qgis/qgis_driver.py) with the first Python that imports ``qgis.core``, and
the plugin calls openldn through the test Python (``python -m openldn``), as it would call the openldn of a user's
own environment.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).resolve().with_name("qgis_driver.py")
INSTALL_HINT = "install Debian's qgis and python3-qgis (.ci/run does, as root)"


def _build_module() -> Any:
    spec = importlib.util.spec_from_file_location("openldn_build_qgis_plugin", REPO / "scripts" /
                                                  "build_qgis_plugin.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def build_plugin() -> Any:
    """The build script as a module (``build(out_dir)``, ``version()``)."""
    return _build_module()


@pytest.fixture(scope="session")
def plugin_zip(build_plugin: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin zip, built by scripts/build_qgis_plugin.py."""
    return Path(build_plugin.build(tmp_path_factory.mktemp("qgis_dist")))


@pytest.fixture(scope="session")
def plugin_path(plugin_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plugins folder holding the plugin unzipped from the built zip (what 'Install from ZIP' does)."""
    folder = tmp_path_factory.mktemp("qgis_plugins")
    with zipfile.ZipFile(plugin_zip) as zf:
        zf.extractall(folder)
    return folder


@pytest.fixture(scope="session")
def qgis_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment of the QGIS processes: offscreen Qt, a throw-away QGIS profile."""
    config = tmp_path_factory.mktemp("qgis_profile")
    runtime = tmp_path_factory.mktemp("xdg_runtime")
    runtime.chmod(0o700)
    env = dict(os.environ)
    env.update({"QT_QPA_PLATFORM": "offscreen", "QGIS_CUSTOM_CONFIG_PATH": str(config),
                "XDG_RUNTIME_DIR": str(runtime), "QGIS_DEBUG": "-1"})
    for key in ("PYTHONPATH", "PYTHONHOME", "OPENLDN_EXECUTABLE", "VIRTUAL_ENV", "PYENV_VERSION"):
        env.pop(key, None)
    # QGIS's embedded Python finds its home from the first python3 on the PATH: keep the test Python's folders
    # (pyenv, a virtualenv) off it, or QGIS's Python would load the standard library of another Python.
    own = {str(Path(sys.executable).parent), str(Path(sys.executable).resolve().parent), sys.prefix}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and p not in own and not p.startswith(sys.prefix) and "pyenv" not in p)
    return env


@pytest.fixture(scope="session")
def qgis_python(qgis_env: dict[str, str]) -> str:
    """A Python that imports PyQGIS: this one, else the system Python (skips without PyQGIS)."""
    tried = []
    for candidate in (sys.executable, "/usr/bin/python3", shutil.which("python3")):
        if not candidate or not Path(candidate).exists() or candidate in tried:
            continue
        tried.append(candidate)
        try:
            proc = subprocess.run([candidate, "-c", "import qgis.core"], env=qgis_env, capture_output=True,
                                  timeout=180)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if proc.returncode == 0:
            return candidate
    pytest.skip(f"PyQGIS is not importable by {', '.join(tried)}: {INSTALL_HINT}")


@pytest.fixture(scope="session")
def qgis_process(qgis_env: dict[str, str]) -> list[str]:
    """The qgis_process command (skips without it). Debian's wrapper script passes an option its qgis_process
    3.22 does not know (--noversioncheck); then the binary it wraps, qgis_process.bin, is used."""
    for name in ("qgis_process", "qgis_process-qgis", "qgis_process-qgis-ltr"):
        exe = shutil.which(name)
        if not exe:
            continue
        for candidate in (exe, exe + ".bin"):
            if not Path(candidate).exists():
                continue
            proc = subprocess.run([candidate, "--version"], env=qgis_env, capture_output=True, text=True,
                                  timeout=180)
            if proc.returncode == 0 and "not known" not in proc.stdout + proc.stderr:
                return [candidate]
    pytest.skip(f"qgis_process was not found or does not run: {INSTALL_HINT}")


@pytest.fixture(scope="session")
def openldn_exe() -> str:
    """What the plugin's setting points at: the Python of the environment where openldn is installed."""
    return sys.executable


@pytest.fixture
def run_driver(qgis_python: str, qgis_env: dict[str, str], plugin_path: Path, openldn_exe: str,
               tmp_path: Path) -> Any:
    """``run_driver(calls, layers=[], links=None)``: the driver's JSON result (see tests/qgis/qgis_driver.py)."""

    def run(calls: list[dict[str, Any]], layers: list[dict[str, Any]] | None = None,
            timeout: float = 1200, links: str | None = None) -> dict[str, Any]:
        spec = {"plugin_path": str(plugin_path), "openldn": openldn_exe, "calls": calls, "layers": layers or [],
                "links": links}
        spec_path = tmp_path / "driver_spec.json"
        result_path = tmp_path / "driver_result.json"
        spec_path.write_text(json.dumps(spec))
        proc = subprocess.run([qgis_python, str(DRIVER), str(spec_path), str(result_path)], env=qgis_env,
                              capture_output=True, text=True, timeout=timeout, cwd=tmp_path)
        assert proc.returncode == 0 and result_path.is_file(), \
            f"QGIS driver failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return json.loads(result_path.read_text())

    return run


def _openldn_error(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "openldn", *args], capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0, proc.stdout
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("Error: ")]
    assert len(lines) == 1, proc.stderr
    return lines[0][len("Error: "):].strip()


@pytest.fixture(scope="session")
def openldn_error() -> Any:
    """``openldn_error(*args)``: openldn's own one-line error for ``openldn <args>`` (what the plugin must relay)."""
    return _openldn_error
