"""linkage: the shared risk-number database, complaints, citizen codes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "citizen_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_key", sa.String(length=64), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("msisdn", sa.String(length=20), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_codes")),
    )
    with op.batch_alter_table("citizen_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_citizen_codes_client_created", ["client_key", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_citizen_codes_identity_created", ["identity_key", "created_at"], unique=False
        )

    op.create_table(
        "citizen_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_key", sa.String(length=64), nullable=False),
        sa.Column("wrong_codes", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_locks")),
        sa.UniqueConstraint("identity_key", name=op.f("uq_citizen_locks_identity_key")),
    )
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_key", sa.String(length=64), nullable=False),
        sa.Column("reported_number", sa.String(length=20), nullable=False),
        sa.Column("reporter_number", sa.String(length=20), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_complaints_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("content_key", name=op.f("uq_complaints_content_key")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index(
            "ix_complaints_enterprise_received", ["enterprise_id", "received_at"], unique=False
        )
        batch_op.create_index(
            "ix_complaints_reported_received", ["reported_number", "received_at"], unique=False
        )

    op.create_table(
        "risk_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("msisdn", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("categories", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("evidence_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dispose_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disposed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disposal_action", sa.String(length=16), nullable=True),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clear_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_risk_numbers_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_numbers")),
        sa.UniqueConstraint("msisdn", name=op.f("uq_risk_numbers_msisdn")),
    )
    with op.batch_alter_table("risk_numbers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_risk_numbers_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_risk_numbers_evidence_at"), ["evidence_at"], unique=False
        )
        batch_op.create_index(
            "ix_risk_numbers_status_dispose_by", ["status", "dispose_by"], unique=False
        )

    op.create_table(
        "risk_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("risk_number_id", sa.Integer(), nullable=False),
        sa.Column("msisdn", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["risk_number_id"],
            ["risk_numbers.id"],
            name=op.f("fk_risk_changes_risk_number_id_risk_numbers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_changes")),
    )
    with op.batch_alter_table("risk_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_risk_changes_risk_number_id"), ["risk_number_id"], unique=False
        )

    op.create_table(
        "risk_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("risk_number_id", sa.Integer(), nullable=False),
        sa.Column("reporter", sa.String(length=64), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_risk_reports_enterprise_id_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["risk_number_id"],
            ["risk_numbers.id"],
            name=op.f("fk_risk_reports_risk_number_id_risk_numbers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_reports")),
    )
    with op.batch_alter_table("risk_reports", schema=None) as batch_op:
        batch_op.create_index(
            "uq_risk_reports_key", ["risk_number_id", "reporter", "category"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("risk_reports", schema=None) as batch_op:
        batch_op.drop_index("uq_risk_reports_key")

    op.drop_table("risk_reports")
    with op.batch_alter_table("risk_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_changes_risk_number_id"))

    op.drop_table("risk_changes")
    with op.batch_alter_table("risk_numbers", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_numbers_status_dispose_by")
        batch_op.drop_index(batch_op.f("ix_risk_numbers_evidence_at"))
        batch_op.drop_index(batch_op.f("ix_risk_numbers_enterprise_id"))

    op.drop_table("risk_numbers")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index("ix_complaints_reported_received")
        batch_op.drop_index("ix_complaints_enterprise_received")

    op.drop_table("complaints")
    op.drop_table("citizen_locks")
    with op.batch_alter_table("citizen_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_citizen_codes_identity_created")
        batch_op.drop_index("ix_citizen_codes_client_created")

    op.drop_table("citizen_codes")
