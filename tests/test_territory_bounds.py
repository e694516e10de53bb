"""Bounds and starts of the side-constrained territory solver against independent references:
the continuous-knapsack subproblem against scipy's LP solver, the balanced Lagrangian bound
against brute-force enumeration of every plan of a small instance, and the location-allocation
start against a direct check of every rule it must satisfy."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.spatial.distance import cdist

from solvers.territory_lagrange import _subproblems, balanced_lagrangian_bound, instance_of
from solvers.territory_problem import Balance, TerritoryProblem
from solvers.territory_start import location_allocation_start


def _instance(n: int, p: int, seed: int, tol: float, **kw) -> TerritoryProblem:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n, 2))
    workload = rng.uniform(1, 5, size=n)
    return TerritoryProblem(np.array([f"u{i}" for i in range(n)], dtype=object), cdist(xy, xy),
                            workload, workload, np.zeros(n), p, balance=(Balance("workload", tol),), **kw)


@pytest.mark.parametrize("seed", range(3))
def test_knapsack_subproblem_matches_linprog(seed: int) -> None:
    """rho_j = LP min of sum r_i x_i, x_own = 1, low <= sum q_i x_i <= high, 0 <= x <= 1."""
    prob = _instance(12, 3, seed, 0.2)
    inst = instance_of(prob)
    rng = np.random.default_rng(100 + seed)
    red = inst.cost - rng.uniform(0, 150, size=prob.n)[:, None]
    rho, _ = _subproblems(inst, red)
    for j in range(inst.cost.shape[1]):
        lo = np.zeros(prob.n)
        lo[inst.own[j]] = 1.0
        lp = linprog(red[:, j], A_ub=np.vstack([inst.q, -inst.q]), b_ub=[inst.high, -inst.low],
                     bounds=list(zip(lo, np.ones(prob.n), strict=True)), method="highs")
        assert lp.status == 0
        assert rho[j] == pytest.approx(lp.fun, abs=1e-6)


def _brute_force(prob: TerritoryProblem) -> float:
    """Optimal cost over every choice of p centres and every assignment (centres in their own
    territory, workload of each territory within the balance band)."""
    tol = prob.balance[0].tolerance
    mean = prob.workload.sum() / prob.p
    best = np.inf
    for centres in itertools.combinations(range(prob.n), prob.p):
        for assign in itertools.product(range(prob.p), repeat=prob.n):
            a = np.array(assign)
            if any(a[c] != k for k, c in enumerate(centres)):
                continue
            loads = np.bincount(a, weights=prob.workload, minlength=prob.p)
            if ((loads < (1 - tol) * mean - 1e-9) | (loads > (1 + tol) * mean + 1e-9)).any():
                continue
            best = min(best, float(prob.weight @ prob.distance[np.arange(prob.n), np.array(centres)[a]]))
    return best


@pytest.mark.parametrize("seed", range(3))
def test_balanced_bound_is_below_brute_force_optimum(seed: int) -> None:
    prob = _instance(8, 2, seed, 0.1)
    optimum = _brute_force(prob)
    assert np.isfinite(optimum)
    inst = instance_of(prob)
    start = inst.cost[np.isfinite(inst.cost)].max() * np.ones(prob.n) / prob.n
    bound = balanced_lagrangian_bound(inst, optimum, start, max_iter=300)
    assert bound <= optimum + 1e-6
    # and it is a real bound: the balance-free relaxation (every unit at its nearest unit) is 0
    assert bound > 0.5 * optimum


def test_location_allocation_start_obeys_every_rule() -> None:
    """Named territories: every centre in its own current territory and its own territory,
    workload within +-10 %, at most 25 % of units moved."""
    n, p = 120, 4
    base = _instance(n, p, 7, 0.1)
    xy_order = np.argsort(base.distance[0])  # current territories: rings around unit 0
    current = np.empty(n, dtype=np.int64)
    current[xy_order] = np.repeat(np.arange(p), n // p)
    prob = TerritoryProblem(base.unit_ids, base.distance, base.weight, base.workload, base.potential, p,
                            balance=base.balance, labels=("A", "B", "C", "D"), current=current,
                            max_disruption=0.25)
    found = location_allocation_start(prob, time_limit_s=30, mip_gap=1e-4)
    assert found is not None
    plan, cost = found
    assert cost == pytest.approx(float(prob.weight @ prob.distance[np.arange(n), plan]))
    centres = np.unique(plan)
    assert len(centres) == p
    assert (plan[centres] == centres).all()
    assert sorted(current[centres].tolist()) == list(range(p))
    territory = current[plan]  # a territory is named after its centre's current territory
    loads = np.bincount(territory, weights=prob.workload, minlength=p)
    mean = prob.workload.sum() / p
    assert ((loads >= 0.9 * mean - 1e-6) & (loads <= 1.1 * mean + 1e-6)).all()
    assert (territory != current).mean() <= 0.25 + 1e-9
