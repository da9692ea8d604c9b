"""Who holds which card at one enterprise, and when it was activated or cancelled.

:func:`lay_out` fills the enterprise's exact number of live cards and of cancelled ones with
card holders (:class:`~.rows.Role`): people who also hold cards elsewhere, planted groups over
the card limit, people with exactly 5 live cards plus cancelled ones, one-card holders whose
document is the point (none, invalid, minors with and without a guardian, people 16 on the day
or the day after), everyone else with 1-5 cards, and cancelled cards of people who still hold
live ones or none. Nobody outside the planted groups holds more than 5 live cards, and only the
planted minors are under 16 on their activation day.
"""

from __future__ import annotations

import numpy as np

from mvnoguard.domain.subscribers import ViolationKind

from .people import Ident, People
from .plan import EnterprisePlan
from .rows import BIT, DAY, IdCounter, Role, cancel_times, days, times
from .vectors import IntArray, days_from_ymd, ymd

__all__ = ["lay_out"]

_INVALID_SUBTYPES = (
    (Ident.BAD_CHECK, 0.35),
    (Ident.BAD_DATE, 0.15),
    (Ident.BAD_REGION, 0.15),
    (Ident.FIRST_GEN, 0.15),
    (Ident.BAD_HKMO, 0.07),
    (Ident.BAD_TW, 0.05),
    (Ident.BAD_PASSPORT, 0.08),
)


def _split(total: int, room: int) -> tuple[int, int]:
    n = max(0, min(total, room))
    return n, room - n


def _over_limit_groups(
    rng: np.random.Generator, target: int, room: int
) -> tuple[IntArray, IntArray]:
    """Live cards (6-9) and extra cancelled cards (0-2) of each over-limit person."""
    excess = rng.choice([1, 2, 3, 4], size=max(target, 1), p=[0.5, 0.25, 0.15, 0.1])
    cum = np.cumsum(excess)
    n = int(np.searchsorted(cum, target)) + 1 if target else 0
    excess = excess[:n].copy()
    if n:
        excess[-1] -= int(cum[n - 1]) - target
    while n and int((excess + 5).sum()) > room:
        n -= 1
        excess = excess[:n]
    cancelled = rng.choice([0, 1, 2], size=n, p=[0.5, 0.3, 0.2])
    return (excess + 5).astype(np.int64), cancelled.astype(np.int64)


class _Builder:
    """Accumulates row segments, then concatenates them."""

    def __init__(self) -> None:
        self.parts: dict[str, list[IntArray]] = {
            k: [] for k in ("role", "ident", "pid", "birth", "act", "canc", "mask")
        }

    def add(
        self,
        role: Role | IntArray,
        ident: Ident | IntArray,
        pid: IntArray,
        act: IntArray,
        *,
        canc: IntArray | None = None,
        birth: IntArray | None = None,
        mask: IntArray | None = None,
    ) -> None:
        n = pid.size
        self.parts["role"].append(np.broadcast_to(np.asarray(role, dtype=np.int64), (n,)))
        self.parts["ident"].append(np.broadcast_to(np.asarray(ident, dtype=np.int64), (n,)))
        self.parts["pid"].append(pid)
        self.parts["birth"].append(np.full(n, -1, np.int64) if birth is None else birth)
        self.parts["act"].append(act)
        self.parts["canc"].append(np.full(n, -1, np.int64) if canc is None else canc)
        self.parts["mask"].append(np.zeros(n, np.int64) if mask is None else mask)

    def columns(self) -> dict[str, IntArray]:
        return {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in self.parts.items()}


def _over_limit(
    b: _Builder,
    rng: np.random.Generator,
    ids: IdCounter,
    target: int,
    room: int,
    cancelled_budget: int,
    start: int,
    end: int,
) -> tuple[int, int]:
    """People over the card limit, ``target`` violating cards in all; their cancelled cards
    are interleaved in time and do not count. Activation times within a person are distinct
    (at least an hour apart), so "past the fifth" is never a tie. Returns the live and
    cancelled cards used."""
    live_cards, extra = _over_limit_groups(rng, target, room)
    while int(extra.sum()) > cancelled_budget:
        extra[np.argmax(extra)] -= 1
    cards = live_cards + extra
    n_groups = cards.size
    group_pid = ids.take(n_groups)
    row_group = np.repeat(np.arange(n_groups), cards)
    gap_max = max(3600 * 2, min(20 * DAY, (end - start - 2 * DAY) // 40))
    span = (cards - 1) * gap_max
    base = start + (rng.random(n_groups) * (end - 2 * DAY - start - span)).astype(np.int64)
    gaps = rng.integers(3600, gap_max, size=row_group.size, endpoint=True)
    group_first = (np.cumsum(cards) - cards).astype(np.int64)
    gaps[group_first] = 0
    cum = np.cumsum(gaps)
    act = base[row_group] + cum - cum[group_first][row_group]
    # Which cards of a group are cancelled: the ``extra`` first in a random order.
    order = np.lexsort((rng.random(row_group.size), row_group))
    rank = np.empty(row_group.size, dtype=np.int64)
    rank[order] = np.arange(row_group.size) - group_first[row_group[order]]
    is_cancelled = rank < extra[row_group]
    live_count = np.cumsum(~is_cancelled)
    live_rank = live_count - (live_count - (~is_cancelled))[group_first][row_group] - 1
    over = ~is_cancelled & (live_rank >= 5)
    b.add(
        Role.OVER_LIMIT,
        Ident.ADULT,
        group_pid[row_group],
        act,
        canc=np.where(is_cancelled, cancel_times(rng, act, end), -1),
        mask=np.where(over, int(BIT[ViolationKind.OVER_CARD_LIMIT]), 0),
    )
    return int(live_cards.sum()), int(extra.sum())


def lay_out(
    plan: EnterprisePlan,
    people: People,
    ids: IdCounter,
    boundary_ids: IdCounter,
    rng: np.random.Generator,
) -> dict[str, IntArray]:
    """Columns role, ident, pid, birth, act, canc and mask of the enterprise's rows."""
    first, last = plan.first_day, plan.last_day
    start, end = first * DAY, last * DAY + DAY - 1
    d = plan.defects
    b = _Builder()
    room = plan.live
    cancelled_budget = plan.cancelled

    # People holding cards at several enterprises (clean: at most 5 here).
    sp = np.repeat(plan.spread_ids, plan.spread_cards)
    b.add(Role.SPREAD, Ident.ADULT, sp, times(rng, days(rng, first, last, sp.size)))
    room -= sp.size

    # Over the card limit: the 6th and later live cards in activation order violate.
    used_live, used_cancelled = _over_limit(
        b, rng, ids, d[ViolationKind.OVER_CARD_LIMIT], room, cancelled_budget, start, end
    )
    room -= used_live
    cancelled_budget -= used_cancelled

    # Exactly 5 live cards, plus 1-3 cancelled ones: clean.
    n_five = min(round(plan.live * 0.0008) + int(plan.live >= 200), room // 5)
    five_extra = rng.integers(1, 4, size=n_five)
    while int(five_extra.sum()) > cancelled_budget:
        five_extra[np.argmax(five_extra)] -= 1
    five_pid = ids.take(n_five)
    five_live = np.repeat(five_pid, 5)
    b.add(Role.FIVE_CARDS, Ident.ADULT, five_live, times(rng, days(rng, first, last, 5 * n_five)))
    five_c = np.repeat(five_pid, five_extra)
    act = times(rng, days(rng, first, last - 2, five_c.size))
    b.add(Role.FIVE_CARDS, Ident.ADULT, five_c, act, canc=cancel_times(rng, act, end))
    room -= 5 * n_five
    cancelled_budget -= int(five_extra.sum())

    # Document-level singletons: unregistered, invalid documents, minors, 16th birthdays.
    n_unreg, room = _split(d[ViolationKind.UNREGISTERED], room)
    n_invalid, room = _split(d[ViolationKind.INVALID_DOCUMENT], room)
    n_minor_all = d[ViolationKind.MINOR_WITHOUT_GUARDIAN]
    n_age15, room = _split(int(rng.binomial(n_minor_all, 0.15)), room)
    n_minor, room = _split(n_minor_all - n_age15, room)
    n_guarded, room = _split(round(plan.live * 0.0006) + int(plan.live >= 300), room)
    n_age16, room = _split(round(plan.live * 0.0003) + int(plan.live >= 500), room)
    _singletons(
        b,
        rng,
        plan,
        people,
        ids,
        boundary_ids,
        n_unreg,
        n_invalid,
        n_minor,
        n_guarded,
        n_age15,
        n_age16,
        live=True,
    )

    # Everyone else: 1-5 cards each.
    cards = rng.choice([1, 2, 3, 4, 5], size=room, p=[0.62, 0.2, 0.1, 0.05, 0.03])
    cum = np.cumsum(cards)
    n_regular = int(np.searchsorted(cum, room)) + 1 if room else 0
    cards = cards[:n_regular]
    if n_regular:
        cards[-1] -= int(cum[n_regular - 1]) - room
    regular_pid = ids.take(n_regular)
    reg = np.repeat(regular_pid, cards)
    b.add(Role.REGULAR, Ident.ADULT, reg, times(rng, days(rng, first, last, reg.size)))

    # Cancelled rows: defect look-alikes, cards of people who still hold live ones, churn.
    c = cancelled_budget
    per_kind = [int(rng.binomial(c, 0.02)) for _ in range(3)]
    n_cu, c = _split(per_kind[0], c)
    n_ci, c = _split(per_kind[1], c)
    n_cm, c = _split(per_kind[2], c)
    _singletons(b, rng, plan, people, ids, boundary_ids, n_cu, n_ci, n_cm, 0, 0, 0, live=False)
    n_att = round(c * 0.25) if n_regular else 0
    att = regular_pid[rng.integers(0, max(n_regular, 1), size=n_att)]
    churn = ids.take(c - n_att)
    pid = np.concatenate([att, churn])
    act = times(rng, days(rng, first, last - 2, pid.size))
    role = np.repeat(np.array([Role.ATTACHED, Role.CHURNED]), [n_att, churn.size])
    b.add(role, Ident.ADULT, pid, act, canc=cancel_times(rng, act, end))
    return b.columns()


def _singletons(
    b: _Builder,
    rng: np.random.Generator,
    plan: EnterprisePlan,
    people: People,
    ids: IdCounter,
    boundary_ids: IdCounter,
    n_unreg: int,
    n_invalid: int,
    n_minor: int,
    n_guarded: int,
    n_age15: int,
    n_age16: int,
    *,
    live: bool,
) -> None:
    """People with one card whose document itself is the point."""
    first, last = plan.first_day, plan.last_day
    end = last * DAY + DAY - 1
    hi = last if live else last - 2

    def add(
        role: Role,
        ident: Ident | IntArray,
        pid: IntArray,
        act: IntArray,
        birth: IntArray | None = None,
        bit: ViolationKind | None = None,
    ) -> None:
        canc = None if live else cancel_times(rng, act, end)
        mask = None if bit is None else np.full(pid.size, int(BIT[bit]), np.int64)
        b.add(role, ident, pid, act, canc=canc, birth=birth, mask=mask)

    # Legacy users from the early months, no document at all.
    legacy_last = first + max(1, (hi - first) * 3 // 10)
    add(
        Role.UNREGISTERED,
        Ident.UNREGISTERED,
        ids.take(n_unreg),
        times(rng, days(rng, first, legacy_last, n_unreg)),
        bit=ViolationKind.UNREGISTERED,
    )

    kinds = np.array([k for k, _ in _INVALID_SUBTYPES], dtype=np.int64)
    weights = np.array([w for _, w in _INVALID_SUBTYPES])
    ident = rng.choice(kinds, size=n_invalid, p=weights / weights.sum())
    add(
        Role.INVALID,
        ident,
        ids.take(n_invalid),
        times(rng, days(rng, first, hi, n_invalid)),
        bit=ViolationKind.INVALID_DOCUMENT,
    )

    for role, n in ((Role.MINOR, n_minor), (Role.MINOR_GUARDED, n_guarded)):
        pid = ids.take(n)
        y, m, dd = ymd(people.minor_birth_days(pid))  # never 29 February
        lo = np.maximum(first, days_from_ymd(y + 10, m, dd))  # at least 10 years old
        bit = ViolationKind.MINOR_WITHOUT_GUARDIAN if role is Role.MINOR else None
        add(role, Ident.MINOR, pid, times(rng, days(rng, lo, np.maximum(lo, hi), n)), bit=bit)

    for role, n, shift in ((Role.AGE_16, n_age16, 0), (Role.AGE_15, n_age15, 1)):
        day = days(rng, first, hi, n)
        y, m, dd = ymd(day)
        leap_day = (m == 2) & (dd == 29)
        day = np.where(leap_day, day - 1, day)
        y, m, dd = ymd(day)
        birth = days_from_ymd(y - 16, m, dd) + shift
        bit = ViolationKind.MINOR_WITHOUT_GUARDIAN if shift else None
        add(role, Ident.BOUNDARY, boundary_ids.take(n), times(rng, day), birth=birth, bit=bit)
