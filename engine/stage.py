"""What every pipeline stage returns to the run orchestrator, and what it hands the next stage.

Each stage returns a `StageOutput` whose `result` is that stage's frozen dataclass below (the data
stage's `DataOut` lives in engine.data.stage and reconciliation's `ReconciliationOut` in
engine.reconcile.stage, next to the types they hold). Frames use the run folder's columns
(DESIGN.md); months are `YYYY-MM` strings, hours are hours, money is in the scenario currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pandas as pd

from solvers.solve import SolveResult

if TYPE_CHECKING:
    from solvers.allocation import AllocationResult as AllocationSolve
    from solvers.territory.design import TerritoryResult as TerritorySolve


@dataclass(frozen=True)
class StageResult:
    """Base of the typed results one stage hands the next."""


@dataclass(frozen=True)
class DemandOut(StageResult):
    """The demand stage's forecast."""

    forecast: pd.DataFrame
    """month, segment, region, case, leads (every demand case)."""


@dataclass(frozen=True)
class TerritoryOut(StageResult):
    """The territory stage's plan."""

    territories: pd.DataFrame | None
    """unit_id, territory, center_unit_id, workload, potential; None without a solution."""
    solve: TerritorySolve | None = None
    """The solver's full result (alternatives, bounds); None when read back from a run folder."""


@dataclass(frozen=True)
class SupplyOut(StageResult):
    """The supply stage (hiring, and support staffing when the scenario has a support section)
    for the simulated demand case; each part None when the stage has no such plan."""

    hiring: pd.DataFrame | None = None
    """month, role, hires, headcount, effective_capacity, cost, capacity_hours, ..."""
    capacity_hours: pd.DataFrame | None = None
    """month, role, capacity_hours: the plan's working capacity (hours)."""
    staffing: pd.DataFrame | None = None
    """month, role, required_agents, planned_agents, service_level, asa_seconds."""
    staffing_hourly: pd.DataFrame | None = None
    """month, week_hour, weekday, hour, required_agents, planned_agents, when support tickets
    follow an hour-of-week arrival pattern."""
    customers: pd.DataFrame | None = None
    """month, tier, customers: support customers per tier and month."""


@dataclass(frozen=True)
class AllocationOut(StageResult):
    """The lead-allocation stage's plan."""

    allocation: pd.DataFrame | None
    """month, segment, region, team, leads; None without a solution."""
    solve: AllocationSolve | None = None
    """The solver's full result; None when read back from a run folder."""


@dataclass(frozen=True)
class SimulationOut(StageResult):
    """The simulation stage's replications."""

    monthly: pd.DataFrame
    """replication, month, metric, value."""
    leads: pd.DataFrame | None = None
    """One row per lead and replication (sim/leads.parquet columns)."""


R = TypeVar("R", bound=StageResult)


@dataclass
class StageOutput(Generic[R]):
    """Files, headline figures, solver outcomes and the typed result of one stage.

    `tables` maps a run-folder path (e.g. `plan/hiring.csv`, `sim/leads.parquet`) to the frame to
    write there; `summary` is this stage's object in summary.json (JSON-serialisable, stable key
    order); `solves` maps a model name to its SolveResult for manifest.json; `result` is what
    later stages read (None for a stage that hands nothing on).
    """

    name: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    solves: dict[str, SolveResult] = field(default_factory=dict)
    result: R | None = None
    texts: dict[str, str] = field(default_factory=dict)
    """Run-folder path -> text file content (e.g. `plan/hires.yaml`)."""


FAILED_STATUSES = ("infeasible", "unbounded", "no_solution", "error")
"""A planning stage whose summary `status` is one of these ended without a plan (exit code 3)."""


@dataclass(frozen=True)
class StageFailure:
    """A planning stage that ended without a feasible plan: its status and why (plain sentences)."""

    stage: str
    status: str
    diagnosis: tuple[str, ...]

    def headline(self) -> str:
        """One line: which stage, what status."""
        return f"{self.stage}: no feasible plan (solver status: {self.status})"

    def lines(self) -> list[str]:
        """The headline, then each diagnosis sentence indented as a list item."""
        return [self.headline(), *(f"  - {s}" for s in self.diagnosis or ("no cause found by a check",))]


def stage_failures(outputs: dict[str, StageOutput]) -> list[StageFailure]:
    """The stages (in pipeline order) whose summary says they ended without a plan."""
    out = []
    for name, stage in outputs.items():
        status = str(stage.summary.get("status", ""))
        if status in FAILED_STATUSES:
            diagnosis = tuple(str(d) for d in stage.summary.get("diagnosis") or ())
            out.append(StageFailure(name, status, diagnosis))
    return out
