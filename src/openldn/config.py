"""The run file: an assessment described in YAML, validated with pydantic.

``load_assessment(path)`` reads the YAML, merges the method preset under the user's options, resolves paths
relative to the file and validates everything. Errors are :class:`~openldn.exceptions.ConfigError` (or
:class:`~openldn.exceptions.InputFileError` for a missing file) with a one-line message naming the key, the problem
and the fix. Every key is documented in ``docs/run-file.md``.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from openldn.core.periods import Period
from openldn.core.vocab import list_data_files, load_preset
from openldn.exceptions import ConfigError, InputFileError
from openldn.registry import input_kinds, stages

if TYPE_CHECKING:
    from openldn.drought.options import DroughtOptions
    from openldn.integration.options import IntegrationOptions
    from openldn.land_cover.options import LandCoverOptions
    from openldn.productivity.options import ProductivityOptions
    from openldn.soil_carbon.options import SoilCarbonOptions

__all__ = [
    "Assessment",
    "EngineSpec",
    "GridSpec",
    "InputSpec",
    "OutputSpec",
    "ZonesSpec",
    "load_assessment",
]

# Input names and kinds are declared by the stages (``STAGE.inputs`` at the end of each domain's stage.py, e.g.
# openldn/drought/stage.py) and gathered by openldn.registry; ``INPUT_KINDS`` below is derived from them.


def __getattr__(name: str) -> Any:
    if name == "INPUT_KINDS":
        return input_kinds()
    raise AttributeError(f"module 'openldn.config' has no attribute {name!r}")


#: Keys of ``inputs.<name>`` that only a catalogue dataset (``dataset:``) uses.
CATALOGUE_ONLY_KEYS: tuple[str, ...] = ("iso3", "bbox", "crs", "resolution")

_STRICT = ConfigDict(extra="forbid", validate_default=True)


class InputSpec(BaseModel):
    """One input raster: a local file (or one file per year), or a dataset of the catalogue."""

    model_config = _STRICT

    path: str | list[str] | None = Field(
        None, description="File path (GeoTIFF/COG, NetCDF, Zarr), a glob, or a list of one file per year."
    )
    dataset: str | None = Field(None, description="Catalogue dataset id fetched with `openldn fetch` instead of a path.")
    years: list[int] | None = Field(
        None, description="Year of each band/file when the file does not say it (a list, or 'YYYY-YYYY')."
    )
    nodata: float | None = Field(None, description="Nodata value when the file does not declare it.")
    scale: float | None = Field(None, description="Scale factor applied to stored values (e.g. 0.0001 for NDVI x 10000).")
    offset: float | None = Field(None, description="Offset added after scaling.")
    legend: str | None = Field(None, description="Legend id or file for categorical inputs (e.g. esa_cci).")
    valid_range: tuple[float | None, float | None] | None = Field(
        None,
        description="Physical range of the values after scaling, when it differs from the input's usual one (e.g. "
        "[0, 24] for an annual time-integrated NDVI instead of -1..1); values outside stop the run.",
    )
    variable: str | None = Field(None, description="Variable name inside a NetCDF/Zarr file.")
    composite: Literal["mean", "max", "integral", "season_months", "season_threshold"] | None = Field(
        None, description="Annual aggregation of sub-annual composites (vegetation index): mean (default), max, "
        "integral (time integral over the year), season_months or season_threshold (growing-season integrals)."
    )
    min_count: int | None = Field(None, ge=1, description="Minimum valid composites per year (default 1); fewer: no data.")
    season_months: list[int] | None = Field(
        None, description="composite season_months: first and last month of the growing season, e.g. [5, 9]."
    )
    season_threshold: float | None = Field(
        None, ge=0.0, lt=1.0, description="composite season_threshold: share of the seasonal amplitude above the "
        "year's minimum that starts and ends the season (default 0.2)."
    )
    partial_years: Literal["drop", "keep"] | None = Field(
        None, description="Sub-annual composites: years that do not cover the whole year are dropped (default) or "
        "kept; either way a warning names them."
    )
    dates: str | list[str] | None = Field(
        None, description="Date of each band (YYYY-MM-DD or YYYYDDD) when the file does not say it: a list or a CSV "
        "file with one date per line."
    )
    mask: str | None = Field(
        None, description="Quality/valid-mask raster beside the values (same grid and bands, or one band); cells "
        "whose mask is not valid are no data."
    )
    mask_valid: list[float] | None = Field(
        None, description="Mask values that mark a valid observation (default: any non-zero value)."
    )
    iso3: str | None = Field(None, description="Catalogue datasets distributed per country (WorldPop): ISO3 code.")
    bbox: list[float] | None = Field(None, description="Catalogue datasets: area to load (W, S, E, N) instead of the AOI's.")
    crs: str | None = Field(None, description="Catalogue datasets: CRS of the loaded grid.")
    resolution: float | None = Field(None, gt=0, description="Catalogue datasets: cell size of the loaded grid.")
    title: str | None = Field(None, description="Metadata form (PRAIS Annex II): dataset title.")
    source: str | None = Field(None, description="Metadata form: source link or identifier.")
    doi: str | None = Field(None, description="Metadata form: DOI.")
    licence: str | None = Field(None, description="Metadata form: licence.")
    citation: str | None = Field(None, description="Metadata form: full bibliographic citation.")

    @field_validator("years", mode="before")
    @classmethod
    def _years(cls, v: Any) -> Any:
        if isinstance(v, str | int) and not isinstance(v, bool):
            return Period.from_user_input(v).years
        return v

    @field_validator("bbox")
    @classmethod
    def _bbox(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and (len(v) != 4 or v[0] >= v[2] or v[1] >= v[3]):
            raise ValueError("bbox must be [west, south, east, north] with west < east and south < north")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> InputSpec:
        if (self.path is None) == (self.dataset is None):
            raise ValueError("give exactly one of 'path' or 'dataset'")
        if self.season_months is not None and self.composite != "season_months":
            raise ValueError("'season_months' only applies with 'composite: season_months'; add it or remove the key")
        if self.composite == "season_months" and self.season_months is None:
            raise ValueError("'composite: season_months' needs 'season_months: [first, last]' (months 1-12)")
        if self.season_months is not None and (
                len(self.season_months) != 2 or not 1 <= self.season_months[0] <= self.season_months[1] <= 12):
            raise ValueError("'season_months' must be [first, last] with 1 <= first <= last <= 12")
        if self.season_threshold is not None and self.composite != "season_threshold":
            raise ValueError("'season_threshold' only applies with 'composite: season_threshold'; add it or remove "
                             "the key")
        if self.dates is not None and self.years is not None:
            raise ValueError("give either 'years' or 'dates', not both")
        if self.mask_valid is not None and self.mask is None:
            raise ValueError("'mask_valid' needs 'mask' (the quality or valid-mask file)")
        if self.dataset is not None:
            local = [k for k in ("dates", "mask", "mask_valid", "partial_years") if getattr(self, k) is not None]
            if local:
                raise ValueError(f"{', '.join(repr(k) for k in local)} only apply to local files ('path:'), not to a "
                                 "catalogue dataset; remove them")
        if self.path is not None:
            given = [k for k in CATALOGUE_ONLY_KEYS if getattr(self, k) is not None]
            if given:
                raise ValueError(
                    f"{', '.join(repr(k) for k in given)} only apply to catalogue datasets ('dataset:'), not to a "
                    "local file; remove them"
                )
            if self.variable is not None and not _is_multi_variable(self.path):
                raise ValueError("'variable' only applies to NetCDF or Zarr files; remove it for a GeoTIFF")
        return self


def _is_multi_variable(path: str | list[str]) -> bool:
    paths = [path] if isinstance(path, str) else path
    return any(str(p).lower().rstrip("/").endswith((".nc", ".nc4", ".netcdf", ".zarr", ".h5")) for p in paths)


class ZonesSpec(BaseModel):
    """Admin units: a vector file with an id and a name field."""

    model_config = _STRICT

    path: str = Field(..., description="Vector file of admin units (GeoPackage, GeoJSON, Shapefile, zipped Shapefile).")
    id_field: str = Field("id", description="Field holding each unit's identifier.")
    name_field: str = Field("name", description="Field holding each unit's name.")
    layer: str | None = Field(None, description="Layer name in a multi-layer file.")


class GridSpec(BaseModel):
    """The analysis grid: the grid of one input, or a CRS and resolution."""

    model_config = _STRICT

    reference: str | None = Field("land_cover", description="Input whose grid is the analysis grid.")
    crs: str | None = Field(None, description="CRS of the analysis grid (e.g. EPSG:4326) when no reference is used.")
    resolution: float | None = Field(None, gt=0, description="Cell size in CRS units when no reference is used.")
    coverage: Literal["fraction", "centre"] = Field(
        "fraction",
        description="Border cells: exact fractional coverage by the AOI/admin polygons, or Trends.Earth's "
        "pixel-centre rule (for conformance runs).",
    )


class OutputSpec(BaseModel):
    """What a run writes besides the tables."""

    model_config = _STRICT

    maps: bool = Field(True, description="Write every indicator raster as a COG with its legend.")
    png: bool = Field(True, description="Render a PNG map of every COG.")
    xlsx: bool = Field(True, description="Write the PRAIS workbook.")
    html: bool = Field(True, description="Write the self-contained HTML report.")
    pdf: bool = Field(
        True, description="Also print the report to PDF (needs a headless Chromium; skipped with a warning without)."
    )
    language: str | None = Field(
        None, description="Language of the report, workbook, maps and messages: ar, en, es, fr, ru or zh (the six UN "
        "languages; default: the command line's --lang, else the system locale). --lang overrides it."
    )

    @field_validator("language")
    @classmethod
    def _language(cls, v: str | None) -> str | None:
        from openldn.i18n import LANGUAGES, normalize_language

        if v is None:
            return None
        code = normalize_language(v)
        if code is None:
            raise ValueError(f"unknown language {v!r}; use one of {', '.join(LANGUAGES)}")
        return code


class EngineSpec(BaseModel):
    """How the run is executed."""

    model_config = _STRICT

    chunk_size: int | Literal["auto"] = Field(
        "auto", description="Chunk edge in pixels (64 or more), or 'auto' from available memory."
    )

    @field_validator("chunk_size")
    @classmethod
    def _chunk_size(cls, v: int | str) -> int | str:
        if isinstance(v, int) and v < 64:
            raise ValueError(f"chunk_size {v} is too small; use 64 or more, or 'auto'")
        return v
    workers: int | None = Field(
        None, ge=1,
        description="Local Dask worker processes of one thread each (None: dask's threads in the run's own "
                    "process, the faster choice on one machine; a local cluster adds a scheduler and copies between "
                    "processes, and serves to try a cluster set-up).",
    )
    scheduler: str | None = Field(None, description="Address of an existing Dask scheduler, e.g. tcp://host:8786.")


class AssessmentBase(BaseModel):
    """The run file's keys shared by every stage; :data:`Assessment` adds each stage's option section."""

    model_config = _STRICT

    name: str = Field("Assessment", description="Name shown in reports.")
    preset: str = Field("prais_2026_te", description="Method preset: prais_2026_te, trends_earth, gpg_v2_2021 or gpg_v1_2017.")
    baseline: str = Field("2000-2015", description="Baseline period, 'YYYY-YYYY'.")
    reporting: list[str] = Field(
        default_factory=lambda: ["2016-2019", "2016-2023"], description="Reporting periods, cumulative from 2016."
    )
    aoi: str = Field(..., description="Area of interest: vector file (GeoPackage, GeoJSON, Shapefile).")
    zones: ZonesSpec | None = Field(None, description="Admin units for per-unit tables.")
    grid: GridSpec = Field(default_factory=GridSpec, description="Analysis grid.")
    inputs: dict[str, InputSpec] = Field(..., description="Input rasters by name (ndvi, land_cover, soc, ...).")
    outputs: OutputSpec = Field(default_factory=OutputSpec, description="Which products to write.")
    engine: EngineSpec = Field(default_factory=EngineSpec, description="Execution engine and chunking.")

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _source: str = PrivateAttr(default="<memory>")

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, v: str) -> str:
        names = list_data_files("presets")
        if v not in names:
            raise ValueError(f"unknown preset {v!r}; use one of {', '.join(names)}")
        return v

    @field_validator("baseline")
    @classmethod
    def _period(cls, v: str) -> str:
        return Period.from_user_input(v).label

    @field_validator("reporting")
    @classmethod
    def _periods(cls, v: list[str]) -> list[str]:
        return [Period.from_user_input(p).label for p in v]

    @field_validator("inputs")
    @classmethod
    def _known_inputs(cls, v: dict[str, InputSpec]) -> dict[str, InputSpec]:
        kinds = input_kinds()
        unknown = sorted(set(v) - set(kinds))
        if unknown:
            raise ValueError(f"unknown input(s) {unknown}; use names from {sorted(kinds)}")
        return v

    @model_validator(mode="after")
    def _grid_reference(self) -> AssessmentBase:
        ref = self.grid.reference
        if self.grid.crs is None and ref is not None and ref not in self.inputs:
            raise ValueError(f"grid.reference {ref!r} is not one of the inputs ({', '.join(self.inputs)})")
        return self

    # -- derived values ---------------------------------------------------------------------------------------
    @property
    def base_dir(self) -> Path:
        """Folder relative paths are resolved against (the run file's folder)."""
        return self._base_dir

    @property
    def source(self) -> str:
        """Where the assessment was read from."""
        return self._source

    @property
    def baseline_period(self) -> Period:
        """The baseline as a :class:`Period` named ``baseline``."""
        return Period.from_user_input(self.baseline, name="baseline")

    @property
    def reporting_periods(self) -> list[Period]:
        """Reporting periods as :class:`Period` objects named ``reporting_1``, ``reporting_2``..."""
        return [Period.from_user_input(p, name=f"reporting_{i}") for i, p in enumerate(self.reporting, start=1)]

    @property
    def periods(self) -> list[Period]:
        """Baseline then reporting periods."""
        return [self.baseline_period, *self.reporting_periods]

    def resolve(self, path: str | Path) -> Path:
        """A path of the run file, resolved against the run file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self._base_dir / p)

    def preset_content(self) -> dict[str, Any]:
        """The preset document (with its hash)."""
        return load_preset(self.preset)

    def options(self, section: str) -> BaseModel:
        """The validated options of a stage's run-file section (``"productivity"``, ``"drought"``...)."""
        value = getattr(self, section, None)
        if not isinstance(value, BaseModel):
            raise KeyError(section)
        return value


def option_sections() -> dict[str, type[BaseModel]]:
    """Run-file option section -> its model, from the stage registry."""
    return {s.options_key: s.options for s in stages() if s.options_key and s.options is not None}


def _build_assessment() -> type[AssessmentBase]:
    fields: dict[str, Any] = {
        key: (model, Field(default_factory=model, description=f"{stage.title} options; see the {key} section."))
        for stage in stages()
        if (key := stage.options_key) and (model := stage.options) is not None
    }
    model = create_model("Assessment", __base__=AssessmentBase, __module__=__name__, **fields)
    model.__doc__ = "A whole assessment: area, periods, inputs and each stage's options (the content of a run file)."
    return model


if TYPE_CHECKING:

    class Assessment(AssessmentBase):
        """Static view of the option sections for type checkers (the real model is built from the registry)."""

        productivity: ProductivityOptions
        land_cover: LandCoverOptions
        soil_carbon: SoilCarbonOptions
        integration: IntegrationOptions
        drought: DroughtOptions

else:
    Assessment = _build_assessment()


def _one_line(text: str) -> str:
    """User text inside a one-line message: control characters shown escaped (a key may hold a newline)."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _format_loc(loc: tuple[Any, ...]) -> str:
    text = ".".join(str(x) for x in loc if not str(x).startswith("function-after")) or "(top level)"
    return _one_line(text)


def _first_error(err: ValidationError, source: str, prefix: str = "") -> ConfigError:
    e = err.errors()[0]
    loc = _format_loc(((prefix,) if prefix else ()) + tuple(e.get("loc", ())))
    msg = _one_line(str(e.get("msg", "invalid value")).removeprefix("Value error, ").rstrip("."))
    kind = e.get("type", "")
    fix = {
        "missing": "add it",
        "extra_forbidden": "remove it or check its spelling (see docs/run-file.md)",
    }.get(kind, "correct it (see docs/run-file.md)")
    more = f" (+{len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    return ConfigError(f"{source}: key '{loc}': {msg}; {fix}{more}.")


#: Top-level keys of a preset file besides the option sections.
PRESET_KEYS: tuple[str, ...] = ("id", "name", "description", "baseline", "reporting", "hash")


def check_preset(preset: dict[str, Any], name: str) -> None:
    """Refuse a preset with a key that would not act (as strictly as a run file).

    Raises
    ------
    ConfigError
        An unknown top-level key, an unknown option in a section, or an option value the section's model refuses.
    """
    sections = option_sections()
    where = f"preset {name!r} (src/openldn/data/presets/{name}.yaml)"
    unknown = sorted(set(preset) - set(PRESET_KEYS) - set(sections))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; use {sorted(set(PRESET_KEYS) | set(sections))}.")
    for section, model in sections.items():
        block = preset.get(section)
        if block is None:
            continue
        if not isinstance(block, dict):
            raise ConfigError(f"{where}: key '{section}' must be a mapping of options.")
        try:
            model.model_validate(block)
        except ValidationError as err:
            raise _first_error(err, where, prefix=section) from None


def _merge_preset(data: dict[str, Any], source: str) -> dict[str, Any]:
    preset_name = data.get("preset", "prais_2026_te")
    names = list_data_files("presets")
    if preset_name not in names:
        raise ConfigError(f"{source}: key 'preset': unknown preset {preset_name!r}; use one of {', '.join(names)}.")
    preset = load_preset(preset_name)
    check_preset(preset, preset_name)
    out = dict(data)
    out.setdefault("baseline", preset.get("baseline", "2000-2015"))
    out.setdefault("reporting", list(preset.get("reporting", [])))
    for section in option_sections():
        user = out.get(section) or {}
        if not isinstance(user, dict):
            raise ConfigError(f"{source}: key '{section}' must be a mapping of options.")
        out[section] = {**(preset.get(section) or {}), **user}
    return out


class _DuplicateKeyError(yaml.YAMLError):
    """A key given twice in one mapping (YAML would silently keep the last one)."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            line = key_node.start_mark.line + 1
            if key in seen:
                raise _DuplicateKeyError(
                    f"key {key!r} is given twice (lines {seen[key]} and {line}); keep one (YAML would silently use "
                    "the last)."
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_assessment(path: str | Path | dict[str, Any], *, base_dir: str | Path | None = None,
                    check_files: bool = True) -> Assessment:
    """Read and validate a run file.

    Parameters
    ----------
    path : str, Path or dict
        The YAML run file, or its content as a mapping.
    base_dir : path, optional
        Folder that relative paths are resolved against (default: the run file's folder).
    check_files : bool, default True
        Check that every local file named by the run file exists.

    Returns
    -------
    Assessment

    Raises
    ------
    ConfigError
        Malformed YAML or a key with a wrong value (the message names the key and the fix).
    InputFileError
        The run file or a file it names does not exist.
    """
    if isinstance(path, dict):
        data, source, folder = dict(path), "<assessment>", Path(base_dir or Path.cwd())
    else:
        p = Path(path).expanduser()
        source = str(p)
        if not p.is_file():
            raise InputFileError(f"Run file {p} does not exist: check the path (or create one with `openldn demo`).")
        try:
            data = yaml.load(p.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
        except _DuplicateKeyError as err:
            raise ConfigError(f"{p}: {err}") from None
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            raise ConfigError(f"{p}: not valid YAML{where}: fix the syntax (indentation, ':' after keys).") from err
        except UnicodeDecodeError as err:
            raise ConfigError(f"{p}: not a text file; give a YAML run file.") from err
        folder = Path(base_dir) if base_dir else p.resolve().parent
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: a run file must be a YAML mapping of keys (name, aoi, inputs, ...).")
    data = _merge_preset(data, source)
    try:
        a = Assessment.model_validate(data)
    except ValidationError as err:
        raise _first_error(err, source) from None
    except ConfigError:
        raise
    except (ValueError, TypeError) as err:  # errors raised by domain validators
        raise ConfigError(f"{source}: {_one_line(str(err))}") from None
    a._base_dir = folder
    a._source = source
    if check_files:
        _check_files(a)
    return a


def _check_files(a: Assessment) -> None:
    src = a.source
    if not a.resolve(a.aoi).exists():
        raise InputFileError(f"{src}: key 'aoi': file {a.resolve(a.aoi)} does not exist; check the path.")
    if a.zones is not None and not a.resolve(a.zones.path).exists():
        raise InputFileError(f"{src}: key 'zones.path': file {a.resolve(a.zones.path)} does not exist; check the path.")
    for name, spec in a.inputs.items():
        if spec.path is None:
            continue
        paths = [spec.path] if isinstance(spec.path, str) else spec.path
        for p in paths:
            if any(ch in p for ch in "*?["):
                import glob

                if not glob.glob(str(a.resolve(p))):
                    raise InputFileError(f"{src}: key 'inputs.{name}.path': no file matches {a.resolve(p)}.")
            elif not a.resolve(p).exists():
                raise InputFileError(
                    f"{src}: key 'inputs.{name}.path': file {a.resolve(p)} does not exist; check the path."
                )


def _flat_types(annotation: Any) -> list[Any]:
    """The members of a union annotation (``X | None`` -> ``[X, NoneType]``), the annotation itself otherwise."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [t for a in args for t in _flat_types(a)]
    if typing.get_origin(annotation) in (list, tuple, dict, set):
        return [t for a in args for t in _flat_types(a) if hasattr(t, "model_fields")]
    return [annotation]


def describe_type(annotation: Any) -> str:
    """What a run-file key accepts, in words a user reads (``one of `a`, `b```, ``list of integers``, ``section``)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is type(None) or annotation is None:
        return "none"
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        parts = [describe_type(a) for a in args if a is not type(None)]
        optional = type(None) in args or any(p.endswith(", or none") for p in parts)
        text = " or ".join(dict.fromkeys(p.removesuffix(", or none") for p in parts))
        return text + (", or none" if optional else "")
    if origin in (list, tuple, set):
        inner = describe_type(args[0]) if args else "values"
        return f"list of {inner}"
    if origin is dict:
        key, value = (describe_type(a) for a in args) if len(args) == 2 else ("key", "value")
        return f"mapping {key} → {value}"
    if hasattr(annotation, "model_fields"):
        return "section (table below)"
    names = {bool: "true/false", int: "integer", float: "number", str: "text", Path: "path", list: "list",
             dict: "mapping", typing.Any: "any value"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def run_file_reference() -> str:
    """Markdown reference of every run-file key, generated from the declarations (``docs/run-file.md``)."""
    lines = [
        "# Run file reference",
        "",
        "<!-- Generated by openldn.config.run_file_reference(); tests/test_config.py checks it is current. -->",
        "",
        "A run file is YAML. Paths are relative to the run file's folder. Options not given come from the preset",
        "(`preset:`), then from the defaults below. Unknown keys are errors.",
        "",
    ]

    nested: list[tuple[Any, str]] = []

    def table(model: Any, title: str) -> None:
        fields = getattr(model, "model_fields", None)
        if not fields:
            return
        lines.extend([f"## `{title}`", "", "| key | type | default | description |", "|---|---|---|---|"])
        for name, f in fields.items():
            sub = [t for t in _flat_types(f.annotation) if hasattr(t, "model_fields")]
            nested.extend((t, f"{title}.{name}" if title != "top level" else name) for t in sub)
            if f.is_required():
                default = "required"
            elif f.default_factory is not None:
                try:
                    default = f"`{f.default_factory()}`"  # type: ignore[call-arg]
                except TypeError:
                    default = "(see section)"
            else:
                default = f"`{f.default!r}`"
            if hasattr(f.annotation, "model_fields"):
                default = "(see section)"
            desc = (f.description or "").replace("|", "\\|").replace("\n", " ")
            kind = describe_type(f.annotation).replace("|", "\\|")
            lines.append(f"| `{name}` | {kind} | {default.replace('|', 'or')} | {desc} |")
        lines.append("")
        while nested:
            sub_model, sub_title = nested.pop(0)
            if sub_title not in documented:
                documented.add(sub_title)
                table(sub_model, sub_title)

    # Sections with a table of their own below; other nested models get theirs after their parent's.
    documented: set[str] = {"zones", "grid", "outputs", "engine", "inputs", *option_sections()}
    from openldn.registry import input_decls

    table(Assessment, "top level")
    table(InputSpec, "inputs.<name>")
    lines.extend(["Input names:", "", "| name | kind | what it is |", "|---|---|---|"])
    lines.extend(f"| `{d.name}` | {d.kind} | {d.description} |" for d in input_decls().values())
    lines.append("")
    table(ZonesSpec, "zones")
    table(GridSpec, "grid")
    for section, model in option_sections().items():
        table(model, section)
    table(OutputSpec, "outputs")
    table(EngineSpec, "engine")
    lines.extend(_RASTER_CONVENTIONS + _EXAMPLE_FILES)
    return "\n".join(lines)


#: Reference section: how rasters are read (openldn.io.read, openldn.io.subannual, openldn.io.checks, openldn.io.align).
_RASTER_CONVENTIONS = [
    "## Raster conventions",
    "",
    "Rasters are GeoTIFF/COG files (any format GDAL reads), NetCDF files or Zarr stores.",
    "",
    "**Bands.** A raster that changes over time holds one band per time step: per year (land cover, an annual",
    "vegetation index, population, a SOC series), per month (precipitation, PET, monthly SPI) or per dated composite",
    "(a vegetation index as the providers ship it: 8-day, 16-day or monthly composites). Instead of one multi-band",
    "file, `path` may be a list of single-band files or a glob (`ndvi/*.tif`), one file per time step, all on the",
    "same grid. A NetCDF/Zarr file uses its time coordinate; `variable` names the variable when it holds several.",
    "A single band without a time label is a static map (the reference SOC stock, climate zones, soil units).",
    "",
    "**Time labels.** The time of each band is read, in this order, from `years:` or `dates:` in the run file",
    "(one entry per band; `dates:` may be a CSV file with one date per line, a header line is skipped), then the",
    "band description or the band tags `YEAR`, `MONTH` or `DATE`, the NetCDF time coordinate, or the file names of",
    "a list; a year or date inside a longer label or name is found too (`ndvi_2001.tif`, `MOD13Q1.A2001065`).",
    "Accepted forms:",
    "",
    "| label | read as |",
    "|---|---|",
    "| `2015` | the year 2015 (an annual band) |",
    "| `2015-03` (also `2015_03`, `2015.03`) | March 2015 (a monthly band) |",
    "| `2015-03-22` (also `20150322`, `2015/03/22`, an ISO time after it) | a composite dated 22 March 2015 |",
    "| `2015081`, `2015-081` or `A2015081` | day 81 of 2015 (day of year, as MODIS names its composites) |",
    "",
    "Several bands without such labels (and without `years:`/`dates:`), two bands with the same label, or years",
    "mixed with months in one file are errors naming the file. Dated composites of a vegetation index are",
    "aggregated to one value per calendar year with the input's `composite` method (`mean` by default) after",
    "dropping the invalid cells of `mask`; a year with fewer than `min_count` valid composites is no data in that",
    "cell, and years the composites do not cover from start to end are dropped or kept (`partial_years`) with a",
    "warning naming them. One dated band per year (e.g. `2015-07-01`) is read as an annual value.",
    "",
    "**Nodata.** The nodata value is the one the file declares (GeoTIFF nodata, NetCDF `_FillValue` or",
    "`missing_value`), or `nodata:` of the input, which takes precedence. The nodata code and the `extra_nodata`",
    "codes of a land cover legend are no data too. An undeclared fill value is refused by the input checks of",
    "`openldn validate` and `openldn run`: a typical fill value (-9999, -3000, -32768, 255, 65535, ...) that fills",
    "at least 0.1 % of the cells at the end of the value range stops the run, for categorical inputs always and",
    "for continuous inputs when it lies outside the input's physical range; the message gives the `nodata:` line",
    "to add.",
    "",
    "**Scale and offset.** Continuous values are read as `stored value x scale + offset` (as 32-bit floats). The",
    "scale and offset are those of the file (GeoTIFF band scale/offset metadata, NetCDF CF `scale_factor` and",
    "`add_offset`) unless `scale:`/`offset:` of the input give them. The values after scaling must lie in the",
    "input's physical range: a vegetation index within -1..1 (an annual time integral within 366 times that), SOC,",
    "population, precipitation and PET not negative, SPI/SPEI within -10..10; `valid_range` declares another",
    "range. An NDVI stored as integers x 10000 without a scale is refused with the fix `scale: 0.0001`, and so",
    "are years stored with different scalings.",
    "",
    "**Units.** Land cover, climate zones, soil units and LPD maps hold whole-number class codes (a code such as",
    "10.5 is refused; a code the legend or nesting does not define stops the run while `land_cover.strict_codes`",
    "is true). SOC is the stock of 0-30 cm in t C/ha, population a count of people per cell, precipitation and",
    "PET monthly totals in mm.",
    "",
    "**CRS and grid.** Every raster needs a coordinate reference system; rotated (not north-up) grids are refused.",
    "The analysis grid is the grid of `grid.reference` (the land cover by default), or `grid.crs` and",
    "`grid.resolution`. Inputs on another grid are resampled onto it: categorical inputs by nearest neighbour",
    "(the majority class when the source cells are finer), continuous inputs bilinearly (area-weighted mean when",
    "finer), counts such as population so that totals are kept. An input already on the analysis grid (same CRS,",
    "cell size and cell alignment) is only cropped: its values are not changed. The files of a list must share",
    "CRS, transform and size. An input covering less than 95 % of the area of interest gives a warning; one with",
    "no valid value over it is an error.",
    "",
]

#: Reference section: the example files shipped in docs/examples.
_EXAMPLE_FILES = [
    "## Example files",
    "",
    "[docs/examples](examples/README.md) holds complete, commented files for a made-up country, to copy and edit:",
    "",
    "| file | what it is | run-file key |",
    "|---|---|---|",
    "| [national.yaml](examples/national.yaml) | a complete run file using the files below (the CSV matrix and "
    "the Tier 3 table are alternatives shown in its comments) | - |",
    "| [national_legend.yaml](examples/national_legend.yaml) | a national land cover legend nested into the 7 "
    "UNCCD classes | `inputs.land_cover.legend`, `land_cover.nesting` |",
    "| [transition_matrix.yaml](examples/transition_matrix.yaml), [.csv](examples/transition_matrix.csv) | a "
    "national transition matrix (-1/0/1) | `land_cover.transition_matrix` |",
    "| [soc_coefficients_tier2.yaml](examples/soc_coefficients_tier2.yaml) | country-specific (Tier 2) SOC "
    "stock-change coefficients | `soil_carbon.coefficients` |",
    "| [dvi_factors_national.csv](examples/dvi_factors_national.csv) | national drought vulnerability factors "
    "(Tier 1/2) | `drought.dvi_factors` |",
    "| [dvi_factors_tier3.csv](examples/dvi_factors_tier3.csv) | drought vulnerability factors per admin unit "
    "(Tier 3) | `drought.dvi_factors` |",
    "| [false_positives.geojson](examples/false_positives.geojson) | false positive / false negative corrections "
    "| `integration.false_positives` |",
    "| [hotspots.geojson](examples/hotspots.geojson), [brightspots.geojson](examples/brightspots.geojson) | "
    "hotspot and brightspot sites | `integration.hotspots`, `integration.brightspots` |",
    "",
]
