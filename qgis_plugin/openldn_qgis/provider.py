"""The openldn Processing provider and its setting (the openldn executable)."""

from __future__ import annotations

import os
import shutil
from typing import Any

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from openldn_qgis import algorithms
from openldn_qgis.settings import EXECUTABLE_SETTING

_ICON = os.path.join(os.path.dirname(__file__), "icon.svg")


def _processing_config() -> Any:
    """``processing.core.ProcessingConfig`` (its Options dialog shows provider settings), or None without it."""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig, Setting
    except ImportError:
        return None
    return ProcessingConfig, Setting


class OpenLDNProvider(QgsProcessingProvider):
    """Processing provider ``openldn``: algorithms that run the openldn command line out of process."""

    def id(self) -> str:
        return "openldn"

    def name(self) -> str:
        return "openldn"

    def longName(self) -> str:
        return "openldn: UNCCD land degradation indicators (SDG 15.3.1, SO1-SO3)"

    def icon(self) -> QIcon:
        return QIcon(_ICON)

    def svgIconPath(self) -> str:
        return _ICON

    def load(self) -> bool:
        """Register the setting with the path of the openldn executable (Processing ▸ Options ▸ Providers)."""
        config = _processing_config()
        if config is not None:
            processing_config, setting = config
            processing_config.settingIcons[self.name()] = self.icon()
            processing_config.addSetting(setting(
                self.name(), EXECUTABLE_SETTING,
                "openldn executable, or the Python (or folder) of the environment where openldn is installed",
                shutil.which("openldn") or "", valuetype=setting.FILE))
            processing_config.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self) -> None:
        config = _processing_config()
        if config is not None and EXECUTABLE_SETTING in config[0].settings:
            config[0].removeSetting(EXECUTABLE_SETTING)

    def loadAlgorithms(self) -> None:
        for cls in algorithms.ALGORITHMS:
            self.addAlgorithm(cls())
