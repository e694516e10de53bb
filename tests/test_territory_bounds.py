"""Bounds and starts of the side-constrained territory solver against independent references:
the continuous-knapsack subproblem against scipy's LP solver, the balanced Lagrangian bound
against brute-force enumeration of every plan of a small instance, and the location-allocation
start against a direct check of every rule it must satisfy (and, in its priced form for large
instances, against the plan around the p-median heuristic's centres it replaces)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.spatial.distance import cdist

from solvers.territory import bound_balanced as territory_lagrange
from solvers.territory.bound_balanced import (
    _all_subproblems,
    _stalled,
    _subproblems,
    balanced_lagrangian,
    instance_of,
)
from solvers.territory.problem import Balance, TerritoryProblem
from solvers.territory.start_greedy import solve_heuristic
from solvers.territory.start_locate import _relabelled, location_allocation_start


def _instance(n: int, p: int, seed: int, tol: float, **kw) -> TerritoryProblem:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n, 2))
    workload = rng.uniform(1, 5, size=n)
    return TerritoryProblem(np.array([f"u{i}" for i in range(n)], dtype=object), cdist(xy, xy),
                            workload, workload, np.zeros(n), p, balance=(Balance("workload", tol),), **kw)


def _assert_balanced(loads: np.ndarray, prob: TerritoryProblem, tol: float) -> None:
    """p territories, each with a workload within +-tol of the mean."""
    mean = prob.workload.sum() / prob.p
    assert len(loads) == prob.p
    assert ((loads >= (1 - tol) * mean - 1e-6) & (loads <= (1 + tol) * mean + 1e-6)).all()


@pytest.mark.parametrize("top_k", [1, 3, 256])
@pytest.mark.parametrize("seed", range(3))
def test_knapsack_subproblem_matches_linprog(seed: int, top_k: int) -> None:
    """rho_j = LP min of sum r_i x_i, x_own = 1, low <= sum q_i x_i <= high, 0 <= x <= 1, and
    x[:, j] is its minimiser; a small `top_k` sends columns through the redo over every unit."""
    prob = _instance(12, 3, seed, 0.2)
    inst = instance_of(prob)
    rng = np.random.default_rng(100 + seed)
    red = inst.cost - rng.uniform(0, 150, size=prob.n)[:, None]
    rho, x = _subproblems(inst, red, top_k=top_k)
    x = x.toarray()
    for j in range(inst.cost.shape[1]):
        lo = np.zeros(prob.n)
        lo[inst.own[j]] = 1.0
        lp = linprog(red[:, j], A_ub=np.vstack([inst.q, -inst.q]), b_ub=[inst.high, -inst.low],
                     bounds=list(zip(lo, np.ones(prob.n), strict=True)), method="highs")
        assert lp.status == 0
        assert rho[j] == pytest.approx(lp.fun, abs=1e-6)
        assert red[:, j] @ x[:, j] == pytest.approx(lp.fun, abs=1e-6)
        assert inst.low - 1e-9 <= inst.q @ x[:, j] <= inst.high + 1e-9


def test_knapsacks_in_blocks_match_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of centre columns (how 10,000 units stay within memory) give the same rho and x as
    one pass over every column, disruption prices included."""
    prob = _instance(30, 4, 5, 0.15, current=np.arange(30) % 4, labels=("A", "B", "C", "D"),
                     max_disruption=0.3)
    inst = instance_of(prob)
    assert inst.stay is not None
    lam = np.random.default_rng(7).uniform(0, 200, size=prob.n)
    stay_v = inst.stay * inst.v[:, None]
    rho_one, x_one = _all_subproblems(inst, lam, 5.0, stay_v)
    monkeypatch.setattr(territory_lagrange, "CHUNK_ENTRIES", 7 * prob.n)  # 7 columns a block
    rho_blocks, x_blocks = _all_subproblems(inst, lam, 5.0, stay_v)
    np.testing.assert_allclose(rho_blocks, rho_one)
    np.testing.assert_allclose(x_blocks.toarray(), x_one.toarray())
    red = inst.cost - lam[:, None] - 5.0 * stay_v
    np.testing.assert_allclose(rho_one, _subproblems(inst, red, top_k=prob.n)[0])


def _brute_force(prob: TerritoryProblem) -> float:
    """Optimal cost over every choice of p centres and every assignment (centres in their own
    territory, workload of each territory within the balance band)."""
    tol = prob.balance[0].tolerance
    mean = prob.workload.sum() / prob.p
    best = np.inf
    for centres in itertools.combinations(range(prob.n), prob.p):
        for assign in itertools.product(range(prob.p), repeat=prob.n):
            a = np.array(assign)
            if any(a[c] != k for k, c in enumerate(centres)):
                continue
            loads = np.bincount(a, weights=prob.workload, minlength=prob.p)
            if ((loads < (1 - tol) * mean - 1e-9) | (loads > (1 + tol) * mean + 1e-9)).any():
                continue
            best = min(best, float(prob.weight @ prob.distance[np.arange(prob.n), np.array(centres)[a]]))
    return best


@pytest.mark.parametrize("seed", range(3))
def test_balanced_bound_is_below_brute_force_optimum(seed: int) -> None:
    prob = _instance(8, 2, seed, 0.1)
    optimum = _brute_force(prob)
    assert np.isfinite(optimum)
    inst = instance_of(prob)
    start = inst.cost[np.isfinite(inst.cost)].max() * np.ones(prob.n) / prob.n
    bound = balanced_lagrangian(inst, optimum, start, max_iter=300).bound
    assert bound <= optimum + 1e-6
    # and it is a real bound: the balance-free relaxation (every unit at its nearest unit) is 0
    assert bound > 0.5 * optimum


def test_balanced_bound_stops_on_work_not_on_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The steps and the bound are the same whatever the clock says (a clock that jumps by a
    random amount at every reading, far from the backstop), and the run ends on a work-counted
    rule; only a backstop that cuts in stops on time, and the record says so."""
    prob = _instance(30, 3, 5, 0.1)
    inst = instance_of(prob)
    upper = location_allocation_start(prob, time_limit_s=None, mip_gap=1e-6)[1]  # a balanced plan's cost
    start = np.zeros(prob.n)
    quiet = balanced_lagrangian(inst, upper, start, time_limit_s=None)
    jumps = iter(np.random.default_rng(0).uniform(0, 50, 100_000).cumsum())
    monkeypatch.setattr(territory_lagrange.time, "perf_counter", lambda: next(jumps))
    noisy = balanced_lagrangian(inst, upper, start, time_limit_s=1e9)
    assert (noisy.bound, noisy.steps, noisy.stopped) == (quiet.bound, quiet.steps, quiet.stopped)
    assert quiet.stopped == territory_lagrange.STOP_STALLED and 0 < quiet.steps < 5000  # measured: 360
    assert quiet.bound <= upper
    cut = balanced_lagrangian(inst, upper, start, time_limit_s=10.0)  # the clock jumps past it
    assert cut.stopped == territory_lagrange.STOP_CLOCK and cut.steps < quiet.steps
    capped = balanced_lagrangian(inst, upper, start, max_iter=3)
    assert (capped.steps, capped.stopped) == (3, territory_lagrange.STOP_STEPS)


def test_bound_stalls_when_it_rises_less_than_a_share_of_the_open_gap() -> None:
    """By hand, STALL_STEPS = 50 and STALL_SHARE = 0.002, plan cost 1000: a bound at 900 that
    rose by 0.1 over 50 steps has risen less than 0.002 x 100 = 0.2 (stalled); by 0.3, not."""
    assert (territory_lagrange.STALL_STEPS, territory_lagrange.STALL_SHARE) == (50, 0.002)
    flat = [899.9] + [899.95] * 49 + [900.0]
    assert _stalled(flat, 1000.0)
    rising = [899.7] + [899.8] * 49 + [900.0]
    assert not _stalled(rising, 1000.0)
    assert not _stalled(flat[1:], 1000.0)  # fewer than 51 values: too early to tell
    assert not _stalled([-np.inf] + flat[1:], 1000.0)


@pytest.mark.parametrize("priced", [False, True])
def test_location_allocation_start_obeys_every_rule(priced: bool) -> None:
    """Named territories: every centre in its own current territory and its own territory,
    workload within +-10 %, at most 25 % of units moved; by either kind of round."""
    n, p = 120, 4
    base = _instance(n, p, 7, 0.1)
    xy_order = np.argsort(base.distance[0])  # current territories: rings around unit 0
    current = np.empty(n, dtype=np.int64)
    current[xy_order] = np.repeat(np.arange(p), n // p)
    prob = TerritoryProblem(base.unit_ids, base.distance, base.weight, base.workload, base.potential, p,
                            balance=base.balance, labels=("A", "B", "C", "D"), current=current,
                            max_disruption=0.25)
    found = location_allocation_start(prob, time_limit_s=30, mip_gap=1e-4, rounds=25 if priced else 4, priced=priced)
    assert found is not None
    plan, cost = found
    assert cost == pytest.approx(float(prob.weight @ prob.distance[np.arange(n), plan]))
    centres = np.unique(plan)
    assert len(centres) == p
    assert (plan[centres] == centres).all()
    assert sorted(current[centres].tolist()) == list(range(p))
    territory = current[plan]  # a territory is named after its centre's current territory
    loads = np.bincount(territory, weights=prob.workload, minlength=p)
    _assert_balanced(loads, prob, 0.1)
    assert (territory != current).mean() <= 0.25 + 1e-9


def _clustered(n: int, p: int, seed: int, tol: float = 0.05) -> TerritoryProblem:
    """Units in a few clusters of uneven workload, so balance pulls the centres away from the
    plain p-median's (a territory must straddle two clusters)."""
    rng = np.random.default_rng(seed)
    hubs = rng.uniform(0, 1000, size=(4, 2))
    xy = hubs[rng.integers(0, 4, n)] + rng.normal(0, 40, size=(n, 2))
    workload = rng.gamma(4.0, 2.5, size=n)
    return TerritoryProblem(np.array([f"u{i}" for i in range(n)], dtype=object), cdist(xy, xy),
                            workload, workload, np.zeros(n), p, balance=(Balance("workload", tol),))


def test_relabelled_start_keeps_the_territories_around_new_centres() -> None:
    plan = np.array([3, 3, 3, 3, 3, 7, 7, 7, 7])  # units 0-4 around centre 3, 5-8 around 7
    old = np.array([7, 3])  # territory 0 is centre 7's
    assert _relabelled(plan, old, np.array([8, 1])).tolist() == [1, 1, 1, 1, 1, 8, 8, 8, 8]
    assert _relabelled(plan, old, np.array([2, 1])) is None  # unit 2 is not in territory 0
    assert _relabelled(None, old, np.array([8, 1])) is None


@pytest.mark.parametrize("seed", range(2))
def test_priced_location_allocation_beats_the_heuristic_centres(seed: int) -> None:
    """One priced round balances around the p-median heuristic's centres; more rounds re-centre
    (each round warm-started from the last, so never worse) and end balanced, every centre in
    its own territory, at a cost that is the plan's."""
    prob = _clustered(240, 7, seed)
    centres = solve_heuristic(prob.distance, prob.weight, prob.p).centres
    first = location_allocation_start(prob, time_limit_s=60, mip_gap=0.01, rounds=1, centres=centres, priced=True)
    found = location_allocation_start(prob, time_limit_s=60, mip_gap=0.01, rounds=25, centres=centres, priced=True)
    assert first is not None and found is not None
    plan, cost = found
    assert cost == pytest.approx(prob.plan_cost(plan))
    assert cost < 0.97 * first[1]  # measured 6 % and 23 % lower: the heuristic's centres suit no balanced plan
    used = np.unique(plan)
    assert len(used) == prob.p and (plan[used] == used).all()
    loads = np.bincount(np.searchsorted(used, plan), weights=prob.workload)
    _assert_balanced(loads, prob, 0.05)


def test_large_free_centre_instances_locate_before_balancing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the public entry point, with the large-instance threshold lowered to this
    instance: the centres come from the priced location-allocation, the final MILP starts from
    its plan (never worse), the plan is balanced and the bound is a valid one below it."""
    import solvers.territory.design as territory

    monkeypatch.setattr(territory, "LARGE_N", 200)
    prob = _clustered(240, 7, 1)
    out = territory.design_territories(prob, territory.SolveOptions(time_limit_s=60, mip_gap=0.01))
    s, notes = out.solve, out.summary
    assert notes["start_plan"]["method"] == "location-allocation (priced MILP rounds)"
    assert notes["fixed_centre_bound"]["centres"] == "location-allocation's"
    assert s.objective <= notes["start_plan"]["objective"] * (1 + 1e-9)
    centres = solve_heuristic(prob.distance, prob.weight, prob.p).centres
    around_heuristic = location_allocation_start(prob, time_limit_s=60, mip_gap=0.01, rounds=1,
                                                 centres=centres, priced=True)
    assert s.objective < 0.85 * around_heuristic[1]  # measured 23 % lower
    loads = out.territories["workload"].to_numpy()
    _assert_balanced(loads, prob, 0.05)
    plan = out.assignments["center_unit_id"].str[1:].astype(int).to_numpy()
    assert s.objective == pytest.approx(prob.plan_cost(plan))
    assert 0 < s.bound <= s.objective
    record = notes["bound_relaxations"]
    assert notes["bound_method"] == territory.BOUND_BALANCED
    assert record[territory.BOUND_BALANCED] == pytest.approx(s.bound)
    # it starts from the balance-free prices, where the tighter relaxation is already higher
    assert record[territory.BOUND_BALANCED] >= record[territory.BOUND_FREE] - 1e-6
    assert "balanced_lagrangian_skipped" not in record


def test_located_plan_stands_when_the_last_solve_finds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the solve around the located centres gives no plan (e.g. no time left for its LP),
    the location-allocation plan is the answer, with a valid bound, not a fallback around the
    heuristic's centres."""
    import solvers.territory.design as territory

    monkeypatch.setattr(territory, "LARGE_N", 200)
    monkeypatch.setattr(territory, "solve_priced", lambda *args, **kwargs: None)
    monkeypatch.setattr(territory, "BALANCED_BOUND_PAIRS", 1000)  # and the balanced bound too big
    prob = _clustered(240, 7, 1)
    out = territory.design_territories(prob, territory.SolveOptions(time_limit_s=60, mip_gap=0.01))
    s = out.solve
    assert s.termination == "location-allocation plan (time limit)"
    assert s.objective == pytest.approx(out.summary["start_plan"]["objective"])
    plan = out.assignments["center_unit_id"].str[1:].astype(int).to_numpy()
    assert s.objective == pytest.approx(prob.plan_cost(plan))
    loads = out.territories["workload"].to_numpy()
    _assert_balanced(loads, prob, 0.05)
    assert 0 < s.bound <= s.objective
    record = out.summary["bound_relaxations"]
    assert out.summary["bound_method"] == territory.BOUND_FREE
    assert record[territory.BOUND_FREE] == pytest.approx(s.bound)
    assert "57,600 unit-centre pairs" in record["balanced_lagrangian_skipped"]
