"""Complaints about numbers: submitted one at a time, or imported from a feed file.

A complaint is stored once, keyed by its content: importing the same file again adds nothing.
Complaints count towards a number's reputation and can corroborate a report (see
:mod:`mvnoguard.linkage.risk_numbers`); a complaint alone never confirms a number. Feed files
are streamed in batches; a bad row goes to a quarantine CSV (file, row, field, code, reason)
and never sinks the file. The reporter's number is kept for follow-up and never shown.

Two feed shapes: the ``complaints`` data contract, and the US FTC Do-Not-Call complaint file
(:func:`import_ftc`), whose times carry no zone and are read as US Eastern time, the FTC's own.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mvnoguard.analytics.contract_files import RowProblem, columns_of, read_batches
from mvnoguard.analytics.typing_checks import as_text
from mvnoguard.domain.access import Principal
from mvnoguard.domain.calendar import as_aware
from mvnoguard.domain.policy import Policy
from mvnoguard.domain.risk import ComplaintCategory
from mvnoguard.domain.subscribers import SubscriberStatus
from mvnoguard.errors import DataFileError, InvalidInput
from mvnoguard.linkage.callers import policy_or_default
from mvnoguard.linkage.numbers import e164, owner_of
from mvnoguard.linkage.risk_numbers import (
    CLEARED,
    REPORTED,
    confirm_if_corroborated,
    distinct_enterprises,
)
from mvnoguard.registry.records import iso_utc
from mvnoguard.storage import audit_log
from mvnoguard.storage.models import Complaint, Enterprise, RiskNumber, Subscriber

MAX_TEXT_CHARS = 4_000
# A clock a little ahead of ours is not a complaint from the future.
CLOCK_SKEW = timedelta(minutes=5)
_CHUNK = 500
CONTRACT_COLUMNS = ("reported_number", "reporter_number", "category", "received_at", "text")
_REQUIRED = ("reported_number", "category", "received_at")
FTC_COLUMNS = (
    "Company_Phone_Number",
    "Created_Date",
    "Violation_Date",
    "Consumer_City",
    "Consumer_State",
    "Consumer_Area_Code",
    "Subject",
    "Recorded_Message_Or_Robocall",
)
FTC_ZONE = ZoneInfo("America/New_York")
# The FTC's subjects, lower-cased with single spaces, by the complaint category they mean.
# An impersonation, a fake tech-support call or a "prize" is fraud; a call that hangs up or says
# nothing is harassment; any sales pitch is spam; a subject not listed here is "other".
FTC_SUBJECTS: dict[str, ComplaintCategory] = {
    "calls pretending to be government, businesses, or family and friends": (
        ComplaintCategory.FRAUD
    ),
    "computer & technical support": ComplaintCategory.FRAUD,
    "lotteries, prizes & sweepstakes": ComplaintCategory.FRAUD,
    "dropped call or no message": ComplaintCategory.HARASSMENT,
    "warranties & protection plans": ComplaintCategory.SPAM,
    "reducing your debt (credit cards, mortgage, student loans)": ComplaintCategory.SPAM,
    "medical & prescriptions": ComplaintCategory.SPAM,
    "energy, solar, & utilities": ComplaintCategory.SPAM,
    "vacation & timeshares": ComplaintCategory.SPAM,
    "charities": ComplaintCategory.SPAM,
    "home improvement & cleaning": ComplaintCategory.SPAM,
    "work from home & other ways to make money": ComplaintCategory.SPAM,
    "home security & alarms": ComplaintCategory.SPAM,
}


@dataclass(frozen=True)
class ComplaintIn:
    reported_number: str
    reporter_number: str | None
    category: ComplaintCategory
    received_at: datetime
    text: str | None


@dataclass(frozen=True)
class ComplaintEntry:
    complaint_id: int
    reported_number: str
    category: ComplaintCategory
    received_at: datetime
    duplicate: bool  # the same complaint was already stored; nothing was added

    def to_json(self) -> dict[str, Any]:
        return {
            "complaint_id": self.complaint_id,
            "reported_number": self.reported_number,
            "category": self.category.value,
            "received_at": iso_utc(self.received_at),
            "duplicate": self.duplicate,
        }


@dataclass(frozen=True)
class ComplaintImport:
    accepted: int
    quarantined: int
    duplicates: int
    quarantine_file: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "duplicates": self.duplicates,
            "quarantine_file": self.quarantine_file,
        }


@dataclass(frozen=True)
class EnterpriseRate:
    enterprise_code: str
    complaints: int
    live_users: int
    per_10k_users: float | None  # None for an enterprise with no live users

    def to_json(self) -> dict[str, Any]:
        return {
            "enterprise_code": self.enterprise_code,
            "complaints": self.complaints,
            "live_users": self.live_users,
            "per_10k_users": self.per_10k_users,
        }


@dataclass(frozen=True)
class _Parsed:
    reported: str
    reporter: str | None
    category: ComplaintCategory
    received_at: datetime
    text: str | None
    key: str


def _content_key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _text(value: str | None) -> str | None:
    text = value.strip() if value else None
    if text and len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(
            f"text is longer than {MAX_TEXT_CHARS} characters", code="text_too_long", field="text"
        )
    return text or None


def _received(value: datetime, now: datetime, field: str) -> datetime:
    moment = as_aware(value).astimezone(UTC)
    if moment > now + CLOCK_SKEW:
        raise InvalidInput("the complaint is dated in the future", code="future_time", field=field)
    return moment


def _category(value: object) -> ComplaintCategory:
    try:
        return ComplaintCategory(str(value).strip().lower())
    except ValueError:
        raise InvalidInput(
            "category must be fraud, harassment, spam or other",
            code="bad_category",
            field="category",
        ) from None


def parse(complaint: ComplaintIn, *, now: datetime) -> _Parsed:
    """A complaint checked and normalised; raises InvalidInput naming the field at fault."""
    reported = e164(complaint.reported_number, field="reported_number")
    reporter = (
        e164(complaint.reporter_number, field="reporter_number")
        if complaint.reporter_number
        else None
    )
    category = _category(complaint.category)
    if not isinstance(complaint.received_at, datetime):
        raise InvalidInput("received_at must be a time", code="bad_time", field="received_at")
    received = _received(complaint.received_at, now, "received_at")
    text = _text(complaint.text)
    key = _content_key(reported, reporter or "", category.value, received.isoformat(), text or "")
    return _Parsed(reported, reporter, category, received, text, key)


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _store(
    session: Session, parsed: Sequence[_Parsed], *, source: str, now: datetime, policy: Policy
) -> tuple[list[Complaint], int]:
    """Add the complaints not stored yet; returns them and how many were duplicates."""
    fresh: dict[str, _Parsed] = {}
    for item in parsed:
        fresh.setdefault(item.key, item)
    keys = list(fresh)
    for chunk in _chunks(keys):
        for known in session.scalars(
            select(Complaint.content_key).where(Complaint.content_key.in_(chunk))
        ):
            fresh.pop(known, None)
    owners: dict[str, int | None] = {}
    rows: list[Complaint] = []
    for item in fresh.values():
        if item.reported not in owners:
            owner = owner_of(session, item.reported)
            owners[item.reported] = owner.id if owner is not None else None
        rows.append(
            Complaint(
                content_key=item.key,
                reported_number=item.reported,
                reporter_number=item.reporter,
                category=item.category.value,
                received_at=item.received_at,
                text=item.text,
                source=source,
                enterprise_id=owners[item.reported],
                created_at=now,
            )
        )
    session.add_all(rows)
    session.flush()
    _touch_risk_entries(session, rows, now=now, policy=policy)
    return rows, len(parsed) - len(rows)


def _touch_risk_entries(
    session: Session, rows: Sequence[Complaint], *, now: datetime, policy: Policy
) -> None:
    """New complaints are fresh evidence for a number's entry, and may corroborate its report."""
    newest: dict[str, datetime] = {}
    for row in rows:
        if row.reported_number not in newest or row.received_at > newest[row.reported_number]:
            newest[row.reported_number] = row.received_at
    numbers = sorted(newest)
    for chunk in _chunks(numbers):
        entries = session.scalars(
            select(RiskNumber)
            .where(RiskNumber.msisdn.in_(chunk), RiskNumber.status != CLEARED)
            .order_by(RiskNumber.id)
        ).all()
        for entry in entries:
            entry.evidence_at = max(entry.evidence_at, newest[entry.msisdn])
            if entry.status == REPORTED:
                confirm_if_corroborated(
                    session, entry, distinct_enterprises(session, entry), now=now, policy=policy
                )


def submit(
    session: Session,
    principal: Principal | None,
    complaint: ComplaintIn,
    *,
    now: datetime,
    policy: Policy | None = None,
) -> ComplaintEntry:
    """One complaint (a citizen's when ``principal`` is None); the same one again adds nothing."""
    item = parse(complaint, now=now)
    actor = principal.actor if principal is not None else "citizen"
    added, _ = _store(session, [item], source="api", now=now, policy=policy_or_default(policy))
    if added:
        stored = added[0]
        audit_log.append(
            session,
            actor=actor,
            action="complaint.submit",
            subject=item.reported,
            detail=item.category.value,
            at=now,
        )
    else:
        found = session.scalar(select(Complaint).where(Complaint.content_key == item.key))
        assert found is not None  # _store saw it
        stored = found
    return ComplaintEntry(
        stored.id, item.reported, item.category, item.received_at, duplicate=not added
    )


# -- feed files -------------------------------------------------------------------------------

RowParser = Callable[[dict[str, str | None], datetime], _Parsed]


def _contract_row(raw: dict[str, str | None], now: datetime) -> _Parsed:
    for name in _REQUIRED:
        if not (raw.get(name) or "").strip():
            raise InvalidInput(f"{name} is required", code="missing_value", field=name)
    text_time = (raw.get("received_at") or "").strip()
    try:
        received = datetime.fromisoformat(text_time)
    except ValueError:
        raise InvalidInput(
            "received_at is not an ISO 8601 time", code="bad_time", field="received_at"
        ) from None
    return parse(
        ComplaintIn(
            reported_number=raw.get("reported_number") or "",
            reporter_number=raw.get("reporter_number"),
            category=_category(raw.get("category")),
            received_at=received,
            text=raw.get("text"),
        ),
        now=now,
    )


def ftc_category(subject: str | None) -> ComplaintCategory:
    key = re.sub(r"\s+", " ", (subject or "").strip().lower())
    return FTC_SUBJECTS.get(key, ComplaintCategory.OTHER)


def _ftc_row(raw: dict[str, str | None], now: datetime) -> _Parsed:
    number = (raw.get("Company_Phone_Number") or "").strip()
    if not number:
        raise InvalidInput(
            "Company_Phone_Number is required", code="missing_value", field="Company_Phone_Number"
        )
    reported = e164(number, field="Company_Phone_Number", region="US")
    try:
        created = datetime.fromisoformat((raw.get("Created_Date") or "").strip())
    except ValueError:
        raise InvalidInput(
            "Created_Date is not a time", code="bad_time", field="Created_Date"
        ) from None
    if created.tzinfo is None:
        created = created.replace(tzinfo=FTC_ZONE)
    received = _received(created, now, "Created_Date")
    subject = re.sub(r"\s+", " ", (raw.get("Subject") or "").strip()) or "No Subject Provided"
    robocall = {"Y": "yes", "N": "no"}.get((raw.get("Recorded_Message_Or_Robocall") or "").strip())
    text = f"FTC Do-Not-Call complaint: {subject}; recorded message or robocall: {robocall or '?'}"
    # Distinct consumers can complain about one number in the same second: the whole row is the
    # content, so only a row repeated verbatim counts as a duplicate.
    key = _content_key("ftc", *((raw.get(name) or "") for name in FTC_COLUMNS))
    return _Parsed(reported, None, ftc_category(subject), received, text, key)


def _import(
    session: Session,
    path: Path,
    *,
    columns: Sequence[str],
    required: Sequence[str],
    parse_row: RowParser,
    source: str,
    quarantine_dir: Path,
    now: datetime,
    policy: Policy | None,
) -> ComplaintImport:
    names = columns_of(path)
    missing = [c for c in required if c not in names]
    if missing:
        raise DataFileError(
            f"{path.name}: missing column(s) {', '.join(missing)}", field=missing[0]
        )
    policy = policy_or_default(policy)
    present = [c for c in columns if c in names]
    accepted = duplicates = 0
    problems: list[RowProblem] = []
    for batch in read_batches(path):
        problems.extend(batch.problems)
        table = batch.table
        values = {name: as_text(table.column(name)).to_pylist() for name in present}
        parsed: list[_Parsed] = []
        for i, row_number in enumerate(table.column("source_row").to_pylist()):
            raw = {name: values[name][i] for name in present}
            try:
                parsed.append(parse_row(raw, now))
            except InvalidInput as exc:
                problems.append(
                    RowProblem(path.name, row_number, exc.field or "", exc.code, exc.message)
                )
        added, repeated = _store(session, parsed, source=source, now=now, policy=policy)
        accepted += len(added)
        duplicates += repeated
    quarantined = len({(p.file, p.row) for p in problems})
    target = _write_quarantine(problems, quarantine_dir, f"complaints-{source}", now)
    audit_log.append(
        session,
        actor="import",
        action="complaints.import",
        subject=path.name[:128],
        detail=f"accepted={accepted} quarantined={quarantined} duplicates={duplicates}",
        at=now,
    )
    return ComplaintImport(accepted, quarantined, duplicates, target)


def _write_quarantine(
    problems: list[RowProblem], folder: Path, stem: str, now: datetime
) -> str | None:
    if not problems:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{stem}-{now:%Y%m%dT%H%M%S%f}.csv"
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "row", "field", "code", "reason"])
        for p in sorted(problems, key=lambda p: p.row):
            writer.writerow([p.file, p.row, p.field, p.code, p.reason])
    return str(target)


def import_feed(
    session: Session,
    path: Path,
    *,
    quarantine_dir: Path,
    now: datetime,
    policy: Policy | None = None,
) -> ComplaintImport:
    """Load a ``complaints`` contract file (CSV or Parquet)."""
    return _import(
        session,
        path,
        columns=CONTRACT_COLUMNS,
        required=_REQUIRED,
        parse_row=_contract_row,
        source="contract",
        quarantine_dir=quarantine_dir,
        now=now,
        policy=policy,
    )


def import_ftc(
    session: Session,
    path: Path,
    *,
    quarantine_dir: Path,
    now: datetime,
    policy: Policy | None = None,
) -> ComplaintImport:
    """Load the FTC Do-Not-Call complaint file: US numbers to E.164, category from Subject."""
    return _import(
        session,
        path,
        columns=FTC_COLUMNS,
        required=("Company_Phone_Number", "Created_Date", "Subject"),
        parse_row=_ftc_row,
        source="ftc",
        quarantine_dir=quarantine_dir,
        now=now,
        policy=policy,
    )


def complaint_rates(session: Session, *, since: datetime, until: datetime) -> list[EnterpriseRate]:
    """Complaints received in ``[since, until)`` per 10,000 live users, for every enterprise."""
    counts: dict[int | None, int] = dict(
        session.execute(
            select(Complaint.enterprise_id, func.count(Complaint.id))
            .where(
                Complaint.enterprise_id.is_not(None),
                Complaint.received_at >= since,
                Complaint.received_at < until,
            )
            .group_by(Complaint.enterprise_id)
        ).all()
    )
    users: dict[int, int] = dict(
        session.execute(
            select(Subscriber.enterprise_id, func.count(Subscriber.id))
            .where(Subscriber.status != SubscriberStatus.CANCELLED.value)
            .group_by(Subscriber.enterprise_id)
        ).all()
    )
    rates = []
    for enterprise_id, code in session.execute(
        select(Enterprise.id, Enterprise.code).order_by(Enterprise.code)
    ):
        complaints = counts.get(enterprise_id, 0)
        live = users.get(enterprise_id, 0)
        rate = round(complaints / live * 10_000, 4) if live else None
        rates.append(EnterpriseRate(code, complaints, live, rate))
    return rates
