"""Enterprises, their number blocks and outlets: the reference data sign-ups are checked against.

Blocks never overlap across the whole market (the allocation table, not the segment, proves
which enterprise a number belongs to after portability). Blacklisting an outlet is one-way here;
lifting it is a regulator's decision recorded as its own action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from mvnoguard.domain.subscribers import HostNetwork, OutletKind
from mvnoguard.errors import Conflict, InvalidInput, NotFound
from mvnoguard.identity.phones import national_digits
from mvnoguard.storage import audit_log
from mvnoguard.storage.models import Enterprise, NumberBlock, Outlet

_NUMBER = re.compile(r"^1\d{10}$")


@dataclass(frozen=True)
class EnterpriseSpec:
    code: str
    name: str
    host_network: HostNetwork
    approved_on: date | None = None
    license_no: str | None = None


@dataclass(frozen=True)
class OutletSpec:
    code: str
    enterprise_code: str
    kind: OutletKind
    region_code: str | None = None
    authorized: bool = True
    delegated_by: str | None = None


def _text(value: str | None, field: str, limit: int, *, required: bool = True) -> str | None:
    """A code or name as stored: trimmed, present when required, within the column's width."""
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidInput(f"{field} is required", code="missing_value", field=field)
        return None
    if len(text) > limit:
        raise InvalidInput(
            f"{field} is longer than {limit} characters", code="too_long", field=field
        )
    return text


def get_enterprise(session: Session, code: str) -> Enterprise:
    enterprise = session.scalar(select(Enterprise).where(Enterprise.code == code))
    if enterprise is None:
        raise NotFound(f"no enterprise {code!r}", code="unknown_enterprise", field="enterprise")
    return enterprise


def enterprise_codes(session: Session) -> set[str]:
    return set(session.scalars(select(Enterprise.code)))


def upsert_enterprise(session: Session, spec: EnterpriseSpec, *, actor: str) -> Enterprise:
    # Widths of storage.models.Enterprise.
    _text(spec.code, "enterprise_code", 32)
    _text(spec.name, "name", 200)
    _text(spec.license_no, "license_no", 64, required=False)
    enterprise = session.scalar(select(Enterprise).where(Enterprise.code == spec.code))
    if enterprise is None:
        enterprise = Enterprise(code=spec.code)
        session.add(enterprise)
    enterprise.name = spec.name
    enterprise.host_network = HostNetwork(spec.host_network).value
    enterprise.approved_on = spec.approved_on
    enterprise.license_no = spec.license_no
    if _changed(session, enterprise):
        session.flush()
        audit_log.append(session, actor=actor, action="enterprise.upsert", subject=spec.code)
    return enterprise


def _changed(session: Session, row: object) -> bool:
    """A new row, or one whose values differ from the stored ones: the same values given
    again (an import run twice) change nothing and leave no audit entry."""
    return row in session.new or session.is_modified(row)


def _check_number(value: str, field: str) -> str:
    value = national_digits(value)  # +86, 0086, spaces and dashes as everywhere else
    if not _NUMBER.match(value):
        raise InvalidInput(
            f"{field} must be an 11-digit mobile number", code="bad_number", field=field
        )
    return value


def add_block(
    session: Session, enterprise_code: str, first_number: str, last_number: str, *, actor: str
) -> NumberBlock:
    """Allocate an inclusive block; refuse one that overlaps any block in the market."""
    first = _check_number(first_number, "first_number")
    last = _check_number(last_number, "last_number")
    if first > last:
        raise InvalidInput(
            "first_number is after last_number", code="bad_block", field="last_number"
        )
    enterprise = get_enterprise(session, enterprise_code)
    existing = session.scalar(
        select(NumberBlock).where(
            and_(NumberBlock.first_number <= last, NumberBlock.last_number >= first)
        )
    )
    if existing is not None:
        if (existing.enterprise_id, existing.first_number, existing.last_number) == (
            enterprise.id,
            first,
            last,
        ):
            return existing  # the same allocation again: nothing to do
        raise Conflict(f"block {first}-{last} overlaps an allocated block", code="block_overlap")
    block = NumberBlock(enterprise_id=enterprise.id, first_number=first, last_number=last)
    session.add(block)
    session.flush()
    audit_log.append(
        session, actor=actor, action="block.add", subject=enterprise_code, detail=f"{first}-{last}"
    )
    return block


def block_owner(session: Session, msisdn: str) -> Enterprise | None:
    """The enterprise whose allocated block holds ``msisdn``, if any."""
    return session.scalar(
        select(Enterprise)
        .join(NumberBlock, NumberBlock.enterprise_id == Enterprise.id)
        .where(NumberBlock.first_number <= msisdn, NumberBlock.last_number >= msisdn)
    )


def get_outlet(session: Session, code: str) -> Outlet | None:
    return session.scalar(select(Outlet).where(Outlet.code == code))


def upsert_outlet(session: Session, spec: OutletSpec, *, actor: str) -> Outlet:
    # Widths of storage.models.Outlet.
    _text(spec.code, "outlet_code", 64)
    _text(spec.region_code, "region_code", 6, required=False)
    _text(spec.delegated_by, "delegated_by", 64, required=False)
    enterprise = get_enterprise(session, spec.enterprise_code)
    outlet = get_outlet(session, spec.code)
    if outlet is None:
        outlet = Outlet(code=spec.code)
        session.add(outlet)
    elif outlet.enterprise_id != enterprise.id:
        raise Conflict(f"outlet {spec.code!r} belongs to another enterprise", code="outlet_taken")
    outlet.enterprise_id = enterprise.id
    outlet.kind = OutletKind(spec.kind).value
    outlet.region_code = spec.region_code
    outlet.authorized = spec.authorized
    outlet.delegated_by = spec.delegated_by
    if _changed(session, outlet):
        session.flush()
        audit_log.append(session, actor=actor, action="outlet.upsert", subject=spec.code)
    return outlet


def blacklist_outlet(
    session: Session, code: str, *, reason: str, at: datetime, actor: str
) -> Outlet:
    """Put an outlet caught violating on the agent blacklist: it can register no one."""
    outlet = get_outlet(session, code)
    if outlet is None:
        raise NotFound(f"no outlet {code!r}", code="unknown_outlet", field="outlet")
    if outlet.blacklisted_at is None:
        outlet.blacklisted_at = at
        outlet.blacklist_reason = reason
        audit_log.append(
            session, actor=actor, action="outlet.blacklist", subject=code, detail=reason
        )
    return outlet
