"""Run the openldn QGIS plugin's algorithms headless in PyQGIS and describe what happened, as JSON.

Run by the tests with a Python that imports ``qgis`` (Debian's /usr/bin/python3 when the test Python cannot):
``python qgis_driver.py spec.json result.json``. The spec gives the plugin folder, the openldn executable (stored
in the plugin's QGIS setting), layers to add to the project and the algorithm calls; the result has, per call, the
outputs or the error and everything the feedback received, then the project's layer tree.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any


def _processing_path() -> None:
    """Put QGIS's bundled ``processing`` package on sys.path (it lives with the QGIS plugins)."""
    from qgis.core import QgsApplication

    for base in (QgsApplication.pkgDataPath(), "/usr/share/qgis", "/usr/lib/qgis"):
        path = os.path.join(base, "python", "plugins")
        if os.path.isdir(os.path.join(path, "processing")) and path not in sys.path:
            sys.path.append(path)


def main(spec_path: str, result_path: str) -> int:
    with open(spec_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, spec["plugin_path"])

    from qgis.core import (
        QgsApplication,
        QgsLayerTreeGroup,
        QgsLayerTreeLayer,
        QgsProcessingFeedback,
        QgsProject,
        QgsRasterLayer,
        QgsSettings,
        QgsVectorLayer,
    )

    app = QgsApplication([], True)  # with widgets (offscreen): the message bar
    app.initQgis()
    _processing_path()
    from processing.core.Processing import Processing

    Processing.initialize()
    import processing
    from openldn_qgis.plugin import OpenLDNPlugin
    from openldn_qgis.settings import EXECUTABLE_KEY

    QgsSettings().setValue(EXECUTABLE_KEY, spec.get("openldn", ""))
    plugin = OpenLDNPlugin()
    plugin.initProcessing()
    provider = QgsApplication.processingRegistry().providerById("openldn")
    out: dict[str, Any] = {
        "qgis_version": __import__("qgis.core", fromlist=["Qgis"]).Qgis.QGIS_VERSION,
        "algorithms": sorted(a.id() for a in provider.algorithms()) if provider else [],
        "layers_added": {},
        "calls": [],
    }

    project = QgsProject.instance()
    for item in spec.get("layers", []):
        if item["kind"] == "raster":
            layer: Any = QgsRasterLayer(item["path"], item["name"], "gdal")
        else:
            layer = QgsVectorLayer(item["path"], item["name"], "ogr")
        out["layers_added"][item["name"]] = layer.isValid()
        project.addMapLayer(layer)

    class Feedback(QgsProcessingFeedback):
        def __init__(self, cancel_on: str | None) -> None:
            super().__init__()
            self.log: list[list[str]] = []
            self.percents: list[float] = []
            self.cancel_on = cancel_on
            self.progressChanged.connect(lambda p: self.percents.append(float(p)))

        def pushInfo(self, text: str) -> None:
            self.log.append(["info", text])
            super().pushInfo(text)

        def reportError(self, text: str, fatalError: bool = False) -> None:
            self.log.append(["error", text])
            super().reportError(text, fatalError)

        def setProgressText(self, text: str) -> None:
            self.log.append(["progress", text])
            if self.cancel_on and self.cancel_on in text and not self.isCanceled():
                self.cancel()
            super().setProgressText(text)

    for call in spec.get("calls", []):
        fb = Feedback(call.get("cancel_on"))
        record: dict[str, Any] = {"alg": call["alg"]}
        params = {k: (project.mapLayersByName(v[1:])[0].id() if isinstance(v, str) and v.startswith("@") else v)
                  for k, v in call["params"].items()}
        try:
            res = processing.run(call["alg"], params, feedback=fb)
            record["results"] = {k: v for k, v in res.items() if isinstance(v, str | int | float | bool | None)}
        except Exception as err:  # QgsProcessingException: the message the user sees
            record["error"] = str(err)
            record["error_type"] = type(err).__name__
            if "Traceback" in str(err) or type(err).__name__ != "QgsProcessingException":
                record["traceback"] = traceback.format_exc()
        record["log"] = fb.log
        record["percents"] = fb.percents
        record["canceled"] = fb.isCanceled()
        out["calls"].append(record)

    def describe(node: Any) -> dict[str, Any]:
        if isinstance(node, QgsLayerTreeLayer):
            layer = node.layer()
            info: dict[str, Any] = {"layer": node.name(), "visible": node.isVisible(),
                                    "valid": bool(layer and layer.isValid()),
                                    "source": layer.source() if layer else None}
            if isinstance(layer, QgsRasterLayer) and layer.renderer() is not None:
                r = layer.renderer()
                info["renderer"] = r.type()
                if r.type() == "paletted":
                    info["classes"] = [[c.value, c.color.name().lower(), c.label] for c in r.classes()]
                elif hasattr(r, "shader") and r.shader() is not None:
                    fn = r.shader().rasterShaderFunction()
                    info["ramp"] = [[i.value, i.color.name().lower()] for i in fn.colorRampItemList()]
            if isinstance(layer, QgsVectorLayer):
                info["fields"] = [f.name() for f in layer.fields()]
                info["features"] = [dict(zip(info["fields"], [_plain(v) for v in f.attributes()], strict=True))
                                    for f in layer.getFeatures()]
            return info
        assert isinstance(node, QgsLayerTreeGroup)
        return {"group": node.name(), "children": [describe(c) for c in node.children()]}

    out["tree"] = describe(project.layerTreeRoot())["children"]
    if spec.get("links"):  # the message bar the QGIS window shows after loading a run
        from openldn_qgis import loader
        from qgis.gui import QgsMessageBar
        from qgis.PyQt.QtWidgets import QLabel

        bar = QgsMessageBar()

        class Iface:
            def messageBar(self) -> QgsMessageBar:
                return bar

        shown = loader.show_links(spec["links"], title="openldn", iface=Iface())
        item = bar.currentItem()
        labels = item.findChildren(QLabel) if item is not None else []
        out["links"] = {"shown": shown, "level": int(item.level()) if item is not None else None,
                        "labels": [lab.text() for lab in labels],
                        "open_external": [lab.openExternalLinks() for lab in labels]}
    with open(result_path, "w", encoding="utf-8") as fh:
        json.dump(out, fh, indent=1, default=str)
    plugin.unload()
    out_ok = QgsApplication.processingRegistry().providerById("openldn") is None
    with open(result_path, "r+", encoding="utf-8") as fh:
        data = json.load(fh)
        data["unloaded"] = out_ok
        fh.seek(0)
        fh.truncate()
        json.dump(data, fh, indent=1, default=str)
    # Tearing QGIS down with live widgets can crash in C++ after everything above is written; nothing tested
    # happens there, so leave at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    try:
        if value.isNull():  # QVariant NULL
            return None
    except AttributeError:
        pass
    return str(value)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
