"""A long seasonal history's forecast peaks in the months the history peaks in.

Reference: the seasonal factors the synthetic history is drawn from. The scenario's own
`demand.seasonality` is flat, so only a forecast that learns seasonality from the history
(the per-series seasonal ETS on 36 months or more) can reproduce the shape; a forecast that
ignores it is flat and fails both checks below.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.plan.demand import forecast_demand, forecast_series
from engine.scenario.load import load_scenario

TRUE_SEASON = np.array([0.90, 1.00, 1.45, 1.10, 0.95, 0.85, 0.75, 0.60, 1.00, 1.25, 1.35, 0.80])
"""Seasonal factors by calendar month (January first): peaks in March and November, trough in
August (a 2.4x swing, as in B2B lead flow around budget cycles and summer holidays)."""
LEVEL = 400.0
"""Leads per month before seasonality (no trend, so the forecast's shape is the season alone)."""

SCENARIO = """
name: seasonal history
horizon: {start: 2027-01, months: 12}
segments: [{name: SMB, deal_size: {mean: 10000}}]
regions: [{name: EU}]
demand:
  baseline: [{segment: SMB, region: EU, leads_per_month: 400}]
  seasonality: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
"""


def _history(months: int, seed: int) -> pd.DataFrame:
    """Poisson counts of LEVEL x TRUE_SEASON with 5 % lognormal noise, ending 2026-12."""
    rng = np.random.default_rng(seed)
    periods = pd.period_range(end="2026-12", periods=months, freq="M")
    mean = LEVEL * TRUE_SEASON[periods.month - 1] * rng.lognormal(0.0, 0.05, months)
    return pd.DataFrame({"month": periods.strftime("%Y-%m"), "segment": "SMB", "region": "EU",
                         "leads": rng.poisson(mean)})


def _assert_seasonal_shape(base: pd.Series) -> None:
    """`base`: the base forecast of 2027-01..2027-12 (leads per month) indexed by month."""
    assert list(base.index) == [f"2027-{m:02d}" for m in range(1, 13)]
    # the peaks and the trough land in the right calendar months
    assert base.idxmax() == "2027-03"
    assert base.idxmin() == "2027-08"
    assert set(base.nlargest(3).index) == {"2027-03", "2027-10", "2027-11"}
    # each month's share of the year matches the true seasonal factor within 8 %
    shape = base.to_numpy() / base.mean()
    np.testing.assert_allclose(shape, TRUE_SEASON / TRUE_SEASON.mean(), rtol=0.08)


@pytest.mark.parametrize("months", [36, 60])
def test_seasonal_series_forecast_peaks_in_the_right_months(months: int):
    history = _history(months, seed=months)
    fc = forecast_series(history["leads"].to_numpy(dtype=float), history["month"].iloc[0], 12,
                         seasonality=np.ones(12), fallback_cv=0.1)
    assert fc.method == "ets_log_damped_seasonal"
    _assert_seasonal_shape(pd.Series(fc.base, index=[f"2027-{m:02d}" for m in range(1, 13)]))


def test_forecast_stage_keeps_the_seasonal_shape_of_a_long_history(tmp_path: Path):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    out = forecast_demand(load_scenario(path), _history(48, seed=48))
    assert out.summary["method"] == "ets_log_damped_seasonal"
    base = out.tables["demand/forecast.csv"].query("case == 'base'").set_index("month")["leads"]
    _assert_seasonal_shape(base)
