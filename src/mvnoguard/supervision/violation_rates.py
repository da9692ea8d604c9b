"""Violation rates from secret inspections: per enterprise and overall, with Wilson intervals,
tiers that never rank apart two enterprises whose intervals overlap, and the trend against the
previous period. A rate counts outlets, not visits: an outlet inspected more than once in the
period counts once, judged by its first visit, and the other visits are reported as
``reinspections``. Nuisance rates (complaints and confirmed fraud numbers per 10,000 users) can
be set beside them with :meth:`ViolationRates.attach_nuisance`, so one answer shows both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
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
    # Visits to outlets already inspected in the period: not counted in ``rate``.
    reinspections: int = 0

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "enterprise_code": self.enterprise_code,
            "enterprise_name": self.enterprise_name,
            "inspected": self.rate.inspected,
            "violations": self.rate.violations,
            "rate": self.rate.rate,
            "ci_low": self.rate.ci_low,
            "ci_high": self.rate.ci_high,
            "reinspections": self.reinspections,
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


@dataclass
class _Tally:
    """One enterprise's inspections in a period: each outlet counted once, by its first visit
    (visits of one day in the order they were stored); later visits are re-inspections."""

    name: str
    inspected: int = 0  # outlets
    violations: int = 0  # outlets whose first visit found a violation
    reinspections: int = 0
    kinds: Counter[str] = field(default_factory=Counter)  # of the first visits


def _tally(session: Session, period: Period | None) -> dict[str, _Tally]:
    """Per enterprise code, its tally of the period (of every inspection without a period)."""
    start, end = (period.start, period.end) if period else (None, None)
    tallies: dict[str, _Tally] = {}
    seen: set[tuple[str, str]] = set()
    visits = sorted(
        inspections_between(session, start, end),
        key=lambda visit: (visit[2].inspected_on, visit[2].id),
    )
    for code, name, inspection in visits:
        tally = tallies.setdefault(code, _Tally(name))
        if (code, inspection.outlet_code) in seen:
            tally.reinspections += 1
            continue
        seen.add((code, inspection.outlet_code))
        tally.inspected += 1
        tally.violations += inspection.outcome == InspectionOutcome.VIOLATION.value
        tally.kinds.update(k for k in inspection.violations.split(";") if k)
    return tallies


def _overall(tallies: Iterable[_Tally]) -> Rate:
    counted = list(tallies)
    return rate_of(OVERALL, sum(t.violations for t in counted), sum(t.inspected for t in counted))


def violation_rates(
    session: Session,
    period: Period | None = None,
    *,
    registry_rates: Mapping[str, float | None] | None = None,
) -> ViolationRates:
    """Rates of the period's inspections (all inspections without a period), next to each
    enterprise's registry-audit rate when ``registry_rates`` gives one."""
    tallies = _tally(session, period)
    previous_tallies = _tally(session, period.previous()) if period else {}
    rows = []
    for code in sorted(tallies):
        tally = tallies[code]
        rate = rate_of(code, tally.violations, tally.inspected)
        before = previous_tallies.get(code)
        previous = rate_of(code, before.violations, before.inspected) if before else None
        rows.append(
            EnterpriseRate(
                code,
                tally.name,
                rate,
                dict(tally.kinds),
                None,
                previous,
                trend(rate, previous),
                (registry_rates or {}).get(code),
                reinspections=tally.reinspections,
            )
        )
    tier_of = tiers([row.rate for row in rows])
    for row in rows:
        row.tier = tier_of.get(row.enterprise_code)
    rows.sort(key=lambda r: (r.tier or 0, -(r.rate.rate or 0.0), r.enterprise_code))
    total = _overall(tallies.values())
    previous_total = _overall(previous_tallies.values()) if previous_tallies else None
    all_kinds: Counter[str] = Counter()
    for tally in tallies.values():
        all_kinds.update(tally.kinds)
    overall = EnterpriseRate(
        OVERALL,
        "全部企业",
        total,
        dict(all_kinds),
        None,
        previous_total,
        trend(total, previous_total),
        reinspections=sum(tally.reinspections for tally in tallies.values()),
    )
    return ViolationRates(period.label if period else None, rows, overall)
