"""People cost of a hiring plan restated by the one money model (engine/reconcile/money.py).

The hiring MILP prices variable pay on its own view of bookings (full-coverage bookings less the
revenue of the hours it declares uncovered). The plan files must carry the P&L cost every report
shows, so plan/hiring.csv's `variable_pay` and `cost` are recomputed from the fluid plan's revenue
(engine.reconcile.fluid, the revenue reconciliation and the headline show) and the plan's people.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.reconcile import fluid
from engine.reconcile.money import money_model, people_cost_by_role, revenue_grid, role_grid
from engine.scenario.model import Scenario


def _case_cost(s: Scenario, forecast: pd.DataFrame, rows: pd.DataFrame, months: list[str]) -> np.ndarray:
    """R x T people cost of one case's plan rows (month, role, headcount, effective_capacity,
    capacity_hours, required_hours)."""
    model, rates = money_model(s), fluid.funnel_rates(s)
    plan = rows.assign(month=rows["month"].astype(str), role=rows["role"].astype(str))
    revenue = np.zeros((len(months), len(model.segments)))
    if rates is not None and not forecast.empty:
        need = plan.groupby("role")["required_hours"].transform("sum")
        req = plan.loc[need > 0, ["month", "role", "required_hours"]].rename(columns={"required_hours": "hours"})
        outcome = fluid.outcomes_with_capacity(forecast, rates, req.astype({"hours": float}),
                                               plan[["month", "role", "capacity_hours"]])
        revenue = revenue_grid(outcome, months, model.segments)
    return people_cost_by_role(model, revenue, role_grid(plan, months, model.roles, "headcount"),
                               role_grid(plan, months, model.roles, "effective_capacity"))


def restate_costs(s: Scenario, forecast: pd.DataFrame, plan: pd.DataFrame, months: list[str]) -> pd.DataFrame:
    """The MILP's plan frame (one row per case, role, month) with `variable_pay` and `cost` by the
    money model: cost = base_cost + commission on the fluid plan's bookings (+ accelerator)."""
    if plan.empty:
        return plan
    out = plan.copy()
    roles = [r.name for r in s.roles]
    for case, rows in plan.groupby("case", sort=False):
        f = forecast[forecast["case"].astype(str) == str(case)] if "case" in forecast.columns else forecast
        f = f.assign(month=f["month"].astype(str), segment=f["segment"].astype(str),
                     region=f["region"].astype(str))
        cost = _case_cost(s, f, rows, months)
        r = pd.Index(roles).get_indexer(rows["role"].astype(str))
        t = pd.Index(months).get_indexer(rows["month"].astype(str))
        out.loc[rows.index, "cost"] = cost[r, t]
        out.loc[rows.index, "variable_pay"] = cost[r, t] - rows["base_cost"].to_numpy(float)
    return out
