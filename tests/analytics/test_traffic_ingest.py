"""Ingest of call, message and complaint records: typing, E.164, quarantine, idempotence."""

from __future__ import annotations

import csv
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mvnoguard.analytics.traffic_ingest import (
    SCHEMAS,
    IngestResult,
    TrafficTable,
    e164_sql,
    e164_text,
    ingest,
)
from mvnoguard.errors import DataFileError, InvalidInput

CALLS_HEADER = "msisdn,other_party,direction,start_time,duration_s,cell_id,imei"
GOOD_CALL = "17012345678,13912345678,out,2026-03-02T10:00:00,30,C1,861234567890123"


def _write(path: Path, header: str, *rows: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _run(
    tmp_path: Path, table: TrafficTable, *sources: Path, out: str = "out"
) -> tuple[IngestResult, pa.Table]:
    result = ingest(table, list(sources), tmp_path / out, tmp_path / "quarantine")
    return result, _output(result)


def _output(result: IngestResult) -> pa.Table:
    parts = sorted(result.output.glob("*.parquet"))
    return pa.concat_tables([pq.read_table(p) for p in parts])


def _quarantine(result: IngestResult) -> list[dict[str, str]]:
    assert result.quarantine_file is not None
    with result.quarantine_file.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _faults(result: IngestResult) -> set[tuple[str, int, str, str]]:
    return {(r["file"], int(r["row"]), r["field"], r["code"]) for r in _quarantine(result)}


def _utc(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


# ----------------------------------------------------------------------------- bad rows


def test_every_bad_row_is_quarantined_with_file_row_field_and_code(tmp_path: Path) -> None:
    source = _write(
        tmp_path / "calls.csv",
        CALLS_HEADER,
        GOOD_CALL,  # 1
        "1701234567,13912345678,out,2026-03-02T10:00:00,1,,",  # 2: ten digits
        "17012345678,abc,out,2026-03-02T10:00:00,1,,",  # 3: not a number
        "17012345678,13912345678,sideways,2026-03-02T10:00:00,1,,",  # 4
        "17012345678,13912345678,out,2026-02-30T10:00:00,1,,",  # 5: no 30 February
        "17012345678,13912345678,out,2026-03-02T25:10:00,1,,",  # 6: no hour 25
        "17012345678,13912345678,out,2026/03/02 10:00,1,,",  # 7: not ISO 8601
        "17012345678,13912345678,out,2026-03-02T10:00:00,-1,,",  # 8: negative
        "17012345678,13912345678,out,2026-03-02T10:00:00,86401,,",  # 9: over a day
        "17012345678,13912345678,out,2026-03-02T10:00:00,2.5,,",  # 10: not whole
        ",13912345678,,2026-03-02T10:00:00,,,",  # 11: three values missing
        "17012345678,+999 1234 5678,out,2026-03-02T10:00:00,1,,",  # 12: no country 999
        "10086,13912345678,out,2026-03-02T10:00:00,1,,",  # 13: short code as subscriber
        "17012345678,13912345678,in,2026-03-02 10:00:00,0,,",  # 14
    )
    result, table = _run(tmp_path, "calls", source)
    assert _faults(result) == {
        ("calls.csv", 2, "msisdn", "bad_number"),
        ("calls.csv", 3, "other_party", "bad_number"),
        ("calls.csv", 4, "direction", "bad_direction"),
        ("calls.csv", 5, "start_time", "bad_time"),
        ("calls.csv", 6, "start_time", "bad_time"),
        ("calls.csv", 7, "start_time", "bad_time"),
        ("calls.csv", 8, "duration_s", "bad_duration"),
        ("calls.csv", 9, "duration_s", "bad_duration"),
        ("calls.csv", 10, "duration_s", "bad_duration"),
        ("calls.csv", 11, "msisdn", "missing_value"),
        ("calls.csv", 11, "direction", "missing_value"),
        ("calls.csv", 11, "duration_s", "missing_value"),
        ("calls.csv", 12, "other_party", "bad_number"),
        ("calls.csv", 13, "msisdn", "bad_number"),
    }
    assert (result.accepted, result.quarantined) == (2, 12)
    assert table.column("duration_s").to_pylist() == [30, 0]
    rows = _quarantine(result)
    assert list(rows[0]) == [
        "file",
        "row",
        "field",
        "code",
        "reason",
        *CALLS_HEADER.split(","),
    ]
    first = rows[0]
    assert first["msisdn"] == "1701234567"  # the original values travel with the fault
    assert first["start_time"] == "2026-03-02T10:00:00"
    assert first["reason"]
    assert result.quarantine_file is not None
    assert result.quarantine_file.parent == tmp_path / "quarantine"
    assert result.quarantine_file.name.startswith("calls-")


def test_rows_the_csv_reader_cannot_split_are_quarantined_by_line(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    lines = [
        CALLS_HEADER,
        GOOD_CALL,  # line 1
        "17012345678,13912345678,out,2026-03-02T10:00:00,30,C1",  # 2: a field short
        GOOD_CALL,  # 3
    ]
    body = ("\n".join(lines) + "\n").encode() + b"17012345678,1391\xff345678,out,x,1,,\n"
    path.write_bytes(body + (GOOD_CALL + "\n").encode())  # bad UTF-8 on line 4, good line 5
    result, table = _run(tmp_path, "calls", path)
    assert _faults(result) == {
        ("calls.csv", 2, "", "wrong_field_count"),
        ("calls.csv", 4, "", "bad_encoding"),
    }
    assert (result.accepted, result.quarantined) == (3, 2)
    assert table.num_rows == 3


def test_rows_are_numbered_by_line_when_quoted_values_span_lines(tmp_path: Path) -> None:
    source = _write(
        tmp_path / "messages.csv",
        "msisdn,other_party,direction,sent_at,content",
        '17012345678,13912345678,out,2026-03-02T10:00:00,"two\nlines"',  # lines 1-2
        "",  # line 3 is blank
        "17012345678,13912345678,up,2026-03-02T10:00:00,hello",  # line 4
    )
    result, table = _run(tmp_path, "messages", source)
    assert _faults(result) == {("messages.csv", 4, "direction", "bad_direction")}
    assert table.column("content").to_pylist() == ["two\nlines"]


def test_a_stray_quote_inside_a_value_is_text_and_loses_no_row(tmp_path: Path) -> None:
    """A quote that does not open a field ("5" long") is a character, as for csv: the next
    lines are records of their own, not the rest of a quoted value."""
    row = "17012345678,13912345678,out,2026-03-02T10:00:00,"
    source = _write(
        tmp_path / "messages.csv",
        "msisdn,other_party,direction,sent_at,content",
        row + 'He said "call me',  # line 1
        row + "ok",
        row + '"quoted, with ""doubled"" quotes\nover two lines"',  # lines 3-4
        row + '5" long',  # line 5
        row + "bad,extra",  # line 6: a field too many
        row + "ok",
    )
    result, table = _run(tmp_path, "messages", source)
    assert _faults(result) == {("messages.csv", 6, "", "wrong_field_count")}
    assert (result.accepted, result.quarantined) == (5, 1)
    assert table.column("content").to_pylist() == [
        'He said "call me',
        "ok",
        'quoted, with "doubled" quotes\nover two lines',
        '5" long',
        "ok",
    ]


def test_a_quote_never_closed_costs_its_row_only(tmp_path: Path) -> None:
    """A quote opened and never closed: its row is quarantined, the rows after it are read."""
    source = _write(
        tmp_path / "calls.csv",
        CALLS_HEADER,
        GOOD_CALL,  # line 1
        '"' + GOOD_CALL,  # line 2: the quote opens and never closes
        GOOD_CALL,
        GOOD_CALL.replace(",out,", ",both,"),  # line 4
        GOOD_CALL,
    )
    result, table = _run(tmp_path, "calls", source)
    assert _faults(result) == {
        ("calls.csv", 2, "", "bad_csv"),
        ("calls.csv", 4, "direction", "bad_direction"),
    }
    assert (result.accepted, result.quarantined) == (3, 2)
    assert table.num_rows == 3


def test_parquet_rows_are_numbered_from_one(tmp_path: Path) -> None:
    path = tmp_path / "calls.parquet"
    rows = [GOOD_CALL.split(","), GOOD_CALL.replace(",out,", ",both,").split(",")]
    names = CALLS_HEADER.split(",")
    pq.write_table(pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)}), path)
    result, _ = _run(tmp_path, "calls", path)
    assert _faults(result) == {("calls.parquet", 2, "direction", "bad_direction")}


# -------------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("17012345678", 8617012345678),
        ("170 1234 5678", 8617012345678),
        ("170-1234-5678", 8617012345678),
        ("170.1234.5678", 8617012345678),
        ("(170) 1234 5678", 8617012345678),
        ("+8617012345678", 8617012345678),
        ("+86 170 1234 5678", 8617012345678),
        ("008617012345678", 8617012345678),
        ("8617012345678", 8617012345678),
        ("010-12345678", 861012345678),  # Beijing fixed line, trunk 0
        ("0755 1234 5678", 8675512345678),  # Shenzhen
        ("0571-1234567", 865711234567),  # a 7-digit subscriber number
        ("+44 20 7946 0958", 442079460958),
        ("0044 20 7946 0958", 442079460958),
        ("+1 (650) 253-0000", 16502530000),
        ("+86 10 1234 5678", 861012345678),  # a fixed line in international form
        ("10086", 8610086),  # short codes: other_party only
        ("95588", 8695588),
        ("123150", 86123150),
        ("１７０１２３４５６７８", 8617012345678),  # full-width digits, as normalize_msisdn
        ("＋８６ １７０ １２３４ ５６７８", 8617012345678),
        ("17012345678.0", 8617012345678),  # a number column written as decimals
        ("10086.0", 8610086),
        ("95588.00", 8695588),
        ("+8610086", 8610086),  # a short code as the risk list shows it
        ("0086 95588", 8695588),
    ],
)
def test_every_number_form_is_normalised(tmp_path: Path, written: str, stored: int) -> None:
    source = _write(
        tmp_path / "calls.csv",
        CALLS_HEADER,
        f'17012345678,"{written}",out,2026-03-02T10:00:00,1,,',
        f'"{written}",17012345678,in,2026-03-02T10:00:00,1,,',
    )
    result, table = _run(tmp_path, "calls", source)
    assert table.column("other_party").to_pylist()[0] == stored
    is_short_code = stored < 10**9
    if is_short_code:
        assert _faults(result) == {("calls.csv", 2, "msisdn", "bad_number")}
    else:
        assert table.column("msisdn").to_pylist()[1] == stored
        assert result.quarantined == 0


def test_a_decimal_with_a_fraction_is_no_number(tmp_path: Path) -> None:
    """Dots are separators (170.1234.5678), but 10086.5 is a decimal, not 100865."""
    source = _write(
        tmp_path / "calls.csv",
        CALLS_HEADER,
        "17012345678,10086.5,out,2026-03-02T10:00:00,1,,",
        "17012345678.5,13912345678,out,2026-03-02T10:00:00,1,,",
        "17012345678,170.1234.5670,out,2026-03-02T10:00:00,1,,",
    )
    result, table = _run(tmp_path, "calls", source)
    assert _faults(result) == {
        ("calls.csv", 1, "other_party", "bad_number"),
        ("calls.csv", 2, "msisdn", "bad_number"),
    }
    assert table.column("other_party").to_pylist() == [8617012345670]


def _three_calls(path: Path, msisdn: pa.Array, other_party: pa.Array) -> Path:
    """Three calls in Parquet whose number columns are stored as given."""
    columns = {
        "msisdn": msisdn,
        "other_party": other_party,
        "direction": ["out", "in", "out"],
        "start_time": ["2026-03-02T10:00:00"] * 3,
        "duration_s": pa.array([1, 2, 3], pa.int32()),
    }
    pq.write_table(pa.table(columns), path)
    return path


def test_integer_parquet_numbers_are_read_as_their_digits(tmp_path: Path) -> None:
    path = _three_calls(
        tmp_path / "calls.parquet",
        pa.array([17012345678, 8617012345678, 12345], pa.int64()),
        pa.array([10086, 13912345678, 13912345678], pa.int64()),
    )
    result, table = _run(tmp_path, "calls", path)
    assert table.column("msisdn").to_pylist() == [8617012345678, 8617012345678]
    assert table.column("other_party").to_pylist() == [8610086, 8613912345678]
    assert table.column("cell_id").to_pylist() == [None, None]  # optional columns may be absent
    assert _faults(result) == {("calls.parquet", 3, "msisdn", "bad_number")}


def test_float_parquet_numbers_are_read_when_whole(tmp_path: Path) -> None:
    """pandas stores a number column with a gap as float64: 17012345678.0 is that number."""
    path = _three_calls(
        tmp_path / "calls.parquet",
        pa.array([17012345678.0, 17012345678.5, None], pa.float64()),
        pa.array([13912345678.0, 13912345678.0, 10086.0], pa.float64()),
    )
    result, table = _run(tmp_path, "calls", path)
    assert table.column("msisdn").to_pylist() == [8617012345678]
    assert table.column("other_party").to_pylist() == [8613912345678]
    assert _faults(result) == {
        ("calls.parquet", 2, "msisdn", "bad_number"),
        ("calls.parquet", 3, "msisdn", "missing_value"),
    }


def test_a_list_in_a_parquet_cell_sends_its_row_to_quarantine(tmp_path: Path) -> None:
    path = _three_calls(
        tmp_path / "calls.parquet",
        pa.array([17012345678] * 3, pa.int64()),
        pa.array([13912345678] * 3, pa.int64()),
    )
    table = pq.read_table(path).append_column("imei", pa.array([[1], None, [2, 3]]))
    pq.write_table(table, path)
    result, typed = _run(tmp_path, "calls", path)
    assert _faults(result) == {
        ("calls.parquet", 1, "imei", "bad_value"),
        ("calls.parquet", 3, "imei", "bad_value"),
    }
    assert typed.num_rows == 1
    assert {r["reason"] for r in _quarantine(result)} == {
        "a list, struct or map where one value is expected"
    }


def test_a_column_named_twice_is_refused_by_name(tmp_path: Path) -> None:
    source = _write(tmp_path / "calls.csv", CALLS_HEADER + ",msisdn", GOOD_CALL + ",17012345678")
    with pytest.raises(DataFileError) as refused:
        _run(tmp_path, "calls", source)
    assert (refused.value.code, refused.value.field) == ("bad_header", "msisdn")
    assert "msisdn appears more than once" in refused.value.message


def test_e164_text_shows_stored_numbers_with_a_plus() -> None:
    assert e164_text(8617012345678) == "+8617012345678"
    assert e164_text(None) is None
    column = e164_text(pa.chunked_array([[8617012345678, None], [8610086]]))
    assert column.to_pylist() == ["+8617012345678", None, "+8610086"]
    assert e164_sql("msisdn") == "concat('+', CAST(msisdn AS VARCHAR))"


# ------------------------------------------------------------------------------ timestamps


@pytest.mark.parametrize(
    ("written", "utc"),
    [
        ("2026-03-02T10:00:00", _utc(2026, 3, 2, 2)),  # no offset: Beijing time
        ("2026-03-02 10:00:00", _utc(2026, 3, 2, 2)),
        ("2026-03-02 10:00", _utc(2026, 3, 2, 2)),
        ("2026-03-02", _utc(2026, 3, 1, 16)),
        ("2026-03-02T10:00:00+08:00", _utc(2026, 3, 2, 2)),
        ("2026-03-02T10:00:00Z", _utc(2026, 3, 2, 10)),
        ("2026-03-02T10:00:00-0500", _utc(2026, 3, 2, 15)),
        ("2026-03-02T10:00:00.250+09:00", datetime(2026, 3, 2, 1, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_timestamps_without_an_offset_are_beijing_time(
    tmp_path: Path, written: str, utc: datetime
) -> None:
    source = _write(
        tmp_path / "calls.csv", CALLS_HEADER, f"17012345678,13912345678,out,{written},1,,"
    )
    _, table = _run(tmp_path, "calls", source)
    assert table.column("start_time").to_pylist() == [utc]


def test_times_outside_1990_to_2099_are_bad_times(tmp_path: Path) -> None:
    """Placeholders such as 0001-01-01 and 9999-12-31 are quarantined, in every table."""
    calls = _write(
        tmp_path / "calls.csv",
        CALLS_HEADER,
        *(
            f"17012345678,13912345678,out,{written},1,,"
            for written in (
                "0001-01-01T00:00:00",  # 1
                "9999-12-31T20:00:00Z",  # 2
                "1989-12-31T23:59:59Z",  # 3
                "2100-01-01T00:00:00Z",  # 4
                "1990-01-01T08:00:00",  # 5: 1990-01-01 00:00 UTC
                "2099-12-31T23:59:59Z",  # 6
            )
        ),
    )
    result, table = _run(tmp_path, "calls", calls)
    assert _faults(result) == {("calls.csv", row, "start_time", "bad_time") for row in (1, 2, 3, 4)}
    assert table.column("start_time").to_pylist() == [
        _utc(1990, 1, 1, 0),
        datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC),
    ]
    activations = _write(
        tmp_path / "activations.csv", "msisdn,activated_at", "17012345678,0001-01-01"
    )
    result, _ = _run(tmp_path, "activations", activations, out="activations")
    assert _faults(result) == {("activations.csv", 1, "activated_at", "bad_time")}


def test_offsets_beyond_14_hours_are_bad_times(tmp_path: Path) -> None:
    written = ["+99:00", "+15:00", "-14:30", "+0875", "+14:00", "-12:00"]
    source = _write(
        tmp_path / "calls.csv",
        CALLS_HEADER,
        *(f"17012345678,13912345678,out,2026-03-02T10:00:00{w},1,," for w in written),
    )
    result, table = _run(tmp_path, "calls", source)
    assert _faults(result) == {("calls.csv", row, "start_time", "bad_time") for row in (1, 2, 3, 4)}
    assert table.column("start_time").to_pylist() == [_utc(2026, 3, 1, 20), _utc(2026, 3, 2, 22)]


def test_parquet_timestamps_without_a_zone_are_beijing_time(tmp_path: Path) -> None:
    path = tmp_path / "calls.parquet"
    naive = pa.array([datetime(2026, 3, 2, 10)], pa.timestamp("us"))
    aware = pa.array([_utc(2026, 3, 2, 10)], pa.timestamp("us", tz="UTC"))
    for name, times in (("naive", naive), ("aware", aware)):
        pq.write_table(
            pa.table(
                {
                    "msisdn": ["17012345678"],
                    "other_party": ["13912345678"],
                    "direction": ["out"],
                    "start_time": times,
                    "duration_s": pa.array([5], pa.int32()),
                }
            ),
            path,
        )
        _, table = _run(tmp_path, "calls", path, out=name)
        expected = _utc(2026, 3, 2, 2) if name == "naive" else _utc(2026, 3, 2, 10)
        assert table.column("start_time").to_pylist() == [expected]


# ------------------------------------------------------------------- formats, parts, schema


def test_csv_and_parquet_give_the_same_output(tmp_path: Path) -> None:
    rows = [
        GOOD_CALL,
        "+86 139 1234 5678,010-12345678,in,2026-03-02T23:30:00+08:00,0,,",
        "17012345678,10086,out,2026-03-02,45,C9,",
        "17012345678,13912345678,out,2026-02-30T10:00:00,1,,",
    ]
    csv_file = _write(tmp_path / "csv" / "calls.csv", CALLS_HEADER, *rows)
    names = CALLS_HEADER.split(",")
    cells = [r.split(",") for r in rows]
    parquet_file = tmp_path / "parquet" / "calls.parquet"
    parquet_file.parent.mkdir()
    pq.write_table(
        pa.table({n: [c[i] or None for c in cells] for i, n in enumerate(names)}), parquet_file
    )
    from_csv, csv_table = _run(tmp_path, "calls", csv_file, out="a")
    from_parquet, parquet_table = _run(tmp_path, "calls", parquet_file, out="b")
    assert csv_table.equals(parquet_table)
    assert csv_table.schema.equals(SCHEMAS["calls"])
    assert csv_table.num_rows == 3
    assert {f[1:] for f in _faults(from_csv)} == {f[1:] for f in _faults(from_parquet)}


def test_output_schemas_are_exact(tmp_path: Path) -> None:
    calls = _write(tmp_path / "calls.csv", CALLS_HEADER, GOOD_CALL)
    messages = _write(
        tmp_path / "messages.csv",
        "msisdn,other_party,direction,sent_at,content",
        "17012345678,106900001234,out,2026-03-02T10:00:00,",
        "17012345678,95588,in,2026-03-02T10:00:00,您的验证码是 1234",
    )
    complaints = _write(
        tmp_path / "complaints.csv",
        "reported_number,reporter_number,category,received_at,text",
        "17012345678,,FRAUD,2026-03-03T09:00:00+08:00,冒充客服",
        "17012345678,13912345678,spam,2026-03-03T09:00:00,",
        "17012345678,13912345678,rude,2026-03-03T09:00:00,",
    )
    expected = {
        "calls": pa.schema(
            [
                ("msisdn", pa.int64()),
                ("other_party", pa.int64()),
                ("direction", pa.string()),
                ("start_time", pa.timestamp("us", tz="UTC")),
                ("duration_s", pa.int32()),
                ("cell_id", pa.string()),
                ("imei", pa.string()),
            ]
        ),
        "messages": pa.schema(
            [
                ("msisdn", pa.int64()),
                ("other_party", pa.int64()),
                ("direction", pa.string()),
                ("sent_at", pa.timestamp("us", tz="UTC")),
                ("content", pa.string()),
            ]
        ),
        "complaints": pa.schema(
            [
                ("reported_number", pa.int64()),
                ("category", pa.string()),
                ("received_at", pa.timestamp("us", tz="UTC")),
                ("text", pa.string()),
            ]
        ),
    }
    results: dict[str, IngestResult] = {}
    for table, source in (("calls", calls), ("messages", messages), ("complaints", complaints)):
        result = ingest(table, [source], tmp_path / table, tmp_path / "q")  # type: ignore[arg-type]
        results[table] = result
        for part in (tmp_path / table).glob("*.parquet"):
            assert pq.read_schema(part).remove_metadata().equals(expected[table])
    message_table = _output(results["messages"])
    # 106900001234 is neither a mobile nor a fixed line nor a short code
    assert message_table.column("content").to_pylist() == ["您的验证码是 1234"]
    assert _faults(results["messages"]) == {("messages.csv", 1, "other_party", "bad_number")}
    complaint_table = _output(results["complaints"])
    assert complaint_table.column("category").to_pylist() == ["fraud", "spam"]
    assert _faults(results["complaints"]) == {("complaints.csv", 3, "category", "bad_category")}
    # The complainant's number is checked but never written to the typed store.
    assert "reporter_number" not in complaint_table.column_names


def test_a_bad_reporter_number_quarantines_its_complaint(tmp_path: Path) -> None:
    complaints = _write(
        tmp_path / "complaints.csv",
        "reported_number,reporter_number,category,received_at,text",
        "17012345678,not-a-number,fraud,2026-03-03T09:00:00,",
        "17012345678,13912345678,fraud,2026-03-03T09:00:00,",
    )
    result = ingest("complaints", [complaints], tmp_path / "complaints", tmp_path / "q")
    assert _output(result).num_rows == 1
    assert _faults(result) == {("complaints.csv", 1, "reporter_number", "bad_number")}
    # The quarantine keeps the bad value, so the sender can correct it.
    assert [r["reporter_number"] for r in _quarantine(result)] == ["not-a-number"]


def test_folders_and_globs_of_parts(tmp_path: Path) -> None:
    folder = tmp_path / "calls"
    for i in range(3):
        _write(folder / f"part-{i}.csv", CALLS_HEADER, GOOD_CALL.replace(",30,", f",{i},"))
    (folder / "README.txt").write_text("not records", encoding="utf-8")
    by_folder, table = _run(tmp_path, "calls", folder, out="a")
    by_glob, _ = _run(tmp_path, "calls", folder / "part-*.csv", out="b")
    assert sorted(table.column("duration_s").to_pylist()) == [0, 1, 2]
    assert by_folder.sources == by_glob.sources == tuple(sorted(folder.glob("part-*.csv")))
    assert len(list((tmp_path / "a").glob("*.parquet"))) == 3
    with pytest.raises(DataFileError, match="no CSV or Parquet files match"):
        ingest("calls", [folder / "nothing-*.csv"], tmp_path / "c", tmp_path / "q")


@pytest.mark.parametrize("table", ["calls", "messages", "complaints"])
def test_a_missing_or_unreadable_source_names_its_input(tmp_path: Path, table: str) -> None:
    # The field is the input the files were given as (--calls, ...), not a path.
    with pytest.raises(DataFileError, match="no such records file") as missing:
        ingest(table, [tmp_path / "nope.csv"], tmp_path / "out", tmp_path / "q")  # type: ignore[arg-type]
    assert missing.value.field == table
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(DataFileError) as unreadable:
        ingest(table, [broken], tmp_path / "out", tmp_path / "q")  # type: ignore[arg-type]
    assert unreadable.value.field == table
    assert "broken.parquet" in unreadable.value.message


# ------------------------------------------------------------------------------ idempotence


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_ingesting_the_same_sources_again_changes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "calls"
    _write(folder / "a.csv", CALLS_HEADER, GOOD_CALL, "1,2,out,2026-03-02T10:00:00,1,,")
    _write(folder / "b.csv", CALLS_HEADER, GOOD_CALL)
    first = ingest("calls", [folder], tmp_path / "out", tmp_path / "q")
    before = _snapshot(tmp_path / "out")
    second = ingest("calls", [folder], tmp_path / "out", tmp_path / "q")
    assert _snapshot(tmp_path / "out") == before
    assert (second.accepted, second.quarantined) == (first.accepted, first.quarantined) == (2, 1)
    assert _quarantine(second) == _quarantine(first)  # the bad rows are reported again

    # A touched file is read again; its records, and so the output, are the same.
    os.utime(folder / "a.csv", ns=(1, 1))
    third = ingest("calls", [folder], tmp_path / "out", tmp_path / "q")
    assert _output(third).equals(_output(first))
    assert sorted(p.name for p in (tmp_path / "out").glob("*.parquet")) == sorted(
        name for name in before if name.endswith(".parquet")
    )


def test_the_output_holds_exactly_the_sources_of_the_last_ingest(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.csv", CALLS_HEADER, GOOD_CALL)
    b = _write(tmp_path / "b.csv", CALLS_HEADER, GOOD_CALL, GOOD_CALL)
    copy_of_a = _write(tmp_path / "copy" / "a.csv", CALLS_HEADER, GOOD_CALL)
    both = ingest("calls", [a, b, copy_of_a], tmp_path / "out", tmp_path / "q")
    assert both.accepted == 3  # the identical copy is read once
    only_b = ingest("calls", [b], tmp_path / "out", tmp_path / "q")
    assert only_b.accepted == 2
    assert _output(only_b).num_rows == 2


# ---------------------------------------------------------------------------------- errors


def test_a_missing_required_column_names_file_and_column(tmp_path: Path) -> None:
    source = _write(
        tmp_path / "calls.csv",
        "msisdn,other_party,direction,start_time,cell_id",
        "17012345678,13912345678,out,2026-03-02T10:00:00,C1",
    )
    with pytest.raises(DataFileError) as caught:
        ingest("calls", [source], tmp_path / "out", tmp_path / "q")
    assert caught.value.code == "missing_column"
    assert caught.value.field == "duration_s"
    assert "calls.csv" in caught.value.message
    assert "duration_s" in caught.value.message
    assert not (tmp_path / "out").exists()


def test_unknown_columns_are_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = _write(tmp_path / "calls.csv", CALLS_HEADER + ",operator_note", GOOD_CALL + ",hi")
    with caplog.at_level(logging.WARNING, logger="mvnoguard.analytics.traffic_ingest"):
        result, table = _run(tmp_path, "calls", source)
    assert "operator_note" in caplog.text
    assert table.column_names == SCHEMAS["calls"].names
    assert result.accepted == 1


def test_a_header_ending_in_a_comma_is_read_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A spreadsheet's export: a last column without a name, ignored; a bad row and a blank
    line send the file through the exact reader too."""
    bad = GOOD_CALL.replace(",out,", ",both,")
    source = _write(tmp_path / "calls.csv", CALLS_HEADER + ",", GOOD_CALL + ",", "", bad + ",x")
    with caplog.at_level(logging.WARNING, logger="mvnoguard.analytics.traffic_ingest"):
        result, table = _run(tmp_path, "calls", source)
    assert "1 column(s) without a name" in caplog.text
    assert table.column_names == SCHEMAS["calls"].names
    assert result.accepted == 1
    assert _faults(result) == {("calls.csv", 3, "direction", "bad_direction")}


def test_columns_named_like_the_readers_row_numbers_are_ignored(tmp_path: Path) -> None:
    """A file's own source_row (CSV, read exactly: a blank line) or file_row_number (Parquet)
    column is an unknown column like any other: rows keep their own numbers."""
    bad = GOOD_CALL.replace(",out,", ",both,")
    csv_source = _write(
        tmp_path / "calls.csv", CALLS_HEADER + ",source_row", GOOD_CALL + ",x", "", bad + ",100"
    )
    result, table = _run(tmp_path, "calls", csv_source)
    assert _faults(result) == {("calls.csv", 3, "direction", "bad_direction")}
    assert table.num_rows == 1
    names = CALLS_HEADER.split(",")
    rows = [GOOD_CALL.split(","), bad.split(",")]
    columns = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    parquet = tmp_path / "calls.parquet"
    pq.write_table(pa.table({**columns, "file_row_number": [500, 600]}), parquet)
    result, table = _run(tmp_path, "calls", parquet, out="parquet")
    assert _faults(result) == {("calls.parquet", 2, "direction", "bad_direction")}
    assert table.num_rows == 1


@pytest.mark.parametrize("name", ["missing.csv", "calls.txt"])
def test_files_that_are_not_records_are_refused(tmp_path: Path, name: str) -> None:
    if name.endswith(".txt"):
        (tmp_path / name).write_text("hello", encoding="utf-8")
    with pytest.raises(DataFileError):
        ingest("calls", [tmp_path / name], tmp_path / "out", tmp_path / "q")


def test_an_unreadable_parquet_file_is_a_data_file_error(tmp_path: Path) -> None:
    path = tmp_path / "calls.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataFileError):
        ingest("calls", [path], tmp_path / "out", tmp_path / "q")


def test_progress_reports_rows_done(tmp_path: Path) -> None:
    folder = tmp_path / "calls"
    _write(folder / "a.csv", CALLS_HEADER, GOOD_CALL, GOOD_CALL)
    _write(folder / "b.csv", CALLS_HEADER, GOOD_CALL)
    seen: list[int] = []
    ingest("calls", [folder], tmp_path / "out", tmp_path / "q", progress=seen.append)
    assert seen == sorted(seen)
    assert seen[-1] == 3


def test_windows_line_endings_and_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    bad = "17012345678,13912345678,out,2026-03-02T10:00:00,x,,"
    path.write_bytes(("\ufeff" + "\r\n".join([CALLS_HEADER, GOOD_CALL, bad]) + "\r\n").encode())
    result, table = _run(tmp_path, "calls", path)
    assert table.column("msisdn").to_pylist() == [8617012345678]
    assert table.column("imei").to_pylist() == ["861234567890123"]
    assert _faults(result) == {("calls.csv", 2, "duration_s", "bad_duration")}


def test_a_file_of_no_rows_gives_an_empty_part(tmp_path: Path) -> None:
    source = _write(tmp_path / "calls.csv", CALLS_HEADER)
    result, table = _run(tmp_path, "calls", source)
    assert (result.accepted, result.quarantined, result.quarantine_file) == (0, 0, None)
    assert table.num_rows == 0
    assert table.schema.equals(SCHEMAS["calls"])


def test_an_unknown_table_is_refused(tmp_path: Path) -> None:
    source = _write(tmp_path / "calls.csv", CALLS_HEADER, GOOD_CALL)
    with pytest.raises(InvalidInput) as caught:
        ingest("sms", [source], tmp_path / "out", tmp_path / "q")  # type: ignore[arg-type]
    assert caught.value.code == "unknown_table"
