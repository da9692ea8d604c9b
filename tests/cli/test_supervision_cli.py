"""The regulator's commands end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mvnoguard.cli import app
from tests.supervision.conftest import round_rows, write_rows

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
