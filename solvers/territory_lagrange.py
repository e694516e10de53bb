"""Lagrangian lower bound for balanced (and capacitated, disruption-limited) territory design.

Relaxing "every unit in one territory" with multipliers lambda_i and the disruption row with
mu >= 0 leaves one subproblem per candidate centre j: the cheapest territory around j,

    rho_j = r_jj + min sum_{i != j} r_ij x_i,  L - q_j <= sum_{i != j} q_i x_i <= U - q_j,  0 <= x <= 1,
    r_ij = w_i d_ij - lambda_i - mu v_i [i stays in its current territory under j],

with [L, U] the balance band (or [0, capacity]) of measure q. Its LP relaxation is a continuous
knapsack, solved exactly by taking units in increasing r/q up to the best filled amount (the
slopes are sorted, so the optimum is the amount of all negative-r units clamped to [L, U]). Then

    L(lambda, mu) = sum_i lambda_i + mu * need + (sum of rho over the p best centres, or the best
                    centre of each named territory),

a lower bound on every feasible plan for any lambda, mu >= 0 (relaxing the knapsack and the
other rules only lowers it), improved by subgradient steps. Unlike the plain p-median bound it
sees that a territory cannot grow past U, which is what balance costs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from solvers.pmedian_lagrange import SubgradientSteps
from solvers.territory_assign import candidate_pairs
from solvers.territory_problem import TerritoryProblem


@dataclass(frozen=True)
class BalancedInstance:
    """Dense data of the relaxation: `cost[i, j]` (weight x distance; inf where unit i may not
    join centre column j), `own[j]` the unit at centre column j, `q` the balanced measure with
    band [low, high] per territory, `groups[j]` the named territory of column j (None: any p),
    `stay[i, j]` unit i keeps its current territory under j, `v` its disruption value and
    `need` the value that must stay (0: no disruption row)."""

    cost: np.ndarray
    own: np.ndarray
    q: np.ndarray
    low: float
    high: float
    p: int
    groups: np.ndarray | None = None
    stay: np.ndarray | None = None
    v: np.ndarray | None = None
    need: float = 0.0


def _subproblems(inst: BalancedInstance, red: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """rho_j for every column and the fractional territory x[:, j] (dense n x m)."""
    n, m = red.shape
    cols = np.arange(m)
    q = inst.q
    r = red.copy()
    own_r = r[inst.own, cols]
    r[inst.own, cols] = np.inf  # the centre itself is always in, counted apart
    finite = np.isfinite(r)
    pos = q > 0
    # units without measure: free to take when their reduced cost is negative
    free = np.where(finite & ~pos[:, None], np.minimum(r, 0.0), 0.0)
    ratio = np.where(finite & pos[:, None], r / np.where(pos, q, 1.0)[:, None], np.inf)
    order = np.argsort(ratio, axis=0)
    qs = np.where(np.isfinite(np.take_along_axis(ratio, order, axis=0)), q[order], 0.0)
    rs = np.where(qs > 0, np.take_along_axis(r, order, axis=0), 0.0)
    cq, cr = np.cumsum(qs, axis=0), np.cumsum(rs, axis=0)
    neg = np.where(rs < 0, qs, 0.0).sum(axis=0)
    low = max(inst.low, 0.0) - q[inst.own]
    high = inst.high - q[inst.own]
    target = np.clip(neg, low, high)
    feasible = (cq[-1] >= target - 1e-9) & (high >= -1e-9)
    target = np.maximum(target, 0.0)
    t = (cq < target[None, :] - 1e-12).sum(axis=0)  # first sorted position that reaches target
    t = np.minimum(t, n - 1)
    before_q = np.where(t > 0, cq[np.maximum(t - 1, 0), cols], 0.0)
    before_r = np.where(t > 0, cr[np.maximum(t - 1, 0), cols], 0.0)
    part = np.where(qs[t, cols] > 0, (target - before_q) / np.where(qs[t, cols] > 0, qs[t, cols], 1.0), 0.0)
    part = np.clip(part, 0.0, 1.0)
    rho = own_r + free.sum(axis=0) + before_r + part * rs[t, cols]
    rho = np.where(feasible, rho, np.inf)
    x_sorted = (np.arange(n)[:, None] < t[None, :]).astype(float)
    x_sorted[t, cols] = part
    x_sorted *= qs > 0
    x = np.zeros((n, m))
    np.put_along_axis(x, order, x_sorted, axis=0)
    x += (free < 0)
    x[inst.own, cols] = 1.0
    return rho, x


def _choose(rho: np.ndarray, p: int, groups: np.ndarray | None) -> np.ndarray:
    if groups is None:
        return np.argpartition(rho, p - 1)[:p] if p < len(rho) else np.arange(len(rho))
    order = np.lexsort((rho, groups))
    first = np.r_[True, groups[order][1:] != groups[order][:-1]]
    return order[first]


def balanced_lagrangian_bound(inst: BalancedInstance, upper: float, start: np.ndarray,
                              max_iter: int = 300, patience: int = 15, time_limit_s: float = 15.0) -> float:
    """Best L(lambda, mu) found by subgradient steps from lambda = `start` (e.g. each unit's cost
    in a feasible plan, which makes the first steps good ones); `upper` is a feasible plan's cost.
    Stops after `max_iter` steps, or `time_limit_s` seconds on a busy machine (any L is valid,
    more steps only tighten it). -inf if every L was -inf."""
    deadline = time.perf_counter() + time_limit_s
    lam = np.where(np.isfinite(start), start, 0.0).astype(float)
    mu = 0.0
    steps = SubgradientSteps(patience)
    stay_v = None if inst.stay is None else inst.stay * inst.v[:, None]
    for _ in range(max_iter):
        if time.perf_counter() > deadline:
            break
        red = inst.cost - lam[:, None]
        if stay_v is not None and inst.need > 0:
            red = red - mu * stay_v
        rho, x = _subproblems(inst, red)
        chosen = _choose(rho, inst.p, inst.groups)
        value = float(lam.sum() + mu * inst.need + rho[chosen].sum())
        if not np.isfinite(value):
            break
        steps.record(value)
        if steps.done(upper, min_theta=1e-3):
            break
        xc = x[:, chosen]
        g = 1.0 - xc.sum(axis=1)
        g_mu = 0.0
        if stay_v is not None and inst.need > 0:
            g_mu = inst.need - float((stay_v[:, chosen] * xc).sum())
            if mu <= 0 and g_mu < 0:
                g_mu = 0.0
        norm = float(g @ g) + g_mu * g_mu
        if norm <= 1e-12:
            break
        step = steps.theta * (upper - value) / norm
        lam = lam + step * g
        mu = max(0.0, mu + step * g_mu)
    return steps.best


def instance_of(prob: TerritoryProblem) -> BalancedInstance | None:
    """The relaxation's data for `prob` over every allowed unit-centre pair (free centres), or
    None when nothing bounds a territory's size (no balance, no capacity)."""
    if prob.balance:
        b = prob.balance[0]
        q = prob.measure(b.measure)
        mean = float(q.sum()) / prob.p
        low, high = (1 - b.tolerance) * mean, (1 + b.tolerance) * mean
    elif prob.capacity is not None:
        q, low, high = prob.measure(prob.capacity_measure), 0.0, float(prob.capacity)
    else:
        return None
    pairs = candidate_pairs(prob, None)
    cost = np.full((prob.n, len(pairs.centres)), np.inf)
    cost[pairs.i, pairs.c] = prob.weight[pairs.i] * prob.distance[pairs.i, pairs.centres[pairs.c]]
    groups = pairs.label if prob.labelled and prob.fixed_centres is None else None
    if groups is not None and (groups < 0).any():
        return None  # centres outside every named territory: not modelled here
    stay = v = None
    need = 0.0
    if prob.max_disruption is not None and prob.current is not None:
        has = prob.current >= 0
        stay = (pairs.label[None, :] == prob.current[:, None]) & has[:, None]
        v = np.ones(prob.n) if prob.disruption_measure == "units" else prob.measure(prob.disruption_measure)
        need = (1.0 - prob.max_disruption) * float(v[has].sum())
    return BalancedInstance(cost, pairs.centres, np.asarray(q, float), low, high, prob.p, groups, stay, v, need)
