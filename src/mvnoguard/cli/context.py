"""What every command shares: the runtime for ``--home``, JSON output and error lines."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from mvnoguard.config import Settings
from mvnoguard.domain.calendar import as_aware, utc_now
from mvnoguard.errors import InvalidInput, MvnoguardError
from mvnoguard.runtime import Runtime


def set_home(ctx: typer.Context, home: Path | None) -> None:
    ctx.obj = {"home": home}


def settings(ctx: typer.Context) -> Settings:
    """This invocation's settings, without opening the store (for file-only commands)."""
    state: dict[str, Any] = ctx.find_root().obj or {}
    if "runtime" in state:
        built: Runtime = state["runtime"]
        return built.settings
    return Settings.load(state.get("home"))


def runtime(ctx: typer.Context) -> Runtime:
    """The one Runtime of this invocation, built on first use and closed when the command ends."""
    state: dict[str, Any] = ctx.find_root().obj or {}
    if "runtime" not in state:
        home = state.get("home")
        settings = Settings.load(home)
        state["runtime"] = Runtime(settings)
        ctx.find_root().obj = state
        ctx.find_root().call_on_close(state["runtime"].close)
    result: Runtime = state["runtime"]
    return result


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, default=str))


def print_error(exc: MvnoguardError) -> None:
    where = f" (field: {exc.field})" if exc.field else ""
    reason = exc.details.get("reason")
    because = f" [{reason}]" if reason else ""
    print(f"error[{exc.code}]: {exc.message}{because}{where}", file=sys.stderr)


# Every random generator mvnoguard seeds (numpy, scikit-learn, LightGBM's 32-bit seeds plus the
# offsets an ensemble adds) takes a seed in this range.
MAX_SEED = 1_000_000_000

SeedOption = Annotated[
    int, typer.Option("--seed", min=0, max=MAX_SEED, help=f"Random seed, 0 to {MAX_SEED:,}.")
]


AtOption = Annotated[
    datetime | None,
    typer.Option("--at", help="When it happens (ISO 8601; Beijing time if no zone). Default: now."),
]


EARLIEST_AT, LATEST_AT = 1901, 2999  # the years an --at may name


def when(at: datetime | None) -> datetime:
    """The moment a command acts at: ``--at`` if given, else now."""
    if not at:
        return utc_now()
    aware = as_aware(at)
    try:
        moment = aware.astimezone(UTC)  # an offset can take year 1 or 9999 out of range
    except OverflowError:
        raise InvalidInput(f"--at {at.isoformat()} is out of range", field="at") from None
    # Commands reckon days and years around the moment (evidence windows, retention, clock
    # skew): far from today, that arithmetic leaves the calendar.
    if not EARLIEST_AT <= moment.year <= LATEST_AT:
        raise InvalidInput(
            f"--at {at.isoformat()} is out of range: give a time from {EARLIEST_AT} to {LATEST_AT}",
            field="at",
        )
    return aware
