"""Turning one batch of a subscriber snapshot into rows of the imported registry.

Typing faults (an unreadable number, date, status...) make a row *bad*: it goes to quarantine
with every reason found, and the rest of the batch is kept. A document that fails its rules is
not a bad row but an audit finding: the row is kept with its check code. Identity numbers and
names leave this module only as ciphertexts, tokens and masked forms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from mvnoguard.analytics import store
from mvnoguard.analytics.contract_files import RowProblem
from mvnoguard.analytics.typing_checks import as_text, parse_dates, parse_floats, parse_timestamps
from mvnoguard.domain.calendar import CHINA_TZ
from mvnoguard.domain.subscribers import ADULT_AGE, SubscriberStatus, VerificationMethod
from mvnoguard.identity.columns import (
    identity_token_column,
    mask_name_column,
    mask_number_column,
)
from mvnoguard.identity.document_batches import check_documents
from mvnoguard.identity.phones import national_digits
from mvnoguard.identity.vault import PiiVault

REQUIRED = ("msisdn", "enterprise_code", "status", "activated_at")
_MSISDN = r"^1\d{10}$"  # the national form a stored subscriber number takes
OPTIONAL = (
    "cancelled_at",
    "doc_type",
    "doc_number",
    "name",
    "birth_date",
    "nationality",
    "verification_method",
    "face_score",
    "outlet_code",
    "guardian_doc_type",
    "guardian_doc_number",
    "agent_doc_type",
    "agent_doc_number",
)
_STATUSES = pa.array([s.value for s in SubscriberStatus])
# Sign-up times before this are placeholders (1900-01-01, 1970-01-01), not real periods.
_EARLIEST = pa.scalar(datetime(2000, 1, 1, tzinfo=UTC), pa.timestamp("us", tz="UTC"))
_METHODS = pa.array([m.value for m in VerificationMethod])


@dataclass
class PreparedBatch:
    table: pa.Table  # store.SUBSCRIBERS rows
    problems: list[RowProblem]


def _column(batch: pa.Table, name: str) -> pa.Array:
    if name in batch.column_names:
        return (
            as_text(batch.column(name))
            if name not in _TYPED
            else batch.column(name).combine_chunks()
        )
    return pa.nulls(batch.num_rows, pa.string())


_TYPED = {"activated_at", "cancelled_at", "birth_date", "face_score"}


def _mask(values: pa.Array) -> NDArrayBool:
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


NDArrayBool = np.ndarray


def prepare(
    batch: pa.Table,
    *,
    file_name: str,
    enterprises: set[str],
    vault: PiiVault,
    now: datetime,
) -> PreparedBatch:
    n = batch.num_rows
    reasons: list[list[tuple[str, str, str]]] = [[] for _ in range(n)]

    def flag(mask: NDArrayBool, field: str, code: str, reason: str) -> None:
        for i in np.flatnonzero(mask):
            reasons[i].append((field, code, reason))

    msisdn = _column(batch, "msisdn")
    valid = _mask(pc.match_substring_regex(msisdn, _MSISDN))
    if not valid.all():  # the other spellings (+86, 0086, 86, spaces, dashes, full width)
        values = msisdn.to_pylist()
        for i in np.flatnonzero(~valid):
            if values[i] is not None:
                values[i] = national_digits(values[i])
        msisdn = pa.array(values, pa.string())
        valid = _mask(pc.match_substring_regex(msisdn, _MSISDN))
    flag(
        ~valid,
        "msisdn",
        "bad_msisdn",
        "not an 11-digit mobile number",
    )
    enterprise = _column(batch, "enterprise_code")
    flag(
        ~_mask(pc.is_in(enterprise, pa.array(sorted(enterprises), pa.string()))),
        "enterprise_code",
        "unknown_enterprise",
        "no such enterprise in enterprises",
    )
    status = pc.utf8_lower(_column(batch, "status"))
    flag(
        ~_mask(pc.is_in(status, _STATUSES)),
        "status",
        "bad_status",
        "status must be active, suspended_out, suspended or cancelled",
    )
    activated, bad = parse_timestamps(_column(batch, "activated_at"))
    flag(
        _mask(bad) | ~_mask(pc.is_valid(activated)),
        "activated_at",
        "bad_timestamp",
        "missing or not an ISO 8601 timestamp of a real date",
    )
    import_time = pa.scalar(now, pa.timestamp("us", tz="UTC"))
    flag(
        _mask(pc.greater(activated, import_time)),
        "activated_at",
        "future_timestamp",
        "activated after the import",
    )
    flag(
        _mask(pc.less(activated, _EARLIEST)),
        "activated_at",
        "implausible_timestamp",
        f"activated before {_EARLIEST.as_py():%Y}: a placeholder, not a sign-up time",
    )
    cancelled, bad = parse_timestamps(_column(batch, "cancelled_at"))
    flag(_mask(bad), "cancelled_at", "bad_timestamp", "not an ISO 8601 timestamp of a real date")
    # A cancellation after the import has not happened: left in, it would also date the
    # snapshot in the future, and no later snapshot of the enterprise could replace it.
    flag(
        _mask(pc.greater(cancelled, import_time)),
        "cancelled_at",
        "future_timestamp",
        "cancelled after the import",
    )
    flag(
        _mask(pc.and_(pc.equal(status, "cancelled"), pc.is_null(cancelled))),
        "cancelled_at",
        "missing_cancelled_at",
        "a cancelled row needs cancelled_at",
    )
    flag(
        _mask(pc.and_(pc.not_equal(status, "cancelled"), pc.is_valid(cancelled))),
        "cancelled_at",
        "unexpected_cancelled_at",
        "a row that is not cancelled cannot have cancelled_at",
    )
    flag(
        _mask(pc.less(cancelled, activated)),
        "cancelled_at",
        "cancelled_before_activated",
        "cancelled before it was activated",
    )
    birth_given, bad = parse_dates(_column(batch, "birth_date"))
    flag(_mask(bad), "birth_date", "bad_date", "not a real YYYY-MM-DD date")
    face, bad = parse_floats(_column(batch, "face_score"))
    flag(
        # NaN compares false with everything: without is_nan it would pass every face check.
        _mask(bad)
        | _mask(pc.or_(pc.or_(pc.less(face, 0.0), pc.greater(face, 1.0)), pc.is_nan(face))),
        "face_score",
        "bad_face_score",
        "face_score must be a number from 0 to 1",
    )
    method = pc.coalesce(pc.utf8_lower(_column(batch, "verification_method")), "none")
    flag(
        ~_mask(pc.is_in(method, _METHODS)),
        "verification_method",
        "bad_verification_method",
        "verification_method must be reader, online, manual or none",
    )
    doc_type = pc.utf8_upper(_column(batch, "doc_type"))
    doc_number = _column(batch, "doc_number")
    flag(
        _mask(pc.and_(pc.is_valid(doc_number), pc.is_null(doc_type))),
        "doc_type",
        "missing_doc_type",
        "a document number without its type",
    )
    for role in ("guardian", "agent"):
        flag(
            _mask(
                pc.and_(
                    pc.is_valid(_column(batch, f"{role}_doc_number")),
                    pc.is_null(_column(batch, f"{role}_doc_type")),
                )
            ),
            f"{role}_doc_type",
            "missing_doc_type",
            f"a {role} document number without its type",
        )

    source_rows = batch.column("source_row").to_pylist()
    problems = [
        RowProblem(file_name, source_rows[i], field, code, reason)
        for i in range(n)
        for field, code, reason in reasons[i]
    ]
    typed = _with_columns(
        batch,
        {
            "msisdn": msisdn,
            "enterprise_code": enterprise,
            "status": status,
            "activated_at": activated,
            "cancelled_at": cancelled,
            "birth_date": birth_given,
            "face_score": face,
            "verification_method": method,
            "doc_type": doc_type,
            "doc_number": doc_number,
        },
    )
    keep = pa.array([not r for r in reasons], pa.bool_())
    if not pc.all(keep).as_py():
        typed = typed.filter(keep)
    return PreparedBatch(_registry_rows(typed, file_name, vault), problems)


def _with_columns(batch: pa.Table, columns: dict[str, pa.Array]) -> pa.Table:
    """The batch with these columns replaced (or added) by their typed versions."""
    for name, array in columns.items():
        if name in batch.column_names:
            batch = batch.set_column(batch.column_names.index(name), name, array)
        else:
            batch = batch.append_column(name, array)
    return batch


def _registry_rows(batch: pa.Table, file_name: str, vault: PiiVault) -> pa.Table:
    """Registry rows from a batch whose contract columns are typed and checked."""

    def typed(name: str) -> pa.Array:
        return batch.column(name).combine_chunks()

    msisdn, enterprise, status = typed("msisdn"), typed("enterprise_code"), typed("status")
    activated, cancelled = typed("activated_at"), typed("cancelled_at")
    birth_given, face, method = (
        typed("birth_date"),
        typed("face_score"),
        typed("verification_method"),
    )
    doc_type, doc_number = typed("doc_type"), typed("doc_number")
    activated_on = pc.cast(
        pc.cast(pc.add(pc.cast(activated, pa.int64()), 8 * 3600 * 1_000_000), pa.timestamp("us")),
        pa.date32(),
    )
    today = datetime.now(CHINA_TZ).date()
    nationality = pc.utf8_upper(_column(batch, "nationality"))
    docs = check_documents(doc_type, doc_number, nationality, today=today)
    given = np.asarray(birth_given.to_numpy(zero_copy_only=False), dtype="datetime64[D]")
    births = np.where(np.isnat(docs.birth_dates), given, docs.birth_dates)
    # An organisation (USCC) has no age, whatever date the file gives (a founding date): as at
    # sign-up, no minimum age applies to it.
    organisation = pc.fill_null(pc.equal(pc.utf8_upper(doc_type), "USCC"), False)
    births = np.where(organisation.to_numpy(zero_copy_only=False), np.datetime64("NaT"), births)
    on = np.asarray(activated_on.to_numpy(zero_copy_only=False), dtype="datetime64[D]")
    names = _column(batch, "name")
    present = pc.is_valid(docs.numbers)
    columns: dict[str, pa.Array | list[object]] = {
        "msisdn": msisdn,
        "enterprise_code": enterprise,
        "status": status,
        "activated_at": activated,
        "activated_on": activated_on,
        "cancelled_at": cancelled,
        "doc_type": pc.if_else(present, doc_type, pa.scalar(None, pa.string())),
        "doc_check": docs.codes,
        "doc_token": identity_token_column(vault, doc_type, docs.numbers, nationality),
        "doc_number_ct": vault.encrypt_many(docs.numbers.to_pylist(), context="doc_number"),
        "doc_masked": mask_number_column(docs.numbers),
        "name_ct": vault.encrypt_many(names.to_pylist(), context="name"),
        "name_masked": mask_name_column(names),
        "nationality": nationality,
        "holder_age": ages_on(births, on),
        "verification_method": method,
        "face_score": face,
        "outlet_code": _column(batch, "outlet_code"),
    }
    for role in ("guardian", "agent"):
        role_types = pc.utf8_upper(_column(batch, f"{role}_doc_type"))
        role_numbers = pc.utf8_upper(
            pc.replace_substring_regex(_column(batch, f"{role}_doc_number"), r"\s+", "")
        )
        role_present = pc.is_valid(role_numbers)
        columns[f"{role}_doc_type"] = pc.if_else(
            role_present, role_types, pa.scalar(None, pa.string())
        )
        tokens = identity_token_column(vault, role_types, role_numbers)
        if role == "guardian":
            # The audit reads a guardian token as "a guardian was recorded": only a valid
            # document counts, as at sign-up. The contract gives no guardian nationality, so a
            # passport is judged on its number.
            unknown = pa.nulls(len(role_types), pa.string())
            checks = check_documents(role_types, role_numbers, unknown, today=today)
            valid = pc.fill_null(
                pc.or_(
                    pc.equal(checks.codes, "ok"),
                    pc.and_(
                        pc.equal(role_types, "PASSPORT"),
                        pc.equal(checks.codes, "bad_nationality"),
                    ),
                ),
                False,
            ).to_pylist()
            # As at sign-up, a guardian is another person and an adult on the activation day (a
            # document without a birth date, a passport, is taken as it stands).
            guardian_ages = ages_on(checks.birth_dates, on).to_pylist()
            holders = columns["doc_token"]
            tokens = [
                t if ok and t != own and (age is None or age >= ADULT_AGE) else None
                for t, ok, own, age in zip(tokens, valid, holders, guardian_ages, strict=True)
            ]
        columns[f"{role}_token"] = tokens
        columns[f"{role}_number_ct"] = vault.encrypt_many(
            role_numbers.to_pylist(), context="doc_number"
        )
    columns["source_file"] = pa.array([file_name] * batch.num_rows, pa.string())
    columns["source_row"] = batch.column("source_row")
    arrays = [
        pa.array(columns[f.name], f.type)
        if isinstance(columns[f.name], list)
        else pc.cast(columns[f.name], f.type)
        for f in store.SUBSCRIBERS
    ]
    return pa.Table.from_arrays(arrays, schema=store.SUBSCRIBERS)


def ages_on(births: NDArray[np.datetime64], on: NDArray[np.datetime64]) -> pa.Array:
    """Full years of age on each date (null where either date is unknown)."""
    unknown = np.isnat(births) | np.isnat(on)
    b = np.where(unknown, np.datetime64("2000-01-01"), births).astype("datetime64[D]")
    d = np.where(unknown, np.datetime64("2000-01-01"), on).astype("datetime64[D]")

    def parts(days: NDArray[np.datetime64]) -> tuple[NDArray[np.int64], ...]:
        months = days.astype("datetime64[M]")
        year = days.astype("datetime64[Y]").astype(np.int64)
        month = months.astype(np.int64) % 12
        day = (days - months.astype("datetime64[D]")).astype(np.int64)
        return year, month, day

    by, bm, bd = parts(b)
    dy, dm, dd = parts(d)
    before_birthday = (dm < bm) | ((dm == bm) & (dd < bd))
    age = dy - by - before_birthday.astype(np.int64)
    return pa.array(age, pa.int16(), mask=unknown)
