"""Identity numbers and names never leave the vault in clear.

Subscribers are signed up through the real command line (a subprocess, SQLite default store
under a temporary home), their records shown, the demo run and sign-ups refused; then the
database files, every file under the home, and everything each command printed are searched
for the clear identity numbers and names, byte for byte. ``id validate`` is the one command
that repeats its input by contract, so only its output is exempt. An in-process sign-up with
logging at DEBUG (SQLAlchemy's statement and parameter logging included) proves the logs do
not carry them either.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mvnoguard.cli import app
from mvnoguard.demo import made_up_ric
from mvnoguard.identity.documents import ric_check_character
from tests.cli.test_cli import run_cli as run_mvnoguard

runner = CliRunner()


def ric(first17: str) -> str:
    return first17 + ric_check_character(first17)


HOLDER = ric("32010619880512345")
HOLDER_NAME = "欧阳娜娜"
SECOND = ric("11010819791224567")
SECOND_NAME = "司马相如"
MINOR = ric("44010620080808246")  # under 16 at the 2016 sign-up below
MINOR_NAME = "诸葛小亮"
TYPO = SECOND[:-1] + ("1" if SECOND[-1] != "1" else "2")  # a wrong check character
TYPO_NAME = "上官婉儿"

NUMBERS = [HOLDER, SECOND, MINOR, TYPO]
NAMES = [HOLDER_NAME, SECOND_NAME, MINOR_NAME, TYPO_NAME]
# The demo's own made-up people (mvnoguard.demo.run) must stay just as hidden.
DEMO_NUMBERS = [
    made_up_ric("110101", "19900307", 123),
    made_up_ric("440106", "20050101", 456),
    made_up_ric("440106", "19750612", 789),
]
DEMO_NAMES = ["王小明", "李想", "李建国"]


def needles() -> dict[str, bytes]:
    """Every byte string whose presence would leak a clear number or name."""
    found: dict[str, bytes] = {}
    for number in NUMBERS + DEMO_NUMBERS:
        found[f"{number} utf-8"] = number.encode("utf-8")
        found[f"{number} utf-16-le"] = number.encode("utf-16-le")
    for name in NAMES + DEMO_NAMES:
        found[f"{name} utf-8"] = name.encode("utf-8")
        found[f"{name} utf-16-le"] = name.encode("utf-16-le")
    return found


def leaks(data: bytes) -> list[str]:
    return [label for label, needle in needles().items() if needle in data]


@dataclass
class Ran:
    command: str
    returncode: int
    stdout: str
    stderr: str


def run_cli(home: Path, *args: str, input: str | None = None) -> Ran:
    done = run_mvnoguard(home, *args, input=input)
    return Ran(" ".join(args[:2]), done.returncode, done.stdout, done.stderr)


def run_in_process(home: Path, *args: str, input: str | None = None) -> Ran:
    result = runner.invoke(app, ["--home", str(home), *args], input=input)
    assert result.exit_code == 0, (result.output, result.exception)
    return Ran(" ".join(args[:2]), result.exit_code, result.stdout, result.stderr)


def set_up_market(home: Path) -> list[Ran]:
    """Reference data only (no personal data), in-process to keep the test fast."""
    return [
        run_in_process(home, "enterprise", "add", "E01", "远岸移动", "--host-network", "unicom"),
        run_in_process(home, "enterprise", "add-block", "E01", "17090000000", "17090009999"),
        run_in_process(home, "outlet", "add", "E01-OWN", "--enterprise", "E01", "--kind", "own"),
    ]


def sign_up_json(msisdn: str, number: str, name: str, **extra: object) -> str:
    return json.dumps(
        {
            "msisdn": msisdn,
            "enterprise_code": "E01",
            "outlet_code": "E01-OWN",
            "verification_method": "reader",
            "face_score": 0.93,
            "holder": {"doc_type": "RIC", "number": number, "name": name},
            "at": "2016-03-01T10:00:00+08:00",
            **extra,
        },
        ensure_ascii=False,
    )


def test_identity_data_appears_in_no_file_and_no_output(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ran = set_up_market(home)

    by_options = run_cli(
        home,
        "subscriber",
        "register",
        "--msisdn",
        "17090000001",
        "--enterprise",
        "E01",
        "--outlet",
        "E01-OWN",
        "--doc",
        f"RIC:{HOLDER}",
        "--name",
        HOLDER_NAME,
        "--face-score",
        "0.91",
        "--at",
        "2016-03-01T10:00:00",
    )
    agent = {"doc_type": "RIC", "number": HOLDER, "name": HOLDER_NAME}
    by_json = run_cli(
        home,
        "subscriber",
        "register",
        "--from-json",
        "-",
        input=sign_up_json("17090000002", SECOND, SECOND_NAME, agent=agent),
    )
    minor = run_cli(
        home,
        "subscriber",
        "register",
        "--from-json",
        "-",
        input=sign_up_json("17090000003", MINOR, MINOR_NAME),
    )
    typo = run_cli(
        home,
        "subscriber",
        "register",
        "--from-json",
        "-",
        input=sign_up_json("17090000004", TYPO, TYPO_NAME),
    )
    show = run_cli(home, "subscriber", "show", "17090000002")
    demo = run_cli(home, "demo")
    ran += [by_options, by_json, minor, typo, show, demo]

    # The commands did what they should, so the searches below look at real output.
    assert (by_options.returncode, by_json.returncode, show.returncode, demo.returncode) == (
        0,
        0,
        0,
        0,
    )
    assert minor.returncode == 2 and minor.stderr.startswith("error[minor_without_guardian]")
    assert typo.returncode == 2 and typo.stderr.startswith("error[invalid_document]")
    record = json.loads(show.stdout)
    assert record["holder"]["doc_number"] == SECOND[:4] + "*" * 10 + SECOND[-4:]
    assert record["holder"]["name"] == SECOND_NAME[0] + "***"
    assert record["agent"]["doc_number"] == HOLDER[:4] + "*" * 10 + HOLDER[-4:]

    # id validate repeats its input by contract: the one exempt output. It also proves the
    # search finds a number when one is there.
    validate = runner.invoke(app, ["--home", str(home), "id", "validate", "--json"], input=HOLDER)
    assert validate.exit_code == 0
    assert f"{HOLDER} utf-8" in leaks(validate.stdout.encode("utf-8"))

    for command in ran:
        for stream, text in (("stdout", command.stdout), ("stderr", command.stderr)):
            assert leaks(text.encode("utf-8")) == [], f"{command.command} {stream}"
        assert "Traceback" not in command.stderr, command.command

    database = home / "mvnoguard.db"
    assert database.is_file()
    assert b"17090000002" in database.read_bytes(), "the store is searchable as plain bytes"
    for path in [database, home / "mvnoguard.db-wal", home / "mvnoguard.db-shm"]:
        if path.exists():
            assert leaks(path.read_bytes()) == [], path.name
    files = [path for path in home.rglob("*") if path.is_file()]
    assert database in files and home / "keys" / "vault.json" in files
    for path in files:
        assert leaks(path.read_bytes()) == [], str(path.relative_to(home))


def test_logs_carry_no_identity_data(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    home = tmp_path / "home"
    set_up_market(home)
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy keeps its own loggers at WARNING unless asked: ask, so that every statement
    # and its bound parameters reach the capture too.
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    run_in_process(
        home,
        "subscriber",
        "register",
        "--from-json",
        "-",
        input=sign_up_json("17090000001", HOLDER, HOLDER_NAME),
    )
    run_in_process(home, "subscriber", "show", "17090000001")
    refused = runner.invoke(
        app,
        ["--home", str(home), "subscriber", "register", "--from-json", "-"],
        input=sign_up_json("17090000003", MINOR, MINOR_NAME),
    )
    assert refused.exit_code != 0

    statements = [r for r in caplog.records if r.name.startswith("sqlalchemy.engine")]
    assert any("INSERT INTO identities" in r.getMessage() for r in statements), (
        "the capture must see the statements that store identities"
    )
    for record in caplog.records:
        assert leaks(record.getMessage().encode("utf-8")) == [], record.name
    assert leaks(caplog.text.encode("utf-8")) == []
