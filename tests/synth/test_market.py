"""Tests of the synthetic market generator (mvnoguard.synth): shape, contracts, determinism,
planted defects and look-alikes, and the ground truth against an independent audit oracle."""

from __future__ import annotations

import itertools
import json
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from mvnoguard.identity.documents import validate_document
from mvnoguard.identity.phones import mvno_segment
from mvnoguard.synth import MarketTruth, generate_market
from mvnoguard.synth.catalog import ENTERPRISES
from mvnoguard.synth.market import _clear
from mvnoguard.synth.plan import plan_market

from .conftest import KINDS, Market, connect, oracle_audit

SUBSCRIBER_COLUMNS = [
    "msisdn",
    "enterprise_code",
    "status",
    "activated_at",
    "cancelled_at",
    "doc_type",
    "doc_number",
    "name",
    "birth_date",
    "nationality",
    "verification_method",
    "face_score",
    "outlet_code",
    "guardian_doc_type",
    "guardian_doc_number",
    "agent_doc_type",
    "agent_doc_number",
]
CONTRACT_COLUMNS = {
    "enterprises": ["enterprise_code", "name", "host_network", "approved_on", "license_no"],
    "number_blocks": ["enterprise_code", "first_number", "last_number"],
    "outlets": ["outlet_code", "enterprise_code", "kind", "region_code", "authorized"],
}


@pytest.fixture(scope="session")
def medium_market(tmp_path_factory: pytest.TempPathFactory) -> Market:
    path = tmp_path_factory.mktemp("market_01")
    return Market(path, "parquet", generate_market(path, scale=0.01, seed=11))


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


# -- shape --------------------------------------------------------------------------------


def test_full_scale_plan_has_the_seed_articles_shape() -> None:
    plan = plan_market(1.0, 0, date(2015, 12, 31))
    live = [e.live for e in plan.enterprises]
    assert len(plan.enterprises) == 42
    assert sum(1 for n in live if n > 0) == 39
    assert plan.users_total == 20_590_000
    assert [sum(1 for n in live if n > t) for t in (1e6, 2e6, 4e6)] == [7, 3, 1]
    issuing = {e.code for e in plan.enterprises if e.live}
    assert {b.enterprise_code for b in plan.blocks} == issuing
    assert set(plan.outlets.enterprise) == issuing
    # Blocks never overlap, lie in the host network's MVNO segments, and hold every row.
    ordered = sorted(plan.blocks, key=lambda b: b.first_number)
    for before, after in itertools.pairwise(ordered):
        assert before.last_number < after.first_number
    network = {e.code: e.host_network for e in ENTERPRISES}
    for block in plan.blocks:
        for number in (block.first_number, block.last_number):
            segment = mvno_segment(str(number))
            assert segment is not None and segment[1] is network[block.enterprise_code]
    for e in plan.enterprises:
        if e.live:
            assert plan.tables[e.code].capacity >= e.rows


@pytest.mark.parametrize("name", ["small_market", "medium_market"])
def test_market_summary_is_exact(name: str, request: pytest.FixtureRequest) -> None:
    market: Market = request.getfixturevalue(name)
    truth = market.truth
    assert truth.market.enterprises_approved == 42
    assert truth.market.enterprises_issuing == 39
    assert truth.market.users_total == round(20_590_000 * truth.scale)
    assert truth.market.enterprises_over_1m == 0  # thresholds do not scale
    assert len(list((market.path / "subscribers").iterdir())) == 39
    con = connect(market)
    live_rows = con.execute("SELECT count(*) FROM sub WHERE status <> 'cancelled'").fetchone()
    all_rows = con.execute("SELECT count(*) FROM sub").fetchone()
    assert live_rows == (truth.market.users_total,)
    assert all_rows is not None
    cancelled = all_rows[0] - truth.market.users_total
    assert 0.05 * truth.market.users_total <= cancelled <= 0.10 * truth.market.users_total


def test_rates_differ_by_enterprise(small_market: Market) -> None:
    rates = sorted(e.violation_rate for e in small_market.truth.enterprises if e.audited >= 500)
    assert rates[-1] > 0.10  # a few much worse
    assert rates[len(rates) // 2] < 0.05  # most between 0.5 and 5 %


# -- contracts ----------------------------------------------------------------------------


def test_parquet_files_have_the_contract_columns(small_market: Market) -> None:
    for name, columns in CONTRACT_COLUMNS.items():
        assert pq.read_schema(small_market.path / f"{name}.parquet").names == columns
    schema = pq.read_schema(small_market.path / "subscribers" / "E01.parquet")
    assert schema.names == SUBSCRIBER_COLUMNS
    types = {f.name: str(f.type) for f in schema}
    assert types["activated_at"] == types["cancelled_at"] == "timestamp[us]"
    assert types["birth_date"] == "date32[day]"
    assert types["face_score"] == "double"
    assert types["msisdn"] == types["doc_number"] == "string"


def test_csv_files_have_the_contract_columns_and_iso_times(csv_market: Market) -> None:
    for name, columns in CONTRACT_COLUMNS.items():
        header = (csv_market.path / f"{name}.csv").read_text(encoding="utf-8").splitlines()[0]
        assert header.replace('"', "").split(",") == columns
    text = (csv_market.path / "subscribers" / "E02.csv").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0].replace('"', "").split(",") == SUBSCRIBER_COLUMNS
    table = pa_csv.read_csv(
        csv_market.path / "subscribers" / "E02.csv",
        convert_options=pa_csv.ConvertOptions(column_types={"activated_at": "string"}),
    )
    assert all(len(t) == 19 and t[10] == "T" for t in table.column("activated_at").to_pylist())
    assert ",," in text  # missing values are empty cells


# -- determinism --------------------------------------------------------------------------


def test_same_seed_gives_identical_files_and_another_seed_does_not(
    small_market: Market, tmp_path: Path
) -> None:
    seen: list[int] = []
    again = generate_market(tmp_path / "again", scale=0.001, seed=7, progress=seen.append)
    assert again == small_market.truth
    assert _files(tmp_path / "again") == _files(small_market.path)
    assert seen == sorted(seen) and seen[-1] == sum(e.rows for e in again.enterprises)

    generate_market(tmp_path / "other", scale=0.001, seed=8)
    other = _files(tmp_path / "other")
    mine = _files(small_market.path)
    assert other["enterprises.parquet"] == mine["enterprises.parquet"]
    assert other["subscribers/E01.parquet"] != mine["subscribers/E01.parquet"]


def test_truth_json_round_trips(small_market: Market) -> None:
    text = (small_market.path / "truth.json").read_text(encoding="utf-8")
    assert MarketTruth.from_dict(json.loads(text)) == small_market.truth
    assert MarketTruth.load(small_market.path / "truth.json") == small_market.truth
    first = json.loads(text)["enterprises"][0]
    assert set(first) >= {"enterprise_code", "audited", "violating", "violation_rate"}
    assert list(first["violations"]) == list(KINDS)


# -- truth ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["small_market", "csv_market"])
def test_truth_equals_the_independent_oracle(name: str, request: pytest.FixtureRequest) -> None:
    market: Market = request.getfixturevalue(name)
    found = oracle_audit(market)
    for e in market.truth.enterprises:
        if e.audited == 0:
            assert e.enterprise_code not in found
            continue
        assert found[e.enterprise_code] == {
            "audited": e.audited,
            "violating": e.violating,
            "violations": e.violations,
        }, e.enterprise_code
        assert e.violation_rate == pytest.approx(e.violating / e.audited)


@pytest.mark.parametrize("name", ["small_market", "csv_market"])
def test_every_defect_kind_is_planted(name: str, request: pytest.FixtureRequest) -> None:
    truth: MarketTruth = request.getfixturevalue(name).truth
    totals = {k: sum(e.violations[k] for e in truth.enterprises) for k in KINDS}
    assert all(totals.values()), totals
    violating = sum(e.violating for e in truth.enterprises)
    assert violating < sum(totals.values())  # some numbers break several rules


def test_documents_agree_with_the_project_validator(small_market: Market) -> None:
    con = connect(small_market)
    rows = con.execute(
        "SELECT enterprise_code, status, doc_type, doc_number, nationality, "
        "guardian_doc_number, agent_doc_number FROM sub WHERE doc_number IS NOT NULL"
    ).fetchall()
    invalid: dict[str, int] = {}
    for code, status, doc_type, number, nationality, guardian, agent in rows:
        check = validate_document(doc_type, number, nationality=nationality)
        if not check.valid and status != "cancelled":
            invalid[code] = invalid.get(code, 0) + 1
        for other in (guardian, agent):
            if other is not None:
                assert validate_document("RIC", other).valid
    expected = {
        e.enterprise_code: e.violations["invalid_document"]
        for e in small_market.truth.enterprises
        if e.violations["invalid_document"]
    }
    assert invalid == expected


# -- look-alikes and sanity -----------------------------------------------------------------


_CONNECTIONS: dict[Path, duckdb.DuckDBPyConnection] = {}


def _count(market: Market, sql: str) -> int:
    if market.path not in _CONNECTIONS:
        _CONNECTIONS[market.path] = connect(market)
    row = _CONNECTIONS[market.path].execute(sql).fetchone()
    assert row is not None
    return int(row[0])


LOOK_ALIKES = {
    "five live cards and cancelled ones": """
        SELECT count(*) FROM (
            SELECT enterprise_code, doc_type, doc_number FROM sub WHERE doc_number IS NOT NULL
            GROUP BY ALL
            HAVING count(*) FILTER (WHERE status <> 'cancelled') = 5
               AND count(*) FILTER (WHERE status = 'cancelled') > 0)""",
    "people with cards at several enterprises": """
        SELECT count(*) FROM (
            SELECT doc_type, doc_number FROM sub WHERE status <> 'cancelled'
            GROUP BY ALL HAVING count(DISTINCT enterprise_code) >= 2)""",
    "minors with a guardian document": """
        SELECT count(*) FROM sub WHERE status <> 'cancelled'
            AND guardian_doc_number IS NOT NULL
            AND birth_date > CAST(activated_at AS DATE) - INTERVAL 16 YEAR""",
    "exactly 16 on the activation day": """
        SELECT count(*) FROM sub WHERE status <> 'cancelled'
            AND birth_date = CAST(activated_at AS DATE) - INTERVAL 16 YEAR""",
    "online sign-ups without a face score": """
        SELECT count(*) FROM sub JOIN outlets USING (outlet_code)
            WHERE status <> 'cancelled' AND kind = 'online' AND face_score IS NULL
              AND doc_number IS NOT NULL""",
    "face score exactly 0.80 at a physical outlet": """
        SELECT count(*) FROM sub JOIN outlets USING (outlet_code)
            WHERE kind IN ('own', 'agent') AND face_score = 0.80""",
    "cancelled rows without a document": """
        SELECT count(*) FROM sub WHERE status = 'cancelled' AND doc_number IS NULL""",
    "cancelled rows typed by hand": """
        SELECT count(*) FROM sub WHERE status = 'cancelled' AND verification_method = 'manual'""",
    "cancelled minors without a guardian": """
        SELECT count(*) FROM sub WHERE status = 'cancelled' AND guardian_doc_number IS NULL
            AND birth_date > CAST(activated_at AS DATE) - INTERVAL 16 YEAR""",
}


@pytest.mark.parametrize("what", list(LOOK_ALIKES))
def test_look_alikes_are_present(what: str, small_market: Market) -> None:
    assert _count(small_market, LOOK_ALIKES[what]) > 0
    assert small_market.truth.look_alikes["minors_with_guardian"] > 0


def test_rows_are_sane(medium_market: Market) -> None:
    m = medium_market
    assert _count(m, "SELECT count(*) - count(DISTINCT msisdn) FROM sub") == 0
    assert (
        _count(m, "SELECT count(*) FROM sub WHERE NOT regexp_full_match(msisdn, '1[0-9]{10}')") == 0
    )
    assert _count(m, "SELECT count(*) FROM sub WHERE activated_at < DATE '2014-01-01'") == 0
    assert _count(m, "SELECT count(*) FROM sub WHERE activated_at >= DATE '2016-01-01'") == 0
    assert (
        _count(
            m, "SELECT count(*) FROM sub WHERE (status = 'cancelled') <> (cancelled_at IS NOT NULL)"
        )
        == 0
    )
    assert _count(m, "SELECT count(*) FROM sub WHERE cancelled_at <= activated_at") == 0
    assert _count(m, "SELECT count(*) FROM sub WHERE cancelled_at >= DATE '2016-01-01'") == 0
    assert _count(m, "SELECT count(*) FROM sub WHERE birth_date >= CAST(activated_at AS DATE)") == 0
    assert (
        _count(
            m,
            "SELECT count(*) FROM sub WHERE (doc_number IS NULL) <> (verification_method = 'none')",
        )
        == 0
    )
    assert _count(m, "SELECT count(DISTINCT status) FROM sub") == 4
    assert _count(m, "SELECT count(DISTINCT doc_type) FROM sub") == 4
    assert _count(m, "SELECT count(DISTINCT kind) FROM outlets") == 3
    assert _count(m, "SELECT count(*) FROM outlets WHERE NOT authorized") > 0
    approved = _count(
        m, "SELECT count(*) FROM read_parquet('" + str(m.path) + "/enterprises.parquet')"
    )
    assert approved == 42


# -- arguments and housekeeping -------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scale": 0.0},
        {"scale": 1e-9},
        {"scale": 0.001, "fmt": "xml"},
        {"scale": 0.001, "as_of": date(2014, 2, 1)},
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_market(tmp_path, **kwargs)  # type: ignore[arg-type]


def test_a_new_run_removes_the_files_of_an_earlier_one(tmp_path: Path) -> None:
    (tmp_path / "subscribers").mkdir()
    ours = [tmp_path / "outlets.csv", tmp_path / "truth.json", tmp_path / "subscribers/E07.csv"]
    theirs = [tmp_path / "notes.txt", tmp_path / "subscribers" / "extra.parquet"]
    for path in ours + theirs:
        path.write_text("x", encoding="utf-8")
    _clear(tmp_path)
    assert [p.exists() for p in ours] == [False] * len(ours)
    assert all(p.exists() for p in theirs)
