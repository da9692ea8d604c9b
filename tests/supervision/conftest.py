"""Enterprises and outlets to inspect, and inspection files in the contract's shape."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from mvnoguard.domain.subscribers import HostNetwork, OutletKind
from mvnoguard.registry import catalog
from mvnoguard.storage.database import Database

ENTERPRISES = (("E01", "远岸移动"), ("E02", "青禾通信"), ("E03", "蓝鲸移动"))
KINDS = "no_id_check;pre_activated_card"
HEADER = "inspection_id,enterprise_code,outlet_code,inspected_on,outcome,violations"


@pytest.fixture
def regulated(database: Database) -> Database:
    with database.transaction() as session:
        for code, name in ENTERPRISES:
            catalog.upsert_enterprise(
                session, catalog.EnterpriseSpec(code, name, HostNetwork.UNICOM), actor="test"
            )
            for i in range(1, 6):
                catalog.upsert_outlet(
                    session,
                    catalog.OutletSpec(f"{code}-O{i}", code, OutletKind.AGENT, "110101"),
                    actor="test",
                )
    return database


def round_rows(prefix: str, day: str, per_enterprise: Sequence[tuple[str, int, int]]) -> list[str]:
    """Rows for one inspection round: (enterprise, inspected, violating) per enterprise.

    Outlet codes beyond the five known outlets are outlets the registry does not know (a
    regulator inspects shops the enterprise never declared too)."""
    rows = []
    for code, inspected, violating in per_enterprise:
        for i in range(inspected):
            outcome, kinds = ("violation", KINDS) if i < violating else ("pass", "")
            rows.append(f"{prefix}-{code}-{i:03d},{code},{code}-X{i:03d},{day},{outcome},{kinds}")
    return rows


def write_rows(path: Path, rows: Sequence[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path
