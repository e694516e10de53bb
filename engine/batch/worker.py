"""Run one sweep point: the same pipeline as `salesops run`, in whatever process the backend picks.

A task carries the resolved scenario data (no file is re-read for the scenario itself; data
files it names are read by their stages). Every error is caught and recorded, so a failing
point never stops the sweep.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.batch.metrics import value_at

if TYPE_CHECKING:
    from engine.run import Render

MISSING = "metric(s) not in summary.json"


@dataclass(frozen=True)
class PointTask:
    """What a worker needs to run one point; plain data, cheap to pickle."""

    point_id: str
    seed: int | None
    values: dict[str, Any]
    scenario_path: str
    """The base scenario file: data-file paths in the scenario are relative to its folder."""
    resolved: dict
    overrides: tuple[str, ...]
    metrics: tuple[str, ...]
    runs_dir: str | None = None
    """With `--keep-runs`: write the run folder to runs_dir/<point_id>."""
    render: Render | None = None
    """Writes a kept run folder's report (a module-level function, so the task still pickles)."""
    paths: tuple[str, ...] = ()
    """summary.json path of each of `metrics` (the results columns); empty: the same strings."""


WARM_MODULES = ("engine.run", "engine.scenario.model", "engine.scenario.load", "engine.plan.demand", "engine.data.stage",
                "engine.plan.territory", "engine.plan.supply", "engine.plan.allocation", "engine.simulation.stage",
                "engine.reconcile.stage", "statsmodels.tsa.exponential_smoothing.ets")
"""The pipeline's modules (the orchestrator imports stages lazily): imported once per worker.
Names, because the forkserver preloads by name; `warm_up` imports them without catching errors,
so a renamed module fails the sweep (and tests/test_layers.py) instead of silently warming nothing."""


def warm_up() -> None:
    """Import the pipeline once per worker process, so no point pays the import time."""
    import importlib

    for name in WARM_MODULES:
        importlib.import_module(name)


def _describe(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)
    last = f" [{Path(where[-1].filename).name}:{where[-1].lineno}]" if where else ""
    text = str(exc).strip().replace("\n", "; ")
    return f"{type(exc).__name__}: {text}{last}"


def failed_row(task: PointTask, error: str) -> dict[str, Any]:
    """The results row of a point whose worker died (the process, not the run, failed)."""
    return {"point_id": task.point_id, "seed": task.seed, **task.values, "status": "failed",
            "error": error, "run_s": None, **dict.fromkeys(task.metrics)}


def run_task(task: PointTask) -> dict[str, Any]:
    """Run `task` and return its results row: point_id, seed, varied values, status, error,
    run_s (seconds), then one value per metric (None when failed or absent)."""
    from engine.quiet import quiet_libraries
    from engine.run import RunOptions, execute, summary_of, write_run_folder
    from engine.runfolder.write import jsonable
    from engine.scenario.load import LoadedScenario
    from engine.scenario.model import Scenario

    start = time.perf_counter()
    row: dict[str, Any] = {"point_id": task.point_id, "seed": task.seed, **task.values,
                           "status": "ok", "error": None}
    metrics: dict[str, Any] = dict.fromkeys(task.metrics)
    try:
        scenario = Scenario.model_validate(task.resolved)
        loaded = LoadedScenario(scenario, Path(task.scenario_path), task.resolved, list(task.overrides))
        options = RunOptions(workers=1, overrides=task.overrides)
        with quiet_libraries():  # a pool worker's stderr is the user's terminal too
            result = execute(loaded, options)
        summary = jsonable(summary_of(result))
        if task.runs_dir is not None:
            write_run_folder(result, Path(task.runs_dir) / task.point_id, options, task.render)
        metrics = {m: value_at(summary, p) for m, p in zip(task.metrics, task.paths or task.metrics, strict=True)}
        absent = [m for m, v in metrics.items() if v is None]
        if absent:
            row["error"] = f"{MISSING}: {', '.join(absent)}"
    except Exception as exc:  # a failing point is recorded, the sweep goes on
        row["status"], row["error"] = "failed", _describe(exc)
    row["run_s"] = time.perf_counter() - start
    row.update(metrics)
    return row
