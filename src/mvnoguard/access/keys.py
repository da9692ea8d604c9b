"""API keys: issue, list, revoke, and authenticate a bearer secret to a :class:`Principal`.

A secret is ``mvg_`` followed by 32 random bytes (URL-safe base64). Only its SHA-256 is kept,
under a unique index, so authentication is one point look-up; the stored and computed hashes
are then compared in constant time. A short random ``key_id`` names the key in listings, in
the audit log and on the command line. This module never logs or returns a secret except the
one time :func:`create` hands it back.

The API keeps recently authenticated keys in a :class:`PrincipalCache` (hash of the secret ->
principal) for a couple of seconds, so most requests need no look-up at all. :func:`revoke`
empties every cache of this process of the key at once; a server in another process (another
uvicorn worker, or the CLI revoking while the server runs) may accept the revoked key until
its cached entry expires, at most ``PRINCIPAL_TTL_SECONDS`` later. Unknown and revoked keys
are never cached.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, event, select
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
        _forget_everywhere(key_id)
        # Again once committed: a request may have re-read the key before the commit.
        event.listen(session, "after_commit", lambda _s: _forget_everywhere(key_id), once=True)
        audit_log.append(
            session, actor=actor, action="api_key.revoke", subject=f"key:{key_id}", at=now
        )
    return _info(row)


PRINCIPAL_TTL_SECONDS = 2.0
_CACHE_ENTRIES = 1_024
_CACHES: weakref.WeakSet[PrincipalCache] = weakref.WeakSet()


class PrincipalCache:
    """Recently authenticated keys: SHA-256 of the secret -> principal, for ``ttl`` seconds.

    Bounded to ``entries`` keys (least recently used go first); safe to share between the
    threads of one process. Every cache registers itself so that :func:`revoke` reaches it.
    """

    def __init__(self, ttl: float = PRINCIPAL_TTL_SECONDS, entries: int = _CACHE_ENTRIES) -> None:
        self.ttl = ttl
        self.entries = entries
        self._lock = threading.Lock()
        self._by_digest: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        _CACHES.add(self)

    def get(self, digest: str) -> Principal | None:
        with self._lock:
            hit = self._by_digest.get(digest)
            if hit is None:
                return None
            if hit[0] <= time.monotonic():
                del self._by_digest[digest]
                return None
            self._by_digest.move_to_end(digest)
            return hit[1]

    def put(self, digest: str, principal: Principal) -> None:
        with self._lock:
            self._by_digest[digest] = (time.monotonic() + self.ttl, principal)
            self._by_digest.move_to_end(digest)
            while len(self._by_digest) > self.entries:
                self._by_digest.popitem(last=False)

    def forget(self, key_id: str) -> None:
        with self._lock:
            stale = [d for d, (_, p) in self._by_digest.items() if p.key_id == key_id]
            for digest in stale:
                del self._by_digest[digest]


# Built once: on a cache miss authentication runs as one Core statement on the session's
# connection (no ORM loading) against the unique hash index.
_BY_DIGEST = (
    select(ApiKey.secret_sha256, ApiKey.key_id, ApiKey.role, ApiKey.revoked_at, Enterprise.code)
    .outerjoin(Enterprise, Enterprise.id == ApiKey.enterprise_id)
    .where(ApiKey.secret_sha256 == bindparam("digest"))
)


def _forget_everywhere(key_id: str) -> None:
    for cache in list(_CACHES):
        cache.forget(key_id)


def _refused() -> Unauthorized:
    return Unauthorized("a valid API key is required (Authorization: Bearer KEY)")


def digest_of_bearer(secret: str) -> str:
    """The SHA-256 of a presented secret; :class:`Unauthorized` if it cannot be one of ours."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > _MAX_SECRET_CHARS:
        raise _refused()
    return secret_digest(secret)


def cached_principal(cache: PrincipalCache, secret: str) -> Principal | None:
    """The principal of a secret authenticated moments ago, without touching the store."""
    return cache.get(digest_of_bearer(secret))


def authenticate(
    session: Session, secret: str, *, cache: PrincipalCache | None = None
) -> Principal:
    """The principal a bearer secret stands for; :class:`Unauthorized` for anything else."""
    digest = digest_of_bearer(secret)
    row = session.connection().execute(_BY_DIGEST, {"digest": digest}).first()
    if row is None or not hmac.compare_digest(row.secret_sha256, digest):
        raise _refused()
    if row.revoked_at is not None:
        raise _refused()
    principal = Principal(key_id=row.key_id, role=Role(row.role), enterprise_code=row.code)
    if cache is not None:
        cache.put(digest, principal)
    return principal
