"""Identity work on whole Arrow columns, for the bulk registry import.

Each function is the column form of a scalar one in :mod:`mvnoguard.identity.vault`: the common
case (plain ASCII document numbers, Chinese names without spaces) is done with Arrow compute,
and every other value goes through the scalar function, so the answers are the same value for
value. Tests hold each pair to agreement on random input.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from mvnoguard.identity.documents import normalise_nationality
from mvnoguard.identity.vault import PASSPORT, PiiVault, mask_name, mask_number

_CJK_ONLY = r"^[\x{4E00}-\x{9FFF}]+$"
_ASCII_CONTROL = r"[\x00-\x1f\x7f]"


def _fill(fast: pa.Array, use_fast: pa.Array, values: list[str | None], slow) -> pa.Array:  # type: ignore[no-untyped-def]
    result = fast.to_pylist()
    chosen = use_fast.to_pylist()
    for i, value in enumerate(values):
        if not chosen[i] and value is not None:
            result[i] = slow(value)
    return pa.array(result, pa.string())


def mask_number_column(numbers: pa.Array) -> pa.Array:
    """``mask_number`` of every value: the fast path for resident identity card lengths (15
    characters or more, first 4 and last 4 kept), the scalar function for the rest."""
    length = pc.utf8_length(numbers)
    long_enough = pc.fill_null(pc.greater_equal(length, 15), False)
    stars = pc.binary_repeat("*", pc.max_element_wise(pc.subtract(length, 8), 0))
    fast = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(numbers, 0, 4),
        stars,
        pc.utf8_slice_codeunits(numbers, -4),
        "",
    )
    return _fill(fast, long_enough, numbers.to_pylist(), mask_number)


def mask_name_column(names: pa.Array) -> pa.Array:
    """``mask_name`` of every value: a Chinese name keeps its family-name character."""
    # One character is the whole name: the scalar function masks it all.
    cjk = pc.fill_null(
        pc.and_(
            pc.match_substring_regex(names, _CJK_ONLY),
            pc.greater_equal(pc.utf8_length(names), 2),
        ),
        False,
    )
    stars = pc.binary_repeat("*", pc.max_element_wise(pc.subtract(pc.utf8_length(names), 1), 0))
    fast = pc.binary_join_element_wise(pc.utf8_slice_codeunits(names, 0, 1), stars, "")
    return _fill(fast, cjk, names.to_pylist(), mask_name)


def identity_token_column(
    vault: PiiVault,
    doc_types: pa.Array,
    numbers: pa.Array,
    nationalities: pa.Array | None = None,
) -> list[str | None]:
    """``vault.identity_token`` of every (type, number), with the nationality of a passport when
    ``nationalities`` is given and the value is a country code; None where type or number is
    missing."""
    doc = pc.utf8_upper(pc.utf8_trim_whitespace(doc_types))
    num = pc.utf8_upper(pc.utf8_trim_whitespace(numbers))
    passport = pc.fill_null(pc.equal(doc, PASSPORT), False)
    plain = pc.fill_null(
        pc.and_(
            pc.and_(pc.string_is_ascii(doc_types), pc.string_is_ascii(numbers)),
            pc.invert(
                pc.or_(
                    pc.or_(pc.match_substring(doc, ":"), passport),
                    pc.or_(
                        pc.match_substring_regex(doc_types, _ASCII_CONTROL),
                        pc.match_substring_regex(numbers, _ASCII_CONTROL),
                    ),
                )
            ),
        ),
        False,
    )
    present = pc.and_(pc.is_valid(doc_types), pc.is_valid(numbers))
    present = pc.and_(
        present, pc.and_(pc.not_equal(doc, ""), pc.not_equal(pc.utf8_trim_whitespace(numbers), ""))
    )
    keys = pc.if_else(
        pc.fill_null(pc.and_(plain, present), False),
        pc.binary_join_element_wise(doc, num, ":"),
        pa.scalar(None, pa.string()),
    )
    tokens = vault.token_many("identity", keys.to_pylist())
    types, values, fast, has = (
        doc_types.to_pylist(),
        numbers.to_pylist(),
        plain.to_pylist(),
        pc.fill_null(present, False).to_pylist(),
    )
    nations = nationalities.to_pylist() if nationalities is not None else [None] * len(types)
    for i in range(len(tokens)):
        if has[i] and not fast[i]:
            nation = normalise_nationality(nations[i])
            tokens[i] = vault.identity_token(types[i], values[i], nation)
    return tokens
