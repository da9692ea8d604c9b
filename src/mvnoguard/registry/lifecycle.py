"""A subscriber's life after sign-up: suspensions, re-verification, cancellation, retention.

State moves only along the allowed transitions below; anything else is refused with
``bad_transition`` and changes nothing::

    active ──suspend_out──▶ suspended_out ──suspend──▶ suspended
      ▲  └──────────────suspend──────────────────────────▶│
      └──────────── resume (after re-verification) ◀──────┘
    any live status ──cancel──▶ cancelled ──(retention years)──▶ identity purged
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partialmethod

from sqlalchemy import case, func, select, union_all
from sqlalchemy.orm import Session

from mvnoguard.domain.calendar import (
    CHINA_TZ,
    add_years,
    as_aware,
    local_date,
    not_in_future,
    utc_now,
)
from mvnoguard.domain.policy import Policy
from mvnoguard.domain.subscribers import (
    LifecycleEventKind,
    ReviewTaskKind,
    ReviewTaskStatus,
    SubscriberStatus,
)
from mvnoguard.errors import RegistrationRefused, RuleViolation
from mvnoguard.registry import rules
from mvnoguard.registry.catalog import get_enterprise
from mvnoguard.registry.identities import purge
from mvnoguard.registry.subscribers import live_subscriber, record_event
from mvnoguard.storage import audit_log
from mvnoguard.storage.models import (
    Identity,
    LifecycleEvent,
    ReviewTask,
    Subscriber,
    Verification,
)

ACTIVE = SubscriberStatus.ACTIVE.value
SUSPENDED_OUT = SubscriberStatus.SUSPENDED_OUT.value
SUSPENDED = SubscriberStatus.SUSPENDED.value
CANCELLED = SubscriberStatus.CANCELLED.value

# Tasks a re-verification answers: the regulator's call, and a fraud link of the identity.
_REVERIFY_KINDS = (ReviewTaskKind.REVERIFICATION.value, ReviewTaskKind.REVERIFY.value)

_STATUS_AFTER = {
    LifecycleEventKind.SUSPENDED_OUT: SUSPENDED_OUT,
    LifecycleEventKind.SUSPENDED: SUSPENDED,
    LifecycleEventKind.CANCELLED: CANCELLED,
}

_ALLOWED_FROM = {
    LifecycleEventKind.SUSPENDED_OUT: {ACTIVE},
    LifecycleEventKind.SUSPENDED: {ACTIVE, SUSPENDED_OUT},
    LifecycleEventKind.RESUMED: {SUSPENDED_OUT, SUSPENDED, ACTIVE},
    LifecycleEventKind.CANCELLED: {ACTIVE, SUSPENDED_OUT, SUSPENDED},
}


def _move(
    session: Session,
    subscriber: Subscriber,
    kind: LifecycleEventKind,
    status: str,
    *,
    at: datetime,
    actor: str,
    reason: str | None,
) -> Subscriber:
    if subscriber.status not in _ALLOWED_FROM[kind]:
        raise RuleViolation(
            f"cannot move {subscriber.msisdn} from {subscriber.status} by {kind.value}",
            code="bad_transition",
        )
    # The history must stay possible. Retention runs from the cancellation: a back-dated one
    # would purge early, a future one would keep the identity too long.
    if status == CANCELLED:
        not_in_future(at, now=utc_now(), what="a cancellation", field="at")
    if subscriber.activated_at is not None and at < as_aware(subscriber.activated_at):
        raise RuleViolation(
            f"{subscriber.msisdn} was activated at {subscriber.activated_at.isoformat()}: "
            "an event cannot come before it",
            code="before_activation",
            field="at",
        )
    latest = session.scalar(
        select(func.max(LifecycleEvent.occurred_at)).where(
            LifecycleEvent.subscriber_id == subscriber.id
        )
    )
    if latest is not None and at < as_aware(latest):
        # Events are told in order: a resume dated before its suspension, or a cancellation
        # before the service it ends, would make the history impossible (and purge early).
        raise RuleViolation(
            f"{subscriber.msisdn} has an event at {as_aware(latest).isoformat()}: a later one "
            "cannot be dated before it",
            code="before_last_event",
            field="at",
        )
    subscriber.status = status
    if status == CANCELLED:
        subscriber.cancelled_at = at
    record_event(session, subscriber, kind, at=at, actor=actor, reason=reason)
    session.flush()
    return subscriber


class Lifecycle:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def _find(self, session: Session, msisdn: str, enterprise_code: str | None) -> Subscriber:
        enterprise = get_enterprise(session, enterprise_code) if enterprise_code else None
        return live_subscriber(session, msisdn, enterprise)

    def apply(
        self,
        kind: LifecycleEventKind,
        session: Session,
        msisdn: str,
        *,
        reason: str,
        at: datetime,
        actor: str,
        enterprise_code: str | None = None,
    ) -> Subscriber:
        """Suspend outgoing service, suspend all service, or cancel a live number."""
        subscriber = self._find(session, msisdn, enterprise_code)
        return _move(
            session,
            subscriber,
            kind,
            _STATUS_AFTER[kind],
            at=as_aware(at),
            actor=actor,
            reason=reason,
        )

    suspend_outgoing = partialmethod(apply, LifecycleEventKind.SUSPENDED_OUT)
    suspend = partialmethod(apply, LifecycleEventKind.SUSPENDED)
    cancel = partialmethod(apply, LifecycleEventKind.CANCELLED)

    def resume(
        self,
        session: Session,
        msisdn: str,
        *,
        method: str,
        face_score: float | None,
        outlet_code: str,
        at: datetime,
        actor: str,
        enterprise_code: str | None = None,
    ) -> Subscriber:
        """Restore service once the holder has re-verified under the rules in force now."""
        at = as_aware(at)
        subscriber = self._find(session, msisdn, enterprise_code)
        if subscriber.identity_id is None:
            raise RegistrationRefused(
                "an unregistered number resumes only by registering its holder",
                code="registration_required",
            )
        on = local_date(at)
        ruleset = rules.require_rules(self.policy.at(on), on)
        outlet = rules.check_outlet(session, subscriber.enterprise, outlet_code)
        rules.check_verification(ruleset, method, face_score, outlet)
        session.add(
            Verification(
                subscriber_id=subscriber.id,
                purpose="reverification",
                method=method,
                face_score=face_score,
                outlet_id=outlet.id,
                verified_at=at,
            )
        )
        subscriber.reverify_due_at = None
        # The re-verification asked of this number is done: a later fraud link asks anew.
        for task in session.scalars(
            select(ReviewTask).where(
                ReviewTask.subscriber_id == subscriber.id,
                ReviewTask.status == ReviewTaskStatus.OPEN.value,
                ReviewTask.kind.in_(_REVERIFY_KINDS),
            )
        ):
            task.status = ReviewTaskStatus.DONE.value
        return _move(
            session,
            subscriber,
            LifecycleEventKind.RESUMED,
            ACTIVE,
            at=at,
            actor=actor,
            reason=f"re-verified by {method}",
        )

    def require_reverification(
        self,
        session: Session,
        msisdn: str,
        *,
        reason: str,
        at: datetime,
        actor: str,
    ) -> ReviewTask:
        """Give the holder the policy's hours to re-verify, or be suspended (see ``enforce``)."""
        at = as_aware(at)
        subscriber = self._find(session, msisdn, None)
        hours = self.policy.at(local_date(at)).reverify_within_hours or 24
        due = at + timedelta(hours=hours)
        subscriber.reverify_due_at = due
        task = ReviewTask(
            kind=ReviewTaskKind.REVERIFICATION.value,
            enterprise_id=subscriber.enterprise_id,
            subscriber_id=subscriber.id,
            identity_id=subscriber.identity_id,
            reason=reason,
            status=ReviewTaskStatus.OPEN.value,
            created_at=at,
            due_at=due,
        )
        session.add(task)
        audit_log.append(
            session,
            actor=actor,
            action="subscriber.reverification_required",
            subject=subscriber.msisdn,
            detail=reason,
        )
        session.flush()
        return task

    def enforce(self, session: Session, *, at: datetime, actor: str) -> EnforcementRun:
        """Suspend overdue re-verifications and unregistered legacy numbers past the catch-up."""
        at = as_aware(at)
        run = EnforcementRun()
        overdue = session.scalars(
            select(Subscriber).where(
                Subscriber.reverify_due_at.is_not(None),
                Subscriber.reverify_due_at < at,
                Subscriber.status.in_([ACTIVE, SUSPENDED_OUT]),
            )
        )
        for subscriber in overdue:
            _move(
                session,
                subscriber,
                LifecycleEventKind.SUSPENDED,
                SUSPENDED,
                at=at,
                actor=actor,
                reason="re-verification overdue",
            )
            run.reverification_suspended += 1
        ruleset = self.policy.at(local_date(at))
        deadline = ruleset.unregistered_catch_up_deadline
        if deadline is not None and local_date(at) > deadline:
            unregistered = session.scalars(
                select(Subscriber).where(
                    Subscriber.identity_id.is_(None), Subscriber.status.in_([ACTIVE, SUSPENDED_OUT])
                )
            )
            all_after = deadline + timedelta(days=ruleset.suspend_all_after_days or 0)
            for subscriber in unregistered:
                if local_date(at) > all_after:
                    _move(
                        session,
                        subscriber,
                        LifecycleEventKind.SUSPENDED,
                        SUSPENDED,
                        at=at,
                        actor=actor,
                        reason="unregistered after the catch-up deadline",
                    )
                    run.unregistered_suspended += 1
                elif subscriber.status == ACTIVE:
                    _move(
                        session,
                        subscriber,
                        LifecycleEventKind.SUSPENDED_OUT,
                        SUSPENDED_OUT,
                        at=at,
                        actor=actor,
                        reason="unregistered after the catch-up deadline",
                    )
                    run.unregistered_suspended_out += 1
        return run

    def retention_cutoff(self, at: datetime) -> datetime | None:
        """Data of a cancellation before this moment is past retention on ``at`` (Beijing
        midnight, the policy's years back); None when the policy in force keeps it forever."""
        day = local_date(as_aware(at))
        years = self.policy.at(day).retention_years_after_cancellation
        if years is None:
            return None
        return datetime.combine(add_years(day, -years), time(0), tzinfo=CHINA_TZ)

    def purge_expired(self, session: Session, *, at: datetime, actor: str) -> int:
        """Purge identity data held past the retention period after the last cancellation.

        An identity is kept while any period it is part of (as holder, guardian or agent) is
        live, and for the retention years after the latest cancellation among them.
        """
        at = as_aware(at)
        years = self.policy.at(local_date(at)).retention_years_after_cancellation
        cutoff = self.retention_cutoff(at)
        if years is None or cutoff is None:
            return 0
        links = union_all(
            *(
                select(column.label("identity_id"), Subscriber.status, Subscriber.cancelled_at)
                for column in (
                    Subscriber.identity_id,
                    Subscriber.guardian_identity_id,
                    Subscriber.agent_identity_id,
                )
            )
        ).subquery()
        live = func.sum(case((links.c.status != CANCELLED, 1), else_=0))
        expired = (
            select(links.c.identity_id)
            .where(links.c.identity_id.is_not(None))
            .group_by(links.c.identity_id)
            .having(live == 0, func.max(links.c.cancelled_at) < cutoff)
        )
        identities = session.scalars(
            select(Identity).where(Identity.id.in_(expired), Identity.purged_at.is_(None))
        ).all()
        for identity in identities:
            purge(identity, at=at)
            # Guardian- or agent-only identities have no holder period to carry an event.
            audit_log.append(
                session,
                actor=actor,
                action="identity.purge",
                subject=f"identity:{identity.id}",
                detail=f"{years} years after cancellation",
            )
            held = session.scalars(select(Subscriber).where(Subscriber.identity_id == identity.id))
            for period in held:
                record_event(
                    session,
                    period,
                    LifecycleEventKind.IDENTITY_PURGED,
                    at=at,
                    actor=actor,
                    reason=f"{years} years after cancellation",
                )
        session.flush()
        return len(identities)


@dataclass
class EnforcementRun:
    reverification_suspended: int = 0
    unregistered_suspended_out: int = 0
    unregistered_suspended: int = 0
