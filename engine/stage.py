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
