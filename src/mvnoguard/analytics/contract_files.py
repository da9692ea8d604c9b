"""Reading data-contract files (CSV or Parquet, one or many, larger than memory) in batches.

Every batch is an Arrow table of the file's columns plus ``source_row`` (1-based data row
number; for CSV the header is row 0); a column of the file's own named ``source_row`` is left
out (no contract has one), so the row number is never mistaken for it. Rows a reader cannot
take apart (bad encoding, wrong number of fields) never reach a batch: they come back as
:class:`RowProblem` so the caller quarantines them. Column typing is the caller's business:
CSV columns arrive as strings, Parquet columns as stored, except that binary columns arrive
as text and a list, struct or map in a cell sends its row to quarantine (a cell holds one
value, as in CSV).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mvnoguard.errors import DataFileError
from mvnoguard.output_paths import write_csv

BATCH_ROWS = 200_000
ROW_COLUMN = "source_row"  # the row numbers' column in every batch
SUFFIXES = (".parquet", ".csv")
_HEADER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ .-]{0,63}")  # what a column name looks like


@dataclass(frozen=True)
class RowProblem:
    file: str
    row: int
    field: str
    code: str
    reason: str


PROBLEM_COLUMNS = ("file", "row", "field", "code", "reason")


def write_problems(path: Path, problems: Iterable[RowProblem]) -> str:
    """A quarantine CSV of ``problems`` (file, row, field, code, reason) at ``path``."""
    rows = ((p.file, p.row, p.field, p.code, p.reason) for p in problems)
    return str(write_csv(path, PROBLEM_COLUMNS, rows, field="quarantine"))


@dataclass
class Batch:
    table: pa.Table  # the file's columns + source_row (int64)
    problems: list[RowProblem]


def is_contract_file(path: Path) -> bool:
    """A ``.csv`` or ``.parquet`` file, the suffix in any case (``E01.CSV`` too)."""
    return path.suffix.lower() in SUFFIXES and path.is_file()


def find_files(folder: Path, table: str) -> list[Path]:
    """``table.csv``/``table.parquet`` in ``folder``, and every such file in ``folder/table/``
    (suffixes in any case)."""
    found = sorted(p for p in folder.glob(f"{table}.*") if p.stem == table and is_contract_file(p))
    sub = folder / table
    if sub.is_dir():
        found += sorted(p for p in sub.iterdir() if is_contract_file(p))
    return found


def other_files(folder: Path, table: str) -> list[Path]:
    """Files in ``folder/table/`` that are not contract files (a ``.txt``, a ``.csv.gz``):
    nothing reads them, and the caller says so."""
    sub = folder / table
    if not sub.is_dir():
        return []
    return sorted(p for p in sub.iterdir() if p.is_file() and not is_contract_file(p))


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() == ".parquet"


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def columns_of(path: Path, shown: str | None = None) -> list[str]:
    """The column names of a contract file; a name given twice is refused (``bad_header``,
    the column as field): no reader could tell which of the two a value belongs to.
    ``shown`` names the file in errors (default: its name)."""
    shown = shown or path.name
    names = _names(path, shown)
    twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if twice is not None:
        if _HEADER_NAME.fullmatch(twice):
            raise DataFileError(
                f"{shown}: the column {twice} appears more than once",
                code="bad_header",
                field=twice,
            )
        # Not a column name but a value (a file without its header row): never echo it, it
        # may be somebody's document number or name.
        raise DataFileError(
            f"{shown}: a column name appears more than once, and the header row holds "
            "values that are not column names: is the header row missing?",
            code="bad_header",
            field="file",
        )
    return names


def spelled_otherwise(missing: Iterable[str], names: Iterable[str]) -> str:
    """A hint for missing columns the file has in other capitals (``MSISDN`` for ``msisdn``):
    `` (the file has MSISDN: column names are lower case)``, or ``""``."""
    by_fold = {n.casefold(): n for n in names}
    found = [by_fold[m.casefold()] for m in missing if m.casefold() in by_fold]
    if not found:
        return ""
    return f" (the file has {', '.join(found)}: column names are lower case)"


def _names(path: Path, shown: str) -> list[str]:
    try:
        if _is_parquet(path):
            return list(pq.read_schema(path).names)
        with path.open("rb") as handle:
            first = handle.readline().decode("utf-8-sig")
        return _header(shown, first)
    except OSError as exc:
        raise DataFileError(
            f"{shown}: cannot open ({exc.strerror or type(exc).__name__})", field="file"
        ) from None
    except UnicodeDecodeError:
        raise DataFileError(
            f"{shown}: the header row is not UTF-8 text (save the file as UTF-8 CSV)",
            field="file",
        ) from None
    except pa.ArrowException as exc:
        raise DataFileError(
            f"{shown}: not a readable Parquet file, truncated or of another format "
            f"({type(exc).__name__})",
            field="file",
        ) from None
    except StopIteration:
        raise DataFileError(f"{shown}: cannot read its header", field="file") from None


def _header(name: str, first_line: str) -> list[str]:
    """The column names in a CSV file's first line."""
    if "\r" in first_line.rstrip("\r\n"):
        raise DataFileError(
            f"{name}: lines end in a carriage return alone (classic Mac text); save the file "
            "with LF or CRLF line ends",
            field="file",
        )
    try:
        return [h.strip() for h in next(csv.reader([first_line]))]
    except csv.Error as exc:
        raise DataFileError(f"{name}: the header row is not CSV ({exc})", field="file") from None


def read_batches(
    path: Path, *, batch_rows: int = BATCH_ROWS, shown: str | None = None
) -> Iterator[Batch]:
    """The file's rows in batches; ``shown`` names the file in errors and row problems
    (default: its name; an import of a folder gives the path within it)."""
    if _is_parquet(path):
        yield from _parquet_batches(path, batch_rows, shown or path.name)
    else:
        yield from _csv_batches(path, batch_rows, shown or path.name)


def _parquet_batches(path: Path, batch_rows: int, shown: str) -> Iterator[Batch]:
    try:
        reader = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataFileError(
            f"{shown}: not a readable Parquet file ({type(exc).__name__})", field="file"
        ) from None
    offset = 0
    batches = reader.iter_batches(batch_size=batch_rows)
    while True:
        try:
            record_batch = next(batches, None)
        except (OSError, pa.ArrowException) as exc:
            raise DataFileError(
                f"{shown}: the Parquet data after row {offset} is corrupt ({type(exc).__name__})",
                field="file",
            ) from None
        if record_batch is None:
            return
        n = record_batch.num_rows
        rows = pa.array(range(offset + 1, offset + n + 1), pa.int64())
        offset += n
        table = pa.Table.from_batches([record_batch])
        if ROW_COLUMN in table.column_names:
            table = table.drop_columns([ROW_COLUMN])
        table = table.append_column(ROW_COLUMN, rows)
        yield _plain_values(table, shown)


def _is_binary(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
        or pa.types.is_fixed_size_binary(kind)
    )


def _plain_values(table: pa.Table, name: str) -> Batch:
    """Every cell one plain value, as a CSV cell would be: binary columns become text (a value
    that is not UTF-8 sends its row to quarantine), and a row with a list, struct or map in a
    cell goes to quarantine too. A dictionary-encoded column (a pandas category) is decoded
    to its values first. Other columns are left as stored."""
    for index, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            decoded = table.column(index).cast(field.type.value_type)
            table = table.set_column(index, field.name, decoded)
    if not any(_is_binary(f.type) or pa.types.is_nested(f.type) for f in table.schema):
        return Batch(table, [])  # the usual file: nothing to look at row by row
    problems: list[RowProblem] = []
    rows = table.column("source_row").to_pylist()
    bad: set[int] = set()
    for index, field in enumerate(table.schema):
        column = table.column(index)
        if _is_binary(field.type):
            try:
                table = table.set_column(index, field.name, column.cast(pa.string()))
                continue
            except pa.ArrowInvalid:
                pass
            texts: list[str | None] = []
            for i, value in enumerate(column.to_pylist()):
                try:
                    texts.append(None if value is None else value.decode("utf-8"))
                except UnicodeDecodeError:
                    texts.append(None)
                    bad.add(i)
                    problems.append(
                        RowProblem(
                            name, rows[i], field.name, "bad_encoding", "the value is not UTF-8"
                        )
                    )
            table = table.set_column(index, field.name, pa.array(texts, pa.string()))
        elif pa.types.is_nested(field.type):
            for i, present in enumerate(column.is_valid().to_pylist()):
                if present:
                    bad.add(i)
                    problems.append(
                        RowProblem(
                            name,
                            rows[i],
                            field.name,
                            "bad_value",
                            f"a {field.type} where one value is expected",
                        )
                    )
            table = table.set_column(index, field.name, pa.nulls(table.num_rows, pa.string()))
    if bad:
        keep = pa.array([i not in bad for i in range(table.num_rows)], pa.bool_())
        table = table.filter(keep)
    return Batch(table, problems)


def _still_quoted(text: str, inside: bool) -> bool:
    """Whether a record is inside a quoted field after ``text``, given whether it was before.

    The rules of :mod:`csv`: a quote opens a quoted field only as the field's first character
    (``He said "hi`` is plain text), and inside one a doubled quote is a literal quote.
    """
    if '"' not in text:
        return inside
    field_start = not inside
    i = 0
    while i < len(text):
        ch = text[i]
        if inside:
            if ch == '"':
                if text.startswith('"', i + 1):
                    i += 2
                    continue
                inside = False
        elif ch == '"' and field_start:
            inside = True
        field_start = not inside and ch in ",\r\n"
        i += 1
    return inside


def _csv_batches(path: Path, batch_rows: int, shown: str) -> Iterator[Batch]:
    """Stream a CSV: each physical line is decoded on its own, so one bad byte costs one row.

    A quote opened and never closed would swallow the rest of the file: at the end the line
    it opened on is quarantined (``bad_csv``) and the lines after it are read again as records.
    """
    problems: list[RowProblem] = []
    name = shown
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise DataFileError(f"{name}: cannot open ({exc.strerror})", field="file") from None
    with handle:
        header_line = handle.readline()
        try:
            header = _header(name, header_line.decode("utf-8-sig"))
        except (UnicodeDecodeError, StopIteration):
            raise DataFileError(f"{name}: the header row is not UTF-8 CSV", field="file") from None
        width = len(header)
        columns: list[list[str | None]] = [[] for _ in header]
        rows: list[int] = []
        lines = enumerate(handle, start=1)
        again: deque[tuple[int, str]] = deque()  # lines to read again after an open quote
        pending: list[tuple[int, str]] = []  # the lines of a record whose quote is still open
        quoted = False  # the pending record ends inside a quoted field
        while True:
            if again:
                line_no, text = again.popleft()
            else:
                item = next(lines, None)
                if item is None:
                    if not pending:
                        break
                    (line_no, _), *rest = pending
                    problems.append(
                        RowProblem(
                            name,
                            line_no,
                            "",
                            "bad_csv",
                            "unterminated quoted field: the quote opened on this row is "
                            "never closed",
                        )
                    )
                    again.extend(rest)
                    pending, quoted = [], False
                    continue
                line_no, raw = item
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    if pending:  # the quoted record it was part of is lost with it
                        problems.append(
                            RowProblem(
                                name,
                                pending[0][0],
                                "",
                                "bad_encoding",
                                f"a quoted value runs on to row {line_no}, which is not UTF-8",
                            )
                        )
                    problems.append(
                        RowProblem(name, line_no, "", "bad_encoding", "the row is not valid UTF-8")
                    )
                    pending, quoted = [], False
                    continue
            pending.append((line_no, text))
            quoted = _still_quoted(text, quoted)
            if quoted:  # a quoted field runs on to the next line
                continue
            pending_start = pending[0][0]
            record_text = "".join(t for _, t in pending)
            pending = []
            if not record_text.strip():
                continue
            try:
                record = next(csv.reader(io.StringIO(record_text)))
            except csv.Error as exc:
                problems.append(RowProblem(name, pending_start, "", "bad_csv", str(exc)))
                continue
            if len(record) != width:
                problems.append(
                    RowProblem(
                        name,
                        pending_start,
                        "",
                        "wrong_field_count",
                        f"{len(record)} fields where the header has {width}",
                    )
                )
                continue
            for column, value in zip(columns, record, strict=True):
                column.append(value if value != "" else None)
            rows.append(pending_start)
            if len(rows) >= batch_rows:
                yield _csv_batch(header, columns, rows, problems)
                columns, rows, problems = [[] for _ in header], [], []
        if rows or problems:
            yield _csv_batch(header, columns, rows, problems)


def _csv_batch(
    header: list[str], columns: list[list[str | None]], rows: list[int], problems: list[RowProblem]
) -> Batch:
    kept = [(name, column) for name, column in zip(header, columns, strict=True)]
    kept = [(name, column) for name, column in kept if name != ROW_COLUMN]
    arrays = [pa.array(column, pa.string()) for _, column in kept]
    table = pa.Table.from_arrays(
        [*arrays, pa.array(rows, pa.int64())], names=[*(n for n, _ in kept), ROW_COLUMN]
    )
    return Batch(table, problems)
