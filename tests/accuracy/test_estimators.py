"""Olofsson et al. (2014) estimators on the paper's worked example, against an independent computation.

The expected values are computed here in plain Python, term by term from the paper's equations, without numpy and
without the package; they are then checked against the figures the paper publishes (Tables 8-9 and §5.2).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from openldn.accuracy import estimate_accuracy, estimate_class_proportion
from openldn.exceptions import ConfigError

CLASSES = ("deforestation", "forest gain", "stable forest", "stable non-forest")
COUNTS = [[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]]
PIXELS = [200_000, 150_000, 3_200_000, 6_450_000]
PIXEL_HA = 0.09
Z = 1.96  # the paper's multiplier


def _independent() -> dict[str, list[float] | float]:
    """Every estimate of the example, written out from the paper's equations (plain Python)."""
    k = 4
    area = [p * PIXEL_HA for p in PIXELS]
    a_tot = sum(area)
    w = [a / a_tot for a in area]
    n_row = [sum(r) for r in COUNTS]
    p = [[w[i] * COUNTS[i][j] / n_row[i] for j in range(k)] for i in range(k)]
    users = [COUNTS[i][i] / n_row[i] for i in range(k)]
    users_ci = [Z * math.sqrt(users[i] * (1 - users[i]) / (n_row[i] - 1)) for i in range(k)]
    overall = sum(p[i][i] for i in range(k))
    overall_ci = Z * math.sqrt(sum(w[i] ** 2 * users[i] * (1 - users[i]) / (n_row[i] - 1) for i in range(k)))
    areas, areas_ci, producers, producers_ci = [], [], [], []
    for j in range(k):
        pj = sum(p[i][j] for i in range(k))
        var = 0.0
        for i in range(k):
            f = COUNTS[i][j] / n_row[i]
            var += w[i] ** 2 * f * (1 - f) / (n_row[i] - 1)
        areas.append(a_tot * pj)
        areas_ci.append(Z * a_tot * math.sqrt(var))
        # producer's accuracy with pixel counts N (eq. 7)
        n_hat = sum(PIXELS[i] * COUNTS[i][j] / n_row[i] for i in range(k))
        prod = PIXELS[j] * COUNTS[j][j] / n_row[j] / n_hat
        term1 = PIXELS[j] ** 2 * (1 - prod) ** 2 * users[j] * (1 - users[j]) / (n_row[j] - 1)
        term2 = 0.0
        for i in range(k):
            if i != j:
                f = COUNTS[i][j] / n_row[i]
                term2 += PIXELS[i] ** 2 * f * (1 - f) / (n_row[i] - 1)
        producers.append(prod)
        producers_ci.append(Z * math.sqrt((term1 + prod**2 * term2) / n_hat**2))
    return {"p": p, "users": users, "users_ci": users_ci, "overall": overall, "overall_ci": overall_ci,
            "area": areas, "area_ci": areas_ci, "producers": producers, "producers_ci": producers_ci}  # fmt: skip


#: Figures published by Olofsson et al. (2014): Table 9 (error matrix in area proportions, 4 decimals), §5.2 / Table
#: 8 (areas in ha ± the 95 % half-width, accuracies ± the 95 % half-width, 2 decimals).
PUBLISHED = {
    "p": [[0.0176, 0.0, 0.0013, 0.0011], [0.0, 0.0110, 0.0016, 0.0024],
          [0.0019, 0.0, 0.2967, 0.0213], [0.0040, 0.0020, 0.0179, 0.6212]],
    "area": [21_158, 11_686, 285_770, 581_386],
    "area_ci": [6_158, 3_756, 15_510, 16_282],
    "users": [0.88, 0.73, 0.93, 0.96],
    "users_ci": [0.07, 0.10, 0.04, 0.02],
    "producers": [0.75, 0.85, 0.93, 0.96],
    "producers_ci": [0.21, 0.23, 0.03, 0.01],
    "overall": 0.95,
    "overall_ci": 0.02,
}  # fmt: skip


@pytest.fixture(scope="module")
def est():  # type: ignore[no-untyped-def]
    return estimate_accuracy(COUNTS, [p * PIXEL_HA for p in PIXELS], classes=CLASSES)


def test_independent_computation_matches_the_published_figures() -> None:
    """The hand computation reproduces the paper (so it is a valid yardstick)."""
    ind = _independent()
    for i in range(4):
        for j in range(4):
            assert ind["p"][i][j] == pytest.approx(PUBLISHED["p"][i][j], abs=0.00006)  # type: ignore[index]
        assert ind["area"][i] == pytest.approx(PUBLISHED["area"][i], abs=0.5)  # type: ignore[index]
        assert ind["area_ci"][i] == pytest.approx(PUBLISHED["area_ci"][i], abs=0.5)  # type: ignore[index]
        for key in ("users", "users_ci", "producers"):
            assert ind[key][i] == pytest.approx(PUBLISHED[key][i], abs=0.005)  # type: ignore[index]
    # producer's half-widths: the paper prints 0.21, 0.23, 0.03, 0.01; eq. 7 gives 0.213, 0.254, 0.034, 0.018 (the
    # printed 0.23 and 0.01 do not follow from the paper's own equation; other implementations report the same)
    ci = ind["producers_ci"]
    assert ci[0] == pytest.approx(0.21, abs=0.005) and ci[2] == pytest.approx(0.03, abs=0.005)  # type: ignore[index]
    assert ci[1] == pytest.approx(0.254, abs=0.0005) and ci[3] == pytest.approx(0.018, abs=0.0005)  # type: ignore[index]
    assert ind["overall"] == pytest.approx(0.947, abs=0.0005)
    assert ind["overall_ci"] == pytest.approx(PUBLISHED["overall_ci"], abs=0.005)


def test_areas_and_intervals_agree_to_one_hectare(est) -> None:  # type: ignore[no-untyped-def]
    ind = _independent()
    np.testing.assert_allclose(est.area, ind["area"], atol=1.0)
    half = est.z * est.area_se
    np.testing.assert_allclose(half, ind["area_ci"], atol=1.0)
    lo, hi = est.area_ci
    np.testing.assert_allclose(lo, np.subtract(ind["area"], ind["area_ci"]), atol=1.0)
    np.testing.assert_allclose(hi, np.add(ind["area"], ind["area_ci"]), atol=1.0)
    assert est.area.sum() == pytest.approx(900_000.0)


def test_accuracies_agree_to_a_hundredth(est) -> None:  # type: ignore[no-untyped-def]
    ind = _independent()
    np.testing.assert_allclose(est.proportions, ind["p"], atol=1e-9)
    np.testing.assert_allclose(est.users, ind["users"], atol=0.01)
    np.testing.assert_allclose(est.z * est.users_se, ind["users_ci"], atol=0.01)
    np.testing.assert_allclose(est.producers, ind["producers"], atol=0.01)
    np.testing.assert_allclose(est.z * est.producers_se, ind["producers_ci"], atol=0.01)
    assert est.overall == pytest.approx(ind["overall"], abs=0.01)
    assert est.z * est.overall_se == pytest.approx(ind["overall_ci"], abs=0.01)
    # and tighter than required: same formulas, no rounding
    np.testing.assert_allclose(est.producers_se * est.z, ind["producers_ci"], rtol=1e-3)


def test_table_and_json(est) -> None:  # type: ignore[no-untyped-def]
    t = est.table()
    assert list(t["class_code"]) == list(CLASSES)
    assert t.loc[0, "area"] == pytest.approx(21_158, abs=1)
    d = est.to_dict()
    assert d["classes"] == list(CLASSES) and d["counts"][3] == [2, 1, 9, 313]
    assert d["per_class"][1]["users_accuracy"] == pytest.approx(55 / 75)


def test_merged_classes_give_the_stratified_estimate_of_their_union(est) -> None:  # type: ignore[no-untyped-def]
    """Change = deforestation + gain: the merged column, computed by hand, not the sum of variances."""
    both = est.class_proportion(["deforestation", "forest gain"])
    w = [p / sum(PIXELS) for p in PIXELS]
    n_row = [sum(r) for r in COUNTS]
    share = [(COUNTS[i][0] + COUNTS[i][1]) / n_row[i] for i in range(4)]
    prop = sum(w[i] * share[i] for i in range(4))
    se = math.sqrt(sum(w[i] ** 2 * share[i] * (1 - share[i]) / (n_row[i] - 1) for i in range(4)))
    assert both.proportion == pytest.approx(prop, rel=1e-12)
    assert both.se == pytest.approx(se, rel=1e-12)
    assert both.area == pytest.approx(21_157.76 + 11_686.15, abs=0.1)
    assert both.mapped_proportion == pytest.approx(0.035)
    assert both.ci_low == pytest.approx(prop - 1.959964 * se, abs=1e-6)
    single = estimate_class_proportion(COUNTS, PIXELS, [0])
    assert single.proportion == pytest.approx(est.area_proportion[0])


@pytest.mark.parametrize(
    ("counts", "areas", "match"),
    [
        ([[1, 2, 3], [4, 5, 6]], [1, 2], "square"),
        ([[5, 1], [1, 5]], [1, 2, 3], "one per class"),
        ([[5, -1], [1, 5]], [1, 2], "non-negative whole"),
        ([[5, 1], [1, 0]], [1, 2], "fewer than 2"),
        ([[5, 1], [1, 5]], [0, 0], "not all zero"),
    ],
)
def test_bad_inputs_are_one_line_errors(counts: list[list[int]], areas: list[float], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        estimate_accuracy(counts, areas)
    assert "\n" not in str(info.value)


def test_unmapped_stratum_without_sample_is_allowed() -> None:
    """A class present in the legend but absent from the map (area 0) needs no sample."""
    e = estimate_accuracy([[9, 1, 0], [2, 8, 0], [0, 0, 0]], [50.0, 50.0, 0.0])
    assert e.area.sum() == pytest.approx(100.0)
    assert np.isnan(e.users[2])
    assert e.area[2] == 0.0


def _units() -> tuple[list[int], list[int], list[int]]:
    strata, mapped, ref = [], [], []
    for i in range(4):
        for j in range(4):
            strata += [i] * COUNTS[i][j]
            mapped += [i] * COUNTS[i][j]
            ref += [j] * COUNTS[i][j]
    return strata, mapped, ref


def test_general_estimator_reduces_to_the_papers_when_strata_are_map_classes() -> None:
    """Stehman (2014) ratio estimators on unit-level data reproduce the independent Olofsson figures."""
    from openldn.accuracy import estimate_accuracy_strata

    strata, mapped, ref = _units()
    g = estimate_accuracy_strata(strata, [p * PIXEL_HA for p in PIXELS], mapped, ref, classes=[0, 1, 2, 3],
                                 degraded=[0])  # fmt: skip
    ind = _independent()
    np.testing.assert_allclose(g.area, ind["area"], atol=1.0)
    np.testing.assert_allclose(1.96 * g.area_se, ind["area_ci"], atol=1.0)
    np.testing.assert_allclose(g.users, ind["users"], atol=1e-9)
    np.testing.assert_allclose(1.96 * g.users_se, ind["users_ci"], atol=1e-9)
    np.testing.assert_allclose(g.producers, ind["producers"], atol=1e-9)
    np.testing.assert_allclose(1.96 * g.producers_se, ind["producers_ci"], atol=1e-9)
    assert g.overall == pytest.approx(ind["overall"]) and 1.96 * g.overall_se == pytest.approx(ind["overall_ci"])
    assert g.degraded is not None and g.degraded.area == pytest.approx(ind["area"][0])  # type: ignore[index]


def test_general_estimator_with_strata_unlike_the_map_classes_by_hand() -> None:
    """Two strata of 60 and 40 ha, 4 units each; the assessed map has classes a/b that cut across the strata."""
    from openldn.accuracy import estimate_accuracy_strata

    strata = [0, 0, 0, 0, 1, 1, 1, 1]
    mapped = ["a", "a", "b", "b", "a", "b", "b", "b"]
    ref = ["a", "b", "b", "b", "a", "a", "b", "b"]
    g = estimate_accuracy_strata(strata, [60.0, 40.0], mapped, ref, classes=["a", "b"])
    # area of reference a: 60 * 1/4 + 40 * 2/4 = 35 ha; V = 60^2 s1^2/4 + 40^2 s2^2/4, s^2 = n p (1-p) / (n-1)
    s1, s2 = 4 * 0.25 * 0.75 / 3, 4 * 0.5 * 0.5 / 3
    assert g.area[0] == pytest.approx(35.0)
    assert g.area_se[0] == pytest.approx(math.sqrt(60**2 * s1 / 4 + 40**2 * s2 / 4))
    # user's accuracy of map a: Y = correct a (60 * 1/4 + 40 * 1/4 = 25), X = mapped a (60 * 2/4 + 40 * 1/4 = 40)
    assert g.users[0] == pytest.approx(25 / 40)
    # producer's accuracy of a: Y = 25, X = reference a = 35
    assert g.producers[0] == pytest.approx(25 / 35)
    # overall: stratum 1 agrees on 3 of 4, stratum 2 on 3 of 4 -> 0.75
    assert g.overall == pytest.approx(0.75)
    # ratio variance of user's a by hand (Stehman 2014 eq. 28)
    r = 25 / 40
    y1, x1 = [1, 0, 0, 0], [1, 1, 0, 0]
    y2, x2 = [1, 0, 0, 0], [1, 0, 0, 0]

    def s(u: list[int], v: list[int]) -> float:
        mu, mv = sum(u) / 4, sum(v) / 4
        return sum((a - mu) * (b - mv) for a, b in zip(u, v, strict=True)) / 3

    var = (60**2 * (s(y1, y1) + r**2 * s(x1, x1) - 2 * r * s(x1, y1)) / 4
           + 40**2 * (s(y2, y2) + r**2 * s(x2, x2) - 2 * r * s(x2, y2)) / 4) / 40**2  # fmt: skip
    assert g.users_se[0] == pytest.approx(math.sqrt(var))
