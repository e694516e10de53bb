"""What binds in a hiring plan, and what one more unit of it is worth.

A limit binds where the plan sits on it: the monthly budget (people cost within `BUDGET_TOLERANCE`
of it, or over it), a role's hires per month (hires = cap > 0) or its maximum headcount
(headcount = cap). What one more unit is worth is measured by re-solving, not by LP duals (with
whole people the duals of a relaxation say little): the plan's case alone is solved once (the
reference), then once per binding limit with that limit loosened by one unit (the budget by
`budget_step` a month in every month, a role's hire cap by one person in the months it binds, its
headcount cap by one person), started from the reference solution, which is feasible for the
loosened model. So the value found is never negative, and the solves' bounds give the interval the
true value lies in: [max(0, loosened incumbent - reference bound), loosened bound - reference
incumbent] (margin; mirrored for cost). The point value (loosened incumbent - reference incumbent)
is >= 0 whenever HiGHS accepts the start.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from solvers.hiring_model import HiringProblem, build_model
from solvers.solve import SolveResult, solve

BUDGET_TOLERANCE = 1e-4
"""People cost within this share of the budget counts as on it."""


@dataclass(frozen=True)
class Binding:
    """One limit the plan sits on: `kind` budget | hiring_cap | headcount_cap, the role (None for
    the budget), the months it binds in, the unit it was loosened by (currency a month, people a
    month, people), and the objective gained by loosening it (currency over the horizon; None when
    a solve found no plan) with the interval its solves prove."""

    kind: str
    role: str | None
    months: tuple[str, ...]
    step: float
    gain: float | None = None
    gain_interval: tuple[float, float] | None = None
    status: str = "not_solved"

    def as_dict(self) -> dict:
        return {"kind": self.kind, "role": self.role, "months": list(self.months), "step": self.step,
                "objective_gain": None if self.gain is None else round(self.gain, 2) + 0.0,
                "objective_gain_interval": None if self.gain_interval is None
                else [round(x, 2) for x in self.gain_interval], "status": self.status}


def find_bindings(p: HiringProblem, plan: pd.DataFrame, budget_step: float) -> list[Binding]:
    """The limits the plan of one case (rows month, role, hires, headcount, cost) sits on."""
    months = list(p.months)
    out = []
    if p.budget_per_month is not None:
        cost = plan.groupby("month")["cost"].sum().reindex(months, fill_value=0.0).to_numpy(float)
        on = cost >= p.budget_per_month * (1.0 - BUDGET_TOLERANCE)
        if on.any():
            out.append(Binding("budget", None, tuple(np.array(months)[on]), float(budget_step)))
    cap = p.hire_cap
    fixed = np.zeros(len(p.roles), dtype=bool) if p.fixed_hires is None else \
        ~np.isnan(np.asarray(p.fixed_hires, float)).any(axis=1)
    for k, role in enumerate(p.roles):
        if fixed[k]:  # a fixed role's hires are given, not decided: its caps price nothing
            continue
        rows = plan[plan["role"] == role].set_index("month").reindex(months)
        hires = rows["hires"].to_numpy(float)
        on = (cap[k] > 0) & (hires >= cap[k] - 1e-6)
        if on.any():
            out.append(Binding("hiring_cap", role, tuple(np.array(months)[on]), 1.0))
        if np.isfinite(p.max_headcount[k]):
            on = rows["headcount"].to_numpy(float) >= p.max_headcount[k] - 1e-6
            if on.any():
                out.append(Binding("headcount_cap", role, tuple(np.array(months)[on]), 1.0))
    return out


def loosened(p: HiringProblem, b: Binding) -> HiringProblem:
    """The problem with limit `b` loosened by its step."""
    if b.kind == "budget":
        return replace(p, budget_per_month=p.budget_per_month + b.step)
    k = p.roles.index(b.role)
    if b.kind == "hiring_cap":
        cap = np.array(p.hire_cap, dtype=float)
        cap[k, np.isin(np.array(p.months), b.months)] += b.step
        return replace(p, max_hires_per_month=cap)
    upper = p.max_headcount.astype(float).copy()
    upper[k] += b.step
    return replace(p, max_headcount=upper)


def _solve_from(p: HiringProblem, start: dict[str, list[float | None]] | None
                ) -> tuple[SolveResult, dict[str, list[float | None]]]:
    t0 = time.perf_counter()
    model, v = build_model(p)
    if start is not None:
        for block, values in start.items():
            for var, value in zip(v[block], values, strict=True):
                if value is not None:
                    var.set_value(value, skip_validation=True)
    res = solve(model, build_s=time.perf_counter() - t0, time_limit_s=p.time_limit_s, mip_gap=p.mip_gap,
                options=p.solver_options(), warm_start=start is not None)
    return res, {b: [x.value for x in arr] for b, arr in v.items()}


def _gain(p: HiringProblem, ref: SolveResult, new: SolveResult) -> tuple[float, tuple[float, float]]:
    sign = 1.0 if p.objective == "margin" else -1.0
    ref_bound = ref.objective if ref.bound is None else ref.bound
    new_bound = new.objective if new.bound is None else new.bound
    gain = sign * (new.objective - ref.objective)
    low, high = sign * (new.objective - ref_bound), sign * (new_bound - ref.objective)
    return gain, (max(low, 0.0), max(high, 0.0))


def value_bindings(single: HiringProblem, bindings: list[Binding]) -> list[Binding]:
    """Each binding with the objective gained by loosening it (`single`: the plan's case alone)."""
    if not bindings:
        return []
    ref, start = _solve_from(single, None)
    if not ref.has_solution:
        return [replace(b, status=str(ref.status)) for b in bindings]
    out = []
    for b in bindings:
        new, _ = _solve_from(loosened(single, b), start)
        if not new.has_solution:
            out.append(replace(b, status=str(new.status)))
            continue
        gain, interval = _gain(single, ref, new)
        out.append(replace(b, gain=gain, gain_interval=interval, status=str(new.status)))
    return out
