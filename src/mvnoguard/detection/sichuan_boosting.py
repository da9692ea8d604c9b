"""Seed-averaged LightGBM for the Sichuan fraud-user model.

An ensemble is ``ENSEMBLE_SIZE`` boosters trained on the same rows with the same parameters
and different seeds, so each draws its own bagging rows and feature subsets; its score is the
mean of their probabilities. Averaging removes part of the variance one booster's random draws
add to its scores. In cross-validation it was the one change that helped on every fold seed
tried (macro-F1 +0.003, +0.002, +0.001 over a single booster on fold seeds 0, 1, 2), a small gain
that is not much larger than the noise between fold seeds.

Fits run on a pool of ``FIT_WORKERS`` threads, each booster with one LightGBM thread (LightGBM
releases the GIL while it trains). A booster's result depends only on its data and seed, so
scores are the same whatever the pool size or order of completion.

This module never reads files or labels itself and never pickles: boosters travel as LightGBM
text dumps (see :meth:`BoosterEnsemble.texts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]

# One OpenMP thread per booster: on a shared 2-core machine two OpenMP threads spin against
# other work and ran ten times slower in our measurements; results are deterministic for a
# fixed thread count. Parallelism comes from fitting two boosters at a time instead.
NUM_THREADS = 1
FIT_WORKERS = 2
ENSEMBLE_SIZE = 3
SEED_STRIDE = 1000  # member m of an ensemble seeded s uses seed s + m * SEED_STRIDE
ROUNDS = 600
LGB_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.03,
    "num_leaves": 15,
    "min_child_samples": 20,
    "feature_fraction": 0.6,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "deterministic": True,
    "force_col_wise": True,
    "num_threads": NUM_THREADS,
    "verbosity": -1,
}
TEXT_NAME = "lightgbm"  # member 0; member m > 0 is stored as "lightgbm_m"


def member_seeds(seed: int, size: int = ENSEMBLE_SIZE) -> tuple[int, ...]:
    """The seeds of an ensemble's members; member 0 keeps ``seed`` itself."""
    return tuple(seed + member * SEED_STRIDE for member in range(size))


def text_names(size: int) -> tuple[str, ...]:
    """Model-file text members of an ensemble of ``size`` (a lone booster: ``lightgbm``)."""
    return tuple(TEXT_NAME if member == 0 else f"{TEXT_NAME}_{member}" for member in range(size))


@dataclass(frozen=True)
class BoosterEnsemble:
    """Boosters whose mean probability is the score."""

    boosters: tuple[lgb.Booster, ...]

    @property
    def size(self) -> int:
        return len(self.boosters)

    def score(self, design: FloatArray) -> FloatArray:
        total = np.zeros(len(design))
        for booster in self.boosters:
            total += np.asarray(booster.predict(design, num_threads=NUM_THREADS), dtype=np.float64)
        return total / self.size

    def texts(self) -> dict[str, str]:
        return {
            name: booster.model_to_string()
            for name, booster in zip(text_names(self.size), self.boosters, strict=True)
        }

    @classmethod
    def from_texts(cls, texts: Mapping[str, str], size: int) -> BoosterEnsemble:
        """Rebuild from :meth:`texts`; ``KeyError`` when a member is missing, ``ValueError``
        when ``size`` is below one."""
        if size < 1:
            raise ValueError(f"an ensemble needs at least one booster, not {size}")
        return cls(tuple(lgb.Booster(model_str=texts[name]) for name in text_names(size)))


def _fit_one(design: FloatArray, labels: IntArray, seed: int) -> lgb.Booster:
    params = {**LGB_PARAMS, "seed": seed}
    return lgb.train(params, lgb.Dataset(design, label=labels, params=params), ROUNDS)


def fit_ensembles(
    training_sets: Sequence[tuple[FloatArray, IntArray]],
    *,
    seed: int,
    size: int = ENSEMBLE_SIZE,
) -> list[BoosterEnsemble]:
    """One ensemble per ``(design, labels)`` pair, every member of every pair fitted on the pool.

    Pooling all fits of a cross-validation step keeps both workers busy to the end.
    """
    seeds = member_seeds(seed, size)
    with ThreadPoolExecutor(max_workers=FIT_WORKERS) as pool:
        futures = [
            [pool.submit(_fit_one, design, labels, member_seed) for member_seed in seeds]
            for design, labels in training_sets
        ]
        return [BoosterEnsemble(tuple(f.result() for f in members)) for members in futures]


__all__ = [
    "ENSEMBLE_SIZE",
    "LGB_PARAMS",
    "ROUNDS",
    "BoosterEnsemble",
    "fit_ensembles",
    "member_seeds",
    "text_names",
]
