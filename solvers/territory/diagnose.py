"""Why a territory-design model has no plan: plain sentences for summary.json's `diagnosis`.

Checks, cheapest first: a unit whose measure alone is above a band's upper end (or the
capacity); total measure above p x capacity; connected parts of the border graph that cannot
each hold a whole number of territories within the band; and the smallest spread of territory
totals the units' sizes allow at all (a small partition MILP, its proven bound compared with the
band's width). When no check finds the cause, the constraint families present and the softest
one to relax are named.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from solvers.solve import Status, solve
from solvers.territory.problem import TerritoryProblem
from solvers.territory.start_contiguous import Band

SPREAD_CHECK_S = 10.0
"""Time limit (seconds) of the smallest-spread partition MILP."""
SPREAD_CHECK_UNITS = 2000
"""Largest instance the smallest-spread check runs on."""


def named_bands(prob: TerritoryProblem) -> list[tuple[str, Band]]:
    """(description, band) of each balance and capacity rule."""
    out = []
    for b in prob.balance:
        values = prob.measure(b.measure)
        mean = float(values.sum()) / prob.p
        out.append((f"{b.measure} balance (mean {mean:,.4g} per territory, ±{b.tolerance:.0%})",
                    Band(values, (1 - b.tolerance) * mean, (1 + b.tolerance) * mean)))
    if prob.capacity is not None:
        out.append((f"{prob.capacity_measure} capacity {prob.capacity:,.4g}",
                    Band(prob.measure(prob.capacity_measure), None, prob.capacity)))
    return out


def proven_infeasible(prob: TerritoryProblem) -> list[str]:
    """The cheap checks (no solver): sentences proving that no plan exists, or []. Run before
    any solve, so such an instance ends at once with its reason."""
    found: list[str] = []
    named = named_bands(prob)
    for name, band in named:
        found += _alone_above(prob, name, band)
        if band.high is not None and band.values.sum() > prob.p * band.high + 1e-9:
            found.append(f"The total {name.split(' ')[0]} {band.values.sum():,.4g} exceeds {prob.p} territories "
                         f"x {band.high:,.4g}: no plan can respect the {name}.")
    if prob.adjacency is not None and not found:
        found += _parts_vs_band(prob, named)
    return found


def diagnose(prob: TerritoryProblem, status: Status, time_limit_s: float | None) -> list[str]:
    """Sentences explaining a solve that ended without a plan (`status`)."""
    found = proven_infeasible(prob)
    named = named_bands(prob)
    if not found and named and prob.n <= SPREAD_CHECK_UNITS:
        found += _spread(prob, named[0])
    if found:
        return found
    return _fallback(prob, named, status, time_limit_s)


def _ids(prob: TerritoryProblem, rows: np.ndarray, k: int = 5) -> str:
    shown = ", ".join(str(prob.unit_ids[r]) for r in rows[:k])
    return shown + (f" and {len(rows) - k} more" if len(rows) > k else "")


def _alone_above(prob: TerritoryProblem, name: str, band: Band) -> list[str]:
    if band.high is None:
        return []
    over = np.flatnonzero(band.values > band.high + 1e-9)
    if len(over) == 0:
        return []
    top = over[np.argmax(band.values[over])]
    return [f"{len(over)} unit(s) alone exceed the upper end {band.high:,.4g} of the {name}: "
            f"{_ids(prob, over)} (largest {prob.unit_ids[top]}: {band.values[top]:,.4g}); no territory "
            "holding one can be within the band. Widen the tolerance, use fewer territories, or split the unit."]


def _parts_vs_band(prob: TerritoryProblem, named: list[tuple[str, Band]]) -> list[str]:
    """Each connected part of the border graph must hold a whole number of territories whose
    totals fit the band; a dynamic programme over the parts checks that they can add up to p."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    a, b = prob.adjacency[:, 0], prob.adjacency[:, 1]
    comp = connected_components(coo_matrix((np.ones(len(a)), (a, b)), shape=(prob.n, prob.n)),
                                directed=False)[1]
    parts = np.unique(comp)
    if len(parts) == 1:
        return []
    for name, band in named:
        options = []
        for c in parts:
            total, size = band.values[comp == c].sum(), int((comp == c).sum())
            ks = [k for k in range(1, min(size, prob.p) + 1)
                  if (band.high is None or total <= k * band.high + 1e-9)
                  and (band.low is None or total >= k * band.low - 1e-9)]
            if not ks:
                return [f"A separate part of the border graph ({size} unit(s): {_ids(prob, np.flatnonzero(comp == c), 3)}) "
                        f"holds {total:,.4g} of the {name}, which no whole number of territories can "
                        "hold within the band. Link it to its neighbours or widen the tolerance."]
            options.append(ks)
        reach = {0}
        for ks in options:
            reach = {r + k for r in reach for k in ks if r + k <= prob.p}
        if prob.p not in reach:
            return [f"The border graph has {len(parts)} separate parts whose totals of the {name} cannot "
                    f"be split into exactly {prob.p} contiguous territories within the band."]
    return []


def _spread(prob: TerritoryProblem, named: tuple[str, Band]) -> list[str]:
    """Smallest max-min spread of territory totals over any partition into p groups (no
    geography): if its proven lower bound exceeds the band's width, the units' granularity alone
    makes the band unreachable."""
    name, band = named
    if band.low is None or band.high is None:
        return []
    v = band.values
    m = pyo.ConcreteModel()
    m.z = pyo.Var(range(prob.n), range(prob.p), domain=pyo.Binary)
    m.hi = pyo.Var()
    m.lo = pyo.Var()
    m.one = pyo.Constraint(range(prob.n), rule=lambda m, i: sum(m.z[i, k] for k in range(prob.p)) == 1)
    total = {k: sum(float(v[i]) * m.z[i, k] for i in range(prob.n)) for k in range(prob.p)}
    m.top = pyo.Constraint(range(prob.p), rule=lambda m, k: total[k] <= m.hi)
    m.bottom = pyo.Constraint(range(prob.p), rule=lambda m, k: total[k] >= m.lo)
    m.order = pyo.Constraint(range(prob.p - 1), rule=lambda m, k: total[k] >= total[k + 1])
    m.obj = pyo.Objective(expr=m.hi - m.lo, sense=pyo.minimize)
    res = solve(m, time_limit_s=SPREAD_CHECK_S)
    width = band.high - band.low
    if res.bound is not None and res.bound > width + 1e-6:
        return [f"The units' sizes cannot be split into {prob.p} territories within the {name}: the smallest "
                f"achievable spread between the largest and smallest territory is at least {res.bound:,.4g}, "
                f"wider than the band ({width:,.4g}). Widen the tolerance or change the number of territories."]
    return []


def _fallback(prob: TerritoryProblem, named: list[tuple[str, Band]], status: Status,
              time_limit_s: float | None) -> list[str]:
    families = [name for name, _ in named]
    if prob.adjacency is not None:
        families.append("contiguity over the border graph")
    if prob.max_disruption is not None:
        families.append(f"at most {prob.max_disruption:.0%} disruption")
    if len(prob.together) or len(prob.apart):
        families.append("together/apart pairs")
    present = "; ".join(families) or "one territory per unit set"
    softest = families[0] if families else "the number of territories"
    if status == Status.INFEASIBLE:
        head = "No plan satisfies every rule together, and no single rule explains it on its own."
    elif status == Status.ERROR:
        head = "The solver failed before finding a plan."
    else:
        limit = "" if time_limit_s is None else f" within the time limit ({time_limit_s:g} s)"
        head = f"No plan was found{limit}; none is proven impossible."
    return [head, f"Rules in force: {present}.",
            f"The softest to relax: {softest}" + (" (widen the tolerance)." if named else ".")
            + ("" if status == Status.INFEASIBLE else " Or raise time_limit_s.")]
