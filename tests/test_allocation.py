"""Lead allocation LP against hand-solved cases (values in the docstrings of each test)."""

from __future__ import annotations

import pandas as pd
import pytest

from solvers.allocation import AllocationProblem, DelayBand, allocate_leads


def _problem(leads_a: float, cap_a: float, cap_b: float, *, overflow: float | None,
             bands: tuple[DelayBand, ...] = (), penalty: float = 0.0) -> AllocationProblem:
    """Region A and B, one team each (TA home of A, TB home of B), one segment worth 10 per
    lead at 1 hour per lead; only region A has leads."""
    return AllocationProblem(
        leads=pd.DataFrame({"month": ["2027-01"] * 2, "segment": ["SMB"] * 2, "region": ["A", "B"],
                            "leads": [leads_a, 0.0]}),
        capacity=pd.DataFrame({"month": ["2027-01"] * 2, "team": ["TA", "TB"],
                               "capacity_hours": [cap_a, cap_b]}),
        team_segment=pd.DataFrame({"team": ["TA", "TB"], "segment": ["SMB"] * 2,
                                   "hours_per_lead": [1.0, 1.0], "value_per_lead": [10.0, 10.0]}),
        home=pd.DataFrame({"team": ["TA", "TB"], "region": ["A", "B"]}),
        overflow_cost=overflow, unmet_penalty=penalty, delay_bands=bands)


def _leads(result, team: str) -> float:
    rows = result.allocation[result.allocation["team"] == team]
    return float(rows["leads"].sum())


def test_capacity_binds_and_rest_is_unmet() -> None:
    """150 leads, 100 hours, no overflow: 100 worked (revenue 1000), 50 unmet."""
    res = allocate_leads(_problem(150, 100, 100, overflow=None))
    assert str(res.solve.status) == "optimal"
    assert _leads(res, "TA") == pytest.approx(100.0)
    assert _leads(res, "TB") == pytest.approx(0.0)
    assert res.summary["unmet_leads"] == pytest.approx(50.0)
    assert res.solve.objective == pytest.approx(1000.0)


def test_overflow_used_when_cheaper_than_value() -> None:
    """Overflow at 3 per lead: 50 go to TB; 1500 - 150 = 1350."""
    res = allocate_leads(_problem(150, 100, 100, overflow=3.0))
    assert _leads(res, "TB") == pytest.approx(50.0)
    assert res.summary["overflow_leads"] == pytest.approx(50.0)
    assert res.summary["unmet_leads"] == pytest.approx(0.0, abs=1e-9)
    assert res.solve.objective == pytest.approx(1350.0)


def test_overflow_not_used_when_dearer_than_value() -> None:
    """Overflow at 12 per lead loses 2 per lead: leave 50 unmet; objective 1000."""
    res = allocate_leads(_problem(150, 100, 100, overflow=12.0))
    assert _leads(res, "TB") == pytest.approx(0.0, abs=1e-9)
    assert res.summary["unmet_leads"] == pytest.approx(50.0)
    assert res.solve.objective == pytest.approx(1000.0)


def test_delay_band_moves_load_to_cheaper_overflow() -> None:
    """Above 80 % utilisation an hour costs 2; overflow costs 1 per lead. With 100 leads and 100
    hours each, TA keeps 80 and TB takes 20 (TB stays below 80 %): 1000 - 20 = 980. Without
    overflow TA takes all 100 and pays 2 x 20: 960."""
    bands = (DelayBand(0.8, 2.0),)
    res = allocate_leads(_problem(100, 100, 100, overflow=1.0, bands=bands))
    assert _leads(res, "TA") == pytest.approx(80.0)
    assert _leads(res, "TB") == pytest.approx(20.0)
    assert res.solve.objective == pytest.approx(980.0)
    res = allocate_leads(_problem(100, 100, 100, overflow=None, bands=bands))
    assert res.solve.objective == pytest.approx(960.0)
    assert res.load.set_index("team").loc["TA", "utilisation"] == pytest.approx(1.0)


def test_no_capacity_is_not_infeasible() -> None:
    """The infeasible fixture: zero capacity everywhere. Soft unmet leads keep the LP feasible:
    all 150 unmet, penalty 4 each, objective -600."""
    res = allocate_leads(_problem(150, 0, 0, overflow=None, penalty=4.0))
    assert str(res.solve.status) == "optimal"
    assert res.allocation.empty
    assert res.summary["unmet_leads"] == pytest.approx(150.0)
    assert res.solve.objective == pytest.approx(-600.0)


def test_run_allocation_reads_funnel_and_capacity_from_the_scenario() -> None:
    """Minimal scenario: one stage `contact` worked by SDR, 0.5 h per lead, conversion 0.5, deal
    size mean 1000: 0.5 h and 500 expected revenue per lead. 100 leads a month, SDR team with
    30 h a month: 60 leads worked (30 / 0.5), 40 unmet, 30,000 revenue a month."""
    import yaml
    from minimal_scenario import BASE

    from engine.plan.allocation import run_allocation
    from engine.scenario.model import Scenario
    from engine.scenario.schema.allocation import AllocationSection

    scenario = Scenario.model_validate(yaml.safe_load(BASE))
    forecast = pd.DataFrame({"month": ["2027-01", "2027-02"] * 2, "segment": "SMB", "region": "EU",
                             "case": ["base", "base", "high", "high"], "leads": [100.0, 100.0, 200.0, 200.0]})
    section = AllocationSection(teams=[{"name": "SDR", "role": "SDR", "capacity_hours_per_month": 30}])
    res = run_allocation(section, scenario, forecast, None)
    assert list(res.allocation.columns) == ["month", "segment", "region", "team", "leads"]
    assert res.allocation["leads"].tolist() == pytest.approx([60.0, 60.0])
    assert res.summary["unmet_leads"] == pytest.approx(80.0)
    assert res.solve.objective == pytest.approx(2 * 30_000.0)
