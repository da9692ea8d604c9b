"""Tests of phone number handling and MVNO segments (mvnoguard.identity.phones)."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mvnoguard.domain.subscribers import HostNetwork
from mvnoguard.errors import InvalidInput
from mvnoguard.identity.phones import MVNO_SEGMENTS, mvno_segment, normalize_msisdn, to_e164


@pytest.fixture
def library_knows_no_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulate phonenumbers metadata that does not (yet) know a range."""
    monkeypatch.setattr(phonenumbers, "is_valid_number", lambda _number: False)


def test_segment_table_is_the_design_table() -> None:
    telecom = {"1700", "1701", "1702", "162"}
    mobile = {"1703", "1705", "1706", "165"}
    unicom = {"1704", "1707", "1708", "1709", "171", "167"}
    assert {p for p, n in MVNO_SEGMENTS.items() if n is HostNetwork.TELECOM} == telecom
    assert {p for p, n in MVNO_SEGMENTS.items() if n is HostNetwork.MOBILE} == mobile
    assert {p for p, n in MVNO_SEGMENTS.items() if n is HostNetwork.UNICOM} == unicom
    assert len(MVNO_SEGMENTS) == len(telecom | mobile | unicom)


@pytest.mark.parametrize(
    ("msisdn", "segment"),
    [
        ("17001234567", ("1700", HostNetwork.TELECOM)),
        ("17021234567", ("1702", HostNetwork.TELECOM)),
        ("16212345678", ("162", HostNetwork.TELECOM)),
        ("17031234567", ("1703", HostNetwork.MOBILE)),
        ("17041234567", ("1704", HostNetwork.UNICOM)),  # 170x differ by fourth digit
        ("17051234567", ("1705", HostNetwork.MOBILE)),
        ("17061234567", ("1706", HostNetwork.MOBILE)),
        ("17071234567", ("1707", HostNetwork.UNICOM)),
        ("17091234567", ("1709", HostNetwork.UNICOM)),
        ("16512345678", ("165", HostNetwork.MOBILE)),
        ("17112345678", ("171", HostNetwork.UNICOM)),
        ("16712345678", ("167", HostNetwork.UNICOM)),
        ("+86 170 0123 4567", ("1700", HostNetwork.TELECOM)),
        ("0086-171-1234-5678", ("171", HostNetwork.UNICOM)),
    ],
)
def test_mvno_segment(msisdn: str, segment: tuple[str, HostNetwork]) -> None:
    assert mvno_segment(msisdn) == segment


@pytest.mark.parametrize(
    "msisdn",
    [
        "13800138000",  # China Mobile's own segment
        "17012345678"[:10],  # too short
        "170012345678",  # too long
        "1700",
        "",
        "abc",
        "😀",
        "1" * 10_000,
        "١٧٠٠١٢٣٤٥٦٧",  # Arabic-Indic digits
    ],
)
def test_not_an_mvno_segment(msisdn: str) -> None:
    assert mvno_segment(msisdn) is None


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "+8613800138000",
        "0086 138 0013 8000",
        "8613800138000",
        "(+86) 138.0013.8000",
        "１３８００１３８０００",  # full-width digits
    ],
)
def test_normalize_msisdn(raw: str) -> None:
    assert normalize_msisdn(raw) == "13800138000"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "😀",
        "12345",
        "1380013800",  # 10 digits
        "138001380001",  # 12 digits
        "23800138000",  # does not start with 1
        "010 8888 6666",  # Beijing landline
        "+86 10 8888 6666",
        "+1 650 253 0000",  # not Chinese
        "+44 7911 123456",
        "10012345678",  # no such range
        "1" * 100_000,
        "138\x0000138000",
    ],
)
def test_normalize_msisdn_refuses(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_msisdn(raw)
    assert (caught.value.code, caught.value.field) == ("invalid_number", "msisdn")
    assert caught.value.http_status == 422
    if len(raw) > 4:
        assert raw not in caught.value.message


@pytest.mark.usefixtures("library_knows_no_ranges")
def test_mvno_segments_are_accepted_even_if_phonenumbers_calls_them_invalid() -> None:
    assert normalize_msisdn("+86 170 0123 4567") == "17001234567"
    assert normalize_msisdn("16712345678") == "16712345678"
    assert to_e164("17112345678") == "+8617112345678"
    with pytest.raises(InvalidInput):
        normalize_msisdn("13800138000")
    with pytest.raises(InvalidInput):
        to_e164("13800138000")


def test_mvno_segments_are_valid_for_current_phonenumbers() -> None:
    # Documents the library's view today; the override above is for when it lags.
    for prefix in MVNO_SEGMENTS:
        number = phonenumbers.parse(prefix.ljust(11, "1"), "CN")
        assert phonenumbers.is_valid_number(number), prefix


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("13800138000", "CN", "+8613800138000"),
        ("0086 138 0013 8000", "CN", "+8613800138000"),
        ("+86 138-0013-8000", "US", "+8613800138000"),
        ("010 8888 6666", "CN", "+861088886666"),  # landlines are fine in complaint feeds
        ("+1 650-253-0000", "CN", "+16502530000"),
        ("(650) 253-0000", "US", "+16502530000"),
        ("+44 7911 123456", "CN", "+447911123456"),
        ("１７００１２３４５６７", "CN", "+8617001234567"),
    ],
)
def test_to_e164(raw: str, region: str, e164: str) -> None:
    assert to_e164(raw, default_region=region) == e164


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("", "CN"),
        ("abc", "CN"),
        ("😀", "CN"),
        ("12345", "CN"),
        ("+1 000 000 0000", "CN"),
        ("6502530000", "ZZ"),  # no country code and an unknown default region
        ("1" * 1_000, "CN"),
    ],
)
def test_to_e164_refuses(raw: str, region: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        to_e164(raw, default_region=region)
    assert caught.value.code == "invalid_number"


@given(st.text(max_size=30))
def test_normalize_msisdn_only_raises_invalid_input(raw: str) -> None:
    try:
        msisdn = normalize_msisdn(raw)
    except InvalidInput:
        return
    assert len(msisdn) == 11
    assert msisdn.isascii()
    assert msisdn.isdigit()
    assert msisdn.startswith("1")


@given(st.text(max_size=30))
def test_to_e164_only_raises_invalid_input(raw: str) -> None:
    try:
        e164 = to_e164(raw)
    except InvalidInput:
        return
    assert e164.startswith("+")
    assert e164[1:].isdigit()
