"""Demand forecast: the parametric path against its closed form, the history path against a
synthetic seasonal series with trend (backtest MASE < 1, 80 % interval coverage 70-90 %)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from engine.plan.demand import forecast_demand
from engine.scenario.load import load_scenario

SEASON = [1.10, 1.05, 1.05, 1.00, 1.00, 0.95, 0.90, 0.75, 1.10, 1.10, 1.05, 0.95]

SCENARIO = """
name: forecast test
horizon: {start: 2027-03, months: 18}
segments:
  - {name: SMB, deal_size: {mean: 10000}}
  - {name: Ent, deal_size: {mean: 90000}}
regions: [{name: EMEA}, {name: NA}]
demand:
  baseline:
    - {segment: SMB, region: EMEA, leads_per_month: 200}
    - {segment: Ent, region: NA, leads_per_month: 20}
  annual_growth: 0.3
  seasonality: [1.10, 1.05, 1.05, 1.00, 1.00, 0.95, 0.90, 0.75, 1.10, 1.10, 1.05, 0.95]
  uncertainty_cv: 0.12
"""


@pytest.fixture
def loaded(tmp_path: Path):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    return load_scenario(path)


def test_parametric_forecast_matches_closed_form(loaded):
    out = forecast_demand(loaded)
    f = out.tables["demand/forecast.csv"]
    assert list(f.columns) == ["month", "segment", "region", "case", "leads"]
    assert out.name == "demand"
    pd.testing.assert_frame_equal(out.result.forecast, f)  # the stage hands on what it writes
    smb = f[(f.segment == "SMB") & (f.region == "EMEA")].pivot(index="month", columns="case", values="leads")
    months = pd.period_range("2027-03", periods=18, freq="M")
    assert list(smb.index) == list(months.strftime("%Y-%m"))
    for i, m in enumerate(months):
        mean = 200 * 1.3 ** (i / 12) * SEASON[m.month - 1]
        assert smb.loc[str(m), "base"] == pytest.approx(mean, rel=1e-9)
        cv = 0.12 * math.sqrt(i + 1)
        s = math.sqrt(math.log(1 + cv * cv))
        dist = stats.lognorm(s, scale=mean / math.sqrt(1 + cv * cv))  # lognormal with this mean, cv
        assert dist.cdf(smb.loc[str(m), "low"]) == pytest.approx(0.1, abs=1e-9)
        assert dist.cdf(smb.loc[str(m), "high"]) == pytest.approx(0.9, abs=1e-9)
    assert set(f.groupby(["segment", "region"]).groups) == {("SMB", "EMEA"), ("Ent", "NA")}
    assert out.summary["totals"]["base"] == pytest.approx(f[f.case == "base"].leads.sum())


def synthetic_history(months: int, seed: int) -> pd.DataFrame:
    """Poisson counts around level x 1.3 ** (t / 12) x seasonality, with 10 % lognormal noise."""
    rng = np.random.default_rng(seed)
    periods = pd.period_range(end="2027-02", periods=months, freq="M")
    rows = []
    for seg, reg, level in (("SMB", "EMEA", 300.0), ("Ent", "NA", 120.0)):
        t = np.arange(months)
        mean = level * 1.3 ** (t / 12) * np.array(SEASON)[periods.month - 1]
        y = rng.poisson(mean * rng.lognormal(-0.005, 0.1, months))
        rows.append(pd.DataFrame({"month": periods.strftime("%Y-%m"), "segment": seg,
                                  "region": reg, "leads": y}))
    return pd.concat(rows, ignore_index=True)


def test_history_forecast_beats_seasonal_naive_with_calibrated_intervals(loaded):
    mase, covered, points = [], [], []
    for seed in (1, 2, 3):
        out = forecast_demand(loaded, synthetic_history(48, seed))
        bt = out.summary["backtest"]
        assert out.summary["method"] == "ets_log_damped_seasonal"
        mase.append(bt["mase"])
        for s in bt["series"]:
            covered.append(s["coverage_80"] * s["points"])
            points.append(s["points"])
    coverage = sum(covered) / sum(points)
    assert max(mase) < 1.0, mase
    assert 0.70 <= coverage <= 0.90, coverage


def test_history_forecast_contract_and_order(loaded):
    out = forecast_demand(loaded, synthetic_history(36, 4))
    f = out.tables["demand/forecast.csv"]
    assert list(f.columns) == ["month", "segment", "region", "case", "leads"]
    wide = f.pivot_table(index=["month", "segment", "region"], columns="case", values="leads")
    assert len(wide) == 18 * 2
    assert (wide["low"] <= wide["base"]).all() and (wide["base"] <= wide["high"]).all()
    assert (wide["low"] >= 0).all()
    # the trend continues: the base forecast of March 2028 is above March 2027 (30 %/year trend)
    smb = wide.xs(("SMB", "EMEA"), level=("segment", "region"))["base"]
    assert 1.05 < smb["2028-03"] / smb["2027-03"] < 1.6


def test_short_history_falls_back_to_deseasonalised_damped_trend(loaded):
    out = forecast_demand(loaded, synthetic_history(12, 5))
    assert out.summary["method"] == "ets_log_damped_deseasonalised"
    f = out.tables["demand/forecast.csv"]
    smb = f[(f.segment == "SMB") & (f.case == "base")].set_index("month")["leads"]
    # the scenario's seasonality shapes the fallback: August is the weakest month
    assert smb["2027-08"] < smb["2027-07"] and smb["2027-08"] < smb["2027-09"]


def test_very_short_history_uses_a_flat_level(loaded):
    out = forecast_demand(loaded, synthetic_history(4, 6))
    assert out.summary["method"] == "level_lognormal"
    f = out.tables["demand/forecast.csv"]
    assert (f["leads"] > 0).all()
