"""Vectorised typing of contract columns: text or typed Arrow columns in, values and faults out.

Each function returns the typed array and a boolean ``bad`` mask (True where a present value
could not be typed). Missing values (null or blank) are not bad here; required-ness is the
caller's rule. Arrow's ``strptime`` rolls impossible dates over (30 February becomes 2 March),
so every parsed date is formatted back and compared with its text.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

_UTC = "UTC"
_BEIJING_OFFSET_US = 8 * 3600 * 1_000_000  # CHINA_TZ: UTC+8, no daylight saving


def blank_to_null(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Strings trimmed, blanks made null; non-string columns are returned unchanged."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_string(array.type) and not pa.types.is_large_string(array.type):
        return array
    trimmed = pc.utf8_trim_whitespace(array)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, array.type), trimmed)


def _false_where_null(mask: pa.Array) -> pa.Array:
    return pc.fill_null(mask, False)


def parse_timestamps(column: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array]:
    """ISO 8601 timestamps to UTC; a value without a zone is Beijing time."""
    array = blank_to_null(column)
    target = pa.timestamp("us", tz=_UTC)
    if pa.types.is_timestamp(array.type):
        if array.type.tz is None:
            shifted = pc.subtract(
                array.cast(pa.timestamp("us")).cast(pa.int64()), _BEIJING_OFFSET_US
            )
            return shifted.cast(target), pa.array([False] * len(array), pa.bool_())
        return array.cast(target), pa.array([False] * len(array), pa.bool_())
    if pa.types.is_date(array.type):
        return parse_timestamps(array.cast(pa.timestamp("us")))
    if not pa.types.is_string(array.type):
        array = array.cast(pa.string())
    text = pc.replace_substring_regex(array, r"\.\d+", "")  # fractions of a second
    text = pc.replace_substring_regex(text, r"^(\d{4}-\d{2}-\d{2})T", r"\1 ")
    text = pc.replace_substring_regex(text, r"Z$", "+0000")
    # Seconds may be left out (ISO 8601 allows hh:mm): 2015-01-01 10:00 is 10:00:00.
    text = pc.replace_substring_regex(
        text, r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2})([+-]\d{2}:?\d{2})?$", r"\1:00\2"
    )
    text = pc.replace_substring_regex(text, r"([+-]\d{2}):(\d{2})$", r"\1\2")
    zoned = pc.strptime(text, format="%Y-%m-%d %H:%M:%S%z", unit="us", error_is_null=True)
    naive = pc.strptime(text, format="%Y-%m-%d %H:%M:%S", unit="us", error_is_null=True)
    day_only = pc.strptime(text, format="%Y-%m-%d", unit="us", error_is_null=True)
    local = pc.coalesce(naive, day_only)
    local_utc = pc.subtract(local.cast(pa.int64()), _BEIJING_OFFSET_US).cast(target)
    value = pc.coalesce(zoned.cast(target), local_utc)
    real_day = _real_dates(pc.utf8_slice_codeunits(text, 0, 10))
    ok = pc.and_(pc.is_valid(value), real_day)
    bad = pc.and_(pc.is_valid(array), pc.invert(_false_where_null(ok)))
    return pc.if_else(bad, pa.scalar(None, target), value), _false_where_null(bad)


def _real_dates(text: pa.Array) -> pa.Array:
    parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
    return _false_where_null(pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), text))


def parse_dates(column: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array]:
    array = blank_to_null(column)
    if pa.types.is_date(array.type):
        return array.cast(pa.date32()), pa.array([False] * len(array), pa.bool_())
    if pa.types.is_timestamp(array.type):
        return array.cast(pa.date32()), pa.array([False] * len(array), pa.bool_())
    if not pa.types.is_string(array.type):
        array = array.cast(pa.string())
    parsed = pc.strptime(array, format="%Y-%m-%d", unit="s", error_is_null=True)
    ok = _real_dates(array)
    bad = pc.and_(pc.is_valid(array), pc.invert(ok))
    value = pc.if_else(ok, parsed, pa.scalar(None, parsed.type)).cast(pa.date32())
    return value, _false_where_null(bad)


def parse_floats(column: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array]:
    array = blank_to_null(column)
    if pa.types.is_floating(array.type) or pa.types.is_integer(array.type):
        return array.cast(pa.float64()), pa.array([False] * len(array), pa.bool_())
    if not pa.types.is_string(array.type):
        array = array.cast(pa.string())
    numeric = pc.match_substring_regex(array, r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
    numeric = _false_where_null(numeric)
    safe = pc.if_else(numeric, array, pa.scalar(None, pa.string()))
    value = safe.cast(pa.float64())
    bad = pc.and_(pc.is_valid(array), pc.invert(numeric))
    return value, _false_where_null(bad)


def as_text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    array = blank_to_null(column)
    return array if pa.types.is_string(array.type) else array.cast(pa.string())
