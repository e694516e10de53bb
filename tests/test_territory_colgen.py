"""Column-generation bound and priced MILP of the territory solver against independent references:
the LP over every unit-centre pair written out explicitly for scipy's `linprog`, brute-force
enumeration of every plan of tiny instances, and the assignment MILP over every pair solved
directly. Also `solve(..., duals=True)` on an LP whose duals are known by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pyomo.environ as pyo
import pytest
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, vstack
from scipy.spatial.distance import cdist

from solvers.solve import Status, solve
from solvers.territory.bound_colgen import column_generation
from solvers.territory.design import SolveOptions, design_territories
from solvers.territory.milp_assign import solve_assignment
from solvers.territory.milp_priced import solve_priced
from solvers.territory.problem import Balance, TerritoryProblem


def _instance(n: int, p: int, seed: int, *, fixed: bool, tol: float = 0.1, disruption: float | None = None,
              capacity: float | None = None) -> TerritoryProblem:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n, 2))
    workload = rng.gamma(4.0, 2.5, size=n)
    centres = np.sort(rng.choice(n, p, replace=False)) if fixed else None
    labels = tuple(f"T{k}" for k in range(p)) if fixed else ()
    current = None
    if disruption is not None:
        current = np.argmin(cdist(xy, xy[centres]), axis=1)  # nearest home base today
        current = np.where(rng.uniform(size=n) < 0.3, rng.integers(0, p, n), current)
    return TerritoryProblem(np.array([f"u{i}" for i in range(n)], dtype=object), cdist(xy, xy), workload,
                            workload, rng.uniform(0, 5, n), p, balance=(Balance("workload", tol),),
                            fixed_centres=centres, labels=labels, current=current,
                            max_disruption=disruption, capacity=capacity)


def _explicit_lp(prob: TerritoryProblem) -> float:
    """The LP relaxation over every pair, written out as matrices for scipy's HiGHS (no Pyomo).

    Fixed centres: x_ij (n x p). Free centres: x_ij (n x n) then y_j, with x_ij <= y_j,
    x_jj >= y_j and sum y = p."""
    n = prob.n
    fixed = prob.fixed_centres is not None
    cols = prob.fixed_centres if fixed else np.arange(n)
    m = len(cols)
    nx = n * m
    nvar = nx + (0 if fixed else m)
    c = np.zeros(nvar)
    c[:nx] = (prob.weight[:, None] * prob.distance[:, cols]).ravel()
    ii, jj = np.divmod(np.arange(nx), m)
    a_eq = [coo_matrix((np.ones(nx), (ii, np.arange(nx))), shape=(n, nvar))]
    b_eq = [np.ones(n)]
    a_ub, b_ub = [], []
    q = prob.workload
    mean = q.sum() / prob.p
    tol = prob.balance[0].tolerance
    y_col = nx + jj if not fixed else None
    rows_hi = [coo_matrix((q[ii], (jj, np.arange(nx))), shape=(m, nvar))]
    if fixed:
        a_ub += [rows_hi[0], -rows_hi[0]]
        b_ub += [np.full(m, (1 + tol) * mean), np.full(m, -(1 - tol) * mean)]
        if prob.capacity is not None:
            a_ub.append(rows_hi[0])
            b_ub.append(np.full(m, prob.capacity))
    else:
        ys = coo_matrix((np.ones(m), (np.arange(m), nx + np.arange(m))), shape=(m, nvar))
        a_ub += [rows_hi[0] - (1 + tol) * mean * ys, -rows_hi[0] + (1 - tol) * mean * ys]
        b_ub += [np.zeros(m), np.zeros(m)]
        link = coo_matrix((np.r_[np.ones(nx), -np.ones(nx)], (np.r_[np.arange(nx), np.arange(nx)],
                                                               np.r_[np.arange(nx), y_col])), shape=(nx, nvar))
        a_ub.append(link)
        b_ub.append(np.zeros(nx))
        own = np.arange(m) * m + np.arange(m)
        a_ub.append(coo_matrix((np.r_[-np.ones(m), np.ones(m)], (np.r_[np.arange(m), np.arange(m)],
                                                                  np.r_[own, nx + np.arange(m)])), shape=(m, nvar)))
        b_ub.append(np.zeros(m))
        a_eq.append(coo_matrix((np.ones(m), (np.zeros(m), nx + np.arange(m))), shape=(1, nvar)))
        b_eq.append(np.array([float(prob.p)]))
    if prob.max_disruption is not None:
        stay = (prob.current[ii] == jj).astype(float)
        a_ub.append(coo_matrix(-stay.reshape(1, -1), shape=(1, nx)) if fixed else
                    coo_matrix(np.r_[-stay, np.zeros(m)].reshape(1, -1)))
        b_ub.append(np.array([-(1 - prob.max_disruption) * n]))
    lp = linprog(c, A_ub=vstack(a_ub).tocsr(), b_ub=np.concatenate(b_ub), A_eq=vstack(a_eq).tocsr(),
                 b_eq=np.concatenate(b_eq), bounds=(0, 1), method="highs")
    assert lp.status == 0, lp.message
    return float(lp.fun)


@pytest.mark.parametrize(("fixed", "seed", "extra"), [
    (True, 0, {}), (True, 1, {"disruption": 0.2}), (True, 2, {"capacity": 200.0}), (False, 3, {}),
])
def test_column_generation_equals_lp_over_every_pair(fixed: bool, seed: int, extra: dict) -> None:
    """Started from 2 nearest centres per unit, pricing must bring in every pair the LP needs."""
    prob = _instance(60 if fixed else 30, 8 if fixed else 3, seed, fixed=fixed, **extra)
    cg = column_generation(prob, nearest=2, per_unit=2)
    assert cg.converged
    reference = _explicit_lp(prob)
    assert cg.bound == pytest.approx(reference, rel=1e-6)
    assert cg.lp == pytest.approx(reference, rel=1e-6)
    assert not cg.pairs.complete  # it did not need every pair


def test_column_generation_tolerance_stops_early_with_a_valid_bound() -> None:
    """With a relative tolerance the rounds stop once the Lagrangian bound is that close to the
    restricted LP; the bound is still below the LP over every pair, and within the tolerance."""
    prob = _instance(60, 8, 0, fixed=True)
    reference = _explicit_lp(prob)
    full = column_generation(prob, nearest=2, per_unit=2)
    loose = column_generation(prob, nearest=2, per_unit=2, rel_tol=0.05)
    assert full.converged and full.rounds > 2
    assert not loose.converged and loose.rounds < full.rounds
    assert loose.bound <= reference + 1e-6 * abs(reference)
    assert loose.lp - loose.dual_bound <= 0.05 * abs(loose.lp)
    assert loose.bound >= reference * (1 - 0.05) - 1e-6


def _brute_force(prob: TerritoryProblem) -> float:
    """Cheapest plan over every assignment of units to the fixed centres within the band."""
    tol, mean = prob.balance[0].tolerance, prob.workload.sum() / prob.p
    centres = prob.fixed_centres
    best = np.inf
    for assign in itertools.product(range(prob.p), repeat=prob.n):
        a = np.array(assign)
        if (a[centres] != np.arange(prob.p)).any():
            continue
        loads = np.bincount(a, weights=prob.workload, minlength=prob.p)
        if ((loads < (1 - tol) * mean - 1e-9) | (loads > (1 + tol) * mean + 1e-9)).any():
            continue
        best = min(best, float(prob.weight @ prob.distance[np.arange(prob.n), centres[a]]))
    return best


@pytest.mark.parametrize("seed", range(3))
def test_bound_never_exceeds_brute_force_optimum(seed: int) -> None:
    prob = _instance(9, 2, seed, fixed=True, tol=0.15)
    optimum = _brute_force(prob)
    assert np.isfinite(optimum)
    cg = column_generation(prob, nearest=1, per_unit=1)
    assert cg.bound <= optimum + 1e-6


@pytest.mark.parametrize(("seed", "extra"), [(10, {}), (11, {"disruption": 0.25})])
def test_priced_solve_reaches_direct_milp_optimum(seed: int, extra: dict) -> None:
    """The priced MILP with mip_gap 0 proves the optimum of the MILP over every pair, and every
    bound along the way stays below it."""
    prob = _instance(80, 8, seed, fixed=True, tol=0.05, **extra)
    direct = solve_assignment(prob, max_candidates=None, time_limit_s=120, mip_gap=0.0)
    assert direct.result.status == Status.OPTIMAL
    optimum = direct.result.objective
    cg = column_generation(prob, nearest=3)
    assert cg.bound <= optimum * (1 + 1e-9)
    priced = solve_priced(prob, time_limit_s=120, mip_gap=0.0)
    assert priced is not None and priced.centre_of is not None
    assert priced.result.bound <= optimum * (1 + 1e-9)
    plan = priced.centre_of
    assert priced.result.objective == pytest.approx(float(prob.weight @ prob.distance[np.arange(prob.n), plan]))
    assert priced.result.objective == pytest.approx(optimum, rel=1e-6)
    assert priced.result.status == Status.OPTIMAL
    loads = np.array([prob.workload[plan == c].sum() for c in prob.fixed_centres])
    mean = prob.workload.sum() / prob.p
    assert ((loads >= 0.95 * mean - 1e-6) & (loads <= 1.05 * mean + 1e-6)).all()


def test_design_territories_certifies_fixed_centre_gap() -> None:
    """Through the public entry point (n x p above the full-model size): plan feasible, gap as
    reported and within the requested 1 %, bound at least the LP over every pair written out
    explicitly (it contains it) and at most the plan's cost."""
    prob = _instance(800, 20, 21, fixed=True, tol=0.05)
    out = design_territories(prob, SolveOptions(time_limit_s=60, mip_gap=0.01))
    s = out.solve
    assert s.status == Status.OPTIMAL and s.gap <= 0.01 + 1e-9
    assert out.summary["bound_method"].startswith("LP relaxation over every unit-centre pair")
    loads = out.territories["workload"].to_numpy()
    mean = prob.workload.sum() / prob.p
    assert ((loads >= 0.95 * mean - 1e-6) & (loads <= 1.05 * mean + 1e-6)).all()
    plan = out.assignments["center_unit_id"].str[1:].astype(int).to_numpy()
    assert s.objective == pytest.approx(float(prob.weight @ prob.distance[np.arange(prob.n), plan]))
    assert _explicit_lp(prob) * (1 - 1e-6) <= s.bound <= s.objective
    assert s.gap == pytest.approx((s.objective - s.bound) / s.objective)


def test_solve_loads_hand_checked_duals() -> None:
    """min x + 2y s.t. x + y >= 3 (dual 1), y >= 1 (dual 1), x, y >= 0: x = 2, y = 1.
    Reduced costs: x 0, y 0 (both basic)."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(within=pyo.NonNegativeReals)
    m.y = pyo.Var(within=pyo.NonNegativeReals)
    m.total = pyo.Constraint(expr=m.x + m.y >= 3)
    m.floor = pyo.Constraint(expr=m.y >= 1)
    m.obj = pyo.Objective(expr=m.x + 2 * m.y)
    res = solve(m, duals=True)
    assert res.status == Status.OPTIMAL and res.objective == pytest.approx(4.0)
    assert m.dual[m.total] == pytest.approx(1.0)
    assert m.dual[m.floor] == pytest.approx(1.0)
    assert m.rc[m.x] == pytest.approx(0.0) and m.rc[m.y] == pytest.approx(0.0)
    plain = pyo.ConcreteModel()
    plain.x = pyo.Var(within=pyo.NonNegativeReals)
    plain.c = pyo.Constraint(expr=plain.x >= 1)
    plain.obj = pyo.Objective(expr=plain.x)
    solve(plain)
    assert not hasattr(plain, "dual")  # the default leaves the model untouched


def test_infeasible_instances_are_reported() -> None:
    """A capacity below the balance band's floor: even the LP has no solution. One unit heavier
    than the band allows: the LP splits it, but no plan exists."""
    prob = _instance(40, 4, 5, fixed=True, tol=0.05)
    mean = prob.workload.sum() / prob.p
    capped = TerritoryProblem(prob.unit_ids, prob.distance, prob.weight, prob.workload, prob.potential,
                              prob.p, balance=prob.balance, fixed_centres=prob.fixed_centres,
                              labels=prob.labels, capacity=0.9 * mean)
    assert column_generation(capped, nearest=2).infeasible
    priced = solve_priced(capped, time_limit_s=30, mip_gap=0.0)
    assert priced is not None and priced.centre_of is None
    assert priced.result.status == Status.INFEASIBLE
    workload = prob.workload.copy()
    workload[0] = workload.sum()
    heavy = TerritoryProblem(prob.unit_ids, prob.distance, workload, workload, prob.potential, prob.p,
                             balance=prob.balance, fixed_centres=prob.fixed_centres, labels=prob.labels)
    assert not column_generation(heavy, nearest=2).infeasible
    out = design_territories(heavy, SolveOptions(time_limit_s=30, mip_gap=0.0, max_candidates=2))
    assert out.solve.status == Status.INFEASIBLE and out.assignments.empty
