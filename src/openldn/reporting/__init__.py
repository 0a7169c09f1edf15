"""PRAIS 4 (2026) tables, exports (XLSX, CSV, JSON), maps (PNG, QML) and the HTML report of a run.

Only the table models are imported here; xlsxwriter, matplotlib and jsonschema are imported inside the export,
map and report functions (``import openldn`` stays light).

* :mod:`openldn.reporting.prais`: :func:`build_report`, :func:`validate_report` (V1-V3, C1-C8);
* :mod:`openldn.reporting.export`: ``write_xlsx``, ``write_csv``, ``write_json``, ``report_document``;
* :mod:`openldn.reporting.maps`: ``render_map``, ``write_qml``;
* :mod:`openldn.reporting.report`: ``render_html``;
* :mod:`openldn.reporting.stage`: ``run(ctx)``, the last stage of ``openldn run``.
"""

from __future__ import annotations

from openldn.reporting.prais import PRAISReport, PRAISTable, build_report, validate_report

__all__ = ["PRAISReport", "PRAISTable", "build_report", "validate_report"]
