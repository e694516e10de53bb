"""Funnel totals and rates: the simulation's per replication (hand-made monthly frames and the
leads file as an independent count), the plan's against the fluid funnel's closed form, and the
`demand.scale` knob against the unscaled forecast."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sweep_fixtures import write

from engine.plan.demand import forecast_demand
from engine.run import RunOptions, run_scenario
from engine.scenario.load import load_scenario
from engine.simulation.rates import funnel_totals, per_replication, replication_totals

FLAT = """\
name: flat funnel
horizon: {start: 2027-01, months: 12}
segments:
  - {name: SMB, deal_size: {kind: fixed, mean: 1000}}
regions: [{name: EU}]
demand:
  baseline: [{segment: SMB, region: EU, leads_per_month: 100}]
  uncertainty_cv: 0.1
funnel:
  stages:
    - {name: contact, role: Rep, conversion: 0.5, work_hours: 0.2, duration_days: {kind: fixed, mean: 1}}
    - {name: close, role: Rep, conversion: 0.3, work_hours: 1.0, duration_days: {kind: fixed, mean: 5}}
roles:
  - {name: Rep, kind: ae, cost_per_month: 1000, headcount_start: 10, attrition_per_year: 0, ramp: [1.0]}
simulation:
  replications: 3
  seed: 4
  calendar: {kind: 24/7}
"""
"""Flat demand (1,200 leads a year), plenty of reps, no plan: the fluid plan works every lead."""


def _monthly(rows: dict[int, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"replication": r, "month": m, "metric": k, "value": v / 2}
                         for r, metrics in rows.items() for k, v in metrics.items() for m in ("2027-01", "2027-02")])


def test_rates_are_ratios_of_each_replications_totals() -> None:
    monthly = _monthly({
        0: {"leads": 100, "contacted": 80, "reached:contact": 100, "reached:close": 40, "won": 10, "dropped": 20},
        1: {"leads": 200, "contacted": 190, "reached:contact": 200, "reached:close": 100, "won": 40, "dropped": 0},
        2: {"leads": 0, "contacted": 0, "reached:contact": 0, "reached:close": 0, "won": 0, "dropped": 0}})
    t = replication_totals(monthly)
    assert t.loc[0, "leads"] == 100 and t.loc[1, "won"] == 40
    assert t.loc[0, "win_rate"] == pytest.approx(0.1) and t.loc[1, "win_rate"] == pytest.approx(0.2)
    assert np.isnan(t.loc[2, "win_rate"])  # no leads: undefined, not 0
    assert t.loc[0, "conversion_contact"] == pytest.approx(0.4) and t.loc[1, "conversion_close"] == pytest.approx(0.4)
    assert t.loc[0, "drop_rate"] == pytest.approx(0.2)
    totals = funnel_totals(monthly)
    # quantiles over the replications with a rate (0.1 and 0.2), never a ratio of quantiles
    assert totals["win_rate"]["p50"] == pytest.approx(0.15)
    assert totals["win_rate"]["p10"] == pytest.approx(0.11)
    assert per_replication(monthly, "reached_close").tolist() == [40, 100, 0]
    assert per_replication(monthly, "first_response_p50_h") is None  # not derivable per replication here


def test_simulated_and_planned_totals_in_summary(tmp_path: Path) -> None:
    scenario = write(tmp_path, "flat.yaml", FLAT)
    folder = run_scenario(scenario, tmp_path / "run", RunOptions())
    summary = json.loads((folder / "summary.json").read_text())
    leads = pd.read_parquet(folder / "sim" / "leads.parquet")
    per_rep = leads.groupby("replication").agg(n=("lead_id", "size"), won=("won", "sum"))
    sim = summary["simulation"]["totals"]
    # an independent count: the leads file, row by row
    assert sim["leads"]["p50"] == pytest.approx(float(np.percentile(per_rep["n"], 50)))
    won_in_horizon = leads[leads["won"] & (leads["closed_h"] <= 365 * 24)].groupby("replication").size()
    assert sim["won"]["p50"] == pytest.approx(float(np.percentile(won_in_horizon, 50)))
    assert sim["win_rate"]["p50"] == pytest.approx(
        float(np.percentile(won_in_horizon / per_rep["n"], 50)), rel=1e-12)
    assert 0.1 < sim["conversion_close"]["p50"] < 0.5  # 0.3 with sampling noise over ~600 items
    plan = summary["plan_totals"]["base"]
    assert plan["leads"] == pytest.approx(1200) and plan["contacted"] == pytest.approx(1200)
    assert plan["reached_contact"] == pytest.approx(1200) and plan["reached_close"] == pytest.approx(600)
    assert plan["conversion_contact"] == pytest.approx(0.5) and plan["conversion_close"] == pytest.approx(0.3)
    # wins land 6 days / 30.44 after the leads: the horizon keeps all but that share of a month's
    lag = 6 / (365.25 / 12)
    assert plan["won"] == pytest.approx(1200 * 0.15 - 100 * 0.15 * lag, rel=1e-9)
    assert plan["win_rate"] == pytest.approx(plan["won"] / 1200)
    assert plan["dropped"] == pytest.approx(0.0) and plan["drop_rate"] == pytest.approx(0.0)


def test_demand_scale_multiplies_every_volume(tmp_path: Path) -> None:
    scenario = write(tmp_path, "flat.yaml", FLAT)
    plain = forecast_demand(load_scenario(scenario)).result.forecast
    scaled = forecast_demand(load_scenario(scenario, ["demand.scale=2.5"])).result.forecast
    assert set(plain["case"]) == {"low", "base", "high"}
    np.testing.assert_allclose(scaled["leads"], 2.5 * plain["leads"], rtol=1e-12)
    assert plain.loc[plain["case"] == "base", "leads"].eq(100).all()  # the closed form: flat 100 a month
    zero = forecast_demand(load_scenario(scenario, ["demand.scale=0"])).result.forecast
    assert (zero["leads"] == 0).all()
