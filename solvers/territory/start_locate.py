"""Feasible starting plan for the side-constrained assignment MILP, by location-allocation.

The centres are fixed (one per territory: the weighted 1-median of each current territory for
named territories, else the p-median heuristic's), the assignment MILP over those p centres only
(n x p pairs, seconds) places every unit under balance, capacity, disruption and the other rules,
then each territory is re-centred on its weighted 1-median and assigned again while the cost
falls (Cooper's alternation). Each centre is pinned to its own territory, so the plan is feasible
for the free-centre model: it warm-starts that MILP and its cost is the MILP's cutoff. It is only
an upper bound; the MILP decides.

With `priced=True` (the callers ask for it wherever every rule is column-wise, always on large
free-centre instances) each round solves the fixed-centre model by the priced MILP
(`solvers.territory.milp_priced`) instead, warm-started from the previous round's territories around
their new medians (each chosen among the territory's own units): that start already costs less
than the previous plan, so no round is worse than the last. Balance moves the best centres far
from the plain p-median's (2,000 x 50 clustered units, 5 % balance: 725,303 around the p-median
heuristic's centres, 604,766 after nine rounds).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from solvers.solve import Status, note_time_limit_stop
from solvers.territory.milp_assign import centre_positions, solve_assignment
from solvers.territory.milp_priced import solve_priced
from solvers.territory.problem import TerritoryProblem
from solvers.territory.start_greedy import solve_heuristic, territory_costs

FIRST_ROUND_GAP = 0.03
"""Relative gap of the priced rounds at first (around the heuristic's centres a tight gap takes
long to prove); halved, down to LAST_ROUND_GAP (or the requested gap if tighter), whenever a
round's MILP hands its start back unchanged: the start's territories have their medians as
centres already, so the alternation would stop there."""
LAST_ROUND_GAP = 0.005
"""Tightest gap of the priced rounds (10,000 x 200 at a requested 2 %: stopping at 2 % left the
plan 2 % worse)."""


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


def _medians(prob: TerritoryProblem, members: np.ndarray, allowed: np.ndarray,
             inside: bool = False) -> np.ndarray | None:
    """Weighted 1-median of each territory (members[i] = territory of unit i) among its allowed
    centres (with `inside`, only among its own units); None when a territory has none."""
    if inside:
        allowed = allowed & (members[None, :] == np.arange(prob.p)[:, None])
    cost = np.where(allowed, territory_costs(prob.distance, prob.weight, members, prob.p), np.inf)
    if not np.isfinite(cost.min(axis=1)).all():
        return None
    return np.argmin(cost, axis=1)


def _relabelled(plan: np.ndarray | None, old: np.ndarray, new: np.ndarray) -> np.ndarray | None:
    """The territories of `plan` (centre unit of every unit, centres `old`) around the centres
    `new` (same order), or None when a new centre lies outside its own territory (the plan would
    then break the pin that keeps every centre in its territory; the priced rounds' medians are
    chosen inside)."""
    if plan is None:
        return None
    members = centre_positions(old, len(plan))[plan]  # territory of every unit
    if (members[new] != np.arange(len(new))).any():
        return None
    return new[members]


def _assign(fixed: TerritoryProblem, time_limit_s: float | None, mip_gap: float | None, priced: bool,
            start: np.ndarray | None) -> tuple[np.ndarray | None, bool]:
    """Centre unit of every unit in the fixed-centre model's plan (None without one), and
    whether the solve reached its gap (False: it stopped on the time limit)."""
    if priced:
        sol = solve_priced(fixed, time_limit_s=time_limit_s, mip_gap=mip_gap, start=start)
        if sol is None:
            return None, False
        return sol.centre_of, sol.result.status == Status.OPTIMAL
    sol = solve_assignment(fixed, max_candidates=None, time_limit_s=time_limit_s, mip_gap=mip_gap)
    plan = fixed.fixed_centres[sol.assign] if sol.result.has_solution else None
    return plan, sol.result.status == Status.OPTIMAL


def location_allocation_start(prob: TerritoryProblem, *, time_limit_s: float | None,
                              mip_gap: float | None, rounds: int = 4, centres: np.ndarray | None = None,
                              priced: bool = False) -> tuple[np.ndarray, float] | None:
    """A feasible plan (centre unit of every unit) and its cost, or None if none was found.
    `centres` (p units, unnamed territories only) replaces the p-median heuristic's first centres;
    `priced` solves each round by the priced MILP (see the module docstring)."""
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
    previous: np.ndarray | None = None  # centres of `best`
    floor_gap = min(mip_gap or 0.0, LAST_ROUND_GAP)
    gap = max(floor_gap, FIRST_ROUND_GAP) if priced else mip_gap
    for _ in range(rounds):
        pin = np.full(prob.n, -1) if prob.pinned is None else prob.pinned.copy()
        pin[centres] = np.arange(prob.p)
        fixed = replace(prob, fixed_centres=centres, labels=labels, pinned=pin)
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left < 1.0:
            note_time_limit_stop("location-allocation rounds")
            break
        start = _relabelled(None if best is None else best[0], previous, centres) if priced else None
        plan, finished = _assign(fixed, left, gap, priced, start)
        if plan is None:
            break
        cost = prob.plan_cost(plan)
        if finished and start is not None and gap > floor_gap and cost >= prob.plan_cost(start) - 1e-9 * max(1.0, abs(cost)):
            gap = max(floor_gap, gap / 2)  # the MILP handed its start back: ask it for more
            continue
        if best is not None and cost >= best[1] - 1e-9 * max(1.0, abs(cost)):
            break
        best, previous = (plan, cost), centres
        if priced and not finished:
            break  # out of time: the caller's last solve continues from this plan
        moved = _medians(prob, centre_positions(centres, prob.n)[plan], allowed, inside=priced)
        if moved is None or len(np.unique(moved)) < prob.p or np.array_equal(moved, centres):
            break
        centres = moved
    return best
