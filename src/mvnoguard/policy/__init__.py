"""Loading the real-name policy from TOML (the embedded default or a file of the operator's)."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from mvnoguard.domain.policy import RULE_NAMES, SECTION_NAMES, Policy, RuleSet, RuleVersion
from mvnoguard.errors import ConfigurationError

__all__ = ["default_policy_text", "load_policy", "parse_policy", "section_values"]


def default_policy_text() -> str:
    return resources.files(__package__).joinpath("default.toml").read_text(encoding="utf-8")


def _rule_kinds() -> dict[str, type]:
    """Each rule's value type, from :class:`RuleSet` (``frozenset`` for a set of names)."""
    kinds: dict[str, type] = {}
    for name, hint in get_type_hints(RuleSet).items():
        kind = next(a for a in get_args(hint) if a is not type(None))
        kinds[name] = get_origin(kind) or kind
    return kinds


_RULE_KINDS = _rule_kinds()
_KIND_TEXT = {
    frozenset: "a list of names",
    int: "a whole number, 0 or more",
    float: "a number, 0 or more",
    bool: "true or false",
    date: "a date (YYYY-MM-DD)",
}


def _check_value(source: str, name: str, value: Any) -> None:
    """A rule's value of the wrong type would fail (or be misread) only when first used."""
    kind = _RULE_KINDS[name]
    if kind is frozenset:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif kind is bool:
        ok = isinstance(value, bool)
    elif kind is date:
        ok = isinstance(value, date) and not isinstance(value, datetime)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    elif kind is float:
        ok = (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and value >= 0
        )
        if ok and (name == "face_score_min" or name.endswith("_rate")) and value > 1:
            raise ConfigurationError(f"{source}: [[{name}]] value must be from 0 to 1")
    else:  # a rule type added to RuleSet without a check here
        raise AssertionError(f"no value check for rule {name} of type {kind}")
    if not ok:
        raise ConfigurationError(
            f"{source}: [[{name}]] value must be {_KIND_TEXT[kind]}, not {value!r}"
        )


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
            if not isinstance(entry, dict):
                raise ConfigurationError(f"{source}: rule {name!r} needs [[{name}]] versions")
            unknown = sorted(set(entry) - {"since", "value"})
            if unknown:
                raise ConfigurationError(
                    f"{source}: [[{name}]] has unknown key(s) {', '.join(unknown)}; "
                    "a version has `since` and `value` only"
                )
            since, value = entry.get("since"), entry.get("value")
            if not isinstance(since, date) or isinstance(since, datetime) or value is None:
                raise ConfigurationError(
                    f"{source}: every [[{name}]] needs `since = YYYY-MM-DD` and `value`"
                )
            _check_value(source, name, value)
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
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"policy file {path} is not UTF-8 text (TOML is UTF-8)") from exc
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
