"""Adjustments: every action quantified, in one of the four levers, figures worked out by hand.

Tiny scenario (tests/report_fixtures.py): SDR short of 80 h in 2027-03 only (200 h needed, 120 h
planned); ramp [0.5, 1], lead time 1 month, 5,000 EUR a month, no attrition; 100 EUR expected
revenue per lead (0.1 won x 1,000 EUR), gross margin 0.5.
"""

from __future__ import annotations

import math
import re

import pytest
from report_fixtures import territory_outputs, tiny_outputs, tiny_scenario

from engine.reconcile.adjustments import (
    AUTOMATION_SAVING,
    COMMUNICATION,
    HIRING,
    LEVERS,
    ROUTING,
    TECHNOLOGY,
)
from engine.reconcile.stage import reconcile
from engine.scenario.schema.territory import TerritorySection


@pytest.fixture
def actions(tmp_path):
    out = reconcile(tiny_scenario(tmp_path), tiny_outputs())
    return out.summary["adjustments"], out.result.table


def test_every_action_is_quantified(actions) -> None:
    acts, _ = actions
    assert {a["lever"] for a in acts} == set(LEVERS)
    for a in acts:
        assert math.isfinite(a["figure"])
        assert re.search(r"\d", a["action"]), a["action"]


def test_earlier_hire_closes_the_shortfall(actions) -> None:
    acts, _ = actions
    hire = next(a for a in acts if a["lever"] == HIRING and a["unit"] == "hires")
    # start month = max(lead time 1, first short month 2 - ramp 2 + 1) = 2027-02; one hire gives
    # 60 h then 120 h, covering the 80 h; pay 3 months x 5,000; +80 leads worked x 100 x 0.5 margin.
    assert hire["figure"] == 1
    assert "2027-02" in hire["action"] and "decide by 2027-01" in hire["action"]
    assert hire["impact"]["gap_closed_share"] == pytest.approx(1.0)
    assert hire["impact"]["cost"] == pytest.approx(15000)
    assert hire["impact"]["margin"] == pytest.approx(4000 - 15000, abs=1)
    assert "EUR 4,000 gross margin" in hire["action"] and "net -EUR 11,000" in hire["action"]
    assert "does not pay for itself" in hire["action"]  # a negative net value says why it is listed


def test_automation_figures(actions) -> None:
    acts, _ = actions
    tech = next(a for a in acts if a["lever"] == TECHNOLOGY)
    need = [100, 100, 200, 100]
    freed = AUTOMATION_SAVING * sum(need)
    assert tech["figure"] == pytest.approx(freed)
    closed = 1 - max(80 - AUTOMATION_SAVING * 200, 0) / 80
    assert tech["impact"]["gap_closed_share"] == pytest.approx(closed)
    assert tech["impact"]["cost"] == pytest.approx(-freed / 120 * 5000)


def test_routing_response_time_gain(actions) -> None:
    acts, table = actions
    route = next(a for a in acts if a["lever"] == ROUTING and "first response" in a["action"])
    resp = table[(table["scope"] == "company") & (table["metric"] == "response_time")]
    now = float(resp[resp["month"] == "all"]["sim_p50"].iloc[0])
    best = float(resp[resp["month"] != "all"]["sim_p50"].quantile(0.25))  # linear interpolation
    rev = table[(table["scope"] == "company") & (table["metric"] == "revenue") & (table["month"] == "all")]
    mult = lambda h: 0.5 + 0.5 * 0.5 ** (h / 10)  # noqa: E731 - the fixture's speed-to-lead curve
    expect = float(rev["sim_p50"].iloc[0]) * (mult(best) / mult(now) - 1)
    assert route["impact"]["revenue"] == pytest.approx(expect, rel=1e-6)


def test_communication_moves_peak_leads(actions) -> None:
    acts, _ = actions
    move = next(a for a in acts if a["lever"] == COMMUNICATION and a["unit"] == "leads")
    # 80 leads unworked in 2027-03; 20 spare SDR hours (= 20 leads at 1 h each) in 2027-02
    assert move["figure"] == pytest.approx(20)
    assert move["impact"]["revenue"] == pytest.approx(2000)
    assert "2027-03" in move["action"] and "2027-02" in move["action"]
    assert any("p10-p90" in a["action"] for a in acts if a["lever"] == COMMUNICATION)


def test_territory_rebalance(tmp_path) -> None:
    stage, _ = territory_outputs()
    acts = reconcile(tiny_scenario(tmp_path), {"territory": stage}).summary["adjustments"]
    assert len(acts) == 1 and acts[0]["lever"] == ROUTING
    # T1 6, T2 3, T3 3, mean 4: move min(6 - 4, 4 - 3) = 1 -> ratio 6/3 = 2.00 becomes 5/4 = 1.25
    assert acts[0]["figure"] == pytest.approx(1.0)
    assert "from T1 to T2" in acts[0]["action"] and "2.00 to 1.25" in acts[0]["action"]


def test_no_territory_move_inside_the_balance_band(tmp_path) -> None:
    # T1 6, T2 3, T3 3, mean 4: +50 % / -25 %. A band of +-60 % holds every territory: no move;
    # +-40 % does not hold T1: the move of test_territory_rebalance, naming the band.
    stage, _ = territory_outputs()
    loaded = tiny_scenario(tmp_path)
    for band, expected in ((0.6, 0), (0.4, 1)):
        section = TerritorySection.model_validate({"units": "units.csv", "territories": 3,
                                                   "balance": band})
        loaded.scenario = loaded.scenario.model_copy(update={"territory": section})
        acts = reconcile(loaded, {"territory": stage}).summary["adjustments"]
        assert len(acts) == expected, band
    assert acts[0]["figure"] == pytest.approx(1.0) and "±40%" in acts[0]["action"]
