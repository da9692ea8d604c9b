"""Tests of the synthetic traffic generator (mvnoguard.synth.traffic): contracts, determinism,
planted kinds and their behaviour, both directions of on-net calls, SIM pools, bad rows,
CSV/Parquet agreement, the call target and the command line.

Checks read the written files with DuckDB, never the generator's internal arrays.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from mvnoguard.cli import app
from mvnoguard.errors import InvalidInput
from mvnoguard.synth import traffic
from mvnoguard.synth.traffic import TrafficTruth, generate_traffic

from .conftest import Market

USERS = 2000
DAYS = 3
SEED = 11
CALL_COLUMNS = ["msisdn", "other_party", "direction", "start_time", "duration_s", "cell_id", "imei"]
MESSAGE_COLUMNS = ["msisdn", "other_party", "direction", "sent_at", "content"]
COMPLAINT_COLUMNS = ["reported_number", "reporter_number", "category", "received_at", "text"]
NUISANCE = {
    "fraud_caller": "fraud",
    "sim_pool": "fraud",
    "harasser": "harassment",
    "ring_once": "harassment",
    "spam_sender": "spam",
}
# A number as the 11-digit national form, whatever spelling the row uses.
NATIONAL = "right(regexp_replace({}, '[^0-9]', '', 'g'), 11)"


@pytest.fixture(scope="module")
def csv_traffic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrafficTruth]:
    out = tmp_path_factory.mktemp("traffic_csv")
    return out, generate_traffic(out, users=USERS, days=DAYS, seed=SEED, fmt="csv")


@pytest.fixture(scope="module")
def parquet_traffic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrafficTruth]:
    out = tmp_path_factory.mktemp("traffic_parquet")
    return out, generate_traffic(out, users=USERS, days=DAYS, seed=SEED, fmt="parquet")


def _views(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Parquet calls/messages/complaints with national numbers, and the truth table."""
    n = NATIONAL.format
    con.execute(
        f"CREATE VIEW calls AS SELECT {n('msisdn')} AS m, {n('other_party')} AS o, * "
        f"FROM read_parquet('{folder}/calls.parquet')"
    )
    con.execute(
        f"CREATE VIEW messages AS SELECT {n('msisdn')} AS m, {n('other_party')} AS o, * "
        f"FROM read_parquet('{folder}/messages.parquet')"
    )
    con.execute(
        f"CREATE VIEW complaints AS SELECT {n('reported_number')} AS m, "
        f"{n('reporter_number')} AS o, * FROM read_parquet('{folder}/complaints.parquet')"
    )
    con.execute(
        f"CREATE VIEW truth AS SELECT substr(msisdn, 4) AS m, msisdn AS e164, kind, "
        f"coalesce(category, '') AS category FROM read_csv('{folder}/truth.csv', "
        "all_varchar=true)"
    )


@pytest.fixture(scope="module")
def con(parquet_traffic: tuple[Path, TrafficTruth]) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    _views(connection, parquet_traffic[0])
    return connection


def test_contract_columns_and_types(
    parquet_traffic: tuple[Path, TrafficTruth], csv_traffic: tuple[Path, TrafficTruth]
) -> None:
    folder, _ = parquet_traffic
    calls = pq.read_schema(folder / "calls.parquet")
    assert calls.names == CALL_COLUMNS
    assert calls.field("start_time").type == pa.timestamp("us", tz="UTC")
    assert pa.types.is_integer(calls.field("duration_s").type)
    messages = pq.read_schema(folder / "messages.parquet")
    assert messages.names == MESSAGE_COLUMNS
    assert messages.field("sent_at").type == pa.timestamp("us", tz="UTC")
    assert pq.read_schema(folder / "complaints.parquet").names == COMPLAINT_COLUMNS

    folder, _ = csv_traffic
    for name, columns in (
        ("calls", CALL_COLUMNS),
        ("messages", MESSAGE_COLUMNS),
        ("complaints", COMPLAINT_COLUMNS),
    ):
        header = (folder / f"{name}.csv").read_text(encoding="utf-8").splitlines()[0]
        assert header.replace('"', "").split(",") == columns
    first = pa_csv.read_csv(
        folder / "calls.csv",
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(CALL_COLUMNS, pa.string())
        ),
    ).slice(0, 100)
    for text in first.column("start_time").to_pylist():
        assert text.endswith("+08:00") and text[10] == "T"
    for name in ("activations.csv", "truth.csv", "truth.json"):
        assert (folder / name).is_file()


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    for fmt in ("csv", "parquet"):
        a = generate_traffic(tmp_path / f"a-{fmt}", users=300, days=2, seed=5, fmt=fmt)  # type: ignore[arg-type]
        b = generate_traffic(tmp_path / f"b-{fmt}", users=300, days=2, seed=5, fmt=fmt)  # type: ignore[arg-type]
        assert a == b
        files = sorted(p.name for p in (tmp_path / f"a-{fmt}").iterdir())
        assert files == sorted(p.name for p in (tmp_path / f"b-{fmt}").iterdir())
        for name in files:
            assert (tmp_path / f"a-{fmt}" / name).read_bytes() == (
                tmp_path / f"b-{fmt}" / name
            ).read_bytes(), name
    generate_traffic(tmp_path / "c", users=300, days=2, seed=6, fmt="csv")
    assert (tmp_path / "c" / "calls.csv").read_bytes() != (
        tmp_path / "a-csv" / "calls.csv"
    ).read_bytes()


def test_every_kind_planted_with_its_count(
    parquet_traffic: tuple[Path, TrafficTruth], con: duckdb.DuckDBPyConnection
) -> None:
    _, truth = parquet_traffic
    expected = {
        "fraud_caller": round(USERS * 0.005),
        "harasser": round(USERS * 0.0025),
        "ring_once": round(USERS * 0.0015),
        "spam_sender": round(USERS * 0.0025),
        "busy_ordinary": round(USERS * 0.02),
    }
    for kind, count in expected.items():
        assert truth.kinds[kind] == count, kind
    heavy = sum(truth.kinds[k] for k in ("courier", "delivery", "sales", "call_centre"))
    assert heavy == pytest.approx(USERS * 0.02, abs=2)
    assert truth.sim_pool_groups == 1 and 5 <= truth.kinds["sim_pool"] <= 20
    assert sum(truth.kinds.values()) == USERS
    in_file = dict(con.execute("SELECT kind, count(*) FROM truth GROUP BY kind").fetchall())
    assert in_file == truth.kinds
    wrong = con.execute("SELECT kind, category FROM truth").fetchall()
    for kind, category in wrong:
        assert category == NUISANCE.get(kind, ""), kind
    active = dict(
        con.execute(
            "SELECT kind, count(DISTINCT m) FROM calls JOIN truth USING (m) "
            "WHERE direction = 'out' GROUP BY kind"
        ).fetchall()
    )
    assert set(active) == set(truth.kinds), "every kind places calls"


def test_truth_covers_every_number(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("calls", "messages", "complaints"):
        missing = con.execute(
            f"SELECT count(*) FROM {table} WHERE m NOT IN (SELECT m FROM truth)"
        ).fetchone()
        assert missing == (0,), table
    numbers = con.execute("SELECT e164 FROM truth").fetchall()
    assert all(e.startswith("+86") and len(e) == 14 for (e,) in numbers)
    assert len({e for (e,) in numbers}) == USERS


def test_numbers_spelled_in_several_ways(con: duckdb.DuckDBPyConnection) -> None:
    spellings = dict(
        con.execute(
            "SELECT CASE WHEN other_party LIKE '+86%' THEN 'plus' "
            "WHEN other_party LIKE '% %' THEN 'space' WHEN other_party LIKE '%-%' THEN 'dash' "
            "WHEN length(other_party) = 13 THEN 'cc' ELSE 'plain' END, count(*) FROM calls "
            "GROUP BY 1"
        ).fetchall()
    )
    assert set(spellings) == {"plus", "space", "dash", "cc", "plain"}
    assert spellings["plain"] > 0.9 * sum(spellings.values())


def test_on_net_calls_recorded_on_both_sides(con: duckdb.DuckDBPyConnection) -> None:
    on_net_out, matched = con.execute(
        "WITH o AS (SELECT * FROM calls WHERE direction = 'out' "
        "AND o IN (SELECT m FROM truth)) "
        "SELECT (SELECT count(*) FROM o), count(*) FROM o JOIN calls i "
        "ON i.direction = 'in' AND i.m = o.o AND i.o = o.m "
        "AND i.start_time = o.start_time AND i.duration_s = o.duration_s"
    ).fetchone() or (0, 0)
    assert on_net_out > 1000 and matched == on_net_out
    (on_net_in,) = con.execute(
        "SELECT count(*) FROM calls WHERE direction = 'in' AND o IN (SELECT m FROM truth)"
    ).fetchone() or (0,)
    assert on_net_in == on_net_out, "every on-net in row has its out row"
    (off_net,) = con.execute(
        "SELECT count(*) FROM calls WHERE o NOT IN (SELECT m FROM truth)"
    ).fetchone() or (0,)
    assert off_net > 0
    prefixes = con.execute(
        "SELECT DISTINCT left(o, 2) FROM calls WHERE o NOT IN (SELECT m FROM truth)"
    ).fetchall()
    assert {p for (p,) in prefixes} <= {"13", "15", "18", "19"}


def test_sim_pool_numbers_share_handsets(con: duckdb.DuckDBPyConnection) -> None:
    """A pool's numbers share its 1-3 IMEIs; nobody else shares a handset that widely."""
    lowest_in_pool = con.execute(
        "WITH users_of AS (SELECT imei, count(DISTINCT m) AS n FROM calls "
        "WHERE direction = 'out' GROUP BY imei) "
        "SELECT min(n), max(n) FROM users_of WHERE imei IN (SELECT imei FROM calls "
        "JOIN truth USING (m) WHERE kind = 'sim_pool')"
    ).fetchone()
    assert lowest_in_pool is not None
    assert lowest_in_pool[0] >= 5, "each pool handset serves the whole pool (5+ numbers)"
    others = con.execute(
        "WITH users_of AS (SELECT imei, count(DISTINCT m) AS n FROM calls "
        "WHERE direction = 'out' GROUP BY imei) "
        "SELECT max(n) FROM users_of WHERE imei NOT IN (SELECT imei FROM calls "
        "JOIN truth USING (m) WHERE kind = 'sim_pool')"
    ).fetchone()
    assert others is not None and others[0] <= 2
    imeis = con.execute("SELECT DISTINCT imei FROM calls").fetchall()
    assert all(len(i) == 15 and _luhn_ok(i) for (i,) in imeis)


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d // 10 + d % 10
    return total % 10 == 0


def test_kinds_behave_as_planted(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        f"""
        WITH called AS (SELECT DISTINCT m, o FROM calls WHERE direction = 'out'),
        back AS (SELECT DISTINCT m, o FROM calls WHERE direction = 'in'),
        callback AS (
            SELECT c.m, avg(CASE WHEN b.o IS NULL THEN 0 ELSE 1 END) AS share
            FROM called c LEFT JOIN back b USING (m, o) GROUP BY c.m
        ),
        per AS (
            SELECT m, count(*) FILTER (WHERE direction = 'out') / {DAYS} AS per_day,
                avg(CASE WHEN duration_s = 0 THEN 1.0 ELSE 0 END)
                    FILTER (WHERE direction = 'out') AS unanswered,
                count(DISTINCT cell_id) AS cells,
                avg(CASE WHEN hour(start_time + INTERVAL 8 HOUR) >= 22
                    OR hour(start_time + INTERVAL 8 HOUR) < 6 THEN 1.0 ELSE 0 END) AS night
            FROM calls GROUP BY m
        )
        SELECT kind, median(per_day), median(unanswered), median(share), median(cells),
            median(night)
        FROM per JOIN truth USING (m) JOIN callback USING (m) GROUP BY kind
        """
    ).fetchall()
    per_day, unanswered, callback, cells, night = (
        {row[0]: row[i] for row in rows} for i in range(1, 6)
    )
    assert per_day["ordinary"] < 15 < per_day["fraud_caller"]
    assert per_day["courier"] > 40 and per_day["sales"] > 40, "legitimate heavy callers"
    assert unanswered["ring_once"] > 0.9 > 0.3 > unanswered["courier"]
    assert callback["fraud_caller"] < 0.05 < 0.1 < callback["courier"]
    assert callback["sim_pool"] < 0.05 and callback["ring_once"] > 0.03
    assert cells["courier"] > 5 > cells["fraud_caller"]
    assert night["harasser"] > 0.15 > night["fraud_caller"]


def test_sms_kinds(con: duckdb.DuckDBPyConnection) -> None:
    per_kind = dict(
        con.execute(
            f"SELECT kind, count(*) / count(DISTINCT m) / {DAYS} FROM messages JOIN truth "
            "USING (m) WHERE direction = 'out' GROUP BY kind"
        ).fetchall()
    )
    assert per_kind["spam_sender"] > 100 > 5 > per_kind["ordinary"]
    spam = [
        t
        for (t,) in con.execute(
            "SELECT content FROM messages JOIN truth USING (m) "
            "WHERE kind = 'spam_sender' AND direction = 'out' LIMIT 2000"
        ).fetchall()
    ]
    assert len(set(spam)) > 0.9 * len(spam), "spam varies from message to message"
    assert any("http" in t or "www" in t for t in spam)
    assert any(t.isascii() for t in spam) and any(not t.isascii() for t in spam)
    courier = con.execute(
        "SELECT count(*) FROM messages JOIN truth USING (m) WHERE kind = 'courier' "
        "AND content LIKE '%取件码%'"
    ).fetchone()
    assert courier is not None and courier[0] > 0


def test_complaints_are_genuine(
    parquet_traffic: tuple[Path, TrafficTruth], con: duckdb.DuckDBPyConnection
) -> None:
    _, truth = parquet_traffic
    rows = con.execute(
        "SELECT t.kind, t.category, c.category, "
        "EXISTS (SELECT 1 FROM calls k WHERE k.m = c.m AND k.o = c.o AND k.direction = 'out') "
        "OR EXISTS (SELECT 1 FROM messages s WHERE s.m = c.m AND s.o = c.o "
        "AND s.direction = 'out') FROM complaints c JOIN truth t USING (m)"
    ).fetchall()
    assert len(rows) == truth.rows["complaints"]
    assert all(reached for *_, reached in rows), "a complaint comes from someone reached"
    mistaken = sum(1 for kind, *_ in rows if kind not in NUISANCE)
    assert mistaken == truth.complaints["mistaken"]
    assert 0 < mistaken < 0.2 * len(rows)
    against_nuisance = [(c, f) for _, c, f, _ in rows if c]
    assert all(f in (c, "other") for c, f in against_nuisance), "never a wrong category"
    matching = sum(c == f for c, f in against_nuisance)
    assert matching > 0.6 * len(against_nuisance), "categories mostly name the nuisance"
    reported = Counter(kind for kind, *_ in rows)
    assert reported["fraud_caller"] > 0 and reported["harasser"] > 0


def test_activations(
    con: duckdb.DuckDBPyConnection, parquet_traffic: tuple[Path, TrafficTruth]
) -> None:
    folder, _ = parquet_traffic
    ages = dict(
        con.execute(
            "SELECT CASE WHEN kind IN ('fraud_caller', 'sim_pool', 'ring_once', 'spam_sender') "
            "THEN 'burner' ELSE kind END, median(date_diff('day', "
            "CAST(activated_at AS TIMESTAMPTZ), TIMESTAMPTZ '2026-03-02 00:00:00+08')) "
            f"FROM read_csv('{folder}/activations.csv', all_varchar=true) a "
            "JOIN truth t ON t.m = a.msisdn GROUP BY 1"
        ).fetchall()
    )
    assert len(ages) == 8
    assert ages["burner"] < 30
    assert ages["ordinary"] > 100 and ages["courier"] > 100
    early = con.execute(
        "SELECT count(*) FROM calls c JOIN read_csv('" + str(folder) + "/activations.csv', "
        "all_varchar=true) a ON a.msisdn = c.m "
        "WHERE c.start_time < CAST(a.activated_at AS TIMESTAMPTZ)"
    ).fetchone()
    assert early == (0,), "no record before its number was activated"


def test_csv_bad_rows_counted_and_same_rows_as_parquet(
    csv_traffic: tuple[Path, TrafficTruth], parquet_traffic: tuple[Path, TrafficTruth]
) -> None:
    folder, truth = csv_traffic
    pq_folder, pq_truth = parquet_traffic
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    c.execute(
        f"CREATE VIEW calls AS SELECT * FROM read_csv('{folder}/calls.csv', all_varchar=true)"
    )
    c.execute(
        f"CREATE VIEW messages AS SELECT * FROM read_csv('{folder}/messages.csv', all_varchar=true)"
    )
    good = (
        "msisdn IS NOT NULL AND direction IN ('out', 'in') "
        "AND try_strptime({time}, '%Y-%m-%dT%H:%M:%S%z') IS NOT NULL {more}"
    )
    good_calls = good.format(time="start_time", more="AND CAST(duration_s AS INTEGER) >= 0")
    good_messages = good.format(time="sent_at", more="")
    bad_calls = c.execute(f"SELECT count(*) FROM calls WHERE NOT ({good_calls})").fetchone()
    bad_messages = c.execute(
        f"SELECT count(*) FROM messages WHERE NOT ({good_messages})"
    ).fetchone()
    assert bad_calls == (sum(truth.bad_rows_by_reason["calls"].values()),)
    assert bad_messages == (sum(truth.bad_rows_by_reason["messages"].values()),)
    assert truth.bad_rows == bad_calls[0] + bad_messages[0] > 0
    assert truth.rows["calls"] - bad_calls[0] == pq_truth.rows["calls"]

    c.execute(f"CREATE VIEW pcalls AS SELECT * FROM read_parquet('{pq_folder}/calls.parquet')")
    c.execute(
        f"CREATE VIEW pmessages AS SELECT * FROM read_parquet('{pq_folder}/messages.parquet')"
    )
    for csv_side, parquet_side in (
        (
            f"SELECT msisdn, other_party, direction, strptime(start_time, '%Y-%m-%dT%H:%M:%S%z'),"
            f" CAST(duration_s AS INTEGER), cell_id, imei FROM calls WHERE {good_calls}",
            "SELECT msisdn, other_party, direction, start_time, duration_s, cell_id, imei "
            "FROM pcalls",
        ),
        (
            "SELECT msisdn, other_party, direction, strptime(sent_at, '%Y-%m-%dT%H:%M:%S%z'), "
            f"content FROM messages WHERE {good_messages}",
            "SELECT * FROM pmessages",
        ),
    ):
        differ = c.execute(
            f"SELECT count(*) FROM (({csv_side}) EXCEPT ALL ({parquet_side})) "
            f"UNION ALL SELECT count(*) FROM (({parquet_side}) EXCEPT ALL ({csv_side}))"
        ).fetchall()
        assert differ == [(0,), (0,)]


def test_call_target_and_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    truth = generate_traffic(tmp_path / "one", days=1, fmt="parquet", target_calls=60_000)
    assert truth.rows["calls"] == pytest.approx(60_000, rel=0.25)
    assert truth.files["calls"] == ["calls.parquet"]

    monkeypatch.setattr(traffic, "PART_ROWS", 20_000)
    truth = generate_traffic(tmp_path / "parts", days=1, fmt="parquet", target_calls=60_000)
    parts = sorted((tmp_path / "parts" / "calls").glob("part-*.parquet"))
    assert [str(p.relative_to(tmp_path / "parts")) for p in parts] == truth.files["calls"]
    assert len(parts) >= 3
    sizes = [pq.read_metadata(p).num_rows for p in parts]
    assert max(sizes) <= 20_000 and sum(sizes) == truth.rows["calls"]
    assert not (tmp_path / "parts" / "calls.parquet").exists()


def test_numbers_from_a_market(small_market: Market, tmp_path: Path) -> None:
    truth = generate_traffic(
        tmp_path, users=500, days=1, seed=3, market=small_market.path, fmt="parquet"
    )
    assert truth.market == str(small_market.path)
    c = duckdb.connect()
    outside = c.execute(
        f"SELECT count(*) FROM read_csv('{tmp_path}/activations.csv', all_varchar=true) "
        f"WHERE msisdn NOT IN (SELECT msisdn FROM read_parquet("
        f"'{small_market.path}/subscribers/*.parquet') WHERE status = 'active')"
    ).fetchone()
    assert outside == (0,)
    with pytest.raises(InvalidInput):
        generate_traffic(tmp_path / "big", users=10**7, market=small_market.path)


def test_a_market_folder_with_an_apostrophe(tmp_path: Path) -> None:
    folder = tmp_path / "o'market" / "subscribers"
    folder.mkdir(parents=True)
    numbers = [f"170{i:08d}" for i in range(5)]
    statuses = ["active"] * 4 + ["cancelled"]
    pq.write_table(pa.table({"msisdn": numbers, "status": statuses}), folder / "s.parquet")
    drawn = traffic._market_numbers(folder.parent, 4, seed=1)
    assert drawn.tolist() == [int(n) for n in numbers[:4]]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"users": 10}, "users"),
        ({"days": 0}, "days"),
        ({"fmt": "xlsx"}, "format"),
        ({"target_calls": 0}, "calls"),
    ],
)
def test_impossible_parameters_refused(
    tmp_path: Path, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        generate_traffic(tmp_path, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert not list(tmp_path.iterdir()), "nothing written"


def test_cli_writes_and_summarises(tmp_path: Path) -> None:
    out = tmp_path / "traffic"
    result = CliRunner().invoke(
        app,
        ["synth", "traffic", "--out", str(out), "--users", "300", "--days", "2", "--seed", "4",
         "--start", "2026-04-06", "--format", "parquet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    truth = TrafficTruth.load(out / "truth.json")
    assert summary["rows"] == truth.rows and summary["kinds"] == truth.kinds
    assert truth.start == date(2026, 4, 6).isoformat() and truth.format == "parquet"
    assert pq.read_metadata(out / "calls.parquet").num_rows == truth.rows["calls"]

    failed = subprocess.run(
        [sys.executable, "-m", "mvnoguard", "--home", str(tmp_path / "home"), "synth",
         "traffic", "--out", str(out), "--start", "2026-02-30"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert failed.returncode == 2
    assert failed.stderr.startswith("error[invalid_input]") and "Traceback" not in failed.stderr
