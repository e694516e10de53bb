"""Progress of a sweep: a rich bar with points done, failed and the ETA, on a terminal only."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SweepProgress = Callable[[int, int, int], None]
"""Callback (points done, of which failed, total points) after each finished point."""


@contextmanager
def progress_bar(total: int, done: int, failed: int, enabled: bool | None = None) -> Iterator[SweepProgress]:
    """Yield a callback that advances a rich progress bar on stderr; a no-op when stderr is not
    a terminal (or `enabled` is False)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield lambda d, f, t: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
               TextColumn("[red]{task.fields[failed]} failed"), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("sweep", total=total, completed=done, failed=failed)

        def update(d: int, f: int, t: int) -> None:
            bar.update(task, completed=d, failed=f, total=t)

        yield update
