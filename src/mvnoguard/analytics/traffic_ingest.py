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

How rows are typed, and which numbers and timestamps are accepted, is
:mod:`mvnoguard.analytics.traffic_typing`; how parts, their quarantine and the manifest are
written, so that a second ingest of the same sources changes nothing, is
:mod:`mvnoguard.analytics.traffic_parts`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa

from mvnoguard.analytics.contract_files import columns_of, read_batches, spelled_otherwise
from mvnoguard.analytics.engines import redact
from mvnoguard.analytics.traffic_parts import (
    BATCH_ROWS,
    PartWriter,
    collect_quarantine,
    install_part,
    load_manifest,
    remove_stale,
    save_manifest,
    unchanged_part,
)
from mvnoguard.analytics.traffic_typing import (
    FIELDS,
    SCHEMAS,
    Resolver,
    TrafficTable,
    e164_sql,
    e164_text,
    sql_literal,
    typing_sql,
)
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

Progress = Callable[[int], None]

_log = logging.getLogger(__name__)

SUFFIXES: Final = (".csv", ".parquet")


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one ingest wrote: ``output`` is the folder of Parquet parts."""

    table: TrafficTable
    sources: tuple[Path, ...]
    output: Path
    accepted: int
    quarantined: int
    quarantine_file: Path | None


# ---------------------------------------------------------------------------------- sources


def _source_files(table: TrafficTable, sources: Sequence[Path]) -> list[Path]:
    """Every CSV or Parquet file named, in the folders named, or matching the globs named.

    A problem names the table as its field: the option (``--calls`` ...) the sources came from.
    """
    found: list[Path] = []
    for source in sources:
        source = Path(source)
        if any(ch in str(source) for ch in "*?["):
            matches = sorted(p for p in Path(source.anchor or ".").glob(_relative(source)))
            files = [p for p in matches if p.is_file() and p.suffix.lower() in SUFFIXES]
            if not files:
                raise DataFileError(f"no CSV or Parquet files match {source}", field=table)
        elif source.is_dir():
            files = sorted(
                p for p in source.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES
            )
            if not files:
                raise DataFileError(f"no CSV or Parquet files in {source}", field=table)
        elif source.is_file():
            if source.suffix.lower() not in SUFFIXES:
                raise DataFileError(
                    f"{source.name}: records must be .csv or .parquet files", field=table
                )
            files = [source]
        else:
            raise DataFileError(f"no such records file or folder: {source}", field=table)
        found += files
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _relative(pattern: Path) -> str:
    return str(pattern.relative_to(pattern.anchor)) if pattern.anchor else str(pattern)


def _check_columns(table: TrafficTable, path: Path) -> list[str]:
    try:
        names = columns_of(path)
    except DataFileError as exc:  # the file as a whole: name the input it was given as
        field = table if exc.field == "file" else exc.field
        raise DataFileError(exc.message, code=exc.code, field=field) from exc
    missing = [f.name for f in FIELDS[table] if f.required and f.name not in names]
    if missing:
        raise DataFileError(
            f"{path.name}: missing required column(s) {', '.join(missing)} of {table}"
            + spelled_otherwise(missing, names),
            code="missing_column",
            field=missing[0],
            details={"file": str(path), "columns": missing},
        )
    unnamed = names.count("")
    if unnamed:  # a header row ending in a comma, as spreadsheets export
        _log.warning("%s: ignored %d column(s) without a name", path.name, unnamed)
    unknown = [n for n in names if n and n not in {f.name for f in FIELDS[table]}]
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
    plain = f"read_parquet({sql_literal(str(path))})"
    described = con.execute(f"DESCRIBE SELECT * FROM {plain}").fetchall()
    present = {str(row[0]): str(row[1]) for row in described}
    columns, types = _selected(table, present)
    if "file_row_number" in present:  # the file's own column: DuckDB cannot add its numbers
        return f"(SELECT {columns}, row_number() OVER () AS source_row FROM {plain})", types
    scan = f"read_parquet({sql_literal(str(path))}, file_row_number=true)"
    return f"(SELECT {columns}, file_row_number + 1 AS source_row FROM {scan})", types


def _csv_source(table: TrafficTable, path: Path, header: list[str]) -> tuple[str, dict[str, str]]:
    # A column without a name (a trailing comma) still needs one for DuckDB: one no contract
    # column has, so it is never selected.
    named = [name or f"(unnamed column {i + 1})" for i, name in enumerate(header)]
    spec = ", ".join(f"{sql_literal(name)}: 'VARCHAR'" for name in named)
    scan = (
        f"read_csv({sql_literal(str(path))}, header=true, auto_detect=false, columns={{{spec}}}, "
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


# ------------------------------------------------------------------------------- one source


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
    writer: PartWriter,
    resolver: Resolver,
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
    writer: PartWriter,
    resolver: Resolver,
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
    resolver: Resolver,
    on_rows: Progress,
) -> tuple[PartWriter, str]:
    """Type one source file into ``staging``; returns its writer (closed) and SHA-256."""
    part, problems = staging / "part.parquet", staging / "quarantine.csv"
    hashing = _Background(_digest_and_lines, source.path)
    exact = False
    while True:
        problems.unlink(missing_ok=True)
        writer = PartWriter(source.table, source.path.name, part, problems)
        try:
            with _duckdb_errors(source):
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


class _NotOneRecordPerLine(Exception):
    """The fast CSV reader cannot number this file's rows as lines; read it exactly."""


class _CsvNeedsExactReader(Exception):
    """DuckDB refused a CSV file's structure; the contract reader quarantines row by row."""


@contextlib.contextmanager
def _duckdb_errors(source: _Source) -> Iterator[None]:
    path = source.path
    try:
        yield
    except duckdb.InvalidInputException as exc:
        if path.suffix.lower() == ".csv":
            raise _CsvNeedsExactReader from exc
        raise DataFileError(f"{path.name}: {redact(str(exc))}", field=source.table) from exc
    except duckdb.Error as exc:
        raise DataFileError(f"{path.name}: {redact(str(exc))}", field=source.table) from exc
    except OSError as exc:
        raise DataFileError(
            f"{path.name}: cannot read ({exc.strerror})", field=source.table
        ) from exc


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
    files = _source_files(table, sources)
    sources_ = [_Source(table, path, _check_columns(table, path)) for path in files]
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = load_manifest(out_dir, table)
    kept: dict[str, dict[str, Any]] = {}
    by_digest: dict[str, Path] = {}
    done = 0

    def report(rows: int) -> None:
        if progress is not None:
            progress(done + rows)

    scratch = out_dir / ".ingest-scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    resolver = Resolver()
    con = _connect(scratch / "duckdb")
    try:
        for source in sources_:
            earlier = unchanged_part(previous, source.path, out_dir)
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
                install_part(scratch, out_dir, name, quarantined=bool(info["quarantined"]))
            kept[name] = info
            done += info["accepted"] + info["quarantined"]
            report(0)
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)
    remove_stale(out_dir, kept)
    save_manifest(out_dir, table, kept)
    quarantine_file = collect_quarantine(table, out_dir, kept, quarantine_dir)
    return IngestResult(
        table=table,
        sources=tuple(files),
        output=out_dir,
        accepted=sum(info["accepted"] for info in kept.values()),
        quarantined=sum(info["quarantined"] for info in kept.values()),
        quarantine_file=quarantine_file,
    )
