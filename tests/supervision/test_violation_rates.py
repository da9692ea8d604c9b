"""Violation rates reproduce the two real 2016 rounds with honest intervals."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mvnoguard.storage.database import Database
from mvnoguard.supervision.inspection_records import import_inspections
from mvnoguard.supervision.periods import parse_period
from mvnoguard.supervision.violation_rates import violation_rates
from tests.supervision.conftest import round_rows, write_rows


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The score interval written out once more, independently of the code under test."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.fixture
def two_rounds(regulated: Database, tmp_path: Path) -> Database:
    july = round_rows("JUL", "2016-07-12", [("E01", 40, 20), ("E02", 39, 17), ("E03", 30, 0)])
    november = round_rows("NOV", "2016-11-20", [("E01", 62, 10), ("E02", 62, 12), ("E03", 62, 0)])
    path = write_rows(tmp_path / "rounds.csv", [*july, *november])
    with regulated.transaction() as session:
        import_inspections(
            session,
            path,
            quarantine_dir=tmp_path / "q",
            actor="t",
            at=datetime(2016, 12, 31, tzinfo=UTC),
        )
    return regulated


@pytest.mark.parametrize(
    ("period", "inspected", "violating"), [("2016-07", 109, 37), ("2016-Q4", 186, 22)]
)
def test_the_real_rounds_are_reproduced(
    two_rounds: Database, period: str, inspected: int, violating: int
) -> None:
    with two_rounds.transaction() as session:
        overall = violation_rates(session, parse_period(period)).to_json()["overall"]
    assert (overall["inspected"], overall["violations"]) == (inspected, violating)
    assert round(overall["rate"] * 100, 1) == {109: 33.9, 186: 11.8}[inspected]
    low, high = wilson(violating, inspected)
    assert overall["ci_low"] == pytest.approx(low, abs=1e-12)
    assert overall["ci_high"] == pytest.approx(high, abs=1e-12)
    # Hand-computed: 37/109 -> [25.7%, 43.2%]; 22/186 -> [7.9%, 17.3%].
    assert (round(low * 100, 1), round(high * 100, 1)) == {109: (25.7, 43.2), 186: (7.9, 17.3)}[
        inspected
    ]


def test_zero_violations_still_get_an_honest_interval(two_rounds: Database) -> None:
    with two_rounds.transaction() as session:
        rows = violation_rates(session, parse_period("2016-07")).to_json()["enterprises"]
    e03 = next(r for r in rows if r["enterprise_code"] == "E03")
    assert (e03["violations"], e03["ci_low"]) == (0, 0.0)
    assert e03["ci_high"] == pytest.approx(wilson(0, 30)[1]) and e03["ci_high"] > 0.1


def test_tiers_and_trends(two_rounds: Database) -> None:
    with two_rounds.transaction() as session:
        rates = violation_rates(session, parse_period("2016-Q4")).to_json()
        july = violation_rates(session, parse_period("2016-07")).to_json()
    by_code = {r["enterprise_code"]: r for r in july["enterprises"]}
    # E01 (50%) and E02 (44%) overlap: one tier; E03 (0 of 30) is clearly apart.
    assert by_code["E01"]["tier"] == by_code["E02"]["tier"] == 1
    assert by_code["E03"]["tier"] == 2
    # The fourth quarter compares with the third, which holds the July round.
    q4 = {r["enterprise_code"]: r for r in rates["enterprises"]}
    assert q4["E01"]["trend"] == "better" and q4["E03"]["trend"] == "unchanged"
    assert q4["E01"]["previous"]["inspected"] == 40


def test_registry_audit_rates_sit_beside_inspection_rates(two_rounds: Database) -> None:
    with two_rounds.transaction() as session:
        rows = violation_rates(
            session, parse_period("2016-07"), registry_rates={"E01": 0.042}
        ).to_json()["enterprises"]
    by_code = {r["enterprise_code"]: r["registry_violation_rate"] for r in rows}
    assert by_code == {"E01": 0.042, "E02": None, "E03": None}


def test_an_outlet_counts_once_a_period_judged_by_its_first_visit(two_rounds: Database) -> None:
    """2016 holds both rounds, which visit the same outlets again (X000 to X039 in July, X000
    to X061 in November): 62 outlets per enterprise, not 102 inspections."""
    with two_rounds.transaction() as session:
        year = violation_rates(session, parse_period("2016")).to_json()
    counted = {
        r["enterprise_code"]: (r["inspected"], r["violations"], r["reinspections"])
        for r in year["enterprises"]
    }
    # E01: July's 20 violators decide; November's 10 violators were all seen in July.
    assert counted == {"E01": (62, 20, 40), "E02": (62, 17, 39), "E03": (62, 0, 30)}
    e01 = next(r for r in year["enterprises"] if r["enterprise_code"] == "E01")
    assert e01["violation_kinds"] == {"no_id_check": 20, "pre_activated_card": 20}
    overall = year["overall"]
    assert (overall["inspected"], overall["violations"], overall["reinspections"]) == (186, 37, 109)
    low, high = wilson(37, 186)
    assert (overall["ci_low"], overall["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    with two_rounds.transaction() as session:
        july = violation_rates(session, parse_period("2016-07")).to_json()["overall"]
    assert (july["inspected"], july["reinspections"]) == (109, 0)
