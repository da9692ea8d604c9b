"""The same audit definition on Spark gives the same reports as on DuckDB.

All cases share the session-scoped ``spark_session`` (``run_audit(engine="spark")`` reuses
the active session and leaves it running) and the tiny fixture store.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mvnoguard.analytics.audit import run_audit
from mvnoguard.analytics.store import RegistryStore
from mvnoguard.domain.policy import Policy
from mvnoguard.errors import DataFileError
from tests.analytics import expected_reports as expected
from tests.analytics import policies
from tests.analytics.fixture_store import write_store

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.spark


@pytest.mark.parametrize(
    ("policy_name", "as_of", "wanted"),
    [
        ("default", date(2026, 1, 1), expected.DEFAULT_2026),
        ("face_from_june_2016", date(2026, 1, 1), expected.FACE_FROM_JUNE_2016),
        (
            "real_name_from_sept_2016",
            date(2016, 10, 1),
            expected.REAL_NAME_FROM_SEPT_2016_BEFORE_DEADLINE,
        ),
        ("no_card_limit_no_face_check", date(2026, 1, 1), expected.NO_CARD_LIMIT_NO_FACE_CHECK),
    ],
)
def test_spark_and_duckdb_give_identical_reports(
    spark_session: SparkSession,
    fixture_store: RegistryStore,
    policy: Policy,
    policy_name: str,
    as_of: date,
    wanted: dict[str, Any],
) -> None:
    chosen = {
        "default": policy,
        "face_from_june_2016": policies.FACE_FROM_JUNE_2016,
        "real_name_from_sept_2016": policies.REAL_NAME_FROM_SEPT_2016,
        "no_card_limit_no_face_check": policies.NO_CARD_LIMIT_NO_FACE_CHECK,
    }[policy_name]
    on_spark = run_audit(fixture_store, chosen, engine="spark", as_of=as_of).to_json()
    on_duckdb = run_audit(fixture_store, chosen, engine="duckdb", as_of=as_of).to_json()
    assert on_spark == on_duckdb == wanted
    # The audit reused the shared session, left it running and dropped its temporary views.
    assert type(spark_session).getActiveSession() is spark_session
    assert [t.name for t in spark_session.catalog.listTables() if t.isTemporary] == []


def test_an_unreadable_file_is_a_data_file_error_on_spark_too(
    spark_session: SparkSession, tmp_path: Path, policy: Policy
) -> None:
    store = write_store(tmp_path)
    (store.subscribers_dir / "E09.parquet").write_bytes(b"17090000001,110101199003071234\n")
    with pytest.raises(DataFileError) as caught:
        run_audit(store, policy, engine="spark", as_of=date(2026, 1, 1))
    assert "110101199003071234" not in caught.value.message
    assert [t.name for t in spark_session.catalog.listTables() if t.isTemporary] == []
