"""The ``mvnoguard`` command line: a thin shell over the services.

Each command parses its arguments, calls one service, prints. Errors a user can cause print
one line (``error[code]: message``) on stderr and exit with status 2; a mistake in the command
line itself is ``error[usage]``. Environment problems exit with status 3 and say the fix. No
traceback reaches the user for either.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mvnoguard import __version__
from mvnoguard.cli import (
    demo,
    detection,
    identity,
    linkage,
    market,
    models,
    registry,
    service,
    supervision,
)
from mvnoguard.cli.context import print_error, set_home
from mvnoguard.errors import ConfigurationError, MvnoguardError

PROGRAM = "mvnoguard"

app = typer.Typer(
    name=PROGRAM,
    help="Real-name supervision for mobile virtual network operators.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain help: Click reflows every paragraph, and a help text's brackets ("mvnoguard[spark]",
    # "TYPE:NUMBER[:NATIONALITY]") stay literal instead of being taken for Rich markup.
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit


@app.callback()
def root(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home", envvar="MVNOGUARD_HOME", help="State folder (default ./mvnoguard-data)."
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    set_home(ctx, home)


app.command("demo", help="The main job on embedded defaults, end to end.")(demo.run_demo)
app.command("stats")(market.stats)
app.command("audit")(market.audit)
app.add_typer(market.synth_app, name="synth")
app.add_typer(models.app, name="model")
app.command("detect")(detection.detect)
models.train_app.command("behaviour")(detection.train_behaviour)
models.eval_app.command("behaviour")(detection.eval_behaviour)
app.add_typer(supervision.inspections_app, name="inspections")
app.add_typer(supervision.enforce_app, name="enforce")
app.command("violations")(supervision.violations)
app.command("bulletin")(supervision.bulletin)
app.add_typer(identity.app, name="id")
app.add_typer(registry.db_app, name="db")
app.add_typer(registry.vault_app, name="vault")
app.add_typer(registry.enterprise_app, name="enterprise")
app.add_typer(registry.outlet_app, name="outlet")
app.add_typer(registry.subscriber_app, name="subscriber")
app.add_typer(registry.retention_app, name="retention")
app.add_typer(registry.registry_app, name="registry")
app.command("serve")(service.serve)
app.add_typer(service.keys_app, name="keys")
app.add_typer(service.audit_log_app, name="audit-log")
app.add_typer(linkage.risk_app, name="risk")
app.add_typer(linkage.complaints_app, name="complaints")
app.add_typer(linkage.tasks_app, name="tasks")


def _usage_error(exc: typer.TyperException) -> int:
    """Print a mistake in the command line itself as one ``error[usage]`` line; its status.

    A command group run without a command prints its help instead.
    """
    message = exc.format_message()
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and message == ctx.get_help():  # a command group given no command
        print(message)
    elif message:
        param = getattr(exc, "param", None)
        field = f" (field: {param.name})" if param is not None and param.name else ""
        command = ctx.command_path if ctx is not None else PROGRAM
        sentence = message if message.endswith((".", "?", "!")) else f"{message}."
        print(f"error[usage]: {sentence} See '{command} --help'.{field}", file=sys.stderr)
    return exc.exit_code


def main() -> None:
    """The console script: every mistake ends in one ``error[code]`` line and a status."""
    try:
        status = app(prog_name=PROGRAM, standalone_mode=False)
    except typer.TyperException as exc:  # a usage error found while parsing the command line
        sys.exit(_usage_error(exc))
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(1)
    except ConfigurationError as exc:
        print_error(exc)
        sys.exit(3)
    except MvnoguardError as exc:
        print_error(exc)
        sys.exit(2)
    sys.exit(status if isinstance(status, int) else 0)
