"""``mvnoguard demo``: prints what the demo did."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from mvnoguard import demo
from mvnoguard.cli.context import runtime


def run_demo(ctx: typer.Context) -> None:
    rt = runtime(ctx)
    console = Console()
    console.print(f"[bold]mvnoguard demo[/bold] in {rt.settings.home.resolve()}")
    result = demo.run(rt)
    table = Table(title="Real-name registration: sign-ups at the counter")
    table.add_column("attempt")
    table.add_column("outcome")
    table.add_column("why")
    for line in result.registered:
        table.add_row(line, "[green]registered[/green]", "")
    for label, code, message in result.refusals:
        table.add_row(label, f"[red]refused: {code}[/red]", message)
    console.print(table)
    console.print(
        f"{len(result.registered)} registered, {len(result.refusals)} refused; "
        "identity data is stored encrypted and shown masked."
    )
