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
    number (None without one) and the birth date the document carries (None if none)."""

    codes: list[str | None]
    numbers: list[str | None]
    birth_dates: list[date | None]


def _fixed_width(array: pa.Array, width: int) -> NDArray[np.uint8]:
    """Rows of equal-length ASCII strings as an (n, width) byte matrix."""
    array = pa.array(array.to_pylist(), pa.string()) if array.offset else array
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[: len(array) + 1]
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[-1]].reshape(-1, width)


def _fast_ric(numbers: pa.Array, today: date) -> tuple[NDArray[np.bool_], list[date | None]]:
    """Which of these 18-char ASCII strings are plainly valid RICs, and their birth dates."""
    m = _fixed_width(numbers, 18)
    digits = m[:, :17].astype(np.int64) - _ZERO
    ok = np.all((digits >= 0) & (digits <= 9), axis=1)
    ok &= _CHECK[(digits @ _WEIGHTS) % 11] == m[:, 17]
    year = digits[:, 6] * 1000 + digits[:, 7] * 100 + digits[:, 8] * 10 + digits[:, 9]
    month = digits[:, 10] * 10 + digits[:, 11]
    day = digits[:, 12] * 10 + digits[:, 13]
    region = (digits[:, :6] @ np.array([100000, 10000, 1000, 100, 10, 1])).astype(np.int64)
    births: list[date | None] = [None] * len(m)
    seen_dates: dict[tuple[int, int, int], date | None] = {}
    seen_regions: dict[tuple[int, int], bool] = {}
    for i in np.flatnonzero(ok):
        key = (int(year[i]), int(month[i]), int(day[i]))
        if key not in seen_dates:
            try:
                born: date | None = date(*key)
            except ValueError:
                born = None
            if born is not None and (born.year < 1900 or born > today):
                born = None
            seen_dates[key] = born
        born = seen_dates[key]
        if born is None:
            ok[i] = False
            continue
        region_key = (int(region[i]), born.year)
        if region_key not in seen_regions:
            seen_regions[region_key] = region_problem(f"{region[i]:06d}", born.year) is None
        if not seen_regions[region_key]:
            ok[i] = False
            continue
        births[i] = born
    return ok, births


def check_documents(
    doc_types: pa.Array, numbers: pa.Array, nationalities: pa.Array, *, today: date
) -> DocumentColumn:
    """Check one column of documents; rows without a number get None everywhere."""
    n = len(numbers)
    codes: list[str | None] = [None] * n
    normalised: list[str | None] = [None] * n
    births: list[date | None] = [None] * n
    upper = pc.utf8_upper(numbers)
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
        subset = (
            pc.take(upper, pa.array(fast_rows)).combine_chunks()
            if isinstance(upper, pa.ChunkedArray)
            else pc.take(upper, pa.array(fast_rows))
        )
        ok, fast_births = _fast_ric(subset, today)
        values = subset.to_pylist()
        for j, row in enumerate(fast_rows):
            if ok[j]:
                codes[row] = "ok"
                normalised[row] = values[j]
                births[row] = fast_births[j]
    types = doc_types.to_pylist()
    raw = numbers.to_pylist()
    nations = nationalities.to_pylist()
    for i in range(n):
        if codes[i] is not None or raw[i] is None:
            continue
        check = validate_document(types[i] or "", raw[i], nationality=nations[i], today=today)
        codes[i] = check.code
        normalised[i] = check.number or raw[i]
        births[i] = check.birth_date
    return DocumentColumn(codes, normalised, births)
