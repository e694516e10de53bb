"""Lagrangian bound and pair fixing for the plain capacitated p-median (numpy).

Relaxing "every unit assigned once" (sum_j x_ij = 1, multipliers lambda_i) of

    min sum_ij c_ij x_ij  s.t.  sum_j x_ij = 1,  x_ij <= y_j,  x_jj >= y_j,  sum_j y_j = p,
                                sum_i q_i x_ij <= Q y_j,  x, y binary

leaves one 0-1 knapsack per centre j (Beasley 1993; Osman and Christofides 1994):

    v_j = c_jj - lambda_j - K_j,  K_j = max sum_{i != j} (lambda_i - c_ij) x_i
                                        s.t. sum_{i != j} q_i x_i <= Q - q_j,

and L(lambda) = sum_i lambda_i + (sum of the p smallest v_j) is a lower bound for any lambda,
never below the LP bound (the knapsacks keep their integrality). The knapsacks are solved
exactly by dynamic programming over capacities 0..C, all centres at once; demands that are not
whole numbers (or too large a capacity) are first rounded down on a grid of C steps, which only
relaxes the capacity rows, so the bound stays valid. Subgradient steps as in
`solvers.territory.bound_pmedian`.

Fixing. Forcing unit i into centre j's territory turns centre j's subproblem into

    v_j(i) = c_jj - lambda_j + c_ij - lambda_i - K_j^{-i}(Q - q_j - q_i)
          >= c_jj - lambda_j + c_ij - lambda_i - K_j(Q - q_j - q_i)

(leaving item i out can only lower the knapsack optimum, and the DP table holds K_j at every
capacity), and v_j(i) >= v_j. So L - v_sel(j) + max(v_j, that) bounds every solution with
x_ij = 1 (v_sel(j) = v_j when j is among the p chosen, else the p-th smallest v), and
L - v_sel(j) + v_j every solution opening j; the best over all subgradient iterations is kept.
A pair, or a centre, whose bound reaches the incumbent's cost (with integral costs: exceeds
cost - 1) appears in no better solution, so the MILP may leave it out; its optimum over the kept
pairs (which include the incumbent's) is then optimal for the whole problem, and
max(L, min(its bound, smallest dropped bound)) is a valid bound even when it stops early.

Valid only for the plain capacitated p-median (`applies`): no balance, names, fixed centres,
disruption, pins, locks, together/apart or contiguity.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from solvers.solve import SolveResult, Status, relative_gap
from solvers.territory.bound_pmedian import SubgradientSteps, improvement_slack
from solvers.territory.milp_assign import Pairs, allowed_pairs, centre_positions
from solvers.territory.milp_radius import is_integral
from solvers.territory.problem import TerritoryProblem
from solvers.territory.start_locate import location_allocation_start

MAX_STEPS = 512
"""Capacity grid of the knapsack DP (demands rounded down to it when not whole numbers)."""
MILP_OPTIONS = {"mip_heuristic_run_rins": False, "mip_heuristic_run_rens": False}
"""HiGHS options for the MILP over the kept pairs: it starts from the Lagrangian heuristic's plan,
and the RINS / RENS sub-MIPs took most of its time on the 100-node benchmark instances."""
MAX_CELLS = 20_000_000
"""Largest units x centres x capacity steps the DP may take per subgradient iteration."""


def applies(prob: TerritoryProblem) -> bool:
    """True for the plain capacitated p-median: capacity and nothing else beyond the p-median,
    non-negative demands and weights."""
    if prob.capacity is None or prob.labelled or prob.balance or prob.adjacency is not None:
        return False
    if len(prob.together) or len(prob.apart):
        return False
    q = prob.measure(prob.capacity_measure)
    return bool((q >= 0).all() and (prob.weight >= 0).all() and np.isfinite(q).all())


@dataclass(frozen=True)
class _Knapsacks:
    """Integer weights `w` (n) and capacity `cap` (per centre, Q - q_j on the grid; -1 when the
    centre cannot hold itself) of the centre knapsacks; `own` = unit of each centre."""

    w: np.ndarray
    cap: np.ndarray
    steps: int
    own: np.ndarray
    exact: bool

    @classmethod
    def of(cls, q: np.ndarray, capacity: float, own: np.ndarray) -> _Knapsacks:
        n, m = len(q), len(own)
        whole = bool(np.all(q == np.round(q))) and float(capacity) == np.floor(capacity)
        limit = max(16, min(MAX_STEPS, MAX_CELLS // max(1, n * m)))
        if whole and capacity <= limit:
            scale, steps = 1.0, int(capacity)
        else:
            scale, steps = limit / float(capacity), limit
        w = np.floor(q * scale).astype(np.int64)  # rounding down relaxes sum q x <= Q
        cap = np.where(w[own] <= steps, steps - w[own], -1)
        return cls(w, cap, steps, own, whole and scale == 1.0)

    def _add(self, table: np.ndarray, i: int, gain: np.ndarray) -> np.ndarray | None:
        """Add item i (profit `gain` per centre) to the DP `table` in place; where it is taken."""
        wi = self.w[i]
        if wi == 0:
            table += np.maximum(gain, 0.0)[:, None]
            return np.broadcast_to(gain[:, None] > 0, table.shape)
        if wi > self.steps:
            return None
        cand = table[:, :-wi] + gain[:, None]
        better = cand > table[:, wi:]
        table[:, wi:] = np.where(better, cand, table[:, wi:])
        out = np.zeros(table.shape, dtype=bool)
        out[:, wi:] = better
        return out

    def solve(self, profit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """profit[i, j] (-inf: item unavailable). Table K[j, c] (max profit within capacity c,
        c = 0..steps) and take[i, j, c] (item i taken in the DP state after item i)."""
        n, m = profit.shape
        table = np.zeros((m, self.steps + 1))
        take = np.zeros((n, m, self.steps + 1), dtype=bool)
        for i in np.flatnonzero((profit > 0).any(axis=1)):
            t = self._add(table, i, profit[i])
            if t is not None:
                take[i] = t
        return table, take

    def chosen_items(self, take: np.ndarray, centres: np.ndarray) -> np.ndarray:
        """x[i, k] = 1 when centre `centres[k]`'s optimal knapsack (at its capacity) takes unit i."""
        n = take.shape[0]
        c = self.cap[centres].copy()
        x = np.zeros((n, len(centres)), dtype=bool)
        for i in range(n - 1, -1, -1):
            t = take[i, centres, np.maximum(c, 0)] & (c >= 0)
            x[i] = t
            c = c - np.where(t, self.w[i], 0)
        return x


@dataclass(frozen=True)
class CapacitatedBound:
    """Best L(lambda); per centre position the best bound on any solution opening it, per
    (unit, centre position) on any solution with that assignment; `exact`: knapsacks exact."""

    bound: float
    open_bound: np.ndarray
    pair_bound: np.ndarray
    iterations: int
    exact: bool
    centre_sets: list[np.ndarray]
    """The distinct sets of centre positions opened, best L(lambda) first (at most `keep_sets`)."""


def _evaluate(cost: np.ndarray, ks: _Knapsacks, lam: np.ndarray, p: int, allowed: np.ndarray):
    n, m = cost.shape
    cols = np.arange(m)
    profit = np.where(allowed, lam[:, None] - cost, -np.inf)
    profit[ks.own, cols] = -np.inf  # the centre's own unit is forced in, not an item
    table, take = ks.solve(profit)
    best = table[cols, np.maximum(ks.cap, 0)]
    v = np.where(ks.cap >= 0, cost[ks.own, cols] - lam[ks.own] - best, np.inf)
    chosen = np.argpartition(v, p - 1)[:p] if p < m else cols
    value = float(lam.sum() + v[chosen].sum())
    return value, v, chosen, table, take


def _pair_values(cost: np.ndarray, ks: _Knapsacks, lam: np.ndarray, v: np.ndarray,
                 rest: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Lower bound on centre j's subproblem with unit i forced in, given `rest[i, j]` >= the
    best knapsack of the other items within the capacity unit i leaves (-inf: it does not fit)."""
    m = cost.shape[1]
    cols = np.arange(m)
    forced = cost[ks.own, cols][None, :] - lam[ks.own][None, :] + cost - lam[:, None] - rest
    out = np.where(np.isfinite(rest) & allowed, np.maximum(forced, v[None, :]), np.inf)
    out[ks.own, cols] = v
    return out


def _relaxed_rest(ks: _Knapsacks, table: np.ndarray) -> np.ndarray:
    """K_j(cap_j - w_i), item i still allowed: at least K_j^{-i}(cap_j - w_i) (a relaxation)."""
    left = ks.cap[None, :] - ks.w[:, None]
    rest = table[np.arange(table.shape[0])[None, :], np.maximum(left, 0)]
    return np.where(left >= 0, rest, -np.inf)


def capacitated_bound(cost: np.ndarray, q: np.ndarray, capacity: float, own: np.ndarray, p: int,
                      upper: float, start: np.ndarray, allowed: np.ndarray | None = None,
                      max_iter: int = 400, patience: int = 20, keep_sets: int = 8) -> CapacitatedBound:
    """Subgradient optimisation of L(lambda) from `start` (e.g. each unit's cost in a feasible plan).

    `cost[i, j]` = weight x distance of unit i to centre position j (unit `own[j]`), `q` the
    demands, `upper` a feasible objective; `allowed[i, j]` False excludes a pair.
    """
    n, m = cost.shape
    allowed = np.ones((n, m), dtype=bool) if allowed is None else allowed
    ks = _Knapsacks.of(np.asarray(q, float), capacity, np.asarray(own))
    lam = start.astype(float).copy()
    steps = SubgradientSteps(patience)
    open_bound = np.full(m, -np.inf)
    pair_bound = np.full((n, m), -np.inf)
    if (ks.cap >= 0).sum() < p:
        return CapacitatedBound(np.inf, np.full(m, np.inf), np.full((n, m), np.inf), 0, ks.exact, [])
    iterations = 0
    sets: dict[tuple, float] = {}
    while iterations < max_iter:
        iterations += 1
        value, v, chosen, table, take = _evaluate(cost, ks, lam, p, allowed)
        is_chosen = np.zeros(m, dtype=bool)
        is_chosen[chosen] = True
        pth = v[chosen].max()
        sel = np.where(is_chosen, v, pth)
        open_bound = np.maximum(open_bound, value - sel + v)
        pair_bound = np.maximum(pair_bound, value - sel[None, :]
                                + _pair_values(cost, ks, lam, v, _relaxed_rest(ks, table), allowed))
        key = tuple(np.sort(chosen).tolist())
        sets[key] = max(value, sets.get(key, -np.inf))
        steps.record(value)
        if steps.done(upper, min_theta=1e-3):
            break
        x = ks.chosen_items(take, chosen)
        served = x.sum(axis=1)
        served[ks.own[chosen]] += 1
        g = 1.0 - served
        norm = float(g @ g)
        if norm == 0:
            break
        lam = lam + steps.theta * (upper - value) / norm * g
    return CapacitatedBound(steps.best, open_bound, pair_bound, iterations, ks.exact,
                            [np.array(k) for k in sorted(sets, key=sets.get, reverse=True)[:keep_sets]])


@dataclass(frozen=True)
class Reduction:
    """Pairs the MILP keeps, the bound on every solution using a dropped one (`floor`, inf if
    none), the Lagrangian record, and the best plan found (`start`, centre unit of every unit,
    cost `upper`): the given one or a Lagrangian heuristic's."""

    pairs: Pairs
    floor: float
    lagrange: CapacitatedBound
    start: np.ndarray
    upper: float
    integral: bool
    prep_s: float

    @property
    def proven(self) -> bool:
        """The Lagrangian bound meets the best plan: no solution is cheaper."""
        return self.lagrange.bound >= self.upper - improvement_slack(self.upper, self.integral)

    def summary(self) -> dict:
        return {"bound": self.lagrange.bound, "iterations": self.lagrange.iterations,
                "exact_knapsacks": self.lagrange.exact, "upper": self.upper,
                "pairs_kept": int(len(self.pairs.i)), "centres_kept": int(len(self.pairs.centres)),
                "dropped_floor": self.floor}

    def certify(self, res: SolveResult, mip_gap: float | None) -> SolveResult:
        """Bound of a MILP solve over the kept pairs, made valid for the whole problem: a plan
        using a dropped pair costs at least `floor`. The bound's and heuristic's time counts as build."""
        if not res.has_solution:
            return res
        bound = self.lagrange.bound if res.bound is None else max(self.lagrange.bound, min(res.bound, self.floor))
        if self.integral:
            bound = float(np.ceil(bound - 1e-6))
        bound = min(bound, res.objective)  # rounding noise of the MILP's objective
        gap = relative_gap(res.objective, bound)
        ok = gap is not None and gap <= (mip_gap or 0.0) + 1e-9
        return SolveResult(Status.OPTIMAL if ok else Status.FEASIBLE, res.termination, res.objective,
                           bound, gap, res.build_s + self.prep_s, res.solve_s)


def lagrangian_heuristic(prob: TerritoryProblem, bound: float, centre_sets: list[np.ndarray], plan: np.ndarray,
                         time_limit_s: float | None, mip_gap: float | None, integral: bool) -> np.ndarray:
    """Best of `plan` and the location-allocation plans started from each of `centre_sets` (p
    centre units each, e.g. those the Lagrangian opened at its best multipliers); stops once
    `bound` (a lower bound) proves the best plan optimal (`integral`: costs are whole numbers).
    Feasible plans: upper bounds only."""
    best, best_cost = plan, prob.plan_cost(plan)
    deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
    for centres in centre_sets:
        if bound >= best_cost - improvement_slack(best_cost, integral):
            break
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left < 0.5:
            break
        found = location_allocation_start(prob, time_limit_s=left, mip_gap=mip_gap, rounds=6,
                                          centres=centres)
        if found is not None and found[1] < best_cost - 1e-9 * max(1.0, abs(best_cost)):
            best, best_cost = found
    return best


def reduce_pairs(prob: TerritoryProblem, start: np.ndarray, *, time_limit_s: float | None = None,
                 mip_gap: float | None = None) -> Reduction:
    """Lagrangian bound of `prob` (see `applies`), a better plan than `start` (a feasible plan,
    centre unit of every unit) where the Lagrangian heuristic finds one, and the pairs that may
    still appear in a plan cheaper than the best plan, plus that plan's own pairs."""
    t0 = time.perf_counter()
    centres, label, allowed = allowed_pairs(prob)
    cost = prob.weight[:, None] * prob.distance[:, centres]
    integral = is_integral(cost)
    n = prob.n
    position = centre_positions(centres, n)
    lb = capacitated_bound(cost, prob.measure(prob.capacity_measure), float(prob.capacity), centres, prob.p,
                           prob.plan_cost(start), cost[np.arange(n), position[start]], allowed)
    plan = lagrangian_heuristic(prob, lb.bound, [centres[k] for k in lb.centre_sets], start,
                                time_limit_s, mip_gap, integral)
    upper = prob.plan_cost(plan)
    cpos = position[plan]
    slack = improvement_slack(upper, integral)
    keep = allowed & (lb.pair_bound < upper - slack) & (lb.open_bound < upper - slack)[None, :]
    keep[np.arange(n), cpos] = True
    used = keep.any(axis=0)
    keep[centres[used], np.flatnonzero(used)] = True  # an open centre serves itself
    dropped = np.where(allowed & ~keep, lb.pair_bound, np.inf)
    floor = float(dropped.min())
    if integral and np.isfinite(floor):
        floor = float(np.ceil(floor - 1e-6))
    i, c = np.nonzero(keep[:, used])
    pairs = Pairs(i, c, centres[used], label[used], complete=False)
    return Reduction(pairs, floor, lb, plan, upper, integral, time.perf_counter() - t0)
