"""Annual vegetation index from sub-annual composites (catalogue side).

The implementation is :func:`openldn.core.annual.annual_composite`, shared with local files
(:mod:`openldn.io.subannual`): one aggregation for both.
"""

from __future__ import annotations

from openldn.core.annual import METHODS, Method, annual_composite

__all__ = ["METHODS", "Method", "annual_composite"]
