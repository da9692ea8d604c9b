"""Enforcement: thresholds turn rates into proposed cases; issuing writes the notice; deadlines."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from mvnoguard.domain.policy import Policy, RuleVersion
from mvnoguard.errors import InvalidInput, RuleViolation
from mvnoguard.storage.database import Database
from mvnoguard.storage.models import AuditEntry, EnforcementCase
from mvnoguard.supervision import enforcement
from mvnoguard.supervision.inspection_records import import_inspections
from mvnoguard.supervision.periods import parse_period
from tests.supervision.conftest import (
    KINDS,
    add_complaints,
    add_risk_number,
    add_subscribers,
    round_rows,
    write_rows,
)
from tests.threads import at_once

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


def test_a_case_reason_states_bound_and_threshold_at_one_precision(
    july: Database, policy: Policy
) -> None:
    """A notice threshold of 0.2355 shown rounded to 24% read as more than a lower bound of
    23.7% that reached it."""
    since = policy.versions["notice_violation_rate"][0].since
    finer = Policy({**policy.versions, "notice_violation_rate": (RuleVersion(since, 0.2355),)})
    cases = proposed(july, finer)
    with july.transaction() as session:
        reasons = {
            (v.case.enterprise.code, v.case.kind): v.case.reason
            for v in enforcement.list_cases(session, at=ISSUED)
        }
    # E02 17/39: lower bound 0.29305 (29.30%, and 29.3% at the 5% threshold's precision).
    assert reasons[("E02", "notice_of_criticism")] == (
        "17 of 39 inspected outlets in violation; 95% lower bound 29.30% reaches the 23.55% "
        "threshold"
    )
    assert reasons[("E02", "rectification_order")].endswith(
        "95% lower bound 29.3% reaches the 5.0% threshold"
    )
    assert len(reasons) == len(cases)
    for bound, threshold in ((0.2366, 0.2355), (0.23551, 0.2355), (0.05, 0.05), (0.1235, 0.12345)):
        shown_bound, shown_threshold = enforcement._reaches(bound, threshold).split(" reaches the ")
        assert float(shown_bound.rstrip("%")) >= float(shown_threshold.rstrip("%"))
        assert float(shown_threshold.rstrip("%")) == pytest.approx(threshold * 100)


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


def test_overdue_rectification_surfaces_and_uncatalogued_passes_never_close_it(
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
    # July's violators are outlets the catalogue does not hold: passing again proves nothing.
    retest = round_rows("SEP", "2016-09-05", [("E02", 39, 0)])
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
        assert closed == []
        assert [v.case.id for v in enforcement.list_cases(session, at=day_after, status="issued")]


@pytest.fixture
def caught(regulated: Database, policy: Policy, tmp_path: Path) -> int:
    """E01's catalogued outlets O1 to O3 violate in July (O4, O5 pass); the rectification
    order proposed for it, issued on ISSUED. Returns the order's id."""
    visited = {"E01-O1": False, "E01-O2": False, "E01-O3": False, "E01-O4": True, "E01-O5": True}
    with regulated.transaction() as session:
        import_inspections(
            session,
            write_rows(tmp_path / "caught.csv", results("JUL", "2016-07-12", visited)),
            quarantine_dir=tmp_path / "q",
            actor="t",
            at=ISSUED,
        )
    order = proposed(regulated, policy)[("E01", "rectification_order")]
    with regulated.transaction() as session:
        enforcement.issue_case(
            session, policy, order, at=ISSUED, notices_dir=tmp_path / "n", actor="t"
        )
    return order


def results(name: str, day: str, passed: dict[str, bool]) -> list[str]:
    """Rows of E01's visits on ``day``: outlet -> whether it passed."""
    return [
        f"{name}-{i},E01,{outlet},{day},pass,"
        if ok
        else f"{name}-{i},E01,{outlet},{day},violation,{KINDS}"
        for i, (outlet, ok) in enumerate(passed.items())
    ]


def revisit(
    db: Database, tmp_path: Path, name: str, day: str, passed: dict[str, bool]
) -> list[int]:
    """Import E01's visits on ``day`` and close what they rectify; the closed cases' ids."""
    at = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)
    with db.transaction() as session:
        import_inspections(
            session,
            write_rows(tmp_path / f"{name}.csv", results(name, day, passed)),
            quarantine_dir=tmp_path / "q",
            actor="t",
            at=at,
        )
        return [c.id for c in enforcement.close_passed_rectifications(session, at=at, actor="t")]


def test_an_order_closes_only_when_every_violating_outlet_passed_again(
    regulated: Database, caught: int, tmp_path: Path
) -> None:
    # A visit on the day of issue is not after it; outlets that never violated, or that the
    # catalogue does not hold (a typo), prove nothing about the ones that did.
    assert revisit(regulated, tmp_path, "A", "2016-08-01", {"E01-O1": True}) == []
    assert revisit(regulated, tmp_path, "B", "2016-08-10", {"NO-SUCH-OUTLET": True}) == []
    assert revisit(regulated, tmp_path, "C", "2016-08-11", {"E01-O4": True, "E01-O5": True}) == []
    assert revisit(regulated, tmp_path, "D", "2016-08-12", {"E01-O1": True, "E01-O2": True}) == []
    assert revisit(regulated, tmp_path, "E", "2016-08-13", {"E01-O3": True}) == [caught]
    with regulated.transaction() as session:
        (view,) = enforcement.list_cases(session, at=ISSUED, status="closed")
        assert view.case.close_reason == "re-inspection passed (3 outlets)"


def test_an_outlet_that_fails_again_then_passes_closes_the_order(
    regulated: Database, caught: int, tmp_path: Path
) -> None:
    everyone = {"E01-O1": True, "E01-O2": True}
    assert revisit(regulated, tmp_path, "AUG", "2016-08-07", everyone | {"E01-O3": False}) == []
    assert revisit(regulated, tmp_path, "OCT", "2016-10-20", {"E01-O3": True}) == [caught]


def test_a_violation_at_an_uncatalogued_outlet_is_closed_by_hand(
    regulated: Database, policy: Policy, tmp_path: Path
) -> None:
    visited = {"E01-O1": False, "E01-SHOP": False, "E01-O2": True, "E01-O3": True, "E01-O4": True}
    assert revisit(regulated, tmp_path, "JUL", "2016-07-12", visited) == []
    order = proposed(regulated, policy)[("E01", "rectification_order")]
    with regulated.transaction() as session:
        enforcement.issue_case(
            session, policy, order, at=ISSUED, notices_dir=tmp_path / "n", actor="t"
        )
    assert (
        revisit(regulated, tmp_path, "AUG", "2016-08-07", {"E01-O1": True, "E01-SHOP": True}) == []
    )
    with regulated.transaction() as session:
        case = enforcement.close_case(
            session, order, reason="shop closed down", at=ISSUED, actor="t"
        )
        assert case.status == "closed"


def test_a_case_is_never_issued_or_closed_before_it_was_proposed_or_issued(
    july: Database, policy: Policy, tmp_path: Path
) -> None:
    cases = proposed(july, policy)
    order, notice = cases[("E02", "rectification_order")], cases[("E02", "notice_of_criticism")]
    an_hour = timedelta(hours=1)
    with july.transaction() as session, pytest.raises(RuleViolation) as refused:
        enforcement.issue_case(
            session, policy, order, at=ISSUED - an_hour, notices_dir=tmp_path, actor="t"
        )
    assert (refused.value.code, refused.value.field) == ("before_proposal", "at")
    with july.transaction() as session, pytest.raises(RuleViolation) as refused:
        enforcement.close_case(session, notice, reason="withdrawn", at=ISSUED - an_hour, actor="t")
    assert (refused.value.code, refused.value.field) == ("before_proposal", "at")
    with july.transaction() as session:
        enforcement.issue_case(
            session, policy, order, at=ISSUED + 2 * an_hour, notices_dir=tmp_path, actor="t"
        )
    with july.transaction() as session, pytest.raises(RuleViolation) as refused:
        enforcement.close_case(session, order, reason="rectified", at=ISSUED + an_hour, actor="t")
    assert (refused.value.code, refused.value.field) == ("before_issue", "at")
    with july.transaction() as session:
        statuses = {v.case.id: v.case.status for v in enforcement.list_cases(session, at=ISSUED)}
    assert (statuses[order], statuses[notice]) == ("issued", "proposed")


@pytest.mark.parametrize("reason", ["", "  \t", "\n"])
def test_a_case_is_not_closed_without_a_reason(july: Database, policy: Policy, reason: str) -> None:
    case_id = proposed(july, policy)[("E02", "notice_of_criticism")]
    with july.transaction() as session, pytest.raises(InvalidInput) as refused:
        enforcement.close_case(session, case_id, reason=reason, at=ISSUED, actor="t")
    assert (refused.value.code, refused.value.field) == ("bad_reason", "reason")
    with july.transaction() as session:
        case = enforcement.close_case(session, case_id, reason=" withdrawn ", at=ISSUED, actor="t")
        assert (case.status, case.close_reason) == ("closed", "withdrawn")


@pytest.fixture
def both_read_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two sessions acting on one case each read it and check the time before either writes:
    the interleaving in which both used to find the status they expected."""
    both_read = threading.Barrier(2)
    checked = enforcement._not_before

    def check_then_wait(case: EnforcementCase, at: datetime) -> None:
        checked(case, at)
        both_read.wait(10)

    monkeypatch.setattr(enforcement, "_not_before", check_then_wait)


def case_actions(db: Database, case_id: int) -> list[str]:
    with db.transaction() as session:
        return list(
            session.scalars(
                select(AuditEntry.action).where(AuditEntry.subject == f"case:{case_id}")
            )
        )


@pytest.mark.usefixtures("both_read_first")
def test_a_case_issued_twice_at_once_is_issued_once(
    july: Database, policy: Policy, tmp_path: Path
) -> None:
    order = proposed(july, policy)[("E02", "rectification_order")]

    def issue(i: int) -> datetime | None:
        with july.transaction() as session:
            case = enforcement.issue_case(
                session,
                policy,
                order,
                at=ISSUED + timedelta(hours=i),
                notices_dir=tmp_path / f"notices-{i}",
                actor="t",
            )
            return case.issued_at

    done, failed = at_once(2, issue)
    assert len(done) == 1
    assert [getattr(exc, "code", repr(exc)) for exc in failed] == ["bad_case_state"]
    assert case_actions(july, order).count("case.issue") == 1
    with july.transaction() as session:
        (view,) = enforcement.list_cases(session, at=ISSUED, status="issued")
        assert (view.case.id, view.case.issued_at) == (order, done[0])


@pytest.mark.usefixtures("both_read_first")
def test_a_case_closed_twice_at_once_is_closed_once(july: Database, policy: Policy) -> None:
    notice = proposed(july, policy)[("E02", "notice_of_criticism")]

    def close(i: int) -> str | None:
        with july.transaction() as session:
            case = enforcement.close_case(
                session, notice, reason=f"withdrawn {i}", at=ISSUED, actor="t"
            )
            return case.close_reason

    done, failed = at_once(2, close)
    assert len(done) == 1
    assert [getattr(exc, "code", repr(exc)) for exc in failed] == ["bad_case_state"]
    assert case_actions(july, notice).count("case.close") == 1
    with july.transaction() as session:
        (view,) = enforcement.list_cases(session, at=ISSUED, status="closed")
        assert view.case.close_reason == done[0]


def test_periods_outside_1901_to_2999_are_refused_in_one_line() -> None:
    for label in ("9999-12", "0000", "0001-01", "1900"):
        with pytest.raises(InvalidInput) as refused:
            parse_period(label)
        assert refused.value.code == "bad_period"
        assert repr(label) in refused.value.message
    assert parse_period("1901-01").previous().label == "1900-12"
    assert parse_period("2999-Q4").end.isoformat() == "3000-01-01"


def test_periods_are_written_in_ascii_digits() -> None:
    """Full-width or Arabic-Indic digits would read as 2016 under another label: a second
    July with cases of its own."""
    for label in ("２０１６-07", "٢٠١٦-07", "2016-０７", "2016-Q４", "２０１６"):
        with pytest.raises(InvalidInput) as refused:
            parse_period(label)
        assert refused.value.code == "bad_period"
    assert parse_period(" 2016-07 ").label == "2016-07"


# July has 31 days: a count c among u users is c / u * 10,000 * 30 / 31 per 10,000 per 30 days.
IN_JULY = datetime(2016, 7, 15, tzinfo=UTC)
REGISTRY_USERS = {"E01": 9_995, "E02": 4_995, "E03": 499}


@pytest.fixture
def nuisance(july: Database) -> Database:
    with july.transaction() as session:
        for code in ("E01", "E02", "E03"):
            add_subscribers(session, code, 5 if code != "E03" else 1, activated_at=IN_JULY)
        # E01, 10,000 users: 31 complaints -> 30.00, past the 5.0 complaint threshold.
        add_complaints(session, "E01", 31, received_at=IN_JULY)
        # E02, 5,000 users: 2 complaints -> 3.87, short; 1 fraud number -> 1.94, past 1.0.
        add_complaints(session, "E02", 2, received_at=IN_JULY)
        add_risk_number(session, "E02", confirmed_at=IN_JULY)
        # E03, 500 users: rates far past both thresholds, but under 1,000 users.
        add_complaints(session, "E03", 20, received_at=IN_JULY)
        add_risk_number(session, "E03", confirmed_at=IN_JULY)
    return july


def propose_nuisance(db: Database, policy: Policy) -> dict[tuple[str, str], int]:
    with db.transaction() as session:
        cases = enforcement.propose_cases(
            session, policy, JULY, at=ISSUED, actor="t", registry_users=REGISTRY_USERS
        )
        return {(c.enterprise.code, c.kind): c.id for c in cases}


def test_nuisance_thresholds_propose_interviews_apart_from_inspection_ones(
    nuisance: Database, policy: Policy
) -> None:
    rules = policy.at(JULY.end)
    assert (
        rules.complaint_interview_per_10k,
        rules.fraud_interview_per_10k,
        rules.min_users_for_rate_action,
    ) == (5.0, 1.0, 1000)
    cases = propose_nuisance(nuisance, policy)
    assert {key for key in cases if key[1] == "nuisance_interview"} == {
        ("E01", "nuisance_interview"),
        ("E02", "nuisance_interview"),
    }
    # The inspection-based interviews of the same period stand beside them.
    assert ("E01", "interview") in cases and ("E02", "interview") in cases
    assert propose_nuisance(nuisance, policy) == {}, "proposing again adds nothing"
    with nuisance.transaction() as session:
        views = {
            (v.case.enterprise.code, v.case.kind): v.to_json()
            for v in enforcement.list_cases(session, at=ISSUED)
        }
    e01 = views[("E01", "nuisance_interview")]
    assert e01["basis"] == "nuisance" and e01["inspected"] is None
    assert e01["reason"] == (
        "10000 users in 2016-07 (31 days); 31 complaints: 30.00 per 10,000 users per 30 days, "
        "reaches the 5 threshold; 0 confirmed fraud numbers: 0.00 per 10,000 users per 30 days, "
        "is below the 1 threshold"
    )
    assert (
        "1 confirmed fraud numbers: 1.94 per 10,000 users per 30 days, reaches the 1"
        in (views[("E02", "nuisance_interview")]["reason"])
    )
    assert views[("E01", "interview")]["basis"] == "inspection"


def test_issued_nuisance_notice_states_name_and_rates(
    nuisance: Database, policy: Policy, tmp_path: Path
) -> None:
    case_id = propose_nuisance(nuisance, policy)[("E01", "nuisance_interview")]
    with nuisance.transaction() as session:
        case = enforcement.issue_case(
            session,
            policy,
            case_id,
            at=ISSUED,
            notices_dir=tmp_path / "notices",
            actor="t",
            registry_users=REGISTRY_USERS,
        )
        document, deadline = case.document, case.deadline
    assert document is not None and deadline is None
    text = "".join("".join(page.extract_text().split()) for page in PdfReader(document).pages)
    for needle in (
        "关于对远岸移动号码被投诉及涉诈问题的约谈通知",
        "你单位用户10000户，收到针对你单位号码的投诉31件，经认定的涉诈号码0个",
        "投诉率为30.00",
        "投诉率达到约谈阈值5.00",
    ):
        assert needle in text


def test_a_nuisance_case_the_figures_no_longer_support_is_not_issued(
    nuisance: Database, policy: Policy, tmp_path: Path
) -> None:
    case_id = propose_nuisance(nuisance, policy)[("E02", "nuisance_interview")]
    # Without the registry's users E02 has 5 users: too few for any rate action.
    with nuisance.transaction() as session, pytest.raises(RuleViolation) as refused:
        enforcement.issue_case(
            session, policy, case_id, at=ISSUED, notices_dir=tmp_path / "n", actor="t"
        )
    assert refused.value.code == "case_unsupported"
    with nuisance.transaction() as session:
        assert enforcement.list_cases(session, at=ISSUED, status="proposed")


def test_enforcement_and_notice_case_kinds_agree() -> None:
    from typing import get_args

    from mvnoguard.reports.notices import CASE_KIND_LABELS
    from mvnoguard.reports.notices import CaseKind as NoticeKind

    kinds = {kind.value for kind in enforcement.CaseKind}
    assert kinds == set(get_args(NoticeKind)) == set(CASE_KIND_LABELS)
