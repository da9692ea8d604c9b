"""The regulator's commands end to end through the CLI."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pypdf import PdfReader
from sqlalchemy import select
from typer.testing import CliRunner

from mvnoguard.analytics.store import RegistryStore
from mvnoguard.cli import app
from mvnoguard.storage.database import open_database
from mvnoguard.storage.models import Inspection
from tests.supervision.conftest import add_complaints, round_rows, write_rows

runner = CliRunner()


def run(home: Path, *args: str) -> str:
    result = runner.invoke(app, ["--home", str(home), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_violations_json_reproduces_the_july_2016_round(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for code, name in (("E01", "远岸移动"), ("E02", "青禾通信")):
        run(home, "enterprise", "add", code, name, "--host-network", "unicom")
    rows = round_rows("JUL", "2016-07-12", [("E01", 60, 30), ("E02", 49, 7)])
    path = write_rows(tmp_path / "july.csv", rows)
    imported = json.loads(run(home, "inspections", "import", str(path), "--at", "2016-08-01"))
    assert (imported["loaded"], imported["quarantined"]) == (109, 0)
    answer = json.loads(run(home, "violations", "--json", "--period", "2016-07"))
    overall = answer["overall"]
    assert (overall["inspected"], overall["violations"], round(overall["rate"], 3)) == (
        109,
        37,
        0.339,
    )
    assert 0.25 < overall["ci_low"] < overall["rate"] < overall["ci_high"] < 0.44
    for row in answer["enterprises"]:
        assert {"enterprise_code", "inspected", "violations", "rate", "ci_low", "ci_high"} <= set(
            row
        )
    cases = json.loads(run(home, "enforce", "propose", "--period", "2016-07", "--at", "2016-08-02"))
    # E01 30/60: lower bound 37.7%, past every threshold. E02 7/49: lower bound 7.1%, past the
    # 5% for a rectification order only.
    assert sorted((c["enterprise_code"], c["kind"]) for c in cases) == [
        ("E01", "interview"),
        ("E01", "notice_of_criticism"),
        ("E01", "rectification_order"),
        ("E01", "suspend_number_allocation"),
        ("E02", "rectification_order"),
    ]
    notice = next(c for c in cases if c["kind"] == "notice_of_criticism")
    issued = json.loads(run(home, "enforce", "issue", str(notice["case_id"]), "--at", "2016-08-03"))
    assert issued["status"] == "issued" and Path(issued["document"]).exists()
    bulletin = json.loads(
        run(home, "bulletin", "--period", "2016-07", "--published-on", "2016-08-10")
    )
    assert "远岸移动" in Path(bulletin["html"]).read_text(encoding="utf-8")


def write_registry(home: Path, users: dict[str, int]) -> None:
    """A minimal imported registry: the enterprises and their live subscribers, as Parquet."""
    store = RegistryStore(home)
    store.subscribers_dir.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "enterprise_code": list(users),
                "name": [f"企业{code}" for code in users],
                "host_network": ["unicom"] * len(users),
            }
        ),
        store.reference("enterprises"),
    )
    for code, count in users.items():
        pq.write_table(
            pa.table(
                {
                    "enterprise_code": [code] * count,
                    "status": ["active"] * count,
                    "doc_check": ["ok"] * count,
                }
            ),
            store.subscribers_dir / f"{code}.parquet",
        )


def test_violations_json_shows_nuisance_and_propose_acts_on_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for code, name in (("E01", "远岸移动"), ("E02", "青禾通信"), ("E03", "蓝鲸移动")):
        run(home, "enterprise", "add", code, name, "--host-network", "unicom")
    rows = round_rows("JUL", "2016-07-12", [("E01", 20, 0), ("E02", 20, 0)])
    run(
        home,
        "inspections",
        "import",
        str(write_rows(tmp_path / "j.csv", rows)),
        "--at",
        "2016-08-01",
    )
    write_registry(home, {"E01": 10_000, "E02": 2_000})
    database = open_database(f"sqlite:///{home / 'mvnoguard.db'}")
    try:
        with database.transaction() as session:
            add_complaints(session, "E01", 30, received_at=datetime(2016, 7, 20, tzinfo=UTC))
            add_complaints(session, "E03", 4, received_at=datetime(2016, 7, 20, tzinfo=UTC))
    finally:
        database.dispose()

    answer = json.loads(run(home, "violations", "--json", "--period", "2016-07"))
    e01 = next(r for r in answer["enterprises"] if r["enterprise_code"] == "E01")
    # 30 complaints among 10,000 registry users in 31 days: 30 / 10,000 * 10,000 * 30 / 31.
    assert e01["nuisance"] == {
        "period": "2016-07",
        "days": 31,
        "users": 10_000,
        "complaints": 30,
        "confirmed_fraud_numbers": 0,
        "complaints_per_10k_per_30d": 29.0323,
        "confirmed_fraud_numbers_per_10k_per_30d": 0.0,
    }
    overall = answer["overall"]["nuisance"]
    assert (overall["users"], overall["complaints"]) == (12_000, 34)
    # E03 was not inspected: its nuisance shows apart, without a rate for want of users.
    assert answer["uninspected"] == [
        {
            "enterprise_code": "E03",
            "enterprise_name": "蓝鲸移动",
            "nuisance": {
                "period": "2016-07",
                "days": 31,
                "users": 0,
                "complaints": 4,
                "confirmed_fraud_numbers": 0,
                "complaints_per_10k_per_30d": None,
                "confirmed_fraud_numbers_per_10k_per_30d": None,
            },
        }
    ]
    assert json.loads(run(home, "violations", "--json"))["overall"]["nuisance"] is None

    cases = json.loads(run(home, "enforce", "propose", "--period", "2016-07", "--at", "2016-08-02"))
    assert [(c["enterprise_code"], c["kind"], c["basis"]) for c in cases] == [
        ("E01", "nuisance_interview", "nuisance")
    ]
    issued = json.loads(
        run(home, "enforce", "issue", str(cases[0]["case_id"]), "--at", "2016-08-03")
    )
    text = "".join("".join(p.extract_text().split()) for p in PdfReader(issued["document"]).pages)
    assert "远岸移动" in text and "投诉率为29.03" in text
    assert "你单位用户10000户" in text


def test_a_zoned_inspection_time_is_recorded_on_its_beijing_date(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run(home, "enterprise", "add", "E01", "远岸移动", "--host-network", "unicom")
    args = ("--enterprise", "E01", "--outlet", "E01-X1", "--outcome", "pass")
    answer = json.loads(
        run(home, "inspections", "record", "R1", *args, "--inspected-on", "2016-08-06T17:00:00Z")
    )
    assert answer["warnings"] == ["outlet E01-X1 is not in the catalog"]
    database = open_database(f"sqlite:///{home / 'mvnoguard.db'}")
    try:
        with database.transaction() as session:
            day = session.scalar(select(Inspection.inspected_on))
    finally:
        database.dispose()
    assert day is not None and day.isoformat() == "2016-08-07"  # 01:00 on the 7th in Beijing


def filled_in(plan: Path, day: str, target: Path) -> Path:
    """The plan as inspectors return it: every outlet visited on ``day`` and passing."""
    with plan.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    lines = [
        f"{r['inspection_id']},{r['enterprise_code']},{r['outlet_code']},{day},pass," for r in rows
    ]
    return write_rows(target, lines)


def test_the_next_round_is_planned_afresh_and_imports_whole(tmp_path: Path) -> None:
    """With the default seed, the November plan used to be July's again, ids and all: its
    results were quarantined as conflicts with July's."""
    home = tmp_path / "home"
    run(home, "enterprise", "add", "E01", "远岸移动", "--host-network", "unicom")
    for i in range(1, 41):
        run(home, "outlet", "add", f"E01-S{i:02d}", "--enterprise", "E01", "--kind", "agent")
    plan = ("inspections", "plan", "--margin", "0.3")
    july = json.loads(run(home, *plan, "--period", "2016-07", "--out", str(tmp_path / "p7.csv")))
    assert (july["period"], july["plan"]) == ("2016-07", str(tmp_path / "p7.csv"))
    returned = filled_in(tmp_path / "p7.csv", "2016-07-10", tmp_path / "r7.csv")
    assert (
        json.loads(run(home, "inspections", "import", str(returned), "--at", "2016-08-01"))[
            "quarantined"
        ]
        == 0
    )
    november = json.loads(run(home, *plan, "--period", "2016-11", "--previous", "2016-07"))
    assert Path(november["plan"]).name == "inspection-plan-2016-11-seed0.csv"
    returned = filled_in(Path(november["plan"]), "2016-11-10", tmp_path / "r11.csv")
    imported = json.loads(run(home, "inspections", "import", str(returned), "--at", "2016-12-01"))
    assert (imported["loaded"], imported["quarantined"]) == (november["inspections"], 0)
    answer = json.loads(run(home, "violations", "--json", "--period", "2016-11"))
    assert answer["overall"]["inspected"] == november["inspections"]
    # Planning November again gives November's plan again.
    again = json.loads(
        run(
            home,
            *plan,
            "--period",
            "2016-11",
            "--previous",
            "2016-07",
            "--out",
            str(tmp_path / "p11.csv"),
        )
    )
    assert (tmp_path / "p11.csv").read_bytes() == Path(november["plan"]).read_bytes()
    assert again["inspections"] == november["inspections"]
