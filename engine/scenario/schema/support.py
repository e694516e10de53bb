"""The `support:` section: tickets from won customers, served by a support role to a service level."""

from __future__ import annotations

from pydantic import Field, field_validator

from engine.scenario import defaults
from engine.scenario.schema.base import (
    MAX_CUSTOMERS,
    Model,
    NonNegFloat,
    NonNegInt,
    Number,
    PosFloat,
    Share,
    Whole,
)


class SupportTier(Model):
    name: str = Field(min_length=1)
    """Tier name, referenced by `segments[].support_tier` (e.g. standard, premium)."""
    tickets_per_customer_month: Number = Field(ge=0.0, le=10_000.0)
    """Tickets one customer of this tier opens per month."""
    aht_seconds: Number = Field(default=360.0, gt=0.0, le=86_400.0)
    """Average handle time of a ticket (seconds)."""
    target: Share = defaults.SERVICE_LEVEL_TARGET
    """Share of tickets to answer within `within_seconds`."""
    within_seconds: Number = Field(default=defaults.SERVICE_LEVEL_WITHIN_SECONDS, gt=0.0, le=86_400.0)
    """Answer-time threshold of the service level (seconds)."""
    priority: NonNegInt = 0
    """Queue priority (0 served first)."""
    customers_start: Whole = Field(default=0, ge=0, le=MAX_CUSTOMERS)
    """Customers of this tier at the start of the horizon."""


class Support(Model):
    role: str
    """Name of the support role (in `roles`) that serves tickets."""
    tiers: list[SupportTier] = Field(min_length=1)
    """Support tiers."""
    shrinkage: Share = defaults.SUPPORT_SHRINKAGE
    """Share of scheduled time not available for tickets (breaks, meetings, absence)."""
    open_hours_per_month: PosFloat = 22 * 9.0
    """Hours per month in which tickets arrive and are served (22 working days x 9 h)."""
    patience_seconds: Number | None = Field(default=None, ge=0.1, le=1e9)
    """Mean patience before a customer abandons (seconds); set it to staff by Erlang A."""
    monthly_churn: Share = 0.01
    """Share of customers lost per month."""
    arrival_pattern: list[NonNegFloat] | None = None
    """Relative ticket arrivals by hour of the week: 168 weights, Monday 00:00-01:00 first,
    0 = closed (None = tickets spread evenly over the open hours). Each week hour is then staffed
    on its own by Erlang C/A (the roster is plan/staffing_hourly.csv), and the simulation draws
    tickets by these weights and puts that roster on duty hour by hour."""
    value_per_agent_hour: NonNegFloat | None = None
    """Worth of one needed on-phone support hour to the margin objective (currency per hour);
    None = ten times the support role's cost per ticket hour, so the plan meets the service
    level whenever the budget allows."""

    @field_validator("arrival_pattern")
    @classmethod
    def _week_of_hours(cls, pattern: list[float] | None) -> list[float] | None:
        if pattern is not None and (len(pattern) != 168 or sum(pattern) <= 0):
            raise ValueError(f"expected 168 hour-of-week weights with a positive sum (got {len(pattern)})")
        return pattern
