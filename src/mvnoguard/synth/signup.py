"""Where and how each card was signed up, and which number it got.

:func:`sign_up` completes the rows :mod:`.holders` laid out: the sign-up defects (missing face
check, manual entry, unauthorised outlet, number outside the enterprise's blocks) on the
planned number of live rows and, as look-alikes, on some cancelled ones; the outlet, face
score, verification method, status, number, guardian and agent of every row. Rows at
physical outlets carry a passing face score unless flagged, rows at unauthorised outlets
always do (so the two defects never hinge on an outlet's kind), and every number lies in the
enterprise's own blocks unless flagged.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from mvnoguard.domain.subscribers import ViolationKind

from .catalog import KINDS
from .numbers import BlockTable, OutsidePools
from .plan import AGENT, ONLINE, OWN, EnterprisePlan, MarketPlan
from .rows import BIT, CANCELLED, IdCounter, Role, Rows, choose
from .vectors import IntArray

__all__ = ["sign_up"]

_READER, _ONLINE_CHECK, _MANUAL, _NONE = 0, 1, 2, 3  # indexes into rows.VERIFICATIONS
_EVENT_ROLES = (
    Role.REGULAR,
    Role.INVALID,
    Role.MINOR,
    Role.MINOR_GUARDED,
    Role.AGE_16,
    Role.AGE_15,
)
_UNKNOWN = -1  # outlet kind of a code no outlet table knows


def _events(
    rng: np.random.Generator,
    pool: NDArray[np.bool_],
    unregistered: NDArray[np.bool_],
    counts: dict[ViolationKind, int],
) -> dict[ViolationKind, NDArray[np.bool_]]:
    """Rows given each sign-up defect, drawn from ``pool`` (outside numbers also from the
    unregistered rows). Face and outlet defects never share a row (a row at an unauthorised
    outlet always has a passing face score, whatever its kind); some manual entries go with
    missing face checks and some outside numbers with unauthorised outlets, so that violating
    numbers are fewer than violations."""
    rows = np.flatnonzero(pool)
    face = choose(rng, rows, counts[ViolationKind.FACE_CHECK_MISSING])
    rest_mask = pool.copy()
    rest_mask[face] = False
    rest = np.flatnonzero(rest_mask)
    outlet = choose(rng, rest, counts[ViolationKind.UNAUTHORIZED_OUTLET])
    n = counts[ViolationKind.MANUAL_ENTRY]
    with_face = min(round(0.4 * n), face.size)
    manual = [choose(rng, face, with_face), choose(rng, rest, n - with_face)]
    n = counts[ViolationKind.NUMBER_OUTSIDE_BLOCKS]
    with_outlet = min(round(0.1 * n), outlet.size)
    others = pool | unregistered
    others[outlet] = False
    outside = [
        choose(rng, outlet, with_outlet),
        choose(rng, np.flatnonzero(others), n - with_outlet),
    ]
    picked = {
        ViolationKind.FACE_CHECK_MISSING: [face],
        ViolationKind.UNAUTHORIZED_OUTLET: [outlet],
        ViolationKind.MANUAL_ENTRY: manual,
        ViolationKind.NUMBER_OUTSIDE_BLOCKS: outside,
    }
    out = {}
    for kind, parts in picked.items():
        flags = np.zeros(pool.size, dtype=bool)
        for part in parts:
            flags[part] = True
        out[kind] = flags
    return out


def sign_up(
    cols: dict[str, IntArray],
    plan: EnterprisePlan,
    market: MarketPlan,
    ids: IdCounter,
    pools: OutsidePools,
    rng: np.random.Generator,
) -> tuple[Rows, list[str], dict[str, int]]:
    """The rows (in layout order), the outlet codes their ``outlet`` indexes, and counts of
    the look-alikes among them."""
    role = cols["role"]
    n = role.size
    live = cols["canc"] < 0
    mask = cols["mask"].astype(np.uint8)
    unreg = role == Role.UNREGISTERED

    # Sign-up defects, on live rows (audited) and on cancelled ones (look-alikes).
    eventful = np.isin(role, [int(r) for r in _EVENT_ROLES])
    live_events = _events(rng, live & eventful, live & unreg, plan.defects)
    churned = ~live & np.isin(role, [Role.ATTACHED, Role.CHURNED])
    look_alike = {k: int(rng.binomial(int(churned.sum()), 0.02)) for k in KINDS}
    dead_events = _events(rng, churned, ~live & unreg, look_alike)
    flagged = {}
    for violation in KINDS:
        if violation in live_events:
            flagged[violation] = live_events[violation] | dead_events[violation]
            mask[flagged[violation]] |= BIT[violation]
    face_bad = flagged[ViolationKind.FACE_CHECK_MISSING]
    outlet_bad = flagged[ViolationKind.UNAUTHORIZED_OUTLET]
    manual = flagged[ViolationKind.MANUAL_ENTRY]
    outside = flagged[ViolationKind.NUMBER_OUTSIDE_BLOCKS]

    # Outlets: local ones, then unknown codes, then other enterprises' agents.
    local_kind = market.outlets.kind[plan.outlets].astype(np.int64)
    local_ok = market.outlets.authorized[plan.outlets]
    codes = list(market.outlets.codes[plan.outlets])
    n_agents = int((local_kind == AGENT).sum())
    n_unknown = 1 + int(outlet_bad.sum()) // 20
    codes += [f"{plan.code}-A{n_agents + 1 + j:05d}" for j in range(n_unknown)]
    foreign_pool = np.flatnonzero(
        (market.outlets.kind == AGENT)
        & market.outlets.authorized
        & (np.array(market.outlets.enterprise) != plan.code)
    )
    foreign = choose(rng, foreign_pool, 1 + int(outlet_bad.sum()) // 10)
    codes += [market.outlets.codes[i] for i in foreign]
    pool_kind = np.concatenate(
        [local_kind, np.full(n_unknown, _UNKNOWN), np.full(foreign.size, AGENT)]
    )
    by_kind = [rng.permutation(np.flatnonzero((local_kind == k) & local_ok)) for k in range(3)]

    def pick(kinds: IntArray) -> IntArray:
        out = np.zeros(kinds.size, dtype=np.int64)
        for k in range(3):
            sel = kinds == k
            u = rng.random(int(sel.sum()))
            out[sel] = by_kind[k][(by_kind[k].size * u * u).astype(np.int64)]
        return out

    kind: IntArray = rng.choice([OWN, AGENT, ONLINE], size=n, p=[0.2, 0.65, 0.15])
    kind[(face_bad | manual) & (kind == ONLINE)] = AGENT  # those happen at physical outlets
    kind[unreg] = ONLINE  # legacy cards sold online without registration
    outlet = pick(kind)
    sub = rng.random(n)
    unauthorized = np.flatnonzero(~local_ok)
    bad_local = outlet_bad & (sub < 0.5)
    outlet[bad_local] = unauthorized[rng.integers(0, unauthorized.size, int(bad_local.sum()))]
    bad_unknown = outlet_bad & (sub >= 0.5) & (sub < 0.8)
    outlet[bad_unknown] = local_kind.size + rng.integers(0, n_unknown, int(bad_unknown.sum()))
    bad_foreign = outlet_bad & (sub >= 0.8)
    outlet[bad_foreign] = (
        local_kind.size + n_unknown + rng.integers(0, foreign.size, int(bad_foreign.sum()))
    )
    final_kind = pool_kind[outlet]
    online = final_kind == ONLINE

    # Face scores (thousandths): passing at physical or unknown outlets, often none online.
    face = (800 + rng.integers(0, 200, size=n)).astype(np.int16)
    face[rng.random(n) < 0.03] = 800  # exactly the threshold: passes
    online_face = rng.random(n) < 0.2
    face[online & ~online_face] = -1
    face[online & online_face] = rng.integers(400, 1000, int((online & online_face).sum()))
    failing = rng.integers(300, 800, size=n).astype(np.int16)
    face[face_bad] = np.where(rng.random(int(face_bad.sum())) < 0.5, -1, failing[face_bad])
    face[outlet_bad] = 800 + rng.integers(0, 200, size=int(outlet_bad.sum()))
    face[unreg] = -1

    verif = np.where(online | (rng.random(n) < 0.12), _ONLINE_CHECK, _READER).astype(np.int8)
    verif[manual] = _MANUAL
    verif[unreg] = _NONE

    status = rng.choice(3, size=n, p=[0.95, 0.03, 0.02]).astype(np.int8)
    status[unreg] = rng.choice(3, size=int(unreg.sum()), p=[0.6, 0.25, 0.15])
    status[~live] = CANCELLED

    msisdn = _numbers(plan, market, pools, outside, rng)
    guardian = np.full(n, -1, dtype=np.int64)
    guarded = role == Role.MINOR_GUARDED
    guardian[guarded] = ids.take(int(guarded.sum()))
    agent = np.full(n, -1, dtype=np.int64)
    signed_by_agent = ((role == Role.REGULAR) & (rng.random(n) < 0.015)) | (
        (role == Role.MINOR) & (rng.random(n) < 0.3)
    )
    agent[signed_by_agent] = ids.take(int(signed_by_agent.sum()))
    rows = Rows(
        role=role.astype(np.int8),
        ident=cols["ident"].astype(np.int8),
        pid=cols["pid"],
        birth=cols["birth"],
        act=cols["act"],
        canc=cols["canc"],
        status=status,
        outlet=outlet,
        verif=verif,
        face=face,
        msisdn=msisdn,
        guardian=guardian,
        agent=agent,
        mask=mask,
    )
    physical = (final_kind == OWN) | (final_kind == AGENT)

    def people_in(r: Role, where: NDArray[np.bool_]) -> int:
        return int(np.unique(cols["pid"][(role == r) & where]).size)

    stats = {
        "five_live_cards": people_in(Role.FIVE_CARDS, live),
        "five_live_cards_and_cancelled_ones": people_in(Role.FIVE_CARDS, ~live),
        "over_limit_people": people_in(Role.OVER_LIMIT, live),
        "over_limit_people_with_cancelled_cards": people_in(Role.OVER_LIMIT, ~live),
        "minors_with_guardian": int((live & guarded).sum()),
        "minors_signed_by_agent_without_guardian": int(
            (live & (role == Role.MINOR) & (agent >= 0)).sum()
        ),
        "exactly_16_on_activation": int((live & (role == Role.AGE_16)).sum()),
        "online_without_face_score": int((live & online & (face < 0) & ~unreg).sum()),
        "online_face_below_threshold": int((live & online & (face >= 0) & (face < 800)).sum()),
        "face_score_exactly_threshold": int((live & physical & (face == 800)).sum()),
    }
    for i, k in enumerate(KINDS):
        if k is not ViolationKind.OVER_CARD_LIMIT:  # cancelled cards never count
            stats[f"cancelled_{k.value}"] = int((~live & ((mask >> i) & 1).astype(bool)).sum())
    return rows, codes, stats


def _numbers(
    plan: EnterprisePlan,
    market: MarketPlan,
    pools: OutsidePools,
    outside: NDArray[np.bool_],
    rng: np.random.Generator,
) -> IntArray:
    """In-block numbers for most rows; the flagged rows get numbers from no block of theirs:
    a never-allocated MVNO range, another enterprise's block, or the host's own segment."""
    n = outside.size
    msisdn = np.zeros(n, dtype=np.int64)
    table: BlockTable = market.tables[plan.code]
    n_in = n - int(outside.sum())
    msisdn[~outside] = table.numbers(rng.permutation(n_in).astype(np.int64))
    n_out = n - n_in
    sub = rng.choice(3, size=n_out, p=[0.4, 0.3, 0.3])
    network = plan.spec.host_network
    lent = (
        market.tables[plan.lender].lend(int((sub == 1).sum()))
        if plan.lender
        else np.zeros(0, np.int64)
    )
    unallocated = pools.unallocated(
        network, int((sub == 0).sum()) + int((sub == 1).sum()) - lent.size
    )
    host = pools.host_segment(network, int((sub == 2).sum()))
    msisdn[outside] = rng.permutation(np.concatenate([lent, unallocated, host]))
    return msisdn
