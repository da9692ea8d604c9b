"""The linkage commands, mounted the way the root app mounts them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from typer.testing import CliRunner

from mvnoguard.cli.context import set_home
from mvnoguard.cli.linkage import complaints_app, risk_app, tasks_app
from mvnoguard.errors import RuleViolation
from tests.linkage.test_complaints import CONTRACT_ROWS, write_csv

app = typer.Typer()


@app.callback()
def root(ctx: typer.Context, home: Annotated[Path, typer.Option("--home")]) -> None:
    set_home(ctx, home)


app.add_typer(risk_app, name="risk")
app.add_typer(complaints_app, name="complaints")
app.add_typer(tasks_app, name="tasks")
runner = CliRunner()
AT = ["--at", "2016-06-01T10:00:00+08:00"]


def run(home: Path, *args: str) -> str:
    result = runner.invoke(app, ["--home", str(home), *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_import_then_list_and_report(tmp_path: Path) -> None:
    feed = write_csv(tmp_path / "complaints.csv", CONTRACT_ROWS)
    home = tmp_path / "home"
    first = json.loads(run(home, "complaints", "import", str(feed), "--json", *AT))
    again = json.loads(run(home, "complaints", "import", str(feed), "--json", *AT))
    assert (first["accepted"], first["quarantined"], first["duplicates"]) == (2, 4, 1)
    assert Path(first["quarantine_file"]).parent == home / "quarantine"
    assert (again["accepted"], again["duplicates"]) == (0, 3)
    submitted = json.loads(
        run(home, "complaints", "submit", "+1 415 555 0199", "--category", "spam", *AT)
    )
    assert submitted["reported_number"] == "+14155550199"
    assert json.loads(run(home, "risk", "list", "--json")) == []
    assert json.loads(run(home, "risk", "overdue", *AT)) == []
    assert json.loads(run(home, "risk", "expire", *AT)) == {"cleared": 0}
    assert json.loads(run(home, "tasks", "list")) == []


def test_dispose_needs_an_enterprise_and_confirm_a_known_number(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["--home", str(tmp_path), "risk", "dispose", "17090000001", "--action", "suspended"]
    )
    assert result.exit_code != 0  # --enterprise is required to dispose
    result = runner.invoke(app, ["--home", str(tmp_path), "risk", "confirm", "17090000001"])
    assert result.exit_code != 0
    assert getattr(result.exception, "code", None) == "unknown_risk_number"
    assert not isinstance(result.exception, RuleViolation)


def test_the_reporter_number_is_never_printed_nor_stored_in_clear(tmp_path: Path) -> None:
    feed = write_csv(tmp_path / "complaints.csv", CONTRACT_ROWS)
    home = tmp_path / "home"
    printed = [
        run(home, "complaints", "import", str(feed), "--json", *AT),
        run(home, "complaints", "import", str(feed), *AT),
        run(
            home,
            "complaints",
            "submit",
            "+1 415 555 0199",
            "--category",
            "spam",
            "--reporter",
            "13900139000",
            *AT,
        ),
    ]
    for output in printed:
        assert "13800138000" not in output
        assert "13900139000" not in output
    for path in home.rglob("*"):  # the store (and its WAL), the quarantine, the key ring
        if path.is_file():
            data = path.read_bytes()
            assert b"13800138000" not in data, path
            assert b"13900139000" not in data, path
    # The regulator opens it for follow-up, with a purpose; the access is in the audit log.
    opened = json.loads(run(home, "complaints", "reporter", "1", "--purpose", "call back", *AT))
    assert opened == {"complaint_id": 1, "reporter_number": "+8613800138000"}
    refused = runner.invoke(app, ["--home", str(home), "complaints", "reporter", "1"])
    assert refused.exit_code != 0  # --purpose is required
    unknown = runner.invoke(
        app, ["--home", str(home), "complaints", "reporter", "99", "--purpose", "x"]
    )
    assert getattr(unknown.exception, "code", None) == "unknown_complaint"
