"""Engine and sessions for the OLTP store, and its schema migrations.

``open_database`` is the one way in: it builds the engine for a URL (SQLite file by default,
PostgreSQL by URL), upgrades the schema to the newest migration on first use, and translates
driver failures into :class:`ConfigurationError` without echoing the URL's password.

A migration that moves personal data in or out of the vault (0006 seals complaint reporter
numbers, 0007 tokens them, 0008 re-tokens passports with their nationality) needs the key
ring: callers hand over ``vault``, a function that opens it. It is only called when a migration
has rows to convert, so an empty store never opens the key ring; a store with such rows and no
``vault`` is refused with a :class:`ConfigurationError`, unchanged.

SQLite is used through the ``sqlite3`` driver's legacy transaction mode: the driver emits
``BEGIN`` only right before an INSERT, UPDATE or DELETE, so a transaction's reads before its
first write each see the newest data, and its first write waits (busy timeout) for the write
lock. A ``SAVEPOINT`` is none of those: as the first statement of a transaction it makes SQLite
open the transaction itself, and ``RELEASE`` then commits it, out from under the caller's
rollback. So code that opens a savepoint (``session.begin_nested()``) calls
:func:`hold_write_lock` first. (Emitting ``BEGIN`` at every transaction's start instead would
make a transaction that reads, then writes after another writer committed, fail at once with
SQLITE_BUSY rather than wait, in WAL mode.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mvnoguard.errors import ConfigurationError, refuse_nul

if TYPE_CHECKING:
    from mvnoguard.identity.vault import PiiVault

# Opens the vault key ring for a migration that needs it (see the module docstring).
VaultSource = Callable[[], "PiiVault"]
VAULT_ATTRIBUTE = "vault"


def redact_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


# A write that matches no row of a table every store has: the driver emits BEGIN before it, and
# SQLite takes the database's write lock for it all the same (RESERVED, held to the end).
_SQLITE_TAKE_WRITE_LOCK = text("UPDATE audit_chain_head SET id = id WHERE 0 = 1")


def hold_write_lock(session: Session) -> None:
    """On SQLite, open the session's transaction for writing now; nothing on PostgreSQL.

    Call it before ``session.begin_nested()`` (see the module docstring): the savepoint then
    opens inside the driver's transaction, whose rollback takes everything back. From here to
    the commit no other writer can commit, so reads after it see every committed row. Calling
    it again in the same transaction changes nothing.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.execute(_SQLITE_TAKE_WRITE_LOCK)


def _advisory_key(key: str) -> int:
    """A PostgreSQL advisory lock id (signed 64-bit) for ``key``."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def hold_locks(session: Session, *keys: str) -> None:
    """Keep every other transaction that holds one of ``keys`` waiting until this one ends.

    A rule checked by reading before writing (at most five cards per holder, one number per
    holder period, one report per reporter) holds only if no other transaction writes in
    between. SQLite has one writer at a time: this takes its write lock
    (:func:`hold_write_lock`). PostgreSQL takes one transaction-level advisory lock per key,
    in sorted order so that two transactions never wait for each other in a circle. Reads
    after it see what the transactions that held the keys before committed.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        hold_write_lock(session)
        return
    for key in sorted(set(keys)):
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _advisory_key(key)})


_BACKENDS = ("sqlite", "postgresql")


def create_store_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"MVNOGUARD_DATABASE_URL is not a database URL ({redact_url(url)})"
        ) from exc
    if parsed.get_backend_name() not in _BACKENDS:
        raise ConfigurationError(
            f"unsupported database {parsed.get_backend_name()!r} in MVNOGUARD_DATABASE_URL: "
            "use sqlite:///PATH/TO/FILE.db or postgresql://USER@HOST:PORT/DATABASE"
        )
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    # A ping before every checkout finds a server that dropped the connection; a SQLite file
    # cannot drop it, and the ping would cost every request a round trip for nothing.
    try:
        engine = create_engine(parsed, pool_pre_ping=parsed.get_backend_name() != "sqlite")
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            f"no driver for {parsed.drivername}: install mvnoguard[postgres]"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "before_cursor_execute", _refuse_nul)
    return engine


def _refuse_nul(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    """Text holding U+0000 is refused before it reaches the store, on every backend alike:
    PostgreSQL cannot keep it (the driver fails mid-transaction), SQLite would. The services
    refuse it field by field first; this is the guard for every other text."""
    _walk_texts(parameters, None)


def _walk_texts(value: Any, key: str | None) -> None:
    """:func:`refuse_nul` on every text in ``value``, named by its parameter when known.
    Parameters come as a dict, a tuple, or lists of either (one per row of a batch)."""
    if isinstance(value, str):
        refuse_nul(value, field=key.removeprefix("param_") if key else None)
    elif isinstance(value, dict):
        for name, inner in value.items():
            _walk_texts(inner, name if isinstance(name, str) else key)
    elif isinstance(value, list | tuple):
        for inner in value:
            _walk_texts(inner, key)


def alembic_config(engine: Engine, *, vault: VaultSource | None = None) -> Config:
    cfg = Config()
    script_location = resources.files("mvnoguard.storage").joinpath("migrations")
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["engine"] = engine
    cfg.attributes[VAULT_ATTRIBUTE] = vault
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def upgrade(engine: Engine, revision: str = "head", *, vault: VaultSource | None = None) -> None:
    command.upgrade(alembic_config(engine, vault=vault), revision)


def downgrade(engine: Engine, revision: str, *, vault: VaultSource | None = None) -> None:
    """Back to ``revision``; data the later migrations sealed is opened with ``vault``."""
    command.downgrade(alembic_config(engine, vault=vault), revision)


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits on success and rolls back on any error."""
        with self.sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _cannot_open(url: str, backend: str, exc: DatabaseError) -> str:
    """Why the store cannot be opened, in one line. The driver's own message names the file
    or server problem (no password: drivers do not repeat it)."""
    detail = str(exc.orig).strip().splitlines()[0] if exc.orig and str(exc.orig).strip() else ""
    reason = detail or (type(exc.orig).__name__ if exc.orig else "connection failed")
    if backend == "sqlite":
        fix = "its folder must exist and be writable, and the file must be a SQLite database"
    else:
        fix = "check that the server is running and the database exists"
    return (
        f"cannot open the database {redact_url(url)}: {reason}; {fix} "
        "(MVNOGUARD_DATABASE_URL sets another)"
    )


def open_database(url: str, *, migrate: bool = True, vault: VaultSource | None = None) -> Database:
    engine = create_store_engine(url)
    try:
        if migrate and current_revision(engine) != head_revision(engine):
            upgrade(engine, vault=vault)
    except DatabaseError as exc:
        engine.dispose()
        if not isinstance(exc, OperationalError) and type(exc) is not DatabaseError:
            raise  # a migration's own failure (integrity, programming): not the setup's
        raise ConfigurationError(_cannot_open(url, engine.dialect.name, exc)) from exc
    except BaseException:
        engine.dispose()  # a migration that refused (e.g. no key ring for data to seal)
        raise
    return Database(engine, sessionmaker(engine, expire_on_commit=False))
