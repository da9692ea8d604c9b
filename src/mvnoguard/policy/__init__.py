"""Loading the real-name policy from TOML (the embedded default or a file of the operator's)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from mvnoguard.domain.policy import RULE_NAMES, SECTION_NAMES, Policy, RuleVersion
from mvnoguard.errors import ConfigurationError

__all__ = ["default_policy_text", "load_policy", "parse_policy", "section_values"]


def default_policy_text() -> str:
    return resources.files(__package__).joinpath("default.toml").read_text(encoding="utf-8")


def parse_policy(text: str, *, source: str = "policy") -> Policy:
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{source}: not valid TOML: {exc}") from exc
    versions: dict[str, tuple[RuleVersion, ...]] = {}
    sections: dict[str, dict[str, Any]] = {}
    for name, entries in raw.items():
        if name in SECTION_NAMES:
            if not isinstance(entries, dict):
                raise ConfigurationError(f"{source}: [{name}] must be a table of settings")
            sections[name] = entries
            continue
        if name not in RULE_NAMES:
            raise ConfigurationError(
                f"{source}: unknown rule {name!r}; known rules: {', '.join(RULE_NAMES)}"
            )
        if not isinstance(entries, list) or not entries:
            raise ConfigurationError(f"{source}: rule {name!r} needs [[{name}]] versions")
        parsed = []
        for entry in entries:
            since, value = entry.get("since"), entry.get("value")
            if not isinstance(since, date) or value is None:
                raise ConfigurationError(
                    f"{source}: every [[{name}]] needs `since = YYYY-MM-DD` and `value`"
                )
            parsed.append(RuleVersion(since=since, value=value))
        versions[name] = tuple(sorted(parsed, key=lambda v: v.since))
    try:
        return Policy(versions, sections)
    except ValueError as exc:
        raise ConfigurationError(f"{source}: {exc}") from exc


def load_policy(path: Path | None = None) -> Policy:
    """The policy in ``path``, or the embedded default when ``path`` is None."""
    if path is None:
        return parse_policy(default_policy_text(), source="embedded policy")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read policy file {path}: {exc.strerror}") from exc
    return parse_policy(text, source=str(path))


def section_values(policy: Policy, name: str, known: Iterable[str]) -> dict[str, Any]:
    """The ``[name]`` settings table of ``policy``; a key outside ``known`` is refused, so a
    typo in the policy file fails loudly instead of leaving a default silently in force."""
    raw = policy.section(name)
    allowed = sorted(known)
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ConfigurationError(
            f"policy [{name}]: unknown setting(s) {', '.join(unknown)}; known: {', '.join(allowed)}"
        )
    return raw
