"""The seed's market table from the imported registry: enterprises, users, size classes.

``users`` are non-cancelled subscribers (the seed counts users, not numbers ever issued); an
enterprise is *issuing* when it has at least one. The real-name rate is the share of users
whose recorded document passes validation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

from mvnoguard.analytics.store import RegistryStore, reading_snapshots
from mvnoguard.errors import DataFileError

SIZE_CLASSES = (1_000_000, 2_000_000, 4_000_000)


@dataclass
class EnterpriseUsers:
    enterprise_code: str
    name: str
    host_network: str
    users: int
    real_name_rate: float | None


@dataclass
class MarketStatistics:
    enterprises_approved: int
    enterprises_issuing: int
    users_total: int
    enterprises_over_1m: int
    enterprises_over_2m: int
    enterprises_over_4m: int
    real_name_rate: float | None
    users_by_host_network: dict[str, int] = field(default_factory=dict)
    enterprises: list[EnterpriseUsers] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_PER_ENTERPRISE = """
SELECT e.enterprise_code, e.name, e.host_network,
       coalesce(s.users, 0) AS users, s.real_name AS real_name
FROM read_parquet($enterprises) e
LEFT JOIN (
  SELECT enterprise_code, count(*) AS users, sum((doc_check = 'ok')::BIGINT) AS real_name
  FROM read_parquet($subscribers)
  WHERE status <> 'cancelled'
  GROUP BY enterprise_code
) s USING (enterprise_code)
ORDER BY users DESC, e.enterprise_code
"""


def market_statistics(store: RegistryStore) -> MarketStatistics:
    enterprises_file = store.reference("enterprises")
    if not enterprises_file.exists():
        raise DataFileError(
            "no registry has been imported into this home: run `mvnoguard registry import DIR`",
            code="no_registry",
        )
    files = [str(p) for p in store.subscriber_files()]
    with reading_snapshots("stats"):
        con = duckdb.connect()
        try:
            if files:
                rows = con.execute(
                    _PER_ENTERPRISE, {"enterprises": str(enterprises_file), "subscribers": files}
                ).fetchall()
            else:
                rows = [
                    (code, name, network, 0, None)
                    for code, name, network in con.execute(
                        "SELECT enterprise_code, name, host_network FROM read_parquet($e)",
                        {"e": str(enterprises_file)},
                    ).fetchall()
                ]
        finally:
            con.close()
    per = [
        EnterpriseUsers(code, name, network, int(users), (real / users) if users else None)
        for code, name, network, users, real in rows
    ]
    total = sum(e.users for e in per)
    real_total = sum(e.users * (e.real_name_rate or 0.0) for e in per)
    by_network: dict[str, int] = {}
    for e in per:
        by_network[e.host_network] = by_network.get(e.host_network, 0) + e.users
    over = [sum(e.users > threshold for e in per) for threshold in SIZE_CLASSES]
    return MarketStatistics(
        enterprises_approved=len(per),
        enterprises_issuing=sum(e.users > 0 for e in per),
        users_total=total,
        enterprises_over_1m=over[0],
        enterprises_over_2m=over[1],
        enterprises_over_4m=over[2],
        real_name_rate=round(real_total / total, 6) if total else None,
        users_by_host_network=dict(sorted(by_network.items())),
        enterprises=per,
    )
