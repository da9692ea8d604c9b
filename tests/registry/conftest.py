"""A small market to sign subscribers up in: two enterprises, their blocks and outlets."""

from __future__ import annotations

import pytest

from mvnoguard.domain.policy import Policy
from mvnoguard.domain.subscribers import HostNetwork, OutletKind
from mvnoguard.identity.vault import PiiVault
from mvnoguard.registry import catalog
from mvnoguard.registry.lifecycle import Lifecycle
from mvnoguard.registry.registration import RegistrationService
from mvnoguard.storage.database import Database
from tests.registry.builders import AT


@pytest.fixture
def market(database: Database) -> Database:
    with database.transaction() as session:
        catalog.upsert_enterprise(
            session, catalog.EnterpriseSpec("E01", "远岸移动", HostNetwork.UNICOM), actor="test"
        )
        catalog.upsert_enterprise(
            session, catalog.EnterpriseSpec("E02", "青禾通信", HostNetwork.TELECOM), actor="test"
        )
        catalog.add_block(session, "E01", "17090000000", "17090009999", actor="test")
        catalog.add_block(session, "E02", "17000000000", "17000009999", actor="test")
        for spec in (
            catalog.OutletSpec("E01-OWN", "E01", OutletKind.OWN, "110101"),
            catalog.OutletSpec("E01-WEB", "E01", OutletKind.ONLINE),
            catalog.OutletSpec("E01-AGT", "E01", OutletKind.AGENT, "310104"),
            catalog.OutletSpec("E01-BAD", "E01", OutletKind.AGENT, "310104"),
            catalog.OutletSpec("E01-NOAUTH", "E01", OutletKind.AGENT, authorized=False),
            catalog.OutletSpec("E01-SUB", "E01", OutletKind.AGENT, delegated_by="E01-AGT"),
            catalog.OutletSpec("E02-OWN", "E02", OutletKind.OWN, "440106"),
        ):
            catalog.upsert_outlet(session, spec, actor="test")
        catalog.blacklist_outlet(session, "E01-BAD", reason="inspection", at=AT, actor="test")
    return database


@pytest.fixture
def service(vault: PiiVault, policy: Policy) -> RegistrationService:
    return RegistrationService(vault, policy)


@pytest.fixture
def lifecycle(policy: Policy) -> Lifecycle:
    return Lifecycle(policy)
