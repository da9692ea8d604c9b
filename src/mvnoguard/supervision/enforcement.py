"""Enforcement cases: proposed from measured rates, issued by the regulator, closed.

Thresholds come from the policy in force at the end of the period. Cases rest on one of two
bases:

* inspections: a measure is proposed when an enterprise's Wilson 95% lower bound reaches the
  measure's threshold and enough outlets were inspected, so no enterprise is punished for a
  rate the numbers cannot support;
* nuisance: a ``nuisance_interview`` is proposed when an enterprise with enough users reaches
  the complaint or the confirmed-fraud threshold, per 10,000 users per 30 days
  (:mod:`~mvnoguard.supervision.nuisance_rates`). Its own kind keeps it apart from an
  inspection-based ``interview`` of the same period. The case row has no columns for these
  figures: its reason states them in words, and issuing measures them again (refusing when
  the period's figures no longer reach a threshold).

Proposing again for the same period adds nothing. Issuing writes the Chinese notice (HTML and
PDF) under ``HOME/reports/notices/``; a rectification order gets its deadline, and is closed
when every outlet found in violation in its period passes a re-inspection after issue.
Overdue rectifications surface in lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mvnoguard.domain.calendar import as_aware, local_date
from mvnoguard.domain.inspections import InspectionOutcome
from mvnoguard.domain.policy import Policy, RuleSet
from mvnoguard.errors import InvalidInput, NotFound, RuleViolation, one_of, refuse_nul
from mvnoguard.registry.catalog import get_enterprise
from mvnoguard.reports.notices import CaseKind as NoticeKind
from mvnoguard.reports.notices import InspectionBasis, NoticeData, NuisanceBasis, write_notice
from mvnoguard.storage import audit_log
from mvnoguard.storage.models import EnforcementCase, Enterprise, Inspection, Outlet
from mvnoguard.supervision.nuisance_rates import NuisanceRate, nuisance_rates
from mvnoguard.supervision.periods import Period, parse_period
from mvnoguard.supervision.violation_rates import violation_rates


class CaseKind(StrEnum):
    RECTIFICATION_ORDER = "rectification_order"
    NOTICE_OF_CRITICISM = "notice_of_criticism"
    INTERVIEW = "interview"
    SUSPEND_NUMBER_ALLOCATION = "suspend_number_allocation"
    # An interview called for by complaints and confirmed fraud numbers, not by inspections.
    NUISANCE_INTERVIEW = "nuisance_interview"


class CaseBasis(StrEnum):
    INSPECTION = "inspection"
    NUISANCE = "nuisance"


def basis_of(kind: str) -> CaseBasis:
    return CaseBasis.NUISANCE if kind == CaseKind.NUISANCE_INTERVIEW.value else CaseBasis.INSPECTION


class CaseStatus(StrEnum):
    PROPOSED = "proposed"
    ISSUED = "issued"
    CLOSED = "closed"


def _thresholds(rules: RuleSet) -> list[tuple[CaseKind, float]]:
    pairs = [
        (CaseKind.RECTIFICATION_ORDER, rules.rectification_violation_rate),
        (CaseKind.NOTICE_OF_CRITICISM, rules.notice_violation_rate),
        (CaseKind.INTERVIEW, rules.interview_violation_rate),
        (CaseKind.SUSPEND_NUMBER_ALLOCATION, rules.suspend_allocation_violation_rate),
    ]
    return [(kind, value) for kind, value in pairs if value is not None]


def propose_cases(
    session: Session,
    policy: Policy,
    period: Period,
    *,
    at: datetime,
    actor: str,
    registry_users: Mapping[str, int] | None = None,
) -> list[EnforcementCase]:
    """Propose every measure the period's inspection and nuisance rates call for; returns the
    new ones. ``registry_users`` adds the imported registry's users to the store's."""
    rules = policy.at(period.end - timedelta(days=1))
    created = _propose_from_inspections(session, rules, period, at=at, actor=actor)
    for row in nuisance_rates(session, period, registry_users=registry_users):
        reason = nuisance_reason(row, rules)
        if reason is None:
            continue
        enterprise = get_enterprise(session, row.enterprise_code)
        case = _add_case(
            session,
            enterprise,
            CaseKind.NUISANCE_INTERVIEW,
            period,
            reason=reason,
            figures=(0, 0, 0.0, 0.0),
            at=at,
            actor=actor,
        )
        if case is not None:
            created.append(case)
    return created


def _propose_from_inspections(
    session: Session, rules: RuleSet, period: Period, *, at: datetime, actor: str
) -> list[EnforcementCase]:
    minimum = rules.min_inspections_for_action or 1
    created: list[EnforcementCase] = []
    for row in violation_rates(session, period).enterprises:
        rate = row.rate
        if rate.inspected < minimum:
            continue
        enterprise = get_enterprise(session, row.enterprise_code)
        for kind, threshold in _thresholds(rules):
            if rate.ci_low < threshold:
                continue
            case = _add_case(
                session,
                enterprise,
                kind,
                period,
                reason=(
                    f"{rate.violations} of {rate.inspected} inspected outlets in violation; "
                    f"95% lower bound {_reaches(rate.ci_low, threshold)} threshold"
                ),
                figures=(rate.inspected, rate.violations, rate.ci_low, rate.ci_high),
                at=at,
                actor=actor,
            )
            if case is not None:
                created.append(case)
    return created


def _reaches(bound: float, threshold: float) -> str:
    """``"23.66% reaches the 23.55%"``: both at one precision, the threshold's own (at least one
    decimal of a percent, at most four), so the words never contradict the comparison made;
    rounded apart, 23.7% was said to reach a threshold of 0.2355 shown as 24%."""
    digits = next(
        (d for d in range(1, 4) if abs(round(threshold * 100, d) - threshold * 100) < 1e-9), 4
    )
    return f"{bound:.{digits}%} reaches the {threshold:.{digits}%}"


def _add_case(
    session: Session,
    enterprise: Enterprise,
    kind: CaseKind,
    period: Period,
    *,
    reason: str,
    figures: tuple[int, int, float, float],
    at: datetime,
    actor: str,
) -> EnforcementCase | None:
    """A proposed case, unless one of this enterprise, kind and period exists already."""
    exists = session.scalar(
        select(EnforcementCase.id).where(
            EnforcementCase.enterprise_id == enterprise.id,
            EnforcementCase.kind == kind.value,
            EnforcementCase.period == period.label,
        )
    )
    if exists is not None:
        return None
    inspected, violations, ci_low, ci_high = figures
    case = EnforcementCase(
        enterprise_id=enterprise.id,
        kind=kind.value,
        period=period.label,
        status=CaseStatus.PROPOSED.value,
        reason=reason,
        inspected=inspected,
        violations=violations,
        ci_low=ci_low,
        ci_high=ci_high,
        proposed_at=at,
    )
    session.add(case)
    session.flush()
    audit_log.append(
        session,
        actor=actor,
        action="case.propose",
        subject=f"case:{case.id}",
        detail=f"{enterprise.code} {kind.value} {period.label}",
    )
    return case


def _nuisance_thresholds(rules: RuleSet) -> tuple[float | None, float | None]:
    return rules.complaint_interview_per_10k, rules.fraud_interview_per_10k


def nuisance_reason(row: NuisanceRate, rules: RuleSet) -> str | None:
    """Why ``row`` calls for a nuisance interview under ``rules``, in plain words with the
    figures; ``None`` when it does not (too few users, or no threshold reached)."""
    complaint_threshold, fraud_threshold = _nuisance_thresholds(rules)
    complaints, fraud = row.complaints_per_10k_per_30d, row.fraud_numbers_per_10k_per_30d
    if complaints is None or fraud is None or row.users < (rules.min_users_for_rate_action or 1):
        return None

    def judged(rate: float, threshold: float | None) -> str:
        if threshold is None:
            return "no threshold in force"
        verb = "reaches" if rate >= threshold else "is below"
        return f"{verb} the {threshold:g} threshold"

    reached = [
        rate >= threshold
        for rate, threshold in ((complaints, complaint_threshold), (fraud, fraud_threshold))
        if threshold is not None
    ]
    if not any(reached):
        return None
    return (
        f"{row.users} users in {row.period} ({row.days} days); "
        f"{row.complaints} complaints: {complaints:.2f} per 10,000 users per 30 days, "
        f"{judged(complaints, complaint_threshold)}; "
        f"{row.fraud_numbers} confirmed fraud numbers: {fraud:.2f} per 10,000 users per 30 days, "
        f"{judged(fraud, fraud_threshold)}"
    )


def _case(session: Session, case_id: int) -> EnforcementCase:
    case = session.get(EnforcementCase, case_id)
    if case is None:
        raise NotFound(f"no enforcement case {case_id}", code="unknown_case", field="case_id")
    return case


def _notice_data(
    session: Session,
    policy: Policy,
    case: EnforcementCase,
    period: Period,
    issued: date,
    *,
    deadline: date | None,
    registry_rate: float | None,
    registry_users: Mapping[str, int] | None,
) -> NoticeData:
    basis: InspectionBasis | NuisanceBasis
    if basis_of(case.kind) is CaseBasis.NUISANCE:
        basis = _nuisance_basis(session, policy, case, period, registry_users)
    else:
        rates = violation_rates(session, period)
        code = case.enterprise.code
        row = next((r for r in rates.enterprises if r.enterprise_code == code), None)
        basis = InspectionBasis(
            inspected=case.inspected,
            violations=case.violations,
            rate=case.violations / case.inspected if case.inspected else 0.0,
            ci_low=case.ci_low,
            ci_high=case.ci_high,
            violation_counts=row.violation_counts if row else {},
            registry_violation_rate=registry_rate,
        )
    return NoticeData(
        case_id=f"case-{case.id:05d}",
        kind=cast(NoticeKind, case.kind),
        enterprise_code=case.enterprise.code,
        enterprise_name=case.enterprise.name,
        period=period.chinese,
        basis=basis,
        issued_on=issued,
        deadline=deadline,
    )


def _nuisance_basis(
    session: Session,
    policy: Policy,
    case: EnforcementCase,
    period: Period,
    registry_users: Mapping[str, int] | None,
) -> NuisanceBasis:
    """The period's nuisance figures as measured now; refused when they no longer call for
    the interview (users imported since, a threshold changed), rather than a notice that
    contradicts itself."""
    rules = policy.at(period.end - timedelta(days=1))
    row = next(
        r
        for r in nuisance_rates(session, period, registry_users=registry_users)
        if r.enterprise_code == case.enterprise.code
    )
    complaints, fraud = row.complaints_per_10k_per_30d, row.fraud_numbers_per_10k_per_30d
    if nuisance_reason(row, rules) is None or complaints is None or fraud is None:
        raise RuleViolation(
            f"case {case.id}: the {period.label} figures of {row.enterprise_code} no longer "
            "reach a nuisance threshold; close the case instead",
            code="case_unsupported",
        )
    complaint_threshold, fraud_threshold = _nuisance_thresholds(rules)
    return NuisanceBasis(
        users=row.users,
        days=row.days,
        complaints=row.complaints,
        fraud_numbers=row.fraud_numbers,
        complaints_per_10k=complaints,
        fraud_numbers_per_10k=fraud,
        complaint_threshold=complaint_threshold,
        fraud_threshold=fraud_threshold,
    )


def _not_before(case: EnforcementCase, at: datetime) -> None:
    """Refuse a step dated before the case was proposed (``before_proposal``) or issued
    (``before_issue``): a back-dated issue would start a deadline that has already passed."""
    steps = (
        ("proposed", case.proposed_at, "before_proposal"),
        ("issued", case.issued_at, "before_issue"),
    )
    for step, moment, code in steps:
        if moment is not None and at < as_aware(moment):
            raise RuleViolation(
                f"case {case.id} was {step} at {as_aware(moment).isoformat()}: "
                f"{at.isoformat()} comes before it",
                code=code,
                field="at",
            )


def issue_case(
    session: Session,
    policy: Policy,
    case_id: int,
    *,
    at: datetime,
    notices_dir: Path,
    actor: str,
    registry_rates: Mapping[str, float | None] | None = None,
    registry_users: Mapping[str, int] | None = None,
) -> EnforcementCase:
    """Issue a proposed case: fix its deadline and write its notice (HTML and PDF).

    ``registry_rates`` (registry-audit violation rates) go into inspection notices;
    ``registry_users`` (users of the imported registry) into the users of nuisance notices.
    """
    at = as_aware(at)
    case = _case(session, case_id)
    if case.status != CaseStatus.PROPOSED.value:
        raise RuleViolation(f"case {case_id} is {case.status}, not proposed", code="bad_case_state")
    _not_before(case, at)
    issued = local_date(at)
    deadline = None
    if case.kind == CaseKind.RECTIFICATION_ORDER.value:
        days = policy.at(issued).rectification_deadline_days or 30
        deadline = issued + timedelta(days=days)
    notice = _notice_data(  # refuses a nuisance case its figures no longer support
        session,
        policy,
        case,
        parse_period(case.period),
        issued,
        deadline=deadline,
        registry_rate=(registry_rates or {}).get(case.enterprise.code),
        registry_users=registry_users,
    )
    if not _change_status(
        session, case, CaseStatus.PROPOSED, CaseStatus.ISSUED, issued_at=at, deadline=deadline
    ):
        raise RuleViolation(f"case {case_id} is {case.status}, not proposed", code="bad_case_state")
    _html, pdf = write_notice(notice, notices_dir)  # only the issue that won writes the notice
    case.document = str(pdf)
    audit_log.append(session, actor=actor, action="case.issue", subject=f"case:{case.id}")
    session.flush()
    return case


def close_case(
    session: Session, case_id: int, *, reason: str, at: datetime, actor: str
) -> EnforcementCase:
    """Close a case (rectified, withdrawn, superseded...), saying why: a blank reason is
    refused (``bad_reason``)."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("say why the case is closed", code="bad_reason", field="reason")
    refuse_nul(reason, field="reason")
    case = _case(session, case_id)
    if not _close(session, case, reason=reason, at=as_aware(at), actor=actor):
        raise RuleViolation(
            f"case {case_id} was {case.status} meanwhile; look at it again before closing it",
            code="bad_case_state",
        )
    return case


def _close(
    session: Session, case: EnforcementCase, *, reason: str, at: datetime, actor: str
) -> bool:
    """Close ``case``; False when another session changed its status since it was read
    (refused as ``bad_case_state`` when it is closed already)."""
    if case.status == CaseStatus.CLOSED.value:
        raise RuleViolation(f"case {case.id} is already closed", code="bad_case_state")
    _not_before(case, at)
    read = CaseStatus(case.status)
    if not _change_status(
        session, case, read, CaseStatus.CLOSED, closed_at=at, close_reason=reason
    ):
        if case.status == CaseStatus.CLOSED.value:
            raise RuleViolation(f"case {case.id} is already closed", code="bad_case_state")
        return False
    audit_log.append(
        session, actor=actor, action="case.close", subject=f"case:{case.id}", detail=reason
    )
    session.flush()
    return True


def _change_status(
    session: Session,
    case: EnforcementCase,
    expected: CaseStatus,
    to: CaseStatus,
    **values: object,
) -> bool:
    """Move ``case`` from ``expected`` to ``to`` (with ``values``) in one UPDATE conditional on
    the status, then read it again; False when the status was no longer ``expected``.

    Of two sessions doing it at once exactly one wins: on PostgreSQL the second UPDATE waits
    for the first transaction and then finds the status changed; on SQLite it waits for the
    write lock and reads the row only once it holds it.
    """
    won = session.scalar(
        update(EnforcementCase)
        .where(EnforcementCase.id == case.id, EnforcementCase.status == expected.value)
        .values(status=to.value, **values)
        .returning(EnforcementCase.id)
        .execution_options(synchronize_session=False)
    )
    session.refresh(case)
    return won is not None


def close_passed_rectifications(
    session: Session, *, at: datetime, actor: str
) -> list[EnforcementCase]:
    """Close each issued rectification order whose violations are shown rectified.

    An order is rectified when every outlet found in violation in its period is one of the
    enterprise's catalogued outlets and its latest re-inspection after the day of issue passed:
    an outlet that failed after the order and passed a later visit is rectified; one whose
    latest visit failed, or that was never visited again, keeps the order open. Visits to
    other outlets (ones that never violated, ones not in the catalogue) prove nothing; a
    violation at an outlet the catalogue does not hold can only be closed by hand. An order
    another session closes meanwhile is left to it.
    """
    closed = []
    open_orders = session.scalars(
        select(EnforcementCase).where(
            EnforcementCase.kind == CaseKind.RECTIFICATION_ORDER.value,
            EnforcementCase.status == CaseStatus.ISSUED.value,
        )
    ).all()
    for case in open_orders:
        rectified = _rectified_outlets(session, case)
        if not rectified:
            continue
        reason = f"re-inspection passed ({rectified} outlets)"
        try:
            if _close(session, case, reason=reason, at=as_aware(at), actor=actor):
                closed.append(case)
        except RuleViolation as exc:
            if exc.code != "bad_case_state":  # closed by another session: nothing to do
                raise
    return closed


def _rectified_outlets(session: Session, case: EnforcementCase) -> int:
    """How many outlets violated in ``case``'s period, when each of them is catalogued and
    passed its latest visit after the order was issued; 0 when the order is not rectified."""
    assert case.issued_at is not None
    period = parse_period(case.period)
    of_enterprise = Inspection.enterprise_id == case.enterprise_id
    violators = set(
        session.scalars(
            select(Inspection.outlet_code).where(
                of_enterprise,
                Inspection.inspected_on >= period.start,
                Inspection.inspected_on < period.end,
                Inspection.outcome == InspectionOutcome.VIOLATION.value,
            )
        )
    )
    catalogued = set(
        session.scalars(
            select(Outlet.code).where(
                Outlet.enterprise_id == case.enterprise_id, Outlet.code.in_(violators)
            )
        )
    )
    if not violators or catalogued != violators:
        return 0
    latest: dict[str, str] = {}  # outlet -> outcome of its latest re-inspection
    for outlet, outcome in session.execute(
        select(Inspection.outlet_code, Inspection.outcome)
        .where(
            of_enterprise,
            Inspection.inspected_on > local_date(case.issued_at),
            Inspection.outlet_code.in_(violators),
        )
        .order_by(Inspection.inspected_on, Inspection.id)
    ):
        latest[outlet] = outcome
    passed = {o for o, outcome in latest.items() if outcome == InspectionOutcome.PASS.value}
    return len(violators) if passed == violators else 0


@dataclass(frozen=True)
class CaseView:
    case: EnforcementCase
    overdue: bool

    def to_json(self) -> dict[str, Any]:
        c = self.case
        inspection = basis_of(c.kind) is CaseBasis.INSPECTION
        return {
            "case_id": c.id,
            "enterprise_code": c.enterprise.code,
            "kind": c.kind,
            "basis": basis_of(c.kind).value,
            "period": c.period,
            "status": c.status,
            "reason": c.reason,
            # A nuisance case rests on no inspection: its figures are in the reason.
            "inspected": c.inspected if inspection else None,
            "violations": c.violations if inspection else None,
            "ci_low": c.ci_low if inspection else None,
            "ci_high": c.ci_high if inspection else None,
            "issued_at": c.issued_at.isoformat() if c.issued_at else None,
            "deadline": c.deadline.isoformat() if c.deadline else None,
            "overdue": self.overdue,
            "closed_at": c.closed_at.isoformat() if c.closed_at else None,
            "close_reason": c.close_reason,
            "document": c.document,
        }


def list_cases(
    session: Session, *, at: datetime, status: str | None = None, enterprise_code: str | None = None
) -> list[CaseView]:
    """Cases, overdue ones first: issued with a deadline that has passed on ``at``'s date."""
    if status is not None:
        one_of(CaseStatus, status, what="status", field="status", code="bad_status")
    if enterprise_code is not None:
        get_enterprise(session, enterprise_code)  # an unknown code is a mistake, not "no cases"
    query = select(EnforcementCase).join(Enterprise, Enterprise.id == EnforcementCase.enterprise_id)
    if status is not None:
        query = query.where(EnforcementCase.status == status)
    if enterprise_code is not None:
        query = query.where(Enterprise.code == enterprise_code)
    today = local_date(as_aware(at))
    views = [
        CaseView(
            case,
            case.status == CaseStatus.ISSUED.value
            and case.deadline is not None
            and case.deadline < today,
        )
        for case in session.scalars(query.order_by(EnforcementCase.id))
    ]
    return sorted(views, key=lambda v: (not v.overdue, v.case.id))
