"""complaints: the reporter's number sealed by the vault; content keys that do not reveal it

The clear ``complaints.reporter_number`` column becomes ``reporter_number_sealed``, a vault
ciphertext (context ``"reporter_number"``). Existing rows keep their reporter numbers: each is
sealed under the key ring's current version, and its content key, a plain SHA-256 over the
complaint's fields with the number in clear, is recomputed with the number's keyed token in
its place -- the key a re-import of the same feed row computes now, so it is still found as a
duplicate. Rows without a reporter number keep their key (it never held one).

Sealing needs the key ring: the application hands a function that opens it over as the
Alembic attribute ``"vault"`` (see :mod:`mvnoguard.storage.database`). When rows need sealing
and none was handed over, the upgrade stops before changing anything. The downgrade is the
reverse (opens the sealed numbers, restores the clear column and the plain keys) and needs the
key ring in the same way when there are sealed numbers.

The key computations are copied here on purpose, frozen as of this revision: later changes to
:mod:`mvnoguard.linkage.complaints` must not change what this migration does.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 03:30:00.000000
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import context, op

from mvnoguard.errors import ConfigurationError

if TYPE_CHECKING:
    from mvnoguard.identity.vault import PiiVault

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REPORTER_CONTEXT = "reporter_number"  # the vault context the sealed column is bound to
REPORTER_KIND = "complaint_reporter"  # the token kind standing in for it in content keys
_BATCH = 1_000

_complaints = sa.table(
    "complaints",
    sa.column("id", sa.Integer()),
    sa.column("content_key", sa.String(64)),
    sa.column("reported_number", sa.String(20)),
    sa.column("reporter_number", sa.String(20)),
    sa.column("reporter_number_sealed", sa.LargeBinary()),
    sa.column("category", sa.String(16)),
    sa.column("received_at", sa.DateTime(timezone=True)),
    sa.column("text", sa.Text()),
)


def _content_key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _received(value: datetime) -> str:
    """The stored time as the complaint's parser wrote it into the key (aware UTC, ISO 8601)."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat()


def _vault(rows: int, doing: str) -> PiiVault:
    source = context.config.attributes.get("vault")
    if source is None:
        raise ConfigurationError(
            f"schema revision 0006 {doing} {rows} complaint reporter number(s) and needs the "
            "vault key ring; run `mvnoguard db upgrade` (it opens the key ring from "
            "MVNOGUARD_VAULT_KEY or HOME/keys/vault.json), nothing was changed",
            code="vault_key_needed",
        )
    vault: PiiVault = source()
    return vault


def _batches(
    bind: sa.Connection, column: sa.ColumnClause[Any], *extra: sa.ColumnClause[Any]
) -> Iterator[Sequence[sa.Row[Any]]]:
    """Rows whose ``column`` is set, ``_BATCH`` at a time in id order."""
    c = _complaints.c
    last = 0
    while True:
        rows = bind.execute(
            sa.select(c.id, c.reported_number, c.category, c.received_at, c.text, *extra)
            .where(c.id > last, column.is_not(None))
            .order_by(c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _pending(bind: sa.Connection, column: sa.ColumnClause[Any]) -> int:
    query = sa.select(sa.func.count()).select_from(_complaints).where(column.is_not(None))
    return int(bind.scalar(query) or 0)


def _add_column(bind: sa.Connection, column: sa.Column[Any]) -> None:
    """Add ``column`` unless a run that failed part-way already did (SQLite commits its DDL)."""
    if column.name in {c["name"] for c in sa.inspect(bind).get_columns("complaints")}:
        return
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(column)


def _set(bind: sa.Connection, values: list[dict[str, Any]]) -> None:
    if values:
        c = _complaints.c
        bind.execute(
            _complaints.update()
            .where(c.id == sa.bindparam("b_id"))
            .values(
                content_key=sa.bindparam("b_key"),
                reporter_number=sa.bindparam("b_clear"),
                reporter_number_sealed=sa.bindparam("b_sealed"),
            ),
            values,
        )


def upgrade() -> None:
    bind = op.get_bind()
    c = _complaints.c
    # Asked before any change: SQLite runs DDL outside the migration's transaction.
    pending = _pending(bind, c.reporter_number)
    vault = _vault(pending, "seals") if pending else None
    _add_column(bind, sa.Column("reporter_number_sealed", sa.LargeBinary(), nullable=True))
    if vault is not None:
        for rows in _batches(bind, c.reporter_number, c.reporter_number):
            values = []
            for row in rows:
                clear = row.reporter_number or None
                token = vault.token(REPORTER_KIND, clear) if clear else ""
                values.append(
                    {
                        "b_id": row.id,
                        "b_key": _content_key(
                            row.reported_number,
                            token,
                            row.category,
                            _received(row.received_at),
                            row.text or "",
                        ),
                        "b_clear": None,
                        "b_sealed": (
                            vault.encrypt(clear, context=REPORTER_CONTEXT) if clear else None
                        ),
                    }
                )
            _set(bind, values)
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_column("reporter_number")


def downgrade() -> None:
    bind = op.get_bind()
    c = _complaints.c
    pending = _pending(bind, c.reporter_number_sealed)
    vault = _vault(pending, "opens") if pending else None
    _add_column(bind, sa.Column("reporter_number", sa.String(length=20), nullable=True))
    if vault is not None:
        for rows in _batches(bind, c.reporter_number_sealed, c.reporter_number_sealed):
            values = []
            for row in rows:
                clear = vault.decrypt(row.reporter_number_sealed, context=REPORTER_CONTEXT)
                values.append(
                    {
                        "b_id": row.id,
                        "b_key": _content_key(
                            row.reported_number,
                            clear,
                            row.category,
                            _received(row.received_at),
                            row.text or "",
                        ),
                        "b_clear": clear,
                        "b_sealed": None,
                    }
                )
            _set(bind, values)
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_column("reporter_number_sealed")
