"""The public bulletin's rows: enterprises of the period and the measures taken against them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from mvnoguard.domain.policy import Policy
from mvnoguard.storage.database import Database
from mvnoguard.supervision import enforcement
from mvnoguard.supervision.inspection_records import import_inspections
from mvnoguard.supervision.periods import parse_period
from mvnoguard.supervision.publication import bulletin_rows, publish_bulletin
from tests.supervision.conftest import round_rows, write_rows

JULY = parse_period("2016-07")
PROPOSED = datetime(2016, 8, 1, 2, 0, tzinfo=UTC)


def test_only_issued_measures_are_published(
    regulated: Database, policy: Policy, tmp_path: Path
) -> None:
    rows = round_rows("JUL", "2016-07-12", [("E01", 40, 20), ("E02", 10, 0)])
    with regulated.transaction() as session:
        import_inspections(
            session,
            write_rows(tmp_path / "july.csv", rows),
            quarantine_dir=tmp_path / "q",
            actor="t",
            at=PROPOSED,
        )
        cases = {
            case.kind: case.id
            for case in enforcement.propose_cases(session, policy, JULY, at=PROPOSED, actor="t")
        }
    later = PROPOSED + timedelta(days=1)
    with regulated.transaction() as session:
        for kind in ("rectification_order", "interview"):
            enforcement.issue_case(
                session, policy, cases[kind], at=later, notices_dir=tmp_path / "n", actor="t"
            )
        # An issued interview closed later was still taken; withdrawn proposals never were.
        enforcement.close_case(session, cases["interview"], reason="held", at=later, actor="t")
        for kind in ("notice_of_criticism", "suspend_number_allocation"):
            enforcement.close_case(session, cases[kind], reason="withdrawn", at=later, actor="t")
    with regulated.transaction() as session:
        published = {row.enterprise_code: row.cases for row in bulletin_rows(session, JULY)}
        html, _pdf = publish_bulletin(
            session, JULY, tmp_path / "bulletins", published_on=later.date()
        )
    assert published == {"E01": ["rectification_order", "interview"], "E02": []}
    # The measures-taken column, as the public reads it.
    assert ">责令整改、约谈<" in html.read_text(encoding="utf-8")
