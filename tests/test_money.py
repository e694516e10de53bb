"""The money model (engine/reconcile/money.py) against hand-worked figures, and the first-response
distribution (engine/simulation/metrics.py) against numpy's percentiles worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.reconcile.money import MoneyModel, pnl, simulated_pnl
from engine.simulation.metrics import first_response_totals

MODEL = MoneyModel(
    segments=("SMB", "ENT"), gross_margin=np.array([0.8, 0.6]), roles=("AE", "Support"),
    cost_per_month=np.array([10_000.0, 4_000.0]), commission_rate=np.array([0.1, 0.0]),
    quota_per_month=np.array([50_000.0, 0.0]), accelerator=np.array([1.5, 1.0]),
    credited=np.array([[1.0, 1.0], [0.0, 0.0]]))


def test_pnl_by_hand() -> None:
    # month 1: 100k SMB + 50k ENT booked; 2 AEs, 1 ramped; month 2: nothing booked, 2 ramped
    revenue = np.array([[100_000.0, 50_000.0], [0.0, 0.0]])
    people = np.array([[2.0, 2.0], [1.0, 1.0]])
    effective = np.array([[1.0, 2.0], [1.0, 1.0]])
    out = pnl(MODEL, revenue, people, effective)
    # gross: 0.8 x 100k + 0.6 x 50k = 110k; cost: base 2 x 10k + 4k, commission 0.1 x 150k,
    # accelerator 0.5 x 0.1 x (150k - 50k quota x 1 ramped AE) = 5k -> 24k + 15k + 5k = 44k;
    # month 2: base only
    np.testing.assert_allclose(out["revenue"], [150_000, 0])
    np.testing.assert_allclose(out["gross_margin"], [110_000, 0])
    np.testing.assert_allclose(out["people_cost"], [44_000, 24_000])
    np.testing.assert_allclose(out["operating_margin"], [66_000, -24_000])


def test_simulated_pnl_reads_won_deals_and_employed_people() -> None:
    leads = pd.DataFrame({"replication": [0, 0, 0, 1], "segment": ["SMB", "ENT", "SMB", "SMB"],
                          "won": [True, True, False, True], "revenue": [100_000.0, 50_000.0, 0.0, 10_000.0],
                          "closed_h": [10.0, 20.0, 30.0, 800.0]})
    months = ["2027-01", "2027-02"]
    rows = []
    for rep in (0, 1):
        for metric, values in (("fte:AE", [2.0, 1.0]), ("effective:AE", [1.0, 1.0]), ("fte:Support", [1.0, 1.0])):
            rows += [{"replication": rep, "month": m, "metric": metric, "value": v} for m, v in zip(months, values, strict=True)]
    monthly = pd.DataFrame(rows)
    out = simulated_pnl(MODEL, leads, monthly, lambda t: np.where(np.asarray(t) < 744, months[0], months[1]))
    wide = out.pivot_table(index=["replication", "month"], columns="metric", values="value")
    assert wide.loc[(0, "2027-01"), "gross_margin"] == pytest.approx(110_000)
    assert wide.loc[(0, "2027-01"), "people_cost"] == pytest.approx(44_000)
    assert wide.loc[(1, "2027-02"), "gross_margin"] == pytest.approx(8_000)
    # 10k booked, 1 AE + 1 Support: 14k base + 1k commission, under quota
    assert wide.loc[(1, "2027-02"), "people_cost"] == pytest.approx(15_000)
    np.testing.assert_allclose(wide["operating_margin"], wide["gross_margin"] - wide["people_cost"])


def test_first_response_distribution_by_hand() -> None:
    arrived = np.array([0.0, 1.0, 2.0, 3.0, 5.0])
    contact = np.array([1.0, 3.0, np.nan, 13.0, np.nan])
    out = first_response_totals(arrived, contact)
    # waits 1, 2, 10 h: median 2, 90th percentile 2 + 0.8 x (10 - 2) = 8.4, longest 10; 2 never
    assert out == pytest.approx({"first_response_p50_h": 2.0, "first_response_p90_h": 8.4,
                                 "first_response_max_h": 10.0, "never_contacted": 2.0})


def test_first_response_quantiles_by_month_of_contact() -> None:
    from types import SimpleNamespace

    from engine.simulation.metrics import _quantile

    cfg = SimpleNamespace(months=("2027-01", "2027-02"), month_start_h=np.array([0.0, 100.0, 200.0]),
                          horizon_h=200.0)
    contact = np.array([10.0, 20.0, 30.0, 150.0, np.nan])
    wait = np.array([1.0, 5.0, 3.0, 40.0, np.nan])
    np.testing.assert_allclose(_quantile(cfg, contact, wait, 0.5), [3.0, 40.0])
    np.testing.assert_allclose(_quantile(cfg, contact, wait, 1.0), [5.0, 40.0])
    np.testing.assert_allclose(_quantile(cfg, contact, wait, 0.9), [3.0 + 0.8 * 2.0, 40.0])
