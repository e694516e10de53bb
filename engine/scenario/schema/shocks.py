"""The `shocks:` section: named events that bend the scenario from a month on.

Each shock is active from `from_month` to `to_month` inclusive (to the end of the horizon when
`to_month` is absent). Factors multiply; two shocks active in the same month compound. The pure
functions that turn shocks into per-month factors for the stages live in `engine/shocks.py`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from engine.scenario.schema.base import Model, Month, NonNegFloat, PosFloat


class _Window(Model):
    name: str | None = None
    """Label shown in reports (e.g. "Q3 hiring freeze")."""
    from_month: Month
    """First month the shock is active (`YYYY-MM`)."""
    to_month: Month | None = None
    """Last month the shock is active (`YYYY-MM`, inclusive); None = to the end of the horizon."""

    @model_validator(mode="after")
    def _ordered(self) -> _Window:
        if self.to_month is not None and self.to_month < self.from_month:
            raise ValueError(f"to_month {self.to_month} is before from_month {self.from_month}")
        return self


class HiringFreeze(_Window):
    """No new starts while active: the hiring cap of the role (or of every role) is 0."""

    kind: Literal["hiring_freeze"]
    role: str | None = None
    """A `roles` name; None = every role."""


class AttritionSpike(_Window):
    """Attrition rate multiplied by `factor` while active (e.g. 2.0 after a reorganisation)."""

    kind: Literal["attrition_spike"]
    factor: PosFloat
    """Multiplier on `attrition_per_year` while active (dimensionless)."""
    role: str | None = None
    """A `roles` name; None = every role."""


class DemandShock(_Window):
    """Lead volume multiplied by `factor` while active: above 1 a surge, below 1 a drop."""

    kind: Literal["demand_surge", "demand_drop"]
    factor: NonNegFloat
    """Multiplier on leads per month while active (dimensionless; 0 = no leads at all)."""
    segment: str | None = None
    """A `segments` name; None = every segment."""
    region: str | None = None
    """A `regions` name; None = every region."""

    @model_validator(mode="after")
    def _direction(self) -> DemandShock:
        if self.kind == "demand_surge" and self.factor < 1.0:
            raise ValueError(f"a demand_surge needs factor >= 1 (got {self.factor}); use demand_drop")
        if self.kind == "demand_drop" and self.factor > 1.0:
            raise ValueError(f"a demand_drop needs factor <= 1 (got {self.factor}); use demand_surge")
        return self


class PriceChange(_Window):
    """Deal size multiplied by `factor` while active (a price rise above 1, a discount below)."""

    kind: Literal["price_change"]
    factor: PosFloat
    """Multiplier on the deal size of leads that arrive while active (dimensionless): a deal is
    priced when the lead comes in, whenever it closes."""
    segment: str | None = None
    """A `segments` name; None = every segment."""


Shock = Annotated[HiringFreeze | AttritionSpike | DemandShock | PriceChange, Field(discriminator="kind")]
"""One named shock; `kind` picks the type."""
