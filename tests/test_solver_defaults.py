"""Scoped HiGHS options (`solvers.solve.solver_defaults`) and the territory node limit.

A node limit makes a plan that is cut short reproducible; it only does so if it reaches every
MILP solve of the stage. These tests record the options each HiGHS solve receives.
"""

from __future__ import annotations

from pathlib import Path

import pyomo.environ as pyo
import pytest

import solvers.solve as common
from engine.plan.territory import run_territory
from engine.scenario.schema.territory import TerritorySection
from solvers.solve import solve, solver_defaults


@pytest.fixture
def seen_options(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Every `solver_options` dict handed to Pyomo's HiGHS interface, in call order."""
    seen: list[dict] = []
    original = common.Highs.solve

    def recording(self, model, **kwargs):  # noqa: ANN001, ANN202 - Pyomo's signature
        seen.append(dict(kwargs["solver_options"]))
        return original(self, model, **kwargs)

    monkeypatch.setattr(common.Highs, "solve", recording)
    return seen


def _knapsack() -> pyo.ConcreteModel:
    """max 5a + 4b + 3c s.t. 2a + 3b + c <= 4, binary: optimum a = c = 1, value 8."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(3), domain=pyo.Binary)
    m.cap = pyo.Constraint(expr=2 * m.x[0] + 3 * m.x[1] + m.x[2] <= 4)
    m.obj = pyo.Objective(expr=5 * m.x[0] + 4 * m.x[1] + 3 * m.x[2], sense=pyo.maximize)
    return m


def test_block_options_reach_solve_and_call_options_win(seen_options: list[dict]) -> None:
    solve(_knapsack())
    with solver_defaults(mip_max_nodes=7, unused=None):
        res = solve(_knapsack())
        solve(_knapsack(), options={"mip_max_nodes": 3})
        with solver_defaults(mip_rel_gap=0.5):
            solve(_knapsack())
    solve(_knapsack())
    assert res.objective == pytest.approx(8.0)
    nodes = [o.get("mip_max_nodes") for o in seen_options]
    assert nodes == [None, 7, 3, 7, None]
    assert "unused" not in seen_options[1]
    assert seen_options[3]["mip_rel_gap"] == 0.5 and "mip_rel_gap" not in seen_options[4]
    assert all(o["random_seed"] == 0 for o in seen_options)


def test_territory_max_nodes_reaches_every_solve(tmp_path: Path, seen_options: list[dict]) -> None:
    """Six units on a line, two territories with a balance rule: the stage makes a start plan and
    an assignment MILP; each solve gets the section's node limit."""
    rows = ["id,x,y,workload,current_territory"]
    rows += [f"{u},{x},0,1,{'T1' if x < 5 else 'T2'}" for u, x in zip("abcdef", (0, 1, 2, 3, 10, 11), strict=True)]
    (tmp_path / "units.csv").write_text("\n".join(rows) + "\n")
    section = TerritorySection(units="units.csv", territories=2, compactness_weight="unit",
                               balance=0.0, max_nodes=11)
    result = run_territory(section, tmp_path)
    assert result.solve.has_solution
    assert len(seen_options) >= 2
    assert {o.get("mip_max_nodes") for o in seen_options} == {11}


def test_time_limit_stops_are_collected_and_only_they() -> None:
    """A solve cut by its time limit is recorded inside a `time_limit_stops` block (the territory
    stage reports them as `time_limit_stops`, its limit being a backstop); one that ends on its
    gap, and any solve outside a block, is not."""
    from solvers.solve import note_time_limit_stop, time_limit_stops

    solve(_knapsack(), time_limit_s=1e-9)  # outside a block: nothing to record into
    with time_limit_stops() as stops:
        assert solve(_knapsack()).objective == pytest.approx(8.0)
        assert stops == []
        cut = solve(_knapsack(), time_limit_s=1e-9)
        assert cut.termination == "maxTimeLimit"
        assert stops == ["maxTimeLimit"]
        note_time_limit_stop("column generation")  # a loop of solves cut by the clock
        assert stops == ["maxTimeLimit", "column generation"]
    with time_limit_stops() as fresh:
        assert fresh == []
