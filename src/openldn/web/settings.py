"""Settings of the web platform, read from ``OPENLDN_*`` environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]

#: File types accepted by the upload endpoint, by extension, and the role they can play.
RASTER_EXTENSIONS = (".tif", ".tiff", ".nc")
VECTOR_EXTENSIONS = (".gpkg", ".geojson", ".json", ".zip")


_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    """Return whether ``host`` (a name or an address) designates this machine's loopback interface."""
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


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
        description="Access token of the API, sent as 'Authorization: Bearer <token>' or kept by the page in a "
        "same-site cookie; generated at start (and printed) when not given.",
    )
    auth: bool = Field(
        default=True,
        description="Whether the API needs the access token. 'OPENLDN_AUTH=false' opts out, and only on a "
        "loopback interface (127.0.0.1, ::1, localhost).",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Extra host names the server answers to (for example its DNS name when bound to a public "
        "address); requests naming any other host are refused (DNS rebinding).",
    )
    heavy_workers: int = Field(
        default=4, ge=1, le=64,
        description="Threads for heavy requests (map tiles, pixel values, tables, boundaries, validation), kept "
        "apart from the threads answering light requests.",
    )
    max_upload_mb: float = Field(default=1024.0, gt=0, description="Largest accepted upload, in MiB.")
    node_modules: Path | None = Field(
        default=None,
        description="Folder of the npm packages served under /vendor (default: web/frontend/node_modules, "
        "filled by 'npm ci' in web/frontend).",
    )
    basemap_url: str | None = Field(
        default=None,
        description="Optional online basemap: an XYZ tile address such as 'https://tiles.example.org/{z}/{x}/{y}.png' "
        "(https, with {z}, {x} and {y}); its origin is allowed for images. Without it the map uses the offline "
        "basemap only.",
    )
    basemap_attribution: str = Field(default="", description="Attribution shown for the online basemap.")
    pipeline: str = Field(
        default="openldn.pipeline:run_assessment",
        description="Import path 'module:function' of the run function called by the worker process.",
    )

    @model_validator(mode="after")
    def _auth_only_off_on_loopback(self) -> Settings:
        if not self.auth and not is_loopback(self.host):
            raise ValueError(
                f"OPENLDN_AUTH=false is only allowed on a loopback interface, not on {self.host!r}: "
                "keep the access token or bind to 127.0.0.1"
            )
        return self

    @model_validator(mode="after")
    def _basemap_is_a_tile_address(self) -> Settings:
        url = self.basemap_url
        if url:
            parsed = urlsplit(url)
            if parsed.scheme not in ("https", "http") or not parsed.netloc or not all(
                k in url for k in ("{z}", "{x}", "{y}")
            ):
                raise ValueError(
                    f"OPENLDN_BASEMAP_URL {url!r} is not a tile address like https://host/{{z}}/{{x}}/{{y}}.png"
                )
        return self

    @property
    def basemap_origin(self) -> str | None:
        """Scheme and host of the online basemap (allowed as an image source), or None."""
        if not self.basemap_url:
            return None
        parsed = urlsplit(self.basemap_url)
        return f"{parsed.scheme}://{parsed.netloc.replace('{s}', '*')}"

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
