"""Who is in the synthetic traffic: subscribers, their kinds and each one's own habits.

A *party* is an int64: values below the subscriber count are subscriber indices (on-net),
anything else is an 11-digit number of another network (off-net). Every subscriber gets its
own rates, answer and callback probabilities, duration median, working hours, cells and
handset, drawn from its kind's ranges, so kinds overlap at their edges. Personal contact
circles are symmetric among on-net subscribers (a configuration-model graph), so a friend
who is called also calls back. Burner kinds (fraud, SIM pools, ring-once, spam) have no
circle. Nothing here loops over subscribers in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import numpy as np
from numpy.typing import NDArray

from .vectors import AffinePerm, IntArray, digits, salt_of

__all__ = [
    "BURNERS",
    "CATEGORY",
    "HOURS",
    "KINDS",
    "OFFNET_SEGMENTS",
    "Population",
    "make_population",
    "offnet_numbers",
]

FloatArray = NDArray[np.float64]

KINDS = (
    "ordinary",
    "busy_ordinary",
    "fraud_caller",
    "sim_pool",
    "harasser",
    "ring_once",
    "spam_sender",
    "courier",
    "delivery",
    "sales",
    "call_centre",
)
K = {name: i for i, name in enumerate(KINDS)}
CATEGORY = {
    "fraud_caller": "fraud",
    "sim_pool": "fraud",
    "harasser": "harassment",
    "ring_once": "harassment",
    "spam_sender": "spam",
}
BURNERS = ("fraud_caller", "sim_pool", "ring_once", "spam_sender")

# Other networks' ordinary segments; 138, 186 and 189 are left out because the synthetic
# market issues some of its own (misallocated) numbers there.
OFFNET_SEGMENTS = np.array(
    [130, 131, 132, 133, 134, 135, 136, 137, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159,
     180, 181, 182, 183, 184, 185, 187, 188, 191, 193, 195, 196, 197, 198, 199],
    dtype=np.int64,
)  # fmt: skip
_MVNO_PREFIXES = (1700, 1701, 1702, 1703, 1704, 1705, 1706, 1707, 1708, 1709, 171, 162, 165, 167)


def _profile(weights: list[float]) -> FloatArray:
    w = np.array(weights, dtype=np.float64)
    out: FloatArray = np.cumsum(w / w.sum())
    out[-1] = 1.0
    return out


# Cumulative hour-of-day weights (Beijing time), by habit.
HOURS = {
    "day_evening": _profile(
        [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 3, 5, 6, 7, 7, 6, 5, 6, 6, 6, 7, 8, 9, 9, 7, 4, 2]
    ),
    "business": _profile(
        [0.3, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 3, 7, 9, 9, 8, 6, 7, 9, 9, 8, 7, 6, 5, 4, 3, 1, 0.5]
    ),
    "office": _profile(
        [0, 0, 0, 0, 0, 0, 0, 0.5, 4, 9, 10, 9, 4, 6, 10, 10, 9, 7, 3, 1, 0.5, 0, 0, 0]
    ),
    "night_too": _profile([6, 5, 4, 3, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 4, 5, 6, 7, 8, 7]),
    "courier": _profile(
        [0, 0, 0, 0, 0, 0, 0.5, 3, 8, 10, 10, 8, 5, 6, 9, 10, 9, 7, 5, 3, 1, 0.3, 0, 0]
    ),
    "meals": _profile(
        [0.2, 0.1, 0, 0, 0, 0, 0.2, 1, 2, 4, 8, 12, 10, 4, 2, 3, 6, 10, 12, 8, 4, 2, 1, 0.5]
    ),
    "extended": _profile(
        [0, 0, 0, 0, 0, 0, 0, 1, 6, 8, 8, 8, 6, 7, 8, 8, 8, 7, 6, 6, 5, 4, 0.5, 0]
    ),
}


@dataclass(frozen=True, slots=True)
class KindSpec:
    """Ranges each member of a kind draws its own parameters from (per active day)."""

    rate: tuple[float, float]  # main call volume (log-uniform)
    answer: tuple[float, float]
    duration: tuple[float, float]  # median of answered calls, seconds
    callback: tuple[float, float]  # share of called strangers who call back
    hours: str
    cells: tuple[int, int]
    circle: tuple[int, int] = (0, 0)  # personal contacts (0: none)
    personal: tuple[float, float] = (0.0, 0.0)  # calls a day to the circle beside the work
    weekend: float = 1.0  # activity on Saturdays and Sundays


SPECS = {
    "ordinary": KindSpec(
        (1, 15), (0.75, 0.92), (60, 130), (0.1, 0.3), "day_evening", (1, 4), (10, 60)
    ),
    "busy_ordinary": KindSpec(
        (20, 60), (0.75, 0.9), (40, 120), (0.2, 0.4), "business", (1, 3), (100, 400)
    ),
    "fraud_caller": KindSpec(
        (80, 300), (0.3, 0.6), (25, 180), (0, 0.03), "office", (1, 2), weekend=0.5
    ),
    "sim_pool": KindSpec(
        (20, 60), (0.3, 0.55), (25, 150), (0, 0.03), "office", (1, 1), weekend=0.6
    ),
    "harasser": KindSpec(
        (10, 50), (0.05, 0.25), (5, 40), (0, 0), "night_too", (1, 3), (10, 40), (1, 5)
    ),
    "ring_once": KindSpec((100, 400), (0, 0.04), (1, 3), (0.05, 0.2), "day_evening", (1, 2)),
    "spam_sender": KindSpec((200, 1000), (0.3, 0.5), (10, 40), (0, 0.02), "business", (1, 2)),
    "courier": KindSpec(
        (60, 150), (0.8, 0.95), (20, 60), (0.1, 0.25), "courier", (10, 40), (10, 40), (0, 4), 0.8
    ),
    "delivery": KindSpec(
        (60, 150), (0.8, 0.95), (15, 45), (0.1, 0.25), "meals", (10, 30), (10, 40), (0, 4)
    ),
    "sales": KindSpec(
        (80, 200), (0.5, 0.7), (60, 360), (0.03, 0.12), "office", (1, 2), (10, 40), (0, 3), 0.3
    ),
    "call_centre": KindSpec(
        (150, 300), (0.85, 0.95), (90, 400), (0, 0), "extended", (1, 1), (10, 30), (0, 2)
    ),
}

SHARES = {
    "fraud_caller": 0.005,
    "harasser": 0.0025,
    "ring_once": 0.0015,
    "spam_sender": 0.0025,
    "busy_ordinary": 0.02,
}
HEAVY_SHARE = 0.02
HEAVY_SPLIT = {"courier": 0.35, "delivery": 0.25, "sales": 0.25, "call_centre": 0.15}
USERS_PER_SIM_POOL = 2000
SIM_POOL_SHARE = 0.006
# Share of each nuisance kind whose victims complain (1-6 complaints each).
_COMPLAINED = {"fraud_caller": .35, "sim_pool": .2, "harasser": .7, "ring_once": .3,
               "spam_sender": .3}  # fmt: skip
MIN_USERS = 200


def offnet_numbers(rng: np.random.Generator, n: int) -> IntArray:
    """``n`` random numbers of other networks (11 digits, 13x/15x/18x/19x)."""
    seg = OFFNET_SEGMENTS[rng.integers(0, OFFNET_SEGMENTS.size, n)]
    out: IntArray = seg * 10**8 + rng.integers(0, 10**8, n)
    return out


def mvno_numbers(n: int, seed: int) -> IntArray:
    """``n`` distinct numbers in the MVNO segments (a bijection over their whole range)."""
    sizes = np.array([10 ** (11 - len(str(p))) for p in _MVNO_PREFIXES], dtype=np.int64)
    bases = np.array([p * 10 ** (11 - len(str(p))) for p in _MVNO_PREFIXES], dtype=np.int64)
    ends = np.cumsum(sizes)
    x = AffinePerm(int(ends[-1]), salt_of(seed, "traffic-numbers"))(np.arange(n, dtype=np.int64))
    seg = np.searchsorted(ends, x, side="right")
    out: IntArray = bases[seg] + x - (ends[seg] - sizes[seg])
    return out


def kind_counts(users: int, rng: np.random.Generator) -> tuple[dict[str, int], IntArray]:
    """Members per kind for ``users`` subscribers, and the SIM pools' group sizes."""
    counts = {k: max(1, round(users * s)) for k, s in SHARES.items()}
    heavy = max(len(HEAVY_SPLIT), round(users * HEAVY_SHARE))
    for k, s in HEAVY_SPLIT.items():
        counts[k] = max(1, round(heavy * s))
    drawn = rng.integers(5, 21, max(1, round(users / USERS_PER_SIM_POOL)))
    scale = users * SIM_POOL_SHARE / drawn.sum()  # groups vary, the total stays on the mix
    groups = np.clip(np.rint(drawn * scale), 5, 20).astype(np.int64)
    counts["sim_pool"] = int(groups.sum())
    counts["ordinary"] = users - sum(counts.values())
    return {k: counts[k] for k in KINDS}, groups


def _uniform(rng: np.random.Generator, bounds: tuple[float, float], n: int) -> FloatArray:
    return rng.uniform(bounds[0], bounds[1], n)


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float], n: int) -> FloatArray:
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    out: FloatArray = np.exp(rng.uniform(lo, hi, n))
    return out


@dataclass
class Population:
    """Every subscriber of the traffic and its habits (arrays indexed by subscriber)."""

    msisdn: IntArray
    kind: NDArray[np.int8]
    activated: IntArray  # epoch seconds (UTC)
    rate: FloatArray  # main volume per active day (calls; messages for spam senders)
    answer: FloatArray
    duration: FloatArray
    callback: FloatArray
    personal: FloatArray  # calls a day to the circle beside the main volume
    stranger: FloatArray  # share of an ordinary's calls to strangers
    repeat: FloatArray  # share of work calls to earlier customers (sales, couriers)
    texts: FloatArray  # messages a day (ordinary), SMS share of calls (couriers)
    shift: IntArray  # hours the kind's profile is shifted by
    cell0: IntArray
    cells: IntArray
    imei: IntArray  # 15 digits
    imei_next: IntArray  # the handset used from ``imei_change`` on
    imei_change: IntArray  # epoch second of the change of handset (or never)
    group: IntArray  # SIM pool group, -1 elsewhere
    group_imeis: IntArray  # (groups, 3) handsets of each pool
    group_handsets: IntArray  # how many of the 3 a pool uses
    circle_ptr: IntArray
    circle: IntArray  # parties, CSR by subscriber
    targets: IntArray  # (harassers, 5) parties each harasser pursues
    target_count: IntArray
    harasser_index: IntArray  # subscriber -> row in targets, -1 elsewhere
    complaints: FloatArray  # complaints a nuisance number is meant to draw over the window
    mistaken_day: IntArray  # day a legitimate number draws a mistaken complaint, -1: never
    counts: dict[str, int]

    @property
    def size(self) -> int:
        return int(self.msisdn.size)

    def members(self, name: str) -> IntArray:
        return np.flatnonzero(self.kind == K[name]).astype(np.int64)


def _activation(rng: np.random.Generator, kind: NDArray[np.int8], t0: int, days: int) -> IntArray:
    """Activation times: burners fresh (some during the window), the rest mostly old."""
    n = kind.size
    ago = 30 + rng.exponential(700, n).clip(0, 3000)  # days before the window
    fresh = rng.random(n)
    new_user = np.isin(kind, [K["ordinary"], K["busy_ordinary"]]) & (fresh < 0.04)
    ago = np.where(new_user, rng.uniform(0, 30, n), ago)
    for name, recent, during, old in (
        ("fraud_caller", 30, 0.2, 0.1),
        ("sim_pool", 20, 0.0, 0.05),
        ("ring_once", 40, 0.15, 0.1),
        ("spam_sender", 25, 0.15, 0.1),
        ("harasser", 60, 0.0, 0.5),
    ):
        m = kind == K[name]
        u = rng.random(n)
        short = rng.uniform(0.5, recent, n)
        inside = -rng.uniform(0, max(days - 1, 0.01), n)  # negative: after the start
        long_ago = rng.uniform(60, 400, n)
        pick = np.where(u < during, inside, np.where(u < during + old, long_ago, short))
        ago = np.where(m, pick, ago)
    heavy = np.isin(kind, [K[k] for k in HEAVY_SPLIT])
    ago = np.where(heavy, rng.uniform(200, 3000, n), ago)
    clock = rng.uniform(9, 20, n) * 3600
    out: IntArray = (t0 - np.floor(ago) * 86400 + clock).astype(np.int64)
    if days > 0:  # nobody starts after the window's first day minus one
        out = np.minimum(out, t0 + (days - 1) * 86400 + 20 * 3600)
    return out


def _circles(
    rng: np.random.Generator, kind: NDArray[np.int8], sizes: IntArray
) -> tuple[IntArray, IntArray]:
    """Symmetric on-net friendships plus off-net contacts, as CSR (ptr, parties)."""
    n = kind.size
    share = rng.uniform(0.15, 0.35, n)
    onnet = rng.binomial(sizes, share)
    stubs = rng.permutation(np.repeat(np.arange(n, dtype=np.int64), onnet))
    stubs = stubs[: stubs.size // 2 * 2]
    a, b = stubs[0::2], stubs[1::2]
    keep = a != b
    a, b = a[keep], b[keep]
    off = sizes - onnet
    owners = np.concatenate([a, b, np.repeat(np.arange(n, dtype=np.int64), off)])
    parties = np.concatenate([b, a, offnet_numbers(rng, int(off.sum()))])
    order = np.lexsort((rng.random(owners.size), owners))
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(owners, minlength=n), out=ptr[1:])
    return ptr, parties[order]


def with_check_digit(values: IntArray) -> IntArray:
    """15-digit IMEIs: 14-digit TAC+serial values with their Luhn check digit appended."""
    d = digits(values, 14).astype(np.int64)
    doubled = d[:, 1::2] * 2
    total = d[:, 0::2].sum(axis=1) + (doubled // 10 + doubled % 10).sum(axis=1)
    out: IntArray = values * 10 + (10 - total % 10) % 10
    return out


def _imeis(rng: np.random.Generator, n: int) -> IntArray:
    tacs = np.array(
        [35209900, 35332510, 86012345, 86769803, 35467810, 86891203, 35896704, 86445302],
        dtype=np.int64,
    )
    out: IntArray = tacs[rng.integers(0, tacs.size, n)] * 10**6 + rng.integers(0, 10**6, n)
    return out


def make_population(msisdn: IntArray, seed: int, start: date, days: int) -> Population:
    """Kinds, habits, circles, handsets and activation times of ``msisdn``'s subscribers."""
    rng = np.random.default_rng([seed, 0x50504C, 1])
    n = msisdn.size
    counts, groups = kind_counts(n, rng)
    kind = rng.permutation(np.repeat(np.arange(len(KINDS), dtype=np.int8), list(counts.values())))
    t0 = int(datetime.combine(start, datetime.min.time(), timezone(timedelta(hours=8))).timestamp())

    def per_kind(draw: str) -> FloatArray:
        out = np.zeros(n)
        for name, spec in SPECS.items():
            m = kind == K[name]
            k = int(m.sum())
            bounds: tuple[float, float] = getattr(spec, draw)
            out[m] = (_log_uniform if draw == "rate" else _uniform)(rng, bounds, k)
        return out

    rate = per_kind("rate")
    fraud = np.flatnonzero(kind == K["fraud_caller"])
    slow = fraud[rng.random(fraud.size) < 0.2]  # "low and slow": below any volume cut
    rate[slow] = _uniform(rng, (40, 80), slow.size)
    answer, duration, callback, personal = (
        per_kind(d) for d in ("answer", "duration", "callback", "personal")
    )
    is_ord = np.isin(kind, [K["ordinary"], K["busy_ordinary"]])
    stranger = np.where(kind == K["busy_ordinary"], rng.uniform(0.35, 0.6, n), 0.0)
    stranger = np.where(kind == K["ordinary"], rng.uniform(0.02, 0.12, n), stranger)
    repeat = np.select(
        [kind == K["sales"], kind == K["courier"], kind == K["delivery"]],
        [rng.uniform(0.2, 0.4, n), rng.uniform(0.1, 0.25, n), rng.uniform(0.05, 0.15, n)],
        0.0,
    )
    texts = np.select(
        [is_ord, kind == K["courier"], kind == K["delivery"]],
        [rng.exponential(0.8, n).clip(0, 6), rng.uniform(0.3, 0.9, n), rng.uniform(0, 0.1, n)],
        rng.uniform(0, 0.3, n),
    )
    shift = rng.integers(-1, 2, n).astype(np.int64)
    lo = np.array([SPECS[k].cells[0] for k in KINDS])[kind]
    hi = np.array([SPECS[k].cells[1] for k in KINDS])[kind]
    cells = rng.integers(lo, hi + 1).astype(np.int64)
    cell0 = rng.integers(10**8, 9 * 10**8, n).astype(np.int64)

    serial = _imeis(rng, n)
    imei = with_check_digit(serial)
    imei_next = with_check_digit((serial // 10**6) * 10**6 + (serial % 10**6 + 1) % 10**6)
    change_p = np.where(kind == K["fraud_caller"], 0.3, 0.005)
    change_at = t0 + rng.uniform(0, max(days, 1) * 86400, n).astype(np.int64)
    imei_change = np.where(rng.random(n) < change_p, change_at, np.iinfo(np.int64).max)

    group = np.full(n, -1, dtype=np.int64)
    pool = rng.permutation(np.flatnonzero(kind == K["sim_pool"]))
    group[pool] = np.repeat(np.arange(groups.size, dtype=np.int64), groups)
    group_imeis = with_check_digit(_imeis(rng, groups.size * 3)).reshape(groups.size, 3)
    group_handsets = rng.integers(1, 4, groups.size).astype(np.int64)
    pool_cell = rng.integers(10**8, 9 * 10**8, groups.size).astype(np.int64)
    cell0[pool] = pool_cell[group[pool]]  # a SIM box sits in one place

    circle_lo = np.array([SPECS[k].circle[0] for k in KINDS])[kind]
    circle_hi = np.array([SPECS[k].circle[1] for k in KINDS])[kind]
    sizes = np.where(circle_hi > 0, rng.integers(circle_lo, circle_hi + 1), 0).astype(np.int64)
    circle_ptr, circle = _circles(rng, kind, sizes)

    harassers = np.flatnonzero(kind == K["harasser"])
    harasser_index = np.full(n, -1, dtype=np.int64)
    harasser_index[harassers] = np.arange(harassers.size)
    target_count = rng.integers(1, 6, harassers.size).astype(np.int64)
    onnet_target = rng.random((harassers.size, 5)) < 0.2
    targets = np.where(
        onnet_target,
        np.flatnonzero(is_ord)[rng.integers(0, max(int(is_ord.sum()), 1), (harassers.size, 5))],
        offnet_numbers(rng, harassers.size * 5).reshape(harassers.size, 5),
    )

    complain_p = np.array([_COMPLAINED.get(k, 0.0) for k in KINDS])[kind]
    complaints = np.where(rng.random(n) < complain_p, rng.integers(1, 7, n), 0).astype(float)
    # A few legitimate numbers draw one mistaken complaint, on a day of their own.
    busy_legit = np.isin(kind, [K[k] for k in HEAVY_SPLIT]) | (is_ord & (rate > 3))
    legit = np.flatnonzero(busy_legit)
    mistaken = rng.choice(legit, min(legit.size, max(2, round(n * 0.0005))), replace=False)
    mistaken_day = np.full(n, -1, dtype=np.int64)
    mistaken_day[mistaken] = rng.integers(0, max(days, 1), mistaken.size)

    return Population(
        msisdn=msisdn,
        kind=kind,
        activated=_activation(rng, kind, t0, days),
        rate=rate,
        answer=answer,
        duration=duration,
        callback=callback,
        personal=personal,
        stranger=stranger,
        repeat=repeat,
        texts=texts,
        shift=shift,
        cell0=cell0,
        cells=cells,
        imei=imei,
        imei_next=imei_next,
        imei_change=imei_change,
        group=group,
        group_imeis=group_imeis,
        group_handsets=group_handsets,
        circle_ptr=circle_ptr,
        circle=circle,
        targets=targets,
        target_count=target_count,
        harasser_index=harasser_index,
        complaints=complaints,
        mistaken_day=mistaken_day,
        counts=counts,
    )
