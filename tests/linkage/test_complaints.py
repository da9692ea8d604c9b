"""Complaints: one at a time, the contract feed with quarantine, the real FTC file, rates."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, time, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from mvnoguard.domain.calendar import CHINA_TZ
from mvnoguard.domain.policy import Policy
from mvnoguard.domain.risk import ComplaintCategory, RiskCategory, RiskLevel, RiskStatus
from mvnoguard.errors import Forbidden, InvalidInput
from mvnoguard.identity.vault import PiiVault
from mvnoguard.linkage import complaints, risk_numbers
from mvnoguard.linkage.complaints import ComplaintIn
from mvnoguard.linkage.risk_numbers import RiskPush
from mvnoguard.storage.audit_log import verify_chain
from mvnoguard.storage.database import Database
from mvnoguard.storage.models import Complaint
from tests.conftest import skip_or_fail
from tests.linkage.conftest import A_E02, B_E01, E01, E02, INSPECTOR, NOW, plus86
from tests.registry.builders import row_counts

FTC_FILE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "ftc-dnc-complaints-2021-07-08"
    / "dnc_complaint_numbers_2021-07-08.csv"
)


def complaint(
    number: str, minutes: int, category: ComplaintCategory = ComplaintCategory.FRAUD
) -> ComplaintIn:
    return ComplaintIn(number, None, category, NOW - timedelta(minutes=minutes), "claimed police")


def test_complaints_corroborate_a_report(market: Database, vault: PiiVault, policy: Policy) -> None:
    with market.transaction() as session:
        risk_numbers.push(
            session, E02, RiskPush(B_E01, RiskCategory.FRAUD, 0.5, "x"), now=NOW, policy=policy
        )
        complaints.submit(session, None, complaint(B_E01, 3), vault=vault, now=NOW, policy=policy)
        complaints.submit(session, None, complaint(B_E01, 2), vault=vault, now=NOW, policy=policy)
        before = risk_numbers.reputation(session, E01, B_E01, now=NOW, policy=policy)
        complaints.submit(session, None, complaint(B_E01, 1), vault=vault, now=NOW, policy=policy)
        after = risk_numbers.reputation(session, E01, B_E01, now=NOW, policy=policy)
    assert (before.status, before.complaints, before.risk_level) == (
        RiskStatus.REPORTED,
        2,
        RiskLevel.MEDIUM,
    )
    assert (after.status, after.complaints, after.risk_level) == (
        RiskStatus.CONFIRMED,
        3,
        RiskLevel.HIGH,
    )


def test_one_complainant_counts_once_however_often(
    market: Database, vault: PiiVault, policy: Policy
) -> None:
    """Three complaints from one reporter (three texts, three times) are one complainant: the
    report stays unconfirmed until two other reporters complain too."""

    def from_reporter(reporter: str, minutes: int, text: str) -> ComplaintIn:
        at = NOW - timedelta(minutes=minutes)
        return ComplaintIn(B_E01, reporter, ComplaintCategory.FRAUD, at, text)

    with market.transaction() as session:
        risk_numbers.push(
            session, E02, RiskPush(B_E01, RiskCategory.FRAUD, 0.5, "x"), now=NOW, policy=policy
        )
        for minutes, text in ((9, "claimed police"), (8, "asked for a code"), (7, "again")):
            sent = from_reporter("13912340002", minutes, text)
            entry = complaints.submit(session, E01, sent, vault=vault, now=NOW, policy=policy)
            assert not entry.duplicate  # each is stored: a complaint, not a complainant
        alone = risk_numbers.reputation(session, E01, B_E01, now=NOW, policy=policy)
        sent = from_reporter("13912340003", 6, "claimed police")
        complaints.submit(session, E01, sent, vault=vault, now=NOW, policy=policy)
        two = risk_numbers.reputation(session, E01, B_E01, now=NOW, policy=policy)
        sent = from_reporter("13912340004", 5, "claimed police")
        complaints.submit(session, E01, sent, vault=vault, now=NOW, policy=policy)
        three = risk_numbers.reputation(session, E01, B_E01, now=NOW, policy=policy)
    assert (alone.status, alone.complaints, alone.complainants) == (RiskStatus.REPORTED, 3, 1)
    assert (two.status, two.complaints, two.complainants) == (RiskStatus.REPORTED, 4, 2)
    assert (three.status, three.complaints, three.complainants) == (RiskStatus.CONFIRMED, 5, 3)


def test_complaints_without_a_reporter_count_one_by_one(
    market: Database, vault: PiiVault, policy: Policy
) -> None:
    with market.transaction() as session:
        for minutes in range(3):
            complaints.submit(
                session, None, complaint(A_E02, minutes), vault=vault, now=NOW, policy=policy
            )
        sent = ComplaintIn(A_E02, "13912340002", ComplaintCategory.FRAUD, NOW, "claimed police")
        complaints.submit(session, E01, sent, vault=vault, now=NOW, policy=policy)
        seen = risk_numbers.reputation(session, E01, A_E02, now=NOW, policy=policy)
    assert (seen.complaints, seen.complainants, seen.risk_level) == (4, 4, RiskLevel.MEDIUM)


def test_an_enterprise_never_backs_its_own_report(
    market: Database, vault: PiiVault, policy: Policy
) -> None:
    """E02 reports a number and sends in three complaints itself: the report stays unconfirmed
    (its complaints still show in the reputation); three from elsewhere confirm it."""

    def sent(reporter: str, minutes: int) -> ComplaintIn:
        at = NOW - timedelta(minutes=minutes)
        return ComplaintIn(B_E01, reporter, ComplaintCategory.FRAUD, at, "claimed police")

    with market.transaction() as session:
        risk_numbers.push(
            session, E02, RiskPush(B_E01, RiskCategory.FRAUD, 0.5, "x"), now=NOW, policy=policy
        )
        for n in range(3):
            complaints.submit(session, E02, sent(f"1391234000{n}", 9), vault=vault, now=NOW)
        own = risk_numbers.reputation(session, E01, B_E01, now=NOW, policy=policy)
        for n in range(3):
            complaints.submit(session, E01, sent(f"1391234001{n}", 8), vault=vault, now=NOW)
        backed = risk_numbers.reputation(session, E01, B_E01, now=NOW, policy=policy)
    assert (own.status, own.complaints, own.complainants) == (RiskStatus.REPORTED, 3, 3)
    assert (backed.status, backed.complaints, backed.complainants) == (
        RiskStatus.CONFIRMED,
        6,
        6,
    )


def test_an_enterprise_complaints_without_reporters_count_once_together(
    market: Database, vault: PiiVault, policy: Policy
) -> None:
    with market.transaction() as session:
        risk_numbers.push(
            session, E02, RiskPush(A_E02, RiskCategory.FRAUD, 0.5, "x"), now=NOW, policy=policy
        )
        for n in range(4):
            made_up = ComplaintIn(A_E02, None, ComplaintCategory.FRAUD, NOW, f"text {n}")
            complaints.submit(session, E01, made_up, vault=vault, now=NOW, policy=policy)
        seen = risk_numbers.reputation(session, E01, A_E02, now=NOW, policy=policy)
    assert (seen.status, seen.complaints, seen.complainants) == (RiskStatus.REPORTED, 4, 1)


def test_a_duplicate_answers_only_its_own_sender(
    market: Database, vault: PiiVault, policy: Policy
) -> None:
    """The same complaint from another enterprise is its own row: a duplicate answer would tell
    E02 that E01 heard from that very complainant, and when."""
    same = ComplaintIn(B_E01, "13912345678", ComplaintCategory.FRAUD, NOW, None)
    with market.transaction() as session:
        first = complaints.submit(session, E01, same, vault=vault, now=NOW, policy=policy)
        guess = complaints.submit(session, E02, same, vault=vault, now=NOW, policy=policy)
        again = complaints.submit(session, E02, same, vault=vault, now=NOW, policy=policy)
        seen = risk_numbers.reputation(session, E01, B_E01, now=NOW, policy=policy)
    assert (first.duplicate, guess.duplicate, again.duplicate) == (False, False, True)
    assert guess.complaint_id != first.complaint_id
    assert again.complaint_id == guess.complaint_id
    assert (seen.complaints, seen.complainants) == (2, 1)


def test_complaints_alone_never_confirm(market: Database, vault: PiiVault, policy: Policy) -> None:
    with market.transaction() as session:
        for minutes in range(5):
            complaints.submit(
                session, None, complaint(A_E02, minutes), vault=vault, now=NOW, policy=policy
            )
        seen = risk_numbers.reputation(session, E01, A_E02, now=NOW, policy=policy)
        feed = risk_numbers.changes(session, E01, since=0, limit=10)
    assert (seen.status, seen.complaints, seen.risk_level) == (None, 5, RiskLevel.MEDIUM)
    assert feed.items == []


def test_the_same_complaint_twice_is_stored_once(
    market: Database, vault: PiiVault, policy: Policy
) -> None:
    with market.transaction() as session:
        first = complaints.submit(
            session, E01, complaint(B_E01, 1), vault=vault, now=NOW, policy=policy
        )
        again = complaints.submit(
            session, E01, complaint(B_E01, 1), vault=vault, now=NOW, policy=policy
        )
        stored = session.scalar(select(func.count(Complaint.id)))
    assert (first.duplicate, again.duplicate) == (False, True)
    assert first.complaint_id == again.complaint_id
    assert stored == 1


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (ComplaintIn("999", None, ComplaintCategory.SPAM, NOW, None), "bad_number"),
        (ComplaintIn(B_E01, "abc", ComplaintCategory.SPAM, NOW, None), "bad_number"),
        (ComplaintIn(B_E01, None, "noise", NOW, None), "bad_category"),  # type: ignore[arg-type]
        (
            ComplaintIn(B_E01, None, ComplaintCategory.SPAM, NOW + timedelta(days=1), None),
            "future_time",
        ),
        (ComplaintIn(B_E01, None, ComplaintCategory.SPAM, NOW, "x" * 4001), "text_too_long"),
    ],
)
def test_a_refused_complaint_leaves_nothing(
    market: Database, vault: PiiVault, policy: Policy, bad: ComplaintIn, code: str
) -> None:
    before = row_counts(market)
    with pytest.raises(InvalidInput) as refused, market.transaction() as session:
        complaints.submit(session, None, bad, vault=vault, now=NOW, policy=policy)
    assert refused.value.code == code
    assert row_counts(market) == before


CONTRACT_ROWS = [
    ["reported_number", "reporter_number", "category", "received_at", "text"],
    [B_E01, "13800138000", "fraud", "2016-05-31T09:00:00+08:00", "said I won a prize"],
    ["+1 415 555 0123", "", "spam", "2016-05-30 10:00:00", ""],
    ["", "", "spam", "2016-05-30T10:00:00+08:00", ""],  # no number
    ["12345", "", "spam", "2016-05-30T10:00:00+08:00", ""],  # not a number
    [B_E01, "", "nuisance", "2016-05-30T10:00:00+08:00", ""],  # unknown category
    [B_E01, "", "spam", "yesterday", ""],  # not a time
    [B_E01, "13800138000", "fraud", "2016-05-31T09:00:00+08:00", "said I won a prize"],  # repeat
]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_the_contract_feed_quarantines_bad_rows_and_imports_once(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    feed = write_csv(tmp_path / "complaints.csv", CONTRACT_ROWS)
    with feed.open("a", encoding="utf-8") as handle:
        handle.write("only,three,fields\n")
    with market.transaction() as session:
        result = complaints.import_feed(
            session, feed, vault=vault, quarantine_dir=tmp_path / "q", now=NOW, policy=policy
        )
    assert (result.accepted, result.quarantined, result.duplicates) == (2, 5, 1)
    assert result.quarantine_file is not None
    with Path(result.quarantine_file).open(encoding="utf-8") as handle:
        quarantined = list(csv.DictReader(handle))
    assert [(q["row"], q["field"], q["code"]) for q in quarantined] == [
        ("3", "reported_number", "missing_value"),
        ("4", "reported_number", "bad_number"),
        ("5", "category", "bad_category"),
        ("6", "received_at", "bad_time"),
        ("8", "", "wrong_field_count"),
    ]
    assert {q["file"] for q in quarantined} == {"complaints.csv"}
    with market.transaction() as session:
        again = complaints.import_feed(
            session, feed, vault=vault, quarantine_dir=tmp_path / "q", now=NOW, policy=policy
        )
        stored = session.scalars(select(Complaint).order_by(Complaint.id)).all()
        assert verify_chain(session).ok
    assert (again.accepted, again.duplicates) == (0, 3)
    assert [(c.reported_number, c.category, c.enterprise_id is not None) for c in stored] == [
        (plus86(B_E01), "fraud", True),
        ("+14155550123", "spam", False),
    ]
    # A time without a zone is Beijing time.
    assert stored[1].received_at == datetime(2016, 5, 30, 2, 0, tzinfo=UTC)


def test_the_contract_feed_reads_parquet(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    header, *rows = CONTRACT_ROWS[:3]
    table = pa.table({name: [row[i] or None for row in rows] for i, name in enumerate(header)})
    pq.write_table(table, tmp_path / "complaints.parquet")
    with market.transaction() as session:
        result = complaints.import_feed(
            session,
            tmp_path / "complaints.parquet",
            vault=vault,
            quarantine_dir=tmp_path,
            now=NOW,
            policy=policy,
        )
    assert (result.accepted, result.quarantined, result.duplicates) == (2, 0, 0)


def test_complaint_rates_per_10k_live_users(
    market: Database, vault: PiiVault, policy: Policy
) -> None:
    with market.transaction() as session:
        for minutes in range(3):
            complaints.submit(
                session, None, complaint(B_E01, minutes), vault=vault, now=NOW, policy=policy
            )
        complaints.submit(session, None, complaint(A_E02, 1), vault=vault, now=NOW, policy=policy)
        complaints.submit(
            session, None, complaint(A_E02, 60 * 24 * 40), vault=vault, now=NOW, policy=policy
        )  # before the period
        rates = complaints.complaint_rates(
            session, since=NOW - timedelta(days=30), until=NOW + timedelta(seconds=1)
        )
    assert [r.to_json() for r in rates] == [
        {"enterprise_code": "E01", "complaints": 3, "live_users": 2, "per_10k_users": 15000.0},
        {"enterprise_code": "E02", "complaints": 1, "live_users": 1, "per_10k_users": 10000.0},
        {"enterprise_code": "E03", "complaints": 0, "live_users": 1, "per_10k_users": 0.0},
    ]


def test_the_ftc_subjects_map_to_categories() -> None:
    assert (
        complaints.ftc_category(
            "Calls pretending to be government, businesses, or family and friends"
        )
        is ComplaintCategory.FRAUD
    )
    assert complaints.ftc_category("Warranties  & protection plans") is ComplaintCategory.SPAM
    assert complaints.ftc_category("Dropped call or no message") is ComplaintCategory.HARASSMENT
    assert complaints.ftc_category("No Subject Provided") is ComplaintCategory.OTHER
    assert complaints.ftc_category("A subject added next year") is ComplaintCategory.OTHER


def test_the_real_ftc_file_imports_with_counts(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    if not FTC_FILE.is_file():
        skip_or_fail(f"the FTC complaint file is missing: {FTC_FILE}")
    with FTC_FILE.open(encoding="utf-8") as handle:
        raw = list(csv.reader(handle))[1:]
    blank_numbers = sum(1 for row in raw if not row[0].strip())
    verbatim_repeats = len(raw) - len({tuple(row) for row in raw})
    now = datetime(2021, 7, 9, tzinfo=UTC)
    with market.transaction() as session:
        result = complaints.import_ftc(
            session, FTC_FILE, vault=vault, quarantine_dir=tmp_path, now=now, policy=policy
        )
    assert result.accepted + result.quarantined + result.duplicates == len(raw) == 14_034
    assert result.duplicates == verbatim_repeats
    assert result.quarantined >= blank_numbers == 669
    assert result.accepted > 13_000  # most numbers are valid US numbers
    assert result.quarantine_file is not None
    with Path(result.quarantine_file).open(encoding="utf-8") as handle:
        codes = {row["code"] for row in csv.DictReader(handle)}
    assert codes <= {"missing_value", "bad_number", "bad_time"}
    with market.transaction() as session:
        by_category = dict(
            session.execute(
                select(Complaint.category, func.count(Complaint.id)).group_by(Complaint.category)
            ).all()
        )
        top = risk_numbers.reputation(session, E01, "+1 315-232-8257", now=now, policy=policy)
        again = complaints.import_ftc(
            session, FTC_FILE, vault=vault, quarantine_dir=tmp_path, now=now, policy=policy
        )
    assert sum(by_category.values()) == result.accepted
    assert set(by_category) == {"fraud", "harassment", "spam", "other"}
    assert (top.complaints, top.risk_level, top.status) == (42, RiskLevel.MEDIUM, None)
    assert (again.accepted, again.duplicates) == (0, result.accepted + result.duplicates)
    # The same rows as a typed Parquet file (numbers as integers, times as timestamps) are the
    # same complaints.
    typed = tmp_path / "ftc.parquet"
    pq.write_table(pa_csv.read_csv(FTC_FILE), typed)
    with market.transaction() as session:
        as_parquet = complaints.import_ftc(
            session, typed, vault=vault, quarantine_dir=tmp_path, now=now, policy=policy
        )
    assert (as_parquet.accepted, as_parquet.duplicates) == (0, result.accepted + result.duplicates)


@pytest.mark.parametrize(
    "received_at",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),  # out of range in UTC
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
    ],
)
def test_a_placeholder_time_is_refused(
    market: Database, vault: PiiVault, policy: Policy, received_at: datetime
) -> None:
    before = row_counts(market)
    placeholder = ComplaintIn(B_E01, None, ComplaintCategory.FRAUD, received_at, "x")
    with market.transaction() as session, pytest.raises(InvalidInput) as refused:
        complaints.submit(session, None, placeholder, vault=vault, now=NOW, policy=policy)
    assert (refused.value.code, refused.value.field) == ("bad_time", "received_at")
    assert row_counts(market) == before


def test_an_inspector_cannot_submit_complaints(
    market: Database, vault: PiiVault, policy: Policy
) -> None:
    with market.transaction() as session, pytest.raises(Forbidden):
        complaints.submit(session, INSPECTOR, complaint(B_E01, 1), vault=vault, now=NOW)


def test_a_complaint_without_its_time_sent_again_the_same_day_is_one(
    market: Database, vault: PiiVault, policy: Policy
) -> None:
    """Three sends of one complaint corroborate nothing; another reporter, or the next day
    (Beijing time), is another complaint."""

    def send(reporter: str, now: datetime) -> complaints.ComplaintEntry:
        sent = ComplaintIn(B_E01, reporter, ComplaintCategory.FRAUD, None, "same complaint")
        with market.transaction() as session:
            return complaints.submit(session, E01, sent, vault=vault, now=now, policy=policy)

    first = send("13912340002", NOW)
    again = [send("13912340002", NOW + timedelta(minutes=m)) for m in (1, 2)]
    assert not first.duplicate
    assert [(e.duplicate, e.complaint_id, e.received_at) for e in again] == [
        (True, first.complaint_id, first.received_at)
    ] * 2
    other = send("13912340003", NOW + timedelta(minutes=3))
    midnight = datetime.combine(NOW.astimezone(CHINA_TZ).date(), time(), tzinfo=CHINA_TZ)
    tomorrow = send("13912340002", midnight + timedelta(days=1, minutes=1))
    assert not other.duplicate and not tomorrow.duplicate
    with market.transaction() as session:
        assert session.scalar(select(func.count(Complaint.id))) == 3


def test_a_row_whose_text_holds_nul_is_quarantined_and_sinks_nothing_else(
    market: Database, vault: PiiVault, policy: Policy, tmp_path: Path
) -> None:
    feed = write_csv(
        tmp_path / "complaints.csv",
        [
            CONTRACT_ROWS[0],
            [B_E01, "", "spam", "2016-05-30T10:00:00+08:00", "a\x00b"],
            [B_E01, "", "spam", "2016-05-30T11:00:00+08:00", "fine"],
        ],
    )
    with market.transaction() as session:
        result = complaints.import_feed(
            session, feed, vault=vault, quarantine_dir=tmp_path, now=NOW, policy=policy
        )
    assert (result.accepted, result.quarantined) == (1, 1)
    assert result.quarantine_file is not None
    with Path(result.quarantine_file).open(encoding="utf-8") as handle:
        assert [(r["row"], r["code"]) for r in csv.DictReader(handle)] == [("1", "bad_value")]
