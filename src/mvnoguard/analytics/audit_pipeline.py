"""The registry audit as one Ibis expression: the single definition every engine runs.

:func:`audit_expression` turns the imported registry (subscribers, enterprises, number
blocks, outlets: the schemas of :mod:`mvnoguard.analytics.store`) and the policy bands into
one row per enterprise with ``audited``, ``violating`` and a count per kind;
:func:`compile_audit` gives its SQL for DuckDB or Spark. It never touches an engine or a file,
and nothing in it depends on which engine runs it.

How it stays fast at 20 million rows (each choice is measured against the hand-written DuckDB
query of :mod:`mvnoguard.analytics.audit_baseline`):

* every join is an equality join against a small table (policy bands, accepted document
  types, face-check outlet kinds, outlets, over-limit numbers, block prefixes), so each is
  one hash probe per row, on DuckDB and as a broadcast join on Spark;
* the card limit ranks only the cards of identities holding more than the lowest limit,
  instead of a window over the whole registry;
* distinct numbers are counted without ``COUNT(DISTINCT)`` (see :func:`audit_expression`).

Where the contract leaves a case open, the audit decides as the point of sale does
(:mod:`mvnoguard.registry.rules`):

* a row with no status is audited (only ``cancelled`` is not);
* ``invalid_document`` is judged only where the document rules (``accepted_doc_types``) are
  in force, like ``unregistered`` before the catch-up deadline; a recorded document without
  a check code counts as not validated, hence invalid;
* ``face_check_missing`` needs both the outlet kinds and a threshold in force; an unknown
  outlet is not judged for it (that number is ``unauthorized_outlet``);
* a row with no outlet code has an unknown outlet: ``unauthorized_outlet``;
* ``minor_without_guardian`` is not judged when the holder's age is unknown;
* a number with two rows is one number: it counts once in ``violating`` and once per kind.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import ibis

from mvnoguard.analytics import store as registry_files
from mvnoguard.analytics.policy_bands import band_id_of, bands_schema, policy_bands
from mvnoguard.domain.subscribers import SubscriberStatus, VerificationMethod, ViolationKind

if TYPE_CHECKING:
    from ibis.expr.types import BooleanValue, Table

    from mvnoguard.domain.policy import Policy

__all__ = [
    "INPUT_TABLES",
    "KINDS",
    "AuditTables",
    "audit_expression",
    "catch_up_deadline_passed",
    "compile_audit",
]

KINDS: tuple[str, ...] = tuple(kind.value for kind in ViolationKind)
"""Every audit kind, in the contract's order; each report lists all of them."""

INPUT_TABLES = ("subscribers", "enterprises", "number_blocks", "outlets", "policy_bands")
"""The names :class:`AuditTables` binds; the engine registers one table under each."""

_PREFIX_DIGITS = 7  # numbers are bucketed by their first 7 digits to find their block


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


def compile_audit(policy: Policy, names: dict[str, str], *, dialect: str, as_of: date) -> str:
    """The audit's SQL for one engine dialect (``duckdb``, ``pyspark``)."""
    if dialect == "pyspark" and ibis.options.pyspark is None:
        # Ibis's pyspark compiler reads options that only its backend class registers.
        importlib.import_module("ibis.backends.pyspark").Backend.register_options()
    expression = audit_expression(AuditTables.named(names), policy, as_of=as_of)
    return str(ibis.to_sql(expression, dialect=dialect))
