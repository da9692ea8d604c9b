"""API keys: issue, list, revoke, and authenticate a bearer secret to a :class:`Principal`.

A secret is ``mvg_`` followed by 32 random bytes (URL-safe base64). Only its SHA-256 is kept,
under a unique index, so authentication is one point look-up; the stored and computed hashes
are then compared in constant time. A short random ``key_id`` names the key in listings, in
the audit log and on the command line. This module never logs or returns a secret except the
one time :func:`create` hands it back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from mvnoguard.domain.access import Principal, Role
from mvnoguard.errors import InvalidInput, NotFound, Unauthorized
from mvnoguard.registry.catalog import get_enterprise
from mvnoguard.storage import audit_log
from mvnoguard.storage.models import ApiKey, Enterprise

SECRET_PREFIX = "mvg_"  # noqa: S105 (a public marker, not a secret)
_SECRET_BYTES = 32
_MAX_SECRET_CHARS = 128


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """A key as listings show it: everything but the secret."""

    key_id: str
    role: Role
    enterprise_code: str | None
    label: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "role": self.role.value,
            "enterprise_code": self.enterprise_code,
            "label": self.label,
            "created_at": self.created_at.astimezone(UTC).isoformat(),
            "revoked_at": self.revoked_at.astimezone(UTC).isoformat() if self.revoked_at else None,
            "active": self.active,
        }


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _info(row: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(
        key_id=row.key_id,
        role=Role(row.role),
        enterprise_code=row.enterprise.code if row.enterprise else None,
        label=row.label,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def create(
    session: Session,
    *,
    role: Role,
    enterprise_code: str | None,
    label: str,
    now: datetime,
    actor: str = "cli",
) -> tuple[ApiKeyInfo, str]:
    """Issue a key; returns its listing and the secret, which is never retrievable again."""
    if role is Role.ENTERPRISE and not enterprise_code:
        raise InvalidInput("an enterprise key needs --enterprise CODE", field="enterprise")
    if role is not Role.ENTERPRISE and enterprise_code:
        raise InvalidInput(f"a {role.value} key belongs to no enterprise", field="enterprise")
    if len(label) > 200:
        raise InvalidInput("the label is longer than 200 characters", field="label")
    enterprise = get_enterprise(session, enterprise_code) if enterprise_code else None
    secret = SECRET_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)
    row = ApiKey(
        key_id=secrets.token_hex(6),
        secret_sha256=secret_digest(secret),
        role=role.value,
        enterprise_id=enterprise.id if enterprise else None,
        enterprise=enterprise,
        label=label,
        created_at=now,
    )
    session.add(row)
    session.flush()
    scope = f" for {enterprise.code}" if enterprise else ""
    audit_log.append(
        session,
        actor=actor,
        action="api_key.create",
        subject=f"key:{row.key_id}",
        detail=f"{role.value}{scope}",
        at=now,
    )
    return _info(row), secret


def list_keys(session: Session, *, actor: str = "cli") -> list[ApiKeyInfo]:
    """Every key, oldest first, active or revoked; the listing is audited."""
    rows = session.scalars(
        select(ApiKey).options(joinedload(ApiKey.enterprise)).order_by(ApiKey.id)
    ).all()
    audit_log.append(session, actor=actor, action="api_key.list", subject="api_keys")
    return [_info(row) for row in rows]


def revoke(session: Session, key_id: str, *, now: datetime, actor: str = "cli") -> ApiKeyInfo:
    """Revoke a key for good; revoking a revoked key is a no-op that keeps the first date."""
    row = session.scalar(
        select(ApiKey).options(joinedload(ApiKey.enterprise)).where(ApiKey.key_id == key_id)
    )
    if row is None:
        raise NotFound(f"no API key {key_id!r}", code="unknown_key", field="key_id")
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
        audit_log.append(
            session, actor=actor, action="api_key.revoke", subject=f"key:{key_id}", at=now
        )
    return _info(row)


# Built once: authentication is the hot path of every request, so it runs as one Core
# statement on the session's connection (no ORM loading) against the unique hash index.
_BY_DIGEST = (
    select(ApiKey.secret_sha256, ApiKey.key_id, ApiKey.role, ApiKey.revoked_at, Enterprise.code)
    .outerjoin(Enterprise, Enterprise.id == ApiKey.enterprise_id)
    .where(ApiKey.secret_sha256 == bindparam("digest"))
)


def authenticate(session: Session, secret: str) -> Principal:
    """The principal a bearer secret stands for; :class:`Unauthorized` for anything else."""
    refused = Unauthorized("a valid API key is required (Authorization: Bearer KEY)")
    if not secret.startswith(SECRET_PREFIX) or len(secret) > _MAX_SECRET_CHARS:
        raise refused
    digest = secret_digest(secret)
    row = session.connection().execute(_BY_DIGEST, {"digest": digest}).first()
    if row is None or not hmac.compare_digest(row.secret_sha256, digest):
        raise refused
    if row.revoked_at is not None:
        raise refused
    return Principal(key_id=row.key_id, role=Role(row.role), enterprise_code=row.code)
