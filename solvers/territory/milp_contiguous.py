"""Contiguous territory design: the assignment MILP with separator cuts, in a loop of warm-started
solves that always keeps the best contiguous plan.

Contiguity is the CUT formulation of Validi, Buchanan and Lykhovyd (2022, "Imposing contiguity
constraints in political districting models", Operations Research 70(2)): unit i can join the
territory of centre j only if every i-j separator C (a set of units whose removal cuts i off
from j) holds a unit of that territory,

    x_ij <= sum_{l in C} x_lj.

There are exponentially many. With free centres, the model's LP relaxation is first solved in
rounds with the most violated cut of every unit-centre pair separated on its fractional solution
(a minimum vertex cut, `separator_cuts`), and those cuts join the MILP, so its own dual bound
includes contiguity from the root. Then they are separated lazily on integer solutions: for every
piece S of a territory cut off from its centre, C = N(S) (the units bordering S outside it)
separates every unit of S from every centre outside S ∪ N(S), so the cut is added for every open
centre, not only the one S was assigned to (otherwise the next solve hands S to a neighbour's
centre and is cut again; `milp_assign.add_contiguity_cuts`). HiGHS has no lazy-constraint callback, so each round is a
full solve, warm-started from the best contiguous plan with its cost as cutoff (HiGHS
`objective_bound`): a round that cannot beat it proves that plan optimal for the model.
A round whose solution falls apart is also repaired by the local search into a contiguous plan
(`start_contiguous.repair`) that may become the new incumbent. Every round's bound is a valid lower
bound of the contiguous model (it relaxes contiguity); the plan kept when time runs out is the
best contiguous one, never a disconnected one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from solvers.solve import SolveResult, Status, relative_gap, solve
from solvers.territory.bound_contiguous import add_separator_rows, lp_with_cuts
from solvers.territory.milp_assign import (
    AssignModel,
    Pairs,
    add_contiguity_cuts,
    build,
    candidate_pairs,
    disconnected_parts,
    read_assignment,
    set_start,
)
from solvers.territory.problem import TerritoryProblem
from solvers.territory.start_contiguous import Band, ContiguousPlan, repair

REPAIR_S = 5.0
"""Most seconds the local search may spend repairing one round's disconnected solution."""
ROOT_SHARE = 0.2
"""Share of the time limit the free-centre model's root loop (LP + fractional cuts) may use."""
ROOT_CUT_UNITS = 300
"""Up to this many units the free-centre model gets the root loop (above, the model runs over
each unit's nearest centres only, as a fallback without a balanced start, and its time is
better spent searching)."""


@dataclass(frozen=True)
class ContiguousSolution:
    """Best contiguous plan (centre unit of every unit, None without one), the solve record
    (bound over every round), the pairs the model used, rounds, cuts and repaired incumbents."""

    centre_of: np.ndarray | None
    result: SolveResult
    pairs: Pairs
    rounds: int
    cuts: int
    repaired: int
    fractional_cuts: int = 0


def bands(prob: TerritoryProblem) -> list[Band]:
    """Balance and capacity rules of `prob` as bands on territory totals."""
    out = []
    for b in prob.balance:
        values = prob.measure(b.measure)
        mean = float(values.sum()) / prob.p
        out.append(Band(values, (1 - b.tolerance) * mean, (1 + b.tolerance) * mean))
    if prob.capacity is not None:
        out.append(Band(prob.measure(prob.capacity_measure), None, prob.capacity))
    return out


def solve_contiguous(prob: TerritoryProblem, start: ContiguousPlan | None, *, max_candidates: int | None,
                     time_limit_s: float | None, mip_gap: float | None) -> ContiguousSolution:
    """Rounds of the assignment MILP with separator cuts until a round's plan is contiguous and
    proven (within `mip_gap`), a round cannot beat the incumbent, or time runs out."""
    t0 = time.perf_counter()
    deadline = np.inf if time_limit_s is None else t0 + time_limit_s
    best = start.centre_of if start is not None and start.balanced else None
    best_cost = prob.plan_cost(best) if best is not None else np.inf
    pairs = candidate_pairs(prob, max_candidates, best)
    am = build(prob, pairs)
    if prob.fixed_centres is not None:  # a fixed centre lies in its own territory
        own = pairs.index(prob.fixed_centres, np.arange(len(prob.fixed_centres)))
        for k in own[own >= 0]:
            am.x[k].fix(1.0)
    bound, fractional = _root_cuts(prob, am, t0 + (np.inf if time_limit_s is None else ROOT_SHARE * time_limit_s))
    build_s = time.perf_counter() - t0
    total_build, total_solve, rounds, cuts, repaired = build_s, 0.0, 0, 0, 0
    last = None
    while True:
        left = deadline - time.perf_counter()
        if left < 1.0 and rounds > 0:
            break
        options, warm = {}, False
        if best is not None:
            warm = set_start(am, best)
            options["objective_bound"] = best_cost + 1e-6 * max(1.0, abs(best_cost))
        res = solve(am.model, build_s=build_s, time_limit_s=None if not np.isfinite(left) else max(1.0, left),
                    mip_gap=mip_gap, options=options, warm_start=warm)
        rounds += 1
        total_solve += res.solve_s
        last = res
        if res.bound is not None:
            bound = max(bound, res.bound)
        if res.status == Status.INFEASIBLE:
            if best is not None:  # nothing beats the incumbent: it is optimal for the model
                bound = max(bound, best_cost)
            break
        if not res.has_solution:
            break
        assign = read_assignment(am, prob.n)
        centre_of = pairs.centres[assign]
        parts = disconnected_parts(prob.adjacency, assign, pairs.centres)
        if not parts:
            cost = prob.plan_cost(centre_of)
            if cost < best_cost - 1e-9 * max(1.0, abs(best_cost)):
                best, best_cost = centre_of, cost
            break
        fixed = repair(prob.distance, prob.weight, prob.adjacency, centre_of, bands(prob),
                       time_limit_s=min(REPAIR_S, max(0.0, deadline - time.perf_counter())))
        if fixed is not None and fixed.balanced and fixed.cost < best_cost - 1e-9 * max(1.0, abs(best_cost)):
            best, best_cost, repaired = fixed.centre_of, fixed.cost, repaired + 1
        if time.perf_counter() >= deadline:
            break
        t1 = time.perf_counter()
        cuts += add_contiguity_cuts(am, prob.adjacency, parts, prob.n, rounds, np.unique(assign))
        build_s = time.perf_counter() - t1
        total_build += build_s
    return ContiguousSolution(best, _record(best, best_cost, bound, last, mip_gap, total_build, total_solve),
                              pairs, rounds, cuts, repaired, fractional)


def _root_cuts(prob: TerritoryProblem, am: AssignModel, deadline: float) -> tuple[float, int]:
    """Free centres: the LP relaxation of `am`'s model with separator cuts separated on its
    fractional solutions (`bound_contiguous.lp_with_cuts`) until `deadline`; the cuts join the
    MILP, whose root then sees contiguity. Returns (the LP's value, a lower bound of the model;
    cuts added); (-inf, 0) with fixed centres (many small models, each solved in one go) or over
    ROOT_CUT_UNITS units."""
    if prob.fixed_centres is not None or prob.n > ROOT_CUT_UNITS:
        return -np.inf, 0
    loop = lp_with_cuts(prob, am.pairs, deadline=deadline)
    added = add_separator_rows(am, loop.cuts, prob.n, "separator_root") if loop.cuts else 0
    return (loop.last if loop.last is not None and np.isfinite(loop.last) else -np.inf), added


def _record(best: np.ndarray | None, best_cost: float, bound: float, last: SolveResult | None,
            mip_gap: float | None, build_s: float, solve_s: float) -> SolveResult:
    """The solve record of the loop: the incumbent's cost, the best bound of any round (capped
    by the incumbent), optimal when their gap is within `mip_gap`."""
    term = last.termination if last is not None else "no solve"
    if best is None:
        status = last.status if last is not None and last.status in (Status.INFEASIBLE, Status.ERROR) \
            else Status.NO_SOLUTION
        return SolveResult(status, term, None, None if not np.isfinite(bound) else bound, None, build_s, solve_s)
    low = min(bound, best_cost) if np.isfinite(bound) else None
    gap = relative_gap(best_cost, low)
    done = gap is not None and gap <= (mip_gap or 0.0) + 1e-9
    return SolveResult(Status.OPTIMAL if done else Status.FEASIBLE, term, best_cost, low, gap, build_s, solve_s)
