"""Fraud and nuisance per 10,000 users: complaints and confirmed fraud numbers of a period.

For each enterprise and period:

* ``users``: its subscribers live at the end of the period in the OLTP store (activated before
  the end, not cancelled by then), plus its users in the imported registry, which lives in
  Parquet outside the OLTP store and is passed in as ``registry_users``;
* ``complaints``: complaints received in the period about numbers it held
  (``Complaint.enterprise_id``), whatever their category;
* ``fraud_numbers``: its numbers the regulator confirmed in the period whose gravest category is
  fraud (``RiskNumber.confirmed_at``), whatever happened to them after (disposal, clearing).

Both counts are given per 10,000 users and normalised to 30 days::

    per_10k_per_30d = count / users * 10_000 * 30 / days_in_period

so a month of 31 days, a quarter and a year are judged on one scale; the JSON keys say so
(``complaints_per_10k_per_30d``). An enterprise with no users has no rate (``None``).

A period runs from Beijing midnight of its first day to Beijing midnight after its last, as
everywhere in supervision. This module only reads; it never writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from mvnoguard.domain.calendar import CHINA_TZ
from mvnoguard.domain.risk import RiskCategory
from mvnoguard.domain.subscribers import SubscriberStatus
from mvnoguard.storage.models import Complaint, Enterprise, RiskNumber, Subscriber
from mvnoguard.supervision.periods import Period

OVERALL = "all"
PER_USERS = 10_000
PER_DAYS = 30


def per_10k_per_30d(count: int, users: int, days: int) -> float | None:
    """``count`` per 10,000 users per 30 days over ``days`` days; ``None`` without users."""
    if users <= 0:
        return None
    return count / users * PER_USERS * PER_DAYS / days


def period_bounds(period: Period) -> tuple[datetime, datetime]:
    """The period's [start, end) as aware instants: Beijing midnights."""
    return (
        datetime.combine(period.start, time(), CHINA_TZ),
        datetime.combine(period.end, time(), CHINA_TZ),
    )


@dataclass(frozen=True, slots=True)
class NuisanceRate:
    enterprise_code: str
    enterprise_name: str
    period: str
    days: int
    users: int
    complaints: int
    fraud_numbers: int

    @property
    def complaints_per_10k_per_30d(self) -> float | None:
        return per_10k_per_30d(self.complaints, self.users, self.days)

    @property
    def fraud_numbers_per_10k_per_30d(self) -> float | None:
        return per_10k_per_30d(self.fraud_numbers, self.users, self.days)

    def to_json(self) -> dict[str, Any]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 4)

        return {
            "enterprise_code": self.enterprise_code,
            "period": self.period,
            "days": self.days,
            "users": self.users,
            "complaints": self.complaints,
            "confirmed_fraud_numbers": self.fraud_numbers,
            "complaints_per_10k_per_30d": rounded(self.complaints_per_10k_per_30d),
            "confirmed_fraud_numbers_per_10k_per_30d": rounded(self.fraud_numbers_per_10k_per_30d),
        }


def nuisance_rates(
    session: Session, period: Period, *, registry_users: Mapping[str, int] | None = None
) -> list[NuisanceRate]:
    """Every enterprise of the store, by code: its users, complaints and confirmed fraud numbers.

    ``registry_users`` (enterprise code -> users of the imported registry) adds to the live
    subscribers of the store; codes the store does not know are ignored, since nothing in the
    store can be attributed to them.
    """
    start, end = period_bounds(period)
    complaints = _by_enterprise(
        session.execute(
            select(Complaint.enterprise_id, func.count(Complaint.id))
            .where(
                Complaint.enterprise_id.is_not(None),
                Complaint.received_at >= start,
                Complaint.received_at < end,
            )
            .group_by(Complaint.enterprise_id)
        )
    )
    fraud = _by_enterprise(
        session.execute(
            select(RiskNumber.enterprise_id, func.count(RiskNumber.id))
            .where(
                RiskNumber.enterprise_id.is_not(None),
                RiskNumber.category == RiskCategory.FRAUD.value,
                RiskNumber.confirmed_at >= start,
                RiskNumber.confirmed_at < end,
            )
            .group_by(RiskNumber.enterprise_id)
        )
    )
    live_at_end = or_(
        Subscriber.cancelled_at >= end,
        and_(
            Subscriber.cancelled_at.is_(None),
            Subscriber.status != SubscriberStatus.CANCELLED.value,
        ),
    )
    users = _by_enterprise(
        session.execute(
            select(Subscriber.enterprise_id, func.count(Subscriber.id))
            .where(Subscriber.activated_at < end, live_at_end)
            .group_by(Subscriber.enterprise_id)
        )
    )
    extra = registry_users or {}
    days = (period.end - period.start).days
    return [
        NuisanceRate(
            enterprise_code=code,
            enterprise_name=name,
            period=period.label,
            days=days,
            users=users.get(enterprise_id, 0) + extra.get(code, 0),
            complaints=complaints.get(enterprise_id, 0),
            fraud_numbers=fraud.get(enterprise_id, 0),
        )
        for enterprise_id, code, name in session.execute(
            select(Enterprise.id, Enterprise.code, Enterprise.name).order_by(Enterprise.code)
        )
    ]


def overall_nuisance(rates: Sequence[NuisanceRate], period: Period) -> NuisanceRate:
    """The market's figures: every enterprise's users, complaints and fraud numbers summed."""
    return NuisanceRate(
        enterprise_code=OVERALL,
        enterprise_name="全部企业",
        period=period.label,
        days=(period.end - period.start).days,
        users=sum(r.users for r in rates),
        complaints=sum(r.complaints for r in rates),
        fraud_numbers=sum(r.fraud_numbers for r in rates),
    )


def _by_enterprise(rows: Iterable[tuple[int | None, int]]) -> dict[int, int]:
    return {enterprise_id: int(count) for enterprise_id, count in rows if enterprise_id is not None}
