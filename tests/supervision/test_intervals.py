"""Tests of rates, Wilson intervals, tiers and trends (mvnoguard.supervision.intervals)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mvnoguard.errors import InvalidInput
from mvnoguard.supervision.intervals import (
    Rate,
    rate_of,
    tiers,
    trend,
    wilson_interval,
    z_for,
)

# z for 95%: the float NormalDist gives, 1.9599639845400536 (the exact quantile is
# 1.959963984540054235...). The expected bounds below were computed by hand from
#     centre = (p + z²/2n) / (1 + z²/n),  half = z/(1 + z²/n) * sqrt(p(1-p)/n + z²/4n²)
# with that z in 40-digit decimal arithmetic:
#   37/109: centre - half = 0.25737596864297420841..., centre + half = 0.43245434402946963458...
#   22/186: centre - half = 0.07942077966407832508..., centre + half = 0.17258665389594576445...
#   0/50:   high = 0.07134759913335868681...
#   50/50:  low  = 0.92865240086664131318...
Z95 = 1.9599639845400536
JULY_2016 = (37, 109, 0.2573759686429742, 0.43245434402946963)
NOV_DEC_2016 = (22, 186, 0.07942077966407833, 0.17258665389594576)


def score_test_bounds(successes: int, trials: int, z: float) -> tuple[float, float]:
    """Independent Wilson: the p where the score statistic equals ±z, i.e. the roots of
    (p̂ - p)² = z² p (1 - p) / n  <=>  (1 + z²/n) p² - (2p̂ + z²/n) p + p̂² = 0."""
    p_hat = successes / trials
    a = 1 + z * z / trials
    b = -(2 * p_hat + z * z / trials)
    c = p_hat * p_hat
    root = math.sqrt(b * b - 4 * a * c)
    return ((-b - root) / (2 * a), (-b + root) / (2 * a))


# --- z ---------------------------------------------------------------------------------------


def test_z_for_common_confidences() -> None:
    assert z_for(0.95) == pytest.approx(1.959963984540054, abs=1e-12)
    assert z_for(0.99) == pytest.approx(2.5758293035489004, abs=1e-12)
    assert z_for(0.90) == pytest.approx(1.6448536269514722, abs=1e-12)


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.5, 1.5, math.nan])
def test_z_for_refuses_a_confidence_outside_0_1(confidence: float) -> None:
    with pytest.raises(InvalidInput) as info:
        z_for(confidence)
    assert info.value.field == "confidence"


# --- the two real 2016 rounds -----------------------------------------------------------------


@pytest.mark.parametrize("round_", [JULY_2016, NOV_DEC_2016], ids=["jul-2016", "nov-dec-2016"])
def test_wilson_of_the_real_rounds_matches_the_hand_computation(
    round_: tuple[int, int, float, float],
) -> None:
    violations, inspected, low, high = round_
    got = wilson_interval(violations, inspected)
    assert got == pytest.approx((low, high), abs=1e-12)
    assert got == pytest.approx(score_test_bounds(violations, inspected, Z95), abs=1e-12)


def test_rates_of_the_real_rounds() -> None:
    july = rate_of("2016-07", 37, 109)
    autumn = rate_of("2016-11", 22, 186)
    assert july.rate is not None and autumn.rate is not None
    assert round(july.rate * 100, 1) == 33.9
    assert round(autumn.rate * 100, 1) == 11.8
    assert (round(july.ci_low, 4), round(july.ci_high, 4)) == (0.2574, 0.4325)
    assert (round(autumn.ci_low, 4), round(autumn.ci_high, 4)) == (0.0794, 0.1726)
    # The autumn round's interval lies wholly below July's: a real improvement, not noise.
    assert trend(autumn, july) == "better"


# --- edges ------------------------------------------------------------------------------------


def test_zero_violations_is_not_a_zero_width_interval() -> None:
    low, high = wilson_interval(0, 50)
    assert low == 0.0
    assert high == pytest.approx(0.07134759913335869, abs=1e-12)
    assert high > 0


def test_all_in_violation_is_not_a_zero_width_interval() -> None:
    low, high = wilson_interval(50, 50)
    assert high == 1.0
    assert low == pytest.approx(0.9286524008666413, abs=1e-12)
    assert low < 1


def test_nothing_inspected_says_nothing() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    rate = rate_of("E09", 0, 0)
    assert rate == Rate("E09", 0, 0, None, 0.0, 1.0)


def test_a_higher_confidence_gives_a_wider_interval() -> None:
    low95, high95 = wilson_interval(37, 109, 0.95)
    low99, high99 = wilson_interval(37, 109, 0.99)
    assert low99 < low95 and high99 > high95
    assert (low99, high99) == pytest.approx(score_test_bounds(37, 109, z_for(0.99)), abs=1e-12)


@pytest.mark.parametrize(
    ("successes", "trials", "field"),
    [(5, 4, "successes"), (-1, 4, "successes"), (1, -4, "trials"), (True, 4, "successes")],
)
def test_wilson_refuses_impossible_counts(successes: int, trials: int, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        wilson_interval(successes, trials)
    assert info.value.field == field


def test_wilson_refuses_a_fractional_count() -> None:
    with pytest.raises(InvalidInput):
        wilson_interval(1.5, 4)  # type: ignore[arg-type]


# Up to 100,000 inspections: far past any round; beyond that the reference quadratic in
# score_test_bounds loses digits to cancellation, not the code under test.
@given(
    trials=st.integers(min_value=1, max_value=10**5),
    share=st.floats(min_value=0, max_value=1),
    confidence=st.floats(min_value=0.5, max_value=0.999),
)
def test_wilson_contains_the_estimate_and_lies_in_0_1(
    trials: int, share: float, confidence: float
) -> None:
    successes = round(share * trials)
    low, high = wilson_interval(successes, trials, confidence)
    assert 0.0 <= low <= successes / trials <= high <= 1.0
    assert (low, high) == pytest.approx(
        score_test_bounds(successes, trials, z_for(confidence)), abs=1e-9
    )


# --- tiers ------------------------------------------------------------------------------------


def test_overlapping_intervals_share_a_tier() -> None:
    rates = [rate_of("E01", 10, 50), rate_of("E02", 8, 50), rate_of("E03", 12, 60)]
    assert tiers(rates) == {"E01": 1, "E03": 1, "E02": 1}


def test_clearly_separated_rates_get_different_tiers() -> None:
    rates = [rate_of("E02", 5, 50), rate_of("E01", 40, 50), rate_of("E03", 0, 200)]
    ranked = tiers(rates)
    assert ranked == {"E01": 1, "E02": 2, "E03": 3}
    assert list(ranked) == ["E01", "E02", "E03"]  # iteration order is the ranking


def test_a_chain_of_overlaps_is_one_tier() -> None:
    # A 40/100 [0.309, 0.498], B 30/100 [0.219, 0.396], C 20/100 [0.133, 0.289],
    # D 10/100 [0.055, 0.174]: A-B, B-C and C-D overlap, so no pair may be called different
    # through the chain: one tier, although A and D are far apart on their own.
    rates = [rate_of(code, k, 100) for code, k in [("D", 10), ("C", 20), ("B", 30), ("A", 40)]]
    assert tiers(rates) == {"A": 1, "B": 1, "C": 1, "D": 1}
    # Without B and C, A [0.309, 0.498] and D [0.055, 0.174] are disjoint: two tiers.
    assert tiers([rates[0], rates[3]]) == {"A": 1, "D": 2}


def test_ties_rank_by_label_and_nothing_inspected_comes_last() -> None:
    rates = [rate_of("E09", 0, 0), rate_of("E02", 40, 50), rate_of("E01", 40, 50)]
    ranked = tiers(rates)
    assert list(ranked) == ["E01", "E02"]  # nothing inspected: no rate, no tier
    assert ranked["E01"] == ranked["E02"] == 1


def test_tiers_need_distinct_labels() -> None:
    with pytest.raises(InvalidInput):
        tiers([rate_of("E01", 1, 10), rate_of("E01", 2, 10)])


def test_no_rates_no_tiers() -> None:
    assert tiers([]) == {}


counts = st.integers(min_value=0, max_value=300).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)


@given(st.lists(counts, max_size=25))
def test_tiers_never_separate_overlapping_intervals(observed: list[tuple[int, int]]) -> None:
    rates = [rate_of(f"E{i:02d}", k, n) for i, (k, n) in enumerate(observed)]
    measured = {rate.label: rate for rate in rates if rate.inspected}
    ranked = tiers(rates)
    assert set(ranked) == set(measured)
    assert sorted(set(ranked.values())) == list(range(1, len(set(ranked.values())) + 1))
    for a, ta in ranked.items():
        for b, tb in ranked.items():
            if ta == tb:
                continue
            assert not measured[a].overlaps(measured[b])
            if ta < tb:  # every member of a better-numbered tier lies wholly above
                assert measured[a].ci_low > measured[b].ci_high


# --- trend ------------------------------------------------------------------------------------


def test_trend() -> None:
    low = rate_of("E01", 5, 100)
    high = rate_of("E01", 40, 100)
    near = rate_of("E01", 7, 100)
    assert trend(high, low) == "worse"
    assert trend(low, high) == "better"
    assert trend(near, low) == "unchanged"
    assert trend(low, low) == "unchanged"
    assert trend(low, None) == "new"
    assert trend(low, rate_of("E01", 0, 0)) == "new"
    assert trend(rate_of("E01", 0, 0), low) == "unchanged"
