"""The complainant's number: sealed at rest, out of every answer, opened only with an audit entry.

Also its content key (no plain hash of the number, still a duplicate after a key rotation), the
schema upgrade of a store that held the numbers in clear (revision 0005) and its downgrade, the
reporter's token (revision 0007), and two imports of the same file at once. On SQLite and
PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, String, column, event, func, inspect, select, table, text
from sqlalchemy.orm import sessionmaker

from mvnoguard.config import Settings
from mvnoguard.domain.policy import Policy
from mvnoguard.domain.risk import ComplaintCategory
from mvnoguard.errors import ConfigurationError, Forbidden, InvalidInput, NotFound
from mvnoguard.identity.vault import KeyRing, PiiVault
from mvnoguard.linkage import complaints
from mvnoguard.linkage.complaints import ComplaintIn
from mvnoguard.runtime import Runtime
from mvnoguard.storage.audit_log import verify_chain
from mvnoguard.storage.database import (
    Database,
    create_store_engine,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from mvnoguard.storage.models import AuditEntry, Complaint, UTCDateTime
from tests.linkage.conftest import B_E01, E01, NOW, REGULATOR, plus86
from tests.linkage.test_complaints import CONTRACT_ROWS, write_csv

REPORTER = "13800138000"
REPORTER_E164 = "+8613800138000"
OTHER_REPORTER = "13900139000"
# Every spelling of the reporter's digits that would give the number away in a column.
NEEDLES = [REPORTER.encode(), REPORTER.encode("utf-16-le"), OTHER_REPORTER.encode()]


def legacy_key(
    reported: str, reporter: str | None, category: str, received: datetime, text: str | None
) -> str:
    """The content key before revision 0006: a plain SHA-256 with the reporter's number in it."""
    parts = [reported, reporter or "", category, received.astimezone(UTC).isoformat(), text or ""]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def raw_rows(engine: Engine) -> list[dict[str, Any]]:
    """The complaints table as the driver hands it over, every column."""
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(text("SELECT * FROM complaints"))]


def as_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode("utf-8")


def assert_no_clear_reporter(engine: Engine) -> None:
    rows = raw_rows(engine)
    assert rows, "no complaints to check"
    for row in rows:
        assert "reporter_number" not in row
        for name, value in row.items():
            for needle in NEEDLES:
                assert needle not in as_bytes(value), f"{name} holds a reporter number"


def with_reporter(reporter: str | None = REPORTER, minutes: int = 1) -> ComplaintIn:
    return ComplaintIn(
        B_E01, reporter, ComplaintCategory.FRAUD, NOW - timedelta(minutes=minutes), "prize"
    )


# -- submitted and imported ------------------------------------------------------------------


def test_a_submitted_reporter_number_is_sealed_and_never_answered(
    market: Database, vault: PiiVault, policy: Policy
) -> None:
    with market.transaction() as session:
        entry = complaints.submit(
            session, E01, with_reporter(), vault=vault, now=NOW, policy=policy
        )
        again = complaints.submit(
            session, E01, with_reporter(), vault=vault, now=NOW, policy=policy
        )
        other = complaints.submit(
            session, E01, with_reporter(OTHER_REPORTER), vault=vault, now=NOW, policy=policy
        )
        stored = session.get(Complaint, entry.complaint_id)
        assert stored is not None
        sealed = stored.reporter_number_sealed
        log = session.scalars(select(AuditEntry)).all()
    # The same complaint is found again; another complainant's is another complaint.
    assert (entry.duplicate, again.duplicate, other.duplicate) == (False, True, False)
    assert again.complaint_id == entry.complaint_id != other.complaint_id
    assert sealed is not None
    assert vault.decrypt(sealed, context=complaints.REPORTER_CONTEXT) == REPORTER_E164
    for answer in (entry, again, other):
        assert REPORTER not in json.dumps(answer.to_json())
    assert_no_clear_reporter(market.engine)
    # Neither the plain hash the key used to be nor the audit log gives the number away.
    received = NOW - timedelta(minutes=1)
    old = legacy_key(plus86(B_E01), REPORTER_E164, "fraud", received, "prize")
    assert old not in {row["content_key"] for row in raw_rows(market.engine)}
    for item in log:
        assert REPORTER not in f"{item.subject} {item.detail}"


def test_the_sealed_number_is_bound_to_its_column(
    market: Database, vault: PiiVault, policy: Policy
) -> None:
    with market.transaction() as session:
        entry = complaints.submit(
            session, None, with_reporter(), vault=vault, now=NOW, policy=policy
        )
        stored = session.get(Complaint, entry.complaint_id)
        assert stored is not None and stored.reporter_number_sealed is not None
    with pytest.raises(Exception) as wrong:
        vault.decrypt(stored.reporter_number_sealed, context="doc_number")
    assert getattr(wrong.value, "code", None) == "vault_tampered"


def test_an_imported_feed_seals_reporters_and_imports_once(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    feed = write_csv(
        tmp_path / "complaints.csv",
        [
            *CONTRACT_ROWS,
            # The same complaint from another complainant is a complaint of its own.
            [B_E01, OTHER_REPORTER, "fraud", "2016-05-31T09:00:00+08:00", "said I won a prize"],
        ],
    )
    with market.transaction() as session:
        first = complaints.import_feed(
            session, feed, vault=vault, quarantine_dir=tmp_path / "q", now=NOW, policy=policy
        )
    with market.transaction() as session:
        again = complaints.import_feed(
            session, feed, vault=vault, quarantine_dir=tmp_path / "q", now=NOW, policy=policy
        )
        sealed = session.execute(
            select(Complaint.reported_number, Complaint.reporter_number_sealed).order_by(
                Complaint.id
            )
        ).all()
        assert verify_chain(session).ok
    assert (first.accepted, first.duplicates) == (3, 1)
    assert (again.accepted, again.duplicates) == (0, 4)
    opened = [
        (reported, vault.decrypt(blob, context="reporter_number") if blob else None)
        for reported, blob in sealed
    ]
    assert opened == [
        (plus86(B_E01), REPORTER_E164),
        ("+14155550123", None),
        (plus86(B_E01), plus86(OTHER_REPORTER)),
    ]
    assert_no_clear_reporter(market.engine)
    for path in (tmp_path / "q").iterdir():  # the quarantine file names rows, not numbers
        assert REPORTER.encode() not in path.read_bytes()


# -- opening it for follow-up ----------------------------------------------------------------


def test_the_regulator_opens_a_reporter_number_and_the_access_is_audited(
    market: Database, vault: PiiVault, policy: Policy
) -> None:
    with market.transaction() as session:
        sealed = complaints.submit(
            session, E01, with_reporter(), vault=vault, now=NOW, policy=policy
        )
        bare = complaints.submit(
            session, E01, with_reporter(None), vault=vault, now=NOW, policy=policy
        )
    with market.transaction() as session:
        number = complaints.reveal_reporter(
            session, vault, REGULATOR, sealed.complaint_id, purpose="call back", now=NOW
        )
        none = complaints.reveal_reporter(
            session, vault, REGULATOR, bare.complaint_id, purpose="call back", now=NOW
        )
        reveals = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "complaint.reveal_reporter")
            .order_by(AuditEntry.id)
        ).all()
        assert verify_chain(session).ok
    assert (number, none) == (REPORTER_E164, None)
    assert [(e.actor, e.subject, e.detail) for e in reveals] == [
        (REGULATOR.actor, f"complaint:{sealed.complaint_id}", "call back"),
        (REGULATOR.actor, f"complaint:{bare.complaint_id}", "call back"),
    ]
    assert_no_clear_reporter(market.engine)  # the audit entry holds the id, not the number


@pytest.mark.parametrize(
    ("who", "complaint_id", "purpose", "error", "code"),
    [
        (E01, None, "call back", Forbidden, "forbidden"),
        (REGULATOR, 999_999, "call back", NotFound, "unknown_complaint"),
        (REGULATOR, None, "  ", InvalidInput, "missing_value"),
    ],
)
def test_opening_a_reporter_number_is_refused_without_an_audit_entry(
    market: Database,
    vault: PiiVault,
    policy: Policy,
    who: Any,
    complaint_id: int | None,
    purpose: str,
    error: type[Exception],
    code: str,
) -> None:
    with market.transaction() as session:
        entry = complaints.submit(
            session, E01, with_reporter(), vault=vault, now=NOW, policy=policy
        )
    with pytest.raises(error) as refused, market.transaction() as session:
        complaints.reveal_reporter(
            session,
            vault,
            who,
            complaint_id or entry.complaint_id,
            purpose=purpose,
            now=NOW,
        )
    assert getattr(refused.value, "code", None) == code
    with market.transaction() as session:
        count = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "complaint.reveal_reporter")
        )
    assert count == 0


# -- key rotation ----------------------------------------------------------------------------


def test_a_feed_imported_before_a_key_rotation_adds_nothing_after_it(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    feed = write_csv(tmp_path / "complaints.csv", CONTRACT_ROWS)

    def load(with_vault: PiiVault) -> complaints.ComplaintImport:
        with market.transaction() as session:
            return complaints.import_feed(
                session, feed, vault=with_vault, quarantine_dir=tmp_path, now=NOW, policy=policy
            )

    assert load(vault).accepted == 2
    # A ring with a new current version finds the old version's keys too.
    both = PiiVault(vault.ring.rotate())
    assert (load(both).accepted, load(both).duplicates) == (0, 3)
    # `vault rotate`: everything moves to the new version, then the old one is retired.
    with market.transaction() as session:
        assert complaints.rotate_keys(session, both) == 1  # the one complaint with a reporter
    rotated = PiiVault(both.ring.retire(vault.ring.current))
    again = load(rotated)
    assert (again.accepted, again.duplicates) == (0, 3)
    with market.transaction() as session:
        blobs = session.scalars(
            select(Complaint.reporter_number_sealed).where(
                Complaint.reporter_number_sealed.is_not(None)
            )
        ).all()
    assert [rotated.key_version_of(b) for b in blobs] == [rotated.ring.current]
    assert [rotated.decrypt(b, context="reporter_number") for b in blobs] == [REPORTER_E164]
    with market.transaction() as session:
        tokens = session.scalars(
            select(Complaint.reporter_token).where(Complaint.reporter_token.is_not(None))
        ).all()
    # The token moved too: a complaint after the rotation counts as the same complainant.
    assert tokens == [rotated.token(complaints.REPORTER_KIND, REPORTER_E164)]
    # A submit of the same complaint after the rotation is a duplicate as well.
    with market.transaction() as session:
        entry = complaints.submit(
            session,
            None,
            ComplaintIn(
                B_E01,
                REPORTER,
                ComplaintCategory.FRAUD,
                datetime(2016, 5, 31, 1, 0, tzinfo=UTC),
                "said I won a prize",
            ),
            vault=rotated,
            now=NOW,
            policy=policy,
        )
    assert entry.duplicate


# -- the schema upgrade from clear numbers (revision 0005) -----------------------------------


# What a 0005 store holds after importing CONTRACT_ROWS: the parsed rows, keys with clear numbers.
OLD_ROWS = [
    (
        plus86(B_E01),
        REPORTER_E164,
        "fraud",
        datetime(2016, 5, 31, 1, tzinfo=UTC),
        "said I won a prize",
    ),
    ("+14155550123", None, "spam", datetime(2016, 5, 30, 2, tzinfo=UTC), None),
]
OLD_COMPLAINTS = table(
    "complaints",
    column("content_key", String()),
    column("reported_number", String()),
    column("reporter_number", String()),
    column("category", String()),
    column("received_at", UTCDateTime()),
    column("text", String()),
    column("source", String()),
    column("created_at", UTCDateTime()),
)


def old_store(url: str) -> Engine:
    """A store at revision 0005 holding complaints the way it stored them: numbers in clear."""
    engine = create_store_engine(url)
    upgrade(engine, "0005")
    with engine.begin() as conn:
        for reported, reporter, category, received, body in OLD_ROWS:
            conn.execute(
                OLD_COMPLAINTS.insert().values(
                    content_key=legacy_key(reported, reporter, category, received, body),
                    reported_number=reported,
                    reporter_number=reporter,
                    category=category,
                    received_at=received,
                    text=body,
                    source="contract",
                    created_at=NOW,
                )
            )
    return engine


def columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("complaints")}


def test_the_upgrade_seals_clear_reporter_numbers_and_keeps_their_duplicates(
    empty_url: str, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    engine = old_store(empty_url)
    try:
        upgrade(engine, vault=lambda: vault)
        assert current_revision(engine) == head_revision(engine)
        assert "reporter_number" not in columns(engine)
        assert_no_clear_reporter(engine)
        rows = sorted(raw_rows(engine), key=lambda row: row["id"])
        assert [
            vault.decrypt(bytes(r["reporter_number_sealed"]), context="reporter_number")
            if r["reporter_number_sealed"] is not None
            else None
            for r in rows
        ] == [REPORTER_E164, None]
        # Revision 0007 gave the sealed number its token, the one a new complaint gets.
        token = vault.token(complaints.REPORTER_KIND, REPORTER_E164)
        assert [r["reporter_token"] for r in rows] == [token, None]
        # The row without a reporter keeps its key; the other one's no longer hashes the number.
        assert rows[1]["content_key"] == legacy_key(*OLD_ROWS[1])
        assert rows[0]["content_key"] != legacy_key(*OLD_ROWS[0])
        # Re-importing the feed those rows came from adds nothing.
        database = Database(engine, sessionmaker(engine, expire_on_commit=False))
        feed = write_csv(tmp_path / "complaints.csv", CONTRACT_ROWS[:3])
        with database.transaction() as session:
            again = complaints.import_feed(
                session, feed, vault=vault, quarantine_dir=tmp_path, now=NOW, policy=policy
            )
            count = session.scalar(select(func.count(Complaint.id)))
        assert (again.accepted, again.duplicates, count) == (0, 2, 2)
    finally:
        engine.dispose()


def test_the_upgrade_without_the_key_ring_changes_nothing(empty_url: str, vault: PiiVault) -> None:
    engine = old_store(empty_url)
    try:
        with pytest.raises(ConfigurationError) as refused:
            upgrade(engine)
        assert refused.value.code == "vault_key_needed"
        assert REPORTER not in refused.value.message
        assert current_revision(engine) == "0005"
        with engine.connect() as conn:
            kept = (
                conn.execute(text("SELECT reporter_number FROM complaints ORDER BY id"))
                .scalars()
                .all()
            )
        assert kept == [REPORTER_E164, None]
        upgrade(engine, vault=lambda: vault)  # with the key ring it goes through
        assert current_revision(engine) == head_revision(engine)
        assert_no_clear_reporter(engine)
    finally:
        engine.dispose()


def test_the_reporter_token_upgrade_needs_the_key_ring_and_changes_nothing_without(
    empty_url: str, vault: PiiVault
) -> None:
    engine = old_store(empty_url)
    try:
        upgrade(engine, "0006", vault=lambda: vault)
        with pytest.raises(ConfigurationError) as refused:
            upgrade(engine)
        assert refused.value.code == "vault_key_needed"
        assert "0007" in refused.value.message
        assert current_revision(engine) == "0006"
        assert "reporter_token" not in columns(engine)
        upgrade(engine, vault=lambda: vault)
        token = vault.token(complaints.REPORTER_KIND, REPORTER_E164)
        assert sorted(map(str, (r["reporter_token"] for r in raw_rows(engine)))) == sorted(
            [token, "None"]
        )
        downgrade(engine, "0006")  # dropping the column needs no key ring
        assert "reporter_token" not in columns(engine)
    finally:
        engine.dispose()


def test_the_downgrade_restores_the_clear_column_and_its_keys(
    empty_url: str, vault: PiiVault
) -> None:
    engine = old_store(empty_url)
    try:
        with engine.connect() as conn:
            before = conn.execute(
                text("SELECT id, content_key, reporter_number FROM complaints ORDER BY id")
            ).all()
        upgrade(engine, vault=lambda: vault)
        downgrade(engine, "0005", vault=lambda: vault)
        assert current_revision(engine) == "0005"
        assert "reporter_number_sealed" not in columns(engine)
        with engine.connect() as conn:
            after = conn.execute(
                text("SELECT id, content_key, reporter_number FROM complaints ORDER BY id")
            ).all()
        assert after == before
        upgrade(engine, vault=lambda: vault)  # and up again
        assert_no_clear_reporter(engine)
    finally:
        engine.dispose()


def test_an_empty_store_goes_up_and_down_without_the_key_ring(empty_url: str) -> None:
    engine = create_store_engine(empty_url)
    try:
        upgrade(engine)
        downgrade(engine, "0005")
        assert "reporter_number" in columns(engine)
        upgrade(engine)
        assert columns(engine) >= {"reporter_number_sealed"}
        assert "reporter_number" not in columns(engine)
    finally:
        engine.dispose()


def test_the_application_upgrades_an_old_store_with_its_own_key_ring(
    empty_url: str, tmp_path: Path
) -> None:
    old_store(empty_url).dispose()
    home = tmp_path / "home"
    runtime = Runtime(Settings(home=home, database_url=empty_url))
    try:
        engine = runtime.database.engine  # first use: migrated with the home's key ring
        assert current_revision(engine) == head_revision(engine)
        assert (home / "keys" / "vault.json").is_file()
        assert_no_clear_reporter(engine)
        with runtime.database.transaction() as session:
            number = complaints.reveal_reporter(
                session, runtime.vault, REGULATOR, 1, purpose="follow-up", now=NOW
            )
        assert number == REPORTER_E164
    finally:
        runtime.close()


# -- two imports of one file at once ---------------------------------------------------------


def wait_until_blocked(database: Database, writing: threading.Event, timeout: float = 20.0) -> None:
    """Until the second import waits for the first one's lock.

    PostgreSQL shows the wait; SQLite does not, so there: until the second import's first write
    statement has started (it cannot finish before the first import commits), and a moment.
    """
    if database.engine.dialect.name != "postgresql":
        assert writing.wait(timeout), "the second import never wrote"
        time.sleep(0.3)
        return
    deadline = time.monotonic() + timeout
    with database.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the second import never waited for the first")


def test_two_imports_of_one_file_at_once_store_it_once(
    database: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    """The second import starts while the first has stored the file but not committed; on
    PostgreSQL it looks for duplicates before the first commits, so its inserts collide with
    the first's rows. Both finish, and the file is stored once."""
    header = ["reported_number", "reporter_number", "category", "received_at", "text"]
    rows = [
        [f"+86170900{i:05d}", f"1380013{i:04d}", "spam", "2016-05-31T09:00:00+08:00", f"n{i}"]
        for i in range(1_200)  # more than one look-up chunk
    ]
    feed = write_csv(tmp_path / "complaints.csv", [header, *rows, rows[0]])
    stored = threading.Event()
    release = threading.Event()
    second_writes = threading.Event()
    results: dict[str, complaints.ComplaintImport] = {}
    failures: list[BaseException] = []

    def load(name: str) -> None:
        try:
            if name == "second":
                stored.wait(30)
            with database.transaction() as session:
                results[name] = complaints.import_feed(
                    session, feed, vault=vault, quarantine_dir=tmp_path, now=NOW, policy=policy
                )
                if name == "first":
                    stored.set()
                    release.wait(30)
        except BaseException as exc:  # reported by the test below
            failures.append(exc)
            stored.set()

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.current_thread().name == "second" and statement.lstrip().startswith(
            ("INSERT", "UPDATE")
        ):
            second_writes.set()

    threads = [
        threading.Thread(target=load, args=(name,), name=name) for name in ("first", "second")
    ]
    event.listen(database.engine, "before_cursor_execute", on_execute)
    for thread in threads:
        thread.start()
    try:
        assert stored.wait(60)
        wait_until_blocked(database, second_writes)
    finally:
        release.set()
        for thread in threads:
            thread.join(60)
        event.remove(database.engine, "before_cursor_execute", on_execute)
    assert failures == []
    first, second = results["first"], results["second"]
    assert (first.accepted, first.duplicates) == (1_200, 1)
    assert (second.accepted, second.duplicates) == (0, 1_201)
    with database.transaction() as session:
        assert session.scalar(select(func.count(Complaint.id))) == 1_200
        assert verify_chain(session).ok


def test_a_fresh_key_ring_cannot_read_the_numbers(
    market: Database, vault: PiiVault, policy: Policy
) -> None:
    with market.transaction() as session:
        entry = complaints.submit(
            session, None, with_reporter(), vault=vault, now=NOW, policy=policy
        )
    stranger = PiiVault(KeyRing.generate())
    with market.transaction() as session, pytest.raises(Exception) as refused:
        complaints.reveal_reporter(
            session, stranger, REGULATOR, entry.complaint_id, purpose="x", now=NOW
        )
    assert getattr(refused.value, "code", None) == "vault_tampered"


class _Refused(Exception):
    pass


def test_stored_complaints_go_back_with_the_callers_transaction(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    """The savepoint around a batch never commits it early (on SQLite a savepoint opening the
    transaction would): a caller's rollback takes the complaints back."""
    feed = write_csv(tmp_path / "complaints.csv", CONTRACT_ROWS)
    with market.transaction() as session:
        entries = verify_chain(session).entries
    with pytest.raises(_Refused), market.transaction() as session:
        complaints.submit(session, None, with_reporter(), vault=vault, now=NOW, policy=policy)
        raise _Refused
    with pytest.raises(_Refused), market.transaction() as session:
        complaints.import_feed(
            session, feed, vault=vault, quarantine_dir=tmp_path, now=NOW, policy=policy
        )
        raise _Refused
    with market.transaction() as session:
        assert session.scalar(select(func.count(Complaint.id))) == 0
        assert verify_chain(session).entries == entries
