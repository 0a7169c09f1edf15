"""Reading, aligning and writing rasters and vectors.

``open_raster`` / ``read_vector`` read inputs lazily and validate them, ``analysis_grid`` chooses the grid of a run,
``align`` puts an input on it with the resampling rule of its kind, and ``write_cog`` / ``write_table`` /
``atomic_path`` write outputs atomically. Heavy libraries (geopandas, odc-geo) are imported inside the functions.
"""

from __future__ import annotations

import os

from openldn.io._atomic import atomic_path, sha256_file, write_table
from openldn.io.align import align, attach_grid, crop_to
from openldn.io.grid import analysis_grid, crosses_antimeridian, geobox_of
from openldn.io.read import open_raster, parse_time_label, read_vector, wrap_longitudes
from openldn.io.write import write_cog

#: GDAL's block cache (MB) unless the user sets ``GDAL_CACHEMAX``: inputs are read in chunks on their tile grid, each
#: tile decoded once, so the cache mostly holds the blocks of the COGs being written, a figure that grows with the
#: grid until the cache is full. GDAL's default (5 % of the machine's memory) added up to 1.2 GB of resident memory on
#: a 10,000² run; 256 MB still cost 0.5 GiB there (SO1 peak 2.00 GiB against 1.50 GiB with 64 MB, and 463 s against
#: 445 s). With maps written by bounded windows, the same run peaked at 1.15 GiB with 64 MB, 0.98 GiB with 32 MB and
#: 0.93 GiB with 16 MB; 16 MB made the 2,500² run 3 % longer, re-decoding input tiles (a 512² tile of a 24-band
#: pixel-interleaved series is 12.6 MB: two threads' tiles must fit). Inputs stored in strips rather than tiles are read
#: with less reuse from a small cache: raise it for them. Read by GDAL when its cache is first used in the process.
_GDAL_CACHEMAX_MB = 32
os.environ.setdefault("GDAL_CACHEMAX", str(_GDAL_CACHEMAX_MB))

__all__ = [
    "align",
    "analysis_grid",
    "atomic_path",
    "attach_grid",
    "crop_to",
    "crosses_antimeridian",
    "geobox_of",
    "open_raster",
    "parse_time_label",
    "read_vector",
    "sha256_file",
    "wrap_longitudes",
    "write_cog",
    "write_table",
]
