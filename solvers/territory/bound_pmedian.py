"""Lagrangian bound and candidate-centre reduction for the p-median problem (numpy).

Relaxing "every unit assigned once" with multipliers lambda_i (Beasley 1993) gives

    L(lambda) = sum_i lambda_i + (sum of the p smallest rho_j),  rho_j = sum_i min(0, c_ij - lambda_i),

a lower bound for any lambda, improved by subgradient steps. Forcing a centre j that is not
among the p smallest rho open raises the bound to L - rho_[p] + rho_j: when that exceeds the
heuristic's cost (an upper bound), no solution with j open beats the heuristic, so j can be
dropped from the candidate centres without losing optimality. This is the check that proves the
excluded candidates cannot improve the solution; the MILP then runs on the reduced set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LagrangeBound:
    """Best bound found, per candidate the best bound on any solution that opens it, and the
    multipliers of the best bound (each unit's price: what the relaxation charges for it)."""

    bound: float
    open_bound: np.ndarray
    iterations: int
    multipliers: np.ndarray | None = None


@dataclass(frozen=True)
class _Nearest:
    """Each unit's k cheapest candidates (columns `col`, costs `cost`, ascending); lambda_i is
    capped at the k-th cost so every negative reduced cost lies among them (exact rho)."""

    col: np.ndarray
    cost: np.ndarray

    @classmethod
    def of(cls, cost: np.ndarray, k: int) -> _Nearest:
        k = min(k, cost.shape[1])
        col = np.argpartition(cost, k - 1, axis=1)[:, :k] if k < cost.shape[1] else \
            np.broadcast_to(np.arange(cost.shape[1]), cost.shape).copy()
        c = np.take_along_axis(cost, col, axis=1)
        order = np.argsort(c, axis=1)
        return cls(np.take_along_axis(col, order, axis=1), np.take_along_axis(c, order, axis=1))


def _group_argmin(rho: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Index of the smallest rho within each group (groups numbered 0..g-1)."""
    order = np.lexsort((rho, groups))
    first = np.r_[True, groups[order][1:] != groups[order][:-1]]
    return order[first]


def _evaluate(near: _Nearest, m: int, lam: np.ndarray, p: int, groups: np.ndarray | None = None
              ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    reduced = np.minimum(near.cost - lam[:, None], 0.0)
    rho = np.bincount(near.col.ravel(), weights=reduced.ravel(), minlength=m)
    if groups is not None:
        chosen = _group_argmin(rho, groups)
    else:
        chosen = np.argpartition(rho, p - 1)[:p] if p < m else np.arange(m)
    value = float(lam.sum() + rho[chosen].sum())
    return value, rho, chosen, reduced


@dataclass
class SubgradientSteps:
    """Polyak step-size control shared by the Lagrangian bounds: keeps the best bound seen and
    halves the step factor `theta` after `patience` iterations without improvement."""

    patience: int
    theta: float = 2.0
    best: float = -np.inf
    stall: int = 0

    def record(self, value: float) -> None:
        """Take a new dual value (a lower bound)."""
        if not np.isfinite(self.best) or value > self.best + 1e-9 * max(1.0, abs(self.best)):
            self.best, self.stall = value, 0
            return
        self.stall += 1
        if self.stall >= self.patience:
            self.theta, self.stall = self.theta / 2, 0

    def done(self, upper: float, min_theta: float) -> bool:
        """The bound meets `upper`, or the step has become too small to move it."""
        return upper - self.best <= 1e-9 * max(1.0, abs(upper)) or self.theta < min_theta


def lagrangian_bound(cost: np.ndarray, p: int, upper: float, start: np.ndarray,
                     max_iter: int = 300, patience: int = 20, groups: np.ndarray | None = None,
                     ) -> LagrangeBound:
    """Subgradient optimisation of L(lambda) from `start` (e.g. each unit's heuristic cost).

    `cost[i, j]` = weight x distance of unit i to candidate j; `upper` is a feasible objective.
    Works on each unit's 4n/p (at least 64) cheapest candidates, capping lambda accordingly.
    With `groups` (group 0..p-1 of every candidate) exactly one centre opens per group, the
    relaxation of named territories whose centre lies in their current area; `open_bound` is
    then not meaningful.
    """
    n, m = cost.shape
    near = _Nearest.of(cost, max(64, 4 * n // max(p, 1)))
    cap = near.cost[:, -1] if near.cost.shape[1] < m else np.full(n, np.inf)
    lam = np.minimum(start.astype(float), cap)
    steps = SubgradientSteps(patience)
    open_bound = np.full(m, -np.inf)
    is_chosen = np.zeros(m, dtype=bool)
    iterations = 0
    best_lam = lam
    while iterations < max_iter:
        iterations += 1
        value, rho, chosen, reduced = _evaluate(near, m, lam, p, groups)
        pth = rho[chosen].max()
        open_bound = np.maximum(open_bound, value + np.maximum(rho - pth, 0.0))
        if value > steps.best:
            best_lam = lam
        steps.record(value)
        if steps.done(upper, min_theta=1e-4):
            break
        is_chosen[:] = False
        is_chosen[chosen] = True
        served = ((reduced < 0) & is_chosen[near.col]).sum(axis=1)
        g = 1.0 - served
        norm = float(g @ g)
        if norm == 0:
            break
        lam = np.minimum(lam + steps.theta * (upper - value) / norm * g, cap)
    return LagrangeBound(steps.best, open_bound, iterations, best_lam)


def improvement_slack(upper: float, integral: bool) -> float:
    """How far below `upper` a bound must be for a solution to beat it: with integral costs a
    better solution costs at least 1 less, otherwise a relative tolerance of 1e-9."""
    return 1.0 - 1e-6 if integral else 1e-9 * max(1.0, abs(upper))


def reduce_candidates(cost: np.ndarray, p: int, upper: float, heuristic: np.ndarray,
                      integral: bool) -> tuple[np.ndarray, float, LagrangeBound]:
    """Candidates that may still be open in a solution better than `upper`, plus the heuristic's
    centres; and a lower bound on every solution that opens a dropped candidate (inf if none).

    With integral costs a solution costs a whole number, so a bound above upper - 1 suffices.
    """
    start = cost[:, heuristic].min(axis=1)
    lb = lagrangian_bound(cost, p, upper, start)
    slack = improvement_slack(upper, integral)
    keep = lb.open_bound < upper - slack
    keep[heuristic] = True
    dropped = lb.open_bound[~keep]
    floor = float(np.ceil(dropped.min() - 1e-6) if integral else dropped.min()) if len(dropped) else np.inf
    return np.flatnonzero(keep), floor, lb
