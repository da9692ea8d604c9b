"""The ``[linkage]`` table of the policy file, read into typed settings.

Unknown keys and values of the wrong type are configuration errors, so a typo in the policy file
fails loudly instead of silently leaving a default in force.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from mvnoguard.domain.policy import Policy
from mvnoguard.errors import ConfigurationError
from mvnoguard.policy import section_values


@dataclass(frozen=True, slots=True)
class LinkageSettings:
    corroborating_enterprises: int = 2
    corroborating_complaints: int = 3
    evidence_days: int = 180
    medium_score: float = 0.7
    code_minutes: int = 10
    codes_per_hour: int = 5
    max_wrong_codes: int = 5
    client_wrong_codes: int = 20
    lock_minutes: int = 60
    dispute_days: int = 15


_FLOAT_KEYS = {"medium_score"}


def _checked(name: str, value: Any) -> int | float:
    # bool is an int in Python; `true` in the policy file is never a count.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"policy [linkage] {name} must be a number")
    if name in _FLOAT_KEYS:
        if not 0.0 <= float(value) <= 1.0:
            raise ConfigurationError(f"policy [linkage] {name} must lie in [0, 1]")
        return float(value)
    if not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"policy [linkage] {name} must be a whole number of at least 1")
    return value


# Read once per policy object (the hot reputation path asks on every request). The policy is
# kept beside its settings so that its id cannot be reused by another object while cached.
_READ: dict[int, tuple[Policy, LinkageSettings]] = {}
_READ_LIMIT = 64


def linkage_settings(policy: Policy) -> LinkageSettings:
    """The policy's ``[linkage]`` settings; a key it does not set keeps its default."""
    cached = _READ.get(id(policy))
    if cached is not None and cached[0] is policy:
        return cached[1]
    settings = _read(policy)
    if len(_READ) >= _READ_LIMIT:
        _READ.clear()
    _READ[id(policy)] = (policy, settings)
    return settings


def _read(policy: Policy) -> LinkageSettings:
    raw = section_values(policy, "linkage", (f.name for f in fields(LinkageSettings)))
    values: dict[str, Any] = {name: _checked(name, value) for name, value in raw.items()}
    return LinkageSettings(**values)
