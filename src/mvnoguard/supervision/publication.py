"""The public bulletin of a period: every inspected enterprise, its rate, tier and measures."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from mvnoguard.reports.bulletin import BulletinRow, write_bulletin
from mvnoguard.storage.models import EnforcementCase, Enterprise
from mvnoguard.supervision.periods import Period
from mvnoguard.supervision.violation_rates import violation_rates


def bulletin_rows(session: Session, period: Period) -> list[BulletinRow]:
    """One row per enterprise inspected in the period, with the measures taken against it:
    cases issued (and those closed after issue); a proposal withdrawn before it was issued was
    never a measure, so it is not published."""
    rates = violation_rates(session, period)
    cases: dict[str, list[str]] = {}
    for code, kind in session.execute(
        select(Enterprise.code, EnforcementCase.kind)
        .join(Enterprise, Enterprise.id == EnforcementCase.enterprise_id)
        .where(EnforcementCase.period == period.label, EnforcementCase.issued_at.is_not(None))
        .order_by(EnforcementCase.id)
    ):
        cases.setdefault(code, []).append(kind)
    return [
        BulletinRow(
            enterprise_code=row.enterprise_code,
            enterprise_name=row.enterprise_name,
            inspected=row.rate.inspected,
            violations=row.rate.violations,
            rate=row.rate.rate or 0.0,
            ci_low=row.rate.ci_low,
            ci_high=row.rate.ci_high,
            tier=str(row.tier or "-"),
            cases=cases.get(row.enterprise_code, []),
        )
        for row in rates.enterprises
    ]


def publish_bulletin(
    session: Session, period: Period, folder: Path, *, published_on: date
) -> tuple[Path, Path]:
    """Write the bulletin (HTML and PDF) of :func:`bulletin_rows`."""
    rows = bulletin_rows(session, period)
    return write_bulletin(period.chinese, rows, folder, published_on=published_on)
