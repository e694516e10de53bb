"""Hand-solved territory instances: balance, capacity, disruption, locks, pairs, contiguity,
alternatives and an infeasible fixture. Each docstring draws the instance and works the answer.

The line instance: six units on a line at x = 0, 1, 2, 3, 10, 11 (ids a..f), workload 1, p = 2,
every unit weighs 1 (`compactness_weight: unit`). Unconstrained optimum: {a,b,c,d} around b or c
(1 + 0 + 1 + 2 = 4) and {e,f} (1): total 5.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.plan.territory import run_territory
from engine.scenario.schema.territory import TerritorySection

XS = {"a": 0, "b": 1, "c": 2, "d": 3, "e": 10, "f": 11}


def _line(folder: Path, workload: dict[str, float] | None = None, current: dict[str, str] | None = None) -> None:
    rows = ["id,x,y,workload,current_territory"]
    for u, x in XS.items():
        rows.append(f"{u},{x},0,{(workload or {}).get(u, 1)},{(current or {}).get(u, '')}")
    (folder / "units.csv").write_text("\n".join(rows) + "\n")


def _solve(folder: Path, **kwargs):
    section = TerritorySection(units="units.csv", territories=kwargs.pop("territories", 2),
                               compactness_weight="unit", **kwargs)
    return run_territory(section, folder)


def _groups(result) -> set[frozenset[str]]:
    a = result.assignments
    return {frozenset(g["unit_id"]) for _, g in a.groupby("territory")}


def test_unconstrained_line(tmp_path: Path) -> None:
    _line(tmp_path)
    res = _solve(tmp_path)
    assert res.solve.objective == pytest.approx(5.0)
    assert _groups(res) == {frozenset("abcd"), frozenset("ef")}


def test_balance_exact(tmp_path: Path) -> None:
    """Balance 0 forces 3 + 3: {a,b,c} around b (2) and {d,e,f} around e (7 + 1): total 10."""
    _line(tmp_path)
    res = _solve(tmp_path, balance=0.0)
    assert str(res.solve.status) == "optimal"
    assert res.solve.objective == pytest.approx(10.0)
    assert _groups(res) == {frozenset("abc"), frozenset("def")}
    assert res.summary["workload_max_min_ratio"] == pytest.approx(1.0)


def test_balance_two_measures(tmp_path: Path) -> None:
    """Workload within 50 % of 3 (2..4 units each) and potential (c = d = 1, others 0) within
    0 %: c and d must be apart. Cheapest such split: {a,b,c} around b (2) + {d,e,f} around e
    (7 + 1 = 8) = 10; next {a,b,d}/{c,e,f} = 3 + 9 = 12; the free optimum {a,b,c,d} is out."""
    (tmp_path / "units.csv").write_text(
        "id,x,y,workload,potential\n" + "".join(
            f"{u},{x},0,1,{1 if u in 'cd' else 0}\n" for u, x in XS.items()))
    res = _solve(tmp_path, balance={"workload": 0.5, "potential": 0.0})
    assert res.solve.objective == pytest.approx(10.0)
    assert _groups(res) == {frozenset("abc"), frozenset("def")}
    assert res.territories["potential"].tolist() == [1.0, 1.0]


def test_capacity(tmp_path: Path) -> None:
    """d has workload 2, capacity 4: {a,b,c,d} (5) no longer fits. {a,b,c} around b (2) and
    {d,e,f} around e (7 + 1 = 8): total 10; {a,b,d}/{c,e,f} = 3 + 9 = 12 is worse."""
    _line(tmp_path, workload={"d": 2})
    res = _solve(tmp_path, capacity=4.0)
    assert res.solve.objective == pytest.approx(10.0)
    assert _groups(res) == {frozenset("abc"), frozenset("def")}


def test_disruption(tmp_path: Path) -> None:
    """Current: A = {a,b,c,d,e}, B = {f}. Nobody may move: A around c (2+1+0+1+8 = 12), B = 0:
    12. One unit in six may move: e joins B: {a,b,c,d} (4) + {e,f} (1) = 5, one moved."""
    _line(tmp_path, current={u: "A" for u in "abcde"} | {"f": "B"})
    res = _solve(tmp_path, max_disruption=0.0)
    assert res.solve.objective == pytest.approx(12.0)
    assert res.summary["moved_units"] == 0
    res = _solve(tmp_path, max_disruption=1 / 6)
    assert res.solve.objective == pytest.approx(5.0)
    assert res.summary["moved_units"] == 1
    assert set(res.assignments.set_index("unit_id").loc[["e", "f"], "territory"]) == {"B"}


def test_pinned_and_move_locks(tmp_path: Path) -> None:
    """Current as in test_disruption. d pinned to B (centre must be B's only unit f): d costs 8;
    {a,b,c} around b (2), e joins B (1): 11. With b locked `move` instead: b goes to B (10),
    {a,c,d} around c (2+0+1 = 3), e to B (1): 14."""
    _line(tmp_path, current={u: "A" for u in "abcde"} | {"f": "B"})
    res = _solve(tmp_path, locks={"d": "B"})
    assert res.solve.objective == pytest.approx(11.0)
    terr = res.assignments.set_index("unit_id")["territory"]
    assert terr["d"] == "B" and terr["e"] == "B" and terr["a"] == "A"
    res = _solve(tmp_path, locks={"b": "move"})
    assert res.solve.objective == pytest.approx(14.0)
    assert res.assignments.set_index("unit_id")["territory"]["b"] == "B"


def test_fixed_centres(tmp_path: Path) -> None:
    """Reps based at a (West) and f (East): nearest base for each unit: a,b,c,d West
    (0+1+2+3 = 6), e,f East (1): 7."""
    _line(tmp_path)
    res = _solve(tmp_path, centres={"West": "a", "East": "f"})
    assert res.solve.objective == pytest.approx(7.0)
    assert _groups(res) == {frozenset("abcd"), frozenset("ef")}
    assert set(res.assignments["territory"]) == {"West", "East"}


def test_together_and_apart(tmp_path: Path) -> None:
    """together(d, e): {a,b,c} (2) + {d,e,f} around e (7 + 1) = 10. apart(a, b): a joins the far
    side ({a,e,f}: 10 + 1 = 11, {b,c,d}: 2 -> 13) or {a,c,d}/{b,e,f} (3 + 10 = 13): 13."""
    _line(tmp_path)
    res = _solve(tmp_path, together=[("d", "e")])
    assert res.solve.objective == pytest.approx(10.0)
    res = _solve(tmp_path, apart=[("a", "b")])
    assert res.solve.objective == pytest.approx(13.0)
    terr = res.assignments.set_index("unit_id")["territory"]
    assert terr["a"] != terr["b"]


def test_contiguity_on_a_road_with_a_shortcut(tmp_path: Path) -> None:
    """Five units a-b-c-d-e along a road (adjacency: consecutive ones), 1 apart, and a shortcut
    a-e of 0.5 (distances file; the rest completed by shortest paths: a 5-cycle).

        a - b - c - d - e        (adjacency)
        `--- 0.5 shortcut --'    (distance only)

    Without contiguity the optimum is 2.5 (e.g. centres b, e: a goes to e via the shortcut,
    cut off from e by the road). With contiguity territories are road intervals: {a,b}/{c,d,e}
    = 1 + 2 or {a,b,c}/{d,e} = 2 + 1: 3."""
    (tmp_path / "units.csv").write_text("id\n" + "".join(f"{u}\n" for u in "abcde"))
    road = "".join(f"{u},{v},1\n" for u, v in zip("abcd", "bcde", strict=True))
    (tmp_path / "distances.csv").write_text("from,to,distance\n" + road + "a,e,0.5\n")
    (tmp_path / "adjacency.csv").write_text("from,to\n" + "".join(
        f"{u},{v}\n" for u, v in zip("abcd", "bcde", strict=True)))
    base = dict(units="units.csv", distances="distances.csv", territories=2, compactness_weight="unit")
    free = run_territory(TerritorySection(**base), tmp_path)
    assert free.solve.objective == pytest.approx(2.5)
    res = run_territory(TerritorySection(**base, adjacency="adjacency.csv", contiguity=True), tmp_path)
    assert str(res.solve.status) == "optimal"
    assert res.solve.objective == pytest.approx(3.0)
    order = "abcde"
    for group in _groups(res):
        idx = sorted(order.index(u) for u in group)
        assert idx == list(range(idx[0], idx[-1] + 1)), f"territory {group} is not an interval"


def test_alternatives_are_near_optimal_and_different(tmp_path: Path) -> None:
    """Ties on the line: {a,b,c,d} can centre on b or c and {e,f} on e or f, all cost 5. With
    tolerance 0, an alternative must cost 5 and should use other centres than the best."""
    _line(tmp_path)
    res = _solve(tmp_path, alternatives=1, alternatives_within=0.0)
    assert len(res.alternatives) == 1
    alt = res.alternatives[0]
    assert alt.objective == pytest.approx(5.0)
    assert set(alt.assignments["center_unit_id"]).isdisjoint(set(res.assignments["center_unit_id"]))


def test_capacity_too_small_is_reported_infeasible(tmp_path: Path) -> None:
    """The infeasible fixture: 6 units of workload 1, 2 territories of capacity 2."""
    _line(tmp_path)
    res = _solve(tmp_path, capacity=2.0)
    assert str(res.solve.status) == "infeasible"
    assert res.assignments.empty
    assert res.summary["status"] == "infeasible"


def test_solve_seconds_cover_the_start_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """summary solve_s is the whole search, not only the last MILP: a start plan that takes
    0.5 s (here made slow on purpose) shows up in it."""
    import time

    import solvers.territory.design as territory

    real = territory.location_allocation_start

    def slow_start(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        time.sleep(0.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(territory, "location_allocation_start", slow_start)
    _line(tmp_path)
    result = _solve(tmp_path, balance=0.5)
    assert result.solve.has_solution
    assert result.solve.solve_s >= 0.5
    assert result.summary["solve_s"] == result.solve.solve_s
