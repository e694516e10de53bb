"""The run orchestrator: the only place that knows the order of the stages.

data (calibrate) -> demand (forecast) -> territory -> supply (staffing + hiring) -> allocation
-> simulation -> reconciliation -> reports. A stage whose scenario section is absent is skipped
and its files are absent from the run folder. When a planning stage ends without a feasible plan
(its summary `status` is infeasible, unbounded, no_solution or error) there is no plan to simulate:
the simulation is skipped, the headline figures that depend on the plan are left empty, and the
CLI writes the folder and exits 3.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from engine.runfolder.atomic import atomic_folder, check_out_folder
from engine.runfolder.manifest import build_manifest, split_timings
from engine.runfolder.write import write_json, write_table
from engine.scenario.load import LoadedScenario, load_scenario, resolved_yaml
from engine.stage import StageFailure, StageOutput, SupplyOut, stage_failures

if TYPE_CHECKING:
    import pandas as pd

Progress = Callable[[str, float], None]
"""Callback (stage name, fraction of that stage done in [0, 1])."""
Render = Callable[[Path, "RunResult", bool], None]
"""Callback (folder, result, excel) that writes the report files into a run folder being written.

engine/ never imports reports/: the CLI passes `reports.render.write_reports` in. Without a
render callback the run folder holds every data file but no report.
"""


@dataclass(frozen=True)
class RunOptions:
    """How to run a scenario. `seed`/`replications` override the scenario's simulation section."""

    seed: int | None = None
    replications: int | None = None
    workers: int = 1
    overrides: tuple[str, ...] = ()
    excel: bool = False


@dataclass
class RunResult:
    """All stage outputs of one run, in pipeline order, plus what the manifest needs."""

    loaded: LoadedScenario
    outputs: dict[str, StageOutput] = field(default_factory=dict)
    wall_s: dict[str, float] = field(default_factory=dict)

    @property
    def failures(self) -> list[StageFailure]:
        """Planning stages that ended without a feasible plan (the run exits 3)."""
        return stage_failures(self.outputs)

    @property
    def seed(self) -> int | None:
        sim = self.loaded.scenario.simulation
        return sim.seed if sim else None

    @property
    def replications(self) -> int | None:
        sim = self.loaded.scenario.simulation
        return sim.replications if sim else None


def _cli_overrides(options: RunOptions) -> list[str]:
    """`--seed` and `--replications` as `--set` overrides, so the resolved scenario records them."""
    extra = []
    if options.seed is not None:
        extra.append(f"simulation.seed={options.seed}")
    if options.replications is not None:
        extra.append(f"simulation.replications={options.replications}")
    return list(options.overrides) + extra


def load_for_run(path: str | Path, options: RunOptions) -> LoadedScenario:
    """Load the scenario with `--set` overrides; `--seed`/`--replications` apply to a simulation section."""
    loaded = load_scenario(path, list(options.overrides))
    if loaded.scenario.simulation is not None and (options.seed is not None or options.replications is not None):
        loaded = load_scenario(path, _cli_overrides(options))
    return loaded


def execute(loaded: LoadedScenario, options: RunOptions, progress: Progress | None = None) -> RunResult:
    """Run every stage the scenario switches on, in order, in memory (nothing is written)."""
    run = _Stages(RunResult(loaded), progress or (lambda stage, done: None))
    history = _calibrate(run)
    loaded = run.result.loaded
    scenario = loaded.scenario
    forecast = None
    if scenario.demand is not None or scenario.data is not None:
        from engine.plan.demand import forecast_demand

        forecast = run.timed("demand", lambda: forecast_demand(loaded, history)).result.forecast
    territories = None
    if scenario.territory is not None:
        from engine.plan.territory import territory_stage

        territories = run.timed("territory", lambda: territory_stage(loaded)).result.territories
    supply = None
    if scenario.plan is not None and forecast is not None:
        from engine.plan.supply import plan_supply

        supply = run.timed("hiring", lambda: plan_supply(loaded, forecast))
    allocation = None
    if scenario.allocation is not None and forecast is not None:
        from engine.plan.allocation import allocation_stage

        allocation = run.timed("allocation", lambda: allocation_stage(loaded, forecast, supply)).result.allocation
    if scenario.simulation is not None and forecast is not None and not run.result.failures:
        _simulate(run, options, forecast, supply, allocation, territories)
    _reconcile(run)
    return run.result


@dataclass(frozen=True)
class _Stages:
    """One run's result being filled in, and the progress callback its stages report to."""

    result: RunResult
    report: Progress

    def timed(self, name: str, fn: Callable[[], StageOutput]) -> StageOutput:
        """Run stage `name`, keep its output and its wall time (seconds), report its progress."""
        self.report(name, 0.0)
        start = time.perf_counter()
        out = fn()
        self.result.wall_s[name] = time.perf_counter() - start
        self.result.outputs[out.name] = out
        self.report(name, 1.0)
        return out


def _calibrate(run: _Stages) -> pd.DataFrame | None:
    """The data stage (CRM calibration) when the scenario has one: it replaces the run's loaded
    scenario with the calibrated one and returns the history the forecast extends (else None)."""
    if run.result.loaded.scenario.data is None:
        return None
    from engine.data.stage import calibrate_stage

    start = time.perf_counter()
    loaded, data_out = calibrate_stage(run.result.loaded)
    run.result.loaded = loaded
    run.result.outputs[data_out.name] = data_out
    run.result.wall_s["data"] = time.perf_counter() - start
    return data_out.result.history


def _simulate(run: _Stages, options: RunOptions, forecast: pd.DataFrame, supply: StageOutput | None,
              allocation: pd.DataFrame | None, territories: pd.DataFrame | None) -> None:
    """The simulation stage over the plan (an empty one without a hiring stage)."""
    from engine.simulation.stage import simulate

    loaded = run.result.loaded
    sim = loaded.scenario.simulation
    plan = supply.result if supply is not None else SupplyOut()
    run.timed("simulation", lambda: simulate(
        loaded, forecast, plan.hiring, plan.staffing, allocation,
        territories, replications=sim.replications, seed=sim.seed, workers=options.workers,
        progress=lambda done: run.report("simulation", done),
        staffing_hourly=plan.staffing_hourly))


def _reconcile(run: _Stages) -> None:
    """The reconciliation stage; its headline is emptied when a stage every figure depends on
    has no plan."""
    from engine.reconcile.stage import reconcile

    recon = run.timed("reconciliation", lambda: reconcile(run.result.loaded, run.result.outputs))
    if any(f.stage in PLAN_STAGES for f in run.result.failures):
        recon.summary["headline"] = blank_headline(recon.summary.get("headline", {}))


PLAN_STAGES = ("hiring",)
"""Stages every headline figure depends on: without their plan the headline has no figures."""


def blank_headline(headline: dict) -> dict:
    """The headline with every figure emptied (None), keys kept: a stage every figure depends on
    has no plan, and the forecast must never stand in for a plan's figures."""
    return {case: dict.fromkeys(figures, None) if isinstance(figures, dict) else figures
            for case, figures in headline.items()}


def write_run_folder(result: RunResult, out: Path, options: RunOptions, render: Render | None = None) -> Path:
    """Write the run folder of DESIGN.md atomically (temporary sibling, then rename); `render`
    writes the report files (none without it)."""
    resolved = resolved_yaml(result.loaded)
    with atomic_folder(out, protect=(result.loaded.path,)) as tmp:
        (tmp / "scenario.resolved.yaml").write_text(resolved, encoding="utf-8")
        for stage in result.outputs.values():
            for rel, frame in stage.tables.items():
                write_table(tmp / rel, frame)
            for rel, text in stage.texts.items():
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                (tmp / rel).write_text(text, encoding="utf-8")
        summary, timings = split_timings(raw_summary(result))
        write_json(tmp / "summary.json", summary)
        write_json(tmp / "manifest.json", build_manifest(
            resolved_yaml=resolved, seed=result.seed, replications=result.replications,
            overrides=list(result.loaded.overrides), stage_wall_s=result.wall_s,
            solves={f"{stage.name}.{name}": solve.as_dict()
                    for stage in result.outputs.values() for name, solve in stage.solves.items()},
            scenario_file=str(result.loaded.path), timings=timings))
        if render is not None:
            render(tmp, result, options.excel)
    return out


def summary_of(result: RunResult) -> dict:
    """summary.json: headline figures, then one object per stage that ran; no measured times
    (they go to manifest.json), so reruns of the same scenario and seed give the same bytes."""
    return split_timings(raw_summary(result))[0]


def raw_summary(result: RunResult) -> dict:
    """The stages' summary objects as they hold them, measured times included."""
    scenario = result.loaded.scenario
    summary: dict = {"scenario": scenario.name, "currency": scenario.currency}
    recon = result.outputs.get("reconciliation")
    if recon is not None:
        summary["headline"] = recon.summary.get("headline", {})
        if recon.summary.get("plan_totals"):
            summary["plan_totals"] = recon.summary["plan_totals"]
    for name, stage in result.outputs.items():
        if name == "reconciliation":
            continue
        stage_summary = dict(stage.summary)
        staffing = stage_summary.pop("staffing", None) if name == "hiring" else None
        summary[name] = stage_summary
        if staffing is not None:
            summary["staffing"] = staffing
    if recon is not None:
        summary["reconciliation"] = {k: v for k, v in recon.summary.items() if k not in ("headline", "plan_totals")}
    from engine.scenario.shocks import shock_summary

    if scenario.shocks:
        summary["shocks"] = shock_summary(scenario)
    return summary


def run_scenario(path: str | Path, out: str | Path, options: RunOptions,
                 progress: Progress | None = None, render: Render | None = None) -> Path:
    """Load, execute and write one scenario (with its report when `render` is given, as the CLI
    does). Raises InputError on bad input (nothing written), including an `out` that is not safe
    to replace (checked before any work)."""
    check_out_folder(out, protect=(path,))
    loaded = load_for_run(path, options)
    result = execute(loaded, options, progress)
    return write_run_folder(result, Path(out), options, render)
