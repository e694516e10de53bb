"""The LP relaxation of the assignment model with separator cuts separated on its fractional
solutions: a lower bound of the contiguous model that includes contiguity.

The LP over the given unit-centre pairs is solved in rounds; after each, the most violated a-b
separator cut of every unit-centre pair (`separator_cuts.separate`, a minimum vertex cut by
maximum flow) is added and the LP solved again, until no cut is violated, the LP stops rising,
or time runs out. Every round's value is a lower bound of every contiguous plan over those pairs
(the cuts hold for each of them). `milp_contiguous` runs the loop at the root of the free-centre
model and hands the cuts to the MILP.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from solvers.rows import add_rows
from solvers.solve import Status, solve
from solvers.territory.milp_assign import AssignModel, Pairs, build, centre_positions
from solvers.territory.problem import TerritoryProblem
from solvers.territory.separator_cuts import SeparatorCut, separate

MIN_RISE = 1e-5
"""The cut loop stops when a round raises the LP by less than this share."""


def add_separator_rows(am: AssignModel, cuts: list[SeparatorCut], n: int, name: str) -> int:
    """Rows x_{i,c} - sum_{l in C} x_{l,c} <= 0 of `cuts` over the model's pairs (`n` units; a
    separator unit without a pair to the centre cannot join it and drops out); returns rows added."""
    pairs = am.pairs
    cpos = centre_positions(pairs.centres, n)
    vars_, coefs, ptr = [], [], [0]
    for cut in cuts:
        c = cpos[cut.centre]
        if c < 0:
            continue
        ki = pairs.index(np.array([cut.unit]), np.array([c]))[0]
        if ki < 0:
            continue
        kc = pairs.index(cut.separator, np.full(len(cut.separator), c))
        kc = kc[kc >= 0]
        vars_.extend([am.x[ki], *am.x[kc]])
        coefs.extend([1.0] + [-1.0] * len(kc))
        ptr.append(len(vars_))
    add_rows(am.model, name, np.asarray(ptr), np.asarray(vars_, dtype=object), np.asarray(coefs), None, 0.0)
    return len(ptr) - 1


@dataclass(frozen=True)
class CutLoop:
    """Outcome of `lp_with_cuts`: the LP without cuts (`first`) and the best with them (`last`),
    both None when the first LP had no optimum (inf when it had no solution at all), the
    separator cuts added over the rounds, and why the loop stopped."""

    first: float | None
    last: float | None
    rounds: int
    cuts: list[SeparatorCut]
    note: str


def lp_with_cuts(prob: TerritoryProblem, pairs: Pairs, *, deadline: float, max_rounds: int = 50) -> CutLoop:
    """The LP relaxation over `pairs` without and with fractional separator cuts, in rounds until
    none is violated, the LP rises by less than MIN_RISE, `max_rounds`, or `deadline` (a
    `time.perf_counter()` instant)."""
    am = build(replace(prob, adjacency=None), pairs, integer=False)
    first = last = None
    rounds, found_all = 0, []
    note = "no violated separator cut"
    units, centres = pairs.i, pairs.centres[pairs.c]
    while True:
        left = deadline - time.perf_counter()
        if left < 1.0 and rounds > 0:
            note = "time limit"
            break
        res = solve(am.model, time_limit_s=max(1.0, left) if np.isfinite(left) else None)
        if res.status == Status.INFEASIBLE:
            # no plan over these pairs at all: the model is infeasible (bound +inf)
            first, last, note = (np.inf if first is None else first), np.inf, "no plan over the pairs"
            break
        if res.status != Status.OPTIMAL:
            note = f"LP {res.termination}"
            break
        value = float(res.objective)
        first = value if first is None else first
        if last is not None and value - last <= MIN_RISE * max(1.0, abs(last)):
            last = max(last, value)
            note = "the LP stopped rising"
            break
        last = value if last is None else max(last, value)
        if rounds >= max_rounds:
            note = "round limit"
            break
        x = np.array([v.value or 0.0 for v in am.x])
        found = separate(prob.n, prob.adjacency, x, units, centres, deadline=deadline)
        if not found:
            note = "time limit" if time.perf_counter() > deadline else note
            break
        rounds += 1
        add_separator_rows(am, found, prob.n, f"separator_{rounds}")
        found_all += found
    return CutLoop(first, last, rounds, found_all, note)
