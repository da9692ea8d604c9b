"""Finding subscribers and writing their history.

Lookups take the caller's enterprise where there is one: a number of another enterprise
answers "not found", exactly like a number that does not exist.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mvnoguard.domain.subscribers import LifecycleEventKind, SubscriberStatus
from mvnoguard.errors import NotFound
from mvnoguard.identity.phones import national_digits
from mvnoguard.storage import audit_log
from mvnoguard.storage.models import Enterprise, LifecycleEvent, Subscriber


def live_holder_period(
    session: Session, msisdn: str, enterprise: Enterprise | None = None
) -> Subscriber | None:
    """The live holder period of a number (at most one exists), or None."""
    query = select(Subscriber).where(
        Subscriber.msisdn == msisdn, Subscriber.status != SubscriberStatus.CANCELLED.value
    )
    if enterprise is not None:
        query = query.where(Subscriber.enterprise_id == enterprise.id)
    return session.scalar(query)


def live_subscriber(
    session: Session, msisdn: str, enterprise: Enterprise | None = None
) -> Subscriber:
    """The live holder period of a number (in any common spelling: +86, spaces, dashes);
    :class:`NotFound` when there is none."""
    msisdn = national_digits(msisdn)
    subscriber = live_holder_period(session, msisdn, enterprise)
    if subscriber is None:
        raise NotFound(f"no live subscriber on {msisdn}", code="unknown_subscriber", field="msisdn")
    return subscriber


def latest_subscriber(
    session: Session, msisdn: str, enterprise: Enterprise | None = None
) -> Subscriber:
    """The live holder period, or else the most recent cancelled one."""
    msisdn = national_digits(msisdn)
    query = select(Subscriber).where(Subscriber.msisdn == msisdn)
    if enterprise is not None:
        query = query.where(Subscriber.enterprise_id == enterprise.id)
    rows = session.scalars(
        query.order_by(Subscriber.activated_at.desc(), Subscriber.id.desc())
    ).all()
    live = [row for row in rows if row.status != SubscriberStatus.CANCELLED.value]
    if live:
        return live[0]
    if rows:
        return rows[0]
    raise NotFound(f"no subscriber on {msisdn}", code="unknown_subscriber", field="msisdn")


def history(session: Session, subscriber: Subscriber) -> list[LifecycleEvent]:
    return list(
        session.scalars(
            select(LifecycleEvent)
            .where(LifecycleEvent.subscriber_id == subscriber.id)
            .order_by(LifecycleEvent.id)
        )
    )


def record_event(
    session: Session,
    subscriber: Subscriber,
    kind: LifecycleEventKind,
    *,
    at: datetime,
    actor: str,
    reason: str | None = None,
) -> LifecycleEvent:
    """Append one lifecycle event and its audit-log entry."""
    event = LifecycleEvent(
        subscriber_id=subscriber.id,
        msisdn=subscriber.msisdn,
        kind=kind.value,
        occurred_at=at,
        reason=reason,
        actor=actor,
    )
    session.add(event)
    audit_log.append(
        session,
        actor=actor,
        action=f"subscriber.{kind.value}",
        subject=subscriber.msisdn,
        detail=reason or "",
    )
    return event
