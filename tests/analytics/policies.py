"""Policies for the audit tests: the default, and variants where one rule starts later."""

from __future__ import annotations

from datetime import date

from mvnoguard.domain.policy import Policy, RuleVersion
from mvnoguard.policy import load_policy


def without_rules(*rules: str, base: Policy | None = None) -> Policy:
    """``base`` (default: the embedded policy) with no version at all of ``rules``."""
    base = base or load_policy()
    return Policy({name: v for name, v in base.versions.items() if name not in rules})


def with_rule_since(rule: str, since: date, base: Policy | None = None) -> Policy:
    """``base`` (default: the embedded policy) with ``rule`` in force only from ``since``."""
    base = base or load_policy()
    value = base.versions[rule][-1].value
    return Policy({**base.versions, rule: (RuleVersion(since, value),)})


FACE_FROM_JUNE_2016 = with_rule_since("face_score_min", date(2016, 6, 1))
REAL_NAME_FROM_SEPT_2016 = with_rule_since("accepted_doc_types", date(2016, 9, 1))
NO_CARD_LIMIT_NO_FACE_CHECK = without_rules("card_limit_per_enterprise", "face_score_min")
