"""LP bound of the territory assignment model over every unit-centre pair, by column generation.

The LP relaxation of `solvers.territory.milp_assign` (x, y in [0, 1]) is solved over a restricted set
of pairs (each unit's nearest centres), and every pair left out is priced with numpy from the
LP's row duals (HiGHS convention, reduced cost = c - A^T dual):

    rc_ij = w_i d_ij - u_i - sum_r a_r(i) pi_rj - v_i sigma [i stays in its current territory]

u_i the dual of unit i's assignment row, pi_rj of territory row r of centre j (capacity,
balance low/high; a_r(i) the unit's value of that row's measure), sigma of the disruption row.
The link row x_ij <= y_j of a pair left out is absent; dual 0 for it keeps the argument intact.
For any plan x (even fractional) over all pairs, cost(x) >= LP_r + sum over its left-out pairs
of rc_k x_k (LP duality; every row of the restricted LP holds for x, the dual signs do the
rest), and each unit sits in one territory, so

    bound = LP_r + sum_i min(0, min_{j left out} rc_ij)

is a lower bound on the full problem at every round (Lagrangian / Farley bound); pairs with
negative reduced cost join the LP and it is solved again until none is negative, where the bound
equals the LP over all pairs. The same duals give reduced-cost fixing: a plan using a pair k
costs at least LP + rc_k, so pairs with LP + rc_k above an incumbent's cost cannot be in a
better plan.

Together/apart rules and contiguity are not handled (their rows are not column-wise
restrictions); `supported` says whether an instance qualifies.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from solvers.solve import SolveResult, Status, note_time_limit_stop, solve
from solvers.territory.milp_assign import AssignModel, Pairs, allowed_pairs, build, centre_positions
from solvers.territory.problem import TerritoryProblem

CHUNK = 2_000_000
"""Unit-centre entries priced at once (bounds pricing memory: 16 bytes per entry)."""


@dataclass(frozen=True)
class Duals:
    """LP row duals in arrays: `u[i]` of unit i's assignment row, `pi[r, c]` of territory row r
    of centre position c (rows as in `measures`), `sigma` of the disruption row."""

    u: np.ndarray
    pi: np.ndarray
    sigma: float


@dataclass(frozen=True)
class ColumnBound:
    """Outcome of column generation.

    `bound` is valid for every plan over all allowed pairs (the model's objective unit, e.g.
    workload x km), the best of every round's; `lp` the last restricted LP's value, `duals` its
    row duals and `dual_bound` its Lagrangian bound (lp + sum of the units' most negative
    left-out reduced costs), over the pairs `pairs` (LP values `x`); `converged` when no left-out
    pair prices negative (then bound = lp = the LP over every pair, up to HiGHS's tolerances);
    `min_out_rc` the smallest reduced cost of a left-out pair (inf when none is left out);
    `infeasible` when the LP over every allowed pair has no solution (nor has the problem).
    Times in seconds.
    """

    bound: float
    lp: float | None
    dual_bound: float
    converged: bool
    pairs: Pairs
    x: np.ndarray
    duals: Duals | None
    min_out_rc: float
    rounds: int
    added: int
    result: SolveResult
    lp_s: float
    price_s: float
    infeasible: bool = False


def supported(prob: TerritoryProblem) -> bool:
    """True when the model's rows are all column-wise restrictable (see the module docstring)."""
    return len(prob.together) == 0 and len(prob.apart) == 0 and prob.adjacency is None


def _measures(prob: TerritoryProblem) -> list[tuple[str, np.ndarray]]:
    """(Pyomo row name, per-unit coefficient) of every territory row family `build` adds."""
    rows = []
    if prob.capacity is not None:
        rows.append(("capacity_hi", prob.measure(prob.capacity_measure)))
    for b in prob.balance:
        values = prob.measure(b.measure)
        rows += [(f"balance_{b.measure}_hi", values), (f"balance_{b.measure}_lo", values)]
    return rows


def _stay_value(prob: TerritoryProblem) -> np.ndarray | None:
    """Coefficient of a staying pair in the disruption row, per unit (None without the row)."""
    if prob.max_disruption is None:
        return None
    v = np.ones(prob.n) if prob.disruption_measure == "units" else prob.measure(prob.disruption_measure)
    return np.where(prob.current >= 0, v, 0.0)


def read_duals(am: AssignModel, prob: TerritoryProblem) -> Duals:
    """Row duals of a solved LP (`solve(..., duals=True)`) as arrays."""
    m = am.model
    dual = m.dual
    u = np.array([dual.get(c, 0.0) for c in m.assign.values()])
    ncent = len(am.pairs.centres)
    rows = _measures(prob)
    pi = np.zeros((len(rows), ncent))
    for r, (name, _) in enumerate(rows):
        pi[r] = [dual.get(c, 0.0) for c in getattr(m, name).values()]
    sigma = float(dual.get(m.disruption, 0.0)) if prob.max_disruption is not None else 0.0
    return Duals(u, pi, sigma)


def reduced_costs(prob: TerritoryProblem, pairs: Pairs, duals: Duals, units: np.ndarray) -> np.ndarray:
    """Reduced cost of every pair (unit in `units`, centre position) as a len(units) x centres
    array, from the LP duals (formula in the module docstring)."""
    centres = pairs.centres
    rc = prob.weight[units, None] * prob.distance[np.ix_(units, centres)] - duals.u[units, None]
    for r, (_, values) in enumerate(_measures(prob)):
        rc -= values[units, None] * duals.pi[r][None, :]
    stay = _stay_value(prob)
    if stay is not None and duals.sigma:
        same = pairs.label[None, :] == prob.current[units, None]
        rc -= np.where(same, stay[units, None] * duals.sigma, 0.0)
    return rc


def _chunks(n: int, width: int) -> list[np.ndarray]:
    step = max(1, CHUNK // max(width, 1))
    return [np.arange(s, min(n, s + step)) for s in range(0, n, step)]


def price(prob: TerritoryProblem, pairs: Pairs, duals: Duals, allowed: np.ndarray,
          keep: np.ndarray, per_unit: int, tol: float) -> tuple[int, float, float]:
    """Mark in `keep` up to `per_unit` most negative left-out allowed pairs of every unit.

    Returns (number of pairs added, sum_i min(0, min left-out rc_ij), min left-out rc).
    """
    added, correction, min_out = 0, 0.0, np.inf
    for units in _chunks(prob.n, len(pairs.centres)):
        rc = reduced_costs(prob, pairs, duals, units)
        rc[~allowed[units] | keep[units]] = np.inf
        low = rc.min(axis=1)
        if np.isfinite(low).any():
            min_out = min(min_out, float(low[np.isfinite(low)].min()))
        correction += float(np.minimum(low[np.isfinite(low)], 0.0).sum())
        k = min(per_unit, rc.shape[1])
        best = np.argpartition(rc, k - 1, axis=1)[:, :k]
        take = np.take_along_axis(rc, best, axis=1) < -tol
        rows = np.broadcast_to(units[:, None], best.shape)[take]
        keep[rows, best[take]] = True
        added += int(take.sum())
    return added, correction, min_out


def nearest_mask(prob: TerritoryProblem, centres: np.ndarray, label: np.ndarray, allowed: np.ndarray,
                 k: int) -> np.ndarray:
    """Each unit's k nearest allowed centres and its nearest one of its current territory (so
    it can stay), plus, for free centres, every centre's own pair."""
    keep = np.zeros_like(allowed)
    k = min(k, allowed.shape[1])
    for units in _chunks(prob.n, len(centres)):
        d = np.where(allowed[units], prob.distance[np.ix_(units, centres)], np.inf)
        near = np.argpartition(d, k - 1, axis=1)[:, :k]
        rows = np.broadcast_to(units[:, None], near.shape)
        ok = np.isfinite(np.take_along_axis(d, near, axis=1))
        keep[rows[ok], near[ok]] = True
        if prob.current is not None:
            same = np.where(label[None, :] == prob.current[units, None], d, np.inf)
            own = np.argmin(same, axis=1)
            stay = np.isfinite(same[np.arange(len(units)), own])
            keep[units[stay], own[stay]] = True
    if prob.fixed_centres is None:
        keep[centres, np.arange(len(centres))] = True
    return keep


def pairs_of(keep: np.ndarray, centres: np.ndarray, label: np.ndarray, complete: bool) -> Pairs:
    """The Pairs of a unit x centre-position mask (sorted by unit, then centre)."""
    i, c = np.nonzero(keep)
    return Pairs(i, c, centres, label, complete)


def column_generation(prob: TerritoryProblem, *, nearest: int = 8, include: np.ndarray | None = None,
                      per_unit: int = 5, max_rounds: int = 50, time_limit_s: float | None = None,
                      rel_tol: float = 0.0) -> ColumnBound:
    """LP bound over every allowed unit-centre pair (see the module docstring).

    Starts from each unit's `nearest` centres plus the pairs of `include` (centre unit of
    every unit, e.g. a feasible plan, so the first LP is feasible). An infeasible restricted LP
    grows `nearest` by half. Stops when no pair prices negative, when the round's Lagrangian
    bound is within `rel_tol` (relative) of the restricted LP's value (more rounds could raise
    the bound by no more than that), after `max_rounds`, or at the time limit (seconds); the
    bound is valid at whichever round it stops.
    """
    t0 = time.perf_counter()
    centres, label, allowed = allowed_pairs(prob)
    keep = nearest_mask(prob, centres, label, allowed, nearest)
    if include is not None:
        cpos = centre_positions(centres, prob.n)
        ok = cpos[np.asarray(include)] >= 0
        keep[np.flatnonzero(ok), cpos[np.asarray(include)[ok]]] = True
        keep &= allowed
    tol = 1e-7 * max(1.0, float(np.abs(prob.weight).max() * np.nanmax(prob.distance[:, centres][allowed])))
    lp_s = price_s = 0.0
    bound, rounds, added, lp_value, dual_bound = -np.inf, 0, 0, None, -np.inf
    duals, min_out, converged = None, np.inf, False
    res: SolveResult | None = None
    x = np.zeros(0)
    pairs = lp_pairs = pairs_of(keep, centres, label, bool(keep[allowed].all()))
    while rounds < max_rounds:
        rounds += 1
        pairs = pairs_of(keep, centres, label, bool(keep[allowed].all()))
        t1 = time.perf_counter()
        am = build(prob, pairs, integer=False)
        left = None if time_limit_s is None else max(1.0, time_limit_s - (time.perf_counter() - t0))
        res = solve(am.model, build_s=time.perf_counter() - t1, time_limit_s=left, duals=True)
        lp_s += res.build_s + res.solve_s
        if res.status == Status.INFEASIBLE and not pairs.complete:
            nearest = int(np.ceil(1.5 * nearest))
            keep |= nearest_mask(prob, centres, label, allowed, nearest)
            continue
        if res.status != Status.OPTIMAL or len(am.model.dual) == 0:
            break
        lp_value, lp_pairs = float(res.objective), pairs
        x = np.array([v.value or 0.0 for v in am.x])
        duals = read_duals(am, prob)
        t2 = time.perf_counter()
        new, correction, min_out = price(prob, pairs, duals, allowed, keep, per_unit, tol)
        price_s += time.perf_counter() - t2
        dual_bound = lp_value + correction
        bound = max(bound, dual_bound)
        added += int(new)
        if new == 0:
            converged = True
            break
        if lp_value - dual_bound <= rel_tol * max(1.0, abs(lp_value)):
            break
        if time_limit_s is not None and time.perf_counter() - t0 > time_limit_s:
            note_time_limit_stop("column generation")
            break
    assert res is not None
    infeasible = res.status == Status.INFEASIBLE and pairs.complete
    return ColumnBound(bound, lp_value, dual_bound, converged, lp_pairs, x, duals, min_out, rounds, added, res,
                       lp_s, price_s, infeasible)


def _own(prob: TerritoryProblem, centres: np.ndarray, mask: np.ndarray) -> None:
    """Free centres: mark every centre's own pair (its reduced cost also carries the dual of
    x_jj >= y_j, which the pricing formula leaves out, so it is never judged by it)."""
    if prob.fixed_centres is None:
        mask[centres, np.arange(len(centres))] = True


def certified_bound(cg: ColumnBound, restricted_bound: float | None, restricted: Pairs,
                    prob: TerritoryProblem) -> float:
    """Lower bound for the full problem from a MILP bound over the pairs `restricted` only.

    A plan using a pair k outside them costs at least dual_bound + max(rc_k, 0) (the pricing
    formula gives at most the pair's true reduced cost: a link row's dual only adds to it), so
    the optimum is at least min(restricted bound, dual_bound + min rc outside `restricted`).
    """
    if restricted_bound is None or cg.duals is None:
        return cg.bound
    centres, _, allowed = allowed_pairs(prob)
    inside = np.zeros_like(allowed)
    inside[restricted.i, restricted.c] = True
    _own(prob, centres, inside)
    out_min = np.inf
    for units in _chunks(prob.n, len(centres)):
        rc = reduced_costs(prob, cg.pairs, cg.duals, units)
        rc[~allowed[units] | inside[units]] = np.inf
        out_min = min(out_min, float(rc.min()))
    return max(cg.bound, min(restricted_bound, cg.dual_bound + max(out_min, 0.0)))


def fixing_mask(cg: ColumnBound, prob: TerritoryProblem, upper: float) -> np.ndarray:
    """Pairs (unit x centre position) that may appear in a plan costing less than `upper`
    (reduced-cost fixing: dual_bound + rc_k < upper), from the last LP's duals; every allowed
    pair without duals."""
    centres, _, allowed = allowed_pairs(prob)
    if cg.duals is None:
        return allowed
    mask = np.zeros_like(allowed)
    for units in _chunks(prob.n, len(centres)):
        rc = reduced_costs(prob, cg.pairs, cg.duals, units)
        mask[units] = allowed[units] & (cg.dual_bound + rc < upper)
    _own(prob, centres, mask)
    return mask & allowed
