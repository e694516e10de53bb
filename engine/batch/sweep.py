"""Batch scenario sweeps: every point of a SWEEP.yaml through the `salesops run` pipeline.

    run_sweep(sweep_file, out, workers=1, dask=None, resume=False, keep_runs=False,
              render=None, render_sweep=None)

writes into `out`:

```
sweep.json            the plan: sweep file, base scenario, every point's id, seed and values
points/<id>.parquet   one row per finished point, written atomically as it finishes
runs/<id>/            with keep_runs: the point's run folder (as `salesops run` writes it)
results.parquet       all rows, sorted by point id: point_id, seed, <varied paths>, status,
                      error, run_s (seconds), <metrics> (a simulated metric with <metric>:p10
                      and <metric>:p90, its band over replications)
results.csv           the same table as CSV
report.html           each metric against each varied value (p10-p90 band), tornado chart,
                      Pareto frontier in the objectives' directions, sortable table of points
```

engine/ never imports reports/: `salesops sweep` passes the renderers in (`render` writes each
kept run folder's report, `render_sweep` makes the sweep report's HTML).

Results do not depend on the backend or the worker count: a point's id hashes its varied values
and its simulation seed hashes the sweep seed with that id. Run as a module for scripts:
`python -m engine.batch.sweep SWEEP.yaml --out DIR [--workers N] [--dask ADDRESS] [--resume] [--keep-runs]`
(the results store only, no report.html).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.batch.identity import spec_key
from engine.batch.points import SweepPlan, plan_sweep
from engine.batch.progress import SweepProgress, progress_bar
from engine.batch.store import (
    RESULTS_FILE,
    clear_partial,
    consolidate,
    drop_points,
    finished_ids,
    stored_keys,
    sweep_lock,
    write_point,
    write_text,
)
from engine.batch.worker import PointTask
from engine.errors import InputError
from engine.runfolder.atomic import SWEEP_MARK, check_out_folder

if TYPE_CHECKING:
    import pandas as pd

    from engine.run import Render

SweepRender = Callable[..., str]
"""Callback (frame, vary, metrics, title=..., description=...) -> the sweep report's HTML page."""

RESULTS_CSV = "results.csv"
"""The results store as CSV (the same rows and columns as results.parquet), for spreadsheets."""


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep did. Times in seconds."""

    out: str
    total: int
    """Points in the sweep."""
    skipped: int
    """Points found finished already (resume)."""
    ran: int
    """Points run now."""
    ok: int
    """Points with status ok (all of them, incl. skipped)."""
    failed: int
    """Points with status failed (all of them, incl. skipped)."""
    wall_s: float
    """Wall time of this call: validation, runs, consolidation and report."""
    run_s: float
    """Sum of the pipeline time of the points run now (inside the workers)."""
    backend: str
    results: str
    report: str | None
    changed: int = 0
    """Points whose stored result was computed from other inputs, so they ran again (resume)."""

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        resumed = f"{self.skipped} resumed, " if self.skipped else ""
        if self.changed:
            resumed += f"{self.changed} rerun as their inputs changed, "
        return (f"sweep: {self.total} points ({resumed}{self.ran} run): {self.ok} ok, {self.failed} failed "
                f"in {self.wall_s:.1f} s ({self.backend}) -> {self.results}"
                + (f", {self.report}" if self.report else ""))


def _tasks(plan: SweepPlan, ids: list[str], runs_dir: Path | None,
           render: Render | None = None) -> Iterator[PointTask]:
    by_id = {p.point_id: p for p in plan.points}
    scenario_path = str(plan.sweep.base.resolve())
    for pid in ids:
        point = by_id[pid]
        columns = plan.metric_columns
        yield PointTask(pid, point.seed, point.values, scenario_path, plan.resolved[pid],
                        point.overrides, tuple(columns),
                        str(runs_dir) if runs_dir is not None else None, render,
                        tuple(columns.values()))


def _write_plan(plan: SweepPlan, out: Path) -> None:
    import json

    spec = plan.sweep.spec
    doc = {"name": spec.name, "description": spec.description,
           "sweep_file": str(plan.sweep.path), "base": str(plan.sweep.base), "method": spec.method,
           "seed": spec.seed, "replications": spec.replications, "vary": plan.vary,
           "metrics": plan.metric_columns, "objectives": spec.objectives,
           "common_random_numbers": spec.common_random_numbers, "spec_key": spec_key(plan.keys),
           "points": [{"point_id": p.point_id, "seed": p.seed, "values": p.values,
                       "content_key": plan.keys.get(p.point_id)} for p in plan.points]}
    write_text(out / "sweep.json", json.dumps(doc, indent=1, default=str) + "\n")


def columns_of(plan: SweepPlan) -> list[str]:
    """Column order of the results store."""
    return ["point_id", "seed", *plan.vary, "status", "error", "run_s", *plan.metric_columns]


def _backend(workers: int, dask: str | None) -> str:
    if dask:
        return f"dask:{dask}"
    return "in-process" if workers <= 1 else f"process-pool:{workers}"


def _rows(tasks: Iterator[PointTask], workers: int, dask: str | None) -> Iterator[dict]:
    from engine.batch import backends

    if dask:
        return backends.run_dask(tasks, dask, workers)
    if workers <= 1:
        return backends.run_in_process(tasks)
    return backends.run_process_pool(tasks, workers)


def execute_sweep(plan: SweepPlan, out: str | Path, workers: int = 1, dask: str | None = None,
                  resume: bool = False, keep_runs: bool = False,
                  progress: SweepProgress | bool | None = None, render: Render | None = None,
                  render_sweep: SweepRender | None = None) -> SweepSummary:
    """Run the points of a validated plan and write the results store, then the report.

    Without `resume`, results already in `out` are discarded first; with it, a stored result is
    kept only when it was computed from the same inputs (content key). `out` must be new, empty or
    a sweep folder, and one sweep at a time writes it (InputError otherwise). `progress`: a
    callback (done, failed, total), False for none, None for a rich bar when stderr is a terminal.
    `render` writes the report of each kept run folder, `render_sweep` the sweep's report.html
    (no report without them).
    """
    start = time.perf_counter()
    out = check_out_folder(out, SWEEP_MARK, protect=(plan.sweep.path, plan.sweep.base))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError.single(str(out), "--out", f"cannot be written ({exc.strerror})",
                                "a folder path you can write to") from None
    with sweep_lock(out, spec_key(plan.keys)):
        return _execute_locked(plan, out, start, workers, dask, resume, keep_runs, progress,
                               render, render_sweep)


def _reusable(plan: SweepPlan, out: Path, resume: bool) -> tuple[set[str], list[str]]:
    """Points whose stored result can be kept, and those stored for other inputs (then deleted).

    Without `resume` every stored result goes. A result is kept only when its content key equals
    the plan's; results of points no longer in the sweep are deleted too (one spec per folder).
    """
    if not resume:
        _clear(out)
        return set(), []
    ids = [p.point_id for p in plan.points]
    drop_points(out, finished_ids(out) - set(ids))
    stored = stored_keys(out, ids)
    changed = sorted(pid for pid, key in stored.items() if key is None or key != plan.keys.get(pid))
    drop_points(out, changed)
    return set(stored) - set(changed), changed


def _execute_locked(plan: SweepPlan, out: Path, start: float, workers: int, dask: str | None,
                    resume: bool, keep_runs: bool, progress: SweepProgress | bool | None,
                    render: Render | None, render_sweep: SweepRender | None) -> SweepSummary:
    ids = [p.point_id for p in plan.points]
    clear_partial(out)
    finished, changed = _reusable(plan, out, resume)
    _write_plan(plan, out)
    todo = [pid for pid in ids if pid not in finished]
    runs_dir = out / "runs" if keep_runs else None
    done, failed, run_s = len(finished), _failed_count(out, finished), 0.0
    enabled = None if progress is None else bool(progress)
    with progress_bar(len(ids), done, failed, enabled) as bar:
        notify = progress if callable(progress) else bar
        notify(done, failed, len(ids))
        for row in _rows(_tasks(plan, todo, runs_dir, render), workers, dask):
            write_point(out, row, plan.keys.get(str(row["point_id"])))
            done += 1
            failed += row["status"] != "ok"
            run_s += row["run_s"] or 0.0
            notify(done, failed, len(ids))
    frame = consolidate(out, ids, columns_of(plan))
    write_text(out / RESULTS_CSV, frame.to_csv(index=False))
    report = _report(plan, frame, out, render_sweep) if render_sweep is not None else None
    ok = int((frame["status"] == "ok").sum()) if len(frame) else 0
    return SweepSummary(str(out), len(ids), len(finished), len(todo), ok, len(frame) - ok,
                        time.perf_counter() - start, run_s, _backend(workers, dask),
                        str(out / RESULTS_FILE), report, len(changed))


def _clear(out: Path) -> None:
    import shutil

    for name in ("points", "runs"):
        shutil.rmtree(out / name, ignore_errors=True)
    for name in (RESULTS_FILE, RESULTS_CSV, "report.html"):
        (out / name).unlink(missing_ok=True)


def _failed_count(out: Path, ids: set[str]) -> int:
    if not ids:
        return 0
    import pandas as pd

    from engine.batch.store import point_file

    return sum(str(pd.read_parquet(point_file(out, pid), columns=["status"])["status"].iloc[0]) != "ok"
               for pid in ids)


def _report(plan: SweepPlan, frame: pd.DataFrame, out: Path, render_sweep: SweepRender) -> str:
    target = out / "report.html"
    spec = plan.sweep.spec
    info = {}
    for ref in plan.metric_refs:
        band = [f"{ref.name}:p10", f"{ref.name}:p90"] if ref.band() else None
        info[ref.name] = {"label": ref.label, "unit": ref.unit,
                          "direction": spec.objectives.get(ref.name, ref.direction), "band": band}
    order = [*spec.objectives, *(m for m in plan.metrics if m not in spec.objectives)]
    if not spec.objectives:
        order = plan.metrics
    from engine.batch.stress_view import varied_label

    write_text(target, render_sweep(frame, plan.vary, order, title=spec.name, description=spec.description,
                                    info=info, vary_labels={v: varied_label(v) for v in plan.vary}))
    return str(target)


def run_sweep(sweep_file: str | Path, out: str | Path, workers: int = 1, dask: str | None = None,
              resume: bool = False, keep_runs: bool = False,
              progress: SweepProgress | bool | None = None, render: Render | None = None,
              render_sweep: SweepRender | None = None) -> SweepSummary:
    """Validate every point of `sweep_file` (InputError before anything runs), then run them.

    `workers`: local processes (1 = in this process), or Dask workers with `dask="local"`;
    `dask`: "local" or a scheduler address such as tcp://host:8786. `resume` runs only the
    points without a result computed from the same inputs in `out`; `keep_runs` also writes
    each run folder. `render` and `render_sweep` write the reports (see execute_sweep).
    """
    check_out_folder(out, SWEEP_MARK, protect=(sweep_file,))
    plan = plan_sweep(sweep_file)
    return execute_sweep(plan, out, workers, dask, resume, keep_runs, progress, render, render_sweep)


def main(argv: list[str] | None = None) -> int:
    """`python -m engine.batch.sweep`: the same arguments as `salesops sweep`; exit 0, 2 or 1."""
    parser = argparse.ArgumentParser(prog="python -m engine.batch.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_file", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--dask", default=None)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--keep-runs", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        summary = run_sweep(args.sweep_file, args.out, args.workers, args.dask, args.resume,
                            args.keep_runs, False if args.quiet else None)
    except InputError as exc:
        for problem in exc.problems:
            print(problem.format(), file=sys.stderr)
        return 2
    print(summary)
    return 0



if __name__ == "__main__":
    sys.exit(main())
