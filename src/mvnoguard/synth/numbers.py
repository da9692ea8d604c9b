"""Phone numbers of the synthetic market: block allocation and the pools numbers come from.

Blocks are allocated in units of 100,000 numbers from the MVNO segments of each host
network (DESIGN.md, "Numbers"), in chunks handed out in turn to the enterprises of that
network, with occasional unallocated gaps, so blocks of different enterprises never overlap.
The last tenth of each three-digit segment (1629..., 1659..., 1679...) is never allocated: it
is where numbers "in an MVNO segment but in no block" come from.

An enterprise's numbers are positions ``0 .. capacity-1`` over its blocks, scrambled by an
affine bijection. The enterprise itself uses positions from the bottom; other enterprises that
(in violation) issue numbers from its blocks take positions from the top, so no number is ever
issued twice. Numbers outside all blocks come from global cursors over the reserved MVNO
ranges and over ordinary segments of the host networks, again through bijections.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mvnoguard.domain.subscribers import HostNetwork
from mvnoguard.identity.phones import MVNO_SEGMENTS

from .vectors import AffinePerm, IntArray, salt_of

__all__ = ["UNIT", "Block", "BlockTable", "OutsidePools", "allocate_blocks"]

UNIT = 100_000
_RESERVED_DIGIT = 9  # 16x9....... stays unallocated

# An ordinary (non-MVNO) mobile segment of each host network.
_HOST_SEGMENT = {HostNetwork.TELECOM: 189, HostNetwork.MOBILE: 138, HostNetwork.UNICOM: 186}


@dataclass(frozen=True, slots=True)
class Block:
    enterprise_code: str
    first_number: int
    last_number: int


def _units(network: HostNetwork) -> IntArray:
    """First numbers of the allocatable 100k units of a network, in allocation order."""
    prefixes = sorted(
        (p for p, n in MVNO_SEGMENTS.items() if n is network), key=lambda p: (-len(p), p)
    )
    starts: list[IntArray] = []
    for prefix in prefixes:
        base = int(prefix) * 10 ** (11 - len(prefix))
        count = 10 ** (11 - len(prefix)) // UNIT
        units = base + np.arange(count, dtype=np.int64) * UNIT
        if len(prefix) == 3:
            reserved = int(prefix) * 10 + _RESERVED_DIGIT
            units = units[units // 10**7 != reserved]
        starts.append(units)
    return np.concatenate(starts)


@dataclass
class BlockTable:
    """One enterprise's blocks and the scrambled positions over them."""

    starts: IntArray
    sizes: IntArray
    perm: AffinePerm
    borrowed: int = 0  # positions taken from the top by other enterprises so far
    reserved_for_owner: int = 0

    @property
    def capacity(self) -> int:
        return int(self.sizes.sum())

    def numbers(self, positions: IntArray) -> IntArray:
        x = self.perm(positions)
        ends = np.cumsum(self.sizes)
        block = np.searchsorted(ends, x, side="right")
        out: IntArray = self.starts[block] + x - (ends[block] - self.sizes[block])
        return out

    def lend(self, count: int) -> IntArray:
        """Up to ``count`` numbers for another enterprise, from the top positions."""
        spare = self.capacity - self.reserved_for_owner - self.borrowed
        take = max(0, min(count, spare))
        top = self.capacity - 1 - self.borrowed - np.arange(take, dtype=np.int64)
        self.borrowed += take
        return self.numbers(top)


def allocate_blocks(
    needs: dict[str, tuple[HostNetwork, int, int]], rng: np.random.Generator, seed: int
) -> tuple[list[Block], dict[str, BlockTable]]:
    """Blocks for every enterprise in ``needs``: code -> (network, own rows, spare numbers).

    Enterprises of one network take chunks of units in turn, in code order. The first
    ``own rows`` positions of an enterprise's table are its own; the rest may be lent.
    """
    blocks: list[Block] = []
    tables: dict[str, BlockTable] = {}
    for network in HostNetwork:
        units = _units(network)
        codes = sorted(c for c, (n, _, _) in needs.items() if n is network)
        left = {c: -(-(needs[c][1] + needs[c][2]) // UNIT) for c in codes}
        owned: dict[str, list[int]] = {c: [] for c in codes}
        cursor = 0
        while any(left.values()):
            for code in codes:
                if not left[code]:
                    continue
                take = min(left[code], int(rng.integers(2, 12)))
                if cursor + take > units.size:
                    raise ValueError(f"{network.value} segments exhausted: scale too large")
                owned[code].extend(range(cursor, cursor + take))
                left[code] -= take
                cursor += take + int(rng.integers(0, 3))
        for code in codes:
            starts = units[np.array(owned[code], dtype=np.int64)]
            breaks = np.flatnonzero(np.diff(starts) != UNIT) + 1
            run_starts = np.split(starts, breaks)
            firsts = np.array([r[0] for r in run_starts], dtype=np.int64)
            sizes = np.array([r.size * UNIT for r in run_starts], dtype=np.int64)
            blocks.extend(
                Block(code, int(f), int(f + s - 1)) for f, s in zip(firsts, sizes, strict=True)
            )
            capacity = int(sizes.sum())
            tables[code] = BlockTable(
                starts=firsts,
                sizes=sizes,
                perm=AffinePerm(capacity, salt_of(seed, f"blocks-{code}")),
                reserved_for_owner=needs[code][1],
            )
    blocks.sort(key=lambda b: (b.enterprise_code, b.first_number))
    return blocks, tables


@dataclass
class OutsidePools:
    """Global sources of numbers in no block of the enterprise that issues them."""

    seed: int
    _cursors: dict[str, int] = field(default_factory=dict)

    def _draw(self, key: str, base: int, size: int, count: int) -> IntArray:
        start = self._cursors.get(key, 0)
        if start + count > size:
            raise ValueError(f"number pool {key} exhausted: scale too large")
        self._cursors[key] = start + count
        perm = AffinePerm(size, salt_of(self.seed, f"pool-{key}"))
        out: IntArray = base + perm(np.arange(start, start + count, dtype=np.int64))
        return out

    def unallocated(self, network: HostNetwork, count: int) -> IntArray:
        """Numbers in the network's reserved MVNO range, allocated to no one."""
        prefix = next(int(p) for p, n in MVNO_SEGMENTS.items() if n is network and len(p) == 3)
        base = (prefix * 10 + _RESERVED_DIGIT) * 10**7
        return self._draw(f"mvno-{network.value}", base, 10**7, count)

    def host_segment(self, network: HostNetwork, count: int) -> IntArray:
        """Numbers of the host network's own (non-MVNO) subscribers' segment."""
        segment = _HOST_SEGMENT[network]
        return self._draw(f"host-{network.value}", segment * 10**8, 10**8, count)
