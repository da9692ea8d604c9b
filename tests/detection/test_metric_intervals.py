"""Bootstrap intervals of cross-validated metrics: agree with resampling rows, behave at edges."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from mvnoguard.detection.metric_intervals import METRICS, bootstrap_intervals
from mvnoguard.errors import InvalidInput


def _predictions(rows: int, errors: float, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = (rng.random(rows) < 0.3).astype(np.int64)
    predicted = np.where(rng.random(rows) < errors, 1 - labels, labels)
    return labels, predicted


def test_intervals_match_a_bootstrap_that_resamples_rows() -> None:
    labels, predicted = _predictions(1500, 0.08)
    rng = np.random.default_rng(11)
    by_rows: dict[str, list[float]] = {name: [] for name in METRICS}
    for _ in range(2000):
        drawn = rng.integers(0, len(labels), size=len(labels))
        y, p = labels[drawn], predicted[drawn]
        by_rows["accuracy"].append(accuracy_score(y, p))
        by_rows["macro_f1"].append(f1_score(y, p, average="macro"))
        by_rows["f1_positive"].append(f1_score(y, p))
    intervals = bootstrap_intervals(labels, predicted, rounds=2000, seed=5)
    for name in METRICS:
        low, high = getattr(intervals, name)
        expected = np.percentile(by_rows[name], [2.5, 97.5])
        # Two independent Monte Carlo estimates of the same quantiles.
        assert low == pytest.approx(expected[0], abs=0.004), name
        assert high == pytest.approx(expected[1], abs=0.004), name


def test_intervals_hold_the_point_estimate_and_narrow_with_more_rows() -> None:
    widths = []
    for rows in (400, 4000, 40000):
        labels, predicted = _predictions(rows, 0.1)
        intervals = bootstrap_intervals(labels, predicted)
        low, high = intervals.macro_f1
        assert low < f1_score(labels, predicted, average="macro") < high
        low, high = intervals.accuracy
        assert low < accuracy_score(labels, predicted) < high
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]


def test_perfect_predictions_give_a_point_and_one_seed_gives_one_answer() -> None:
    labels, _ = _predictions(300, 0.0)
    perfect = bootstrap_intervals(labels, labels)
    assert perfect.accuracy == perfect.macro_f1 == perfect.f1_positive == (1.0, 1.0)
    labels, predicted = _predictions(300, 0.2)
    assert bootstrap_intervals(labels, predicted, seed=4) == bootstrap_intervals(
        labels, predicted, seed=4
    )
    assert bootstrap_intervals(labels, predicted, seed=4) != bootstrap_intervals(
        labels, predicted, seed=5
    )
    shown = bootstrap_intervals(labels, predicted, confidence=0.9, rounds=500).to_json()
    assert shown["confidence"] == 0.9 and shown["rounds"] == 500
    assert set(METRICS) <= set(shown)


def test_a_class_never_present_scores_zero_not_nan() -> None:
    labels = np.zeros(50, dtype=np.int64)
    intervals = bootstrap_intervals(labels, labels)
    assert intervals.f1_positive == (0.0, 0.0)
    assert intervals.macro_f1 == (0.5, 0.5)


@pytest.mark.parametrize(
    ("labels", "predicted", "options", "field"),
    [
        ([0, 1], [0], {}, "predicted"),
        ([], [], {}, "predicted"),
        ([0, 1], [0, 1], {"confidence": 1.0}, "confidence"),
        ([0, 1], [0, 1], {"rounds": 0}, "rounds"),
    ],
)
def test_bad_arguments_are_refused(
    labels: list[int], predicted: list[int], options: dict[str, float], field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        bootstrap_intervals(np.array(labels), np.array(predicted), **options)  # type: ignore[arg-type]
    assert raised.value.field == field
