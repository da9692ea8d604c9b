"""The hand-written DuckDB baseline writes exactly the feature pipeline's tables.

The benchmark times the pipeline against the baseline, which is a fair comparison only if they
do the same work: on ingested synthetic traffic, plus the hand-made records and a few edge cases
(missing cells, handsets and texts, texts without a score, a score at the spam threshold, tied
complaint categories, a number activated twice), every table the pipeline writes must come out
the same, row for row and column for column.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from mvnoguard.analytics.traffic_baseline import hand_written_features
from mvnoguard.analytics.traffic_features import (
    DAILY_COLUMNS,
    NUMBER_COLUMNS,
    compute_features,
)
from mvnoguard.analytics.traffic_ingest import TrafficTable, ingest
from mvnoguard.errors import DataFileError
from mvnoguard.synth.traffic import generate_traffic
from tests.analytics import traffic_fixture as fx

USERS = 1_000

KEYS = {
    "handsets": ["msisdn", "day", "cell_id", "imei"],
    "daily": ["msisdn", "day"],
    "numbers": ["msisdn"],
}
COLUMNS = {
    "handsets": ["msisdn", "day", "cell_id", "imei", "calls"],
    "daily": list(DAILY_COLUMNS),
    "numbers": list(NUMBER_COLUMNS),
}
TABLES: tuple[TrafficTable, ...] = ("calls", "messages", "complaints", "activations")
SPAM_THRESHOLD = 0.35  # a content model's own cut-off, not 0.5


def _score(text: str) -> float | None:
    """A made-up spam score: every fifth text has none, the others spread over [0, 1]."""
    digest = hashlib.sha256(text.encode()).digest()
    return None if digest[0] % 5 == 0 else digest[1] / 255


def _with_gaps(table: pa.Table, column: str, every: int) -> pa.Table:
    """``table`` with ``column`` emptied on every ``every``-th row."""
    gaps = pa.array([i % every == 0 for i in range(table.num_rows)])
    emptied = pc.if_else(gaps, pa.scalar(None, table.schema.field(column).type), table[column])
    return table.set_column(table.schema.get_field_index(column), column, emptied)


# Edge cases the synthetic traffic lacks: for A, a tie of complaint categories (two each of
# harassment and fraud: the first name wins) and a second, later activation.
EXTRA = {
    "complaints": [
        {"reported_number": fx.A, "category": "fraud", "received_at": fx.beijing(4, 9)},
        {"reported_number": fx.A, "category": "fraud", "received_at": fx.beijing(4, 10)},
        {"reported_number": fx.A, "category": "harassment", "received_at": fx.beijing(4, 11)},
        {"reported_number": fx.A, "category": "harassment", "received_at": fx.beijing(4, 12)},
    ],
    "activations": [{"msisdn": fx.A, "activated_at": fx.beijing(1, 8)}],
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Ingested synthetic traffic, with gaps, the hand-made records and the edge cases added."""
    work = tmp_path_factory.mktemp("baseline")
    generate_traffic(work / "raw", users=USERS, seed=23, fmt="parquet")
    hand_made = fx.write_records(work / "hand-made")
    folders: dict[str, Path] = {}
    for name in TABLES:
        sources = sorted((work / "raw").glob(f"{name}.*"))
        ingested = ingest(name, sources, work / "ingested" / name, work / "quarantine")
        table = pq.read_table(ingested.output)
        if name == "calls":
            table = _with_gaps(_with_gaps(table, "imei", 53), "cell_id", 61)
        if name == "messages":
            table = _with_gaps(table, "content", 47)
        folders[name] = work / "inputs" / name
        folders[name].mkdir(parents=True)
        pq.write_table(table, folders[name] / "synthetic.parquet")
        records = pq.read_table(hand_made[name])
        if name in EXTRA:
            records = pa.concat_tables(
                [records, pa.Table.from_pylist(EXTRA[name], schema=records.schema)]
            )
        pq.write_table(records, folders[name] / "hand-made.parquet")
    texts = pc.unique(pq.read_table(folders["messages"], columns=["content"])["content"])
    scores = [(t, _score(t)) for t in sorted(texts.drop_null().to_pylist())]
    scored = [(t, s) for t, s in scores if s is not None]
    scored[0] = (scored[0][0], SPAM_THRESHOLD)  # a score right at the threshold is spam
    folders["content_scores"] = work / "content_scores.parquet"
    pq.write_table(
        pa.table(
            {
                "content": [t for t, _ in scored],
                "spam_score": [s for _, s in scored],
                "is_spam": [s >= SPAM_THRESHOLD for _, s in scored],
            },
            schema=pa.schema(
                [("content", pa.string()), ("spam_score", pa.float64()), ("is_spam", pa.bool_())]
            ),
        ),
        folders["content_scores"],
    )
    return folders


def _both(inputs: dict[str, Path], out: Path, **optional: Path) -> tuple[Path, Path]:
    """The pipeline's (DuckDB) and the baseline's output folders, from the same inputs."""
    compute_features(inputs["calls"], out_dir=out / "pipeline", engine="duckdb", **optional)
    hand_written_features(inputs["calls"], out_dir=out / "baseline", **optional)
    return out / "pipeline", out / "baseline"


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return bool(a == b) and type(a) is type(b)


def _assert_same_table(pipeline: Path, baseline: Path, stage: str) -> list[dict[str, Any]]:
    """Same columns, types and rows (sorted by key); returns the rows."""
    ours, theirs = pq.read_table(baseline / stage), pq.read_table(pipeline / stage)
    assert theirs.column_names == COLUMNS[stage]
    assert ours.column_names == COLUMNS[stage]
    assert [f.type for f in ours.schema] == [f.type for f in theirs.schema]
    order = [(k, "ascending") for k in KEYS[stage]]
    expected, got = theirs.sort_by(order).to_pylist(), ours.sort_by(order).to_pylist()
    assert len(got) == len(expected)
    for want, have in zip(expected, got, strict=True):
        differing = [c for c in COLUMNS[stage] if not _same_value(want[c], have[c])]
        assert not differing, (stage, {c: (want[c], have[c]) for c in [*KEYS[stage], *differing]})
    return expected


def test_the_baseline_writes_the_pipeline_tables(inputs: dict[str, Path], tmp_path: Path) -> None:
    pipeline, baseline = _both(
        inputs,
        tmp_path,
        messages=inputs["messages"],
        complaints=inputs["complaints"],
        activations=inputs["activations"],
        content_scores=inputs["content_scores"],
    )
    rows = {stage: _assert_same_table(pipeline, baseline, stage) for stage in KEYS}
    # Not vacuous: every figure of every table takes a value other than 0 (or NULL) somewhere,
    # and the handsets and numbers cover everyone who placed a call.
    for stage, table in rows.items():
        for column in COLUMNS[stage]:
            assert any(r[column] not in (0, None) for r in table), (stage, column)
        assert len(table) > USERS
    a = next(r for r in rows["numbers"] if r["msisdn"] == fx.A)
    assert (a["complaints"], a["complaint_category"]) == (4, "fraud")
    assert a["activated_at"] == fx.beijing(1, 8)


def test_the_same_without_the_optional_records(inputs: dict[str, Path], tmp_path: Path) -> None:
    pipeline, baseline = _both(inputs, tmp_path)
    for stage in KEYS:
        _assert_same_table(pipeline, baseline, stage)


def test_a_missing_records_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no such records file"):
        hand_written_features(tmp_path / "nothing.parquet", out_dir=tmp_path / "out")
