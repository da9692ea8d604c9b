"""Enforcement: thresholds turn rates into proposed cases; issuing writes the notice; deadlines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from mvnoguard.domain.policy import Policy
from mvnoguard.errors import RuleViolation
from mvnoguard.storage.database import Database
from mvnoguard.supervision import enforcement
from mvnoguard.supervision.inspection_records import import_inspections
from mvnoguard.supervision.periods import parse_period
from tests.supervision.conftest import round_rows, write_rows

JULY = parse_period("2016-07")
ISSUED = datetime(2016, 8, 1, 2, 0, tzinfo=UTC)  # 10:00 Beijing time


@pytest.fixture
def july(regulated: Database, tmp_path: Path) -> Database:
    rows = round_rows("JUL", "2016-07-12", [("E01", 40, 20), ("E02", 39, 17), ("E03", 4, 4)])
    with regulated.transaction() as session:
        import_inspections(
            session,
            write_rows(tmp_path / "july.csv", rows),
            quarantine_dir=tmp_path / "q",
            actor="t",
            at=ISSUED,
        )
    return regulated


def proposed(db: Database, policy: Policy) -> dict[tuple[str, str], int]:
    with db.transaction() as session:
        cases = enforcement.propose_cases(session, policy, JULY, at=ISSUED, actor="t")
        return {(c.enterprise.code, c.kind): c.id for c in cases}


def test_thresholds_on_the_lower_bound_give_the_expected_cases(
    july: Database, policy: Policy
) -> None:
    cases = proposed(july, policy)
    # E01 20/40: lower bound 35.2%, past every threshold. E02 17/39: 29.3%, short of the 30%
    # for suspending allocation. E03 4/4 is bad but too few inspections to act on.
    assert set(cases) == {
        ("E01", "rectification_order"),
        ("E01", "notice_of_criticism"),
        ("E01", "interview"),
        ("E01", "suspend_number_allocation"),
        ("E02", "rectification_order"),
        ("E02", "notice_of_criticism"),
        ("E02", "interview"),
    }
    assert proposed(july, policy) == {}, "proposing again adds nothing"


def test_issued_notice_is_a_chinese_pdf_with_name_and_rate(
    july: Database, policy: Policy, tmp_path: Path
) -> None:
    case_id = proposed(july, policy)[("E01", "notice_of_criticism")]
    with july.transaction() as session:
        case = enforcement.issue_case(
            session, policy, case_id, at=ISSUED, notices_dir=tmp_path / "notices", actor="t"
        )
        document = case.document
    assert document is not None and Path(document).suffix == ".pdf"
    text = "".join(page.extract_text() for page in PdfReader(document).pages)
    assert "远岸移动" in text
    assert "50.0%" in text
    assert Path(document).with_suffix(".html").exists()
    with july.transaction() as session, pytest.raises(RuleViolation):
        enforcement.issue_case(session, policy, case_id, at=ISSUED, notices_dir=tmp_path, actor="t")


def test_overdue_rectification_surfaces_and_a_passing_reinspection_closes_it(
    july: Database, policy: Policy, tmp_path: Path
) -> None:
    cases = proposed(july, policy)
    order = cases[("E02", "rectification_order")]
    with july.transaction() as session:
        issued = enforcement.issue_case(
            session, policy, order, at=ISSUED, notices_dir=tmp_path / "n", actor="t"
        )
        assert issued.deadline is not None and issued.deadline.isoformat() == "2016-08-31"
    on_deadline = datetime(2016, 8, 31, 15, 0, tzinfo=UTC)  # 23:00 Beijing, still the 31st
    day_after = datetime(2016, 8, 31, 16, 0, tzinfo=UTC)  # 00:00 Beijing on 1 September
    with july.transaction() as session:
        assert not enforcement.list_cases(session, at=on_deadline, status="issued")[0].overdue
        views = enforcement.list_cases(session, at=day_after, status="issued")
        assert [(v.case.id, v.overdue) for v in views] == [(order, True)]
    retest = round_rows("SEP", "2016-09-05", [("E02", 6, 0)])
    with july.transaction() as session:
        import_inspections(
            session,
            write_rows(tmp_path / "sep.csv", retest),
            quarantine_dir=tmp_path / "q",
            actor="t",
            at=datetime(2016, 9, 6, tzinfo=UTC),
        )
        closed = enforcement.close_passed_rectifications(
            session, at=datetime(2016, 9, 6, tzinfo=UTC), actor="t"
        )
        assert [c.id for c in closed] == [order]
        assert closed[0].close_reason == "re-inspection passed (6 outlets)"
