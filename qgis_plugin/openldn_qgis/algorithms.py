"""The openldn Processing algorithms. Each runs the openldn command line of the configured environment."""

from __future__ import annotations

import os
from typing import Any

from qgis.core import (
    QgsMapLayer,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputBoolean,
    QgsProcessingOutputFile,
    QgsProcessingOutputFolder,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorLayer,
    QgsProject,
    QgsVectorFileWriter,
    QgsVectorLayer,
)

from openldn_qgis import cli, results, runfile

__all__ = ["ALGORITHMS"]

_RUN_FILTER = "openldn run files (*.yaml *.yml);;All files (*.*)"
_HELP = ("Runs the openldn command line of the environment set in Processing ▸ Options ▸ Providers ▸ openldn "
         "(or the OPENLDN_EXECUTABLE environment variable, or openldn on the PATH) as a separate process: "
         "nothing is computed inside QGIS.")


class _OpenLDNAlgorithm(QgsProcessingAlgorithm):
    """Shared parts: no group, the openldn subprocess, errors as openldn's one-line message."""

    NAME = ""
    DISPLAY = ""
    HELP = ""

    def createInstance(self) -> QgsProcessingAlgorithm:
        return type(self)()

    def name(self) -> str:
        return self.NAME

    def displayName(self) -> str:
        return self.DISPLAY

    def shortHelpString(self) -> str:
        return f"{self.HELP}\n\n{_HELP}"

    def _openldn(self, args: list[str], feedback: QgsProcessingFeedback) -> cli.CliResult:
        try:
            return cli.run(args, feedback)
        except cli.OpenLDNCliError as err:
            raise QgsProcessingException(str(err)) from None

    def _file(self, parameters: dict[str, Any], name: str, context: QgsProcessingContext) -> str:
        return self.parameterAsFile(parameters, name, context)


def _advanced(param: QgsProcessingParameterDefinition) -> QgsProcessingParameterDefinition:
    param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    return param


class RunAssessment(_OpenLDNAlgorithm):
    """``openldn run``: the whole assessment of a run file, then (optionally) its results in the project."""

    NAME = "run_assessment"
    DISPLAY = "Run assessment"
    HELP = ("Computes every indicator whose inputs the run file gives (land cover, productivity, soil organic "
            "carbon, SDG 15.3.1, population on degraded land, drought), then the PRAIS tables, maps and report. "
            "A cancelled run started again resumes from its checkpoints; a finished one is not recomputed unless "
            "'Recompute' is ticked. The results can be loaded as a layer group.")

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        self.addParameter(QgsProcessingParameterFile("RUN_FILE", "Run file", fileFilter=_RUN_FILTER))
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT", "Output folder"))
        self.addParameter(QgsProcessingParameterBoolean("FORCE", "Recompute even if the run is complete", False))
        self.addParameter(QgsProcessingParameterBoolean("LOAD", "Load the results into the project", True))
        self.addParameter(_advanced(QgsProcessingParameterBoolean(
            "STRICT", "Treat warnings about the inputs as errors", False)))
        self.addParameter(_advanced(QgsProcessingParameterNumber(
            "WORKERS", "Local Dask cluster of N processes (empty: threads)", QgsProcessingParameterNumber.Integer,
            None, True, 1)))
        self.addParameter(_advanced(QgsProcessingParameterNumber(
            "CHUNK_SIZE", "Chunk edge in pixels (empty: automatic)", QgsProcessingParameterNumber.Integer,
            None, True, 64)))
        self.addOutput(QgsProcessingOutputFile("REPORT", "HTML report"))
        self.addOutput(QgsProcessingOutputFile("WORKBOOK", "PRAIS workbook"))
        self.addOutput(QgsProcessingOutputFile("RUN_JSON", "Run report (JSON)"))

    def processAlgorithm(self, parameters: dict[str, Any], context: QgsProcessingContext,
                         feedback: QgsProcessingFeedback) -> dict[str, Any]:
        run_file = self._file(parameters, "RUN_FILE", context)
        out = self.parameterAsString(parameters, "OUTPUT", context)
        args = ["run", run_file, "--out", out]
        if self.parameterAsBool(parameters, "FORCE", context):
            args.append("--force")
        if self.parameterAsBool(parameters, "STRICT", context):
            args.append("--strict")
        for key, option in (("WORKERS", "--workers"), ("CHUNK_SIZE", "--chunk-size")):
            if parameters.get(key) not in (None, ""):
                args += [option, str(self.parameterAsInt(parameters, key, context))]
        self._openldn(args, feedback)
        self._out = out
        self._load = self.parameterAsBool(parameters, "LOAD", context)
        files = results.report_files(out)
        return {"OUTPUT": out, "REPORT": files.get("report"), "WORKBOOK": files.get("workbook"),
                "RUN_JSON": files.get("json")}

    def postProcessAlgorithm(self, context: QgsProcessingContext,
                             feedback: QgsProcessingFeedback) -> dict[str, Any]:
        if getattr(self, "_load", False):
            _load_into_project(self._out, context, feedback)
        return {}


def _load_into_project(out: str, context: QgsProcessingContext, feedback: QgsProcessingFeedback) -> dict[str, Any]:
    from openldn_qgis import loader

    try:
        info = loader.load_results(out, context.project() or QgsProject.instance(), feedback)
    except results.ResultsError as err:
        raise QgsProcessingException(str(err)) from None
    loader.show_links(out, title=info["group"])
    return info


class ValidateRunFile(_OpenLDNAlgorithm):
    """``openldn validate``."""

    NAME = "validate_run_file"
    DISPLAY = "Validate run file"
    HELP = ("Checks a run file and the inputs it names without computing anything: keys, periods, preset, files, "
            "grids, years. A problem is reported as openldn's one-line message (file, problem, fix).")

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        self.addParameter(QgsProcessingParameterFile("RUN_FILE", "Run file", fileFilter=_RUN_FILTER))
        self.addParameter(QgsProcessingParameterBoolean(
            "STRICT", "Treat warnings about the inputs as errors", False))
        self.addOutput(QgsProcessingOutputBoolean("VALID", "Valid"))
        self.addOutput(QgsProcessingOutputString("MESSAGE", "openldn's summary"))

    def processAlgorithm(self, parameters: dict[str, Any], context: QgsProcessingContext,
                         feedback: QgsProcessingFeedback) -> dict[str, Any]:
        args = ["validate", self._file(parameters, "RUN_FILE", context)]
        if self.parameterAsBool(parameters, "STRICT", context):
            args.append("--strict")
        res = self._openldn(args, feedback)
        return {"VALID": True, "MESSAGE": "\n".join(res.stdout).strip()}


class FetchData(_OpenLDNAlgorithm):
    """``openldn fetch``."""

    NAME = "fetch_data"
    DISPLAY = "Fetch data"
    HELP = ("Downloads the catalogue datasets a run file names (inputs given by 'dataset:' instead of 'path:') "
            "into the local cache, so that the run itself works offline.")

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        self.addParameter(QgsProcessingParameterFile("RUN_FILE", "Run file", fileFilter=_RUN_FILTER))
        self.addParameter(QgsProcessingParameterFile(
            "CACHE_DIR", "Cache folder (empty: openldn's default)", QgsProcessingParameterFile.Folder,
            optional=True))
        self.addParameter(QgsProcessingParameterBoolean("OFFLINE", "Only check the cache (no network)", False))
        self.addParameter(QgsProcessingParameterBoolean("DRY_RUN", "Search and report, download nothing", False))
        self.addParameter(QgsProcessingParameterBoolean("FORCE", "Download again even when cached", False))
        self.addParameter(_advanced(QgsProcessingParameterFile(
            "CATALOG", "Extra catalogue file (YAML)", fileFilter="YAML (*.yaml *.yml)", optional=True)))
        self.addOutput(QgsProcessingOutputString("MESSAGE", "openldn's summary"))

    def processAlgorithm(self, parameters: dict[str, Any], context: QgsProcessingContext,
                         feedback: QgsProcessingFeedback) -> dict[str, Any]:
        args = ["fetch", self._file(parameters, "RUN_FILE", context)]
        cache = self.parameterAsFile(parameters, "CACHE_DIR", context)
        if cache:
            args += ["--cache-dir", cache]
        catalog = self.parameterAsFile(parameters, "CATALOG", context)
        if catalog:
            args += ["--catalog", catalog]
        for key, flag in (("OFFLINE", "--offline"), ("DRY_RUN", "--dry-run"), ("FORCE", "--force")):
            if self.parameterAsBool(parameters, key, context):
                args.append(flag)
        res = self._openldn(args, feedback)
        return {"MESSAGE": "\n".join(res.stdout + res.stderr).strip()}


def _layer_path(layer: QgsMapLayer, what: str) -> dict[str, str | None]:
    """File path (and GeoPackage layer name) of a file-based layer."""
    source = layer.source()
    parts = source.split("|")
    path = parts[0]
    name = None
    for p in parts[1:]:
        if p.startswith("layername="):
            name = p.split("=", 1)[1]
    if not os.path.isfile(path):
        raise QgsProcessingException(
            f"{what} '{layer.name()}' is not a file ({source[:80]}): save it to a file (GeoTIFF, GeoPackage) and "
            "pick that layer.")
    return {"path": path, "layer": name}


def _vector_file(layer: QgsVectorLayer, what: str, base_dir: str, stem: str, context: QgsProcessingContext,
                 feedback: QgsProcessingFeedback) -> dict[str, str | None]:
    """A vector layer's file; a layer that is not a plain file (memory, database, service) is saved beside the run
    file as a GeoPackage."""
    try:
        return _layer_path(layer, what)
    except QgsProcessingException:
        pass
    path = os.path.join(base_dir, f"{stem}.gpkg")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = stem
    from openldn_qgis.loader import write_vector

    written = write_vector(layer, path, context.transformContext(), options)
    if written[0] != QgsVectorFileWriter.NoError:
        raise QgsProcessingException(f"{what} '{layer.name()}' could not be saved to {path}: {written[1]}.")
    feedback.pushInfo(f"{what} '{layer.name()}' saved to {path} for the run file.")
    return {"path": path, "layer": None}


class CreateRunFile(_OpenLDNAlgorithm):
    """Write a run file from the project's layers, then check it with ``openldn validate``."""

    NAME = "create_run_file"
    DISPLAY = "Create run file"
    HELP = ("Writes an openldn run file (YAML) from layers of the project: the area of interest, the admin units "
            "(with their id and name fields) and the input rasters, with the periods and the method preset. Paths "
            "are written relative to the run file's folder when they are beside it. Input years not stored in the "
            "files (band descriptions) can be given as 'ndvi=2000-2023; land_cover=2000,2015,2019,2023'. "
            "The written file is then checked with openldn validate; other options (docs/run-file.md) can be "
            "added by editing it.")

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        self.addParameter(QgsProcessingParameterString("NAME", "Assessment name", "Assessment"))
        self.addParameter(QgsProcessingParameterVectorLayer(
            "AOI", "Area of interest", [QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterVectorLayer(
            "ZONES", "Admin units", [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterField(
            "ZONES_ID", "Admin unit id field", defaultValue="id", parentLayerParameterName="ZONES", optional=True))
        self.addParameter(QgsProcessingParameterField(
            "ZONES_NAME", "Admin unit name field", defaultValue="name", parentLayerParameterName="ZONES",
            optional=True))
        for name, description in runfile.INPUTS:
            self.addParameter(QgsProcessingParameterRasterLayer(name.upper(), description, optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            "LAND_COVER_LEGEND", "Land cover legend", list(runfile.LEGENDS), defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            "NDVI_SCALE", "Vegetation index scale factor (e.g. 0.0001 for NDVI x 10000; empty: none)",
            QgsProcessingParameterNumber.Double, None, True))
        self.addParameter(QgsProcessingParameterString("BASELINE", "Baseline period", "2000-2015"))
        self.addParameter(QgsProcessingParameterString(
            "REPORTING", "Reporting periods (comma-separated)", "2016-2019, 2016-2023"))
        self.addParameter(QgsProcessingParameterEnum("PRESET", "Method preset", list(runfile.PRESETS),
                                                     defaultValue=0))
        self.addParameter(_advanced(QgsProcessingParameterString(
            "YEARS", "Input years not stored in the files (name=YYYY-YYYY; ...)", "", optional=True)))
        self.addParameter(_advanced(QgsProcessingParameterFile(
            "DVI_FACTORS", "Drought vulnerability factors (CSV)", fileFilter="CSV (*.csv)", optional=True)))
        self.addParameter(QgsProcessingParameterBoolean("VALIDATE", "Check the run file with openldn validate",
                                                        True))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT", "Run file", "openldn run files (*.yaml)"))
        self.addOutput(QgsProcessingOutputString("MESSAGE", "openldn's summary"))

    def processAlgorithm(self, parameters: dict[str, Any], context: QgsProcessingContext,
                         feedback: QgsProcessingFeedback) -> dict[str, Any]:
        target = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        if not target.lower().endswith((".yaml", ".yml")):
            target += ".yaml"
        base = os.path.dirname(os.path.abspath(target))
        os.makedirs(base, exist_ok=True)
        try:
            reporting = runfile.parse_periods(self.parameterAsString(parameters, "REPORTING", context))
            baseline = runfile.parse_periods(self.parameterAsString(parameters, "BASELINE", context))
            years = runfile.parse_years(self.parameterAsString(parameters, "YEARS", context))
        except ValueError as err:
            raise QgsProcessingException(str(err)) from None
        if len(baseline) != 1:
            raise QgsProcessingException("Give one baseline period, e.g. 2000-2015.")

        aoi_layer = self.parameterAsVectorLayer(parameters, "AOI", context)
        if aoi_layer is None:
            raise QgsProcessingException("Pick the area of interest layer.")
        aoi = _vector_file(aoi_layer, "Area of interest", base, "aoi", context, feedback)
        if aoi["layer"]:
            feedback.pushInfo(f"Area of interest: openldn reads the first layer of {aoi['path']}.")

        zones = None
        zones_layer = self.parameterAsVectorLayer(parameters, "ZONES", context)
        if zones_layer is not None:
            z = _vector_file(zones_layer, "Admin units", base, "zones", context, feedback)
            id_field = self.parameterAsString(parameters, "ZONES_ID", context) or "id"
            name_field = self.parameterAsString(parameters, "ZONES_NAME", context) or "name"
            for f in (id_field, name_field):
                if zones_layer.fields().indexOf(f) < 0:
                    raise QgsProcessingException(
                        f"Admin units '{zones_layer.name()}' have no field '{f}': pick the id and name fields.")
            zones = {"path": runfile.relative(z["path"] or "", base), "id_field": id_field,
                     "name_field": name_field, "layer": z["layer"]}

        inputs: dict[str, dict[str, Any]] = {}
        for name, description in runfile.INPUTS:
            layer = self.parameterAsRasterLayer(parameters, name.upper(), context)
            if layer is None:
                continue
            spec: dict[str, Any] = {"path": runfile.relative(_layer_path(layer, description)["path"] or "", base)}
            if name == "land_cover":
                spec["legend"] = runfile.LEGENDS[self.parameterAsEnum(parameters, "LAND_COVER_LEGEND", context)]
            if name == "ndvi" and parameters.get("NDVI_SCALE") not in (None, ""):
                spec["scale"] = self.parameterAsDouble(parameters, "NDVI_SCALE", context)
            if name in years:
                spec["years"] = years[name]
            inputs[name] = spec
        for name in years:
            if name not in inputs:
                raise QgsProcessingException(f"Years given for '{name}', but no {name} layer is picked.")
        dvi = self.parameterAsFile(parameters, "DVI_FACTORS", context)
        try:
            data = runfile.build(
                name=self.parameterAsString(parameters, "NAME", context) or "Assessment",
                preset=runfile.PRESETS[self.parameterAsEnum(parameters, "PRESET", context)],
                baseline=baseline[0], reporting=reporting, aoi=runfile.relative(aoi["path"] or "", base),
                inputs=inputs, zones=zones, dvi_factors=runfile.relative(dvi, base) if dvi else None)
        except ValueError as err:
            raise QgsProcessingException(str(err)) from None
        with open(target, "w", encoding="utf-8") as fh:
            fh.write("# openldn run file written by the QGIS plugin; every key: docs/run-file.md\n")
            fh.write(runfile.dump(data))
        feedback.pushInfo(f"Run file written to {target}.")
        message = ""
        if self.parameterAsBool(parameters, "VALIDATE", context):
            message = "\n".join(self._openldn(["validate", target], feedback).stdout).strip()
        return {"OUTPUT": target, "MESSAGE": message}


class LoadResults(_OpenLDNAlgorithm):
    """Load a finished run's results into the project."""

    NAME = "load_results"
    DISPLAY = "Load results"
    HELP = ("Adds the results of a finished openldn run to the project as one layer group: the maps with their "
            "styles (grouped by indicator), the admin units with the headline figures as attributes (land area, "
            "degraded land per assessment, population on degraded land), and, in the QGIS window, a message bar "
            "with links to the HTML report and the PRAIS workbook.")

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        self.addParameter(QgsProcessingParameterFile(
            "FOLDER", "Output folder of a run", QgsProcessingParameterFile.Folder))
        self.addOutput(QgsProcessingOutputFolder("OUTPUT", "Output folder"))
        self.addOutput(QgsProcessingOutputString("GROUP", "Layer group"))
        self.addOutput(QgsProcessingOutputNumber("LAYERS", "Maps loaded"))
        self.addOutput(QgsProcessingOutputFile("REPORT", "HTML report"))
        self.addOutput(QgsProcessingOutputFile("WORKBOOK", "PRAIS workbook"))

    def processAlgorithm(self, parameters: dict[str, Any], context: QgsProcessingContext,
                         feedback: QgsProcessingFeedback) -> dict[str, Any]:
        out = self.parameterAsFile(parameters, "FOLDER", context)
        try:
            run = results.read_run(out)
        except results.ResultsError as err:
            raise QgsProcessingException(str(err)) from None
        self._out = out
        maps = results.maps(out, run)
        files = results.report_files(out)
        from openldn_qgis.loader import _group_name

        return {"OUTPUT": out, "GROUP": _group_name(run, os.path.abspath(out)), "LAYERS": len(maps),
                "REPORT": files.get("report"), "WORKBOOK": files.get("workbook")}

    def postProcessAlgorithm(self, context: QgsProcessingContext,
                             feedback: QgsProcessingFeedback) -> dict[str, Any]:
        _load_into_project(self._out, context, feedback)
        return {}


ALGORITHMS = (RunAssessment, ValidateRunFile, FetchData, CreateRunFile, LoadResults)
