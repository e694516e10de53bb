"""Core scenario sections: company, horizon, segments, regions, demand, funnel, roles.

Units are in the field names or docstrings: money in the scenario currency, time in months unless
a name says hours, days or seconds, rates per month unless a name says `per_year`.
Typical values cite ../shared/REFERENCES.md; `engine/defaults.py` holds the defaults in one place.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from engine.scenario import defaults
from engine.scenario.schema.base import (
    MAX_LEADS_PER_MONTH,
    Model,
    Money,
    Month,
    NonNegFloat,
    NonNegInt,
    Number,
    People,
    PosFloat,
    PosInt,
    Share,
    Whole,
)


class Company(Model):
    name: str = "Example Co"
    """Company name, shown in reports."""
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    """ISO 4217 code of every money figure in the scenario."""
    arr_today: Money = 0.0
    """Annual recurring revenue at the start of the horizon (currency per year)."""
    arr_growth_per_year: Number = Field(default=0.0, ge=-1.0, le=10.0)
    """Expected ARR growth per year as a share (0.4 = +40 % a year); drives the ops roles ARR calls for."""


class Horizon(Model):
    start: Month
    """First planning month, `YYYY-MM`."""
    months: Whole = Field(default=24, ge=1, le=120)
    """Number of planning months (1 to 120)."""


class Distribution(Model):
    """A positive random quantity given by its mean and coefficient of variation."""

    kind: Literal["exponential", "lognormal", "gamma", "fixed"] = "lognormal"
    """Family: exponential (cv is 1), lognormal, gamma, or fixed (cv is 0)."""
    mean: PosFloat
    """Mean, in the unit the enclosing field names."""
    cv: NonNegFloat = 1.0
    """Coefficient of variation (standard deviation / mean); ignored for exponential and fixed."""


class Segment(Model):
    name: str = Field(min_length=1)
    """Segment name (e.g. SMB, Mid-Market, Enterprise), referenced by demand rows and roles."""
    deal_size: Distribution
    """First-year contract value of a won deal (currency)."""
    support_tier: str = "standard"
    """Support tier of customers won in this segment (a `support.tiers` name)."""
    gross_margin: Share = 0.8
    """Gross margin on this segment's revenue (share), used to price uncovered demand."""


class Region(Model):
    name: str = Field(min_length=1)
    """Region name (e.g. EMEA, NA), referenced by demand rows, roles and territories."""


class DemandRow(Model):
    segment: str
    """A `segments` name."""
    region: str
    """A `regions` name."""
    leads_per_month: Number = Field(ge=0.0, le=MAX_LEADS_PER_MONTH)
    """New leads per month in the first horizon month, before seasonality (leads/month)."""


class Demand(Model):
    baseline: list[DemandRow] = Field(min_length=1)
    """Lead volume by segment x region at the start of the horizon."""
    annual_growth: Number = Field(default=0.0, ge=-0.9, le=10.0)
    """Trend of lead volume as a share per year (0.3 = +30 % a year), compounded monthly."""
    seasonality: list[PosFloat] = Field(default_factory=lambda: [1.0] * 12, min_length=12, max_length=12)
    """Twelve monthly factors, January to December (1.0 = an average month)."""
    uncertainty_cv: NonNegFloat = defaults.DEMAND_UNCERTAINTY_CV
    """Coefficient of variation of a month's lead volume one month ahead; grows with the square
    root of months ahead. Sets the low / high cases (10th / 90th percentile)."""
    scale: NonNegFloat = 1.0
    """Multiplier of every lead volume (every month, segment, region and case, after shocks and
    after a forecast from CRM history): the one knob for "what if lead volume were 1.5x"."""


class SpeedToLead(Model):
    """How the first stage's conversion falls with first-response delay (REFERENCES.md: HBR 2011)."""

    kind: Literal["exponential", "flat"] = "exponential"
    """`exponential`: multiplier floor + (1 - floor) * 0.5 ** (delay / half_life); `flat`: no effect."""
    half_life_hours: PosFloat = defaults.SPEED_TO_LEAD_HALF_LIFE_HOURS
    """Delay (hours) after which the above-floor part of the conversion has halved."""
    floor: Share = defaults.SPEED_TO_LEAD_FLOOR
    """Multiplier that remains however late the first response is."""


class Stage(Model):
    """One funnel stage: a role works each item for `work_hours`, then it converts or drops out."""

    name: str = Field(min_length=1)
    """Stage name: e.g. contact, qualify, discovery, close."""
    role: str
    """Name of the role (in `roles`) that works this stage."""
    conversion: dict[str, Share] | Share
    """Probability an item leaves this stage for the next (share); one value, or one per segment."""
    work_hours: dict[str, PosFloat] | PosFloat
    """Role working time per item at this stage (hours); one value, or one per segment."""
    duration_days: Distribution
    """Calendar days from the end of the work to the stage outcome (waiting for the buyer)."""

    def conversion_for(self, segment: str) -> float:
        """Conversion share of this stage for `segment`."""
        return self.conversion[segment] if isinstance(self.conversion, dict) else self.conversion

    def work_hours_for(self, segment: str) -> float:
        """Working time (hours) per item of `segment` at this stage."""
        return self.work_hours[segment] if isinstance(self.work_hours, dict) else self.work_hours


class Funnel(Model):
    stages: list[Stage] = Field(min_length=1)
    """Stages in order; a lead that converts out of the last stage is won."""
    speed_to_lead: SpeedToLead = SpeedToLead()
    """Effect of first-response delay on the first stage's conversion."""
    max_open_opportunities_per_rep: PosInt | None = None
    """Cap on items a rep holds at once after the first stage (None = no cap)."""
    lead_wait_limit_hours: PosFloat | None = None
    """A lead not picked up within this many hours is dropped and counted (None = never dropped)."""


class Role(Model):
    """A job family. Capacity (hours per month) = headcount x ramp x hours_per_month x selling_share."""

    name: str = Field(min_length=1)
    """Role name, referenced by stages, support and plans (e.g. SDR, AE, Support)."""
    kind: Literal["sdr", "ae", "support", "manager", "ops"]
    """Job family: sdr / ae work funnel stages, support serves tickets, manager and ops are overhead."""
    hours_per_month: Number = Field(default=defaults.HOURS_PER_MONTH, gt=0.0, le=744.0)
    """Contracted working hours per person per month (hours)."""
    selling_share: Share = defaults.SELLING_SHARE
    """Share of working hours spent on the role's unit of work (REFERENCES.md: 70-85 %)."""
    ramp: list[Share] = Field(default_factory=lambda: list(defaults.AE_RAMP))
    """Productive share by month of tenure (month 1 first); 1.0 after the list. Must not decrease."""
    attrition_per_year: Share = defaults.ATTRITION_PER_YEAR
    """Share of the role's people who leave in a year (REFERENCES.md: about 1 in 3)."""
    cost_per_month: Money
    """Fully loaded base pay per person (currency per month)."""
    commission_rate: Share = 0.0
    """Variable pay as a share of the bookings the role closes (AE) or sources (SDR)."""
    quota_per_month: Money = 0.0
    """Bookings per person per month above which the accelerator applies (currency per month)."""
    accelerator: Number = Field(default=1.0, ge=1.0, le=5.0)
    """Commission multiplier on bookings above quota."""
    hiring_lead_time_months: NonNegInt = defaults.HIRING_LEAD_TIME_MONTHS
    """Months from the decision to hire to the start date (REFERENCES.md: 41-58 days to fill)."""
    max_hires_per_month: People = 3
    """Recruiting capacity: people who can start in one month."""
    headcount_start: People = 0
    """People in the role at the start of the horizon, fully ramped."""
    min_headcount: People = 0
    """Lower bound on headcount in every month."""
    max_headcount: People | None = None
    """Upper bound on headcount in every month (None = unbounded)."""
    segments: list[str] | None = None
    """Segments this role works (None = all)."""
    regions: list[str] | None = None
    """Regions this role works (None = all)."""

    @field_validator("ramp")
    @classmethod
    def _ramp_non_decreasing(cls, ramp: list[float]) -> list[float]:
        for i in range(1, len(ramp)):
            if ramp[i] < ramp[i - 1]:
                raise ValueError(
                    f"ramp decreases at month {i + 1} ({ramp[i - 1]} -> {ramp[i]}); "
                    "expected a non-decreasing list of shares"
                )
        return ramp

    @model_validator(mode="after")
    def _headcount_bounds(self) -> Role:
        if self.max_headcount is not None and self.max_headcount < self.min_headcount:
            raise ValueError("max_headcount is below min_headcount")
        return self

    def capacity_hours_per_person(self) -> float:
        """Hours per fully ramped person per month available for the role's work."""
        return self.hours_per_month * self.selling_share
