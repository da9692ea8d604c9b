"""Vocabulary shared by the row builders: roles, the column-wise row plan, time helpers.

An enterprise's rows are built in two steps: :mod:`.holders` decides who holds which card and
when it was activated or cancelled; :mod:`.signup` decides where and how each card was signed
up and which number it got. Both work on numeric arrays; every planted violation is a bit in
the row's ``mask`` (bit ``i`` = ``KINDS[i]``), set where the defect is put into the data.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from .catalog import KINDS
from .vectors import IntArray

__all__ = [
    "BIT",
    "CANCELLED",
    "DAY",
    "STATUSES",
    "VERIFICATIONS",
    "IdCounter",
    "Role",
    "Rows",
    "cancel_times",
    "choose",
    "days",
    "times",
]

DAY = 86_400
STATUSES = ("active", "suspended_out", "suspended", "cancelled")
CANCELLED = 3
VERIFICATIONS = ("reader", "online", "manual", "none")
BIT = {kind: np.uint8(1 << i) for i, kind in enumerate(KINDS)}


class Role(IntEnum):
    """Why a card holder is in the data (see :mod:`.holders`)."""

    REGULAR = 0
    SPREAD = 1
    OVER_LIMIT = 2
    FIVE_CARDS = 3
    UNREGISTERED = 4
    INVALID = 5
    MINOR = 6  # no guardian document: violation
    MINOR_GUARDED = 7
    AGE_16 = 8  # exactly 16 on the activation day
    AGE_15 = 9  # 16 the day after activation: violation
    ATTACHED = 10  # cancelled card of a person who also holds live ones
    CHURNED = 11  # cancelled card of a person with no live card here


class IdCounter:
    """Hands out fresh person ids, in order, across the whole market."""

    def __init__(self, first: int) -> None:
        self.next = first

    def take(self, n: int) -> IntArray:
        out = np.arange(self.next, self.next + n, dtype=np.int64)
        self.next += n
        return out


@dataclass
class Rows:
    """Column-wise plan of an enterprise's rows (one entry per row)."""

    role: NDArray[np.int8]
    ident: NDArray[np.int8]
    pid: IntArray
    birth: IntArray  # epoch day, for BOUNDARY identities only
    act: IntArray  # seconds since the epoch
    canc: IntArray  # -1 = not cancelled
    status: NDArray[np.int8]
    outlet: IntArray  # index into ``outlet_codes``
    verif: NDArray[np.int8]
    face: NDArray[np.int16]  # thousandths; -1 = none
    msisdn: IntArray
    guardian: IntArray  # person id of the guardian; -1 = none
    agent: IntArray  # person id of the agent who signed up for the holder; -1 = none
    mask: NDArray[np.uint8]

    def __len__(self) -> int:
        return int(self.pid.size)

    def take(self, index: IntArray | slice) -> Rows:
        return Rows(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @property
    def live(self) -> NDArray[np.bool_]:
        out: NDArray[np.bool_] = self.status != CANCELLED
        return out


def choose(rng: np.random.Generator, pool: IntArray, n: int) -> IntArray:
    n = min(n, pool.size)
    return np.sort(rng.choice(pool, size=n, replace=False)) if n else pool[:0]


def days(rng: np.random.Generator, lo: IntArray | int, hi: IntArray | int, n: int) -> IntArray:
    """Days in [lo, hi], denser towards hi (a growing market)."""
    span = np.asarray(hi) - np.asarray(lo) + 1
    out: IntArray = np.asarray(lo) + np.minimum(
        (span * np.sqrt(rng.random(n))).astype(np.int64), span - 1
    )
    return out


def times(rng: np.random.Generator, days: IntArray) -> IntArray:
    out: IntArray = days * DAY + rng.integers(8 * 3600, 22 * 3600, size=days.size)
    return out


def cancel_times(rng: np.random.Generator, act: IntArray, end: int) -> IntArray:
    """A cancellation time at least a day after each activation and no later than ``end``."""
    earliest = np.minimum(act + DAY, end)
    out: IntArray = earliest + (rng.random(act.size) * (end - earliest)).astype(np.int64)
    return out
