"""The `allocation:` section: routing forecast leads to teams (lead allocation LP)."""

from __future__ import annotations

from pydantic import Field, model_validator

from engine.scenario.schema.base import Model, NonNegFloat, PosFloat, Share


class DelayBandSpec(Model):
    """Speed-to-lead penalty: work loaded above `from_utilisation` of a team's capacity delays
    first contact; each such hour costs `cost_per_hour` (currency per hour of load)."""

    from_utilisation: Share
    """Start of the band as a share of the team's monthly capacity."""
    cost_per_hour: NonNegFloat
    """Expected revenue lost per hour of work loaded in this band (currency/hour)."""


class Team(Model):
    """A team leads can be routed to. Its capacity is a share of a role's planned capacity hours
    (from the hiring plan) or a fixed number of hours per month."""

    name: str = Field(min_length=1)
    """Team name; the simulation's router takes it as a role name, so name teams after roles."""
    role: str
    """Role (in `roles`) whose funnel stages the team works and whose capacity it draws on."""
    share_of_role: Share = 1.0
    """Share of the role's planned capacity hours that this team has."""
    capacity_hours_per_month: PosFloat | None = None
    """Fixed capacity (hours per month) instead of the hiring plan's."""
    regions: list[str] | None = None
    """Home regions: their leads go to this team without overflow cost (None = all regions)."""
    segments: list[str] | None = None
    """Segments the team works (None = the role's segments, or all)."""
    affinity: dict[str, PosFloat] = Field(default_factory=dict)
    """Segment -> conversion multiplier of this team (1.0 = the funnel's average)."""


class AllocationSection(Model):
    teams: list[Team] | None = None
    """Teams; None = one team per role that works a funnel stage, named after the role."""
    overflow_cost_per_lead: NonNegFloat | None = None
    """Cost of routing a lead to a team outside its region (currency/lead); None = not allowed."""
    unmet_penalty_per_lead: NonNegFloat = 0.0
    """Penalty per forecast lead no team works, on top of its lost revenue (currency/lead)."""
    delay_bands: list[DelayBandSpec] = Field(
        default_factory=lambda: [DelayBandSpec(from_utilisation=0.85, cost_per_hour=0.0)])
    """Convex speed-to-lead penalty bands on utilisation; costs must not decrease."""
    case: str = "base"
    """Forecast case to allocate (low, base or high)."""
    time_limit_s: PosFloat = 60.0
    """Solver time limit (seconds)."""

    @model_validator(mode="after")
    def _convex(self) -> AllocationSection:
        bands = sorted(self.delay_bands, key=lambda b: b.from_utilisation)
        for a, b in zip(bands, bands[1:], strict=False):
            if b.cost_per_hour < a.cost_per_hour:
                raise ValueError("delay_bands costs decrease with utilisation; expected non-decreasing "
                                 "costs (a convex penalty)")
        return self
