"""Territory design: choose p centre units and assign every unit to one territory.

Entry point `design_territories(problem, options) -> TerritoryResult`. The plain p-median (no
side constraints) goes to the truncated radius formulation (`solvers.territory.milp_radius`), warmed by
the greedy + interchange heuristic (HiGHS starting solution and cutoff); anything with capacity, balance, names (fixed centres,
disruption, locks), together/apart pairs or contiguity goes to the assignment MILP
(`solvers.territory.milp_assign`); with fixed centres (reps' home bases, or the heuristic's on large
free-centre instances) and more pairs than the full model takes, that MILP runs over priced
pairs with a bound certified over every pair by column generation (`solvers.territory.milp_priced`).
`alternatives` re-solves with the objective capped at
(1 + tolerance) x best and minimises overlap with the alignments found so far.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from solvers.solve import SolveResult, Status, relative_gap, solver_defaults, time_limit_stops
from solvers.territory import bound_capacitated as capacitated_lagrange
from solvers.territory.bound_balanced import balanced_lagrangian, instance_of
from solvers.territory.bound_colgen import column_generation, supported
from solvers.territory.bound_pmedian import lagrangian_bound, reduce_candidates
from solvers.territory.diagnose import diagnose, proven_infeasible
from solvers.territory.milp_assign import AssignSolution, Pairs, centre_positions, solve_assignment
from solvers.territory.milp_contiguous import ContiguousSolution, bands, solve_contiguous
from solvers.territory.milp_priced import solve_priced
from solvers.territory.milp_radius import is_integral, solve_radius
from solvers.territory.problem import (
    Alternative,
    Balance,
    SolveOptions,
    TerritoryProblem,
    TerritoryResult,
)
from solvers.territory.start_contiguous import ContiguousPlan, contiguous_start, recentre, repair
from solvers.territory.start_greedy import HeuristicSolution, solve_heuristic
from solvers.territory.start_locate import location_allocation_start

AUTO_PAIRS = 15_000
"""Above this many unit-centre pairs the assignment model keeps each unit's nearest candidates."""
MIN_CANDIDATES = 20
FIXED_CENTRE_CANDIDATES = 8
"""With centres fixed (large instances) the priced MILP chooses its own pairs; this many nearest
centres per unit remain for alternatives and for the fallback when pricing gives no plan."""
FULL_PAIRS = 60_000
"""Up to this many unit-centre pairs, a solve over reduced candidates is followed by the model
over every pair, warm-started from (and cut off at) the reduced plan: that model's own bound is
then certified for the whole problem, no relaxation needed."""
REDUCED_SHARE = 0.3
"""Share of the time limit given to the reduced model when the full one follows."""
BALANCED_BOUND_PAIRS = 100_000_000
"""Up to this many unit-centre pairs the certified bound also tries the balanced Lagrangian."""
BOUND_NEAREST = "nearest fixed centre"
BOUND_FREE = "p-median Lagrangian (balance-free)"
BOUND_BALANCED = "balanced Lagrangian"
BOUND_LP_FIXED = "LP over every pair to the fixed centres (column generation; contiguity and pair rules dropped)"
"""summary.json's `bound_method` when the bound is one of these relaxations (runs over reduced pairs
or fixed centres chosen by the engine)."""
START_SHARE = 0.5
"""Share of the (first) time limit the location-allocation start may use."""
LARGE_N = 1000
"""From this many units (free centres, no names) the side-constrained model fixes the centres."""
LOCATE_ROUNDS = 25
"""Most priced location-allocation rounds (a round that only tightens its gap counts)."""
PRICED_START = "location-allocation (priced MILP rounds)"
"""`start_plan.method` in summary.json when the start came from the priced rounds."""
LOCATE_SHARE = 0.8
"""Share of the time limit the location-allocation rounds may use."""
CONTIGUOUS_FULL_PAIRS = 15_000
"""Up to this many unit-centre pairs a contiguous model (fixed centres, or the fallback without a
balanced start) keeps every pair; above, each unit keeps its nearest candidates."""
CONTIGUOUS_START_SHARE = 0.25
"""Share of the time limit the contiguous region-growing start may use."""
CONTIGUOUS_BOUND_SHARE = 0.3
"""Share of the time left after the start that a reduced contiguous model leaves for its bound."""
ROUND_SHARE = 0.5
"""Share of the MILP time left that one location-allocation round may use."""
CONTIGUOUS_RESTARTS = 8
"""Most further region-growing starts (seeded k-means++ seeds) tried while MILP time is left."""
RESTART_MIN_S = 5.0
"""A restart is tried only with at least this many seconds of MILP time left."""
CONTIGUOUS_FREE_PAIRS = 10_000
"""Up to this many unit-centre pairs the located plan is finished by the free-centre model over
every pair, whose bound is exact (contiguity included)."""
FIXED_CENTRE_GAP = 1e-3
"""Gap of each fixed-centre round: those models are small, and their plan sets the final gap."""
CONTIGUOUS_START = "region growing + moves and swaps on the border graph"
"""`start_plan.method` in summary.json for the contiguous start."""

__all__ = ["Balance", "SolveOptions", "TerritoryProblem", "TerritoryResult", "design_territories"]


def design_territories(prob: TerritoryProblem, options: SolveOptions | None = None) -> TerritoryResult:
    """Solve a territory-design instance; never raises on infeasible or unfinished solves."""
    opts = options or SolveOptions()
    notes: dict = {}
    t0 = time.perf_counter()
    proof = proven_infeasible(prob)
    with solver_defaults(mip_max_nodes=opts.max_nodes), time_limit_stops() as stops:
        if proof:
            centres, result, extra = None, SolveResult(Status.INFEASIBLE, "infeasible by a check (no solve)",
                                                       None, None, None, 0.0, 0.0), []
        elif _contiguous_path(prob):
            centres, result, extra = _solve_contiguous(prob, opts, notes)
        elif prob.side_constrained:
            centres, result, extra = _solve_assign(prob, opts, notes)
        else:
            centres, result, extra = _solve_pmedian(prob, opts)
    # the record's solve_s covers the whole search (start plan, heuristics, every MILP and LP,
    # bounds, alternatives), not only the last MILP: the stage's seconds less the model builds
    elapsed = time.perf_counter() - t0
    result = replace(result, solve_s=max(result.solve_s, elapsed - result.build_s))
    out = _result(prob, centres, result, extra, opts)
    out.summary.update(notes)
    if stops:  # the time limit is meant as a backstop: say when it cut a solve short
        out.summary["time_limit_stops"] = len(stops)
    if centres is None:
        out.summary["diagnosis"] = proof or diagnose(prob, result.status, opts.time_limit_s)
    return out


def _contiguous_path(prob: TerritoryProblem) -> bool:
    """Contiguity on free, unnamed territories without pair rules: the region-growing start and
    the separator-cut loop (`solvers.territory.milp_contiguous`) apply."""
    return (prob.adjacency is not None and not prob.labelled and prob.candidate_centres is None
            and len(prob.together) == 0 and len(prob.apart) == 0)


ContiguousSearch = tuple[TerritoryProblem, ContiguousSolution, np.ndarray | None, int]
"""A contiguous search's outcome: the problem its last MILP loop solved (`prob`, or `prob` with
the final centres fixed), that loop, the best plan (centre unit of every unit) and the
location-allocation rounds run."""


def _solve_contiguous(prob: TerritoryProblem, opts: SolveOptions, notes: dict
                      ) -> tuple[np.ndarray | None, SolveResult, list[np.ndarray]]:
    """Contiguous plan from region growing and local search, then location-allocation rounds:
    the separator-cut MILP over the plan's centres (fixed; warm-started from the plan, cutoff at
    its cost), every territory re-centred on its 1-median, again while the centres move. The
    certified bound is a relaxation over every unit-centre pair (`_certify_reduced`: the balanced
    Lagrangian, which drops contiguity), given CONTIGUOUS_BOUND_SHARE of the time. Without a
    balanced start the free-centre MILP over each unit's nearest candidates searches alone."""
    t0 = time.perf_counter()
    start = _contiguous_start_plan(prob, opts, notes)
    heur = _bound_heuristic(prob)
    stop = _contiguous_milp_stop(opts, t0)
    if start is None or not start.balanced:
        work, sol, best, rounds = _contiguous_without_start(prob, start, opts, stop)
        res = sol.result
    else:
        work, sol, best, rounds = _contiguous_from_start(prob, start, opts, stop, notes)
        res = _kept_plan_record(prob, best, sol.result)
    _contiguity_notes(notes, rounds, sol)
    if best is None:
        return None, res, []
    if work is not prob or not sol.pairs.complete:
        notes["fixed_centre_bound"] = fixed_centre_bound(res, note="valid only with the final centres fixed")
        res = _certify_reduced(prob, res, opts, heur, _deadline(opts, t0), notes)
    alts = []
    if opts.alternatives:
        alts = _contiguous_alternatives(work, opts, sol.pairs, best, res)
    return best, res, alts


def fixed_centre_bound(res: SolveResult, **fields: str) -> dict:
    """summary.json `territory.fixed_centre_bound`: the fixed-centre MILP's bound and gap, or
    both null with the reason when it reported no real bound. A MILP stopped before its root LP
    (a short round on a busy machine) reports its trivial bound 0 (costs are non-negative): no
    information, whose gap of 1.0 would read as "100 % off"."""
    if res.bound is not None and math.isfinite(res.bound) and res.bound > 0:
        return {"bound": res.bound, "gap": res.gap, **fields}
    return {"bound": None, "gap": None,
            "reason": f"the fixed-centre MILP stopped ({res.termination}) before it had a bound", **fields}


def _bound_heuristic(prob: TerritoryProblem) -> HeuristicSolution | None:
    """The p-median heuristic the certified bound starts from (`_certify_reduced`), computed
    before the MILP search so that the time limit counts it (tens of seconds at 3,000 units);
    None up to CONTIGUOUS_FREE_PAIRS pairs, where the model over every pair certifies the plan."""
    if prob.n * prob.n <= CONTIGUOUS_FREE_PAIRS:
        return None
    return solve_heuristic(prob.distance[:, _candidates(prob)], prob.weight, prob.p)


def _contiguous_start_plan(prob: TerritoryProblem, opts: SolveOptions, notes: dict) -> ContiguousPlan | None:
    """Region growing + local search within CONTIGUOUS_START_SHARE of the time limit (twice
    that when the first share ends before every territory is in its bands); noted in
    `notes["start_plan"]`."""
    limit = opts.time_limit_s
    start = contiguous_start(prob.distance, prob.weight, prob.adjacency, prob.p, bands(prob),
                             time_limit_s=None if limit is None else CONTIGUOUS_START_SHARE * limit)
    if start is not None and not start.balanced and limit is not None:
        # cut short by its time share (e.g. a busy machine): the search goes on from its plan
        more = repair(prob.distance, prob.weight, prob.adjacency, start.centre_of, bands(prob),
                      time_limit_s=CONTIGUOUS_START_SHARE * limit)
        if more is not None and more.violation < start.violation:
            start = more
    if start is not None:
        notes["start_plan"] = {"objective": start.cost, "method": CONTIGUOUS_START,
                               "balanced": start.balanced}
    return start


def _contiguous_milp_stop(opts: SolveOptions, t0: float) -> float | None:
    """The `time.perf_counter()` instant the MILP search ends: the time left after the start,
    less CONTIGUOUS_BOUND_SHARE of it, which certifies the bound over every pair (None: no limit)."""
    milp_s = _left(opts, t0)
    if milp_s is None:
        return None
    return time.perf_counter() + milp_s * (1 - CONTIGUOUS_BOUND_SHARE)


def _seconds_to(stop: float | None) -> float | None:
    return None if stop is None else stop - time.perf_counter()


def _contiguous_without_start(prob: TerritoryProblem, start: ContiguousPlan | None, opts: SolveOptions,
                              stop: float | None) -> ContiguousSearch:
    """No balanced start: the free-centre separator-cut MILP over each unit's nearest candidates
    (every pair up to CONTIGUOUS_FULL_PAIRS) searches alone; (problem, loop, plan, rounds)."""
    cap = max(MIN_CANDIDATES, CONTIGUOUS_FULL_PAIRS // prob.n) if prob.n * prob.n > CONTIGUOUS_FULL_PAIRS else None
    sol = solve_contiguous(prob, start, max_candidates=cap, time_limit_s=_seconds_to(stop), mip_gap=opts.mip_gap)
    if sol.result.status == Status.INFEASIBLE and not sol.pairs.complete:
        # no plan over each unit's nearest centres proves nothing about the whole problem
        r = sol.result
        sol = replace(sol, result=SolveResult(Status.NO_SOLUTION, f"no contiguous plan over each unit's {cap} "
                                              "nearest centres", None, r.bound, None, r.build_s, r.solve_s))
    return prob, sol, sol.centre_of, 1


def _contiguous_from_start(prob: TerritoryProblem, start: ContiguousPlan, opts: SolveOptions,
                           stop: float | None, notes: dict) -> ContiguousSearch:
    """Location-allocation rounds from the start plan, then from restarts while time is left, and
    on small instances the free-centre model over every pair; (problem with the final centres
    fixed or `prob`, last MILP loop, best plan, location rounds)."""
    work, sol, best, rounds = _relocate(prob, start.centre_of, opts, stop)
    work, sol, best, rounds = _contiguous_restarts(prob, opts, stop, notes, (work, sol, best, rounds))
    if prob.n * prob.n <= CONTIGUOUS_FREE_PAIRS and (stop is None or time.perf_counter() < stop - 1.0):
        # small enough for the model over every pair: its bound certifies contiguity too
        plan = ContiguousPlan(best, prob.plan_cost(best), 0.0)
        sol = solve_contiguous(prob, plan, max_candidates=None, time_limit_s=_seconds_to(stop), mip_gap=opts.mip_gap)
        work, best = prob, sol.centre_of if sol.centre_of is not None else best
    return work, sol, best, rounds


def _contiguous_restarts(prob: TerritoryProblem, opts: SolveOptions, stop: float | None, notes: dict,
                         found: ContiguousSearch) -> ContiguousSearch:
    """Up to CONTIGUOUS_RESTARTS further starts (seeded k-means++ seeds), each followed by its
    location-allocation rounds while RESTART_MIN_S of MILP time is left; the best of `found`
    (problem, loop, plan, rounds) and theirs, rounds summed."""
    work, sol, best, rounds = found
    restarts = 0
    while restarts < CONTIGUOUS_RESTARTS and (stop is None or stop - time.perf_counter() > RESTART_MIN_S):
        restarts += 1
        other = contiguous_start(prob.distance, prob.weight, prob.adjacency, prob.p, bands(prob),
                                 time_limit_s=_seconds_to(stop), variant=restarts)
        if other is None or not other.balanced:
            continue
        again = _relocate(prob, other.centre_of, opts, stop)
        if again[2] is not None and prob.plan_cost(again[2]) < prob.plan_cost(best) - 1e-9:
            work, sol, best = again[0], again[1], again[2]
            notes["start_plan"]["best_restart"] = restarts
        rounds += again[3]
    notes["start_plan"]["restarts"] = restarts
    return work, sol, best, rounds


def _kept_plan_record(prob: TerritoryProblem, best: np.ndarray | None, res: SolveResult) -> SolveResult:
    """`res`, or a feasible record of the plan `best` when the last MILP loop has no plan as good."""
    if best is not None and (not res.has_solution or res.objective > prob.plan_cost(best) + 1e-9):
        return SolveResult(Status.FEASIBLE, f"start plan kept ({res.termination})", prob.plan_cost(best),
                           None, None, res.build_s, res.solve_s)
    return res


def _contiguity_notes(notes: dict, rounds: int, sol: ContiguousSolution) -> None:
    """summary.json `territory.contiguity`: the formulation, location and cut rounds, cuts
    (integer and fractional separation)."""
    notes["contiguity"] = {"formulation": "separator cuts (Validi, Buchanan and Lykhovyd 2022), on fractional "
                                          "LP solutions at the free-centre model's root and lazily on integer "
                                          "solutions", "location_rounds": rounds, "cut_rounds": sol.rounds,
                           "cuts": sol.cuts, "fractional_cuts": sol.fractional_cuts,
                           "repaired_incumbents": sol.repaired}


def _relocate(prob: TerritoryProblem, plan: np.ndarray, opts: SolveOptions, stop: float | None
              ) -> ContiguousSearch:
    """Location-allocation rounds from a contiguous balanced plan (see `_solve_contiguous`):
    (problem with the final centres fixed, last MILP loop, best plan, rounds)."""
    best, rounds = recentre(prob.distance, prob.weight, plan), 0
    while True:
        rounds += 1
        centres = np.unique(best)
        work = replace(prob, fixed_centres=centres, labels=tuple(f"T{k + 1}" for k in range(len(centres))))
        cap = None if prob.n * len(centres) <= CONTIGUOUS_FULL_PAIRS else FIXED_CENTRE_CANDIDATES + 2
        # a round may take half the time left, so the centres can move at least once more
        left = None if stop is None else max(1.0, ROUND_SHARE * (stop - time.perf_counter()))
        plan_now = ContiguousPlan(best, prob.plan_cost(best), 0.0)
        gap = FIXED_CENTRE_GAP if opts.mip_gap is None else min(opts.mip_gap, FIXED_CENTRE_GAP)
        sol = solve_contiguous(work, plan_now, max_candidates=cap, time_limit_s=left, mip_gap=gap)
        if sol.centre_of is not None and prob.plan_cost(sol.centre_of) < prob.plan_cost(best) - 1e-9:
            best = sol.centre_of
        moved = recentre(prob.distance, prob.weight, best)
        out_of_time = stop is not None and time.perf_counter() >= stop - 1.0
        if (np.unique(moved) == centres).all() or out_of_time or rounds >= LOCATE_ROUNDS:
            return work, sol, best, rounds
        best = moved


def _contiguous_alternatives(work: TerritoryProblem, opts: SolveOptions, pairs: Pairs, best: np.ndarray,
                             res: SolveResult) -> list[np.ndarray]:
    """Contiguous near-optimal alternatives (the assignment MILP's diversify mode, whose cut
    loop keeps adding cuts until its plan is contiguous)."""
    cap = None if pairs.complete else FIXED_CENTRE_CANDIDATES + 2
    cpos = centre_positions(pairs.centres, work.n)
    return _diverse_plans(work, opts, cap, cpos[best], res)


def _candidates(prob: TerritoryProblem) -> np.ndarray:
    return np.arange(prob.n) if prob.candidate_centres is None else np.asarray(prob.candidate_centres)


def _solve_pmedian(prob: TerritoryProblem, opts: SolveOptions
                   ) -> tuple[np.ndarray | None, SolveResult, list[np.ndarray]]:
    """Radius formulation; returns the centre unit of every unit, the record, alternatives."""
    cand = _candidates(prob)
    dist = prob.distance[:, cand]
    t0 = time.perf_counter()
    heur = solve_heuristic(dist, prob.weight, prob.p)
    cost = prob.weight[:, None] * dist
    positive = prob.weight > 0
    kept, floor, lagrange = reduce_candidates(cost[positive], prob.p, heur.cost, heur.centres,
                                       is_integral(cost[positive]))
    prep_s = time.perf_counter() - t0
    prices = np.zeros(prob.n)
    if lagrange.multipliers is not None:
        prices[positive] = lagrange.multipliers  # what the relaxation charges each unit
    sol = solve_radius(dist[:, kept], prob.weight, prob.p, np.searchsorted(kept, heur.centres),
                       time_limit_s=opts.time_limit_s, mip_gap=opts.mip_gap, prices=prices)
    res = sol.result
    # dropped candidates cannot beat the heuristic, so the reduced bound holds up to `floor`
    bound = lagrange.bound if res.bound is None else max(lagrange.bound, min(res.bound, floor))
    if res.has_solution:
        res = SolveResult(res.status, res.termination, res.objective, bound,
                          relative_gap(res.objective, bound), res.build_s + prep_s, res.solve_s)
    else:
        res = SolveResult(Status.FEASIBLE, f"heuristic only ({res.termination})", heur.cost, bound,
                          relative_gap(heur.cost, bound), res.build_s + prep_s, res.solve_s)
    centres = kept[sol.centres]
    if res.objective is not None and heur.cost < res.objective - 1e-9:
        # stopped early on a truncated model whose incumbent is worse than the heuristic's
        centres = heur.centres
        res = SolveResult(res.status, res.termination, heur.cost, bound, relative_gap(heur.cost, bound),
                          res.build_s, res.solve_s)
    best = _nearest(prob.distance, cand[centres])
    alts: list[np.ndarray] = []
    if opts.alternatives and res.objective is not None:
        limit = res.objective * (1 + opts.alternative_tolerance)
        used = [centres]
        for _ in range(opts.alternatives):
            avoid = np.zeros(len(cand), dtype=bool)
            for c in used:
                avoid[c] = True
            alt = solve_radius(dist, prob.weight, prob.p, heur.centres, time_limit_s=opts.time_limit_s,
                               mip_gap=opts.mip_gap, cost_limit=limit, avoid=avoid)
            if not alt.result.has_solution or alt.true_cost > limit + 1e-6:
                break
            used.append(alt.centres)
            alts.append(_nearest(prob.distance, cand[alt.centres]))
    return best, res, alts


def _nearest(dist: np.ndarray, centre_units: np.ndarray) -> np.ndarray:
    """Centre unit of the territory each unit joins: its nearest open centre."""
    centre_units = np.asarray(centre_units)
    return centre_units[np.argmin(dist[:, centre_units], axis=1)]


def _solve_assign(prob: TerritoryProblem, opts: SolveOptions, notes: dict
                  ) -> tuple[np.ndarray | None, SolveResult, list[np.ndarray]]:
    """Assignment MILP, warm-started from a location-allocation plan (cost = cutoff). Over
    reduced candidate pairs it is followed by the model over every pair when that has at most
    FULL_PAIRS pairs (whose bound is then exact); otherwise the bound comes from relaxations
    (`_certify_reduced`)."""
    t0 = time.perf_counter()
    work, heur, located = _restrict_centres(prob, opts, notes)
    cap = _pair_cap(prob, work, opts)
    if work.fixed_centres is not None and supported(work) and cap is not None:
        priced = _solve_priced(prob, work, heur, replace(opts, time_limit_s=_left(opts, t0)), notes, located)
        if priced is not None:
            return priced[0], priced[1], _alternatives(work, opts, cap, priced[0], priced[1])
        if located is not None:  # the last solve ran out of time: the located plan stands
            res = SolveResult(Status.FEASIBLE, "location-allocation plan (time limit)", prob.plan_cost(located),
                              None, None, 0.0, 0.0)
            return located, _certify_reduced(prob, res, opts, heur, _deadline(opts, t0), notes), []
    pairs_all = work.n * len(_candidates(work) if work.fixed_centres is None else work.fixed_centres)
    follow = work is prob and cap is not None and cap < pairs_all / work.n and pairs_all <= FULL_PAIRS
    first = opts.time_limit_s
    if follow and first is not None:
        first *= REDUCED_SHARE
    start, feasible = _assign_start(work, heur, opts, first, notes)
    reduction = None
    if feasible and cap is None and capacitated_lagrange.applies(work):
        reduction = _capacitated_reduction(work, start, opts, first, notes)
        start = reduction.start
    sol = _assign_milp(work, opts, cap, start, feasible, reduction, _left(opts, t0, first))
    if not sol.pairs.complete and sol.result.status == Status.INFEASIBLE:
        # infeasible with reduced candidates proves nothing: try again with every pair
        sol = solve_assignment(work, max_candidates=None, time_limit_s=_left(opts, t0), mip_gap=opts.mip_gap)
    elif follow and sol.result.has_solution:
        sol = _follow_with_every_pair(work, sol, opts, _left(opts, t0), cap, notes)
    if feasible and start is not None:
        sol = _keep_start_unless_beaten(work, sol, start, notes["start_plan"]["objective"], opts)
    res = sol.result
    if prob.adjacency is not None:
        notes["contiguity"] = {"formulation": "cuts x_ij <= sum of x_lj over the border N(S) of each piece S cut "
                                              "off from its centre (Drexl and Haase 1999), lazily on integer "
                                              "solutions", "cuts": sol.cuts}
    if not res.has_solution:
        return None, res, []
    if reduction is not None:
        # the MILP's bound covers the kept pairs; a plan using a dropped one costs >= floor
        res = reduction.certify(res, opts.mip_gap)
    elif not sol.pairs.complete or work is not prob:
        # the MILP's own bound holds for the reduced candidate pairs / fixed centres only
        notes["reduced_model"] = {"bound": res.bound, "gap": res.gap, "fixed_centres": work is not prob,
                                  "candidates_per_unit": None if sol.pairs.complete else cap}
        res = _certify_reduced(prob, res, opts, heur, _deadline(opts, t0), notes)
    return sol.pairs.centres[sol.assign], res, _alternatives_from(work, opts, cap, sol.assign, res.objective)


def _pair_cap(prob: TerritoryProblem, work: TerritoryProblem, opts: SolveOptions) -> int | None:
    """Candidate centres each unit keeps in the assignment MILP (None: every candidate): the
    user's `max_candidates`, else FIXED_CENTRE_CANDIDATES when the centres were fixed here,
    else enough to keep about AUTO_PAIRS pairs on large instances."""
    cap = opts.max_candidates
    if cap is None and work is not prob:
        cap = FIXED_CENTRE_CANDIDATES
    elif cap is None and work.n * len(_candidates(work)) > AUTO_PAIRS:
        cap = max(MIN_CANDIDATES, AUTO_PAIRS // work.n)
    return cap


def _assign_start(work: TerritoryProblem, heur: HeuristicSolution | None, opts: SolveOptions,
                  first: float | None, notes: dict) -> tuple[np.ndarray | None, bool]:
    """The assignment MILP's start (centre unit of every unit, or None) and whether it is
    feasible: each unit at its nearest fixed centre (HiGHS drops it if unbalanced), or, with
    free centres, the location-allocation plan (recorded in `notes["start_plan"]`). `first` is
    the time limit (seconds) of the first MILP, half of which the start may use."""
    if heur is not None:
        return _nearest(work.distance, work.fixed_centres), False
    if work.fixed_centres is not None:
        return None, False
    # rounds of the priced MILP where it applies (every rule column-wise, not the plain
    # capacitated p-median, whose own Lagrangian path restarts from this plan)
    priced = supported(work) and not capacitated_lagrange.applies(work)
    found = location_allocation_start(work, mip_gap=opts.mip_gap,
                                      time_limit_s=None if first is None else START_SHARE * first,
                                      rounds=LOCATE_ROUNDS if priced else 4, priced=priced)
    if found is None:
        return None, False
    notes["start_plan"] = {"objective": found[1], "method": PRICED_START if priced else "location-allocation"}
    return found[0], True


def _capacitated_reduction(work: TerritoryProblem, start: np.ndarray, opts: SolveOptions, first: float | None,
                           notes: dict) -> capacitated_lagrange.Reduction:
    """Plain capacitated p-median: knapsack Lagrangian bound, a better start and pair fixing
    (`solvers.territory.bound_capacitated`); `notes` get its summary and any better start."""
    reduction = capacitated_lagrange.reduce_pairs(work, start, mip_gap=opts.mip_gap,
                                                  time_limit_s=None if first is None else START_SHARE * first)
    if reduction.upper < notes["start_plan"]["objective"]:
        notes["start_plan"] = {"objective": reduction.upper, "method": "Lagrangian heuristic"}
    notes["capacitated_lagrange"] = reduction.summary()
    return reduction


def _assign_milp(work: TerritoryProblem, opts: SolveOptions, cap: int | None, start: np.ndarray | None,
                 feasible: bool, reduction: capacitated_lagrange.Reduction | None,
                 time_limit_s: float | None) -> AssignSolution:
    """The assignment MILP from `start` (over the pairs a capacitated reduction kept, if any), or
    the start plan itself when that reduction's bound already meets it."""
    if reduction is not None and reduction.proven:
        cpos = centre_positions(reduction.pairs.centres, work.n)
        done = SolveResult(Status.FEASIBLE, "capacitated Lagrangian bound meets the start plan", reduction.upper,
                           None, None, 0.0, 0.0)
        return AssignSolution(cpos[start], reduction.pairs, done, 0)
    return solve_assignment(work, max_candidates=cap, time_limit_s=time_limit_s, mip_gap=opts.mip_gap,
                            start=start, start_feasible=feasible,
                            pairs=None if reduction is None else reduction.pairs,
                            highs_options=None if reduction is None else capacitated_lagrange.MILP_OPTIONS)


def _follow_with_every_pair(work: TerritoryProblem, reduced: AssignSolution, opts: SolveOptions,
                            time_limit_s: float | None, cap: int | None, notes: dict) -> AssignSolution:
    """The model over every unit-centre pair, warm-started from the reduced model's plan; its
    result (times added up) replaces the reduced one when it is at least as good."""
    full = solve_assignment(work, max_candidates=None, time_limit_s=time_limit_s, mip_gap=opts.mip_gap,
                            start=reduced.pairs.centres[reduced.assign], start_feasible=True)
    if not (full.result.has_solution and full.result.objective <= reduced.result.objective + 1e-9):
        return reduced
    notes["reduced_model"] = {"bound": reduced.result.bound, "gap": reduced.result.gap,
                              "fixed_centres": False, "candidates_per_unit": cap,
                              "then": "model over every unit-centre pair, warm-started"}
    r = full.result
    return replace(full, result=SolveResult(r.status, r.termination, r.objective, r.bound, r.gap,
                                            r.build_s + reduced.result.build_s,
                                            r.solve_s + reduced.result.solve_s))


def _keep_start_unless_beaten(work: TerritoryProblem, sol: AssignSolution, start: np.ndarray,
                              start_cost: float, opts: SolveOptions) -> AssignSolution:
    """`sol`, or the start plan (cost `start_cost`) with the MILP's bound when the MILP stopped
    without beating its own start (e.g. on its time limit)."""
    res = sol.result
    if res.has_solution and res.objective <= start_cost + 1e-9 * max(1.0, abs(start_cost)):
        return sol
    gap = relative_gap(start_cost, res.bound)
    done = gap is not None and gap <= (opts.mip_gap or 0.0) + 1e-9
    res = SolveResult(Status.OPTIMAL if done else Status.FEASIBLE, f"start plan kept ({res.termination})", start_cost,
                      res.bound, gap, res.build_s, res.solve_s)
    cpos = centre_positions(sol.pairs.centres, work.n)
    return replace(sol, assign=cpos[start], result=res)


def _alternatives_from(work: TerritoryProblem, opts: SolveOptions, cap: int | None, assign: np.ndarray,
                       objective: float) -> list[np.ndarray]:
    """Up to `opts.alternatives` plans within the tolerance of `objective`, each unlike the plan
    `assign` (pair positions) and the alternatives before it; centre per unit."""
    alts: list[np.ndarray] = []
    if not opts.alternatives:
        return alts
    limit = objective * (1 + opts.alternative_tolerance)
    seen = [assign]
    for _ in range(opts.alternatives):
        alt = solve_assignment(work, max_candidates=cap,
                               time_limit_s=opts.time_limit_s, mip_gap=opts.mip_gap,
                               cost_limit=limit, avoid=seen)
        if not alt.result.has_solution:
            break
        seen.append(alt.assign)
        alts.append(alt.pairs.centres[alt.assign])
    return alts


def _solve_priced(prob: TerritoryProblem, work: TerritoryProblem, heur: HeuristicSolution | None,
                  opts: SolveOptions, notes: dict, start: np.ndarray | None = None,
                  ) -> tuple[np.ndarray | None, SolveResult] | None:
    """Fixed centres: column-generation LP bound over every pair, MILP over priced pairs
    (`solvers.territory.milp_priced`), from `start` (a feasible plan) when given. When the centres
    were fixed here (large free-centre instance) that bound covers those centres only: it goes
    to the notes, and the reported bound is the relaxation over all centres (`_certify_reduced`)."""
    t0 = time.perf_counter()
    priced = solve_priced(work, time_limit_s=opts.time_limit_s, mip_gap=opts.mip_gap, start=start)
    if priced is None:
        return None
    notes.update(priced.notes)
    res = priced.result
    if priced.centre_of is None or work is prob:
        return priced.centre_of, res
    how = "location-allocation's" if start is not None else "p-median heuristic's"
    notes["fixed_centre_bound"] = fixed_centre_bound(res, centres=how, note="valid only with these centres fixed")
    return priced.centre_of, _certify_reduced(prob, res, opts, heur, _deadline(opts, t0), notes)


def _alternatives(work: TerritoryProblem, opts: SolveOptions, cap: int, centre_of: np.ndarray | None,
                  res: SolveResult) -> list[np.ndarray]:
    """Near-optimal alternatives of a fixed-centre plan (each unit among its `cap` nearest)."""
    if not opts.alternatives or centre_of is None or not res.has_solution:
        return []
    cpos = centre_positions(work.fixed_centres, work.n)
    return _diverse_plans(work, opts, cap, cpos[centre_of], res)


def _diverse_plans(work: TerritoryProblem, opts: SolveOptions, cap: int | None, first: np.ndarray,
                   res: SolveResult) -> list[np.ndarray]:
    """Up to `opts.alternatives` plans within `alternative_tolerance` of the objective, each unlike
    `first` and the ones before (the assignment MILP's diversify mode); centre unit of each unit."""
    seen, alts = [first], []
    for _ in range(opts.alternatives):
        alt = solve_assignment(work, max_candidates=cap, time_limit_s=opts.time_limit_s, mip_gap=opts.mip_gap,
                               cost_limit=res.objective * (1 + opts.alternative_tolerance), avoid=seen)
        if not alt.result.has_solution:
            break
        seen.append(alt.assign)
        alts.append(alt.pairs.centres[alt.assign])
    return alts


def _left(opts: SolveOptions, t0: float, limit: float | None = None) -> float | None:
    """Seconds left of `limit` (default the time limit) counted from `t0`, at least 1 s; None
    without a limit."""
    limit = opts.time_limit_s if limit is None else limit
    if limit is None:
        return None
    return max(1.0, limit - (time.perf_counter() - t0))


def _deadline(opts: SolveOptions, t0: float) -> float | None:
    """The `time.perf_counter()` instant the time limit counted from `t0` ends (None: no limit)."""
    return None if opts.time_limit_s is None else t0 + opts.time_limit_s


def _restrict_centres(prob: TerritoryProblem, opts: SolveOptions, notes: dict
                      ) -> tuple[TerritoryProblem, HeuristicSolution | None, np.ndarray | None]:
    """Large free-centre instances (n >= LARGE_N, no names): location-allocation. From the
    p-median heuristic's centres, rounds of the priced fixed-centre MILP (from a loose gap down
    to a tight one) re-centre every territory on its weighted 1-median while the cost falls
    (`location_allocation_start`). Returns the problem with the best plan's centres fixed, the
    heuristic and that plan (None when no round found one: the heuristic's centres are fixed).
    The MILP then balances the assignment around those centres at the requested gap, and the
    bound comes from `_certify_reduced` (a relaxation over all centres)."""
    if prob.n < LARGE_N or prob.fixed_centres is not None or prob.labelled:
        return prob, None, None
    t0 = time.perf_counter()
    cand = _candidates(prob)
    heur = solve_heuristic(prob.distance[:, cand], prob.weight, prob.p)
    centres = cand[heur.centres]
    limit = None if opts.time_limit_s is None else LOCATE_SHARE * opts.time_limit_s - (time.perf_counter() - t0)
    found = None
    if supported(prob):
        found = location_allocation_start(prob, time_limit_s=limit, mip_gap=opts.mip_gap,
                                          rounds=LOCATE_ROUNDS, centres=centres, priced=True)
    if found is not None:
        centres = np.unique(found[0])
        notes["start_plan"] = {"objective": found[1], "method": PRICED_START}
    work = replace(prob, fixed_centres=centres, labels=tuple(f"T{k + 1}" for k in range(prob.p)))
    return work, heur, None if found is None else found[0]


def _certify_reduced(prob: TerritoryProblem, res: SolveResult, opts: SolveOptions,
                     heur: HeuristicSolution | None, deadline: float | None, notes: dict) -> SolveResult:
    """Bound for a plan (`res`) from a solve over reduced candidate pairs. Its own MILP bound
    covers only the reduced problem, so the reported bound is a relaxation of the full one:
    with fixed centres the better of each unit at its nearest centre and the LP over every pair
    (`_fixed_centre_lp_bound`), else the Lagrangian bound of the uncapacitated p-median
    (valid for every side-constrained variant), raised by the balanced Lagrangian until its steps
    stop by their own work-counted rules; `deadline` (a `time.perf_counter()` instant; None: no
    limit) is only its backstop. Optimal only if that closes the gap; otherwise feasible. `notes`
    gets `bound_method` (the relaxation that gave the bound) and `bound_relaxations` (each one's
    value, and why the balanced one did not run, or its steps and why they stopped)."""
    values: dict[str, float] = {}
    skipped = None
    balanced_run: dict = {}
    if prob.fixed_centres is not None:
        values[BOUND_NEAREST] = float(prob.weight @ prob.distance[:, prob.fixed_centres].min(axis=1))
        lp = _fixed_centre_lp_bound(prob, deadline)
        if lp is not None:
            values[BOUND_LP_FIXED] = lp
    else:
        cand = _candidates(prob)
        positive = prob.weight > 0
        cost = prob.weight[positive, None] * prob.distance[np.ix_(positive, cand)]
        heur = heur or solve_heuristic(prob.distance[:, cand], prob.weight, prob.p)
        start = cost[:, heur.centres].min(axis=1)
        groups = None
        if prob.labelled and prob.current is not None and (prob.current[cand] >= 0).all():
            groups = prob.current[cand]
        upper = res.objective if groups is not None else heur.cost
        free = lagrangian_bound(cost, prob.p, upper, start, groups=groups)
        values[BOUND_FREE] = float(free.bound)
        # from the balance-free prices: the balanced relaxation is at least as high there
        prices = np.zeros(prob.n)
        prices[positive] = free.multipliers
        balanced, balanced_run = _balanced_bound(prob, res.objective, prices, deadline)
        if balanced is not None:
            values[BOUND_BALANCED] = balanced
        skipped = balanced_run.pop("balanced_lagrangian_skipped", None)
    method = max(values, key=values.get)
    notes["bound_method"] = method
    notes["bound_relaxations"] = {**values, **({"balanced_lagrangian_skipped": skipped} if skipped else {}),
                                  **balanced_run}
    bound = values[method]
    gap = relative_gap(res.objective, bound)
    ok = gap is not None and gap <= (opts.mip_gap or 0.0) + 1e-9
    status = Status.OPTIMAL if ok else Status.FEASIBLE
    return SolveResult(status, res.termination, res.objective, bound, gap, res.build_s, res.solve_s)


def _fixed_centre_lp_bound(prob: TerritoryProblem, deadline: float | None) -> float | None:
    """With the centres fixed (reps' home bases), the LP relaxation over every unit-centre pair by
    column generation, with the rules it cannot restrict column-wise (contiguity, together/apart)
    dropped: a relaxation, so a valid bound for the full problem (None when there is no time
    left, no rows beyond the assignment, or the LP gave no duals)."""
    relaxed = replace(prob, adjacency=None, together=np.empty((0, 2), dtype=np.int64),
                      apart=np.empty((0, 2), dtype=np.int64))
    left = None if deadline is None else deadline - time.perf_counter()
    if (left is not None and left < 1.0) or not (relaxed.balance or relaxed.capacity is not None) \
            or not supported(relaxed):
        return None
    cg = column_generation(relaxed, time_limit_s=left)
    return None if cg.duals is None else float(cg.bound)


def _balanced_bound(prob: TerritoryProblem, upper: float, prices: np.ndarray, deadline: float | None
                    ) -> tuple[float | None, dict]:
    """The balanced Lagrangian bound from unit `prices` (None when it does not run) and its
    record for `bound_relaxations`: its steps and why they stopped, or why it did not run. Its
    steps stop themselves; the time left before `deadline` is only a backstop, reported if it
    cuts in."""
    left = np.inf if deadline is None else deadline - time.perf_counter()
    skipped = _balanced_skipped(prob, left)
    inst = instance_of(prob) if skipped is None else None
    if inst is None:
        return None, {"balanced_lagrangian_skipped": skipped or "no balance or capacity bounds a territory"}
    run = balanced_lagrangian(inst, upper, prices, time_limit_s=None if deadline is None else left)
    return float(run.bound), {"balanced_lagrangian_steps": run.steps, "balanced_lagrangian_stopped": run.stopped}


def _balanced_skipped(prob: TerritoryProblem, left: float) -> str | None:
    """Why `_certify_reduced` does not run the balanced Lagrangian (None: it does)."""
    if prob.n * prob.n > BALANCED_BOUND_PAIRS:
        return f"{prob.n * prob.n:,} unit-centre pairs, over BALANCED_BOUND_PAIRS ({BALANCED_BOUND_PAIRS:,})"
    if left < 1.0:
        return "less than 1 s left of the time limit"
    return None


def _territory_names(prob: TerritoryProblem, centre_of: np.ndarray) -> dict[int, str]:
    """Name of each territory (keyed by centre unit): its label, or the current territory it
    overlaps most (best one-to-one match), or T1..Tp in order of centre unit id."""
    centres = np.unique(centre_of)
    if prob.fixed_centres is not None:
        return {int(c): prob.labels[k] for k, c in enumerate(prob.fixed_centres)}
    if prob.labelled:
        return {int(c): prob.labels[int(prob.current[c])] for c in centres}
    names = {int(c): f"T{k + 1}" for k, c in enumerate(sorted(centres, key=lambda c: str(prob.unit_ids[c])))}
    if prob.current is not None and prob.labels:
        has = prob.current >= 0
        overlap = np.zeros((len(centres), len(prob.labels)))
        np.add.at(overlap, (np.searchsorted(centres, centre_of[has]), prob.current[has]), 1.0)
        rows, cols = linear_sum_assignment(-overlap)
        taken = set()
        for r, c in zip(rows, cols, strict=True):
            names[int(centres[r])] = prob.labels[c]
            taken.add(prob.labels[c])
        spare = (f"T{k}" for k in range(1, 10 * len(centres)) if f"T{k}" not in taken)
        for r in set(range(len(centres))) - set(rows.tolist()):
            names[int(centres[r])] = next(spare)
    return names


def _assignments(prob: TerritoryProblem, centre_of: np.ndarray) -> pd.DataFrame:
    names = _territory_names(prob, centre_of)
    return pd.DataFrame({
        "unit_id": prob.unit_ids.astype(str),
        "territory": [names[int(c)] for c in centre_of],
        "center_unit_id": prob.unit_ids[centre_of].astype(str),
        "workload": prob.workload,
        "potential": prob.potential,
    })


def _per_territory(prob: TerritoryProblem, assignments: pd.DataFrame) -> pd.DataFrame:
    frame = assignments.assign(units=1, **{b.measure: prob.measure(b.measure) for b in prob.balance
                                           if b.measure not in ("workload", "potential", "units")})
    cols = ["units", "workload", "potential"] + [b.measure for b in prob.balance
                                                 if b.measure not in ("workload", "potential", "units")]
    out = frame.groupby(["territory", "center_unit_id"], as_index=False)[cols].sum()
    return out.sort_values("territory").reset_index(drop=True)


def _moved(prob: TerritoryProblem, assignments: pd.DataFrame) -> dict:
    if prob.current is None or not prob.labels:
        return {}
    has = prob.current >= 0
    before = np.array([prob.labels[c] if c >= 0 else "" for c in prob.current], dtype=object)
    moved = has & (assignments["territory"].to_numpy(dtype=object) != before)
    pot = prob.potential
    return {"moved_units": int(moved.sum()),
            "moved_share": float(moved.sum() / max(has.sum(), 1)),
            "moved_potential_share": float(pot[moved].sum() / pot[has].sum()) if pot[has].sum() > 0 else 0.0}


def _ratio(values: pd.Series) -> float | None:
    return float(values.max() / values.min()) if len(values) and values.min() > 0 else None


def _result(prob: TerritoryProblem, centre_of: np.ndarray | None, res: SolveResult,
            alts: list[np.ndarray], opts: SolveOptions) -> TerritoryResult:
    summary: dict = res.as_dict()
    if centre_of is None:
        empty = pd.DataFrame(columns=["unit_id", "territory", "center_unit_id", "workload", "potential"])
        return TerritoryResult(empty, res, pd.DataFrame(), summary)
    assignments = _assignments(prob, centre_of)
    per = _per_territory(prob, assignments)
    summary.update({
        "territories": per.to_dict(orient="records"),
        "workload_max_min_ratio": _ratio(per["workload"]),
        "potential_max_min_ratio": _ratio(per["potential"]),
        **_moved(prob, assignments),
    })
    alternatives = []
    for alt in alts:
        frame = _assignments(prob, alt)
        cost = prob.plan_cost(alt)
        alternatives.append(Alternative(frame, cost, float(np.mean(alt != centre_of))))
    if alternatives:
        summary["alternatives"] = [{"objective": a.objective, "differs_from_best": a.differs_from_best,
                                    "within": opts.alternative_tolerance} for a in alternatives]
    return TerritoryResult(assignments, res, per, summary, alternatives)
