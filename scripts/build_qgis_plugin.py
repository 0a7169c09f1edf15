"""Build the QGIS plugin zip: ``python scripts/build_qgis_plugin.py [--out dist]``.

The zip holds the folder ``openldn_qgis/`` (what QGIS's "Install from ZIP" expects) with the plugin's sources, its
icon and its ``metadata.txt``, whose ``version`` is set to the openldn version of ``pyproject.toml`` (one version for
the engine and the plugin). Caches and tests are left out.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "qgis_plugin" / "openldn_qgis"
INCLUDED = {".py", ".txt", ".svg", ".png", ".qml", ".md"}


def version() -> str:
    """The openldn version declared in ``pyproject.toml``."""
    with (REPO / "pyproject.toml").open("rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


def build(out_dir: Path) -> Path:
    """Write ``openldn_qgis-<version>.zip`` into ``out_dir`` and return its path."""
    ver = version()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"openldn_qgis-{ver}.zip"
    files = sorted(p for p in PLUGIN.rglob("*")
                   if p.is_file() and p.suffix in INCLUDED and "__pycache__" not in p.parts)
    if not (PLUGIN / "metadata.txt").is_file() or not (PLUGIN / "__init__.py").is_file():
        raise SystemExit(f"{PLUGIN}: metadata.txt or __init__.py is missing")
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        folder = zipfile.ZipInfo(f"{PLUGIN.name}/", date_time=(2020, 1, 1, 0, 0, 0))
        folder.external_attr = (0o40755 << 16) | 0x10
        zf.writestr(folder, b"")
        for path in files:
            arcname = f"{PLUGIN.name}/{path.relative_to(PLUGIN).as_posix()}"
            data = path.read_bytes()
            if path.name == "metadata.txt":
                text, n = re.subn(r"(?m)^version=.*$", f"version={ver}", data.decode("utf-8"))
                if n != 1:
                    raise SystemExit(f"{path}: expected one 'version=' line, found {n}")
                data = text.encode("utf-8")
            info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))  # reproducible zip
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    tmp.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist", help="Output folder (default: dist/).")
    args = parser.parse_args(argv)
    path = build(args.out)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
