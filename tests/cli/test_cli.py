"""The command line: in-process through Typer's runner, and as a real process for error paths.

``mvnoguard.cli.main`` turns errors into one ``error[code]: message`` line and an exit
status; the runner calls the Typer app underneath it, so error lines and statuses are checked
by running ``python -m mvnoguard`` in a subprocess.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from mvnoguard.analytics.store import RegistryStore
from mvnoguard.cli import app
from mvnoguard.config import Settings
from mvnoguard.errors import MvnoguardError
from mvnoguard.identity.documents import ric_check_character
from mvnoguard.identity.key_ring import VAULT_LOCK_FILE, KeyLease
from mvnoguard.identity.vault import KeyRing, PiiVault
from mvnoguard.runtime import Runtime
from mvnoguard.storage.database import Database, head_revision, open_database
from mvnoguard.storage.models import AuditEntry, Enterprise, Identity, NumberBlock, Outlet
from tests.linkage.test_complaints import CONTRACT_ROWS, write_csv

runner = CliRunner()


def ric(first17: str) -> str:
    return first17 + ric_check_character(first17)


HOLDER = ric("11010119900307123")
OTHER = ric("11010119851111456")
AGENT = ric("44010619750612789")


def masked(number: str) -> str:
    """The display form of an 18-character number: first four and last four characters."""
    return number[:4] + "*" * 10 + number[-4:]


def invoke(home: Path, *args: str, input: str | None = None) -> Result:
    return runner.invoke(app, ["--home", str(home), *args], input=input)


def ok(home: Path, *args: str, input: str | None = None) -> str:
    result = invoke(home, *args, input=input)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def ok_json(home: Path, *args: str, input: str | None = None) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(ok(home, *args, input=input))
    return value


def refused(home: Path, *args: str, input: str | None = None) -> MvnoguardError:
    """Run a command that must fail with one of mvnoguard's errors; return it."""
    result = invoke(home, *args, input=input)
    assert isinstance(result.exception, MvnoguardError), (result.output, result.exception)
    return result.exception


def run_cli(home: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m mvnoguard --home HOME ARGS`` as a user would run it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MVNOGUARD_")}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "mvnoguard", "--home", str(home), *args],
        input=input,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=home.parent,
        timeout=120,
        check=False,
    )


@contextmanager
def store(home: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{home / 'mvnoguard.db'}", migrate=False)
    try:
        yield database
    finally:
        database.dispose()


def setup_market(home: Path) -> None:
    ok(home, "enterprise", "add", "E01", "远岸移动", "--host-network", "unicom")
    ok(home, "enterprise", "add", "E02", "青禾通信", "--host-network", "telecom")
    ok(home, "enterprise", "add-block", "E01", "17090000000", "17090009999")
    ok(home, "enterprise", "add-block", "E02", "17000000000", "17000009999")
    ok(home, "outlet", "add", "E01-OWN", "--enterprise", "E01", "--kind", "own")
    ok(home, "outlet", "add", "E01-WEB", "--enterprise", "E01", "--kind", "online")


def register(home: Path, msisdn: str, doc: str = HOLDER, name: str = "王小明", *extra: str) -> str:
    return ok(
        home,
        "subscriber",
        "register",
        "--msisdn",
        msisdn,
        "--enterprise",
        "E01",
        "--outlet",
        "E01-OWN",
        "--doc",
        f"RIC:{doc}",
        "--name",
        name,
        "--face-score",
        "0.92",
        "--at",
        "2016-03-01T10:00:00",
        *extra,
    )


# -- id validate ------------------------------------------------------------------------------

# Each line with the code the validator must give, worked out from the rules, not the output.
LINES: list[tuple[str, str]] = [
    (HOLDER, "ok"),
    # The same first 17 digits with a check character that is not the computed one.
    (HOLDER[:-1] + ("0" if HOLDER[-1] != "0" else "1"), "bad_check_character"),
    (ric("11010119900230123"), "impossible_birth_date"),  # 30 February
    (ric("11010120991231123"), "future_birth_date"),
    (ric("99999919900307123"), "unknown_region"),  # no division 999999 in GB/T 2260
    (ric("11011819900307123"), "ok"),  # Miyun District code (2015), 1990 birth: assigned later
    (ric("11010320150307123"), "region_abolished_before_birth"),  # Chongwen, merged in 2010
    ("110101900307123", "first_generation_card"),
    ("11010119900307002x", "ok"),  # check character X written in lower case
    (f"RIC:{OTHER}", "ok"),
    ("HKMO:H12345678", "ok"),
    ("not a number!", "bad_format"),
]


def test_lower_case_x_line_really_needs_an_x() -> None:
    assert ric_check_character("11010119900307002") == "X"


def check_validate_output(stdout: str) -> None:
    answers = [json.loads(line) for line in stdout.splitlines()]
    assert len(answers) == len(LINES), "one JSON object per non-blank input line"
    for answer, (line, code) in zip(answers, LINES, strict=True):
        assert {"input", "valid", "code", "message"} <= answer.keys()
        assert answer["input"] == line
        assert answer["code"] == code, line
        assert answer["valid"] is (code == "ok")
        assert isinstance(answer["message"], str) and answer["message"]


def test_id_validate_json_from_a_file(tmp_path: Path, home: Path) -> None:
    source = tmp_path / "documents.txt"
    lines = [line for line, _ in LINES]
    text = "\n".join(lines[:6]) + "\n\n" + "\n".join(lines[6:])  # a blank line is skipped
    source.write_text(text + "\n", encoding="utf-8")
    result = invoke(home, "id", "validate", str(source), "--json")
    assert result.exit_code == 1  # some lines are invalid
    check_validate_output(result.stdout)


def test_id_validate_json_from_stdin(home: Path) -> None:
    result = invoke(
        home, "id", "validate", "--json", input="".join(f"{line}\n" for line, _ in LINES)
    )
    assert result.exit_code == 1
    check_validate_output(result.stdout)
    valid_only = "".join(f"{line}\n" for line, code in LINES if code == "ok")
    result = invoke(home, "id", "validate", "--json", input=valid_only)
    assert result.exit_code == 0
    assert all(json.loads(line)["valid"] for line in result.stdout.splitlines())


def test_id_validate_text_output(home: Path) -> None:
    result = invoke(home, "id", "validate", input=f"{HOLDER}\n110101900307123\n")
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["valid", "ok"]
    assert lines[1].split()[:2] == ["INVALID", "first_generation_card"]
    assert result.exit_code == 1


# -- reference data ---------------------------------------------------------------------------


def test_enterprises_blocks_and_outlets(home: Path) -> None:
    setup_market(home)
    ok(
        home,
        "enterprise",
        "add",
        "E01",
        "远岸移动",
        "--host-network",
        "unicom",
        "--approved-on",
        "2013-12-26",
        "--license-no",
        "A2.B1-2013-0001",
    )
    ok(
        home,
        "outlet",
        "add",
        "E01-AGT",
        "--enterprise",
        "E01",
        "--kind",
        "agent",
        "--region",
        "310104",
    )
    assert "E01-AGT blacklisted" in ok(home, "outlet", "blacklist", "E01-AGT", "--reason", "x")
    with store(home) as database, database.transaction() as session:
        enterprises = session.scalars(select(Enterprise).order_by(Enterprise.code)).all()
        assert [(e.code, e.name, e.host_network) for e in enterprises] == [
            ("E01", "远岸移动", "unicom"),
            ("E02", "青禾通信", "telecom"),
        ]
        assert enterprises[0].license_no == "A2.B1-2013-0001"
        assert str(enterprises[0].approved_on) == "2013-12-26"
        blocks = session.scalars(select(NumberBlock).order_by(NumberBlock.first_number)).all()
        assert [(b.first_number, b.last_number) for b in blocks] == [
            ("17000000000", "17000009999"),
            ("17090000000", "17090009999"),
        ]
        outlets = {o.code: o for o in session.scalars(select(Outlet))}
        assert {code: o.kind for code, o in outlets.items()} == {
            "E01-OWN": "own",
            "E01-WEB": "online",
            "E01-AGT": "agent",
        }
        assert outlets["E01-AGT"].blacklisted_at is not None
    assert refused(home, "enterprise", "add-block", "E02", "17090005000", "17090005999").code == (
        "block_overlap"
    )
    assert refused(home, "outlet", "add", "X-1", "--enterprise", "E99", "--kind", "own").code == (
        "unknown_enterprise"
    )


# -- subscribers ------------------------------------------------------------------------------


def test_register_with_options_and_from_json_then_show_masked(home: Path) -> None:
    setup_market(home)
    record = json.loads(register(home, "17090000001"))
    assert record["status"] == "active"
    assert record["holder"] == {
        "doc_type": "RIC",
        "doc_number": masked(HOLDER),
        "name": "王**",
        "nationality": None,
    }
    assert [event["kind"] for event in record["history"]] == ["activated"]

    request = {
        "msisdn": "17090000002",
        "enterprise_code": "E01",
        "outlet_code": "E01-WEB",
        "verification_method": "online",
        "holder": {"doc_type": "RIC", "number": OTHER, "name": "赵一鸣"},
        "agent": {"doc_type": "RIC", "number": AGENT, "name": "李建国"},
        "at": "2016-03-02T09:30:00+08:00",
    }
    from_json = ok_json(
        home, "subscriber", "register", "--from-json", "-", input=json.dumps(request)
    )
    assert from_json["holder"]["doc_number"] == masked(OTHER)
    assert from_json["agent"]["doc_number"] == masked(AGENT)
    assert from_json["agent"]["name"] == "李**"
    assert from_json["outlet_code"] == "E01-WEB"

    shown = ok(home, "subscriber", "show", "17090000002")
    record = json.loads(shown)
    assert record["activated_at"] == from_json["activated_at"], "one instant, one text"
    assert record["holder"]["name"] == "赵**"
    assert record["activated_at"].startswith("2016-03-02T01:30:00")  # 09:30 Beijing, in UTC
    for clear in (OTHER, AGENT, "赵一鸣", "李建国"):
        assert clear not in shown

    missing = refused(home, "subscriber", "register", "--msisdn", "17090000003")
    assert missing.code == "invalid_input"
    bad_json = refused(home, "subscriber", "register", "--from-json", "-", input="{not json")
    assert bad_json.code == "invalid_input"
    not_an_object = refused(home, "subscriber", "register", "--from-json", "-", input="[1]")
    assert (not_an_object.code, not_an_object.field) == ("invalid_input", "json")
    request["holder"] = {"doc_type": "RIC", "number": OTHER, "birth_date": "1990-02-30"}
    bad_date = refused(
        home, "subscriber", "register", "--from-json", "-", input=json.dumps(request)
    )
    assert (bad_date.code, bad_date.field) == ("invalid_input", "holder.birth_date")
    assert "1990-02-30" not in bad_date.message


def test_lifecycle_commands(home: Path) -> None:
    setup_market(home)
    register(home, "17090000001")
    number = "17090000001"
    out = ok_json(home, "subscriber", "suspend-out", number, "--reason", "r", "--at", "2016-04-01")
    assert out["status"] == "suspended_out"
    assert ok_json(home, "subscriber", "suspend", number, "--reason", "r")["status"] == "suspended"
    face = refused(
        home, "subscriber", "resume", number, "--outlet", "E01-OWN", "--face-score", "0.5"
    )
    assert face.code == "face_check_failed"
    resumed = ok_json(
        home, "subscriber", "resume", number, "--outlet", "E01-OWN", "--face-score", "0.9"
    )
    assert resumed["status"] == "active"

    due = ok_json(
        home,
        "subscriber",
        "require-reverification",
        number,
        "--reason",
        "fraud report",
        "--at",
        "2030-01-01T08:00:00",
    )
    assert due["task"] == "reverification"
    assert due["due_at"] == "2030-01-02T00:00:00+00:00"  # 24 h after 08:00 Beijing time
    enforced = ok_json(home, "registry", "enforce", "--at", "2030-01-02T09:00:00")
    assert enforced["reverification_suspended"] == 1
    assert ok_json(home, "subscriber", "show", number)["status"] == "suspended"

    transfer = {
        "msisdn": number,
        "enterprise_code": "E01",
        "outlet_code": "E01-OWN",
        "verification_method": "reader",
        "face_score": 0.95,
        "holder": {"doc_type": "RIC", "number": OTHER, "name": "赵一鸣"},
    }
    moved = ok_json(home, "subscriber", "transfer", "--from-json", "-", input=json.dumps(transfer))
    assert moved["holder"]["doc_number"] == masked(OTHER)
    assert [event["kind"] for event in moved["history"]] == ["transferred_in"]
    again = refused(home, "subscriber", "transfer", "--from-json", "-", input=json.dumps(transfer))
    assert again.code == "same_holder"

    cancelled = ok_json(home, "subscriber", "cancel", number, "--reason", "left")
    assert cancelled["status"] == "cancelled"
    shown = ok_json(home, "subscriber", "show", number)
    assert (shown["status"], shown["holder"]["doc_number"]) == ("cancelled", masked(OTHER))
    assert refused(home, "subscriber", "suspend", number, "--reason", "r").code == (
        "unknown_subscriber"
    )


def test_retention_purge_at(home: Path) -> None:
    setup_market(home)
    register(home, "17090000001")
    ok(home, "subscriber", "cancel", "17090000001", "--reason", "left", "--at", "2016-04-01")
    # Kept for two years after the cancellation date, purged after.
    purge = ("retention", "purge", "--at")
    assert ok(home, *purge, "2018-04-01").splitlines()[0] == "0 identities purged"
    assert ok(home, *purge, "2018-04-02").splitlines()[0] == "1 identities purged"
    shown = ok_json(home, "subscriber", "show", "17090000001")
    assert shown["holder"]["doc_number"] == "(purged)"
    assert shown["holder"]["name"] is None
    assert shown["history"][-1]["kind"] == "identity_purged"
    assert ok(home, "retention", "purge", "--at", "2018-04-02").splitlines() == [
        "0 identities purged",
        "0 registry snapshot rows purged",  # nothing imported
    ]


def _snapshot_rows(home: Path) -> list[dict[str, Any]]:
    return [
        row
        for path in RegistryStore(home).subscriber_files()
        for row in pq.read_table(path).to_pylist()
    ]


def test_retention_purge_clears_long_cancelled_rows_of_the_imported_snapshots(
    home: Path, tmp_path: Path
) -> None:
    """Rows cancelled before the cut-off lose their sealed numbers and name; every other row,
    the row order, the schema and the audit stay as they were; a second run changes nothing."""
    market = tmp_path / "market"
    ok(home, "synth", "market", "--out", str(market), "--scale", "0.0002", "--seed", "3")
    ok(home, "registry", "import", str(market))
    before = _snapshot_rows(home)
    files = RegistryStore(home).subscriber_files()
    # Names and types (DuckDB marks a column required when the file happens to hold no null).
    schemas = [[(f.name, f.type) for f in pq.read_schema(path)] for path in files]
    audit = ok_json(home, "audit", "--json")
    # The policy keeps data two years after the cancellation: this cut-off is 2015-10-20.
    cutoff = datetime(2015, 10, 19, 16, tzinfo=UTC)
    out = ok(home, "retention", "purge", "--at", "2017-10-20")
    after = _snapshot_rows(home)
    expired = [
        b["status"] == "cancelled" and b["cancelled_at"] < cutoff and b["doc_token"] is not None
        for b in before
    ]
    assert 0 < sum(expired) < sum(b["status"] == "cancelled" for b in before)
    assert f"{sum(expired)} registry snapshot rows purged" in out
    cleared = ("doc_number_ct", "name_ct", "name_masked", "guardian_number_ct", "agent_number_ct")
    for old, new, gone in zip(before, after, expired, strict=True):
        if gone:
            assert all(new[c] is None for c in cleared), new["msisdn"]
            assert new["doc_masked"] == "(purged)"
            kept = {k: v for k, v in old.items() if k not in (*cleared, "doc_masked")}
            assert {k: new[k] for k in kept} == kept
        else:
            assert new == old
    assert [[(f.name, f.type) for f in pq.read_schema(path)] for path in files] == schemas
    assert ok_json(home, "audit", "--json")["enterprises"] == audit["enterprises"]
    assert "0 registry snapshot rows purged" in ok(home, "retention", "purge", "--at", "2017-10-20")
    assert _snapshot_rows(home) == after
    with store(home) as database, database.transaction() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert actions.count("registry.purge") == 1


def test_vault_rotate_keeps_every_record_readable(home: Path) -> None:
    setup_market(home)
    register(home, "17090000001")
    key_file = home / "keys" / "vault.json"
    with store(home) as database, database.transaction() as session:
        before = session.scalars(select(Identity)).one()
        old_number, old_name, old_token = (
            before.number_ciphertext,
            before.name_ciphertext,
            before.token,
        )
    assert old_number is not None and old_number[1:3] == (1).to_bytes(2, "big")

    assert "1 identity records now under key version 2" in ok(home, "vault", "rotate")

    ring = json.loads(key_file.read_text(encoding="utf-8"))
    assert ring["current"] == 2
    assert list(ring["keys"]) == ["2"], "the old version is retired after the move"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with store(home) as database, database.transaction() as session:
        after = session.scalars(select(Identity)).one()
        assert after.number_ciphertext is not None
        assert after.number_ciphertext != old_number
        assert after.number_ciphertext[1:3] == (2).to_bytes(2, "big")
        assert after.name_ciphertext != old_name
        assert after.token != old_token and after.token.startswith("v2:")

    shown = ok_json(home, "subscriber", "show", "17090000001")
    assert shown["holder"]["doc_number"] == masked(HOLDER)
    # The new token still finds the holder: a second card joins the same identity.
    register(home, "17090000002")
    with store(home) as database, database.transaction() as session:
        assert len(session.scalars(select(Identity)).all()) == 1


def test_vault_rotate_waits_for_the_home_to_itself(home: Path) -> None:
    """A server (any process) holding the key ring would go on sealing under the version a
    rotation retires: the rotation is refused while it runs, and nothing moves; a process
    started during a rotation is refused too."""
    setup_market(home)
    register(home, "17090000001")
    key_file = home / "keys" / "vault.json"
    ring_before = key_file.read_text(encoding="utf-8")
    serving = Runtime(Settings(home=home))
    try:
        assert serving.vault.ring.current == 1
        busy = refused(home, "vault", "rotate")
        assert busy.code == "vault_in_use"
        assert key_file.read_text(encoding="utf-8") == ring_before
        rotating = KeyLease(home / "keys" / VAULT_LOCK_FILE)
        serving.close()
        rotating.take_alone()
        with pytest.raises(MvnoguardError) as during:
            Runtime(Settings(home=home)).vault  # noqa: B018 - opening it is the test
        assert during.value.code == "vault_rotating"
        rotating.release()
    finally:
        serving.close()
    assert "now under key version 2" in ok(home, "vault", "rotate")


def test_vault_rotate_moves_complaint_reporters_and_a_reimport_adds_nothing(
    home: Path, tmp_path: Path
) -> None:
    feed = write_csv(tmp_path / "complaints.csv", CONTRACT_ROWS)
    at = ["--at", "2016-06-01T10:00:00+08:00"]
    first = ok_json(home, "complaints", "import", str(feed), "--json", *at)
    assert (first["accepted"], first["duplicates"]) == (2, 1)
    rotated = ok(home, "vault", "rotate")
    assert "1 complaint reporter numbers now under key version 2" in rotated
    again = ok_json(home, "complaints", "import", str(feed), "--json", *at)
    assert (again["accepted"], again["duplicates"]) == (0, 3)
    opened = ok_json(home, "complaints", "reporter", "1", "--purpose", "call back")
    assert opened == {"complaint_id": 1, "reporter_number": "+8613800138000"}


def test_opening_an_unknown_complaints_reporter_is_one_error_line(home: Path) -> None:
    done = run_cli(home, "complaints", "reporter", "7", "--purpose", "call back")
    assert done.returncode != 0
    assert done.stderr.strip() == "error[unknown_complaint]: no complaint 7 (field: complaint_id)"


def test_db_upgrade(home: Path) -> None:
    output = ok(home, "db", "upgrade")
    with store(home) as database:
        assert output.strip() == f"schema at revision {head_revision(database.engine)}"


def test_demo_runs_in_a_fresh_and_in_an_existing_home(home: Path, tmp_path: Path) -> None:
    output = ok(home, "demo")
    assert "registered" in output
    assert "card_limit_exceeded" in output
    assert "minor_without_guardian" in output
    assert "The audit found exactly the planted defects" in output
    # Its stages are its own: the home's registry, store and keys stay the user's.
    assert not (home / "registry").exists() and not (home / "mvnoguard.db").exists()
    assert not (home / "demo" / "demo-traffic").exists()  # the raw records name complainants
    assert (home / "reports" / "market-report.html").is_file()
    # Again, on the data of the first run, in a home that now holds a market of the user's:
    # the demo neither mixes with it nor changes it.
    market = tmp_path / "market"
    ok(home, "synth", "market", "--out", str(market), "--scale", "0.0002", "--seed", "7")
    ok(home, "registry", "import", str(market))
    before = ok_json(home, "audit", "--json")
    assert "The audit found exactly the planted defects" in ok(home, "demo")
    assert ok_json(home, "audit", "--json") == before


# -- errors as a user sees them ---------------------------------------------------------------


def test_refused_sign_up_prints_one_error_line_and_exits_2(home: Path) -> None:
    setup_market(home)
    for i in range(5):
        register(home, f"1709000010{i}")
    sixth = json.dumps(
        {
            "msisdn": "17090000200",
            "enterprise_code": "E01",
            "outlet_code": "E01-OWN",
            "verification_method": "reader",
            "face_score": 0.9,
            "holder": {"doc_type": "RIC", "number": HOLDER, "name": "王小明"},
        }
    )
    done = run_cli(home, "subscriber", "register", "--from-json", "-", input=sixth)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error[card_limit_exceeded]: ")
    assert "Traceback" not in done.stderr


def test_home_that_is_a_file_exits_3_with_one_line(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "home"
    not_a_folder.write_text("I am a file\n", encoding="utf-8")
    done = run_cli(not_a_folder, "subscriber", "show", "17090000001")
    assert done.returncode == 3
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error[configuration]: ")
    assert "--home" in lines[0]
    assert "Traceback" not in done.stderr
    assert not_a_folder.read_text(encoding="utf-8") == "I am a file\n"


def test_vault_rotate_moves_the_imported_snapshots_before_retiring_their_key(
    home: Path, tmp_path: Path
) -> None:
    """The snapshots' ciphertexts open and their tokens match new ones after a rotation, and
    the audit finds what it found before."""
    market = tmp_path / "market"
    ok(home, "synth", "market", "--out", str(market), "--scale", "0.0002", "--seed", "3")
    ok(home, "registry", "import", str(market))
    before = ok_json(home, "audit", "--json")
    rotated = ok(home, "vault", "rotate")
    files = RegistryStore(home).subscriber_files()
    table = pq.read_table(files[0], columns=["doc_token", "doc_number_ct", "name_ct"])
    rows = table.num_rows
    assert "registry snapshot rows now under key version 2" in rotated
    tokens = [t for t in table.column("doc_token").to_pylist() if t is not None]
    assert tokens and all(t.startswith("v2:") for t in tokens)
    vault = PiiVault(KeyRing.load_or_create(home / "keys" / "vault.json"))
    assert vault.ring.versions == (2,)
    sealed = next(b for b in table.column("doc_number_ct").to_pylist() if b is not None)
    assert vault.key_version_of(sealed) == 2
    vault.decrypt(sealed, context="doc_number")  # opens under the one key left
    assert rows > 0
    after = ok_json(home, "audit", "--json")
    assert after["enterprises"] == before["enterprises"]
    with store(home) as database, database.transaction() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "vault.rotate" in actions
