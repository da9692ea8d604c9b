"""A subscriber as the outside world sees it: identity masked, every view audited.

This is the one conversion from stored rows to the record shown by the CLI and the API.
Clear identity data never passes through here: only the masked forms kept at sign-up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from mvnoguard.registry.subscribers import history
from mvnoguard.storage import audit_log
from mvnoguard.storage.models import Identity, Subscriber


def iso_utc(moment: datetime | None) -> str | None:
    """A stored time as ISO 8601 in UTC, the same text whether or not the row was reloaded."""
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def masked_identity(identity: Identity | None) -> dict[str, Any] | None:
    """An identity as shown on every screen and answer: document and name masked."""
    if identity is None:
        return None
    return {
        "doc_type": identity.doc_type,
        "doc_number": identity.number_masked,
        "name": identity.name_masked,
        "nationality": identity.nationality,
    }


def holder_period(subscriber: Subscriber) -> dict[str, Any]:
    """A holder period's own fields, identities masked (no history, no audit entry)."""
    return {
        "msisdn": subscriber.msisdn,
        "enterprise_code": subscriber.enterprise.code,
        "status": subscriber.status,
        "activated_at": iso_utc(subscriber.activated_at),
        "cancelled_at": iso_utc(subscriber.cancelled_at),
        "holder": masked_identity(subscriber.identity),
        "guardian": masked_identity(subscriber.guardian),
        "agent": masked_identity(subscriber.agent),
        "outlet_code": subscriber.outlet.code if subscriber.outlet else None,
        "verification_method": subscriber.verification_method,
        "face_score": subscriber.face_score,
        "reverify_due_at": iso_utc(subscriber.reverify_due_at),
    }


def subscriber_record(
    session: Session, subscriber: Subscriber, *, actor: str, with_history: bool = True
) -> dict[str, Any]:
    """The masked record of one holder period; the view is written to the audit log."""
    audit_log.append(session, actor=actor, action="subscriber.view", subject=subscriber.msisdn)
    record = holder_period(subscriber)
    if with_history:
        record["history"] = [
            {
                "kind": event.kind,
                "at": iso_utc(event.occurred_at),
                "reason": event.reason,
                "actor": event.actor,
            }
            for event in history(session, subscriber)
        ]
    return record
