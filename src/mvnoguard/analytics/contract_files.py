"""Reading data-contract files (CSV or Parquet, one or many, larger than memory) in batches.

Every batch is an Arrow table of the file's columns plus ``source_row`` (1-based data row
number; for CSV the header is row 0). Rows a reader cannot take apart (bad encoding, wrong
number of fields) never reach a batch: they come back as :class:`RowProblem` so the caller
quarantines them. Column typing is the caller's business: CSV columns arrive as strings,
Parquet columns as stored.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mvnoguard.errors import DataFileError

BATCH_ROWS = 200_000
SUFFIXES = (".parquet", ".csv")


@dataclass(frozen=True)
class RowProblem:
    file: str
    row: int
    field: str
    code: str
    reason: str


@dataclass
class Batch:
    table: pa.Table  # the file's columns + source_row (int64)
    problems: list[RowProblem]


def find_files(folder: Path, table: str) -> list[Path]:
    """``table.csv``/``table.parquet`` in ``folder``, and every such file in ``folder/table/``."""
    found = [
        folder / f"{table}{suffix}"
        for suffix in SUFFIXES
        if (folder / f"{table}{suffix}").is_file()
    ]
    sub = folder / table
    if sub.is_dir():
        found += sorted(p for p in sub.iterdir() if p.suffix in SUFFIXES and p.is_file())
    return found


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def columns_of(path: Path) -> list[str]:
    try:
        if path.suffix == ".parquet":
            return list(pq.read_schema(path).names)
        with path.open("rb") as handle:
            first = handle.readline().decode("utf-8-sig")
        return [name.strip() for name in next(csv.reader([first]))]
    except (OSError, UnicodeDecodeError, StopIteration, pa.ArrowException) as exc:
        raise DataFileError(
            f"{path.name}: cannot read its header ({type(exc).__name__})", field="file"
        ) from None


def read_batches(path: Path, *, batch_rows: int = BATCH_ROWS) -> Iterator[Batch]:
    if path.suffix == ".parquet":
        yield from _parquet_batches(path, batch_rows)
    else:
        yield from _csv_batches(path, batch_rows)


def _parquet_batches(path: Path, batch_rows: int) -> Iterator[Batch]:
    try:
        reader = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataFileError(
            f"{path.name}: not a readable Parquet file ({type(exc).__name__})", field="file"
        ) from None
    offset = 0
    for record_batch in reader.iter_batches(batch_size=batch_rows):
        n = record_batch.num_rows
        rows = pa.array(range(offset + 1, offset + n + 1), pa.int64())
        offset += n
        yield Batch(pa.Table.from_batches([record_batch]).append_column("source_row", rows), [])


def _csv_batches(path: Path, batch_rows: int) -> Iterator[Batch]:
    """Stream a CSV: each physical line is decoded on its own, so one bad byte costs one row."""
    problems: list[RowProblem] = []
    name = path.name
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise DataFileError(f"{name}: cannot open ({exc.strerror})", field="file") from None
    with handle:
        header_line = handle.readline()
        try:
            header = [h.strip() for h in next(csv.reader([header_line.decode("utf-8-sig")]))]
        except (UnicodeDecodeError, StopIteration):
            raise DataFileError(f"{name}: the header row is not UTF-8 CSV", field="file") from None
        width = len(header)
        columns: list[list[str | None]] = [[] for _ in header]
        rows: list[int] = []
        line_no = 0
        pending = ""
        pending_start = 0
        for raw in handle:
            line_no += 1
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                problems.append(
                    RowProblem(name, line_no, "", "bad_encoding", "the row is not valid UTF-8")
                )
                pending = ""
                continue
            if not pending:
                pending_start = line_no
            pending += text
            if pending.count('"') % 2:  # a quoted field runs on to the next line
                continue
            record_text, pending = pending, ""
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
        if pending:
            problems.append(
                RowProblem(name, pending_start, "", "bad_csv", "unterminated quoted field")
            )
        if rows or problems:
            yield _csv_batch(header, columns, rows, problems)


def _csv_batch(
    header: list[str], columns: list[list[str | None]], rows: list[int], problems: list[RowProblem]
) -> Batch:
    arrays = [pa.array(column, pa.string()) for column in columns]
    table = pa.Table.from_arrays(
        [*arrays, pa.array(rows, pa.int64())], names=[*header, "source_row"]
    )
    return Batch(table, problems)
