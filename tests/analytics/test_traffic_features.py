"""The behaviour features of hand-made records, by their definitions; Spark gives the same."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mvnoguard.analytics.traffic_features import (
    DAILY_COLUMNS,
    NUMBER_COLUMNS,
    FeatureFiles,
    compute_features,
)
from tests.analytics import traffic_fixture as fx

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _features(tmp_path: Path, engine: str = "duckdb") -> FeatureFiles:
    paths = fx.write_records(tmp_path / "records")
    return compute_features(
        paths["calls"],
        out_dir=tmp_path / f"features-{engine}",
        messages=paths["messages"],
        complaints=paths["complaints"],
        activations=paths["activations"],
        content_scores=paths["content_scores"],
        engine=engine,  # type: ignore[arg-type]
    )


def _rows(folder: Path, keys: list[str]) -> list[dict[str, Any]]:
    table = pq.read_table(folder)
    return table.sort_by([(k, "ascending") for k in keys]).to_pylist()


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> FeatureFiles:
    return _features(tmp_path_factory.mktemp("traffic"))


def _day(features: FeatureFiles, msisdn: int, day: date) -> dict[str, Any]:
    rows = [r for r in _rows(features.daily, ["msisdn", "day"]) if r["msisdn"] == msisdn]
    return next(r for r in rows if r["day"] == day)


def _number(features: FeatureFiles, msisdn: int) -> dict[str, Any]:
    return next(r for r in _rows(features.numbers, ["msisdn"]) if r["msisdn"] == msisdn)


def test_columns_are_the_documented_ones(features: FeatureFiles) -> None:
    assert pq.read_table(features.daily).column_names == list(DAILY_COLUMNS)
    assert pq.read_table(features.numbers).column_names == list(NUMBER_COLUMNS)


def test_a_day_of_calls_to_strangers(features: FeatureFiles) -> None:
    day = _day(features, fx.A, date(2026, 3, 2))
    assert day["calls_out"] == 5  # the 00:30 call belongs to the 3rd in Beijing time
    assert day["callees"] == day["strangers"] == 5
    assert day["strangers_called_back"] == 1  # X1, on the 3rd
    assert day["repeat_callees"] == 1  # X2, again on the 4th
    assert day["answered_out"] == 4
    assert day["unanswered_out"] == 1
    assert day["short_out"] == 1  # 5 s to X4
    assert day["talk_s_out"] == 60 + 120 + 5 + 30
    assert day["night_out"] == 1  # 23:30
    assert day["cells"] == 2
    assert day["imeis"] == 1
    assert day["messages_out"] == 2
    assert day["message_recipients"] == 1
    assert day["message_strangers"] == 0  # Y1 replied


def test_the_next_days(features: FeatureFiles) -> None:
    third = _day(features, fx.A, date(2026, 3, 3))
    assert (third["calls_out"], third["night_out"], third["strangers"]) == (1, 1, 1)
    assert (third["calls_in"], third["callers"]) == (1, 1)
    assert third["message_strangers"] == 1  # Y2 never replied
    assert third["spam_messages_out"] == 1
    assert third["spam_score_max"] == pytest.approx(0.9)
    fourth = _day(features, fx.A, date(2026, 3, 4))
    assert (fourth["callees"], fourth["strangers"], fourth["repeat_callees"]) == (1, 0, 1)


def test_unreturned_repeated_calls(features: FeatureFiles) -> None:
    day = _day(features, fx.B, date(2026, 3, 2))
    assert day["most_calls_to_one"] == 3
    assert day["most_unreturned_calls_to_one"] == 3
    assert day["unanswered_out"] == 2
    callee = _day(features, fx.C, date(2026, 3, 2))
    assert (callee["calls_out"], callee["calls_in"], callee["callers"]) == (0, 3, 1)


def test_window_figures(features: FeatureFiles) -> None:
    a = _number(features, fx.A)
    assert a["active_days"] == 3
    assert a["counterparts"] == 6
    assert a["callees"] == 6  # X2, called on two days, counts once
    assert a["reciprocal_callees"] == 1  # X1
    assert a["strangers"] == 6
    assert a["cells"] == 3
    assert a["repeat_callees"] == 1
    assert a["imei_sharing"] == 1
    assert a["activated_at"] is not None
    b = _number(features, fx.B)
    assert (b["complaints"], b["complaint_category"]) == (3, "harassment")
    for pooled in (fx.P1, fx.P2, fx.P3):
        assert _number(features, pooled)["imei_sharing"] == 3


def _comparable(folder: Path, keys: list[str]) -> list[dict[str, Any]]:
    table = pq.read_table(folder)
    # Spark writes nanosecond timestamps and nullability of its own; the values must match.
    table = table.cast(
        pa.schema(
            [
                pa.field(
                    f.name,
                    pa.timestamp("us", tz="UTC") if pa.types.is_timestamp(f.type) else f.type,
                )
                for f in table.schema
            ]
        )
    )
    return table.sort_by([(k, "ascending") for k in keys]).to_pylist()


@pytest.mark.spark
def test_spark_computes_the_same_features(
    spark_session: SparkSession, tmp_path: Path, features: FeatureFiles
) -> None:
    on_spark = _features(tmp_path, engine="spark")
    assert _comparable(on_spark.daily, ["msisdn", "day"]) == _comparable(
        features.daily, ["msisdn", "day"]
    )
    assert _comparable(on_spark.numbers, ["msisdn"]) == _comparable(features.numbers, ["msisdn"])
