"""Builders for registry tests: made-up documents, sign-ups, table row counts."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from mvnoguard.domain.calendar import CHINA_TZ
from mvnoguard.identity.documents import ric_check_character
from mvnoguard.registry.registration import SignUp
from mvnoguard.registry.rules import PresentedDocument
from mvnoguard.storage.database import Database
from mvnoguard.storage.models import Base

AT = datetime(2016, 3, 1, 10, 0, tzinfo=CHINA_TZ)


def ric(region: str = "110101", birth: str = "19900307", sequence: int = 123) -> str:
    first17 = f"{region}{birth}{sequence:03d}"
    return first17 + ric_check_character(first17)


def holder(sequence: int = 123, birth: str = "19900307", name: str = "王小明") -> PresentedDocument:
    return PresentedDocument("RIC", ric(birth=birth, sequence=sequence), name=name)


def sign_up(msisdn: str, **changes: Any) -> SignUp:
    base = SignUp(
        msisdn=msisdn,
        enterprise_code="E01",
        outlet_code="E01-OWN",
        holder=holder(),
        verification_method="reader",
        face_score=0.91,
        at=AT,
    )
    return replace(base, **changes)


def row_counts(database: Database) -> dict[str, int]:
    with database.engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
        }
