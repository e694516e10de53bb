"""Assignment (location-allocation) MILP for territory design with side constraints.

x_k = 1 when unit i(k) belongs to the territory centred on unit j(k) (k runs over candidate
unit-centre pairs), y_j = 1 when unit j is a centre:

    min  sum_k w_i d_ij x_k
    s.t. sum_{k of i} x_k = 1                  every unit in one territory
         x_k <= y_j,  x_jj >= y_j              only open centres; a centre is in its territory
         sum_j y_j = p                         (or one centre per named territory)
         sum_i q_i x_ij <= Q y_j               capacity on measure q
         (1-t) M y_j <= sum_i m_i x_ij <= (1+t) M y_j   balance, M = total of m / p
         sum_i v_i [stays in its current territory] >= (1 - share) sum_i v_i   disruption
         x_aj = x_bj (together), x_aj + x_bj <= 1 (apart)
         x_ij <= sum_{l in N(S)} x_lj          contiguity cuts, added lazily (Drexl and Haase
                                               1999; Ríos-Mercado and López-Pérez 2013)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from solvers.rows import add_rows, csr_from_groups, var_array
from solvers.solve import SolveResult, Status, solve
from solvers.territory.problem import TerritoryProblem


@dataclass(frozen=True)
class Pairs:
    """Candidate pairs: unit `i[k]` may join the territory of centre position `c[k]` (unit
    `centres[c[k]]`); `label[c]` is the territory name index of centre position c (-1 unnamed)."""

    i: np.ndarray
    c: np.ndarray
    centres: np.ndarray
    label: np.ndarray
    complete: bool

    def index(self, units: np.ndarray, cpos: np.ndarray) -> np.ndarray:
        """Pair index of (unit, centre position), -1 where the pair is not a candidate."""
        m = len(self.centres)
        keys = self.i * m + self.c
        want = np.asarray(units) * m + np.asarray(cpos)
        pos = np.searchsorted(keys, want)
        pos = np.minimum(pos, len(keys) - 1)
        return np.where(keys[pos] == want, pos, -1)


def centre_positions(centres: np.ndarray, n: int) -> np.ndarray:
    """Position of every unit among `centres` (-1 for units that are not centres)."""
    pos = np.full(n, -1)
    pos[centres] = np.arange(len(centres))
    return pos


def allowed_pairs(prob: TerritoryProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre units, their territory-name index (-1 unnamed) and the n x centres mask of the
    pairs any plan may use (pins, "not its current territory" locks; a free centre must be
    allowed in its own territory)."""
    n = prob.n
    if prob.fixed_centres is not None:
        centres = np.asarray(prob.fixed_centres)
        label = np.arange(len(centres))
    else:
        centres = np.arange(n) if prob.candidate_centres is None else np.asarray(prob.candidate_centres)
        label = prob.current[centres] if prob.labelled else np.full(len(centres), -1)
    allowed = np.ones((n, len(centres)), dtype=bool)
    if prob.pinned is not None:
        pin = prob.pinned
        allowed &= (pin[:, None] < 0) | (label[None, :] == pin[:, None])
    if prob.avoid_current is not None and prob.current is not None:
        allowed &= ~(prob.avoid_current[:, None] & (label[None, :] == prob.current[:, None]))
    if prob.fixed_centres is None:
        self_ok = allowed[centres, np.arange(len(centres))]
        centres, label, allowed = centres[self_ok], label[self_ok], allowed[:, self_ok]
    return centres, label, allowed


def candidate_pairs(prob: TerritoryProblem, max_candidates: int | None,
                    include: np.ndarray | None = None) -> Pairs:
    """All allowed unit-centre pairs, or each unit's `max_candidates` nearest allowed centres
    plus, with `include` (centre unit of every unit, e.g. a starting plan), those pairs."""
    centres, label, allowed = allowed_pairs(prob)
    complete = max_candidates is None or max_candidates >= len(centres)
    if not complete:
        d = np.where(allowed, prob.distance[:, centres], np.inf)
        near = np.argpartition(d, max_candidates - 1, axis=1)[:, :max_candidates]
        keep = np.zeros_like(allowed)
        np.put_along_axis(keep, near, True, axis=1)
        if prob.labelled and prob.current is not None:
            # a unit can always stay: keep its nearest centres of its current territory too
            same = np.where(label[None, :] == prob.current[:, None], d, np.inf)
            own = np.argpartition(same, max_candidates - 1, axis=1)[:, :max_candidates]
            np.put_along_axis(keep, own, True, axis=1)
        if prob.fixed_centres is None:
            keep[centres, np.arange(len(centres))] = True
        if include is not None:
            cpos = centre_positions(centres, prob.n)
            ok = cpos[include] >= 0
            keep[np.flatnonzero(ok), cpos[include[ok]]] = True
        allowed &= keep
    i, c = np.nonzero(allowed)
    return Pairs(i, c, centres, label, complete)


@dataclass
class AssignModel:
    """The Pyomo model and the arrays that map its variables back to units and centres."""

    model: pyo.ConcreteModel
    pairs: Pairs
    cost: np.ndarray
    x: np.ndarray
    y: np.ndarray


def build(prob: TerritoryProblem, pairs: Pairs, integer: bool = True) -> AssignModel:
    """The assignment MILP (without contiguity cuts, which `add_contiguity_cuts` adds); with
    `integer=False` its LP relaxation (x, y in [0, 1])."""
    m = pyo.ConcreteModel()
    npairs, ncent = len(pairs.i), len(pairs.centres)
    domain = pyo.Binary if integer else pyo.UnitInterval
    m.x = pyo.Var(range(npairs), domain=domain)
    fixed = prob.fixed_centres is not None
    m.y = pyo.Var(range(ncent), domain=domain, bounds=(1, 1) if fixed else (0, 1))
    x, y = var_array(m.x), var_array(m.y)
    cost = prob.weight[pairs.i] * prob.distance[pairs.i, pairs.centres[pairs.c]]
    am = AssignModel(m, pairs, cost, x, y)
    _add_assignment(am, prob.n)
    if not fixed:
        _add_centres(am, prob)
    if prob.capacity is not None:
        _add_territory_rows(am, "capacity", prob.measure(prob.capacity_measure), None, prob.capacity)
    for b in prob.balance:
        values = prob.measure(b.measure)
        mean = float(values.sum()) / prob.p
        _add_territory_rows(am, f"balance_{b.measure}", values,
                            (1 - b.tolerance) * mean, (1 + b.tolerance) * mean)
    if prob.max_disruption is not None:
        _add_disruption(am, prob)
    _add_pair_rules(am, prob.together, "together")
    _add_pair_rules(am, prob.apart, "apart")
    m.obj = pyo.Objective(expr=pyo.quicksum(c * v for c, v in zip(cost, x, strict=True) if c),
                          sense=pyo.minimize)
    return am


def _add_assignment(am: AssignModel, n: int) -> None:
    """Each unit in exactly one territory: sum_{k of i} x_k = 1."""
    ptr, order = csr_from_groups(am.pairs.i, n)
    add_rows(am.model, "assign", ptr, am.x[order], np.ones(len(order)), 1.0, 1.0)


def _add_centres(am: AssignModel, prob: TerritoryProblem) -> None:
    """x_k <= y_c(k); x_jj >= y_j; sum y = p, or one centre per named territory."""
    p, k = am.pairs, len(am.pairs.i)
    ptr = np.arange(0, 2 * k + 1, 2)
    vars_ = np.column_stack([am.x, am.y[p.c]]).ravel()
    add_rows(am.model, "link", ptr, vars_, np.tile([1.0, -1.0], k), None, 0.0)
    own = p.index(p.centres, np.arange(len(p.centres)))
    ptr = np.arange(0, 2 * len(own) + 1, 2)
    vars_ = np.column_stack([am.x[own], am.y]).ravel()
    add_rows(am.model, "own", ptr, vars_, np.tile([1.0, -1.0], len(own)), 0.0, None)
    if prob.labelled:
        ptr, order = csr_from_groups(p.label, len(prob.labels))
        add_rows(am.model, "one_per_name", ptr, am.y[order], np.ones(len(order)), 1.0, 1.0)
    else:
        am.model.count = pyo.Constraint(expr=pyo.quicksum(am.y) == prob.p)


def _add_territory_rows(am: AssignModel, name: str, values: np.ndarray,
                        low: float | None, high: float | None) -> None:
    """low * y_j <= sum_i values_i x_ij <= high * y_j for every centre position j."""
    p = am.pairs
    ncent = len(p.centres)
    ptr, order = csr_from_groups(p.c, ncent)
    # each row holds the centre's pairs followed by y_j (coefficient -bound)
    row_ptr = ptr + np.arange(ncent + 1)
    y_pos = row_ptr[1:] - 1
    body = np.setdiff1d(np.arange(len(order) + ncent), y_pos)
    for side, bound, lo, up in (("hi", high, None, 0.0), ("lo", low, 0.0, None)):
        if bound is None:
            continue
        vars_ = np.empty(len(order) + ncent, dtype=object)
        coefs = np.empty(len(order) + ncent)
        vars_[body], coefs[body] = am.x[order], values[p.i[order]]
        vars_[y_pos], coefs[y_pos] = am.y, -bound
        add_rows(am.model, f"{name}_{side}", row_ptr, vars_, coefs, lo, up)


def _add_disruption(am: AssignModel, prob: TerritoryProblem) -> None:
    """Value staying in its current territory >= (1 - max_disruption) x value with a current one."""
    p = am.pairs
    v = np.ones(prob.n) if prob.disruption_measure == "units" else prob.measure(prob.disruption_measure)
    has = prob.current >= 0
    stays = p.label[p.c] == prob.current[p.i]
    stays &= has[p.i]
    need = (1.0 - prob.max_disruption) * float(v[has].sum())
    expr = pyo.quicksum(float(v[i]) * xv for i, xv in zip(p.i[stays], am.x[stays], strict=True))
    am.model.disruption = pyo.Constraint(expr=expr >= need - 1e-9)


def _add_pair_rules(am: AssignModel, pairs_of_units: np.ndarray, kind: str) -> None:
    """together: x_aj = x_bj; apart: x_aj + x_bj <= 1, for every centre position j."""
    if len(pairs_of_units) == 0:
        return
    p = am.pairs
    ncent = len(p.centres)
    a = np.repeat(pairs_of_units[:, 0], ncent)
    b = np.repeat(pairs_of_units[:, 1], ncent)
    c = np.tile(np.arange(ncent), len(pairs_of_units))
    ka, kb = p.index(a, c), p.index(b, c)
    if kind == "together":
        # a missing pair forces its partner to 0 as well
        rows = (ka >= 0) | (kb >= 0)
        ka, kb = ka[rows], kb[rows]
        vars_, coefs, ptr = [], [], [0]
        for u, w in zip(ka, kb, strict=True):
            if u >= 0:
                vars_.append(am.x[u])
                coefs.append(1.0)
            if w >= 0:
                vars_.append(am.x[w])
                coefs.append(-1.0)
            ptr.append(len(vars_))
        add_rows(am.model, "together", np.asarray(ptr), np.asarray(vars_, dtype=object),
                 np.asarray(coefs), 0.0, 0.0)
    else:
        rows = (ka >= 0) & (kb >= 0)
        ka, kb = ka[rows], kb[rows]
        ptr = np.arange(0, 2 * len(ka) + 1, 2)
        vars_ = np.column_stack([am.x[ka], am.x[kb]]).ravel()
        add_rows(am.model, "apart", ptr, vars_, np.ones(2 * len(ka)), None, 1.0)


def read_assignment(am: AssignModel, n: int) -> np.ndarray:
    """Centre position of every unit in the loaded solution."""
    xv = np.array([v.value if v.value is not None else 0.0 for v in am.x])
    chosen = xv > 0.5
    out = np.full(n, -1, dtype=np.int64)
    out[am.pairs.i[chosen]] = am.pairs.c[chosen]
    return out


def disconnected_parts(adjacency: np.ndarray, assign: np.ndarray, centres: np.ndarray
                       ) -> list[tuple[int, np.ndarray]]:
    """(centre position, units) for every connected piece of a territory not holding its centre."""
    n = len(assign)
    a, b = adjacency[:, 0], adjacency[:, 1]
    same = assign[a] == assign[b]
    g = coo_matrix((np.ones(int(same.sum())), (a[same], b[same])), shape=(n, n))
    _, comp = connected_components(g, directed=False)
    parts = []
    for cpos in np.unique(assign):
        members = np.flatnonzero(assign == cpos)
        root = comp[centres[cpos]]
        for piece in np.unique(comp[members]):
            if piece != root:
                parts.append((int(cpos), members[comp[members] == piece]))
    return parts


def add_contiguity_cuts(am: AssignModel, adjacency: np.ndarray, parts: list[tuple[int, np.ndarray]],
                        n: int, round_no: int, open_centres: np.ndarray | None = None) -> int:
    """For each piece S cut off from its centre: x_ij <= sum_{l in N(S)} x_lj for i in S and
    every centre position j in `open_centres` (default: the piece's own) whose centre unit lies
    outside S. N(S) separates S from any such centre (Validi, Buchanan and Lykhovyd 2022), so
    cutting all open centres at once keeps the next solve from handing S to a neighbour's
    centre, only to be cut again."""
    nbr = coo_matrix((np.ones(2 * len(adjacency)),
                      (np.r_[adjacency[:, 0], adjacency[:, 1]], np.r_[adjacency[:, 1], adjacency[:, 0]])),
                     shape=(n, n)).tocsr()
    vars_, coefs, ptr = [], [], [0]
    for own, piece in parts:
        inside = np.zeros(n, dtype=bool)
        inside[piece] = True
        boundary = np.unique(nbr[piece].indices)
        boundary = boundary[~inside[boundary]]
        for cpos in ([own] if open_centres is None else open_centres):
            if inside[am.pairs.centres[cpos]]:
                continue
            kb = am.pairs.index(boundary, np.full(len(boundary), cpos))
            kb = kb[kb >= 0]
            ki = am.pairs.index(piece, np.full(len(piece), cpos))
            for k in ki[ki >= 0]:
                vars_.extend([am.x[k], *am.x[kb]])
                coefs.extend([1.0] + [-1.0] * len(kb))
                ptr.append(len(vars_))
    add_rows(am.model, f"contiguity_{round_no}", np.asarray(ptr), np.asarray(vars_, dtype=object),
             np.asarray(coefs), None, 0.0)
    return len(ptr) - 1


@dataclass(frozen=True)
class AssignSolution:
    """Centre position per unit (-1 without a solution), the pairs, and the solve record."""

    assign: np.ndarray
    pairs: Pairs
    result: SolveResult
    cuts: int


def set_start(am: AssignModel, centre_unit: np.ndarray) -> bool:
    """Give x and y the values of the plan that puts unit i in the territory centred on unit
    `centre_unit[i]`, for HiGHS to use as a starting incumbent (it checks feasibility itself).
    False (nothing set) when the plan uses a pair that is not a candidate."""
    p = am.pairs
    cpos = np.full(int(max(p.centres.max(), centre_unit.max())) + 1, -1)
    cpos[p.centres] = np.arange(len(p.centres))
    k = p.index(np.arange(len(centre_unit)), np.maximum(cpos[centre_unit], 0))
    if (cpos[centre_unit] < 0).any() or (k < 0).any():
        return False
    x = np.zeros(len(p.i))
    x[k] = 1.0
    y = np.zeros(len(p.centres))
    y[cpos[np.unique(centre_unit)]] = 1.0
    for v, val in zip(am.x, x, strict=True):
        v.set_value(float(val))
    for v, val in zip(am.y, y, strict=True):
        v.set_value(float(val))
    return True


def solve_assignment(prob: TerritoryProblem, *, max_candidates: int | None,
                     time_limit_s: float | None, mip_gap: float | None,
                     cost_limit: float | None = None, avoid: list[np.ndarray] | None = None,
                     start: np.ndarray | None = None, start_feasible: bool = False,
                     pairs: Pairs | None = None, highs_options: dict | None = None) -> AssignSolution:
    """Solve the assignment MILP, adding contiguity cuts until every territory is connected.

    With `cost_limit`, minimise the number of units that keep the centre they have in any of the
    `avoid` assignments (centre position per unit) subject to cost <= cost_limit. `start` (centre
    unit of every unit, e.g. the heuristic's or a reduced model's plan) warm-starts HiGHS; when
    `start_feasible` (it satisfies every constraint), its cost is also the cutoff
    (HiGHS `objective_bound`): nodes that cannot beat it are pruned. `pairs` (e.g. from
    reduced-cost fixing) replaces the candidate pairs `max_candidates` would choose;
    `highs_options` go to every HiGHS solve.
    """
    t0 = time.perf_counter()
    if pairs is None:
        pairs = candidate_pairs(prob, max_candidates, None if start is None else np.asarray(start))
    am = build(prob, pairs)
    options = dict(highs_options) if highs_options else None
    warm = False
    if cost_limit is not None:
        _diversify(am, cost_limit, avoid or [])
    elif start is not None and set_start(am, np.asarray(start)):
        warm = True
        if start_feasible:
            upper = prob.plan_cost(start)
            options = {**(options or {}), "objective_bound": upper + 1e-6 * max(1.0, abs(upper))}
    build_s = time.perf_counter() - t0
    deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
    total_build, total_solve, cuts, round_no = build_s, 0.0, 0, 0
    while True:
        left = None if deadline is None else max(1.0, deadline - time.perf_counter())
        res = solve(am.model, build_s=build_s, time_limit_s=left, mip_gap=mip_gap,
                    options=options, warm_start=warm)
        # contiguity cuts may cut the start off: its cost is no cutoff any more
        options = dict(highs_options) if highs_options else None
        total_solve += res.solve_s
        assign = read_assignment(am, prob.n) if res.has_solution else np.full(prob.n, -1)
        if not res.has_solution or prob.adjacency is None:
            break
        parts = disconnected_parts(prob.adjacency, assign, pairs.centres)
        if not parts:
            break
        if deadline is not None and time.perf_counter() > deadline:
            res = SolveResult(Status.NO_SOLUTION, "contiguity cuts unfinished at time limit",
                              None, res.bound, None, res.build_s, res.solve_s)
            assign = np.full(prob.n, -1)
            break
        round_no += 1
        t1 = time.perf_counter()
        cuts += add_contiguity_cuts(am, prob.adjacency, parts, prob.n, round_no, np.unique(assign))
        build_s = time.perf_counter() - t1
        total_build += build_s
    final = SolveResult(res.status, res.termination, res.objective, res.bound, res.gap,
                        total_build, total_solve)
    return AssignSolution(assign, pairs, final, cuts)


def _diversify(am: AssignModel, cost_limit: float, avoid: list[np.ndarray]) -> None:
    """Replace the objective: keep cost <= limit, minimise units keeping an earlier centre."""
    m = am.model
    m.obj.deactivate()
    m.cost_limit = pyo.Constraint(
        expr=pyo.quicksum(c * v for c, v in zip(am.cost, am.x, strict=True) if c) <= cost_limit)
    same = np.zeros(len(am.pairs.i), dtype=bool)
    for assign in avoid:
        k = am.pairs.index(np.arange(len(assign)), np.maximum(assign, 0))
        same[k[(k >= 0) & (assign >= 0)]] = True
    m.overlap = pyo.Objective(expr=pyo.quicksum(am.x[same]) if same.any() else 0.0, sense=pyo.minimize)
