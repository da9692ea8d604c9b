"""How a risk list compares with planted truth (synthetic traffic): caught and wrongly flagged.

The truth file is ``msisdn, kind, category`` (see :mod:`mvnoguard.synth.traffic`): every
number with a category is a planted nuisance; the legitimate heavy callers (couriers, delivery
riders, sales, call centres) and ordinary users have none. The figures the issue asks for are
the share of nuisance numbers caught, and the shares of heavy callers and of ordinary users
flagged; per kind, so a regression points at its cause.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mvnoguard.csv_inputs import read_small_csv

__all__ = ["HEAVY_KINDS", "ORDINARY_KINDS", "Evaluation", "evaluate", "read_truth"]

HEAVY_KINDS = frozenset({"courier", "delivery", "sales", "call_centre"})
ORDINARY_KINDS = frozenset({"ordinary", "busy_ordinary"})


@dataclass(frozen=True, slots=True)
class Truth:
    kind: str
    category: str | None


TRUTH_COLUMNS = ("msisdn", "kind")


def read_truth(path: Path) -> dict[str, Truth]:
    """``truth.csv`` keyed by E.164 number."""
    rows = read_small_csv(
        path,
        what="the truth file",
        field="truth",
        required=TRUTH_COLUMNS,
        expected="msisdn, kind, category as synth traffic writes it",
    )
    return {row["msisdn"]: Truth(row["kind"], row.get("category") or None) for row in rows}


@dataclass(frozen=True, slots=True)
class Evaluation:
    nuisance: int
    caught: int
    category_right: int
    heavy: int
    heavy_flagged: int
    ordinary: int
    ordinary_flagged: int
    flagged: int
    by_kind: dict[str, dict[str, int]]

    @property
    def recall(self) -> float:
        return self.caught / self.nuisance if self.nuisance else 0.0

    @property
    def precision(self) -> float:
        return self.caught / self.flagged if self.flagged else 0.0

    @property
    def heavy_flagged_share(self) -> float:
        return self.heavy_flagged / self.heavy if self.heavy else 0.0

    @property
    def ordinary_flagged_share(self) -> float:
        return self.ordinary_flagged / self.ordinary if self.ordinary else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "nuisance": self.nuisance,
            "caught": self.caught,
            "recall": round(self.recall, 4),
            "precision": round(self.precision, 4),
            "category_right": self.category_right,
            "heavy_callers": self.heavy,
            "heavy_flagged": self.heavy_flagged,
            "heavy_flagged_share": round(self.heavy_flagged_share, 4),
            "ordinary": self.ordinary,
            "ordinary_flagged": self.ordinary_flagged,
            "ordinary_flagged_share": round(self.ordinary_flagged_share, 5),
            "by_kind": self.by_kind,
        }


def evaluate(flagged: Iterable[tuple[str, str]], truth: dict[str, Truth]) -> Evaluation:
    """Compare ``(msisdn E.164, category)`` pairs of a risk list with the truth."""
    listed = dict(flagged)
    totals: Counter[str] = Counter(t.kind for t in truth.values())
    hits: Counter[str] = Counter(truth[m].kind for m in listed if m in truth)
    nuisance = [m for m, t in truth.items() if t.category]
    caught = [m for m in nuisance if m in listed]
    return Evaluation(
        nuisance=len(nuisance),
        caught=len(caught),
        category_right=sum(1 for m in caught if listed[m] == truth[m].category),
        heavy=sum(totals[k] for k in HEAVY_KINDS),
        heavy_flagged=sum(hits[k] for k in HEAVY_KINDS),
        ordinary=sum(totals[k] for k in ORDINARY_KINDS),
        ordinary_flagged=sum(hits[k] for k in ORDINARY_KINDS),
        flagged=len(listed),
        by_kind={k: {"numbers": totals[k], "flagged": hits[k]} for k in sorted(totals)},
    )
