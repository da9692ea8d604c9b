"""Who is asking: API key roles and the principal a request acts as."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    REGULATOR = "regulator"  # sees and confirms across the market
    ENTERPRISE = "enterprise"  # scoped to one enterprise (its tenant)
    INSPECTOR = "inspector"  # records inspections; reads reputation


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: the key's id, its role and, for an enterprise, its tenant."""

    key_id: str
    role: Role
    enterprise_code: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        scope = f"/{self.enterprise_code}" if self.enterprise_code else ""
        return f"key:{self.key_id}:{self.role.value}{scope}"
