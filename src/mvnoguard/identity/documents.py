"""Validation of the identity documents subscribers (and organisations) register with.

One entry point, :func:`validate_document`, checks a number against the rules of its
document type (DESIGN.md, "Accepted documents") and returns a
:class:`~mvnoguard.domain.documents.DocumentCheck` with a stable machine ``code`` and a human
``message``. It never raises for bad input: the registry audit runs it over millions of rows
and one bad row must not sink a file. :func:`validate_line` is the same check for one line of
``mvnoguard id validate``.

Messages never contain the number itself (it is personal data, and the expected check
character would tell a forger how to fix a made-up number).

Codes (stable, never renamed):

=============================== ===========================================================
``ok``                          valid
``empty``                       no number given
``unknown_doc_type``            not one of RIC, HKMO, TW, PASSPORT, FPR, MILITARY, USCC
``bad_format``                  characters or shape not allowed for the type
``bad_length``                  right characters, wrong number of them
``bad_check_character``         MOD 11-2 (RIC, new FPR) or USCC check character is wrong
``impossible_birth_date``       the encoded birth date does not exist, or is before 1900
``future_birth_date``           the encoded birth date is after today
``unknown_region``              RIC region code not in the GB/T 2260 table
``region_abolished_before_birth`` RIC region code abolished before the holder's birth year
``first_generation_card``       a 15-digit first-generation RIC (no longer accepted)
``bad_nationality``             nationality missing or not ISO 3166-1, or not foreign
``nationality_mismatch``        old-form FPR: given nationality differs from the number's
=============================== ===========================================================

What each type accepts (after NFKC normalisation, so full-width characters count as their
ASCII forms, removal of whitespace and ``-``, and upper-casing):

* ``RIC``: 17 digits + check character (digit or ``X``). The region code (first 6 digits)
  must be in python-stdnum's GB/T 2260 table, at any level: prefecture "市辖区" codes such as
  110100 were printed on real cards, and province codes 810000/820000 (plus 830000, absent
  from the table) head the residence permits of Hong Kong, Macao and Taiwan residents, which
  use the same number format.
* ``HKMO``: ``H`` or ``M`` + 8 digits (current), or + 10 digits (older permit, the last two
  digits counting re-issues).
* ``TW``: 8 digits (current); older forms 10 digits (8 + a 2-digit issue count), or 8 digits
  with a one-letter suffix in brackets, ``12345678(B)``.
* ``PASSPORT``: 5-17 letters/digits, plus a nationality given as ISO 3166-1 alpha-3 or alpha-2
  (normalised to alpha-3). CHN, HKG, MAC and TWN are refused: Chinese citizens register with
  their RIC, Hong Kong, Macao and Taiwan residents with their permits.
* ``FPR``: old form, 3-letter ISO alpha-3 country code + 12 digits (15 characters); or the
  2017/2023 form, 18 characters starting with ``9``, MOD 11-2 check character like a RIC and
  the birth date in the RIC's positions. The nationality argument is optional; when given it
  must be valid and, for the old form, match the number's country code.
* ``MILITARY``: one of 军 兵 士 文 职 武 警 + ``字第`` + 6-8 digits + ``号``, e.g.
  ``军字第2001988号``.
* ``USCC``: the 18-character unified social credit code, checked by ``stdnum.cn.uscc``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from types import MappingProxyType
from typing import Final

import pycountry
from stdnum import numdb
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

from mvnoguard.domain.documents import DocType, DocumentCheck
from mvnoguard.identity.vault import mask_number

__all__ = [
    "REASONS",
    "age_on",
    "compact_number",
    "mask_document_number",
    "normalise_nationality",
    "parse_document_input",
    "region_problem",
    "ric_check_character",
    "validate_document",
    "validate_line",
]

REASONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "ok": "valid",
        "empty": "no document number given",
        "unknown_doc_type": "unknown document type (expected RIC, HKMO, TW, PASSPORT, FPR, "
        "MILITARY or USCC)",
        "bad_format": "the number has characters or a shape not allowed for this document type",
        "bad_length": "the number has the wrong length for this document type",
        "bad_check_character": "the check character does not match the number",
        "impossible_birth_date": "the birth date in the number does not exist or is before 1900",
        "future_birth_date": "the birth date in the number is in the future",
        "unknown_region": "the region code is not a real administrative division code",
        "region_abolished_before_birth": "the region code was abolished before the holder was born",
        "first_generation_card": "first-generation 15-digit identity cards are no longer accepted",
        "bad_nationality": "nationality missing or not a foreign ISO 3166-1 country code",
        "nationality_mismatch": "the nationality does not match the country code in the number",
    }
)
"""Every code :func:`validate_document` can return, with its default human message."""

# Longer inputs are refused before any further work: no document number comes close, and
# the audit must not spend time on a megabyte of garbage in one cell.
_MAX_INPUT_CHARS: Final = 64

_RIC_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RIC_CHECK_CHARS: Final = "10X98765432"  # indexed by the weighted sum mod 11
_EARLIEST_BIRTH_YEAR: Final = 1900

_DIGITS_17: Final = re.compile(r"[0-9]{17}")
_RIC_CHARS: Final = re.compile(r"[0-9]+X?")
_ALNUM: Final = re.compile(r"[A-Z0-9]+")
_HKMO: Final = re.compile(r"[HM](?:[0-9]{8}|[0-9]{10})")
_HKMO_SHAPE: Final = re.compile(r"[HM][0-9]+")
_TW: Final = re.compile(r"[0-9]{8}(?:[0-9]{2}|\([A-Z]\))?")
_DIGITS: Final = re.compile(r"[0-9]+")
_PASSPORT: Final = re.compile(r"[A-Z0-9]{5,17}")
_FPR_OLD: Final = re.compile(r"([A-Z]{3})[0-9]{12}")
_MILITARY: Final = re.compile(r"[军兵士文职武警]字第[0-9]{6,8}号")
_MILITARY_SHAPE: Final = re.compile(r"[军兵士文职武警]字第[0-9]+号")

# Codes on real documents that python-stdnum's GB/T 2260 table lacks: 830000 heads the
# residence permits of Taiwan residents (810000 and 820000, Hong Kong and Macao, are in it).
_EXTRA_REGIONS: Final = frozenset({"830000"})

# Nationalities a foreign passport cannot carry (see the module docstring).
_NOT_FOREIGN: Final = frozenset({"CHN", "HKG", "MAC", "TWN"})


def compact_number(number: str) -> str:
    """Normalise what a person or a form may add: full-width forms, spaces, dashes, case."""
    text = unicodedata.normalize("NFKC", number)
    return "".join(text.split()).replace("-", "").upper()


def _check(
    doc_type: DocType | None,
    code: str,
    number: str = "",
    *,
    message: str | None = None,
    birth_date: date | None = None,
    nationality: str | None = None,
) -> DocumentCheck:
    return DocumentCheck(
        doc_type=doc_type,
        number=number,
        valid=code == "ok",
        code=code,
        message=message or REASONS[code],
        birth_date=birth_date,
        nationality=nationality,
    )


def ric_check_character(first17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character for the first 17 digits of a RIC.

    Raises ``ValueError`` unless ``first17`` is exactly 17 ASCII digits.
    """
    if not _DIGITS_17.fullmatch(first17):
        raise ValueError("expected exactly 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _RIC_WEIGHTS, strict=True))
    return _RIC_CHECK_CHARS[total % 11]


def normalise_nationality(value: str | None) -> str | None:
    """ISO 3166-1 alpha-3 for an alpha-3 or alpha-2 code, else None."""
    if value is None:
        return None
    text = compact_number(value)
    if len(text) == 3:
        country = pycountry.countries.get(alpha_3=text)
    elif len(text) == 2:
        country = pycountry.countries.get(alpha_2=text)
    else:
        return None
    return None if country is None else str(country.alpha_3)


@lru_cache(maxsize=8192)
def _region_last_years(code6: str) -> tuple[int | None, ...] | None:
    """Last year of each period the region code was in use (None: still in use), or None
    when the code is not in the table.

    stdnum's table marks periods as ``[start-end]name``, comma-separated when a code was
    reused, e.g. ``[-1991]东郊区,[1992-]东丽区``; names without brackets are still in use.
    """
    if code6 in _EXTRA_REGIONS:
        return (None,)
    props: dict[str, str] = {}
    for _part, info in numdb.get("cn/loc").info(code6):
        props.update(info)
    county = props.get("county")
    if not county:
        return None
    last_years: list[int | None] = []
    for entry in county.split(","):
        match = re.match(r"\[(\d{4})?-(\d{4})?\]", entry)
        last_years.append(int(match.group(2)) if match and match.group(2) else None)
    return tuple(last_years)


def region_problem(code6: str, birth_year: int) -> str | None:
    """``unknown_region``, ``region_abolished_before_birth`` or None when the code is fine.

    Unlike ``stdnum.cn.ric``, a code created *after* the birth year is fine: a number keeps
    the region code it was assigned, and numbers are assigned at or after birth (people born
    in 1990 in what became Miyun District in 2015 can hold 110118 numbers). Only a code
    abolished before the holder was born can never have been assigned to them.
    """
    last_years = _region_last_years(code6)
    if last_years is None:
        return "unknown_region"
    if all(last is not None and last < birth_year for last in last_years):
        return "region_abolished_before_birth"
    return None


def _birth_date(yyyymmdd: str, today: date) -> date | str:
    """The encoded birth date, or the code saying why it is not acceptable."""
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return "impossible_birth_date"
    if born.year < _EARLIEST_BIRTH_YEAR:
        return "impossible_birth_date"
    if born > today:
        return "future_birth_date"
    return born


def _mod11_birth_date(number: str, today: date) -> date | str:
    """Birth date of an 18-character MOD 11-2 number (RIC, new FPR), or the problem's code.

    The check character comes first so that a typo is reported as a typo, whatever digits
    it landed on.
    """
    if number[17] != ric_check_character(number[:17]):
        return "bad_check_character"
    return _birth_date(number[6:14], today)


def _validate_ric(number: str, today: date) -> DocumentCheck:
    if not _RIC_CHARS.fullmatch(number):
        return _check(DocType.RIC, "bad_format")
    if len(number) == 15 and number.isdigit():
        return _check(DocType.RIC, "first_generation_card", number)
    if len(number) != 18:
        return _check(DocType.RIC, "bad_length", number)
    born = _mod11_birth_date(number, today)
    if isinstance(born, str):
        return _check(DocType.RIC, born, number)
    problem = region_problem(number[:6], born.year)
    if problem is not None:
        return _check(DocType.RIC, problem, number)
    return _check(DocType.RIC, "ok", number, birth_date=born)


def _validate_fpr(number: str, nationality: str | None, today: date) -> DocumentCheck:
    given: str | None = None
    if nationality is not None and nationality.strip():
        given = normalise_nationality(nationality)
        if given is None or given in _NOT_FOREIGN:
            return _check(DocType.FPR, "bad_nationality")
    if _RIC_CHARS.fullmatch(number):
        if len(number) != 18:
            return _check(DocType.FPR, "bad_length", number)
        if not number.startswith("9"):
            return _check(
                DocType.FPR, "bad_format", message="an 18-character FPR number starts with 9"
            )
        born = _mod11_birth_date(number, today)
        if isinstance(born, str):
            return _check(DocType.FPR, born, number)
        return _check(DocType.FPR, "ok", number, birth_date=born, nationality=given)
    old = _FPR_OLD.fullmatch(number)
    if old is None:
        if _ALNUM.fullmatch(number) and len(number) not in (15, 18):
            return _check(DocType.FPR, "bad_length", number)
        return _check(DocType.FPR, "bad_format")
    country = normalise_nationality(old.group(1))
    if country is None or country in _NOT_FOREIGN:
        return _check(
            DocType.FPR,
            "bad_nationality",
            message="the number does not start with a foreign ISO 3166-1 alpha-3 code",
        )
    if given is not None and given != country:
        return _check(DocType.FPR, "nationality_mismatch", number)
    return _check(DocType.FPR, "ok", number, nationality=country)


def _validate_passport(number: str, nationality: str | None) -> DocumentCheck:
    if not _ALNUM.fullmatch(number):
        return _check(DocType.PASSPORT, "bad_format")
    if not _PASSPORT.fullmatch(number):
        return _check(DocType.PASSPORT, "bad_length", number)
    country = normalise_nationality(nationality)
    if country is None:
        return _check(DocType.PASSPORT, "bad_nationality", number)
    if country in _NOT_FOREIGN:
        return _check(
            DocType.PASSPORT,
            "bad_nationality",
            number,
            message="a foreign passport cannot carry CHN, HKG, MAC or TWN nationality; "
            "register with the resident identity card or the travel permit",
        )
    return _check(DocType.PASSPORT, "ok", number, nationality=country)


def _by_pattern(
    doc_type: DocType, number: str, valid: re.Pattern[str], shape: re.Pattern[str]
) -> DocumentCheck:
    """Types with no check character: ``valid`` the accepted forms, ``shape`` the same
    characters in any count (a miss there is a length problem, not a format one)."""
    if valid.fullmatch(number):
        return _check(doc_type, "ok", number)
    if shape.fullmatch(number):
        return _check(doc_type, "bad_length", number)
    return _check(doc_type, "bad_format")


def _validate_uscc(number: str) -> DocumentCheck:
    try:
        uscc.validate(number)
    except InvalidLength:
        return _check(DocType.USCC, "bad_length", number)
    except InvalidChecksum:
        return _check(DocType.USCC, "bad_check_character", number)
    except (InvalidFormat, ValidationError):
        return _check(DocType.USCC, "bad_format")
    return _check(DocType.USCC, "ok", number)


def _doc_type(value: DocType | str) -> DocType | None:
    if isinstance(value, DocType):
        return value
    try:
        return DocType(str(value).strip().upper())
    except ValueError:
        return None


def validate_document(
    doc_type: DocType | str,
    number: str,
    *,
    nationality: str | None = None,
    today: date | None = None,
) -> DocumentCheck:
    """Check one document number against the rules of its type; never raises for bad input.

    ``nationality`` is needed for ``PASSPORT`` (optional for ``FPR``, ignored otherwise);
    ``today`` bounds birth dates (default: the local date).
    """
    kind = _doc_type(doc_type)
    if kind is None:
        return _check(None, "unknown_doc_type")
    # Callers feed CSV cells; a missing cell may arrive as None despite the annotation.
    if not isinstance(number, str) or not number.strip():
        return _check(kind, "empty")
    if len(number) > _MAX_INPUT_CHARS:
        return _check(kind, "bad_length")
    compact = compact_number(number)
    if not compact:
        return _check(kind, "empty")
    on = today or date.today()
    match kind:
        case DocType.RIC:
            return _validate_ric(compact, on)
        case DocType.HKMO:
            return _by_pattern(kind, compact, _HKMO, _HKMO_SHAPE)
        case DocType.TW:
            return _by_pattern(kind, compact, _TW, _DIGITS)
        case DocType.PASSPORT:
            return _validate_passport(compact, nationality)
        case DocType.FPR:
            return _validate_fpr(compact, nationality, on)
        case DocType.MILITARY:
            return _by_pattern(kind, compact, _MILITARY, _MILITARY_SHAPE)
        case DocType.USCC:
            return _validate_uscc(compact)


def parse_document_input(line: str) -> tuple[str, str, str | None]:
    """Split one ``mvnoguard id validate`` input line into (doc_type, number, nationality).

    Forms: ``TYPE:NUMBER``, ``TYPE:NUMBER:NATIONALITY`` (passports), or a bare number, which
    is taken as a RIC. The type is upper-cased; it is not checked here (an unknown one comes
    back from :func:`validate_document` as ``unknown_doc_type``). A full-width colon counts
    as a colon.
    """
    text = line.strip().replace("：", ":")
    if ":" not in text:
        return DocType.RIC.value, text, None
    parts = [part.strip() for part in text.split(":", 2)]
    nationality = parts[2] if len(parts) == 3 and parts[2] else None
    return parts[0].upper(), parts[1], nationality


def validate_line(line: str, *, today: date | None = None) -> dict[str, object]:
    """The JSON object ``mvnoguard id validate --json`` prints for one input line.

    Keys: ``input`` (the line, stripped), ``doc_type`` (None when unknown), ``valid``,
    ``code`` and ``message``. Nothing derived from the number (normalised form, birth date)
    is added: the output repeats only what the caller sent.
    """
    doc_type, number, nationality = parse_document_input(line)
    check = validate_document(doc_type, number, nationality=nationality, today=today)
    return {
        "input": line.strip(),
        "doc_type": None if check.doc_type is None else check.doc_type.value,
        "valid": check.valid,
        "code": check.code,
        "message": check.message,
    }


def age_on(birth_date: date, on: date) -> int:
    """Full years of age on ``on`` (negative when ``on`` is before the birth).

    Someone born on 29 February turns a year older on 1 March in common years.
    """
    had_birthday = (on.month, on.day) >= (birth_date.month, birth_date.day)
    return on.year - birth_date.year - (0 if had_birthday else 1)


def mask_document_number(number: str) -> str:
    """Hide the middle of a document number: ``110101199003071234`` -> ``1101**********1234``.

    The one masking rule of :func:`mvnoguard.identity.vault.mask_number` (at most half shows).
    """
    return mask_number(number)
