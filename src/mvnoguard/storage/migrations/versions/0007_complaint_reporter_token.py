"""complaints: the reporter's keyed token, so one complainant counts once

A new column ``complaints.reporter_token`` holds the vault token (kind
``"complaint_reporter"``) of the complainant's number, the same token that stands for it in the
content key. Confirmation by complaints counts distinct complainants with it: before, one person
complaining three times with three different texts confirmed a number alone. Existing rows
with a sealed reporter number get their token, which needs the key ring to open the number
(handed over as the Alembic attribute ``"vault"``, see :mod:`mvnoguard.storage.database`);
without it the upgrade stops before changing anything. The downgrade drops the column.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import context, op

from mvnoguard.errors import ConfigurationError

if TYPE_CHECKING:
    from mvnoguard.identity.vault import PiiVault

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REPORTER_CONTEXT = "reporter_number"
REPORTER_KIND = "complaint_reporter"
_BATCH = 1_000

_complaints = sa.table(
    "complaints",
    sa.column("id", sa.Integer()),
    sa.column("reporter_number_sealed", sa.LargeBinary()),
    sa.column("reporter_token", sa.String(80)),
)


def _vault(rows: int) -> PiiVault:
    source = context.config.attributes.get("vault")
    if source is None:
        raise ConfigurationError(
            f"schema revision 0007 tokens {rows} complaint reporter number(s) and needs the "
            "vault key ring; run `mvnoguard db upgrade` (it opens the key ring from "
            "MVNOGUARD_VAULT_KEY or HOME/keys/vault.json), nothing was changed",
            code="vault_key_needed",
        )
    vault: PiiVault = source()
    return vault


def upgrade() -> None:
    bind = op.get_bind()
    c = _complaints.c
    sealed = c.reporter_number_sealed.is_not(None)
    # Asked before any change: SQLite runs DDL outside the migration's transaction.
    pending = int(
        bind.scalar(sa.select(sa.func.count()).select_from(_complaints).where(sealed)) or 0
    )
    vault = _vault(pending) if pending else None
    if "reporter_token" not in {col["name"] for col in sa.inspect(bind).get_columns("complaints")}:
        with op.batch_alter_table("complaints", schema=None) as batch_op:
            batch_op.add_column(sa.Column("reporter_token", sa.String(length=80), nullable=True))
    if vault is None:
        return
    last = 0
    while True:
        rows = bind.execute(
            sa.select(c.id, c.reporter_number_sealed)
            .where(c.id > last, sealed)
            .order_by(c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        values = [
            {
                "b_id": row.id,
                "b_token": vault.token(
                    REPORTER_KIND,
                    vault.decrypt(bytes(row.reporter_number_sealed), context=REPORTER_CONTEXT),
                ),
            }
            for row in rows
        ]
        bind.execute(
            _complaints.update()
            .where(c.id == sa.bindparam("b_id"))
            .values(reporter_token=sa.bindparam("b_token")),
            values,
        )
        last = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_column("reporter_token")
