"""The hash-chained audit log: every write and every access to identity data leaves an entry.

Each entry's hash covers its content and its predecessor's hash, so editing or deleting any
entry breaks the chain at that point, which :func:`verify_chain` reports. Entries never carry
identity numbers or names: subjects are numbers (MSISDNs), tokens or record ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from mvnoguard.storage.models import AuditEntry

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x6D76_6E6F  # serialises appends on PostgreSQL; SQLite serialises writers itself


def _entry_hash(
    prev_hash: str, occurred_at: datetime, actor: str, action: str, subject: str, detail: str
) -> str:
    payload = "\x1f".join(
        [prev_hash, occurred_at.astimezone(UTC).isoformat(), actor, action, subject, detail]
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    detail: str = "",
    at: datetime | None = None,
) -> AuditEntry:
    """Add one entry at the head of the chain, inside the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    head = session.scalars(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1))
    prev_hash = head.first() or GENESIS
    occurred_at = (at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    entry = AuditEntry(
        occurred_at=occurred_at,
        actor=actor,
        action=action,
        subject=subject,
        detail=detail,
        prev_hash=prev_hash,
        entry_hash=_entry_hash(prev_hash, occurred_at, actor, action, subject, detail),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainCheck:
    entries: int
    ok: bool
    first_bad_id: int | None = None
    problem: str | None = None


def verify_chain(session: Session) -> ChainCheck:
    """Walk the chain from the start; report the first edited, inserted or missing entry."""
    prev_hash = GENESIS
    count = 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(1000):
        count += 1
        if entry.prev_hash != prev_hash:
            return ChainCheck(count, False, entry.id, "an entry before it was deleted or replaced")
        expected = _entry_hash(
            entry.prev_hash,
            entry.occurred_at,
            entry.actor,
            entry.action,
            entry.subject,
            entry.detail or "",
        )
        if entry.entry_hash != expected:
            return ChainCheck(count, False, entry.id, "the entry was edited")
        prev_hash = entry.entry_hash
    return ChainCheck(count, True)
