"""The hash-chained audit log and the schema migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import sessionmaker

from mvnoguard.storage import audit_log
from mvnoguard.storage.database import (
    Database,
    create_store_engine,
    current_revision,
    head_revision,
    upgrade,
)
from mvnoguard.storage.models import AuditEntry, Base

START = datetime(2016, 3, 1, 2, 0, tzinfo=UTC)


def write_entries(database: Database, count: int) -> list[int]:
    """``count`` entries, one minute apart, each in its own transaction like real writes."""
    ids = []
    for i in range(count):
        with database.transaction() as session:
            entry = audit_log.append(
                session,
                actor=f"actor{i % 2}",
                action="subscriber.view",
                subject=f"1709000000{i}",
                detail=f"step {i}",
                at=START + timedelta(minutes=i),
            )
            ids.append(entry.id)
    return ids


def verify(database: Database, anchors: list[str] | None = None) -> audit_log.ChainCheck:
    with database.transaction() as session:
        return audit_log.verify_chain(session, anchors=anchors or ())


def test_entries_chain_from_genesis(database: Database) -> None:
    ids = write_entries(database, 4)
    with database.transaction() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.id for e in entries] == ids
    assert entries[0].prev_hash == audit_log.GENESIS
    for before, after in pairwise(entries):
        assert after.prev_hash == before.entry_hash
    assert len({e.entry_hash for e in entries}) == 4
    # Stored times come back as the same instants, so the hashes recompute.
    assert [e.occurred_at for e in entries] == [START + timedelta(minutes=i) for i in range(4)]
    check = verify(database)
    assert (check.ok, check.entries, check.first_bad_id) == (True, 4, None)


def test_an_empty_log_verifies(database: Database) -> None:
    assert verify(database) == audit_log.ChainCheck(0, True)


def test_editing_an_entry_is_detected_at_that_entry(database: Database) -> None:
    ids = write_entries(database, 5)
    with database.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET detail = :detail WHERE id = :id"),
            {"detail": "step 2 (nothing to see)", "id": ids[2]},
        )
    check = verify(database)
    assert check.ok is False
    assert check.first_bad_id == ids[2]
    assert check.problem == "the entry was edited"


def test_editing_an_entry_and_its_hash_is_detected_at_the_next(database: Database) -> None:
    """A forger who recomputes the edited entry's own hash still breaks its successor's link."""
    ids = write_entries(database, 5)
    with database.transaction() as session:
        entry = session.get(AuditEntry, ids[1])
        assert entry is not None
        forged = audit_log._entry_hash(
            entry.prev_hash, entry.occurred_at, "someone else", entry.action, entry.subject, ""
        )
    with database.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET actor = :a, detail = '', entry_hash = :h WHERE id = :id"),
            {"a": "someone else", "h": forged, "id": ids[1]},
        )
    check = verify(database)
    assert (check.ok, check.first_bad_id) == (False, ids[2])


def test_deleting_a_middle_entry_is_detected(database: Database) -> None:
    ids = write_entries(database, 5)
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[2]})
    check = verify(database)
    assert check.ok is False
    assert check.first_bad_id == ids[3]  # the entry whose predecessor went missing
    assert check.problem == "an entry before it was deleted or replaced"


@pytest.mark.parametrize("kept", [4, 0])
def test_cutting_off_the_last_entries_is_detected(database: Database, kept: int) -> None:
    """The walk alone finds a shorter chain intact; the head row remembers the last entry."""
    ids = write_entries(database, 5)
    with database.engine.begin() as conn:
        conn.execute(
            text("DELETE FROM audit_log WHERE id > :id"), {"id": ids[kept - 1] if kept else 0}
        )
    check = verify(database)
    assert (check.ok, check.entries) == (False, kept)
    assert check.problem == "entries after the last one were deleted"


def test_a_deleted_head_row_is_detected_and_restoring_it_is_recorded(database: Database) -> None:
    """Cutting the tail and the head row together is reported; the next append restores the
    head from the log and says so in an entry of its own, which verify names."""
    ids = write_entries(database, 5)
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id > :id"), {"id": ids[2]})
        conn.execute(text("DELETE FROM audit_chain_head"))
    cut = verify(database)
    assert (cut.ok, cut.problem) == (False, "the chain head is missing")
    with database.transaction() as session:
        audit_log.append(session, actor="t", action="a", subject="after")
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    later = verify(database)
    assert actions[-2:] == [audit_log.HEAD_RESTORED, "a"]
    assert later.ok and len(later.restored_at) == 1


def test_a_head_kept_elsewhere_catches_a_rewritten_chain(database: Database) -> None:
    """Whoever writes the database can edit an entry and recompute every hash after it (and
    the head): only a head hash kept outside finds that out."""
    ids = write_entries(database, 4)
    anchored = verify(database).head
    write_entries(database, 2)
    assert verify(database, anchors=[anchored]).ok
    with database.transaction() as session:  # the forger's own session, not append's
        prev = audit_log.GENESIS
        for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
            if entry.id == ids[1]:
                entry.detail = "rewritten"
            entry.prev_hash, entry.entry_hash = (
                prev,
                audit_log._entry_hash(
                    prev, entry.occurred_at, entry.actor, entry.action, entry.subject, entry.detail
                ),
            )
            head_prev, prev = entry.prev_hash, entry.entry_hash
        session.execute(
            text("UPDATE audit_chain_head SET prev_hash = :p, head_hash = :h"),
            {"p": head_prev, "h": prev},
        )
    assert verify(database).ok  # the forgery holds against the chain alone
    caught = verify(database, anchors=[anchored])
    assert caught.ok is False
    assert caught.problem is not None and "kept elsewhere" in caught.problem


def test_appends_continue_the_chain_after_earlier_transactions(database: Database) -> None:
    write_entries(database, 2)
    with database.transaction() as session:
        head = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert head is not None
        new = audit_log.append(session, actor="t", action="a", subject="s")
        assert new.prev_hash == head.entry_hash
        assert new.occurred_at.tzinfo is not None
    assert verify(database).ok


class _Refused(Exception):
    pass


def test_concurrent_appends_form_one_chain_in_id_order(database: Database) -> None:
    """Writers in parallel threads, some rolling back: one unbroken chain of the commits."""
    committed: list[str] = []

    def writer(worker: int) -> None:
        for step in range(12):
            subject = f"w{worker}-{step}"
            try:
                with database.transaction() as session:
                    audit_log.append(session, actor="t", action="a", subject=subject)
                    audit_log.append(session, actor="t", action="b", subject=subject)
                    if step % 4 == 3:
                        raise _Refused
            except _Refused:
                continue
            committed.append(subject)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check = verify(database)
    assert (check.ok, check.entries) == (True, 2 * len(committed))
    assert len(committed) == 4 * 9
    with database.transaction() as session:
        subjects = session.scalars(select(AuditEntry.subject).order_by(AuditEntry.id)).all()
    # A transaction's two entries are next to each other: appends never interleave.
    assert subjects[0::2] == subjects[1::2]
    assert sorted(subjects[0::2]) == sorted(committed)


def test_a_rolled_back_append_leaves_the_head_where_it_was(database: Database) -> None:
    write_entries(database, 2)
    with pytest.raises(_Refused), database.transaction() as session:
        audit_log.append(session, actor="t", action="a", subject="gone")
        raise _Refused
    write_entries(database, 1)
    check = verify(database)
    assert (check.ok, check.entries) == (True, 3)


def test_the_head_upgrade_continues_an_existing_log(empty_url: str) -> None:
    """Entries written before the chain-head table existed are its seed: the chain goes on."""
    engine = create_store_engine(empty_url)
    try:
        upgrade(engine, "0004")
        prev = audit_log.GENESIS
        with engine.begin() as conn:
            for i in range(3):
                at = START + timedelta(minutes=i)
                entry_hash = audit_log._entry_hash(prev, at, "old", "a", f"s{i}", "")
                conn.execute(
                    text(
                        "INSERT INTO audit_log (occurred_at, actor, action, subject, detail,"
                        " prev_hash, entry_hash) VALUES (:at, 'old', 'a', :s, '', :p, :h)"
                    ),
                    {"at": at, "s": f"s{i}", "p": prev, "h": entry_hash},
                )
                prev = entry_hash
        upgrade(engine)
        database = Database(engine, sessionmaker(engine, expire_on_commit=False))
        with database.transaction() as session:
            new = audit_log.append(session, actor="new", action="a", subject="s3")
        assert new.prev_hash == prev
        check = verify(database)
        assert (check.ok, check.entries) == (True, 4)
    finally:
        engine.dispose()


# -- migrations -------------------------------------------------------------------------------


def test_upgrade_to_head_creates_exactly_the_model_tables(empty_url: str) -> None:
    engine = create_store_engine(empty_url)
    try:
        assert inspect(engine).get_table_names() == []
        assert current_revision(engine) is None
        upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        assert tables - {"alembic_version"} == set(Base.metadata.tables)
        assert "alembic_version" in tables
        assert current_revision(engine) == head_revision(engine)
        assert head_revision(engine) is not None

        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            differences = compare_metadata(context, Base.metadata)
        assert differences == [], f"migrations and models disagree: {differences}"

        upgrade(engine)  # a second upgrade is a no-op
        assert set(inspect(engine).get_table_names()) == tables
    finally:
        engine.dispose()


def test_autogenerate_would_notice_a_model_change(empty_url: str) -> None:
    """The comparison is live: a column missing from the schema shows up as a difference."""
    engine = create_store_engine(empty_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE review_tasks DROP COLUMN due_at"))
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        assert [(d[0], d[2], d[3].name) for d in differences] == [
            ("add_column", "review_tasks", "due_at")
        ]
    finally:
        engine.dispose()
