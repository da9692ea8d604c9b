"""Numbers as the linkage database keeps them: E.164 text, and the national form of our mobiles.

The risk database and the complaint feed take numbers of any country (complaints arrive from
abroad too), so they are stored in E.164. Subscribers are stored as 11-digit national numbers;
:func:`national_mobile` bridges the two. A number that cannot be read is refused with
``bad_number``, and the message never repeats it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mvnoguard.domain.subscribers import SubscriberStatus
from mvnoguard.errors import InvalidInput
from mvnoguard.identity.phones import to_e164
from mvnoguard.registry.catalog import block_owner
from mvnoguard.storage.models import Enterprise, Subscriber

_CN_PREFIX = "+86"
_NATIONAL_MOBILE_DIGITS = 11


def e164(raw: object, *, field: str = "msisdn", region: str = "CN") -> str:
    """``raw`` in E.164; numbers without a country code are read in ``region``."""
    if not isinstance(raw, str):
        raise InvalidInput("the number must be text", code="bad_number", field=field)
    try:
        return to_e164(raw, region)
    except InvalidInput:
        raise InvalidInput("not a valid phone number", code="bad_number", field=field) from None


def national_mobile(number: str) -> str | None:
    """The 11-digit national form of a Chinese mobile number in E.164, else None."""
    national = number[len(_CN_PREFIX) :]
    if (
        number.startswith(_CN_PREFIX)
        and len(national) == _NATIONAL_MOBILE_DIGITS
        and national.startswith("1")
    ):
        return national
    return None


def mask_msisdn(number: str) -> str:
    """A number for display, its middle hidden: the first three digits and the last four stay.

    ``+8617090001234`` and ``17090001234`` -> ``170****1234``; ``+14155550123`` -> ``+1415***0123``.
    """
    national = national_mobile(number) or number
    if len(national) <= 7:
        return "*" * len(national)
    head = 5 if national.startswith("+") and not national.startswith(_CN_PREFIX) else 3
    head = min(head, len(national) - 4)
    return national[:head] + "*" * (len(national) - head - 4) + national[-4:]


def live_holder(session: Session, national: str) -> Subscriber | None:
    """The live holder period of a national number, at whichever enterprise."""
    return session.scalar(
        select(Subscriber).where(
            Subscriber.msisdn == national, Subscriber.status != SubscriberStatus.CANCELLED.value
        )
    )


def owner_of(session: Session, number: str) -> Enterprise | None:
    """The enterprise answerable for a number: its live holder's, else its block's."""
    national = national_mobile(number)
    if national is None:
        return None
    holder = live_holder(session, national)
    if holder is not None:
        return holder.enterprise
    return block_owner(session, national)
