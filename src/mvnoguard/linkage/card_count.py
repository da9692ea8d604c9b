"""The national card count: live numbers an identity holds across every enterprise.

The count behind the "more than 10 cards market-wide" review. It reads the keyed identity token
only, so it needs no vault and never touches identity data.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mvnoguard.domain.subscribers import SubscriberStatus
from mvnoguard.storage.models import Identity, Subscriber


def national_card_count(session: Session, identity_token: str) -> int:
    """Live (not cancelled) numbers held under ``identity_token`` at all enterprises together."""
    return (
        session.scalar(
            select(func.count(Subscriber.id))
            .join(Identity, Identity.id == Subscriber.identity_id)
            .where(
                Identity.token == identity_token,
                Subscriber.status != SubscriberStatus.CANCELLED.value,
            )
        )
        or 0
    )
