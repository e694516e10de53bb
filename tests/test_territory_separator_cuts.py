"""Separator cuts on fractional solutions (solvers/territory/separator_cuts.py) and the LP bound
with them (solvers/territory/bound_contiguous.py), against independent references: separators
checked by removing them from a border graph rebuilt from grid coordinates, minimum cut weights
by brute force over the units that carry weight, a U-shaped case solved by hand, and on the grid
with holes and an island (tests/test_territory_maps.py) the exact contiguous optimum from the
free-centre model over every pair."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import cdist

from engine.plan.territory import load_territory_problem
from solvers.territory.bound_contiguous import lp_with_cuts
from solvers.territory.design import SolveOptions, design_territories
from solvers.territory.milp_assign import candidate_pairs
from solvers.territory.problem import Balance, TerritoryProblem
from solvers.territory.separator_cuts import separate, separate_centre
from tests.test_territory_maps import _cells, _connected, _grid_edges, _section, _write


def _separates(edges: np.ndarray, n: int, removed: np.ndarray, a: int, b: int) -> bool:
    keep = np.ones(n, dtype=bool)
    keep[removed] = False
    e = edges[keep[edges[:, 0]] & keep[edges[:, 1]]]
    comp = connected_components(coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n)),
                                directed=False)[1]
    return comp[a] != comp[b]


def _brute_min_cut(edges: np.ndarray, n: int, x: np.ndarray, a: int, b: int) -> float:
    """Lightest set of weighted units (units of weight 0 are removed for free) whose removal
    separates a from b, by enumeration."""
    zero = np.flatnonzero(x <= 0)
    zero = zero[(zero != a) & (zero != b)]
    weighted = [u for u in np.flatnonzero(x > 0) if u not in (a, b)]
    best = np.inf
    for k in range(len(weighted) + 1):
        for subset in itertools.combinations(weighted, k):
            if _separates(edges, n, np.r_[zero, list(subset)].astype(int), a, b):
                best = min(best, float(x[list(subset)].sum()))
    return best


def test_fractional_separators_separate_and_are_minimal() -> None:
    """On the grid with holes: a centre in the west, fractional weights on a band of cells and a
    unit in the east with x 0.9. Every cut returned removes a set that disconnects its unit from
    the centre in the grid graph, is violated, and weighs what the brute-force minimum does."""
    cells = _cells()[:-1]  # the grid with two lakes, no island
    n = len(cells)
    edges = _grid_edges(cells)
    pos = {c: k for k, c in enumerate(cells)}
    rng = np.random.default_rng(3)
    x = np.zeros(n)
    centre = pos[(0, 3)]
    x[centre] = 1.0
    for r in range(6):  # column 4 (one lake cell in column 5) carries 0.1..0.4
        if (4, r) in pos:
            x[pos[(4, r)]] = round(float(rng.uniform(0.1, 0.4)), 2)
    x[pos[(3, 2)]] = 0.5
    far = pos[(7, 4)]
    x[far] = 0.9
    nbrs = {int(b) for a, b in edges if a == centre} | {int(a) for a, b in edges if b == centre}
    cuts = separate_centre(n, edges, x, centre, nbrs)
    assert any(c.unit == far for c in cuts)
    for cut in cuts:
        assert _separates(edges, n, cut.separator, cut.unit, centre)
        assert x[cut.unit] > x[cut.separator].sum() + 1e-3
    cut = next(c for c in cuts if c.unit == far)
    assert x[cut.separator].sum() == pytest.approx(_brute_min_cut(edges, n, x, far, centre), abs=1e-5)


def test_no_cut_when_every_unit_is_reachable() -> None:
    """A connected integral territory (a 2 x 2 block around its centre) violates no cut."""
    cells = _cells()[:-1]
    edges = _grid_edges(cells)
    pos = {c: k for k, c in enumerate(cells)}
    x = np.zeros(len(cells))
    x[[pos[(0, 0)], pos[(1, 0)], pos[(0, 1)], pos[(1, 1)]]] = 1.0
    units = np.flatnonzero(x > 0)
    assert separate(len(cells), edges, x[units], units, np.full(len(units), pos[(0, 0)])) == []


def _u_shape() -> TerritoryProblem:
    """Seven units on a U (a path 0-1-...-6), centres fixed at 0 (top of the west arm) and 3
    (bottom middle). Unit 6 (top of the east arm) is nearest to centre 0 (2 km, sqrt(5) to 3) but
    its path to 0 passes through centre 3."""
    xy = np.array([[0, 2], [0, 1], [0, 0], [1, 0], [2, 0], [2, 1], [2, 2]], dtype=float)
    edges = np.array([[k, k + 1] for k in range(6)])
    return TerritoryProblem(np.array([f"u{k}" for k in range(7)], dtype=object), cdist(xy, xy), np.ones(7),
                            np.ones(7), np.zeros(7), 2, fixed_centres=np.array([0, 3]), labels=("A", "B"),
                            adjacency=edges)


def test_u_shape_lp_bound_rises_to_the_hand_solved_optimum() -> None:
    """Without cuts the LP sends every unit to its nearest centre: 3 + sqrt(2) + 2 (unit 6 to 0,
    not connected). The cuts (separator {3} of unit 6 from centre 0) force unit 6 to centre 3:
    3 + sqrt(2) + sqrt(5), the contiguous optimum."""
    prob = _u_shape()
    loop = lp_with_cuts(prob, candidate_pairs(prob, None), deadline=np.inf)
    assert loop.first == pytest.approx(3 + np.sqrt(2) + 2, abs=1e-6)
    assert loop.last == pytest.approx(3 + np.sqrt(2) + np.sqrt(5), abs=1e-6)
    assert loop.rounds >= 1 and len(loop.cuts) >= 1


FJORD = {(3, r) for r in range(1, 6)} | {(4, 3)}
"""Lake cells of an 8 x 6 grid: a fjord from the north coast down to row 1, with an arm east at
row 3, so cells on its two shores are close by line but far by border."""


def _fjord_problem(p: int, seed: int) -> tuple[TerritoryProblem, list, np.ndarray]:
    cells = [(c, r) for r in range(6) for c in range(8) if (c, r) not in FJORD]
    edges = _grid_edges(cells)
    w = np.random.default_rng(seed).uniform(1, 3, len(cells)).round(2)
    prob = TerritoryProblem(np.array([f"c{c}r{r}" for c, r in cells], dtype=object),
                            cdist(np.array(cells, float), np.array(cells, float)), w, w, np.zeros(len(cells)), p,
                            balance=(Balance("workload", 0.1),), adjacency=edges)
    return prob, cells, edges


@pytest.mark.slow  # reason: the exact contiguous optimum, then the cut loop
def test_grid_lp_bound_with_fractional_cuts_is_valid_and_higher() -> None:
    """Grid with a fjord (a hole open to the coast), 4 free centres, balance +-10 %: the LP with
    fractional cuts is above the LP without them (its solution crosses the fjord), at most the
    exact contiguous optimum (free centres, every pair, integer cut loop to a proven optimum). The
    optimal plan's territories are connected in the grid graph rebuilt from the cells."""
    prob, cells, edges = _fjord_problem(4, seed=2)
    exact = design_territories(prob, SolveOptions(time_limit_s=120, mip_gap=0.0))
    assert exact.solve.status.value == "optimal", exact.summary
    opt = exact.solve.objective
    terr = exact.assignments["territory"].to_numpy()
    for name in np.unique(terr):
        assert _connected(np.flatnonzero(terr == name), edges, len(cells))
    loop = lp_with_cuts(prob, candidate_pairs(prob, None), deadline=np.inf)
    first = loop.first
    assert loop.rounds >= 1 and len(loop.cuts) >= 1
    assert loop.last > first * (1 + 1e-3), (first, loop.last)
    assert loop.last <= opt * (1 + 1e-6)


def test_grid_with_holes_and_island_cut_loop_is_valid(tmp_path: Path) -> None:
    """The grid with two lakes and a linked island (tests/test_territory_maps.py), 3 free
    centres: the LP with the cut loop never exceeds the exact contiguous optimum."""
    cells = _write(tmp_path)
    prob = load_territory_problem(_section(link_islands=True, territories=3), tmp_path)
    exact = design_territories(prob, SolveOptions(time_limit_s=120, mip_gap=0.0))
    assert exact.solve.status.value == "optimal", exact.summary
    loop = lp_with_cuts(prob, candidate_pairs(prob, None), deadline=np.inf)
    assert loop.first - 1e-6 <= loop.last <= exact.solve.objective * (1 + 1e-6)
    assert len(cells) == prob.n


def test_free_centre_model_starts_from_fractional_cuts() -> None:
    """The fjord grid through the engine (49 units: the free-centre model over every pair finishes
    the search): fractional cuts join its root, the plan is the proven optimum of the model
    without them (same objective), and every territory is connected in the grid graph."""
    prob, cells, edges = _fjord_problem(4, seed=2)
    res = design_territories(prob, SolveOptions(time_limit_s=120, mip_gap=0.0))
    assert res.solve.status.value == "optimal", res.summary
    assert res.summary["contiguity"]["fractional_cuts"] >= 1
    plain = lp_with_cuts(prob, candidate_pairs(prob, None), deadline=np.inf)
    assert res.summary["bound"] >= plain.last * (1 - 1e-6)
    terr = res.assignments["territory"].to_numpy()
    for name in np.unique(terr):
        assert _connected(np.flatnonzero(terr == name), edges, len(cells))
