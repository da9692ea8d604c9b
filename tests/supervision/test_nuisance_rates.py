"""Nuisance rates: complaints and confirmed fraud numbers per 10,000 users per 30 days."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mvnoguard.storage.database import Database
from mvnoguard.supervision.nuisance_rates import (
    NuisanceRate,
    nuisance_rates,
    overall_nuisance,
    per_10k_per_30d,
)
from mvnoguard.supervision.periods import parse_period
from tests.supervision.conftest import add_complaints, add_risk_number, add_subscribers

JULY = parse_period("2016-07")  # 31 days
# Beijing is UTC+8: July 2016 runs from 2016-06-30 16:00 UTC to 2016-07-31 16:00 UTC.
FIRST_INSTANT = datetime(2016, 6, 30, 16, 0, tzinfo=UTC)  # 1 July 00:00 Beijing
BEFORE = datetime(2016, 6, 30, 15, 59, 59, tzinfo=UTC)  # 30 June 23:59:59 Beijing
LAST_SECOND = datetime(2016, 7, 31, 15, 59, 59, tzinfo=UTC)  # 31 July 23:59:59 Beijing
AFTER = datetime(2016, 7, 31, 16, 0, tzinfo=UTC)  # 1 August 00:00 Beijing
LONG_AGO = datetime(2015, 1, 1, tzinfo=UTC)


def by_code(rates: list[NuisanceRate]) -> dict[str, NuisanceRate]:
    return {rate.enterprise_code: rate for rate in rates}


def test_counts_follow_beijing_period_bounds(regulated: Database) -> None:
    with regulated.transaction() as session:
        add_subscribers(session, "E01", 100, activated_at=LONG_AGO)
        for moment, count in ((BEFORE, 1), (FIRST_INSTANT, 2), (LAST_SECOND, 4), (AFTER, 8)):
            add_complaints(session, "E01", count, received_at=moment)
            for _ in range(count):
                add_risk_number(session, "E01", confirmed_at=moment)
        # Not counted: a complaint about no enterprise's number, a confirmed harassment number,
        # a reported number never confirmed.
        add_complaints(session, None, 3, received_at=FIRST_INSTANT)
        add_risk_number(session, "E01", confirmed_at=FIRST_INSTANT, category="harassment")
        add_risk_number(session, "E01", confirmed_at=None, status="reported")
        # A confirmed number since disposed of or cleared was still confirmed in July.
        add_risk_number(session, "E01", confirmed_at=LAST_SECOND, status="cleared")
        e01 = by_code(nuisance_rates(session, JULY))["E01"]
    assert (e01.days, e01.users, e01.complaints, e01.fraud_numbers) == (31, 100, 6, 7)


def test_rates_are_per_10k_users_normalised_to_30_days(regulated: Database) -> None:
    with regulated.transaction() as session:
        add_subscribers(session, "E01", 1_000, activated_at=LONG_AGO)
        add_complaints(session, "E01", 31, received_at=datetime(2016, 7, 10, tzinfo=UTC))
        add_risk_number(session, "E01", confirmed_at=datetime(2016, 7, 10, tzinfo=UTC))
        july = by_code(nuisance_rates(session, JULY, registry_users={"E01": 1_000}))
        quarter = by_code(nuisance_rates(session, parse_period("2016-Q3"), registry_users=None))
    e01 = july["E01"]
    assert e01.users == 2_000
    # 31 complaints among 2,000 users in 31 days: 155 per 10,000 users, 150 per 30 days.
    assert e01.complaints_per_10k_per_30d == pytest.approx(150.0)
    assert e01.fraud_numbers_per_10k_per_30d == pytest.approx(1 / 2_000 * 10_000 * 30 / 31)
    # The same complaints over the 92 days of the third quarter, among the store's 1,000 users.
    q3 = quarter["E01"]
    assert (q3.days, q3.users) == (92, 1_000)
    assert q3.complaints_per_10k_per_30d == pytest.approx(31 / 1_000 * 10_000 * 30 / 92)
    assert e01.to_json() == {
        "enterprise_code": "E01",
        "period": "2016-07",
        "days": 31,
        "users": 2_000,
        "complaints": 31,
        "confirmed_fraud_numbers": 1,
        "complaints_per_10k_per_30d": 150.0,
        "confirmed_fraud_numbers_per_10k_per_30d": 4.8387,
    }


def test_users_are_those_live_at_the_end_of_the_period(regulated: Database) -> None:
    with regulated.transaction() as session:
        add_subscribers(session, "E02", 5, activated_at=LONG_AGO)
        add_subscribers(session, "E02", 3, activated_at=LAST_SECOND)
        add_subscribers(session, "E02", 7, activated_at=AFTER)  # joined after July
        add_subscribers(session, "E02", 11, activated_at=LONG_AGO, cancelled_at=LAST_SECOND)
        add_subscribers(session, "E02", 13, activated_at=LONG_AGO, cancelled_at=AFTER)
        add_complaints(session, "E03", 2, received_at=FIRST_INSTANT)
        rates = by_code(nuisance_rates(session, JULY, registry_users={"E02": 100, "E99": 50}))
    assert rates["E02"].users == 5 + 3 + 13 + 100
    # No users at all: counts stand, rates do not exist. An unknown registry code is ignored.
    e03 = rates["E03"]
    assert (e03.users, e03.complaints, e03.complaints_per_10k_per_30d) == (0, 2, None)
    assert e03.to_json()["complaints_per_10k_per_30d"] is None
    assert sorted(rates) == ["E01", "E02", "E03"]


def test_overall_sums_the_market() -> None:
    rows = [
        NuisanceRate("E01", "甲", "2016-07", 31, 4_000, 10, 1),
        NuisanceRate("E02", "乙", "2016-07", 31, 6_000, 21, 0),
    ]
    overall = overall_nuisance(rows, JULY)
    assert (overall.enterprise_code, overall.users, overall.complaints) == ("all", 10_000, 31)
    assert overall.complaints_per_10k_per_30d == pytest.approx(30.0)
    assert per_10k_per_30d(5, 0, 30) is None
