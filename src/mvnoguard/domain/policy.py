"""The real-name policy: rule values that change over time.

A :class:`Policy` holds, for each rule, its dated versions; :meth:`Policy.at` gives the
:class:`RuleSet` in force on a date. A rule with no version in force on that date is ``None``
in the rule set and is not applied. Loading from TOML lives in :mod:`mvnoguard.policy`.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rules in force on one date; ``None`` means the rule is not (yet) in force."""

    accepted_doc_types: frozenset[str] | None = None
    allowed_verification_methods: frozenset[str] | None = None
    min_age_without_guardian: int | None = None
    face_score_min: float | None = None
    face_check_outlet_kinds: frozenset[str] | None = None
    card_limit_per_enterprise: int | None = None
    national_card_review_threshold: int | None = None
    record_agent_documents: bool | None = None
    reverify_within_hours: int | None = None
    retention_years_after_cancellation: int | None = None
    unregistered_catch_up_deadline: date | None = None
    suspend_all_after_days: int | None = None
    # Enforcement: an enterprise whose inspection violation rate is, with 95% confidence, at
    # least the threshold (its Wilson lower bound reaches it) gets the measure proposed.
    min_inspections_for_action: int | None = None
    notice_violation_rate: float | None = None
    rectification_violation_rate: float | None = None
    rectification_deadline_days: int | None = None
    interview_violation_rate: float | None = None
    suspend_allocation_violation_rate: float | None = None
    # Enforcement from nuisance: complaints received and fraud numbers confirmed in a period,
    # per 10,000 users per 30 days; an interview is proposed when either reaches its threshold
    # and the enterprise has at least `min_users_for_rate_action` users.
    complaint_interview_per_10k: float | None = None
    fraud_interview_per_10k: float | None = None
    min_users_for_rate_action: int | None = None


RULE_NAMES: tuple[str, ...] = tuple(f.name for f in fields(RuleSet))
# Undated settings tables of the policy file ([detection], [linkage]): thresholds that tune a
# detector or the shared risk database rather than rules a sign-up is judged by. Each consumer
# reads its own table into a typed settings object of its own.
SECTION_NAMES: tuple[str, ...] = ("detection", "linkage")
_SET_RULES = {"accepted_doc_types", "allowed_verification_methods", "face_check_outlet_kinds"}


@dataclass(frozen=True, slots=True)
class RuleVersion:
    since: date
    value: Any


@dataclass(frozen=True)
class Policy:
    """Dated versions of every rule, sorted by ``since``."""

    versions: dict[str, tuple[RuleVersion, ...]] = field(default_factory=dict)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.versions) - set(RULE_NAMES)
        if unknown:
            raise ValueError(f"unknown rules: {', '.join(sorted(unknown))}")
        for name, versions in self.versions.items():
            dates = [v.since for v in versions]
            if dates != sorted(dates) or len(set(dates)) != len(dates):
                raise ValueError(f"rule {name}: versions must have distinct, ascending dates")

    def section(self, name: str) -> dict[str, Any]:
        """The undated settings table ``name`` (empty when the file has none)."""
        if name not in SECTION_NAMES:
            raise ValueError(f"unknown policy section {name!r}")
        return dict(self.sections.get(name, {}))

    def at(self, on: date) -> RuleSet:
        values: dict[str, Any] = {}
        for name, versions in self.versions.items():
            i = bisect_right([v.since for v in versions], on)
            if i:
                value = versions[i - 1].value
                values[name] = frozenset(value) if name in _SET_RULES else value
        return RuleSet(**values)

    def change_dates(self) -> list[date]:
        """Every date on which some rule changes, ascending (for the audit's date bands)."""
        return sorted({v.since for versions in self.versions.values() for v in versions})
