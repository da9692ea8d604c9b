"""The dated policy as a small table of date bands, for pipelines that join rules onto rows.

Between two consecutive change dates of a :class:`~mvnoguard.domain.policy.Policy` no rule
changes, so the whole policy history is a handful of half-open bands ``[band_start,
band_end)``, each carrying the :class:`~mvnoguard.domain.policy.RuleSet` in force as columns.
Band 0 runs from the beginning of time to the first change date (usually no rule is in
force there); the last band runs to the end of time (``band_end`` null). A rule that is
``None`` in a band is a null cell, and the pipelines do not apply it to rows of that band.

Rows find their band through :func:`band_id_of`, a ``CASE`` over the change dates, and then an
equality join on ``band_id``: a hash join against a table of a few rows costs next to nothing
on every engine, where a range join on ``[band_start, band_end)`` makes DuckDB sort the whole
registry. This module only describes; it never reads files or talks to an engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import ibis
import pyarrow as pa

from mvnoguard.domain.policy import Policy, RuleSet

if TYPE_CHECKING:
    from ibis.expr.types import DateValue, IntegerValue

__all__ = [
    "BAND_COLUMNS",
    "PolicyBand",
    "band_id_of",
    "bands_arrow",
    "bands_schema",
    "policy_bands",
]


@dataclass(frozen=True, slots=True)
class PolicyBand:
    """The rules in force on every date of ``[start, end)``; ``None`` bounds are open."""

    band_id: int
    start: date | None
    end: date | None
    rules: RuleSet


def policy_bands(policy: Policy) -> list[PolicyBand]:
    """Band 0 before the first change date, then one band per change date."""
    changes = policy.change_dates()
    bounds: list[date | None] = [None, *changes, None]
    bands = [PolicyBand(0, None, bounds[1], RuleSet())]
    for i, start in enumerate(changes, start=1):
        bands.append(PolicyBand(i, start, bounds[i + 1], policy.at(start)))
    return bands


def _sorted_or_none(values: frozenset[str] | None) -> list[str] | None:
    return None if values is None else sorted(values)


# The rule columns the registry audit reads, with their types (arrow and ibis must agree).
_LIST = pa.list_(pa.string())
BAND_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("band_id", pa.int32()),
    ("band_start", pa.date32()),
    ("band_end", pa.date32()),
    ("accepted_doc_types", _LIST),
    ("allowed_verification_methods", _LIST),
    ("min_age_without_guardian", pa.int32()),
    ("face_score_min", pa.float64()),
    ("face_check_outlet_kinds", _LIST),
    ("card_limit_per_enterprise", pa.int32()),
)
_ARROW_SCHEMA = pa.schema(list(BAND_COLUMNS))


def bands_arrow(policy: Policy) -> pa.Table:
    """The band table to register on an engine (a few rows)."""
    rows = [
        {
            "band_id": band.band_id,
            "band_start": band.start,
            "band_end": band.end,
            "accepted_doc_types": _sorted_or_none(band.rules.accepted_doc_types),
            "allowed_verification_methods": _sorted_or_none(
                band.rules.allowed_verification_methods
            ),
            "min_age_without_guardian": band.rules.min_age_without_guardian,
            "face_score_min": band.rules.face_score_min,
            "face_check_outlet_kinds": _sorted_or_none(band.rules.face_check_outlet_kinds),
            "card_limit_per_enterprise": band.rules.card_limit_per_enterprise,
        }
        for band in policy_bands(policy)
    ]
    return pa.Table.from_pylist(rows, schema=_ARROW_SCHEMA)


def bands_schema() -> ibis.Schema:
    """The ibis schema of :func:`bands_arrow`'s table."""
    return ibis.Schema.from_pyarrow(_ARROW_SCHEMA)


def band_id_of(activated_on: DateValue, policy: Policy) -> IntegerValue:
    """The band of a date: 0 before the first change date, ``i`` from the ``i``-th on.

    A null date falls in band 0 with the rule-less beginning of time: no dated rule applies
    to a number whose activation date is unknown, but every row keeps a band to join on.
    """
    changes = policy.change_dates()
    if not changes:
        return ibis.literal(0, "int32")
    # Latest change first: the first true branch is the band the date falls in.
    branches = [
        (activated_on >= ibis.literal(start), ibis.literal(i, "int32"))
        for i, start in reversed(list(enumerate(changes, start=1)))
    ]
    return ibis.cases(*branches, else_=ibis.literal(0, "int32"))
