"""Separator cuts on fractional solutions: the most violated a-b separator inequality per pair.

The CUT formulation of Validi, Buchanan and Lykhovyd (2022) holds, for every centre j, every
unit i not bordering j and every set C of units whose removal separates i from j in the border
graph,

    x_ij <= sum_{l in C} x_lj.

For a solution x (integer or fractional) the most violated one of a pair (i, j) is a minimum
vertex cut between i and j with vertex weights x_lj: a maximum flow from i to j in the border
graph with every unit split into an in- and an out-node joined by an arc of capacity x_lj
(scipy's `maximum_flow`, integer capacities scaled by SCALE). The units whose in-node is reached
from i in the residual graph and whose out-node is not form C; every unit k on i's side separated
by C whose x_kj exceeds the cut's weight gets the cut too. With x integral this finds the cuts of
the integer separation (`milp_assign.add_contiguity_cuts`); with x fractional it finds cuts no
integer check sees, which is what lifts the LP bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

SCALE = 1_000_000
"""Flow units per unit of x (scipy's maximum flow takes integer capacities)."""
BIG = 2**30
"""Capacity of the border arcs (never cut)."""
MIN_VIOLATION = 1e-3
"""A cut is kept when x_ij exceeds the separator's weight by more than this."""


@dataclass(frozen=True)
class SeparatorCut:
    """x_{unit, centre} <= sum_{l in separator} x_{l, centre} (centre and units as unit indices)."""

    unit: int
    centre: int
    separator: np.ndarray


def _split_graph(n: int, edges: np.ndarray, weight: np.ndarray) -> csr_matrix:
    """Capacities of the split border graph: node v (in) -> v + n (out) of capacity weight[v]
    (scaled), and out-node -> in-node of both ends of every border, uncapped."""
    a, b = edges[:, 0], edges[:, 1]
    rows = np.r_[np.arange(n), a + n, b + n]
    cols = np.r_[np.arange(n) + n, b, a]
    caps = np.r_[np.round(np.clip(weight, 0.0, 1.0) * SCALE), np.full(2 * len(a), BIG)].astype(np.int32)
    return csr_matrix((caps, (rows, cols)), shape=(2 * n, 2 * n))


def _cut_side(graph: csr_matrix, flow: csr_matrix, source: int) -> np.ndarray:
    """Nodes reachable from `source` in the residual graph of `flow`."""
    residual = (graph - flow).tocsr()
    residual.data[residual.data < 0] = 0
    residual.eliminate_zeros()
    return breadth_first_order(residual, source, directed=True, return_predecessors=False)


def separate_centre(n: int, edges: np.ndarray, x: np.ndarray, centre: int, neighbours: set[int],
                    tol: float = MIN_VIOLATION) -> list[SeparatorCut]:
    """Violated separator cuts of one centre unit, `x[l]` = x_{l, centre} over every unit (0
    where the pair is absent); `neighbours` the units bordering the centre (no separator exists
    for them). Units are tried in decreasing x; a unit already covered by a cut found this call
    is skipped."""
    graph = _split_graph(n, edges, x)
    covered = np.zeros(n, dtype=bool)
    cuts = []
    for i in np.argsort(-x, kind="stable"):
        i = int(i)
        if x[i] <= tol:
            break
        if i == centre or i in neighbours or covered[i]:
            continue
        flow = maximum_flow(graph, i + n, centre)
        if flow.flow_value >= BIG or flow.flow_value / SCALE >= x[i] - tol:
            continue
        side = np.zeros(2 * n, dtype=bool)
        side[_cut_side(graph, flow.flow, i + n)] = True
        separator = np.flatnonzero(side[:n] & ~side[n:])
        weight = float(x[separator].sum())
        # every unit whose out-node is reached lies on i's side: every path from it to the
        # centre crosses the separator (the residual graph leaves that side only through it)
        for k in np.flatnonzero(side[n:]):
            if k != centre and x[k] > weight + tol and not covered[k]:
                cuts.append(SeparatorCut(int(k), centre, separator))
                covered[k] = True
    return cuts


def separate(n: int, edges: np.ndarray, x_pairs: np.ndarray, pair_unit: np.ndarray, pair_centre: np.ndarray,
             tol: float = MIN_VIOLATION, deadline: float = np.inf) -> list[SeparatorCut]:
    """Violated separator cuts of a solution over unit-centre pairs (`x_pairs[k]` the value of
    unit `pair_unit[k]` in the territory of centre unit `pair_centre[k]`), every centre with a
    unit beyond its neighbours, until `deadline` (a `time.perf_counter()` instant; the centres
    not reached by then are left for the next round)."""
    nbrs: dict[int, set[int]] = {}
    for a, b in edges:
        nbrs.setdefault(int(a), set()).add(int(b))
        nbrs.setdefault(int(b), set()).add(int(a))
    cuts = []
    for centre in np.unique(pair_centre):
        if time.perf_counter() > deadline:
            break
        mine = pair_centre == centre
        x = np.zeros(n)
        x[pair_unit[mine]] = x_pairs[mine]
        c = int(centre)
        far = x > tol
        far[c] = False
        far[list(nbrs.get(c, ()))] = False
        if far.any():
            cuts += separate_centre(n, edges, x, c, nbrs.get(c, set()), tol)
    return cuts
