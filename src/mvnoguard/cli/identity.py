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
    where = str(file) if file else "standard input"
    try:
        data = file.read_bytes() if file else sys.stdin.buffer.read()
    except OSError as exc:
        raise DataFileError(
            f"cannot read {where}: {exc.strerror or type(exc).__name__}", field="file"
        ) from exc
    try:
        lines = data.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataFileError(
            f"{where} line {line} is not UTF-8 text (save the file as UTF-8)", field="file"
        ) from None
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
