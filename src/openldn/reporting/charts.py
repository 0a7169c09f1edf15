"""Charts of the HTML report, rendered server-side with matplotlib to PNG bytes (no JavaScript library).

* :func:`lpd_by_lc_chart`: stacked bars of LPD classes per land cover class.
* :func:`transition_sankey`: land cover transitions (initial -> final class) as a two-column Sankey (alluvial)
  diagram; flows are drawn with cubic Bezier bands whose widths are proportional to the area.
* :func:`degradation_chart`: degraded / stable / improved / no data per period.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["degradation_chart", "lpd_by_lc_chart", "png_bytes", "transition_sankey"]

LPD_COLORS = {1: "#F23C46", 2: "#FFAE4C", 3: "#FFFF73", 4: "#D9D8C2", 5: "#267300"}
DEG_COLORS = {"Degraded": "#9B2779", "Stable": "#FFFFE0", "Improved": "#006500", "No data": "#BBBBBB"}
UNCCD_COLORS = {1: "#787F1B", 2: "#FFAC42", 3: "#FFFB6E", 4: "#00DB84", 5: "#E60017", 6: "#FFF3D7", 7: "#0053C4"}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def png_bytes(fig: Any) -> bytes:
    """PNG bytes of a matplotlib figure (the figure is closed)."""
    plt = _plt()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def lpd_by_lc_chart(rows: list[dict[str, Any]], *, title: str) -> bytes:
    """Stacked bars: area of each LPD class (1-5 and no data) per land cover class.

    Parameters
    ----------
    rows : list of dict
        Rows of SO1-2.T1/T2 (``lc_class``, ``lpd1`` ... ``lpd5``, ``lpd_nd``).
    title : str
        Chart title.

    Returns
    -------
    bytes
        PNG.
    """
    from openldn.core.codes import LPD_CLASSES

    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.2))
    labels = [str(r["lc_class"]) for r in rows]
    bottom = np.zeros(len(rows))
    for k, name in LPD_CLASSES.items():
        v = np.array([float(r.get(f"lpd{k}") or 0.0) for r in rows])
        ax.bar(labels, v, bottom=bottom, color=LPD_COLORS[k], edgecolor="#666666", linewidth=0.4, label=name)
        bottom += v
    nd = np.array([float(r.get("lpd_nd") or 0.0) for r in rows])
    ax.bar(labels, nd, bottom=bottom, color="#BBBBBB", edgecolor="#666666", linewidth=0.4, label="No data")
    ax.set_ylabel("km²")
    ax.set_title(title)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    fig.tight_layout()
    return png_bytes(fig)


def degradation_chart(series: dict[str, dict[str, float]], *, title: str) -> bytes:
    """Grouped bars: area per class (degraded / stable / improved / no data) for each period.

    Parameters
    ----------
    series : dict
        ``{period: {class label: km²}}``.
    title : str
        Chart title.

    Returns
    -------
    bytes
        PNG.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 3.8))
    periods = list(series)
    classes = list(DEG_COLORS)
    w = 0.8 / len(classes)
    x = np.arange(len(periods))
    for i, c in enumerate(classes):
        ax.bar(x + i * w - 0.4 + w / 2, [series[p].get(c, 0.0) for p in periods], width=w,
               color=DEG_COLORS[c], edgecolor="#555555", linewidth=0.5, label=c)
    ax.set_xticks(x, [p.replace(" ", "\n", 1) for p in periods], fontsize=8)
    ax.set_ylabel("km²")
    ax.set_title(title)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return png_bytes(fig)


def transition_sankey(flows: pd.DataFrame, *, title: str, colors: dict[int, str] | None = None,
                      left_title: str = "initial", right_title: str = "final") -> bytes:
    """Two-column Sankey diagram of land cover transitions.

    Parameters
    ----------
    flows : pandas.DataFrame
        Columns ``class_code_a, class_label_a, class_code_b, class_label_b, area_km2`` (initial -> final).
    title : str
        Chart title.
    colors : dict of int to str, optional
        Colour per class code (default: UNCCD colours).
    left_title, right_title : str
        Column headings.

    Returns
    -------
    bytes
        PNG.
    """
    from matplotlib.patches import PathPatch, Rectangle
    from matplotlib.path import Path as MPath

    plt = _plt()
    colors = colors or UNCCD_COLORS
    f = flows[flows["area_km2"] > 0].copy()
    f["a"] = f["class_code_a"].astype(int)
    f["b"] = f["class_code_b"].astype(int)
    total = float(f["area_km2"].sum()) or 1.0
    gap = 0.02
    left = f.groupby("a")["area_km2"].sum().sort_index()
    right = f.groupby("b")["area_km2"].sum().sort_index()
    labels = {int(c): str(lab) for c, lab in zip(f["a"], f["class_label_a"], strict=True)}
    labels.update({int(c): str(lab) for c, lab in zip(f["b"], f["class_label_b"], strict=True)})

    def stack(s: pd.Series) -> dict[int, float]:
        pos, y = {}, 0.0
        for c, v in s.items():
            pos[int(c)] = y
            y += v / total * (1 - gap * (len(s) - 1)) + gap
        return pos

    lpos, rpos = stack(left), stack(right)
    scale = 1 - gap * (max(len(left), len(right)) - 1)
    fig, ax = plt.subplots(figsize=(9, 6))
    xl, xr, bw = 0.0, 1.0, 0.06
    lcur = dict(lpos)
    rcur = dict(rpos)
    for _, r in f.sort_values(["a", "b"]).iterrows():
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
        for c, v in s.items():
            h = v / total * scale
            ax.add_patch(Rectangle((x, pos[int(c)]), bw, h, facecolor=colors.get(int(c), "#999999"),
                                   edgecolor="#333333", linewidth=0.5))
            tx = x - 0.01 if side == "l" else x + bw + 0.01
            ax.text(tx, pos[int(c)] + h / 2, f"{labels.get(int(c), c)} ({v:,.0f} km²)", va="center",
                    ha="right" if side == "l" else "left", fontsize=8)
    ax.text(xl + bw / 2, 1.03, left_title, ha="center", fontsize=9, weight="bold")
    ax.text(xr + bw / 2, 1.03, right_title, ha="center", fontsize=9, weight="bold")
    ax.set_xlim(-0.5, 1.56)
    ax.set_ylim(1.06, -0.02)
    ax.axis("off")
    ax.set_title(title)
    fig.tight_layout()
    return png_bytes(fig)
