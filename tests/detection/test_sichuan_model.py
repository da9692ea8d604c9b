"""Sichuan fraud model: leak-free graph features, exact save/load, the CV target on real data."""

from __future__ import annotations

import csv
import dataclasses
import gzip
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold

from mvnoguard.detection import graph_features as gf
from mvnoguard.detection.model_files import load_model, save_model
from mvnoguard.detection.sichuan_model import (
    _held_out_scores,
    _prepare,
    cross_validate_sichuan,
    load_sichuan_model,
    predict_sichuan,
    read_sichuan_csv,
    repeated_cross_validation,
    train_sichuan,
)
from tests.conftest import skip_or_fail

REAL_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sichuan-telecom-fraud"
FEATURES = ["calls", "contacts", "sms", "arpu"]


def _write_dataset(folder: Path, *, users: int = 240, seed: int = 7) -> None:
    """Fraud users call more, text more and cluster together in the graph; 30% unlabelled."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(users) < 0.35).astype(int)
    phones = [f"p{i:04d}" for i in range(users)]
    base = rng.normal(size=(users, len(FEATURES))) + labels[:, None] * 1.2
    test = rng.random(users) < 0.3
    for name, rows, with_label in (("train.csv", ~test, True), ("test_features.csv", test, False)):
        with (folder / name).open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["phone_no_m", *FEATURES, *(["label"] if with_label else [])])
            for i in np.flatnonzero(rows):
                writer.writerow([phones[i], *base[i], *([labels[i]] if with_label else [])])
    with (folder / "nodes.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["node", "phone_no_m"])
        writer.writerows(enumerate(phones))
    with gzip.open(folder / "call_graph_edges.csv.gz", "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["src", "dst"])
        for src in range(users):
            for dst in rng.choice(users, size=6, replace=False):
                same = labels[src] == labels[dst]
                if dst != src and rng.random() < (0.8 if same else 0.2):
                    writer.writerow([src, dst])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sichuan")
    _write_dataset(folder)
    return folder


def test_own_label_never_changes_own_features(dataset: Path) -> None:
    graph = gf.read_call_graph(dataset)
    table = read_sichuan_csv(dataset / "train.csv", labelled=True)
    assert table.labels is not None
    before = gf.label_features(graph, table.phones, table.phones, table.labels)
    for row in range(0, len(table.phones), 17):
        flipped = table.labels.copy()
        flipped[row] = 1 - flipped[row]
        after = gf.label_features(graph, table.phones, table.phones, flipped)
        np.testing.assert_array_equal(after[row], before[row])


def test_label_features_see_only_known_neighbours(dataset: Path) -> None:
    graph = gf.read_call_graph(dataset)
    table = read_sichuan_csv(dataset / "train.csv", labelled=True)
    assert table.labels is not None
    feats = gf.label_features(graph, ["not-in-graph", table.phones[0]], [], np.array([], int))
    assert np.isnan(feats[0]).all()
    assert feats[1][0] == 0 and feats[1][1] == 0  # no labels visible: no known neighbours


def test_structure_features_are_label_free(dataset: Path) -> None:
    graph = gf.read_call_graph(dataset)
    table = read_sichuan_csv(dataset / "train.csv", labelled=True)
    values, names = gf.structure_features(
        graph, table.phones, table.phones, table.features[:, :2], FEATURES[:2]
    )
    assert values.shape == (len(table.phones), len(names))
    assert names[: len(gf.STRUCTURE_FEATURES)] == list(gf.STRUCTURE_FEATURES)
    assert (values[:, 2] >= values[:, 0]).all()  # distinct neighbours >= out-degree
    assert np.nanmax(values[:, 3]) <= 1.0


def test_held_out_labels_never_reach_held_out_scores(dataset: Path) -> None:
    prepared = _prepare(dataset, 3)
    labels = prepared.table.labels
    assert labels is not None
    fit_rows, held_rows = next(
        StratifiedKFold(n_splits=3, shuffle=True, random_state=0).split(labels, labels)
    )
    scores, threshold = _held_out_scores(prepared, fit_rows, held_rows, folds=3, seed=0)

    def rescored(rows: np.ndarray) -> tuple[np.ndarray, float]:
        flipped = labels.copy()
        flipped[rows] = 1 - flipped[rows]
        table = dataclasses.replace(prepared.table, labels=flipped)
        changed = dataclasses.replace(prepared, table=table)
        return _held_out_scores(changed, fit_rows, held_rows, folds=3, seed=0)

    again, again_threshold = rescored(held_rows)
    np.testing.assert_array_equal(again, scores)
    assert again_threshold == threshold
    # The same flip on training rows does move the scores: the check above can fail.
    moved, _ = rescored(fit_rows[::5])
    assert not np.array_equal(moved, scores)


def test_cross_validation_reports_every_metric(dataset: Path) -> None:
    result = cross_validate_sichuan(dataset, folds=3, seed=0)
    assert result["graph"] is True
    assert len(result["per_fold"]) == 3
    for key in ("macro_f1", "f1_fraud", "auc"):
        assert 0.5 < result["mean"][key] <= 1.0
    assert np.sum(result["mean"]["confusion_matrix"]) == result["rows"]


def test_pooled_figures_carry_bootstrap_intervals(dataset: Path) -> None:
    pooled = cross_validate_sichuan(dataset, folds=3, seed=0)["pooled"]
    low, high = pooled["intervals"]["macro_f1"]
    assert low <= round(pooled["macro_f1"], 4) <= high
    low, high = pooled["intervals"]["f1_positive"]
    assert low <= round(pooled["f1_fraud"], 4) <= high


def test_repeated_cross_validation_averages_fold_seeds(dataset: Path) -> None:
    repeated = repeated_cross_validation(dataset, seeds=[0, 1], folds=3)
    runs = repeated["runs"]
    assert [run["seed"] for run in runs] == [0, 1]
    assert runs[0]["per_fold"] != runs[1]["per_fold"]  # other seeds, other splits
    for key in ("macro_f1", "f1_fraud", "auc"):
        values = [run["mean"][key] for run in runs]
        assert repeated["mean_of_runs"][key] == pytest.approx(np.mean(values))
        assert repeated["range_of_runs"][key] == [min(values), max(values)]
    assert runs[0] == cross_validate_sichuan(dataset, folds=3, seed=0) | {
        "seconds": runs[0]["seconds"]
    }


def test_save_load_reproduces_scores_exactly(dataset: Path, tmp_path: Path) -> None:
    model = train_sichuan(dataset, seed=0, folds=3)
    path = tmp_path / "sichuan.mvgmodel"
    model.save(path)
    loaded = load_sichuan_model(path)
    assert loaded.threshold == model.threshold
    assert loaded.design_names == model.design_names
    assert loaded.metadata["training_data_sha256"] == model.metadata["training_data_sha256"]
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    summary = predict_sichuan(model, dataset / "test_features.csv", first)
    predict_sichuan(loaded, dataset / "test_features.csv", second)
    assert summary["graph_used"] is True
    assert first.read_bytes() == second.read_bytes()
    table = read_sichuan_csv(dataset / "test_features.csv", feature_names=FEATURES, labelled=False)
    graph = gf.read_call_graph(dataset)
    np.testing.assert_array_equal(model.score(table, graph), loaded.score(table, graph))
    with first.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["phone_no_m", "score", "label"]
    assert {row["label"] for row in rows} <= {"0", "1"}


def test_a_users_score_does_not_depend_on_who_is_scored_with_it(dataset: Path) -> None:
    """Scored alone, in halves or all together, and as at training (where the unlabelled
    users' behaviour fed the neighbour means), every user gets one score."""
    model = train_sichuan(dataset, seed=0, folds=3)
    table = read_sichuan_csv(dataset / "test_features.csv", feature_names=FEATURES, labelled=False)
    graph = gf.read_call_graph(dataset)
    together = model.score(table, graph)

    def part(rows: slice) -> gf.FloatArray:
        piece = dataclasses.replace(table, phones=table.phones[rows], features=table.features[rows])
        return model.score(piece, graph)

    half = len(table.phones) // 2
    np.testing.assert_array_equal(
        np.concatenate([part(slice(0, half)), part(slice(half, None))]), together
    )
    np.testing.assert_array_equal(part(slice(3, 4)), together[3:4])
    assert model.known_behaviour is not None
    assert len(model.known_phones) == len(model.train_phones) + len(table.phones)


def test_single_booster_files_from_before_ensembles_still_load(
    dataset: Path, tmp_path: Path
) -> None:
    model = train_sichuan(dataset, seed=0, folds=3)
    path, legacy = tmp_path / "ensemble.mvgmodel", tmp_path / "legacy.mvgmodel"
    model.save(path)
    stored = load_model(path, kind="sichuan-fraud")
    assert stored.metadata["ensemble_size"] == model.ensemble.size > 1
    # The layout written before ensembles: one "lightgbm" text, no ensemble_size key.
    metadata = {k: v for k, v in stored.metadata.items() if k != "ensemble_size"}
    save_model(
        legacy,
        kind="sichuan-fraud",
        metadata=metadata,
        arrays=stored.arrays,
        texts={"lightgbm": stored.texts["lightgbm"]},
    )
    loaded = load_sichuan_model(legacy)
    assert loaded.ensemble.size == 1
    table = read_sichuan_csv(dataset / "test_features.csv", feature_names=FEATURES, labelled=False)
    graph = gf.read_call_graph(dataset)
    design = model.design_for(table, graph)
    first_member = np.asarray(model.ensemble.boosters[0].predict(design), dtype=np.float64)
    np.testing.assert_array_equal(loaded.score(table, graph), first_member)


@pytest.mark.slow
def test_real_sichuan_cross_validation_holds_its_measured_level() -> None:
    """A regression floor, not the issue's target of 0.92, which is not reached: 5-fold CV with
    fold seed 0 measured macro-F1 0.9157 (mean 0.9147 over fold seeds 0, 1, 2; 0.9126 before
    the seed-averaged ensemble). Fold seeds alone move it by about 0.004, so the floor sits at
    0.908, the same margin below the measurement as the floor it replaces (0.905)."""
    if not (REAL_DATA / "train.csv").is_file():
        skip_or_fail(f"Sichuan data not found at {REAL_DATA}")
    result = cross_validate_sichuan(REAL_DATA, folds=5, seed=0)
    assert result["mean"]["macro_f1"] >= 0.908, result["mean"]
    assert result["mean"]["auc"] >= 0.94, result["mean"]
