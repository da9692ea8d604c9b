"""A hand-made set of normalised call, message and complaint records with known features.

Beijing days 2 to 4 March 2026. ``A`` calls five strangers on the 2nd (one, X1, calls back on
the 3rd; X2 is called again on the 4th; X3 does not answer; X4 talks 5 s; X5 is called at
23:30, a night call) and one more at 00:30 on the 3rd Beijing time, which is still the 2nd in
UTC. ``B`` calls ``C`` three times on the 2nd and C never calls back. P1, P2 and P3 share one
handset. A writes to Y1 (who replies) and Y2 (who doesn't); B has three complaints.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

A, B, C = 8617000000001, 8617000000002, 8617000000003
P1, P2, P3 = 8616200000001, 8616200000002, 8616200000003
X1, X2, X3, X4, X5, X6 = (8613800000000 + i for i in range(1, 7))
Y1, Y2 = 8615900000001, 8615900000002
Q = 8613900000009  # called by the pool members


def beijing(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


CALLS = [
    # msisdn, other_party, direction, start_time, duration_s, cell_id, imei
    (A, X1, "out", beijing(2, 9), 60, "cellA1", "imeiA"),
    (A, X2, "out", beijing(2, 10), 120, "cellA2", "imeiA"),
    (A, X3, "out", beijing(2, 11), 0, "cellA1", "imeiA"),
    (A, X4, "out", beijing(2, 12), 5, "cellA1", "imeiA"),
    (A, X5, "out", beijing(2, 23, 30), 30, "cellA1", "imeiA"),
    (A, X6, "out", beijing(3, 0, 30), 40, "cellA1", "imeiA"),
    (A, X1, "in", beijing(3, 14), 90, "cellA1", "imeiA"),
    (A, X2, "out", beijing(4, 9), 70, "cellA3", "imeiA"),
    (B, C, "out", beijing(2, 8), 0, "cellB", "imeiB"),
    (B, C, "out", beijing(2, 8, 5), 0, "cellB", "imeiB"),
    (B, C, "out", beijing(2, 8, 10), 12, "cellB", "imeiB"),
    (C, B, "in", beijing(2, 8), 0, "cellC", "imeiC"),
    (C, B, "in", beijing(2, 8, 5), 0, "cellC", "imeiC"),
    (C, B, "in", beijing(2, 8, 10), 12, "cellC", "imeiC"),
    (P1, Q, "out", beijing(2, 10), 20, "cellP", "imeiPOOL"),
    (P2, Q, "out", beijing(2, 11), 0, "cellP", "imeiPOOL"),
    (P3, Q, "out", beijing(3, 10), 25, "cellP", "imeiPOOL"),
    (P3, X6, "out", beijing(3, 11), 25, "cellP", None),
]

MESSAGES = [
    (A, Y1, "out", beijing(2, 9), "晚上一起吃饭吗"),
    (A, Y1, "out", beijing(2, 9, 1), "七点见"),
    (A, Y1, "in", beijing(2, 9, 2), "好的"),
    (A, Y2, "out", beijing(3, 9), "Your parcel is ready"),
]

COMPLAINTS = [
    (B, X1, "harassment", beijing(3, 9), "calls every morning"),
    (B, X2, "harassment", beijing(3, 10), None),
    (B, None, "fraud", beijing(3, 11), None),
]

ACTIVATIONS = [(A, beijing(1, 12) - timedelta(days=4)), (B, beijing(1, 12) - timedelta(days=400))]

# Text, score, and whether the content model (at its own threshold) calls it spam.
CONTENT_SCORES = [
    ("Your parcel is ready", 0.9, True),
    ("七点见", 0.1, False),
    ("晚上一起吃饭吗", 0.05, False),
]

_TS = pa.timestamp("us", tz="UTC")


def write_records(folder: Path) -> dict[str, Path]:
    """The records as the ingest writes them (one Parquet file per table)."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        "calls": pa.table(
            list(zip(*CALLS, strict=True)),
            schema=pa.schema(
                [
                    ("msisdn", pa.int64()),
                    ("other_party", pa.int64()),
                    ("direction", pa.string()),
                    ("start_time", _TS),
                    ("duration_s", pa.int32()),
                    ("cell_id", pa.string()),
                    ("imei", pa.string()),
                ]
            ),
        ),
        "messages": pa.table(
            list(zip(*MESSAGES, strict=True)),
            schema=pa.schema(
                [
                    ("msisdn", pa.int64()),
                    ("other_party", pa.int64()),
                    ("direction", pa.string()),
                    ("sent_at", _TS),
                    ("content", pa.string()),
                ]
            ),
        ),
        "complaints": pa.table(
            list(zip(*COMPLAINTS, strict=True)),
            schema=pa.schema(
                [
                    ("reported_number", pa.int64()),
                    ("reporter_number", pa.int64()),
                    ("category", pa.string()),
                    ("received_at", _TS),
                    ("text", pa.string()),
                ]
            ),
        ),
        "activations": pa.table(
            list(zip(*ACTIVATIONS, strict=True)),
            schema=pa.schema([("msisdn", pa.int64()), ("activated_at", _TS)]),
        ),
        "content_scores": pa.table(
            list(zip(*CONTENT_SCORES, strict=True)),
            schema=pa.schema(
                [("content", pa.string()), ("spam_score", pa.float64()), ("is_spam", pa.bool_())]
            ),
        ),
    }
    paths = {}
    for name, table in tables.items():
        paths[name] = folder / f"{name}.parquet"
        pq.write_table(table, paths[name])
    return paths
