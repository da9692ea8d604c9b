"""A hand-made imported registry: every audit kind, next to clean rows that look like them.

Three enterprises: E01 holds almost every case, E02 a few rows (one identity shared with E01),
E03 is approved but has no subscriber at all. Tokens and ciphertexts are placeholders: the
audit only compares them. ``activated_on`` is the Beijing date of ``activated_at``, as the
import computes it. The expected report for each policy lives in the tests, row by row.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from mvnoguard.analytics.store import (
    ENTERPRISES,
    NUMBER_BLOCKS,
    OUTLETS,
    SUBSCRIBERS,
    RegistryStore,
)
from mvnoguard.domain.calendar import local_date

# 2016-03-01 10:00 Beijing time
BASE_AT = datetime(2016, 3, 1, 2, 0, tzinfo=UTC)


def subscriber(msisdn: str, **changes: Any) -> dict[str, Any]:
    """A clean row of E01 unless ``changes`` say otherwise."""
    row: dict[str, Any] = {
        "msisdn": msisdn,
        "enterprise_code": "E01",
        "status": "active",
        "activated_at": BASE_AT,
        "cancelled_at": None,
        "doc_type": "RIC",
        "doc_check": "ok",
        "doc_token": f"tok-{msisdn}",
        "doc_number_ct": b"\x00ct",
        "doc_masked": "1101**********123X",
        "name_ct": b"\x00ct",
        "name_masked": "王*",
        "nationality": "CHN",
        "holder_age": 30,
        "verification_method": "reader",
        "face_score": 0.91,
        "outlet_code": "E01-OWN",
        "guardian_doc_type": None,
        "guardian_token": None,
        "guardian_number_ct": None,
        "agent_doc_type": None,
        "agent_token": None,
        "agent_number_ct": None,
        "source_file": "fixture.csv",
        "source_row": int(msisdn[-6:]),
    }
    row.update(changes)
    if row["doc_type"] is None:
        row.update(doc_check=None, doc_token=None, doc_number_ct=None, doc_masked=None)
    row["activated_on"] = local_date(row["activated_at"])
    return row


def _cards(token: str, msisdns: list[str], *, minutes: list[int], **changes: Any) -> list[dict]:
    return [
        subscriber(m, doc_token=token, activated_at=BASE_AT + timedelta(minutes=k), **changes)
        for m, k in zip(msisdns, minutes, strict=True)
    ]


def _e01_rows() -> list[dict[str, Any]]:
    rows = [subscriber("17090000001")]
    # T5: five live cards and two cancelled ones (the cancelled, activated first, don't count)
    rows += _cards("T5", [f"170900000{i}" for i in (11, 12, 13, 14, 15)], minutes=[5, 6, 7, 8, 9])
    rows += _cards("T5", ["17090000016", "17090000017"], minutes=[1, 2], status="cancelled")
    # T6: six live cards; by activated_at then msisdn the order is 22 23 24 25 21 26
    rows += _cards(
        "T6",
        [f"170900000{i}" for i in (22, 23, 24, 25, 21, 26)],
        minutes=[1, 2, 3, 4, 5, 5],
    )
    rows += [
        subscriber("17090000031", holder_age=15, guardian_doc_type="RIC", guardian_token="G1"),
        subscriber("17090000032", holder_age=15),
        subscriber("17090000033", holder_age=16),
        subscriber("17090000034", holder_age=None),
        subscriber(
            "17090000041", outlet_code="E01-WEB", verification_method="online", face_score=None
        ),
        subscriber("17090000042", face_score=0.80),
        subscriber("17090000043", outlet_code="E01-AGT", face_score=0.79),
        subscriber("17090000044", face_score=None),
        # 2016-06-01 00:30 and 2016-05-31 23:30 in Beijing: both sides of a later rule's `since`
        subscriber(
            "17090000045", face_score=0.5, activated_at=datetime(2016, 5, 31, 16, 30, tzinfo=UTC)
        ),
        subscriber(
            "17090000046", face_score=0.5, activated_at=datetime(2016, 5, 31, 15, 30, tzinfo=UTC)
        ),
        subscriber(
            "17090000051",
            status="cancelled",
            doc_type=None,
            verification_method="manual",
            outlet_code="GHOST",
            holder_age=12,
        ),
        subscriber("17000000061"),
        subscriber("17090015000"),
        subscriber("17090007000"),
        subscriber("17090000071", outlet_code="E02-OWN"),
        subscriber("17090000072", outlet_code="E01-NOAUTH"),
        subscriber("17090000073", outlet_code="GHOST", face_score=None),
        subscriber("17090000081", verification_method="manual"),
        subscriber("17090000082", doc_check="bad_check_character"),
        subscriber("17090000083", doc_type="LIBRARY_CARD"),
        subscriber("17090000084", doc_type=None, holder_age=None),
        subscriber("17090000091", verification_method="manual", holder_age=14),
        subscriber("17090000092", status="suspended_out"),
    ]
    return rows


def _e02_rows() -> list[dict[str, Any]]:
    return [
        subscriber("17000000001", enterprise_code="E02", outlet_code="E02-OWN"),
        subscriber("17000000002", enterprise_code="E02", outlet_code="E02-OWN", doc_token="T6"),
        subscriber("17000000003", enterprise_code="E02", outlet_code="E02-OWN", doc_type=None),
    ]


def write_store(home: Path) -> RegistryStore:
    """Write the fixture registry under ``home`` (two subscriber files, read with a glob)."""
    store = RegistryStore(home)
    store.subscribers_dir.mkdir(parents=True)
    enterprises = [
        {
            "enterprise_code": code,
            "name": name,
            "host_network": "unicom",
            "approved_on": date(2013, 12, 26),
            "license_no": f"L-{code}",
        }
        for code, name in (("E01", "远岸移动"), ("E02", "青禾通信"), ("E03", "空山通信"))
    ]
    blocks = [
        {"enterprise_code": "E01", "first_number": "17090000000", "last_number": "17090009999"},
        # overlaps the first and spans two 7-digit prefixes: merged, never double-counted
        {"enterprise_code": "E01", "first_number": "17090005000", "last_number": "17090019999"},
        {"enterprise_code": "E02", "first_number": "17000000000", "last_number": "17000009999"},
    ]
    outlets = [
        {
            "outlet_code": code,
            "enterprise_code": ent,
            "kind": kind,
            "region_code": "110101",
            "authorized": authorized,
        }
        for code, ent, kind, authorized in (
            ("E01-OWN", "E01", "own", True),
            ("E01-AGT", "E01", "agent", True),
            ("E01-WEB", "E01", "online", True),
            ("E01-NOAUTH", "E01", "agent", False),
            ("E02-OWN", "E02", "own", True),
        )
    ]
    pq.write_table(
        pa.Table.from_pylist(enterprises, schema=ENTERPRISES), store.reference("enterprises")
    )
    pq.write_table(
        pa.Table.from_pylist(blocks, schema=NUMBER_BLOCKS), store.reference("number_blocks")
    )
    pq.write_table(pa.Table.from_pylist(outlets, schema=OUTLETS), store.reference("outlets"))
    for code, rows in (("E01", _e01_rows()), ("E02", _e02_rows())):
        table = pa.Table.from_pylist(rows, schema=SUBSCRIBERS)
        pq.write_table(table, store.subscribers_dir / f"{code}.parquet")
    return store
