"""Bulk registry import: good rows load, bad rows are quarantined, re-import is a no-op."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from mvnoguard.analytics.store import RegistryStore
from mvnoguard.identity.vault import PiiVault
from mvnoguard.registry.bulk_import import import_registry
from mvnoguard.storage.database import Database
from mvnoguard.storage.models import AuditEntry
from tests.registry.builders import ric

HEADER = (
    "msisdn,enterprise_code,status,activated_at,cancelled_at,doc_type,doc_number,name,birth_date,"
    "nationality,verification_method,face_score,outlet_code,guardian_doc_type,guardian_doc_number,"
    "agent_doc_type,agent_doc_number"
)


def _row(msisdn: str, **fields: str) -> str:
    values = {
        "msisdn": msisdn,
        "enterprise_code": "E01",
        "status": "active",
        "activated_at": "2015-06-01T10:00:00",
        "cancelled_at": "",
        "doc_type": "RIC",
        "doc_number": ric(sequence=int(msisdn[-3:])),
        "name": "张伟",
        "birth_date": "",
        "nationality": "",
        "verification_method": "reader",
        "face_score": "0.9",
        "outlet_code": "O1",
        "guardian_doc_type": "",
        "guardian_doc_number": "",
        "agent_doc_type": "",
        "agent_doc_number": "",
    }
    values.update(fields)
    return ",".join(values[name] for name in HEADER.split(","))


def write_snapshot(folder: Path) -> dict[int, str]:
    """A snapshot with good rows and one bad row of each sort; returns bad line -> code."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "enterprises.csv").write_text(
        "enterprise_code,name,host_network,approved_on,license_no\n"
        "E01,远岸移动,unicom,2013-12-26,L1\nE02,青禾通信,telecom,2014-01-01,L2\n",
        encoding="utf-8",
    )
    (folder / "number_blocks.csv").write_text(
        "enterprise_code,first_number,last_number\nE01,17090000000,17090009999\n"
        "E02,17000000000,17000009999\n",
        encoding="utf-8",
    )
    (folder / "outlets.csv").write_text(
        "outlet_code,enterprise_code,kind,region_code,authorized\nO1,E01,own,110101,true\n"
        "O2,E02,online,,true\nO3,E01,agent,310104,maybe\n",
        encoding="utf-8",
    )
    good = [_row(f"17090000{i:03d}") for i in range(1, 11)]
    good.append(_row("17090000100", doc_number=ric()[:-1] + "0"))  # invalid doc: kept, a finding
    good.append(_row("17090000101", doc_type="", doc_number="", name=""))  # unregistered: kept
    good.append(
        _row(
            "17090000001",
            status="cancelled",
            activated_at="2014-01-01T09:00:00",
            cancelled_at="2014-06-01T09:00:00",
        )
    )  # history of a reused number: kept
    bad_lines = [
        (_row("1709000020"), "bad_msisdn"),
        (_row("17090000201", activated_at="2015-02-30T10:00:00"), "bad_timestamp"),
        (_row("17090000202", face_score="high"), "bad_face_score"),
        (_row("17090000203", status="sleeping"), "bad_status"),
        (_row("17090000204", enterprise_code="E99"), "unknown_enterprise"),
        (_row("17090000205", status="cancelled"), "missing_cancelled_at"),
        (",".join(_row("17090000206").split(",")[:5]), "wrong_field_count"),
        (_row("17090000002"), "duplicate_row"),
    ]
    lines = [HEADER, *good, *(line for line, _ in bad_lines)]
    data = "\n".join(lines).encode("utf-8") + b"\n"
    data += _row("17090000207", name="X").encode("utf-8").replace(b"X", b"\xff\xfe") + b"\n"
    (folder / "subscribers.csv").write_bytes(data)
    first_bad = len(good) + 1
    expected = {first_bad + i: code for i, (_, code) in enumerate(bad_lines)}
    expected[first_bad + len(bad_lines)] = "bad_encoding"
    return expected


def quarantined(path: str) -> dict[int, str]:
    with Path(path).open(encoding="utf-8") as handle:
        return {
            int(r["row"]): r["code"]
            for r in csv.DictReader(handle)
            if r["file"] == "subscribers.csv"
        }


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_good_rows_load_bad_rows_quarantined_reimport_no_op(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    expected = write_snapshot(tmp_path / "snap")
    summary = import_registry(tmp_path / "snap", home=home, database=database, vault=vault)
    assert summary.rows_loaded == 13
    assert summary.quarantine_file is not None
    assert quarantined(summary.quarantine_file) == expected
    store = RegistryStore(home)
    files = store.subscriber_files()
    assert [f.name for f in files] == ["E01.parquet"]
    con = duckdb.connect()
    rows = con.execute(
        "SELECT count(*), count(doc_token), sum((doc_check = 'ok')::INT), "
        "sum((doc_type IS NULL)::INT) FROM read_parquet($f)",
        {"f": str(files[0])},
    ).fetchone()
    assert rows == (13, 12, 11, 1)
    mtime = files[0].stat().st_mtime_ns
    again = import_registry(tmp_path / "snap", home=home, database=database, vault=vault)
    assert again.rows_loaded == 0 and again.files_skipped == ["subscribers.csv"]
    assert files[0].stat().st_mtime_ns == mtime


def test_no_identity_data_in_clear_in_the_store(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    write_snapshot(tmp_path / "snap")
    summary = import_registry(tmp_path / "snap", home=home, database=database, vault=vault)
    assert summary.rows_loaded > 0
    secrets = [ric(sequence=3).encode(), "张伟".encode()]
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(secret in data for secret in secrets), path


def test_a_file_missing_a_required_column_is_reported_and_sinks_nothing_else(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    folder = tmp_path / "snap"
    write_snapshot(folder)
    (folder / "subscribers.csv").rename(folder / "subscribers_keep.csv")
    (folder / "subscribers").mkdir()
    (folder / "subscribers_keep.csv").rename(folder / "subscribers" / "good.csv")
    (folder / "subscribers" / "no_status.csv").write_text(
        "msisdn,enterprise_code,activated_at\n17090000900,E01,2015-06-01T10:00:00\n",
        encoding="utf-8",
    )
    summary = import_registry(folder, home=home, database=database, vault=vault)
    assert summary.rows_loaded == 13
    assert summary.files_imported == ["subscribers/good.csv"]
    assert any("subscribers/no_status.csv" in w and "status" in w for w in summary.warnings)
    assert summary.quarantine_file is not None
    with Path(summary.quarantine_file).open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["file"] == "subscribers/no_status.csv"]
    assert [(r["row"], r["field"], r["code"]) for r in rows] == [("0", "status", "missing_column")]


FOREIGNERS = {
    "17090000301": ("PASSPORT", "E12345678", "USA"),
    "17090000302": ("PASSPORT", "E12345678", "gb"),  # another state's passport, same number
    "17090000303": ("passport", "e12345678", "us"),  # the first passport, spelled otherwise
    "17090000304": ("RIC:X", "110101199003071233", ""),  # malformed types used to crash it
    "17090000305": ("PASS\tPORT", "E1", ""),
}


def _tokens(home: Path) -> dict[str, str | None]:
    [path] = RegistryStore(home).subscriber_files()
    table = pq.read_table(path, columns=["msisdn", "doc_token"]).to_pylist()
    return {row["msisdn"]: row["doc_token"] for row in table}


def _foreigners(folder: Path) -> None:
    rows = [
        _row(msisdn, doc_type=doc, doc_number=number, nationality=nation, name="John Smith")
        for msisdn, (doc, number, nation) in FOREIGNERS.items()
    ]
    _snapshot_of_e01(folder, rows)


def test_a_passport_token_takes_its_state_and_malformed_types_load(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    _foreigners(tmp_path / "snap")
    summary = import_registry(tmp_path / "snap", home=home, database=database, vault=vault)
    assert summary.rows_loaded == len(FOREIGNERS)
    tokens = _tokens(home)
    american = vault.identity_token("PASSPORT", "E12345678", "USA")
    assert tokens["17090000301"] == tokens["17090000303"] == american
    assert tokens["17090000302"] == vault.identity_token("PASSPORT", "E12345678", "GBR")
    assert tokens["17090000304"] == vault.identity_token("RIC:X", "110101199003071233")
    assert len({tokens[m] for m in ("17090000301", "17090000302", "17090000304")}) == 3


def test_files_imported_before_passports_took_their_state_are_retokened(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    _foreigners(tmp_path / "snap")
    import_registry(tmp_path / "snap", home=home, database=database, vault=vault)
    new = _tokens(home)
    # The store as an earlier version left it: passports keyed by their number alone, and a
    # manifest that does not say which identity keys its files hold.
    [path] = RegistryStore(home).subscriber_files()
    table = pq.read_table(path)
    legacy = vault.identity_token("PASSPORT", "E12345678")
    old = [
        legacy if msisdn in ("17090000301", "17090000302", "17090000303") else token
        for msisdn, token in zip(
            table.column("msisdn").to_pylist(), table.column("doc_token").to_pylist(), strict=True
        )
    ]
    index = table.schema.get_field_index("doc_token")
    pq.write_table(table.set_column(index, "doc_token", pa.array(old, pa.string())), path)
    manifest_path = RegistryStore(home).root / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    del manifest["identity_keys"]
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    assert _tokens(home)["17090000302"] == legacy
    again = import_registry(tmp_path / "snap", home=home, database=database, vault=vault)
    assert again.files_skipped == ["subscribers.csv"]  # nothing new, yet the old file moved
    assert _tokens(home) == new
    assert json.loads(manifest_path.read_text(encoding="utf-8"))["identity_keys"] == 2


def _snapshot_of_e01(folder: Path, rows: list[str]) -> None:
    write_snapshot(folder)
    (folder / "subscribers.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")


def test_a_newer_snapshot_replaces_the_older_and_an_older_one_is_ignored(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    march = [_row(f"17090000{i:03d}", activated_at="2015-03-01T10:00:00") for i in range(1, 4)]
    june = [_row(f"17090000{i:03d}", activated_at="2015-06-01T10:00:00") for i in range(1, 6)]
    _snapshot_of_e01(tmp_path / "march", march)
    _snapshot_of_e01(tmp_path / "june", june)
    store = RegistryStore(home)

    def live_rows() -> int:
        con = duckdb.connect()
        n = con.execute(
            "SELECT count(*) FROM read_parquet($f)", {"f": str(store.subscriber_files()[0])}
        ).fetchone()
        con.close()
        assert n is not None
        return int(n[0])

    import_registry(tmp_path / "march", home=home, database=database, vault=vault)
    assert live_rows() == 3
    newer = import_registry(tmp_path / "june", home=home, database=database, vault=vault)
    assert newer.enterprises_replaced == ["E01"] and live_rows() == 5
    march_again = [*march, _row("17090000099", activated_at="2015-02-01T10:00:00")]
    _snapshot_of_e01(tmp_path / "march2", march_again)
    older = import_registry(tmp_path / "march2", home=home, database=database, vault=vault)
    assert older.enterprises_kept_newer == ["E01"] and live_rows() == 5


def _reference(home: Path, table: str) -> list[tuple[object, ...]]:
    path = RegistryStore(home).reference(table)
    return sorted(tuple(row.values()) for row in pq.read_table(path).to_pylist())


def test_the_reference_copy_is_the_store_whole(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    """A folder with one more block adds it; a row given twice is one row; an outlet without
    a code is quarantined, not stored as "None"."""
    write_snapshot(tmp_path / "snap")
    import_registry(tmp_path / "snap", home=home, database=database, vault=vault)
    blocks = _reference(home, "number_blocks")
    more = tmp_path / "more"
    more.mkdir()
    (more / "number_blocks.csv").write_text(
        "enterprise_code,first_number,last_number\nE01,17049990000,17049990099\n",
        encoding="utf-8",
    )
    (more / "enterprises.csv").write_text(
        "enterprise_code,name,host_network,approved_on,license_no\n"
        "E01,远岸移动,unicom,2013-12-26,L1\nE01,远岸移动,unicom,2013-12-26,L1\n"
        "E03,,unicom,2013-12-26,L3\nE04,四,cable,2013-12-26,L4\nE05,五,unicom,2013-13-01,L5\n",
        encoding="utf-8",
    )
    (more / "outlets.csv").write_text(
        "outlet_code,enterprise_code,kind,region_code,authorized\n,E01,own,110101,true\n"
        "O9,E77,own,110101,true\n",
        encoding="utf-8",
    )
    summary = import_registry(more, home=home, database=database, vault=vault)
    added = ("E01", "17049990000", "17049990099")
    assert _reference(home, "number_blocks") == sorted([*blocks, added])
    assert [row[0] for row in _reference(home, "enterprises")] == ["E01", "E02"]
    assert [row[0] for row in _reference(home, "outlets")] == ["O1", "O2"]
    assert summary.quarantine_file is not None
    with Path(summary.quarantine_file).open(encoding="utf-8") as handle:
        problems = {(r["file"], r["row"], r["field"], r["code"]) for r in csv.DictReader(handle)}
    assert problems == {
        ("enterprises.csv", "3", "name", "missing_value"),
        ("enterprises.csv", "4", "host_network", "bad_value"),
        ("enterprises.csv", "5", "approved_on", "bad_value"),
        ("outlets.csv", "1", "outlet_code", "missing_value"),
        ("outlets.csv", "2", "enterprise_code", "unknown_enterprise"),
    }


def test_rows_of_an_enterprise_unknown_then_load_once_it_is_known(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    folder = tmp_path / "snap"
    rows = [_row("17090000001"), _row("17000000001", enterprise_code="E02", outlet_code="O2")]
    _snapshot_of_e01(folder, rows)
    enterprises = folder / "enterprises.csv"
    both = enterprises.read_text(encoding="utf-8")
    enterprises.write_text("\n".join(both.splitlines()[:2]) + "\n", encoding="utf-8")  # E01
    (folder / "number_blocks.csv").unlink()
    (folder / "outlets.csv").unlink()
    first = import_registry(folder, home=home, database=database, vault=vault)
    assert first.files_imported == ["subscribers.csv"]
    assert first.rows_quarantined == 1  # E02's row: no such enterprise yet
    e01 = RegistryStore(home).subscriber_files()[0]
    mtime = e01.stat().st_mtime_ns
    assert import_registry(folder, home=home, database=database, vault=vault).files_skipped
    enterprises.write_text(both, encoding="utf-8")
    again = import_registry(folder, home=home, database=database, vault=vault)
    assert again.files_imported == ["subscribers.csv"]
    assert again.rows_quarantined == 0
    files = RegistryStore(home).subscriber_files()
    assert [f.name for f in files] == ["E01.parquet", "E02.parquet"]
    assert e01.stat().st_mtime_ns == mtime  # E01's snapshot is not replaced by its part
    final = import_registry(folder, home=home, database=database, vault=vault)
    assert final.files_skipped == ["subscribers.csv"]


def test_numbers_in_any_common_spelling_load_as_everywhere_else(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    folder = tmp_path / "snap"
    spellings = ["+86 170 9000 0001", "170-9000-0002", "8617090000003", "１７０９００００００４"]
    _snapshot_of_e01(folder, [_row(n) for n in spellings])
    (folder / "number_blocks.csv").write_text(
        "enterprise_code,first_number,last_number\n"
        "E01,+86 170 9000 0000,+86 170 9000 9999\nE02,17000000000,17000009999\n",
        encoding="utf-8",
    )
    summary = import_registry(folder, home=home, database=database, vault=vault)
    assert summary.rows_loaded == 4
    assert summary.quarantine_file is not None  # write_snapshot's outlet O3 ("maybe")
    with Path(summary.quarantine_file).open(encoding="utf-8") as handle:
        assert [r["file"] for r in csv.DictReader(handle)] == ["outlets.csv"]
    stored = (
        duckdb.connect()
        .execute(
            "SELECT list(msisdn ORDER BY msisdn) FROM read_parquet($f)",
            {"f": str(RegistryStore(home).subscriber_files()[0])},
        )
        .fetchone()
    )
    assert stored == ([f"1709000000{i}" for i in range(1, 5)],)
    assert ("E01", "17090000000", "17090009999") in _reference(home, "number_blocks")


def test_an_import_that_seals_identities_is_audited_once(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    write_snapshot(tmp_path / "snap")
    import_registry(tmp_path / "snap", home=home, database=database, vault=vault)
    with database.transaction() as session:
        entries = session.scalar(select(func.count(AuditEntry.id)))
    import_registry(tmp_path / "snap", home=home, database=database, vault=vault)  # no-op
    with database.transaction() as session:
        details = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "registry.import")
        ).all()
        # Nor do its unchanged enterprises and outlets leave entries again.
        assert session.scalar(select(func.count(AuditEntry.id))) == entries
    assert details == ["13 subscriber rows sealed from subscribers.csv"]
