"""Radii chosen from the LP (`solvers.territory.milp_radius._lp_radii`): after the extension, the LP
relaxation of the truncated radius model must equal the classic p-median LP (x_ij <= y_j,
sum_j x_ij = 1, sum_j y_j = p) solved independently by scipy; before it, the truncated model
undercharges (its LP is lower), so the test fails if the extension does nothing."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, hstack, vstack
from scipy.sparse.csgraph import shortest_path

import solvers.territory.milp_radius as radius
from solvers.solve import Status, solve
from solvers.territory.start_greedy import solve_heuristic


def _graph(n: int, seed: int) -> np.ndarray:
    """Shortest paths of a random connected graph (spanning tree plus 2n edges, costs 1..100)."""
    rng = np.random.default_rng(seed)
    a = np.arange(1, n)
    b = np.array([rng.integers(0, k) for k in range(1, n)])
    extra = rng.integers(0, n, size=(2 * n, 2))
    i = np.r_[a, extra[:, 0]]
    j = np.r_[b, extra[:, 1]]
    keep = i != j
    g = coo_matrix((rng.integers(1, 101, size=keep.sum()).astype(float), (i[keep], j[keep])), shape=(n, n))
    return shortest_path(g.tocsr(), directed=False)


def _classic_lp(dist: np.ndarray, p: int) -> float:
    n, m = dist.shape
    c = np.r_[dist.ravel(), np.zeros(m)]
    rows = np.repeat(np.arange(n), m)
    assign = hstack([coo_matrix((np.ones(n * m), (rows, np.arange(n * m))), shape=(n, n * m)),
                     coo_matrix((n, m))])
    count = coo_matrix(np.r_[np.zeros(n * m), np.ones(m)][None, :])
    link = hstack([coo_matrix((np.ones(n * m), (np.arange(n * m), np.arange(n * m))), shape=(n * m, n * m)),
                   coo_matrix((-np.ones(n * m), (np.arange(n * m), np.tile(np.arange(m), n))),
                              shape=(n * m, m))])
    res = linprog(c, A_ub=link.tocsr(), b_ub=np.zeros(n * m), A_eq=vstack([assign, count]).tocsr(),
                  b_eq=np.r_[np.ones(n), p], bounds=(0, 1), method="highs")
    assert res.status == 0
    return float(res.fun)


def _lp_value(dist: np.ndarray, p: int, rad) -> float:  # noqa: ANN001 - radius._Radii
    model = radius._build(dist, np.ones(len(dist)), p, rad, None, None, relax=True)
    res = solve(model)
    assert res.status == Status.OPTIMAL
    return float(res.objective)


@pytest.mark.parametrize(("n", "p", "seed"), [(60, 3, 1), (80, 5, 2)])
def test_lp_radii_reach_the_full_lp(n: int, p: int, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = _graph(n, seed)
    monkeypatch.setattr(radius, "FULL_RADII", 0)  # truncate even this small matrix
    monkeypatch.setattr(radius, "SLACK", 0)  # one radius at a time: many LP rounds
    monkeypatch.setattr(radius, "LP_ROUNDS", 500)
    heur = solve_heuristic(dist, np.ones(n), p)
    start = radius._initial_radii(dist, dist[:, heur.centres].min(axis=1))
    extended = radius._lp_radii(dist, np.ones(n), p, start, None)
    reference = _classic_lp(dist, p)
    assert _lp_value(dist, p, start) < reference - 1e-6
    assert _lp_value(dist, p, extended) == pytest.approx(reference, rel=1e-7)
    assert sum(map(len, extended.kept)) < sum(len(r) - 1 for r in extended.radii)  # still truncated


def test_lagrangian_multipliers_give_the_reported_bound() -> None:
    """The multipliers returned as unit prices are those of the best bound: L(lambda) evaluated
    by hand over every candidate equals it, and it is below the heuristic's cost."""
    from solvers.territory.bound_pmedian import lagrangian_bound

    dist = _graph(70, 4)
    p = 4
    heur = solve_heuristic(dist, np.ones(70), p)
    lb = lagrangian_bound(dist, p, heur.cost, dist[:, heur.centres].min(axis=1))
    lam = lb.multipliers
    rho = np.minimum(dist - lam[:, None], 0.0).sum(axis=0)
    by_hand = lam.sum() + np.sort(rho)[:p].sum()
    assert by_hand == pytest.approx(lb.bound, rel=1e-9)
    assert lb.bound <= heur.cost + 1e-9
