"""The `territory:` section (DESIGN.md, "Territory design inputs")."""

from __future__ import annotations

from typing import Literal

from engine.schema.base import Model, PosFloat, PosInt, Share


class TerritorySection(Model):
    units: str
    """Units CSV (id, x, y, workload, potential, current_territory), relative to the scenario file."""
    distances: str | None = None
    """Optional distances CSV `from,to,distance`, relative to the scenario file."""
    territories: PosInt
    """Number of territories p."""
    objective: Literal["compactness"] = "compactness"
    """Minimise the weighted sum of distances from units to their territory's centre unit."""
    compactness_weight: Literal["workload", "potential", "unit"] = "workload"
    """Weight of a unit in the compactness objective."""
    capacity: PosFloat | None = None
    """Hard upper bound on a territory's total workload."""
    balance: Share | None = None
    """Relative tolerance around the mean workload of a territory."""
    max_disruption: Share | None = None
    """Share of units allowed to leave their current territory."""
    time_limit_s: PosFloat = 60.0
    """Solver time limit (seconds)."""
    mip_gap: Share = 0.0
    """Relative MIP gap at which the solver may stop."""
