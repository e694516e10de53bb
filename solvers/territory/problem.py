"""Plain-data input and typed result of territory design (no engine imports)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from solvers.solve import SolveResult


@dataclass(frozen=True)
class Balance:
    """Every territory's total of `measure` within `tolerance` (relative) of the mean per territory."""

    measure: str
    tolerance: float


def _no_pairs() -> np.ndarray:
    return np.empty((0, 2), dtype=np.int64)


@dataclass(frozen=True)
class TerritoryProblem:
    """A territory-design instance over n units (indices 0..n-1), all arrays of length n.

    `distance[i, j]` is the travel distance (km, minutes, any unit) from unit i to unit j as a
    potential centre. `weight` is the compactness weight of each unit. Territories carry names
    (`labels`) when they have an identity: fixed centres (territory k is centred on unit
    `fixed_centres[k]`), or current territories (`current[i]` indexes `labels`, -1 for none) used
    by disruption, pins and "not its current territory" locks; a new territory then takes the
    name of the current territory its centre lies in, so p must equal len(labels).
    """

    unit_ids: np.ndarray
    distance: np.ndarray
    weight: np.ndarray
    workload: np.ndarray
    potential: np.ndarray
    p: int
    measures: Mapping[str, np.ndarray] = field(default_factory=dict)
    capacity: float | None = None
    capacity_measure: str = "workload"
    balance: tuple[Balance, ...] = ()
    labels: tuple[str, ...] = ()
    current: np.ndarray | None = None
    fixed_centres: np.ndarray | None = None
    candidate_centres: np.ndarray | None = None
    max_disruption: float | None = None
    disruption_measure: str = "units"
    pinned: np.ndarray | None = None
    avoid_current: np.ndarray | None = None
    together: np.ndarray = field(default_factory=_no_pairs)
    apart: np.ndarray = field(default_factory=_no_pairs)
    adjacency: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.unit_ids)

    def plan_cost(self, centre_of: np.ndarray) -> float:
        """Objective of a plan (centre unit of every unit): sum of weight x distance to its centre."""
        return float(self.weight @ self.distance[np.arange(self.n), centre_of])

    def measure(self, name: str) -> np.ndarray:
        """Per-unit values of a balance/capacity measure: workload, potential, accounts or extra."""
        if name == "workload":
            return self.workload
        if name == "potential":
            return self.potential
        if name in ("accounts", "units"):
            return np.ones(self.n)
        return np.asarray(self.measures[name], dtype=float)

    @property
    def labelled(self) -> bool:
        """True when territories have names the model must respect (see class docstring)."""
        pins = self.pinned is not None and bool((self.pinned >= 0).any())
        avoid = self.avoid_current is not None and bool(self.avoid_current.any())
        return self.fixed_centres is not None or self.max_disruption is not None or pins or avoid

    @property
    def side_constrained(self) -> bool:
        """True when anything beyond the plain p-median applies."""
        return (self.labelled or self.capacity is not None or bool(self.balance)
                or len(self.together) > 0 or len(self.apart) > 0 or self.adjacency is not None)


@dataclass(frozen=True)
class SolveOptions:
    """Solver settings: times in seconds, gaps relative; `max_candidates` caps the centres each
    unit may be assigned to (its nearest ones) in the assignment model; None keeps all. With
    fixed centres any cap (or more than AUTO_PAIRS pairs) switches to the priced MILP, whose
    pairs come from reduced costs and whose bound covers every pair. `max_nodes` limits the
    branch-and-bound nodes of every MILP solve (HiGHS `mip_max_nodes`): unlike a time limit it
    stops at the same point on any machine, so a plan cut short is still reproducible."""

    time_limit_s: float | None = None
    mip_gap: float | None = 1e-4
    alternatives: int = 0
    alternative_tolerance: float = 0.02
    max_candidates: int | None = None
    max_nodes: int | None = None


@dataclass(frozen=True)
class Alternative:
    """A near-optimal alignment: its assignments, objective and share of units placed differently
    from the best alignment (in a territory with another centre)."""

    assignments: pd.DataFrame
    objective: float
    differs_from_best: float


@dataclass(frozen=True)
class TerritoryResult:
    """Outcome of territory design. `assignments` has the DESIGN.md columns of
    plan/territories.csv; `territories` one row per territory; `summary` goes to summary.json."""

    assignments: pd.DataFrame
    solve: SolveResult
    territories: pd.DataFrame
    summary: dict
    alternatives: list[Alternative] = field(default_factory=list)
