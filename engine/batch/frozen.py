"""The plan a stress test keeps fixed: solved once from a scenario, or read from a run folder.

A frozen plan is the planning stages' outputs (territory, hiring + staffing, allocation). At each
probe only the demand forecast and the simulation run again, on the probe's scenario, against
this same plan: the question is "can our plan take it", not "can the optimiser keep up".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from engine.errors import InputError, NoFeasiblePlan
from engine.scenario.load import LoadedScenario, load_scenario
from engine.stage import (
    AllocationOut,
    StageOutput,
    StageResult,
    SupplyOut,
    TerritoryOut,
    stage_failures,
)

RESOLVED = "scenario.resolved.yaml"
PLAN_FILES = {"hiring": ("plan/hiring.csv", "plan/hiring_cases.csv", "plan/staffing.csv",
                         "plan/staffing_hourly.csv"),
              "territory": ("plan/territories.csv",), "allocation": ("plan/allocation.csv",)}
"""Run-folder files of each planning stage (those present are read)."""
PLAN_STAGES = ("territory", "hiring", "allocation")


@dataclass(frozen=True)
class FrozenPlan:
    """Planning-stage outputs by stage name, and where they came from."""

    outputs: dict[str, StageOutput]
    source: str

    def frame(self, stage: str, key: str) -> pd.DataFrame | None:
        """A plan frame (`hiring`, `staffing`, `staffing_hourly`, `territories`, `allocation`)."""
        out = self.outputs.get(stage)
        value = getattr(out.result, key, None) if out is not None else None
        return value if isinstance(value, pd.DataFrame) else None

    def require_feasible(self, what: str) -> None:
        """Raise NoFeasiblePlan (exit 3) naming `what` (the stress test or sweep) when a planning
        stage ended without a plan: there is nothing to freeze, and re-planning at each point
        instead would answer another question."""
        failures = stage_failures(self.outputs)
        if not failures:
            return
        lines = [f"{what}: the plan to freeze has no feasible solution ({self.source}); "
                 "nothing was run (fix the plan, or re-plan at each point)"]
        raise NoFeasiblePlan([*lines, *(line for failure in failures for line in failure.lines())])

    def hires(self) -> float | None:
        """Total hires of the plan over the horizon (people)."""
        hiring = self.frame("hiring", "hiring")
        return float(hiring["hires"].sum()) if hiring is not None and "hires" in hiring else None

    def headcount(self) -> dict[str, list[float]]:
        """Planned headcount by role, month by month (people): what the test of freezing compares."""
        hiring = self.frame("hiring", "hiring")
        if hiring is None:
            return {}
        return {str(role): [float(v) for v in part.sort_values("month")["headcount"]]
                for role, part in hiring.groupby("role", sort=True)}


def forecast_outputs(loaded: LoadedScenario) -> tuple[LoadedScenario, dict[str, StageOutput]]:
    """The data (calibration) and demand stages of `loaded`: the part of a run a probe redoes."""
    outputs: dict[str, StageOutput] = {}
    history = None
    if loaded.scenario.data is not None:
        from engine.data.stage import calibrate_stage

        loaded, data_out = calibrate_stage(loaded)
        outputs[data_out.name] = data_out
        history = data_out.result.history
    if loaded.scenario.demand is not None or loaded.scenario.data is not None:
        from engine.plan.demand import forecast_demand

        outputs["demand"] = forecast_demand(loaded, history)
    return loaded, outputs


def plan_outputs(loaded: LoadedScenario, forecast: pd.DataFrame | None) -> dict[str, StageOutput]:
    """The planning stages in the orchestrator's order (engine/run.py), for the scenario's forecast."""
    s, outputs = loaded.scenario, {}
    if s.territory is not None:
        from engine.plan.territory import territory_stage

        outputs["territory"] = territory_stage(loaded)
    if s.plan is not None and forecast is not None:
        from engine.plan.supply import plan_supply

        outputs["hiring"] = plan_supply(loaded, forecast)
    if s.allocation is not None and forecast is not None:
        from engine.plan.allocation import allocation_stage

        outputs["allocation"] = allocation_stage(loaded, forecast, outputs.get("hiring"))
    return outputs


def solve_plan(loaded: LoadedScenario) -> FrozenPlan:
    """Run the planning stages once on the scenario as given and keep their outputs."""
    loaded, outputs = forecast_outputs(loaded)
    forecast = outputs["demand"].result.forecast if "demand" in outputs else None
    return FrozenPlan(plan_outputs(loaded, forecast), f"solved once from {loaded.path}")


def _stage_from_files(folder: Path, stage: str) -> StageOutput | None:
    tables = {rel: pd.read_csv(folder / rel) for rel in PLAN_FILES[stage] if (folder / rel).exists()}
    if not tables:
        return None
    return StageOutput(name=stage, tables=tables, result=_result_from_files(stage, tables))


def _result_from_files(stage: str, tables: dict[str, pd.DataFrame]) -> StageResult:
    """The typed result a planning stage would hand on, rebuilt from its run-folder files."""
    if stage == "territory":
        return TerritoryOut(tables["plan/territories.csv"])
    if stage == "allocation":
        return AllocationOut(tables["plan/allocation.csv"])
    hiring = tables.get("plan/hiring.csv")
    capacity = hiring[["month", "role", "capacity_hours"]] if hiring is not None and "capacity_hours" in hiring else None
    return SupplyOut(hiring=hiring, capacity_hours=capacity, staffing=tables.get("plan/staffing.csv"),
                     staffing_hourly=tables.get("plan/staffing_hourly.csv"))


def read_plan(run_dir: Path) -> tuple[LoadedScenario, FrozenPlan]:
    """The scenario and plan of a run folder (`salesops run --out RUN_DIR`); InputError when the
    folder has no resolved scenario."""
    resolved = run_dir / RESOLVED
    if not resolved.exists():
        raise InputError.single(str(run_dir), RESOLVED, "not a run folder: the resolved scenario is missing",
                                "a folder written by `salesops run`, or a scenario file")
    loaded = load_scenario(resolved)
    outputs = {stage: out for stage in PLAN_STAGES if (out := _stage_from_files(run_dir, stage)) is not None}
    return loaded, FrozenPlan(outputs, f"read from {run_dir}")
