"""Load an openldn run into a QGIS project: one layer group per run, styled maps, admin units with the headline
figures as attributes, and (in the QGIS window) a message bar with links to the report and the workbook."""

from __future__ import annotations

import os
from typing import Any

from qgis.core import (
    QgsFeature,
    QgsField,
    QgsFields,
    QgsLayerTreeGroup,
    QgsProject,
    QgsRasterLayer,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import Qt, QUrl, QVariant

from openldn_qgis import results

__all__ = ["load_results", "show_links", "write_vector"]

#: Layer-tree titles of the run's stages, in display order.
STAGES = (
    ("integration", "SDG 15.3.1 and population on degraded land (SO1-4, SO2-3)"),
    ("land_cover", "Land cover (SO1-1)"),
    ("productivity", "Land productivity dynamics (SO1-2)"),
    ("soil_carbon", "Soil organic carbon (SO1-3)"),
    ("drought", "Drought (SO3)"),
)

ZONES_FILE = os.path.join("qgis", "zones_headline.gpkg")


def _group_name(run: dict[str, Any], out_dir: str) -> str:
    return f"openldn: {run.get('name') or 'run'} ({os.path.basename(os.path.normpath(out_dir))})"


def _zones_layer(out_dir: str, run: dict[str, Any], feedback: Any = None) -> QgsVectorLayer | None:
    """The admin units with the headline figures joined as attributes, saved as ``qgis/zones_headline.gpkg``."""
    src = results.zones_source(run)
    if src is None:
        return None
    uri = src["path"] + (f"|layername={src['layer']}" if src.get("layer") else "")
    zones = QgsVectorLayer(uri, "zones", "ogr")
    if not zones.isValid():
        if feedback is not None:
            feedback.pushInfo(f"Admin units {src['path']} could not be opened; they are not loaded.")
        return None
    head_fields, rows = results.headline(run)
    fields = QgsFields(zones.fields())
    for name, _kind, alias in head_fields:
        field = QgsField(name, QVariant.Double)
        field.setAlias(alias)
        fields.append(field)
    geometry = QgsWkbTypes.displayString(zones.wkbType())
    memory = QgsVectorLayer(f"{geometry}?crs={zones.crs().authid() or 'EPSG:4326'}", "zones", "memory")
    if zones.crs().isValid():
        memory.setCrs(zones.crs())
    provider = memory.dataProvider()
    provider.addAttributes(fields.toList())
    memory.updateFields()
    features = []
    id_field = src["id_field"]
    for f in zones.getFeatures():
        out = QgsFeature(memory.fields())
        out.setGeometry(f.geometry())
        values = list(f.attributes())
        zone_id = str(f[id_field]) if zones.fields().indexOf(id_field) >= 0 else None
        figures = rows.get(zone_id or "", {})
        values += [figures.get(name) for name, _, _ in head_fields]
        out.setAttributes(values)
        features.append(out)
    provider.addFeatures(features)
    path = os.path.join(out_dir, ZONES_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = "zones_headline"
    options.actionOnExistingFile = QgsVectorFileWriter.CreateOrOverwriteFile
    # the memory layer's fid field clashes with the GeoPackage's own: drop it
    fid = memory.fields().indexOf("fid")
    if fid >= 0:
        options.attributes = [i for i in range(memory.fields().count()) if i != fid]
    written = write_vector(memory, path, QgsProject.instance().transformContext(), options)
    title = "Admin units: headline figures"
    if written[0] == QgsVectorFileWriter.NoError:
        layer = QgsVectorLayer(f"{path}|layername=zones_headline", title, "ogr")
        if layer.isValid():
            for name, _kind, alias in head_fields:
                idx = layer.fields().indexOf(name)
                if idx >= 0:
                    layer.setFieldAlias(idx, alias)
            _outline_style(layer)
            return layer
    if feedback is not None:
        feedback.pushInfo(f"Could not write {path} ({written[1]}); the admin units are loaded as a temporary layer.")
    memory.setName(title)
    _outline_style(memory)
    return memory


def write_vector(layer: QgsVectorLayer, path: str, transform_context: Any, options: Any) -> tuple[Any, str]:
    """Write ``layer`` with ``options``: (error code, message); the newest writer of this QGIS version."""
    writer = getattr(QgsVectorFileWriter, "writeAsVectorFormatV3", None)  # QGIS >= 3.20
    if writer is None:
        writer = QgsVectorFileWriter.writeAsVectorFormatV2
    written = writer(layer, path, transform_context, options)
    return written[0], str(written[1])


def _outline_style(layer: QgsVectorLayer) -> None:
    """Outlines only, so that the maps below stay visible."""
    renderer = layer.renderer()
    symbol = renderer.symbol() if renderer is not None and hasattr(renderer, "symbol") else None
    if symbol is not None and layer.geometryType() == QgsWkbTypes.PolygonGeometry:
        symbol.symbolLayer(0).setBrushStyle(Qt.NoBrush)
        symbol.symbolLayer(0).setStrokeWidth(0.5)


def load_results(out_dir: str, project: QgsProject | None = None, feedback: Any = None) -> dict[str, Any]:
    """Add a run's results to ``project`` (default: the current project) as one layer group.

    Parameters
    ----------
    out_dir : str
        The run's output folder.
    project : QgsProject, optional
    feedback : QgsProcessingFeedback, optional

    Returns
    -------
    dict
        ``group`` (its name), ``layers`` (name, source, valid, style, renderer of each), ``zones`` (source or
        None), ``files`` (report files).

    Raises
    ------
    results.ResultsError
        When the folder holds no finished run.
    """
    out_dir = os.path.abspath(out_dir)
    project = project or QgsProject.instance()
    run = results.read_run(out_dir)
    root = project.layerTreeRoot()
    name = _group_name(run, out_dir)
    old = root.findGroup(name)
    if old is not None:  # loading again replaces the group
        for layer_id in old.findLayerIds():
            project.removeMapLayer(layer_id)
        root.removeChildNode(old)
    group: QgsLayerTreeGroup = root.insertGroup(0, name)
    info: dict[str, Any] = {"group": name, "layers": [], "zones": None, "files": results.report_files(out_dir)}

    zones = _zones_layer(out_dir, run, feedback)
    if zones is not None:
        project.addMapLayer(zones, False)
        group.addLayer(zones)
        info["zones"] = zones.source()

    records = results.maps(out_dir, run)
    known = [s for s, _ in STAGES]
    stages: list[str] = known + sorted({r.get("stage") or "other" for r in records} - set(known))
    titles = dict(STAGES)
    sdg = [r for r in records if str(r.get("key", "")).startswith("sdg/")]
    visible = (sdg[-1] if sdg else (records[0] if records else {})).get("key")
    for stage in stages:
        recs = [r for r in records if (r.get("stage") or "other") == stage]
        if not recs:
            continue
        sub = group.addGroup(titles.get(stage, stage.replace("_", " ").capitalize()))
        sub.setExpanded(False)
        for rec in recs:
            layer = QgsRasterLayer(rec["path"], rec.get("title") or rec["key"], "gdal")
            style_ok = False
            if layer.isValid() and rec.get("qml"):
                _message, style_ok = layer.loadNamedStyle(rec["qml"])
            project.addMapLayer(layer, False)
            node = sub.addLayer(layer)
            node.setItemVisibilityChecked(rec.get("key") == visible)
            if rec.get("key") == visible:
                sub.setExpanded(True)
            renderer = layer.renderer()
            info["layers"].append({
                "key": rec.get("key"), "name": layer.name(), "source": rec["path"], "valid": layer.isValid(),
                "style": rec.get("qml") if style_ok else None,
                "renderer": renderer.type() if renderer is not None else None,
            })
            if not layer.isValid() and feedback is not None:
                feedback.pushInfo(f"{rec['path']}: could not be opened as a raster layer.")
    if feedback is not None:
        n_bad = sum(not x["valid"] for x in info["layers"])
        feedback.pushInfo(f"Loaded {len(info['layers']) - n_bad} maps"
                          + (" and the admin units" if zones is not None else "") + f" into the group '{name}'.")
    return info


def show_links(out_dir: str, title: str = "openldn", iface: Any = None) -> bool:
    """In the QGIS window, a message bar with links to the report, the workbook and the folder (False without)."""
    if iface is None:
        try:
            from qgis.utils import iface as _iface
        except ImportError:
            return False
        iface = _iface
    if iface is None:
        return False
    from qgis.core import Qgis
    from qgis.PyQt.QtWidgets import QLabel

    files = results.report_files(out_dir)
    links = []
    for key, label in (("report", "report"), ("workbook", "PRAIS workbook")):
        if key in files:
            links.append(f'<a href="{QUrl.fromLocalFile(files[key]).toString()}">{label}</a>')
    links.append(f'<a href="{QUrl.fromLocalFile(out_dir).toString()}">folder</a>')
    bar = iface.messageBar()
    widget = bar.createMessage(title, "results loaded: open the")
    label = QLabel(" · ".join(links))
    label.setOpenExternalLinks(True)
    widget.layout().addWidget(label)
    bar.pushWidget(widget, Qgis.Success, 0)
    return True
