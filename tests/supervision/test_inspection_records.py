"""Inspection results: import, idempotence, quarantine, blacklist, evidence."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mvnoguard.errors import RegistrationRefused
from mvnoguard.registry import catalog
from mvnoguard.registry.rules import check_outlet
from mvnoguard.storage.audit_log import verify_chain
from mvnoguard.storage.database import Database
from mvnoguard.supervision.inspection_records import attach_evidence, import_inspections
from tests.registry.builders import row_counts
from tests.supervision.conftest import write_rows

AT = datetime(2016, 8, 1, 2, 0, tzinfo=UTC)


def test_import_is_idempotent_and_quarantines_bad_rows(regulated: Database, tmp_path: Path) -> None:
    rows = [
        "I1,E01,E01-O1,2016-07-05,pass,",
        "I2,E01,E01-O2,2016-07-05,violation,no_id_check;manual_entry",
        "I3,E02,E02-O1,2016-07-06,violation,",  # violation without a kind
        "I4,E02,E02-O2,2016-02-30,pass,",  # impossible date
        "I5,E09,E09-O1,2016-07-06,pass,",  # unknown enterprise
        "I6,E02,E02-O3,2016-07-06,maybe,",  # bad outcome
        "I7,E02,E02-O4,2016-07-06,violation,napping",  # unknown kind
        "I8,E03,E03-O1,2016-07-07,pass,no_id_check",  # a pass listing violations
        "I9,E03,E03-O1,2099-01-01,pass,",  # future
    ]
    path = write_rows(tmp_path / "round.csv", rows)
    with regulated.transaction() as session:
        first = import_inspections(session, path, quarantine_dir=tmp_path / "q", actor="t", at=AT)
    assert (first.loaded, first.unchanged, first.quarantined) == (2, 0, 7)
    assert first.quarantine_file is not None
    with Path(first.quarantine_file).open(encoding="utf-8") as handle:
        codes = {int(r["row"]): r["code"] for r in csv.DictReader(handle)}
    assert codes == {
        3: "violation_without_kind",
        4: "bad_date",
        5: "unknown_enterprise",
        6: "bad_outcome",
        7: "bad_violation",
        8: "pass_with_violations",
        9: "future_date",
    }
    with regulated.transaction() as session:
        again = import_inspections(session, path, quarantine_dir=tmp_path / "q", actor="t", at=AT)
    assert (again.loaded, again.unchanged) == (0, 2)
    changed = write_rows(tmp_path / "changed.csv", ["I1,E01,E01-O1,2016-07-05,violation,other"])
    with regulated.transaction() as session:
        conflict = import_inspections(
            session, changed, quarantine_dir=tmp_path / "q", actor="t", at=AT
        )
    assert (conflict.loaded, conflict.quarantined) == (0, 1)


def test_an_outlet_found_in_violation_can_register_no_one(
    regulated: Database, tmp_path: Path
) -> None:
    path = write_rows(tmp_path / "r.csv", ["I1,E01,E01-O2,2016-07-05,violation,pre_activated_card"])
    with regulated.transaction() as session:
        summary = import_inspections(session, path, quarantine_dir=tmp_path / "q", actor="t", at=AT)
    assert summary.outlets_blacklisted == ["E01-O2"]
    with regulated.transaction() as session:
        enterprise = catalog.get_enterprise(session, "E01")
        with pytest.raises(RegistrationRefused) as caught:
            check_outlet(session, enterprise, "E01-O2")
        assert caught.value.code == "outlet_blacklisted"
        assert check_outlet(session, enterprise, "E01-O1").code == "E01-O1"


def test_the_summary_lists_only_outlets_really_blacklisted_and_warns_of_strangers(
    regulated: Database, tmp_path: Path
) -> None:
    rows = [
        "I1,E01,E02-O1,2016-07-05,violation,other",  # another enterprise's outlet
        "I2,E01,NOPE,2016-07-05,violation,other",  # an outlet the catalog does not know
        "I3,E01,E01-O2,2016-07-05,violation,manual_entry",
        "I4,E01,E01-O2,2016-07-06,violation,other",  # the same outlet again
    ]
    path = write_rows(tmp_path / "r.csv", rows)
    text = path.read_text(encoding="utf-8").splitlines()
    path.write_text(
        "\n".join([text[0] + ",note", *(line + ",x" for line in text[1:])]) + "\n",
        encoding="utf-8",
    )
    with regulated.transaction() as session:
        summary = import_inspections(session, path, quarantine_dir=tmp_path / "q", actor="t", at=AT)
        e02_outlet = catalog.get_outlet(session, "E02-O1")
        assert e02_outlet is not None and e02_outlet.blacklisted_at is None
    assert summary.loaded == 4  # all count towards E01's rate
    assert summary.outlets_blacklisted == ["E01-O2"]
    assert summary.warnings == [
        "r.csv: ignored unknown column(s) note",
        "r.csv row 1: outlet E02-O1 is not E01's",
        "r.csv row 2: outlet NOPE is not in the catalog",
    ]


def test_evidence_is_stored_once_by_content_hash(regulated: Database, tmp_path: Path) -> None:
    path = write_rows(tmp_path / "r.csv", ["I1,E01,E01-O1,2016-07-05,pass,"])
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 a photo of the counter")
    store = tmp_path / "evidence"
    with regulated.transaction() as session:
        import_inspections(session, path, quarantine_dir=tmp_path / "q", actor="t", at=AT)
        first = attach_evidence(session, "I1", photo, evidence_dir=store, actor="t")
        second = attach_evidence(session, "I1", photo, evidence_dir=store, actor="t")
    assert first.sha256 == second.sha256
    stored = list(store.rglob("*"))
    assert [p.name for p in stored if p.is_file()] == [first.sha256]


class _Refused(Exception):
    pass


def test_an_import_goes_back_with_the_callers_transaction(
    regulated: Database, tmp_path: Path
) -> None:
    """The savepoint around each row never commits it early (on SQLite a savepoint opening the
    transaction would): a caller's rollback takes every row, blacklisting and audit entry back."""
    path = write_rows(
        tmp_path / "r.csv",
        ["I1,E01,E01-O1,2016-07-05,pass,", "I2,E01,E01-O2,2016-07-05,violation,no_id_check"],
    )
    before = row_counts(regulated)
    with pytest.raises(_Refused), regulated.transaction() as session:
        summary = import_inspections(session, path, quarantine_dir=tmp_path / "q", actor="t", at=AT)
        assert summary.loaded == 2
        raise _Refused
    assert row_counts(regulated) == before
    with regulated.transaction() as session:
        enterprise = catalog.get_enterprise(session, "E01")
        assert check_outlet(session, enterprise, "E01-O2").code == "E01-O2"
        assert verify_chain(session).ok
