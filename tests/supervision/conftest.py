"""Enterprises and outlets to inspect, inspection files in the contract's shape, and
hand-made subscribers, complaints and risk numbers for nuisance rates."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from mvnoguard.domain.subscribers import HostNetwork, OutletKind, SubscriberStatus
from mvnoguard.registry import catalog
from mvnoguard.storage.database import Database
from mvnoguard.storage.models import Complaint, RiskNumber, Subscriber

ENTERPRISES = (("E01", "远岸移动"), ("E02", "青禾通信"), ("E03", "蓝鲸移动"))
KINDS = "no_id_check;pre_activated_card"
HEADER = "inspection_id,enterprise_code,outlet_code,inspected_on,outcome,violations"


@pytest.fixture
def regulated(database: Database) -> Database:
    with database.transaction() as session:
        for code, name in ENTERPRISES:
            catalog.upsert_enterprise(
                session, catalog.EnterpriseSpec(code, name, HostNetwork.UNICOM), actor="test"
            )
            for i in range(1, 6):
                catalog.upsert_outlet(
                    session,
                    catalog.OutletSpec(f"{code}-O{i}", code, OutletKind.AGENT, "110101"),
                    actor="test",
                )
    return database


def round_rows(prefix: str, day: str, per_enterprise: Sequence[tuple[str, int, int]]) -> list[str]:
    """Rows for one inspection round: (enterprise, inspected, violating) per enterprise.

    Outlet codes beyond the five known outlets are outlets the registry does not know (a
    regulator inspects shops the enterprise never declared too)."""
    rows = []
    for code, inspected, violating in per_enterprise:
        for i in range(inspected):
            outcome, kinds = ("violation", KINDS) if i < violating else ("pass", "")
            rows.append(f"{prefix}-{code}-{i:03d},{code},{code}-X{i:03d},{day},{outcome},{kinds}")
    return rows


def write_rows(path: Path, rows: Sequence[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


# -- hand-made linkage rows: subscribers, complaints, confirmed risk numbers -----------------

_SERIAL = itertools.count(1)


def add_subscribers(
    session: Session,
    code: str,
    count: int,
    *,
    activated_at: datetime,
    cancelled_at: datetime | None = None,
) -> None:
    """``count`` subscribers of enterprise ``code`` (cancelled at ``cancelled_at`` if given)."""
    enterprise = catalog.get_enterprise(session, code)
    status = SubscriberStatus.ACTIVE if cancelled_at is None else SubscriberStatus.CANCELLED
    session.add_all(
        Subscriber(
            msisdn=f"170{next(_SERIAL):08d}",
            enterprise_id=enterprise.id,
            identity_id=None,
            status=status.value,
            activated_at=activated_at,
            cancelled_at=cancelled_at,
            verification_method="reader",
        )
        for _ in range(count)
    )
    session.flush()


def add_complaints(
    session: Session, code: str | None, count: int, *, received_at: datetime
) -> None:
    """``count`` complaints about numbers of ``code`` (None: a number of no enterprise)."""
    enterprise_id = catalog.get_enterprise(session, code).id if code else None
    for _ in range(count):
        serial = next(_SERIAL)
        session.add(
            Complaint(
                content_key=f"test-{serial:059d}",
                reported_number=f"+86170{serial:08d}",
                reporter_number_sealed=None,
                category="harassment",
                received_at=received_at,
                text=None,
                source="api",
                enterprise_id=enterprise_id,
                created_at=received_at,
            )
        )
    session.flush()


def add_risk_number(
    session: Session,
    code: str,
    *,
    confirmed_at: datetime | None,
    category: str = "fraud",
    status: str = "confirmed",
) -> None:
    """One number in the risk database, held by ``code``, confirmed at ``confirmed_at``."""
    enterprise = catalog.get_enterprise(session, code)
    moment = confirmed_at or datetime(2016, 7, 1, tzinfo=UTC)
    session.add(
        RiskNumber(
            msisdn=f"+86171{next(_SERIAL):08d}",
            status=status,
            category=category,
            categories=category,
            score=1.0,
            reports=2,
            enterprise_id=enterprise.id,
            evidence_at=moment,
            created_at=moment,
            updated_at=moment,
            confirmed_at=confirmed_at,
        )
    )
    session.flush()
