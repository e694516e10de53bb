"""Uncapacitated p-median by the radius (covering) formulation, truncated and extended on demand.

Elloumi (2010) and García, Labbé and Marín (2011): for unit i let D_i^0 < D_i^1 < ... be the
distinct distances to candidate centres. With y_j = 1 when j is open and z_ik = 1 when no open
centre lies within D_i^k, the cost of i is

    w_i * (D_i^0 + sum_k (D_i^{k+1} - D_i^k) z_ik),
    z_i0 + sum_{j: d_ij <= D_i^0} y_j >= 1,   z_ik - z_i,k-1 + sum_{j: d_ij = D_i^k} y_j >= 0,

(the chained rows have as many nonzeros as unit-centre pairs, not one row per radius over all
closer centres). Keeping only the radii k < T_i undercounts a unit whose nearest open centre is
farther than D_i^{T_i}: the truncated model is a relaxation, so its bound is valid for the full
problem, and when its optimal centres put every unit within D_i^{T_i} the solution is optimal for
the full problem too. Otherwise T_i grows for the units that were cut short and the model is
solved again (the check that no excluded radius could improve the solution). T_i starts at the
heuristic's distance for each unit (or its Lagrangian price where that reaches farther), so the
heuristic solution is always representable, and grows first by LP rounds: the LP relaxation is
solved and every unit it undercharges gets more radii, until the truncated LP equals the full
one; only then is the MILP solved, warm-started from the heuristic and cut off at its cost.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from solvers.rows import add_rows, var_array
from solvers.solve import SolveResult, Status, relative_gap, solve


@dataclass(frozen=True)
class RadiusSolution:
    """Open centres (candidate column indices), the solve record and the number of rounds."""

    centres: np.ndarray
    result: SolveResult
    rounds: int
    true_cost: float


SLACK = 5
"""Extra radii kept beyond what the current solution needs: fewer rounds of re-solving (each
round rebuilds the Pyomo model, whose overhead dominates at a few hundred units)."""


@dataclass(frozen=True)
class _Radii:
    """Per unit: sorted distinct distances `radii[i]` and the kept radius indices `kept[i]`
    (sorted, always holding 0, all below len(radii[i]) - 1)."""

    radii: list[np.ndarray]
    kept: list[np.ndarray]


PROOF_OPTIONS = {
    "mip_allow_restart": False, "mip_heuristic_effort": 0.0, "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False, "mip_heuristic_run_root_reduced_cost": False,
    "mip_heuristic_run_zi_round": False, "mip_heuristic_run_shifting": False,
    "mip_heuristic_run_feasibility_jump": False, "mip_lp_solver": "ipm",
}
"""HiGHS settings for the warm-started MILP. Its start (the interchange heuristic's plan) is
usually optimal already, so the time goes into the proof; HiGHS's primal heuristics (sub-MIPs,
rounding, feasibility jump) and root restarts took most of it for nothing (random n = 400,
p = 10: 5 nodes, MILP 13.5 s -> 4.8 s; n = 300, p = 10, whose start is 0.2 % off: 8.7 -> 2.7 s).
Better plans still come from the LP and the branching. The MIP's LP relaxations use the
interior-point solver: its root LP took the dual simplex 15 s at n = 900, p = 5 (whole solve
60-74 s -> 42 s; n = 600, p = 10: 48 -> 34 s)."""
FULL_RADII = 10_000
"""Up to this many unit x candidate entries every radius is kept: one exact model, no rounds.
Each round re-solves a MILP from scratch, and with few candidates left after the Lagrangian
reduction (e.g. 37 of 200 for pmed6) the untruncated model is small anyway."""


def _initial_radii(dist: np.ndarray, reach: np.ndarray) -> _Radii:
    """Keep every radius below the heuristic distance `reach[i]` of each unit (every radius
    when the matrix is small, see FULL_RADII)."""
    radii = [np.unique(row) for row in dist]
    kept = []
    full = dist.size <= FULL_RADII
    for r, h in zip(radii, reach, strict=True):
        top = min(int(np.searchsorted(r, h - 1e-9, side="left")), len(r) - 1)
        top = len(r) - 1 if full else min(top + SLACK, len(r) - 1)
        kept.append(np.arange(max(top, 1)) if len(r) > 1 else np.arange(0))
    return _Radii(radii, kept)


def _add_needed(rad: _Radii, near: np.ndarray) -> tuple[_Radii, int]:
    """Extend the kept radii of every unit whose nearest open centre (index t in its radii)
    lies beyond them, up to t - 1, so the next model charges it exactly."""
    kept, added = list(rad.kept), 0
    for i, (r, k) in enumerate(zip(rad.radii, rad.kept, strict=True)):
        t = int(np.searchsorted(r, near[i] - 1e-9, side="left"))
        if t - 1 > (k[-1] if len(k) else -1):
            kept[i] = np.arange(min(t + SLACK, len(r) - 1))
            added += 1
    return _Radii(rad.radii, kept), added


def _build(
    dist: np.ndarray, weight: np.ndarray, p: int, rad: _Radii,
    cost_limit: float | None, avoid: np.ndarray | None, relax: bool = False,
) -> pyo.ConcreteModel:
    """Reduced-radius model: for kept radii S_0 = 0 < S_1 < ..., z_k charges
    w (D^{S_k + 1} - D^{S_{k-1} + 1}), a lower bound that is exact for a unit whose nearest
    open centre is at D^t exactly when t - 1 is kept."""
    n, m = dist.shape
    model = pyo.ConcreteModel()
    model.y = pyo.Var(range(m), bounds=(0.0, 1.0)) if relax else pyo.Var(range(m), domain=pyo.Binary)
    sizes = np.array([len(k) for k in rad.kept])
    nz = int(sizes.sum())
    model.z = pyo.Var(range(nz), bounds=(0.0, 1.0))
    yv, zv = var_array(model.y), var_array(model.z)
    zoff = np.concatenate([[0], np.cumsum(sizes)])
    ptr, vars_, coefs, zcoef, lower = [0], [], [], np.empty(nz), np.zeros(nz)
    for i in range(n):
        r, kept = rad.radii[i], rad.kept[i]
        t = len(kept)
        if t == 0:
            continue
        upper = r[kept + 1]
        zcoef[zoff[i]: zoff[i + 1]] = weight[i] * np.diff(np.r_[r[0], upper])
        lower[zoff[i]] = 1.0
        band = np.searchsorted(r[kept], dist[i], side="left")  # first kept radius covering j
        order = np.argsort(band, kind="stable")
        starts = np.concatenate([[0], np.cumsum(np.bincount(band[band < t], minlength=t))])
        for k in range(t):
            js = order[starts[k]: starts[k + 1]]
            vars_.append(zv[zoff[i] + k])
            coefs.append(1.0)
            if k:
                vars_.append(zv[zoff[i] + k - 1])
                coefs.append(-1.0)
            vars_.extend(yv[js])
            coefs.extend([1.0] * len(js))
            ptr.append(len(coefs))
    add_rows(model, "cover", np.asarray(ptr), np.asarray(vars_, dtype=object), np.asarray(coefs), lower, None)
    model.count = pyo.Constraint(expr=pyo.quicksum(yv) == p)
    model.zoff = zoff  # plain array kept on the model for `_set_start`
    base = float(weight @ np.array([r[0] for r in rad.radii]))
    model.cost = pyo.Expression(expr=base + pyo.quicksum(c * v for c, v in zip(zcoef, zv, strict=True) if c))
    if cost_limit is None:
        model.obj = pyo.Objective(expr=model.cost, sense=pyo.minimize)
    else:
        model.limit = pyo.Constraint(expr=model.cost <= cost_limit)
        model.obj = pyo.Objective(expr=pyo.quicksum(yv[avoid]), sense=pyo.minimize)
    return model


def _set_start(model: pyo.ConcreteModel, rad: _Radii, centres: np.ndarray, near: np.ndarray) -> None:
    """Give every variable the value of the solution that opens `centres` (nearest open distance
    `near[i]` of unit i): y_j = 1 for open j, z_ik = 1 while no open centre lies within the k-th
    kept radius. Handed to HiGHS as a starting incumbent (`solve(..., warm_start=True)`)."""
    y = np.zeros(len(model.y))
    y[centres] = 1.0
    for v, val in zip(model.y.values(), y, strict=True):
        v.set_value(float(val))
    z = np.zeros(len(model.z))
    zoff = model.zoff
    for i, (r, kept) in enumerate(zip(rad.radii, rad.kept, strict=True)):
        if len(kept):
            z[zoff[i]: zoff[i + 1]] = near[i] > r[kept] + 1e-9
    for v, val in zip(model.z.values(), z, strict=True):
        v.set_value(float(val))


def solve_radius(
    dist: np.ndarray, weight: np.ndarray, p: int, start_centres: np.ndarray,
    *, time_limit_s: float | None = None, mip_gap: float | None = None,
    cost_limit: float | None = None, avoid: np.ndarray | None = None, max_rounds: int = 100,
    prices: np.ndarray | None = None,
) -> RadiusSolution:
    """Optimal p centres among the columns of `dist` (units x candidates), weights `weight`.

    `start_centres` (a feasible heuristic solution) sets the first radii, or `prices` (per
    unit, in weight x distance, e.g. Lagrangian multipliers) where they reach farther. With `cost_limit`
    the model instead minimises the number of open centres among `avoid` subject to a weighted
    cost <= cost_limit (used to find diverse near-optimal alternatives).
    """
    keep = weight > 0
    d, w = dist[keep], weight[keep]
    reach = d[:, start_centres].min(axis=1)
    rad = _initial_radii(d, reach if prices is None else np.maximum(reach, prices[keep] / w))
    deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
    build_total, solve_total, last, rounds, short = 0.0, 0.0, None, 0, 1
    near = reach
    best_centres, best_near = np.asarray(start_centres), reach
    if cost_limit is None:
        rad = _lp_radii(d, w, p, rad, deadline)
    while rounds < max_rounds:
        rounds += 1
        last, centres = _solve_round(d, w, p, rad, cost_limit, avoid, (best_centres, best_near),
                                     deadline, mip_gap)
        build_total += last.build_s
        solve_total += last.solve_s
        if centres is None:
            break
        near = d[:, centres].min(axis=1)
        if w @ near < w @ best_near:
            best_centres, best_near = centres, near
        rad, short = _add_needed(rad, near)
        if not short or (deadline is not None and time.perf_counter() > deadline):
            break
    assert last is not None
    if not last.has_solution:
        return RadiusSolution(np.sort(start_centres), _final(last, None, build_total, solve_total), rounds,
                              float(w @ reach))
    true_cost = float(w @ near)
    status = last.status if not short else Status.FEASIBLE
    bound = last.bound if cost_limit is None else None
    result = SolveResult(
        status=status, termination=last.termination, objective=true_cost if cost_limit is None else last.objective,
        bound=bound, gap=relative_gap(true_cost, bound) if cost_limit is None else last.gap,
        build_s=build_total, solve_s=solve_total,
    )
    return RadiusSolution(centres, result, rounds, true_cost)


def _solve_round(d: np.ndarray, w: np.ndarray, p: int, rad: _Radii, cost_limit: float | None,
                 avoid: np.ndarray | None, best: tuple[np.ndarray, np.ndarray], deadline: float | None,
                 mip_gap: float | None) -> tuple[SolveResult, np.ndarray | None]:
    """Build and solve the model over the kept radii `rad`: its solve record and its open
    centres (None without a solution). Without `cost_limit` it starts from the best known plan
    `best` (open centres, each unit's nearest open distance), whose cost also cuts nodes off."""
    t0 = time.perf_counter()
    model = _build(d, w, p, rad, cost_limit, avoid)
    options = None
    if cost_limit is None:
        # start from the best known centres; their cost is exact in the model (radii cover
        # them), so it is also a valid cutoff: HiGHS prunes nodes that cannot beat it
        _set_start(model, rad, *best)
        upper = float(w @ best[1])
        options = {"objective_bound": upper + 1e-6 * max(1.0, abs(upper)), **PROOF_OPTIONS}
    build_s = time.perf_counter() - t0
    left = None if deadline is None else max(1.0, deadline - time.perf_counter())
    res = solve(model, build_s=build_s, time_limit_s=left, mip_gap=mip_gap,
                options=options, warm_start=cost_limit is None)
    if not res.has_solution:
        return res, None
    y = np.array([pyo.value(v) for v in model.y.values()])
    return res, np.flatnonzero(y > 0.5)


LP_OPTIONS = {"solver": "ipm"}
"""The LP relaxations that choose the radii go to HiGHS's interior-point solver (with crossover):
on n = 900, p = 5 one takes 3.1 s instead of 15.9 s with the dual simplex."""
LP_ROUNDS = 20
"""Most LP relaxations solved to choose the radii before the MILP (0: none)."""


def _lp_radii(d: np.ndarray, w: np.ndarray, p: int, rad: _Radii, deadline: float | None) -> _Radii:
    """Extend the kept radii until the LP relaxation undercharges no unit: a unit whose LP
    coverage stops short of its last kept radius (z > 0 there) gets SLACK more radii. The MILP
    then starts from a model whose LP bound is the full formulation's (García, Labbé and Marín
    2011 generate radii from the LP the same way)."""
    for _ in range(LP_ROUNDS):
        if deadline is not None and time.perf_counter() > deadline:
            break
        model = _build(d, w, p, rad, None, None, relax=True)
        left = None if deadline is None else max(1.0, deadline - time.perf_counter())
        res = solve(model, time_limit_s=left, options=LP_OPTIONS)
        if res.status != Status.OPTIMAL:
            break
        z = np.array([v.value or 0.0 for v in model.z.values()])
        kept, added = list(rad.kept), 0
        for i, (r, k) in enumerate(zip(rad.radii, rad.kept, strict=True)):
            if len(k) and k[-1] < len(r) - 2 and z[model.zoff[i + 1] - 1] > 1e-6:
                kept[i] = np.arange(min(k[-1] + 1 + max(SLACK, 1), len(r) - 1))
                added += 1
        if not added:
            break
        rad = _Radii(rad.radii, kept)
    return rad


def _final(last: SolveResult, objective: float | None, build_s: float, solve_s: float) -> SolveResult:
    return SolveResult(last.status, last.termination, objective, last.bound,
                       relative_gap(objective, last.bound), build_s, solve_s)


def is_integral(values: np.ndarray) -> bool:
    """True when every finite value is a whole number (integer distances and weights)."""
    finite = values[np.isfinite(values)]
    return bool(np.all(np.abs(finite - np.round(finite)) < 1e-9)) and not math.isnan(finite.sum())
