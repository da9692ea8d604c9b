"""Violation rates from secret inspections: per enterprise and overall, with Wilson intervals,
tiers that never rank apart two enterprises whose intervals overlap, and the trend against the
previous period. Nuisance rates (complaints and confirmed fraud numbers per 10,000 users) can
be set beside them with :meth:`ViolationRates.attach_nuisance`, so one answer shows both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from mvnoguard.domain.inspections import InspectionOutcome
from mvnoguard.supervision.inspection_records import inspections_between
from mvnoguard.supervision.intervals import Rate, rate_of, tiers, trend
from mvnoguard.supervision.nuisance_rates import NuisanceRate
from mvnoguard.supervision.periods import Period

OVERALL = "all"


@dataclass
class EnterpriseRate:
    enterprise_code: str
    enterprise_name: str
    rate: Rate
    violation_counts: dict[str, int] = field(default_factory=dict)
    tier: int | None = None
    previous: Rate | None = None
    trend: str = "new"
    registry_violation_rate: float | None = None  # from the latest registry audit, if any
    nuisance: NuisanceRate | None = None  # complaints and fraud numbers, once attached

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "enterprise_code": self.enterprise_code,
            "enterprise_name": self.enterprise_name,
            "inspected": self.rate.inspected,
            "violations": self.rate.violations,
            "rate": self.rate.rate,
            "ci_low": self.rate.ci_low,
            "ci_high": self.rate.ci_high,
            "tier": self.tier,
            "violation_kinds": dict(sorted(self.violation_counts.items())),
            "trend": self.trend,
            "registry_violation_rate": self.registry_violation_rate,
            "nuisance": _nuisance_json(self.nuisance),
        }
        if self.previous is not None:
            body["previous"] = {
                "inspected": self.previous.inspected,
                "violations": self.previous.violations,
                "rate": self.previous.rate,
                "ci_low": self.previous.ci_low,
                "ci_high": self.previous.ci_high,
            }
        return body


def _nuisance_json(rate: NuisanceRate | None) -> dict[str, Any] | None:
    if rate is None:
        return None
    body = rate.to_json()
    del body["enterprise_code"]  # the row it sits in names the enterprise already
    return body


@dataclass
class ViolationRates:
    period: str | None
    enterprises: list[EnterpriseRate]
    overall: EnterpriseRate
    # Nuisance of enterprises not inspected in the period (only once nuisance is attached).
    uninspected: list[NuisanceRate] = field(default_factory=list)

    def attach_nuisance(self, rates: Sequence[NuisanceRate], overall: NuisanceRate) -> None:
        """Set each enterprise's nuisance figures beside its inspection rate, and the market's
        beside the overall rate; enterprises with no inspection go to ``uninspected``."""
        by_code = {rate.enterprise_code: rate for rate in rates}
        for row in self.enterprises:
            row.nuisance = by_code.pop(row.enterprise_code, None)
        self.overall.nuisance = overall
        self.uninspected = sorted(by_code.values(), key=lambda r: r.enterprise_code)

    def to_json(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "confidence": 0.95,
            "enterprises": [e.to_json() for e in self.enterprises],
            "overall": self.overall.to_json(),
            "uninspected": [
                {
                    "enterprise_code": rate.enterprise_code,
                    "enterprise_name": rate.enterprise_name,
                    "nuisance": _nuisance_json(rate),
                }
                for rate in self.uninspected
            ],
        }


def _tally(
    session: Session, period: Period | None
) -> tuple[dict[str, tuple[str, int, int]], dict[str, Counter[str]]]:
    """Per enterprise: (name, inspected, violations), and violation kinds counted."""
    start, end = (period.start, period.end) if period else (None, None)
    counts: dict[str, tuple[str, int, int]] = {}
    kinds: dict[str, Counter[str]] = {}
    for code, name, inspection in inspections_between(session, start, end):
        _, inspected, violating = counts.get(code, (name, 0, 0))
        bad = inspection.outcome == InspectionOutcome.VIOLATION.value
        counts[code] = (name, inspected + 1, violating + bad)
        tally = kinds.setdefault(code, Counter())
        tally.update(k for k in inspection.violations.split(";") if k)
    return counts, kinds


def violation_rates(
    session: Session,
    period: Period | None = None,
    *,
    registry_rates: Mapping[str, float | None] | None = None,
) -> ViolationRates:
    """Rates of the period's inspections (all inspections without a period), next to each
    enterprise's registry-audit rate when ``registry_rates`` gives one."""
    counts, kinds = _tally(session, period)
    previous_counts = _tally(session, period.previous())[0] if period else {}
    rows = []
    for code in sorted(counts):
        name, inspected, violating = counts[code]
        rate = rate_of(code, violating, inspected)
        before = previous_counts.get(code)
        previous = rate_of(code, before[2], before[1]) if before else None
        rows.append(
            EnterpriseRate(
                code,
                name,
                rate,
                dict(kinds.get(code, {})),
                None,
                previous,
                trend(rate, previous),
                (registry_rates or {}).get(code),
            )
        )
    tier_of = tiers([row.rate for row in rows])
    for row in rows:
        row.tier = tier_of.get(row.enterprise_code)
    rows.sort(key=lambda r: (r.tier or 0, -(r.rate.rate or 0.0), r.enterprise_code))
    total = rate_of(OVERALL, sum(c[2] for c in counts.values()), sum(c[1] for c in counts.values()))
    previous_total = (
        rate_of(
            OVERALL,
            sum(c[2] for c in previous_counts.values()),
            sum(c[1] for c in previous_counts.values()),
        )
        if previous_counts
        else None
    )
    all_kinds: Counter[str] = Counter()
    for tally in kinds.values():
        all_kinds.update(tally)
    overall = EnterpriseRate(
        OVERALL,
        "全部企业",
        total,
        dict(all_kinds),
        None,
        previous_total,
        trend(total, previous_total),
    )
    return ViolationRates(period.label if period else None, rows, overall)
