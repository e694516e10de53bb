"""The `territory:` section (DESIGN.md, "Territory design inputs")."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from engine.scenario.schema.base import Model, NonNegInt, PosFloat, PosInt, Share

LOCK_WORDS = ("free", "keep", "move")
"""Lock values besides a territory name: `free` (default), `keep` (stay in the current
territory), `move` (any territory but the current one)."""


class TerritorySection(Model):
    units: str
    """Units CSV (id, x, y, workload, potential, current_territory, optional lock and extra
    numeric measures such as sales), relative to the scenario file."""
    distances: str | None = None
    """Optional distances CSV `from,to,distance` (km or minutes), relative to the scenario file;
    given pairs are used as given, missing pairs are completed by shortest paths."""
    adjacency: str | None = None
    """Optional CSV `from,to` of units that share a border (for `contiguity`)."""
    boundaries: str | None = None
    """Optional boundary file (GeoJSON, Shapefile or GeoPackage), relative to the scenario file,
    one polygon per unit: centroids (x, y in km) and, without `adjacency`, the border graph come
    from the shapes, and the report draws the territories on the map."""
    boundary_id: str = "id"
    """Column of the boundary file holding the unit id (as in the units CSV)."""
    border_rule: Literal["rook", "queen"] = "rook"
    """Which shapes border each other: `rook` (a shared edge) or `queen` (a shared corner is enough)."""
    link_islands: bool = False
    """Join every separate part of the border graph (islands) to its closest unit by centroid
    distance, instead of refusing more parts than territories."""
    territories: PosInt
    """Number of territories p."""
    objective: Literal["compactness"] = "compactness"
    """Minimise the weighted sum of distances from units to their territory's centre unit."""
    compactness_weight: Literal["workload", "potential", "unit"] = "workload"
    """Weight of a unit in the compactness objective (`unit`: every unit counts 1)."""
    capacity: PosFloat | None = None
    """Hard upper bound on a territory's total workload (workload units, e.g. hours per year)."""
    balance: Share | dict[str, Share] | None = None
    """Relative tolerance around the mean per territory: one number for workload, or one
    tolerance per measure (`workload`, `potential`, `accounts` or a numeric units-CSV column)."""
    max_disruption: Share | None = None
    """Largest share (of units, or of potential, see `disruption_measure`) that may leave its
    current territory; needs `current_territory` in the units CSV."""
    disruption_measure: Literal["units", "potential"] = "units"
    """What `max_disruption` counts: units, or potential."""
    contiguity: bool = False
    """Every territory must be connected through `adjacency`."""
    centres: dict[str, str] | None = None
    """Fixed centres: territory name -> centre unit id (e.g. reps' home bases); one per territory."""
    locks: dict[str, str] = Field(default_factory=dict)
    """Unit id -> lock, overriding the units CSV `lock` column: `free`, `keep` (stay in its
    current territory), `move` (any territory but its current one) or a territory name (pinned)."""
    together: list[tuple[str, str]] = Field(default_factory=list)
    """Pairs of unit ids that must end up in the same territory."""
    apart: list[tuple[str, str]] = Field(default_factory=list)
    """Pairs of unit ids that must end up in different territories."""
    alternatives: NonNegInt = 0
    """Number of further near-optimal alignments to return, each as different as possible."""
    alternatives_within: Share = 0.02
    """Alternatives cost at most (1 + this share) x the best objective."""
    max_candidates: PosInt | None = None
    """Large instances: each unit starts with only its nearest `max_candidates` centres. With
    `centres` given, left-out pairs are priced by column generation, so the bound is the LP over
    every unit-centre pair; with free centres it comes from the uncapacitated p-median relaxation,
    raised (with balance or capacity, up to 10,000 units) by a Lagrangian that keeps each
    territory's size within its band."""
    time_limit_s: PosFloat = 60.0
    """Solver time limit (seconds)."""
    mip_gap: Share = 0.0
    """Relative MIP gap at which the solver may stop."""
    max_nodes: PosInt | None = None
    """Branch-and-bound node limit for each MILP solve of the stage. Unlike `time_limit_s` it
    stops at the same point on any machine: set it (with a generous time limit as a backstop)
    when a plan that is cut short must still be reproducible."""

    @model_validator(mode="after")
    def _consistent(self) -> TerritorySection:
        if self.contiguity and self.adjacency is None and self.boundaries is None:
            raise ValueError("contiguity needs an `adjacency` or a `boundaries` file")
        if self.centres is not None and len(self.centres) != self.territories:
            raise ValueError(f"centres names {len(self.centres)} territories but territories is "
                             f"{self.territories}")
        return self

    def balance_tolerances(self) -> dict[str, float]:
        """Measure -> relative tolerance (empty without balance)."""
        if self.balance is None:
            return {}
        return {"workload": self.balance} if isinstance(self.balance, float) else dict(self.balance)
