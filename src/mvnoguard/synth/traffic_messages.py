"""One day of messages, and the complaints victims file about what reached them.

Messages follow the calls' rules: an on-net message is an ``out`` row for the sender and an
``in`` row for the recipient, with the same content. Complaints are drawn from the records
themselves (a victim complains about a call or text it really received), at a per-number
rate chosen up front, so their count per number is random but every complaint is genuine,
except the few mistaken ones against legitimate numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from .traffic_calls import DayCalls, Events, active, strangers
from .traffic_people import CATEGORY, KINDS, FloatArray, K, Population
from .traffic_texts import COMPLAINT, COURIER, DELIVERY, HAM, SPAM, UNSUBSCRIBE, contents
from .vectors import IntArray

BoolArray = NDArray[np.bool_]

__all__ = ["ComplaintDraw", "MessageRows", "day_messages", "draw_complaints", "message_rows"]

_CATEGORIES = ("fraud", "harassment", "spam", "other")
_NUISANCE = np.array([k in CATEGORY for k in KINDS])
_KIND_CATEGORY = np.array(
    [_CATEGORIES.index(CATEGORY[k]) if k in CATEGORY else 3 for k in KINDS], dtype=np.int64
)


@dataclass
class MessageRows:
    owner: IntArray
    other: IntArray
    direction: IntArray
    t: IntArray
    content: pa.Array

    def __len__(self) -> int:
        return int(self.owner.size)

    def take(self, index: IntArray | slice) -> MessageRows:
        if isinstance(index, slice):
            content = self.content.slice(index.start, index.stop - index.start)
        else:
            content = pc.take(self.content, pa.array(index))
        return MessageRows(
            self.owner[index], self.other[index], self.direction[index], self.t[index], content
        )


def _circle_texts(d: DayCalls, ev: Events) -> None:
    pop, rng = d.pop, d.rng
    sizes = np.diff(pop.circle_ptr)
    members = np.flatnonzero(sizes > 0).astype(np.int64)
    is_ord = np.isin(pop.kind[members], [K["ordinary"], K["busy_ordinary"]])
    rate = np.where(is_ord, pop.texts[members], 0.3)
    for factor in (1.0, 0.8):
        owners = d.daily(members, rate * factor)
        pick = pop.circle_ptr[owners] + (sizes[owners] * rng.random(owners.size)).astype(np.int64)
        friend = pop.circle[pick]
        t = d.times(owners, "day_evening")
        ham = np.full(owners.size, HAM, dtype=np.int64)
        if factor == 1.0:
            ev.add(owners, friend, t, ham)
        else:  # only other networks' friends: on-net ones send their own
            off = friend >= pop.size
            ev.add(friend[off], owners[off], t[off], ham[off])


def _spam(d: DayCalls, ev: Events) -> None:
    pop, rng = d.pop, d.rng
    members = pop.members("spam_sender")
    owners = d.daily(members, pop.rate[members])
    b = strangers(rng, owners.size, pop.size, 0.15)
    t = d.times(owners, "business")
    ev.add(owners, b, t, np.full(owners.size, SPAM, dtype=np.int64))
    reply = rng.random(owners.size) < 0.003
    delay = (30 + rng.exponential(900, int(reply.sum()))).astype(np.int64)
    ev.add(b[reply], owners[reply], t[reply] + delay, np.full(delay.size, UNSUBSCRIBE))


def _notifications(d: DayCalls, ev: Events, work: IntArray) -> None:
    """Pickup and delivery texts to the customers couriers and riders called today."""
    pop, rng = d.pop, d.rng
    owners, customers, t = work
    sent = rng.random(owners.size) < pop.texts[owners]
    owners, customers, t = owners[sent], customers[sent], t[sent]
    family = np.where(pop.kind[owners] == K["courier"], COURIER, DELIVERY).astype(np.int64)
    ev.add(owners, customers, t - rng.integers(0, 1800, owners.size), family)


def day_messages(d: DayCalls, work: IntArray) -> Events:
    """Message events of one day (``dur`` holds each one's content family)."""
    ev = Events()
    _circle_texts(d, ev)
    _spam(d, ev)
    _notifications(d, ev, work)
    return ev


def message_rows(d: DayCalls, ev: Events) -> MessageRows:
    pop = d.pop
    a, b, t, family = ev.arrays()
    ok = active(pop, a, t) & active(pop, b, t) & (a != b)
    a, b, t, family = a[ok], b[ok], t[ok], family[ok]
    text = contents(d.rng, family)
    n = pop.size
    out_m, in_m = a < n, b < n
    event = np.concatenate([np.flatnonzero(out_m), np.flatnonzero(in_m)])
    owner = np.concatenate([a[out_m], b[in_m]])
    other = np.concatenate([b[out_m], a[in_m]])
    direction = np.concatenate(
        [np.zeros(int(out_m.sum()), np.int64), np.ones(int(in_m.sum()), np.int64)]
    )
    times = t[event]
    order = np.lexsort((direction, owner, times))
    event = event[order]
    return MessageRows(
        owner[order], other[order], direction[order], times[order], pc.take(text, event)
    )


@dataclass
class ComplaintDraw:
    """Complaints drawn from one day's records."""

    reported: IntArray  # subscriber
    reporter: IntArray  # party
    category: IntArray  # index into ("fraud", "harassment", "spam", "other")
    received: IntArray  # epoch s
    mistaken: IntArray  # 1 when the reported number is legitimate


def expected_out(pop: Population) -> FloatArray:
    """Rough outbound records a day in each subscriber's complained-about channel."""
    harass = pop.rate * pop.target_count[np.maximum(pop.harasser_index, 0)] * 0.8
    out: FloatArray = np.where(pop.kind == K["harasser"], harass, pop.rate + pop.personal)
    return np.maximum(out, 1.0)


def draw_complaints(
    pop: Population,
    rng: np.random.Generator,
    rows: tuple[IntArray, IntArray, IntArray, IntArray],
    day: int | None,
    per_day: FloatArray,
) -> ComplaintDraw:
    """Complaints about one day's outbound calls (``day`` given: also the mistaken ones of
    that day) or, for spam senders, messages (``day`` None)."""
    owner, other, direction, t = rows
    kind = pop.kind[owner]
    spam = kind == K["spam_sender"]
    channel = spam if day is None else ~spam
    p = pop.complaints[owner] / per_day[owner]
    hit = (direction == 0) & channel & _NUISANCE[kind] & (rng.random(owner.size) < p)
    if day is not None:
        hit |= _one_each((direction == 0) & (pop.mistaken_day[owner] == day), owner, rng)
    owner, other, t, kind = owner[hit], other[hit], t[hit], kind[hit]
    nuisance = _NUISANCE[kind]
    legit_category = np.where(rng.random(owner.size) < 0.4, 1, 3)
    category = np.where(nuisance, _KIND_CATEGORY[kind], legit_category)
    category = np.where(nuisance & (rng.random(owner.size) < 0.08), 3, category)
    received = t + 600 + rng.exponential(6 * 3600, owner.size).astype(np.int64)
    return ComplaintDraw(owner, other, category, received, (~nuisance).astype(np.int64))


def _one_each(mask: BoolArray, owner: IntArray, rng: np.random.Generator) -> BoolArray:
    """One random row per owner among the rows of ``mask``."""
    rows = np.flatnonzero(mask)
    order = rows[np.lexsort((rng.random(rows.size), owner[rows]))]
    _, first = np.unique(owner[order], return_index=True)
    out = np.zeros(mask.size, dtype=bool)
    out[order[first]] = True
    return out


def complaint_texts(rng: np.random.Generator, category: IntArray) -> pa.Array:
    codes = np.array([COMPLAINT[c] for c in _CATEGORIES], dtype=np.int64)[category]
    return contents(rng, codes)


CATEGORIES = _CATEGORIES
