"""Message texts scored by the SMS content model, once per distinct text.

Bulk senders repeat a handful of templates, so scoring the distinct texts of the outgoing
messages (not every message) keeps the model's cost proportional to what is new. The scores
land in a small Parquet table ``content, spam_score, is_spam`` that the feature pipeline joins
on: ``is_spam`` is the model's own verdict, at the threshold it chose, as ``model predict sms``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from mvnoguard.detection.sms_model import SmsModel

__all__ = ["content_scorer", "score_contents"]

_BATCH = 20_000


def score_contents(model: SmsModel, messages_dir: Path, out: Path) -> Path:
    """Score the distinct non-empty outgoing texts under ``messages_dir``; write ``out``."""
    pattern = str(messages_dir / "*.parquet").replace("'", "''")
    with duckdb.connect() as con:
        texts = con.sql(
            f"SELECT DISTINCT content FROM read_parquet('{pattern}') "
            "WHERE direction = 'out' AND content IS NOT NULL AND content <> '' ORDER BY content"
        ).to_arrow_table()
    contents = texts.column("content").to_pylist()
    scores: list[float] = []
    for start in range(0, len(contents), _BATCH):
        scores.extend(float(s) for s in model.score(contents[start : start + _BATCH]))
    table = pa.table(
        {
            "content": pa.array(contents, pa.string()),
            "spam_score": pa.array(scores, pa.float64()),
            "is_spam": pa.array([s >= model.threshold for s in scores], pa.bool_()),
        }
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)
    return out


def content_scorer(model: SmsModel) -> Callable[[Path, Path], Path]:
    """``score_contents`` bound to ``model``, in the shape :func:`screening.screen` takes."""
    return lambda messages_dir, out: score_contents(model, messages_dir, out)
