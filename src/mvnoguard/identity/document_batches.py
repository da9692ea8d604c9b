"""Document checks for a whole column at once, for the bulk registry import.

Millions of resident identity card numbers are checked per snapshot; one Python call per
number would dominate the import. This module settles the plainly valid RICs with array
arithmetic and hands everything else to :func:`validate_document`, so every code and message
still comes from that one validator. The fast path only ever answers "ok", and only when the
same conditions hold that ``validate_document`` checks: 18 ASCII characters, MOD 11-2 check
character, a real birth date from 1900 to today, and a region code ``region_problem`` accepts
for that birth year. A test holds the two to agreement on random input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from mvnoguard.identity.documents import region_problem, validate_document

_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_ZERO = ord("0")


@dataclass(frozen=True)
class DocumentColumn:
    """Per row: the check code ("ok" when valid; None without a document), the normalised
    number (None without one) and the birth date the document carries (NaT if none)."""

    codes: pa.Array
    numbers: pa.Array
    birth_dates: NDArray[np.datetime64]


def _fixed_width(array: pa.Array, width: int) -> NDArray[np.uint8]:
    """Rows of equal-length ASCII strings as an (n, width) byte matrix."""
    array = pa.array(array.to_pylist(), pa.string()) if array.offset else array
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[: len(array) + 1]
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[-1]].reshape(-1, width)


def _dates(
    year: NDArray[np.int64], month: NDArray[np.int64], day: NDArray[np.int64]
) -> tuple[NDArray[np.bool_], NDArray[np.datetime64]]:
    """Which (year, month, day) triples are real dates, and those dates."""
    real = (month >= 1) & (month <= 12) & (day >= 1) & (year >= 1900)
    months = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
    start = months.astype("datetime64[D]")
    days = start + (np.clip(day, 1, 31) - 1).astype("timedelta64[D]")
    real &= days < (months + 1).astype("datetime64[D]")
    return real, days


def _fast_ric(numbers: pa.Array, today: date) -> tuple[NDArray[np.bool_], NDArray[np.datetime64]]:
    """Which of these 18-char ASCII strings are plainly valid RICs, and their birth dates."""
    m = _fixed_width(numbers, 18)
    digits = m[:, :17].astype(np.int64) - _ZERO
    ok = np.all((digits >= 0) & (digits <= 9), axis=1)
    digits = np.clip(digits, 0, 9)
    ok &= _CHECK[(digits @ _WEIGHTS) % 11] == m[:, 17]
    year = digits[:, 6:10] @ np.array([1000, 100, 10, 1])
    month = digits[:, 10:12] @ np.array([10, 1])
    day = digits[:, 12:14] @ np.array([10, 1])
    real, born = _dates(year, month, day)
    ok &= real & (born <= np.datetime64(today, "D"))
    rows = np.flatnonzero(ok)
    if len(rows):
        region = digits[rows, :6] @ np.array([100000, 10000, 1000, 100, 10, 1])
        keys, inverse = np.unique(region * 10000 + year[rows], return_inverse=True)
        fine = np.array(
            [region_problem(f"{k // 10000:06d}", int(k % 10000)) is None for k in keys.tolist()]
        )
        ok[rows] &= fine[inverse.ravel()]
    return ok, np.where(ok, born, np.datetime64("NaT", "D"))


def check_documents(
    doc_types: pa.Array, numbers: pa.Array, nationalities: pa.Array, *, today: date
) -> DocumentColumn:
    """Check one column of documents; rows without a number get None (NaT) everywhere."""
    n = len(numbers)
    codes = np.full(n, None, dtype=object)
    births = np.full(n, np.datetime64("NaT", "D"), dtype="datetime64[D]")
    upper = pc.utf8_upper(numbers)
    normalised = upper.to_pylist()
    candidate = pc.fill_null(
        pc.and_(
            pc.and_(
                pc.equal(pc.utf8_upper(doc_types), "RIC"), pc.equal(pc.binary_length(upper), 18)
            ),
            pc.string_is_ascii(upper),
        ),
        False,
    )
    fast_rows = np.flatnonzero(candidate.to_numpy(zero_copy_only=False))
    if len(fast_rows):
        ok, fast_births = _fast_ric(pc.take(upper, pa.array(fast_rows)), today)
        codes[fast_rows[ok]] = "ok"
        births[fast_rows[ok]] = fast_births[ok]
    slow = np.flatnonzero((codes == None) & pc.is_valid(numbers).to_numpy(zero_copy_only=False))  # noqa: E711
    if len(slow):
        types = doc_types.to_pylist()
        raw = numbers.to_pylist()
        nations = nationalities.to_pylist()
        for i in slow.tolist():
            check = validate_document(types[i] or "", raw[i], nationality=nations[i], today=today)
            codes[i] = check.code
            normalised[i] = check.number or raw[i]
            if check.birth_date is not None:
                births[i] = np.datetime64(check.birth_date, "D")
    return DocumentColumn(pa.array(codes, pa.string()), pa.array(normalised, pa.string()), births)
