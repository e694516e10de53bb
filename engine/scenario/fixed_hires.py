"""Checks of a hand-made hiring plan (`plan.fixed_hires`) before any solve: can it be carried out?

A fixed role's hires are given, so its headcount is too: the hiring model's cohort balance
hc[t] = (1 - m[t]) hc[t-1] + h[t], hc[-1] = headcount_start, with the monthly leaving share m of
`roles.attrition_per_year` (and any attrition spike). The plan cannot be carried out when a hire
starts before the role's hiring lead time has passed since the horizon start, above the role's
hires per month (0 in a hiring freeze), when the headcount leaves [min_headcount, max_headcount]
(the model's bounds, from the lead time on) or when the fixed roles' base pay alone is above
`plan.budget_per_month`. Each problem names the `plan.fixed_hires` row that breaks the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from engine.calendar import month_range
from engine.errors import Problem
from engine.scenario.model import Scenario
from engine.scenario.origins import PathKey
from engine.scenario.schema.core import Role
from engine.scenario.shocks import attrition_factor, hiring_cap_factor

if TYPE_CHECKING:
    from engine.scenario.origins import At
TOLERANCE = 1e-6
"""People or currency within which a fixed plan still meets a bound (the model's own tolerance)."""


@dataclass(frozen=True)
class FixedRole:
    """One role's fixed hires by start month (people) and the rows of `plan.fixed_hires` they came from."""

    role: Role
    index: int
    hires: np.ndarray
    rows: list[tuple[int, int]]
    """(row in plan.fixed_hires, month index) of every row naming this role, in file order."""

    def row_at_or_before(self, month: int) -> int | None:
        """The last row (in month order) whose hires start at or before `month`."""
        before = [(t, i) for i, t in self.rows if t <= month]
        return max(before)[1] if before else None


def fixed_roles(s: Scenario) -> list[FixedRole]:
    """The roles the plan fixes: those `fixed_hires` names, or every role with `other_roles: no_hires`."""
    if s.plan is None or s.plan.fixed_hires is None or s.horizon is None:
        return []
    months = month_range(s.horizon.start, s.horizon.months)
    where = {m: t for t, m in enumerate(months)}
    names = [r.name for r in s.roles]
    hires = np.zeros((len(names), len(months)))
    rows: dict[int, list[tuple[int, int]]] = {}
    for i, hire in enumerate(s.plan.fixed_hires):
        if hire.role in names and hire.month in where:
            k = names.index(hire.role)
            hires[k, where[hire.month]] += hire.hires
            rows.setdefault(k, []).append((i, where[hire.month]))
    keep = range(len(names)) if s.plan.other_roles == "no_hires" else sorted(rows)
    return [FixedRole(s.roles[k], k, hires[k], rows.get(k, [])) for k in keep]


def monthly_leaving(s: Scenario, role: Role, months: list[str]) -> np.ndarray:
    """Share of the role's people who leave in each month (attrition spikes included)."""
    base = 1.0 - (1.0 - role.attrition_per_year) ** (1.0 / 12.0)
    return np.minimum(base * attrition_factor(s, role.name, months), 1.0)


def fixed_headcount(s: Scenario, fixed: FixedRole, months: list[str]) -> np.ndarray:
    """Expected headcount per month of a fixed role (the hiring model's cohort balance)."""
    leave = monthly_leaving(s, fixed.role, months)
    out = np.zeros(len(months))
    people = float(fixed.role.headcount_start)
    for t in range(len(months)):  # a stock recursion over months
        people = (people if t == 0 else (1.0 - leave[t]) * people) + fixed.hires[t]
        out[t] = people
    return out


def _path(fixed: FixedRole, row: int | None, field: str) -> PathKey:
    return ("plan", "fixed_hires") if row is None else ("plan", "fixed_hires", row, field)


def _lead_time(s: Scenario, fixed: FixedRole, months: list[str], at: At) -> list[Problem]:
    lead = fixed.role.hiring_lead_time_months
    out = []
    for row, t in fixed.rows:
        if t < lead and s.plan.fixed_hires[row].hires > 0:
            out.append(at(("plan", "fixed_hires", row, "month"),
                          f"{fixed.role.name} hires starting {months[t]} must be decided {lead} months "
                          f"earlier, before the horizon starts ({months[0]}): the hiring lead time is broken",
                          f"a start month from {months[min(lead, len(months) - 1)]} "
                          f"(roles.{fixed.role.name}.hiring_lead_time_months = {lead})"))
    return out


def _hiring_cap(s: Scenario, fixed: FixedRole, months: list[str], at: At) -> list[Problem]:
    cap = np.floor(fixed.role.max_hires_per_month * hiring_cap_factor(s, fixed.role.name, months) + 1e-9)
    out = []
    for t in np.flatnonzero(fixed.hires > cap + TOLERANCE).tolist():
        row = max(i for i, m in fixed.rows if m == t)
        freeze = " (a hiring freeze)" if cap[t] == 0 and fixed.role.max_hires_per_month > 0 else ""
        out.append(at(("plan", "fixed_hires", row, "hires"),
                      f"{fixed.hires[t]:g} {fixed.role.name} hires start in {months[t]}, above the "
                      f"cap of {cap[t]:g} a month{freeze}",
                      f"at most {cap[t]:g} (roles.{fixed.role.name}.max_hires_per_month)"))
    return out


def _headcount(s: Scenario, fixed: FixedRole, months: list[str], at: At) -> list[Problem]:
    role = fixed.role
    people = fixed_headcount(s, fixed, months)
    checks = []
    if role.max_headcount is not None:
        start = role.headcount_start * np.cumprod(np.r_[1.0, 1.0 - monthly_leaving(s, role, months)[1:]])
        checks.append((people > np.maximum(role.max_headcount, start) + TOLERANCE, "reaches",
                       f"above its cap of {role.max_headcount:g}",
                       f"at most {role.max_headcount:g} people (roles.{role.name}.max_headcount)"))
    months_on = np.arange(len(months)) >= role.hiring_lead_time_months
    checks.append((months_on & (people < role.min_headcount - TOLERANCE), "falls to",
                   f"below its minimum of {role.min_headcount:g}",
                   f"at least {role.min_headcount:g} people (roles.{role.name}.min_headcount)"))
    out = []
    for breach, verb, bound, expected in checks:
        if breach.any():
            t = int(np.argmax(breach))
            out.append(at(_path(fixed, fixed.row_at_or_before(t), "hires"),
                          f"{role.name} headcount {verb} {people[t]:.1f} in {months[t]}, {bound}", expected))
    return out


def _budget(s: Scenario, roles: list[FixedRole], months: list[str], at: At) -> list[Problem]:
    budget = s.plan.budget_per_month
    if budget is None or not roles:
        return []
    pay = np.array([r.role.cost_per_month * fixed_headcount(s, r, months) for r in roles])
    over = pay.sum(axis=0) > budget + TOLERANCE
    if not over.any():
        return []
    t = int(np.argmax(over))
    rows = [(m, i) for r in roles for i, m in r.rows if m <= t]
    row = max(rows)[1] if rows else None
    path = ("plan", "fixed_hires") if row is None else ("plan", "fixed_hires", row, "hires")
    names = ", ".join(r.role.name for r in roles)
    return [at(path, f"base pay of the fixed roles ({names}) is {pay[:, t].sum():,.0f} in {months[t]}, "
                     f"above the budget of {budget:,.0f} a month before any other role is paid",
               f"base pay within plan.budget_per_month = {budget:,.0f}")]


def check_fixed_hires(s: Scenario, at: At) -> list[Problem]:
    """Every reason the fixed hiring plan cannot be carried out (see the module docstring)."""
    roles = fixed_roles(s)
    if not roles:
        return []
    months = month_range(s.horizon.start, s.horizon.months)
    out: list[Problem] = []
    for fixed in roles:
        out += _lead_time(s, fixed, months, at)
        out += _hiring_cap(s, fixed, months, at)
        out += _headcount(s, fixed, months, at)
    return out + _budget(s, roles, months, at)
