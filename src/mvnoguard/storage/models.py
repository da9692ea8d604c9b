"""Database rows of the OLTP store (SQLAlchemy 2 declarative models).

These are storage shapes only: services convert them to domain objects or API answers. Identity
numbers and names are never stored in clear: ``Identity`` keeps AES-GCM ciphertexts, a keyed
token for look-ups and counting, and the masked form for display; a complainant's number is
kept only as a vault ciphertext too (``Complaint.reporter_number_sealed``). Lifecycle events and
the audit log are append-only: nothing in the package updates or deletes their rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC out, on SQLite (which forgets zones) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Enterprise(Base):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    host_network: Mapped[str] = mapped_column(String(16))
    approved_on: Mapped[date | None] = mapped_column(Date)
    license_no: Mapped[str | None] = mapped_column(String(64))

    blocks: Mapped[list[NumberBlock]] = relationship(back_populates="enterprise")


class NumberBlock(Base):
    """An inclusive range of 11-digit numbers allocated to an enterprise."""

    __tablename__ = "number_blocks"
    __table_args__ = (Index("ix_number_blocks_range", "first_number", "last_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    first_number: Mapped[str] = mapped_column(String(11))
    last_number: Mapped[str] = mapped_column(String(11))

    enterprise: Mapped[Enterprise] = relationship(back_populates="blocks")


class Outlet(Base):
    """A point of sale: the enterprise's own shop, an authorised agent, or an online channel."""

    __tablename__ = "outlets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str | None] = mapped_column(String(6))
    authorized: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when the outlet was authorised by another agent rather than the enterprise itself.
    delegated_by: Mapped[str | None] = mapped_column(String(64))
    blacklisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    blacklist_reason: Mapped[str | None] = mapped_column(Text)

    enterprise: Mapped[Enterprise] = relationship()


class Identity(Base):
    """One identity document holder. Clear text lives only inside the ciphertexts."""

    __tablename__ = "identities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    doc_type: Mapped[str] = mapped_column(String(16))
    number_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    name_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    nationality: Mapped[str | None] = mapped_column(String(3))
    number_masked: Mapped[str] = mapped_column(String(32))
    name_masked: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Subscriber(Base):
    """One holder's period on one number: a transfer ends one row and starts another."""

    __tablename__ = "subscribers"
    __table_args__ = (
        # A number has at most one live holder; cancelled rows are history.
        Index(
            "uq_subscribers_live_msisdn",
            "msisdn",
            unique=True,
            sqlite_where=text("status <> 'cancelled'"),
            postgresql_where=text("status <> 'cancelled'"),
        ),
        Index("ix_subscribers_enterprise_identity", "enterprise_id", "identity_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    msisdn: Mapped[str] = mapped_column(String(11), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outlet_id: Mapped[int | None] = mapped_column(ForeignKey("outlets.id"))
    verification_method: Mapped[str] = mapped_column(String(16))
    face_score: Mapped[float | None] = mapped_column(Float)
    guardian_identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))
    agent_identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))
    reverify_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    enterprise: Mapped[Enterprise] = relationship()
    outlet: Mapped[Outlet | None] = relationship()
    identity: Mapped[Identity | None] = relationship(foreign_keys=[identity_id])
    guardian: Mapped[Identity | None] = relationship(foreign_keys=[guardian_identity_id])
    agent: Mapped[Identity | None] = relationship(foreign_keys=[agent_identity_id])


class Verification(Base):
    """Evidence of one identity verification (sign-up, re-verification, transfer)."""

    __tablename__ = "verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))
    face_score: Mapped[float | None] = mapped_column(Float)
    outlet_id: Mapped[int | None] = mapped_column(ForeignKey("outlets.id"))
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LifecycleEvent(Base):
    """Append-only history of a subscriber: activation, suspensions, transfer, cancellation."""

    __tablename__ = "lifecycle_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id"), index=True)
    msisdn: Mapped[str] = mapped_column(String(11), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))


class ReviewTask(Base):
    """Work an enterprise must do: review a many-card holder, re-verify, answer a dispute."""

    __tablename__ = "review_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id"))
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Hash-chained, append-only record of every write and every access to identity data."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48))
    subject: Mapped[str] = mapped_column(String(128))
    detail: Mapped[str | None] = mapped_column(Text)
    # Unique: two entries can never claim the same predecessor, so the chain cannot fork.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditChainHead(Base):
    """The audit log's head hash in one row (id 1), kept by appends on PostgreSQL.

    An append updates this row and inserts its entry in one statement: the row lock it takes
    orders appends (and their ids) and is held only from that statement to the commit.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    head_hash: Mapped[str] = mapped_column(String(64))


class Inspection(Base):
    """One secret inspection of one outlet (the inspections contract), keyed by inspection_id."""

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[str] = mapped_column(String(64), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    outlet_code: Mapped[str] = mapped_column(String(64), index=True)
    inspected_on: Mapped[date] = mapped_column(Date, index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    violations: Mapped[str] = mapped_column(Text, default="")  # ;-separated kinds
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Evidence(Base):
    """A file backing an inspection result, stored once by its SHA-256 under HOME/evidence/."""

    __tablename__ = "evidence"
    __table_args__ = (Index("uq_evidence_inspection_sha", "inspection_id", "sha256", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.inspection_id"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)


class EnforcementCase(Base):
    """A measure against an enterprise: proposed from measurements, issued, later closed."""

    __tablename__ = "enforcement_cases"
    __table_args__ = (
        Index("uq_enforcement_cases_key", "enterprise_id", "kind", "period", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # proposed | issued | closed
    reason: Mapped[str] = mapped_column(Text)
    inspected: Mapped[int] = mapped_column(Integer)
    violations: Mapped[int] = mapped_column(Integer)
    ci_low: Mapped[float] = mapped_column(Float)
    ci_high: Mapped[float] = mapped_column(Float)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deadline: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    close_reason: Mapped[str | None] = mapped_column(Text)
    document: Mapped[str | None] = mapped_column(Text)  # path of the PDF under HOME/reports

    enterprise: Mapped[Enterprise] = relationship()


# --- api keys ---


class ApiKey(Base):
    """An HTTP API key: only the SHA-256 of the secret is kept, with a public id for listing."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    # Unique, hence indexed: authentication is one point look-up by the secret's hash.
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    enterprise: Mapped[Enterprise | None] = relationship()


# --- linkage ---


class RiskNumber(Base):
    """One number in the shared risk database: its status and a summary of its live reports.

    The number is E.164 text under a unique index, so a reputation query is one point look-up
    however many numbers the database holds.
    """

    __tablename__ = "risk_numbers"
    __table_args__ = (Index("ix_risk_numbers_status_dispose_by", "status", "dispose_by"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    msisdn: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(16))  # the gravest category reported
    categories: Mapped[str] = mapped_column(String(64))  # ,-separated, sorted
    score: Mapped[float] = mapped_column(Float)
    reports: Mapped[int] = mapped_column(Integer)
    # The enterprise answerable for disposal, fixed when the number is confirmed.
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    evidence_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dispose_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disposal_action: Mapped[str | None] = mapped_column(String(16))
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    clear_reason: Mapped[str | None] = mapped_column(Text)

    enterprise: Mapped[Enterprise | None] = relationship()


class RiskReport(Base):
    """One reporter's claim about a number in one category; pushing again updates it."""

    __tablename__ = "risk_reports"
    __table_args__ = (
        Index("uq_risk_reports_key", "risk_number_id", "reporter", "category", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_number_id: Mapped[int] = mapped_column(ForeignKey("risk_numbers.id"))
    reporter: Mapped[str] = mapped_column(String(64))  # enterprise code, or "regulator"
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    category: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)  # false once the number is cleared
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RiskChange(Base):
    """The change feed: one append-only row per new report or status change; id is the cursor."""

    __tablename__ = "risk_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_number_id: Mapped[int] = mapped_column(ForeignKey("risk_numbers.id"), index=True)
    msisdn: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    reports: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Complaint(Base):
    """A complaint about a number (citizens, enterprises, feeds), stored once by its content."""

    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_reported_received", "reported_number", "received_at"),
        Index("ix_complaints_enterprise_received", "enterprise_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_key: Mapped[str] = mapped_column(String(64), unique=True)
    reported_number: Mapped[str] = mapped_column(String(20))  # E.164
    # The complainant's E.164 number sealed by the vault (context "reporter_number"), kept for
    # follow-up only; never stored in clear (see mvnoguard.linkage.complaints).
    reporter_number_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Its keyed vault token (kind "complaint_reporter"): one complainant counts once.
    reporter_token: Mapped[str | None] = mapped_column(String(80))
    category: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    text: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    # The enterprise holding the reported number when the complaint came in (None: not ours).
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    # The enterprise that sent the complaint in (None: the regulator, a citizen or a feed the
    # regulator imported): its complaints never corroborate its own report.
    submitter_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CitizenCode(Base):
    """One "one ID, check all" code request; every request counts towards the rate limits.

    ``identity_key`` and ``client_key`` are keyed tokens, never the document or the address;
    the code itself is kept only as a keyed hash, and only when a code was really sent.
    """

    __tablename__ = "citizen_codes"
    __table_args__ = (
        Index("ix_citizen_codes_identity_created", "identity_key", "created_at"),
        Index("ix_citizen_codes_client_created", "client_key", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_key: Mapped[str] = mapped_column(String(64))
    client_key: Mapped[str] = mapped_column(String(64))
    msisdn: Mapped[str | None] = mapped_column(String(20))
    code_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CitizenLock(Base):
    """Wrong codes entered for one identity, and the lock they lead to."""

    __tablename__ = "citizen_locks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity_key: Mapped[str] = mapped_column(String(64), unique=True)
    wrong_codes: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
