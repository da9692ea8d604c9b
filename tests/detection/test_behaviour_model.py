"""The behaviour model's cross-validation on small label sets: fewer folds, or a clear refusal."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from mvnoguard.detection.behaviour_model import cross_validate_behaviour
from mvnoguard.errors import InvalidInput


def _candidates(n: int) -> pa.Table:
    return pa.table({"msisdn": list(range(n)), "calls_out": [float(10 * i) for i in range(n)]})


@pytest.mark.parametrize(
    ("labels", "found"),
    [([1], "fraud 1"), ([0] * 7 + [1], "clear 7, fraud 1"), ([], "none")],
)
def test_too_few_labels_are_refused_saying_what_there_is(labels: list[int], found: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        cross_validate_behaviour(_candidates(len(labels)), np.array(labels, dtype=np.int64))
    assert refused.value.code == "too_few_labels"
    assert refused.value.message.endswith(found)


def test_a_small_class_lowers_the_fold_count() -> None:
    labels = np.array([0] * 6 + [1] * 3, dtype=np.int64)
    metrics = cross_validate_behaviour(_candidates(len(labels)), labels)
    assert (metrics["rows"], metrics["folds"]) == (9, 3)
