"""The shared risk-number database: push, feed, reputation, confirmation, disposal, clearing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mvnoguard.domain.policy import Policy
from mvnoguard.domain.risk import (
    ComplaintCategory,
    DisposalAction,
    RiskCategory,
    RiskLevel,
    RiskStatus,
)
from mvnoguard.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from mvnoguard.identity.vault import PiiVault
from mvnoguard.linkage import complaints
from mvnoguard.linkage import risk_numbers as risk
from mvnoguard.linkage.complaints import ComplaintIn
from mvnoguard.linkage.identity_links import tasks_for
from mvnoguard.linkage.risk_numbers import RiskPush
from mvnoguard.registry.lifecycle import Lifecycle
from mvnoguard.storage.audit_log import verify_chain
from mvnoguard.storage.database import Database
from mvnoguard.storage.models import AuditEntry, RiskChange, RiskReport, Subscriber
from tests.linkage.conftest import (
    A_E01,
    A_E02,
    A_E03,
    B_E01,
    E01,
    E02,
    E03,
    INSPECTOR,
    NOW,
    REGULATOR,
    UNASSIGNED_E02,
    plus86,
)
from tests.registry.builders import row_counts
from tests.threads import at_once


def fraud(number: str, score: float = 0.9) -> RiskPush:
    return RiskPush(number, RiskCategory.FRAUD, score, "many short calls to strangers")


def test_a_push_reaches_another_enterprise_once_without_its_reporter(
    market: Database, policy: Policy
) -> None:
    with market.transaction() as session:
        entry = risk.push(session, E01, fraud(A_E02), now=NOW, policy=policy)
    assert entry.status is RiskStatus.REPORTED
    assert entry.msisdn == plus86(A_E02)
    with market.transaction() as session:
        page = risk.changes(session, E02, since=0, limit=100)
        seen = risk.reputation(session, E03, A_E02, now=NOW, policy=policy)
    assert [item.to_json() for item in page.items] == [
        {
            "cursor": page.items[0].cursor,
            "msisdn": plus86(A_E02),
            "category": "fraud",
            "status": "reported",
            "score": 0.9,
            "reports": 1,
            "changed_at": NOW.isoformat(),
        }
    ]
    assert page.next_cursor == page.items[0].cursor
    assert seen.to_json() == {
        "msisdn": plus86(A_E02),
        "risk_level": "medium",
        "categories": ["fraud"],
        "status": "reported",
        "reports": 1,
        "complaints": 0,
        "complainants": 0,
        "score": 0.9,
        "updated_at": NOW.isoformat(),
    }
    # The reporter's view names no one else; another enterprise never learns who reported it.
    assert "E01" not in str(page.to_json())


def test_pushing_again_updates_the_report_without_a_second_feed_item(
    market: Database, policy: Policy
) -> None:
    with market.transaction() as session:
        risk.push(session, E01, fraud(A_E02, 0.5), now=NOW, policy=policy)
        again = risk.push(
            session,
            E01,
            fraud("+86 170-0000-0001", 0.6),
            now=NOW + timedelta(hours=1),
            policy=policy,
        )
        page = risk.changes(session, E02, since=0, limit=10)
        low = risk.reputation(session, E02, A_E02, now=NOW, policy=policy)
    assert (again.reports, again.score) == (1, 0.6)
    assert len(page.items) == 1
    assert low.risk_level is RiskLevel.LOW  # one report below the medium score


def test_paging_never_returns_a_change_twice(market: Database, policy: Policy) -> None:
    numbers = [f"1709000{n:04d}" for n in range(10, 17)]
    with market.transaction() as session:
        for number in numbers:
            risk.push(session, E01, fraud(number, 0.3), now=NOW, policy=policy)
    seen: list[int] = []
    cursor = 0
    with market.transaction() as session:
        while True:
            page = risk.changes(session, E02, since=cursor, limit=3)
            if not page.items:
                assert page.next_cursor == cursor
                break
            seen += [item.cursor for item in page.items]
            cursor = page.next_cursor
        assert risk.changes(session, E02, since=cursor, limit=3).items == []
    assert len(seen) == len(set(seen)) == len(numbers)
    assert seen == sorted(seen)


def test_a_cursor_past_any_feed_id_gives_an_empty_page(market: Database, policy: Policy) -> None:
    with market.transaction() as session:
        risk.push(session, E01, fraud("17090000010", 0.3), now=NOW, policy=policy)
        far = 2**62  # past PostgreSQL's integer ids: an empty page, not a database error
        page = risk.changes(session, E02, since=far, limit=10)
    assert (page.items, page.next_cursor) == ([], far)


def test_two_enterprises_corroborate_a_report(market: Database, policy: Policy) -> None:
    with market.transaction() as session:
        risk.push(session, E02, fraud(B_E01), now=NOW, policy=policy)
        entry = risk.push(session, E03, fraud(B_E01, 0.7), now=NOW, policy=policy)
        statuses = [item.status for item in risk.changes(session, E01, since=0, limit=10).items]
    assert entry.status is RiskStatus.CONFIRMED
    assert entry.dispose_by == NOW + timedelta(hours=24)
    assert statuses == [RiskStatus.REPORTED, RiskStatus.REPORTED, RiskStatus.CONFIRMED]


def test_one_enterprise_reporting_twice_is_not_corroboration(
    market: Database, policy: Policy
) -> None:
    with market.transaction() as session:
        risk.push(session, E02, fraud(B_E01), now=NOW, policy=policy)
        entry = risk.push(
            session,
            E02,
            RiskPush(B_E01, RiskCategory.SPAM, 0.4, "bulk SMS"),
            now=NOW,
            policy=policy,
        )
    assert entry.status is RiskStatus.REPORTED
    assert entry.categories == (RiskCategory.FRAUD, RiskCategory.SPAM)
    assert entry.reports == 2


def test_confirming_fraud_links_every_number_of_that_holder_only(
    market: Database, policy: Policy
) -> None:
    with market.transaction() as session:
        risk.push(session, E02, fraud(A_E01), now=NOW, policy=policy)
        entry = risk.confirm(session, REGULATOR, A_E01, now=NOW, policy=policy)
        assert entry.enterprise_code == "E01"
        views = {p.enterprise_code: tasks_for(session, p, kind="reverify") for p in (E01, E02, E03)}
        everything = tasks_for(session, REGULATOR)
        due = session.scalars(
            select(Subscriber.reverify_due_at).where(Subscriber.msisdn.in_([A_E01, A_E02, A_E03]))
        ).all()
        untouched = session.scalar(
            select(Subscriber.reverify_due_at).where(Subscriber.msisdn == B_E01)
        )
    assert {code: [t.msisdn for t in tasks] for code, tasks in views.items()} == {
        "E01": ["170****0001"],
        "E02": ["170****0001"],
        "E03": ["162****0001"],
    }
    assert all(t.due_at == NOW + timedelta(hours=24) for ts in views.values() for t in ts)
    assert len(everything) == 3
    assert set(due) == {NOW + timedelta(hours=24)}
    assert untouched is None
    # No task names the fraud number or another enterprise.
    assert all("E0" not in t.reason and "0001" not in t.reason for t in everything)


def test_linking_again_adds_no_second_open_task(market: Database, policy: Policy) -> None:
    from mvnoguard.linkage.identity_links import link_holder

    with market.transaction() as session:
        first = link_holder(session, A_E02, now=NOW, actor="test", policy=policy)
        second = link_holder(session, A_E02, now=NOW, actor="test", policy=policy)
        assert len(tasks_for(session, REGULATOR)) == 3
    assert [t.created for t in first] == [True] * 3
    assert [t.created for t in second] == [False] * 3


def test_another_enterprise_cannot_dispose_or_see_a_number(
    market: Database, policy: Policy
) -> None:
    with market.transaction() as session:
        risk.push(session, E02, fraud(B_E01), now=NOW, policy=policy)
        risk.confirm(session, REGULATOR, B_E01, now=NOW, policy=policy)
    with market.transaction() as session:
        with pytest.raises(NotFound) as refused:
            risk.dispose(session, E02, B_E01, DisposalAction.SUSPENDED, now=NOW, policy=policy)
        assert risk.overdue(session, E02, now=NOW + timedelta(days=2)) == []
        # E02 reported it, so it lists the entry, but not who must dispose of it.
        assert [e.enterprise_code for e in risk.entries(session, E02)] == [None]
    with market.transaction() as session, pytest.raises(NotFound) as unknown:
        risk.dispose(session, E02, "17000000555", DisposalAction.SUSPENDED, now=NOW, policy=policy)
    assert refused.value.code == unknown.value.code == "unknown_risk_number"
    assert refused.value.message == unknown.value.message


def test_the_owner_disposes_by_suspending_through_the_lifecycle(
    market: Database, policy: Policy
) -> None:
    with market.transaction() as session:
        risk.push(
            session, E02, RiskPush(B_E01, RiskCategory.SPAM, 0.8, "bulk"), now=NOW, policy=policy
        )
        with pytest.raises(RuleViolation) as early:
            risk.dispose(session, E01, B_E01, DisposalAction.SUSPENDED, now=NOW, policy=policy)
        risk.confirm(session, REGULATOR, B_E01, now=NOW, policy=policy)
        later = NOW + timedelta(hours=3)
        entry = risk.dispose(
            session, E01, B_E01, DisposalAction.SUSPENDED, now=later, policy=policy
        )
        status = session.scalar(select(Subscriber.status).where(Subscriber.msisdn == B_E01))
        with pytest.raises(RuleViolation) as twice:
            risk.dispose(session, E01, B_E01, DisposalAction.CANCELLED, now=later, policy=policy)
        seen = risk.reputation(session, E03, B_E01, now=later, policy=policy)
    assert early.value.code == "not_confirmed"
    assert twice.value.code == "bad_transition"
    assert (entry.status, entry.disposal_action, entry.disposed_at) == (
        RiskStatus.DISPOSED,
        DisposalAction.SUSPENDED,
        later,
    )
    assert status == "suspended"
    assert seen.risk_level is RiskLevel.HIGH


def test_reverified_needs_a_recorded_reverification(market: Database, policy: Policy) -> None:
    with market.transaction() as session:
        risk.push(session, E02, fraud(B_E01), now=NOW, policy=policy)
        risk.confirm(session, REGULATOR, B_E01, now=NOW, policy=policy)
        with pytest.raises(RuleViolation) as refused:
            risk.dispose(session, E01, B_E01, DisposalAction.REVERIFIED, now=NOW, policy=policy)
    assert refused.value.code == "not_reverified"


def test_an_unassigned_number_belongs_to_its_block(market: Database, policy: Policy) -> None:
    with market.transaction() as session:
        risk.push(session, E01, fraud(UNASSIGNED_E02), now=NOW, policy=policy)
        entry = risk.confirm(session, REGULATOR, UNASSIGNED_E02, now=NOW, policy=policy)
        mine = risk.overdue(session, E02, now=NOW + timedelta(days=1, seconds=1))
    assert entry.enterprise_code == "E02"
    assert [e.msisdn for e in mine] == [plus86(UNASSIGNED_E02)]


def test_overdue_surfaces_after_the_deadline_and_not_before(
    market: Database, policy: Policy
) -> None:
    with market.transaction() as session:
        risk.push(session, E02, fraud(B_E01), now=NOW, policy=policy)
        risk.confirm(session, REGULATOR, B_E01, now=NOW, policy=policy)
        deadline = NOW + timedelta(hours=24)
        assert risk.overdue(session, REGULATOR, now=deadline) == []
        assert risk.overdue(session, E01, now=deadline - timedelta(hours=1)) == []
        late = deadline + timedelta(seconds=1)
        assert [e.msisdn for e in risk.overdue(session, REGULATOR, now=late)] == [plus86(B_E01)]
        assert [e.msisdn for e in risk.overdue(session, E01, now=late)] == [plus86(B_E01)]
        assert risk.overdue(session, E03, now=late) == []


def test_overdue_numbers_and_tasks_come_a_page_at_a_time(market: Database, policy: Policy) -> None:
    """Four numbers overdue (two with one deadline): pages of two, longest overdue first, then
    by number; the tasks they linked come in id order, after the last id given."""
    numbers = [A_E01, B_E01, A_E02, UNASSIGNED_E02]
    with market.transaction() as session:
        for hours, number in zip((0, 1, 1, 2), numbers, strict=True):
            risk.push(session, E03, fraud(number), now=NOW, policy=policy)
            risk.confirm(
                session, REGULATOR, number, now=NOW + timedelta(hours=hours), policy=policy
            )
        late = NOW + timedelta(days=3)
        whole = [e.msisdn for e in risk.overdue(session, REGULATOR, now=late)]
        first = risk.overdue(session, REGULATOR, now=late, limit=2)
        second = risk.overdue(session, REGULATOR, now=late, after=first[-1].msisdn, limit=2)
        rest = risk.overdue(session, REGULATOR, now=late, after=second[-1].msisdn, limit=2)
        with pytest.raises(InvalidInput) as stray:
            risk.overdue(session, REGULATOR, now=late, after="+8613900000000")
        tasks = tasks_for(session, REGULATOR)
        page = tasks_for(session, REGULATOR, after=tasks[0].task_id, limit=2)
        opened = tasks_for(session, REGULATOR, status="open")
    assert whole == [plus86(A_E01), *sorted([plus86(B_E01), plus86(A_E02)]), plus86(UNASSIGNED_E02)]
    assert [e.msisdn for e in (*first, *second)] == whole
    assert rest == []
    assert stray.value.code == "bad_cursor"
    assert [t.task_id for t in page] == [t.task_id for t in tasks[1:3]]
    assert len(opened) == len(tasks) == 4  # holder A's three numbers and B's one


def test_clearing_ends_the_risk_and_a_new_report_reopens_it(
    market: Database, policy: Policy
) -> None:
    with market.transaction() as session:
        risk.push(session, E02, fraud(B_E01), now=NOW, policy=policy)
        risk.confirm(session, REGULATOR, B_E01, now=NOW, policy=policy)
        cleared = risk.clear(session, REGULATOR, B_E01, "appeal upheld", now=NOW)
        gone = risk.reputation(session, E03, B_E01, now=NOW, policy=policy)
        reopened = risk.push(session, E03, fraud(B_E01, 0.2), now=NOW, policy=policy)
        statuses = [i.status.value for i in risk.changes(session, E01, since=0, limit=10).items]
    assert cleared.status is RiskStatus.CLEARED
    assert (gone.risk_level, gone.categories, gone.status) == (
        RiskLevel.NONE,
        (),
        RiskStatus.CLEARED,
    )
    # E02's report was cleared with the number: E03 alone does not corroborate.
    assert (reopened.status, reopened.reports) == (RiskStatus.REPORTED, 1)
    assert statuses == ["reported", "confirmed", "cleared", "reported"]


def test_evidence_expires_after_the_policy_days(market: Database, policy: Policy) -> None:
    with market.transaction() as session:
        risk.push(session, E02, fraud(B_E01), now=NOW, policy=policy)
        risk.push(session, E02, fraud(A_E03), now=NOW + timedelta(days=100), policy=policy)
        assert risk.expire(session, now=NOW + timedelta(days=180), policy=policy) == 0
        assert risk.expire(session, now=NOW + timedelta(days=181), policy=policy) == 1
        left = {e.msisdn: e.status for e in risk.entries(session, REGULATOR)}
    assert left == {plus86(B_E01): RiskStatus.CLEARED, plus86(A_E03): RiskStatus.REPORTED}


def test_roles_are_checked(market: Database, policy: Policy) -> None:
    with market.transaction() as session:
        risk.push(session, E02, fraud(B_E01), now=NOW, policy=policy)
        for call in (
            lambda: risk.confirm(session, E01, B_E01, now=NOW, policy=policy),
            lambda: risk.clear(session, E01, B_E01, "mine", now=NOW),
            lambda: risk.push(session, INSPECTOR, fraud(B_E01), now=NOW, policy=policy),
            lambda: risk.changes(session, INSPECTOR, since=0, limit=1),
            lambda: risk.dispose(session, REGULATOR, B_E01, DisposalAction.SUSPENDED, now=NOW),
        ):
            with pytest.raises(Forbidden) as refused:
                call()
            assert refused.value.code == "forbidden"
            assert refused.value.http_status == 403
        # Every role may ask for a reputation.
        assert risk.reputation(session, INSPECTOR, B_E01, now=NOW).reports == 1


@pytest.mark.parametrize(
    ("push", "code"),
    [
        (RiskPush("12345", RiskCategory.FRAUD, 0.5, "x"), "bad_number"),
        (RiskPush(B_E01, RiskCategory.FRAUD, 1.5, "x"), "bad_score"),
        (RiskPush(B_E01, RiskCategory.FRAUD, float("nan"), "x"), "bad_score"),
        (RiskPush(B_E01, "robbery", 0.5, "x"), "bad_category"),  # type: ignore[arg-type]
        (RiskPush(B_E01, RiskCategory.FRAUD, 0.5, "x" * 4001), "evidence_too_long"),
        (RiskPush(B_E01, RiskCategory.FRAUD, 0.5, "  "), "missing_evidence"),
    ],
)
def test_refused_input_leaves_nothing_behind(
    market: Database, policy: Policy, push: RiskPush, code: str
) -> None:
    before = row_counts(market)
    with pytest.raises(InvalidInput) as refused, market.transaction() as session:
        risk.push(session, E01, push, now=NOW, policy=policy)
    assert refused.value.code == code
    assert row_counts(market) == before


def test_paging_limits_are_checked(market: Database) -> None:
    with market.transaction() as session:
        for since, limit in ((-1, 10), (0, 0), (0, 1001)):
            with pytest.raises(InvalidInput):
                risk.changes(session, E01, since=since, limit=limit)


def test_every_change_is_audited_and_the_chain_holds(market: Database, policy: Policy) -> None:
    with market.transaction() as session:
        risk.push(session, E02, fraud(A_E01), now=NOW, policy=policy)
        risk.push(session, E02, fraud(A_E01, 0.95), now=NOW, policy=policy)
        risk.confirm(session, REGULATOR, A_E01, now=NOW, policy=policy)
        risk.dispose(session, E01, A_E01, DisposalAction.SUSPENDED, now=NOW, policy=policy)
    with market.transaction() as session:
        actions = session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.subject == plus86(A_E01))
            .order_by(AuditEntry.id)
        ).all()
        feed = session.scalars(select(RiskChange.status).order_by(RiskChange.id)).all()
        check = verify_chain(session)
    assert actions == ["risk.report", "risk.report_update", "risk.confirm", "risk.dispose"]
    assert feed == ["reported", "confirmed", "disposed"]
    assert check.ok


class _Refused(Exception):
    pass


def test_a_push_goes_back_with_the_callers_transaction(market: Database, policy: Policy) -> None:
    """The savepoint around a new entry never commits it early (on SQLite a savepoint opening
    the transaction would): a caller's rollback takes the whole push back."""
    before = row_counts(market)
    with pytest.raises(_Refused), market.transaction() as session:
        risk.push(session, E01, fraud(A_E02), now=NOW, policy=policy)
        raise _Refused
    assert row_counts(market) == before
    with market.transaction() as session:
        assert risk.changes(session, E02, since=0, limit=100).items == []
        assert verify_chain(session).ok


def test_pushes_of_one_number_at_the_same_moment_keep_one_report_per_reporter(
    market: Database, policy: Policy
) -> None:
    with market.transaction() as session:
        risk.push(session, E03, fraud(A_E02, 0.3), now=NOW, policy=policy)  # the entry exists

    def push(i: int) -> None:
        with market.transaction() as session:
            reporter = E01 if i % 2 else E03
            risk.push(session, reporter, fraud(A_E02, 0.5), now=NOW, policy=policy)

    _, failed = at_once(6, push)
    assert failed == []
    with market.transaction() as session:
        reporters = session.scalars(select(RiskReport.reporter).where(RiskReport.active))
        assert sorted(reporters) == ["E01", "E03"]
        assert verify_chain(session).ok


def test_fraud_reported_on_a_number_confirmed_for_spam_links_its_holder(
    market: Database, policy: Policy
) -> None:
    spam = RiskPush(A_E02, RiskCategory.SPAM, 0.5, "bulk messages")
    with market.transaction() as session:
        risk.push(session, E01, spam, now=NOW, policy=policy)
        risk.confirm(session, REGULATOR, A_E02, now=NOW, policy=policy)
        before = tasks_for(session, REGULATOR)
        later = NOW + timedelta(hours=1)
        entry = risk.push(session, E03, fraud(A_E02), now=later, policy=policy)
        after = tasks_for(session, REGULATOR)
    assert before == []  # spam alone links no one
    assert entry.status is RiskStatus.CONFIRMED
    assert sorted(t.msisdn for t in after) == ["162****0001", "170****0001", "170****0001"]
    assert {t.due_at for t in after} == {later + timedelta(hours=24)}


def test_a_reverified_number_gets_a_new_deadline_at_the_next_fraud_link(
    market: Database, policy: Policy
) -> None:
    lifecycle = Lifecycle(policy)
    with market.transaction() as session:
        risk.push(session, E02, fraud(A_E01), now=NOW, policy=policy)
        risk.confirm(session, REGULATOR, A_E01, now=NOW, policy=policy)
        resumed_at = NOW + timedelta(hours=2)
        lifecycle.resume(
            session,
            A_E02,
            method="reader",
            face_score=0.95,
            outlet_code="E02-OWN",
            at=resumed_at,
            actor="test",
        )
        statuses = {t.msisdn: t.status for t in tasks_for(session, E02)}
        # Another of the holder's numbers is confirmed for fraud a day later.
        again = NOW + timedelta(days=1)
        risk.push(session, E01, fraud(A_E03), now=again, policy=policy)
        risk.confirm(session, REGULATOR, A_E03, now=again, policy=policy)
        e02 = [(t.status, t.due_at) for t in tasks_for(session, E02)]
        due = session.scalar(select(Subscriber.reverify_due_at).where(Subscriber.msisdn == A_E02))
    assert statuses == {"170****0001": "done"}  # the re-verification answered its task
    assert e02 == [("done", NOW + timedelta(hours=24)), ("open", again + timedelta(hours=24))]
    assert due == again + timedelta(hours=24)


def test_complaints_dated_ahead_of_a_clear_do_not_count_after_it(
    market: Database, vault: PiiVault, policy: Policy
) -> None:
    ahead = NOW + timedelta(minutes=4)  # within the clock skew a complaint's time may have
    with market.transaction() as session:
        risk.push(session, E02, fraud(B_E01, 0.5), now=NOW, policy=policy)
        for reporter in ("13912340002", "13912340003"):
            sent = ComplaintIn(B_E01, reporter, ComplaintCategory.FRAUD, ahead, "pre-clear")
            complaints.submit(session, E01, sent, vault=vault, now=NOW, policy=policy)
        cleared_at = NOW + timedelta(minutes=1)
        risk.clear(session, REGULATOR, B_E01, "appeal upheld", now=cleared_at)
        seen = risk.reputation(session, E03, B_E01, now=cleared_at, policy=policy)
        later = NOW + timedelta(minutes=10)
        after = ComplaintIn(B_E01, "13912340004", ComplaintCategory.FRAUD, later, "after")
        complaints.submit(session, E01, after, vault=vault, now=later, policy=policy)
        reopened = risk.push(session, E03, fraud(B_E01, 0.3), now=later, policy=policy)
    assert (seen.complaints, seen.complainants) == (0, 0)
    assert reopened.status is RiskStatus.REPORTED  # one complainant since the clear, not three


def test_one_complainant_counts_once_under_a_ring_given_new_versions_outside_rotate(
    market: Database, vault: PiiVault, policy: Policy
) -> None:
    """MVNOGUARD_VAULT_KEY can gain a version without ``vault rotate`` re-keying complaints."""
    grown = PiiVault(vault.ring.rotate())
    with market.transaction() as session:
        risk.push(session, E02, fraud(B_E01, 0.3), now=NOW, policy=policy)
        for ring, text in ((vault, "first"), (grown, "second")):
            sent = ComplaintIn(B_E01, "13912340002", ComplaintCategory.FRAUD, NOW, text)
            complaints.submit(session, E01, sent, vault=ring, now=NOW, policy=policy)
        seen = risk.reputation(session, E03, B_E01, now=NOW, policy=policy)
    assert (seen.complaints, seen.complainants, seen.status) == (2, 1, RiskStatus.REPORTED)


def test_text_holding_nul_is_refused_on_every_store(market: Database, policy: Policy) -> None:
    with market.transaction() as session, pytest.raises(InvalidInput) as evidence:
        risk.push(session, E02, RiskPush(B_E01, RiskCategory.FRAUD, 0.5, "a\x00b"), now=NOW)
    with market.transaction() as session, pytest.raises(InvalidInput) as reason:
        risk.push(session, E02, fraud(B_E01), now=NOW, policy=policy)
        risk.clear(session, REGULATOR, B_E01, "a\x00b", now=NOW)
    # Any other text meets the store's own guard (a suspension's reason here).
    with market.transaction() as session, pytest.raises(InvalidInput) as other:
        Lifecycle(policy).suspend(session, B_E01, at=NOW, actor="test", reason="r\x00")
    assert [e.value.code for e in (evidence, reason, other)] == ["bad_value"] * 3
    assert (evidence.value.field, reason.value.field) == ("evidence", "reason")
