"""The column forms of the vault's identity functions give the scalar functions' answers, value
for value, on seeded random input that reaches both their fast and their slow paths."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from mvnoguard.identity.columns import (
    identity_token_column,
    mask_name_column,
    mask_number_column,
)
from mvnoguard.identity.documents import normalise_nationality
from mvnoguard.identity.vault import PiiVault, identity_key, mask_name, mask_number

# Plain ASCII, letters a RIC's check character may be, full-width forms, separators that must
# never make two documents one, control characters, spaces and Chinese characters.
PIECES = [
    *"0123456789",
    "x",
    "X",
    "E",
    "１",
    "Ｘ",
    ":",
    "\x1f",
    "\t",
    "\x00",
    " ",
    "张",
    "伟",
]
DOC_TYPES = ["RIC", "ric ", "PASSPORT", "passport", "HKMO", "TW", "FPR", "RIC:X", "PASS\x1fPORT"]
NATIONS = [None, "USA", "us", "GBR", "gb", "XX", "", "CHN", "U\x1fS"]


def random_text(rng: random.Random, longest: int) -> str | None:
    if rng.random() < 0.05:
        return None
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, longest)))


@pytest.mark.parametrize("seed", range(3))
def test_identity_tokens_agree(vault: PiiVault, seed: int) -> None:
    rng = random.Random(seed)
    rows = [
        (
            rng.choice([*DOC_TYPES, None]),
            random_text(rng, 20),
            rng.choice(NATIONS),
        )
        for _ in range(600)
    ]
    types, numbers, nations = (
        pa.array(list(column), pa.string()) for column in zip(*rows, strict=True)
    )
    column = identity_token_column(vault, types, numbers, nations)
    for (doc, number, nation), token in zip(rows, column, strict=True):
        if not doc or not doc.strip() or number is None or not number.strip():
            assert token is None, (doc, number)
        else:
            assert token == vault.identity_token(doc, number, normalise_nationality(nation)), (
                doc,
                number,
                nation,
            )


def test_a_passport_is_keyed_by_its_state_and_no_other_document_is(vault: PiiVault) -> None:
    american = vault.identity_token("PASSPORT", "E12345678", "USA")
    assert vault.identity_token("passport", " e12345678 ", "usa") == american
    assert vault.identity_token("PASSPORT", "E12345678", "GBR") != american
    assert vault.identity_token("PASSPORT", "E12345678") != american  # state unknown
    ric = vault.identity_token("RIC", "11010119900307123X")
    assert vault.identity_token("RIC", "11010119900307123X", "USA") == ric


def test_malformed_documents_get_keys_no_plain_document_has(vault: PiiVault) -> None:
    # A type with ":" or a control character is keyed apart instead of failing the import.
    assert identity_key("RIC:X", "1") != identity_key("RIC", "X:1")
    assert identity_key("PASSPORT", "E1\x1fUSA") != identity_key("PASSPORT", "E1", "USA")
    assert identity_key("RIC:X", "1").startswith(":")
    assert not identity_key("RIC", "X:1").startswith(":")
    with pytest.raises(ValueError):
        identity_key(" ", "1")


@pytest.mark.parametrize("seed", range(3))
def test_masks_agree(seed: int) -> None:
    rng = random.Random(seed)
    values = [random_text(rng, 22) for _ in range(600)]
    array = pa.array(values, pa.string())
    numbers = mask_number_column(array).to_pylist()
    names = mask_name_column(array).to_pylist()
    for value, number, name in zip(values, numbers, names, strict=True):
        assert number == (None if value is None else mask_number(value)), value
        assert name == (None if value is None else mask_name(value)), value
