"""Secret-inspection results: import (the inspections contract), record one, attach evidence.

An inspection is keyed by its ``inspection_id``: importing the same result again changes
nothing, and a different result under a known id is quarantined, never overwritten (a
correction is a new inspection). An outlet found in violation goes on the agent blacklist,
which the registration service honours. Evidence files are stored once, by SHA-256, under
``HOME/evidence/``.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from mvnoguard.analytics.contract_files import (
    RowProblem,
    columns_of,
    read_batches,
    spelled_otherwise,
    write_problems,
)
from mvnoguard.analytics.typing_checks import as_text
from mvnoguard.domain.calendar import CHINA_TZ
from mvnoguard.domain.inspections import InspectionOutcome, InspectionViolation
from mvnoguard.domain.subscribers import OutletKind
from mvnoguard.errors import DataFileError, InvalidInput, NotFound
from mvnoguard.registry import catalog
from mvnoguard.storage import audit_log
from mvnoguard.storage.database import hold_write_lock
from mvnoguard.storage.models import Enterprise, Evidence, Inspection, Outlet
from mvnoguard.supervision.sampling import OutletRef

COLUMNS = (
    "inspection_id",
    "enterprise_code",
    "outlet_code",
    "inspected_on",
    "outcome",
    "violations",
)
_KINDS = {kind.value for kind in InspectionViolation}


@dataclass(frozen=True)
class InspectionResult:
    inspection_id: str
    enterprise_code: str
    outlet_code: str
    inspected_on: date
    outcome: InspectionOutcome
    violations: tuple[str, ...] = ()


@dataclass
class InspectionImport:
    loaded: int = 0
    unchanged: int = 0
    quarantined: int = 0
    outlets_blacklisted: list[str] = field(default_factory=list)  # each once, in file order
    quarantine_file: str | None = None
    warnings: list[str] = field(default_factory=list)


# The store's column widths (storage.models): a longer value is refused as the row's fault.
_MAX_LENGTH = {"inspection_id": 64, "enterprise_code": 32, "outlet_code": 64}


def parse_result(raw: dict[str, str | None], *, today: date) -> InspectionResult:
    """One contract row, checked; raises InvalidInput naming the field at fault."""

    def required(name: str) -> str:
        value = (raw.get(name) or "").strip()
        if not value:
            raise InvalidInput(f"{name} is required", code="missing_value", field=name)
        limit = _MAX_LENGTH.get(name)
        if limit is not None and len(value) > limit:
            raise InvalidInput(
                f"{name} is longer than {limit} characters", code="too_long", field=name
            )
        return value

    try:
        inspected_on = date.fromisoformat(required("inspected_on"))
    except ValueError:
        raise InvalidInput(
            "inspected_on is not a real YYYY-MM-DD date", code="bad_date", field="inspected_on"
        ) from None
    if inspected_on > today:
        raise InvalidInput(
            "inspected_on is in the future", code="future_date", field="inspected_on"
        )
    try:
        outcome = InspectionOutcome(required("outcome").lower())
    except ValueError:
        raise InvalidInput(
            "outcome must be pass or violation", code="bad_outcome", field="outcome"
        ) from None
    kinds = tuple(k.strip().lower() for k in (raw.get("violations") or "").split(";") if k.strip())
    unknown = [k for k in kinds if k not in _KINDS]
    if unknown:
        raise InvalidInput(
            f"unknown violation kind(s): {', '.join(unknown)}",
            code="bad_violation",
            field="violations",
        )
    if outcome is InspectionOutcome.PASS and kinds:
        raise InvalidInput(
            "a passed inspection lists no violations",
            code="pass_with_violations",
            field="violations",
        )
    if outcome is InspectionOutcome.VIOLATION and not kinds:
        raise InvalidInput(
            "a violation needs at least one kind", code="violation_without_kind", field="violations"
        )
    return InspectionResult(
        required("inspection_id"),
        required("enterprise_code"),
        required("outlet_code"),
        inspected_on,
        outcome,
        tuple(sorted(set(kinds))),
    )


class Recorded(NamedTuple):
    """What :func:`record` did: ``changed`` False when the same result was already stored, and
    why the inspected outlet is not one of the enterprise's catalogued outlets, if it is not.

    Such a result still counts for the enterprise (cards sold at an uncatalogued outlet are the
    enterprise's), but no outlet is blacklisted for it, and the inspector should know.
    """

    changed: bool
    outlet_note: str | None


def _outlet_note(session: Session, result: InspectionResult, enterprise: Enterprise) -> str | None:
    outlet = catalog.get_outlet(session, result.outlet_code)
    if outlet is None:
        return f"outlet {result.outlet_code} is not in the catalog"
    if outlet.enterprise_id != enterprise.id:
        return f"outlet {result.outlet_code} is not {result.enterprise_code}'s"
    return None


def record(session: Session, result: InspectionResult, *, actor: str, at: datetime) -> Recorded:
    """Store one result (nothing changes when the same result was already stored)."""
    existing = session.scalar(
        select(Inspection).where(Inspection.inspection_id == result.inspection_id)
    )
    enterprise = catalog.get_enterprise(session, result.enterprise_code)
    note = _outlet_note(session, result, enterprise)
    kinds = ";".join(result.violations)
    if existing is not None:
        same = (
            existing.enterprise_id == enterprise.id
            and existing.outlet_code == result.outlet_code
            and existing.inspected_on == result.inspected_on
            and existing.outcome == result.outcome.value
            and existing.violations == kinds
        )
        if not same:
            raise InvalidInput(
                f"inspection {result.inspection_id} is already recorded with other results; "
                "record a correction as a new inspection",
                code="inspection_conflict",
                field="inspection_id",
            )
        return Recorded(False, note)
    session.add(
        Inspection(
            inspection_id=result.inspection_id,
            enterprise_id=enterprise.id,
            outlet_code=result.outlet_code,
            inspected_on=result.inspected_on,
            outcome=result.outcome.value,
            violations=kinds,
            recorded_at=at,
        )
    )
    audit_log.append(session, actor=actor, action="inspection.record", subject=result.inspection_id)
    if result.outcome is InspectionOutcome.VIOLATION and note is None:
        catalog.blacklist_outlet(
            session,
            result.outlet_code,
            reason=f"secret inspection {result.inspection_id}: {kinds}",
            at=at,
            actor=actor,
        )
    session.flush()
    return Recorded(True, note)


def import_inspections(
    session: Session, path: Path, *, quarantine_dir: Path, actor: str, at: datetime | None = None
) -> InspectionImport:
    """Load an inspections file; bad rows go to a quarantine CSV with their reasons."""
    at = at or datetime.now(UTC)
    names = columns_of(path)
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise DataFileError(
            f"{path.name}: missing column(s) {', '.join(missing)}"
            + spelled_otherwise(missing, names),
            field=missing[0],
        )
    today = at.astimezone(CHINA_TZ).date()
    summary = InspectionImport()
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        summary.warnings.append(f"{path.name}: ignored unknown column(s) {', '.join(unknown)}")
    problems: list[RowProblem] = []
    for batch in read_batches(path):
        problems.extend(batch.problems)
        table = batch.table
        columns = {name: as_text(table.column(name)).to_pylist() for name in COLUMNS}
        for i, row_number in enumerate(table.column("source_row").to_pylist()):
            raw = {name: values[i] for name, values in columns.items()}
            try:
                result = parse_result(raw, today=today)
                hold_write_lock(session)  # SQLite: or the savepoint would commit on its own
                with session.begin_nested():
                    recorded = record(session, result, actor=actor, at=at)
            except (InvalidInput, NotFound) as exc:
                problems.append(
                    RowProblem(path.name, row_number, exc.field or "", exc.code, exc.message)
                )
                continue
            if not recorded.changed:
                summary.unchanged += 1
                continue
            summary.loaded += 1
            if recorded.outlet_note is not None:
                summary.warnings.append(f"{path.name} row {row_number}: {recorded.outlet_note}")
            elif (
                result.outcome is InspectionOutcome.VIOLATION
                and result.outlet_code not in summary.outlets_blacklisted
            ):
                summary.outlets_blacklisted.append(result.outlet_code)
    summary.quarantined = len({(p.file, p.row) for p in problems})
    if problems:
        summary.quarantine_file = write_problems(
            quarantine_dir / f"inspections-{at:%Y%m%dT%H%M%S%f}.csv", problems
        )
    return summary


def attach_evidence(
    session: Session, inspection_id: str, source: Path, *, evidence_dir: Path, actor: str
) -> Evidence:
    """Store a file for an inspection under its SHA-256 (once, however often it is attached)."""
    if (
        session.scalar(select(Inspection.id).where(Inspection.inspection_id == inspection_id))
        is None
    ):
        raise NotFound(
            f"no inspection {inspection_id!r}", code="unknown_inspection", field="inspection_id"
        )
    try:
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        size = source.stat().st_size
    except OSError as exc:
        raise DataFileError(f"cannot read {source.name}: {exc.strerror}", field="file") from None
    target = evidence_dir / digest[:2] / digest
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    existing = session.scalar(
        select(Evidence).where(Evidence.inspection_id == inspection_id, Evidence.sha256 == digest)
    )
    if existing is not None:
        return existing
    evidence = Evidence(
        inspection_id=inspection_id, sha256=digest, file_name=source.name, size=size
    )
    session.add(evidence)
    audit_log.append(
        session, actor=actor, action="inspection.evidence", subject=inspection_id, detail=digest
    )
    session.flush()
    return evidence


def inspections_between(
    session: Session, start: date | None, end: date | None
) -> list[tuple[str, str, Inspection]]:
    """(enterprise code, enterprise name, inspection) for inspections in [start, end)."""
    query = select(Enterprise.code, Enterprise.name, Inspection).join(
        Enterprise, Enterprise.id == Inspection.enterprise_id
    )
    if start is not None:
        query = query.where(Inspection.inspected_on >= start)
    if end is not None:
        query = query.where(Inspection.inspected_on < end)
    return [(code, name, inspection) for code, name, inspection in session.execute(query)]


def inspectable_outlets(session: Session) -> list[OutletRef]:
    """Every outlet in the registry, as the inspection planner takes them."""
    return [
        OutletRef(outlet.code, code, OutletKind(outlet.kind), outlet.region_code)
        for outlet, code in session.execute(
            select(Outlet, Enterprise.code).join(Enterprise, Enterprise.id == Outlet.enterprise_id)
        )
    ]
