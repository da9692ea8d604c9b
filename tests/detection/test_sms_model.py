"""The SMS content model: reading, normalisation, save/load, predict_file, and real-data CV."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from mvnoguard.detection.sms_model import (
    NORMALISATION_VERSION,
    _char_counts,
    _cross_fitted,
    best_threshold,
    cross_validate_sms,
    load_sms_model,
    normalise,
    predict_file,
    read_labelled,
    train_sms,
)
from mvnoguard.errors import DataFileError

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

EN_SPAM = [
    "WINNER!! Claim your free prize now, call 09061701461 txt CLAIM to 87121",
    "Free entry in a weekly comp to win cash! Text WIN to 80086 now www.win-cash.com",
    "URGENT! You have won a 1000 pound prize. Call 0800 123 4567 to claim",
    "Congratulations you won a free holiday, reply YES to 85233 to claim now",
]
EN_HAM = [
    "Are we still meeting for lunch today?",
    "I'll be home late tonight, don't wait up",
    "Can you pick up some milk on the way back",
    "Happy birthday mum, see you on Sunday",
]
ZH_SPAM = ["本店优惠大酬宾，全场五折，详询xxxxxxxxxxx", "恭喜您中奖了，请点击领取奖品，回复td退订"]
ZH_HAM = ["今天晚上一起吃饭吗", "我明天早上八点到公司开会"]


def _write_training(tmp_path: Path, copies: int = 6) -> list[Path]:
    tsv, csv_path = tmp_path / "en.tsv", tmp_path / "zh.csv"
    lines = []
    for i in range(copies):
        lines += [f"spam\t{t} {i}" for t in EN_SPAM] + [f"ham\t{t} {i}" for t in EN_HAM]
    tsv.write_text("\n".join([*lines, "broken line without tab", "maybe\tunknown label"]) + "\n")
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", "content"])
        for i in range(copies):
            writer.writerows(
                [["1", f"{t}{i}\n"] for t in ZH_SPAM] + [["0", f"{t}{i}"] for t in ZH_HAM]
            )
        writer.writerow(["2", "bad label"])
    return [tsv, csv_path]


def test_normalise_masks_urls_phones_and_digits_keeps_x() -> None:
    text = normalise("Call ０８００ 123 4567 or visit http://x.co/A NOW, £1000! 详询xxxx")
    assert "phonetoken" in text and "urltoken" in text
    assert "£0000" in text and "xxxx" in text and text == text.lower()


def test_read_labelled_both_formats_and_skips_bad_rows(tmp_path: Path) -> None:
    messages = read_labelled(_write_training(tmp_path, copies=1))
    assert len(messages.texts) == 12
    assert messages.skipped == 3
    assert messages.labels.tolist() == [1] * 4 + [0] * 4 + [1, 1, 0, 0]
    assert messages.languages == ["en"] * 8 + ["zh"] * 4
    assert messages.texts[8].endswith("\n")  # quoted newline inside a CSV field survives


def test_train_save_load_reproduces_scores(tmp_path: Path) -> None:
    model = train_sms(_write_training(tmp_path), folds=3)
    texts = [*EN_SPAM, *EN_HAM, *ZH_SPAM, *ZH_HAM, "", "   "]
    scores = model.score(texts)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert scores[-2:].tolist() == [0.0, 0.0]
    assert scores[:4].min() > scores[4:8].max()
    path = tmp_path / "sms.mvgmodel"
    model.save(path)
    loaded = load_sms_model(path)
    np.testing.assert_array_equal(loaded.score(texts), scores)
    assert loaded.threshold == model.threshold
    meta = loaded.metadata
    assert len(meta["training_data_sha256"]) == 64
    assert {"en", "zh", "overall"} <= set(meta["metrics"])
    assert meta["features"]["char"]["cjk"]["ngram_range"] == [1, 2]
    assert meta["features"]["char"]["other"]["ngram_range"] == [1, 5]


def test_files_of_another_normalisation_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "sms.mvgmodel"
    model = train_sms(_write_training(tmp_path), folds=3)
    model.metadata["normalisation_version"] = NORMALISATION_VERSION - 1
    model.save(path)
    with pytest.raises(DataFileError, match="retrain") as refused:
        load_sms_model(path)
    assert refused.value.code == "model_format_unsupported"


def test_character_ngrams_follow_each_texts_script() -> None:
    texts = ["今天晚上吃饭", "lunch today", "中奖 win", "ok"]
    mixed = _char_counts(texts)
    for row, text in enumerate(texts):  # a batch of mixed scripts keeps every row's own counts
        alone = _char_counts([text])
        assert (mixed[row] != alone).nnz == 0
    assert _char_counts(texts[:1]).nnz == 6 + 5  # Chinese: 6 characters, 5 pairs, no triples
    assert _char_counts([]).shape == (0, mixed.shape[1])


def test_predict_file_keeps_columns_and_order(tmp_path: Path) -> None:
    model = train_sms(_write_training(tmp_path), folds=3)
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    rows = [["id", "content", "note"]] + [
        [str(i), t, f"n{i}"]
        for i, t in enumerate([EN_HAM[0], EN_SPAM[0], "", ZH_SPAM[0], ZH_HAM[0]])
    ]
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    result = predict_file(model, source, target, chunk_rows=2)
    assert (result.rows, result.quarantined, result.quarantine_file) == (5, 0, None)
    with target.open(newline="", encoding="utf-8") as handle:
        out = list(csv.reader(handle))
    assert out[0] == ["id", "content", "note", "spam_score", "is_spam"]
    assert [r[:3] for r in out[1:]] == rows[1:]
    assert [r[4] for r in out[1:]] == ["0", "1", "0", "1", "0"]
    assert float(out[3][3]) == 0.0


def test_predict_file_quarantines_rows_of_another_width(tmp_path: Path) -> None:
    """Scores never land under a row's own extra fields; blank lines are no rows."""
    model = train_sms(_write_training(tmp_path), folds=3)
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text(
        f'id,content\n1,{EN_HAM[0]}\n\n2,call now,note A,note B\n3\n4,"two\nlines"\n',
        encoding="utf-8",
    )
    result = predict_file(model, source, target, quarantine_dir=tmp_path / "q")
    assert (result.rows, result.quarantined) == (2, 2)
    with target.open(newline="", encoding="utf-8") as handle:
        out = list(csv.reader(handle))
    assert [row[:2] for row in out] == [["id", "content"], ["1", EN_HAM[0]], ["4", "two\nlines"]]
    assert result.quarantine_file is not None
    with Path(result.quarantine_file).open(newline="", encoding="utf-8") as handle:
        problems = [(r["row"], r["code"]) for r in csv.DictReader(handle)]
    assert problems == [("3", "wrong_field_count"), ("4", "wrong_field_count")]


def test_predict_file_needs_content_column(tmp_path: Path) -> None:
    model = train_sms(_write_training(tmp_path), folds=3)
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,hello\n")
    with pytest.raises(DataFileError) as info:
        predict_file(model, source, tmp_path / "out.csv")
    assert info.value.code == "missing_column"


def test_training_needs_both_classes(tmp_path: Path) -> None:
    path = tmp_path / "ham.tsv"
    path.write_text("ham\thello\nham\tbye\n")
    with pytest.raises(DataFileError):
        train_sms([path])


@pytest.mark.slow
def test_cross_validation_meets_targets_on_real_data() -> None:
    uci, chinese = DATA / "uci-sms-spam" / "train.tsv", DATA / "chinese-sms-spam" / "train.csv"
    if not (uci.is_file() and chinese.is_file()):
        if os.environ.get("CI") == "true":
            pytest.fail(f"real SMS data missing under {DATA} (required when CI=true)")
        pytest.skip(f"real SMS data not found under {DATA}")
    result = cross_validate_sms([uci, chinese], folds=5, seed=0)
    assert result["en"]["accuracy"] >= 0.99
    assert result["en"]["spam_f1"] >= 0.96
    assert result["zh"]["accuracy"] >= 0.997


def test_a_fold_is_judged_at_a_threshold_its_own_labels_did_not_choose() -> None:
    rng = np.random.default_rng(2)
    labels = (rng.random(900) < 0.2).astype(np.int64)
    margins = rng.normal(size=900) + 2.5 * labels
    fold_of = rng.integers(0, 3, size=900)
    predicted, thresholds = _cross_fitted(labels, margins, fold_of, 3)
    assert len(thresholds) == 3
    for fold in range(3):
        flipped = labels.copy()
        flipped[fold_of == fold] = 1 - flipped[fold_of == fold]
        again, again_thresholds = _cross_fitted(flipped, margins, fold_of, 3)
        held = fold_of == fold
        np.testing.assert_array_equal(again[held], predicted[held])
        assert again_thresholds[fold] == thresholds[fold]
    # Each fold's cut is the best one on the other folds' calibrated scores.
    rest = fold_of != 0
    assert thresholds[0] == best_threshold(labels[rest], _scores_like(labels[rest], margins[rest]))


def _scores_like(labels: np.ndarray, margins: np.ndarray) -> np.ndarray:
    """Platt-scaled margins, fitted here with scikit-learn directly."""
    from sklearn.linear_model import LogisticRegression

    platt = LogisticRegression(C=1e6).fit(margins.reshape(-1, 1), labels)
    return np.asarray(platt.predict_proba(margins.reshape(-1, 1))[:, 1])


def test_cross_validation_reports_intervals_per_part(tmp_path: Path) -> None:
    result = cross_validate_sms(_write_training(tmp_path, copies=8), folds=3, seed=0)
    assert len(result["fold_thresholds"]) == 3
    for part in ("en", "zh", "overall"):
        intervals = result[part]["intervals"]
        low, high = intervals["accuracy"]
        assert low <= round(result[part]["accuracy"], 4) <= high
        assert intervals["confidence"] == 0.95
