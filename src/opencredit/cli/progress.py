"""Progress display for long work: bars for counted steps, a spinner otherwise."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

console = Console(stderr=True)


@contextlib.contextmanager
def steps(title: str, total: int, quiet: bool = False) -> Iterator[Callable[[str], None]]:
    """A bar of ``total`` named steps; call the yielded function as each step starts."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=False,
    )
    task = progress.add_task(title, total=total)
    started = [0]

    def advance(name: str) -> None:
        if started[0]:
            progress.advance(task)
        started[0] += 1
        progress.update(task, description=f"{title}: {name}")

    with _cleared_on_error(progress):
        yield advance
        progress.update(task, completed=total, description=title)


@contextlib.contextmanager
def spinner(title: str, quiet: bool = False) -> Iterator[None]:
    """A spinner with elapsed time while one long step runs."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=True,
    )
    with progress:
        progress.add_task(title, total=None)
        yield


@contextlib.contextmanager
def counter(title: str, total: int, quiet: bool = False) -> Iterator[Callable[[int], None]]:
    """A bar counting ``total`` items (records, say); call the yielded function with each
    chunk's size as it is done."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=False,
    )
    task = progress.add_task(title, total=total)
    with _cleared_on_error(progress):
        yield lambda n: progress.advance(task, n)


@contextlib.contextmanager
def _cleared_on_error(progress: Progress) -> Iterator[Progress]:
    """Run ``progress``; if the work fails, take the bar away, so that the error is the one
    line a person sees on stderr."""
    with progress:
        try:
            yield progress
        except BaseException:
            progress.live.transient = True
            raise
