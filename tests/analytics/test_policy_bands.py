"""The dated policy as date bands: bounds, rule values, and how a date finds its band."""

from __future__ import annotations

from datetime import date

import duckdb
import ibis
import pyarrow as pa

from mvnoguard.analytics.policy_bands import band_id_of, bands_arrow, bands_schema, policy_bands
from mvnoguard.domain.policy import Policy, RuleSet, RuleVersion
from tests.analytics import policies


def test_the_default_policy_is_one_rule_less_band_then_one_band_from_2013(
    policy: Policy,
) -> None:
    before, since_2013 = policy_bands(policy)
    assert (before.band_id, before.start, before.end, before.rules) == (
        0,
        None,
        date(2013, 9, 1),
        RuleSet(),
    )
    assert (since_2013.band_id, since_2013.start, since_2013.end) == (1, date(2013, 9, 1), None)
    assert since_2013.rules == policy.at(date(2013, 9, 1))
    assert since_2013.rules.card_limit_per_enterprise == 5


def test_a_later_version_opens_a_band_whose_rules_are_those_in_force_then() -> None:
    bands = policy_bands(policies.FACE_FROM_JUNE_2016)
    assert [(b.start, b.end) for b in bands] == [
        (None, date(2013, 9, 1)),
        (date(2013, 9, 1), date(2016, 6, 1)),
        (date(2016, 6, 1), None),
    ]
    assert bands[1].rules.face_score_min is None
    assert bands[2].rules.face_score_min == 0.80


def test_the_band_table_has_the_rule_values_as_columns(policy: Policy) -> None:
    table = bands_arrow(policy)
    assert ibis.Schema.from_pyarrow(table.schema) == bands_schema()
    rows = table.to_pylist()
    assert rows[0]["accepted_doc_types"] is None  # not in force: null, never an empty list
    assert rows[1]["accepted_doc_types"] == sorted(
        policy.at(date(2020, 1, 1)).accepted_doc_types or ()
    )
    assert rows[1]["face_check_outlet_kinds"] == ["agent", "own"]
    assert (rows[1]["min_age_without_guardian"], rows[1]["face_score_min"]) == (16, 0.80)


def _bands_of(days: list[date | None], policy: Policy) -> list[int]:
    dates = ibis.table({"activated_on": "date"}, name="dates")
    expression = dates.select(band=band_id_of(dates.activated_on, policy))
    con = duckdb.connect()
    try:
        con.register("dates", pa.table({"activated_on": pa.array(days, pa.date32())}))
        return [
            row[0] for row in con.execute(str(ibis.to_sql(expression, dialect="duckdb"))).fetchall()
        ]
    finally:
        con.close()


def test_a_date_falls_in_the_band_that_starts_on_or_before_it() -> None:
    policy = policies.FACE_FROM_JUNE_2016
    days = [date(2013, 8, 31), date(2013, 9, 1), date(2016, 5, 31), date(2016, 6, 1), None]
    # an unknown date gets the rule-less band 0: no dated rule judges it
    assert _bands_of(days, policy) == [0, 1, 1, 2, 0]


def test_an_empty_policy_has_only_the_rule_less_band() -> None:
    empty = Policy({})
    assert [(b.band_id, b.rules) for b in policy_bands(empty)] == [(0, RuleSet())]
    assert _bands_of([date(2016, 1, 1)], empty) == [0]


def test_versions_with_the_same_value_still_split_bands() -> None:
    policy = Policy(
        {
            "min_age_without_guardian": (
                RuleVersion(date(2014, 1, 1), 16),
                RuleVersion(date(2015, 1, 1), 16),
            )
        }
    )
    assert [b.rules.min_age_without_guardian for b in policy_bands(policy)] == [None, 16, 16]
