"""Contiguous, balanced start plans for territory design over a border graph.

Region growing from spread seeds (the p-median heuristic's centres, at least one per connected
part of the border graph): the territory furthest below its share takes the unclaimed bordering
unit closest to its centre, until every unit is claimed. Then local search: single-unit moves
across a border that keep the territory left behind connected (the receiving one stays
connected as the unit borders it) and pairwise swaps, first to bring every territory into its
bands, then to lower the compactness cost, each territory re-centred on its weighted 1-median
between passes. The same search repairs a MILP solution whose territories fell apart.
It warm-starts the MILP and never replaces it: its plan is an upper bound only.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from solvers.territory.start_greedy import solve_heuristic

EPS = 1e-9


@dataclass(frozen=True)
class Band:
    """Every territory's total of `values` must lie in [low, high] (None: open side)."""

    values: np.ndarray
    low: float | None
    high: float | None


@dataclass(frozen=True)
class ContiguousPlan:
    """Centre unit of every unit, the compactness cost (sum of weight x distance to the centre)
    and the band violation (0 when every territory is within every band; else the summed
    shortfall and excess, each relative to its band's width)."""

    centre_of: np.ndarray
    cost: float
    violation: float

    @property
    def balanced(self) -> bool:
        return self.violation <= 1e-7


class _Graph:
    """Neighbour lists of the border graph (CSR arrays)."""

    def __init__(self, n: int, edges: np.ndarray) -> None:
        a, b = edges[:, 0], edges[:, 1]
        g = coo_matrix((np.ones(2 * len(a)), (np.r_[a, b], np.r_[b, a])), shape=(n, n)).tocsr()
        g.sum_duplicates()
        self.ptr, self.idx, self.n = g.indptr, g.indices, n
        self.component = connected_components(g, directed=False)[1]

    def nbrs(self, u: int) -> np.ndarray:
        return self.idx[self.ptr[u]:self.ptr[u + 1]]


@dataclass
class _State:
    """A plan under local search: territory of every unit, centre unit of every territory,
    band totals (bands x territories)."""

    terr: np.ndarray
    centre: np.ndarray
    totals: np.ndarray


def seeds_per_part(graph: _Graph, dist: np.ndarray, weight: np.ndarray, share: np.ndarray, p: int,
                   variant: int = 0) -> np.ndarray | None:
    """p seed units, each connected part of the border graph getting at least one and otherwise
    seats in proportion to its `share` measure (largest remainders); None if parts > p. Within
    a part the seeds are the p-median heuristic's centres (variant 0) or a k-means++ draw
    weighted by `share` from a generator seeded with `variant` (restarts)."""
    parts = np.unique(graph.component)
    if len(parts) > p:
        return None
    size = np.array([share[graph.component == c].sum() for c in parts])
    units = np.array([(graph.component == c).sum() for c in parts])
    seats = np.ones(len(parts), dtype=np.int64)
    quota = size / max(size.sum(), EPS) * p
    while seats.sum() < p:
        room = seats < units
        k = int(np.argmax(np.where(room, quota - seats, -np.inf)))
        seats[k] += 1
    seeds = []
    for c, k in zip(parts, seats, strict=True):
        members = np.flatnonzero(graph.component == c)
        if k >= len(members):
            seeds.extend(members.tolist())
            continue
        if variant == 0:
            heur = solve_heuristic(dist[np.ix_(members, members)], np.maximum(weight[members], EPS), int(k))
            seeds.extend(members[heur.centres].tolist())
        else:
            seeds.extend(members[_spread_draw(dist[np.ix_(members, members)], share[members], int(k), variant)])
    return np.asarray(seeds, dtype=np.int64)


def _spread_draw(dist: np.ndarray, share: np.ndarray, k: int, variant: int) -> list[int]:
    """k-means++ seeding: each next seed drawn with probability share x squared distance to the
    nearest seed so far (the first by share alone)."""
    rng = np.random.default_rng(variant)
    mass = np.maximum(share, EPS)
    chosen = [int(rng.choice(len(mass), p=mass / mass.sum()))]
    near = dist[:, chosen[0]] ** 2
    for _ in range(k - 1):
        odds = mass * near
        odds[chosen] = 0.0
        pick = int(rng.choice(len(odds), p=odds / odds.sum())) if odds.sum() > 0 else \
            int(np.flatnonzero(~np.isin(np.arange(len(odds)), chosen))[0])
        chosen.append(pick)
        near = np.minimum(near, dist[:, pick] ** 2)
    return chosen




def grow(graph: _Graph, dist: np.ndarray, share: np.ndarray, terr: np.ndarray, centre: np.ndarray
         ) -> np.ndarray:
    """Claim every unit with terr -1: the territory lowest in `share` takes its bordering unit
    closest to its centre. Units no territory can reach stay -1."""
    terr = terr.copy()
    p = len(centre)
    load = np.bincount(terr[terr >= 0], weights=share[terr >= 0], minlength=p).astype(float)
    fronts: list[list[tuple[float, int]]] = [[] for _ in range(p)]
    for u in np.flatnonzero(terr >= 0):
        k = terr[u]
        for v in graph.nbrs(u):
            if terr[v] < 0:
                fronts[k].append((float(dist[v, centre[k]]), int(v)))
    for f in fronts:
        heapq.heapify(f)
    order = [(load[k], k) for k in range(p) if fronts[k]]
    heapq.heapify(order)
    while order:
        _, k = heapq.heappop(order)
        front = fronts[k]
        while front and terr[front[0][1]] >= 0:
            heapq.heappop(front)
        if not front:
            continue
        _, u = heapq.heappop(front)
        terr[u] = k
        load[k] += share[u]
        for v in graph.nbrs(u):
            if terr[v] < 0:
                heapq.heappush(front, (float(dist[v, centre[k]]), int(v)))
        heapq.heappush(order, (load[k], k))
    return terr


def _violation(totals: np.ndarray, low: np.ndarray, high: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Per-territory band violation (bands x territories -> territories)."""
    over = np.maximum(totals - high[:, None], 0.0) + np.maximum(low[:, None] - totals, 0.0)
    return (over / scale[:, None]).sum(axis=0)


class _Search:
    """Local search over a contiguous plan (see the module docstring)."""

    def __init__(self, graph: _Graph, dist: np.ndarray, weight: np.ndarray, bands: list[Band],
                 deadline: float) -> None:
        self.g, self.dist, self.weight, self.deadline = graph, dist, weight, deadline
        self.values = np.array([b.values for b in bands]).reshape(len(bands), graph.n)
        self.low = np.array([-np.inf if b.low is None else b.low for b in bands])
        self.high = np.array([np.inf if b.high is None else b.high for b in bands])
        width = np.where(np.isfinite(self.high), self.high, 0) - np.where(np.isfinite(self.low), self.low, 0)
        self.scale = np.maximum(np.abs(width), np.maximum(self.values.sum(axis=1), 1.0) * 1e-3)

    def state(self, terr: np.ndarray, centre: np.ndarray) -> _State:
        p = len(centre)
        totals = np.array([np.bincount(terr, weights=v, minlength=p) for v in self.values]).reshape(-1, p)
        return _State(terr.copy(), centre.copy(), totals)

    def viol(self, totals: np.ndarray) -> np.ndarray:
        return _violation(totals, self.low, self.high, self.scale)

    def connected_without(self, terr: np.ndarray, k: int, u: int) -> bool:
        """True when territory k stays connected after unit u leaves it."""
        targets = {int(v) for v in self.g.nbrs(u) if terr[v] == k}
        if len(targets) <= 1:
            return True
        start = targets.pop()
        seen, queue = {start, u}, deque([start])
        while queue and targets:
            w = queue.popleft()
            for v in self.g.nbrs(w):
                v = int(v)
                if v not in seen and terr[v] == k:
                    seen.add(v)
                    targets.discard(v)
                    queue.append(v)
        return not targets

    def move_gain(self, s: _State, u: int, a: int, b: int) -> tuple[float, float]:
        """(violation change, cost change) of moving unit u from territory a to b."""
        pair = s.totals[:, [a, b]].copy()
        before = self.viol(pair).sum()
        pair[:, 0] -= self.values[:, u]
        pair[:, 1] += self.values[:, u]
        dc = self.weight[u] * (self.dist[u, s.centre[b]] - self.dist[u, s.centre[a]])
        return float(self.viol(pair).sum() - before), float(dc)

    def apply(self, s: _State, u: int, a: int, b: int) -> None:
        s.terr[u] = b
        s.totals[:, a] -= self.values[:, u]
        s.totals[:, b] += self.values[:, u]

    def moves(self, s: _State) -> bool:
        """One pass of improving single-unit moves; True if any was made."""
        improved = False
        a_end, b_end = s.terr[self._edges[:, 0]], s.terr[self._edges[:, 1]]
        border = np.unique(self._edges[a_end != b_end].ravel())
        for u in border:
            if time.perf_counter() > self.deadline:
                break
            a = int(s.terr[u])
            if s.centre[a] == u:
                continue
            for b in {int(t) for t in s.terr[self.g.nbrs(u)]} - {a}:
                dv, dc = self.move_gain(s, u, a, b)
                if (dv < -EPS or (dv <= EPS and dc < -EPS)) and self.connected_without(s.terr, a, u):
                    self.apply(s, u, a, b)
                    improved = True
                    break
        return improved

    def swaps(self, s: _State) -> bool:
        """One pass of improving swaps of two bordering units of different territories; True if any."""
        improved = False
        a_end, b_end = s.terr[self._edges[:, 0]], s.terr[self._edges[:, 1]]
        for u, v in self._edges[a_end != b_end]:
            if time.perf_counter() > self.deadline:
                break
            a, b = int(s.terr[u]), int(s.terr[v])
            if a == b or s.centre[a] == u or s.centre[b] == v:
                continue
            pair = s.totals[:, [a, b]].copy()
            before = self.viol(pair).sum()
            delta = self.values[:, v] - self.values[:, u]
            pair[:, 0] += delta
            pair[:, 1] -= delta
            dv = self.viol(pair).sum() - before
            dc = (self.weight[u] * (self.dist[u, s.centre[b]] - self.dist[u, s.centre[a]])
                  + self.weight[v] * (self.dist[v, s.centre[a]] - self.dist[v, s.centre[b]]))
            if not (dv < -EPS or (dv <= EPS and dc < -EPS)):
                continue
            trial = s.terr.copy()
            trial[u], trial[v] = b, a
            if self._connected(trial, a, s.centre[a]) and self._connected(trial, b, s.centre[b]):
                s.terr[:] = trial
                s.totals[:, a] += delta
                s.totals[:, b] -= delta
                improved = True
        return improved

    def _connected(self, terr: np.ndarray, k: int, root: int) -> bool:
        members = int((terr == k).sum())
        seen, queue = {int(root)}, deque([int(root)])
        while queue:
            w = queue.popleft()
            for v in self.g.nbrs(w):
                if terr[v] == k and int(v) not in seen:
                    seen.add(int(v))
                    queue.append(int(v))
        return len(seen) == members

    def recentre(self, s: _State) -> None:
        """Each territory's centre becomes its weighted 1-median among its members."""
        for k in range(len(s.centre)):
            members = np.flatnonzero(s.terr == k)
            cost = self.weight[members] @ self.dist[np.ix_(members, members)]
            s.centre[k] = members[int(np.argmin(cost))]

    def run(self, s: _State, edges: np.ndarray) -> _State:
        self._edges = edges
        while time.perf_counter() < self.deadline:
            moved = self.moves(s)
            if not moved:
                moved = self.swaps(s)
            before = s.centre.copy()
            self.recentre(s)
            if not moved and (before == s.centre).all():
                break
        return s

    def plan(self, s: _State) -> ContiguousPlan:
        centre_of = s.centre[s.terr]
        cost = float(self.weight @ self.dist[np.arange(len(centre_of)), centre_of])
        return ContiguousPlan(centre_of, cost, float(self.viol(s.totals).sum()))


def contiguous_start(dist: np.ndarray, weight: np.ndarray, edges: np.ndarray, p: int, bands: list[Band],
                     time_limit_s: float | None = None, variant: int = 0) -> ContiguousPlan | None:
    """A contiguous plan of p territories (None when the border graph has more parts than p, or
    growing leaves a unit unclaimed). Distances between any units, `weight` the compactness
    weight, `edges` (m, 2) the border graph, `bands` the balance and capacity rules; `variant`
    chooses the seeds (0: p-median heuristic; else a seeded k-means++ draw, for restarts)."""
    n = len(weight)
    deadline = time.perf_counter() + (np.inf if time_limit_s is None else time_limit_s)
    graph = _Graph(n, edges)
    share = bands[0].values if bands else np.maximum(weight, EPS)
    seeds = seeds_per_part(graph, dist, weight, share, p, variant)
    if seeds is None:
        return None
    terr = np.full(n, -1, dtype=np.int64)
    terr[seeds] = np.arange(p)
    terr = grow(graph, dist, share, terr, seeds)
    if (terr < 0).any():
        return None
    search = _Search(graph, dist, weight, bands, deadline)
    state = search.state(terr, seeds)
    search.recentre(state)
    return search.plan(search.run(state, edges))


def repair(dist: np.ndarray, weight: np.ndarray, edges: np.ndarray, centre_of: np.ndarray, bands: list[Band],
           time_limit_s: float | None = None) -> ContiguousPlan | None:
    """A contiguous plan near a given one (centre unit of every unit, e.g. a MILP solution whose
    territories fell apart): pieces cut off from their centre are re-claimed by growing, then
    the local search restores the bands. None when a unit cannot be reached."""
    n = len(weight)
    deadline = time.perf_counter() + (np.inf if time_limit_s is None else time_limit_s)
    graph = _Graph(n, edges)
    centres, terr = np.unique(centre_of, return_inverse=True)
    terr[centres] = np.arange(len(centres))
    same = terr[edges[:, 0]] == terr[edges[:, 1]]
    kept = edges[same]
    g = coo_matrix((np.ones(len(kept)), (kept[:, 0], kept[:, 1])), shape=(n, n))
    piece = connected_components(g, directed=False)[1]
    terr = np.where(piece == piece[centres[terr]], terr, -1)
    share = bands[0].values if bands else np.maximum(weight, EPS)
    terr = grow(graph, dist, share, terr, centres)
    if (terr < 0).any():
        return None
    search = _Search(graph, dist, weight, bands, deadline)
    return search.plan(search.run(search.state(terr, centres), edges))


def recentre(dist: np.ndarray, weight: np.ndarray, centre_of: np.ndarray) -> np.ndarray:
    """The same territories, each centred on its weighted 1-median among its own units
    (the cost never rises; contiguity and bands are unchanged)."""
    out = centre_of.copy()
    for c in np.unique(centre_of):
        members = np.flatnonzero(centre_of == c)
        cost = weight[members] @ dist[np.ix_(members, members)]
        out[members] = members[int(np.argmin(cost))]
    return out
