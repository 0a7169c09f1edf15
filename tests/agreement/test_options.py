"""Every key of the agreement section acts or is an error."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from openldn.agreement.stage import AgreementOptions, _variants
from openldn.core.vocab import load_preset
from openldn.productivity.options import ProductivityOptions


def test_keys_without_variants_are_errors() -> None:
    assert AgreementOptions().variants == []
    with pytest.raises(ValidationError, match="without variants"):
        AgreementOptions(decompose=True)
    with pytest.raises(ValidationError, match="not built in"):
        AgreementOptions(variants=["te"])
    with pytest.raises(ValidationError, match="twice"):
        AgreementOptions(variants=["robust_fdr", {"name": "robust_fdr", "productivity": {"fdr": True}}])
    with pytest.raises(ValidationError, match="productivity options"):
        AgreementOptions(variants=[{"name": "v", "productivity": {"state_z": -1}}])
    with pytest.raises(ValidationError):
        AgreementOptions(variants=[{"name": "v", "productivity": {"no_such_option": 1}}])
    with pytest.raises(ValidationError, match="lpd_input"):
        AgreementOptions(variants=[{"name": "v", "lpd_input": True, "preset": "trends_earth"}])


def test_variants_change_what_they_say() -> None:
    base = ProductivityOptions()
    vs = {v.name: v for v in _variants(AgreementOptions(variants=["trends_earth", "gpg_v2_zscore", "robust_fdr",
                                                                   "imported_lpd"]), base)}  # fmt: skip
    assert list(vs) == ["run", "trends_earth", "gpg_v2_zscore", "robust_fdr", "imported_lpd"]
    te = load_preset("trends_earth")["productivity"]
    assert vs["trends_earth"].options is not None
    assert {k: getattr(vs["trends_earth"].options, k) for k in te} == te
    assert vs["gpg_v2_zscore"].definition["changed_options"] == {"state_method": "zscore"}
    assert vs["robust_fdr"].options is not None and vs["robust_fdr"].options.fdr
    assert vs["imported_lpd"].kind == "imported"
