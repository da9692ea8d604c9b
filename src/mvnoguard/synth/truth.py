"""Ground truth of a generated market: the exact audit result and the market summary.

``truth.json`` holds what a correct ``mvnoguard audit --json`` and ``mvnoguard stats --json``
must report for the files written next to it: per enterprise (all 42, the non-issuing ones
with zeros) ``audited`` (non-cancelled rows), ``violating`` (distinct numbers with at least one
violation), ``violation_rate`` (``violating / audited``, 0.0 when nothing is audited) and
``violations`` by kind (every kind, zeros included); and the market's enterprises approved and
issuing, users (non-cancelled subscribers) and enterprises above 1, 2 and 4 million users. It
also counts the planted look-alikes (clean rows that resemble violations), for tests.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["EnterpriseTruth", "MarketSummary", "MarketTruth"]


@dataclass(frozen=True, slots=True)
class EnterpriseTruth:
    enterprise_code: str
    audited: int
    violating: int
    violation_rate: float
    violations: dict[str, int]
    rows: int  # registry rows written, cancelled included
    cancelled: int


@dataclass(frozen=True, slots=True)
class MarketSummary:
    enterprises_approved: int
    enterprises_issuing: int
    users_total: int
    enterprises_over_1m: int
    enterprises_over_2m: int
    enterprises_over_4m: int

    @classmethod
    def from_enterprises(cls, approved: int, audited: list[int]) -> MarketSummary:
        return cls(
            enterprises_approved=approved,
            enterprises_issuing=sum(1 for a in audited if a > 0),
            users_total=sum(audited),
            enterprises_over_1m=sum(1 for a in audited if a > 1_000_000),
            enterprises_over_2m=sum(1 for a in audited if a > 2_000_000),
            enterprises_over_4m=sum(1 for a in audited if a > 4_000_000),
        )


@dataclass(frozen=True, slots=True)
class MarketTruth:
    """What the generated files contain; ``to_dict`` is its JSON form."""

    seed: int
    scale: float
    as_of: str  # ISO date
    format: str  # parquet | csv
    market: MarketSummary
    enterprises: list[EnterpriseTruth]
    look_alikes: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    def enterprise(self, code: str) -> EnterpriseTruth:
        for e in self.enterprises:
            if e.enterprise_code == code:
                return e
        raise KeyError(code)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MarketTruth:
        return cls(
            seed=int(data["seed"]),
            scale=float(data["scale"]),
            as_of=str(data["as_of"]),
            format=str(data["format"]),
            market=MarketSummary(**data["market"]),
            enterprises=[EnterpriseTruth(**e) for e in data["enterprises"]],
            look_alikes={str(k): int(v) for k, v in data.get("look_alikes", {}).items()},
        )

    @classmethod
    def load(cls, path: Path) -> MarketTruth:
        """Read a ``truth.json`` written by :func:`~mvnoguard.synth.generate_market`."""
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
