"""The whole chain on synthetic markets: synth, import, audit: it finds the planted truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mvnoguard.analytics.audit import run_audit
from mvnoguard.analytics.statistics import market_statistics
from mvnoguard.analytics.store import RegistryStore
from mvnoguard.domain.policy import Policy
from mvnoguard.identity.vault import KeyRing, PiiVault
from mvnoguard.registry.bulk_import import import_registry
from mvnoguard.storage.database import open_database
from mvnoguard.synth import generate_market


@pytest.mark.parametrize(("scale", "seed", "workers"), [(0.001, 3, 1), (0.003, 11, 2)])
def test_audit_finds_exactly_the_planted_defects(
    tmp_path: Path, policy: Policy, scale: float, seed: int, workers: int
) -> None:
    market = tmp_path / "market"
    generate_market(market, scale=scale, seed=seed)
    truth = json.loads((market / "truth.json").read_text(encoding="utf-8"))
    home = tmp_path / "home"
    database = open_database(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        summary = import_registry(
            market,
            home=home,
            database=database,
            vault=PiiVault(KeyRing.generate()),
            workers=workers,
        )
    finally:
        database.dispose()
    assert summary.rows_quarantined == 0
    report = run_audit(RegistryStore(home), policy).to_json()
    found = {e["enterprise_code"]: e for e in report["enterprises"]}
    assert len(found) == 42
    for expected in truth["enterprises"]:
        got = found[expected["enterprise_code"]]
        for key in ("audited", "violating", "violations"):
            assert got[key] == expected[key], (expected["enterprise_code"], key)
    stats = market_statistics(RegistryStore(home))
    assert stats.users_total == round(20_590_000 * scale)
    assert (stats.enterprises_approved, stats.enterprises_issuing) == (42, 39)
