"""Synthetic people: identity documents, birth dates, genders and names, built vectorised.

A person is an integer id plus an identity class (:class:`Ident`). Everything about the
person is a pure function of the two and the seed, so the same person carries the same
document, name and birth date at every enterprise. Document numbers are unique by
construction: the fields of a resident identity card (RIC) number (region, birth date,
sequence code) are an affine bijection of the id, and the three spaces used (adults, minors,
people who turn 16 on their activation day) have disjoint birth dates or sequence codes.

Region codes come from python-stdnum's GB/T 2260 table, restricted to county-level codes
never abolished (no end year; see :func:`county_codes`).
Invalid documents are the holder's real number spoiled one way (check character, an
impossible month, a region code outside the table, a 15-digit first-generation card, a permit
of the wrong length, a passport of no real country), always injectively, so two invalid
documents never merge into one identity by accident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum
from functools import lru_cache
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray
from stdnum import numdb

from mvnoguard.domain.documents import DocType

from .names import chinese_names, latin_names
from .vectors import (
    AffinePerm,
    IntArray,
    date_to_days,
    digits,
    fixed_width_strings,
    pick_index,
    salt_of,
    take_strings,
    unit_hash,
    ymd,
)

__all__ = [
    "ADULT_BIRTH_FIRST",
    "ADULT_BIRTH_LAST",
    "DOC_TYPES",
    "NATIONALITIES",
    "Ident",
    "Identities",
    "People",
    "county_codes",
]


class Ident(IntEnum):
    """Identity class of a subscriber row."""

    ADULT = 0  # document type by hash: RIC (mostly), HKMO, TW or PASSPORT
    MINOR = 1  # RIC, under 16 on any activation day
    BOUNDARY = 2  # RIC, birth date given per row (16th birthday on or just after activation)
    UNREGISTERED = 3  # no document at all
    BAD_CHECK = 4  # RIC with a wrong check character
    BAD_DATE = 5  # RIC with month 13-24
    BAD_REGION = 6  # RIC with a region code outside the table
    FIRST_GEN = 7  # 15-digit first-generation card
    BAD_HKMO = 8  # HKMO permit with 9 digits
    BAD_TW = 9  # TW permit with 9 digits
    BAD_PASSPORT = 10  # passport with nationality ZZZ (no such country)


_RIC_IDENTS: Final = (
    Ident.MINOR,
    Ident.BOUNDARY,
    Ident.BAD_CHECK,
    Ident.BAD_DATE,
    Ident.BAD_REGION,
    Ident.FIRST_GEN,
)

DOC_TYPES: Final = (DocType.RIC.value, DocType.HKMO.value, DocType.TW.value, DocType.PASSPORT.value)
_RIC, _HKMO, _TW, _PASSPORT = 0, 1, 2, 3
_DOC_TYPE_WEIGHTS: Final = (0.970, 0.009, 0.006, 0.015)

ADULT_BIRTH_FIRST: Final = date(1945, 1, 1)
ADULT_BIRTH_LAST: Final = date(1995, 12, 31)  # 18 or older on the first activation day

# Passport nationalities: ISO 3166-1 alpha-3, weight, first character of the number,
# name group. The last entry is the planted invalid one (no such country).
_PASSPORTS: Final = (
    ("KOR", 0.25, "M", 0),
    ("USA", 0.12, "A", 2),
    ("JPN", 0.12, "T", 1),
    ("RUS", 0.08, "7", 3),
    ("VNM", 0.08, "B", 4),
    ("GBR", 0.05, "5", 2),
    ("DEU", 0.04, "C", 5),
    ("FRA", 0.04, "1", 5),
    ("CAN", 0.04, "G", 2),
    ("AUS", 0.04, "P", 2),
    ("MYS", 0.03, "A", 6),
    ("SGP", 0.03, "E", 6),
    ("THA", 0.03, "S", 6),
    ("IND", 0.03, "K", 6),
    ("PAK", 0.02, "F", 6),
)
NATIONALITIES: Final = ("CHN", *(p[0] for p in _PASSPORTS), "ZZZ")
_CHN, _ZZZ = 0, len(NATIONALITIES) - 1

_RIC_WEIGHTS: Final = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], np.int64)
_RIC_CHECK: Final = np.frombuffer(b"10X98765432", dtype=np.uint8)
_ZERO: Final = ord("0")
_UNKNOWN_REGION_BASE: Final = 900_000  # provinces 90-99 do not exist
_LATEST_START: Final = 1990


@lru_cache(maxsize=1)
def county_codes() -> IntArray:
    """County-level region codes never abolished, ascending.

    Codes whose table entry carries no period, or only a start year up to 1990 (the table
    marks most codes ``[1983-]``, where its history begins), are current and were in use for
    the holders' whole lives as far as any validator can tell.
    """
    codes: list[int] = []
    for _len, province, _hi, _props, children in numdb.get("cn/loc").prefixes:
        if province in ("71", "81", "82"):  # Taiwan, Hong Kong, Macao: not on mainland cards
            continue
        for _len2, county, _hi2, props, _children in children:
            name = props.get("county", "")
            if county.endswith("00") or "," in name or name.endswith("市辖区"):
                continue
            period = re.match(r"\[(\d{4})?-(\d{4})?\]", name)
            if period is not None and (
                period.group(2) or not period.group(1) or int(period.group(1)) > _LATEST_START
            ):
                continue
            codes.append(int(province + county))
    out = np.array(sorted(codes), dtype=np.int64)
    assert out.size < 100_000 and not (out >= _UNKNOWN_REGION_BASE).any()
    return out


@dataclass(frozen=True, slots=True)
class _RicSpace:
    """A bijection from ids to (region index, birth day, sequence code)."""

    dates: IntArray  # epoch days allowed as birth dates
    seq_first: int
    seq_count: int
    perm: AffinePerm

    def parts(self, ids: IntArray, regions: int) -> tuple[IntArray, IntArray, IntArray]:
        x = self.perm(ids)
        region = x % regions
        x //= regions
        day = self.dates[x % self.dates.size]
        seq = self.seq_first + x // self.dates.size
        return region, day, seq


@dataclass(frozen=True, slots=True)
class Identities:
    """Document and personal columns of a batch of rows (Arrow arrays, nulls where missing)."""

    doc_type: pa.Array
    doc_number: pa.Array
    name: pa.Array
    birth_days: IntArray  # epoch days; meaningless where unregistered
    nationality: pa.Array


class People:
    """Builds everything about people from ids, under one seed and one as-of date.

    Ids must stay below 10**8 (permit and passport numbers are 8-digit bijections of the id;
    a larger id raises ``ValueError``), which the market reaches at a scale of about 6.
    """

    def __init__(self, seed: int, as_of: date) -> None:
        self.seed = seed
        self.regions = county_codes()
        r = int(self.regions.size)
        first, last = date_to_days(ADULT_BIRTH_FIRST), date_to_days(ADULT_BIRTH_LAST)
        adult_dates = np.arange(first, last + 1, dtype=np.int64)
        self._adult = _RicSpace(
            adult_dates, 0, 1000, AffinePerm(r * adult_dates.size * 1000, salt_of(seed, "adult"))
        )
        # Minors: born after as_of - 16 years, so under 16 on every activation day; no
        # 29 February (age arithmetic conventions differ on it).
        lo = _years_before(as_of, 16) + timedelta(days=1)
        minor_dates = np.arange(
            date_to_days(lo), date_to_days(_years_before(as_of, 12)) + 1, dtype=np.int64
        )
        _, mm, dd = ymd(minor_dates)
        minor_dates = minor_dates[~((mm == 2) & (dd == 29))]
        self._minor = _RicSpace(
            minor_dates, 0, 500, AffinePerm(r * minor_dates.size * 500, salt_of(seed, "minor"))
        )
        # Boundary people: birth date set per row; region and sequence code (500-999, apart
        # from the minors' 0-499) from the id.
        self._boundary = AffinePerm(r * 500, salt_of(seed, "boundary"))
        self._permit = AffinePerm(10**8, salt_of(seed, "permit"))
        self._tw = AffinePerm(10**8, salt_of(seed, "tw"))
        self._passport = AffinePerm(10**8, salt_of(seed, "passport"))
        self._bad_permit = AffinePerm(10**9, salt_of(seed, "bad-permit"))
        self._salts = {k: salt_of(seed, k) for k in ("doc", "gender", "name", "nat", "bad")}
        self._pass_cum = np.cumsum([p[1] for p in _PASSPORTS])
        self._pass_cum /= self._pass_cum[-1]
        self._doc_cum = np.cumsum(_DOC_TYPE_WEIGHTS)

    # -- person attributes ------------------------------------------------------------------

    def adult_doc_kind(self, ids: IntArray) -> IntArray:
        """0 RIC, 1 HKMO, 2 TW, 3 PASSPORT for people of class ADULT."""
        return pick_index(unit_hash(ids, self._salts["doc"]), self._doc_cum)

    def minor_birth_days(self, ids: IntArray) -> IntArray:
        return self._minor.parts(ids, int(self.regions.size))[1]

    def adult_ric_matrix(self, ids: IntArray) -> NDArray[np.uint8]:
        """Valid adult RIC numbers (guardians, agents) as rows of 18 ASCII bytes."""
        region, day, seq = self._adult.parts(ids, int(self.regions.size))
        matrix, _check = self._ric_matrix(self.regions[region], day, seq)
        return matrix

    def identities(self, ident: NDArray[np.int8], ids: IntArray, birth: IntArray) -> Identities:
        """Document and personal columns for rows of identity class ``ident``.

        ``birth`` is used for BOUNDARY rows (their birth date depends on the activation day).
        """
        n = ids.size
        r = int(self.regions.size)
        kind = np.full(n, -1, dtype=np.int64)
        adult = ident == Ident.ADULT
        kind[adult] = self.adult_doc_kind(ids[adult])
        ric_like = np.isin(ident, [int(k) for k in _RIC_IDENTS])
        kind[ric_like] = _RIC
        kind[ident == Ident.BAD_HKMO] = _HKMO
        kind[ident == Ident.BAD_TW] = _TW
        kind[ident == Ident.BAD_PASSPORT] = _PASSPORT
        registered = ident != Ident.UNREGISTERED

        # RIC fields for every row (cheap), then the right space per class.
        region, day, seq = self._adult.parts(ids, r)
        minor = ident == Ident.MINOR
        if minor.any():
            m_region, m_day, m_seq = self._minor.parts(ids[minor], r)
            region[minor], day[minor], seq[minor] = m_region, m_day, m_seq
        boundary = ident == Ident.BOUNDARY
        if boundary.any():
            x = self._boundary(ids[boundary])
            region[boundary] = x % r
            seq[boundary] = 500 + x // r
            day[boundary] = birth[boundary]
        code = self.regions[region]
        code[ident == Ident.BAD_REGION] = _UNKNOWN_REGION_BASE + region[ident == Ident.BAD_REGION]

        matrix = np.zeros((n, 18), dtype=np.uint8)
        lengths = np.zeros(n, dtype=np.int64)
        is_ric = kind == _RIC
        month_shift = np.where(ident == Ident.BAD_DATE, 12, 0)
        ric_m, check = self._ric_matrix(code, day, seq, month_shift=month_shift)
        bad_check = ident == Ident.BAD_CHECK
        if bad_check.any():
            shift = 1 + (unit_hash(ids[bad_check], self._salts["bad"]) * 10).astype(np.int64)
            ric_m[bad_check, 17] = _RIC_CHECK[(check[bad_check] + shift) % 11]
        matrix[is_ric] = ric_m[is_ric]
        lengths[is_ric] = 18
        first_gen = ident == Ident.FIRST_GEN
        if first_gen.any():
            yy, mm, dd = ymd(day[first_gen])
            value = (code[first_gen] * 10**6 + (yy % 100) * 10**4 + mm * 100 + dd) * 1000
            matrix[first_gen, :15] = digits(value + seq[first_gen], 15) + _ZERO
            lengths[first_gen] = 15

        self._permits(matrix, lengths, kind, ident, ids)
        nat = np.where(kind == _PASSPORT, 0, _CHN)
        passport = kind == _PASSPORT
        nat_pick = pick_index(unit_hash(ids[passport], self._salts["nat"]), self._pass_cum)
        nat[passport] = 1 + nat_pick
        matrix[passport, 0] = np.frombuffer(
            "".join(p[2] for p in _PASSPORTS).encode(), dtype=np.uint8
        )[nat_pick]
        matrix[passport, 1:9] = digits(self._passport(ids[passport]), 8) + _ZERO
        lengths[passport] = 9
        nat[ident == Ident.BAD_PASSPORT] = _ZZZ

        # Birth dates: RIC holders from the number; others a hash-picked adult date.
        other = (kind != _RIC) & registered
        adult_dates = self._adult.dates
        day[other] = adult_dates[
            (unit_hash(ids[other], self._salts["gender"] ^ 1) * adult_dates.size).astype(np.int64)
        ]
        male = np.where(
            kind == _RIC, seq % 2 == 1, unit_hash(ids, self._salts["gender"]) < 0.5
        ).astype(bool)
        group = np.array([p[3] for p in _PASSPORTS], dtype=np.int64)[
            np.clip(nat - 1, 0, len(_PASSPORTS) - 1)
        ]
        names = pc.if_else(
            pa.array(passport),
            latin_names(ids, group, self._salts["name"] ^ 11),
            chinese_names(ids, male, self._salts["name"]),
        )
        names = pc.if_else(pa.array(registered), names, pa.scalar(None, pa.string()))
        return Identities(
            doc_type=take_strings(DOC_TYPES, np.maximum(kind, 0), registered),
            doc_number=fixed_width_strings(matrix, lengths, registered),
            name=names,
            birth_days=day,
            nationality=take_strings(NATIONALITIES, nat, registered),
        )

    # -- internals --------------------------------------------------------------------------

    def _ric_matrix(
        self,
        code: IntArray,
        day: IntArray,
        seq: IntArray,
        *,
        month_shift: IntArray | None = None,
    ) -> tuple[NDArray[np.uint8], IntArray]:
        """18-character RIC bytes and the index of each check character in ``_RIC_CHECK``."""
        yy, mm, dd = ymd(day)
        if month_shift is not None:
            mm = mm + month_shift
        value = (code * 10**8 + yy * 10**4 + mm * 100 + dd) * 1000 + seq
        d = digits(value, 17)
        check = (d.astype(np.int64) @ _RIC_WEIGHTS) % 11
        matrix = np.empty((code.size, 18), dtype=np.uint8)
        matrix[:, :17] = d + _ZERO
        matrix[:, 17] = _RIC_CHECK[check]
        return matrix, check

    def _permits(
        self,
        matrix: NDArray[np.uint8],
        lengths: IntArray,
        kind: IntArray,
        ident: NDArray[np.int8],
        ids: IntArray,
    ) -> None:
        hk = (kind == _HKMO) & (ident != Ident.BAD_HKMO)
        letter = np.where(unit_hash(ids[hk], self._salts["doc"] ^ 7) < 0.7, ord("H"), ord("M"))
        matrix[hk, 0] = letter
        matrix[hk, 1:9] = digits(self._permit(ids[hk]), 8) + _ZERO
        lengths[hk] = 9
        tw = (kind == _TW) & (ident != Ident.BAD_TW)
        matrix[tw, :8] = digits(self._tw(ids[tw]), 8) + _ZERO
        lengths[tw] = 8
        bad_hk = ident == Ident.BAD_HKMO
        matrix[bad_hk, 0] = ord("H")
        matrix[bad_hk, 1:10] = digits(self._bad_permit(ids[bad_hk]), 9) + _ZERO
        lengths[bad_hk] = 10
        bad_tw = ident == Ident.BAD_TW
        matrix[bad_tw, :9] = digits(self._bad_permit(ids[bad_tw]), 9) + _ZERO
        lengths[bad_tw] = 9


def _years_before(on: date, years: int) -> date:
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February
        return on.replace(year=on.year - years, day=28)
