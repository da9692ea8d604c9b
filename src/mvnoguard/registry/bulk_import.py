"""``mvnoguard registry import DIR``: reference tables and subscriber snapshots into the store.

Reference tables (enterprises, number blocks, outlets) go to the OLTP store, where sign-ups are
checked against them, and beside the snapshots as Parquet for the pipelines. Subscriber
snapshots are streamed batch by batch (files larger than memory are fine), typed and checked,
encrypted, and written as one Parquet file per enterprise. Every bad row goes to a quarantine
CSV under ``HOME/quarantine/`` with file, row, field, code and reason (never identity data);
good rows all load. A manifest of file digests makes a second import of the same files a
no-op, and a newer snapshot of an enterprise replaces its older one.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from mvnoguard.analytics import store as schemas
from mvnoguard.analytics.contract_files import (
    RowProblem,
    columns_of,
    file_digest,
    find_files,
    other_files,
    read_batches,
    spelled_otherwise,
    write_problems,
)
from mvnoguard.analytics.store import RegistryStore
from mvnoguard.analytics.traffic_typing import sql_literal
from mvnoguard.analytics.typing_checks import as_text
from mvnoguard.domain.subscribers import HostNetwork, OutletKind
from mvnoguard.errors import ConfigurationError, DataFileError, MvnoguardError
from mvnoguard.identity.vault import KeyRing, PiiVault
from mvnoguard.registry import catalog
from mvnoguard.registry.snapshot_keys import retoken_snapshots
from mvnoguard.registry.snapshot_rows import OPTIONAL, REQUIRED, prepare
from mvnoguard.storage import audit_log
from mvnoguard.storage.database import Database
from mvnoguard.storage.models import Enterprise, NumberBlock, Outlet

ACTOR = "registry-import"
AWAITING = "awaiting_enterprises"  # manifest key: see import_registry
# Manifest key: the identity-key scheme of the stored files' tokens (1, or absent: a passport's
# token without its nationality; 2: with it).
IDENTITY_KEYS = "identity_keys"
IDENTITY_KEYS_VERSION = 2
UNKNOWN_ENTERPRISE = "unknown_enterprise"
PARALLEL_FROM_BYTES = (
    64 * 1024 * 1024
)  # below this, starting worker processes costs more than it saves
Progress = Callable[[int], None]


@dataclass
class ImportSummary:
    files_imported: list[str] = field(default_factory=list)
    files_skipped: list[str] = field(default_factory=list)  # already imported, unchanged
    rows_loaded: int = 0
    rows_quarantined: int = 0
    enterprises_replaced: list[str] = field(default_factory=list)
    enterprises_kept_newer: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    quarantine_file: str | None = None


class _Quarantine:
    def __init__(self, folder: Path, started: datetime) -> None:
        self.path = folder / f"import-{started:%Y%m%dT%H%M%S%f}.csv"
        self.count = 0
        self._rows: set[tuple[str, int]] = set()
        self._problems: list[RowProblem] = []

    def add(self, problems: list[RowProblem]) -> None:
        for problem in problems:
            self._rows.add((problem.file, problem.row))
        self._problems.extend(problems)

    @property
    def rows(self) -> int:
        return len(self._rows)

    def write(self) -> str | None:
        if not self._problems:
            return None
        return write_problems(
            self.path, sorted(self._problems, key=lambda p: (p.file, p.row, p.field))
        )


def _load_manifest(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"files": {}, "enterprises": {}, IDENTITY_KEYS: IDENTITY_KEYS_VERSION}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(loaded, dict) or not {"files", "enterprises"} <= set(loaded):
            raise ValueError("not a manifest")
    except (ValueError, UnicodeDecodeError):
        raise ConfigurationError(
            f"{path} is damaged: move it away and import again (every file is then read anew; "
            "a snapshot replaces the stored one of its enterprise)",
            code="damaged_state",
        ) from None
    return loaded


def _save_manifest(path: Path, manifest: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def _day(text: str) -> date:
    """A date given as ``YYYY-MM-DD``, or as a timestamp at midnight (what a Parquet writer
    makes of a spreadsheet's or a data frame's date column)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
        if moment.time() != time(0) or (moment.tzinfo is not None and moment.utcoffset()):
            raise
        return moment.date()


def _shown(folder: Path, path: Path) -> str:
    """How a file is named in warnings and quarantine rows: its path within the folder, so
    ``subscribers.csv`` and ``subscribers/subscribers.csv`` stay apart."""
    return path.relative_to(folder).as_posix()


def _read_reference(
    path: Path, shown: str, required: tuple[str, ...], quarantine: _Quarantine
) -> list[dict[str, str | None]]:
    names = columns_of(path, shown)
    missing = [c for c in required if c not in names]
    if missing:
        raise DataFileError(
            f"{shown}: missing column(s) {', '.join(missing)}" + spelled_otherwise(missing, names),
            field=missing[0],
        )
    rows: list[dict[str, str | None]] = []
    for batch in read_batches(path, shown=shown):
        quarantine.add(batch.problems)
        table = batch.table
        columns = {
            name: as_text(table.column(name)).to_pylist()
            for name in required
            if name in table.column_names
        }
        extra = {
            name: as_text(table.column(name)).to_pylist()
            for name in table.column_names
            if name not in required
        }
        for i, source_row in enumerate(table.column("source_row").to_pylist()):
            row: dict[str, str | None] = {k: v[i] for k, v in columns.items()}
            row.update({k: v[i] for k, v in extra.items()})
            row["_row"] = str(source_row)
            rows.append(row)
    return rows


def _bad(
    quarantine: _Quarantine,
    shown: str,
    row: dict[str, str | None],
    fld: str,
    code: str,
    reason: str,
) -> None:
    quarantine.add([RowProblem(shown, int(row["_row"] or 0), fld, code, reason)])


def _import_reference(
    folder: Path, database: Database, registry: RegistryStore, quarantine: _Quarantine
) -> set[str]:
    """Load the three reference tables; returns the enterprise codes known afterwards."""
    with database.transaction() as session:
        for path in find_files(folder, "enterprises"):
            shown = _shown(folder, path)
            for row in _read_reference(
                path, shown, ("enterprise_code", "name", "host_network"), quarantine
            ):
                if _missing(quarantine, shown, row, ("enterprise_code", "name", "host_network")):
                    continue
                try:
                    network = HostNetwork(str(row["host_network"]).lower())
                except ValueError:
                    networks = ", ".join(n.value for n in HostNetwork)
                    reason = f"host_network must be one of {networks}"
                    _bad(quarantine, shown, row, "host_network", "bad_value", reason)
                    continue
                approved_text = row.get("approved_on")
                try:
                    approved = _day(approved_text) if approved_text else None
                except ValueError:
                    reason = "approved_on must be a date YYYY-MM-DD"
                    _bad(quarantine, shown, row, "approved_on", "bad_value", reason)
                    continue
                spec = catalog.EnterpriseSpec(
                    str(row["enterprise_code"]),
                    str(row["name"]),
                    network,
                    approved,
                    row.get("license_no"),
                )
                try:
                    catalog.upsert_enterprise(session, spec, actor=ACTOR)
                except MvnoguardError as exc:
                    _bad(quarantine, shown, row, _column(exc), exc.code, exc.message)
                    continue
        for path in find_files(folder, "number_blocks"):
            shown = _shown(folder, path)
            for row in _read_reference(
                path, shown, ("enterprise_code", "first_number", "last_number"), quarantine
            ):
                if _missing(
                    quarantine, shown, row, ("enterprise_code", "first_number", "last_number")
                ):
                    continue
                try:
                    catalog.add_block(
                        session,
                        str(row["enterprise_code"]),
                        str(row["first_number"]),
                        str(row["last_number"]),
                        actor=ACTOR,
                    )
                except MvnoguardError as exc:
                    _bad(quarantine, shown, row, _column(exc), exc.code, exc.message)
                    continue
        for path in find_files(folder, "outlets"):
            shown = _shown(folder, path)
            for row in _read_reference(
                path, shown, ("outlet_code", "enterprise_code", "kind", "authorized"), quarantine
            ):
                if _missing(quarantine, shown, row, ("outlet_code", "enterprise_code", "kind")):
                    continue
                authorized = (row.get("authorized") or "").lower()
                if authorized not in ("true", "false"):
                    _bad(
                        quarantine,
                        shown,
                        row,
                        "authorized",
                        "bad_value",
                        "authorized must be true or false",
                    )
                    continue
                try:
                    spec_o = catalog.OutletSpec(
                        str(row["outlet_code"]),
                        str(row["enterprise_code"]),
                        OutletKind(str(row["kind"]).lower()),
                        row.get("region_code"),
                        authorized == "true",
                    )
                    catalog.upsert_outlet(session, spec_o, actor=ACTOR)
                except ValueError:
                    _bad(
                        quarantine,
                        shown,
                        row,
                        "kind",
                        "bad_value",
                        "kind must be own, agent or online",
                    )
                    continue
                except MvnoguardError as exc:
                    _bad(quarantine, shown, row, _column(exc), exc.code, exc.message)
                    continue
        known = catalog.enterprise_codes(session)
        # The pipelines' copy is the store's tables whole, whatever this folder held: a folder
        # with some of the rows adds to them, and a row given twice is one row.
        reference = _reference_rows(session)
    registry.root.mkdir(parents=True, exist_ok=True)
    for table, schema in (
        ("enterprises", schemas.ENTERPRISES),
        ("number_blocks", schemas.NUMBER_BLOCKS),
        ("outlets", schemas.OUTLETS),
    ):
        rows = reference[table]
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), registry.reference(table))
    return known


def _reference_rows(session: Session) -> dict[str, list[dict[str, Any]]]:
    """The store's enterprises, number blocks and outlets, in the Parquet tables' columns."""
    enterprises = [
        {
            "enterprise_code": e.code,
            "name": e.name,
            "host_network": e.host_network,
            "approved_on": e.approved_on,
            "license_no": e.license_no,
        }
        for e in session.scalars(select(Enterprise).order_by(Enterprise.code))
    ]
    blocks = [
        {"enterprise_code": code, "first_number": first, "last_number": last}
        for code, first, last in session.execute(
            select(Enterprise.code, NumberBlock.first_number, NumberBlock.last_number)
            .join(Enterprise, NumberBlock.enterprise_id == Enterprise.id)
            .order_by(Enterprise.code, NumberBlock.first_number)
        )
    ]
    outlets = [
        {
            "outlet_code": outlet,
            "enterprise_code": code,
            "kind": kind,
            "region_code": region,
            "authorized": authorized,
        }
        for outlet, code, kind, region, authorized in session.execute(
            select(Outlet.code, Enterprise.code, Outlet.kind, Outlet.region_code, Outlet.authorized)
            .join(Enterprise, Outlet.enterprise_id == Enterprise.id)
            .order_by(Outlet.code)
        )
    ]
    return {"enterprises": enterprises, "number_blocks": blocks, "outlets": outlets}


# Catalog errors name the concept; a quarantined row names the file's column.
_COLUMNS = {"enterprise": "enterprise_code", "outlet": "outlet_code"}


def _column(exc: MvnoguardError) -> str:
    return _COLUMNS.get(exc.field or "", exc.field or "")


def _missing(
    quarantine: _Quarantine, shown: str, row: dict[str, str | None], required: tuple[str, ...]
) -> bool:
    """Quarantine ``row`` if a required column is empty; whether it was."""
    empty = next((name for name in required if not (row.get(name) or "").strip()), None)
    if empty is not None:
        _bad(quarantine, shown, row, empty, "missing_value", f"{empty} is required")
    return empty is not None


@dataclass(frozen=True)
class _StageJob:
    index: int
    path: Path
    shown: str  # the file's path within the imported folder
    staging: Path
    enterprises: frozenset[str]
    ring_json: str
    started: datetime
    # Enterprises whose rows were loaded from this file before (a file read again because it
    # named enterprises unknown then): not staged again, which would replace their snapshot
    # with this one file's part of it.
    loaded_before: frozenset[str] = frozenset()
    # Enterprises unknown when the file was first read that have a snapshot of their own
    # since: this old file's rows for them are quarantined, never a replacement of it.
    superseded: frozenset[str] = frozenset()


@dataclass
class _Staged:
    path: Path
    shown: str
    rows: int
    problems: list[RowProblem]
    codes: set[str]
    unreadable: str | None = None  # why the file could not be read to its end


def _stage_file(job: _StageJob) -> _Staged:
    """Type, check and encrypt one subscriber file into per-enterprise staging files.

    Runs in a worker process for big imports, so it takes only picklable arguments and builds
    its own vault from the key ring. A file that cannot be read to its end stages nothing: a
    part of a snapshot must not replace the whole of one.
    """
    vault = PiiVault(KeyRing.from_json(job.ring_json))
    writers: dict[str, pq.ParquetWriter] = {}
    staged = _Staged(job.path, job.shown, 0, [], set())
    try:
        for batch in read_batches(job.path, shown=job.shown):
            staged.problems.extend(batch.problems)
            prepared = prepare(
                batch.table,
                file_name=job.shown,
                enterprises=set(job.enterprises),
                vault=vault,
                now=job.started,
            )
            staged.problems.extend(prepared.problems)
            codes = prepared.table.column("enterprise_code")
            for code in set(codes.to_pylist()) - job.loaded_before:
                rows = prepared.table.filter(pc.equal(codes, code))
                if code in job.superseded:
                    staged.problems.extend(_superseded(job, code, rows))
                    continue
                if code not in writers:
                    target = job.staging / f"{job.index:05d}-{code}.parquet"
                    writers[code] = pq.ParquetWriter(target, schemas.SUBSCRIBERS)
                writers[code].write_table(rows)
            staged.rows += batch.table.num_rows + len({p.row for p in batch.problems})
    except DataFileError as exc:
        staged.unreadable = exc.message
    finally:
        for writer in writers.values():
            writer.close()
    if staged.unreadable is not None:
        for target in job.staging.glob(f"{job.index:05d}-*.parquet"):
            target.unlink()
        staged.problems = [RowProblem(job.shown, 0, "", "unreadable_file", staged.unreadable)]
        return staged
    staged.codes = set(writers)
    return staged


def _superseded(job: _StageJob, code: str, rows: pa.Table) -> list[RowProblem]:
    reason = (
        f"{code} was unknown when this file was first imported and has a snapshot of its own "
        "since: import a snapshot of it to change it"
    )
    return [
        RowProblem(job.shown, row, "enterprise_code", "superseded_snapshot", reason)
        for row in rows.column("source_row").to_pylist()
    ]


def _workers(paths: list[Path], requested: int | None) -> int:
    if requested is not None:
        return max(1, requested)
    big = sum(p.stat().st_size for p in paths) > PARALLEL_FROM_BYTES
    return min(2, os.cpu_count() or 1) if big and len(paths) > 1 else 1


def import_registry(
    folder: Path,
    *,
    home: Path,
    database: Database,
    vault: PiiVault,
    progress: Progress | None = None,
    workers: int | None = None,
) -> ImportSummary:
    """Import every table found in ``folder``; ``workers`` processes stage the subscriber
    files (default: one, or two when the files are large)."""
    if not folder.is_dir():
        raise DataFileError(f"{folder} is not a folder", field="DIR")
    tables = ("enterprises", "number_blocks", "outlets", "subscribers")
    if not any(find_files(folder, table) for table in tables):
        raise DataFileError(
            f"{folder} holds none of the registry files: enterprises, number_blocks, outlets "
            "(.csv or .parquet) or subscribers (a file, or a folder of them)",
            code="nothing_to_import",
            field="DIR",
        )
    started = datetime.now(UTC)
    registry = RegistryStore(home)
    quarantine = _Quarantine(home / "quarantine", started)
    summary = ImportSummary()
    enterprises = _import_reference(folder, database, registry, quarantine)
    manifest_path = registry.root / "manifest.json"
    manifest = _load_manifest(manifest_path)
    if manifest.get(IDENTITY_KEYS, 1) < IDENTITY_KEYS_VERSION:
        # Files imported before a passport's token took its nationality: re-token them, so
        # one holder's rows of old files and of this import carry one token.
        retoken_snapshots(registry, vault)
        manifest[IDENTITY_KEYS] = IDENTITY_KEYS_VERSION
    staging = registry.root / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    jobs: list[_StageJob] = []
    digests: dict[Path, str] = {}
    # Files whose rows named enterprises unknown at the time, with the enterprises known then:
    # once the store knows other enterprises, they are read again.
    awaiting: dict[str, list[str]] = manifest.setdefault(AWAITING, {})
    for path in other_files(folder, "subscribers"):
        summary.warnings.append(f"{_shown(folder, path)}: not a .csv or .parquet file; not read")
    for path in find_files(folder, "subscribers"):
        shown = _shown(folder, path)
        digest = file_digest(path)
        retry = digest in awaiting and set(awaiting[digest]) != enterprises
        if (digest in manifest["files"] and not retry) or digest in digests.values():
            summary.files_skipped.append(shown)
            continue
        try:
            names = columns_of(path, shown)
        except DataFileError as exc:
            # Unreadable as a whole (not UTF-8, not Parquet): it sinks nothing else either.
            quarantine.add([RowProblem(shown, 0, "", exc.code, exc.message)])
            summary.warnings.append(f"{exc.message}; skipped")
            continue
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            # The whole file is unusable, but it sinks nothing else: report it and go on.
            quarantine.add(
                [
                    RowProblem(shown, 0, c, "missing_column", "required column absent")
                    for c in missing
                ]
            )
            summary.warnings.append(
                f"{shown}: missing column(s) {', '.join(missing)}"
                + f"{spelled_otherwise(missing, names)}; skipped"
            )
            continue
        unknown = sorted(set(names) - set(REQUIRED) - set(OPTIONAL))
        if unknown:
            summary.warnings.append(f"{shown}: ignored unknown column(s) {', '.join(unknown)}")
        digests[path] = digest
        known_then = frozenset(awaiting[digest]) if retry else frozenset()
        jobs.append(
            _StageJob(
                len(jobs),
                path,
                shown,
                staging,
                frozenset(enterprises),
                vault.ring.to_json(),
                started,
                known_then,
                # Only on a retry: enterprises it names that were new to it and have a stored
                # snapshot now (from another file) keep that snapshot.
                frozenset(c for c in manifest["enterprises"] if c not in known_then)
                if retry
                else frozenset(),
            )
        )
    results: list[_Staged] = []
    count = _workers([job.path for job in jobs], workers)
    if count == 1:
        for job in jobs:
            results.append(_stage_file(job))
            if progress:
                progress(results[-1].rows)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
            # Largest files first, so the last one to finish is a small one.
            ordered = sorted(jobs, key=lambda job: -job.path.stat().st_size)
            for staged in pool.map(_stage_file, ordered):
                results.append(staged)
                if progress:
                    progress(staged.rows)
    codes: set[str] = set()
    for staged in results:
        quarantine.add(staged.problems)
        if staged.unreadable is not None:
            # Nothing of it is loaded, and it is not recorded: once mended it is read again.
            summary.warnings.append(f"{staged.unreadable}; skipped")
            del digests[staged.path]
            continue
        codes |= staged.codes
        summary.files_imported.append(staged.shown)
        digest = digests[staged.path]
        if any(p.code == UNKNOWN_ENTERPRISE for p in staged.problems):
            awaiting[digest] = sorted(enterprises)
        else:
            awaiting.pop(digest, None)
    registry.subscribers_dir.mkdir(parents=True, exist_ok=True)
    for code in sorted(codes):
        _merge_snapshot(code, staging, registry, manifest, quarantine, summary)
    shutil.rmtree(staging, ignore_errors=True)
    manifest["files"].update({digest: _shown(folder, path) for path, digest in digests.items()})
    _save_manifest(manifest_path, manifest)
    if summary.files_imported:
        # Identity data was sealed and tokenised in bulk: one entry says what and from where.
        with database.transaction() as session:
            audit_log.append(
                session,
                actor=ACTOR,
                action="registry.import",
                subject=folder.name,
                detail=f"{summary.rows_loaded} subscriber rows sealed from "
                + ", ".join(summary.files_imported),
            )
    summary.rows_quarantined = quarantine.rows
    summary.quarantine_file = quarantine.write()
    return summary


_DEDUPE = """
WITH staged AS (SELECT * FROM read_parquet($staged)),
first_copies AS (
  SELECT *, row_number() OVER (
    PARTITION BY msisdn, activated_at ORDER BY source_file, source_row) AS same_rank
  FROM staged),
ranked AS (
  SELECT *, row_number() OVER (
    PARTITION BY msisdn, same_rank = 1 AND status <> 'cancelled'
    ORDER BY activated_at DESC, source_file DESC, source_row DESC) AS live_rank
  FROM first_copies)
SELECT * EXCLUDE (same_rank, live_rank),
  CASE WHEN same_rank > 1 THEN 'duplicate_row'
       WHEN status <> 'cancelled' AND live_rank > 1 THEN 'duplicate_live_number' END AS duplicate
FROM ranked
"""


def _merge_snapshot(
    code: str,
    staging: Path,
    registry: RegistryStore,
    manifest: dict[str, Any],
    quarantine: _Quarantine,
    summary: ImportSummary,
) -> None:
    """Replace an enterprise's snapshot with the staged one, unless the stored one is newer."""
    staged = str(staging / f"*-{code}.parquet")
    con = duckdb.connect()
    try:
        as_of_row = con.execute(
            "SELECT max(greatest(activated_at, coalesce(cancelled_at, activated_at))), "
            "count(*) FROM read_parquet($p)",
            {"p": staged},
        ).fetchone()
        assert as_of_row is not None
        newest, rows = as_of_row
        as_of = None if newest is None else newest.astimezone(UTC).isoformat()
        previous = manifest["enterprises"].get(code)
        if previous and _older(as_of, previous["as_of"]):
            summary.enterprises_kept_newer.append(code)
            summary.warnings.append(
                f"{code}: the stored snapshot (to {previous['as_of']}) is newer; kept it"
            )
            return
        duplicates = con.execute(
            f"SELECT source_file, source_row, duplicate FROM ({_DEDUPE}) "
            "WHERE duplicate IS NOT NULL",
            {"staged": staged},
        ).fetchall()
        quarantine.add(
            [
                RowProblem(f, r, "msisdn", d, "the same number appears again in the snapshot")
                for f, r, d in duplicates
            ]
        )
        target = registry.subscribers_dir / f"{code}.parquet"
        tmp = target.with_suffix(".tmp")
        con.execute(
            f"COPY (SELECT * EXCLUDE (duplicate) FROM ({_DEDUPE}) WHERE duplicate IS NULL "
            f"ORDER BY activated_at, msisdn) TO {sql_literal(str(tmp))} "
            "(FORMAT parquet, COMPRESSION zstd)",
            {"staged": staged},
        )
    finally:
        con.close()
    tmp.replace(target)
    loaded = rows - len(duplicates)
    summary.rows_loaded += loaded
    summary.enterprises_replaced.append(code)
    manifest["enterprises"][code] = {"as_of": as_of, "rows": loaded}


def _older(as_of: str | None, stored: str | None) -> bool:
    """Whether a staged snapshot dated ``as_of`` is older than the stored one: instants, not
    text (manifests before this version wrote the time in the machine's own zone)."""
    if as_of is None or stored is None:
        return False
    return datetime.fromisoformat(as_of) < datetime.fromisoformat(stored)
