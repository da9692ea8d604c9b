"""Typing of contract values: timestamps in the ISO 8601 spellings people write."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from mvnoguard.analytics.typing_checks import parse_timestamps


def test_timestamps_with_or_without_seconds_and_zone() -> None:
    values = [
        "2015-01-01 10:00",  # no seconds, Beijing time
        "2015-01-01T10:00:00",
        "2015-01-01T02:00Z",
        "2015-01-01 10:00+08:00",
        "2015-01-01 10:00:00.250+0800",
        "2015-02-30 10:00",  # no such day
        "2015-01-01 10",  # an hour alone is not a time
        "",
    ]
    parsed, bad = parse_timestamps(pa.array(values, pa.string()))
    ten = datetime(2015, 1, 1, 2, tzinfo=UTC)
    assert parsed.to_pylist()[:5] == [ten, ten, ten, ten, ten.replace(microsecond=0)]
    assert parsed.to_pylist()[5:] == [None, None, None]
    assert bad.to_pylist() == [False] * 5 + [True, True, False]
