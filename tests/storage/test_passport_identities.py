"""Schema revision 0008: stored passport identities are re-keyed with their nationality.

On SQLite and PostgreSQL: the upgrade needs the key ring and changes nothing without it; a
purged identity keeps its token; the downgrade restores the tokens of the number alone, and
refuses when two states' passports share a number.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, LargeBinary, String, column, table, text

from mvnoguard.errors import ConfigurationError
from mvnoguard.identity.vault import PiiVault
from mvnoguard.storage.database import (
    create_store_engine,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from mvnoguard.storage.models import UTCDateTime

IDENTITIES = table(
    "identities",
    column("token", String()),
    column("doc_type", String()),
    column("number_ciphertext", LargeBinary()),
    column("nationality", String()),
    column("number_masked", String()),
    column("created_at", UTCDateTime()),
)
# (doc type, number, nationality, purged)
HELD = [
    ("PASSPORT", "E12345678", "USA", False),
    ("PASSPORT", "G7654321", "GBR", False),
    ("RIC", "11010119900307123X", None, False),
    ("PASSPORT", "K1111111", "FRA", True),
]


def old_store(url: str, vault: PiiVault, held: list[tuple[str, str, str | None, bool]]) -> Engine:
    """A store at revision 0007 whose identities carry tokens of the number alone."""
    engine = create_store_engine(url)
    upgrade(engine, "0007")
    with engine.begin() as conn:
        for doc_type, number, nationality, purged in held:
            conn.execute(
                IDENTITIES.insert().values(
                    token=vault.identity_token(doc_type, number),
                    doc_type=doc_type,
                    number_ciphertext=None
                    if purged
                    else vault.encrypt(number, context="doc_number"),
                    nationality=nationality,
                    number_masked="(purged)" if purged else "****",
                    created_at=datetime(2016, 1, 1, tzinfo=UTC),
                )
            )
    return engine


def tokens(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT token FROM identities ORDER BY id")).scalars())


def test_the_upgrade_keys_passports_by_their_state(empty_url: str, vault: PiiVault) -> None:
    engine = old_store(empty_url, vault, HELD)
    try:
        before = tokens(engine)
        with pytest.raises(ConfigurationError) as refused:
            upgrade(engine)
        assert refused.value.code == "vault_key_needed"
        assert "0008" in refused.value.message and "E12345678" not in refused.value.message
        assert current_revision(engine) == "0007"
        assert tokens(engine) == before
        upgrade(engine, vault=lambda: vault)
        assert current_revision(engine) == head_revision(engine)
        assert tokens(engine) == [
            vault.identity_token("PASSPORT", "E12345678", "USA"),
            vault.identity_token("PASSPORT", "G7654321", "GBR"),
            before[2],  # a RIC's key never held a nationality
            before[3],  # purged: the number to recompute it from is gone
        ]
        downgrade(engine, "0007", vault=lambda: vault)
        assert tokens(engine) == before
    finally:
        engine.dispose()


def test_the_downgrade_refuses_two_states_passports_with_one_number(
    empty_url: str, vault: PiiVault
) -> None:
    engine = old_store(empty_url, vault, [HELD[0]])
    try:
        upgrade(engine, vault=lambda: vault)
        with engine.begin() as conn:  # signed up after the upgrade: one number, another state
            conn.execute(
                IDENTITIES.insert().values(
                    token=vault.identity_token("PASSPORT", "E12345678", "GBR"),
                    doc_type="PASSPORT",
                    number_ciphertext=vault.encrypt("E12345678", context="doc_number"),
                    nationality="GBR",
                    number_masked="****",
                    created_at=datetime(2016, 1, 1, tzinfo=UTC),
                )
            )
        after = tokens(engine)
        with pytest.raises(ConfigurationError) as refused:
            downgrade(engine, "0007", vault=lambda: vault)
        assert refused.value.code == "downgrade_refused"
        assert current_revision(engine) == head_revision(engine)
        assert tokens(engine) == after
    finally:
        engine.dispose()
