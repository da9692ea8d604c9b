"""A subscriber's life after sign-up, on SQLite and PostgreSQL.

Suspensions and resumption after re-verification, refused transitions, cancellation, transfer
to a new holder, the 24-hour re-verification deadline, unregistered legacy numbers after the
catch-up deadline, and the purge of identity data two years after the last cancellation.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mvnoguard.domain.calendar import CHINA_TZ, add_years
from mvnoguard.domain.policy import Policy
from mvnoguard.errors import NotFound, RegistrationRefused, RuleViolation
from mvnoguard.registry.catalog import get_enterprise
from mvnoguard.registry.identities import PURGED
from mvnoguard.registry.lifecycle import Lifecycle
from mvnoguard.registry.registration import RegistrationService, SignUp
from mvnoguard.registry.rules import PresentedDocument
from mvnoguard.registry.subscribers import live_subscriber
from mvnoguard.storage import audit_log
from mvnoguard.storage.database import Database
from mvnoguard.storage.models import (
    AuditEntry,
    Identity,
    LifecycleEvent,
    Outlet,
    ReviewTask,
    Subscriber,
    Verification,
)
from tests.registry.builders import AT, holder, ric, row_counts, sign_up

NUMBER = "17090000001"
DAY = timedelta(days=1)


def register(market: Database, service: RegistrationService, request: SignUp) -> Subscriber:
    with market.transaction() as session:
        return service.register(session, request, actor="test").subscriber


def transfer(market: Database, service: RegistrationService, request: SignUp) -> Subscriber:
    with market.transaction() as session:
        return service.transfer(session, request, actor="test").subscriber


def step(market: Database, lifecycle: Lifecycle, name: str, msisdn: str, **kw: Any) -> Subscriber:
    """Run one lifecycle step (suspend_outgoing, suspend, cancel, resume) in its own transaction."""
    if name != "resume":
        kw.setdefault("reason", f"test {name}")
    with market.transaction() as session:
        result: Subscriber = getattr(lifecycle, name)(session, msisdn, actor="test", **kw)
        return result


def resume(
    market: Database,
    lifecycle: Lifecycle,
    msisdn: str,
    *,
    at: datetime,
    face_score: float | None = 0.9,
    method: str = "reader",
    outlet_code: str = "E01-OWN",
) -> Subscriber:
    return step(
        market,
        lifecycle,
        "resume",
        msisdn,
        method=method,
        face_score=face_score,
        outlet_code=outlet_code,
        at=at,
    )


def events(market: Database, msisdn: str | None = None) -> list[tuple[Any, ...]]:
    """Every lifecycle event row as a plain tuple, in insertion order."""
    with market.transaction() as session:
        query = select(LifecycleEvent).order_by(LifecycleEvent.id)
        if msisdn is not None:
            query = query.where(LifecycleEvent.msisdn == msisdn)
        return [
            (e.id, e.subscriber_id, e.msisdn, e.kind, e.occurred_at, e.reason, e.actor)
            for e in session.scalars(query)
        ]


def kinds(market: Database, subscriber_id: int) -> list[str]:
    with market.transaction() as session:
        return list(
            session.scalars(
                select(LifecycleEvent.kind)
                .where(LifecycleEvent.subscriber_id == subscriber_id)
                .order_by(LifecycleEvent.id)
            )
        )


def status_of(market: Database, subscriber_id: int) -> str:
    with market.transaction() as session:
        row = session.get(Subscriber, subscriber_id)
        assert row is not None
        return row.status


def assert_unchanged_after(
    market: Database, error: type[Exception], code: str, action: Any
) -> None:
    """``action`` raises ``error`` with ``code`` and leaves every table as it was."""
    before = row_counts(market)
    before_events = events(market)
    with market.transaction() as session:
        statuses = dict(session.execute(select(Subscriber.id, Subscriber.status)).all())
    with pytest.raises(error) as caught:
        action()
    assert getattr(caught.value, "code", None) == code
    assert row_counts(market) == before
    assert events(market) == before_events
    with market.transaction() as session:
        after = dict(session.execute(select(Subscriber.id, Subscriber.status)).all())
    assert after == statuses


# -- suspension and resumption --------------------------------------------------------------


def test_suspend_out_suspend_and_resume_after_reverification(
    market: Database, service: RegistrationService, lifecycle: Lifecycle
) -> None:
    subscriber = register(market, service, sign_up(NUMBER))
    assert subscriber.status == "active"

    out = step(market, lifecycle, "suspend_outgoing", NUMBER, at=AT + DAY)
    assert out.status == "suspended_out"
    suspended = step(market, lifecycle, "suspend", NUMBER, at=AT + 2 * DAY)
    assert suspended.status == "suspended"

    # A face score under the 0.80 threshold at a physical outlet is no re-verification.
    assert_unchanged_after(
        market,
        RegistrationRefused,
        "face_check_failed",
        lambda: resume(market, lifecycle, NUMBER, at=AT + 3 * DAY, face_score=0.5),
    )
    assert status_of(market, subscriber.id) == "suspended"

    resumed = resume(market, lifecycle, NUMBER, at=AT + 3 * DAY, face_score=0.88)
    assert resumed.status == "active"
    assert resumed.id == subscriber.id
    assert kinds(market, subscriber.id) == ["activated", "suspended_out", "suspended", "resumed"]
    with market.transaction() as session:
        own = session.scalar(select(Outlet.id).where(Outlet.code == "E01-OWN"))
        evidence = session.scalars(select(Verification).order_by(Verification.id)).all()
        assert [(v.purpose, v.method, v.face_score, v.outlet_id) for v in evidence] == [
            ("activated", "reader", 0.91, own),
            ("reverification", "reader", 0.88, own),
        ]
        assert evidence[1].verified_at == AT + 3 * DAY
        assert evidence[1].subscriber_id == subscriber.id


def test_resume_applies_the_verification_rules_of_its_outlet(
    market: Database, service: RegistrationService, lifecycle: Lifecycle
) -> None:
    register(market, service, sign_up(NUMBER))
    step(market, lifecycle, "suspend", NUMBER, at=AT + DAY)
    assert_unchanged_after(
        market,
        RegistrationRefused,
        "manual_entry_forbidden",
        lambda: resume(market, lifecycle, NUMBER, at=AT + 2 * DAY, method="manual"),
    )
    assert_unchanged_after(
        market,
        RegistrationRefused,
        "face_check_failed",
        lambda: resume(
            market, lifecycle, NUMBER, at=AT + 2 * DAY, face_score=None, outlet_code="E01-AGT"
        ),
    )
    assert_unchanged_after(
        market,
        RegistrationRefused,
        "outlet_blacklisted",
        lambda: resume(market, lifecycle, NUMBER, at=AT + 2 * DAY, outlet_code="E01-BAD"),
    )
    # Online re-verification needs no face score.
    online = resume(
        market,
        lifecycle,
        NUMBER,
        at=AT + 2 * DAY,
        face_score=None,
        method="online",
        outlet_code="E01-WEB",
    )
    assert online.status == "active"


def test_bad_transitions_are_refused_and_change_nothing(
    market: Database, service: RegistrationService, lifecycle: Lifecycle
) -> None:
    register(market, service, sign_up(NUMBER))
    step(market, lifecycle, "suspend_outgoing", NUMBER, at=AT + DAY)
    # suspended_out -> suspended_out is no move.
    assert_unchanged_after(
        market,
        RuleViolation,
        "bad_transition",
        lambda: step(market, lifecycle, "suspend_outgoing", NUMBER, at=AT + 2 * DAY),
    )
    step(market, lifecycle, "suspend", NUMBER, at=AT + 2 * DAY)
    # From suspended, neither suspension applies: only resume or cancel.
    for refused in ("suspend_outgoing", "suspend"):
        assert_unchanged_after(
            market,
            RuleViolation,
            "bad_transition",
            lambda refused=refused: step(market, lifecycle, refused, NUMBER, at=AT + 3 * DAY),
        )
    assert [row[3] for row in events(market, NUMBER)] == [
        "activated",
        "suspended_out",
        "suspended",
    ]


def test_events_are_told_in_order_and_a_back_dated_one_is_refused(
    market: Database, service: RegistrationService, lifecycle: Lifecycle
) -> None:
    """A resume before its suspension, or a cancellation before the service it ends, would
    make the history impossible (and start the retention clock early)."""
    register(market, service, sign_up(NUMBER))
    step(market, lifecycle, "suspend", NUMBER, at=AT + 10 * DAY)
    assert_unchanged_after(
        market,
        RuleViolation,
        "before_last_event",
        lambda: step(market, lifecycle, "cancel", NUMBER, at=AT + DAY),
    )
    assert_unchanged_after(
        market,
        RuleViolation,
        "before_last_event",
        lambda: resume(market, lifecycle, NUMBER, at=AT + 5 * DAY),
    )
    step(market, lifecycle, "cancel", NUMBER, at=AT + 11 * DAY)
    assert [row[3] for row in events(market, NUMBER)] == ["activated", "suspended", "cancelled"]


def test_numbers_are_found_in_any_common_spelling(
    market: Database, service: RegistrationService, lifecycle: Lifecycle
) -> None:
    register(market, service, sign_up(NUMBER))
    for spelled in ("+86 170 9000 0001", "0086-17090000001"):
        with market.transaction() as session:
            assert live_subscriber(session, spelled).msisdn == NUMBER


def test_cancel_ends_the_period_and_frees_the_number(
    market: Database, service: RegistrationService, lifecycle: Lifecycle
) -> None:
    first = register(market, service, sign_up(NUMBER))
    step(market, lifecycle, "suspend_outgoing", NUMBER, at=AT + DAY)
    cancelled = step(market, lifecycle, "cancel", NUMBER, at=AT + 2 * DAY, reason="holder left")
    assert cancelled.status == "cancelled"
    assert cancelled.cancelled_at == AT + 2 * DAY
    assert kinds(market, first.id) == ["activated", "suspended_out", "cancelled"]
    assert events(market, NUMBER)[-1][5] == "holder left"

    # A cancelled period is history: no step reaches it any more.
    for name in ("suspend", "cancel", "suspend_outgoing"):
        assert_unchanged_after(
            market,
            NotFound,
            "unknown_subscriber",
            lambda name=name: step(market, lifecycle, name, NUMBER, at=AT + 3 * DAY),
        )
    assert_unchanged_after(
        market,
        NotFound,
        "unknown_subscriber",
        lambda: resume(market, lifecycle, NUMBER, at=AT + 3 * DAY),
    )

    # The number can go to someone else; the old period stays as it was.
    second = register(market, service, sign_up(NUMBER, holder=holder(456, name="赵一鸣")))
    assert second.id != first.id
    with market.transaction() as session:
        assert live_subscriber(session, NUMBER).id == second.id
        old = session.get(Subscriber, first.id)
        assert old is not None and old.status == "cancelled"


# -- transfer -------------------------------------------------------------------------------


def test_transfer_cancels_the_old_period_and_starts_a_new_one(
    market: Database, service: RegistrationService, lifecycle: Lifecycle
) -> None:
    old = register(market, service, sign_up(NUMBER))
    when = AT + 10 * DAY
    new_holder = holder(456, name="赵一鸣")
    new = transfer(market, service, sign_up(NUMBER, holder=new_holder, face_score=0.85, at=when))

    assert new.id != old.id
    assert new.status == "active"
    assert new.activated_at == when
    assert new.identity_id is not None and new.identity_id != old.identity_id
    assert kinds(market, old.id) == ["activated", "transferred_out"]
    assert kinds(market, new.id) == ["transferred_in"]
    with market.transaction() as session:
        previous = session.get(Subscriber, old.id)
        assert previous is not None
        assert (previous.status, previous.cancelled_at) == ("cancelled", when)
        assert previous.identity_id == old.identity_id
        assert live_subscriber(session, NUMBER).id == new.id
        evidence = session.scalars(
            select(Verification).where(Verification.subscriber_id == new.id)
        ).all()
        assert [(v.purpose, v.face_score) for v in evidence] == [("transferred_in", 0.85)]
        identity = session.get(Identity, new.identity_id)
        assert identity is not None and identity.number_ciphertext is not None
        assert service.vault.decrypt(identity.number_ciphertext, context="doc_number") == (
            new_holder.number
        )
    # The new holder's period goes on through the ordinary lifecycle.
    assert step(market, lifecycle, "suspend", NUMBER, at=when + DAY).id == new.id


TRANSFER_REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({"holder": holder(456, birth="20050101", name="李想想")}, "minor_without_guardian"),
    ({"holder": holder(456), "face_score": 0.5}, "face_check_failed"),
    ({"holder": holder(456), "verification_method": "manual"}, "manual_entry_forbidden"),
    ({"holder": holder(456), "outlet_code": "E01-BAD"}, "outlet_blacklisted"),
    ({"holder": PresentedDocument("RIC", ric()[:-1] + "0")}, "invalid_document"),
    ({"holder": holder()}, "same_holder"),
]


def test_transfer_refusals_leave_the_old_holder_in_place(
    market: Database, service: RegistrationService
) -> None:
    old = register(market, service, sign_up(NUMBER))
    for changes, code in TRANSFER_REFUSALS:
        assert_unchanged_after(
            market,
            RegistrationRefused,
            code,
            lambda changes=changes: transfer(
                market, service, sign_up(NUMBER, at=AT + DAY, **changes)
            ),
        )
        with market.transaction() as session:
            live = live_subscriber(session, NUMBER)
            assert (live.id, live.identity_id, live.status) == (old.id, old.identity_id, "active")


def test_transfer_counts_the_new_holders_cards(
    market: Database, service: RegistrationService
) -> None:
    newcomer = holder(456, name="赵一鸣")
    for i in range(5):
        register(market, service, sign_up(f"1709000010{i}", holder=newcomer))
    register(market, service, sign_up(NUMBER))
    assert_unchanged_after(
        market,
        RegistrationRefused,
        "card_limit_exceeded",
        lambda: transfer(market, service, sign_up(NUMBER, holder=newcomer, at=AT + DAY)),
    )


def test_transfer_needs_a_live_number_of_the_enterprise(
    market: Database, service: RegistrationService
) -> None:
    assert_unchanged_after(
        market,
        NotFound,
        "unknown_subscriber",
        lambda: transfer(market, service, sign_up(NUMBER)),
    )
    assert_unchanged_after(
        market,
        RegistrationRefused,
        "number_outside_blocks",
        lambda: transfer(market, service, sign_up("17000000001")),
    )


# -- re-verification ------------------------------------------------------------------------


def require(
    market: Database, lifecycle: Lifecycle, msisdn: str, at: datetime
) -> tuple[int, datetime | None]:
    with market.transaction() as session:
        task = lifecycle.require_reverification(
            session, msisdn, reason="linked to a fraud report", at=at, actor="test"
        )
        return task.id, task.due_at


def enforce(market: Database, lifecycle: Lifecycle, at: datetime) -> dict[str, int]:
    with market.transaction() as session:
        return dict(lifecycle.enforce(session, at=at, actor="test").__dict__)


NOTHING = {
    "reverification_suspended": 0,
    "unregistered_suspended_out": 0,
    "unregistered_suspended": 0,
}


def test_reverification_due_in_24_hours_then_enforced(
    market: Database, service: RegistrationService, lifecycle: Lifecycle, policy: Policy
) -> None:
    assert policy.at(AT.date()).reverify_within_hours == 24
    subscriber = register(market, service, sign_up(NUMBER))
    asked = AT + 5 * DAY
    task_id, due = require(market, lifecycle, NUMBER, asked)
    assert due == asked + timedelta(hours=24)
    with market.transaction() as session:
        task = session.get(ReviewTask, task_id)
        assert task is not None
        assert (task.kind, task.status, task.subscriber_id) == (
            "reverification",
            "open",
            subscriber.id,
        )
        row = session.get(Subscriber, subscriber.id)
        assert row is not None and row.reverify_due_at == due

        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "subscriber.reverification_required")
        ).one()
        assert (entry.actor, entry.subject, entry.detail) == (
            "test",
            NUMBER,
            "linked to a fraud report",
        )

    # Not overdue before the deadline, nor at it.
    for moment in (asked + timedelta(hours=1), due - timedelta(minutes=1), due):
        assert enforce(market, lifecycle, moment) == NOTHING
        assert status_of(market, subscriber.id) == "active"

    assert enforce(market, lifecycle, due + timedelta(hours=1)) == {
        **NOTHING,
        "reverification_suspended": 1,
    }
    assert status_of(market, subscriber.id) == "suspended"
    assert events(market, NUMBER)[-1][3:6] == (
        "suspended",
        due + timedelta(hours=1),
        "re-verification overdue",
    )
    # Enforcing again does nothing more; re-verifying restores service and clears the due time.
    assert enforce(market, lifecycle, due + timedelta(hours=2)) == NOTHING
    resumed = resume(market, lifecycle, NUMBER, at=due + timedelta(hours=3))
    assert (resumed.status, resumed.reverify_due_at) == ("active", None)
    assert enforce(market, lifecycle, due + 30 * DAY) == NOTHING


def test_reverifying_in_time_avoids_suspension(
    market: Database, service: RegistrationService, lifecycle: Lifecycle
) -> None:
    subscriber = register(market, service, sign_up(NUMBER))
    _, due = require(market, lifecycle, NUMBER, AT + DAY)
    assert due is not None
    resumed = resume(market, lifecycle, NUMBER, at=due - timedelta(hours=2))
    assert (resumed.status, resumed.reverify_due_at) == ("active", None)
    assert enforce(market, lifecycle, due + timedelta(hours=1)) == NOTHING
    assert status_of(market, subscriber.id) == "active"


# -- unregistered legacy numbers ------------------------------------------------------------


def add_legacy_number(session: Session, msisdn: str) -> Subscriber:
    """A number from before the real-name rules, loaded as a bulk import would: no document."""
    subscriber = Subscriber(
        msisdn=msisdn,
        enterprise_id=get_enterprise(session, "E01").id,
        identity_id=None,
        status="active",
        activated_at=datetime(2013, 5, 1, 9, 0, tzinfo=CHINA_TZ),
        verification_method="none",
    )
    session.add(subscriber)
    session.flush()
    return subscriber


def beijing(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=CHINA_TZ)


def test_unregistered_numbers_lose_outgoing_then_all_service(
    market: Database, service: RegistrationService, lifecycle: Lifecycle, policy: Policy
) -> None:
    rules = policy.at(date(2017, 1, 1))
    deadline, days = rules.unregistered_catch_up_deadline, rules.suspend_all_after_days
    assert (deadline, days) == (date(2016, 12, 31), 30)  # the documented defaults
    registered = register(market, service, sign_up(NUMBER))
    with market.transaction() as session:
        legacy = add_legacy_number(session, "17090000555").id

    # The deadline is a Beijing date: 23:59 on the 31st is still inside it, although the
    # first minutes of 1 January Beijing time are still 31 December in UTC.
    assert enforce(market, lifecycle, beijing(deadline, 23, 59)) == NOTHING
    assert enforce(market, lifecycle, beijing(deadline + DAY, 0, 30)) == {
        **NOTHING,
        "unregistered_suspended_out": 1,
    }
    assert status_of(market, legacy) == "suspended_out"
    assert status_of(market, registered.id) == "active"

    last_day = deadline + timedelta(days=days)
    assert enforce(market, lifecycle, beijing(last_day, 23)) == NOTHING
    assert status_of(market, legacy) == "suspended_out"
    assert enforce(market, lifecycle, beijing(last_day + DAY, 0, 30)) == {
        **NOTHING,
        "unregistered_suspended": 1,
    }
    assert status_of(market, legacy) == "suspended"
    assert status_of(market, registered.id) == "active"
    assert kinds(market, legacy) == ["suspended_out", "suspended"]
    assert enforce(market, lifecycle, beijing(last_day + 10 * DAY, 12)) == NOTHING

    # Only registering the holder restores an unregistered number; re-verifying cannot.
    assert_unchanged_after(
        market,
        RegistrationRefused,
        "registration_required",
        lambda: resume(market, lifecycle, "17090000555", at=beijing(last_day + 11 * DAY, 10)),
    )


def test_unregistered_number_found_late_goes_straight_to_suspended(
    market: Database, lifecycle: Lifecycle
) -> None:
    with market.transaction() as session:
        legacy = add_legacy_number(session, "17090000555").id
    assert enforce(market, lifecycle, beijing(date(2017, 3, 1), 9)) == {
        **NOTHING,
        "unregistered_suspended": 1,
    }
    assert kinds(market, legacy) == ["suspended"]


# -- retention ------------------------------------------------------------------------------


def purge(market: Database, lifecycle: Lifecycle, at: datetime) -> int:
    with market.transaction() as session:
        return lifecycle.purge_expired(session, at=at, actor="test")


def identity_state(market: Database, identity_id: int | None) -> dict[str, Any]:
    with market.transaction() as session:
        identity = session.get(Identity, identity_id)
        assert identity is not None
        return {
            "number": identity.number_ciphertext,
            "name": identity.name_ciphertext,
            "number_masked": identity.number_masked,
            "name_masked": identity.name_masked,
            "purged_at": identity.purged_at,
            "token": identity.token,
        }


def assert_kept(market: Database, identity_id: int | None) -> None:
    state = identity_state(market, identity_id)
    assert state["number"] is not None
    assert state["number_masked"] != PURGED
    assert state["purged_at"] is None


def assert_purged(market: Database, identity_id: int | None, at: datetime) -> None:
    state = identity_state(market, identity_id)
    assert state["number"] is None
    assert state["name"] is None
    assert state["number_masked"] == PURGED
    assert state["name_masked"] is None
    assert state["purged_at"] == at


def test_identity_purged_more_than_two_years_after_cancellation(
    market: Database, service: RegistrationService, lifecycle: Lifecycle, policy: Policy
) -> None:
    assert policy.at(AT.date()).retention_years_after_cancellation == 2
    subscriber = register(market, service, sign_up(NUMBER))
    cancelled_at = AT + 30 * DAY
    step(market, lifecycle, "cancel", NUMBER, at=cancelled_at)
    token = identity_state(market, subscriber.identity_id)["token"]
    two_years = add_years(cancelled_at.date(), 2)

    for moment in (
        cancelled_at + 365 * DAY,
        beijing(two_years - DAY, cancelled_at.hour),  # two years less a day
        beijing(two_years, 23, 59),  # exactly two years: not *more* than two
    ):
        assert purge(market, lifecycle, moment) == 0
        assert_kept(market, subscriber.identity_id)

    purged_at = beijing(two_years + DAY, 9)
    assert purge(market, lifecycle, purged_at) == 1
    assert_purged(market, subscriber.identity_id, purged_at)
    # The keyed token stays so the history rows keep their link; the history itself stays.
    assert identity_state(market, subscriber.identity_id)["token"] == token
    assert kinds(market, subscriber.id) == ["activated", "cancelled", "identity_purged"]
    assert purge(market, lifecycle, purged_at + DAY) == 0


def test_identity_with_one_live_period_is_kept(
    market: Database, service: RegistrationService, lifecycle: Lifecycle
) -> None:
    first = register(market, service, sign_up(NUMBER))
    register(market, service, sign_up("17090000002"))
    step(market, lifecycle, "cancel", NUMBER, at=AT + DAY)
    assert purge(market, lifecycle, AT + 5 * 365 * DAY) == 0
    assert_kept(market, first.identity_id)


def test_the_last_cancellation_starts_the_clock(
    market: Database, service: RegistrationService, lifecycle: Lifecycle
) -> None:
    first = register(market, service, sign_up(NUMBER))
    register(market, service, sign_up("17090000002"))
    step(market, lifecycle, "cancel", NUMBER, at=AT + DAY)
    last = AT + 400 * DAY
    step(market, lifecycle, "cancel", "17090000002", at=last)
    assert purge(market, lifecycle, AT + DAY + 2 * 366 * DAY) == 0
    assert_kept(market, first.identity_id)
    assert purge(market, lifecycle, last + 2 * 366 * DAY) == 1
    assert_purged(market, first.identity_id, last + 2 * 366 * DAY)


def test_guardian_and_agent_periods_keep_an_identity(
    market: Database, service: RegistrationService, lifecycle: Lifecycle
) -> None:
    parent_doc = PresentedDocument("RIC", ric("440106", "19750612", 789), name="李建国")
    parent = register(market, service, sign_up(NUMBER, holder=parent_doc))
    minor = register(
        market,
        service,
        sign_up(
            "17090000002", holder=holder(321, birth="20050101", name="李想想"), guardian=parent_doc
        ),
    )
    helped = register(
        market,
        service,
        sign_up("17090000003", holder=holder(654, name="周大福"), agent=parent_doc),
    )
    assert minor.guardian_identity_id == parent.identity_id
    assert helped.agent_identity_id == parent.identity_id

    step(market, lifecycle, "cancel", NUMBER, at=AT + DAY)
    much_later = AT + 4 * 365 * DAY
    assert purge(market, lifecycle, much_later) == 0  # still the minor's guardian
    assert_kept(market, parent.identity_id)

    step(market, lifecycle, "cancel", "17090000002", at=much_later)
    later_still = much_later + 3 * 365 * DAY
    assert purge(market, lifecycle, later_still) == 1  # the minor only: the parent is an agent
    assert_purged(market, minor.identity_id, later_still)
    assert_kept(market, parent.identity_id)

    step(market, lifecycle, "cancel", "17090000003", at=later_still)
    assert purge(market, lifecycle, later_still + 365 * DAY) == 0
    at = later_still + 2 * 366 * DAY
    assert purge(market, lifecycle, at) == 2
    for identity_id in (parent.identity_id, helped.identity_id):
        assert_purged(market, identity_id, at)
    with market.transaction() as session:
        purged_events = session.scalars(
            select(LifecycleEvent.subscriber_id).where(LifecycleEvent.kind == "identity_purged")
        ).all()
        # One on each holder period; guardian and agent links carry no event of their own.
        assert sorted(purged_events) == sorted([parent.id, minor.id, helped.id])


def test_a_guardian_only_identity_is_purged_and_audited(
    market: Database, service: RegistrationService, lifecycle: Lifecycle
) -> None:
    guardian_doc = PresentedDocument("RIC", ric("440106", "19750612", 789), name="李建国")
    minor = register(
        market,
        service,
        sign_up(NUMBER, holder=holder(321, birth="20050101", name="李想想"), guardian=guardian_doc),
    )
    step(market, lifecycle, "cancel", NUMBER, at=AT + DAY)
    at = AT + DAY + 2 * 366 * DAY
    assert purge(market, lifecycle, at) == 2
    assert_purged(market, minor.guardian_identity_id, at)
    assert_purged(market, minor.identity_id, at)
    with market.transaction() as session:
        purges = session.scalars(
            select(AuditEntry.subject).where(AuditEntry.action == "identity.purge")
        ).all()
        assert sorted(purges) == sorted(
            f"identity:{i}" for i in (minor.identity_id, minor.guardian_identity_id)
        )
        assert audit_log.verify_chain(session).ok


def test_a_purged_holder_who_returns_is_stored_again(
    market: Database, service: RegistrationService, lifecycle: Lifecycle
) -> None:
    first = register(market, service, sign_up(NUMBER))
    step(market, lifecycle, "cancel", NUMBER, at=AT + DAY)
    back = AT + 3 * 365 * DAY
    assert purge(market, lifecycle, back) == 1
    again = register(market, service, sign_up("17090000002", at=back + DAY))
    assert again.identity_id == first.identity_id  # the token still finds the same record
    state = identity_state(market, again.identity_id)
    assert state["purged_at"] is None
    assert state["number"] is not None
    assert state["number_masked"] == "1101**********" + ric()[-4:]
    assert state["name_masked"] == "王**"


# -- the event log --------------------------------------------------------------------------


def test_lifecycle_events_only_ever_grow(
    market: Database, service: RegistrationService, lifecycle: Lifecycle
) -> None:
    register(market, service, sign_up(NUMBER))
    steps: list[Any] = [
        lambda: step(market, lifecycle, "suspend_outgoing", NUMBER, at=AT + DAY),
        lambda: step(market, lifecycle, "suspend", NUMBER, at=AT + 2 * DAY),
        lambda: resume(market, lifecycle, NUMBER, at=AT + 3 * DAY),
        lambda: transfer(market, service, sign_up(NUMBER, holder=holder(456), at=AT + 4 * DAY)),
        lambda: step(market, lifecycle, "cancel", NUMBER, at=AT + 5 * DAY),
        lambda: purge(market, lifecycle, AT + 5 * DAY + 3 * 365 * DAY),
    ]
    grows_by = [1, 1, 1, 2, 1, 2]  # a transfer ends one period and starts one; purge: two holders
    log = events(market)
    assert [row[3] for row in log] == ["activated"]
    for action, grown in zip(steps, grows_by, strict=True):
        action()
        now = events(market)
        assert len(now) == len(log) + grown
        assert now[: len(log)] == log, "earlier events must never change"
        log = now
    assert [row[3] for row in log] == [
        "activated",
        "suspended_out",
        "suspended",
        "resumed",
        "transferred_out",
        "transferred_in",
        "cancelled",
        "identity_purged",
        "identity_purged",
    ]
    with market.transaction() as session:
        check = audit_log.verify_chain(session)
        assert check.ok
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject == NUMBER)
        ).all()
        assert actions.count("subscriber.identity_purged") == 2


def test_registering_an_unregistered_legacy_number_restores_it(
    market: Database, service: RegistrationService
) -> None:
    from mvnoguard.storage.models import LifecycleEvent
    from mvnoguard.storage.models import Subscriber as Row

    with market.transaction() as session:
        enterprise = get_enterprise(session, "E01")
        session.add(
            Row(
                msisdn="17090000777",
                enterprise_id=enterprise.id,
                identity_id=None,
                status="suspended_out",
                activated_at=AT,
                verification_method="none",
            )
        )
    with market.transaction() as session:
        registration = service.register(session, sign_up("17090000777"), actor="test")
        assert registration.subscriber.status == "active"
        assert registration.subscriber.identity_id is not None
        rows = session.scalars(select(Row).where(Row.msisdn == "17090000777")).all()
        assert sorted(r.status for r in rows) == ["active", "cancelled"]
        kinds = [
            e.kind for e in session.scalars(select(LifecycleEvent).order_by(LifecycleEvent.id))
        ]
        assert kinds == ["registered", "activated"]
