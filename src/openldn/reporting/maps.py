"""Map images and QGIS styles of the indicator rasters.

* :func:`render_map`: a PNG (matplotlib, Agg) with title, legend (classes or colour bar), a scale bar whose length
  is geodesic (correct on geographic grids, where a degree of longitude shrinks with latitude) and the admin
  boundaries. Legend labels, units and the scale bar are in the current language (:mod:`openldn.i18n`), drawn with
  a font that has its script (:mod:`openldn.reporting.fonts`).
* :func:`write_qml`: a QGIS layer style (``.qml``): paletted renderer for classes, pseudocolour ramp otherwise.

matplotlib is imported inside the functions (``import openldn`` does not import it).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

import numpy as np

from openldn.i18n import _, format_decimal
from openldn.io import atomic_path
from openldn.reporting.fonts import plot_text, use_report_fonts

if TYPE_CHECKING:
    import geopandas as gpd
    import xarray as xr

    from openldn.reporting.styles import Ramp

__all__ = ["LegendSpec", "boundary_lines", "nice_length", "normalise_legend", "render_map", "scale_bar_length", "write_qml"]

#: code -> (label, "#RRGGBB")
LegendSpec = dict[int, tuple[str, str]]

_NODATA_VALUES = (-32768, -32767)


def normalise_legend(legend: Any) -> LegendSpec | None:
    """Accept a :class:`~openldn.core.vocab.Legend`, ``{code: (label, colour)}``, ``{code: label}`` or an
    outputs-manifest record (``{"-1": ["Degraded", "#9B2779"]}``) and return ``{code: (label, colour)}``."""
    if legend is None:
        return None
    if hasattr(legend, "classes"):
        return {int(c.code): (str(c.label), str(c.color)) for c in legend.classes}
    out: LegendSpec = {}
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    for i, (k, v) in enumerate(dict(legend).items()):
        if isinstance(v, list | tuple):
            out[int(k)] = (str(v[0]), str(v[1]) if len(v) > 1 else palette[i % len(palette)])
        elif isinstance(v, dict):
            out[int(k)] = (str(v.get("label", k)), str(v.get("color", palette[i % len(palette)])))
        else:
            out[int(k)] = (str(v), palette[i % len(palette)])
    return out or None


def nice_length(target_m: float) -> float:
    """The largest 1, 2 or 5 x 10^k metres not above ``target_m`` (a round scale-bar length)."""
    if target_m <= 0 or not math.isfinite(target_m):
        return 0.0
    exp = math.floor(math.log10(target_m))
    for m in (5, 2, 1):
        if m * 10**exp <= target_m:
            return float(m * 10**exp)
    return float(10**exp)


def scale_bar_length(crs: Any, x0: float, y0: float, x_extent: float, *, fraction: float = 0.25) -> tuple[float, float]:
    """A round ground length for a scale bar and its length in map units, measured on the ellipsoid.

    Parameters
    ----------
    crs : pyproj.CRS or anything pyproj accepts
        CRS of the map.
    x0, y0 : float
        Where the bar is drawn (map units).
    x_extent : float
        Width of the map (map units).
    fraction : float
        Target bar length as a fraction of the map width.

    Returns
    -------
    (float, float)
        Ground length in metres and the matching length in map units along x at ``y0``.
    """
    from pyproj import CRS, Geod, Transformer

    crs = CRS.from_user_input(crs)
    to_ll = Transformer.from_crs(crs, 4326, always_xy=True)
    geod = Geod(ellps="WGS84")
    step = x_extent * fraction
    lon0, lat0 = to_ll.transform(x0, y0)
    lon1, lat1 = to_ll.transform(x0 + step, y0)
    _az1, _az2, dist = geod.inv(lon0, lat0, lon1, lat1)
    if dist <= 0:
        return 0.0, 0.0
    length = nice_length(dist)
    return length, step * length / dist


def boundary_lines(boundaries: gpd.GeoDataFrame | None, crs: Any) -> list[np.ndarray]:
    """Outlines of polygons as coordinate arrays in ``crs`` (compute once, reuse for every map).

    Parameters
    ----------
    boundaries : geopandas.GeoDataFrame or None
        Polygons (admin units or the area of interest).
    crs : pyproj.CRS or None
        CRS of the maps.

    Returns
    -------
    list of numpy.ndarray
        One ``(n, 2)`` array per ring.
    """
    import shapely

    if boundaries is None or not len(boundaries):
        return []
    b = boundaries
    if crs is not None and b.crs is not None and b.crs != crs:
        b = b.to_crs(crs)
    out: list[np.ndarray] = []
    for geom in b.geometry.values:
        if geom is None or geom.is_empty:
            continue
        bound = geom.boundary
        parts = getattr(bound, "geoms", [bound])
        out.extend(np.asarray(shapely.get_coordinates(part)) for part in parts)
    return out


def _bounds(da: xr.DataArray) -> tuple[float, float, float, float]:
    x = np.asarray(da["x"].values, dtype="float64")
    y = np.asarray(da["y"].values, dtype="float64")
    dx = abs(x[1] - x[0]) if x.size > 1 else 1.0
    dy = abs(y[1] - y[0]) if y.size > 1 else 1.0
    return x.min() - dx / 2, x.max() + dx / 2, y.min() - dy / 2, y.max() + dy / 2


def render_map(
    da: xr.DataArray,
    path: str | Path,
    *,
    title: str,
    legend: Any = None,
    boundaries: gpd.GeoDataFrame | list[np.ndarray] | None = None,
    units: str | None = None,
    cmap: str = "viridis",
    ramp: Ramp | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    max_pixels: int = 1600,
    dpi: int = 110,
    highlights: list[tuple[list[np.ndarray], str, str]] | None = None,
) -> Path:
    """Render a raster to a PNG with title, legend, geodesic scale bar and admin boundaries.

    Parameters
    ----------
    da : xarray.DataArray
        ``(y, x)`` raster (a leading band dimension of size 1 is dropped), CRS set with rioxarray.
    path : str or Path
        Destination ``.png`` (written atomically).
    title : str
        Map title.
    legend : Legend or dict, optional
        Classes to draw (categorical map); None draws a colour bar (continuous map).
    boundaries : geopandas.GeoDataFrame or list of numpy.ndarray, optional
        Admin units drawn as outlines (or the output of :func:`boundary_lines`).
    units : str, optional
        Units shown on the colour bar.
    cmap : str
        matplotlib colour map of continuous maps without ``ramp``.
    ramp : Ramp, optional
        Colour ramp of a continuous map (:mod:`openldn.reporting.styles`; takes precedence over ``cmap``).
    vmin, vmax : float, optional
        Range of the continuous colours (one range shared by the maps of a quantity across periods).
    max_pixels : int
        Larger rasters are decimated for display.
    dpi : int
        Resolution of the PNG.
    highlights : list of (lines, colour, label), optional
        Extra outlines drawn thicker and listed in the legend (e.g. hotspot and brightspot polygons, as returned
        by :func:`boundary_lines`).

    Returns
    -------
    Path

    Raises
    ------
    openldn.reporting.fonts.FontsMissingError
        The fonts of the current language are not installed.
    """
    with use_report_fonts():
        return _render_map(da, path, title=title, legend=legend, boundaries=boundaries, units=units, cmap=cmap,
                           ramp=ramp, vmin=vmin, vmax=vmax, max_pixels=max_pixels, dpi=dpi, highlights=highlights)


def _scale_label(length_m: float) -> str:
    if length_m >= 1000:
        return _("%(length)s km") % {"length": format_decimal(length_m / 1000, 0 if length_m % 1000 == 0 else 1)}
    return _("%(length)s m") % {"length": format_decimal(length_m, 0)}


def _render_map(da: Any, path: str | Path, *, title: str, legend: Any, boundaries: Any, units: str | None,
                cmap: str, ramp: Ramp | None, vmin: float | None, vmax: float | None, max_pixels: int, dpi: int,
                highlights: list[tuple[list[np.ndarray], str, str]] | None) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    from openldn.reporting.styles import class_colormap, nodata_color, nodata_label, ramp_colormap

    da = da.squeeze(drop=True)
    step = max(1, math.ceil(max(da.sizes["y"], da.sizes["x"]) / max_pixels))
    if step > 1:
        da = da.isel(y=slice(None, None, step), x=slice(None, None, step))
    arr = np.asarray(da.values)
    crs = da.rio.crs if hasattr(da, "rio") else None
    left, right, bottom, top = _bounds(da)
    spec = normalise_legend(legend)

    fig, ax = plt.subplots(figsize=(8.0, 6.2), dpi=dpi)
    ax.set_facecolor(nodata_color())
    if spec:
        codes, cm, norm = class_colormap(spec)
        lut = np.full(arr.shape, -1, dtype="int32")
        for i, c in enumerate(codes):
            lut[arr == c] = i
        masked = np.ma.masked_less(lut, 0)
        ax.imshow(masked, cmap=cm, norm=norm, extent=(left, right, bottom, top), interpolation="nearest")
        present = set(np.unique(arr[np.isin(arr, codes)]).tolist())
        handles = [Patch(facecolor=spec[c][1], edgecolor="#555555", label=plot_text(_(spec[c][0]))) for c in codes
                   if c in present or len(codes) <= 8]
        handles.append(Patch(facecolor=nodata_color(), edgecolor="#555555", label=plot_text(nodata_label())))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    else:
        vals = arr.astype("float64")
        vals[np.isin(vals, _NODATA_VALUES)] = np.nan
        masked = np.ma.masked_invalid(vals)
        im = ax.imshow(masked, cmap=ramp_colormap(ramp) if ramp is not None else cmap, vmin=vmin, vmax=vmax,
                       extent=(left, right, bottom, top), interpolation="nearest")
        cb = fig.colorbar(im, ax=ax, shrink=0.75)
        if units:
            cb.set_label(plot_text(_(units)))
    lines = boundary_lines(boundaries, crs) if boundaries is not None and not isinstance(boundaries, list) \
        else boundaries
    if lines:
        from matplotlib.collections import LineCollection

        ax.add_collection(LineCollection(lines, colors="#333333", linewidths=0.7))
        ax.set_xlim(left, right)
        ax.set_ylim(bottom, top)
    if crs is not None and crs.is_geographic:
        # equal ground distances along x and y at the map's central latitude
        ax.set_aspect(1.0 / max(math.cos(math.radians((top + bottom) / 2)), 0.05))
    ax.set_ylabel("")
    extra_handles = []
    for hl_lines, color, label in highlights or []:
        from matplotlib.collections import LineCollection
        from matplotlib.lines import Line2D

        if hl_lines:
            ax.add_collection(LineCollection(hl_lines, colors=color, linewidths=1.8))
            extra_handles.append(Line2D([0], [0], color=color, linewidth=1.8, label=plot_text(label)))
    if extra_handles:
        ax.set_xlim(left, right)
        ax.set_ylim(bottom, top)
        old = ax.get_legend()
        all_handles: list[Any] = [*(old.legend_handles if old is not None else []), *extra_handles]
        ax.legend(handles=all_handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    ax.set_title(plot_text(title), fontsize=12)
    ax.tick_params(labelsize=7)
    if crs is not None:
        w, h = right - left, top - bottom
        x0, y0 = left + 0.05 * w, bottom + 0.06 * h
        length_m, length_map = scale_bar_length(crs, x0, y0, w)
        if length_map > 0:
            ax.add_patch(Rectangle((x0, y0), length_map, 0.012 * h, facecolor="black", edgecolor="black"))
            ax.text(x0 + length_map / 2, y0 + 0.035 * h, plot_text(_scale_label(length_m)), ha="center",
                    va="bottom", fontsize=8,
                    bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})
        ax.set_xlabel(f"{crs.to_string()}", fontsize=7)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight", pad_inches=0.15)
    plt.close(fig)
    return path


def write_qml(
    path: str | Path,
    *,
    legend: Any = None,
    vmin: float = 0.0,
    vmax: float = 1.0,
    ramp: tuple[str, str] | Ramp = ("#440154", "#FDE725"),
) -> Path:
    """Write a QGIS style file (``.qml``) for band 1 of a raster.

    Parameters
    ----------
    path : str or Path
        Destination ``.qml`` (QGIS loads it automatically when it sits next to the ``.tif`` with the same stem).
    legend : Legend or dict, optional
        Classes: a paletted renderer. None: a linear pseudocolour ramp from ``vmin`` to ``vmax``.
    vmin, vmax : float
        Range of the continuous ramp.
    ramp : Ramp or (str, str)
        Colour ramp of the continuous layer (:mod:`openldn.reporting.styles`: its stops spread evenly over
        ``vmin .. vmax``), or start and end colours.

    Returns
    -------
    Path
    """
    from openldn.reporting.styles import Ramp, ramp_stops

    spec = normalise_legend(legend)
    if spec:
        entries = "\n".join(
            f'        <paletteEntry value="{code}" color={quoteattr(color.lower())} label={quoteattr(_(label))} '
            f'alpha="255"/>'
            for code, (label, color) in sorted(spec.items())
        )
        renderer = (
            '    <rasterrenderer type="paletted" opacity="1" band="1" alphaBand="-1" nodataColor="">\n'
            "      <rasterTransparency/>\n"
            "      <colorPalette>\n"
            f"{entries}\n"
            "      </colorPalette>\n"
            "    </rasterrenderer>\n"
        )
    else:
        stops = ramp_stops(ramp, float(vmin), float(vmax)) if isinstance(ramp, Ramp) else \
            [(float(vmin), ramp[0]), (float(vmax), ramp[1])]
        items = "\n".join(
            f'            <item value="{v!r}" color="{c.lower()}" label="{v:.4g}" alpha="255"/>' for v, c in stops
        )
        renderer = (
            f'    <rasterrenderer type="singlebandpseudocolor" opacity="1" band="1" alphaBand="-1" '
            f'classificationMin="{vmin!r}" classificationMax="{vmax!r}" nodataColor="">\n'
            "      <rasterTransparency/>\n"
            f'      <rastershader>\n        <colorrampshader colorRampType="INTERPOLATED" classificationMode="1" '
            f'minimumValue="{vmin!r}" maximumValue="{vmax!r}" clip="0">\n'
            f"{items}\n"
            "        </colorrampshader>\n      </rastershader>\n"
            "    </rasterrenderer>\n"
        )
    text = (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.28.0" styleCategories="AllStyleCategories">\n'
        "  <pipe>\n"
        f"{renderer}"
        '    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>\n'
        '    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0" colorizeStrength="100" '
        'colorizeRed="255" colorizeGreen="128" colorizeBlue="128"/>\n'
        '    <rasterresampler maxOversampling="2"/>\n'
        "  </pipe>\n"
        "  <blendMode>0</blendMode>\n"
        "</qgis>\n"
    )
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
