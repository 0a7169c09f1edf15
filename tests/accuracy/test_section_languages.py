"""The accuracy block of the report speaks the report's language and keeps the numbers."""

from __future__ import annotations

import pytest

from openldn.i18n import use_language
from openldn.reporting.accuracy_section import accuracy_confidence, accuracy_document, accuracy_html

RECORD = {
    "map": "sdg/2016-2023", "confidence": 0.95, "confidence_level": "medium",
    "confidence_rule": {"rule": "relative", "thresholds": [0.25, 0.5], "definition": "..."},
    "degraded": {"map_proportion": 0.0549, "proportion": 0.0535, "se": 0.0014, "ci_low": 0.0508, "ci_high": 0.0562,
                 "half_width": 0.0027, "area_km2": 30.4, "area_ci_low_km2": 28.9, "area_ci_high_km2": 31.9,
                 "map_area_km2": 31.2, "frame_area_km2": 568.0},
    "sample": {"n_points": 240, "n_labelled": 220, "seed": 1},
    "files": {},
}


@pytest.mark.parametrize(("lang", "word"), [("en", "medium"), ("fr", "moyen"), ("es", "medio"), ("ru", "средний"),
                                            ("zh", "中"), ("ar", "متوسط")])
def test_block_in_every_language(lang: str, word: str) -> None:
    with use_language(lang):
        text = accuracy_html({"accuracy": RECORD})
    assert f"<td>{word}</td>" in text
    assert "220" in text and "240" in text


def test_json_entry_and_level() -> None:
    doc = accuracy_document({"accuracy": RECORD})
    assert doc["accuracy"]["adjusted_proportion"] == 0.0535 and doc["accuracy"]["map_proportion"] == 0.0549
    assert accuracy_confidence({"accuracy": RECORD}) == "medium"
    assert accuracy_document({}) == {} and accuracy_html(None) == "" and accuracy_confidence(None) is None
