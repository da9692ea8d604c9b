"""The market plan: every count decided before a single subscriber row is built.

:func:`plan_market` turns (scale, seed, as_of) into subscriber and cancelled-row counts per
enterprise (exact total of non-cancelled subscribers, long tail), planted defect counts per
enterprise and kind, the people who hold cards at several enterprises, the outlets, and the
number blocks. It is cheap (no rows), so the shape at scale 1.0 can be checked in a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray

from mvnoguard.domain.subscribers import OutletKind, ViolationKind

from .catalog import ENTERPRISES, KINDS, MARKET_USERS, EnterpriseSpec
from .numbers import Block, BlockTable, allocate_blocks
from .people import county_codes
from .vectors import IntArray, date_to_days

__all__ = ["FIRST_ACTIVATION", "OUTLET_KINDS", "EnterprisePlan", "MarketPlan", "plan_market"]

FIRST_ACTIVATION = date(2014, 1, 1)
OUTLET_KINDS = (OutletKind.OWN.value, OutletKind.AGENT.value, OutletKind.ONLINE.value)
OWN, AGENT, ONLINE = 0, 1, 2
_OUTLET_LETTER = ("S", "A", "W")

# Share of each kind in an enterprise's planted defects (KINDS order), before per-enterprise
# variation.
_KIND_BASE = {
    ViolationKind.UNREGISTERED: 0.18,
    ViolationKind.INVALID_DOCUMENT: 0.12,
    ViolationKind.MANUAL_ENTRY: 0.15,
    ViolationKind.FACE_CHECK_MISSING: 0.20,
    ViolationKind.OVER_CARD_LIMIT: 0.07,
    ViolationKind.NUMBER_OUTSIDE_BLOCKS: 0.07,
    ViolationKind.UNAUTHORIZED_OUTLET: 0.12,
    ViolationKind.MINOR_WITHOUT_GUARDIAN: 0.09,
}
# The largest market the generator makes (people ids run out at about 6).
MAX_SCALE = 4.0
_SPREAD_SHARE = 0.003  # people with cards at 2-4 enterprises, per subscriber
_SPREAD_CAP = 0.15  # at most this share of an enterprise's subscribers are theirs
_SUBSCRIBERS_PER_OUTLET = 1500


@dataclass(frozen=True, slots=True)
class Outlets:
    """Every outlet of the market; an enterprise's outlets are one contiguous slice."""

    codes: tuple[str, ...]
    enterprise: tuple[str, ...]
    kind: NDArray[np.int8]
    region: IntArray
    authorized: NDArray[np.bool_]


@dataclass
class EnterprisePlan:
    spec: EnterpriseSpec
    live: int = 0
    cancelled: int = 0
    defects: dict[ViolationKind, int] = field(default_factory=dict)
    spread_ids: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    spread_cards: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    outlets: slice = field(default_factory=lambda: slice(0, 0))
    lender: str | None = None
    first_day: int = 0  # epoch day of the first possible activation
    last_day: int = 0  # the as-of day

    @property
    def code(self) -> str:
        return self.spec.code

    @property
    def rows(self) -> int:
        return self.live + self.cancelled


@dataclass
class MarketPlan:
    seed: int
    scale: float
    as_of: date
    enterprises: list[EnterprisePlan]
    outlets: Outlets
    blocks: list[Block]
    tables: dict[str, BlockTable]
    first_free_id: int  # person ids below this are the spread people

    @property
    def users_total(self) -> int:
        return sum(e.live for e in self.enterprises)


def _apportion(total: int, weights: NDArray[np.float64], minimum: int) -> IntArray:
    """Integers proportional to ``weights`` summing to ``total`` (largest remainder)."""
    raw = total * weights / weights.sum()
    out: IntArray = np.floor(raw).astype(np.int64)
    order = np.lexsort((np.arange(raw.size), -(raw - out)))
    out[order[: total - int(out.sum())]] += 1
    while (out < minimum).any():  # give the smallest their minimum, from the largest
        low, high = int(np.argmin(out)), int(np.argmax(out))
        out[low] += 1
        out[high] -= 1
    return out


def _spread(plans: list[EnterprisePlan], total: int, rng: np.random.Generator) -> int:
    """People with up to 5 cards at each of 2-4 enterprises; returns how many ids they use."""
    people = round(total * _SPREAD_SHARE)
    live = np.array([p.live for p in plans], dtype=np.float64)
    if people == 0 or live.size < 2:
        return 0
    k = rng.choice([2, 3, 4], size=people, p=[0.6, 0.3, 0.1])
    keys = np.log(live)[None, :] + rng.gumbel(size=(people, live.size))
    top = np.argsort(-keys, axis=1, kind="stable")[:, :4]
    cards = rng.choice([1, 2, 3, 4, 5], size=(people, 4), p=[0.35, 0.25, 0.15, 0.12, 0.13])
    for j, plan in enumerate(plans):
        holders, column = np.nonzero((top == j) & (np.arange(4)[None, :] < k[:, None]))
        n = cards[holders, column]
        keep = np.cumsum(n) <= int(_SPREAD_CAP * plan.live)
        plan.spread_ids = holders[keep].astype(np.int64)
        plan.spread_cards = n[keep].astype(np.int64)
    return people


def _defects(plan: EnterprisePlan, rng: np.random.Generator) -> None:
    if plan.spec.defect_rate is not None:
        rate = plan.spec.defect_rate * rng.uniform(0.9, 1.1)
    else:
        rate = float(np.exp(rng.uniform(np.log(0.005), np.log(0.05))))
    base = np.array([_KIND_BASE[k] for k in KINDS])
    shares = rng.dirichlet(6 * base / base.sum())
    counts = rng.binomial(plan.live, rate * shares)
    if plan.live >= 2000:  # the bigger enterprises show every kind
        counts = np.maximum(counts, 1)
    plan.defects = {k: int(c) for k, c in zip(KINDS, counts, strict=True)}


def _outlets(plans: list[EnterprisePlan], rng: np.random.Generator) -> Outlets:
    regions = county_codes()
    provinces = np.unique(regions // 10_000)
    codes: list[str] = []
    owners: list[str] = []
    kinds: list[NDArray[np.int8]] = []
    where: list[IntArray] = []
    authorized: list[NDArray[np.bool_]] = []
    for plan in plans:
        n = max(8, round(plan.live / _SUBSCRIBERS_PER_OUTLET))
        online = 2 + int(n > 300) + int(n > 1500)
        own = max(2, round(0.08 * n))
        agent = n - own - online
        kind = np.repeat(np.array([OWN, AGENT, ONLINE], dtype=np.int8), [own, agent, online])
        bad_share = 0.15 if plan.spec.defect_rate is not None else 0.04
        ok = np.ones(n, dtype=bool)
        unauthorized = max(1, int(rng.binomial(agent, bad_share)))
        ok[own + rng.choice(agent - 2, size=min(unauthorized, agent - 2), replace=False)] = False
        if plan.spec.defect_rate is not None or rng.random() < 0.4:
            ok[n - 1] = False  # an online shop selling without authorisation
        home = rng.choice(provinces, size=int(rng.integers(2, 9)), replace=False)
        local = regions[np.isin(regions // 10_000, home)]
        where.append(local[rng.integers(0, local.size, size=n)])
        serial = np.concatenate([np.arange(1, c + 1) for c in (own, agent, online)])
        codes.extend(
            f"{plan.code}-{_OUTLET_LETTER[k]}{s:05d}" for k, s in zip(kind, serial, strict=True)
        )
        owners.extend([plan.code] * n)
        start = len(codes) - n
        plan.outlets = slice(start, start + n)
        kinds.append(kind)
        authorized.append(ok)
    return Outlets(
        codes=tuple(codes),
        enterprise=tuple(owners),
        kind=np.concatenate(kinds),
        region=np.concatenate(where),
        authorized=np.concatenate(authorized),
    )


def plan_market(scale: float, seed: int, as_of: date) -> MarketPlan:
    """Counts, outlets and blocks of the market at ``scale``; deterministic in ``seed``."""
    if not scale > 0:
        raise ValueError("scale must be positive")
    if scale > MAX_SCALE:
        # Beyond it people ids and number segments run out, and memory long before them.
        raise ValueError(
            f"scale {scale:g} too large: at most {MAX_SCALE:g} "
            f"(about {round(MARKET_USERS * MAX_SCALE):,} subscribers)"
        )
    total = round(MARKET_USERS * scale)
    issuing = [s for s in ENTERPRISES if s.issuing]
    if total < len(issuing):
        raise ValueError(f"scale {scale} too small: fewer subscribers than issuing enterprises")
    rng = np.random.default_rng([seed, 0x504C414E])
    plans = [EnterprisePlan(spec) for spec in ENTERPRISES]
    active = [p for p in plans if p.spec.issuing]
    sizes = _apportion(total, np.array([p.spec.weight for p in active]), 1)
    for plan, size in zip(active, sizes, strict=True):
        plan.live = int(size)
        plan.cancelled = round(float(size) * rng.uniform(0.05, 0.10))
        launch = max(FIRST_ACTIVATION, plan.spec.approved_on + timedelta(days=45))
        if launch > as_of - timedelta(days=60):
            raise ValueError(f"as_of {as_of} leaves {plan.code} no time to sign anyone up")
        plan.first_day, plan.last_day = date_to_days(launch), date_to_days(as_of)
        _defects(plan, rng)
    first_free_id = _spread(active, total, rng)
    outlets = _outlets(active, rng)
    for plan in active:
        same = [p.code for p in active if p.spec.host_network is plan.spec.host_network]
        others = [c for c in same if c != plan.code] or [p.code for p in active if p is not plan]
        plan.lender = str(rng.choice(others)) if others else None
    needs = {p.code: (p.spec.host_network, p.rows, int(0.2 * p.rows) + 100) for p in active}
    blocks, tables = allocate_blocks(needs, rng, seed)
    return MarketPlan(
        seed=seed,
        scale=scale,
        as_of=as_of,
        enterprises=plans,
        outlets=outlets,
        blocks=blocks,
        tables=tables,
        first_free_id=first_free_id,
    )
