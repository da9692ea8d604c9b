"""Ingest of call, message and complaint records: contract files in, normalised Parquet out.

:func:`ingest` reads one table's contract files (CSV or Parquet, one or many, folders or globs
of parts, larger than memory), types and normalises every row, and writes one Parquet part per
source file into ``out_dir`` in the exact schemas of :data:`SCHEMAS`, which the feature
pipeline (:mod:`mvnoguard.analytics.traffic_features`) is written against. Every bad row goes
to ``quarantine_dir/<table>-<stamp>.csv`` with file, row, field, code, reason and its original
values; one bad row never sinks a file, and every good row is kept. It must never hold a whole
file in memory, nor call Python once per row on the big path.

How a file is read. DuckDB does the typing in one streamed query per file (``read_parquet``,
or ``read_csv`` with every column as text), both cores, batch by batch; Python only splits
each batch into good rows (appended to the part) and bad rows (appended to its quarantine).
``row`` is the 1-based data row number in its source file, header excluded: for a CSV file it
is the physical line the record starts on, as in ``registry import``
(:mod:`mvnoguard.analytics.contract_files`). A CSV file DuckDB cannot take apart (bad UTF-8,
wrong field counts, a quote left open), or one with quarantined rows whose records do not sit
one to a line (blank lines, line breaks inside quoted values), is read again by the exact,
slower reader of ``contract_files``, which also quarantines the rows it cannot split.

Numbers are stored as E.164 digits without the '+' in ``int64`` (``8617012345678``); use
:func:`e164_text` or :func:`e164_sql` to show them as ``+8617012345678``. Accepted forms, after
spaces, dashes, dots and parentheses are removed:

* a Chinese mobile number (11 digits starting with 1), bare or after ``+86``, ``0086``, ``86``;
* a Chinese fixed line with its trunk 0 (``0`` + area code + subscriber, 10 to 12 digits),
  stored as 86 + the digits after the 0;
* any other ``+CC...`` or ``00CC...`` number that ``phonenumbers`` calls valid (only the
  distinct such values are checked, so this costs nothing per row);
* in ``other_party`` only: a national service short code (5 or 6 digits starting with 1 or 9,
  such as 10086, 95588, 12315), stored as 86 + the code (``8610086``, shown ``+8610086``).
  No real E.164 number is that short, so a short code never collides with a subscriber.

Parquet columns that hold integers are read as those digits (a leading 0 or '+' cannot be
stored in an integer, so an integer column holds mobile numbers, 86 + mobile, or short codes).

Timestamps are ISO 8601 (``2026-03-02T10:00:00``, a space for the T, optional fraction and
offset, or a bare date); without an offset they are Beijing time (UTC+8). Impossible dates and
times (30 February, 25:00) are quarantined. Parquet timestamps without a zone are Beijing time
too. ``duration_s`` is a whole number of seconds from 0 to 86,400.

A second ingest of the same sources into the same ``out_dir`` changes nothing: the manifest
(``_manifest.json``) records each part's source, size, modification time and SHA-256, an
unchanged source keeps its part untouched, and parts of sources no longer given are removed
(the folder always holds exactly the records of the last call); a file given twice, or two
files of identical content, are read once. The quarantined rows of each part are kept beside
it (``_quarantine/``), so every call's quarantine file lists all bad rows of its sources,
whether or not they were read again. Bad rows take a slower path than good ones (they are
few); their original values travel with them, as the operator needs them to correct the feed.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import logging
import os
import queue
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, overload

import duckdb
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from mvnoguard.analytics.contract_files import RowProblem, columns_of, read_batches
from mvnoguard.analytics.engines import redact
from mvnoguard.errors import DataFileError, InvalidInput

__all__ = [
    "FIELDS",
    "SCHEMAS",
    "IngestResult",
    "TrafficTable",
    "e164_sql",
    "e164_text",
    "ingest",
]

TrafficTable = Literal["calls", "messages", "complaints", "activations"]
Kind = Literal["number", "party", "time", "duration", "choice", "label", "text"]
Progress = Callable[[int], None]

_log = logging.getLogger(__name__)

BATCH_ROWS: Final = 1 << 20
MAX_DURATION_S: Final = 86_400
SUFFIXES: Final = (".csv", ".parquet")
MANIFEST: Final = "_manifest.json"
QUARANTINE_SUBDIR: Final = "_quarantine"
_FORMAT: Final = 1  # bump when the output changes, so old parts are rebuilt


@dataclass(frozen=True, slots=True)
class Field:
    """One contract column: how it is typed, whether it may be empty, its fault code."""

    name: str
    kind: Kind
    required: bool
    code: str = ""
    choices: tuple[str, ...] = ()


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
        _number("reporter_number", required=False),
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
    table: pa.schema([pa.field(f.name, _ARROW_TYPES[f.kind]) for f in fields])
    for table, fields in FIELDS.items()
}
"""The output Parquet schema of each table (the feature pipeline's input)."""

_REASONS: Final[dict[str, str]] = {
    "missing_value": "a value is required",
    "bad_number": "not a phone number in an accepted form",
    "bad_direction": "direction must be out or in",
    "bad_category": "category must be fraud, harassment, spam or other",
    "bad_time": "not an ISO 8601 timestamp, or no such date or time",
    "bad_duration": f"duration must be whole seconds from 0 to {MAX_DURATION_S}",
}


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one ingest wrote: ``output`` is the folder of Parquet parts."""

    table: TrafficTable
    sources: tuple[Path, ...]
    output: Path
    accepted: int
    quarantined: int
    quarantine_file: Path | None


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
_TIMESTAMP = (
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?)?"
)
_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
_NAIVE_TIMES = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATE")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _cleaned(f: Field, source_type: str) -> str:
    """The value as typing sees it: text without blanks (or the integer as stored)."""
    x = f'"{f.name}"'
    if f.kind in ("number", "party") and source_type in _INTEGER_TYPES:
        return f"{x}::BIGINT"
    if f.kind == "time" and (source_type in _NAIVE_TIMES or source_type.startswith("TIMESTAMP")):
        return x
    if f.kind == "duration" and source_type in _INTEGER_TYPES:
        return f"{x}::BIGINT"
    text = f"{x}::VARCHAR"
    if f.kind == "choice":
        return f"nullif(lower(trim({text})), '')"
    if f.kind == "text":
        return f"nullif({text}, '')"
    return f"nullif(trim({text}), '')"


def _typed(f: Field, source_type: str) -> str:
    """The typed value, NULL where the cleaned value cannot be typed."""
    c = f'"c_{f.name}"'
    integer = source_type in _INTEGER_TYPES
    if f.kind in ("number", "party") and integer:
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
        t = f"regexp_replace({c}, '{_SEPARATORS}', '', 'g')"
        short = (
            f" WHEN regexp_full_match({t}, '{_SHORT}') THEN ('86' || {t})::BIGINT"
            if f.kind == "party"
            else ""
        )
        return (
            f"CASE WHEN {c} GLOB '1{_D * 10}' THEN 8600000000000 + {c}::BIGINT "
            f"WHEN {c} GLOB '+861{_D * 10}' THEN {c}[2:]::BIGINT "
            f"WHEN {c} GLOB '861{_D * 10}' THEN {c}::BIGINT "
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
        return f"CASE WHEN {c} IN ({', '.join(_quote(v) for v in f.choices)}) THEN {c} END"
    return c


def _international(f: Field, source_type: str) -> str | None:
    """Text left for ``phonenumbers``: a +CC/00CC number the SQL forms did not take."""
    if f.kind not in ("number", "party") or source_type in _INTEGER_TYPES:
        return None
    t = f"regexp_replace(\"c_{f.name}\", '{_SEPARATORS}', '', 'g')"
    found = f"regexp_full_match({t}, '{_INTERNATIONAL}')"
    return f'CASE WHEN "v_{f.name}" IS NULL AND {found} THEN {t} END'


def typing_sql(table: TrafficTable, source: str, types: dict[str, str]) -> str:
    """One query over ``source`` (the contract's columns as named, plus ``source_row``).

    It yields, per field, the typed value ``v_F``, the fault code ``f_F`` (NULL when fine)
    and, for numbers, ``i_F`` (text for :func:`_resolve_international`); then ``source_row``
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
        checks.append(
            f'CASE WHEN "c_{f.name}" IS NULL THEN {missing} '
            f'WHEN "v_{f.name}" IS NULL{unresolved} THEN {bad} END AS "f_{f.name}"'
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
    return (
        f"WITH cleaned AS (SELECT source_row, {raw}, {cleaned} FROM {source}), "
        f"typed AS (SELECT *, {typed} FROM cleaned), "
        f"checked AS (SELECT *, {', '.join(checks)} FROM typed), "
        f"flagged AS (SELECT *, ({' OR '.join(flags)}) AS flagged FROM checked) "
        f"SELECT {values}, {faults}, {extras + ', ' if extras else ''}source_row, {originals} "
        "FROM flagged"
    )


# ---------------------------------------------------------------------------------- sources


def _source_files(sources: Sequence[Path]) -> list[Path]:
    """Every CSV or Parquet file named, in the folders named, or matching the globs named."""
    found: list[Path] = []
    for source in sources:
        source = Path(source)
        if any(ch in str(source) for ch in "*?["):
            matches = sorted(p for p in Path(source.anchor or ".").glob(_relative(source)))
            files = [p for p in matches if p.is_file() and p.suffix.lower() in SUFFIXES]
            if not files:
                raise DataFileError(f"no CSV or Parquet files match {source}", field=str(source))
        elif source.is_dir():
            files = sorted(
                p for p in source.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES
            )
            if not files:
                raise DataFileError(f"no CSV or Parquet files in {source}", field=str(source))
        elif source.is_file():
            if source.suffix.lower() not in SUFFIXES:
                raise DataFileError(
                    f"{source.name}: records must be .csv or .parquet files", field=str(source)
                )
            files = [source]
        else:
            raise DataFileError(f"no such records file or folder: {source}", field=str(source))
        found += files
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _relative(pattern: Path) -> str:
    return str(pattern.relative_to(pattern.anchor)) if pattern.anchor else str(pattern)


def _check_columns(table: TrafficTable, path: Path) -> list[str]:
    names = columns_of(path)
    missing = [f.name for f in FIELDS[table] if f.required and f.name not in names]
    if missing:
        raise DataFileError(
            f"{path.name}: missing required column(s) {', '.join(missing)} of {table}",
            code="missing_column",
            field=missing[0],
            details={"file": str(path), "columns": missing},
        )
    unknown = [n for n in names if n not in {f.name for f in FIELDS[table]}]
    if unknown:
        _log.warning("%s: ignored unknown column(s) %s", path.name, ", ".join(unknown))
    return names


def _selected(table: TrafficTable, present: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The contract's columns from a source (absent optional ones as NULL) and their types."""
    columns = []
    types: dict[str, str] = {}
    for f in FIELDS[table]:
        if f.name in present:
            columns.append(f'"{f.name}"')
            types[f.name] = present[f.name]
        else:
            columns.append(f'NULL::VARCHAR AS "{f.name}"')
            types[f.name] = "VARCHAR"
    return ", ".join(columns), types


def _parquet_source(
    con: duckdb.DuckDBPyConnection, table: TrafficTable, path: Path
) -> tuple[str, dict[str, str]]:
    scan = f"read_parquet({_quote(str(path))}, file_row_number=true)"
    described = con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
    present = {str(row[0]): str(row[1]) for row in described}
    columns, types = _selected(table, present)
    return f"(SELECT {columns}, file_row_number + 1 AS source_row FROM {scan})", types


def _csv_source(table: TrafficTable, path: Path, header: list[str]) -> tuple[str, dict[str, str]]:
    spec = ", ".join(f"{_quote(name)}: 'VARCHAR'" for name in header)
    scan = (
        f"read_csv({_quote(str(path))}, header=true, auto_detect=false, columns={{{spec}}}, "
        "delim=',', quote='\"', escape='\"', strict_mode=true, ignore_errors=false)"
    )
    columns, types = _selected(table, dict.fromkeys(header, "VARCHAR"))
    return f"(SELECT {columns}, row_number() OVER () AS source_row FROM {scan})", types


def _digest_and_lines(path: Path) -> tuple[str, int]:
    """SHA-256 of the file, and its number of lines (a last line without a newline counts)."""
    digest = hashlib.sha256()
    lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return digest.hexdigest(), lines + (last != b"\n")


# ------------------------------------------------------------------------------ one part


class _NotOneRecordPerLine(Exception):
    """The fast CSV reader cannot number this file's rows as lines; read it exactly."""


@dataclass
class _Part:
    accepted: int = 0
    quarantined: int = 0


class _PartWriter:
    """Good rows of one source to its Parquet part, bad rows to its quarantine CSV."""

    def __init__(self, table: TrafficTable, label: str, part: Path, quarantine: Path) -> None:
        self.table = table
        self.label = label
        self.fields = FIELDS[table]
        self.schema = SCHEMAS[table]
        self.counts = _Part()
        self.quarantine_path = quarantine
        # Dictionaries only for the few-valued columns: building one for numbers, times or
        # IMEIs costs the writer twice the time (measured) and the files get no smaller.
        choices = [f.name for f in self.fields if f.kind == "choice"]
        self._parquet = pq.ParquetWriter(
            part, self.schema, compression="zstd", use_dictionary=choices
        )
        self._quarantine: pa_csv.CSVWriter | None = None
        self._problem_schema = quarantine_schema(table)

    def write(self, batch: pa.Table, problems: Sequence[RowProblem] = ()) -> int:
        """Split one typed batch; returns the number of source rows it covered."""
        bad = None
        for f in self.fields:
            invalid = pc.is_valid(batch.column(f"f_{f.name}"))
            bad = invalid if bad is None else pc.or_(bad, invalid)
        assert bad is not None
        bad_count = int(pc.sum(bad).as_py() or 0)
        good = batch.filter(pc.invert(bad)) if bad_count else batch
        values = [good.column(f"v_{f.name}") for f in self.fields]
        self._parquet.write_table(
            pa.Table.from_arrays(values, names=self.schema.names).cast(self.schema),
            row_group_size=BATCH_ROWS,
        )
        self.counts.accepted += good.num_rows
        rows_with_problems = {p.row for p in problems}
        self.counts.quarantined += bad_count + len(rows_with_problems)
        if bad_count or problems:
            self._write_problems(batch.filter(bad) if bad_count else None, problems)
        return int(batch.num_rows) + len(rows_with_problems)

    def _write_problems(self, bad: pa.Table | None, problems: Sequence[RowProblem]) -> None:
        pieces: list[pa.Table] = []
        if bad is not None:
            for order, f in enumerate(self.fields):
                codes = bad.column(f"f_{f.name}")
                rows = bad.filter(pc.is_valid(codes))
                if not rows.num_rows:
                    continue
                codes = rows.column(f"f_{f.name}")
                reason = pc.if_else(
                    pc.equal(codes, "missing_value"),
                    _REASONS["missing_value"],
                    _REASONS.get(f.code, ""),
                )
                n = rows.num_rows
                pieces.append(
                    pa.table(
                        {
                            "file": pa.array([self.label] * n, pa.string()),
                            "row": rows.column("source_row").cast(pa.int64()),
                            "field": pa.array([f.name] * n, pa.string()),
                            "code": codes.cast(pa.string()),
                            "reason": reason.cast(pa.string()),
                            **{
                                g.name: rows.column(f"r_{g.name}").cast(pa.string())
                                for g in self.fields
                            },
                            "order": pa.array([order] * n, pa.int32()),
                        }
                    )
                )
        if problems:
            empty = pa.nulls(len(problems), pa.string())
            pieces.append(
                pa.table(
                    {
                        "file": pa.array([p.file for p in problems], pa.string()),
                        "row": pa.array([p.row for p in problems], pa.int64()),
                        "field": pa.array([p.field for p in problems], pa.string()),
                        "code": pa.array([p.code for p in problems], pa.string()),
                        "reason": pa.array([p.reason for p in problems], pa.string()),
                        **{g.name: empty for g in self.fields},
                        "order": pa.array([-1] * len(problems), pa.int32()),
                    }
                )
            )
        table = pa.concat_tables(pieces).sort_by([("row", "ascending"), ("order", "ascending")])
        table = table.drop_columns(["order"]).cast(self._problem_schema)
        if self._quarantine is None:
            self.quarantine_path.parent.mkdir(parents=True, exist_ok=True)
            self._quarantine = pa_csv.CSVWriter(
                str(self.quarantine_path),
                self._problem_schema,
                write_options=pa_csv.WriteOptions(quoting_style="needed"),
            )
        self._quarantine.write_table(table)

    def close(self) -> None:
        self._parquet.close()
        if self._quarantine is not None:
            self._quarantine.close()


def quarantine_schema(table: TrafficTable) -> pa.Schema:
    """The quarantine CSV's columns: where, what and why, then the row's original values."""
    names = ["file", "row", "field", "code", "reason", *(f.name for f in FIELDS[table])]
    return pa.schema([(n, pa.int64() if n == "row" else pa.string()) for n in names])


class _Resolver:
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


def _prefetched(reader: Any, depth: int = 2) -> Iterator[pa.RecordBatch]:
    """Batches of a DuckDB reader, the next computed while the caller writes this one."""
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for batch in reader:
                if not offer(batch):
                    return
            offer(end)
        except BaseException as exc:  # handed to the consumer, raised there
            offer(exc)

    worker = threading.Thread(target=produce, name="traffic-ingest-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                slots.get_nowait()
        worker.join()


# ------------------------------------------------------------------------------- one source


@dataclass(frozen=True)
class _Source:
    table: TrafficTable
    path: Path
    header: list[str]

    @property
    def is_csv(self) -> bool:
        return self.path.suffix.lower() == ".csv"


def _fast_read(
    con: duckdb.DuckDBPyConnection,
    source: _Source,
    writer: _PartWriter,
    resolver: _Resolver,
    on_rows: Progress,
) -> int:
    """DuckDB reads and types the whole file, streamed; returns the rows it saw."""
    if source.is_csv:
        relation, types = _csv_source(source.table, source.path, source.header)
    else:
        relation, types = _parquet_source(con, source.table, source.path)
    reader = con.sql(typing_sql(source.table, relation, types)).to_arrow_reader(BATCH_ROWS)
    seen = 0
    for batch in _prefetched(reader):
        seen += writer.write(resolver.apply(pa.Table.from_batches([batch])))
        on_rows(seen)
    return seen


def _exact_read(
    con: duckdb.DuckDBPyConnection,
    source: _Source,
    writer: _PartWriter,
    resolver: _Resolver,
    on_rows: Progress,
) -> int:
    """The contract reader splits the CSV (rows numbered by line); DuckDB types each batch."""
    columns, types = _selected(source.table, dict.fromkeys(source.header, "VARCHAR"))
    query = typing_sql(source.table, f"(SELECT {columns}, source_row FROM exact_batch)", types)
    seen = 0
    for batch in read_batches(source.path):
        con.register("exact_batch", batch.table)
        try:
            typed = con.sql(query).to_arrow_table()
        finally:
            con.unregister("exact_batch")
        seen += writer.write(resolver.apply(typed), batch.problems)
        on_rows(seen)
    return seen


def _ingest_source(
    con: duckdb.DuckDBPyConnection,
    source: _Source,
    staging: Path,
    resolver: _Resolver,
    on_rows: Progress,
) -> tuple[_PartWriter, str]:
    """Type one source file into ``staging``; returns its writer (closed) and SHA-256."""
    part, problems = staging / "part.parquet", staging / "quarantine.csv"
    hashing = _Background(_digest_and_lines, source.path)
    exact = False
    while True:
        problems.unlink(missing_ok=True)
        writer = _PartWriter(source.table, source.path.name, part, problems)
        try:
            with _duckdb_errors(source.path):
                if exact:
                    _exact_read(con, source, writer, resolver, on_rows)
                    break
                seen = _fast_read(con, source, writer, resolver, on_rows)
            if source.is_csv and writer.counts.quarantined and hashing.result()[1] != seen + 1:
                raise _NotOneRecordPerLine
            break
        except (_NotOneRecordPerLine, _CsvNeedsExactReader):
            exact = True
        finally:
            writer.close()
    return writer, hashing.result()[0]


class _CsvNeedsExactReader(Exception):
    """DuckDB refused a CSV file's structure; the contract reader quarantines row by row."""


@contextlib.contextmanager
def _duckdb_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except duckdb.InvalidInputException as exc:
        if path.suffix.lower() == ".csv":
            raise _CsvNeedsExactReader from exc
        raise DataFileError(f"{path.name}: {redact(str(exc))}", field=path.name) from exc
    except duckdb.Error as exc:
        raise DataFileError(f"{path.name}: {redact(str(exc))}", field=path.name) from exc
    except OSError as exc:
        raise DataFileError(f"{path.name}: cannot read ({exc.strerror})", field=path.name) from exc


class _Background:
    """One function call on a thread (hashing releases the GIL while DuckDB reads)."""

    def __init__(self, function: Callable[[Path], tuple[str, int]], path: Path) -> None:
        self._result: tuple[str, int] | None = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._result = function(path)
            except BaseException as exc:  # raised by result()
                self._error = exc

        self._thread = threading.Thread(target=run, name="traffic-ingest-digest", daemon=True)
        self._thread.start()

    def result(self) -> tuple[str, int]:
        self._thread.join()
        if self._error is not None:
            if isinstance(self._error, OSError):
                raise DataFileError(f"cannot read ({self._error.strerror})") from self._error
            raise self._error
        assert self._result is not None
        return self._result


# ----------------------------------------------------------------------------------- ingest


def _cores() -> int:
    """The cores this process may run on (DuckDB's default counts the machine's)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _connect(scratch: Path) -> duckdb.DuckDBPyConnection:
    config: dict[str, str | bool | int | float | list[str]] = {
        "threads": _cores(),
        "temp_directory": str(scratch),
        "preserve_insertion_order": True,  # rows keep their file order, so numbering holds
    }
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET enable_progress_bar = false")  # a library prints nothing
    with contextlib.suppress(duckdb.Error):  # without ICU, TIMESTAMPTZ is UTC anyway
        con.execute("SET TimeZone = 'UTC'")
    return con


def _load_manifest(out_dir: Path, table: TrafficTable) -> dict[str, dict[str, Any]]:
    path = out_dir / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if manifest.get("format") != _FORMAT or manifest.get("table") != table:
        return {}
    parts: dict[str, dict[str, Any]] = manifest.get("parts", {})
    return parts


def _unchanged(
    parts: dict[str, dict[str, Any]], path: Path, out_dir: Path
) -> tuple[str, dict[str, Any]] | None:
    """The part of an earlier ingest of this very file (same path, size and mtime), if any."""
    stat = path.stat()
    for name, info in parts.items():
        if (
            info["source"] == str(path.resolve())
            and info["size"] == stat.st_size
            and info["mtime_ns"] == stat.st_mtime_ns
            and (out_dir / name).is_file()
            and (not info["quarantined"] or _kept_quarantine(out_dir, name).is_file())
        ):
            return name, info
    return None


def _kept_quarantine(out_dir: Path, part: str) -> Path:
    return out_dir / QUARANTINE_SUBDIR / f"{Path(part).stem}.csv"


def ingest(
    table: TrafficTable,
    sources: Sequence[Path],
    out_dir: Path,
    quarantine_dir: Path,
    *,
    progress: Progress | None = None,
) -> IngestResult:
    """Normalise ``table``'s records from ``sources`` into Parquet parts in ``out_dir``.

    ``sources`` are files, folders of files or globs; ``progress(rows_done)`` is called as
    batches complete. Raises :class:`~mvnoguard.errors.DataFileError` for a file that cannot
    be read at all or lacks a required column (code ``missing_column``), before writing.
    """
    if table not in FIELDS:
        raise InvalidInput(
            f"unknown records table {table!r}: calls, messages or complaints",
            code="unknown_table",
            field="table",
        )
    files = _source_files(sources)
    sources_ = [_Source(table, path, _check_columns(table, path)) for path in files]
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = _load_manifest(out_dir, table)
    kept: dict[str, dict[str, Any]] = {}
    by_digest: dict[str, Path] = {}
    done = 0

    def report(rows: int) -> None:
        if progress is not None:
            progress(done + rows)

    scratch = out_dir / ".ingest-scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    resolver = _Resolver()
    con = _connect(scratch / "duckdb")
    try:
        for source in sources_:
            earlier = _unchanged(previous, source.path, out_dir)
            if earlier is not None:
                name, info = earlier
            else:
                writer, digest = _ingest_source(con, source, scratch, resolver, report)
                name = f"{source.path.stem}-{digest[:12]}.parquet"
                stat = source.path.stat()
                info = {
                    "source": str(source.path.resolve()),
                    "size": stat.st_size,
                    "mtime_ns": stat.st_mtime_ns,
                    "digest": digest,
                    "accepted": writer.counts.accepted,
                    "quarantined": writer.counts.quarantined,
                }
            if info["digest"] in by_digest:
                _log.warning(
                    "%s: the same records as %s; ingested once",
                    source.path.name,
                    by_digest[info["digest"]].name,
                )
                continue
            by_digest[info["digest"]] = source.path
            if earlier is None:
                _install(scratch, out_dir, name, quarantined=bool(info["quarantined"]))
            kept[name] = info
            done += info["accepted"] + info["quarantined"]
            report(0)
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)
    _remove_stale(out_dir, kept)
    _save_manifest(out_dir, table, kept)
    quarantine_file = _collect_quarantine(table, out_dir, kept, quarantine_dir)
    return IngestResult(
        table=table,
        sources=tuple(files),
        output=out_dir,
        accepted=sum(info["accepted"] for info in kept.values()),
        quarantined=sum(info["quarantined"] for info in kept.values()),
        quarantine_file=quarantine_file,
    )


def _install(scratch: Path, out_dir: Path, name: str, *, quarantined: bool) -> None:
    kept = _kept_quarantine(out_dir, name)
    if quarantined:
        kept.parent.mkdir(exist_ok=True)
        (scratch / "quarantine.csv").replace(kept)
    else:
        kept.unlink(missing_ok=True)
    (scratch / "part.parquet").replace(out_dir / name)


def _remove_stale(out_dir: Path, kept: dict[str, dict[str, Any]]) -> None:
    """Parts (and their quarantine) of sources not given this time."""
    for part in out_dir.glob("*.parquet"):
        if part.name not in kept:
            part.unlink()
    folder = out_dir / QUARANTINE_SUBDIR
    if folder.is_dir():
        wanted = {_kept_quarantine(out_dir, name).name for name in kept}
        for problems in folder.glob("*.csv"):
            if problems.name not in wanted:
                problems.unlink()


def _save_manifest(out_dir: Path, table: TrafficTable, parts: dict[str, dict[str, Any]]) -> None:
    text = json.dumps({"format": _FORMAT, "table": table, "parts": parts}, indent=1, sort_keys=True)
    target = out_dir / MANIFEST
    with contextlib.suppress(OSError):
        if target.read_text(encoding="utf-8") == text:
            return  # unchanged: leave the folder exactly as it was
    tmp = out_dir / f"{MANIFEST}.tmp"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)


def _collect_quarantine(
    table: TrafficTable,
    out_dir: Path,
    parts: dict[str, dict[str, Any]],
    quarantine_dir: Path,
) -> Path | None:
    """This call's quarantine file: the kept bad rows of every part, in source order."""
    kept = [_kept_quarantine(out_dir, name) for name, info in parts.items() if info["quarantined"]]
    if not kept:
        return None
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    target = quarantine_dir / f"{table}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}.csv"
    with target.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerow(quarantine_schema(table).names)
        for path in kept:
            with path.open(encoding="utf-8", newline="") as handle:
                handle.readline()
                shutil.copyfileobj(handle, out)
    return target
