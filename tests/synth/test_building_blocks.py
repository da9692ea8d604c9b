"""Tests of the generator's building blocks: bijections, dates, Arrow strings, documents."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from stdnum.cn import ric

from mvnoguard.identity.documents import validate_document
from mvnoguard.synth.people import Ident, People
from mvnoguard.synth.vectors import AffinePerm, days_from_ymd, fixed_width_strings, ymd


@pytest.mark.parametrize("modulus", [1, 10, 1000, 100_000, 2 * 3 * 5 * 7 * 11 * 13])
def test_affine_permutation_is_a_bijection(modulus: int) -> None:
    perm = AffinePerm(modulus, salt=42)
    out = perm(np.arange(modulus, dtype=np.int64))
    assert np.array_equal(np.sort(out), np.arange(modulus))
    with pytest.raises(ValueError):
        perm(np.array([modulus], dtype=np.int64))


def test_dates_round_trip() -> None:
    days = np.arange(-805, 20_000, 7, dtype=np.int64)
    y, m, d = ymd(days)
    assert np.array_equal(days_from_ymd(y, m, d), days)
    epoch = int(np.flatnonzero(days == 0)[0])
    assert (int(y[epoch]), int(m[epoch]), int(d[epoch])) == (1970, 1, 1)


def test_fixed_width_strings() -> None:
    matrix = np.frombuffer(b"abcdefghijkl", dtype=np.uint8).reshape(3, 4)
    out = fixed_width_strings(
        matrix, np.array([4, 2, 0], dtype=np.int64), np.array([True, False, True])
    )
    assert out.to_pylist() == ["abcd", None, ""]


def test_documents_are_unique_valid_and_consistent() -> None:
    people = People(seed=5, as_of=date(2015, 12, 31))
    n = 20_000
    ids = np.arange(n, dtype=np.int64)
    classes = (Ident.ADULT, Ident.MINOR, Ident.BOUNDARY)
    births = np.full(n, 10_957, dtype=np.int64)  # 2000-01-01, for BOUNDARY
    numbers: list[str] = []
    for ident in classes:
        got = people.identities(np.full(n, ident, dtype=np.int8), ids, births)
        numbers += got.doc_number.to_pylist()
        sample = zip(
            got.doc_type.to_pylist()[:2000],
            got.doc_number.to_pylist()[:2000],
            got.nationality.to_pylist()[:2000],
            strict=True,
        )
        for doc_type, number, nationality in sample:
            check = validate_document(doc_type, number, nationality=nationality)
            assert check.valid, (doc_type, number, check.code)
            if doc_type == "RIC":
                assert ric.calc_check_digit(number) == number[-1]
    assert len(set(numbers)) == len(numbers)
    again = people.identities(np.full(5, Ident.ADULT, dtype=np.int8), ids[:5], births[:5])
    first = people.identities(np.full(n, Ident.ADULT, dtype=np.int8), ids, births)
    assert again.doc_number.to_pylist() == first.doc_number.to_pylist()[:5]
    assert again.name.to_pylist() == first.name.to_pylist()[:5]


@pytest.mark.parametrize(
    ("ident", "code"),
    [
        (Ident.BAD_CHECK, "bad_check_character"),
        (Ident.BAD_DATE, "impossible_birth_date"),
        (Ident.BAD_REGION, "unknown_region"),
        (Ident.FIRST_GEN, "first_generation_card"),
        (Ident.BAD_HKMO, "bad_length"),
        (Ident.BAD_TW, "bad_length"),
        (Ident.BAD_PASSPORT, "bad_nationality"),
    ],
)
def test_spoiled_documents_fail_for_their_reason(ident: Ident, code: str) -> None:
    people = People(seed=1, as_of=date(2015, 12, 31))
    ids = np.arange(500, dtype=np.int64) * 7919
    got = people.identities(np.full(ids.size, ident, dtype=np.int8), ids, ids)
    rows = zip(
        got.doc_type.to_pylist(),
        got.doc_number.to_pylist(),
        got.nationality.to_pylist(),
        strict=True,
    )
    for doc_type, number, nationality in rows:
        assert validate_document(doc_type, number, nationality=nationality).code == code
