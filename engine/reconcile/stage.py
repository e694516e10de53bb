"""Reconciliation: forecast demand vs planned capacity vs simulated outcome, per month and scope.

`reconciliation.csv` has the columns month, scope, metric, planned, forecast, sim_p10, sim_p50,
sim_p90, gap. `month` is `YYYY-MM`, or `all` for the whole horizon (flows summed, levels and
shares averaged; the sim quantiles of `all` are quantiles of each replication's total or mean).
`scope` is `company`, `segment:<name>`, `region:<name>`, `role:<name>`, `team:<name>`,
`territory:<name>` or `tier:<name>` (a support tier's own SLA against its own target). A column with nothing to say is empty (NaN).

Metrics (unit; planned / forecast / sim; gap):

| metric | unit | planned | forecast | sim (p10/p50/p90 over replications) | gap |
| --- | --- | --- | --- | --- | --- |
| demand | leads | leads the plan has capacity to work (fluid coverage x forecast), else allocated leads | forecast leads of the simulated case | leads that arrived | planned - forecast (negative: leads left unworked); without a plan sim_p50 - forecast |
| capacity | hours | capacity hours of the plan (ramped headcount x hours x selling share) | hours needed to work every forecast lead (support: Erlang-required agents) | hours worked (utilisation x planned capacity) | planned - forecast (negative: shortfall) |
| throughput | won deals | wins the fluid plan yields, dated by the funnel lag | wins if every forecast lead were worked | deals won | sim_p50 - planned (negative: the simulation wins fewer than the plan assumed); without a simulation planned - forecast |
| revenue | currency | as throughput x mean deal size | as throughput | revenue won | as throughput |
| revenue_at_risk | currency | forecast revenue the plan leaves unworked | - | forecast revenue minus simulated revenue (p10 from the revenue p90) | sim_p50 - planned (positive: queues put more at risk than the plan foresaw) |
| utilisation | share | planned busy share, min(need, capacity) / capacity | need / capacity (above 1: overload) | simulated utilisation | sim_p50 - planned |
| response_time | hours | - (the fluid plan assumes no wait) | - | mean first response to a lead | - |
| ticket_wait | seconds | Erlang ASA of the planned agents | - | mean ticket wait | sim_p50 - planned |
| sla_attainment | share | Erlang service level of the planned agents | target service level | simulated share answered in time | sim_p50 - planned; without a simulation planned - forecast |
| cost | currency | people cost of the plan (engine/reconcile/money.py) | - | simulated people cost (company) | sim_p50 - planned |
| gross_margin, operating_margin | currency | the plan's P&L figure (engine/reconcile/money.py) | - | the simulated one | sim_p50 - planned |
| headcount | people | planned headcount | - | simulated headcount (attrition is random) | sim_p50 - planned |
| workload, potential | scenario units | a territory's total | mean over territories (the balanced value) | - | planned - forecast (positive: above the mean) |

Sign convention, in one line: gap = outcome - reference in the metric's unit, where the outcome is
the simulation when there is one and the plan otherwise, and the reference is the plan when the
outcome is simulated and the forecast (demand) otherwise. For capacity, demand and territories the
gap is always plan minus need. Negative means "less than the reference": a shortfall for demand,
capacity, throughput, revenue and SLA; a saving for cost-like metrics.

A scenario without the stages a metric needs has no row for it; a scenario with no stage that
reconciles (e.g. `name` only) writes the header and no rows, a valid empty table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine import numbers as tables
from engine.reconcile import quantiles as simstats
from engine.reconcile.context import Context, build_context
from engine.reconcile.money import money_model, plan_pnl
from engine.reconcile.quantiles import ALL
from engine.scenario.load import LoadedScenario
from engine.stage import StageOutput, StageResult

COLUMNS = ["month", "scope", "metric", "planned", "forecast", "sim_p10", "sim_p50", "sim_p90", "gap"]
FLOW_METRICS = {"demand", "capacity", "throughput", "revenue", "revenue_at_risk", "cost", "gross_margin",
                "operating_margin"}
"""Metrics whose `all` row is the sum over months; the others are averaged."""
GAP_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "demand": (("planned", "forecast"), ("sim_p50", "forecast")),
    "capacity": (("planned", "forecast"),),
    "throughput": (("sim_p50", "planned"), ("planned", "forecast")),
    "revenue": (("sim_p50", "planned"), ("planned", "forecast")),
    "revenue_at_risk": (("sim_p50", "planned"),),
    "utilisation": (("sim_p50", "planned"),),
    "response_time": (),
    "ticket_wait": (("sim_p50", "planned"),),
    "sla_attainment": (("sim_p50", "planned"), ("planned", "forecast")),
    "cost": (("sim_p50", "planned"),),
    "gross_margin": (("sim_p50", "planned"),),
    "operating_margin": (("sim_p50", "planned"),),
    "headcount": (("sim_p50", "planned"),),
    "workload": (("planned", "forecast"),),
    "potential": (("planned", "forecast"),),
}
UNITS = {"demand": "leads", "capacity": "hours", "throughput": "won deals", "revenue": "currency",
         "revenue_at_risk": "currency", "utilisation": "share", "response_time": "hours",
         "ticket_wait": "seconds", "sla_attainment": "share", "cost": "currency",
         "gross_margin": "currency", "operating_margin": "currency",
         "headcount": "people", "workload": "units", "potential": "units"}
METRIC_ORDER = list(GAP_RULES)


@dataclass(frozen=True)
class ReconciliationOut(StageResult):
    """What reconciliation hands the report: the table (COLUMNS), the context it was computed
    from, and the flags and adjustments of summary.json's reconciliation object."""

    table: pd.DataFrame
    context: Context
    flags: list[dict]
    adjustments: list[dict]


def _series_rows(scope: str, metric: str, planned: pd.Series | None = None,
                 forecast: pd.Series | None = None) -> pd.DataFrame:
    """Rows month x (planned, forecast) from Series indexed by month; `all` added by the metric kind."""
    parts = {k: v for k, v in (("planned", planned), ("forecast", forecast)) if v is not None}
    if not parts:
        return pd.DataFrame(columns=["month", "scope", "metric", "planned", "forecast"])
    frame = pd.DataFrame(parts)
    frame.index = frame.index.astype(str)
    total = frame.sum(min_count=1) if metric in FLOW_METRICS else frame.mean()
    frame.loc[ALL] = total
    frame = frame.rename_axis("month").reset_index()
    frame["scope"] = scope
    frame["metric"] = metric
    return frame


def _quantile_rows(ctx: Context, values: np.ndarray, scopes: list[str], metric: str,
                   flow: bool) -> pd.DataFrame:
    """Rows month, scope, metric, sim_p10..p90 from a replication x month x scope array."""
    q = simstats.cube_quantiles(values, ctx.months, scopes, flow)
    return q.rename(columns={"key": "scope"}).assign(metric=metric)


def _company_sim(ctx: Context, name: str, metric: str, flow: bool,
                 scope: str = "company") -> pd.DataFrame | None:
    """Quantile rows of one simulated monthly metric (flows: a missing month counts 0)."""
    values = ctx.sim_series(name)
    if values is None:
        return None
    if flow:
        values = np.nan_to_num(values)
    return _quantile_rows(ctx, values[:, :, None], [scope], metric, flow)


def _plan_rows(ctx: Context) -> list[pd.DataFrame]:
    """Company, segment and region rows of demand, throughput, revenue and revenue at risk."""
    out = ctx.outcomes()
    if out is None:
        return []
    has_plan = ctx.capacity() is not None
    rows = []
    groups = [("company", None), *((f"{g}:", g) for g in ("segment", "region"))]
    for label, col in groups:
        keyed = out.assign(scope="company" if col is None else label + out[col])
        for scope, part in keyed.groupby("scope", sort=True):
            by_month = part.groupby("month")
            leads = by_month["leads"].sum()
            rows.append(_series_rows(scope, "demand", by_month["worked"].sum() if has_plan else None,
                                     leads))
            rows.append(_series_rows(scope, "throughput", by_month["won"].sum() if has_plan else None,
                                     by_month["won_full"].sum()))
            rows.append(_series_rows(scope, "revenue", by_month["revenue"].sum() if has_plan else None,
                                     by_month["revenue_full"].sum()))
            if has_plan:
                risk = by_month["revenue_full"].sum() - by_month["revenue"].sum()
                rows.append(_series_rows(scope, "revenue_at_risk", risk))
    return rows


def _allocation_rows(ctx: Context) -> list[pd.DataFrame]:
    a = ctx.allocation
    if a is None or a.empty:
        return []
    rows = []
    for team, part in a.groupby("team", sort=True):
        rows.append(_series_rows(f"team:{team}", "demand", part.groupby("month")["leads"].sum()))
    if ctx.capacity() is None and ctx.forecast() is not None:
        for col in ("segment", "region"):
            for key, part in a.groupby(col, sort=True):
                rows.append(_series_rows(f"{col}:{key}", "demand", part.groupby("month")["leads"].sum()))
    return rows


def _role_rows(ctx: Context) -> list[pd.DataFrame]:
    """Capacity, utilisation, cost and headcount per role, plus company cost and headcount."""
    rows = []
    cap, req, plan = ctx.capacity(), ctx.required(), ctx.hiring()
    staffing = ctx.staffing()
    need = req.pivot_table(index="month", columns="role", values="hours", aggfunc="sum") \
        if req is not None else pd.DataFrame()
    have = cap.pivot_table(index="month", columns="role", values="capacity_hours", aggfunc="sum") \
        if cap is not None else pd.DataFrame()
    if staffing is not None and not staffing.empty and not have.empty:
        for role, part in staffing.groupby("role"):
            if role in have.columns and role not in need.columns:
                p = part.groupby("month")[["required_agents", "planned_agents"]].sum()
                per_agent = (have[role] / p["planned_agents"].where(p["planned_agents"] > 0)).fillna(
                    ctx.scenario.role(role).capacity_hours_per_person() if _has_role(ctx, role) else 0)
                need[role] = p["required_agents"] * per_agent
    for role in sorted(need.columns if not need.empty else have.columns):
        planned = have[role] if role in have.columns else None
        needed = need[role] if role in need.columns else None
        rows.append(_series_rows(f"role:{role}", "capacity", planned, needed))
        # support needs Erlang agents, whose hours include the slack the service level needs:
        # need / capacity is not a busy share there, so no utilisation row for that role
        support = ctx.scenario.support.role if ctx.scenario.support else None
        if planned is not None and needed is not None and role != support:
            p, n = planned.align(needed, join="outer")
            util = (np.minimum(n, p) / p.where(p > 0)).astype(float)
            rows.append(_series_rows(f"role:{role}", "utilisation", util, n / p.where(p > 0)))
    if plan is not None:
        for role, part in plan.groupby("role", sort=True):
            by_month = part.groupby("month")
            rows.append(_series_rows(f"role:{role}", "headcount", by_month["headcount"].sum()))
            if "cost" in part.columns:
                rows.append(_series_rows(f"role:{role}", "cost", by_month["cost"].sum()))
        if "cost" in plan.columns:
            rows.append(_series_rows("company", "cost", plan.groupby("month")["cost"].sum()))
        rows.append(_series_rows("company", "headcount", plan.groupby("month")["headcount"].sum()))
    return rows


def _money_rows(ctx: Context) -> list[pd.DataFrame]:
    """Company gross margin and operating margin of the plan by month (the money model)."""
    out, plan = ctx.outcomes(), ctx.hiring()
    if out is None or plan is None:
        return []
    figures = plan_pnl(money_model(ctx.scenario), out, plan, ctx.months)
    return [_series_rows("company", name, pd.Series(figures[name], index=ctx.months))
            for name in ("gross_margin", "operating_margin")]


def _sim_money_rows(ctx: Context) -> list[pd.DataFrame]:
    rows = []
    for name, metric in (("people_cost", "cost"), ("gross_margin", "gross_margin"),
                         ("operating_margin", "operating_margin")):
        q = _company_sim(ctx, name, metric, True)
        if q is not None:
            rows.append(q)
    return rows


def _has_role(ctx: Context, name: str) -> bool:
    return any(r.name == name for r in ctx.scenario.roles)


def _support_rows(ctx: Context) -> list[pd.DataFrame]:
    staffing = ctx.staffing()
    if staffing is None or staffing.empty:
        return []
    rows = []
    target = _sla_target(ctx)
    for role, part in staffing.groupby("role", sort=True):
        by_month = part.groupby("month")
        sl = by_month["service_level"].mean() if "service_level" in part else None
        tgt = pd.Series(target, index=sl.index) if sl is not None and target is not None else None
        rows.append(_series_rows("company", "sla_attainment", sl, tgt))
        if "asa_seconds" in part:
            rows.append(_series_rows(f"role:{role}", "ticket_wait", by_month["asa_seconds"].mean()))
    return rows


def _sla_target(ctx: Context) -> float | None:
    """Ticket-weighted service-level target over support tiers (share)."""
    sup = ctx.scenario.support
    if sup is None:
        return None
    weights = np.array([max(t.tickets_per_customer_month * max(t.customers_start, 1), 1e-9)
                        for t in sup.tiers])
    return float(np.average([t.target for t in sup.tiers], weights=weights))


def _sim_company_rows(ctx: Context) -> list[pd.DataFrame]:
    """Simulated quantiles of company-wide and per-role monthly metrics."""
    rows = []
    for name, metric, flow in (("leads", "demand", True), ("won", "throughput", True),
                               ("revenue", "revenue", True),
                               ("first_response_h_mean", "response_time", False)):
        q = _company_sim(ctx, name, metric, flow)
        if q is not None:
            rows.append(q)
    rows.extend(_sim_sla_rows(ctx))
    rows.extend(_sim_risk_rows(ctx))
    support = ctx.scenario.support.role if ctx.scenario.support else None
    if support:
        q = _company_sim(ctx, "ticket_wait_s_mean", "ticket_wait", False, f"role:{support}")
        if q is not None:
            rows.append(q)
    for prefix, metric in (("utilisation:", "utilisation"), ("headcount:", "headcount")):
        for name in sorted(n for n in ctx.sim_metrics() if n.startswith(prefix)):
            q = _company_sim(ctx, name, metric, False, f"role:{name[len(prefix):]}")
            if q is not None:
                rows.append(q)
    rows.extend(_sim_hours_worked(ctx))
    return rows


def _weighted_share(ctx: Context, share: str, weight: str, scope: str, metric: str) -> pd.DataFrame | None:
    """Quantile rows of a monthly share whose `all` row weights the months by `weight` (e.g. SLA
    by tickets: the share of all the horizon's tickets answered in time, per replication)."""
    values, weights = ctx.sim_series(share), ctx.sim_series(weight)
    if values is None:
        return None
    q = _quantile_rows(ctx, values[:, :, None], [scope], metric, False)
    if weights is None:
        return q
    w = np.nan_to_num(weights) * np.isfinite(values)
    total = np.nansum(w * np.nan_to_num(values), axis=1) / np.where(w.sum(axis=1) > 0, w.sum(axis=1), np.nan)
    total = total[np.isfinite(total)]
    if total.size:
        at = q["month"] == ALL
        q.loc[at, ["sim_p10", "sim_p50", "sim_p90"]] = np.percentile(total, [10, 50, 90])
    return q


def _sim_sla_rows(ctx: Context) -> list[pd.DataFrame]:
    """Blended SLA (company) and each tier's own (`tier:<name>`), weighted by tickets over months."""
    rows = [_weighted_share(ctx, "sla_attainment", "tickets", "company", "sla_attainment")]
    if ctx.scenario.support is not None:
        for tier in ctx.scenario.support.tiers:
            rows.append(_weighted_share(ctx, f"sla_attainment:{tier.name}", f"tickets:{tier.name}",
                                        f"tier:{tier.name}", "sla_attainment"))
    return [r for r in rows if r is not None]


def _tier_target_rows(ctx: Context) -> list[pd.DataFrame]:
    """Each support tier's own service-level target as the `forecast` of its sla_attainment rows."""
    if ctx.scenario.support is None or ctx.sim_series("sla_attainment") is None:
        return []
    index = pd.Index(ctx.months)
    return [_series_rows(f"tier:{t.name}", "sla_attainment", forecast=pd.Series(t.target, index=index))
            for t in ctx.scenario.support.tiers]


def _sim_hours_worked(ctx: Context) -> list[pd.DataFrame]:
    """Simulated hours worked per role: utilisation x planned capacity (hours)."""
    cap = ctx.capacity()
    if cap is None:
        return []
    rows = []
    for role, part in cap.groupby("role", sort=True):
        util = ctx.sim_series(f"utilisation:{role}")
        if util is None:
            continue
        hours = part.groupby("month")["capacity_hours"].sum().reindex(ctx.months).fillna(0.0)
        worked = np.nan_to_num(util) * hours.to_numpy()[None, :]
        rows.append(_quantile_rows(ctx, worked[:, :, None], [f"role:{role}"], "capacity", True))
    return rows


def _sim_risk_rows(ctx: Context) -> list[pd.DataFrame]:
    """Revenue at risk in the simulation: fluid full-coverage revenue minus simulated revenue."""
    rev = ctx.sim_series("revenue")
    out = ctx.outcomes()
    if rev is None or out is None:
        return []
    full = out.groupby("month")["revenue_full"].sum().reindex(ctx.months).fillna(0.0).to_numpy()
    risk = full[None, :] - np.nan_to_num(rev)
    return [_quantile_rows(ctx, risk[:, :, None], ["company"], "revenue_at_risk", True)]


def _sim_lead_rows(ctx: Context) -> list[pd.DataFrame]:
    """Per segment, region and territory: simulated arrivals, wins and revenue from sim/leads."""
    leads = ctx.sim_leads
    if leads is None or leads.empty or not ctx.months:
        return []
    start, n = ctx.months[0], len(ctx.months)
    rep = pd.Index(ctx.replications).get_indexer(leads["replication"].to_numpy())
    arrived = simstats.month_index_of_hours(leads["arrived_h"].to_numpy(dtype=float), start, n)
    closed = simstats.month_index_of_hours(
        leads["closed_h"].to_numpy(dtype=float) if "closed_h" in leads else np.full(len(leads), np.nan),
        start, n)
    won = leads["won"].fillna(False).to_numpy(dtype=bool) if "won" in leads else np.zeros(len(leads), bool)
    revenue = leads["revenue"].fillna(0.0).to_numpy(dtype=float) if "revenue" in leads else np.zeros(len(leads))
    won_month = np.where(won, closed, -1)
    rows = []
    for col in ("segment", "region", "territory"):
        if col not in leads.columns:
            continue
        codes, uniques = pd.factorize(leads[col], sort=True)  # NaN -> code -1, dropped by pack
        shape = (len(ctx.replications), n, len(uniques))
        scopes = [f"{col}:{u}" for u in uniques]
        for metric, month, value in (("demand", arrived, 1.0), ("throughput", won_month, 1.0),
                                     ("revenue", won_month, revenue)):
            values = simstats.pack(rep, month, codes, value, shape, flow=True)
            rows.append(_quantile_rows(ctx, values, scopes, metric, True))
    return rows


def _territory_rows(ctx: Context) -> list[pd.DataFrame]:
    t = ctx.territories
    if t is None or t.empty:
        return []
    rows = []
    for metric in ("workload", "potential"):
        if metric not in t.columns:
            continue
        total = t.groupby("territory")[metric].sum().astype(float)
        rows.append(pd.DataFrame({"month": ALL, "scope": "territory:" + total.index.astype(str),
                                  "metric": metric, "planned": total.to_numpy(),
                                  "forecast": float(total.mean())}))
    return rows


def _merge(plan_rows: list[pd.DataFrame], sim_rows: list[pd.DataFrame]) -> pd.DataFrame:
    keys = ["month", "scope", "metric"]
    plan = pd.concat([r for r in plan_rows if not r.empty], ignore_index=True) if any(
        not r.empty for r in plan_rows) else pd.DataFrame(columns=[*keys, "planned", "forecast"])
    for col in ("planned", "forecast"):
        if col not in plan.columns:
            plan[col] = np.nan
    plan = plan.groupby(keys, sort=False, as_index=False).agg(
        planned=("planned", "first"), forecast=("forecast", "first")) if not plan.empty else plan
    sims = [r for r in sim_rows if not r.empty]
    if sims:
        sim = pd.concat(sims, ignore_index=True).groupby(keys, sort=False, as_index=False).first()
        table = plan.merge(sim, on=keys, how="outer")
    else:
        table = plan
    for col in COLUMNS:
        if col not in table.columns:
            table[col] = np.nan
    return table[COLUMNS]


def apply_gap(table: pd.DataFrame) -> pd.DataFrame:
    """Fill `gap` by each metric's rule (GAP_RULES): the first pair with both values present."""
    gap = pd.Series(np.nan, index=table.index)
    for metric, rules in GAP_RULES.items():
        mine = table["metric"] == metric
        for a, b in rules:
            diff = table[a].astype(float) - table[b].astype(float)
            gap = gap.where(~(mine & gap.isna()), diff)
    return table.assign(gap=gap)


def _order(table: pd.DataFrame) -> pd.DataFrame:
    scope_rank = table["scope"].str.split(":").str[0].map(
        {"company": 0, "segment": 1, "region": 2, "role": 3, "team": 4, "territory": 5, "tier": 6}).fillna(9)
    metric_rank = table["metric"].map({m: i for i, m in enumerate(METRIC_ORDER)}).fillna(99)
    month_key = table["month"].where(table["month"] != ALL, "9999-99")
    order = pd.DataFrame({"s": scope_rank, "n": table["scope"], "m": metric_rank, "t": month_key})
    idx = order.sort_values(["s", "n", "m", "t"], kind="stable").index
    return table.loc[idx].reset_index(drop=True)


def reconciliation_table(ctx: Context) -> pd.DataFrame:
    """The reconciliation table (COLUMNS), sorted by scope, metric and month; numbers as floats."""
    plan_rows = [*_plan_rows(ctx), *_allocation_rows(ctx), *_role_rows(ctx), *_support_rows(ctx),
                 *_territory_rows(ctx), *_money_rows(ctx), *_tier_target_rows(ctx)]
    sim_rows = [*_sim_company_rows(ctx), *_sim_lead_rows(ctx), *_sim_money_rows(ctx)]
    table = _merge(plan_rows, sim_rows)
    for col in COLUMNS[3:]:
        table[col] = pd.to_numeric(table[col], errors="coerce").astype(float)
    for col in COLUMNS[:3]:
        table[col] = table[col].astype(str)
    table = tables.round_table(apply_gap(table))
    return _order(table)


def reconcile(loaded: LoadedScenario, outputs: dict[str, StageOutput]) -> StageOutput:
    """The reconciliation stage: table, headline per demand case, flags and adjustments."""
    from engine.reconcile.adjustments import propose
    from engine.reconcile.flags import find_flags, headline
    from engine.reconcile.totals import plan_totals

    ctx = build_context(loaded, outputs)
    table = reconciliation_table(ctx)
    flags = find_flags(ctx, table)
    actions = propose(ctx, table, flags)
    summary = {"headline": headline(ctx, table), "plan_totals": plan_totals(ctx), "case": ctx.case,
               "rows": int(len(table)),
               "flags": flags, "adjustments": actions}
    return StageOutput(name="reconciliation", tables={"reconciliation.csv": table},
                       summary=summary, result=ReconciliationOut(table, ctx, flags, actions))
