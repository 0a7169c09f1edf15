"""Settings of the web platform, read from ``OPENLDN_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]

#: File types accepted by the upload endpoint, by extension, and the role they can play.
RASTER_EXTENSIONS = (".tif", ".tiff", ".nc")
VECTOR_EXTENSIONS = (".gpkg", ".geojson", ".json", ".zip")


class Settings(BaseSettings):
    """Configuration of the openldn web platform.

    Every field can be set with an environment variable named ``OPENLDN_<FIELD>`` (for example
    ``OPENLDN_DATA_DIR=/srv/openldn``, ``OPENLDN_TOKEN=secret``, ``OPENLDN_MAX_UPLOAD_MB=200``).
    """

    model_config = SettingsConfigDict(env_prefix="OPENLDN_", env_file=None, extra="ignore")

    data_dir: Path = Field(
        default=Path("openldn-data"),
        description="Folder holding the database, the uploaded files and every run's outputs.",
    )
    host: str = Field(default="127.0.0.1", description="Interface the server binds to (loopback by default).")
    port: int = Field(default=8000, ge=1, le=65535, description="TCP port of the server.")
    token: str | None = Field(
        default=None,
        description="When set, every write and every data read needs 'Authorization: Bearer <token>' "
        "(or '?token=<token>' for map tiles and event streams).",
    )
    max_upload_mb: float = Field(default=1024.0, gt=0, description="Largest accepted upload, in MiB.")
    node_modules: Path | None = Field(
        default=None,
        description="Folder of the npm packages served under /vendor (default: web/frontend/node_modules, "
        "filled by 'npm ci' in web/frontend).",
    )
    pipeline: str = Field(
        default="openldn.pipeline:run_assessment",
        description="Import path 'module:function' of the run function called by the worker process.",
    )

    @property
    def max_upload_bytes(self) -> int:
        """Largest accepted upload in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def root(self) -> Path:
        """The data folder as an absolute, resolved path (created if needed)."""
        path = Path(self.data_dir).expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def db_path(self) -> Path:
        """Path of the SQLite database."""
        return self.root / "openldn.sqlite"
