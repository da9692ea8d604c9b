"""Typing of call, message and complaint records: the contract columns and how each is typed.

:data:`FIELDS` names each table's contract columns and :data:`SCHEMAS` the Parquet schema the
ingest writes (:mod:`mvnoguard.analytics.traffic_ingest`): every column a feature reads. A
complaint's ``reporter_number`` is checked but not kept, as nothing needs the complainant's
number. :func:`typing_sql` is the one DuckDB query that types a source's rows, giving per
column the typed value, a fault code and the original value of faulty rows; :class:`Resolver`
settles the international numbers the query leaves to ``phonenumbers``. It never reads or
writes files, and never calls Python once per row.

Numbers are stored as E.164 digits without the '+' in ``int64`` (``8617012345678``); use
:func:`e164_text` or :func:`e164_sql` to show them as ``+8617012345678``. Accepted forms, after
a trailing ``.0`` of a whole number written as a decimal (``17012345678.0``, as pandas and Excel
write number columns) and then spaces, dashes, dots and parentheses are removed (a decimal
with a fraction, ``10086.5``, is no number):

* a Chinese mobile number (11 digits starting with 1), bare or after ``+86``, ``0086``, ``86``;
* a Chinese fixed line with its trunk 0 (``0`` + area code + subscriber, 10 to 12 digits),
  stored as 86 + the digits after the 0;
* any other ``+CC...`` or ``00CC...`` number that ``phonenumbers`` calls valid (only the
  distinct such values are checked, so this costs nothing per row);
* in ``other_party`` only: a national service short code (5 or 6 digits starting with 1 or 9,
  such as 10086, 95588, 12315), bare or after ``+86`` or ``0086``, stored as 86 + the code
  (``8610086``, shown ``+8610086``).
  No real E.164 number is that short, so a short code never collides with a subscriber.

Parquet columns that hold integers are read as those digits (a leading 0 or '+' cannot be
stored in an integer, so an integer column holds mobile numbers, 86 + mobile, or short codes).

Timestamps are ISO 8601 (``2026-03-02T10:00:00``, a space for the T, optional fraction and
offset from -14:00 to +14:00, or a bare date); without an offset they are Beijing time
(UTC+8). Impossible dates and times (30 February, 25:00) are quarantined. Parquet timestamps
without a zone are Beijing time too. A time before 1990 or from 2100 on (UTC) is quarantined
as ``bad_time`` like an impossible one. ``duration_s`` is a whole number of seconds from 0 to
86,400.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, overload

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "FIELDS",
    "MAX_DURATION_S",
    "REASONS",
    "SCHEMAS",
    "Field",
    "Kind",
    "Resolver",
    "TrafficTable",
    "e164_sql",
    "e164_text",
    "sql_literal",
    "typing_sql",
]

TrafficTable = Literal["calls", "messages", "complaints", "activations"]
Kind = Literal["number", "party", "time", "duration", "choice", "label", "text"]

MAX_DURATION_S: Final = 86_400
# Records' times are taken from 1990 to the end of 2099 (UTC): anything else is a typing slip
# or a placeholder (0001-01-01, 9999-12-31), which dates cannot be computed on.
EARLIEST_TIME: Final = "1990-01-01 00:00:00+00"
LATEST_TIME: Final = "2100-01-01 00:00:00+00"


@dataclass(frozen=True, slots=True)
class Field:
    """One contract column: how it is typed, whether it may be empty, its fault code.

    ``stored`` False: the column is checked like any other (a bad value quarantines its row)
    but not written to the typed Parquet, because no feature reads it.
    """

    name: str
    kind: Kind
    required: bool
    code: str = ""
    choices: tuple[str, ...] = ()
    stored: bool = True


def _number(name: str, *, required: bool = True, party: bool = False) -> Field:
    return Field(name, "party" if party else "number", required, "bad_number")


FIELDS: Final[dict[TrafficTable, tuple[Field, ...]]] = {
    "calls": (
        _number("msisdn"),
        _number("other_party", party=True),
        Field("direction", "choice", True, "bad_direction", ("out", "in")),
        Field("start_time", "time", True, "bad_time"),
        Field("duration_s", "duration", True, "bad_duration"),
        Field("cell_id", "label", False),
        Field("imei", "label", False),
    ),
    "messages": (
        _number("msisdn"),
        _number("other_party", party=True),
        Field("direction", "choice", True, "bad_direction", ("out", "in")),
        Field("sent_at", "time", True, "bad_time"),
        Field("content", "text", False),
    ),
    "complaints": (
        _number("reported_number"),
        # The complainant's number is personal data no feature needs: checked, never stored.
        Field("reporter_number", "number", False, "bad_number", stored=False),
        Field("category", "choice", True, "bad_category", ("fraud", "harassment", "spam", "other")),
        Field("received_at", "time", True, "bad_time"),
        Field("text", "text", False),
    ),
    # When each number was activated (a registry snapshot will do: other columns are ignored).
    "activations": (
        _number("msisdn"),
        Field("activated_at", "time", True, "bad_time"),
    ),
}
"""Each table's contract columns. Columns that may be empty may also be absent from a file."""

_ARROW_TYPES: Final[dict[Kind, pa.DataType]] = {
    "number": pa.int64(),
    "party": pa.int64(),
    "time": pa.timestamp("us", tz="UTC"),
    "duration": pa.int32(),
    "choice": pa.string(),
    "label": pa.string(),
    "text": pa.string(),
}

SCHEMAS: Final[dict[TrafficTable, pa.Schema]] = {
    table: pa.schema([pa.field(f.name, _ARROW_TYPES[f.kind]) for f in fields if f.stored])
    for table, fields in FIELDS.items()
}
"""The output Parquet schema of each table (the feature pipeline's input): its stored fields."""

REASONS: Final[dict[str, str]] = {
    "missing_value": "a value is required",
    "bad_number": "not a phone number in an accepted form",
    "bad_direction": "direction must be out or in",
    "bad_category": "category must be fraud, harassment, spam or other",
    "bad_time": "not an ISO 8601 timestamp, no such date or time, or not from 1990 to 2099",
    "bad_duration": f"duration must be whole seconds from 0 to {MAX_DURATION_S}",
    "bad_value": "a list, struct or map where one value is expected",
}

# ------------------------------------------------------------------------------- E.164 output


@overload
def e164_text(column_or_value: int) -> str: ...
@overload
def e164_text(column_or_value: None) -> None: ...
@overload
def e164_text(column_or_value: pa.Array | pa.ChunkedArray) -> pa.Array: ...
def e164_text(column_or_value: int | pa.Array | pa.ChunkedArray | None) -> str | pa.Array | None:
    """``8617012345678`` -> ``+8617012345678``; an Arrow column becomes a string column."""
    if column_or_value is None:
        return None
    if isinstance(column_or_value, int):
        return f"+{column_or_value}"
    column = column_or_value
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return pc.binary_join_element_wise("+", column.cast(pa.string()), "")


def e164_sql(column: str) -> str:
    """The SQL (DuckDB or Spark) showing a stored number column as E.164 text."""
    return f"concat('+', CAST({column} AS VARCHAR))"


# ----------------------------------------------------------------------------- the typing SQL

_D = "[0-9]"
_SEPARATORS = r"[\s.()\-]"
_MOBILE = r"(?:\+86|0086|86)?1\d{10}"
_FIXED = r"0[1-9]\d{8,10}"
_SHORT = r"[19]\d{4,5}"
_INTERNATIONAL = r"(?:\+|00)[1-9]\d{4,16}"
# A UTC offset beyond -14:00..+14:00 (no zone has one), or with minutes past 59.
_BAD_OFFSET = r"[+-](?:1[5-9]|[2-9]\d|14:?(?:0[1-9]|[1-5]\d))(?::?\d{2})?$|[+-]\d{2}:?[6-9]\d$"
_DECIMAL = r"[+]?\d+[.]\d{1,2}"  # one dot, then one or two digits: a fraction, not a group
_TIMESTAMP = (
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?)?"
)
_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
# A number column with a gap is float64 once pandas has touched it (17012345678.0).
_FLOAT_TYPES = ("DOUBLE", "FLOAT")
_FULL_WIDTH = ("０１２３４５６７８９＋", "0123456789+")


def _nested(source_type: str) -> bool:
    """Whether DuckDB's type name is a list, array, struct, map or union."""
    return source_type.endswith("]") or source_type.startswith(("STRUCT", "MAP", "UNION"))


def _numeric(f: Field, source_type: str) -> bool:
    """Whether a number column is stored as numbers (typed arithmetically, not as text)."""
    return f.kind in ("number", "party") and source_type in (*_INTEGER_TYPES, *_FLOAT_TYPES)


_NAIVE_TIMES = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATE")


def sql_literal(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _cleaned(f: Field, source_type: str) -> str:
    """The value as typing sees it: text without blanks (or the integer as stored)."""
    x = f'"{f.name}"'
    if _numeric(f, source_type):
        return f"{x}::DOUBLE" if source_type in _FLOAT_TYPES else f"{x}::BIGINT"
    if f.kind == "time" and (source_type in _NAIVE_TIMES or source_type.startswith("TIMESTAMP")):
        return x
    if f.kind == "duration" and source_type in _INTEGER_TYPES:
        return f"{x}::BIGINT"
    text = f"{x}::VARCHAR"
    if f.kind == "choice":
        return f"nullif(lower(trim({text})), '')"
    if f.kind == "text":
        return f"nullif({text}, '')"
    if f.kind in ("number", "party"):
        # A number column pandas or Excel wrote as decimals (17012345678.0): the whole number,
        # before separators (dots among them) are dropped and the zero would become a digit.
        t = f"trim({text})"
        whole = f"regexp_replace({t}, '^([+]?[0-9]+)[.]0+$', '\\1')"
        return f"nullif(CASE WHEN contains({t}, '.') THEN {whole} ELSE {t} END, '')"
    return f"nullif(trim({text}), '')"


def _typed(f: Field, source_type: str) -> str:
    """The typed value, NULL where the cleaned value cannot be typed."""
    c = f'"c_{f.name}"'
    integer = source_type in _INTEGER_TYPES
    if _numeric(f, source_type):
        if not integer:  # a whole float is its digits; 17012345678.5 is no number
            c = f"(CASE WHEN {c} = trunc({c}) AND abs({c}) < 1e18 THEN {c}::BIGINT END)"
        short = (
            f" WHEN {c} BETWEEN 10000 AND 19999 OR {c} BETWEEN 90000 AND 99999 "
            f"THEN 8600000 + {c} WHEN {c} BETWEEN 100000 AND 199999 OR {c} BETWEEN 900000 "
            f"AND 999999 THEN 86000000 + {c}"
            if f.kind == "party"
            else ""
        )
        return (
            f"CASE WHEN {c} BETWEEN 10000000000 AND 19999999999 THEN 8600000000000 + {c} "
            f"WHEN {c} BETWEEN 8610000000000 AND 8619999999999 THEN {c}{short} END"
        )
    if f.kind in ("number", "party"):
        # The usual spellings by GLOB (a few times cheaper than a regular expression), the
        # rest without separators by regular expressions.
        wide, narrow = _FULL_WIDTH
        t = f"regexp_replace(translate({c}, '{wide}', '{narrow}'), '{_SEPARATORS}', '', 'g')"
        # A short code bare, or in the E.164 form the risk list shows it in (+8610086).
        short = (
            f" WHEN regexp_full_match({t}, '(?:\\+86|0086)?{_SHORT}') "
            f"THEN ('86' || regexp_extract({t}, '{_SHORT}$'))::BIGINT"
            if f.kind == "party"
            else ""
        )
        return (
            f"CASE WHEN {c} GLOB '1{_D * 10}' THEN 8600000000000 + {c}::BIGINT "
            f"WHEN {c} GLOB '+861{_D * 10}' THEN {c}[2:]::BIGINT "
            f"WHEN {c} GLOB '861{_D * 10}' THEN {c}::BIGINT "
            # 10086.5 is a decimal, not the digits 100865 (a whole one lost its .0 above).
            f"WHEN regexp_full_match({c}, '{_DECIMAL}') THEN NULL "
            f"WHEN regexp_full_match({t}, '{_MOBILE}') THEN ('86' || right({t}, 11))::BIGINT "
            f"WHEN regexp_full_match({t}, '{_FIXED}') THEN ('86' || {t}[2:])::BIGINT{short} END"
        )
    if f.kind == "time":
        if source_type.startswith("TIMESTAMP WITH TIME ZONE"):
            return f"{c}::TIMESTAMPTZ"
        if source_type in _NAIVE_TIMES:
            return f"({c}::TIMESTAMP - INTERVAL 8 HOUR)::TIMESTAMPTZ"
        day_time = f"{_D * 4}-{_D * 2}-{_D * 2}[T ]{_D * 2}:{_D * 2}:{_D * 2}"
        return (
            f"CASE WHEN {c} GLOB '{day_time}' "
            f"THEN (try_cast({c} AS TIMESTAMP) - INTERVAL 8 HOUR)::TIMESTAMPTZ "
            f"WHEN length({c}) > 10 AND regexp_matches({c}[11:], '{_BAD_OFFSET}') THEN NULL "
            f"WHEN {c} GLOB '{day_time}[+-]{_D * 2}:{_D * 2}' THEN try_cast({c} AS TIMESTAMPTZ) "
            f"WHEN NOT regexp_full_match({c}, '{_TIMESTAMP}') THEN NULL "
            f"WHEN length({c}) > 10 AND regexp_matches({c}[11:], '[Zz+-]') "
            f"THEN try_cast(upper({c}) AS TIMESTAMPTZ) "
            f"ELSE (try_cast({c} AS TIMESTAMP) - INTERVAL 8 HOUR)::TIMESTAMPTZ END"
        )
    if f.kind == "duration":
        value = (
            c
            if integer
            else f"CASE WHEN length({c}) <= 9 AND NOT {c} GLOB '*[!0-9]*' THEN {c}::BIGINT "
            f"WHEN regexp_full_match({c}, '\\d{{1,9}}\\.0*') "
            f"THEN split_part({c}, '.', 1)::BIGINT END"
        )
        return f"CASE WHEN {value} BETWEEN 0 AND {MAX_DURATION_S} THEN ({value})::INTEGER END"
    if f.kind == "choice":
        return f"CASE WHEN {c} IN ({', '.join(sql_literal(v) for v in f.choices)}) THEN {c} END"
    return c


def _international(f: Field, source_type: str) -> str | None:
    """Text left for ``phonenumbers``: a +CC/00CC number the SQL forms did not take."""
    if f.kind not in ("number", "party") or _numeric(f, source_type) or _nested(source_type):
        return None
    t = f"regexp_replace(\"c_{f.name}\", '{_SEPARATORS}', '', 'g')"
    found = f"regexp_full_match({t}, '{_INTERNATIONAL}')"
    return f'CASE WHEN "v_{f.name}" IS NULL AND {found} THEN {t} END'


def typing_sql(table: TrafficTable, source: str, types: dict[str, str]) -> str:
    """One query over ``source`` (the contract's columns as named, plus ``source_row``).

    It yields, per field, the typed value ``v_F``, the fault code ``f_F`` (NULL when fine)
    and, for numbers, ``i_F`` (text for :class:`Resolver`); then ``source_row``
    and, only on rows with a fault or an international number, the original values ``r_F``.
    """
    fields = FIELDS[table]
    raw = ", ".join(f'"{f.name}" AS "r_{f.name}"' for f in fields)
    cleaned = ", ".join(f'{_cleaned(f, types[f.name])} AS "c_{f.name}"' for f in fields)
    typed = ", ".join(f'{_typed(f, types[f.name])} AS "v_{f.name}"' for f in fields)
    checks: list[str] = []
    flags: list[str] = []
    for f in fields:
        international = _international(f, types[f.name])
        missing = "'missing_value'" if f.required else "NULL"
        bad = f"'{f.code}'" if f.code else "NULL"
        unresolved = f" AND {international} IS NULL" if international else ""
        # A list, struct or map where one value is expected is bad whatever it holds.
        fault = (
            "'bad_value'"
            if _nested(types[f.name])
            else f'CASE WHEN "v_{f.name}" IS NULL{unresolved} THEN {bad} END'
        )
        checks.append(
            f'CASE WHEN "c_{f.name}" IS NULL THEN {missing} ELSE {fault} END AS "f_{f.name}"'
        )
        flags.append(f'"f_{f.name}" IS NOT NULL')
        if international:
            checks.append(f'{international} AS "i_{f.name}"')
            flags.append(f'"i_{f.name}" IS NOT NULL')
    values = ", ".join(f'"v_{f.name}"' for f in fields)
    faults = ", ".join(f'"f_{f.name}"' for f in fields)
    extras = ", ".join(f'"i_{f.name}"' for f in fields if _international(f, types[f.name]))
    originals = ", ".join(
        f'CASE WHEN flagged THEN "r_{f.name}"::VARCHAR END AS "r_{f.name}"' for f in fields
    )
    # A time out of range is no time: NULL, so it is quarantined as bad_time.
    in_range = ", ".join(
        f'CASE WHEN "v_{f.name}" >= TIMESTAMPTZ {sql_literal(EARLIEST_TIME)} '
        f'AND "v_{f.name}" < TIMESTAMPTZ {sql_literal(LATEST_TIME)} '
        f'THEN "v_{f.name}" END AS "v_{f.name}"'
        for f in fields
        if f.kind == "time"
    )
    replace = f" REPLACE ({in_range})" if in_range else ""
    bounded = f"SELECT *{replace} FROM typed_any"
    return (
        f"WITH cleaned AS (SELECT source_row, {raw}, {cleaned} FROM {source}), "
        f"typed_any AS (SELECT *, {typed} FROM cleaned), "
        f"typed AS ({bounded}), "
        f"checked AS (SELECT *, {', '.join(checks)} FROM typed), "
        f"flagged AS (SELECT *, ({' OR '.join(flags)}) AS flagged FROM checked) "
        f"SELECT {values}, {faults}, {extras + ', ' if extras else ''}source_row, {originals} "
        "FROM flagged"
    )


# ---------------------------------------------------------------------- international numbers


class Resolver:
    """+CC/00CC numbers to E.164 digits with ``phonenumbers``, each distinct text once."""

    def __init__(self) -> None:
        self._known: dict[str, int | None] = {}

    def _resolve(self, text: str) -> int | None:
        if text not in self._known:
            candidate = "+" + text[2:] if text.startswith("00") else text
            try:
                number = phonenumbers.parse(candidate, None)
            except phonenumbers.NumberParseException:
                self._known[text] = None
            else:
                valid = phonenumbers.is_valid_number(number)
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                self._known[text] = int(e164[1:]) if valid else None
        return self._known[text]

    def apply(self, batch: pa.Table) -> pa.Table:
        """Settle each ``i_F`` column of a typed batch into its ``v_F`` and ``f_F``."""
        for name in batch.column_names:
            if not name.startswith("i_"):
                continue
            texts = batch.column(name)
            if texts.null_count == len(texts):
                continue
            field = name[2:]
            keys = pc.unique(texts.drop_null())
            numbers = pa.array([self._resolve(k) for k in keys.to_pylist()], pa.int64())
            resolved = pc.take(numbers, pc.index_in(texts, value_set=keys))
            value = pc.coalesce(batch.column(f"v_{field}"), resolved)
            fault = pc.if_else(
                pc.and_(pc.is_valid(texts), pc.is_null(resolved)),
                pa.scalar("bad_number"),
                batch.column(f"f_{field}"),
            )
            batch = batch.set_column(
                batch.schema.get_field_index(f"v_{field}"), f"v_{field}", value
            )
            batch = batch.set_column(
                batch.schema.get_field_index(f"f_{field}"), f"f_{field}", fault
            )
        return batch
