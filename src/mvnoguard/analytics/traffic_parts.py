"""An ingest's output folder: Parquet parts, their quarantine, the manifest (idempotence).

:class:`PartWriter` writes one source's typed batches (the rows of
:func:`mvnoguard.analytics.traffic_typing.typing_sql`): good rows to its Parquet part, bad rows
with their reasons and original values to its quarantine CSV. The rest is the bookkeeping of the
output folder of :func:`mvnoguard.analytics.traffic_ingest.ingest`. It never reads a source.

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
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from mvnoguard.analytics.contract_files import RowProblem
from mvnoguard.analytics.traffic_typing import FIELDS, REASONS, SCHEMAS, TrafficTable

__all__ = [
    "BATCH_ROWS",
    "MANIFEST",
    "QUARANTINE_SUBDIR",
    "PartWriter",
    "collect_quarantine",
    "install_part",
    "load_manifest",
    "quarantine_schema",
    "remove_stale",
    "save_manifest",
    "unchanged_part",
]

BATCH_ROWS: Final = 1 << 20
MANIFEST: Final = "_manifest.json"
QUARANTINE_SUBDIR: Final = "_quarantine"
_FORMAT: Final = 1  # bump when the output changes, so old parts are rebuilt

_REASON_CODES = pa.array(list(REASONS), pa.string())
_REASON_TEXTS = pa.array(list(REASONS.values()), pa.string())


# ------------------------------------------------------------------------------ one part


@dataclass
class _Part:
    accepted: int = 0
    quarantined: int = 0


class PartWriter:
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
        values = [good.column(f"v_{f.name}") for f in self.fields if f.stored]
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
                # Each row's reason for its own code (bad_value in any column, say).
                reason = pc.fill_null(
                    pc.take(_REASON_TEXTS, pc.index_in(codes, value_set=_REASON_CODES)), ""
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


# ------------------------------------------------------------------------ the output folder


def load_manifest(out_dir: Path, table: TrafficTable) -> dict[str, dict[str, Any]]:
    """The parts of the last ingest of ``table`` into ``out_dir`` (none if unreadable or stale)."""
    path = out_dir / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if manifest.get("format") != _FORMAT or manifest.get("table") != table:
        return {}
    parts: dict[str, dict[str, Any]] = manifest.get("parts", {})
    return parts


def unchanged_part(
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


def install_part(scratch: Path, out_dir: Path, name: str, *, quarantined: bool) -> None:
    """Move the part (and its quarantine) written in ``scratch`` into ``out_dir`` as ``name``."""
    kept = _kept_quarantine(out_dir, name)
    if quarantined:
        kept.parent.mkdir(exist_ok=True)
        (scratch / "quarantine.csv").replace(kept)
    else:
        kept.unlink(missing_ok=True)
    (scratch / "part.parquet").replace(out_dir / name)


def remove_stale(out_dir: Path, kept: dict[str, dict[str, Any]]) -> None:
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


def save_manifest(out_dir: Path, table: TrafficTable, parts: dict[str, dict[str, Any]]) -> None:
    """Record ``parts``; an unchanged manifest is not rewritten."""
    text = json.dumps({"format": _FORMAT, "table": table, "parts": parts}, indent=1, sort_keys=True)
    target = out_dir / MANIFEST
    with contextlib.suppress(OSError):
        if target.read_text(encoding="utf-8") == text:
            return  # unchanged: leave the folder exactly as it was
    tmp = out_dir / f"{MANIFEST}.tmp"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)


def collect_quarantine(
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
