"""The command line's root: options every command takes, and errors turned into one line.

``--data``, ``--database-url`` and ``--quiet`` are declared once, on the root callback
(``opencredit --data DIR demo``). :class:`OpenCreditGroup` copies them onto every command
when the command tree is built, so ``opencredit demo --data DIR`` works too, for every verb,
including verbs added later. Whichever is given last on the line wins; the environment
(``OPENCREDIT_DATA``, ``OPENCREDIT_DATABASE_URL``) is read once, by the root.

Nothing a person types ends in a traceback: usage errors and the library's refusals become
one line on stderr (exit status 2), anything unforeseen one line saying it is a bug (exit 1).
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import typer
import typer.core
from rich.console import Console
from rich.text import Text

# typer vendors click (0.29+): its exceptions are click's, raised by typer's own parser
from typer import _click

from opencredit.errors import OpenCreditError

#: Exit status of a refusal: a usage error, or the library refusing what it was given.
EXIT_REFUSED = 2
#: Exit status of an error that is a bug in opencredit (reported in one line all the same).
EXIT_BUG = 1
#: The root options every command takes as well.
SHARED_OPTIONS = ("data", "database_url", "quiet")

err_console = Console(stderr=True)


@dataclass
class State:
    """The shared options of the running command."""

    data: Path | None = None
    database_url: str | None = None
    quiet: bool = False


state = State()


def set_shared(data: Path | None, database_url: str | None, quiet: bool) -> None:
    """Set the shared options from the root callback (a new command line starts here)."""
    state.data, state.database_url, state.quiet = data, database_url, quiet


def _override(ctx: Any, param: Any, value: Any) -> Any:
    """A command's own copy of a shared option: given, it overrides the root's."""
    if value is not None and value is not False:
        setattr(state, param.name, value)
    return value


def _local_copy(param: Any) -> Any:
    """A shared root option as a command's option: no environment, no default of its own."""
    local = copy.copy(param)
    local.envvar = None
    local.show_envvar = False
    local.expose_value = False
    local.callback = _override
    local.default = False if getattr(param, "is_flag", False) else None
    local.rich_help_panel = "Data directory and store"
    return local


def _leaves(group: Any) -> Iterator[Any]:
    for command in group.commands.values():
        if hasattr(command, "commands"):
            yield from _leaves(command)
        else:
            yield command


def fail(message: str, status: int = EXIT_REFUSED) -> NoReturn:
    """Print ``error: message`` as one line on stderr and exit with ``status``."""
    line = " ".join(message.split())  # one line, whatever the message held
    err_console.print(Text.assemble(("error:", "red"), " ", line), soft_wrap=True)
    sys.exit(status)


def _usage_line(exc: Any) -> str:
    where = f" (see `{exc.ctx.command_path} --help`)" if getattr(exc, "ctx", None) else ""
    return f"{exc.format_message()}{where}"


class OpenCreditGroup(typer.core.TyperGroup):
    """The root command: shares its options with every command, and never shows a traceback."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        shared = [p for p in self.params if p.name in SHARED_OPTIONS]
        for command in _leaves(self):
            names = {p.name for p in command.params}
            command.params.extend(_local_copy(p) for p in shared if p.name not in names)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; in standalone mode every error ends as one line and a status."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _click.exceptions.NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except _click.exceptions.ClickException as exc:
            fail(_usage_line(exc), exc.exit_code)
        except typer.Abort:
            fail("aborted", EXIT_BUG)
        except OpenCreditError as exc:
            fail(str(exc))
        except OSError as exc:  # a file or folder that is missing, unreadable, not writable
            where = f"{exc.filename}: " if exc.filename else ""
            fail(f"{where}{exc.strerror or exc}")
        except Exception as exc:  # a bug, but a person still gets one line
            fail(
                f"internal error ({type(exc).__name__}: {exc}); this is a bug in opencredit, "
                "please report it with the command that caused it",
                EXIT_BUG,
            )
        sys.exit(result if isinstance(result, int) else 0)


def command_tree(app: typer.Typer) -> Any:
    """The click command built from ``app`` (for tests and introspection)."""
    return typer.main.get_command(app)
