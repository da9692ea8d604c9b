"""Market statistics over an imported registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvnoguard.analytics.statistics import market_statistics
from mvnoguard.analytics.store import RegistryStore
from mvnoguard.errors import DataFileError
from mvnoguard.identity.vault import PiiVault
from mvnoguard.registry.bulk_import import import_registry
from mvnoguard.storage.database import Database
from tests.registry.test_bulk_import import write_snapshot


def test_statistics_count_users_not_cancelled_and_real_name_rate(
    tmp_path: Path, database: Database, vault: PiiVault
) -> None:
    write_snapshot(tmp_path / "snap")
    home = tmp_path / "home"
    import_registry(tmp_path / "snap", home=home, database=database, vault=vault)
    stats = market_statistics(RegistryStore(home))
    # 13 rows loaded: 12 live (10 valid documents, 1 invalid, 1 unregistered) + 1 cancelled.
    assert (stats.enterprises_approved, stats.enterprises_issuing, stats.users_total) == (2, 1, 12)
    assert stats.real_name_rate == pytest.approx(10 / 12, abs=1e-6)
    assert stats.users_by_host_network == {"telecom": 0, "unicom": 12}
    assert (stats.enterprises_over_1m, stats.enterprises_over_2m, stats.enterprises_over_4m) == (
        0,
        0,
        0,
    )
    assert [(e.enterprise_code, e.users) for e in stats.enterprises] == [("E01", 12), ("E02", 0)]


def test_statistics_without_an_import_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DataFileError) as caught:
        market_statistics(RegistryStore(tmp_path))
    assert caught.value.code == "no_registry"
