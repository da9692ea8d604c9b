"""The engine adapters: registration, queries, and engine errors turned into ours."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from mvnoguard.analytics.engines import DuckDBEngine, open_engine, redact
from mvnoguard.errors import ConfigurationError, DataFileError


def test_redact_keeps_the_first_line_without_quoted_text_or_long_digit_runs() -> None:
    message = (
        "Conversion Error: Could not convert string '110101199003071234' to INT32 at 17090000001\n"
        "LINE 1: SELECT ..."
    )
    assert redact(message) == "Conversion Error: Could not convert string '…' to INT32 at …"
    assert redact("") == ""


def test_duckdb_runs_a_query_over_a_registered_arrow_table() -> None:
    with open_engine("duckdb") as engine:
        engine.register_arrow("t", pa.table({"a": [1, 2, 3]}))
        assert engine.fetch('SELECT sum(a) AS total FROM "t"') == [{"total": 6}]
        engine.drop("t")
        with pytest.raises(DataFileError):
            engine.fetch('SELECT * FROM "t"')


def test_duckdb_spills_to_a_private_folder_removed_on_close() -> None:
    engine = DuckDBEngine(memory_limit="256MB", threads=1)
    spill = engine._spill
    assert spill.is_dir()
    engine.close()
    assert not spill.exists()


def test_a_missing_parquet_file_is_a_data_file_error(tmp_path: Path) -> None:
    with open_engine("duckdb") as engine, pytest.raises(DataFileError, match="cannot read"):
        engine.register_parquet("t", str(tmp_path / "nothing-*.parquet"))


def test_an_unknown_engine_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError), open_engine("oracle"):  # type: ignore[arg-type]
        pass


def test_duckdb_buckets_times_in_utc_whatever_the_machine_zone() -> None:
    """A machine set to Beijing time still casts a 20:30 UTC call to its UTC day and hour."""
    script = (
        "from mvnoguard.analytics.engines import DuckDBEngine\n"
        "engine = DuckDBEngine()\n"
        "print(engine.fetch(\"SELECT CAST(TIMESTAMPTZ '2016-03-01 20:30:00+00' AS DATE) AS d,"
        " hour(TIMESTAMPTZ '2016-03-01 20:30:00+00') AS h\"))\n"
        "engine.close()\n"
    )
    for zone in ("UTC", "Asia/Shanghai"):
        env = {**os.environ, "TZ": zone}
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        ).stdout
        assert out.strip() == "[{'d': datetime.date(2016, 3, 1), 'h': 20}]", (zone, out)
