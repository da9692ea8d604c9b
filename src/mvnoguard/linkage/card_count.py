"""The national card count: live numbers an identity holds across every enterprise.

The count behind the "more than 10 cards market-wide" review. It reads the keyed identity token
only, so it needs no vault and never touches identity data. It is one prebuilt Core statement
on the session's connection (after a flush, so the sign-up's own number counts); a sign-up of
a holder never seen before skips it (the count is that one card).
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from mvnoguard.domain.subscribers import SubscriberStatus
from mvnoguard.storage.models import Identity, Subscriber

_LIVE_CARDS = (
    select(func.count(Subscriber.id))
    .join(Identity, Identity.id == Subscriber.identity_id)
    .where(
        Identity.token == bindparam("token"),
        Subscriber.status != SubscriberStatus.CANCELLED.value,
    )
)


def national_card_count(session: Session, identity_token: str) -> int:
    """Live (not cancelled) numbers held under ``identity_token`` at all enterprises together."""
    session.flush()  # a no-op unless rows are pending; the raw connection does not autoflush
    count = session.connection().execute(_LIVE_CARDS, {"token": identity_token}).scalar_one()
    return int(count)
