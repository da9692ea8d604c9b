"""The shared risk-number database: reports in, a change feed and reputations out.

Enterprises (and the regulator) push reports; a number is one entry whatever its reports. Each
reporter holds one report per (number, category): pushing it again updates it. The entry moves
``reported -> confirmed -> disposed``, and ``cleared`` ends any of them (appeal upheld, or
evidence expired); a new report reopens a cleared number. A new report or a status change
appends exactly one row to the change feed, whose id is the cursor every enterprise pulls by.

Confirmation is the regulator's, or automatic once a report is corroborated (enough distinct
enterprises, or enough complainants among the complaints sent in by others than the
reporters). It starts the disposal clock (the policy's re-verification hours) and, for fraud,
the identity linkage across enterprises. Disposal is for
the enterprise answerable for the number only; every other enterprise is told "not found".

Nothing here returns who reported a number. Feed rows are ordered by commit: each one is
written after the transaction's first audit-log append, which holds the audit chain's head
row until the commit, so a cursor never skips a change that commits later.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    and_,
    bindparam,
    case,
    cast,
    distinct,
    func,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mvnoguard.domain.access import Principal, Role
from mvnoguard.domain.calendar import local_date
from mvnoguard.domain.policy import Policy
from mvnoguard.domain.risk import DisposalAction, RiskCategory, RiskLevel, RiskStatus
from mvnoguard.errors import InvalidInput, NotFound, RuleViolation, refuse_nul
from mvnoguard.linkage import identity_links
from mvnoguard.linkage.callers import (
    ENTERPRISE_ONLY,
    REGULATOR_ONLY,
    REPORTERS,
    own_enterprise,
    policy_or_default,
    require_role,
)
from mvnoguard.linkage.numbers import e164, live_holder, national_mobile, owner_of
from mvnoguard.linkage.settings import LinkageSettings, linkage_settings
from mvnoguard.registry.lifecycle import Lifecycle
from mvnoguard.registry.records import iso_utc
from mvnoguard.storage import audit_log
from mvnoguard.storage.database import hold_locks, hold_write_lock
from mvnoguard.storage.models import (
    Complaint,
    RiskChange,
    RiskNumber,
    RiskReport,
    Verification,
)

MAX_EVIDENCE_CHARS = 4_000
MAX_REASON_CHARS = 1_000
MAX_PAGE = 1_000
# The gravest category first: an entry is shown under the gravest category reported.
GRAVITY = (RiskCategory.FRAUD, RiskCategory.HARASSMENT, RiskCategory.SPAM)
SYSTEM_ACTOR = "system:linkage"
REGULATOR_REPORTER = "regulator"

REPORTED = RiskStatus.REPORTED.value
CONFIRMED = RiskStatus.CONFIRMED.value
DISPOSED = RiskStatus.DISPOSED.value
CLEARED = RiskStatus.CLEARED.value


@dataclass(frozen=True)
class RiskPush:
    msisdn: str
    category: RiskCategory
    score: float
    evidence: str


@dataclass(frozen=True)
class RiskEntry:
    msisdn: str
    status: RiskStatus
    category: RiskCategory
    categories: tuple[RiskCategory, ...]
    score: float
    reports: int
    # The enterprise answerable for disposal; shown to the regulator and to that enterprise.
    enterprise_code: str | None
    updated_at: datetime
    confirmed_at: datetime | None = None
    dispose_by: datetime | None = None
    disposed_at: datetime | None = None
    disposal_action: DisposalAction | None = None
    cleared_at: datetime | None = None
    clear_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "msisdn": self.msisdn,
            "status": self.status.value,
            "category": self.category.value,
            "categories": [c.value for c in self.categories],
            "score": self.score,
            "reports": self.reports,
            "enterprise_code": self.enterprise_code,
            "updated_at": iso_utc(self.updated_at),
            "confirmed_at": iso_utc(self.confirmed_at),
            "dispose_by": iso_utc(self.dispose_by),
            "disposed_at": iso_utc(self.disposed_at),
            "disposal_action": self.disposal_action.value if self.disposal_action else None,
            "cleared_at": iso_utc(self.cleared_at),
            "clear_reason": self.clear_reason,
        }


@dataclass(frozen=True)
class ChangeItem:
    cursor: int
    msisdn: str
    category: RiskCategory
    status: RiskStatus
    score: float
    reports: int
    changed_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor,
            "msisdn": self.msisdn,
            "category": self.category.value,
            "status": self.status.value,
            "score": self.score,
            "reports": self.reports,
            "changed_at": iso_utc(self.changed_at),
        }


@dataclass(frozen=True)
class ChangePage:
    items: list[ChangeItem]
    next_cursor: int

    def to_json(self) -> dict[str, Any]:
        return {"items": [i.to_json() for i in self.items], "next_cursor": self.next_cursor}


@dataclass(frozen=True)
class Reputation:
    msisdn: str
    risk_level: RiskLevel
    categories: tuple[RiskCategory, ...]
    status: RiskStatus | None
    reports: int
    complaints: int
    complainants: int  # distinct reporters among the complaints (the level counts these)
    score: float | None
    updated_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "msisdn": self.msisdn,
            "risk_level": self.risk_level.value,
            "categories": [c.value for c in self.categories],
            "status": self.status.value if self.status else None,
            "reports": self.reports,
            "complaints": self.complaints,
            "complainants": self.complainants,
            "score": self.score,
            "updated_at": iso_utc(self.updated_at),
        }


# -- reading rows ---------------------------------------------------------------------------


def _categories(row: RiskNumber) -> tuple[RiskCategory, ...]:
    return tuple(RiskCategory(c) for c in row.categories.split(",") if c)


def _entry(row: RiskNumber, principal: Principal | None) -> RiskEntry:
    owner = row.enterprise.code if row.enterprise is not None else None
    if principal is not None and principal.role is not Role.REGULATOR:
        owner = owner if owner == principal.enterprise_code else None
    return RiskEntry(
        msisdn=row.msisdn,
        status=RiskStatus(row.status),
        category=RiskCategory(row.category),
        categories=_categories(row),
        score=row.score,
        reports=row.reports,
        enterprise_code=owner,
        updated_at=row.updated_at,
        confirmed_at=row.confirmed_at,
        dispose_by=row.dispose_by,
        disposed_at=row.disposed_at,
        disposal_action=DisposalAction(row.disposal_action) if row.disposal_action else None,
        cleared_at=row.cleared_at,
        clear_reason=row.clear_reason,
    )


def _find(session: Session, number: str) -> RiskNumber | None:
    return session.scalar(select(RiskNumber).where(RiskNumber.msisdn == number))


def _get(session: Session, number: str) -> RiskNumber:
    row = _find(session, number)
    if row is None:
        raise NotFound("no such number in the risk database", code="unknown_risk_number")
    return row


# Complainants, not complaints: one known reporter counts once however often they complain.
# A complaint without a reporter's number counts on its own when the regulator or a feed sent
# it in (nothing ties two together), but an enterprise's such complaints count once together:
# it could write any number of them.
_ANONYMOUS = Complaint.reporter_token.is_(None)
_COMPLAINANTS = (
    func.count(distinct(Complaint.reporter_token))
    + func.count(case((and_(_ANONYMOUS, Complaint.submitter_id.is_(None)), 1)))
    + func.count(distinct(case((_ANONYMOUS, Complaint.submitter_id))))
)


def complainants_since(
    session: Session, number: str, since: datetime | None, *, besides: Sequence[int] = ()
) -> int:
    """Distinct complainants about ``number`` after ``since`` (all when None), leaving out the
    complaints the enterprises ``besides`` sent in: an index range."""
    query = select(_COMPLAINANTS).where(Complaint.reported_number == number)
    if since is not None:
        query = query.where(_after(since))
    if besides:
        query = query.where(
            or_(Complaint.submitter_id.is_(None), Complaint.submitter_id.not_in(besides))
        )
    return session.scalar(query) or 0


def _after(moment: Any) -> Any:
    """Complaints made after ``moment`` and stored after it: one dated ahead of the clock (the
    allowed skew) before a clear must not count after it."""
    return and_(Complaint.received_at > moment, Complaint.created_at > moment)


# -- writing --------------------------------------------------------------------------------


def _record_change(
    session: Session, row: RiskNumber, *, actor: str, action: str, now: datetime, detail: str = ""
) -> None:
    """The audit entry of a change, then its one feed row (the order matters: module docstring)."""
    audit_log.append(session, actor=actor, action=action, subject=row.msisdn, detail=detail, at=now)
    session.add(
        RiskChange(
            risk_number_id=row.id,
            msisdn=row.msisdn,
            category=row.category,
            status=row.status,
            score=row.score,
            reports=row.reports,
            changed_at=now,
        )
    )
    session.flush()


def _summarise(session: Session, row: RiskNumber) -> int:
    """Refresh the entry's summary from its live reports; returns the distinct enterprises."""
    reports = session.scalars(
        select(RiskReport).where(RiskReport.risk_number_id == row.id, RiskReport.active)
    ).all()
    present = {RiskCategory(r.category) for r in reports}
    ordered = [c for c in GRAVITY if c in present]
    row.reports = len(reports)
    row.score = max((r.score for r in reports), default=0.0)
    row.categories = ",".join(sorted(c.value for c in ordered))
    if ordered:
        row.category = ordered[0].value
    return len({r.enterprise_id for r in reports if r.enterprise_id is not None})


def corroborated(
    session: Session, row: RiskNumber, enterprises: int, settings: LinkageSettings
) -> bool:
    """Enough distinct enterprises report it, or enough complainants back a report: counted
    among complaints sent in by others than the reporting enterprises (none backs itself)."""
    if row.status != REPORTED or row.reports == 0:
        return False
    if enterprises >= settings.corroborating_enterprises:
        return True
    reporters = session.scalars(
        select(RiskReport.enterprise_id).where(
            RiskReport.risk_number_id == row.id,
            RiskReport.active,
            RiskReport.enterprise_id.is_not(None),
        )
    ).all()
    backing = complainants_since(
        session, row.msisdn, row.cleared_at, besides=[r for r in reporters if r is not None]
    )
    return backing >= settings.corroborating_complaints


def _confirm(
    session: Session, row: RiskNumber, *, now: datetime, actor: str, policy: Policy, why: str
) -> None:
    hours = policy.at(local_date(now)).reverify_within_hours or 24
    owner = owner_of(session, row.msisdn)
    row.status = CONFIRMED
    row.confirmed_at = now
    row.dispose_by = now + timedelta(hours=hours)
    row.enterprise_id = owner.id if owner is not None else None
    row.updated_at = now
    _record_change(session, row, actor=actor, action="risk.confirm", now=now, detail=why)
    if _is_fraud(row):
        identity_links.link_holder(session, row.msisdn, now=now, actor=actor, policy=policy)


def _is_fraud(row: RiskNumber) -> bool:
    return RiskCategory.FRAUD.value in row.categories.split(",")


def confirm_if_corroborated(
    session: Session, row: RiskNumber, enterprises: int, *, now: datetime, policy: Policy
) -> bool:
    settings = linkage_settings(policy)
    if not corroborated(session, row, enterprises, settings):
        return False
    _confirm(session, row, now=now, actor=SYSTEM_ACTOR, policy=policy, why="corroborated")
    return True


def distinct_enterprises(session: Session, row: RiskNumber) -> int:
    return (
        session.scalar(
            select(func.count(distinct(RiskReport.enterprise_id))).where(
                RiskReport.risk_number_id == row.id, RiskReport.active
            )
        )
        or 0
    )


def _checked_push(push: RiskPush) -> tuple[str, RiskCategory, float, str]:
    number = e164(push.msisdn)
    try:
        category = RiskCategory(push.category)
    except ValueError:
        raise InvalidInput(
            "category must be fraud, harassment or spam", code="bad_category", field="category"
        ) from None
    score = push.score
    if (
        isinstance(score, bool)
        or not isinstance(score, int | float)
        or not math.isfinite(score)
        or not 0.0 <= score <= 1.0
    ):
        raise InvalidInput("score must be a number from 0 to 1", code="bad_score", field="score")
    evidence = push.evidence.strip() if isinstance(push.evidence, str) else ""
    if not evidence:
        raise InvalidInput("evidence is required", code="missing_evidence", field="evidence")
    if len(evidence) > MAX_EVIDENCE_CHARS:
        raise InvalidInput(
            f"evidence is longer than {MAX_EVIDENCE_CHARS} characters",
            code="evidence_too_long",
            field="evidence",
        )
    refuse_nul(evidence, field="evidence")
    return number, category, float(score), evidence


def _entry_row(session: Session, number: str, category: RiskCategory, now: datetime) -> RiskNumber:
    row = _find(session, number)
    if row is not None:
        return row
    row = RiskNumber(
        msisdn=number,
        status=REPORTED,
        category=category.value,
        categories="",
        score=0.0,
        reports=0,
        evidence_at=now,
        created_at=now,
        updated_at=now,
    )
    hold_write_lock(session)  # SQLite: or releasing the savepoint would commit the caller's work
    try:
        with session.begin_nested():  # another transaction may add the same number meanwhile
            session.add(row)
    except IntegrityError:
        return _get(session, number)
    return row


def push(
    session: Session,
    principal: Principal,
    push: RiskPush,
    *,
    now: datetime,
    policy: Policy | None = None,
) -> RiskEntry:
    """Report a number (or update the caller's report of it in that category)."""
    require_role(principal, REPORTERS, "report risk numbers")
    number, category, score, evidence = _checked_push(push)
    policy = policy_or_default(policy)
    enterprise = own_enterprise(session, principal)
    reporter = enterprise.code if enterprise is not None else REGULATOR_REPORTER
    hold_locks(session, f"risk:{number}")  # one report per reporter and category, even at once
    row = _entry_row(session, number, category, now)
    report = session.scalar(
        select(RiskReport).where(
            RiskReport.risk_number_id == row.id,
            RiskReport.reporter == reporter,
            RiskReport.category == category.value,
        )
    )
    is_new = report is None or not report.active
    if report is None:
        report = RiskReport(
            risk_number_id=row.id,
            reporter=reporter,
            enterprise_id=enterprise.id if enterprise is not None else None,
            category=category.value,
            reported_at=now,
        )
        session.add(report)
    report.score = score
    report.evidence = evidence
    report.active = True
    report.updated_at = now
    session.flush()
    if row.status == CLEARED:
        row.status = REPORTED
        row.enterprise_id = None
        row.confirmed_at = row.dispose_by = row.disposed_at = None
        row.disposal_action = None
    was_fraud = _is_fraud(row)
    enterprises = _summarise(session, row)
    row.evidence_at = now
    row.updated_at = now
    if row.status in (CONFIRMED, DISPOSED) and not was_fraud and _is_fraud(row):
        # Confirmed for spam or harassment, now reported for fraud too: the holder is linked
        # as at a fraud confirmation (the entry is already confirmed).
        identity_links.link_holder(
            session, row.msisdn, now=now, actor=principal.actor, policy=policy
        )
    detail = f"{category.value} score={score:.3f}"
    if is_new:
        _record_change(
            session, row, actor=principal.actor, action="risk.report", now=now, detail=detail
        )
    else:
        audit_log.append(
            session,
            actor=principal.actor,
            action="risk.report_update",
            subject=number,
            detail=detail,
            at=now,
        )
    confirm_if_corroborated(session, row, enterprises, now=now, policy=policy)
    session.flush()
    return _entry(row, principal)


_LAST_FEED_ID = 2**31 - 1


def changes(session: Session, principal: Principal, *, since: int, limit: int) -> ChangePage:
    """The feed after cursor ``since`` (0: from the start), oldest first."""
    require_role(principal, REPORTERS, "read the risk-number feed")
    if isinstance(since, bool) or not isinstance(since, int) or since < 0:
        raise InvalidInput("since must be a cursor of 0 or more", code="bad_cursor", field="since")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be from 1 to {MAX_PAGE}", code="bad_limit", field="limit")
    if since >= _LAST_FEED_ID:  # feed ids are 32-bit integers: nothing lies beyond
        return ChangePage([], since)
    rows = session.scalars(
        select(RiskChange).where(RiskChange.id > since).order_by(RiskChange.id).limit(limit)
    ).all()
    items = [
        ChangeItem(
            r.id,
            r.msisdn,
            RiskCategory(r.category),
            RiskStatus(r.status),
            r.score,
            r.reports,
            r.changed_at,
        )
        for r in rows
    ]
    return ChangePage(items, items[-1].cursor if items else since)


def risk_level(
    status: RiskStatus | None, score: float, complainants: int, settings: LinkageSettings
) -> RiskLevel:
    """The level a reputation shows.

    * confirmed or disposed: high;
    * reported: medium when a report scores at least ``medium_score`` or complaints back it,
      else low;
    * cleared, or never reported: judged on the complainants since (since ever, if never
      reported): medium from ``corroborating_complaints`` of them, low from one, else none.
    """
    if status in (RiskStatus.CONFIRMED, RiskStatus.DISPOSED):
        return RiskLevel.HIGH
    if status is RiskStatus.REPORTED:
        backed = score >= settings.medium_score or complainants
        return RiskLevel.MEDIUM if backed else RiskLevel.LOW
    if complainants >= settings.corroborating_complaints:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW if complainants else RiskLevel.NONE


# Reputation is the hot read of the database (every enterprise asks before connecting a call):
# one prebuilt Core statement, no ORM entity loaded. The probe row makes it answer exactly one
# row whether or not the number is listed; the complaints since it was last cleared (all, if
# never) are counted on the (reported_number, received_at) index.
_PROBE = select(cast(bindparam("msisdn"), String(20)).label("msisdn")).subquery("probe")


def _since_cleared(count: Any) -> Any:
    return (
        select(count)
        .where(
            Complaint.reported_number == _PROBE.c.msisdn,
            or_(RiskNumber.cleared_at.is_(None), _after(RiskNumber.cleared_at)),
        )
        .scalar_subquery()
    )


_REPUTATION = select(
    RiskNumber.status,
    RiskNumber.score,
    RiskNumber.reports,
    RiskNumber.categories,
    RiskNumber.updated_at,
    _since_cleared(func.count(Complaint.id)).label("complaints"),
    _since_cleared(_COMPLAINANTS).label("complainants"),
).select_from(_PROBE.outerjoin(RiskNumber, RiskNumber.msisdn == _PROBE.c.msisdn))


def reputation(
    store: Session | Connection,
    principal: Principal,
    msisdn: str,
    *,
    now: datetime,
    policy: Policy | None = None,
) -> Reputation:
    """What the database knows of a number: one statement of two index look-ups, never a scan.

    ``store`` is a session, or a bare connection for a caller that needs no session at all.
    """
    del principal, now  # every role may ask; nothing about the caller changes the answer
    number = e164(msisdn)
    settings = linkage_settings(policy_or_default(policy))
    connection = store.connection() if isinstance(store, Session) else store
    row = connection.execute(_REPUTATION, {"msisdn": number}).one()
    complaints: int = row.complaints
    complainants: int = row.complainants
    if row.status is None:
        level = risk_level(None, 0.0, complainants, settings)
        return Reputation(number, level, (), None, 0, complaints, complainants, None, None)
    status = RiskStatus(row.status)
    level = risk_level(status, row.score, complainants, settings)
    live = status is not RiskStatus.CLEARED
    categories = tuple(RiskCategory(c) for c in row.categories.split(",") if c) if live else ()
    return Reputation(
        number,
        level,
        categories,
        status,
        row.reports,
        complaints,
        complainants,
        row.score if live else None,
        row.updated_at,
    )


def confirm(
    session: Session,
    principal: Principal,
    msisdn: str,
    *,
    now: datetime,
    policy: Policy | None = None,
) -> RiskEntry:
    """The regulator confirms a reported number (confirming it again changes nothing)."""
    require_role(principal, REGULATOR_ONLY, "confirm risk numbers")
    row = _get(session, e164(msisdn))
    if row.status == REPORTED:
        _confirm(
            session,
            row,
            now=now,
            actor=principal.actor,
            policy=policy_or_default(policy),
            why="regulator",
        )
    elif row.status != CONFIRMED:
        raise RuleViolation(f"a {row.status} number cannot be confirmed", code="bad_transition")
    return _entry(row, principal)


def _check_reverified(session: Session, number: str, since: datetime | None) -> None:
    national = national_mobile(number)
    holder = live_holder(session, national) if national else None
    done = holder is not None and session.scalar(
        select(Verification.id)
        .where(
            Verification.subscriber_id == holder.id,
            Verification.purpose == "reverification",
            Verification.verified_at >= since,
        )
        .limit(1)
    )
    if not done:
        raise RuleViolation(
            "the holder has not re-verified since the number was confirmed",
            code="not_reverified",
        )


def dispose(
    session: Session,
    principal: Principal,
    msisdn: str,
    action: DisposalAction,
    *,
    now: datetime,
    policy: Policy | None = None,
) -> RiskEntry:
    """The answerable enterprise records what it did with a confirmed number.

    ``suspended`` and ``cancelled`` go through the subscriber lifecycle; ``reverified`` needs a
    re-verification recorded since the confirmation.
    """
    require_role(principal, ENTERPRISE_ONLY, "dispose of their numbers")
    try:
        action = DisposalAction(action)
    except ValueError:
        raise InvalidInput(
            "action must be suspended, reverified or cancelled", code="bad_action", field="action"
        ) from None
    number = e164(msisdn)
    enterprise = own_enterprise(session, principal)
    row = _find(session, number)
    owner = owner_of(session, number)
    if row is None or enterprise is None or owner is None or owner.id != enterprise.id:
        raise NotFound("no such number in the risk database", code="unknown_risk_number")
    if row.status != CONFIRMED:
        code = "not_confirmed" if row.status == REPORTED else "bad_transition"
        raise RuleViolation(f"a {row.status} number cannot be disposed of", code=code)
    national = national_mobile(number)
    lifecycle = Lifecycle(policy_or_default(policy))
    reason = f"risk number confirmed ({row.category})"
    holder = live_holder(session, national) if national else None
    if action is DisposalAction.REVERIFIED:
        _check_reverified(session, number, row.confirmed_at)
    elif holder is None:
        raise NotFound(
            "no live subscriber on this number", code="unknown_subscriber", field="msisdn"
        )
    elif action is DisposalAction.SUSPENDED and holder.status != "suspended":
        lifecycle.suspend(
            session,
            holder.msisdn,
            reason=reason,
            at=now,
            actor=principal.actor,
            enterprise_code=enterprise.code,
        )
    elif action is DisposalAction.CANCELLED:
        lifecycle.cancel(
            session,
            holder.msisdn,
            reason=reason,
            at=now,
            actor=principal.actor,
            enterprise_code=enterprise.code,
        )
    row.status = DISPOSED
    row.disposed_at = now
    row.disposal_action = action.value
    row.updated_at = now
    _record_change(
        session, row, actor=principal.actor, action="risk.dispose", now=now, detail=action.value
    )
    return _entry(row, principal)


def _clear(session: Session, row: RiskNumber, *, reason: str, now: datetime, actor: str) -> None:
    for report in session.scalars(
        select(RiskReport).where(RiskReport.risk_number_id == row.id, RiskReport.active)
    ):
        report.active = False
    row.status = CLEARED
    row.cleared_at = now
    row.clear_reason = reason
    row.reports = 0
    row.updated_at = now
    _record_change(session, row, actor=actor, action="risk.clear", now=now, detail=reason)


def clear(
    session: Session, principal: Principal, msisdn: str, reason: str, *, now: datetime
) -> RiskEntry:
    """The regulator clears a number (an appeal upheld); its reports stop counting."""
    require_role(principal, REGULATOR_ONLY, "clear risk numbers")
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > MAX_REASON_CHARS:
        raise InvalidInput(
            f"a reason of 1 to {MAX_REASON_CHARS} characters is required",
            code="bad_reason",
            field="reason",
        )
    refuse_nul(reason, field="reason")
    row = _get(session, e164(msisdn))
    if row.status != CLEARED:
        _clear(session, row, reason=reason, now=now, actor=principal.actor)
    return _entry(row, principal)


def expire(session: Session, *, now: datetime, policy: Policy | None = None) -> int:
    """Clear every number whose newest evidence is older than ``evidence_days``; how many."""
    days = linkage_settings(policy_or_default(policy)).evidence_days
    cutoff = now - timedelta(days=days)
    stale = session.scalars(
        select(RiskNumber)
        .where(RiskNumber.evidence_at < cutoff, RiskNumber.status != CLEARED)
        .order_by(RiskNumber.id)
    ).all()
    for row in stale:
        _clear(session, row, reason=f"no evidence for {days} days", now=now, actor=SYSTEM_ACTOR)
    return len(stale)


def overdue(
    session: Session,
    principal: Principal,
    *,
    now: datetime,
    after: str | None = None,
    limit: int | None = None,
) -> list[RiskEntry]:
    """Confirmed numbers not disposed of by their deadline (an enterprise: its own only), the
    longest overdue first.

    A page holds at most ``limit`` of them (all when None), those after the number ``after``
    (the last one of the page before) in that order.
    """
    require_role(principal, REPORTERS, "list overdue risk numbers")
    enterprise = own_enterprise(session, principal)
    query = select(RiskNumber).where(RiskNumber.status == CONFIRMED, RiskNumber.dispose_by < now)
    if enterprise is not None:
        query = query.where(RiskNumber.enterprise_id == enterprise.id)
    if after is not None:
        number = e164(after, field="after")
        last = session.scalar(select(RiskNumber.dispose_by).where(RiskNumber.msisdn == number))
        if last is None:
            raise InvalidInput(
                "after must be the last number of the page before", code="bad_cursor", field="after"
            )
        query = query.where(
            or_(
                RiskNumber.dispose_by > last,
                and_(RiskNumber.dispose_by == last, RiskNumber.msisdn > number),
            )
        )
    ordered = query.order_by(RiskNumber.dispose_by, RiskNumber.msisdn).limit(limit)
    return [_entry(row, principal) for row in session.scalars(ordered)]


def entries(
    session: Session, principal: Principal, *, status: RiskStatus | None = None, limit: int = 100
) -> list[RiskEntry]:
    """Entries, newest change first: the regulator's all; an enterprise's are those it must
    dispose of or has reported."""
    require_role(principal, REPORTERS, "list risk numbers")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be from 1 to {MAX_PAGE}", code="bad_limit", field="limit")
    enterprise = own_enterprise(session, principal)
    query = select(RiskNumber)
    if status is not None:
        query = query.where(RiskNumber.status == RiskStatus(status).value)
    if enterprise is not None:
        reported = select(RiskReport.risk_number_id).where(
            RiskReport.enterprise_id == enterprise.id
        )
        query = query.where(
            or_(RiskNumber.enterprise_id == enterprise.id, RiskNumber.id.in_(reported))
        )
    rows = session.scalars(
        query.order_by(RiskNumber.updated_at.desc(), RiskNumber.id.desc()).limit(limit)
    )
    return [_entry(row, principal) for row in rows]
