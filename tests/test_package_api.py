"""Public surface and import hygiene."""

from __future__ import annotations

import json
import subprocess
import sys

import openldn

HEAVY = ["fastapi", "uvicorn", "starlette", "matplotlib", "xlsxwriter", "jinja2", "typer", "rich", "distributed",
         "pystac_client", "odc.stac", "rio_tiler", "geopandas", "exactextract"]


def test_import_openldn_stays_light() -> None:
    code = "import json, sys, openldn; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out))
    assert not [m for m in HEAVY if m in loaded]


def test_public_api() -> None:
    assert openldn.__all__ == sorted(openldn.__all__)
    for name in openldn.__all__:
        assert hasattr(openldn, name)
    assert {"pixel_area", "Period", "OpenLDNError", "__version__"} <= set(openldn.__all__)


def test_errors_inherit_builtins() -> None:
    from openldn import exceptions as ex

    assert issubclass(ex.ConfigError, ValueError)
    assert issubclass(ex.InputFileError, FileNotFoundError)
    assert issubclass(ex.DataAccessError, ConnectionError)
    for name in ex.__all__:
        cls = getattr(ex, name)
        if name != "OpenLDNWarning":
            assert issubclass(cls, ex.OpenLDNError)


def test_version_cli() -> None:
    out = subprocess.run([sys.executable, "-m", "openldn", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"openldn {openldn.__version__}"
