"""audit chain head: one row holding the audit log's head hash, for one-statement appends

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    # Seeded from the log as it stands: its last entry, or the genesis of an empty log.
    last = (
        op.get_bind()
        .execute(sa.text("SELECT prev_hash, entry_hash FROM audit_log ORDER BY id DESC LIMIT 1"))
        .first()
    )
    prev_hash, head_hash = (last[0], last[1]) if last else (GENESIS, GENESIS)
    op.get_bind().execute(
        sa.text("INSERT INTO audit_chain_head (id, prev_hash, head_hash) VALUES (1, :p, :h)"),
        {"p": prev_hash, "h": head_hash},
    )


def downgrade() -> None:
    op.drop_table("audit_chain_head")
