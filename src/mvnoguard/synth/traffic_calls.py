"""One day of calls: events per kind (caller, callee, start, duration), then operator rows.

An event between two subscribers becomes two rows (``out`` for the caller, ``in`` for the
callee); an event with another network becomes one. Kinds are generated as whole arrays
(``np.repeat`` of each member's daily count), never call by call. Customers of couriers,
sales people and call centres are numbered per owner (``0, 1, 2, ...``) and turned into
parties by hashing, so "an earlier customer" is just a smaller number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from .traffic_people import HOURS, OFFNET_SEGMENTS, FloatArray, K, Population, offnet_numbers
from .vectors import IntArray, pick_index, unit_hash

__all__ = ["DayCalls", "Events", "Rows", "call_rows", "day_events", "strangers"]

_ONNET_STRANGER = 0.12
_WORK_HOURS = {"courier": "courier", "delivery": "meals", "sales": "office"}
_CALLBACK_MEDIAN = {"courier": 30.0, "delivery": 30.0, "sales": 120.0}


@dataclass
class Events:
    """Accumulated events of one day: caller and callee parties, start (epoch s), duration."""

    a: list[IntArray] = field(default_factory=list)
    b: list[IntArray] = field(default_factory=list)
    t: list[IntArray] = field(default_factory=list)
    dur: list[IntArray] = field(default_factory=list)

    def add(self, a: IntArray, b: IntArray, t: IntArray, dur: IntArray) -> None:
        self.a.append(a)
        self.b.append(b)
        self.t.append(t)
        self.dur.append(dur)

    def arrays(self) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        def cat(xs: list[IntArray]) -> IntArray:
            out: IntArray = np.concatenate(xs) if xs else np.zeros(0, dtype=np.int64)
            return out.astype(np.int64, copy=False)

        return cat(self.a), cat(self.b), cat(self.t), cat(self.dur)


@dataclass
class Rows:
    """Records of one day, sorted by start time; ``direction`` 0 = out, 1 = in."""

    owner: IntArray
    other: IntArray
    direction: IntArray
    t: IntArray
    dur: IntArray
    cell: IntArray
    imei: IntArray

    def __len__(self) -> int:
        return int(self.owner.size)

    def take(self, index: IntArray | slice) -> Rows:
        return Rows(*(getattr(self, f)[index] for f in Rows.__dataclass_fields__))


@dataclass
class DayCalls:
    """What one day needs: the population, the day's midnight and the customers so far."""

    pop: Population
    rng: np.random.Generator
    t0: int  # epoch second of Beijing midnight
    weekend: bool
    customers: IntArray  # customers numbered so far, per subscriber
    salt: int

    def times(self, owners: IntArray, profile: str) -> IntArray:
        n = owners.size
        hour = (pick_index(self.rng.random(n), HOURS[profile]) + self.pop.shift[owners]) % 24
        out: IntArray = self.t0 + hour * 3600 + self.rng.integers(0, 3600, n)
        return out

    def durations(self, answer: FloatArray, median: FloatArray) -> IntArray:
        n = answer.size
        answered = self.rng.random(n) < answer
        length = np.exp(np.log(median) + self.rng.normal(0.0, 0.9, n))
        out: IntArray = np.where(answered, np.maximum(1, np.rint(length)), 0).astype(np.int64)
        return out

    def daily(self, members: IntArray, rate: FloatArray, weekend: float = 1.0) -> IntArray:
        """Each member repeated once per event today (Poisson around its own rate)."""
        factor = weekend if self.weekend else 1.0
        counts = self.rng.poisson(rate * factor)
        out: IntArray = np.repeat(members, counts)
        return out

    def customer(self, owners: IntArray, k: IntArray) -> IntArray:
        """Customer ``k`` of each owner, as a party (mostly other networks)."""
        key = owners * (1 << 28) + k
        u1 = unit_hash(key, self.salt)
        u2 = unit_hash(key, self.salt ^ 0xC0FFEE)
        n = self.pop.size
        onnet = np.minimum((u2 * n).astype(np.int64), n - 1)
        onnet = np.where(onnet == owners, (onnet + 1) % n, onnet)
        seg = (u2 * OFFNET_SEGMENTS.size).astype(np.int64)
        offnet = OFFNET_SEGMENTS[seg] * 10**8 + ((u2 * OFFNET_SEGMENTS.size - seg) * 10**8).astype(
            np.int64
        )
        out: IntArray = np.where(u1 < 0.1, onnet, offnet)
        return out

    def new_or_repeat(self, owners: IntArray, repeat: FloatArray) -> IntArray:
        """Customer numbers for ``owners`` (grouped): earlier ones with probability
        ``repeat``, else the next new ones; advances each owner's count of customers."""
        before = self.customers[owners]
        again = (self.rng.random(owners.size) < repeat) & (before > 0)
        new = ~again
        rank = np.cumsum(new) - 1
        first = np.searchsorted(owners, owners, side="left")
        rank = rank - (np.cumsum(new) - new)[first]
        k = np.where(again, (self.rng.random(owners.size) * before).astype(np.int64), before + rank)
        self.customers += np.bincount(owners[new], minlength=self.customers.size)
        out: IntArray = k
        return out


def strangers(rng: np.random.Generator, n: int, users: int, onnet: float) -> IntArray:
    """``n`` parties never contacted before: random subscribers or other networks' numbers."""
    out: IntArray = np.where(
        rng.random(n) < onnet, rng.integers(0, users, n), offnet_numbers(rng, n)
    )
    return out


def _callbacks(
    d: DayCalls, a: IntArray, b: IntArray, t: IntArray, p: FloatArray, median: float, ev: Events
) -> None:
    """Some called parties call back later (minutes to hours)."""
    back = d.rng.random(a.size) < p
    k = int(back.sum())
    delay = (60 + d.rng.exponential(2400, k)).astype(np.int64)
    dur = d.durations(np.full(k, 0.85), np.full(k, median))
    ev.add(b[back], a[back], t[back] + delay, dur)


def _circle_calls(d: DayCalls, ev: Events) -> None:
    pop, rng = d.pop, d.rng
    sizes = np.diff(pop.circle_ptr)
    members = np.flatnonzero(sizes > 0).astype(np.int64)
    is_ord = np.isin(pop.kind[members], [K["ordinary"], K["busy_ordinary"]])
    rate = np.where(is_ord, pop.rate[members] * (1 - pop.stranger[members]), pop.personal[members])
    for direction in ("out", "in"):
        owners = d.daily(members, rate if direction == "out" else rate * 0.6)
        pick = pop.circle_ptr[owners] + (sizes[owners] * rng.random(owners.size) ** 1.7).astype(
            np.int64
        )
        friend = pop.circle[pick]
        busy = pop.kind[owners] == K["busy_ordinary"]
        t = np.where(busy, d.times(owners, "business"), d.times(owners, "day_evening"))
        ordinary = np.isin(pop.kind[owners], [K["ordinary"], K["busy_ordinary"]])
        answer = np.where(ordinary, pop.answer[owners], 0.85)
        dur = d.durations(answer, np.where(ordinary, pop.duration[owners], 90.0))
        if direction == "out":
            ev.add(owners, friend, t, dur)
        else:  # on-net friends place their own calls; only other networks' friends call in
            off = friend >= pop.size
            ev.add(friend[off], owners[off], t[off], dur[off])


def _ordinary_strangers(d: DayCalls, ev: Events) -> None:
    pop, rng = d.pop, d.rng
    members = np.flatnonzero(np.isin(pop.kind, [K["ordinary"], K["busy_ordinary"]])).astype(
        np.int64
    )
    owners = d.daily(members, pop.rate[members] * pop.stranger[members])
    b = strangers(rng, owners.size, pop.size, _ONNET_STRANGER)
    t = d.times(owners, "business")
    ev.add(owners, b, t, d.durations(pop.answer[owners], pop.duration[owners]))
    _callbacks(d, owners, b, t, pop.callback[owners], 60.0, ev)
    busy = pop.kind[members] == K["busy_ordinary"]
    incoming = np.where(busy, pop.rate[members] * 0.4, 0.3)  # customers, unknown callers
    owners = d.daily(members, incoming)
    a = offnet_numbers(rng, owners.size)
    ev.add(
        a,
        owners,
        d.times(owners, "business"),
        d.durations(np.full(owners.size, 0.7), np.full(owners.size, 60.0)),
    )


def _cold_calls(d: DayCalls, ev: Events, name: str, profile: str, weekend: float) -> None:
    """Fraud callers, SIM-pool numbers, ring-once and spam senders: calls to strangers."""
    pop, rng = d.pop, d.rng
    members = pop.members(name)
    rate = pop.rate[members] if name != "spam_sender" else np.full(members.size, 2.0)
    owners = d.daily(members, rate, weekend)
    b = strangers(rng, owners.size, pop.size, 0.15)
    t = d.times(owners, profile)
    ev.add(owners, b, t, d.durations(pop.answer[owners], pop.duration[owners]))
    median = 60.0 if name == "ring_once" else 40.0  # a ring-once callback is the fraud
    _callbacks(d, owners, b, t, pop.callback[owners], median, ev)


def _harassment(d: DayCalls, ev: Events) -> None:
    pop, rng = d.pop, d.rng
    members = pop.members("harasser")
    h = pop.harasser_index[members]
    active = rng.random(members.size) < 0.8
    slots = np.arange(5)[None, :] < pop.target_count[h][:, None]
    counts = rng.poisson(pop.rate[members][:, None] * np.ones((1, 5))) * slots * active[:, None]
    owners = np.repeat(np.repeat(members, 5), counts.ravel())
    b = np.repeat(pop.targets[h].ravel(), counts.ravel())
    t = d.times(owners, "night_too")
    ev.add(owners, b, t, d.durations(pop.answer[owners], pop.duration[owners]))


def _customer_work(d: DayCalls, ev: Events, name: str, weekend: float) -> IntArray:
    """Couriers, delivery riders and sales: new and earlier customers; returns the callers
    and customers (parties) of today's outbound calls, for pickup texts."""
    pop, rng = d.pop, d.rng
    members = pop.members(name)
    owners = d.daily(members, pop.rate[members], weekend)
    k = d.new_or_repeat(owners, pop.repeat[owners])
    b = d.customer(owners, k)
    t = d.times(owners, _WORK_HOURS[name])
    ev.add(owners, b, t, d.durations(pop.answer[owners], pop.duration[owners]))
    _callbacks(d, owners, b, t, pop.callback[owners], _CALLBACK_MEDIAN[name], ev)
    inbound = pop.rate[members] * (0.1 if name != "sales" else 0.03)
    callers = d.daily(members, inbound, weekend)
    seen = np.maximum(d.customers[callers], 1)
    a = d.customer(callers, (rng.random(callers.size) * seen).astype(np.int64))
    t_in = d.times(callers, _WORK_HOURS[name])
    ev.add(a, callers, t_in, d.durations(np.full(callers.size, 0.9), pop.duration[callers]))
    return np.stack([owners, b, t])


def _call_centre(d: DayCalls, ev: Events) -> None:
    pop, rng = d.pop, d.rng
    members = pop.members("call_centre")
    inbound_share = rng.uniform(0.55, 0.75, members.size)
    callers = d.daily(members, pop.rate[members] * inbound_share, 0.7)
    k = d.new_or_repeat(callers, np.full(callers.size, 0.3))
    a = d.customer(callers, k)
    t = d.times(callers, "extended")
    ev.add(a, callers, t, d.durations(np.full(callers.size, 0.93), pop.duration[callers]))
    back = rng.random(callers.size) < 0.45  # returns to the same customers
    delay = (600 + rng.exponential(5400, int(back.sum()))).astype(np.int64)
    dur = d.durations(np.full(delay.size, 0.8), pop.duration[callers[back]])
    ev.add(callers[back], a[back], t[back] + delay, dur)


def day_events(d: DayCalls) -> tuple[Events, IntArray]:
    """All call events of one day; also (owner, customer, start) of couriers' calls."""
    ev = Events()
    _circle_calls(d, ev)
    _ordinary_strangers(d, ev)
    _cold_calls(d, ev, "fraud_caller", "office", 0.5)
    _cold_calls(d, ev, "sim_pool", "office", 0.6)
    _cold_calls(d, ev, "ring_once", "day_evening", 1.0)
    _cold_calls(d, ev, "spam_sender", "business", 1.0)
    _harassment(d, ev)
    courier = _customer_work(d, ev, "courier", 0.8)
    delivery = _customer_work(d, ev, "delivery", 1.0)
    _customer_work(d, ev, "sales", 0.3)
    _call_centre(d, ev)
    return ev, np.concatenate([courier, delivery], axis=1)


def active(pop: Population, parties: IntArray, t: IntArray) -> NDArray[np.bool_]:
    """Whether each party can take part at ``t`` (subscribers only after activation)."""
    n = pop.size
    ours = parties < n
    act = pop.activated[np.where(ours, parties, 0)]
    out: NDArray[np.bool_] = ~ours | (t >= act)
    return out


def call_rows(d: DayCalls, ev: Events) -> Rows:
    """The operator's records of the day's events, sorted by start time."""
    pop, rng = d.pop, d.rng
    a, b, t, dur = ev.arrays()
    ok = active(pop, a, t) & active(pop, b, t) & (a != b)
    a, b, t, dur = a[ok], b[ok], t[ok], dur[ok]
    n = pop.size
    out_m, in_m = a < n, b < n
    owner = np.concatenate([a[out_m], b[in_m]])
    other = np.concatenate([b[out_m], a[in_m]])
    direction = np.concatenate(
        [np.zeros(int(out_m.sum()), np.int64), np.ones(int(in_m.sum()), np.int64)]
    )
    t = np.concatenate([t[out_m], t[in_m]])
    dur = np.concatenate([dur[out_m], dur[in_m]])
    order = np.lexsort((direction, owner, t))
    owner, other, direction, t, dur = (x[order] for x in (owner, other, direction, t, dur))
    return Rows(owner, other, direction, t, dur, _cells(d, owner, t), _handsets(pop, rng, owner, t))


def _cells(d: DayCalls, owner: IntArray, t: IntArray) -> IntArray:
    pop, rng = d.pop, d.rng
    cells = pop.cells[owner]
    home = (cells * rng.random(owner.size) ** 2).astype(np.int64)
    moving = np.isin(pop.kind[owner], [K["courier"], K["delivery"]])
    progress = np.clip(((t - d.t0) / 3600 - 7) / 14, 0, 0.999)
    route = (progress * cells).astype(np.int64) + rng.integers(-1, 2, owner.size)
    idx = np.clip(np.where(moving, route, home), 0, cells - 1)
    out: IntArray = pop.cell0[owner] + idx * 7
    return out


def _handsets(pop: Population, rng: np.random.Generator, owner: IntArray, t: IntArray) -> IntArray:
    imei = np.where(t >= pop.imei_change[owner], pop.imei_next[owner], pop.imei[owner])
    g = pop.group[owner]
    pooled = g >= 0
    gi = g[pooled]
    slot = (rng.random(gi.size) * pop.group_handsets[gi]).astype(np.int64)
    imei[pooled] = pop.group_imeis[gi, slot]
    out: IntArray = imei
    return out
