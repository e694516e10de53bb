"""Hiring plan: solve the MILP of `solvers.hiring_model`, read the plan back, and value the
stochastic solution (VSS = RP - EEV: the base-case plan's first-stage hires fixed in the
multi-case model, later hires re-optimised per case).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd

from solvers.common import SolveResult, solve
from solvers.hiring_model import (
    HiringProblem,
    HiringResult,
    PeopleFloor,
    RatioRule,
    build_model,
    commission_active,
    hire_ids,
    monthly_attrition,
    ramp_deficit,
    revenue_per_hour,
)

__all__ = ["HiringProblem", "HiringResult", "PeopleFloor", "RatioRule", "build_model",
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
        eff[:, :, j:] -= deficit[None, :, j, None] * hires[:, :, : hires.shape[2] - j]
    return eff


def _tables(p: HiringProblem, v: dict[str, np.ndarray], ids: np.ndarray
            ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    s, r, t = p.shape
    hires = np.rint(_values(v["h"])[ids])
    hc = _values(v["hc"]).reshape(s, r, t)
    short = _values(v["u"]).reshape(s, r, t)
    eff = effective_people(p, hires, hc)
    comm = np.flatnonzero(commission_active(p))
    pay = p.commission_rate[None, :, None] * (p.bookings - revenue_per_hour(p) * short)
    if len(comm):
        ex = _values(v["ex"]).reshape(s, len(comm), t)
        pay[:, comm] += (p.commission_rate * (p.accelerator - 1.0))[comm][None, :, None] * ex
    base = p.cost_per_month[None, :, None] * hc
    grid = {"case": np.repeat(p.cases, r * t), "month": np.tile(p.months, s * r),
            "decided_month": np.tile(_decided_labels(p).ravel(), s),
            "role": np.tile(np.repeat(p.roles, t), s)}
    plan = pd.DataFrame({**grid, "hires": hires.ravel().astype(np.int64), "headcount": hc.ravel(),
                         "effective_capacity": eff.ravel(),
                         "capacity_hours": (eff * p.capacity_hours_per_person[None, :, None]).ravel(),
                         "required_hours": p.required_hours.ravel(), "shortfall_hours": short.ravel(),
                         "base_cost": base.ravel(), "variable_pay": pay.ravel(),
                         "cost": (base + pay).ravel()})
    lost = (p.value_per_hour * short).sum(axis=(1, 2))
    cost = (base + pay).sum(axis=(1, 2))
    over = _values(v["over"]).reshape(s, t).sum(axis=1) if p.budget_per_month is not None else np.zeros(s)
    gaps = _people_gaps(p, v)
    cases = pd.DataFrame({"case": list(p.cases), "weight": p.case_weights / p.case_weights.sum(),
                          "gross_margin_full": p.gross_margin.sum(axis=1), "lost_margin": lost,
                          "cost": cost, "margin": p.gross_margin.sum(axis=1) - lost - cost,
                          "shortfall_hours": short.sum(axis=(1, 2)),
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
        first = ids[0][~np.isnan(fix)]
        for var, value in zip(v["h"][first], fix[~np.isnan(fix)].tolist(), strict=True):
            var.fix(value)
    build_s = time.perf_counter() - start
    return solve(model, build_s=build_s, time_limit_s=p.time_limit_s, mip_gap=p.mip_gap), v, ids


def _base_case_problem(p: HiringProblem) -> HiringProblem:
    k = p.cases.index("base")
    pick = [k]
    return replace(p, cases=("base",), case_weights=np.ones(1), required_hours=p.required_hours[pick],
                   value_per_hour=p.value_per_hour[pick], bookings=p.bookings[pick],
                   gross_margin=p.gross_margin[pick])


def _value_of_stochastic_solution(p: HiringProblem, rp: SolveResult
                                  ) -> tuple[float | None, float | None, dict[str, SolveResult]]:
    """VSS = RP - EEV (margin) or EEV - RP (cost): the plan made on the base case alone has its
    first-stage hires fixed in the multi-case model, which then re-optimises the later hires."""
    base = _base_case_problem(p)
    base_res, bv, bids = _solve_built(base)
    if not base_res.has_solution:
        return None, None, {"hiring_base_only": base_res}
    base_hires = np.rint(_values(bv["h"])[bids[0]])
    decided = np.arange(len(p.months))[None, :] - p.lead_time[:, None]
    fix = np.where(decided < p.shared_months, base_hires, np.nan)
    eev, _, _ = _solve_built(p, fix)
    solves = {"hiring_base_only": base_res, "hiring_eev": eev}
    if not eev.has_solution or rp.objective is None:
        return None, None, solves
    vss = rp.objective - eev.objective if p.objective == "margin" else eev.objective - rp.objective
    return vss, eev.objective, solves


def solve_hiring(p: HiringProblem, with_vss: bool = True) -> HiringResult:
    """Build and solve the hiring MILP; with several cases (and `base` among them) and no fixed
    plan, also the value of the stochastic solution. Never raises on an infeasible model."""
    result, v, ids = _solve_built(p)
    if not result.has_solution:
        return _empty_result(p, result)
    plan, cases, gaps = _tables(p, v, ids)
    vss, eev, extra = None, None, {}
    if with_vss and len(p.cases) > 1 and p.fixed_hires is None and "base" in p.cases:
        vss, eev, extra = _value_of_stochastic_solution(p, result)
    return HiringResult(result, plan, cases, gaps, vss, eev, extra)
