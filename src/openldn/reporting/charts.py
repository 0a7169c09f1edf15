"""Charts of the HTML report, rendered server-side with matplotlib to PNG bytes (no JavaScript library).

* :func:`lpd_by_lc_chart`: stacked bars of LPD classes per land cover class.
* :func:`transition_sankey`: land cover transitions (initial -> final class) as a two-column Sankey (alluvial)
  diagram; flows are drawn with cubic Bezier bands whose widths are proportional to the area.
* :func:`degradation_chart`: degraded / stable / improved / no data per period.

Colours and labels come from the legends of the package data (:mod:`openldn.reporting.styles`), the same as the
maps, QGIS styles and web layers. Text is in the current language (:mod:`openldn.i18n`), drawn with a font that has
its script (:mod:`openldn.reporting.fonts`).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from openldn.i18n import _, format_area
from openldn.reporting.fonts import plot_text as _t
from openldn.reporting.fonts import use_report_fonts

__all__ = ["degradation_chart", "degradation_figure", "lpd_by_lc_chart", "lpd_by_lc_figure", "png_bytes",
           "transition_figure", "transition_sankey"]

#: Edge of the bars (white "No data" bars stay visible).
_EDGE = "#666666"


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def png_bytes(fig: Any) -> bytes:
    """PNG bytes of a matplotlib figure (the figure is closed)."""
    plt = _plt()
    buf = io.BytesIO()
    with use_report_fonts():
        fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def lpd_by_lc_chart(rows: list[dict[str, Any]], *, title: str) -> bytes:
    """PNG of :func:`lpd_by_lc_figure`."""
    with use_report_fonts():
        return png_bytes(lpd_by_lc_figure(rows, title=title))


def lpd_by_lc_figure(rows: list[dict[str, Any]], *, title: str) -> Any:
    """Stacked bars: area of each LPD class (1-5 and no data) per land cover class.

    Parameters
    ----------
    rows : list of dict
        Rows of SO1-2.T1/T2 (``lc_class``, ``lpd1`` ... ``lpd5``, ``lpd_nd``).
    title : str
        Chart title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from openldn.reporting.styles import legend_spec, nodata_color, nodata_label

    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.2))
    labels = [_t(_(str(r["lc_class"]))) for r in rows]
    bottom = np.zeros(len(rows))
    for k, (name, color) in legend_spec("lpd").items():
        v = np.array([float(r.get(f"lpd{k}") or 0.0) for r in rows])
        ax.bar(labels, v, bottom=bottom, color=color, edgecolor=_EDGE, linewidth=0.4, label=_t(name))
        bottom += v
    nd = np.array([float(r.get("lpd_nd") or 0.0) for r in rows])
    ax.bar(labels, nd, bottom=bottom, color=nodata_color(), edgecolor=_EDGE, linewidth=0.4,
           label=_t(nodata_label()))
    ax.set_ylabel(_t(_("km²")))
    ax.set_title(_t(title))
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    fig.tight_layout()
    return fig


def degradation_chart(series: dict[str, dict[str, float]], *, title: str) -> bytes:
    """PNG of :func:`degradation_figure`."""
    with use_report_fonts():
        return png_bytes(degradation_figure(series, title=title))


def degradation_figure(series: dict[str, dict[str, float]], *, title: str) -> Any:
    """Grouped bars: area per class (degraded / stable / improved / no data) for each period.

    Parameters
    ----------
    series : dict
        ``{period: {class label: km²}}`` (labels in the current language, as :func:`legend_spec` gives them).
    title : str
        Chart title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from openldn.reporting.styles import legend_spec, nodata_color, nodata_label

    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 3.8))
    periods = list(series)
    colors = dict(legend_spec("degradation").values())
    colors[nodata_label()] = nodata_color()
    classes = list(colors)
    w = 0.8 / len(classes)
    x = np.arange(len(periods))
    for i, c in enumerate(classes):
        ax.bar(x + i * w - 0.4 + w / 2, [series[p].get(c, 0.0) for p in periods], width=w,
               color=colors[c], edgecolor=_EDGE, linewidth=0.5, label=_t(c))
    ax.set_xticks(x, [_t(p.replace(" ", "\n", 1)) for p in periods], fontsize=8)
    ax.set_ylabel(_t(_("km²")))
    ax.set_title(_t(title))
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def transition_sankey(flows: pd.DataFrame, *, title: str, colors: dict[int, str] | None = None,
                      left_title: str | None = None, right_title: str | None = None) -> bytes:
    """PNG of :func:`transition_figure`."""
    with use_report_fonts():
        return png_bytes(transition_figure(flows, title=title, colors=colors, left_title=left_title,
                                           right_title=right_title))


def transition_figure(flows: pd.DataFrame, *, title: str, colors: dict[int, str] | None = None,
                      left_title: str | None = None, right_title: str | None = None) -> Any:
    """Two-column Sankey diagram of land cover transitions.

    Parameters
    ----------
    flows : pandas.DataFrame
        Columns ``class_code_a, class_label_a, class_code_b, class_label_b, area_km2`` (initial -> final).
    title : str
        Chart title.
    colors : dict of int to str, optional
        Colour per class code (default: UNCCD colours).
    left_title, right_title : str, optional
        Column headings (default: "initial" and "final" in the current language).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.patches import PathPatch, Rectangle
    from matplotlib.path import Path as MPath

    from openldn.reporting.styles import legend_spec

    plt = _plt()
    colors = colors or {code: color for code, (_label, color) in legend_spec("unccd").items()}
    f = flows[flows["area_km2"] > 0].copy()
    f["a"] = f["class_code_a"].astype(int)
    f["b"] = f["class_code_b"].astype(int)
    total = float(f["area_km2"].sum()) or 1.0
    gap = 0.02
    left = f.groupby("a")["area_km2"].sum().sort_index()
    right = f.groupby("b")["area_km2"].sum().sort_index()
    labels = {int(c): _(str(lab)) for c, lab in zip(f["a"], f["class_label_a"], strict=True)}
    labels.update({int(c): _(str(lab)) for c, lab in zip(f["b"], f["class_label_b"], strict=True)})
    left_title = _("initial") if left_title is None else left_title
    right_title = _("final") if right_title is None else right_title

    def stack(s: pd.Series) -> dict[int, float]:
        pos, y = {}, 0.0
        for c, v in s.items():
            pos[int(c)] = y  # type: ignore[call-overload]
            y += v / total * (1 - gap * (len(s) - 1)) + gap
        return pos

    lpos, rpos = stack(left), stack(right)
    scale = 1 - gap * (max(len(left), len(right)) - 1)
    fig, ax = plt.subplots(figsize=(9, 6))
    xl, xr, bw = 0.0, 1.0, 0.06
    lcur = dict(lpos)
    rcur = dict(rpos)
    for _row, r in f.sort_values(["a", "b"]).iterrows():
        h = r["area_km2"] / total * scale
        y0l, y0r = lcur[r["a"]], rcur[r["b"]]
        lcur[r["a"]] += h
        rcur[r["b"]] += h
        xa, xb = xl + bw, xr
        mid = (xa + xb) / 2
        verts = [(xa, y0l), (mid, y0l), (mid, y0r), (xb, y0r), (xb, y0r + h), (mid, y0r + h), (mid, y0l + h),
                 (xa, y0l + h), (xa, y0l)]
        codes = [MPath.MOVETO, MPath.CURVE4, MPath.CURVE4, MPath.CURVE4, MPath.LINETO, MPath.CURVE4,
                 MPath.CURVE4, MPath.CURVE4, MPath.CLOSEPOLY]
        ax.add_patch(PathPatch(MPath(verts, codes), facecolor=colors.get(int(r["a"]), "#999999"), alpha=0.55,
                               edgecolor="none"))
    for side, s, pos, x in (("l", left, lpos, xl), ("r", right, rpos, xr)):
        for cc, v in s.items():
            c = int(cc)  # type: ignore[call-overload]
            h = v / total * scale
            ax.add_patch(Rectangle((x, pos[int(c)]), bw, h, facecolor=colors.get(int(c), "#999999"),
                                   edgecolor="#333333", linewidth=0.5))
            tx = x - 0.01 if side == "l" else x + bw + 0.01
            text = _("%(class)s (%(area)s)") % {"class": labels.get(int(c), str(c)), "area": format_area(v, 0)}
            ax.text(tx, pos[int(c)] + h / 2, _t(text), va="center", ha="right" if side == "l" else "left",
                    fontsize=8)
    ax.text(xl + bw / 2, 1.03, _t(left_title), ha="center", fontsize=9, weight="bold")
    ax.text(xr + bw / 2, 1.03, _t(right_title), ha="center", fontsize=9, weight="bold")
    ax.set_xlim(-0.5, 1.56)
    ax.set_ylim(1.06, -0.02)
    ax.axis("off")
    ax.set_title(_t(title))
    fig.tight_layout()
    return fig
