"""Progress display: a rich progress bar on a terminal, silence otherwise (or with --quiet)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def wants_progress(quiet: bool) -> bool:
    """Show progress only on an interactive stderr and when not asked to be quiet."""
    return not quiet and sys.stderr.isatty()


@contextmanager
def stage_progress(enabled: bool) -> Iterator:
    """Yield a callback (stage, fraction done) that drives one bar per stage."""
    if not enabled:
        yield lambda stage, done: None
        return
    progress = Progress(TextColumn("{task.description:<15}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=False)
    tasks: dict[str, int] = {}
    with progress:
        def update(stage: str, done: float) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=1.0)
            progress.update(tasks[stage], completed=max(0.0, min(1.0, done)))

        yield update
