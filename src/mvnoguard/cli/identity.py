"""``mvnoguard id``: identity document checks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mvnoguard.cli.context import print_json
from mvnoguard.errors import DataFileError
from mvnoguard.identity.documents import validate_line

app = typer.Typer(help="Identity documents.", no_args_is_help=True)


@app.command("validate")
def validate(
    file: Annotated[
        Path | None, typer.Argument(help="One document per line; stdin if absent.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Check documents: 'RIC:110101199003071234', 'HKMO:H12345678', 'PASSPORT:E1234567:USA'."""
    try:
        lines = (
            file.read_text(encoding="utf-8").splitlines() if file else sys.stdin.read().splitlines()
        )
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"cannot read {file}: {exc}", field="file") from exc
    invalid = 0
    for line in lines:
        if not line.strip():
            continue
        answer = validate_line(line)
        invalid += not answer["valid"]
        if as_json:
            print_json(answer)
        else:
            mark = "valid  " if answer["valid"] else "INVALID"
            typer.echo(f"{mark} {answer['code']:<32} {answer['message']}")
    raise typer.Exit(1 if invalid else 0)
