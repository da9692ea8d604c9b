"""Phone numbers: normalising Chinese mobile numbers, E.164 for any number, MVNO segments.

Subscriber numbers (``msisdn`` in the data contracts) are stored as the 11-digit national
mobile number; complaint feeds may carry numbers of any country, stored as E.164. Parsing and
validity come from ``phonenumbers``; the MVNO number segments and their host networks come
from DESIGN.md ("Numbers").

An 11-digit number starting with 1 that lies in one of our MVNO segments is accepted even when
``phonenumbers`` calls it invalid: its metadata lags behind the ministry's allocations (and
is updated by library release, not by us), and an MVNO's own block table, not the library, is
the authority on which of its numbers exist. Refusing them would fail real subscribers.

Errors are :class:`~mvnoguard.errors.InvalidInput` with code ``invalid_number`` and field
``msisdn``; their messages never repeat the number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import phonenumbers

from mvnoguard.domain.subscribers import HostNetwork
from mvnoguard.errors import InvalidInput

__all__ = ["MVNO_SEGMENTS", "mvno_segment", "normalize_msisdn", "to_e164"]

MVNO_SEGMENTS: Final[Mapping[str, HostNetwork]] = MappingProxyType(
    {
        "1700": HostNetwork.TELECOM,
        "1701": HostNetwork.TELECOM,
        "1702": HostNetwork.TELECOM,
        "162": HostNetwork.TELECOM,
        "1703": HostNetwork.MOBILE,
        "1705": HostNetwork.MOBILE,
        "1706": HostNetwork.MOBILE,
        "165": HostNetwork.MOBILE,
        "1704": HostNetwork.UNICOM,
        "1707": HostNetwork.UNICOM,
        "1708": HostNetwork.UNICOM,
        "1709": HostNetwork.UNICOM,
        "171": HostNetwork.UNICOM,
        "167": HostNetwork.UNICOM,
    }
)
"""MVNO number segment prefix -> host network. After number portability the segment no
longer proves the current operator; the block allocation table does."""

# No phone number, however formatted, comes close; refuse garbage before parsing it.
_MAX_INPUT_CHARS: Final = 64
_SEPARATORS: Final = str.maketrans("", "", " \t-().")
_MSISDN_DIGITS: Final = 11


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_number", field="msisdn")


def national_digits(raw: str) -> str:
    """``raw`` without separators and without a +86 / 0086 / 86 country prefix.

    A bare ``86`` is only taken as the country code in front of 11 digits: no Chinese mobile
    number starts with 86, so a 13-digit ``86...`` is unambiguous.
    """
    text = "".join(unicodedata.normalize("NFKC", raw).split()).translate(_SEPARATORS)
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            return text[len(prefix) :]
    if text.startswith("86") and len(text) == _MSISDN_DIGITS + 2:
        return text[2:]
    return text


def _segment_of(digits: str) -> tuple[str, HostNetwork] | None:
    if len(digits) != _MSISDN_DIGITS or not (digits.isascii() and digits.isdigit()):
        return None
    for prefix in (digits[:4], digits[:3]):  # the longer, more specific prefix first
        network = MVNO_SEGMENTS.get(prefix)
        if network is not None:
            return prefix, network
    return None


def mvno_segment(msisdn: str) -> tuple[str, HostNetwork] | None:
    """The MVNO segment prefix and host network of a number, or None outside our segments.

    Accepts the same spellings as :func:`normalize_msisdn`; returns None (never raises) for
    anything that is not an 11-digit national number.
    """
    if len(msisdn) > _MAX_INPUT_CHARS:
        return None
    return _segment_of(national_digits(msisdn))


def normalize_msisdn(raw: str) -> str:
    """The 11-digit national form of a Chinese mobile number.

    Accepts ``+86``, ``0086`` or ``86`` prefixes, spaces, dashes, dots and brackets, and
    full-width digits. Raises ``InvalidInput(code="invalid_number")`` for anything else,
    including landlines and numbers of other countries.
    """
    if len(raw) > _MAX_INPUT_CHARS:
        raise _invalid("not a Chinese mobile number: too long")
    digits = national_digits(raw)
    if not (
        len(digits) == _MSISDN_DIGITS
        and digits.isascii()
        and digits.isdigit()
        and digits.startswith("1")
    ):
        raise _invalid("not a Chinese mobile number: expected 11 digits starting with 1")
    if _segment_of(digits) is not None:
        return digits
    if not phonenumbers.is_valid_number(phonenumbers.parse(digits, "CN")):
        raise _invalid("not a Chinese mobile number: no such number range")
    return digits


_DIALLABLE = re.compile(r"\+?[\d\s\-().]+")


def to_e164(raw: str, default_region: str = "CN") -> str:
    """Any country's phone number in E.164 (``+8613800138000``); ``default_region`` is the
    ISO 3166-1 alpha-2 region assumed for numbers written without a country code.

    Raises ``InvalidInput(code="invalid_number")`` when the number cannot be parsed or
    ``phonenumbers`` calls it invalid (except in our MVNO segments, see the module docstring).
    """
    if len(raw) > _MAX_INPUT_CHARS:
        raise _invalid("not a phone number: too long")
    text = unicodedata.normalize("NFKC", raw).strip()
    if not _DIALLABLE.fullmatch(text):
        # phonenumbers reads past letters ("abc170...", "... ext 5", vanity words): a number
        # written with them is a typing slip or something else, never taken as a number.
        raise _invalid("not a phone number: only digits, +, spaces, dashes, dots and brackets")
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise _invalid("not a phone number") from exc
    national = str(number.national_number)
    if number.country_code == 86 and _segment_of(national) is not None:
        return f"+86{national}"
    if not phonenumbers.is_valid_number(number):
        raise _invalid("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
