"""Market-wide commands of the regulator: statistics and the registry audit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from mvnoguard.analytics.statistics import market_statistics
from mvnoguard.analytics.store import RegistryStore
from mvnoguard.cli.context import SeedOption, print_json, runtime


def stats(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Enterprises approved and issuing, users, size classes, real-name rate."""
    result = market_statistics(RegistryStore(runtime(ctx).settings.home))
    if as_json:
        print_json(result.to_json())
        return
    table = Table(title="MVNO market")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for label, value in (
        ("enterprises approved", result.enterprises_approved),
        ("enterprises issuing numbers", result.enterprises_issuing),
        ("users", f"{result.users_total:,}"),
        ("enterprises over 1 million users", result.enterprises_over_1m),
        ("enterprises over 2 million users", result.enterprises_over_2m),
        ("enterprises over 4 million users", result.enterprises_over_4m),
        ("real-name rate", f"{(result.real_name_rate or 0) * 100:.2f}%"),
    ):
        table.add_row(label, str(value))
    Console().print(table)


def audit(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the audit contract's JSON.")
    ] = False,
    engine: Annotated[
        str, typer.Option("--engine", help="duckdb (default) or spark (needs mvnoguard[spark]).")
    ] = "duckdb",
) -> None:
    """Audit every enterprise's registry against the rules in force on each activation date."""
    from mvnoguard.analytics.audit import run_audit
    from mvnoguard.errors import InvalidInput

    if engine not in ("duckdb", "spark"):
        raise InvalidInput("--engine must be duckdb or spark", field="engine")
    rt = runtime(ctx)
    store = RegistryStore(rt.settings.home)
    report = run_audit(store, rt.policy, engine=engine)  # type: ignore[arg-type]
    result = report.to_json()
    store.save_audit(result)
    if as_json:
        print_json(result)
        return
    table = Table(title="Registry audit")
    for header in ("enterprise", "audited", "violating", "rate"):
        table.add_column(header, justify="right" if header != "enterprise" else "left")
    for row in result["enterprises"]:
        rate = row["violation_rate"]
        table.add_row(
            row["enterprise_code"],
            f"{row['audited']:,}",
            f"{row['violating']:,}",
            "-" if rate is None else f"{rate * 100:.2f}%",
        )
    Console().print(table)


synth_app = typer.Typer(
    help="Synthetic data for demos, tests and benchmarks.", no_args_is_help=True
)


@synth_app.command("market")
def synth_market(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the contract files into.")],
    scale: Annotated[float, typer.Option("--scale", help="1.0 = the 2015 market.")] = 1.0,
    seed: SeedOption = 0,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv")] = "parquet",
) -> None:
    """Write a synthetic MVNO market (contract files plus truth.json)."""
    from mvnoguard.errors import InvalidInput
    from mvnoguard.synth import generate_market

    if fmt not in ("parquet", "csv"):
        raise InvalidInput("--format must be parquet or csv", field="format")
    try:
        truth = generate_market(out, scale=scale, seed=seed, fmt=fmt)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidInput(str(exc), field="scale") from None
    print_json(truth.to_dict()["market"])


@synth_app.command("traffic")
def synth_traffic(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the records into.")],
    users: Annotated[int, typer.Option("--users", help="Subscribers in the traffic.")] = 20_000,
    days: Annotated[int, typer.Option("--days")] = 7,
    seed: SeedOption = 7,
    start: Annotated[str, typer.Option("--start", help="First day, YYYY-MM-DD.")] = "2026-03-02",
    market: Annotated[
        Path | None, typer.Option("--market", help="A `synth market` folder to draw numbers from.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    calls: Annotated[
        int | None, typer.Option("--calls", help="About this many call rows (overrides --users).")
    ] = None,
) -> None:
    """Write synthetic call and message records with planted nuisance numbers (plus truth)."""
    import sys
    from datetime import date

    from mvnoguard.errors import InvalidInput
    from mvnoguard.synth.traffic import generate_traffic

    try:
        first = date.fromisoformat(start)
    except ValueError:
        raise InvalidInput("--start must be a date YYYY-MM-DD", field="start") from None
    if fmt not in ("csv", "parquet"):
        raise InvalidInput("--format must be csv or parquet", field="format")

    def advance(written: int) -> None:
        if sys.stderr.isatty():
            typer.echo(f"\r{written:,} call rows written", err=True, nl=False)

    truth = generate_traffic(
        out,
        users=users,
        days=days,
        seed=seed,
        start=first,
        market=market,
        fmt=fmt,  # type: ignore[arg-type]
        target_calls=calls,
        progress=advance,
    )
    if sys.stderr.isatty():
        typer.echo("", err=True)
    print_json(truth.summary())
