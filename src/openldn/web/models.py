"""Request and response bodies of the REST API (they document the OpenAPI schema)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from openldn.registry import input_kinds

__all__ = [
    "DatasetOut",
    "LocalDatasetIn",
    "ProjectIn",
    "ProjectOut",
    "RunOut",
]

#: What an uploaded or linked dataset is used for in the run file: the AOI, the admin units, or one of the inputs
#: the stages declare (openldn.registry), so a new input becomes a role without touching the web app.
if TYPE_CHECKING:
    Role = str
else:
    Role = Literal[("aoi", "zones", *input_kinds(), "other")]


class ProjectIn(BaseModel):
    """A new project."""

    model_config = ConfigDict(strict=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Display name.")
    demo: bool = Field(default=False, description="Fill the project with the built-in demo data and run file.")


class ProjectOut(BaseModel):
    """A project."""

    id: str
    name: str
    created: float = Field(description="Creation time, seconds since the epoch.")
    assessment: str | None = Field(description="Run file, relative to the project folder (None until saved).")


class DatasetOut(BaseModel):
    """An uploaded or linked dataset."""

    id: str
    project_id: str
    role: str
    kind: Literal["raster", "vector"]
    original_name: str
    path: str = Field(description="Path to use in the run file (relative to the project folder, or absolute).")
    size: int


class LocalDatasetIn(BaseModel):
    """A file already inside the data folder, linked instead of uploaded."""

    model_config = ConfigDict(strict=True, extra="forbid")

    path: str = Field(min_length=1, description="Path inside the data folder (absolute, or relative to it).")
    role: Role = "other"


class RunOut(BaseModel):
    """A run and its progress."""

    id: str
    project_id: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]
    created: float
    started: float | None
    finished: float | None
    stage: str
    done: int
    total: int
    message: str
    error: str | None
    attempts: int
    version: int
    fraction: float = Field(description="Share of the whole run done, 0-1 (stages weighted by their cost).")
    eta: float | None = Field(None, description="Estimated seconds left (None until it can be told).")
    stage_index: int = Field(0, description="1-based position of the running stage (0 before the first).")
    stage_count: int = Field(0, description="Number of stages of the run (0 when not known yet).")


class GeometryIn(BaseModel):
    """A polygon drawn on the map, as GeoJSON (Polygon, MultiPolygon, Feature or FeatureCollection)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    geojson: dict[str, Any]
    role: Literal["aoi", "zones"] = "aoi"
    name: str = Field(default="drawn area", max_length=200)
