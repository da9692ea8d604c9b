"""The registry audit on DuckDB: exact counts on the fixture, dated rules, the SQL oracle."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mvnoguard.analytics.audit import KINDS, AuditReport, EnterpriseAudit, run_audit
from mvnoguard.analytics.audit_baseline import hand_written_audit_sql
from mvnoguard.analytics.audit_pipeline import (
    INPUT_TABLES,
    AuditTables,
    _band_rules,
    _over_card_limit,
)
from mvnoguard.analytics.engines import DuckDBEngine
from mvnoguard.analytics.policy_bands import bands_arrow
from mvnoguard.analytics.store import SUBSCRIBERS, RegistryStore
from mvnoguard.domain.policy import Policy
from mvnoguard.errors import ConfigurationError, DataFileError
from tests.analytics import expected_reports as expected
from tests.analytics import policies
from tests.analytics.fixture_store import subscriber, write_store

AFTER_DEADLINE = date(2026, 1, 1)


def test_every_kind_and_every_clean_look_alike(
    fixture_store: RegistryStore, policy: Policy
) -> None:
    report = run_audit(fixture_store, policy, as_of=AFTER_DEADLINE)
    assert report.to_json() == expected.DEFAULT_2026


def test_a_rule_with_a_later_since_does_not_judge_earlier_activations(
    fixture_store: RegistryStore,
) -> None:
    report = run_audit(fixture_store, policies.FACE_FROM_JUNE_2016, as_of=AFTER_DEADLINE)
    assert report.to_json() == expected.FACE_FROM_JUNE_2016


@pytest.mark.parametrize(
    ("as_of", "wanted"),
    [
        (date(2016, 10, 1), expected.REAL_NAME_FROM_SEPT_2016_BEFORE_DEADLINE),
        (date(2016, 12, 31), expected.REAL_NAME_FROM_SEPT_2016_BEFORE_DEADLINE),  # on it
        (date(2017, 1, 1), expected.REAL_NAME_FROM_SEPT_2016_AFTER_DEADLINE),
    ],
)
def test_unregistered_numbers_are_judged_once_the_catch_up_deadline_has_passed(
    fixture_store: RegistryStore, as_of: date, wanted: dict[str, Any]
) -> None:
    report = run_audit(fixture_store, policies.REAL_NAME_FROM_SEPT_2016, as_of=as_of)
    assert report.to_json() == wanted


def test_the_sixth_card_in_activation_order_is_the_one_past_the_limit(
    fixture_store: RegistryStore, policy: Policy
) -> None:
    # T6's cards 21 and 26 share an activation time: the number breaks the tie, and 21,
    # though the lowest number, is the fifth card because it was activated after 22-25.
    tables = AuditTables.named({name: name for name in INPUT_TABLES})
    live = tables.subscribers.filter(tables.subscribers.status != "cancelled")
    past = _over_card_limit(live, _band_rules(tables.policy_bands), policy)
    engine = DuckDBEngine()
    try:
        engine.register_parquet("subscribers", str(fixture_store.subscribers_dir / "*.parquet"))
        engine.register_arrow("policy_bands", bands_arrow(policy))
        rows = engine.fetch(str(ibis.to_sql(past, dialect="duckdb")))
    finally:
        engine.close()
    assert rows == [{"limit_enterprise": "E01", "limit_msisdn": "17090000026"}]


def test_rules_absent_from_the_policy_are_not_applied(fixture_store: RegistryStore) -> None:
    report = run_audit(fixture_store, policies.NO_CARD_LIMIT_NO_FACE_CHECK, as_of=AFTER_DEADLINE)
    assert report.to_json() == expected.NO_CARD_LIMIT_NO_FACE_CHECK


@pytest.mark.parametrize("as_of", [date(2016, 10, 1), AFTER_DEADLINE])
def test_the_pipeline_agrees_with_the_hand_written_query(
    fixture_store: RegistryStore, policy: Policy, as_of: date
) -> None:
    oracle = duckdb.connect()
    try:
        cursor = oracle.execute(hand_written_audit_sql(fixture_store, as_of=as_of))
        columns = [d[0] for d in cursor.description or ()]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        oracle.close()
    report = run_audit(fixture_store, policy, as_of=as_of)
    assert [
        {
            "enterprise_code": e.enterprise_code,
            "audited": e.audited,
            "violating": e.violating,
            **e.violations,
        }
        for e in report.enterprises
    ] == rows


def test_the_report_has_the_contract_shape(fixture_store: RegistryStore, policy: Policy) -> None:
    body = run_audit(fixture_store, policy).to_json()  # as_of: today
    assert list(body) == ["enterprises"]
    assert [e["enterprise_code"] for e in body["enterprises"]] == ["E01", "E02", "E03"]
    for entry in body["enterprises"]:
        assert list(entry) == [
            "enterprise_code",
            "audited",
            "violating",
            "violation_rate",
            "violations",
        ]
        assert list(entry["violations"]) == list(KINDS)
    json.dumps(body, allow_nan=False)


def test_to_json_sorts_by_enterprise_and_lists_every_kind() -> None:
    report = AuditReport(
        [
            EnterpriseAudit("E09", 4, 1, {"manual_entry": 1}),
            EnterpriseAudit("E01", 0, 0, {}),
        ]
    )
    body = report.to_json()
    assert [e["enterprise_code"] for e in body["enterprises"]] == ["E01", "E09"]
    assert body["enterprises"][0]["violation_rate"] is None
    assert body["enterprises"][1]["violation_rate"] == 0.25
    assert body["enterprises"][1]["violations"] == {
        kind: int(kind == "manual_entry") for kind in KINDS
    }


def test_a_registry_without_subscriber_files_audits_every_enterprise_as_empty(
    tmp_path: Path, policy: Policy
) -> None:
    store = write_store(tmp_path)
    for path in store.subscriber_files():
        path.unlink()
    report = run_audit(store, policy, as_of=AFTER_DEADLINE)
    assert [(e.enterprise_code, e.audited, e.violating) for e in report.enterprises] == [
        ("E01", 0, 0),
        ("E02", 0, 0),
        ("E03", 0, 0),
    ]


def test_subscribers_of_an_enterprise_missing_from_the_reference_are_reported_too(
    tmp_path: Path, policy: Policy
) -> None:
    store = write_store(tmp_path)
    row = subscriber("17500000001", enterprise_code="E77", outlet_code="E01-OWN")
    pq.write_table(
        pa.Table.from_pylist([row], schema=SUBSCRIBERS), store.subscribers_dir / "E77.parquet"
    )
    codes = [e.enterprise_code for e in run_audit(store, policy, as_of=AFTER_DEADLINE).enterprises]
    assert codes == ["E01", "E02", "E03", "E77"]


def test_a_missing_reference_table_says_to_import_the_registry(
    tmp_path: Path, policy: Policy
) -> None:
    store = write_store(tmp_path)
    store.reference("outlets").unlink()
    with pytest.raises(DataFileError, match="registry import"):
        run_audit(store, policy, as_of=AFTER_DEADLINE)


def test_an_unreadable_subscriber_file_is_a_data_file_error_without_data_in_it(
    tmp_path: Path, policy: Policy
) -> None:
    store = write_store(tmp_path)
    (store.subscribers_dir / "E09.parquet").write_bytes(b"17090000001,110101199003071234\n")
    with pytest.raises(DataFileError) as caught:
        run_audit(store, policy, as_of=AFTER_DEADLINE)
    assert "110101199003071234" not in caught.value.message
    assert "17090000001" not in caught.value.message


def test_an_unknown_engine_is_a_configuration_error(
    fixture_store: RegistryStore, policy: Policy
) -> None:
    with pytest.raises(ConfigurationError, match="unknown engine"):
        run_audit(fixture_store, policy, engine="oracle")  # type: ignore[arg-type]
