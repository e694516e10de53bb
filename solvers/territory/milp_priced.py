"""Assignment MILP over priced unit-centre pairs, with a gap certified over every pair.

For large instances (fixed centres such as reps' home bases, or many candidate pairs):

1. column generation (`solvers.territory.bound_colgen`) solves the LP relaxation over every allowed
   pair without building them all: its value is a lower bound for the whole problem;
2. the MILP runs over the pairs whose reduced cost is within `FIRST_SLACK` x (bound / units)
   of zero (plus the LP's support and a starting plan's pairs), warm-started and cut off when a
   start is given: a small model where HiGHS finds a near-optimal plan fast;
3. the certified bound is max(LP bound, min(restricted MILP bound, LP bound + smallest reduced
   cost of a pair left out)): a plan using a left-out pair costs at least the latter;
4. when that is not within `mip_gap` and time remains, the MILP runs again over every pair that
   reduced-cost fixing cannot exclude (LP bound + rc < incumbent), warm-started from and cut off
   at the incumbent: its own bound then holds for the whole problem.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from solvers.solve import SolveResult, Status, relative_gap
from solvers.territory.bound_colgen import (
    ColumnBound,
    certified_bound,
    column_generation,
    fixing_mask,
    pairs_of,
)
from solvers.territory.milp_assign import (
    AssignSolution,
    allowed_pairs,
    centre_positions,
    solve_assignment,
)
from solvers.territory.problem import TerritoryProblem

NEAREST = 12
"""Centres per unit in the first restricted LP."""
FIRST_SLACK = 0.4
"""First MILP: pairs with reduced cost below this share of the mean cost per unit (bound / n)."""
LP_TOLERANCE_SHARE = 0.05
"""Column generation stops once more rounds could raise its bound by at most this share of the
requested gap (10,000 x 200 at 2 %: 2 LP rounds instead of 8, the bound 0.03 % lower)."""
LP_SHARE = 0.5
"""Share of the time limit column generation may use."""
FIRST_GAP_SHARE = 0.5
"""The first MILP stops at this share of the requested relative gap."""
SECOND_PAIRS_PER_UNIT = 40
"""The second MILP runs only when reduced-cost fixing leaves at most this many pairs per unit."""


@dataclass(frozen=True)
class PricedSolution:
    """Centre unit of every unit (None without a plan), the solve record with the certified
    bound, and notes for summary.json."""

    centre_of: np.ndarray | None
    result: SolveResult
    notes: dict = field(default_factory=dict)


def _mask_with(prob: TerritoryProblem, mask: np.ndarray, cg: ColumnBound,
               start: np.ndarray | None) -> np.ndarray:
    """Add the LP's support and a starting plan's pairs to `mask`."""
    on = cg.x > 1e-9
    mask[cg.pairs.i[on], cg.pairs.c[on]] = True
    if start is not None:
        cpos = centre_positions(cg.pairs.centres, prob.n)
        ok = cpos[start] >= 0
        mask[np.flatnonzero(ok), cpos[start[ok]]] = True
    return mask


def _milp(prob: TerritoryProblem, mask: np.ndarray, cg: ColumnBound, start: np.ndarray | None,
          limit: float | None, gap: float | None) -> AssignSolution:
    centres, label, allowed = allowed_pairs(prob)
    pairs = pairs_of(mask & allowed, centres, label, bool((mask | ~allowed).all()))
    return solve_assignment(prob, max_candidates=None, time_limit_s=limit, mip_gap=gap, pairs=pairs,
                            start=start, start_feasible=start is not None)


def solve_priced(prob: TerritoryProblem, *, time_limit_s: float | None, mip_gap: float | None,
                 start: np.ndarray | None = None) -> PricedSolution | None:
    """Solve with a certified gap (steps in the module docstring). `start` is a feasible plan
    (centre unit of every unit) or None. Returns None when the LP gives no duals (e.g. it hit
    the time limit) or the MILP over the priced pairs finds no plan, so the caller can fall
    back to another method."""
    t0 = time.perf_counter()
    lp_limit = None if time_limit_s is None else LP_SHARE * time_limit_s
    cg = column_generation(prob, nearest=NEAREST, include=start, time_limit_s=lp_limit,
                           rel_tol=LP_TOLERANCE_SHARE * (mip_gap or 0.0))
    notes: dict = {"bound_method": "LP relaxation over every unit-centre pair (column generation)",
                   "lp_bound": cg.bound, "lp_converged": cg.converged, "lp_rounds": cg.rounds,
                   "lp_columns_added": cg.added, "lp_s": round(cg.lp_s + cg.price_s, 3)}
    if cg.infeasible:
        return PricedSolution(None, cg.result, notes)
    if cg.duals is None or cg.lp is None:
        return None

    def left() -> float | None:
        return None if time_limit_s is None else max(1.0, time_limit_s - (time.perf_counter() - t0))

    mask = fixing_mask(cg, prob, cg.dual_bound + FIRST_SLACK * abs(cg.dual_bound) / prob.n)
    # HiGHS measures its gap against the restricted model's bound, which may exceed the
    # certified one: ask for half the gap so the certificate has room
    first = _milp(prob, _mask_with(prob, mask, cg, start), cg, start, left(),
                  None if mip_gap is None else FIRST_GAP_SHARE * mip_gap)
    best, res = first, first.result
    if not res.has_solution:
        if not first.pairs.complete:
            return None  # no plan over the priced pairs proves nothing about the others
        return PricedSolution(None, _record(res, cg.bound, mip_gap, 0.0, t0), notes)
    plan = first.pairs.centres[first.assign]
    bound = certified_bound(cg, res.bound, first.pairs, prob)
    notes["first_milp"] = {"pairs": len(first.pairs.i), "objective": res.objective, "bound": res.bound}
    gap = relative_gap(res.objective, bound)
    if gap is not None and gap > (mip_gap or 0.0) + 1e-9 and (left() or 2.0) > 1.0:
        upper = res.objective
        mask = _mask_with(prob, fixing_mask(cg, prob, upper), cg, plan)
        if mask.sum() <= SECOND_PAIRS_PER_UNIT * prob.n:
            second = _milp(prob, mask, cg, plan, left(), mip_gap)
            r2 = second.result
            notes["second_milp"] = {"pairs": int(mask.sum()), "objective": r2.objective, "bound": r2.bound}
            if r2.has_solution and r2.objective <= res.objective + 1e-9 * max(1.0, abs(res.objective)):
                best, res = second, r2
                plan = second.pairs.centres[second.assign]
            if r2.bound is not None:
                # every pair a better plan could use is in this model, so its bound holds
                bound = max(bound, min(r2.bound, upper))
    build_s = first.result.build_s + (0.0 if best is first else best.result.build_s)
    out = SolveResult(res.status, res.termination, prob.plan_cost(plan), bound, None, build_s, 0.0)
    return PricedSolution(plan, _record(out, bound, mip_gap, cg.lp_s, t0), notes)


def _record(res: SolveResult, bound: float, mip_gap: float | None, lp_build_s: float,
            t0: float) -> SolveResult:
    """The solve record with the certified bound: optimal when it closes the gap to `mip_gap`."""
    gap = relative_gap(res.objective, bound)
    if not res.has_solution:
        status = res.status
    else:
        status = Status.OPTIMAL if gap is not None and gap <= (mip_gap or 0.0) + 1e-9 else Status.FEASIBLE
    build_s = res.build_s + lp_build_s
    return SolveResult(status, res.termination, res.objective, bound, gap, build_s,
                       max(0.0, time.perf_counter() - t0 - build_s))
