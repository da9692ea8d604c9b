"""complaints: the enterprise that sent each complaint in

A new column ``complaints.submitter_id`` names the enterprise whose key sent a complaint through
the API (None for the regulator, a citizen or a feed the regulator imports). An enterprise's own
complaints no longer corroborate its own report: before, one enterprise could report a number and
confirm it alone with three complaints of its own. Complaints stored before this revision have no
submitter and keep counting as before. The downgrade drops the column.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submitter_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_complaints_submitter_id_enterprises", "enterprises", ["submitter_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_constraint("fk_complaints_submitter_id_enterprises", type_="foreignkey")
        batch_op.drop_column("submitter_id")
