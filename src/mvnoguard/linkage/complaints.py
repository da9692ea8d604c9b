"""Complaints about numbers: submitted one at a time, or imported from a feed file.

A complaint is stored once, keyed by its content: importing the same file again adds nothing.
Complaints count towards a number's reputation and can corroborate a report (see
:mod:`mvnoguard.linkage.risk_numbers`); a complaint alone never confirms a number. Feed files
are streamed in batches; a bad row goes to a quarantine CSV (file, row, field, code, reason)
and never sinks the file.

The reporter's (complainant's) number is personal data. It is kept for follow-up only, sealed
by the vault (context ``"reporter_number"``) and never stored in clear; no answer, report or
command output shows it. :func:`reveal_reporter` opens it for the regulator and writes an audit
entry. The content key is a SHA-256 over the complaint's fields in which the reporter's number
is replaced by its keyed vault token (kind ``"complaint_reporter"``), so the key cannot be
brute-forced back to the number without the vault's token key. A token carries its key
version, so duplicates are looked up under every version in the key ring, and ``vault rotate``
re-keys the stored complaints (:func:`rotate_keys`) before the old version is retired: a file
imported before a rotation adds nothing when imported again after it. A complaint without a
reporter number has the same key as before tokens were used, whatever the key ring. The token
is kept beside the row too (``reporter_token``), so corroboration counts each complainant once.

Two imports of the same file at once do not fail on the content key: a batch that collides
with rows another transaction committed meanwhile is retried from a savepoint, and finds them
as duplicates (PostgreSQL); SQLite takes its write lock before looking for duplicates.

Two feed shapes: the ``complaints`` data contract, and the US FTC Do-Not-Call complaint file
(:func:`import_ftc`), whose times carry no zone and are read as US Eastern time, the FTC's own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mvnoguard.analytics.contract_files import (
    RowProblem,
    columns_of,
    read_batches,
    spelled_otherwise,
    write_problems,
)
from mvnoguard.analytics.typing_checks import as_text
from mvnoguard.domain.access import Principal
from mvnoguard.domain.calendar import CHINA_TZ, local_date, not_in_future
from mvnoguard.domain.policy import Policy
from mvnoguard.domain.risk import ComplaintCategory
from mvnoguard.domain.subscribers import SubscriberStatus
from mvnoguard.errors import Conflict, DataFileError, InvalidInput, NotFound, refuse_nul
from mvnoguard.identity.vault import PiiVault
from mvnoguard.linkage.callers import (
    REGULATOR_ONLY,
    REPORTERS,
    own_enterprise,
    policy_or_default,
    require_role,
)
from mvnoguard.linkage.numbers import e164, owner_of
from mvnoguard.linkage.risk_numbers import (
    CLEARED,
    REPORTED,
    confirm_if_corroborated,
    distinct_enterprises,
)
from mvnoguard.registry.records import iso_utc
from mvnoguard.storage import audit_log
from mvnoguard.storage.database import hold_locks, hold_write_lock
from mvnoguard.storage.models import Complaint, Enterprise, RiskNumber, Subscriber

MAX_TEXT_CHARS = 4_000
_CHUNK = 500
REPORTER_CONTEXT = "reporter_number"  # the vault context of Complaint.reporter_number_sealed
REPORTER_KIND = "complaint_reporter"  # the vault token kind that stands for it in content keys
# A batch colliding with another import's rows is stored again this many times at most; each
# retry finds every row the other transaction committed, so a second one is already rare.
STORE_ATTEMPTS = 5
MAX_PURPOSE_CHARS = 500
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
    received_at: datetime | None  # None: received now (see :func:`submit`)
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
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "duplicates": self.duplicates,
            "quarantine_file": self.quarantine_file,
            "warnings": list(self.warnings),
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
    reporter: str | None  # in clear in memory only; sealed by the vault before it is stored
    category: ComplaintCategory
    received_at: datetime
    text: str | None
    keys: tuple[str, ...]  # the content key under each vault key version, current first
    submitter: int | None = None  # the enterprise that sent it in (None: regulator, feed)

    @property
    def key(self) -> str:
        return self.keys[0]


def _content_key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def content_keys(
    vault: PiiVault,
    reported: str,
    reporter: str | None,
    category: str,
    received_at: datetime,
    text: str | None,
    submitter: int | None = None,
) -> tuple[str, ...]:
    """A complaint's content key under every key version in the ring, current first.

    SHA-256 over the reported number, the reporter's keyed token (``"v<version>:<hex>"``; empty
    without a reporter), the category, the UTC time and the text, and, for a complaint an
    enterprise sent in, that enterprise's id: the same complaint from two enterprises is two
    rows, so no enterprise learns from a duplicate what another sent. Without a reporter there
    is no token and one key, the same under every key ring.
    """
    tail: tuple[str, ...] = (category, received_at.astimezone(UTC).isoformat(), text or "")
    if submitter is not None:
        tail = (*tail, f"submitter:{submitter}")
    if reporter is None:
        return (_content_key(reported, "", *tail),)
    return tuple(
        _content_key(reported, token, *tail) for token in vault.tokens(REPORTER_KIND, reporter)
    )


def _text(value: str | None) -> str | None:
    text = value.strip() if value else None
    if text:
        refuse_nul(text, field="text")
    if text and len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(
            f"text is longer than {MAX_TEXT_CHARS} characters", code="text_too_long", field="text"
        )
    return text or None


# No complaint about a mobile number under the real-name rules predates this; an earlier time
# (0001-01-01, 1970-01-01) is a placeholder or a typing slip.
EARLIEST_COMPLAINT = datetime(2000, 1, 1, tzinfo=UTC)


def _received(value: datetime, now: datetime, field: str) -> datetime:
    aware = not_in_future(value, now=now, what="the complaint's time", field=field)
    try:
        utc = aware.astimezone(UTC)
    except OverflowError:  # an offset that takes year 1 out of range
        utc = None
    if utc is None or utc < EARLIEST_COMPLAINT:
        raise InvalidInput(
            f"the complaint's time is before {EARLIEST_COMPLAINT.year}",
            code="bad_time",
            field=field,
        )
    return utc


def _category(value: object) -> ComplaintCategory:
    try:
        return ComplaintCategory(str(value).strip().lower())
    except ValueError:
        raise InvalidInput(
            "category must be fraud, harassment, spam or other",
            code="bad_category",
            field="category",
        ) from None


def parse(
    complaint: ComplaintIn, *, now: datetime, vault: PiiVault, submitter: int | None = None
) -> _Parsed:
    """A complaint checked and normalised; raises InvalidInput naming the field at fault.

    ``submitter`` is the id of the enterprise sending it in (None: the regulator, a feed).
    """
    reported = e164(complaint.reported_number, field="reported_number")
    reporter = (
        e164(complaint.reporter_number, field="reporter_number")
        if complaint.reporter_number
        else None
    )
    category = _category(complaint.category)
    at = now if complaint.received_at is None else complaint.received_at
    if not isinstance(at, datetime):
        raise InvalidInput("received_at must be a time", code="bad_time", field="received_at")
    received = _received(at, now, "received_at")
    text = _text(complaint.text)
    keys = content_keys(vault, reported, reporter, category.value, received, text, submitter)
    return _Parsed(reported, reporter, category, received, text, keys, submitter)


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _store(
    session: Session,
    vault: PiiVault,
    parsed: Sequence[_Parsed],
    *,
    source: str,
    now: datetime,
    policy: Policy,
) -> tuple[list[Complaint], int]:
    """Add the complaints not stored yet; returns them and how many were duplicates.

    Another transaction storing the same complaints at the same time (two imports of one file)
    makes the insert fail on the content key once that transaction commits; the batch is then
    rolled back to its savepoint and stored again, which finds those rows as duplicates.
    """
    # SQLite: take the write lock first, so the look-up for duplicates and the inserts after it
    # see every row other writers committed, no other writer can add one in between, and the
    # savepoint below opens inside the caller's transaction (never commits on its own).
    hold_write_lock(session)
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            with session.begin_nested():
                rows = _insert_fresh(session, vault, parsed, source=source, now=now)
            break
        except IntegrityError as exc:
            if not _content_key_clash(exc):
                raise
            if attempt == STORE_ATTEMPTS:
                raise Conflict(
                    "other transactions kept storing the same complaints; try again",
                    code="complaints_busy",
                ) from None
    _touch_risk_entries(session, rows, now=now, policy=policy)
    return rows, len(parsed) - len(rows)


def _content_key_clash(exc: IntegrityError) -> bool:
    message = str(exc.orig)
    return "uq_complaints_content_key" in message or "complaints.content_key" in message


def _insert_fresh(
    session: Session, vault: PiiVault, parsed: Sequence[_Parsed], *, source: str, now: datetime
) -> list[Complaint]:
    """Insert the complaints whose content key (under any key version) is not stored yet."""
    fresh: dict[str, _Parsed] = {}
    for item in parsed:
        fresh.setdefault(item.key, item)
    current_of = {key: item.key for item in fresh.values() for key in item.keys}
    for chunk in _chunks(list(current_of)):
        for known in session.scalars(
            select(Complaint.content_key).where(Complaint.content_key.in_(chunk))
        ):
            fresh.pop(current_of[known], None)
    items = list(fresh.values())
    reporters = [item.reporter for item in items]
    sealed = vault.encrypt_many(reporters, context=REPORTER_CONTEXT)
    tokens = _reporter_tokens(session, vault, reporters)
    owners: dict[str, int | None] = {}
    rows: list[Complaint] = []
    for item, reporter_sealed, token in zip(items, sealed, tokens, strict=True):
        if item.reported not in owners:
            owner = owner_of(session, item.reported)
            owners[item.reported] = owner.id if owner is not None else None
        rows.append(
            Complaint(
                content_key=item.key,
                reported_number=item.reported,
                reporter_number_sealed=reporter_sealed,
                reporter_token=token,
                category=item.category.value,
                received_at=item.received_at,
                text=item.text,
                source=source,
                enterprise_id=owners[item.reported],
                submitter_id=item.submitter,
                created_at=now,
            )
        )
    session.add_all(rows)
    session.flush()
    return rows


def _reporter_tokens(
    session: Session, vault: PiiVault, reporters: Sequence[str | None]
) -> list[str | None]:
    """Each reporter's token, one per person in the store: under the current key version, or
    the older version's token already stored for them. A ring given by MVNOGUARD_VAULT_KEY
    gains versions without ``vault rotate`` re-keying the complaints, and two tokens for one
    complainant would count them twice."""
    tokens = vault.token_many(REPORTER_KIND, reporters)
    if len(vault.ring.versions) == 1:
        return tokens
    known = sorted({r for r in reporters if r is not None})
    older = {
        old: reporter for reporter in known for old in vault.tokens(REPORTER_KIND, reporter)[1:]
    }
    stored: dict[str, str] = {}
    for chunk in _chunks(list(older)):
        for token in session.scalars(
            select(Complaint.reporter_token).where(Complaint.reporter_token.in_(chunk)).distinct()
        ):
            if token is not None:
                stored.setdefault(older[token], token)
    return [
        stored.get(reporter, token) if reporter is not None else token
        for reporter, token in zip(reporters, tokens, strict=True)
    ]


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


def _sent_earlier_today(
    session: Session, vault: PiiVault, item: _Parsed, now: datetime
) -> Complaint | None:
    """The same complaint (number, reporter, category, text) received earlier on ``now``'s day
    (Beijing time), if any.

    A complaint sent without its own time is received "now", so sending it again would make
    another: its content key holds the time. The stored rows of the day with the same number,
    category and text are few; one whose content key is this complaint's key at that row's
    time comes from the same reporter (the key holds the reporter's token).
    """
    day = datetime.combine(local_date(now), time(), tzinfo=CHINA_TZ).astimezone(UTC)
    candidates = session.scalars(
        select(Complaint)
        .where(
            Complaint.reported_number == item.reported,
            Complaint.received_at >= day,
            Complaint.received_at <= now,
            Complaint.category == item.category.value,
            Complaint.submitter_id.is_(None)
            if item.submitter is None
            else Complaint.submitter_id == item.submitter,
        )
        .order_by(Complaint.id)
    )
    for row in candidates:
        if (row.text or None) != item.text:
            continue
        keys = content_keys(
            vault,
            item.reported,
            item.reporter,
            item.category.value,
            row.received_at,
            item.text,
            item.submitter,
        )
        if row.content_key in keys:
            return row
    return None


def submit(
    session: Session,
    principal: Principal | None,
    complaint: ComplaintIn,
    *,
    vault: PiiVault,
    now: datetime,
    policy: Policy | None = None,
) -> ComplaintEntry:
    """One complaint (a citizen's when ``principal`` is None); the same one again adds nothing.

    Without its own time (``received_at`` None) a complaint is received ``now``, and the same
    complaint sent again the same day (Beijing time) is that one. The reporter's number is
    sealed by ``vault``; the answer never carries it.
    """
    if principal is not None:  # inspectors read reputation; complaints come from the others
        require_role(principal, REPORTERS, "submit complaints")
    # An enterprise caller must be one we know; its complaints are kept apart as its own.
    sender = own_enterprise(session, principal) if principal is not None else None
    item = parse(
        complaint, now=now, vault=vault, submitter=sender.id if sender is not None else None
    )
    actor = principal.actor if principal is not None else "citizen"
    if complaint.received_at is None:
        # No other send of it between the look-up and the insert (SQLite and PostgreSQL).
        hold_locks(session, f"complaint:{item.reported}")
        earlier = _sent_earlier_today(session, vault, item, now)
        if earlier is not None:
            return ComplaintEntry(
                earlier.id, item.reported, item.category, earlier.received_at, duplicate=True
            )
    added, _ = _store(
        session, vault, [item], source="api", now=now, policy=policy_or_default(policy)
    )
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
        found = session.scalar(
            select(Complaint).where(Complaint.content_key.in_(item.keys)).limit(1)
        )
        assert found is not None  # _store saw it
        stored = found
    return ComplaintEntry(
        stored.id, item.reported, item.category, item.received_at, duplicate=not added
    )


# -- feed files -------------------------------------------------------------------------------

RowParser = Callable[[dict[str, str | None], datetime, PiiVault], _Parsed]


def _contract_row(raw: dict[str, str | None], now: datetime, vault: PiiVault) -> _Parsed:
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
        vault=vault,
    )


def ftc_category(subject: str | None) -> ComplaintCategory:
    key = re.sub(r"\s+", " ", (subject or "").strip().lower())
    return FTC_SUBJECTS.get(key, ComplaintCategory.OTHER)


# Columns a typed file (Parquet written from a data frame) holds as numbers or times, which
# read back as "4703352559.0" or "2021-07-07 00:01:15.000": the FTC's CSV has no fractions.
_FTC_TYPED = {"Company_Phone_Number", "Created_Date", "Violation_Date", "Consumer_Area_Code"}


def _ftc_cell(raw: dict[str, str | None], name: str) -> str:
    """A cell as the FTC's CSV spells it, for the row's content key."""
    value = raw.get(name) or ""
    return re.sub(r"\.0+$", "", value) if name in _FTC_TYPED else value


def _ftc_row(raw: dict[str, str | None], now: datetime, vault: PiiVault) -> _Parsed:
    """An FTC row; the file names no consumer's number, so there is nothing to seal."""
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
    key = _content_key("ftc", *(_ftc_cell(raw, name) for name in FTC_COLUMNS))
    return _Parsed(reported, None, ftc_category(subject), received, text, (key,))


def _import(
    session: Session,
    path: Path,
    *,
    columns: Sequence[str],
    required: Sequence[str],
    parse_row: RowParser,
    source: str,
    vault: PiiVault,
    quarantine_dir: Path,
    now: datetime,
    policy: Policy | None,
) -> ComplaintImport:
    names = columns_of(path)
    missing = [c for c in required if c not in names]
    if missing:
        raise DataFileError(
            f"{path.name}: missing column(s) {', '.join(missing)}"
            + spelled_otherwise(missing, names),
            field=missing[0],
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
                parsed.append(parse_row(raw, now, vault))
            except InvalidInput as exc:
                problems.append(
                    RowProblem(path.name, row_number, exc.field or "", exc.code, exc.message)
                )
        added, repeated = _store(session, vault, parsed, source=source, now=now, policy=policy)
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
    unknown = [n for n in names if n not in columns]
    warnings = (f"{path.name}: ignored unknown column(s) {', '.join(unknown)}",) if unknown else ()
    return ComplaintImport(accepted, quarantined, duplicates, target, warnings)


def _write_quarantine(
    problems: list[RowProblem], folder: Path, stem: str, now: datetime
) -> str | None:
    if not problems:
        return None
    target = folder / f"{stem}-{now:%Y%m%dT%H%M%S%f}.csv"
    return write_problems(target, sorted(problems, key=lambda p: p.row))


def import_feed(
    session: Session,
    path: Path,
    *,
    vault: PiiVault,
    quarantine_dir: Path,
    now: datetime,
    policy: Policy | None = None,
) -> ComplaintImport:
    """Load a ``complaints`` contract file (CSV or Parquet); reporter numbers are sealed."""
    return _import(
        session,
        path,
        columns=CONTRACT_COLUMNS,
        required=_REQUIRED,
        parse_row=_contract_row,
        source="contract",
        vault=vault,
        quarantine_dir=quarantine_dir,
        now=now,
        policy=policy,
    )


def import_ftc(
    session: Session,
    path: Path,
    *,
    vault: PiiVault,
    quarantine_dir: Path,
    now: datetime,
    policy: Policy | None = None,
) -> ComplaintImport:
    """Load the FTC Do-Not-Call complaint file: US numbers to E.164, category from Subject.

    The file names no consumer's number; ``vault`` is taken like :func:`import_feed` takes it.
    """
    return _import(
        session,
        path,
        columns=FTC_COLUMNS,
        required=("Company_Phone_Number", "Created_Date", "Subject"),
        parse_row=_ftc_row,
        source="ftc",
        vault=vault,
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


# -- the reporter's number --------------------------------------------------------------------


def reveal_reporter(
    session: Session,
    vault: PiiVault,
    principal: Principal,
    complaint_id: int,
    *,
    purpose: str,
    now: datetime,
) -> str | None:
    """The complainant's number (None if the complaint has none), for the regulator's follow-up.

    The access is written to the audit log (actor, complaint id, purpose) before the number is
    opened; the number itself never goes into the log.
    """
    require_role(principal, REGULATOR_ONLY, "read a complainant's number")
    reason = purpose.strip()
    if not reason:
        raise InvalidInput(
            "say why the complainant's number is needed", code="missing_value", field="purpose"
        )
    if len(reason) > MAX_PURPOSE_CHARS:
        raise InvalidInput(
            f"purpose is longer than {MAX_PURPOSE_CHARS} characters",
            code="text_too_long",
            field="purpose",
        )
    # An id beyond a 64-bit key names nothing (and would overflow the driver's integer).
    row = session.get(Complaint, complaint_id) if 0 < complaint_id < 2**63 else None
    if row is None:
        raise NotFound(
            f"no complaint {complaint_id}", code="unknown_complaint", field="complaint_id"
        )
    audit_log.append(
        session,
        actor=principal.actor,
        action="complaint.reveal_reporter",
        subject=f"complaint:{row.id}",
        detail=reason,
        at=now,
    )
    if row.reporter_number_sealed is None:
        return None
    return vault.decrypt(row.reporter_number_sealed, context=REPORTER_CONTEXT)


def rotate_keys(session: Session, vault: PiiVault) -> int:
    """Re-seal every reporter number under the vault's current key version, and re-key its
    complaint with the current version's token; returns how many complaints moved.

    Run by ``vault rotate`` in the transaction that moves the identity records, before the old
    version is retired, so a feed imported before the rotation is still found as duplicates.
    """
    moved = 0
    for row in session.scalars(
        select(Complaint)
        .where(Complaint.reporter_number_sealed.is_not(None))
        .order_by(Complaint.id)
    ).yield_per(1000):
        assert row.reporter_number_sealed is not None  # the query's condition
        reporter = vault.decrypt(row.reporter_number_sealed, context=REPORTER_CONTEXT)
        row.reporter_number_sealed = vault.encrypt(reporter, context=REPORTER_CONTEXT)
        row.reporter_token = vault.token(REPORTER_KIND, reporter)
        row.content_key = content_keys(
            vault,
            row.reported_number,
            reporter,
            row.category,
            row.received_at,
            row.text,
            row.submitter_id,
        )[0]
        moved += 1
    session.flush()
    return moved
