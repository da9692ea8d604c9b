"""How sure a cross-validated figure is: bootstrap intervals for accuracy and F1 scores.

Cross-validation gives every labelled row one out-of-fold prediction. The figures the models
are judged by (accuracy, macro-F1, the positive class's F1) are then computed on a few thousand
rows, and a different draw of rows would give a different figure. A percentile bootstrap
resamples the rows with replacement ``rounds`` times, recomputes each metric from the
resample's confusion matrix, and reports the middle ``confidence`` share of the results. The
resampled confusion matrices are drawn directly (a multinomial over the four cells), which is
the same distribution as drawing rows and takes no time whatever the number of rows.

The three metrics come from the same resamples, so their intervals describe one experiment.
The interval covers the sampling of the evaluated rows only: the variation from refitting the
models on other folds is what repeated cross-validation with other fold seeds shows.

This module is pure arithmetic over arrays: it never reads files, models or settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mvnoguard.errors import InvalidInput
from mvnoguard.supervision.intervals import DEFAULT_CONFIDENCE, check_confidence

DEFAULT_ROUNDS = 2000
METRICS: tuple[str, ...] = ("accuracy", "macro_f1", "f1_positive")


@dataclass(frozen=True)
class MetricIntervals:
    """Percentile bootstrap intervals ``(low, high)`` per metric, with how they were drawn."""

    accuracy: tuple[float, float]
    macro_f1: tuple[float, float]
    f1_positive: tuple[float, float]
    confidence: float
    rounds: int

    def to_json(self) -> dict[str, Any]:
        return {
            "confidence": self.confidence,
            "rounds": self.rounds,
            **{name: [round(v, 4) for v in getattr(self, name)] for name in METRICS},
        }


def _f1(tp: np.ndarray[Any, Any], fp: np.ndarray[Any, Any], fn: np.ndarray[Any, Any]) -> Any:
    """F1 per resample; 0 where the class never appears and is never predicted."""
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros(len(tp)), where=denominator > 0)


def bootstrap_intervals(
    labels: np.ndarray[Any, Any],
    predicted: np.ndarray[Any, Any],
    *,
    rounds: int = DEFAULT_ROUNDS,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> MetricIntervals:
    """Intervals for accuracy, macro-F1 and positive-class F1 of 0/1 ``predicted`` vs ``labels``.

    The same ``seed`` gives the same intervals.
    """
    truth = np.asarray(labels, dtype=np.int64)
    guess = np.asarray(predicted, dtype=np.int64)
    if truth.shape != guess.shape or truth.ndim != 1 or len(truth) == 0:
        raise InvalidInput(
            "labels and predictions must be two equally long, non-empty lists", field="predicted"
        )
    check_confidence(confidence)
    if rounds < 1:
        raise InvalidInput(f"rounds must be at least 1, got {rounds}", field="rounds")
    # A resample's confusion matrix is all these metrics need, and resampling rows with
    # replacement draws it from the multinomial of the four cells' shares: no row is drawn.
    cells = np.bincount(2 * truth + guess, minlength=4)  # tn, fp, fn, tp
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(len(truth), cells / len(truth), size=rounds)
    tn, fp, fn, tp = counts.T
    positive = _f1(tp, fp, fn)
    values = {
        "accuracy": (tn + tp) / len(truth),
        "macro_f1": (positive + _f1(tn, fn, fp)) / 2,
        "f1_positive": positive,
    }
    tail = (1.0 - confidence) / 2 * 100
    bounds = {
        name: (
            float(np.percentile(v, tail, method="linear")),
            float(np.percentile(v, 100 - tail, method="linear")),
        )
        for name, v in values.items()
    }
    return MetricIntervals(
        accuracy=bounds["accuracy"],
        macro_f1=bounds["macro_f1"],
        f1_positive=bounds["f1_positive"],
        confidence=confidence,
        rounds=rounds,
    )


__all__ = ["METRICS", "MetricIntervals", "bootstrap_intervals"]
