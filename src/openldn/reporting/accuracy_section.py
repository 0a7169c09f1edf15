"""Report section, workbook sheets and run-JSON entries of the sample-based estimate and of the method agreement.

The ``accuracy`` stage records the adjusted proportion of degraded land with its interval, beside the map's own
proportion, in ``provenance["accuracy"]``; the ``agreement`` stage records its variants and ranges in
``provenance["agreement"]`` (:mod:`openldn.accuracy.stage`, :mod:`openldn.agreement.stage`). This module turns them
into:

* :func:`accuracy_html`: a block of the report's summary, next to the map figures;
* :func:`write_accuracy_sheets`: the workbook sheets "Accuracy" and "Method agreement";
* :func:`accuracy_document`: the ``accuracy`` and ``agreement`` entries of the run JSON document;
* :func:`accuracy_confidence`: the SO1-4.T2 confidence level derived from the interval.

The adjusted figure is an estimate shown beside the map figure; the PRAIS tables (and their consistency certificate)
keep the map's areas.
"""

from __future__ import annotations

import html
from typing import Any

from openldn.i18n import _, format_decimal, format_percent, pgettext

__all__ = ["accuracy_confidence", "accuracy_document", "accuracy_html", "write_accuracy_sheets"]


def _levels() -> dict[str, str]:
    return {"high": pgettext("confidence level", "high"), "medium": pgettext("confidence level", "medium"),
            "low": pgettext("confidence level", "low")}


def _rules() -> dict[str, str]:
    return {"relative": pgettext("confidence rule", "relative"), "absolute": pgettext("confidence rule", "absolute")}


def accuracy_confidence(provenance: dict[str, Any] | None) -> str | None:
    """SO1-4.T2 confidence level from the run's accuracy record (None without a reference sample)."""
    rec = (provenance or {}).get("accuracy")
    level = rec.get("confidence_level") if isinstance(rec, dict) else None
    return str(level) if level else None


def accuracy_document(provenance: dict[str, Any] | None) -> dict[str, Any]:
    """Entries of the run JSON document: ``accuracy`` (map figure beside the adjusted figure and its interval)
    and ``agreement`` (national figure of every variant, the most influential choice); empty without them."""
    prov = provenance or {}
    out: dict[str, Any] = {}
    rec = prov.get("accuracy")
    if isinstance(rec, dict) and rec.get("degraded"):
        d = rec["degraded"]
        out["accuracy"] = {
            "map": rec["map"], "area_unit": "km2", "confidence": rec["confidence"],
            "map_proportion": d["map_proportion"], "adjusted_proportion": d["proportion"], "se": d["se"],
            "ci_low": d["ci_low"], "ci_high": d["ci_high"], "map_area_km2": d["map_area_km2"],
            "adjusted_area_km2": d["area_km2"], "area_ci_low_km2": d["area_ci_low_km2"],
            "area_ci_high_km2": d["area_ci_high_km2"], "frame_area_km2": d["frame_area_km2"],
            "confidence_level": rec.get("confidence_level"), "confidence_rule": rec["confidence_rule"],
            "sample": {k: rec["sample"].get(k) for k in ("n_points", "n_labelled", "seed")},
        }  # fmt: skip
    agr = prov.get("agreement")
    if isinstance(agr, dict):
        out["agreement"] = {k: agr.get(k) for k in ("variants", "periods", "national", "most_influential")}
    return out


def _pct(v: float) -> str:
    """A share (0-1) as a percentage with two decimals, in the current language."""
    return format_percent(100.0 * v, 2)


def accuracy_html(provenance: dict[str, Any] | None) -> str:
    """HTML block of the adjusted figure (beside the map figure) and of the method agreement; '' without them."""
    prov = provenance or {}
    esc = html.escape
    parts: list[str] = []
    rec = prov.get("accuracy")
    if isinstance(rec, dict) and rec.get("degraded"):
        d = rec["degraded"]
        level = rec.get("confidence_level")
        heads = [pgettext("accuracy", "Map"), _("Proportion of degraded land (map)"), _("Adjusted proportion (sample)"),
                 _("Interval (95 %)"), _("Adjusted area (km²)"), _("Confidence level (SO1-4.T2)")]
        title = _("Degraded land: map and sample estimate")
        cells = [esc(str(rec["map"])), esc(_pct(d["map_proportion"])), f"<strong>{esc(_pct(d['proportion']))}</strong>",
                 f"{esc(_pct(d['ci_low']))} – {esc(_pct(d['ci_high']))}",
                 f"{esc(format_decimal(d['area_km2'], 1))} ± "
                 f"{esc(format_decimal(d['half_width'] * d['frame_area_km2'], 1))}",
                 esc(_levels().get(str(level), str(level)))]
        parts.append(f'<div class="accuracy"><h3 id="accuracy">{esc(title)}</h3><table><thead><tr>'
                     + "".join(f"<th>{esc(h)}</th>" for h in heads) + "</tr></thead><tbody><tr>"
                     + "".join(f"<td>{c}</td>" for c in cells) + "</tr></tbody></table>")
        s = rec["sample"]
        parts.append('<p class="note">' + esc(_(
            "Stratified estimate from %(labelled)s labelled reference points of %(points)s (seed %(seed)s; Olofsson "
            "et al. 2014); the PRAIS tables keep the map's areas. Confidence rule: %(rule)s, thresholds %(high)s "
            "and %(medium)s.") % {
            "labelled": s["n_labelled"], "points": s["n_points"], "seed": s["seed"],
            "rule": _rules().get(rec["confidence_rule"]["rule"], rec["confidence_rule"]["rule"]), "high": rec["confidence_rule"]["thresholds"][0],
            "medium": rec["confidence_rule"]["thresholds"][1]}) + "</p></div>")  # fmt: skip
    agr = prov.get("agreement")
    if isinstance(agr, dict):
        titles = {v["name"]: v["title"] for v in agr.get("variants", [])}
        heads = [pgettext("accuracy", "Period"), pgettext("accuracy", "Method"), _("Proportion of degraded land (map)")]
        agr_title = _("Agreement between methods")
        parts.append(f'<div class="agreement"><h3 id="agreement">{esc(agr_title)}</h3><table>'
                     "<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in heads) + "</tr></thead><tbody>")
        for row in agr.get("national", []):
            parts.append(f"<tr><td>{esc(str(row['period']))}</td><td>{esc(titles.get(row['choice'], row['choice']))}"
                         f"</td><td>{esc(_pct(row['share']))}</td></tr>")  # fmt: skip
        parts.append("</tbody></table>")
        for row in agr.get("most_influential", []):
            parts.append('<p class="note">' + esc(_(
                "%(period)s: the choice that moves the national figure most is %(choice)s (%(change)s percentage "
                "points).") % {"period": row["period"], "choice": titles.get(row["choice"], row["choice"]),
                               "change": format_decimal(100 * row["change"], 2)}) + "</p>")  # fmt: skip
        parts.append("</div>")
    return "".join(parts)


def write_accuracy_sheets(wb: Any, provenance: dict[str, Any] | None, head: Any) -> None:
    """Add the sheets "Accuracy" and "Method agreement" to an open xlsxwriter workbook (when the run has them).

    Numbers stay numbers (shares as fractions, areas in km²)."""
    prov = provenance or {}
    rec = prov.get("accuracy")
    if isinstance(rec, dict) and rec.get("degraded"):
        d = rec["degraded"]
        ws = wb.add_worksheet(pgettext("accuracy", "Accuracy")[:31])
        ws.set_column(0, 0, 46)
        ws.set_column(1, 1, 70)
        rows: list[tuple[str, Any]] = [
            (pgettext("accuracy", "Map"), rec["map"]),
            (_("Proportion of degraded land (map)"), d["map_proportion"]),
            (_("Adjusted proportion (sample)"), d["proportion"]),
            (pgettext("accuracy", "Standard error"), d["se"]),
            (_("Lower bound of the interval (95 %)"), d["ci_low"]),
            (_("Upper bound of the interval (95 %)"), d["ci_high"]),
            (_("Degraded area (map, km²)"), d["map_area_km2"]),
            (_("Adjusted area (km²)"), d["area_km2"]),
            (_("Adjusted area, lower bound (km²)"), d["area_ci_low_km2"]),
            (_("Adjusted area, upper bound (km²)"), d["area_ci_high_km2"]),
            (_("Confidence level (SO1-4.T2)"), _levels().get(str(rec.get("confidence_level")), "")),
            (_("Confidence rule"), f"{_rules().get(rec['confidence_rule']['rule'], '')} "
                                   f"{rec['confidence_rule']['thresholds']}"),
            (_("Reference points labelled"), rec["sample"]["n_labelled"]),
            (_("Reference points drawn"), rec["sample"]["n_points"]),
            (pgettext("accuracy", "Seed"), rec["sample"]["seed"]),
        ]
        rows += [(f"{what} sha256", f"{f['path']} {f['sha256']}") for what, f in rec["files"].items()]
        for i, (k, v) in enumerate(rows):
            ws.write_string(i, 0, k, head)
            if isinstance(v, int | float) and not isinstance(v, bool):
                ws.write_number(i, 1, v)
            else:
                ws.write_string(i, 1, "" if v is None else str(v))
    agr = prov.get("agreement")
    if isinstance(agr, dict):
        ws = wb.add_worksheet(_("Method agreement")[:31])
        ws.set_column(0, 5, 22)
        cols = ["period", "zone_id", "class_label", "min_km2", "max_km2", "range_km2", "min_share", "max_share",
                "range_share", "variant_min", "variant_max", "variants"]
        for j, c in enumerate(cols):
            ws.write_string(0, j, c, head)
        for i, row in enumerate(agr.get("range", []), start=1):
            for j, c in enumerate(cols):
                v = row.get(c)
                if isinstance(v, int | float) and not isinstance(v, bool) and v == v:
                    ws.write_number(i, j, v)
                else:
                    ws.write_string(i, j, "" if v is None or v != v else str(v))
