"""What binds in a hiring plan, and what one more unit of it is worth.

A limit binds where the plan sits on it: the monthly budget (people cost within `BUDGET_TOLERANCE`
of it, or over it), a role's hires per month (hires = cap > 0) or its maximum headcount
(headcount = cap). What one more unit is worth is measured by re-solving, not by LP duals (with
whole people the duals of a relaxation say little). The plan's case alone is solved once (the
reference). The budget, loosened by `budget_step` a month in every month, is re-solved over all
hires, started from the reference solution (feasible for the loosened model, so the value is never
negative); its interval [max(0, loosened incumbent - reference bound), loosened bound - reference
incumbent] (margin; mirrored for cost) is as wide as the solves' gaps. A role's cap (starts in the
months it binds, or its headcount, loosened by one person) is valued holding the other roles'
hires as the reference plans them: that role's hires are re-solved with the cap as is and loosened,
each a small model solved to LOCAL_GAP, so its value is the role's own, not the search's noise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from solvers.hiring_model import HiringProblem, build_model, hire_ids
from solvers.solve import SolveResult, solve

BUDGET_TOLERANCE = 1e-4
"""People cost within this share of the budget counts as on it."""
LOCAL_GAP = 1e-4
"""Relative gap of the one-role re-solves that value a role's cap (small models, proven fast)."""


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


def _reference_hires(p: HiringProblem, values: dict[str, list[float | None]]) -> np.ndarray:
    """R x T hires of a single-case solve's variable values."""
    ids, _ = hire_ids(p)
    h = np.array([np.nan if x is None else x for x in values["h"]], dtype=float)
    return np.rint(h[ids[0]])


def one_role_free(p: HiringProblem, hires: np.ndarray, role: str) -> HiringProblem:
    """`p` with every role's hires fixed at `hires` (R x T) except `role`'s (a plan's own fixed
    hires stay), solved to LOCAL_GAP: a small model whose optimum the solver proves."""
    fixed = hires.astype(float).copy() if p.fixed_hires is None else \
        np.where(np.isnan(p.fixed_hires), hires, p.fixed_hires)
    fixed[p.roles.index(role)] = np.nan
    return replace(p, fixed_hires=fixed, mip_gap=min(p.mip_gap, LOCAL_GAP))


def _value(single: HiringProblem, ref: SolveResult, start: dict[str, list[float | None]],
           b: Binding) -> Binding:
    """The budget: all hires re-solved against the reference solve. A role's cap: that role's hires
    re-solved with the others as planned, against the same restricted model with the cap as is."""
    base_problem, base, base_start = single, ref, start
    if b.kind != "budget":
        base_problem = one_role_free(single, _reference_hires(single, start), b.role)
        base, base_start = _solve_from(base_problem, start)
        if not base.has_solution:
            return replace(b, status=str(base.status))
    new, _ = _solve_from(loosened(base_problem, b), base_start)
    if not new.has_solution:
        return replace(b, status=str(new.status))
    gain, interval = _gain(single, base, new)
    return replace(b, gain=gain, gain_interval=interval, status=str(new.status))


def value_bindings(single: HiringProblem, bindings: list[Binding]) -> list[Binding]:
    """Each binding with the objective gained by loosening it (`single`: the plan's case alone)."""
    if not bindings:
        return []
    ref, start = _solve_from(single, None)
    if not ref.has_solution:
        return [replace(b, status=str(ref.status)) for b in bindings]
    return [_value(single, ref, start, b) for b in bindings]
