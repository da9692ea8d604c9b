"""identities: a passport's token covers its nationality

A passport number is unique only within the state that issued it, so the identity token of a
passport is now computed over its number and its nationality (see
:func:`mvnoguard.identity.vault.identity_key`); before, two foreigners holding the same number
from two countries were one identity, sharing one card limit, and the second was refused for
a name mismatch. Each stored passport identity with its number and nationality gets the new
token, which needs the key ring to open the number (the Alembic attribute ``"vault"``, see
:mod:`mvnoguard.storage.database`); without it the upgrade stops before changing anything. A
purged identity keeps its token: its number is gone, and with it any way to recompute one.

The key is copied here on purpose, frozen as of this revision. The downgrade computes the
tokens without the nationality again; if two identities would then share a token, it stops
and changes nothing (the old schema cannot hold them apart).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:00:00.000000
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import context, op

from mvnoguard.errors import ConfigurationError

if TYPE_CHECKING:
    from mvnoguard.identity.vault import PiiVault

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NUMBER_CONTEXT = "doc_number"
PASSPORT = "PASSPORT"
_SEPARATOR = "\x1f"

_identities = sa.table(
    "identities",
    sa.column("id", sa.Integer()),
    sa.column("doc_type", sa.String(16)),
    sa.column("token", sa.String(80)),
    sa.column("number_ciphertext", sa.LargeBinary()),
    sa.column("nationality", sa.String(3)),
)
_PASSPORTS = sa.and_(
    _identities.c.doc_type == PASSPORT,
    _identities.c.number_ciphertext.is_not(None),
    _identities.c.nationality.is_not(None),
)


def _key(number: str, nationality: str | None) -> str:
    num = unicodedata.normalize("NFKC", number).strip().upper()
    return f"{PASSPORT}:{num}{_SEPARATOR}{nationality}" if nationality else f"{PASSPORT}:{num}"


def _vault(rows: int) -> PiiVault:
    source = context.config.attributes.get("vault")
    if source is None:
        raise ConfigurationError(
            f"schema revision 0008 re-tokens {rows} passport identit(y/ies) and needs the vault "
            "key ring; run `mvnoguard db upgrade` (it opens the key ring from "
            "MVNOGUARD_VAULT_KEY or HOME/keys/vault.json), nothing was changed",
            code="vault_key_needed",
        )
    vault: PiiVault = source()
    return vault


def _retoken(*, with_nationality: bool) -> None:
    bind = op.get_bind()
    c = _identities.c
    count = bind.scalar(sa.select(sa.func.count()).select_from(_identities).where(_PASSPORTS))
    if not count:
        return
    vault = _vault(int(count))
    rows = bind.execute(
        sa.select(c.id, c.number_ciphertext, c.nationality).where(_PASSPORTS).order_by(c.id)
    ).all()
    values = [
        {
            "b_id": row.id,
            "b_token": vault.token(
                "identity",
                _key(
                    vault.decrypt(bytes(row.number_ciphertext), context=NUMBER_CONTEXT),
                    row.nationality if with_nationality else None,
                ),
            ),
        }
        for row in rows
    ]
    if not with_nationality:
        tokens = [v["b_token"] for v in values]
        others = set(bind.scalars(sa.select(c.token).where(c.id.not_in([r.id for r in rows]))))
        if len(set(tokens)) < len(tokens) or others.intersection(tokens):
            raise ConfigurationError(
                "cannot downgrade below schema revision 0008: two passport identities of "
                "different nationalities share a number, which the older schema cannot hold "
                "apart; nothing was changed",
                code="downgrade_refused",
            )
    bind.execute(
        _identities.update()
        .where(c.id == sa.bindparam("b_id"))
        .values(token=sa.bindparam("b_token")),
        values,
    )


def upgrade() -> None:
    _retoken(with_nationality=True)


def downgrade() -> None:
    _retoken(with_nationality=False)
