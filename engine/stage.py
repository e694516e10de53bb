"""What every pipeline stage returns to the run orchestrator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from solvers.solve import SolveResult


@dataclass
class StageOutput:
    """Files, headline figures and solver outcomes of one stage.

    `tables` maps a run-folder path (e.g. `plan/hiring.csv`, `sim/leads.parquet`) to the frame to
    write there; `summary` is this stage's object in summary.json (JSON-serialisable, stable key
    order); `solves` maps a model name to its SolveResult for manifest.json; `extra` holds typed
    results later stages read (e.g. the forecast frame, the hiring plan).
    """

    name: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    solves: dict[str, SolveResult] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
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


def stage_failures(outputs: dict[str, StageOutput]) -> list[StageFailure]:
    """The stages (in pipeline order) whose summary says they ended without a plan."""
    out = []
    for name, stage in outputs.items():
        status = str(stage.summary.get("status", ""))
        if status in FAILED_STATUSES:
            diagnosis = tuple(str(d) for d in stage.summary.get("diagnosis") or ())
            out.append(StageFailure(name, status, diagnosis))
    return out
