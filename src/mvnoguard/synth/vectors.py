"""Vectorised building blocks of the generator: hashing, permutations, dates, Arrow strings.

Nothing here loops over rows in Python. Person attributes are pure functions of an integer
id (through :func:`unit_hash`), so one person looks the same at every enterprise; unique
document numbers and phone numbers come from affine permutations (:class:`AffinePerm`),
which are bijections and so can never produce the same value twice.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

__all__ = [
    "AffinePerm",
    "IntArray",
    "date_to_days",
    "days_from_ymd",
    "digits",
    "fixed_width_strings",
    "pick_index",
    "salt_of",
    "take_strings",
    "unit_hash",
    "ymd",
]

IntArray = NDArray[np.int64]

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_EPOCH = date(1970, 1, 1)


def _mix_int(value: int) -> int:
    """splitmix64 finaliser on a Python int (scalars: no numpy overflow warnings)."""
    z = (value + _GOLDEN) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def salt_of(seed: int, purpose: str) -> int:
    """A 64-bit salt for one purpose (names, document types, ...) under one seed."""
    return _mix_int(_mix_int(seed & _MASK64) ^ zlib.crc32(purpose.encode()))


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    z = x + np.uint64(_GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    out: NDArray[np.uint64] = z ^ (z >> np.uint64(31))
    return out


def unit_hash(ids: IntArray, salt: int) -> NDArray[np.float64]:
    """A uniform number in [0, 1) for each id, fixed by ``salt``."""
    h = _mix(ids.astype(np.uint64) ^ np.uint64(salt))
    out: NDArray[np.float64] = (h >> np.uint64(11)).astype(np.float64) * (2.0**-53)
    return out


class AffinePerm:
    """The bijection ``x -> (a*x + c) mod modulus`` on ``[0, modulus)``.

    Inputs must lie in ``[0, bound)`` (default: the modulus); ``a`` is chosen coprime with
    the modulus and small enough that ``a * bound`` fits in a signed 64-bit integer.
    """

    def __init__(self, modulus: int, salt: int, *, bound: int | None = None) -> None:
        if modulus < 1:
            raise ValueError("modulus must be positive")
        limit = min(modulus, (2**62) // max(bound if bound is not None else modulus, 1))
        if limit < 2 and modulus > 1:
            raise ValueError("modulus too large for the bound")
        a = 1 if modulus == 1 else limit // 2 + _mix_int(salt) % max(limit // 2, 1)
        while math.gcd(a, modulus) != 1:
            a -= 1  # ends at 1 at the latest
        self.modulus = modulus
        self.a = a
        self.c = _mix_int(salt ^ 0x5BD1E995) % modulus
        self.bound = bound if bound is not None else modulus

    def __call__(self, x: IntArray) -> IntArray:
        if x.size and (int(x.max()) >= self.bound or int(x.min()) < 0):
            raise ValueError("input beyond the permutation's bound")
        out: IntArray = (x * self.a + self.c) % self.modulus
        return out


def pick_index(u: NDArray[np.float64], cum: NDArray[np.float64]) -> IntArray:
    """Index drawn from cumulative probabilities ``cum`` (last one 1.0) by uniforms ``u``."""
    out: IntArray = np.minimum(np.searchsorted(cum, u, side="right"), cum.size - 1)
    return out.astype(np.int64)


def date_to_days(d: date) -> int:
    return (d - _EPOCH).days


def ymd(days: NDArray[np.int64] | NDArray[np.int32]) -> tuple[IntArray, IntArray, IntArray]:
    """Year, month, day of epoch day numbers."""
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def days_from_ymd(year: IntArray, month: IntArray, day: IntArray) -> IntArray:
    """Epoch day numbers of (valid) dates."""
    months = (year - 1970) * 12 + (month - 1)
    first = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    out: IntArray = first + day - 1
    return out


def digits(values: IntArray, width: int) -> NDArray[np.uint8]:
    """Decimal digits (most significant first) of non-negative ints, zero padded."""
    out = np.empty((values.shape[0], width), dtype=np.uint8)
    rest = values.copy()
    for k in range(width - 1, -1, -1):
        out[:, k] = rest % 10
        rest //= 10
    return out


def fixed_width_strings(
    matrix: NDArray[np.uint8], lengths: IntArray, valid: NDArray[np.bool_] | None = None
) -> pa.StringArray:
    """A string array from ASCII bytes: row ``i`` is ``matrix[i, :lengths[i]]``.

    Rows where ``valid`` is False are null (their length is ignored).
    """
    n, width = matrix.shape
    lens = lengths if valid is None else np.where(valid, lengths, 0)
    keep = np.arange(width)[None, :] < lens[:, None]
    data = np.ascontiguousarray(matrix[keep])
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lens, out=offsets[1:])
    bitmap = None
    if valid is not None and not bool(valid.all()):
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
    arr = pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data.tobytes()), bitmap
    )
    assert isinstance(arr, pa.StringArray)
    return arr


def take_strings(
    values: Sequence[str], index: NDArray[np.integer], valid: NDArray[np.bool_] | None = None
) -> pa.Array:
    """``values[index]`` as an Arrow string array; rows where ``valid`` is False are null."""
    idx = pa.array(index, mask=None if valid is None else ~valid)
    return pc.take(pa.array(values, type=pa.string()), idx)
