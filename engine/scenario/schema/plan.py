"""The `plan:` section: what the supply MILPs optimise and the limits they respect."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.scenario.schema.base import (
    Model,
    Money,
    Month,
    NonNegInt,
    People,
    PosFloat,
    PosInt,
    Share,
)


class FixedHire(Model):
    month: Month
    """Start month of the hires (`YYYY-MM`)."""
    role: str
    """A `roles` name."""
    hires: People
    """People who start in that month."""


class Ratio(Model):
    """At most `max_per` people of the `over` roles per person of role `role` (e.g. 8 reps per manager)."""

    role: str
    """The role that must keep pace (e.g. Manager)."""
    over: list[str] = Field(min_length=1)
    """Roles it is a ratio over (e.g. [AE, SDR])."""
    max_per: PosFloat
    """Maximum people of `over` per person of `role`."""


class CaseWeights(Model):
    low: Share = 0.25
    base: Share = 0.5
    high: Share = 0.25


class Plan(Model):
    objective: Literal["margin", "cost"] = "margin"
    """`margin`: maximise contribution margin; `cost`: minimise cost with full coverage."""
    budget_per_month: Money | None = None
    """Upper bound on total people cost per month (currency per month; None = no budget)."""
    fixed_hires: list[FixedHire] | None = None
    """A hand-made hiring plan (None = optimise every role). It fixes the hires of the roles it
    names, in every month (a named role's months not listed hire nobody); `other_roles` says what
    happens to the rest. `plan/hires.yaml` of a run holds a plan in exactly this form (freeze it by
    copying it here). The plan is checked before any solve: start months inside the horizon and at
    least `hiring_lead_time_months` after its start, at most `max_hires_per_month` (0 in a hiring
    freeze), headcount within `min_headcount`/`max_headcount`, base pay of the fixed roles within
    `budget_per_month`."""
    other_roles: Literal["optimise", "no_hires"] = "optimise"
    """Roles `fixed_hires` does not name: `optimise` plans their hires as the optimiser would
    (backfill included); `no_hires` hires none of them (the table is the whole plan)."""
    ratios: list[Ratio] = Field(default_factory=list)
    """Span-of-control and mix ratios to respect."""
    cases: list[Literal["low", "base", "high"]] = Field(default_factory=lambda: ["base"], min_length=1)
    """Demand cases planned against; more than one makes a two-stage stochastic plan."""
    case_weights: CaseWeights = CaseWeights()
    """Probability weights of the demand cases (expected objective)."""
    risk: Literal["expected", "worst"] = "expected"
    """Expected value over cases, or the worst case."""
    shared_months: NonNegInt = 3
    """Hires decided in the first K months are the same in every case (here-and-now decisions)."""
    time_limit_s: PosFloat = 60.0
    """Solver time limit (seconds)."""
    mip_gap: Share = 0.001
    """Relative MIP gap at which the solver may stop."""
    max_nodes: PosInt | None = None
    """Branch-and-bound node limit per solve (None = none). A node limit stops at the same point on
    any machine, so a plan cut short by it is reproducible; a time limit is not."""
    value_of_stochastic_solution: bool = True
    """With several cases, also plan on the base case alone and re-solve with its first-stage hires
    fixed, to report the value of the stochastic solution (two extra solves, each up to
    `time_limit_s`)."""
    what_binds: bool = True
    """Value each limit the plan sits on (the budget, a role's hires per month, its maximum
    headcount) by re-solving the simulated case with that limit loosened by one unit: one extra
    solve, plus one per binding limit, each up to `time_limit_s` / `max_nodes`."""
    budget_step: PosFloat = 10_000.0
    """Currency per month by which the budget is loosened to value it (`what_binds`)."""
    backfill: Literal["optimise", "replace"] = "optimise"
    """`optimise`: hire only when demand needs it; `replace`: every expected leaver is replaced
    (to within one person), starting `hiring_lead_time_months` after the month they leave."""
    arr_ops_rule: bool = True
    """Keep the ops roles ARR calls for along the company's ARR path (engine/defaults.ARR_OPS_ROLES):
    the `ops` roles together hold at least one person below 10M ARR a year and two from 10M
    (a shortfall is allowed at three times the role's monthly cost and reported)."""
