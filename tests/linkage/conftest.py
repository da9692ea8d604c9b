"""A small market for the linkage database: three enterprises, two holders, the principals."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from mvnoguard.domain.access import Principal, Role
from mvnoguard.domain.policy import Policy
from mvnoguard.domain.subscribers import HostNetwork, OutletKind
from mvnoguard.identity.vault import PiiVault
from mvnoguard.registry import catalog
from mvnoguard.registry.registration import RegistrationService
from mvnoguard.storage.database import Database
from tests.registry.builders import holder, sign_up

NOW = datetime(2016, 6, 1, 2, 0, tzinfo=UTC)
REGULATOR = Principal("reg", Role.REGULATOR)
INSPECTOR = Principal("insp", Role.INSPECTOR)
E01 = Principal("k1", Role.ENTERPRISE, "E01")
E02 = Principal("k2", Role.ENTERPRISE, "E02")
E03 = Principal("k3", Role.ENTERPRISE, "E03")

# Holder A has a number at each enterprise; holder B one at E01. Blocks without a live holder:
A_E01, A_E02, A_E03 = "17090000001", "17000000001", "16200000001"
B_E01 = "17090000002"
UNASSIGNED_E02 = "17000000099"
HOLDER_A = holder(sequence=123, name="王小明")
HOLDER_B = holder(sequence=456, name="李华")


def plus86(national: str) -> str:
    return f"+86{national}"


@pytest.fixture
def market(database: Database, vault: PiiVault, policy: Policy) -> Database:
    service = RegistrationService(vault, policy)
    with database.transaction() as session:
        for code, name, network, first, last in (
            ("E01", "远岸移动", HostNetwork.UNICOM, "17090000000", "17090009999"),
            ("E02", "青禾通信", HostNetwork.TELECOM, "17000000000", "17000009999"),
            ("E03", "北辰通信", HostNetwork.TELECOM, "16200000000", "16200009999"),
        ):
            catalog.upsert_enterprise(
                session, catalog.EnterpriseSpec(code, name, network), actor="test"
            )
            catalog.add_block(session, code, first, last, actor="test")
            catalog.upsert_outlet(
                session, catalog.OutletSpec(f"{code}-OWN", code, OutletKind.OWN), actor="test"
            )
        for number, code, who in (
            (A_E01, "E01", HOLDER_A),
            (A_E02, "E02", HOLDER_A),
            (A_E03, "E03", HOLDER_A),
            (B_E01, "E01", HOLDER_B),
        ):
            service.register(
                session,
                replace(
                    sign_up(number), enterprise_code=code, outlet_code=f"{code}-OWN", holder=who
                ),
                actor="test",
            )
    return database
