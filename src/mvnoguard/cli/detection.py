"""``mvnoguard detect`` and the behaviour model's ``model train|eval behaviour``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress, TaskID

from mvnoguard.cli.context import SeedOption, print_json, runtime
from mvnoguard.csv_inputs import read_small_csv
from mvnoguard.errors import InvalidInput
from mvnoguard.output_paths import output_file

if TYPE_CHECKING:
    from mvnoguard.detection.screening import Screening

CallsOption = Annotated[list[Path], typer.Option("--calls", help="Call records (repeatable).")]
MessagesOption = Annotated[
    list[Path] | None, typer.Option("--messages", help="Message records (repeatable).")
]
ComplaintsOption = Annotated[
    list[Path] | None,
    typer.Option("--complaints", help="Complaints in the contract's columns (repeatable)."),
]
ActivationsOption = Annotated[
    Path | None,
    typer.Option("--activations", help="msisdn, activated_at (a registry snapshot will do)."),
]
SmsModelOption = Annotated[
    Path | None, typer.Option("--sms-model", help="SMS content model (model train sms).")
]
EngineOption = Annotated[str, typer.Option("--engine", help="duckdb (default) or spark.")]
LabelsOption = Annotated[
    Path,
    typer.Option(
        "--labels", help="msisdn, category (fraud|harassment|spam; empty = clear): truth.csv"
    ),
]

_BIG_INPUT = 64 << 20  # bytes of records from which progress is shown


def _screen(
    ctx: typer.Context,
    *,
    calls: list[Path],
    messages: list[Path] | None,
    complaints: list[Path] | None,
    activations: Path | None,
    sms_model: Path | None,
    engine: str,
    behaviour_model: Path | None = None,
    out: Path | None = None,
) -> Screening:
    from mvnoguard.detection.screening import screen
    from mvnoguard.detection.settings import DetectionSettings

    if engine not in ("duckdb", "spark"):
        raise InvalidInput("--engine must be duckdb or spark", field="engine")
    rt = runtime(ctx)
    settings = DetectionSettings.from_policy(rt.policy)
    scorer = None
    if sms_model is not None:
        from mvnoguard.detection.content import content_scorer
        from mvnoguard.detection.sms_model import load_sms_model

        scorer = content_scorer(load_sms_model(sms_model))
    model = None
    if behaviour_model is not None:
        from mvnoguard.detection.behaviour_model import load_behaviour_model

        model = load_behaviour_model(behaviour_model)
    with Progress(transient=True, disable=_size(calls) < _BIG_INPUT) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(table: str, rows: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(f"reading {table}", total=None)
            bar.update(tasks[table], completed=rows)

        return screen(
            calls=calls,
            messages=messages or (),
            complaints=complaints or (),
            activations=activations,
            work=rt.settings.home / "traffic",
            quarantine_dir=rt.settings.quarantine_dir,
            settings=settings,
            content_scorer=scorer,
            behaviour_model=model,
            engine="spark" if engine == "spark" else "duckdb",
            out=out,
            progress=progress,
        )


def detect(
    ctx: typer.Context,
    calls: CallsOption,
    out: Annotated[Path, typer.Option("--out", help="Where to write the risk list (CSV).")],
    messages: MessagesOption = None,
    complaints: ComplaintsOption = None,
    activations: ActivationsOption = None,
    sms_model: SmsModelOption = None,
    behaviour_model: Annotated[
        Path | None,
        typer.Option("--behaviour-model", help="Behaviour model (model train behaviour)."),
    ] = None,
    engine: EngineOption = "duckdb",
    truth: Annotated[
        Path | None, typer.Option("--truth", help="truth.csv of synthetic traffic: evaluate.")
    ] = None,
) -> None:
    """Find fraud callers, harassing dialers and spam senders in call and message records.

    Writes the risk list (msisdn, category, score, reasons) of the numbers judged risky to
    --out and prints a JSON summary; bad record rows go to the quarantine folder.
    """
    from mvnoguard.detection.evaluation import evaluate, read_truth

    # Every file the command reads, models and truth too: --out must overwrite none of them.
    output_file(
        out,
        inputs=_inputs(calls, messages, complaints, activations, sms_model, behaviour_model, truth),
    )
    planted = read_truth(truth) if truth is not None else None  # before the screening
    result = _screen(
        ctx,
        calls=calls,
        messages=messages,
        complaints=complaints,
        activations=activations,
        sms_model=sms_model,
        engine=engine,
        behaviour_model=behaviour_model,
        out=out,
    )
    summary = result.summary()
    if planted is not None:
        summary["evaluation"] = evaluate(
            ((f"+{f.msisdn}", f.category.value) for f in result.findings), planted
        ).to_json()
    print_json(summary)


def _labels(path: Path) -> dict[int, str | None]:
    """A labels file: ``msisdn, category`` per row; numbers in any common form."""
    from mvnoguard.domain.risk import RiskCategory
    from mvnoguard.identity.phones import to_e164

    categories = {c.value for c in RiskCategory}
    labels: dict[int, str | None] = {}
    rows = read_small_csv(
        path, what="labels", field="labels", required=("msisdn",), expected="msisdn, category"
    )
    for row_number, row in enumerate(rows, start=1):
        category = row.get("category", "").strip() or None
        if category is not None and category not in categories:
            raise InvalidInput(
                f"{path.name} row {row_number}: unknown category {category!r}",
                code="bad_category",
                field="category",
            )
        try:
            number = to_e164(row["msisdn"])
        except InvalidInput as exc:
            raise InvalidInput(
                f"{path.name} row {row_number}: {exc.message}", code=exc.code, field="msisdn"
            ) from None
        labels[int(number.lstrip("+"))] = category
    return labels


def _labelled(
    ctx: typer.Context,
    calls: list[Path],
    messages: list[Path] | None,
    complaints: list[Path] | None,
    activations: Path | None,
    sms_model: Path | None,
    engine: str,
    labels: Path,
) -> tuple[Any, Any]:
    from mvnoguard.detection.behaviour_model import labels_for

    known = _labels(labels)  # before the screening: a bad labels file wastes none of it
    result = _screen(
        ctx,
        calls=calls,
        messages=messages,
        complaints=complaints,
        activations=activations,
        sms_model=sms_model,
        engine=engine,
    )
    return result.table, labels_for(result.table, known)


def train_behaviour(
    ctx: typer.Context,
    calls: CallsOption,
    labels: LabelsOption,
    out: Annotated[Path, typer.Option("--out", help="Where to write the model.")],
    messages: MessagesOption = None,
    complaints: ComplaintsOption = None,
    activations: ActivationsOption = None,
    sms_model: SmsModelOption = None,
    engine: EngineOption = "duckdb",
    seed: SeedOption = 0,
) -> None:
    """Train the behaviour model on the candidates of labelled records; write it to --out."""
    from mvnoguard.detection.behaviour_model import cross_validate_behaviour, train_behaviour
    from mvnoguard.detection.model_files import sha256_of_files

    output_file(out, inputs=_inputs(calls, messages, complaints, activations, sms_model, labels))
    table, y = _labelled(ctx, calls, messages, complaints, activations, sms_model, engine, labels)
    metrics = cross_validate_behaviour(table, y, seed=seed)
    model = train_behaviour(
        table,
        y,
        seed=seed,
        metadata={"metrics": metrics, "training_data_sha256": sha256_of_files([labels])},
    )
    model.save(out)
    print_json({"model": str(out), "metrics": metrics})


def eval_behaviour(
    ctx: typer.Context,
    calls: CallsOption,
    labels: LabelsOption,
    messages: MessagesOption = None,
    complaints: ComplaintsOption = None,
    activations: ActivationsOption = None,
    sms_model: SmsModelOption = None,
    engine: EngineOption = "duckdb",
    seed: SeedOption = 0,
) -> None:
    """Stratified 5-fold cross-validation of the behaviour model on labelled records."""
    from mvnoguard.detection.behaviour_model import cross_validate_behaviour

    table, y = _labelled(ctx, calls, messages, complaints, activations, sms_model, engine, labels)
    print_json(cross_validate_behaviour(table, y, seed=seed))


def _inputs(
    calls: list[Path],
    messages: list[Path] | None,
    complaints: list[Path] | None,
    *files: Path | None,
) -> list[Path]:
    """The records given and the other files named (those given), as ``output_file`` inputs."""
    return [*calls, *(messages or ()), *(complaints or ()), *(f for f in files if f is not None)]


def _size(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        if path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            total += path.stat().st_size
    return total
