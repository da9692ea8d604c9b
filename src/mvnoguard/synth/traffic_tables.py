"""Arrow tables and files of the traffic contracts (calls, messages, complaints).

Parquet carries ``start_time``/``sent_at``/``received_at`` as timestamps in UTC; CSV carries
ISO 8601 text with the ``+08:00`` offset. A small share of numbers is spelled ``+86...``,
``86...`` or with spaces or dashes, as real feeds do. CSV files may also get deliberately bad
rows (copies of real rows with one field spoiled), inserted among the good ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from .vectors import IntArray, digits, fixed_width_strings, take_strings, ymd

__all__ = [
    "CALL_SCHEMA",
    "COMPLAINT_SCHEMA",
    "MESSAGE_SCHEMA",
    "PartWriter",
    "numbers",
    "spoil",
    "timestamps",
]

Format = Literal["csv", "parquet"]
_UTC = pa.timestamp("us", tz="UTC")
CALL_SCHEMA = pa.schema(
    [
        ("msisdn", pa.string()),
        ("other_party", pa.string()),
        ("direction", pa.string()),
        ("start_time", _UTC),
        ("duration_s", pa.int32()),
        ("cell_id", pa.string()),
        ("imei", pa.string()),
    ]
)
MESSAGE_SCHEMA = pa.schema(
    [
        ("msisdn", pa.string()),
        ("other_party", pa.string()),
        ("direction", pa.string()),
        ("sent_at", _UTC),
        ("content", pa.string()),
    ]
)
COMPLAINT_SCHEMA = pa.schema(
    [
        ("reported_number", pa.string()),
        ("reporter_number", pa.string()),
        ("category", pa.string()),
        ("received_at", _UTC),
        ("text", pa.string()),
    ]
)
DIRECTIONS = ("out", "in")
_ROW_GROUP = 1 << 20
_BAD_TIMES = ("2026-02-30T10:15:00+08:00", "2026-03-04T25:10:00+08:00", "2026-13-01T09:00:61+08:00")
_BAD_DIRECTIONS = ("x", "sideways", "?")


def numbers(values: IntArray, rng: np.random.Generator, variant_share: float) -> pa.Array:
    """11-digit numbers as text; ``variant_share`` of them as ``+86…``, ``86…``, ``137 1234
    5678`` or ``137-1234-5678``."""
    n = values.size
    plain = pc.cast(pa.array(values), pa.string())
    varied = np.flatnonzero(rng.random(n) < variant_share)
    if varied.size == 0:
        return plain
    style = rng.integers(1, 5, varied.size)
    d = digits(values[varied], 11) + ord("0")
    matrix = np.zeros((varied.size, 14), dtype=np.uint8)
    lengths = np.full(varied.size, 13, dtype=np.int64)
    for s, prefix in ((1, b"+86"), (2, b"86")):
        m = style == s
        matrix[m, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
        matrix[m, len(prefix) : len(prefix) + 11] = d[m]
        lengths[m] = 11 + len(prefix)
    for s, sep in ((3, ord(" ")), (4, ord("-"))):
        m = style == s
        matrix[m, 0:3] = d[m, 0:3]
        matrix[m, 3] = sep
        matrix[m, 4:8] = d[m, 3:7]
        matrix[m, 8] = sep
        matrix[m, 9:13] = d[m, 7:11]
    mask = np.zeros(n, dtype=bool)
    mask[varied] = True
    return pc.replace_with_mask(plain, pa.array(mask), fixed_width_strings(matrix, lengths))


def timestamps(t: IntArray, fmt: Format) -> pa.Array:
    """Epoch seconds as UTC timestamps (Parquet) or ISO 8601 Beijing-time text (CSV)."""
    if fmt == "parquet":
        return pa.array(t * 1_000_000, type=_UTC)
    return iso_beijing(t)


def iso_beijing(t: IntArray) -> pa.StringArray:
    """``YYYY-MM-DDTHH:MM:SS+08:00`` of epoch seconds, built from digits (no strftime)."""
    local = t + 8 * 3600
    days, clock = np.divmod(local, 86400)
    year, month, day = ymd(days)
    matrix = np.empty((t.size, 25), dtype=np.uint8)
    matrix[:] = np.frombuffer(b"0000-00-00T00:00:00+08:00", dtype=np.uint8)
    for col, value, width in (
        (0, year, 4),
        (5, month, 2),
        (8, day, 2),
        (11, clock // 3600, 2),
        (14, clock // 60 % 60, 2),
        (17, clock % 60, 2),
    ):
        matrix[:, col : col + width] = digits(value, width) + ord("0")
    return fixed_width_strings(matrix, np.full(t.size, 25, dtype=np.int64))


def directions(direction: IntArray) -> pa.Array:
    return take_strings(DIRECTIONS, direction)


def csv_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema(
        [pa.field(f.name, pa.string()) if pa.types.is_timestamp(f.type) else f for f in schema]
    )


def spoil(
    table: pa.Table, rng: np.random.Generator, share: float
) -> tuple[pa.Table, dict[str, int]]:
    """``table`` (CSV form) with about ``share`` extra bad rows among the good ones: copies
    of random rows with an empty msisdn, an unknown direction, an impossible time or (calls)
    a negative duration. Returns the table and the count of bad rows by reason."""
    n = table.num_rows
    k = int(rng.binomial(n, share)) if n else 0
    reasons = ["empty_msisdn", "bad_direction", "impossible_time"]
    if "duration_s" in table.column_names:
        reasons.append("negative_duration")
    if k == 0:
        return table, dict.fromkeys(reasons, 0)
    source = np.sort(rng.integers(0, n, k))
    reason = rng.integers(0, len(reasons), k)
    bad = table.take(pa.array(source))
    time_col = next(c for c in ("start_time", "sent_at") if c in table.column_names)
    edits = {
        "msisdn": (0, pa.nulls(k, pa.string())),
        "direction": (1, take_strings(_BAD_DIRECTIONS, rng.integers(0, 3, k))),
        time_col: (2, take_strings(_BAD_TIMES, rng.integers(0, 3, k))),
        "duration_s": (3, pa.array(-rng.integers(1, 600, k), type=pa.int32())),
    }
    for name, (code, values) in edits.items():
        if name not in table.column_names:
            continue
        i = bad.column_names.index(name)
        column = pc.if_else(pa.array(reason == code), values, bad.column(i))
        bad = bad.set_column(i, name, column)
    order = np.argsort(np.concatenate([np.arange(n) * 2, source * 2 + 1]), kind="stable")
    combined = pa.concat_tables([table, bad]).take(pa.array(order))
    return combined, {r: int((reason == i).sum()) for i, r in enumerate(reasons)}


class PartWriter:
    """One contract file, or numbered parts ``DIR/part-00000.EXT`` of at most ``part_rows``."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: Format, part_rows: int | None) -> None:
        self.path = path
        self.fmt = fmt
        self.schema = schema if fmt == "parquet" else csv_schema(schema)
        self.part_rows = part_rows
        self.files: list[Path] = []
        self.rows = 0
        self._in_file = 0
        self._writer: pq.ParquetWriter | pa_csv.CSVWriter | None = None

    def _open(self) -> None:
        if self.part_rows is None:
            target = self.path.with_suffix(f".{self.fmt}")
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            target = self.path / f"part-{len(self.files):05d}.{self.fmt}"
        if self.fmt == "parquet":
            self._writer = pq.ParquetWriter(
                target, self.schema, compression="zstd", use_dictionary=["direction", "category"]
            )
        else:
            self._writer = pa_csv.CSVWriter(target, self.schema)
        self.files.append(target)
        self._in_file = 0

    def write(self, table: pa.Table) -> None:
        offset = 0
        while offset < table.num_rows:
            if self._writer is None:
                self._open()
            room = table.num_rows - offset
            if self.part_rows is not None:
                room = min(room, self.part_rows - self._in_file)
            piece = table.slice(offset, room)
            assert self._writer is not None
            if isinstance(self._writer, pq.ParquetWriter):
                self._writer.write_table(piece, row_group_size=_ROW_GROUP)
            else:
                self._writer.write_table(piece)
            offset += room
            self._in_file += room
            self.rows += room
            if self.part_rows is not None and self._in_file >= self.part_rows:
                self._close_file()

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> None:
        """Finish the last file (an empty one if nothing was written); again: no-op."""
        if not self.files and self._writer is None:
            self._open()
        self._close_file()
