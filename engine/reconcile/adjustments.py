"""Rules that turn reconciliation gaps into quantified actions in the four levers of sales ops.

Every action carries the figure behind it, computed from the run's own data (forecast, plan,
simulation) with the fluid funnel arithmetic of `engine.reconcile.fluid`:

* **hiring, onboarding and training**: extra hires of the short role started early enough to be
  ramped by its first short month (the smallest cohort that closes 80 % of the shortfall, capped
  by recruiting capacity), priced in cost and margin; and a one-month shorter ramp for the
  plan's own hires (the hours it adds where the role is short).
* **sales process and lead routing**: first response brought to the run's best simulated month
  (speed-to-lead curve of the scenario gives the conversion gained); leads dropped at the wait
  limit priced at the simulated revenue per lead; territory workload moved from the heaviest to
  the lightest territory when either lies outside the scenario's balance band.
* **technology**: work-time automation (AUTOMATION_SAVING of the short role's hours per lead) and
  ticket deflection (DEFLECTION of tickets), each in hours and people-cost avoided. The saving
  shares are stated assumptions, to be replaced by a vendor's figure.
* **communication**: lead volume that marketing could move from a short month to a neighbouring
  month with spare capacity, and the revenue range (p10-p90) to give finance instead of the
  plan's single figure.

An action is a dict: lever, action (one sentence with its figures), figure (the main number),
unit, and impact (revenue, cost, margin in currency; gap_closed_share as a share; any may be None).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from engine import numbers as tables
from engine.reconcile import fluid
from engine.reconcile.context import Context
from engine.reconcile.flags import sim_total, speed_to_lead_multiplier
from engine.reconcile.quantiles import ALL

HIRING = "hiring, onboarding and training"
ROUTING = "sales process and lead routing"
TECHNOLOGY = "technology"
COMMUNICATION = "communication"
LEVERS = (TECHNOLOGY, ROUTING, HIRING, COMMUNICATION)
TARGET_CLOSED_SHARE = 0.8
"""Hire the smallest cohort that closes this share of a role's shortfall hours."""
AUTOMATION_SAVING = 0.15
"""Assumed share of a role's work time per lead that sales automation removes (assumption)."""
DEFLECTION = 0.10
"""Assumed share of support tickets that self-service deflects (assumption)."""
BEST_MONTHS = 0.25
"""Response-time target: the 25th percentile of the simulated monthly p50 (achieved in a quarter
of the months, so reachable with the same people when routing keeps pace)."""
TERRITORY_BAND = 0.05
"""Relative workload tolerance around the mean when the scenario sets no `territory.balance`:
territories inside it get no rebalancing suggestion."""


def _action(lever: str, text: str, figure: float, unit: str, **impact: float | None) -> dict:
    base = {"revenue": None, "cost": None, "margin": None, "gap_closed_share": None}
    base.update(impact)
    return {"lever": lever, "action": text, "figure": figure, "unit": unit, "impact": base}


def _shortfalls(table: pd.DataFrame) -> pd.DataFrame:
    """Monthly capacity rows of roles (month, role, planned, need, short hours)."""
    cap = table[(table["metric"] == "capacity") & (table["month"] != ALL)
                & table["scope"].str.startswith("role:") & table["forecast"].notna()
                & table["planned"].notna()]
    out = pd.DataFrame({"month": cap["month"], "role": cap["scope"].str.slice(5),
                        "planned": cap["planned"], "need": cap["forecast"]})
    out["short"] = np.maximum(out["need"] - out["planned"], 0.0)
    return out.reset_index(drop=True)


def _margin_of(ctx: Context, capacity: pd.DataFrame) -> float:
    """Fluid gross margin (currency) of the simulated case's forecast worked with `capacity`."""
    f = ctx.forecast()
    if f is None or ctx.rates is None:
        return 0.0
    req = fluid.required_hours(f, ctx.rates)
    cov = fluid.coverage(req, capacity, ctx.rates.roles)
    out = fluid.planned_outcomes(f, ctx.rates, cov["total"], fluid.hours_shares(req, capacity, ctx.rates.roles))
    share = ctx.rates.gross_margin.reindex(out["segment"]).fillna(0.0).to_numpy()
    return float((out["revenue"].to_numpy() * share).sum())


def _cohort_hours(ctx: Context, role_name: str, start: int) -> np.ndarray:
    """Capacity hours per month of one person starting in month index `start` (ramp, attrition)."""
    role = ctx.scenario.role(role_name)
    n = len(ctx.months)
    tenure = np.arange(n) - start
    ramp = np.asarray(role.ramp or [1.0], dtype=float)
    share = np.where(tenure < 0, 0.0, ramp[np.clip(tenure, 0, len(ramp) - 1)])
    share = np.where(tenure >= len(ramp), 1.0, share)
    stay = (1 - role.attrition_per_year) ** (np.maximum(tenure, 0) / 12)
    return share * stay * role.capacity_hours_per_person()


def _hiring_actions(ctx: Context, table: pd.DataFrame) -> list[dict]:
    short = _shortfalls(table)
    cap = ctx.capacity()
    if short.empty or cap is None:
        return []
    out = []
    base_margin = _margin_of(ctx, cap)
    for role_name, part in short.groupby("role", sort=True):
        if part["short"].sum() <= 0 or not any(r.name == role_name for r in ctx.scenario.roles):
            continue
        role = ctx.scenario.role(role_name)
        first = int(np.flatnonzero(part["short"].to_numpy() > 0)[0])
        ramp_len = len(role.ramp or [1.0])
        start = max(role.hiring_lead_time_months, first - ramp_len + 1)
        if start >= len(ctx.months):
            continue
        profile = _cohort_hours(ctx, role_name, start)
        need, have = part["need"].to_numpy(), part["planned"].to_numpy()
        before = float(part["short"].sum())
        best = None
        for k in range(1, max(role.max_hires_per_month, 1) + 1):
            after = float(np.maximum(need - have - k * profile, 0).sum())
            best = (k, 1 - after / before)
            if best[1] >= TARGET_CLOSED_SHARE:
                break
        k, closed = best
        months_paid = len(ctx.months) - start
        stay = (1 - role.attrition_per_year) ** (np.arange(months_paid) / 12)
        cost = float(k * role.cost_per_month * stay.sum())
        extra = pd.DataFrame({"month": ctx.months, "role": role_name, "capacity_hours": k * profile})
        cap2 = pd.concat([cap[["month", "role", "capacity_hours"]], extra], ignore_index=True)
        gain = _margin_of(ctx, cap2) - base_margin
        margin = gain - cost
        instead = _planned_start(ctx, role_name, start)
        when = ctx.months[start] + (f" instead of {instead}" if instead else "")
        cur = ctx.scenario.currency
        head = (f"Start {k} more {role_name} hire{'s' if k > 1 else ''} in {when} "
                f"(decide by {ctx.months[start - role.hiring_lead_time_months]}): closes "
                f"{tables.pct(closed)} of the {tables.fmt(before, 0)} h {role_name} shortfall")
        if ctx.rates is not None and role_name in ctx.rates.roles:
            text = (f"{head}, {'+' if gain >= 0 else '-'}{tables.money(abs(gain), cur)} gross margin "
                    f"for {tables.money(cost, cur)} pay, net {'+' if margin >= 0 else '-'}"
                    f"{tables.money(abs(margin), cur)}" + ("." if margin >= 0 else
                    ": it does not pay for itself within the horizon; listed as the price of closing "
                    "the shortfall, not as a recommendation."))
        else:  # the P&L does not price answered tickets: the hire buys service level, not margin
            text = (f"{head} for {tables.money(cost, cur)} pay{_sla_note(table)} (listed for the "
                    "service level, which the P&L does not price).")
        out.append(_action(HIRING, text, float(k), "hires", revenue=None, cost=cost, margin=margin,
                           gap_closed_share=closed))
        out.extend(_ramp_action(ctx, role_name, part, before, base_margin, cap))
    return out


def _sla_note(table: pd.DataFrame) -> str:
    """`, where service level misses its target in N months` from the SLA rows, if any."""
    rows = table[(table["scope"] == "company") & (table["metric"] == "sla_attainment")
                 & (table["month"] != ALL)]
    if rows.empty:
        return ""
    value = rows["sim_p50"].where(rows["sim_p50"].notna(), rows["planned"])
    miss = int((value < rows["forecast"] - 1e-9).sum())
    return f", where the service level misses its target in {miss} of {len(rows)} months" if miss else ""


def _planned_start(ctx: Context, role_name: str, start: int) -> str | None:
    """The plan's first hire month of the role after `start`, if any."""
    plan = ctx.hiring()
    if plan is None or "hires" not in plan:
        return None
    later = plan[(plan["role"] == role_name) & (plan["hires"] > 0)
                 & (plan["month"] > ctx.months[start])]
    return str(later["month"].min()) if not later.empty else None


def _ramp_action(ctx: Context, role_name: str, part: pd.DataFrame, before: float,
                 base_margin: float, cap: pd.DataFrame) -> list[dict]:
    """One month shorter ramp for the plan's own hires of the role (structured onboarding)."""
    plan = ctx.hiring()
    role = ctx.scenario.role(role_name)
    if plan is None or "hires" not in plan or len(role.ramp or []) < 2:
        return []
    hires = plan[plan["role"] == role_name].groupby("month")["hires"].sum().reindex(ctx.months)
    hires = hires.fillna(0.0).to_numpy()
    if hires.sum() <= 0:
        return []
    n = len(ctx.months)
    old_ramp = np.asarray(role.ramp, dtype=float)
    new_ramp = np.append(old_ramp[1:], 1.0)
    gain_per = np.zeros(n)
    for start in np.flatnonzero(hires > 0):
        tenure = np.arange(n - start)
        diff = (np.where(tenure < len(new_ramp), new_ramp[np.minimum(tenure, len(new_ramp) - 1)], 1.0)
                - np.where(tenure < len(old_ramp), old_ramp[np.minimum(tenure, len(old_ramp) - 1)], 1.0))
        gain_per[start:] += hires[start] * diff * role.capacity_hours_per_person()
    need, have = part["need"].to_numpy(), part["planned"].to_numpy()
    after = float(np.maximum(need - have - gain_per, 0).sum())
    closed = 1 - after / before if before else 0.0
    extra = pd.DataFrame({"month": ctx.months, "role": role_name, "capacity_hours": gain_per})
    gain = _margin_of(ctx, pd.concat([cap[["month", "role", "capacity_hours"]], extra])) - base_margin
    text = (f"Cut {role_name} ramp by one month (structured onboarding, from {len(old_ramp)} to "
            f"{len(old_ramp) - 1} months) for the plan's {tables.fmt(hires.sum(), 0)} hires: "
            f"+{tables.fmt(gain_per.sum(), 0)} productive hours, closes {tables.pct(closed)} of the "
            f"shortfall, +{tables.money(gain, ctx.scenario.currency)} gross margin.")
    return [_action(HIRING, text, float(gain_per.sum()), "hours", margin=gain, gap_closed_share=closed)]


def _value(table: pd.DataFrame, scope: str, metric: str, col: str, month: str = ALL) -> float | None:
    hit = table[(table["scope"] == scope) & (table["metric"] == metric) & (table["month"] == month)]
    if hit.empty:
        return None
    v = float(hit.iloc[0][col])
    return None if math.isnan(v) else v


def _routing_actions(ctx: Context, table: pd.DataFrame) -> list[dict]:
    out = []
    cur = ctx.scenario.currency
    resp = _value(table, "company", "response_time", "sim_p50")
    revenue = _value(table, "company", "revenue", "sim_p50")
    monthly = table[(table["scope"] == "company") & (table["metric"] == "response_time")
                    & (table["month"] != ALL)]["sim_p50"].dropna()
    if resp is not None and revenue and not monthly.empty:
        best = float(monthly.quantile(BEST_MONTHS))
        now, then = speed_to_lead_multiplier(ctx, resp), speed_to_lead_multiplier(ctx, best)
        if then > now * 1.01:
            gain = revenue * (then / now - 1)
            text = (f"Route each new lead to the least-loaded SDR with first touch before other work, "
                    f"bringing mean first response from {tables.fmt(resp, 1)} h to "
                    f"{tables.fmt(best, 1)} h (what the run reached in its best quarter of months): "
                    f"first-stage conversion x"
                    f"{tables.fmt(then / now, 2)}, +{tables.money(gain, cur)} revenue.")
            out.append(_action(ROUTING, text, gain, ctx.scenario.currency, revenue=gain))
    dropped = sim_total(ctx, "dropped")
    leads = _value(table, "company", "demand", "sim_p50")
    if dropped and leads and revenue:
        per_lead = revenue / leads
        lost = dropped * per_lead
        limit = ctx.scenario.funnel.lead_wait_limit_hours if ctx.scenario.funnel else None
        when = (f"wait more than {tables.fmt(limit / 2, 0)} h (half the {tables.fmt(limit, 0)} h "
                f"limit at which they are dropped)" if limit else "the team does not reach")
        text = (f"Route leads that {when} to an overflow queue (a second team or a partner) instead "
                f"of losing them: {tables.fmt(dropped, 0)} leads dropped (p50), worth "
                f"{tables.money(lost, cur)} at {tables.money(per_lead, cur)} revenue per lead.")
        out.append(_action(ROUTING, text, lost, cur, revenue=lost))
    out.extend(_territory_action(ctx, table))
    return out


def _territory_action(ctx: Context, table: pd.DataFrame) -> list[dict]:
    rows = table[(table["metric"] == "workload") & table["scope"].str.startswith("territory:")]
    if len(rows) < 2:
        return []
    heavy, light = rows.loc[rows["planned"].idxmax()], rows.loc[rows["planned"].idxmin()]
    mean = float(rows["forecast"].iloc[0])
    tolerance = _workload_band(ctx)
    if (float(heavy["planned"]) <= mean * (1 + tolerance)
            and float(light["planned"]) >= mean * (1 - tolerance)):
        return []
    move = min(float(heavy["planned"]) - mean, mean - float(light["planned"]))
    if move <= 0:
        return []
    before = float(heavy["planned"] / light["planned"]) if light["planned"] else math.inf
    after = (float(heavy["planned"]) - move) / (float(light["planned"]) + move)
    text = (f"Move units worth {tables.fmt(move, 1)} workload from {heavy['scope'][10:]} to "
            f"{light['scope'][10:]}: heaviest-to-lightest ratio from {tables.fmt(before, 2)} to "
            f"{tables.fmt(after, 2)} (band: mean workload ±{tables.pct(tolerance)}).")
    return [_action(ROUTING, text, move, "workload")]


def _workload_band(ctx: Context) -> float:
    """Relative workload tolerance a territory may sit within without a suggested move: the
    scenario's `territory.balance` for workload, else TERRITORY_BAND."""
    section = ctx.scenario.territory
    tolerances = section.balance_tolerances() if section is not None else {}
    return float(tolerances.get("workload", TERRITORY_BAND))


def _technology_actions(ctx: Context, table: pd.DataFrame) -> list[dict]:
    out = []
    short = _shortfalls(table)
    cur = ctx.scenario.currency
    support = ctx.scenario.support.role if ctx.scenario.support else None
    for role_name, part in short.groupby("role", sort=True):
        before = float(part["short"].sum())
        if before <= 0 or not any(r.name == role_name for r in ctx.scenario.roles):
            continue
        role = ctx.scenario.role(role_name)
        saving = part["need"].to_numpy() * (DEFLECTION if role_name == support else AUTOMATION_SAVING)
        after = float(np.maximum(part["short"].to_numpy() - saving, 0).sum())
        closed = 1 - after / before
        freed = float(saving.sum())
        people_cost = freed / role.capacity_hours_per_person() * role.cost_per_month
        if role_name == support:
            text = (f"Deflect {tables.pct(DEFLECTION)} of tickets with self-service (assumed share): "
                    f"{tables.fmt(freed, 0)} agent hours freed, closes {tables.pct(closed)} of the "
                    f"{role_name} shortfall, worth {tables.money(people_cost, cur)} of agent pay.")
        else:
            text = (f"Automate {tables.pct(AUTOMATION_SAVING)} of {role_name} work time per lead "
                    f"(sequencing, auto-logging; assumed share): {tables.fmt(freed, 0)} hours freed, "
                    f"closes {tables.pct(closed)} of the {tables.fmt(before, 0)} h shortfall, "
                    f"worth {tables.money(people_cost, cur)} of {role_name} pay.")
        out.append(_action(TECHNOLOGY, text, freed, "hours", cost=-people_cost,
                           gap_closed_share=closed))
    return out


def _communication_actions(ctx: Context, table: pd.DataFrame) -> list[dict]:
    out = []
    cur = ctx.scenario.currency
    demand = table[(table["scope"] == "company") & (table["metric"] == "demand")
                   & (table["month"] != ALL)].set_index("month")
    if not demand.empty and demand["planned"].notna().any():
        unworked = (demand["forecast"] - demand["planned"]).clip(lower=0)
        spare = _spare_leads(ctx, table)
        if unworked.sum() > 0.5 and spare is not None:
            peak = str(unworked.idxmax())
            i = ctx.months.index(peak)
            neighbours = [m for m in (ctx.months[i - 1] if i else None,
                                      ctx.months[i + 1] if i + 1 < len(ctx.months) else None) if m]
            # the neighbour with more spare leads; on a tie the earlier month (pull campaigns forward)
            room = max(((float(spare.get(m, 0.0)), m) for m in neighbours),
                       key=lambda r: (r[0], -ctx.months.index(r[1])), default=(0.0, ""))
            moved = min(float(unworked[peak]), room[0])
            if moved >= 1:
                rates = ctx.rates
                f = ctx.forecast()
                mix = f[f["month"] == peak].groupby("segment")["leads"].sum()
                per_lead = float((rates.won_share * rates.deal_value).reindex(mix.index).fillna(0)
                                 .mul(mix).sum() / mix.sum()) if mix.sum() else 0.0
                gain = moved * per_lead
                text = (f"Agree with marketing to move {tables.fmt(moved, 0)} leads of campaign volume "
                        f"from {peak} (where {tables.fmt(unworked[peak], 0)} leads go unworked) to "
                        f"{room[1]}, which has spare capacity: +{tables.money(gain, cur)} revenue.")
                out.append(_action(COMMUNICATION, text, moved, "leads", revenue=gain))
    rev = table[(table["scope"] == "company") & (table["metric"] == "revenue") & (table["month"] == ALL)]
    if not rev.empty and not math.isnan(float(rev.iloc[0]["sim_p50"])):
        r = rev.iloc[0]
        text = (f"Report revenue to finance as the simulated range {tables.money(r['sim_p10'], cur)} to "
                f"{tables.money(r['sim_p90'], cur)} (p10-p90), not the plan's single "
                f"{tables.money(r['planned'], cur)}: a spread of "
                f"{tables.money(r['sim_p90'] - r['sim_p10'], cur)}.")
        out.append(_action(COMMUNICATION, text, float(r["sim_p90"] - r["sim_p10"]), cur))
    return out


def _spare_leads(ctx: Context, table: pd.DataFrame) -> pd.Series | None:
    """Leads per month the plan could still work: min over funnel roles of spare hours / hours per lead."""
    if ctx.rates is None:
        return None
    short = _shortfalls(table)
    f = ctx.forecast()
    if short.empty or f is None:
        return None
    mix = f.groupby("segment")["leads"].sum()
    per_lead = ctx.rates.work_per_lead.reindex(mix.index).mul(mix / mix.sum(), axis=0).sum()
    spare = []
    for role in ctx.rates.roles:
        part = short[short["role"] == role].set_index("month")
        if part.empty or per_lead.get(role, 0) <= 0:
            continue
        spare.append((part["planned"] - part["need"]).clip(lower=0) / per_lead[role])
    return pd.concat(spare, axis=1).min(axis=1) if spare else None


def propose(ctx: Context, table: pd.DataFrame, flags: list[dict]) -> list[dict]:
    """Quantified actions for the run, grouped by lever in LEVERS order."""
    actions = [*_technology_actions(ctx, table), *_routing_actions(ctx, table),
               *_hiring_actions(ctx, table), *_communication_actions(ctx, table)]
    return sorted(actions, key=lambda a: LEVERS.index(a["lever"]))
