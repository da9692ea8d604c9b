"""The hash-chained audit log: every write and every access to identity data leaves an entry.

Each entry's hash covers its content and its predecessor's hash, so editing or deleting any
entry breaks the chain at that point, which :func:`verify_chain` reports. Entries never carry
identity numbers or names: subjects are numbers (MSISDNs), tokens or record ids.

The hashes are plain SHA-256: whoever can write the database can also recompute every hash
after an edit. Against that, keep the head hash that ``audit-log verify`` prints somewhere
the database's writers cannot reach (a ticket, a signed report); ``audit-log verify --anchor
HASH`` then checks that the chain still passes through it, which no rewrite of the entries
before it can keep true. A missing head row is reported, and an append that finds it missing
over a non-empty log restores it from the last entry and says so in an ``audit.head_restored``
entry of its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
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
# The head row, from the log's last entry (or the genesis of an empty log): migration 0005
# seeds it, so it is missing only if it was deleted.
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
            _restore_head(session, occurred_at)
            row = connection.execute(_PG_APPEND, {**values, "tail": tail}).one()
        return AuditEntry(**values, id=row.id, prev_hash=row.prev_hash, entry_hash=row.entry_hash)
    if connection.execute(_LOCK_HEAD).rowcount == 0:
        _restore_head(session, occurred_at)
        connection.execute(_LOCK_HEAD)
    prev_hash = connection.execute(_READ_HEAD).scalar_one()
    entry_hash = _entry_hash(prev_hash, occurred_at, actor, action, subject, detail)
    connection.execute(_MOVE_HEAD, {"prev": prev_hash, "head": entry_hash})
    entry = AuditEntry(**values, prev_hash=prev_hash, entry_hash=entry_hash)
    session.add(entry)
    session.flush()
    session.expunge(entry)
    return entry


HEAD_RESTORED = "audit.head_restored"


def _restore_head(session: Session, at: datetime) -> None:
    """Seed a missing head row from the log; over a non-empty log, say so in an entry."""
    connection = session.connection()
    entries = connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
    # Inserted only if really missing: an append that met the row mid-update of another
    # transaction and found nothing to move (seen on PostgreSQL under load) seeds nothing.
    seeded = connection.execute(_SEED_HEAD, {"genesis": GENESIS}).rowcount
    if seeded and entries:
        append(
            session,
            actor="system:audit",
            action=HEAD_RESTORED,
            subject="audit_chain_head",
            detail=f"the chain head was missing; restored from the last of {entries} entries",
            at=at,
        )


@dataclass(frozen=True)
class ChainCheck:
    entries: int
    ok: bool
    first_bad_id: int | None = None
    problem: str | None = None
    head: str = GENESIS  # the last entry's hash: keep it elsewhere, check it with an anchor
    # Entries recording a head restored after it went missing: the log may have lost its end
    # before each of them.
    restored_at: tuple[int, ...] = ()


def verify_chain(session: Session, *, anchors: Sequence[str] = ()) -> ChainCheck:
    """Walk the chain from the start; report the first edited, inserted or missing entry, a
    tail cut off after the last entry the walk met (the chain head remembers it), a missing
    head, or an ``anchors`` hash (a head kept elsewhere) the chain no longer passes through."""
    prev_hash = GENESIS
    count = 0
    unmet = {anchor.strip().lower() for anchor in anchors} - {GENESIS}
    restored: list[int] = []
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
        unmet.discard(prev_hash)
        if entry.action == HEAD_RESTORED:
            restored.append(entry.id)
    head = session.execute(_READ_HEAD).scalar_one_or_none()
    problem = None
    if head is None and count:
        # Migration 0005 seeds the head, and every append moves it: without it, a cut tail
        # could not be told from the end of the log.
        problem = "the chain head is missing"
    elif head is not None and head != prev_hash:
        # The head moves with every append: a head past the last entry means entries at the
        # end were deleted (the walk alone cannot see a cut tail).
        problem = "entries after the last one were deleted"
    elif unmet:
        problem = "a head kept elsewhere is not in the chain: entries were rewritten or deleted"
    return ChainCheck(count, problem is None, None, problem, prev_hash, tuple(restored))
