"""The registry audit: per enterprise, how many live numbers break the real-name rules, and how.

:func:`run_audit` registers the imported registry and the policy bands on an engine (DuckDB
by default, Spark for the national picture), runs the one pipeline definition of
:mod:`mvnoguard.analytics.audit_pipeline` there, and returns an :class:`AuditReport`. Only the
per-enterprise aggregates leave the engine; no registry row is ever collected into Python.

Semantics (DESIGN.md, "Audit contract"): ``audited`` counts the rows whose status is not
``cancelled``; ``violating`` the distinct numbers among them with at least one violation; each
kind counts the distinct numbers with that violation. A number is judged by the rules in force
on its ``activated_on`` (its Beijing activation date), through the policy bands of
:mod:`mvnoguard.analytics.policy_bands`; a rule that is not in force in a band is not applied.
Two kinds are not dated (a number outside its enterprise's blocks, an outlet that is unknown,
of another enterprise or not authorised) and always apply; ``unregistered`` also applies once
the catch-up deadline in force on ``as_of`` has passed, whatever the activation date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from mvnoguard.analytics import store as registry_files
from mvnoguard.analytics.audit_pipeline import INPUT_TABLES, KINDS, compile_audit
from mvnoguard.analytics.engines import Engine, EngineName, open_engine, unique_name
from mvnoguard.analytics.policy_bands import bands_arrow
from mvnoguard.domain.calendar import local_date, utc_now
from mvnoguard.errors import DataFileError

if TYPE_CHECKING:
    from mvnoguard.analytics.store import RegistryStore
    from mvnoguard.domain.policy import Policy

__all__ = ["KINDS", "AuditReport", "EnterpriseAudit", "audit_on", "run_audit"]

_REFERENCE_TABLES = ("enterprises", "number_blocks", "outlets")


@dataclass(frozen=True, slots=True)
class EnterpriseAudit:
    enterprise_code: str
    audited: int
    violating: int
    violations: dict[str, int]

    @property
    def violation_rate(self) -> float | None:
        """``violating / audited``; ``None`` for an enterprise with no audited number."""
        return self.violating / self.audited if self.audited else None

    def to_json(self) -> dict[str, Any]:
        return {
            "enterprise_code": self.enterprise_code,
            "audited": self.audited,
            "violating": self.violating,
            "violation_rate": self.violation_rate,
            "violations": {kind: self.violations.get(kind, 0) for kind in KINDS},
        }


@dataclass(frozen=True, slots=True)
class AuditReport:
    enterprises: list[EnterpriseAudit] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The audit contract's shape, enterprises sorted by code."""
        ordered = sorted(self.enterprises, key=lambda e: e.enterprise_code)
        return {"enterprises": [e.to_json() for e in ordered]}


def _register_inputs(
    engine: Engine, store: RegistryStore, policy: Policy, names: dict[str, str]
) -> None:
    for table in _REFERENCE_TABLES:
        path = store.reference(table)
        if not path.is_file():
            raise DataFileError(
                f"the registry has no {table} table at {path}: run `mvnoguard registry import`"
            )
        engine.register_parquet(names[table], str(path))
    if store.subscriber_files():
        engine.register_parquet(names["subscribers"], str(store.subscribers_dir / "*.parquet"))
    else:  # an empty registry still audits: every enterprise with nothing audited
        engine.register_arrow(names["subscribers"], registry_files.SUBSCRIBERS.empty_table())
    engine.register_arrow(names["policy_bands"], bands_arrow(policy))


def audit_on(engine: Engine, store: RegistryStore, policy: Policy, *, as_of: date) -> AuditReport:
    """Run the audit on an open engine (see :func:`run_audit`)."""
    names = {table: unique_name(table) for table in INPUT_TABLES}
    try:
        _register_inputs(engine, store, policy, names)
        rows = engine.fetch(compile_audit(policy, names, dialect=engine.dialect, as_of=as_of))
    finally:
        for name in names.values():
            engine.drop(name)
    return AuditReport(
        [
            EnterpriseAudit(
                enterprise_code=str(row["enterprise_code"]),
                audited=int(row["audited"]),
                violating=int(row["violating"]),
                violations={kind: int(row[kind]) for kind in KINDS},
            )
            for row in rows
        ]
    )


def run_audit(
    store: RegistryStore,
    policy: Policy,
    *,
    engine: EngineName = "duckdb",
    as_of: date | None = None,
) -> AuditReport:
    """Audit the imported registry under ``policy`` on ``engine``.

    ``as_of`` (default: today in Beijing) only decides whether the catch-up deadline for
    unregistered legacy numbers has passed. With ``engine="spark"`` the active Spark session is
    used when there is one; otherwise a local one is started and stopped again.
    """
    day = as_of if as_of is not None else local_date(utc_now())
    with open_engine(engine) as running:
        return audit_on(running, store, policy, as_of=day)
