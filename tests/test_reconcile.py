"""Reconciliation table, headline and flags against hand-worked numbers (tests/report_fixtures.py).

Tiny scenario by hand: work per lead = 0.5 h + 0.5 x 1 h = 1 h, won share = 0.5 x 0.2 = 0.1,
deal 1,000 EUR, gross margin 0.5, no funnel lag. Base leads 100, 100, 200, 100; SDR capacity
120 h every month, so month 3 covers 120 of 200 leads (coverage 0.6).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from doc_tables import run_folder_columns
from report_fixtures import MONTHS, territory_outputs, tiny_outputs, tiny_scenario

from engine.reconcile.stage import GAP_RULES, reconcile
from engine.stage import StageOutput

ABS = 0.011  # the table is rounded to 2 decimals for deals/hours-shares at most


def _row(table: pd.DataFrame, month: str, scope: str, metric: str) -> pd.Series:
    hit = table[(table["month"] == month) & (table["scope"] == scope) & (table["metric"] == metric)]
    assert len(hit) == 1, (month, scope, metric, len(hit))
    return hit.iloc[0]


@pytest.fixture
def tiny(tmp_path):
    return tiny_scenario(tmp_path)


def test_columns_and_rounding(tiny) -> None:
    out = reconcile(tiny, tiny_outputs())
    table = out.tables["reconciliation.csv"]
    assert list(table.columns) == run_folder_columns("reconciliation.csv")  # as docs/run-folder.md says
    assert out.name == "reconciliation"
    assert set(table["metric"]) <= set(GAP_RULES)


def test_plan_rows_match_hand_arithmetic(tiny) -> None:
    table = reconcile(tiny, tiny_outputs(with_sim=False)).tables["reconciliation.csv"]
    worked = [100, 100, 120, 100]
    for i, m in enumerate(MONTHS):
        demand = _row(table, m, "company", "demand")
        assert demand["forecast"] == pytest.approx([100, 100, 200, 100][i])
        assert demand["planned"] == pytest.approx(worked[i])
        assert demand["gap"] == pytest.approx(worked[i] - [100, 100, 200, 100][i])
        won = _row(table, m, "company", "throughput")
        assert won["planned"] == pytest.approx(0.1 * worked[i], abs=ABS)
        rev = _row(table, m, "company", "revenue")
        assert rev["planned"] == pytest.approx(100 * worked[i], abs=1)
        cap = _row(table, m, "role:SDR", "capacity")
        assert cap["planned"] == pytest.approx(120)
        assert cap["gap"] == pytest.approx(120 - [100, 100, 200, 100][i])
        util = _row(table, m, "role:SDR", "utilisation")
        assert util["planned"] == pytest.approx(min([100, 100, 200, 100][i], 120) / 120, abs=1e-4)
        assert util["forecast"] == pytest.approx([100, 100, 200, 100][i] / 120, abs=1e-4)
    total = _row(table, "all", "company", "revenue")
    assert total["planned"] == pytest.approx(42000, abs=2)
    assert total["forecast"] == pytest.approx(50000, abs=2)
    assert _row(table, "all", "company", "revenue_at_risk")["planned"] == pytest.approx(8000, abs=2)
    assert _row(table, "all", "company", "cost")["planned"] == pytest.approx(20000)
    # without a simulation the throughput gap is plan - forecast
    assert _row(table, "all", "company", "throughput")["gap"] == pytest.approx(42 - 50, abs=0.02)


def test_sim_quantiles_are_quantiles_of_replication_totals(tiny) -> None:
    outs = tiny_outputs()
    table = reconcile(tiny, outs).tables["reconciliation.csv"]
    monthly = outs["simulation"].result.monthly
    won = monthly[monthly["metric"] == "won"]
    per_rep = won.groupby("replication")["value"].sum().to_numpy()
    row = _row(table, "all", "company", "throughput")
    for q, col in ((10, "sim_p10"), (50, "sim_p50"), (90, "sim_p90")):
        assert row[col] == pytest.approx(np.percentile(per_rep, q), abs=0.006)
    # gap sign: simulation minus plan (the fixture wins 20 % fewer deals than the fluid plan)
    assert row["gap"] == pytest.approx(row["sim_p50"] - row["planned"], abs=0.011)
    assert row["gap"] < 0
    march = won[won["month"] == "2027-03"]["value"].to_numpy()
    assert _row(table, "2027-03", "company", "throughput")["sim_p50"] == pytest.approx(
        np.median(march), abs=0.006)


def test_segment_rows_from_simulated_leads(tiny) -> None:
    outs = tiny_outputs()
    table = reconcile(tiny, outs).tables["reconciliation.csv"]
    leads = outs["simulation"].result.leads
    per_rep = leads.groupby("replication").size().to_numpy()
    row = _row(table, "all", "segment:SMB", "demand")
    assert row["sim_p50"] == pytest.approx(np.median(per_rep))
    assert row["forecast"] == pytest.approx(500)
    assert _row(table, "all", "territory:T1", "demand")["sim_p50"] == pytest.approx(np.median(per_rep))


def test_headline_per_case(tiny) -> None:
    head = reconcile(tiny, tiny_outputs(with_sim=False)).summary["headline"]
    # low: 80, 80, 160, 80 leads -> worked 80, 80, 120, 80; high: 120 every month
    expect = {"low": (36000, 40), "base": (42000, 80), "high": (48000, 120)}
    for case, (revenue, shortfall) in expect.items():
        h = head[case]
        assert h["revenue"] == pytest.approx(revenue, abs=2)
        assert h["people_cost"] == pytest.approx(20000)  # one SDR at 5000 for 4 months, no commission
        assert h["gross_margin"] == pytest.approx(0.5 * revenue, abs=1)
        assert h["operating_margin"] == pytest.approx(0.5 * revenue - 20000, abs=2)
        assert h["shortfall_hours"] == pytest.approx(shortfall)
        assert h["hires"] == 0


def test_flags_report_disagreement_and_shortfall(tiny) -> None:
    out = reconcile(tiny, tiny_outputs())
    flags = out.summary["flags"]
    kinds = {(f["kind"], f["scope"], f["metric"]) for f in flags}
    assert ("plan_vs_simulation", "company", "revenue") in kinds
    short = next(f for f in flags if f["kind"] == "capacity_shortfall")
    assert short["scope"] == "role:SDR" and short["months"] == ["2027-03"]
    assert short["gap"] == pytest.approx(-80)
    rev = next(f for f in flags if f["metric"] == "revenue" and f["kind"] == "plan_vs_simulation")
    assert rev["share"] == pytest.approx(-0.2, abs=0.05)
    assert "below" in rev["message"]


def test_territory_only_reconciles_territories(tiny) -> None:
    stage, _ = territory_outputs()
    table = reconcile(tiny, {"territory": stage}).tables["reconciliation.csv"]
    assert set(table["metric"]) == {"workload", "potential"}
    t1 = _row(table, "all", "territory:T1", "workload")
    assert t1["planned"] == pytest.approx(6) and t1["forecast"] == pytest.approx(4)
    assert t1["gap"] == pytest.approx(2)
    flags = reconcile(tiny, {"territory": stage}).summary["flags"]
    assert flags and flags[0]["kind"] == "territory_imbalance"


def test_no_stages_gives_valid_empty_table(tiny) -> None:
    out = reconcile(tiny, {})
    table = out.tables["reconciliation.csv"]
    assert list(table.columns) == run_folder_columns("reconciliation.csv") and table.empty
    assert out.summary["headline"] == {} and out.summary["flags"] == []


def test_demand_only_has_forecast_without_plan(tiny) -> None:
    outs = {"demand": tiny_outputs()["demand"]}
    table = reconcile(tiny, outs).tables["reconciliation.csv"]
    row = _row(table, "all", "company", "demand")
    assert row["forecast"] == pytest.approx(500) and math.isnan(row["planned"])
    assert "capacity" in set(table["metric"])  # hours needed, even with no plan to meet them


def test_headline_money_ignores_the_optimisers_own_figures(tiny) -> None:
    """The hiring MILP's per-case cost and penalty-laden margin never reach the headline."""
    outs = tiny_outputs(with_sim=False)
    plain = reconcile(tiny, outs).summary["headline"]["base"]
    outs["hiring"] = StageOutput("hiring", tables=outs["hiring"].tables, result=outs["hiring"].result,
                                 summary={"cases": {"base": {"cost": 12345.0, "margin": 678.0,
                                                             "shortfall_hours": 9.0}}})
    head = reconcile(tiny, outs).summary["headline"]["base"]
    assert head == plain
    assert head["operating_margin"] == pytest.approx(head["gross_margin"] - head["people_cost"])


def test_cube_counts_missing_flows_as_zero_and_levels_as_unknown() -> None:
    from engine.reconcile import quantiles as simstats

    reps, months = np.array([0, 1, 2]), ["2027-01", "2027-02"]
    # replication 2 never won anything in 2027-02: its flow is 0, its level unknown
    rep = np.array([0, 0, 1, 1, 2])
    month = np.array(["2027-01", "2027-02", "2027-01", "2027-02", "2027-01"], dtype=object)
    key = np.array(["company"] * 5, dtype=object)
    value = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    flows, _ = simstats.cube(rep, month, key, value, reps, months, flow=True)
    levels, _ = simstats.cube(rep, month, key, value, reps, months, flow=False)
    assert flows[2, 1, 0] == 0 and np.isnan(levels[2, 1, 0])
    q = simstats.cube_quantiles(flows, months, ["company"], flow=True).set_index("month")
    assert q.loc["all", "sim_p50"] == pytest.approx(np.percentile([4, 7, 4], 50))
    assert q.loc["2027-02", "sim_p10"] == pytest.approx(np.percentile([3, 5, 0], 10))
    lv = simstats.cube_quantiles(levels, months, ["company"], flow=False).set_index("month")
    assert lv.loc["2027-02", "sim_p50"] == pytest.approx(4.0)  # median of 3 and 5, NaN skipped
    assert lv.loc["all", "sim_p90"] == pytest.approx(np.percentile([2.0, 3.5, 4.0], 90))
