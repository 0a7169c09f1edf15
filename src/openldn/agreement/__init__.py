"""Agreement between method variants of land productivity and SDG 15.3.1 (issue item "agreement between methods").

* :mod:`openldn.agreement.compute`: per-pixel agreement counts, ranges of table cells, ranked sensitivity (pure);
* :mod:`openldn.agreement.stage`: the pipeline stage ``agreement`` and its run-file section.

See docs/accuracy.md, "Agreement between methods".
"""

from __future__ import annotations

from openldn.agreement.compute import agreement_count, national_shares, range_table, sensitivity_table

__all__ = ["agreement_count", "national_shares", "range_table", "sensitivity_table"]
