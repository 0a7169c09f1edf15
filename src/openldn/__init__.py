"""openldn: offline computation, mapping and reporting of the UNCCD land degradation indicators.

The public API is small; domain functions live in their packages (``openldn.productivity``,
``openldn.land_cover``, ``openldn.soil_carbon``, ``openldn.integration``, ``openldn.drought``).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from openldn.core.grid import pixel_area
from openldn.core.periods import Period, productivity_windows
from openldn.exceptions import OpenLDNError

try:
    __version__ = version("openldn")
except PackageNotFoundError:  # pragma: no cover - source tree without install
    __version__ = "0.0.0"

__all__ = ["OpenLDNError", "Period", "__version__", "pixel_area", "productivity_windows"]

#: Domain packages reachable as attributes (imported on first use, so ``import openldn`` stays light).
_SUBPACKAGES = frozenset(
    {"catalog", "datasets", "drought", "integration", "io", "land_cover", "pipeline", "productivity", "reporting",
     "soil_carbon", "zonal"}
)


def __getattr__(name: str) -> object:
    if name in _SUBPACKAGES:
        import importlib

        return importlib.import_module(f"openldn.{name}")
    raise AttributeError(f"module 'openldn' has no attribute {name!r}")
