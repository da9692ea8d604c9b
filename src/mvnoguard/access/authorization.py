"""Role and tenant checks the services apply to a :class:`Principal`, one per concept.

Another tenant's record answers :class:`~mvnoguard.errors.NotFound` exactly like a missing
one, so a caller cannot learn which numbers other enterprises hold. A role that may not use an
operation at all answers :class:`Forbidden`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from mvnoguard.domain.access import Principal, Role
from mvnoguard.errors import Forbidden
from mvnoguard.registry.catalog import get_enterprise
from mvnoguard.storage.models import Enterprise


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        allowed = ", ".join(role.value for role in roles)
        raise Forbidden(f"this operation needs a key of role {allowed}")


def tenant_code(principal: Principal) -> str | None:
    """The code of the enterprise a caller is confined to (``None`` for market-wide roles),
    without loading it: for services that load and check the enterprise themselves."""
    if principal.role is not Role.ENTERPRISE:
        return None
    if principal.enterprise_code is None:
        raise Forbidden("this enterprise key names no enterprise")
    return principal.enterprise_code


def tenant_of(session: Session, principal: Principal) -> Enterprise | None:
    """The enterprise a caller is confined to, or ``None`` for market-wide roles."""
    code = tenant_code(principal)
    return get_enterprise(session, code) if code is not None else None
