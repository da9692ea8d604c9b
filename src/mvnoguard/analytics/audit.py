"""The registry audit: per enterprise, how many live numbers break the real-name rules, and how.

One pipeline definition (:func:`audit_expression`, an Ibis expression) runs on DuckDB by
default and on Spark for the national picture: Ibis compiles it to each engine's SQL and
:mod:`mvnoguard.analytics.engines` runs it there. Only the per-enterprise aggregates leave
the engine; no registry row is ever collected into Python.

Semantics (DESIGN.md, "Audit contract"): ``audited`` counts the rows whose status is not
``cancelled``; ``violating`` the distinct numbers among them with at least one violation; each
kind counts the distinct numbers with that violation. A number is judged by the rules in force
on its ``activated_on`` (its Beijing activation date), through the policy bands of
:mod:`mvnoguard.analytics.policy_bands`; a rule that is not in force in a band is not applied.
Two rules are not dated (a number outside its enterprise's blocks, an outlet that is unknown,
of another enterprise or not authorised) and always apply; ``unregistered`` also applies once
the catch-up deadline in force on ``as_of`` has passed, whatever the activation date.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import ibis

from mvnoguard.analytics import store as registry_files
from mvnoguard.analytics.engines import Engine, EngineName, open_engine, unique_name
from mvnoguard.analytics.policy_bands import band_id_of, bands_arrow, bands_schema, policy_bands
from mvnoguard.domain.calendar import local_date, utc_now
from mvnoguard.domain.subscribers import SubscriberStatus, VerificationMethod, ViolationKind
from mvnoguard.errors import DataFileError

if TYPE_CHECKING:
    from ibis.expr.types import BooleanValue, Table

    from mvnoguard.analytics.store import RegistryStore
    from mvnoguard.domain.policy import Policy

__all__ = [
    "KINDS",
    "AuditReport",
    "AuditTables",
    "EnterpriseAudit",
    "audit_expression",
    "catch_up_deadline_passed",
    "run_audit",
]

KINDS: tuple[str, ...] = tuple(kind.value for kind in ViolationKind)
"""Every audit kind, in the contract's order; each report lists all of them."""

_REFERENCE_TABLES = ("enterprises", "number_blocks", "outlets")
_PREFIX_DIGITS = 7  # numbers are bucketed by their first 7 digits to find their block


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


@dataclass(frozen=True, slots=True)
class AuditTables:
    """The audit's inputs as Ibis tables (unbound: named, registered on the engine)."""

    subscribers: Table
    enterprises: Table
    number_blocks: Table
    outlets: Table
    policy_bands: Table

    @classmethod
    def named(cls, names: dict[str, str]) -> AuditTables:
        """Unbound tables with the store's schemas under the given engine names."""
        schemas = {
            "subscribers": ibis.Schema.from_pyarrow(registry_files.SUBSCRIBERS),
            "enterprises": ibis.Schema.from_pyarrow(registry_files.ENTERPRISES),
            "number_blocks": ibis.Schema.from_pyarrow(registry_files.NUMBER_BLOCKS),
            "outlets": ibis.Schema.from_pyarrow(registry_files.OUTLETS),
            "policy_bands": bands_schema(),
        }
        return cls(**{key: ibis.table(schemas[key], name=names[key]) for key in schemas})


def catch_up_deadline_passed(policy: Policy, as_of: date) -> bool:
    """Whether the unregistered catch-up deadline in force on ``as_of`` lies before it."""
    deadline = policy.at(as_of).unregistered_catch_up_deadline
    return deadline is not None and deadline < as_of


def _over_card_limit(audited: Table, rules: Table, policy: Policy) -> Table:
    """The (enterprise, number) pairs past their band's card limit, in activation order.

    Only identities holding more cards than the lowest limit of any band can have a card past
    the limit, and they are few: their cards are found with an aggregate and a semi-join,
    and only those are ranked. A window over the whole registry would sort (and buffer)
    every row for the sake of a handful.
    """
    limits = [b.rules.card_limit_per_enterprise for b in policy_bands(policy)]
    in_force = [limit for limit in limits if limit is not None]
    with_token = audited.filter(audited.doc_token.notnull())
    if not in_force:  # no band limits cards: an empty relation of the right shape
        return with_token.select(
            limit_enterprise=with_token.enterprise_code, limit_msisdn=with_token.msisdn
        ).limit(0)
    tokens = with_token.view()  # a second reference to the same rows, for the self-join
    holders = (
        tokens.group_by(["enterprise_code", "doc_token"])
        .aggregate(cards=tokens.count())
        .filter(lambda t: t.cards > min(in_force))
    )
    banded = with_token.mutate(band=band_id_of(with_token.activated_on, policy))
    cards = banded.semi_join(holders, ["enterprise_code", "doc_token"]).inner_join(
        rules, banded.band == rules.rule_band
    )
    order = ibis.window(
        group_by=[cards.enterprise_code, cards.doc_token],
        order_by=[cards.activated_at, cards.msisdn],
    )
    ranked = cards.select(
        "enterprise_code",
        "msisdn",
        "card_limit",
        card_rank=ibis.row_number().over(order),  # 0-based: rank 5 is the sixth card
    )
    past = ranked.filter(ranked.card_rank >= ranked.card_limit)
    return past.select(limit_enterprise=past.enterprise_code, limit_msisdn=past.msisdn).distinct()


def _block_buckets(blocks: Table) -> Table:
    """Each enterprise's blocks, merged where they overlap, listed once per 7-digit prefix.

    Merging makes the blocks of one enterprise disjoint, so a number matches at most one of
    them and the left join below never duplicates a row. Listing a block under every prefix
    it spans lets that join be an equality join on (enterprise, prefix) with the range check
    as a residual: the cost grows with the registry, not with registry x blocks.
    """
    valid = blocks.filter(
        blocks.enterprise_code.notnull(),
        blocks.first_number.notnull(),
        blocks.last_number.notnull(),
        blocks.first_number <= blocks.last_number,
    )
    ordered = ibis.cumulative_window(
        group_by=valid.enterprise_code, order_by=[valid.first_number, valid.last_number]
    )
    with_reach = valid.mutate(reach=valid.last_number.max().over(ordered))
    steps = ibis.window(
        group_by=with_reach.enterprise_code,
        order_by=[with_reach.first_number, with_reach.last_number],
    )
    with_start = with_reach.mutate(
        starts_island=ibis.ifelse(
            with_reach.reach.lag().over(steps).isnull()
            | (with_reach.first_number > with_reach.reach.lag().over(steps)),
            1,
            0,
        )
    )
    islands = with_start.mutate(island=with_start.starts_island.sum().over(ordered))
    merged = islands.group_by(["enterprise_code", "island"]).aggregate(
        block_first=islands.first_number.min(), block_last=islands.last_number.max()
    )
    spans = merged.mutate(
        low=merged.block_first.substr(0, _PREFIX_DIGITS).try_cast("int64"),
        high=merged.block_last.substr(0, _PREFIX_DIGITS).try_cast("int64"),
    ).filter(lambda t: t.low.notnull() & t.high.notnull())
    buckets = spans.select(
        block_enterprise=spans.enterprise_code,
        block_first=spans.block_first,
        block_last=spans.block_last,
        bucket=ibis.range(spans.low, spans.high + 1).unnest(),
    )
    return buckets.mutate(bucket=buckets.bucket.cast("string").lpad(_PREFIX_DIGITS, "0"))


def _band_rules(bands: Table) -> Table:
    """Per band, the scalar rule values the row checks compare with.

    List-valued rules are tested here, once per band, or exploded into the small tables
    below, so that no list is copied onto millions of rows.
    """
    allowed = bands.allowed_verification_methods
    return bands.select(
        rule_band=bands.band_id,
        real_name_in_force=bands.accepted_doc_types.notnull(),
        manual_forbidden=_flag(
            allowed.notnull() & ~allowed.contains(VerificationMethod.MANUAL.value)
        ),
        min_age=bands.min_age_without_guardian,
        face_score_min=bands.face_score_min,
        card_limit=bands.card_limit_per_enterprise,
    )


def _accepted_doc_types(bands: Table) -> Table:
    """One row per (band, accepted document type)."""
    return bands.select(
        accepted_band=bands.band_id, accepted_type=bands.accepted_doc_types.unnest()
    )


def _face_check_kinds(bands: Table) -> Table:
    """One row per (band, outlet kind where a face check is due).

    A face check is due when the outlet's kind is listed and a threshold is in force (as at
    the point of sale, :func:`mvnoguard.registry.rules.check_verification`).
    """
    due = bands.filter(bands.face_score_min.notnull())
    return due.select(face_band=due.band_id, face_kind=due.face_check_outlet_kinds.unnest())


def _flag(condition: BooleanValue) -> BooleanValue:
    return condition.fill_null(False)


def audit_expression(tables: AuditTables, policy: Policy, *, as_of: date) -> Table:
    """The whole audit as one expression: one row per enterprise, a column per kind."""
    s = tables.subscribers
    audited = s.filter(s.status.fill_null("") != SubscriberStatus.CANCELLED.value)
    rows = audited.select(
        "msisdn",
        "enterprise_code",
        "doc_type",
        "doc_check",
        "doc_token",
        "holder_age",
        "verification_method",
        "face_score",
        "outlet_code",
        "guardian_token",
        band=band_id_of(audited.activated_on, policy),
        prefix=audited.msisdn.substr(0, _PREFIX_DIGITS),
    )

    bands = tables.policy_bands
    rules = _band_rules(bands)
    over_limit = _over_card_limit(audited, rules, policy)
    accepted = _accepted_doc_types(bands)
    face_kinds = _face_check_kinds(bands)
    outlets = tables.outlets.select(
        outlet_key=tables.outlets.outlet_code,
        outlet_enterprise=tables.outlets.enterprise_code,
        outlet_kind=tables.outlets.kind,
        outlet_authorized=tables.outlets.authorized,
    )
    buckets = _block_buckets(tables.number_blocks)
    j = (
        rows.inner_join(rules, rows.band == rules.rule_band)
        .left_join(
            accepted,
            [rows.band == accepted.accepted_band, rows.doc_type == accepted.accepted_type],
        )
        .left_join(outlets, rows.outlet_code == outlets.outlet_key)
        .left_join(
            face_kinds,
            [rows.band == face_kinds.face_band, outlets.outlet_kind == face_kinds.face_kind],
        )
        .left_join(
            over_limit,
            [
                rows.enterprise_code == over_limit.limit_enterprise,
                rows.msisdn == over_limit.limit_msisdn,
            ],
        )
        .left_join(
            buckets,
            [
                rows.enterprise_code == buckets.block_enterprise,
                rows.prefix == buckets.bucket,
                buckets.block_first <= rows.msisdn,
                rows.msisdn <= buckets.block_last,
            ],
        )
    )

    deadline_passed = ibis.literal(catch_up_deadline_passed(policy, as_of))
    flags: dict[str, BooleanValue] = {
        ViolationKind.UNREGISTERED: j.doc_type.isnull() & (j.real_name_in_force | deadline_passed),
        ViolationKind.INVALID_DOCUMENT: j.doc_type.notnull()
        & j.real_name_in_force
        & ((j.doc_check.fill_null("") != "ok") | j.accepted_type.isnull()),
        ViolationKind.MANUAL_ENTRY: (j.verification_method == VerificationMethod.MANUAL.value)
        & j.manual_forbidden,
        ViolationKind.FACE_CHECK_MISSING: j.face_band.notnull()
        & (j.face_score.isnull() | (j.face_score < j.face_score_min)),
        ViolationKind.OVER_CARD_LIMIT: j.limit_msisdn.notnull(),
        ViolationKind.NUMBER_OUTSIDE_BLOCKS: j.block_first.isnull(),
        ViolationKind.UNAUTHORIZED_OUTLET: j.outlet_key.isnull()
        | ~j.outlet_authorized.fill_null(False)
        | (j.outlet_enterprise != j.enterprise_code),
        ViolationKind.MINOR_WITHOUT_GUARDIAN: (j.holder_age < j.min_age)
        & j.guardian_token.isnull(),
    }
    # Distinct counts without COUNT(DISTINCT): clean rows collapse into one group per
    # enterprise (key null), violating rows into one group per number. One hash aggregate
    # whose size is the number of violating numbers; COUNT(DISTINCT) per kind would hash
    # every row once per kind (DuckDB) or copy every row once per kind (Spark's Expand).
    any_violation = ibis.or_(*(_flag(flags[kind]) for kind in KINDS))
    judged = j.select(
        "enterprise_code",
        violating_number=ibis.ifelse(any_violation, j.msisdn, ibis.null("string")),
        **{kind: ibis.ifelse(_flag(flags[kind]), 1, 0) for kind in KINDS},
    )
    per_number = judged.group_by(["enterprise_code", "violating_number"]).aggregate(
        rows=judged.count(), **{kind: judged[kind].max() for kind in KINDS}
    )
    per_enterprise = per_number.group_by("enterprise_code").aggregate(
        audited=per_number.rows.sum(),
        violating=per_number.violating_number.count(),
        **{kind: per_number[kind].sum() for kind in KINDS},
    )

    # Every enterprise of the reference table, and any code found only in the registry.
    codes = tables.enterprises.select("enterprise_code").distinct()
    report = codes.outer_join(
        per_enterprise, codes.enterprise_code == per_enterprise.enterprise_code
    )
    return report.select(
        enterprise_code=ibis.coalesce(report.enterprise_code, report.enterprise_code_right),
        audited=report.audited.fill_null(0),
        violating=report.violating.fill_null(0),
        **{kind: report[kind].fill_null(0) for kind in KINDS},
    ).order_by("enterprise_code")


def _register_inputs(engine: Engine, store: RegistryStore, policy: Policy) -> dict[str, str]:
    names = {key: unique_name(key) for key in ("subscribers", *_REFERENCE_TABLES)}
    names["policy_bands"] = unique_name("policy_bands")
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
    return names


def compile_audit(policy: Policy, names: dict[str, str], *, dialect: str, as_of: date) -> str:
    """The audit's SQL for one engine dialect (``duckdb``, ``pyspark``)."""
    if dialect == "pyspark" and ibis.options.pyspark is None:
        # Ibis's pyspark compiler reads options that only its backend class registers.
        importlib.import_module("ibis.backends.pyspark").Backend.register_options()
    expression = audit_expression(AuditTables.named(names), policy, as_of=as_of)
    return str(ibis.to_sql(expression, dialect=dialect))


def audit_on(engine: Engine, store: RegistryStore, policy: Policy, *, as_of: date) -> AuditReport:
    """Run the audit on an open engine (see :func:`run_audit`)."""
    names = _register_inputs(engine, store, policy)
    try:
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
