"""The behaviour model: LightGBM over a number's features, where labelled numbers exist.

The rules need no labels; where an operator has them (numbers confirmed as fraud, harassment
or spam, and numbers cleared), this model learns from the same candidate rows the rules judge
(:func:`mvnoguard.detection.screening.candidates`): the window figures, each rule's worst day,
and the ratios that separate nuisance from legitimate heavy use. It predicts four classes
(clear, fraud, harassment, spam); its *strength* is the probability of any nuisance class,
and it joins the rules' combined score as one more rule, with its own reason.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from mvnoguard.detection.model_files import load_model, save_model
from mvnoguard.domain.risk import RiskCategory
from mvnoguard.errors import DataFileError, InvalidInput

if TYPE_CHECKING:
    import pyarrow as pa
    from numpy.typing import NDArray

__all__ = [
    "CLASSES",
    "FEATURES",
    "BehaviourModel",
    "cross_validate_behaviour",
    "design",
    "load_behaviour_model",
    "train_behaviour",
]

MODEL_KIND = "behaviour"
CLASSES: tuple[str, ...] = ("clear", *(c.value for c in RiskCategory))

_RAW = (
    "calls_out",
    "calls_in",
    "callees",
    "strangers",
    "imei_sharing",
    "cells",
    "imeis",
    "messages_out",
    "complaints",
    "days_active_before",
    "f_strangers",
    "h_calls_to_one",
    "r_unanswered",
    "s_messages",
)
_RATIOS = {
    "callback_share": ("strangers_called_back", "strangers"),
    "reciprocal_share": ("reciprocal_callees", "callees"),
    "repeat_share": ("repeat_callees", "callees"),
    "unanswered_share": ("unanswered_out", "calls_out"),
    "short_share": ("short_out", "calls_out"),
    "night_share": ("night_out", "calls_out"),
    "peak_stranger_share": ("f_strangers", "f_callees"),
    "message_stranger_share": ("s_strangers", "s_recipients"),
    "spam_content_share": ("s_spam", "s_messages"),
    "talk_per_call": ("talk_s_out", "answered_out"),
}
FEATURES: tuple[str, ...] = (*_RAW, *_RATIOS)

PARAMS: dict[str, Any] = {
    "objective": "multiclass",
    "num_class": len(CLASSES),
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 10,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "verbosity": -1,
    "num_threads": 2,
}
ROUNDS = 200


def design(table: pa.Table) -> NDArray[np.float64]:
    """The model's feature matrix for candidate rows (missing figures are NaN)."""

    def column(name: str) -> NDArray[np.float64]:
        if name not in table.column_names:
            return np.full(table.num_rows, np.nan)
        return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)

    columns = [column(name) for name in _RAW]
    for part, whole in _RATIOS.values():
        numerator, denominator = column(part), column(whole)
        with np.errstate(divide="ignore", invalid="ignore"):
            columns.append(np.where(denominator > 0, numerator / denominator, np.nan))
    return np.column_stack(columns) if columns else np.zeros((table.num_rows, 0))


@dataclass
class BehaviourModel:
    booster: lgb.Booster
    metadata: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, table: pa.Table) -> NDArray[np.float64]:
        """Class probabilities, one row per candidate, columns in :data:`CLASSES` order."""
        if table.num_rows == 0:
            return np.zeros((0, len(CLASSES)))
        return np.asarray(self.booster.predict(design(table)), dtype=np.float64)

    def save(self, path: str | os.PathLike[str]) -> None:
        save_model(
            path,
            kind=MODEL_KIND,
            metadata={**self.metadata, "features": list(FEATURES), "classes": list(CLASSES)},
            arrays={},
            texts={"lightgbm": self.booster.model_to_string()},
        )


def load_behaviour_model(path: str | os.PathLike[str]) -> BehaviourModel:
    loaded = load_model(path, kind=MODEL_KIND)
    if loaded.metadata.get("features") != list(FEATURES):
        raise DataFileError(
            "the behaviour model was trained on other features; train it again",
            code="model_format_unsupported",
        )
    try:
        return BehaviourModel(lgb.Booster(model_str=loaded.texts["lightgbm"]), loaded.metadata)
    except (KeyError, lgb.basic.LightGBMError) as exc:
        raise DataFileError(
            "the behaviour model file is incomplete", code="model_file_corrupt"
        ) from exc


def labels_for(table: pa.Table, truth: Mapping[int, str | None]) -> NDArray[np.int64]:
    """Class index of each candidate from ``truth`` (number -> category or None when clear)."""
    numbers = table.column("msisdn").to_pylist()
    index = {name: i for i, name in enumerate(CLASSES)}
    return np.array([index[truth.get(int(n)) or "clear"] for n in numbers], dtype=np.int64)


def _fit(features: NDArray[np.float64], labels: NDArray[np.int64], seed: int) -> lgb.Booster:
    if len(np.unique(labels)) < 2:
        raise InvalidInput("the labelled numbers hold only one class: nothing to learn")
    data = lgb.Dataset(features, label=labels, feature_name=list(FEATURES), free_raw_data=True)
    return lgb.train({**PARAMS, "seed": seed}, data, num_boost_round=ROUNDS)


def cross_validate_behaviour(
    table: pa.Table, labels: NDArray[np.int64], *, folds: int = 5, seed: int = 0
) -> dict[str, Any]:
    """Stratified k-fold: macro-F1 over the four classes, nuisance-vs-clear F1 and AUC.

    Every fold must hold each class present: with fewer candidates of a class than ``folds``,
    the folds are fewer; with a class of one candidate, or one class only, it is refused.
    """
    classes, counts = np.unique(labels, return_counts=True)
    found = ", ".join(f"{CLASSES[c]} {n}" for c, n in zip(classes, counts, strict=True))
    if len(classes) < 2 or counts.min() < 2:
        raise InvalidInput(
            "cross-validation needs at least two classes among the candidates, each with at "
            f"least two numbers; the labelled candidates are: {found or 'none'}",
            code="too_few_labels",
            field="labels",
        )
    folds = min(folds, int(counts.min()))
    features = design(table)
    scores = np.zeros((len(labels), len(CLASSES)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(features, labels):
        booster = _fit(features[train], labels[train], seed)
        scores[test] = np.asarray(booster.predict(features[test]), dtype=np.float64)
    predicted = scores.argmax(axis=1)
    nuisance = (labels > 0).astype(int)
    risk = 1.0 - scores[:, 0]
    return {
        "rows": len(labels),
        "folds": folds,
        "macro_f1": float(f1_score(labels, predicted, average="macro")),
        "nuisance_f1": float(f1_score(nuisance, (predicted > 0).astype(int))),
        "auc": float(roc_auc_score(nuisance, risk)) if 0 < nuisance.sum() < len(labels) else None,
    }


def train_behaviour(
    table: pa.Table,
    labels: NDArray[np.int64],
    *,
    seed: int = 0,
    metadata: Mapping[str, Any] | None = None,
) -> BehaviourModel:
    booster = _fit(design(table), labels, seed)
    counts = {CLASSES[i]: int((labels == i).sum()) for i in range(len(CLASSES))}
    return BehaviourModel(
        booster,
        {
            "training_rows": len(labels),
            "class_counts": counts,
            "params": {**PARAMS, "seed": seed, "rounds": ROUNDS},
            **(metadata or {}),
        },
    )
