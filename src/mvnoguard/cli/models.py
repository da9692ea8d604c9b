"""``mvnoguard model``: train, cross-validate and apply the detectors' models on labelled data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mvnoguard.cli.context import SeedOption, print_json, settings
from mvnoguard.output_paths import output_file

app = typer.Typer(help="Detection models trained on labelled data.", no_args_is_help=True)
train_app = typer.Typer(help="Train a model and write its file.", no_args_is_help=True)
eval_app = typer.Typer(help="Stratified 5-fold cross-validation.", no_args_is_help=True)
predict_app = typer.Typer(help="Score a file with a trained model.", no_args_is_help=True)
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")
app.add_typer(predict_app, name="predict")

ModelOption = Annotated[Path, typer.Option("--model", help="The model file.")]
OutOption = Annotated[Path, typer.Option("--out", help="Where to write.")]


def _print_metrics(title: str, parts: dict[str, Any]) -> None:
    """One row per data part: accuracy, macro-F1, positive-class F1, AUC, confusion matrix."""

    def number(m: dict[str, Any], *keys: str) -> str:
        value = next((m[k] for k in keys if k in m), None)
        return "" if value is None else f"{value:.4f}"

    table = Table(title=title)
    for header in ("part", "n", "accuracy", "macro-F1", "F1 positive", "AUC", "[[tn,fp],[fn,tp]]"):
        table.add_column(escape(header))  # the brackets are not Rich markup
    for name, m in parts.items():
        table.add_row(
            name,
            str(m.get("n", m.get("rows", ""))),
            number(m, "accuracy"),
            number(m, "macro_f1"),
            number(m, "spam_f1", "f1_fraud"),
            number(m, "auc"),
            escape(str(m.get("confusion_matrix", ""))),
        )
    Console().print(table)


def _print_intervals(parts: dict[str, Any]) -> None:
    """Bootstrap intervals of the parts that carry them (``intervals``: see metric_intervals)."""
    from mvnoguard.detection.metric_intervals import METRICS

    shown = {name: m["intervals"] for name, m in parts.items() if m.get("intervals")}
    if not shown:
        return
    first = next(iter(shown.values()))
    table = Table(
        title=f"{first['confidence']:.0%} bootstrap intervals "
        f"({first['rounds']} resamples of the evaluated rows)"
    )
    for header in ("part", "accuracy", "macro-F1", "F1 positive"):
        table.add_column(header)
    for name, ci in shown.items():
        table.add_row(name, *(f"{ci[k][0]:.4f} - {ci[k][1]:.4f}" for k in METRICS))
    Console().print(table)


@train_app.command("sms")
def train_sms_command(
    data: Annotated[
        list[Path], typer.Option("--data", help="label<TAB>text or label,content files")
    ],
    out: OutOption,
    seed: SeedOption = 0,
) -> None:
    """Train the SMS content model (English and Chinese) and write it to --out."""
    from mvnoguard.detection.sms_model import train_sms

    output_file(out, inputs=data)  # before the training, which may take minutes
    model = train_sms(data, seed=seed)
    model.save(out)
    print_json({"model": str(out), "threshold": model.threshold})


@eval_app.command("sms")
def eval_sms_command(
    data: Annotated[list[Path], typer.Option("--data")],
    seed: SeedOption = 0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Cross-validate the SMS model: per language and overall."""
    from mvnoguard.detection.sms_model import cross_validate_sms

    result = cross_validate_sms(data, folds=5, seed=seed)
    if as_json:
        print_json(result)
        return
    parts = {k: result[k] for k in ("en", "zh", "overall") if result.get(k)}
    _print_metrics("SMS model, stratified 5-fold cross-validation", parts)
    _print_intervals(parts)


@predict_app.command("sms")
def predict_sms_command(
    ctx: typer.Context,
    model: ModelOption,
    data: Annotated[Path, typer.Option("--data", help="CSV with a content column")],
    out: OutOption,
) -> None:
    """Add spam_score and is_spam to every row of --data, in the same order.

    A row whose field count is not the header's goes to the quarantine folder instead.
    """
    from mvnoguard.detection.sms_model import load_sms_model, predict_file

    quarantine = settings(ctx).quarantine_dir
    result = predict_file(load_sms_model(model), data, out, quarantine_dir=quarantine)
    print_json({**result.to_json(), "out": str(out)})


@train_app.command("sichuan")
def train_sichuan_command(
    data: Annotated[Path, typer.Option("--data", help="Folder with train.csv (+ graph files)")],
    out: OutOption,
    seed: SeedOption = 0,
) -> None:
    """Train the fraud-user model on per-user features and the call graph."""
    from mvnoguard.detection.sichuan_model import train_sichuan

    output_file(out, inputs=[data / "train.csv"])  # before the training, which takes minutes
    model = train_sichuan(data, seed=seed)
    model.save(out)
    print_json({"model": str(out), "threshold": model.threshold})


@eval_app.command("sichuan")
def eval_sichuan_command(
    data: Annotated[Path, typer.Option("--data", help="Folder with train.csv (+ graph files)")],
    seed: SeedOption = 0,
    repeats: Annotated[
        int,
        typer.Option(
            "--repeats",
            min=1,
            max=20,
            help="Repeat with fold seeds seed, seed+1, ...; report the mean of the repeats.",
        ),
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Cross-validate the fraud-user model (labels of held-out folds never seen)."""
    from mvnoguard.detection.sichuan_model import (
        cross_validate_sichuan,
        repeated_cross_validation,
    )

    if repeats > 1:
        seeds = range(seed, seed + repeats)
        repeated = repeated_cross_validation(data, folds=5, seeds=list(seeds))
        if as_json:
            print_json(repeated)
            return
        runs = {
            f"fold seed {r['seed']}": {**r["mean"], "rows": r["rows"]} for r in repeated["runs"]
        }
        _print_metrics(
            f"Sichuan fraud users, stratified 5-fold cross-validation, {repeats} fold seeds "
            "(mean of folds per seed)",
            {**runs, "mean of seeds": repeated["mean_of_runs"]},
        )
        _print_intervals({f"fold seed {r['seed']}": r["pooled"] for r in repeated["runs"]})
        return
    result = cross_validate_sichuan(data, folds=5, seed=seed)
    if as_json:
        print_json(result)
        return
    folds = {f"fold {i + 1}": m for i, m in enumerate(result["per_fold"])}
    matrices = [m["confusion_matrix"] for m in result["per_fold"]]
    summed = [[sum(m[r][c] for m in matrices) for c in (0, 1)] for r in (0, 1)]
    rows = sum(int(m["rows"]) for m in result["per_fold"])
    pooled = {**result["pooled"], "confusion_matrix": summed, "rows": rows}
    _print_metrics(
        "Sichuan fraud users, stratified 5-fold cross-validation",
        {**folds, "mean of folds": result["mean"], "pooled": pooled},
    )
    _print_intervals({"pooled": pooled})


@predict_app.command("sichuan")
def predict_sichuan_command(
    model: ModelOption,
    data: Annotated[Path, typer.Option("--data", help="CSV like test_features.csv")],
    out: OutOption,
) -> None:
    """Write phone_no_m, score, label (1 = fraud) for every user in --data."""
    from mvnoguard.detection.sichuan_model import load_sichuan_model, predict_sichuan

    print_json(predict_sichuan(load_sichuan_model(model), data, out))
