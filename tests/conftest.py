"""Shared fixtures: a migrated store on SQLite and on PostgreSQL, a vault, the policy.

The PostgreSQL store is a fresh database per test session on the server named by
``MVNOGUARD_TEST_POSTGRES_URL`` (default: the local server, user postgres, database test),
dropped afterwards. Without a server the PostgreSQL cases skip, except under ``CI=true``,
where a missing server fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from mvnoguard.domain.policy import Policy
from mvnoguard.identity.vault import KeyRing, PiiVault
from mvnoguard.policy import load_policy
from mvnoguard.storage.database import Database, open_database

POSTGRES_URL = os.environ.get(
    "MVNOGUARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: nothing may skip)")
    pytest.skip(reason)


@contextmanager
def scratch_postgres_database(prefix: str) -> Iterator[str]:
    """A brand-new PostgreSQL database for a test, dropped afterwards; yields its URL."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        admin.dispose()
        skip_or_fail("no PostgreSQL server at MVNOGUARD_TEST_POSTGRES_URL")
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with scratch_postgres_database("mvnoguard_test") as url:
        yield url


def _empty_tables(database: Database) -> None:
    from mvnoguard.storage.models import Base

    with database.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty store on each backend."""
    if request.param == "sqlite":
        db = open_database(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        db = open_database(request.getfixturevalue("postgres_url"))
        _empty_tables(db)
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a brand-new database with no tables at all (for migration tests)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with scratch_postgres_database("mvnoguard_empty") as url:
        yield url


@pytest.fixture
def vault() -> PiiVault:
    return PiiVault(KeyRing.generate())


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy()
