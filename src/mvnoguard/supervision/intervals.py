"""Violation rates with Wilson score intervals, tiers that claim no more than the data, trends.

An inspection round sees a sample of outlets, so a violation rate is an estimate; the Wilson
score interval (not the normal "Wald" interval) says how sure it is. Wilson stays inside [0, 1],
and an enterprise with 0 violations gets ``[0, high]`` with ``high > 0`` rather than the
Wald interval's absurd ``[0, 0]``: finding nothing in 12 outlets does not prove there is
nothing to find.

The ranking and trend rules here only call two rates different when their intervals do not
overlap. That is a conservative reading (two 95% intervals can overlap while the difference is
still significant at 5%), chosen because a notice of criticism must not rest on noise.

This module is pure arithmetic: it never reads files, databases or settings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

from mvnoguard.errors import InvalidInput

DEFAULT_CONFIDENCE = 0.95

Trend = Literal["worse", "better", "unchanged", "new"]


def check_confidence(confidence: float) -> None:
    """Refuse a confidence level outside the open interval (0, 1)."""
    if not 0.0 < confidence < 1.0:
        raise InvalidInput(
            f"confidence must lie strictly between 0 and 1, got {confidence!r}",
            field="confidence",
        )


def z_for(confidence: float) -> float:
    """The two-sided standard normal quantile: ``z_for(0.95)`` is 1.9599639845400536."""
    check_confidence(confidence)
    return NormalDist().inv_cdf((1.0 + confidence) / 2.0)


def wilson_interval(
    successes: int, trials: int, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float]:
    """The Wilson score interval ``(low, high)`` for ``successes`` out of ``trials``.

    With ``p = successes / trials``, ``n = trials`` and ``z = z_for(confidence)``::

        centre = (p + z²/(2n)) / (1 + z²/n)
        half   = z / (1 + z²/n) * sqrt(p(1 - p)/n + z²/(4n²))
        (low, high) = (centre - half, centre + half)

    Zero trials say nothing: ``(0.0, 1.0)``. ``low`` is exactly 0.0 when ``successes`` is 0
    and ``high`` exactly 1.0 when ``successes == trials``; otherwise the interval lies
    strictly inside [0, 1] and contains ``p``.
    """
    _check_count("trials", trials)
    _check_count("successes", successes)
    if successes > trials:
        raise InvalidInput(
            f"successes ({successes}) cannot exceed trials ({trials})", field="successes"
        )
    z = z_for(confidence)
    if trials == 0:
        return (0.0, 1.0)
    n = float(trials)
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    # Clamp against rounding only: mathematically 0 <= low <= p <= high <= 1 already.
    low = 0.0 if successes == 0 else min(p, max(0.0, centre - half))
    high = 1.0 if successes == trials else max(p, min(1.0, centre + half))
    return (low, high)


@dataclass(frozen=True, slots=True)
class Rate:
    """A violation rate of one enterprise (or outlet, region...) in one round.

    ``rate`` is ``violations / inspected``, or ``None`` when nothing was inspected (whose
    interval is then the whole ``[0, 1]``). These are the fields of ``violations --json``.
    """

    label: str
    violations: int
    inspected: int
    rate: float | None
    ci_low: float
    ci_high: float

    def overlaps(self, other: Rate) -> bool:
        """Whether the two intervals share a point (touching intervals overlap)."""
        return self.ci_low <= other.ci_high and other.ci_low <= self.ci_high


def rate_of(
    label: str, violations: int, inspected: int, confidence: float = DEFAULT_CONFIDENCE
) -> Rate:
    """The :class:`Rate` of ``violations`` found among ``inspected`` outlets."""
    low, high = wilson_interval(violations, inspected, confidence)
    rate = violations / inspected if inspected else None
    return Rate(label, violations, inspected, rate, low, high)


def tiers(rates: Sequence[Rate]) -> dict[str, int]:
    """Group enterprises into tiers 1, 2, ... from the worst violation rate down.

    Tiers are the connected groups of overlapping intervals: two enterprises whose intervals
    overlap, directly or through a chain of overlapping neighbours, share a tier. So the
    ranking never claims two enterprises differ when their intervals overlap, and any two
    enterprises in different tiers have disjoint intervals, every member of a tier lying wholly
    above every member of the next. Chains of overlaps can make a tier wide: that is the
    honest answer when the data cannot separate them.

    Enterprises with nothing inspected have no rate and get no tier. Returns
    ``{label: tier}``, iterating in ranking order (rate descending, then label). Labels must be
    distinct.
    """
    labels = [rate.label for rate in rates]
    if len(set(labels)) != len(labels):
        raise InvalidInput("every rate needs a distinct label to be ranked", field="label")
    measured = [rate for rate in rates if rate.inspected > 0]
    # Sweep from the highest upper bound down: a rate joins the current group while its upper
    # bound reaches the lowest lower bound seen in the group so far.
    by_top = sorted(measured, key=lambda r: (-r.ci_high, -r.ci_low, r.label))
    group_of: dict[str, int] = {}
    group = 0
    floor = 2.0
    for rate in by_top:
        if rate.ci_high < floor:
            group += 1
            floor = rate.ci_low
        else:
            floor = min(floor, rate.ci_low)
        group_of[rate.label] = group
    return {rate.label: group_of[rate.label] for rate in sorted(measured, key=_ranking_key)}


def trend(current: Rate, previous: Rate | None) -> Trend:
    """How ``current`` compares with the same enterprise's ``previous`` period.

    ``"new"`` when there is no previous measurement (``None`` or nothing inspected);
    ``"worse"`` when the current interval lies wholly above the previous one, ``"better"``
    when wholly below; otherwise (overlapping intervals) ``"unchanged"``.
    """
    if previous is None or previous.inspected == 0:
        return "new"
    if current.ci_low > previous.ci_high:
        return "worse"
    if current.ci_high < previous.ci_low:
        return "better"
    return "unchanged"


def _ranking_key(rate: Rate) -> tuple[bool, float, str]:
    return (rate.rate is None, -(rate.rate or 0.0), rate.label)


def _check_count(name: str, value: int) -> None:
    # bool is an int subclass; True successes out of 3 trials is a caller's bug, not a count.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{name} must be a whole number >= 0, got {value!r}", field=name)
