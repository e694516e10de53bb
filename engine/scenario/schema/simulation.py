"""The `simulation:` section: Monte Carlo settings, the working calendar and the lead-flow rules."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from engine.scenario.schema.base import Model, NonNegFloat, Number, PosFloat, Whole

OpenShare = Annotated[float, Field(gt=0.0, lt=1.0)]
"""A fraction strictly between 0 and 1."""


class Calendar(Model):
    """When reps work and leads arrive."""

    kind: Literal["business", "24/7"] = "business"
    """`business`: weekdays within `day_start_hour`-`day_end_hour`; `24/7`: always open."""
    day_start_hour: Whole = Field(default=9, ge=0, le=23)
    """First working hour of a weekday (local time, 0-23)."""
    day_end_hour: Whole = Field(default=18, ge=1, le=24)
    """End of the working day (local time, 1-24)."""
    weekdays: list[Whole] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    """Working weekdays, 0 = Monday."""


class Scoring(Model):
    """Lead score in [0, 1]: a Beta draw per lead; it shifts conversion odds and routing priority.

    A fitted model from calibration replaces the draw through the simulation's `score_fn` hook.
    """

    mean: dict[str, OpenShare] | OpenShare = 0.5
    """Mean score (0-1, exclusive); one value, or one per segment."""
    concentration: PosFloat = 4.0
    """Beta concentration a + b (larger = scores closer to the mean)."""
    logit_per_score: Number = Field(default=2.0, ge=-20.0, le=20.0)
    """Shift of every stage's conversion log-odds per unit of (score - segment mean score);
    0 switches the score's effect on conversion off."""
    priority: bool = True
    """Serve queued items of higher score first (else first come, first served)."""


class LeadSource(Model):
    """Where leads come from (inbound, outbound, referral, event, ...), drawn at arrival."""

    name: str = Field(min_length=1)
    """Source name, reported in sim/monthly.csv as `leads:source:<name>` and `won:source:<name>`."""
    share: PosFloat
    """Relative weight of the source among new leads (the weights need not sum to 1)."""
    score_shift: Number = Field(default=0.0, ge=-1.0, le=1.0)
    """Added to a lead's score (kept inside 0-1): a referral scoring higher converts better. The
    funnel's configured conversions still hold on average over all sources."""


class WorkTime(Model):
    """Shape of a rep's working time per item around the stage's `work_hours` mean."""

    kind: Literal["exponential", "lognormal", "gamma", "fixed"] = "exponential"
    """Family of the working time per item (the mean is the stage's `work_hours`)."""
    cv: NonNegFloat = 1.0
    """Coefficient of variation (ignored for exponential, cv 1, and fixed, cv 0)."""


class Simulation(Model):
    replications: Whole = Field(default=5, gt=0, le=10_000)
    """Monte Carlo replications (independent seeded runs)."""
    seed: Whole = Field(default=12345, ge=0, le=2**63 - 1)
    """Root seed; replication i uses the i-th child of numpy SeedSequence(seed)."""
    case: Literal["low", "base", "high"] = "base"
    """Demand case whose forecast drives arrivals."""
    calendar: Calendar = Calendar()
    """Working calendar."""
    routing: Literal["round_robin", "least_loaded"] = "least_loaded"
    """How a team picks the rep for a new item among its free reps: `round_robin` gives it to the
    rep that has been free longest; `least_loaded` to the rep holding the fewest open items."""
    scoring: Scoring = Scoring()
    """How leads are scored."""
    sources: list[LeadSource] = Field(default_factory=list)
    """Lead sources drawn at arrival with their weights (empty = one source)."""
    work_time: WorkTime = WorkTime()
    """Distribution of a rep's working time per item (hours)."""
    attrition: bool = True
    """Reps leave at their role's `attrition_per_year` (exponential time to leave, seeded)."""
    backfill: Literal["plan", "leavers"] = "plan"
    """`plan`: people start exactly as the hiring plan says (its hires already budget for attrition;
    without a plan nobody is hired); `leavers`: in addition, every leaver is replaced by a hire who
    starts at the first month start `hiring_lead_time_months` after the leave."""
