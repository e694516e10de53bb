"""Hiring plan: solve the MILP of `solvers.hiring_model`, read the plan back, and value the
stochastic solution (VSS = RP - EEV: the base-case plan's first-stage hires fixed in the
multi-case model, later hires re-optimised per case).

With the first stage fixed nothing links the cases, so the EEV is solved case by case (S small
MILPs, each with 1/S of the time limit) and its plan warm-starts the stochastic (RP) solve: the RP
incumbent is never worse than the EEV's, so the reported VSS is >= 0. When either solve stops
above the gap, `HiringResult.vss_bounds` gives the range of the true VSS that the incumbents and
bounds prove: [max(0, RP - EEV bound), RP bound - EEV] for margin (mirrored for cost).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd

from solvers.hiring_model import (
    HiringProblem,
    HiringResult,
    PeopleFloor,
    RatioRule,
    build_model,
    commission_active,
    hire_ids,
    lost_margin,
    monthly_attrition,
    ramp_deficit,
    revenue_per_hour,
)
from solvers.solve import SolveResult, Status, relative_gap, solve

__all__ = ["HiringProblem", "HiringResult", "PeopleFloor", "RatioRule", "build_model", "case_problem",
           "effective_people", "monthly_attrition", "solve_hiring"]


def _values(var: np.ndarray) -> np.ndarray:
    return np.array([np.nan if x.value is None else x.value for x in var], dtype=float)


def _decided_labels(p: HiringProblem) -> np.ndarray:
    """R x T label of the month each start month's hire is decided in (may precede the horizon)."""
    first = pd.Period(p.months[0], freq="M")
    offsets = np.arange(len(p.months))[None, :] - p.lead_time[:, None]
    labels = {int(o): (first + int(o)).strftime("%Y-%m") for o in np.unique(offsets)}
    return np.vectorize(labels.__getitem__, otypes=[object])(offsets)


def effective_people(p: HiringProblem, hires: np.ndarray, headcount: np.ndarray) -> np.ndarray:
    """S x R x T ramped people: headcount minus the unramped part of recent cohorts."""
    deficit = ramp_deficit(p)
    eff = headcount.copy()
    for j in range(deficit.shape[1]):
        eff[:, :, j:] -= deficit[None, :, j, j:] * hires[:, :, : hires.shape[2] - j]
    return eff


def _tables(p: HiringProblem, v: dict[str, np.ndarray], ids: np.ndarray
            ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    s, r, t = p.shape
    hires = np.rint(_values(v["h"])[ids])
    hc = _values(v["hc"]).reshape(s, r, t)
    short = _values(v["u"]).reshape(s, r, t)
    eff = effective_people(p, hires, hc)
    # hours needed beyond capacity; the MILP's own uncovered hours `short` may exceed it where
    # declaring covered work uncovered costs nothing (a deal role other than the most short one)
    gap = np.maximum(p.required_hours - eff * p.capacity_hours_per_person[None, :, None], 0.0)
    comm = np.flatnonzero(commission_active(p))
    pay = p.commission_rate[None, :, None] * (p.bookings - revenue_per_hour(p) * short)
    if len(comm):
        ex = _values(v["ex"]).reshape(s, len(comm), t)
        pay[:, comm] += (p.commission_rate * (p.accelerator - 1.0))[comm][None, :, None] * ex
    base = p.cost_per_month[None, :, None] * hc
    grid = {"case": np.repeat(p.cases, r * t), "month": np.tile(p.months, s * r),
            "decided_month": np.where(hires.ravel() > 0, np.tile(_decided_labels(p).ravel(), s), ""),
            "role": np.tile(np.repeat(p.roles, t), s)}
    plan = pd.DataFrame({**grid, "hires": hires.ravel().astype(np.int64), "headcount": hc.ravel(),
                         "effective_capacity": eff.ravel(),
                         "capacity_hours": (eff * p.capacity_hours_per_person[None, :, None]).ravel(),
                         "required_hours": p.required_hours.ravel(), "shortfall_hours": gap.ravel(),
                         "base_cost": base.ravel(), "variable_pay": pay.ravel(),
                         "cost": (base + pay).ravel()})
    lost = lost_margin(p, short).sum(axis=1)
    cost = (base + pay).sum(axis=(1, 2))
    over = _values(v["over"]).reshape(s, t).sum(axis=1) if p.budget_per_month is not None else np.zeros(s)
    gaps = _people_gaps(p, v)
    cases = pd.DataFrame({"case": list(p.cases), "weight": p.case_weights / p.case_weights.sum(),
                          "gross_margin_full": p.gross_margin.sum(axis=1), "lost_margin": lost,
                          "cost": cost, "margin": p.gross_margin.sum(axis=1) - lost - cost,
                          "shortfall_hours": gap.sum(axis=(1, 2)),
                          "people_shortfall": gaps.groupby("case", sort=False)["people"].sum()
                          .reindex(list(p.cases), fill_value=0.0).to_numpy(),
                          "budget_overrun": over, "hires": hires.sum(axis=(1, 2))})
    return plan, cases, gaps


def _people_gaps(p: HiringProblem, v: dict[str, np.ndarray]) -> pd.DataFrame:
    s, _, t = p.shape
    labels = [f"ratio {p.roles[q.role]}" for q in p.ratios] + [f.label for f in p.people_floors]
    parts = []
    if p.ratios:
        parts.append(_values(v["gap"]).reshape(s, len(p.ratios), t) / np.array([q.max_per for q in p.ratios])[None, :, None])
    if p.people_floors:
        parts.append(_values(v["floor"]).reshape(s, len(p.people_floors), t))
    if not parts:
        return pd.DataFrame({"case": [], "month": [], "rule": [], "people": []})
    values = np.concatenate(parts, axis=1)
    q = values.shape[1]
    return pd.DataFrame({"case": np.repeat(p.cases, q * t), "month": np.tile(p.months, s * q),
                         "rule": np.tile(np.repeat(labels, t), s), "people": values.ravel()})


def _empty_result(p: HiringProblem, result: SolveResult) -> HiringResult:
    cols = ["case", "month", "decided_month", "role", "hires", "headcount", "effective_capacity",
            "capacity_hours", "required_hours", "shortfall_hours", "base_cost", "variable_pay", "cost"]
    return HiringResult(result, pd.DataFrame(columns=cols), pd.DataFrame(columns=["case"]),
                        pd.DataFrame(columns=["case", "month", "rule", "people"]))


def _solve_built(p: HiringProblem, fix: np.ndarray | None = None
                 ) -> tuple[SolveResult, dict[str, np.ndarray], np.ndarray]:
    start = time.perf_counter()
    model, v = build_model(p)
    ids, _ = hire_ids(p)
    if fix is not None:  # first-stage hires given (R x T, NaN = free)
        _fix_first_stage(v, ids, fix)
    build_s = time.perf_counter() - start
    return solve(model, build_s=build_s, time_limit_s=p.time_limit_s, mip_gap=p.mip_gap,
                 options=p.solver_options()), v, ids


def _fix_first_stage(v: dict[str, np.ndarray], ids: np.ndarray, fix: np.ndarray) -> list:
    """Fix the hires of `fix` (R x T, NaN = free) and return the fixed variables."""
    first = ids[0][~np.isnan(fix)]
    fixed = list(v["h"][first])
    for var, value in zip(fixed, fix[~np.isnan(fix)].tolist(), strict=True):
        var.fix(value)
    return fixed


def case_problem(p: HiringProblem, k: int) -> HiringProblem:
    """Case k alone (weight 1): with no other case to share it, its first stage is its own (the
    case's wait-and-see problem)."""
    pick = [k]
    return replace(p, cases=(p.cases[k],), case_weights=np.ones(1), required_hours=p.required_hours[pick],
                   value_per_hour=p.value_per_hour[pick], bookings=p.bookings[pick],
                   gross_margin=p.gross_margin[pick])


def _base_case_problem(p: HiringProblem) -> HiringProblem:
    return case_problem(p, p.cases.index("base"))


_Solved = tuple[SolveResult, dict[str, np.ndarray], np.ndarray]
"""A single-case solve: result, variable values by block (flat arrays), hire ids."""


def _first_stage_of_base_plan(p: HiringProblem) -> tuple[_Solved, np.ndarray | None]:
    """Solve the base case alone; its hires decided before `shared_months` (R x T, NaN elsewhere)."""
    base_res, bv, bids = _solve_built(_base_case_problem(p))
    solved = (base_res, {b: _values(x) for b, x in bv.items()}, bids)
    if not base_res.has_solution:
        return solved, None
    base_hires = np.rint(solved[1]["h"][bids[0]])
    decided = np.arange(len(p.months))[None, :] - p.lead_time[:, None]
    return solved, np.where(decided < p.shared_months, base_hires, np.nan)


def _combine(p: HiringProblem, parts: list[SolveResult]) -> SolveResult:
    """One result for the cases solved apart with the same first stage: the expected objective
    is the weighted sum of the cases' objectives and bounds; the worst case is their min (margin)
    or max (cost), which is exact because the cases share nothing else."""
    bad = [r for r in parts if not r.has_solution]
    build_s, solve_s = sum(r.build_s for r in parts), sum(r.solve_s for r in parts)
    if bad:
        return replace(bad[0], objective=None, bound=None, gap=None, build_s=build_s, solve_s=solve_s)
    obj = np.array([r.objective for r in parts])
    bound = np.array([r.objective if r.bound is None else r.bound for r in parts])
    if p.risk == "worst":
        pick = np.min if p.objective == "margin" else np.max
        objective, best = float(pick(obj)), float(pick(bound))
    else:
        w = p.case_weights / p.case_weights.sum()
        objective, best = float(w @ obj), float(w @ bound)
    optimal = all(r.status == Status.OPTIMAL for r in parts)
    term = parts[0].termination if optimal else next(r.termination for r in parts if r.status != Status.OPTIMAL)
    return SolveResult(Status.OPTIMAL if optimal else Status.FEASIBLE, term, objective, best,
                       relative_gap(objective, best), build_s, solve_s)


def _recourse(p: HiringProblem, fix: np.ndarray, known: dict[int, _Solved] | None = None
              ) -> tuple[SolveResult, dict[str, np.ndarray] | None]:
    """The multi-case model with first-stage hires `fix` (R x T, NaN = free), solved case by case
    (nothing else links the cases, so S small solves replace one whose search tree is close to
    their product; the time limit is shared among them). `known`: cases already solved with this
    first stage (the base case: the base-only plan's later hires are its best recourse, and its
    bound bounds the recourse). Returns the combined result and the multi-case model's variable
    values (block name -> flat array), e.g. to warm-start the stochastic solve."""
    known = known or {}
    todo = [k for k in range(len(p.cases)) if k not in known]
    solved = dict(known)
    for k in todo:
        one = replace(case_problem(p, k), time_limit_s=p.time_limit_s / max(len(todo), 1))
        res, v, ids = _solve_built(one, fix)
        solved[k] = (res, {b: _values(x) for b, x in v.items()}, ids)
    parts = [solved[k] for k in range(len(p.cases))]
    result = _combine(p, [res for res, _, _ in parts])
    result = replace(result, build_s=sum(solved[k][0].build_s for k in todo),  # this solve's own time
                     solve_s=sum(solved[k][0].solve_s for k in todo))
    if not result.has_solution:
        return result, None
    rp_ids, n_hires = hire_ids(p)
    values = {b: np.concatenate([vals[b] for _, vals, _ in parts]) for b in parts[0][1] if b not in ("h", "cum")}
    values["h"], values["cum"] = np.zeros(n_hires), np.zeros(n_hires)
    for k, (_, vals, ids) in enumerate(parts):
        hires = np.rint(vals["h"][ids[0]])
        values["h"][rp_ids[k]] = hires
        values["cum"][rp_ids[k]] = np.cumsum(hires, axis=1)
    return result, values


def vss_interval(p: HiringProblem, rp: SolveResult, eev: SolveResult) -> tuple[float, float] | None:
    """Range of the true VSS that both solves' incumbents and bounds prove (currency): RP* lies
    between RP's incumbent and bound, EEV* between EEV's; VSS* >= 0 since EEV restricts RP."""
    if rp.objective is None or eev.objective is None:
        return None
    rp_bound = rp.objective if rp.bound is None else rp.bound
    eev_bound = eev.objective if eev.bound is None else eev.bound
    if p.objective == "margin":
        low, high = rp.objective - eev_bound, rp_bound - eev.objective
    else:
        low, high = eev_bound - rp.objective, eev.objective - rp_bound
    return max(low, 0.0), max(high, 0.0)


def _solve_stochastic(p: HiringProblem) -> tuple[SolveResult, dict[str, np.ndarray], np.ndarray,
                                                 dict[str, SolveResult], float | None,
                                                 float | None, tuple[float, float] | None]:
    """RP, EEV and VSS = RP - EEV (margin) or EEV - RP (cost). EEV: the base-case plan's
    first-stage hires fixed, later hires re-optimised case by case. RP: the multi-case model,
    started from the EEV plan (a feasible plan of it), so its incumbent is never worse than EEV."""
    base, fix = _first_stage_of_base_plan(p)
    solves = {"hiring_base_only": base[0]}
    eev, start_values = None, None
    if fix is not None:
        eev, start_values = _recourse(p, fix, {p.cases.index("base"): base})
        solves["hiring_eev"] = eev
    start = time.perf_counter()
    model, v = build_model(p)
    ids, _ = hire_ids(p)
    if start_values is not None:
        for block, values in start_values.items():
            for var, value in zip(v[block], values.tolist(), strict=True):
                var.set_value(value, skip_validation=True)
        if hasattr(model, "z"):
            model.z.set_value(eev.objective, skip_validation=True)
    build_s = time.perf_counter() - start
    rp = solve(model, build_s=build_s, time_limit_s=p.time_limit_s, mip_gap=p.mip_gap,
               options=p.solver_options(), warm_start=start_values is not None)
    if eev is None or not eev.has_solution or rp.objective is None:
        return rp, v, ids, solves, None, None, None
    vss = rp.objective - eev.objective if p.objective == "margin" else eev.objective - rp.objective
    return rp, v, ids, solves, vss, eev.objective, vss_interval(p, rp, eev)


def solve_hiring(p: HiringProblem, with_vss: bool = True) -> HiringResult:
    """Build and solve the hiring MILP; with several cases (and `base` among them) and no fixed
    plan, also the value of the stochastic solution. Never raises on an infeasible model."""
    if with_vss and len(p.cases) > 1 and p.fixed_hires is None and "base" in p.cases:
        result, v, ids, extra, vss, eev, interval = _solve_stochastic(p)
    else:
        (result, v, ids), extra, vss, eev, interval = _solve_built(p), {}, None, None, None
    if not result.has_solution:
        return _empty_result(p, result)
    plan, cases, gaps = _tables(p, v, ids)
    return HiringResult(result, plan, cases, gaps, vss, eev, extra, interval)
