"""The scenario: one frozen pydantic model; every top-level section except `name` is optional.

A section that is absent switches its stage off (DESIGN.md). Meaning checks that span sections
(names referenced elsewhere exist, lead times fit the horizon, ...) live in `engine/checks.py`.
"""

from __future__ import annotations

from pydantic import Field

from engine.scenario.schema.allocation import AllocationSection
from engine.scenario.schema.base import Model
from engine.scenario.schema.core import Company, Demand, Funnel, Horizon, Region, Role, Segment
from engine.scenario.schema.data import DataSection
from engine.scenario.schema.plan import Plan
from engine.scenario.schema.shocks import Shock
from engine.scenario.schema.simulation import Simulation
from engine.scenario.schema.support import Support
from engine.scenario.schema.territory import TerritorySection


class Scenario(Model):
    name: str = Field(min_length=1)
    """Scenario name, shown in reports."""
    description: str = ""
    """Free text: what this scenario represents."""
    sources: dict[str, str] = Field(default_factory=dict)
    """Where figures came from (dotted path -> source, e.g. `estimated from report1.csv` or
    `assumed: default activity times`); written by `salesops calibrate`, read by no stage."""
    company: Company = Company()
    """The company: currency, ARR and its growth."""
    horizon: Horizon | None = None
    """Planning months; required by every stage except territory design."""
    segments: list[Segment] = Field(default_factory=list)
    """Customer segments."""
    regions: list[Region] = Field(default_factory=list)
    """Sales regions."""
    data: DataSection | None = None
    """CRM export to calibrate from and forecast on."""
    demand: Demand | None = None
    """Parametric lead demand (used when there is no CRM history)."""
    funnel: Funnel | None = None
    """Funnel stages, conversions, work and durations."""
    roles: list[Role] = Field(default_factory=list)
    """Roles (SDR, AE, support, managers, ops)."""
    territory: TerritorySection | None = None
    """Territory design."""
    allocation: AllocationSection | None = None
    """Lead allocation: which team works which leads (teams, affinities, overflow)."""
    support: Support | None = None
    """Support tickets and service level."""
    plan: Plan | None = None
    """Hiring plan: objective, budget, cases."""
    simulation: Simulation | None = None
    """Monte Carlo simulation of the lead flow."""
    shocks: list[Shock] = Field(default_factory=list)
    """Named events from a month on: hiring freeze, attrition spike, demand surge or drop, price change."""

    @property
    def currency(self) -> str:
        return self.company.currency

    def role(self, name: str) -> Role:
        """The role called `name` (KeyError if absent)."""
        for role in self.roles:
            if role.name == name:
                return role
        raise KeyError(name)
