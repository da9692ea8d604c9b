"""The SMS content model: one spam classifier for Chinese and English messages.

Text is normalised (NFKC, lower case, URLs / e-mail addresses / phone numbers replaced by
tokens, other digits by ``0``; the upstream ``x`` masking of the Chinese corpus is kept), then
hashed into two sparse TF-IDF spaces -- character n-grams, which work for Chinese without word
segmentation (1-2-grams for a text with Chinese characters, word-bounded 1-5-grams for any
other; :data:`CHAR_NGRAMS`), and word 1-2-grams -- and scored by a linear SVM whose margins
Platt scaling turns into probabilities. Hashing makes the features stateless: a model file
only holds numeric arrays (the IDF weights, the coefficients, the intercept, the calibration)
and JSON metadata, written by :mod:`mvnoguard.detection.model_files`, so predicting never
unpickles anything and reproduces the training-time features exactly.

The decision threshold is chosen by cross-validation (the one maximising spam F1 on out-of-fold
scores) and stored in the model. The metrics cross-validation reports judge each fold at a
threshold chosen on the other folds, never on the messages being judged. This module must never
tune on test data: it only sees the files it is given.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import importlib
import itertools
import os
import re
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, f1_score, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

from mvnoguard.analytics.contract_files import RowProblem, write_problems
from mvnoguard.detection.metric_intervals import bootstrap_intervals
from mvnoguard.detection.model_files import load_model, save_model, sha256_of_files
from mvnoguard.errors import DataFileError, InvalidInput
from mvnoguard.output_paths import atomic_text_file, output_file

# scipy comes with scikit-learn; it ships no type hints, hence the untyped module handle.
_SPARSE: Any = importlib.import_module("scipy.sparse")

MODEL_KIND = "sms"
# The text normalisation and n-gram scheme a model file was trained with; bumped when either
# changes, so an older file is refused (retrain) rather than scored on other features.
# 1: character 1-4-grams for every text; 2: 1-2-grams for Chinese, word-bounded 1-5-grams else.
NORMALISATION_VERSION = 2
# Character n-grams per script: (analyzer, longest n-gram).
CHAR_NGRAMS: dict[str, tuple[str, int]] = {"cjk": ("char", 2), "other": ("char_wb", 5)}
CHAR_FEATURES = 2**20
WORD_FEATURES = 2**18
DEFAULT_C = 3.0
PREDICT_CHUNK_ROWS = 20_000

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]

_URL = re.compile(r"(?:https?://|www\.)\S+|\b[a-z0-9-]+\.(?:com|net|org|cn|co\.uk|biz)\b\S*")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_PHONE = re.compile(r"(?<!\d)\+?\d(?:[\s-]?\d){6,}(?!\d)")
_DIGIT = re.compile(r"\d")
# Latin letters and (masked) digits only: Chinese is covered by the character n-grams, and
# unsegmented Chinese "words" would be whole sentences that never recur.
_WORD_PATTERN = r"[a-z0-9]+"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SPAM_LABELS = {"spam": 1, "1": 1, "ham": 0, "0": 0}


def normalise(text: str) -> str:
    """The one text normalisation used for training and prediction alike."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _URL.sub(" urltoken ", text)
    text = _EMAIL.sub(" emailtoken ", text)
    text = _PHONE.sub(" phonetoken ", text)
    text = _DIGIT.sub("0", text)
    return " ".join(text.split())


def _char_vectorizer(analyzer: str, longest: int) -> HashingVectorizer:
    return HashingVectorizer(
        analyzer=analyzer,
        ngram_range=(1, longest),
        n_features=CHAR_FEATURES,
        alternate_sign=False,
        norm=None,
        lowercase=False,
    )


def _word_vectorizer() -> HashingVectorizer:
    return HashingVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        token_pattern=_WORD_PATTERN,
        n_features=WORD_FEATURES,
        alternate_sign=False,
        norm=None,
        lowercase=False,
    )


def _char_counts(normalised: Sequence[str]) -> Any:
    """Character n-gram counts by script, rows in the order of ``normalised``.

    A text with Chinese characters gets 1-2-grams, any other text word-bounded 1-5-grams. In
    cross-validation over fold seeds 0-3, Chinese accuracy rose from 0.9970-0.9974 (1-4-grams
    for all) to 0.9977-0.9980 and English from 0.9899-0.9915 to 0.9902-0.9915 (docs/models.md)."""
    chinese = np.fromiter((bool(_CJK.search(t)) for t in normalised), bool, len(normalised))
    parts = []
    for script, rows_of_script in (("cjk", chinese), ("other", ~chinese)):
        texts = [t for t, keep in zip(normalised, rows_of_script, strict=True) if keep]
        # The hashing vectorizer cannot transform an empty list: no text, no rows.
        parts.append(
            _char_vectorizer(*CHAR_NGRAMS[script]).transform(texts)
            if texts
            else _SPARSE.csr_matrix((0, CHAR_FEATURES))
        )
    order = np.concatenate([np.flatnonzero(chinese), np.flatnonzero(~chinese)])
    rows = np.empty_like(order)
    rows[order] = np.arange(len(order))
    return _SPARSE.vstack(parts, format="csr")[rows]


def _hashed(texts: Sequence[str]) -> tuple[Any, Any]:
    """Raw term counts of the normalised texts in the char and the word space (CSR matrices)."""
    normalised = [normalise(t) for t in texts]
    return _char_counts(normalised), _word_vectorizer().transform(normalised)


def _idf(counts: Any) -> FloatArray:
    """Smoothed IDF exactly as scikit-learn's TfidfTransformer computes it."""
    n_docs = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
    idf: FloatArray = np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
    return idf


def _tfidf(counts: Any, idf: FloatArray) -> Any:
    weighted = counts.astype(np.float64)
    weighted.data = 1.0 + np.log(weighted.data)  # sublinear tf
    weighted.data *= idf[weighted.indices]
    return normalize(weighted, norm="l2", copy=False)


def _features(
    char_counts: Any, word_counts: Any, char_idf: FloatArray, word_idf: FloatArray
) -> Any:
    return _SPARSE.hstack(
        [_tfidf(char_counts, char_idf), _tfidf(word_counts, word_idf)], format="csr"
    )


def _fit_classifier(features: Any, labels: IntArray, seed: int) -> LinearSVC:
    classifier = LinearSVC(C=DEFAULT_C, max_iter=10_000, random_state=seed)
    classifier.fit(features, labels)
    return classifier


def _fit_calibration(labels: IntArray, margins: FloatArray) -> tuple[float, float]:
    """Platt scaling: (slope, offset) so that sigmoid(slope * margin + offset) is a probability."""
    platt = LogisticRegression(C=1e6).fit(margins.reshape(-1, 1), labels)
    return float(platt.coef_[0, 0]), float(platt.intercept_[0])


def _sigmoid(values: FloatArray) -> FloatArray:
    result: FloatArray = 1.0 / (1.0 + np.exp(-values))
    return result


@dataclass(frozen=True)
class LabelledMessages:
    """Messages read from labelled files; ``languages`` is ``"en"`` or ``"zh"`` per file."""

    texts: list[str]
    labels: IntArray
    languages: list[str]
    sources: list[str]
    skipped: int = 0


@dataclass
class SmsModel:
    """A trained SMS spam model: everything it needs is numeric arrays plus metadata."""

    char_idf: FloatArray
    word_idf: FloatArray
    coef: FloatArray
    intercept: float
    calibration: tuple[float, float]
    threshold: float
    metadata: dict[str, Any] = field(default_factory=dict)

    def score(self, texts: Sequence[str]) -> FloatArray:
        """Spam probability of each text; an empty or blank text scores 0.0 (nothing to judge)."""
        if not texts:
            return np.zeros(0, dtype=np.float64)
        char_counts, word_counts = _hashed(texts)
        features = _features(char_counts, word_counts, self.char_idf, self.word_idf)
        margin = np.asarray(features @ self.coef + self.intercept, dtype=np.float64)
        slope, offset = self.calibration
        scores = _sigmoid(slope * margin + offset)
        blank = np.fromiter((not t.strip() for t in texts), dtype=bool, count=len(texts))
        scores[blank] = 0.0
        return scores

    def predict(self, texts: Sequence[str]) -> IntArray:
        return (self.score(texts) >= self.threshold).astype(np.int64)

    def save(self, path: str | os.PathLike[str]) -> None:
        save_model(
            path,
            kind=MODEL_KIND,
            metadata={
                **self.metadata,
                "threshold": self.threshold,
                "intercept": self.intercept,
                "calibration": list(self.calibration),
            },
            arrays={"char_idf": self.char_idf, "word_idf": self.word_idf, "coef": self.coef},
        )


def load_sms_model(path: str | os.PathLike[str]) -> SmsModel:
    """Load a model written by :meth:`SmsModel.save`; refuses other kinds and corrupt files."""
    loaded = load_model(path, kind=MODEL_KIND)
    meta = loaded.metadata
    try:
        char_idf = loaded.arrays["char_idf"].astype(np.float64)
        word_idf = loaded.arrays["word_idf"].astype(np.float64)
        coef = loaded.arrays["coef"].astype(np.float64)
        threshold, intercept = float(meta["threshold"]), float(meta["intercept"])
        slope, offset = (float(v) for v in meta["calibration"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DataFileError(
            f"{Path(path).name}: incomplete SMS model ({exc})", code="model_file_corrupt"
        ) from exc
    if (
        char_idf.shape != (CHAR_FEATURES,)
        or word_idf.shape != (WORD_FEATURES,)
        or coef.shape != (CHAR_FEATURES + WORD_FEATURES,)
    ):
        raise DataFileError(
            f"{Path(path).name}: SMS model arrays have unexpected shapes", code="model_file_corrupt"
        )
    if meta.get("normalisation_version") != NORMALISATION_VERSION:
        raise DataFileError(
            f"{Path(path).name} was trained with text normalisation "
            f"{meta.get('normalisation_version')!r}; retrain it with this mvnoguard",
            code="model_format_unsupported",
        )
    return SmsModel(char_idf, word_idf, coef, intercept, (slope, offset), threshold, dict(meta))


# --- reading labelled files -------------------------------------------------------------------


def _label(raw: str) -> int | None:
    return _SPAM_LABELS.get(raw.strip().lower())


def _decoded_lines(path: Path) -> Iterator[str | None]:
    """The file's lines, each decoded on its own: None for a line that is not UTF-8 (a GBK
    file's Chinese lines, say), so one bad line costs one row and no text is garbled."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle):
            line = raw.removeprefix(codecs.BOM_UTF8) if number == 0 else raw
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError:
                yield None


def _rows(path: Path) -> Iterator[tuple[str, str] | None]:
    """(label, text) pairs of one file; None for a row that cannot be read."""
    lines = _decoded_lines(path)
    first = next(lines, "")
    lines = itertools.chain([first], lines)
    tab_separated = path.suffix.lower() in {".tsv", ".txt"} or (
        path.suffix.lower() != ".csv" and "\t" in (first or "")
    )
    if tab_separated:
        for line in lines:
            label, sep, text = (line or "").rstrip("\r\n").partition("\t")
            yield (label, text) if sep else None
        return
    undecodable = 0

    def decoded() -> Iterator[str]:
        nonlocal undecodable
        for line in lines:
            if line is None:
                undecodable += 1
            else:
                yield line

    reader = csv.reader(decoded())
    header = next(reader, None)
    if header is not None:
        lowered = [h.strip().lower() for h in header]
        if "label" in lowered and ("content" in lowered or "text" in lowered):
            label_at = lowered.index("label")
            text_at = lowered.index("content") if "content" in lowered else lowered.index("text")
        else:  # no header: label,content
            label_at, text_at = 0, 1
            yield (header[0], ",".join(header[1:])) if len(header) >= 2 else None
        for row in reader:
            if len(row) <= max(label_at, text_at):
                yield None
            else:
                yield row[label_at], row[text_at]
    for _ in range(undecodable):
        yield None


def read_labelled(paths: Sequence[str | os.PathLike[str]]) -> LabelledMessages:
    """Read label<TAB>text (ham/spam) and label,content CSV (1 = spam) files; skip bad rows.

    The language of a file is ``"zh"`` when most of its messages contain a CJK character.
    """
    texts: list[str] = []
    labels: list[int] = []
    languages: list[str] = []
    sources: list[str] = []
    skipped = 0
    for raw_path in paths:
        path = Path(raw_path)
        file_texts: list[str] = []
        try:
            for pair in _rows(path):
                label = _label(pair[0]) if pair else None
                if pair is None or label is None:
                    skipped += 1
                    continue
                file_texts.append(pair[1])
                labels.append(label)
        except OSError as exc:
            raise DataFileError(
                f"cannot read {path.name}: {exc.strerror or exc}", code="unreadable_file"
            ) from exc
        except csv.Error as exc:
            raise DataFileError(f"{path.name} is not a readable CSV file ({exc})") from exc
        if not file_texts:
            raise DataFileError(
                f"{path.name} holds no labelled message: expected UTF-8 lines of "
                "label<TAB>text or a CSV of label,content (label ham/spam or 0/1)",
                code="no_labelled_rows",
                field="data",
            )
        cjk = sum(1 for t in file_texts if _CJK.search(t))
        language = "zh" if cjk * 2 > len(file_texts) else "en"
        texts.extend(file_texts)
        languages.extend([language] * len(file_texts))
        sources.extend([path.name] * len(file_texts))
    return LabelledMessages(texts, np.asarray(labels, dtype=np.int64), languages, sources, skipped)


# --- training and cross-validation ------------------------------------------------------------


def _groups(texts: Sequence[str]) -> IntArray:
    """Identical messages (after normalisation) share a group, so they never straddle folds."""
    ids: dict[str, int] = {}
    return np.fromiter(
        (ids.setdefault(normalise(t), len(ids)) for t in texts), dtype=np.int64, count=len(texts)
    )


def _out_of_fold_scores(
    char_counts: Any,
    word_counts: Any,
    labels: IntArray,
    strata: IntArray,
    groups: IntArray,
    *,
    folds: int,
    seed: int,
) -> tuple[FloatArray, IntArray]:
    """Out-of-fold SVM margins, and the fold each row was held out in."""
    scores = np.zeros(len(labels), dtype=np.float64)
    fold_of = np.zeros(len(labels), dtype=np.int64)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (train, test) in enumerate(splitter.split(np.zeros(len(labels)), strata, groups)):
        fold_of[test] = fold
        char_idf, word_idf = _idf(char_counts[train]), _idf(word_counts[train])
        classifier = _fit_classifier(
            _features(char_counts[train], word_counts[train], char_idf, word_idf),
            labels[train],
            seed,
        )
        test_features = _features(char_counts[test], word_counts[test], char_idf, word_idf)
        scores[test] = classifier.decision_function(test_features)
    return scores, fold_of


def best_threshold(labels: IntArray, scores: FloatArray) -> float:
    """The threshold maximising spam F1 (ties: the one nearest 0.5)."""
    candidates = np.round(np.arange(0.02, 0.981, 0.005), 3)
    best, best_f1 = 0.5, -1.0
    for threshold in sorted(candidates, key=lambda t: abs(t - 0.5)):
        f1 = float(f1_score(labels, scores >= threshold, zero_division=0.0))
        if f1 > best_f1:
            best, best_f1 = float(threshold), f1
    return best


def classification_metrics(
    labels: IntArray, scores: FloatArray, predicted: IntArray, *, seed: int = 0
) -> dict[str, Any]:
    """Accuracy, macro-F1, spam F1, AUC, the confusion matrix [[tn, fp], [fn, tp]] and
    bootstrap 95% intervals of the first three (resampling the messages)."""
    both_classes = len(np.unique(labels)) == 2
    return {
        "n": len(labels),
        "spam": int(labels.sum()),
        "accuracy": float(np.mean(predicted == labels)),
        "macro_f1": float(f1_score(labels, predicted, average="macro", zero_division=0.0)),
        "spam_f1": float(f1_score(labels, predicted, zero_division=0.0)),
        "auc": float(roc_auc_score(labels, scores)) if both_classes else None,
        "confusion_matrix": confusion_matrix(labels, predicted, labels=[0, 1]).tolist(),
        "intervals": bootstrap_intervals(labels, predicted, seed=seed).to_json(),
    }


def _cross_fitted(
    labels: IntArray, margins: FloatArray, fold_of: IntArray, folds: int
) -> tuple[IntArray, list[float]]:
    """Each fold's predictions with a calibration and threshold fitted on the *other* folds'
    out-of-fold margins, so no message's label chooses the threshold it is judged by."""
    predicted = np.zeros(len(labels), dtype=np.int64)
    thresholds: list[float] = []
    for fold in range(folds):
        held, rest = fold_of == fold, fold_of != fold
        slope, offset = _fit_calibration(labels[rest], margins[rest])
        threshold = best_threshold(labels[rest], _sigmoid(slope * margins[rest] + offset))
        predicted[held] = _sigmoid(slope * margins[held] + offset) >= threshold
        thresholds.append(threshold)
    return predicted, thresholds


def _cross_validate(
    messages: LabelledMessages,
    groups: IntArray,
    char_counts: Any,
    word_counts: Any,
    *,
    folds: int,
    seed: int,
) -> dict[str, Any]:
    """Out-of-fold scores (``groups``: :func:`_groups` of the texts), calibration, threshold
    and metrics."""
    languages = np.asarray(messages.languages)
    strata = messages.labels + 2 * (languages == "zh").astype(np.int64)
    started = time.perf_counter()
    labels = messages.labels
    margins, fold_of = _out_of_fold_scores(
        char_counts, word_counts, labels, strata, groups, folds=folds, seed=seed
    )
    # The final model's calibration and threshold use every out-of-fold margin; the reported
    # metrics use the cross-fitted ones, chosen without the rows they are measured on.
    slope, offset = _fit_calibration(labels, margins)
    scores = _sigmoid(slope * margins + offset)
    predicted, fold_thresholds = _cross_fitted(labels, margins, fold_of, folds)
    result: dict[str, Any] = {
        "folds": folds,
        "seed": seed,
        "threshold": best_threshold(labels, scores),
        "calibration": [slope, offset],
        "fold_thresholds": fold_thresholds,
    }
    for language in sorted(set(messages.languages)):
        part = languages == language
        result[language] = classification_metrics(
            labels[part], scores[part], predicted[part], seed=seed
        )
    result["overall"] = classification_metrics(labels, scores, predicted, seed=seed)
    at_half = (scores >= 0.5).astype(np.int64)
    result["overall_at_0.5"] = classification_metrics(labels, scores, at_half, seed=seed)
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def _read_for_training(
    paths: Sequence[str | os.PathLike[str]], folds: int
) -> tuple[LabelledMessages, IntArray]:
    """The labelled messages and their :func:`_groups`, refused when too few to cross-validate."""
    messages = read_labelled(paths)
    if len(np.unique(messages.labels)) < 2:
        raise DataFileError(
            "the training files need both spam and ham messages", code="invalid_input"
        )
    # Copies of one message stay in one fold, so each class needs `folds` distinct messages.
    groups = _groups(messages.texts)
    spam = len(np.unique(groups[messages.labels == 1]))
    ham = len(np.unique(groups[messages.labels == 0]))
    if min(spam, ham) < folds:
        raise InvalidInput(
            f"too few messages for {folds}-fold cross-validation: {spam} distinct spam and "
            f"{ham} distinct ham; at least {folds} of each are needed",
            code="too_few_rows",
            field="data",
        )
    return messages, groups


def cross_validate_sms(
    paths: Sequence[str | os.PathLike[str]], *, folds: int = 5, seed: int = 0
) -> dict[str, Any]:
    """Stratified, duplicate-grouped k-fold CV: metrics per language ("en", "zh") and overall.

    Each fold is judged at a threshold chosen on the other folds' out-of-fold scores (the
    model's own threshold, ``threshold``, uses all of them); ``overall_at_0.5`` shows the
    metrics at 0.5 for comparison. Every part carries bootstrap 95% intervals.
    """
    messages, groups = _read_for_training(paths, folds)
    char_counts, word_counts = _hashed(messages.texts)
    result = _cross_validate(messages, groups, char_counts, word_counts, folds=folds, seed=seed)
    result["skipped_rows"] = messages.skipped
    return result


def train_sms(
    paths: Sequence[str | os.PathLike[str]], *, seed: int = 0, folds: int = 5
) -> SmsModel:
    """Cross-validate (to choose the threshold and record metrics), then fit on every message."""
    messages, groups = _read_for_training(paths, folds)
    char_counts, word_counts = _hashed(messages.texts)
    evaluation = _cross_validate(messages, groups, char_counts, word_counts, folds=folds, seed=seed)
    char_idf, word_idf = _idf(char_counts), _idf(word_counts)
    classifier = _fit_classifier(
        _features(char_counts, word_counts, char_idf, word_idf), messages.labels, seed
    )
    metadata: dict[str, Any] = {
        "training_data_sha256": sha256_of_files(paths),
        "training_files": [Path(p).name for p in paths],
        "training_rows": len(messages.texts),
        "skipped_rows": messages.skipped,
        "normalisation_version": NORMALISATION_VERSION,
        "features": {
            "char": {
                script: {"analyzer": analyzer, "ngram_range": [1, longest]}
                for script, (analyzer, longest) in CHAR_NGRAMS.items()
            }
            | {"n_features": CHAR_FEATURES, "cjk_pattern": _CJK.pattern},
            "word": {"analyzer": "word", "ngram_range": [1, 2], "n_features": WORD_FEATURES},
            "hashing": "sklearn HashingVectorizer, alternate_sign=False",
            "tfidf": "sublinear tf, smoothed idf, l2 norm per space",
        },
        "params": {
            "classifier": "LinearSVC + Platt scaling fitted on out-of-fold margins",
            "C": DEFAULT_C,
            "seed": seed,
            "folds": folds,
        },
        "metrics": evaluation,
    }
    return SmsModel(
        char_idf=char_idf,
        word_idf=word_idf,
        coef=np.asarray(classifier.coef_[0], dtype=np.float64),
        intercept=float(classifier.intercept_[0]),
        calibration=(evaluation["calibration"][0], evaluation["calibration"][1]),
        threshold=float(evaluation["threshold"]),
        metadata=metadata,
    )


# --- scoring a file ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    """What :func:`predict_file` wrote: scored rows, and rows sent to quarantine."""

    rows: int
    quarantined: int
    quarantine_file: str | None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def predict_file(
    model: SmsModel,
    in_csv: str | os.PathLike[str],
    out_csv: str | os.PathLike[str],
    *,
    quarantine_dir: Path | None = None,
    chunk_rows: int = PREDICT_CHUNK_ROWS,
) -> Prediction:
    """Copy ``in_csv`` to ``out_csv`` with ``spam_score`` and ``is_spam`` (0/1) appended.

    Every input column and the row order are kept; existing ``spam_score`` / ``is_spam`` columns
    are overwritten in place. An empty ``content`` scores 0.0 and is not spam. Blank lines are
    no rows. A row whose field count is not the header's would put the scores under the wrong
    columns: it goes to ``quarantine_dir/sms-predict-<stamp>.csv`` instead (file, row, reason;
    none without ``quarantine_dir``), and the other rows are scored. Rows are streamed in chunks
    of ``chunk_rows``, so the file's size does not matter.
    """
    source, target = Path(in_csv), Path(out_csv)
    output_file(target, inputs=[source])
    written = 0
    problems: list[RowProblem] = []
    try:
        with (
            source.open(encoding="utf-8-sig", newline="") as src,
            atomic_text_file(target) as dst,  # a failure leaves no half-written --out
        ):
            reader = csv.reader(src)
            header = next(reader, None)
            if header is None or "content" not in header:
                raise DataFileError(
                    f"{source.name} has no 'content' column", code="missing_column", field="content"
                )
            content_at = header.index("content")
            out_header = list(header)
            for name in ("spam_score", "is_spam"):
                if name not in out_header:
                    out_header.append(name)
            score_at, flag_at = out_header.index("spam_score"), out_header.index("is_spam")
            writer = csv.writer(dst)
            writer.writerow(out_header)
            chunk: list[list[str]] = []
            last_line = reader.line_num
            for row in reader:
                start, last_line = last_line + 1, reader.line_num
                if not row:
                    continue
                if len(row) != len(header):
                    reason = f"{len(row)} fields where the header has {len(header)}"
                    # ``row``: the data row number, header excluded, as in every quarantine.
                    problems.append(
                        RowProblem(source.name, start - 1, "", "wrong_field_count", reason)
                    )
                    continue
                chunk.append(row)
                if len(chunk) >= chunk_rows:
                    written += _write_chunk(
                        model, chunk, writer, content_at, score_at, flag_at, len(out_header)
                    )
                    chunk = []
            written += _write_chunk(
                model, chunk, writer, content_at, score_at, flag_at, len(out_header)
            )
    except OSError as exc:
        raise DataFileError(
            f"cannot read or write {exc.filename}: {exc.strerror}", field="data"
        ) from exc
    except (csv.Error, UnicodeDecodeError) as exc:
        raise DataFileError(
            f"{source.name} is not a readable UTF-8 CSV file ({exc})", field="data"
        ) from exc
    quarantine_file = None
    if problems and quarantine_dir is not None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        path = quarantine_dir / f"sms-predict-{stamp}-{time.monotonic_ns() % 10**6:06d}.csv"
        quarantine_file = write_problems(path, problems)
    return Prediction(written, len(problems), quarantine_file)


def _write_chunk(
    model: SmsModel,
    rows: list[list[str]],
    writer: Any,
    content_at: int,
    score_at: int,
    flag_at: int,
    width: int,
) -> int:
    texts = [row[content_at] if content_at < len(row) else "" for row in rows]
    scores = model.score(texts)
    for row, score in zip(rows, scores, strict=True):
        out = row + [""] * (width - len(row))
        out[score_at] = f"{score:.6f}"
        out[flag_at] = "1" if score >= model.threshold and score > 0.0 else "0"
        writer.writerow(out)
    return len(rows)
