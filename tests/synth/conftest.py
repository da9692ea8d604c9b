"""Fixtures of the synthetic market tests: small generated markets and the audit oracle.

The oracle is an independent, hand-written DuckDB query over the written files implementing
the audit rules of DESIGN.md (audit contract, default policy). It shares no code with the
generator: it reads the files, not the generator's flags. It is a test oracle only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pycountry
import pytest
from stdnum import numdb

from mvnoguard.synth import MarketTruth, generate_market

KINDS = (
    "unregistered",
    "invalid_document",
    "manual_entry",
    "face_check_missing",
    "over_card_limit",
    "number_outside_blocks",
    "unauthorized_outlet",
    "minor_without_guardian",
)
SUBSCRIBER_TYPES = {
    "msisdn": "VARCHAR",
    "enterprise_code": "VARCHAR",
    "status": "VARCHAR",
    "activated_at": "TIMESTAMP",
    "cancelled_at": "TIMESTAMP",
    "doc_type": "VARCHAR",
    "doc_number": "VARCHAR",
    "name": "VARCHAR",
    "birth_date": "DATE",
    "nationality": "VARCHAR",
    "verification_method": "VARCHAR",
    "face_score": "DOUBLE",
    "outlet_code": "VARCHAR",
    "guardian_doc_type": "VARCHAR",
    "guardian_doc_number": "VARCHAR",
    "agent_doc_type": "VARCHAR",
    "agent_doc_number": "VARCHAR",
}
BLOCK_TYPES = {"enterprise_code": "VARCHAR", "first_number": "VARCHAR", "last_number": "VARCHAR"}
OUTLET_TYPES = {
    "outlet_code": "VARCHAR",
    "enterprise_code": "VARCHAR",
    "kind": "VARCHAR",
    "region_code": "VARCHAR",
    "authorized": "BOOLEAN",
}
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class Market:
    path: Path
    fmt: str
    truth: MarketTruth


def _region_codes() -> list[str]:
    """Every code of the GB/T 2260 table in python-stdnum, at any level."""
    out = []
    for _len, province, _hi, props, children in numdb.get("cn/loc").prefixes:
        if props:
            out.append(province + "0000")
        out.extend(province + county for _l, county, _h, _p, _c in children)
    return out


def connect(market: Market) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the market's files as tables sub, blocks, outlets."""
    con = duckdb.connect()
    p = market.path
    if market.fmt == "parquet":
        con.execute(f"CREATE VIEW sub AS SELECT * FROM read_parquet('{p}/subscribers/*.parquet')")
        con.execute(
            f"CREATE VIEW blocks AS SELECT * FROM read_parquet('{p}/number_blocks.parquet')"
        )
        con.execute(f"CREATE VIEW outlets AS SELECT * FROM read_parquet('{p}/outlets.parquet')")
    else:
        for table, columns, name in (
            ("sub", SUBSCRIBER_TYPES, "subscribers/*.csv"),
            ("blocks", BLOCK_TYPES, "number_blocks.csv"),
            ("outlets", OUTLET_TYPES, "outlets.csv"),
        ):
            spec = ", ".join(f"'{k}': '{v}'" for k, v in columns.items())
            con.execute(
                f"CREATE TABLE {table} AS SELECT * FROM read_csv('{p}/{name}', header=true, "
                f"auto_detect=false, columns={{{spec}}})"
            )
    return con


def oracle_audit(market: Market) -> dict[str, dict[str, Any]]:
    """Per enterprise: audited, violating and violations by kind, from the files alone."""
    con = connect(market)
    foreign = [c.alpha_3 for c in pycountry.countries]
    con.register("regions", pa.table({"code": _region_codes()}))
    con.register(
        "foreign_countries",
        pa.table({"code": [c for c in foreign if c not in ("CHN", "HKG", "MAC", "TWN")]}),
    )
    weighted = " + ".join(
        f"TRY_CAST(substr(doc_number, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(_WEIGHTS)
    )
    sql = f"""
    WITH live AS (
        SELECT * FROM sub WHERE status <> 'cancelled'
    ),
    ric AS (
        SELECT msisdn,
               regexp_full_match(doc_number, '[0-9]{{17}}[0-9X]') AS shape_ok,
               substr('10X98765432', (({weighted}) % 11) + 1, 1) AS check_char,
               try_strptime(substr(doc_number, 7, 8), '%Y%m%d') AS born
        FROM live WHERE doc_type = 'RIC'
    ),
    judged AS (
        SELECT l.msisdn, l.enterprise_code,
            l.doc_number IS NULL AS unregistered,
            l.doc_number IS NOT NULL AND NOT COALESCE(CASE l.doc_type
                WHEN 'RIC' THEN r.shape_ok AND length(l.doc_number) = 18
                    AND r.check_char = substr(l.doc_number, 18, 1)
                    AND r.born IS NOT NULL AND year(r.born) >= 1900
                    AND r.born <= current_date
                    AND substr(l.doc_number, 1, 6) IN (SELECT code FROM regions)
                WHEN 'HKMO' THEN regexp_full_match(l.doc_number, '[HM]([0-9]{{8}}|[0-9]{{10}})')
                WHEN 'TW' THEN
                    regexp_full_match(l.doc_number, '[0-9]{{8}}([0-9]{{2}}|\\([A-Z]\\))?')
                WHEN 'PASSPORT' THEN regexp_full_match(l.doc_number, '[A-Z0-9]{{5,17}}')
                    AND l.nationality IN (SELECT code FROM foreign_countries)
                ELSE false END, false) AS invalid_document,
            l.verification_method = 'manual' AS manual_entry,
            COALESCE(o.kind IN ('own', 'agent'), false)
                AND (l.face_score IS NULL OR l.face_score < 0.80) AS face_check_missing,
            l.doc_number IS NOT NULL AND row_number() OVER (
                PARTITION BY l.enterprise_code, l.doc_type, l.doc_number
                ORDER BY l.activated_at, l.msisdn) > 5 AS over_card_limit,
            NOT EXISTS (
                SELECT 1 FROM blocks b
                WHERE b.enterprise_code = l.enterprise_code
                  AND CAST(l.msisdn AS BIGINT)
                      BETWEEN CAST(b.first_number AS BIGINT) AND CAST(b.last_number AS BIGINT)
            ) AS number_outside_blocks,
            o.outlet_code IS NULL OR NOT o.authorized
                OR o.enterprise_code <> l.enterprise_code AS unauthorized_outlet,
            l.birth_date IS NOT NULL AND l.guardian_doc_number IS NULL AND (
                year(l.activated_at) - year(l.birth_date)
                - CASE WHEN month(l.activated_at) * 100 + day(l.activated_at)
                          < month(l.birth_date) * 100 + day(l.birth_date)
                       THEN 1 ELSE 0 END
            ) < 16 AS minor_without_guardian
        FROM live l
        LEFT JOIN ric r USING (msisdn)
        LEFT JOIN outlets o ON o.outlet_code = l.outlet_code
    )
    SELECT enterprise_code, count(*) AS audited,
        count(DISTINCT msisdn) FILTER (WHERE {" OR ".join(KINDS)}) AS violating,
        {", ".join(f"count(*) FILTER (WHERE {k}) AS {k}" for k in KINDS)}
    FROM judged GROUP BY enterprise_code ORDER BY enterprise_code
    """
    out: dict[str, dict[str, Any]] = {}
    for row in con.execute(sql).fetchall():
        code, audited, violating, *counts = row
        out[code] = {
            "audited": audited,
            "violating": violating,
            "violations": dict(zip(KINDS, counts, strict=True)),
        }
    return out


def _generate(tmp: Path, **kwargs: Any) -> Market:
    truth = generate_market(tmp, **kwargs)
    return Market(tmp, str(kwargs.get("fmt", "parquet")), truth)


@pytest.fixture(scope="session")
def small_market(tmp_path_factory: pytest.TempPathFactory) -> Market:
    """Scale 0.001 (20,590 users), Parquet, default as-of date."""
    return _generate(tmp_path_factory.mktemp("market_001"), scale=0.001, seed=7)


@pytest.fixture(scope="session")
def csv_market(tmp_path_factory: pytest.TempPathFactory) -> Market:
    """Scale 0.005, CSV, a later as-of date."""
    return _generate(
        tmp_path_factory.mktemp("market_005"),
        scale=0.005,
        seed=3,
        fmt="csv",
        as_of=date(2016, 6, 30),
    )


@pytest.fixture
def oracle() -> Callable[[Market], dict[str, dict[str, Any]]]:
    return oracle_audit
