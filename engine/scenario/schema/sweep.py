"""SWEEP.yaml: a batch of scenario variants described as data.

```yaml
name: budget x attrition
base: ../scaleup.yaml              # relative to this file
set: {plan.time_limit_s: 10}       # applied to every point
vary:
  plan.budget_per_month: {from: 350000, to: 550000, steps: 3}
  roles.AE.attrition_per_year: [0.2, 0.3, 0.4]
method: grid                       # grid | random | lhs
replications: 2
seed: 7                            # every point runs this seed (common random numbers)
metrics: [operating_margin, sla_attainment]  # optional: names from `salesops metrics`
objectives: {operating_margin: max, sla_attainment: max}
```

A `vary` key is a dotted scenario path as in `--set` (a list step may be an index or an item's
`name`); its value is a list of values, a range `{from, to, steps}` (evenly spaced levels, ends
included) or a distribution `{dist, params}`. `grid` runs every combination of lists and ranges;
`random` and `lhs` draw `samples` points: lists and ranges pick one of their levels, distributions
are sampled (`lhs` stratifies every axis: Latin hypercube from scipy.stats.qmc).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from engine.scenario.schema.base import Model, NonNegInt, PosFloat, PosInt


class Range(Model):
    """`steps` evenly spaced levels from `from` to `to`, both ends included."""

    start: float = Field(alias="from")
    """First level (in the unit of the varied field)."""
    stop: float = Field(alias="to")
    """Last level (in the unit of the varied field)."""
    steps: PosInt
    """Number of levels (1 = only `from`)."""
    integer: bool = False
    """Round levels to whole numbers (for counts such as headcount)."""

    def levels(self) -> list[float | int]:
        """The levels, as Python numbers."""
        import numpy as np

        values = np.linspace(self.start, self.stop, self.steps) if self.steps > 1 else np.array([self.start])
        if self.integer:
            return [int(round(v)) for v in values]
        return [float(v) for v in values]


class UniformParams(Model):
    low: float
    """Lower bound."""
    high: float
    """Upper bound (above `low`)."""

    @model_validator(mode="after")
    def _ordered(self) -> UniformParams:
        if self.high <= self.low:
            raise ValueError("high must be above low")
        return self


class NormalParams(Model):
    mean: float
    """Mean."""
    sd: PosFloat
    """Standard deviation."""


class LognormalParams(Model):
    mean: PosFloat
    """Mean (not the median)."""
    cv: PosFloat
    """Coefficient of variation (standard deviation / mean)."""


class TriangularParams(Model):
    low: float
    """Lower bound."""
    mode: float
    """Most likely value (between low and high)."""
    high: float
    """Upper bound (above low)."""

    @model_validator(mode="after")
    def _ordered(self) -> TriangularParams:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError("expected low <= mode <= high and low < high")
        return self


class _Dist(Model):
    integer: bool = False
    """Round draws to whole numbers."""


class UniformDist(_Dist):
    dist: Literal["uniform"]
    params: UniformParams
    """`low`, `high`."""


class NormalDist(_Dist):
    dist: Literal["normal"]
    params: NormalParams
    """`mean`, `sd`."""


class LognormalDist(_Dist):
    dist: Literal["lognormal"]
    params: LognormalParams
    """`mean`, `cv`."""


class TriangularDist(_Dist):
    dist: Literal["triangular"]
    params: TriangularParams
    """`low`, `mode`, `high`."""


Distribution = Annotated[UniformDist | NormalDist | LognormalDist | TriangularDist,
                         Field(discriminator="dist")]


def _axis_kind(value: Any) -> str:
    if isinstance(value, list):
        return "values"
    if isinstance(value, dict) and "dist" in value:
        return "distribution"
    if isinstance(value, Range | UniformDist | NormalDist | LognormalDist | TriangularDist):
        return "distribution" if hasattr(value, "dist") else "range"
    return "range"


Axis = Annotated[
    Annotated[list[Any], Field(min_length=1), Tag("values")] | Annotated[Range, Tag("range")]
    | Annotated[Distribution, Tag("distribution")],
    Discriminator(_axis_kind),
]
"""One varied path: a list of values, a range or a distribution."""


class SweepSpec(Model):
    name: str = "sweep"
    """Sweep name, shown in the report."""
    description: str = ""
    """Free text: the question this sweep answers."""
    base: str
    """Base scenario file, relative to the sweep file."""
    set: dict[str, Any] = Field(default_factory=dict)
    """Dotted scenario path -> value applied to every point before the varied values (as
    `--set`), e.g. a shorter solver time limit for a large sweep."""
    vary: dict[str, Axis] = Field(min_length=1)
    """Dotted scenario path -> values (list), levels (range) or a distribution."""
    method: Literal["grid", "random", "lhs"] = "grid"
    """`grid`: every combination; `random`: independent draws; `lhs`: Latin hypercube draws."""
    samples: PosInt | None = None
    """Points drawn by `random` and `lhs` (required there; not used by `grid`)."""
    seed: NonNegInt = 0
    """Root seed: draws of `random`/`lhs` and every point's simulation seed derive from it."""
    common_random_numbers: bool = True
    """Run every point with the sweep seed itself (common random numbers: differences between
    points are not blurred by sampling noise); false gives each point its own seed (a hash of
    the sweep seed and the point)."""
    freeze_plan: bool = False
    """Solve the base scenario's hiring plan once (with `set` applied) and evaluate that same plan
    at every point (its hires as `plan.fixed_hires`) instead of re-optimising each point: "can
    our plan take it", not "can the optimiser keep up"."""
    replications: PosInt | None = None
    """Simulation replications per point (None = the base scenario's own setting)."""
    metrics: list[str] = Field(default_factory=list)
    """Metrics to collect per point: names `salesops metrics` lists (`win_rate`,
    `simulation.sla_attainment.p90`, `plan.hires`) or dotted paths into summary.json. Empty: the
    headline set (operating margin, revenue, win rate, SLA attainment, hires; those the base
    scenario's stages produce)."""
    objectives: dict[str, Literal["max", "min"]] = Field(default_factory=dict)
    """Metric -> `max` or `min`: which way is better, for the Pareto frontier (the first two
    objectives are its axes; without objectives, the first two metrics with a catalogue
    direction). An objective not among `metrics` is collected too."""

    def axis_kind(self, path: str) -> str:
        """`values`, `range` or `distribution`: how `vary[path]` is given."""
        return _axis_kind(self.vary[path])
