"""Hiring MILP on hand-solvable cases: ramp and lead time, budget, attrition, pay, cases, infeasibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from solvers.hiring import HiringProblem, RatioRule, monthly_attrition, solve_hiring
from solvers.solve import Status


def months(n: int) -> tuple[str, ...]:
    return tuple(f"{2027 + (i // 12)}-{i % 12 + 1:02d}" for i in range(n))


def problem(required: np.ndarray, roles: int = 1, **overrides) -> HiringProblem:
    """A problem with `roles` identical roles (100 capacity hours a person, 1000 a month)."""
    req = np.asarray(required, float)
    req = req.reshape((-1, roles, req.shape[-1]))
    s, _, t = req.shape
    args = dict(
        roles=tuple(f"R{i}" for i in range(roles)), months=months(t),
        cases=("base",) if s == 1 else tuple(["low", "base", "high"][:s]),
        case_weights=np.full(s, 1.0 / s), lead_time=np.zeros(roles, int), ramp=((1.0,),) * roles,
        attrition_per_month=np.zeros(roles), cost_per_month=np.full(roles, 1000.0),
        capacity_hours_per_person=np.full(roles, 100.0), headcount_start=np.zeros(roles, int),
        max_hires_per_month=np.full(roles, 50), min_headcount=np.zeros(roles, int),
        max_headcount=np.full(roles, np.inf), commission_rate=np.zeros(roles),
        quota_per_month=np.zeros(roles), accelerator=np.ones(roles), required_hours=req,
        value_per_hour=np.full(req.shape, 50.0), bookings=np.zeros(req.shape),
        gross_margin=np.zeros((s, t)), objective="cost",
    )
    args.update(overrides)
    return HiringProblem(**args)


def table(result, column: str, role: str = "R0", case: str = "base") -> np.ndarray:
    plan = result.plan
    return plan.loc[(plan["role"] == role) & (plan["case"] == case), column].to_numpy(dtype=float)


def test_step_in_demand_with_ramp_and_lead_time() -> None:
    # 2 people cover 200 h; from month 6 demand is 500 h, i.e. 3 more fully ramped people.
    # Ramp 1/3, 2/3, 1: to be fully productive in month 6 they start in month 4 (6 - 3 + 1),
    # decided 2 months earlier (month 2). Any later start leaves a gap; any earlier costs more.
    req = np.where(np.arange(12) >= 6, 500.0, 200.0)
    p = problem(req, lead_time=np.array([2]), ramp=((1 / 3, 2 / 3, 1.0),), headcount_start=np.array([2]))
    res = solve_hiring(p)
    assert res.solve.status == Status.OPTIMAL
    hires = table(res, "hires")
    assert hires.tolist() == [0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]
    row = res.plan.loc[res.plan["hires"] > 0].iloc[0]
    assert (row["month"], row["decided_month"]) == ("2027-05", "2027-03")
    assert table(res, "shortfall_hours").max() == pytest.approx(0.0, abs=1e-6)
    assert table(res, "effective_capacity")[4:7] == pytest.approx([3.0, 4.0, 5.0])
    assert res.solve.objective == pytest.approx(1000 * (2 * 12 + 3 * 8))


def test_budget_too_small_reports_shortfall_and_buys_the_cheapest_hours() -> None:
    # Two roles, 1000 h of demand each (10 people), each hour worth 50; role R0 costs 1000 a
    # month, R1 2000, budget 12 000 a month: 10 people of R0 (10 000) and one of R1 (2000).
    req = np.full((1, 2, 3), 1000.0)
    p = problem(req, roles=2, cost_per_month=np.array([1000.0, 2000.0]),
                budget_per_month=np.full(3, 12_000.0), objective="margin")
    res = solve_hiring(p)
    assert res.solve.status == Status.OPTIMAL
    assert table(res, "headcount", "R0") == pytest.approx([10, 10, 10])
    assert table(res, "headcount", "R1") == pytest.approx([1, 1, 1])
    assert table(res, "shortfall_hours", "R1") == pytest.approx([900, 900, 900])
    assert table(res, "shortfall_hours", "R0") == pytest.approx([0, 0, 0], abs=1e-6)
    assert res.cases["budget_overrun"].iloc[0] == pytest.approx(0.0, abs=1e-6)
    assert res.cases["shortfall_hours"].iloc[0] == pytest.approx(2700.0)


def test_attrition_makes_the_model_backfill() -> None:
    # 10 people, 10 % leave each month, demand stays at 10 people: one hire a month from month 1.
    p = problem(np.full(12, 1000.0), headcount_start=np.array([10]), attrition_per_month=np.array([0.1]))
    res = solve_hiring(p)
    assert table(res, "hires").tolist() == [0] + [1] * 11
    assert table(res, "headcount") == pytest.approx([10.0] * 12)


def test_backfill_policy_replaces_leavers_without_demand() -> None:
    p = problem(np.zeros(8), headcount_start=np.array([10]), attrition_per_month=np.array([0.1]),
                lead_time=np.array([1]))
    assert table(solve_hiring(p), "hires").sum() == 0
    res = solve_hiring(p.__class__(**{**p.__dict__, "backfill": True}))
    # leavers of month t (0.1 x 10 = 1) are replaced in month t + 1
    assert table(res, "hires").tolist() == [0, 0] + [1] * 6


def test_monthly_attrition_from_annual_rate() -> None:
    assert monthly_attrition(1 - 0.9**12) == pytest.approx(0.1)
    assert float(monthly_attrition(0.3)) == pytest.approx(1 - 0.7 ** (1 / 12))


def test_plan_satisfies_its_own_balance_and_coverage() -> None:
    rng = np.random.default_rng(5)
    req = rng.uniform(200, 2000, size=(3, 3, 18))
    p = problem(req, roles=3, lead_time=np.array([1, 2, 0]),
                ramp=((0.25, 0.5, 0.75, 1.0), (0.5, 1.0), (1.0,)),
                attrition_per_month=np.array([0.02, 0.03, 0.01]), headcount_start=np.array([3, 5, 2]),
                max_hires_per_month=np.array([3, 3, 3]), case_weights=np.array([0.25, 0.5, 0.25]),
                objective="margin", value_per_hour=np.full(req.shape, 30.0))
    res = solve_hiring(p, with_vss=False)
    assert res.solve.has_solution
    for (_case, role), g in res.plan.groupby(["case", "role"]):
        r = int(role[1:])
        hc, hires = g["headcount"].to_numpy(), g["hires"].to_numpy()
        prev = np.concatenate([[p.headcount_start[r] / (1 - p.attrition_per_month[r])], hc[:-1]])
        assert hc == pytest.approx((1 - p.attrition_per_month[r]) * prev + hires, abs=1e-6)
        assert (hires <= 3).all() and (hires[: p.lead_time[r]] == 0).all()
        covered = g["capacity_hours"] + g["shortfall_hours"] - g["required_hours"]
        assert covered.min() >= -1e-5
    # first-stage hires (decided before month 3) are the same in every case
    wide = res.plan.pivot_table(index=["role", "month"], columns="case", values="hires")
    decided = pd.Series([(pd.Period(m, "M") - int(p.lead_time[int(r[1:])])).strftime("%Y-%m")
                         for r, m in wide.index], index=wide.index)
    first = wide[decided < "2027-04"]
    assert (first.nunique(axis=1) == 1).all()
    # a row with hires names the month they are decided in; a row without has none
    hired = res.plan["hires"] > 0
    assert (res.plan.loc[~hired, "decided_month"] == "").all()
    assert (res.plan.loc[hired, "decided_month"] != "").all()


def test_stochastic_plan_is_worth_at_least_the_base_case_plan() -> None:
    t = np.arange(18)
    low = np.full(18, 1000.0)
    high = np.where(t >= 4, 3000.0, 1000.0)
    req = np.stack([low, (low + high) / 2, high])[:, None, :]
    p = problem(req, lead_time=np.array([2]), ramp=((0.5, 1.0),), headcount_start=np.array([10]),
                case_weights=np.array([0.3, 0.4, 0.3]), objective="margin", shared_months=3,
                value_per_hour=np.full(req.shape, 40.0), max_hires_per_month=np.array([4]))
    res = solve_hiring(p)
    assert res.vss is not None
    assert res.vss >= -1e-3 * abs(res.solve.objective)
    assert res.base_plan_objective <= res.solve.objective + 1e-3 * abs(res.solve.objective)


def test_accelerated_commission_on_bookings_above_quota() -> None:
    # One rep, bookings 100 000 a month, quota 60 000, rate 10 %, accelerator 1.5:
    # pay = 0.1 x 100 000 + 0.05 x 40 000 = 12 000 a month.
    p = problem(np.full(3, 100.0), headcount_start=np.array([1]), commission_rate=np.array([0.1]),
                quota_per_month=np.array([60_000.0]), accelerator=np.array([1.5]),
                bookings=np.full((1, 1, 3), 100_000.0), fixed_hires=np.zeros((1, 3)))
    res = solve_hiring(p)
    assert table(res, "variable_pay") == pytest.approx([12_000.0] * 3)
    assert table(res, "cost") == pytest.approx([13_000.0] * 3)


def test_ratio_is_kept_when_it_pays() -> None:
    # R1 is a manager over R0: one manager per 4 of R0. 8 R0 people are needed -> 2 managers.
    req = np.zeros((1, 2, 4))
    req[0, 0] = 800.0
    p = problem(req, roles=2, ratios=(RatioRule(role=1, over=(0,), max_per=4.0),))
    res = solve_hiring(p)
    assert table(res, "headcount", "R1") == pytest.approx([2, 2, 2, 2])
    assert res.people_gaps["people"].max() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("case", ["min_above_max", "fixed_above_recruiting", "fixed_above_max"])
def test_infeasible_fixtures_report_a_status(case: str) -> None:
    kw: dict = {}
    if case == "min_above_max":
        kw = dict(min_headcount=np.array([5]), max_headcount=np.array([3.0]))
    elif case == "fixed_above_recruiting":
        kw = dict(max_hires_per_month=np.array([2]), fixed_hires=np.array([[5, 0, 0, 0]]))
    else:
        kw = dict(max_headcount=np.array([4.0]), fixed_hires=np.array([[3, 3, 0, 0]]))
    res = solve_hiring(problem(np.full(4, 100.0), **kw))
    assert res.solve.status == Status.INFEASIBLE
    assert res.plan.empty


def test_worst_case_objective_is_the_worst_case_margin() -> None:
    # A hand-made plan evaluated under two cases: the worst-case objective is the lower margin.
    req = np.stack([np.full(6, 100.0), np.full(6, 300.0)])[:, None, :]
    p = problem(req, headcount_start=np.array([2]), objective="margin", risk="worst",
                fixed_hires=np.zeros((1, 6)), gross_margin=np.full((2, 6), 10_000.0),
                case_weights=np.array([0.5, 0.5]))
    res = solve_hiring(p)
    # low: 2 people cover 100 h, margin 6 x (10 000 - 2 000); high: 100 h short a month at 50
    margins = {"low": 6 * (10_000 - 2_000), "base": 6 * (10_000 - 2_000 - 100 * 50)}
    assert res.cases.set_index("case")["margin"].to_dict() == pytest.approx(margins)
    assert res.solve.objective == pytest.approx(min(margins.values()))


def test_warm_start_hands_the_solver_a_feasible_incumbent() -> None:
    # A knapsack the root LP leaves fractional; with no nodes and no heuristics HiGHS stops without
    # an incumbent, unless it is given one: x3 = 3, x0 = 1, worth 3 x 14 + 10 = 52 (weight 85 <= 301).
    import pyomo.environ as pyo

    from solvers.solve import solve

    def knapsack() -> pyo.ConcreteModel:
        m = pyo.ConcreteModel()
        m.x = pyo.Var(range(30), domain=pyo.NonNegativeIntegers, bounds=(0, 3))
        weight = [7 + (i * 37) % 23 for i in range(30)]
        value = [10 + (i * 53) % 31 for i in range(30)]
        m.c = pyo.Constraint(expr=sum(weight[i] * m.x[i] for i in range(30)) <= 301)
        m.o = pyo.Objective(expr=sum(value[i] * m.x[i] for i in range(30)), sense=pyo.maximize)
        return m

    opts = {"mip_max_nodes": 0, "mip_heuristic_effort": 0.0, "presolve": "off"}
    assert solve(knapsack(), options=opts).objective is None
    m = knapsack()
    for i in range(30):
        m.x[i].set_value({0: 1, 3: 3}.get(i, 0))
    res = solve(m, options=opts, warm_start=True)
    assert res.has_solution and res.objective == pytest.approx(52.0)


def test_eev_by_cases_and_vss_interval_agree_with_the_joint_model() -> None:
    # Solved to optimality, the case-by-case EEV equals the joint model with the base plan's first
    # stage fixed, and the VSS lies in the proven interval (which closes to a point at gap 0).
    from solvers.hiring import _first_stage_of_base_plan, _recourse, _solve_built

    t = np.arange(10)
    low = np.full(10, 1000.0)
    high = np.where(t >= 3, 2600.0, 1000.0)
    req = np.stack([low, (low + high) / 2, high])[:, None, :]
    p = problem(req, lead_time=np.array([2]), ramp=((0.5, 1.0),), headcount_start=np.array([10]),
                case_weights=np.array([0.3, 0.4, 0.3]), objective="margin", shared_months=3,
                value_per_hour=np.full(req.shape, 40.0), max_hires_per_month=np.array([4]), mip_gap=0.0)
    base, fix = _first_stage_of_base_plan(p)
    by_case, _ = _recourse(p, fix)
    reusing_base, _ = _recourse(p, fix, {1: base})
    joint, _, _ = _solve_built(p, fix)
    assert by_case.status == joint.status == reusing_base.status == Status.OPTIMAL
    assert by_case.objective == pytest.approx(joint.objective, rel=1e-9)
    assert reusing_base.objective == pytest.approx(joint.objective, rel=1e-9)
    res = solve_hiring(p)
    low_vss, high_vss = res.vss_bounds
    assert low_vss - 1e-6 <= res.vss <= high_vss + 1e-6
    assert high_vss - low_vss == pytest.approx(0.0, abs=1e-6 * abs(res.solve.objective))


def test_decaying_people_floor_matches_brute_force() -> None:
    # One ops person (10 % leave a month) and a floor of 1, then 2 people; a missing person costs
    # 3 x 1000 a month. Enumerate all 3^5 hire plans (0-2 a month) by hand: the MILP (with its
    # rounding cuts on the floor) must find the cheapest.
    import itertools

    from solvers.hiring import PeopleFloor

    people = np.array([1.0, 1.0, 2.0, 2.0, 2.0])
    best = np.inf
    for plan in itertools.product(range(3), repeat=5):
        hc, cost = 1.0, 0.0
        for t, h in enumerate(plan):
            hc = (hc if t == 0 else 0.9 * hc) + h
            cost += 1000.0 * hc + 3000.0 * max(people[t] - hc, 0.0)
        best = min(best, cost)
    p = problem(np.zeros(5), headcount_start=np.array([1]), attrition_per_month=np.array([0.1]),
                max_hires_per_month=np.array([2]), mip_gap=0.0,
                people_floors=(PeopleFloor((0,), people, "ops"),))
    res = solve_hiring(p)
    assert res.solve.status == Status.OPTIMAL
    assert res.solve.objective == pytest.approx(best, rel=1e-9)


def test_two_funnel_roles_short_lose_the_deals_once() -> None:
    # Deals worth 10 000 margin a month need 100 h of R0 then 200 h of R1 (value 100 and 50 per
    # hour). A hand-made plan, one R1 person (100 h) and no R0: R0 is 100 % short, R1 50 %, so
    # every deal is lost once (10 000 a month), not 10 000 + 5 000. With one R0 person too, R0 is
    # covered and half the deals are lost (5 000).
    req = np.array([[[100.0] * 3, [200.0] * 3]])
    value = np.stack([np.full(3, 100.0), np.full(3, 50.0)])[None]
    common = dict(objective="margin", value_per_hour=value, gross_margin=np.full((1, 3), 10_000.0),
                  fixed_hires=np.zeros((2, 3)), cost_per_month=np.zeros(2))
    none = solve_hiring(problem(req, roles=2, headcount_start=np.array([0, 1]), deal_roles=(0, 1), **common))
    assert none.cases["lost_margin"].iloc[0] == pytest.approx(3 * 10_000.0)
    assert none.solve.objective == pytest.approx(0.0, abs=1e-6)
    half = solve_hiring(problem(req, roles=2, headcount_start=np.array([1, 1]), deal_roles=(0, 1), **common))
    assert half.cases["lost_margin"].iloc[0] == pytest.approx(3 * 5_000.0)
    assert half.solve.objective == pytest.approx(3 * 5_000.0)
    # priced role by role (no deal_roles) the same plan counts both shortfalls
    summed = solve_hiring(problem(req, roles=2, headcount_start=np.array([0, 1]), **common))
    assert summed.cases["lost_margin"].iloc[0] == pytest.approx(3 * 15_000.0)


def test_node_limit_reaches_highs_and_stops_reproducibly() -> None:
    # Two roles short of a tight budget: the root LP is fractional, so with a node limit of 0 and
    # no heuristics HiGHS must stop early (status feasible or no_solution, never optimal), the
    # same way on every run; without the limit the same problem solves to optimality.
    req = np.array([[[1050.0] * 6, [950.0] * 6]])
    kwargs = dict(objective="margin", cost_per_month=np.array([1000.0, 1300.0]),
                  budget_per_month=np.full(6, 17_000.0), gross_margin=np.zeros((1, 6)))
    assert problem(req, roles=2, max_nodes=3, **kwargs).solver_options() == {"mip_max_nodes": 3}
    full = solve_hiring(problem(req, roles=2, **kwargs), with_vss=False)
    assert full.solve.status == Status.OPTIMAL
    limited = [solve_hiring(problem(req, roles=2, max_nodes=0, **kwargs), with_vss=False) for _ in range(2)]
    assert limited[0].solve.status != Status.OPTIMAL
    assert limited[0].solve.termination == limited[1].solve.termination == "iterationLimit"
    assert limited[0].solve.objective == limited[1].solve.objective
