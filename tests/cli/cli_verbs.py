"""Every verb of the command line, found by walking the Typer app (new verbs come along)."""

from __future__ import annotations

from typing import Any

from opencredit.cli.app import app
from opencredit.cli.group import SHARED_OPTIONS, command_tree


def leaves(command: Any = None, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Every runnable command by its words (``("policy", "lint")``)."""
    command = command or command_tree(app)
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        return {path: command}
    found: dict[tuple[str, ...], Any] = {}
    for name, sub in subcommands.items():
        found |= leaves(sub, (*path, name))
    return found


def own_params(command: Any) -> list[Any]:
    """A command's own parameters: not --help, not the shared options every command takes."""
    return [
        p
        for p in command.params
        if p.name not in SHARED_OPTIONS and p.name != "help" and p.expose_value
    ]


def verb_names() -> set[str]:
    """Every verb as it is typed: ``"score"``, ``"policy lint"``..."""
    return {" ".join(words) for words in leaves()}
