"""Tests of identity document validation (mvnoguard.identity.documents)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric as stdnum_ric

from mvnoguard.domain.documents import DocType
from mvnoguard.identity.documents import (
    REASONS,
    age_on,
    mask_document_number,
    parse_document_input,
    ric_check_character,
    validate_document,
    validate_line,
)

TODAY = date(2024, 6, 1)
CHECK_SYMBOLS = "0123456789X"


def make_ric(region: str, birth: str, sequence: str = "123") -> str:
    first17 = region + birth + sequence
    return first17 + ric_check_character(first17)


def ric(number: str, today: date = TODAY) -> str:
    """The code validate_document gives a RIC number."""
    return validate_document(DocType.RIC, number, today=today).code


# --- the check character -------------------------------------------------------------------


def test_check_character_of_the_standards_example() -> None:
    # GB 11643-1999's worked example.
    assert ric_check_character("11010519491231002") == "X"


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",
        "360426199101010071",  # stdnum's own example
        make_ric("110101", "19900307"),
        make_ric("440305", "19850101", "456"),
        make_ric("510104", "20000229", "001"),
    ],
)
def test_check_character_agrees_with_stdnum(number: str) -> None:
    assert stdnum_ric.is_valid(number)
    # stdnum's calc_check_digit takes the full number and ignores its last character.
    assert ric_check_character(number[:17]) == stdnum_ric.calc_check_digit(number)
    assert ric(number) == "ok"


@pytest.mark.parametrize(
    "bad", ["", "1234", "1101051949123100", "110105194912310021", "1" * 16 + "X"]
)
def test_check_character_needs_17_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="17 digits"):
        ric_check_character(bad)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_character_property(first17: str) -> None:
    right = ric_check_character(first17)
    assert right in CHECK_SYMBOLS
    assert ric(first17 + right) != "bad_check_character"
    for other in CHECK_SYMBOLS.replace(right, ""):
        assert ric(first17 + other) == "bad_check_character"


# --- RIC -----------------------------------------------------------------------------------


def test_valid_ric_returns_normalised_number_and_birth_date() -> None:
    number = make_ric("110101", "19900307")
    check = validate_document("RIC", number, today=TODAY)
    assert check.valid
    assert (check.code, check.message) == ("ok", "valid")
    assert check.doc_type is DocType.RIC
    assert check.number == number
    assert check.birth_date == date(1990, 3, 7)
    assert check.document.number == number


@pytest.mark.parametrize(
    "spelling",
    [
        "11010519491231002x",
        " 110105 19491231 002x ",
        "110105-19491231-002X",
        "１１０１０５１９４９１２３１００２ｘ",  # full-width, as typed on a Chinese keyboard
        "110105\u300019491231\u3000002X",  # ideographic space
    ],
)
def test_ric_spellings_are_normalised(spelling: str) -> None:
    check = validate_document(DocType.RIC, spelling, today=TODAY)
    assert check.code == "ok"
    assert check.number == "11010519491231002X"


def test_wrong_check_character() -> None:
    number = make_ric("110101", "19900307")
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    check = validate_document(DocType.RIC, wrong, today=TODAY)
    assert (check.valid, check.code) == (False, "bad_check_character")
    assert check.birth_date is None


def test_design_example_number_has_a_wrong_check_character() -> None:
    # The CLI contract's sample line is a format example, not a valid number.
    assert ric("110101199003071234") == "bad_check_character"
    assert ric("110101199003071233") == "ok"


@pytest.mark.parametrize(
    ("birth", "code"),
    [
        ("19990230", "impossible_birth_date"),
        ("19991301", "impossible_birth_date"),
        ("19990000", "impossible_birth_date"),
        ("20230229", "impossible_birth_date"),  # 2023 is not a leap year
        ("18991231", "impossible_birth_date"),  # before 1900
        ("19000101", "ok"),
        ("20000229", "ok"),
        ("20240601", "ok"),  # born today
        ("20240602", "future_birth_date"),
        ("20991231", "future_birth_date"),
    ],
)
def test_birth_dates(birth: str, code: str) -> None:
    assert ric(make_ric("110101", birth)) == code


def test_future_date_is_relative_to_today() -> None:
    number = make_ric("110101", "20240602")
    assert ric(number, today=date(2024, 6, 1)) == "future_birth_date"
    assert ric(number, today=date(2024, 6, 2)) == "ok"


@pytest.mark.parametrize("region", ["990101", "000000", "110199", "119900", "830101"])
def test_unknown_regions(region: str) -> None:
    assert ric(make_ric(region, "19900307")) == "unknown_region"


def test_region_created_after_birth_is_valid() -> None:
    # 110118 密云区 exists since 2015 ("[2015-]" in stdnum's table). Someone born in 1990
    # can hold a number assigned after 2015 with that code; stdnum's own rule refuses it.
    number = make_ric("110118", "19900307")
    assert ric(number) == "ok"
    assert not stdnum_ric.is_valid(number)
    # Same for Tianjin Binhai New Area, 120116 "[2009-]".
    assert ric(make_ric("120116", "19751111")) == "ok"


@pytest.mark.parametrize(
    ("region", "birth", "code"),
    [
        ("110103", "20150101", "region_abolished_before_birth"),  # 崇文区 [-2010]
        ("110103", "20111231", "region_abolished_before_birth"),
        ("110103", "20100701", "ok"),  # abolished during 2010: the end year still counts
        ("110103", "19800101", "ok"),
        ("310119", "20120101", "region_abolished_before_birth"),  # 南汇区 [2001-2009]
        ("310119", "19900101", "ok"),  # born before the code existed: fine
        ("120110", "19850101", "ok"),  # [-1991]东郊区,[1992-]东丽区: reused code
        ("120110", "20050101", "ok"),
    ],
)
def test_abolished_regions(region: str, birth: str, code: str) -> None:
    assert ric(make_ric(region, birth)) == code


@pytest.mark.parametrize(
    "region",
    [
        "110101",  # county level
        "110100",  # 市辖区, printed on real cards
        "440300",  # prefecture level
        "810000",  # Hong Kong residents' residence permit, [1997-] in the table
        "820000",  # Macao residents' residence permit
        "830000",  # Taiwan residents' residence permit, missing from the table
    ],
)
def test_region_levels_in_the_table_are_accepted(region: str) -> None:
    assert ric(make_ric(region, "19900307")) == "ok"


@pytest.mark.parametrize("number", ["110101900307123", "110 101 900 307 123"])
def test_first_generation_card(number: str) -> None:
    assert ric(number) == "first_generation_card"


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\u3000", "empty"),
        ("- -", "empty"),  # only separators
        ("abc", "bad_format"),
        ("11010119900307123 4X", "bad_length"),
        ("1101011990X3071234", "bad_format"),  # X only as the check character
        ("11010119900307123", "bad_length"),
        ("1101011990030712345", "bad_length"),
        ("11010119900307X", "bad_length"),
        ("X", "bad_format"),
        ("😀" * 18, "bad_format"),
        ("\u0661" * 18, "bad_format"),  # Arabic-Indic digits are not ASCII digits
        ("1" * 100_000, "bad_length"),
        ("DROP TABLE subscribers;", "bad_format"),
        ("110101\x0019900307123", "bad_format"),
    ],
)
def test_garbage(number: str, code: str) -> None:
    check = validate_document(DocType.RIC, number, today=TODAY)
    assert (check.valid, check.code) == (False, code)


def test_none_number_is_empty() -> None:
    # A missing CSV cell may arrive as None from untyped code.
    assert validate_document("RIC", None, today=TODAY).code == "empty"  # type: ignore[arg-type]


@pytest.mark.parametrize("doc_type", ["FOO", "", "R I C", "passport2"])
def test_unknown_doc_type(doc_type: str) -> None:
    check = validate_document(doc_type, "110101199003071233", today=TODAY)
    assert (check.doc_type, check.code, check.valid) == (None, "unknown_doc_type", False)
    with pytest.raises(ValueError, match="no document type"):
        _ = check.document


def test_doc_type_string_is_case_insensitive() -> None:
    assert validate_document(" ric ", "110101199003071233", today=TODAY).code == "ok"


def test_messages_never_contain_the_number() -> None:
    numbers = [
        make_ric("990101", "19900307"),
        make_ric("110101", "19990230"),
        "110101199003071234",
        "110101900307123",
    ]
    for number in numbers:
        check = validate_document(DocType.RIC, number, today=TODAY)
        assert not check.valid
        assert number not in check.message
        assert check.message == REASONS[check.code]


@given(
    doc_type=st.sampled_from([*DocType, "FOO"]),
    number=st.text(max_size=40),
    nationality=st.none() | st.text(max_size=5),
)
def test_validate_document_never_raises(
    doc_type: str, number: str, nationality: str | None
) -> None:
    check = validate_document(doc_type, number, nationality=nationality, today=TODAY)
    assert check.code in REASONS
    assert check.valid == (check.code == "ok")


# --- HKMO, TW ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "code", "normalised"),
    [
        ("H12345678", "ok", "H12345678"),
        ("M12345678", "ok", "M12345678"),
        ("h 1234 5678", "ok", "H12345678"),
        ("H1234567890", "ok", "H1234567890"),  # older 10-digit form
        ("H123456789", "bad_length", "H123456789"),
        ("M1234567", "bad_length", "M1234567"),
        ("X12345678", "bad_format", ""),
        ("12345678", "bad_format", ""),
        ("H1234567A", "bad_format", ""),
        ("", "empty", ""),
    ],
)
def test_hkmo(number: str, code: str, normalised: str) -> None:
    check = validate_document(DocType.HKMO, number, today=TODAY)
    assert (check.code, check.number) == (code, normalised)
    assert check.doc_type is DocType.HKMO


@pytest.mark.parametrize(
    ("number", "code", "normalised"),
    [
        ("12345678", "ok", "12345678"),
        ("1234567801", "ok", "1234567801"),  # older form with a 2-digit issue count
        ("12345678(B)", "ok", "12345678(B)"),  # older form with a letter suffix
        ("12345678（b）", "ok", "12345678(B)"),  # full-width brackets
        ("1234567", "bad_length", "1234567"),
        ("123456789", "bad_length", "123456789"),
        ("12345678(BB)", "bad_format", ""),
        ("12345678B", "bad_format", ""),
        ("A1234567", "bad_format", ""),
    ],
)
def test_tw(number: str, code: str, normalised: str) -> None:
    check = validate_document(DocType.TW, number, today=TODAY)
    assert (check.code, check.number) == (code, normalised)


# --- PASSPORT ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nationality", "normalised"),
    [("USA", "USA"), ("usa", "USA"), ("US", "USA"), (" gb ", "GBR"), ("DEU", "DEU")],
)
def test_passport_nationality_is_normalised_to_alpha3(nationality: str, normalised: str) -> None:
    check = validate_document("PASSPORT", "e1234567", nationality=nationality, today=TODAY)
    assert (check.code, check.number, check.nationality) == ("ok", "E1234567", normalised)
    assert check.document.nationality == normalised


@pytest.mark.parametrize(
    "nationality", [None, "", "ZZZ", "U", "USAA", "840", "CHN", "CN", "HKG", "TWN", "MAC"]
)
def test_passport_bad_nationality(nationality: str | None) -> None:
    check = validate_document(DocType.PASSPORT, "E1234567", nationality=nationality, today=TODAY)
    assert check.code == "bad_nationality"


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("12345", "ok"),
        ("A" * 17, "ok"),
        ("1234", "bad_length"),
        ("A" * 18, "bad_length"),
        ("E1234567!", "bad_format"),
        ("E123/4567", "bad_format"),
        ("Ё1234567", "bad_format"),
    ],
)
def test_passport_number(number: str, code: str) -> None:
    assert validate_document(DocType.PASSPORT, number, nationality="FRA").code == code


# --- FPR -----------------------------------------------------------------------------------


def make_fpr(birth: str) -> str:
    first17 = "911840" + birth + "001"
    return first17 + ric_check_character(first17)


def test_fpr_old_form() -> None:
    check = validate_document(DocType.FPR, "usa123456789012", today=TODAY)
    assert (check.code, check.number, check.nationality) == ("ok", "USA123456789012", "USA")
    assert validate_document(DocType.FPR, "USA123456789012", nationality="US").code == "ok"
    assert validate_document(DocType.FPR, "USA123456789012", nationality="GBR").code == (
        "nationality_mismatch"
    )


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("ZZZ123456789012", "bad_nationality"),
        ("CHN123456789012", "bad_nationality"),
        ("US1234567890123", "bad_format"),
        ("USA12345678901", "bad_length"),
        ("USA12345678901A", "bad_format"),
        ("USA1234567890123", "bad_length"),
    ],
)
def test_fpr_old_form_errors(number: str, code: str) -> None:
    assert validate_document(DocType.FPR, number, today=TODAY).code == code


def test_fpr_new_form() -> None:
    number = make_fpr("19800101")
    check = validate_document(DocType.FPR, number, today=TODAY)
    assert (check.code, check.number, check.birth_date) == ("ok", number, date(1980, 1, 1))
    with_nationality = validate_document(DocType.FPR, number, nationality="de", today=TODAY)
    assert with_nationality.nationality == "DEU"


@pytest.mark.parametrize(
    ("number", "nationality", "code"),
    [
        (make_fpr("19800101")[:17] + "Z", None, "bad_format"),
        (make_ric("110101", "19800101"), None, "bad_format"),  # a RIC, not a foreigner's card
        (make_fpr("19800230"), None, "impossible_birth_date"),
        (make_fpr("20300101"), None, "future_birth_date"),
        (make_fpr("19800101")[:17], None, "bad_length"),
        (make_fpr("19800101"), "XXX", "bad_nationality"),
        (make_fpr("19800101"), "CHN", "bad_nationality"),
    ],
)
def test_fpr_new_form_errors(number: str, nationality: str | None, code: str) -> None:
    assert validate_document(DocType.FPR, number, nationality=nationality, today=TODAY).code == code


def test_fpr_new_form_wrong_check_character() -> None:
    number = make_fpr("19800101")
    wrong = number[:17] + ("1" if number[17] != "1" else "2")
    assert validate_document(DocType.FPR, wrong, today=TODAY).code == "bad_check_character"


# --- MILITARY, USCC ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("军字第2001988号", "ok"),
        ("武字第123456号", "ok"),
        ("警字第12345678号", "ok"),
        ("士字第 2001988 号", "ok"),
        ("军字第12345号", "bad_length"),
        ("军字第123456789号", "bad_length"),
        ("海字第2001988号", "bad_format"),
        ("军字2001988号", "bad_format"),
        ("军字第2001988", "bad_format"),
        ("2001988", "bad_format"),
    ],
)
def test_military(number: str, code: str) -> None:
    assert validate_document(DocType.MILITARY, number, today=TODAY).code == code


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("91110000600037341L", "ok"),
        ("9111 0000 6000 3734 1l", "ok"),
        ("91110000600037341M", "bad_check_character"),
        ("9111000060003734", "bad_length"),
        ("A1110000600037341L", "bad_format"),
        ("91110000600037341I", "bad_format"),  # I is not in the USCC alphabet
    ],
)
def test_uscc(number: str, code: str) -> None:
    assert validate_document(DocType.USCC, number, today=TODAY).code == code


# --- input lines ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ("RIC:110101199003071234", ("RIC", "110101199003071234", None)),
        ("  hkmo : H12345678 \n", ("HKMO", "H12345678", None)),
        ("PASSPORT:E1234567:USA", ("PASSPORT", "E1234567", "USA")),
        ("PASSPORT:E1234567:", ("PASSPORT", "E1234567", None)),
        ("PASSPORT：E1234567：USA", ("PASSPORT", "E1234567", "USA")),
        ("110101199003071234\n", ("RIC", "110101199003071234", None)),
        ("", ("RIC", "", None)),
        ("FOO:123", ("FOO", "123", None)),
        (":123", ("", "123", None)),
    ],
)
def test_parse_document_input(line: str, parsed: tuple[str, str, str | None]) -> None:
    assert parse_document_input(line) == parsed


def test_validate_line_valid() -> None:
    assert validate_line("RIC:110101199003071233\n", today=TODAY) == {
        "input": "RIC:110101199003071233",
        "doc_type": "RIC",
        "valid": True,
        "code": "ok",
        "message": "valid",
    }


@pytest.mark.parametrize(
    ("line", "doc_type", "code"),
    [
        ("110101199003071234", "RIC", "bad_check_character"),
        ("HKMO:H12345678", "HKMO", "ok"),
        ("PASSPORT:E1234567:USA", "PASSPORT", "ok"),
        ("PASSPORT:E1234567", "PASSPORT", "bad_nationality"),
        ("FOO:123", None, "unknown_doc_type"),
        ("", "RIC", "empty"),
        ("😀", "RIC", "bad_format"),
    ],
)
def test_validate_line(line: str, doc_type: str | None, code: str) -> None:
    result = validate_line(line, today=TODAY)
    assert set(result) == {"input", "doc_type", "valid", "code", "message"}
    assert (result["doc_type"], result["code"], result["valid"]) == (doc_type, code, code == "ok")
    assert result["input"] == line.strip()


# --- helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(2000, 6, 1), date(2016, 5, 31), 15),
        (date(2000, 6, 1), date(2016, 6, 1), 16),
        (date(2000, 2, 29), date(2016, 2, 28), 15),
        (date(2000, 2, 29), date(2016, 2, 29), 16),
        (date(2000, 2, 29), date(2017, 2, 28), 16),
        (date(2000, 2, 29), date(2017, 3, 1), 17),
        (date(2000, 1, 1), date(2000, 1, 1), 0),
        (date(2000, 1, 2), date(2000, 1, 1), -1),
    ],
)
def test_age_on(born: date, on: date, age: int) -> None:
    assert age_on(born, on) == age


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("110101199003071234", "1101**********1234"),
        ("H12345678", "H1*****78"),
        ("12345678", "1******8"),
        ("E1234", "E***4"),
        ("abc", "a*c"),
        ("ab", "**"),
        ("a", "*"),
        ("", ""),
        ("军字第2001988号", "军字*******8号"),
    ],
)
def test_mask_document_number(number: str, masked: str) -> None:
    assert mask_document_number(number) == masked
    assert len(mask_document_number(number)) == len(number)
