"""Supply stage: scenario + forecast -> hiring MILP and support staffing -> plan files and summary.

Demand in work hours per role and month (the one source of truth the simulation shares): leads of
segment g reach stage k with probability prod_{j<k} conversion_j(g); each item there costs
`work_hours_for(g)` of the stage's role. Stage k's work happens sum_{j<k} mean duration_j days
after the lead arrives and a win sum_j mean duration_j days after, spread over the two calendar
months around that offset. A role's capacity is effective people x hours per month x selling share
(`Role.capacity_hours_per_person()`); the support role's is effective people x hours per month x
(1 - shrinkage), and it needs on-phone hours = Erlang agents x open hours.

An uncovered hour of role r costs the expected gross margin of the wins that pass through r's
stages per hour of r's work. Every deal needs the funnel roles in turn, so in a month where several
of them are short the deals are lost once, at the role with the largest share short (the MILP's
`deal_roles`: lost margin = max over those roles, not their sum; a stage short of work starves the
later ones). The support role is priced on its own. Commission is paid on the expected
bookings of the deals a role works, in the month they close; quota compares with ramped people.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
import yaml

from engine.calendar import month_index, month_range
from engine.errors import InputError
from engine.plan.costs import restate_costs
from engine.plan.hiring_diagnosis import diagnose_hiring
from engine.scenario import defaults
from engine.scenario.load import LoadedScenario
from engine.scenario.model import Scenario
from engine.scenario.schema.core import Role
from engine.scenario.schema.plan import Plan
from engine.scenario.shocks import attrition_factor, hiring_cap_factor, price_factor
from engine.stage import FAILED_STATUSES, StageOutput, SupplyOut
from solvers.hiring import (
    HiringProblem,
    HiringResult,
    PeopleFloor,
    RatioRule,
    case_problem,
    monthly_attrition,
    solve_hiring,
)
from solvers.hiring_binds import find_bindings, value_bindings
from solvers.staffing import Requirement, SupportLoad, achieved, hourly_on_phone, required_agents

DAYS_PER_MONTH = 365.25 / 12
SUPPORT_VALUE_FACTOR = 10.0
"""Default worth of a needed support hour, in multiples of the support role's cost per ticket hour:
high, because an hour short is a whole agent short once agents are counted and the service
level falls steeply below the Erlang requirement."""
HIRING_COLUMNS = ["month", "role", "hires", "headcount", "effective_capacity", "cost"]
STAFFING_COLUMNS = ["month", "role", "required_agents", "planned_agents", "service_level", "asa_seconds"]
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def capacity_hours_per_person(s: Scenario, role: Role) -> float:
    """Hours per fully ramped person per month on the role's work (support: on the phone)."""
    if s.support is not None and role.kind == "support" and role.name == s.support.role:
        return role.hours_per_month * (1.0 - s.support.shrinkage)
    return role.capacity_hours_per_person()


def _shift(values: np.ndarray, months: float) -> np.ndarray:
    """Move a monthly series (last axis) `months` later, split linearly between two months."""
    whole, frac = int(math.floor(months)), months - math.floor(months)
    out = np.zeros_like(values)
    t = values.shape[-1]
    for lag, share in ((whole, 1.0 - frac), (whole + 1, frac)):
        if share > 0 and lag < t:
            out[..., lag:] += share * values[..., : t - lag]
    return out


def lead_array(s: Scenario, forecast: pd.DataFrame, cases: list[str], months: list[str]) -> np.ndarray:
    """Leads as an array case x segment x month (regions summed)."""
    segs = [g.name for g in s.segments]
    f = forecast[forecast["case"].astype(str).isin(cases) & forecast["month"].astype(str).isin(months)]
    idx = [pd.Index(v).get_indexer(f[c].astype(str)) for v, c in
           ((cases, "case"), (segs, "segment"), (months, "month"))]
    out = np.zeros((len(cases), len(segs), len(months)))
    keep = np.all([i >= 0 for i in idx], axis=0)
    np.add.at(out, tuple(i[keep] for i in idx), f["leads"].to_numpy(float)[keep])
    return out


def funnel_demand(s: Scenario, leads: np.ndarray, months: list[str] | None = None) -> dict[str, np.ndarray]:
    """Hours (S x R x T), lost margin per hour (S x R x T), bookings (S x R x T), full-coverage
    gross margin (S x T) and wins (S x G x T, customers won per segment and month). Deal sizes are
    priced by segment and month with the scenario's price shocks (`months`: the planning months,
    default the horizon's)."""
    names = [r.name for r in s.roles]
    n_s, n_g, n_t = leads.shape
    if months is None:
        months = month_range(s.horizon.start, n_t)
    hours = np.zeros((n_s, len(names), n_t))
    touched = np.zeros((len(names), n_g), dtype=bool)
    if s.funnel is None:
        zero = np.zeros((n_s, len(names), n_t))
        return {"hours": hours, "value": zero, "bookings": zero.copy(), "margin": np.zeros((n_s, n_t)),
                "wins": np.zeros_like(leads)}
    reach = np.ones(n_g)
    offset = 0.0
    for stage in s.funnel.stages:
        r = names.index(stage.role)
        work = np.array([stage.work_hours_for(g.name) for g in s.segments])
        hours[:, r] += _shift(leads * (reach * work)[None, :, None], offset / DAYS_PER_MONTH).sum(axis=1)
        touched[r] = True
        reach = reach * np.array([stage.conversion_for(g.name) for g in s.segments])
        offset += stage.duration_days.mean
    deal = np.array([g.deal_size.mean * price_factor(s, months, g.name) for g in s.segments])  # G x T
    gm = np.array([g.gross_margin for g in s.segments])
    wins = _shift(leads * reach[None, :, None], offset / DAYS_PER_MONTH)
    revenue = wins * deal[None, :, :]
    bookings = np.einsum("rg,sgt->srt", touched.astype(float), revenue)
    margin_by_role = np.einsum("rg,sgt->srt", touched.astype(float), revenue * gm[None, :, None])
    value = _per_hour(margin_by_role.sum(axis=2, keepdims=True), hours.sum(axis=2, keepdims=True))
    return {"hours": hours, "value": np.broadcast_to(value, hours.shape).copy(), "bookings": bookings,
            "margin": (revenue * gm[None, :, None]).sum(axis=1), "wins": wins}


def _per_hour(total: np.ndarray, hours: np.ndarray) -> np.ndarray:
    return np.divide(total, hours, out=np.zeros(np.broadcast_shapes(total.shape, hours.shape)),
                     where=hours > 0)


def customers_by_tier(s: Scenario, wins: np.ndarray) -> np.ndarray:
    """Expected customers (S x K x T): start stock plus half the month's wins, churn monthly."""
    tiers = [t.name for t in s.support.tiers]
    seg_tier = np.array([tiers.index(g.support_tier) for g in s.segments], dtype=np.int64)
    new = np.zeros((wins.shape[0], len(tiers), wins.shape[2]))
    np.add.at(new, (slice(None), seg_tier), wins)
    stock = np.broadcast_to(np.array([t.customers_start for t in s.support.tiers], float)[None, :],
                            new.shape[:2]).copy()
    out = np.zeros_like(new)
    keep = 1.0 - s.support.monthly_churn
    for t in range(new.shape[2]):  # a stock recursion over months; vectorised over cases x tiers
        out[:, :, t] = stock + 0.5 * new[:, :, t]
        stock = (stock + new[:, :, t]) * keep
    return out


def support_load(s: Scenario, tickets: np.ndarray) -> SupportLoad:
    """The staffing inputs for one case's tickets (K x T)."""
    sup = s.support
    return SupportLoad(
        tickets_per_month=tickets, aht_seconds=np.array([t.aht_seconds for t in sup.tiers]),
        target=np.array([t.target for t in sup.tiers]),
        within_seconds=np.array([t.within_seconds for t in sup.tiers]),
        open_hours_per_month=sup.open_hours_per_month, patience_seconds=sup.patience_seconds,
        pattern=None if sup.arrival_pattern is None else np.asarray(sup.arrival_pattern, float))


def _ops_floor(s: Scenario, plan: Plan, n_months: int) -> tuple[PeopleFloor, ...]:
    ops = tuple(i for i, r in enumerate(s.roles) if r.kind == "ops")
    if not ops or not plan.arr_ops_rule:
        return ()
    arr = s.company.arr_today * (1.0 + s.company.arr_growth_per_year) ** (np.arange(n_months) / 12.0)
    thresholds = np.array([t for t, _ in defaults.ARR_OPS_ROLES])
    band = np.searchsorted(thresholds, arr, side="right") - 1
    return (PeopleFloor(roles=ops, people=np.maximum(band, 1).astype(float), label="ops roles ARR calls for"),)


def ops_role_called_for(s: Scenario, months: list[str]) -> dict[str, str]:
    """Month -> the ops role name ARR calls for on the company's ARR path."""
    t = np.arange(len(months))
    arr = s.company.arr_today * (1.0 + s.company.arr_growth_per_year) ** (t / 12.0)
    thresholds = np.array([th for th, _ in defaults.ARR_OPS_ROLES])
    band = np.searchsorted(thresholds, arr, side="right") - 1
    return {m: defaults.ARR_OPS_ROLES[b][1] for m, b in zip(months, band.tolist(), strict=True)}


def _fixed_hires(s: Scenario, plan: Plan, months: list[str]) -> np.ndarray | None:
    """R x T fixed hires: the named roles' table (0 in months not listed), the other roles NaN
    (optimised) or 0 (`other_roles: no_hires`)."""
    if plan.fixed_hires is None or (not plan.fixed_hires and plan.other_roles == "optimise"):
        return None
    names = [r.name for r in s.roles]
    out = np.full((len(names), len(months)), 0.0 if plan.other_roles == "no_hires" else np.nan)
    for name in {h.role for h in plan.fixed_hires}:
        out[names.index(name)] = 0.0
    for h in plan.fixed_hires:  # a short hand-made table from the scenario file
        out[names.index(h.role), month_index(months[0], h.month)] += h.hires
    return out


def build_problem(s: Scenario, plan: Plan, months: list[str], demand: dict[str, np.ndarray],
                  support_hours: np.ndarray | None) -> HiringProblem:
    """The plain-data hiring problem of a scenario (demand from `funnel_demand`, support hours S x T)."""
    roles = s.roles
    names = [r.name for r in roles]

    def arr(f: Callable[[Role], float]) -> np.ndarray:
        return np.array([f(r) for r in roles], dtype=float)

    cap = arr(lambda r: capacity_hours_per_person(s, r))
    # shocks: a hiring freeze zeroes a role's starts, an attrition spike multiplies its leaving rate
    hire_cap = np.array([r.max_hires_per_month * hiring_cap_factor(s, r.name, months) for r in roles])
    attrition = np.minimum(monthly_attrition(arr(lambda r: r.attrition_per_year))[:, None]
                           * np.array([attrition_factor(s, r.name, months) for r in roles]), 1.0)
    hours, value = demand["hours"].copy(), demand["value"].copy()
    if support_hours is not None:
        k = names.index(s.support.role)
        hours[:, k] += support_hours
        role = roles[k]
        per_hour = s.support.value_per_agent_hour
        if per_hour is None:
            per_hour = SUPPORT_VALUE_FACTOR * role.cost_per_month / max(cap[k], 1e-9)
        value[:, k] = np.where(hours[:, k] > 0, np.maximum(value[:, k], per_hour), value[:, k])
    weights = np.array([getattr(plan.case_weights, c) for c in plan.cases], dtype=float)
    support_role = s.support.role if s.support is not None else None
    stage_roles = {st.role for st in s.funnel.stages} if s.funnel is not None else set()
    deal_roles = tuple(i for i, n in enumerate(names) if n in stage_roles and n != support_role)
    return HiringProblem(
        roles=tuple(names), months=tuple(months), cases=tuple(plan.cases),
        case_weights=weights if weights.sum() > 0 else np.ones(len(weights)),
        lead_time=np.array([r.hiring_lead_time_months for r in roles], dtype=np.int64),
        ramp=tuple(tuple(r.ramp) for r in roles),
        attrition_per_month=attrition,
        cost_per_month=arr(lambda r: r.cost_per_month), capacity_hours_per_person=cap,
        headcount_start=arr(lambda r: r.headcount_start),
        max_hires_per_month=np.floor(hire_cap + 1e-9),
        min_headcount=arr(lambda r: r.min_headcount),
        max_headcount=arr(lambda r: np.inf if r.max_headcount is None else r.max_headcount),
        commission_rate=arr(lambda r: r.commission_rate), quota_per_month=arr(lambda r: r.quota_per_month),
        accelerator=arr(lambda r: r.accelerator), required_hours=hours, value_per_hour=value,
        bookings=demand["bookings"], gross_margin=demand["margin"],
        budget_per_month=None if plan.budget_per_month is None else np.full(len(months), plan.budget_per_month),
        ratios=tuple(RatioRule(names.index(q.role), tuple(names.index(o) for o in q.over), q.max_per)
                     for q in plan.ratios),
        people_floors=_ops_floor(s, plan, len(months)), deal_roles=deal_roles, fixed_hires=_fixed_hires(s, plan, months),
        backfill=plan.backfill == "replace", objective=plan.objective, risk=plan.risk,
        shared_months=plan.shared_months, time_limit_s=plan.time_limit_s, mip_gap=plan.mip_gap,
        max_nodes=plan.max_nodes)


def simulated_case(s: Scenario, plan: Plan) -> str:
    """The case whose plan goes to plan/hiring.csv: the simulation's case, else base."""
    wanted = s.simulation.case if s.simulation is not None else "base"
    if wanted in plan.cases:
        return wanted
    return "base" if "base" in plan.cases else plan.cases[0]


def _staffing_table(s: Scenario, months: list[str], loads: dict[str, SupportLoad],
                    reqs: dict[str, Requirement], result: HiringResult) -> pd.DataFrame:
    frames = []
    role = s.support.role
    for case, load in loads.items():
        req = reqs[case]
        if result.plan.empty:
            planned = np.zeros(len(months), dtype=np.int64)
        else:
            rows = result.plan[(result.plan["case"] == case) & (result.plan["role"] == role)]
            planned = np.floor(rows["capacity_hours"].to_numpy(float) / load.open_hours_per_month
                               + 1e-6).astype(np.int64)
        sl, wait = achieved(load, req, planned)
        frames.append(pd.DataFrame({"case": case, "month": months, "role": role,
                                    "required_agents": req.agents.astype(np.int64),
                                    "planned_agents": planned, "service_level": sl,
                                    "asa_seconds": np.where(np.isfinite(wait), wait, np.nan)}))
    return pd.concat(frames, ignore_index=True)


def staffing_by_week_hour(months: list[str], req: Requirement, planned: np.ndarray) -> pd.DataFrame:
    """The roster behind an hour-of-week arrival pattern: per month and week hour (0 = Monday
    00:00-01:00) the agents on the phone Erlang asks for and those the plan puts there."""
    on_phone = hourly_on_phone(req, planned)
    t, hours = on_phone.shape
    week_hour = np.tile(np.arange(hours), t)
    return pd.DataFrame({"month": np.repeat(months, hours), "week_hour": week_hour,
                         "weekday": np.array(WEEKDAYS)[week_hour // 24], "hour": week_hour % 24,
                         "required_agents": req.hourly.ravel().astype(np.int64),
                         "planned_agents": on_phone.ravel()})


def _by_role_month(frame: pd.DataFrame, value: str, tol: float = 1e-6) -> dict[str, dict[str, float]]:
    hit = frame[frame[value] > tol]
    return {str(r): {str(m): round(float(v), 3) for m, v in zip(g["month"], g[value], strict=True)}
            for r, g in hit.groupby("role", sort=False)}


def _mode(s: Scenario, plan: Plan) -> str:
    """`optimise` (no fixed plan), `evaluate` (every role fixed) or `partial` (some roles fixed)."""
    named = {h.role for h in plan.fixed_hires or []}
    if plan.fixed_hires is None or (not named and plan.other_roles == "optimise"):
        return "optimise"
    return "evaluate" if plan.other_roles == "no_hires" or named >= {r.name for r in s.roles} else "partial"


def _penalties(cases: pd.DataFrame) -> dict[str, float]:
    """Penalty prices inside the objective (currency, weighted over cases): not P&L figures."""
    w = cases["weight"]
    return {"uncovered_hours": round(float((cases["lost_margin"] * w).sum()), 2),
            "budget_overrun_currency": round(float((cases["budget_overrun"] * w).sum()), 2),
            "people_shortfall_person_months": round(float((cases["people_shortfall"] * w).sum()), 3)}


def _case_figures(result: HiringResult) -> dict[str, dict[str, float]]:
    """Per case: weight, hires, people cost (money model), shortfall hours, and the objective's
    penalty for uncovered hours (`uncovered_hours_penalty`, currency)."""
    cost = result.plan.groupby("case", sort=False)["cost"].sum()
    out = {}
    for row in result.cases.itertuples():
        out[str(row.case)] = {"weight": round(float(row.weight), 3), "hires": round(float(row.hires), 3),
                              "people_cost": round(float(cost.get(row.case, 0.0)), 3),
                              "shortfall_hours": round(float(row.shortfall_hours), 3),
                              "uncovered_hours_penalty": round(float(row.lost_margin), 3),
                              "budget_overrun": round(float(row.budget_overrun), 3),
                              "people_shortfall": round(float(row.people_shortfall), 3)}
    return out


def _summary(s: Scenario, plan: Plan, result: HiringResult, case: str,
             staffing: pd.DataFrame | None, months: list[str]) -> dict:
    out = {k: v for k, v in result.solve.as_dict().items() if k != "solver"}
    out["objective_kind"] = plan.objective
    out["risk"] = plan.risk
    out["mode"] = _mode(s, plan)
    out["simulated_case"] = case
    if result.plan.empty:
        return out
    out["penalties"] = _penalties(result.cases)
    out["cases"] = _case_figures(result)
    mine = result.plan[result.plan["case"] == case]
    out["shortfall_hours"] = round(float(mine["shortfall_hours"].sum()), 3)
    out["hires"] = {str(r): int(v) for r, v in mine.groupby("role", sort=False)["hires"].sum().items()}
    out["shortfall_by_role_month"] = _by_role_month(mine, "shortfall_hours")
    gaps = result.people_gaps
    gaps = gaps[gaps["case"] == case].rename(columns={"rule": "role"})
    out["people_shortfall_by_rule_month"] = _by_role_month(gaps, "people")
    out["vss"] = None if result.vss is None else round(float(result.vss), 2)
    # the incumbents' VSS is exact only when both solves reached the requested gap; the interval
    # is what the two solves' bounds prove about the true VSS whatever gaps they stopped at
    out["vss_interval"] = None if result.vss_bounds is None else [round(float(x), 2) for x in result.vss_bounds]
    eev = result.extra_solves.get("hiring_eev")
    out["vss_within_gap"] = (None if result.vss is None else
                             bool(result.solve.status == "optimal" and eev is not None and eev.status == "optimal"))
    out["base_plan_objective"] = (None if result.base_plan_objective is None
                                  else round(float(result.base_plan_objective), 2))
    if any(r.kind == "ops" for r in s.roles):
        out["ops_role_called_for"] = ops_role_called_for(s, months)
    if staffing is not None:
        st = staffing[staffing["case"] == case]
        out["staffing"] = {"months_below_target": int((st["planned_agents"] < st["required_agents"]).sum()),
                           "min_service_level": round(float(st["service_level"].min()), 4),
                           "required_agents_peak": int(st["required_agents"].max())}
    return out


def _bindings(problem: HiringProblem, plan: Plan, mine: pd.DataFrame, case: str) -> list[dict]:
    """The limits the simulated case's plan sits on, valued by re-solving when `plan.what_binds`."""
    found = find_bindings(problem, mine, plan.budget_step)
    if plan.what_binds:
        found = value_bindings(case_problem(problem, problem.cases.index(case)), found)
    return [b.as_dict() for b in found]


def hires_yaml(s: Scenario, plan: pd.DataFrame, case: str) -> str:
    """The plan's hires in exactly the form `plan.fixed_hires` reads: one row per role and start
    month with hires, and a zero row in the first month for a role that hires nobody, so the
    frozen plan names (fixes) every role."""
    rows = []
    for role in s.roles:
        mine = plan[(plan["role"] == role.name) & (plan["hires"] > 0)]
        pairs = list(zip(mine["month"].astype(str), mine["hires"].astype(int), strict=True))
        for month, hires in pairs or [(str(plan["month"].iloc[0]), 0)]:
            item = {"month": month, "role": role.name, "hires": int(hires)}
            rows.append("- " + yaml.safe_dump(item, default_flow_style=True, sort_keys=False,
                                              width=1000).strip())
    head = (f"# Hiring plan of '{s.name}' ({case} case): hires by role and start month, in the form\n"
            "# plan.fixed_hires reads. Freeze it by pasting this list under `plan: fixed_hires:`\n"
            "# (edit any row; roles you delete from it are optimised unless plan.other_roles: no_hires).\n")
    return head + "\n".join(rows) + "\n"


def _required(loaded: LoadedScenario, case: str, load: SupportLoad) -> Requirement:
    """Agents the support load needs; a load beyond the Erlang formulas' range is bad input."""
    try:
        return required_agents(load)
    except ValueError as exc:
        raise InputError.single(str(loaded.path), "support.tiers", f"the {case} case's ticket load: {exc}",
                                "fewer customers or tickets per customer") from None


def plan_supply(loaded: LoadedScenario, forecast: pd.DataFrame) -> StageOutput:
    """Hiring plan (optimised or a hand-made one evaluated) and support staffing for a scenario."""
    s = loaded.scenario
    plan = s.plan or Plan()
    months = month_range(s.horizon.start, s.horizon.months)
    cases = list(plan.cases)
    demand = funnel_demand(s, lead_array(s, forecast, cases, months), months)
    loads, reqs, customers, support_hours = {}, {}, None, None
    if s.support is not None:
        customers = customers_by_tier(s, demand["wins"])
        tpm = np.array([t.tickets_per_customer_month for t in s.support.tiers])
        for i, case in enumerate(cases):
            loads[case] = support_load(s, customers[i] * tpm[:, None])
            reqs[case] = _required(loaded, case, loads[case])
        support_hours = np.stack([reqs[c].agent_hours for c in cases])
    problem = build_problem(s, plan, months, demand, support_hours)
    result = solve_hiring(problem, with_vss=plan.value_of_stochastic_solution)
    result = replace(result, plan=restate_costs(s, forecast, result.plan, months))
    case = simulated_case(s, plan)
    staffing = _staffing_table(s, months, loads, reqs, result) if s.support is not None else None
    summary = _summary(s, plan, result, case, staffing, months)
    if not result.plan.empty:
        summary["binding"] = _bindings(problem, plan, result.plan[result.plan["case"] == case], case)
    if str(result.solve.status) in FAILED_STATUSES:
        summary["diagnosis"] = diagnose_hiring(s, problem, str(result.solve.status))
    out = StageOutput(name="hiring", summary=summary, solves={"hiring": result.solve, **result.extra_solves})
    hiring = capacity = staffed = hourly = customer_frame = None
    if not result.plan.empty:
        mine = result.plan[result.plan["case"] == case].reset_index(drop=True)
        out.tables["plan/hiring.csv"] = mine[HIRING_COLUMNS]
        out.tables["plan/hiring_cases.csv"] = result.plan[["case", "decided_month", *HIRING_COLUMNS,
                                                            "capacity_hours", "required_hours",
                                                            "shortfall_hours", "base_cost", "variable_pay"]]
        hiring, capacity = mine, mine[["month", "role", "capacity_hours"]]
        out.texts["plan/hires.yaml"] = hires_yaml(s, mine, case)
    if staffing is not None and not result.plan.empty:
        mine_st = staffing[staffing["case"] == case].reset_index(drop=True)
        out.tables["plan/staffing.csv"] = mine_st[STAFFING_COLUMNS]
        k = cases.index(case)
        if reqs[case].hourly is not None:
            hourly = staffing_by_week_hour(months, reqs[case], mine_st["planned_agents"].to_numpy())
            out.tables["plan/staffing_hourly.csv"] = hourly
        staffed = mine_st[STAFFING_COLUMNS]
        customer_frame = pd.DataFrame({
            "month": np.tile(months, len(s.support.tiers)),
            "tier": np.repeat([t.name for t in s.support.tiers], len(months)),
            "customers": customers[k].ravel()})
    out.result = SupplyOut(hiring, capacity, staffed, hourly, customer_frame)
    return out
