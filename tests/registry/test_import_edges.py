"""``registry import`` on the inputs a review found it mishandled: each row is loaded or
quarantined with its reason, never lost, and one bad file sinks nothing else."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mvnoguard.analytics.store import RegistryStore
from mvnoguard.errors import ConfigurationError
from mvnoguard.identity.vault import PiiVault
from mvnoguard.registry.bulk_import import ImportSummary, import_registry
from mvnoguard.registry.snapshot_keys import rotate_snapshots
from mvnoguard.registry.snapshot_retention import purge_snapshots
from mvnoguard.storage.database import Database
from tests.registry.builders import ric
from tests.registry.test_bulk_import import HEADER, _row, _snapshot_of_e01, write_snapshot


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def problems(summary: ImportSummary) -> list[tuple[str, str, str, str]]:
    """(file, row, field, code) of every quarantined subscriber row (the reference tables of
    ``write_snapshot`` hold a bad outlet on purpose)."""
    if summary.quarantine_file is None:
        return []
    with Path(summary.quarantine_file).open(encoding="utf-8") as handle:
        return [
            (r["file"], r["row"], r["field"], r["code"])
            for r in csv.DictReader(handle)
            if r["file"].startswith("subscribers")
        ]


def files_folder(tmp_path: Path) -> Path:
    """A snapshot folder whose subscribers are to go in its ``subscribers/`` folder."""
    folder = tmp_path / "snap"
    write_snapshot(folder)
    (folder / "subscribers.csv").unlink()
    (folder / "subscribers").mkdir()
    return folder


def as_record(line: str) -> dict[str, str]:
    return dict(zip(HEADER.split(","), line.split(","), strict=True))


def stored(home: Path, column: str = "msisdn") -> list[object]:
    return [
        value
        for path in RegistryStore(home).subscriber_files()
        for value in pq.read_table(path, columns=[column]).column(0).to_pylist()
    ]


def test_impossible_times_are_quarantined_and_never_date_the_snapshot(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    rows = [
        _row("17090000001"),
        _row(
            "17090000002",
            status="cancelled",
            activated_at="2015-02-01T10:00:00",
            cancelled_at="2105-02-01T10:00:00",  # a typo for 2015
        ),
        _row("17090000003", cancelled_at="2015-06-02T10:00:00"),  # active, yet cancelled
        _row("17090000004", activated_at="1800-01-01T00:00:00"),  # a placeholder
    ]
    _snapshot_of_e01(tmp_path / "a", rows)
    first = import_registry(tmp_path / "a", home=home, database=database, vault=vault)
    assert first.rows_loaded == 1
    assert problems(first) == [
        ("subscribers.csv", "2", "cancelled_at", "future_timestamp"),
        ("subscribers.csv", "3", "cancelled_at", "unexpected_cancelled_at"),
        ("subscribers.csv", "4", "activated_at", "implausible_timestamp"),
    ]
    # The corrected, newer snapshot replaces it (the far-future date used to block it).
    _snapshot_of_e01(tmp_path / "b", [_row(f"1709000000{i}") for i in range(1, 4)])
    second = import_registry(tmp_path / "b", home=home, database=database, vault=vault)
    assert second.enterprises_replaced == ["E01"]
    assert sorted(map(str, stored(home))) == ["17090000001", "17090000002", "17090000003"]


def test_a_snapshot_is_dated_by_its_instant_whatever_zone_wrote_the_manifest(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    _snapshot_of_e01(tmp_path / "a", [_row("17090000001", activated_at="2015-02-03T02:30:00Z")])
    import_registry(tmp_path / "a", home=home, database=database, vault=vault)
    manifest_path = RegistryStore(home).root / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    # As an earlier version wrote it on a machine in Beijing time: 02:30 UTC is 10:30 there.
    manifest["enterprises"]["E01"]["as_of"] = "2015-02-03 10:30:00+08"
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    older = [_row("17090000001", activated_at="2015-02-03T01:00:00Z")]
    _snapshot_of_e01(tmp_path / "b", older)
    kept = import_registry(tmp_path / "b", home=home, database=database, vault=vault)
    assert kept.enterprises_kept_newer == ["E01"]  # as text, "2015-02-03T01" sorts after
    newer = [_row("17090000001"), _row("17090000002", activated_at="2015-02-03T03:00:00Z")]
    _snapshot_of_e01(tmp_path / "c", newer)
    replaced = import_registry(tmp_path / "c", home=home, database=database, vault=vault)
    assert replaced.enterprises_replaced == ["E01"]
    saved = json.loads(manifest_path.read_text(encoding="utf-8"))["enterprises"]["E01"]["as_of"]
    assert datetime.fromisoformat(saved).utcoffset() is not None


def test_dictionary_encoded_parquet_columns_read_as_their_values(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    folder = files_folder(tmp_path)
    rows = [
        as_record(line)
        for line in (
            _row("17090000001", face_score=" 0.9 ", enterprise_code="E01 "),
            _row("17090000002", doc_type="", doc_number="", name=""),
        )
    ]
    table = pa.Table.from_pylist(rows)
    encoded = pa.table(
        {name: table.column(name).dictionary_encode() for name in table.schema.names}
    )
    pq.write_table(encoded, folder / "subscribers" / "E01.parquet")
    summary = import_registry(folder, home=home, database=database, vault=vault)
    assert (summary.rows_loaded, problems(summary)) == (2, [])
    assert stored(home, "doc_type") == ["RIC", None]  # blank is no document: unregistered


def test_an_approval_date_written_as_a_timestamp_is_a_date(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    folder = tmp_path / "snap"
    write_snapshot(folder)
    (folder / "enterprises.csv").unlink()
    enterprises = pa.table(
        {
            "enterprise_code": ["E01", "E02"],
            "name": ["远岸移动", "青禾通信"],
            "host_network": ["unicom", "telecom"],
            "approved_on": pa.array(
                [datetime(2013, 12, 26), datetime(2014, 1, 1)], pa.timestamp("us")
            ),
            "license_no": ["L1", "L2"],
        }
    )
    pq.write_table(enterprises, folder / "enterprises.parquet")
    summary = import_registry(folder, home=home, database=database, vault=vault)
    assert summary.rows_loaded == 13
    assert not [p for p in problems(summary) if p[0] == "enterprises.parquet"]


def test_a_file_without_its_header_row_never_echoes_a_value(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    folder = tmp_path / "snap"
    write_snapshot(folder)
    parent = ric(sequence=77)
    line = _row(
        "17090000001",
        guardian_doc_type="RIC",
        guardian_doc_number=parent,
        agent_doc_type="RIC",
        agent_doc_number=parent,
    )
    (folder / "subscribers.csv").write_text(line + "\n" + _row("17090000002") + "\n")
    summary = import_registry(folder, home=home, database=database, vault=vault)
    assert summary.rows_loaded == 0
    said = json.dumps(summary.__dict__, ensure_ascii=False)
    assert "header row" in said
    assert parent not in said
    assert summary.quarantine_file is not None
    assert parent not in Path(summary.quarantine_file).read_text(encoding="utf-8")


def test_suffixes_in_any_case_are_read_and_other_files_named(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    folder = files_folder(tmp_path)
    (folder / "subscribers" / "E01.CSV").write_text(HEADER + "\n" + _row("17090000001") + "\n")
    (folder / "subscribers" / "notes.txt").write_text("sent by the operator\n")
    summary = import_registry(folder, home=home, database=database, vault=vault)
    assert (summary.files_imported, summary.rows_loaded) == (["subscribers/E01.CSV"], 1)
    assert summary.warnings == ["subscribers/notes.txt: not a .csv or .parquet file; not read"]


def test_a_corrupt_file_is_skipped_and_sinks_nothing_else(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    folder = files_folder(tmp_path)
    lines = [_row(f"170900{i:05d}") for i in range(1, 2001)]
    rows = [as_record(line) for line in lines]
    broken = folder / "subscribers" / "a.parquet"
    pq.write_table(pa.Table.from_pylist(rows), broken, row_group_size=1000)
    chunk = pq.ParquetFile(broken).metadata.row_group(1).column(0)
    data = bytearray(broken.read_bytes())
    start = chunk.data_page_offset
    data[start : start + 64] = b"\xff" * 64
    broken.write_bytes(bytes(data))
    (folder / "subscribers" / "b.csv").write_text(HEADER + "\n" + _row("17090009999") + "\n")
    summary = import_registry(folder, home=home, database=database, vault=vault)
    assert summary.files_imported == ["subscribers/b.csv"]
    assert stored(home) == ["17090009999"]  # none of a.parquet's rows: a part is no snapshot
    assert [p[3] for p in problems(summary) if p[0] == "subscribers/a.parquet"] == [
        "unreadable_file"
    ]
    assert any(w.startswith("subscribers/a.parquet") for w in summary.warnings)


def test_a_file_read_again_never_replaces_a_snapshot_loaded_since(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    mixed = tmp_path / "mixed"
    _snapshot_of_e01(mixed, [_row("17090000001"), _row("17000000001", enterprise_code="E02")])
    enterprises = mixed / "enterprises.csv"
    both = enterprises.read_text(encoding="utf-8")
    enterprises.write_text("\n".join(both.splitlines()[:2]) + "\n", encoding="utf-8")  # E01
    import_registry(mixed, home=home, database=database, vault=vault)
    # E02 becomes known with a whole snapshot of its own, dated before the mixed file's row.
    own = tmp_path / "own"
    e02 = [
        _row(f"1700000000{i}", enterprise_code="E02", activated_at="2015-01-01T10:00:00")
        for i in range(2, 5)
    ]
    _snapshot_of_e01(own, e02)
    import_registry(own, home=home, database=database, vault=vault)
    assert sum(1 for m in stored(home) if str(m).startswith("170000")) == 3
    enterprises.write_text(both, encoding="utf-8")  # the mixed folder, run again
    again = import_registry(mixed, home=home, database=database, vault=vault)
    assert sum(1 for m in stored(home) if str(m).startswith("170000")) == 3
    assert problems(again) == [("subscribers.csv", "2", "enterprise_code", "superseded_snapshot")]


def test_files_of_one_name_in_two_places_are_told_apart(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    folder = tmp_path / "snap"
    write_snapshot(folder)
    (folder / "subscribers").mkdir()
    for path, number in (
        (folder / "subscribers.csv", "17090000001"),
        (folder / "subscribers" / "subscribers.csv", "17090000002"),
    ):
        path.write_text("\n".join([HEADER, _row("17090000300", status="x"), _row(number)]) + "\n")
    summary = import_registry(folder, home=home, database=database, vault=vault)
    assert summary.rows_loaded == 2
    assert sorted(p[0] for p in problems(summary)) == [
        "subscribers.csv",
        "subscribers/subscribers.csv",
    ]


def test_only_a_valid_guardian_document_counts_as_a_guardian(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    child = ric(birth="20100307", sequence=5)
    rows = [
        _row(
            f"1709000000{i}",
            doc_number=child,
            guardian_doc_type="RIC",
            guardian_doc_number=guardian,
        )
        for i, guardian in enumerate(
            [
                "N/A",
                ric(sequence=6),
                child,  # the child's own document
                ric(birth="20060101", sequence=7),  # a child of ten on the day
            ],
            start=1,
        )
    ]
    _snapshot_of_e01(tmp_path / "snap", rows)
    import_registry(tmp_path / "snap", home=home, database=database, vault=vault)
    tokens = dict(zip(stored(home), stored(home, "guardian_token"), strict=True))
    assert tokens["17090000001"] is None  # "N/A" is no guardian: the audit counts a minor alone
    assert tokens["17090000002"] is not None
    assert tokens["17090000003"] is None  # a guardian is another person, as at sign-up
    assert tokens["17090000004"] is None  # and an adult on the activation day


def test_an_organisation_has_no_age_whatever_date_the_file_gives(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    company = _row(
        "17090000001", doc_type="USCC", doc_number="91350100M000100Y43", birth_date="2010-01-01"
    )
    _snapshot_of_e01(tmp_path / "snap", [company])
    import_registry(tmp_path / "snap", home=home, database=database, vault=vault)
    assert stored(home, "holder_age") == [None]  # a founding date is no birthday


def test_a_rotation_moves_tokens_and_never_gives_or_takes_one(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    """``vault rotate`` re-keys the snapshots' tokens: an invalid guardian document still has
    none after it (the audit still counts that minor alone), and a purged row keeps its token
    though its number is gone (the period's counts stay)."""
    child = ric(birth="20100307", sequence=5)
    rows = [
        _row("17090000001", doc_number=child, guardian_doc_type="RIC", guardian_doc_number="N/A"),
        _row("17090000002", doc_number=child, guardian_doc_type="RIC", guardian_doc_number=ric()),
        _row("17090000003", status="cancelled", cancelled_at="2015-07-01T10:00:00"),
    ]
    _snapshot_of_e01(tmp_path / "snap", rows)
    import_registry(tmp_path / "snap", home=home, database=database, vault=vault)
    purge_snapshots(RegistryStore(home), cutoff=datetime.fromisoformat("2016-01-01T00:00+08:00"))
    before = dict(zip(stored(home), stored(home, "doc_token"), strict=True))
    rotate_snapshots(RegistryStore(home), PiiVault(vault.ring.rotate()))
    guardians = dict(zip(stored(home), stored(home, "guardian_token"), strict=True))
    holders = dict(zip(stored(home), stored(home, "doc_token"), strict=True))
    assert guardians["17090000001"] is None
    assert str(guardians["17090000002"]).startswith("v2:")
    assert holders["17090000003"] == before["17090000003"]  # purged: nothing to recompute from
    assert str(holders["17090000001"]).startswith("v2:")


def test_a_damaged_manifest_is_a_clear_error(
    tmp_path: Path, home: Path, database: Database, vault: PiiVault
) -> None:
    write_snapshot(tmp_path / "snap")
    import_registry(tmp_path / "snap", home=home, database=database, vault=vault)
    manifest = RegistryStore(home).root / "manifest.json"
    manifest.write_text('{"files": {', encoding="utf-8")
    with pytest.raises(ConfigurationError) as refused:
        import_registry(tmp_path / "snap", home=home, database=database, vault=vault)
    assert refused.value.code == "damaged_state"
    assert "manifest.json" in refused.value.message
