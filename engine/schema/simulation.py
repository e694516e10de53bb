"""The `simulation:` section: Monte Carlo settings and the working calendar."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.schema.base import Model, NonNegInt, PosInt


class Calendar(Model):
    """When reps work and leads arrive."""

    kind: Literal["business", "24/7"] = "business"
    """`business`: weekdays within `day_start_hour`-`day_end_hour`; `24/7`: always open."""
    day_start_hour: int = Field(default=9, ge=0, le=23)
    """First working hour of a weekday (local time, 0-23)."""
    day_end_hour: int = Field(default=18, ge=1, le=24)
    """End of the working day (local time, 1-24)."""
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    """Working weekdays, 0 = Monday."""


class Simulation(Model):
    replications: PosInt = 5
    """Monte Carlo replications (independent seeded runs)."""
    seed: NonNegInt = 12345
    """Root seed; replication i uses the i-th child of numpy SeedSequence(seed)."""
    case: Literal["low", "base", "high"] = "base"
    """Demand case whose forecast drives arrivals."""
    calendar: Calendar = Calendar()
    """Working calendar."""
    routing: Literal["round_robin", "least_loaded"] = "least_loaded"
    """How a team picks the rep for a new item."""
