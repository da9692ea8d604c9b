"""Who may do what in the linkage database: one check per concept, in the service layer.

A role that may never do something is refused with :class:`Forbidden` (403); an enterprise
asking about another enterprise's records is answered "not found" by the services themselves,
exactly as if the record did not exist.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy.orm import Session

from mvnoguard.domain.access import Principal, Role
from mvnoguard.domain.policy import Policy
from mvnoguard.errors import Forbidden
from mvnoguard.policy import load_policy
from mvnoguard.registry.catalog import get_enterprise
from mvnoguard.storage.models import Enterprise

REGULATOR_ONLY = (Role.REGULATOR,)
REPORTERS = (Role.ENTERPRISE, Role.REGULATOR)
ENTERPRISE_ONLY = (Role.ENTERPRISE,)


def require_role(principal: Principal, roles: tuple[Role, ...], doing: str) -> None:
    if principal.role not in roles:
        allowed = " or ".join(role.value for role in roles)
        raise Forbidden(f"only the {allowed} may {doing}")


def own_enterprise(session: Session, principal: Principal) -> Enterprise | None:
    """The caller's enterprise (None for the regulator and inspectors)."""
    if principal.role is not Role.ENTERPRISE:
        return None
    if not principal.enterprise_code:
        raise Forbidden("an enterprise key names no enterprise")
    return get_enterprise(session, principal.enterprise_code)


def policy_or_default(policy: Policy | None) -> Policy:
    """The caller's policy; the embedded default when none is passed (tests, scripts)."""
    return policy if policy is not None else _default_policy()


@cache
def _default_policy() -> Policy:
    return load_policy()
