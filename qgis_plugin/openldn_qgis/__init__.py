"""openldn for QGIS: a Processing provider that runs the openldn command line of another Python environment.

The plugin holds no numerical code. It starts ``openldn`` (the executable set in Processing ▸ Options ▸
Providers ▸ openldn, the ``OPENLDN_EXECUTABLE`` environment variable, or ``openldn`` on the PATH) as a subprocess,
streams its progress into the Processing feedback, and loads the maps, admin units and report links of a run.
"""


def classFactory(iface):
    """QGIS plugin entry point."""
    from openldn_qgis.plugin import OpenLDNPlugin

    return OpenLDNPlugin(iface)
