"""Feasible starting plan for the side-constrained assignment MILP, by location-allocation.

The centres are fixed (one per territory: the weighted 1-median of each current territory for
named territories, else the p-median heuristic's), the assignment MILP over those p centres only
(n x p pairs, seconds) places every unit under balance, capacity, disruption and the other rules,
then each territory is re-centred on its weighted 1-median and assigned again while the cost
falls (Cooper's alternation). Each centre is pinned to its own territory, so the plan is feasible
for the free-centre model: it warm-starts that MILP and its cost is the MILP's cutoff. It is only
an upper bound; the MILP decides.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
from scipy.sparse import coo_matrix

from solvers.territory_assign import solve_assignment
from solvers.territory_heuristic import solve_heuristic
from solvers.territory_problem import TerritoryProblem


def _allowed_centres(prob: TerritoryProblem) -> np.ndarray:
    """allowed[k, j]: unit j may be the centre of territory k (named: it lies in current
    territory k and may stay there; unnamed: any candidate centre)."""
    n = prob.n
    cand = np.zeros(n, dtype=bool)
    cand[np.arange(n) if prob.candidate_centres is None else np.asarray(prob.candidate_centres)] = True
    if not prob.labelled:
        return np.broadcast_to(cand, (prob.p, n))
    k = np.arange(prob.p)[:, None]
    ok = cand[None, :] & (prob.current[None, :] == k)
    if prob.pinned is not None:
        ok &= (prob.pinned[None, :] < 0) | (prob.pinned[None, :] == k)
    if prob.avoid_current is not None:
        ok &= ~prob.avoid_current[None, :]
    return ok


def _medians(prob: TerritoryProblem, members: np.ndarray, allowed: np.ndarray) -> np.ndarray | None:
    """Weighted 1-median of each territory (members[i] = territory of unit i) among its allowed
    centres; None when a territory has no allowed centre."""
    n = prob.n
    w = coo_matrix((prob.weight, (members, np.arange(n))), shape=(prob.p, n)).tocsr()
    cost = np.where(allowed, w @ prob.distance, np.inf)
    if not np.isfinite(cost.min(axis=1)).all():
        return None
    return np.argmin(cost, axis=1)


def location_allocation_start(prob: TerritoryProblem, *, time_limit_s: float | None,
                              mip_gap: float | None, rounds: int = 4, centres: np.ndarray | None = None,
                              ) -> tuple[np.ndarray, float] | None:
    """A feasible plan (centre unit of every unit) and its cost, or None if none was found.
    `centres` (p units, unnamed territories only) replaces the p-median heuristic's first centres."""
    if prob.fixed_centres is not None or prob.adjacency is not None:
        return None
    allowed = _allowed_centres(prob)
    if prob.labelled:
        if prob.current is None or len(prob.labels) != prob.p:
            return None
        centres = _medians(prob, np.maximum(prob.current, 0), allowed)
        if centres is None:
            return None
        labels = prob.labels
    else:
        cand = np.arange(prob.n) if prob.candidate_centres is None else np.asarray(prob.candidate_centres)
        if centres is None:
            centres = cand[solve_heuristic(prob.distance[:, cand], prob.weight, prob.p).centres]
        labels = tuple(f"T{k + 1}" for k in range(prob.p))
    deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
    best: tuple[np.ndarray, float] | None = None
    for _ in range(rounds):
        pin = np.full(prob.n, -1) if prob.pinned is None else prob.pinned.copy()
        pin[centres] = np.arange(prob.p)
        fixed = replace(prob, fixed_centres=centres, labels=labels, pinned=pin)
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left < 1.0:
            break
        sol = solve_assignment(fixed, max_candidates=None, time_limit_s=left, mip_gap=mip_gap)
        if not sol.result.has_solution:
            break
        plan = centres[sol.assign]
        cost = prob.plan_cost(plan)
        if best is not None and cost >= best[1] - 1e-9 * max(1.0, abs(cost)):
            break
        best = (plan, cost)
        moved = _medians(prob, sol.assign, allowed)
        if moved is None or len(np.unique(moved)) < prob.p or np.array_equal(moved, centres):
            break
        centres = moved
    return best
