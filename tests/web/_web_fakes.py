"""Stand-ins for the library calls of the web layer, used by the web tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openldn.exceptions import ConfigError


def fake_validate(data: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """Stand-in for ``openldn.config.load_assessment``: requires a 'name' and a 'baseline' like 2000-2015."""
    if not isinstance(data, dict) or "name" not in data:
        raise ConfigError("<assessment>: 'name' is required; add name: <text>")
    baseline = str(data.get("baseline", "2000-2015"))
    if len(baseline.split("-")) != 2:
        raise ConfigError(f"<assessment>: baseline {baseline!r} is not a period like 2000-2015")
    return data


def fake_demo(out_dir: Path) -> Path:
    """Stand-in for ``openldn.datasets.make_demo``: writes a run file only."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "assessment.yaml"
    path.write_text("name: Demo country\nbaseline: 2000-2015\n", encoding="utf-8")
    return path
