"""Headline figures per demand case, and flags where the plan and the simulation disagree.

A flag is a dict: kind, scope, metric, months (the `YYYY-MM` months concerned), planned,
simulated, gap, share (gap relative to the planned value), severity (`high` above 20 % or in more
than half the months, else `medium`) and message (one sentence with the figures).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from engine import numbers as tables
from engine.reconcile.context import Context
from engine.reconcile.money import FIGURES, money_model, plan_pnl
from engine.reconcile.quantiles import ALL

REL_TOLERANCE = 0.05
"""Plan and simulation disagree when they differ by more than 5 % of the plan..."""
UTILISATION_TOLERANCE = 0.10
"""...or, for utilisation and SLA, by more than 10 percentage points."""


def _row(table: pd.DataFrame, scope: str, metric: str, month: str = ALL) -> pd.Series | None:
    hit = table[(table["scope"] == scope) & (table["metric"] == metric) & (table["month"] == month)]
    return None if hit.empty else hit.iloc[0]


def _monthly(table: pd.DataFrame, scope: str, metric: str) -> pd.DataFrame:
    return table[(table["scope"] == scope) & (table["metric"] == metric) & (table["month"] != ALL)]


def _num(value: object) -> float | None:
    if value is None:
        return None
    v = float(value)
    return None if math.isnan(v) else v


def speed_to_lead_multiplier(ctx: Context, delay_h: float) -> float:
    """First-stage conversion multiplier at a first-response delay (hours), from the scenario curve."""
    funnel = ctx.scenario.funnel
    if funnel is None or funnel.speed_to_lead.kind == "flat":
        return 1.0
    stl = funnel.speed_to_lead
    return stl.floor + (1 - stl.floor) * 0.5 ** (max(delay_h, 0.0) / stl.half_life_hours)


SIM_FIGURES = (*FIGURES, "sla")
"""Headline figures the simulated case also carries as sim_<figure>_p10 / p50 / p90."""


def shortfall_hours(ctx: Context, case: str) -> float | None:
    """Hours needed beyond capacity, summed over months and roles: sum max(need - capacity, 0)
    (the capacity rows of reconciliation.csv, and shortfall_hours of plan/hiring_cases.csv)."""
    req, cap = ctx.required(case), ctx.capacity(case)
    if req is None or cap is None:
        return None
    both = req.merge(cap.groupby(["month", "role"], as_index=False)["capacity_hours"].sum(),
                     on=["month", "role"], how="left").fillna({"capacity_hours": 0.0})
    return float(np.maximum(both["hours"] - both["capacity_hours"], 0).sum())


def _sim_figures(ctx: Context) -> dict[str, float | None]:
    """sim_<figure>_p10|p50|p90 from the simulation's own totals (summary.json simulation.totals)."""
    totals = ctx.stage_summaries.get("simulation", {}).get("totals", {})
    out: dict[str, float | None] = {}
    for figure in SIM_FIGURES:
        q = totals.get("sla_attainment" if figure == "sla" else figure)
        if q and q.get("p50") is not None:
            out.update({f"sim_{figure}_{p}": q.get(p) for p in ("p10", "p50", "p90")})
    return out


def headline(ctx: Context, table: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """Per demand case the P&L and service figures of the plan (docs/money.md), and for the
    simulated case the same figures simulated (p10 / p50 / p90 over replications).

    revenue, gross_margin, people_cost, operating_margin (currency) come from the one money model
    (engine.reconcile.money) fed with the fluid plan's revenue and the hiring plan's people;
    people_cost and operating_margin are None without a hiring plan. sla: the plan's mean monthly
    Erlang C service level (share; all tickets pooled, the binding tier's threshold); hires (people); shortfall_hours (see
    `shortfall_hours`); uncovered_leads: forecast leads the plan does not work. No penalty price
    of the hiring MILP is part of any of them. Only the cases the plan covers are listed when there
    is a plan. Every figure of a stage that did not run is None.
    """
    out: dict[str, dict[str, float | None]] = {}
    model = money_model(ctx.scenario)
    for case in ctx.cases:
        outcome = ctx.outcomes(case)
        plan = ctx.hiring(case)
        staffing = ctx.staffing(case)
        if outcome is None or (ctx.hiring_all is not None and plan is None):
            continue  # a case the plan did not cover has no plan figures to show
        money = {k: float(v.sum()) for k, v in plan_pnl(model, outcome, plan, ctx.months).items()}
        if plan is None:
            money["people_cost"] = money["operating_margin"] = None
        out[case] = {
            **money,
            "sla": float(staffing["service_level"].mean()) if staffing is not None
            and "service_level" in staffing else None,
            "hires": float(plan["hires"].sum()) if plan is not None and "hires" in plan else None,
            "shortfall_hours": shortfall_hours(ctx, case),
            "uncovered_leads": float((outcome["leads"] - outcome["worked"]).sum()),
        }
        if case == ctx.case:
            out[case].update(_sim_figures(ctx))
    return out


def _severity(share: float, months: int, total: int) -> str:
    return "high" if abs(share) > 0.2 or (total and months > total / 2) else "medium"


def _flag(kind: str, scope: str, metric: str, months: list[str], planned: float | None,
          simulated: float | None, gap: float | None, message: str, total_months: int) -> dict:
    share = gap / planned if gap is not None and planned else 0.0
    return {"kind": kind, "scope": scope, "metric": metric, "months": months,
            "planned": planned, "simulated": simulated, "gap": gap, "share": share,
            "severity": _severity(share, len(months), total_months), "message": message}


def _causes(ctx: Context, table: pd.DataFrame) -> str:
    """Why the simulation wins less than the fluid plan: response delay, drops, saturated roles."""
    parts = []
    cur = ctx.scenario.currency
    revenue = _row(table, "company", "revenue")
    demand = _row(table, "company", "demand")
    sim_rev = _num(revenue["sim_p50"]) if revenue is not None else None
    resp = _row(table, "company", "response_time")
    if resp is not None and _num(resp["sim_p50"]) is not None:
        mult = speed_to_lead_multiplier(ctx, float(resp["sim_p50"]))
        cost = f", about {tables.money(sim_rev * (1 / mult - 1), cur)} of revenue" \
            if sim_rev and mult > 0 else ""
        parts.append(f"mean first response {tables.fmt(resp['sim_p50'], 1)} h (the plan assumed none), "
                     f"which keeps {tables.pct(mult)} of first-stage conversion{cost}")
    dropped = sim_total(ctx, "dropped")
    if dropped:
        leads = _num(demand["sim_p50"]) if demand is not None else None
        cost = f", about {tables.money(dropped * sim_rev / leads, cur)} of revenue" \
            if sim_rev and leads else ""
        parts.append(f"{tables.fmt(dropped, 0)} leads dropped unworked (p50){cost}")
    busy = table[(table["metric"] == "utilisation") & (table["month"] == ALL)
                 & (table["sim_p50"] > 0.9)]
    for r in busy.itertuples():
        parts.append(f"{r.scope.split(':', 1)[1]} busy {tables.pct(r.sim_p50)} of the time")
    return "; ".join(parts)


def sim_total(ctx: Context, metric: str) -> float | None:
    """Median over replications of a simulated metric's horizon total; None when not simulated."""
    m = ctx.sim_monthly
    if m is None:
        return None
    rows = m[m["metric"] == metric]
    if rows.empty:
        return None
    return float(rows.groupby("replication")["value"].sum().median())


def _plan_vs_sim(ctx: Context, table: pd.DataFrame) -> list[dict]:
    out = []
    cur = ctx.scenario.currency
    for metric in ("throughput", "revenue"):
        row = _row(table, "company", metric)
        if row is None or _num(row["sim_p50"]) is None or not _num(row["planned"]):
            continue
        planned, sim, gap = float(row["planned"]), float(row["sim_p50"]), float(row["gap"])
        monthly = _monthly(table, "company", metric)
        outside = monthly[(monthly["planned"] > monthly["sim_p90"]) | (monthly["planned"] < monthly["sim_p10"])]
        if abs(gap) <= REL_TOLERANCE * abs(planned) and planned <= row["sim_p90"]:
            continue
        what = tables.money(abs(gap), cur) if metric == "revenue" else f"{tables.fmt(abs(gap), 1)} deals"
        direction = "below" if gap < 0 else "above"
        if gap < 0:
            causes = _causes(ctx, table)
            why = f" Causes: {causes}." if causes else ""
        else:
            why = (" The simulation wins more than the funnel arithmetic the plan rests on (product of "
                   "stage conversions x worked leads): check how lead scores shift conversion, and "
                   "deals closing inside the horizon.")
        msg = (f"Simulated {metric} is {what} ({tables.pct(abs(gap) / planned, 1)}) {direction} the "
               f"plan over the horizon; the plan lies outside the simulated p10-p90 band in "
               f"{len(outside)} of {len(monthly)} months." + why)
        out.append(_flag("plan_vs_simulation", "company", metric, list(outside["month"]), planned, sim,
                         gap, msg, len(monthly)))
    return out


def _capacity_shortfalls(ctx: Context, table: pd.DataFrame) -> list[dict]:
    out = []
    cap = table[(table["metric"] == "capacity") & (table["month"] != ALL)
                & table["scope"].str.startswith("role:")]
    for scope, part in cap.groupby("scope", sort=True):
        missing = np.maximum(part["forecast"] - part["planned"], 0.0).fillna(0.0)
        short = part[missing > 0]
        if short.empty:
            continue
        hours = float(missing.sum())  # the hours the hiring actions close a share of
        need = float(part["forecast"].sum())
        msg = (f"{scope.split(':', 1)[1]} is short of {tables.fmt(hours, 0)} hours in {len(short)} of "
               f"{len(part)} months (first {short['month'].iloc[0]}), "
               f"{tables.pct(hours / need if need else 0, 1)} of the hours the forecast needs.")
        out.append(_flag("capacity_shortfall", scope, "capacity", list(short["month"]),
                         float(part["planned"].sum()), None, -hours, msg, len(part)))
    return out


def _share_disagreements(ctx: Context, table: pd.DataFrame) -> list[dict]:
    out = []
    rows = table[table["metric"].isin(["utilisation", "sla_attainment"]) & (table["month"] == ALL)]
    for r in rows.itertuples():
        if _num(r.sim_p50) is None or _num(r.planned) is None:
            continue
        if abs(r.sim_p50 - r.planned) <= UTILISATION_TOLERANCE:
            continue
        monthly = _monthly(table, r.scope, r.metric)
        off = monthly[(monthly["sim_p50"] - monthly["planned"]).abs() > UTILISATION_TOLERANCE]
        msg = (f"{r.metric.replace('_', ' ')} of {r.scope}: plan {tables.pct(r.planned, 1)}, simulation "
               f"{tables.pct(r.sim_p50, 1)} (p50), more than {tables.pct(UTILISATION_TOLERANCE)} points "
               f"apart in {len(off)} of {len(monthly)} months.")
        out.append(_flag("plan_vs_simulation", r.scope, r.metric, list(off["month"]), float(r.planned),
                         float(r.sim_p50), float(r.sim_p50 - r.planned), msg, len(monthly)))
    return out


def _sla_miss(table: pd.DataFrame, scope: str, what: str) -> list[dict]:
    monthly = _monthly(table, scope, "sla_attainment")
    if monthly.empty:
        return []
    value = monthly["sim_p50"].where(monthly["sim_p50"].notna(), monthly["planned"])
    miss = monthly[value < monthly["forecast"] - 1e-9]
    if miss.empty:
        return []
    target = float(monthly["forecast"].iloc[0])
    worst = float(value.min())
    msg = (f"{what} misses {tables.pct(target)} in {len(miss)} of {len(monthly)} months "
           f"(worst {tables.pct(worst, 1)}, first {miss['month'].iloc[0]}).")
    return [_flag("sla_miss", scope, "sla_attainment", list(miss["month"]), target, worst,
                  worst - target, msg, len(monthly))]


def _sla_misses(ctx: Context, table: pd.DataFrame) -> list[dict]:
    """Each support tier against its own target when the simulation measured tiers; else the
    blended SLA against the blended target, named as such."""
    sup = ctx.scenario.support
    tiers = [t for t in (sup.tiers if sup else []) if not _monthly(table, f"tier:{t.name}",
                                                                  "sla_attainment").empty]
    if tiers:
        return [f for t in tiers for f in _sla_miss(
            table, f"tier:{t.name}", f"Support tier {t.name} (target: {tables.pct(t.target)} of tickets "
            f"answered within {tables.fmt(t.within_seconds, 0)} s)")]
    return _sla_miss(table, "company", "Support's blended service level (share of all tickets answered "
                     "within their tier's threshold; target = the tiers' targets weighted by their "
                     "tickets)")


def _budget_overrun(ctx: Context, table: pd.DataFrame) -> list[dict]:
    """Months whose P&L people cost is above `plan.budget_per_month`. The optimiser keeps within the
    budget the cost it foresees (base pay and commission on its own linear view of the deals it
    covers); the money model prices commission on the plan's revenue, which can be higher."""
    plan = ctx.scenario.plan
    if plan is None or plan.budget_per_month is None:
        return []
    cost = _monthly(table, "company", "cost")
    over = cost[cost["planned"] > plan.budget_per_month * (1 + 1e-6)]
    if over.empty:
        return []
    cur, budget = ctx.scenario.currency, float(plan.budget_per_month)
    worst = over.loc[over["planned"].idxmax()]
    msg = (f"People cost is above the {tables.money(budget, cur)} monthly budget in {len(over)} of "
           f"{len(cost)} months (highest {tables.money(worst['planned'], cur)} in {worst['month']}): the "
           "optimiser keeps the pay it foresees within the budget; the commission on the revenue the "
           "plan is expected to book comes on top.")
    return [_flag("budget_overrun", "company", "cost", list(over["month"]), budget,
                  float(worst["planned"]), float(worst["planned"]) - budget, msg, len(cost))]


def _territory_imbalance(ctx: Context, table: pd.DataFrame) -> list[dict]:
    rows = table[(table["metric"] == "workload") & table["scope"].str.startswith("territory:")]
    if rows.empty:
        return []
    mean = float(rows["forecast"].iloc[0])
    tol = ctx.scenario.territory.balance if ctx.scenario.territory and ctx.scenario.territory.balance \
        else 0.10
    worst = rows.loc[rows["gap"].abs().idxmax()]
    share = float(worst["gap"]) / mean if mean else 0.0
    if abs(share) <= tol:
        return []
    msg = (f"{worst['scope']} carries {tables.fmt(worst['planned'], 1)} workload, "
           f"{tables.pct(abs(share), 1)} {'above' if share > 0 else 'below'} the mean "
           f"{tables.fmt(mean, 1)} (tolerance {tables.pct(tol)}).")
    return [_flag("territory_imbalance", str(worst["scope"]), "workload", [], float(worst["planned"]),
                  None, float(worst["gap"]), msg, 0)]


def find_flags(ctx: Context, table: pd.DataFrame) -> list[dict]:
    """Every disagreement worth a director's attention, most severe first."""
    flags = [*_plan_vs_sim(ctx, table), *_capacity_shortfalls(ctx, table),
             *_share_disagreements(ctx, table), *_sla_misses(ctx, table),
             *_budget_overrun(ctx, table), *_territory_imbalance(ctx, table)]
    return sorted(flags, key=lambda f: (f["severity"] != "high", -abs(f["share"] or 0)))
