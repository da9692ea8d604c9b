"""Retention for the imported registry snapshots: purge what a long-cancelled period holds.

``retention purge`` clears the store's identities past the retention period; the Parquet
snapshots of ``registry import`` hold their own sealed copies of each row's document numbers
and name. A snapshot row is one period of one number, and its copy serves that period alone
(a live number of the same holder has a row and a copy of its own), so the rule is per row: a
row cancelled before the cut-off loses its sealed numbers and name, and its masked number
reads ``(purged)``. Its keyed tokens, document type, check code and the holder's age stay, so
the audit's counts over the period do not change.

A file is rewritten only when it holds something to purge, and replaces the old one only when
whole: a second run changes nothing, and a failed run leaves every file readable.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from mvnoguard.analytics.store import RegistryStore, reading_snapshots
from mvnoguard.analytics.traffic_typing import sql_literal
from mvnoguard.domain.subscribers import SubscriberStatus
from mvnoguard.registry.identities import PURGED

_SEALED = ("doc_number_ct", "name_ct", "guardian_number_ct", "agent_number_ct")
_EXPIRED = "status = $cancelled AND cancelled_at < $cutoff"
_HOLDS_DATA = " OR ".join(
    [
        *(f"{column} IS NOT NULL" for column in _SEALED),
        "name_masked IS NOT NULL",
        "doc_masked IS DISTINCT FROM $purged AND doc_masked IS NOT NULL",
    ]
)
_PURGED_COLUMNS = ", ".join(
    [
        *(f"CASE WHEN {_EXPIRED} THEN NULL ELSE {column} END AS {column}" for column in _SEALED),
        f"CASE WHEN {_EXPIRED} THEN NULL ELSE name_masked END AS name_masked",
        f"CASE WHEN {_EXPIRED} AND doc_masked IS NOT NULL THEN $purged ELSE doc_masked END "
        "AS doc_masked",
    ]
)


def purge_snapshots(registry: RegistryStore, *, cutoff: datetime) -> int:
    """Clear the identity data of snapshot rows cancelled before ``cutoff`` (aware); returns
    how many rows lost data in this run."""
    params = {"cancelled": SubscriberStatus.CANCELLED.value, "cutoff": cutoff, "purged": PURGED}
    con = duckdb.connect()
    try:
        with reading_snapshots("retention purge"):
            return sum(_purge_file(con, path, params) for path in registry.subscriber_files())
    finally:
        con.close()


def _purge_file(con: duckdb.DuckDBPyConnection, path: Path, params: dict[str, object]) -> int:
    source = f"read_parquet({sql_literal(str(path))})"
    found = con.execute(
        f"SELECT count(*) FROM {source} WHERE {_EXPIRED} AND ({_HOLDS_DATA})", params
    ).fetchone()
    rows = 0 if found is None else int(found[0])
    if rows == 0:
        return 0
    tmp = path.with_suffix(".purging")
    try:
        # The file's own row order and column order are kept (insertion order is).
        con.execute(
            f"COPY (SELECT * REPLACE ({_PURGED_COLUMNS}) FROM {source}) "
            f"TO {sql_literal(str(tmp))} (FORMAT parquet, COMPRESSION zstd)",
            params,
        )
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return rows


__all__ = ["purge_snapshots"]
