"""Lead allocation LP: route each month's forecast leads (segment x region) to teams.

a[m,g,r,t] >= 0 leads of segment g from region r sent to team t in month m, u[m,g,r] >= 0 leads
left unworked, s[m,t,b] >= 0 hours of team t's load in utilisation band b:

    max  sum value[t,g] a  - overflow_cost * sum_{t not home of r} a  - unmet_penalty * sum u
         - sum_b delay_cost[b] * s[m,t,b]
    s.t. sum_t a[m,g,r,t] + u[m,g,r] = leads[m,g,r]                (every lead worked or unmet)
         sum_{g,r} hours[t,g] a[m,g,r,t] = sum_b s[m,t,b]          (team load, hours)
         0 <= s[m,t,b] <= (hi_b - lo_b) * capacity[m,t]            (bands end at 100 %: a hard cap)

The delay cost per hour rises from band to band (convex), so the LP fills the cheap bands first:
a piecewise-linear speed-to-lead penalty on utilisation. Leads of a region go only to its home
teams unless overflow is allowed (`overflow_cost` not None). Unmet leads are soft: the LP is
always feasible.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from solvers.rows import add_rows, csr_from_groups, var_array
from solvers.solve import SolveResult, solve


@dataclass(frozen=True)
class DelayBand:
    """Load above `from_utilisation` (share of capacity) costs `cost_per_hour` (currency/hour)."""

    from_utilisation: float
    cost_per_hour: float


@dataclass(frozen=True)
class AllocationProblem:
    """Plain-data instance. Frames:

    - `leads`: month, segment, region, leads (leads per month)
    - `capacity`: month, team, capacity_hours (hours per month)
    - `team_segment`: team, segment, hours_per_lead (hours), value_per_lead (currency): the
      segments a team serves, its work per lead and expected revenue per lead (with affinity)
    - `home`: team, region: the teams a region's leads belong to
    """

    leads: pd.DataFrame
    capacity: pd.DataFrame
    team_segment: pd.DataFrame
    home: pd.DataFrame
    overflow_cost: float | None = None
    unmet_penalty: float = 0.0
    delay_bands: tuple[DelayBand, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class AllocationResult:
    """`allocation`: month, segment, region, team, leads (plan/allocation.csv); `unmet`: month,
    segment, region, leads; `load`: month, team, capacity_hours, load_hours, utilisation."""

    allocation: pd.DataFrame
    unmet: pd.DataFrame
    load: pd.DataFrame
    solve: SolveResult
    summary: dict


def _arcs(prob: AllocationProblem) -> pd.DataFrame:
    """Every allowed (demand row, team) pair with its value, hours and overflow flag."""
    demand = prob.leads.reset_index(drop=True).assign(row=lambda f: np.arange(len(f)))
    arcs = demand.merge(prob.team_segment, on="segment")
    home = prob.home.assign(home=True)
    arcs = arcs.merge(home, on=["team", "region"], how="left")
    arcs["home"] = arcs["home"].astype("boolean").fillna(False).astype(bool)
    if prob.overflow_cost is None:
        arcs = arcs[arcs["home"]]
    cap = prob.capacity[["month", "team"]].drop_duplicates()
    arcs = arcs.merge(cap, on=["month", "team"])
    return arcs.reset_index(drop=True)


def _bands(prob: AllocationProblem) -> tuple[np.ndarray, np.ndarray]:
    """Band widths (shares of capacity, summing to 1) and costs per hour."""
    bands = sorted(prob.delay_bands, key=lambda b: b.from_utilisation)
    starts = [0.0] + [b.from_utilisation for b in bands if 0.0 < b.from_utilisation < 1.0]
    costs = [0.0] + [b.cost_per_hour for b in bands if 0.0 < b.from_utilisation < 1.0]
    if bands and bands[0].from_utilisation <= 0.0:
        costs[0] = bands[0].cost_per_hour
    widths = np.diff(np.array(starts + [1.0]))
    return widths, np.array(costs)


def allocate_leads(prob: AllocationProblem, *, time_limit_s: float | None = None) -> AllocationResult:
    """Solve the allocation LP; unmet leads absorb any shortage, so it is never infeasible."""
    t0 = time.perf_counter()
    demand = prob.leads.reset_index(drop=True)
    arcs = _arcs(prob)
    cap = prob.capacity.reset_index(drop=True).assign(slot=lambda f: np.arange(len(f)))
    arcs = arcs.merge(cap[["month", "team", "slot"]], on=["month", "team"])
    widths, costs = _bands(prob)
    nb = len(widths)
    m = pyo.ConcreteModel()
    m.a = pyo.Var(range(len(arcs)), domain=pyo.NonNegativeReals)
    m.u = pyo.Var(range(len(demand)), domain=pyo.NonNegativeReals)
    cap_h = cap["capacity_hours"].to_numpy(float)
    ub = (cap_h[:, None] * widths[None, :]).ravel()
    m.s = pyo.Var(range(len(cap) * nb), domain=pyo.NonNegativeReals, bounds=lambda _m, k: (0.0, float(ub[k])))
    a, u, s = var_array(m.a), var_array(m.u), var_array(m.s)
    # demand rows: the row's arcs, then its unmet variable
    ptr, order = csr_from_groups(arcs["row"].to_numpy(), len(demand))
    row_ptr = ptr + np.arange(len(demand) + 1)
    u_pos = row_ptr[1:] - 1
    body = np.setdiff1d(np.arange(len(order) + len(demand)), u_pos)
    vars_ = np.empty(len(order) + len(demand), dtype=object)
    vars_[body], vars_[u_pos] = a[order], u
    leads = demand["leads"].to_numpy(float)
    add_rows(m, "demand", row_ptr, vars_, np.ones(len(vars_)), leads, leads)
    # load rows: hours of the slot's arcs minus its band variables
    ptr, order = csr_from_groups(arcs["slot"].to_numpy(), len(cap))
    row_ptr = ptr + nb * np.arange(len(cap) + 1)
    band_pos = (row_ptr[1:, None] - nb + np.arange(nb)[None, :]).ravel()
    body = np.setdiff1d(np.arange(len(order) + nb * len(cap)), band_pos)
    vars_ = np.empty(len(order) + nb * len(cap), dtype=object)
    coefs = np.empty(len(vars_))
    vars_[body], coefs[body] = a[order], arcs["hours_per_lead"].to_numpy(float)[order]
    vars_[band_pos], coefs[band_pos] = s, -1.0
    add_rows(m, "team_load", row_ptr, vars_, coefs, 0.0, 0.0)
    gain = arcs["value_per_lead"].to_numpy(float) - np.where(arcs["home"], 0.0, prob.overflow_cost or 0.0)
    band_cost = np.tile(costs, len(cap))
    m.obj = pyo.Objective(expr=pyo.quicksum(g * v for g, v in zip(gain, a, strict=True))
                          - prob.unmet_penalty * pyo.quicksum(u)
                          - pyo.quicksum(c * v for c, v in zip(band_cost, s, strict=True) if c),
                          sense=pyo.maximize)
    res = solve(m, build_s=time.perf_counter() - t0, time_limit_s=time_limit_s)
    return _result(prob, demand, arcs, cap, a, u, res)


def _value(vars_: np.ndarray) -> np.ndarray:
    return np.array([v.value or 0.0 for v in vars_], dtype=float)


def _result(prob: AllocationProblem, demand: pd.DataFrame, arcs: pd.DataFrame, cap: pd.DataFrame,
            a: np.ndarray, u: np.ndarray, res: SolveResult) -> AllocationResult:
    keys = ["month", "segment", "region"]
    if not res.has_solution:
        empty = pd.DataFrame(columns=[*keys, "team", "leads"])
        return AllocationResult(empty, demand[[*keys, "leads"]], pd.DataFrame(), res, res.as_dict())
    flows = arcs.assign(leads=_value(a))
    allocation = flows.loc[flows["leads"] > 1e-9, [*keys, "team", "leads"]].reset_index(drop=True)
    unmet = demand[keys].assign(leads=_value(u))
    hours = (flows["leads"] * flows["hours_per_lead"]).groupby([flows["month"], flows["team"]]).sum()
    load = cap[["month", "team", "capacity_hours"]].merge(
        hours.rename("load_hours").reset_index(), on=["month", "team"], how="left").fillna({"load_hours": 0.0})
    load["utilisation"] = load["load_hours"] / load["capacity_hours"].where(load["capacity_hours"] > 0)
    overflow = float(flows.loc[~flows["home"], "leads"].sum())
    summary = {**res.as_dict(),
               "leads": float(demand["leads"].sum()),
               "allocated_leads": float(allocation["leads"].sum()),
               "unmet_leads": float(unmet["leads"].sum()),
               "overflow_leads": overflow,
               "expected_revenue": float((flows["leads"] * flows["value_per_lead"]).sum()),
               "max_utilisation": float(load["utilisation"].max()) if load["utilisation"].notna().any() else None}
    return AllocationResult(allocation, unmet[unmet["leads"] > 1e-9].reset_index(drop=True), load, res, summary)
