"""The QGIS plugin: registers the openldn Processing provider."""

from __future__ import annotations

from typing import Any

from qgis.core import QgsApplication

from openldn_qgis.provider import OpenLDNProvider


class OpenLDNPlugin:
    """Adds the openldn provider to the Processing registry (also in ``qgis_process``, which calls initProcessing)."""

    def __init__(self, iface: Any = None) -> None:
        self.iface = iface
        self.provider: OpenLDNProvider | None = None

    def initProcessing(self) -> None:
        """Register the provider."""
        if self.provider is None:
            self.provider = OpenLDNProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:
        """Called by QGIS when the plugin is loaded in the application."""
        self.initProcessing()

    def unload(self) -> None:
        """Remove the provider."""
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
