"""Names of the plugin's settings (stored by QGIS under the Processing configuration)."""

#: Name of the Processing setting holding the openldn executable (or the Python of its environment, or the folder
#: of the environment).
EXECUTABLE_SETTING = "OPENLDN_EXECUTABLE"

#: Its QgsSettings key (the one ``processing.core.ProcessingConfig.Setting`` reads and writes).
EXECUTABLE_KEY = "Processing/Configuration/" + EXECUTABLE_SETTING
