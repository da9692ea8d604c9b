"""Inspection planning: how many outlets to inspect per enterprise, and which.

Per enterprise, the sample is sized to estimate its violation rate within ``margin`` at the
given ``confidence`` (with the finite-population correction: an enterprise with 40 outlets
needs far fewer than 385 inspections), then split over its strata (own shops, agents, online
channels) in proportion to their size and drawn at random without replacement.

An enterprise that did worse last round gets more inspections: its previous violation rate is
the expected rate ``p`` of the size formula, and ``p(1 - p)`` grows up to ``p = 0.5``. An
enterprise never inspected gets ``p = 0.5``, the largest sample.

The draw is reproducible: each stratum's generator is seeded from the text
``"{seed}|{period}|{enterprise_code}|{kind}"`` through SHA-256, and outlets are sorted by code
before drawing, so one seed and one period (the round's) give one plan whatever the order of the
input and whatever the other enterprises. The period is in the inspection ids too, so the next
round's plan draws afresh and its ids never collide with the last round's (a result imported
under a known id with other results is quarantined). The plan is written as a CSV in the
inspections contract's columns, for inspectors to fill in and for ``inspections import`` to read
back.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mvnoguard.domain.subscribers import OutletKind
from mvnoguard.errors import InvalidInput
from mvnoguard.output_paths import write_csv
from mvnoguard.supervision.intervals import check_confidence, z_for
from mvnoguard.supervision.periods import Period

PLAN_COLUMNS = (
    "inspection_id",
    "enterprise_code",
    "outlet_code",
    "kind",
    "region_code",
    "inspected_on",
    "outcome",
    "violations",
)

# The finest margin asked for: 0.01 percentage point already needs about 96 million outlets
# inspected; far finer ones overflow the formula's floats (1e-160 squared is 0, or subnormal).
MIN_MARGIN = 0.0001
# A size computed as 86.0000000001 is 86: floating error must not cost an inspection.
_CEIL_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class OutletRef:
    """An outlet as the planner needs it (a row of the outlets contract).

    ``kind`` given as text (``"agent"``) is turned into the :class:`OutletKind`; ``region_code``
    may be missing (``None``), which the plan file writes as an empty cell.
    """

    outlet_code: str
    enterprise_code: str
    kind: OutletKind
    region_code: str | None

    def __post_init__(self) -> None:
        # Rows read from CSV carry the kind as text; the plan needs the enum.
        try:
            kind = OutletKind(self.kind)
        except ValueError as exc:
            raise InvalidInput(
                f"outlet {self.outlet_code}: unknown kind {self.kind!r}", field="kind"
            ) from exc
        object.__setattr__(self, "kind", kind)


@dataclass(frozen=True, slots=True)
class PlannedInspection:
    """One line of an inspection plan: which outlet to visit, under which id."""

    inspection_id: str
    enterprise_code: str
    outlet_code: str
    kind: OutletKind
    region_code: str | None


def sample_size(
    population: int, *, margin: float, confidence: float, expected_rate: float = 0.5
) -> int:
    """Outlets to inspect among ``population`` to estimate a rate within ``margin``.

    ``n0 = z² p (1 - p) / e²`` (Cochran; ``z = z_for(confidence)``, ``p = expected_rate``,
    ``e = margin``), then the finite-population correction ``n = n0 / (1 + (n0 - 1) / N)``,
    rounded up and capped at ``N``; 0 when ``N`` is 0. ``margin`` lies in [:data:`MIN_MARGIN`,
    1). (This is the Krejcie & Morgan table's
    formula ``N z² p q / (e² (N - 1) + z² p q)``.)
    """
    if isinstance(population, bool) or not isinstance(population, int) or population < 0:
        raise InvalidInput(
            f"population must be a whole number >= 0, got {population!r}", field="population"
        )
    _check_margin(margin)
    if not 0.0 < expected_rate < 1.0:
        raise InvalidInput(
            f"expected_rate must lie strictly between 0 and 1, got {expected_rate!r}",
            field="expected_rate",
        )
    z = z_for(confidence)
    if population == 0:
        return 0
    n0 = z * z * expected_rate * (1.0 - expected_rate) / (margin * margin)
    corrected = n0 / (1.0 + (n0 - 1.0) / population)
    return min(population, math.ceil(corrected - _CEIL_TOLERANCE))


def _check_margin(margin: float) -> None:
    if not MIN_MARGIN <= margin < 1.0:  # NaN fails too
        raise InvalidInput(
            f"margin must lie from {MIN_MARGIN} up to (not including) 1, got {margin!r}",
            field="margin",
        )


def allocate_to_strata(n: int, sizes: Mapping[OutletKind, int]) -> dict[OutletKind, int]:
    """Split ``n`` inspections over strata in proportion to their ``sizes``.

    Largest remainder: each stratum gets ``floor(n * size / total)``, and the inspections left
    go one each to the largest fractional parts (ties: larger stratum, then
    :class:`OutletKind` order). When ``n`` is at least the number of non-empty strata, a
    non-empty stratum left with none takes one from the stratum with the most, so every
    channel is seen. No stratum gets more than its size; the allocations sum to ``n``.
    """
    if any(size < 0 for size in sizes.values()):
        raise InvalidInput("stratum sizes must be >= 0", field="sizes")
    total = sum(sizes.values())
    if not 0 <= n <= total:
        raise InvalidInput(f"cannot allocate {n} inspections among {total} outlets", field="n")
    order = [kind for kind in OutletKind if kind in sizes]
    if n == 0:
        return dict.fromkeys(order, 0)
    allocation = {kind: n * sizes[kind] // total for kind in order}
    by_remainder = sorted(order, key=lambda k: (-(n * sizes[k] % total), -sizes[k], order.index(k)))
    for kind in by_remainder[: n - sum(allocation.values())]:
        allocation[kind] += 1
    non_empty = [kind for kind in order if sizes[kind] > 0]
    if n >= len(non_empty):
        for kind in non_empty:
            if allocation[kind] == 0:
                donor = max(order, key=lambda k: (allocation[k], sizes[k], -order.index(k)))
                allocation[donor] -= 1
                allocation[kind] = 1
    return allocation


def plan_inspections(
    outlets: Sequence[OutletRef],
    *,
    margin: float,
    confidence: float,
    seed: int,
    period: Period,
    previous_rates: Mapping[str, float] | None = None,
    floor_rate: float = 0.05,
) -> list[PlannedInspection]:
    """A stratified random inspection plan for the round of ``period``, reproducible for
    ``seed`` and ``period``.

    For each enterprise: ``p`` is its previous violation rate clipped to
    ``[floor_rate, 0.5]`` (0.5 when it has none), ``n = sample_size(its outlets, margin,
    confidence, p)``, :func:`allocate_to_strata` splits ``n`` over own/agent/online, and each
    stratum's outlets are drawn without replacement. The plan is ordered by enterprise, then
    stratum, then outlet code; ids are ``P{seed}-{period}-{enterprise_code}-{i:04d}``, ``i`` from
    1 within each enterprise.
    """
    _check_margin(margin)  # even when there is no outlet to size a sample for
    check_confidence(confidence)
    if not 0.0 < floor_rate <= 0.5:
        raise InvalidInput(
            f"floor_rate must lie in (0, 0.5], got {floor_rate!r}", field="floor_rate"
        )
    previous = dict(previous_rates or {})
    for enterprise_code, rate in previous.items():
        if not 0.0 <= rate <= 1.0:
            raise InvalidInput(
                f"previous rate of {enterprise_code} must lie in [0, 1], got {rate!r}",
                field="previous_rates",
            )
    strata = _strata_by_enterprise(outlets)
    plan: list[PlannedInspection] = []
    for enterprise_code in sorted(strata):
        by_kind = strata[enterprise_code]
        last_rate = previous.get(enterprise_code)
        p = 0.5 if last_rate is None else min(0.5, max(floor_rate, last_rate))
        n = sample_size(
            sum(len(group) for group in by_kind.values()),
            margin=margin,
            confidence=confidence,
            expected_rate=p,
        )
        allocation = allocate_to_strata(n, {kind: len(group) for kind, group in by_kind.items()})
        chosen: list[OutletRef] = []
        for kind, group in by_kind.items():
            rng = _stratum_rng(seed, period.label, enterprise_code, kind)
            drawn = rng.sample(group, allocation[kind])
            chosen.extend(sorted(drawn, key=lambda outlet: outlet.outlet_code))
        plan.extend(
            PlannedInspection(
                inspection_id=f"P{seed}-{period.label}-{enterprise_code}-{i:04d}",
                enterprise_code=enterprise_code,
                outlet_code=outlet.outlet_code,
                kind=outlet.kind,
                region_code=outlet.region_code,
            )
            for i, outlet in enumerate(chosen, start=1)
        )
    return plan


def write_plan_csv(plan: Sequence[PlannedInspection], path: Path) -> None:
    """Write ``plan`` as UTF-8 CSV; ``inspected_on``, ``outcome`` and ``violations`` are left
    empty for the inspector. ``kind`` and ``region_code`` are there to guide the visit."""
    rows = (
        (
            item.inspection_id,
            item.enterprise_code,
            item.outlet_code,
            item.kind.value,
            item.region_code or "",
            "",
            "",
            "",
        )
        for item in plan
    )
    write_csv(path, PLAN_COLUMNS, rows)


def _strata_by_enterprise(
    outlets: Sequence[OutletRef],
) -> dict[str, dict[OutletKind, list[OutletRef]]]:
    """Outlets grouped by enterprise and kind (in :class:`OutletKind` order), sorted by code."""
    seen: set[str] = set()
    strata: dict[str, dict[OutletKind, list[OutletRef]]] = {}
    for outlet in sorted(outlets, key=lambda o: o.outlet_code):
        if outlet.outlet_code in seen:
            raise InvalidInput(
                f"outlet {outlet.outlet_code} appears more than once", field="outlet_code"
            )
        seen.add(outlet.outlet_code)
        by_kind = strata.setdefault(outlet.enterprise_code, {})
        by_kind.setdefault(outlet.kind, []).append(outlet)
    return {
        code: {kind: by_kind[kind] for kind in OutletKind if kind in by_kind}
        for code, by_kind in strata.items()
    }


def _stratum_rng(seed: int, period: str, enterprise_code: str, kind: OutletKind) -> random.Random:
    # Seeding with an int derived through SHA-256 is stable across runs and Python versions,
    # unlike hash() of a str, which is salted per process.
    text = f"{seed}|{period}|{enterprise_code}|{kind.value}"
    digest = hashlib.sha256(text.encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311 - sampling, not secrets
