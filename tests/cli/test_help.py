"""Every command's ``--help`` shows its whole help text, literally, as plain reflowed text."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from mvnoguard.cli import app

runner = CliRunner()


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command under ``command`` (Typer's Click objects), with its words."""
    yield path, command
    if hasattr(command, "commands"):
        for name, sub in sorted(command.commands.items()):
            yield from _commands(sub, (*path, name))


def _flat(text: str) -> str:
    return " ".join(text.split())


COMMANDS = list(_commands(typer.main.get_command(app)))


def test_the_walk_reaches_nested_commands() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"detect", "model eval sichuan", "registry import", "audit"} <= paths
    assert len(paths) > 40


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(path) or "mvnoguard" for path, _ in COMMANDS]
)
def test_help_is_whole_and_literal(path: tuple[str, ...], command: Any) -> None:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    shown = _flat(result.output)
    assert shown.startswith(f"Usage: mvnoguard {' '.join(path)}".rstrip())
    assert "╭" not in result.output  # plain text, no boxes
    # Brackets in help ("mvnoguard[spark]") are text, never markup; nothing is dropped.
    for paragraph in inspect.cleandoc(command.help or "").split("\n\n"):
        assert _flat(paragraph) in shown
    for param in command.params:
        if getattr(param, "help", None):
            assert _flat(param.help) in shown
    # A paragraph is reflowed to the width: no short line ends where the docstring's did.
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert all(len(line) <= 100 for line in lines)
