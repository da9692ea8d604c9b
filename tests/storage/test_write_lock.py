"""hold_write_lock: a savepoint after it never commits on its own, and SQLite's lock is held."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from mvnoguard.storage.database import Database, hold_write_lock, open_database
from mvnoguard.storage.models import Enterprise


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'store.db'}")
    yield database
    database.dispose()


@pytest.fixture
def postgres_store(postgres_url: str) -> Iterator[Database]:
    database = open_database(postgres_url)
    yield database
    database.dispose()


class _Refused(Exception):
    pass


def enterprises(database: Database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count(Enterprise.id))) or 0


def add_in_savepoint(database: Database, *, lock_first: bool) -> None:
    """A transaction whose first write is in a savepoint, rolled back by its caller."""
    with pytest.raises(_Refused), database.transaction() as session:
        if lock_first:
            hold_write_lock(session)
        with session.begin_nested():
            session.add(Enterprise(code="E01", name="远岸移动", host_network="unicom"))
        raise _Refused


def test_a_savepoint_after_it_goes_back_with_the_callers_transaction(database: Database) -> None:
    add_in_savepoint(database, lock_first=True)
    assert enterprises(database) == 0


def test_without_it_sqlite_commits_a_savepoint_that_opened_the_transaction(
    sqlite_store: Database,
) -> None:
    """The driver behaviour the function exists for (pysqlite's legacy transaction mode)."""
    add_in_savepoint(sqlite_store, lock_first=False)
    assert enterprises(sqlite_store) == 1


def test_on_sqlite_it_begins_the_transaction_and_holds_the_write_lock(
    sqlite_store: Database,
) -> None:
    path = sqlite_store.engine.url.database
    assert path is not None
    with sqlite_store.transaction() as session:
        hold_write_lock(session)
        driver = session.connection().connection.dbapi_connection
        assert getattr(driver, "in_transaction", None) is True
        other = sqlite3.connect(path, timeout=0.1)
        try:
            assert other.execute("SELECT count(*) FROM enterprises").fetchone() == (0,)
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute(
                    "INSERT INTO enterprises (code, name, host_network) VALUES ('E09', 'x', 'y')"
                )
        finally:
            other.close()
        hold_write_lock(session)  # again: nothing changes
    assert enterprises(sqlite_store) == 0


def test_on_postgresql_it_sends_nothing(postgres_store: Database) -> None:
    statements: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(postgres_store.engine, "before_cursor_execute", on_execute)
    try:
        with postgres_store.transaction() as session:
            session.connection()
            statements.clear()
            hold_write_lock(session)
    finally:
        event.remove(postgres_store.engine, "before_cursor_execute", on_execute)
    assert statements == []
