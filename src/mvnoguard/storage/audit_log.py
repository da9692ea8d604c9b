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


def _hashed_tail(occurred_at: datetime, actor: str, action: str, subject: str, detail: str) -> str:
    """What an entry's hash covers after its predecessor's hash (fields split by 0x1f)."""
    return "\x1f" + "\x1f".join(
        [occurred_at.astimezone(UTC).isoformat(), actor, action, subject, detail]
    )


def _entry_hash(
    prev_hash: str, occurred_at: datetime, actor: str, action: str, subject: str, detail: str
) -> str:
    payload = prev_hash + _hashed_tail(occurred_at, actor, action, subject, detail)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# PostgreSQL appends in one statement: move the head (its row lock orders appends until the
# commit), hash in the server over the same payload as ``_entry_hash`` (the head followed by
# ``_hashed_tail``), insert the entry. In READ COMMITTED an UPDATE that waited for the row
# re-reads its newest version, so the head is never stale, and the entry's id is drawn under
# the lock: ids follow the chain.
_PG_APPEND = text(
    """
    WITH head AS (
        UPDATE audit_chain_head
        SET prev_hash = head_hash,
            head_hash = encode(sha256(convert_to(head_hash || :tail, 'UTF8')), 'hex')
        WHERE id = 1
        RETURNING prev_hash, head_hash
    )
    INSERT INTO audit_log (occurred_at, actor, action, subject, detail, prev_hash, entry_hash)
    SELECT :occurred_at, :actor, :action, :subject, :detail, head.prev_hash, head.head_hash
    FROM head
    RETURNING id, prev_hash, entry_hash
    """
)
# SQLite: a write to the head row first, which takes the database's write lock (the driver
# begins the transaction at its first write, so a read before it could be stale); then the
# head is read, hashed here and moved.
_LOCK_HEAD = text("UPDATE audit_chain_head SET head_hash = head_hash WHERE id = 1")
_READ_HEAD = text("SELECT head_hash FROM audit_chain_head WHERE id = 1")
_MOVE_HEAD = text("UPDATE audit_chain_head SET prev_hash = :prev, head_hash = :head WHERE id = 1")
# The head row of a store built without the migration that seeds it (the log's last entry).
_SEED_HEAD = text(
    """
    INSERT INTO audit_chain_head (id, prev_hash, head_hash)
    SELECT 1,
        coalesce((SELECT prev_hash FROM audit_log ORDER BY id DESC LIMIT 1), :genesis),
        coalesce((SELECT entry_hash FROM audit_log ORDER BY id DESC LIMIT 1), :genesis)
    WHERE NOT EXISTS (SELECT 1 FROM audit_chain_head WHERE id = 1)
    ON CONFLICT (id) DO NOTHING
    """
)


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    detail: str = "",
    at: datetime | None = None,
) -> AuditEntry:
    """Add one entry at the head of the chain, inside the caller's transaction.

    The append holds the chain head's row (on SQLite, the database's write lock) until the
    commit, so the transaction's pending rows are flushed first and, on PostgreSQL, the
    append is one statement. The answer is a detached copy of the entry written.
    """
    session.flush()
    occurred_at = (at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    values = {
        "occurred_at": occurred_at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "detail": detail,
    }
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        tail = _hashed_tail(occurred_at, actor, action, subject, detail)
        row = connection.execute(_PG_APPEND, {**values, "tail": tail}).first()
        if row is None:
            connection.execute(_SEED_HEAD, {"genesis": GENESIS})
            row = connection.execute(_PG_APPEND, {**values, "tail": tail}).one()
        return AuditEntry(**values, id=row.id, prev_hash=row.prev_hash, entry_hash=row.entry_hash)
    if connection.execute(_LOCK_HEAD).rowcount == 0:
        connection.execute(_SEED_HEAD, {"genesis": GENESIS})
    prev_hash = connection.execute(_READ_HEAD).scalar_one()
    entry_hash = _entry_hash(prev_hash, occurred_at, actor, action, subject, detail)
    connection.execute(_MOVE_HEAD, {"prev": prev_hash, "head": entry_hash})
    entry = AuditEntry(**values, prev_hash=prev_hash, entry_hash=entry_hash)
    session.add(entry)
    session.flush()
    session.expunge(entry)
    return entry


@dataclass(frozen=True)
class ChainCheck:
    entries: int
    ok: bool
    first_bad_id: int | None = None
    problem: str | None = None


def verify_chain(session: Session) -> ChainCheck:
    """Walk the chain from the start; report the first edited, inserted or missing entry, or a
    tail cut off after the last entry the walk met (the chain head remembers it)."""
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
    head = session.execute(_READ_HEAD).scalar_one_or_none()
    if head is not None and head != prev_hash:
        # The head moves with every append: a head past the last entry means entries at the
        # end were deleted (the walk alone cannot see a cut tail).
        return ChainCheck(count, False, None, "entries after the last one were deleted")
    return ChainCheck(count, True)
