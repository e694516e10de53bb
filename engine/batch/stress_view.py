"""What `salesops stress` shows while it works and hands to the HTML page."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from engine.batch.metrics import humanise
from engine.batch.stress import Probe, StressResult

VARIED_LABELS = {"demand.scale": "Lead volume multiplier (demand.scale)",
                 "demand.annual_growth": "Lead growth per year (demand.annual_growth)"}
"""Labels of common knobs; any other path is shown with its keys as words."""


def varied_label(path: str) -> str:
    return VARIED_LABELS.get(path, humanise(path))


def probe_line(p: Probe, vary: str) -> str:
    """One line per finished probe."""
    value = "-" if p.value is None else f"{p.value:.4g} [{p.low:.4g}, {p.high:.4g}]"
    return (f"probe {vary} = {p.x:.6g}: {'broken' if p.broken else 'ok'}{'' if p.sure else ' (not sure)'}, "
            f"metric {value}, {p.seconds:.1f} s")


def expected_probes(lo: float, hi: float, tolerance: float) -> int:
    """Probes a bisection from [lo, hi] down to `tolerance` takes: both ends plus the halvings."""
    width = abs(hi - lo)
    return 2 + max(0, math.ceil(math.log2(width / tolerance))) if tolerance > 0 else 2


@contextmanager
def stress_progress(vary: str, total: int, quiet: bool) -> Iterator[Callable[[Probe], None]]:
    """Yield a callback that prints each probe's line on stderr (nothing with `quiet`) and, on a
    terminal, advances a bar (the bisection may stop early: the bar then ends short)."""
    if quiet:
        yield lambda p: None
        return
    if not sys.stderr.isatty():
        yield lambda p: print(probe_line(p, vary), file=sys.stderr, flush=True)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("stress"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True)) as bar:
        task = bar.add_task("stress", total=total)

        def update(p: Probe) -> None:
            bar.console.print(probe_line(p, vary))
            bar.advance(task)

        yield update


def report_data(result: StressResult) -> dict:
    """Plain data for reports/stress_report.py."""
    return {**result.as_dict(), "sentence": result.sentence(), "rows": result.table_rows(),
            "vary_label": varied_label(result.vary)}
