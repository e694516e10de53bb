"""Lead scoring: logistic fit against the oracle AUC of the true probabilities, calibration
table, points-based rules, and the near-term expected demand against a hand-solved case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from engine.data.crm import CrmData
from engine.data.scoring import expected_demand, score_leads
from engine.scenario.schema.data import ScoreRule, Scoring

T0 = pd.Timestamp("2025-01-01")


def crm_from(leads: pd.DataFrame, opps: pd.DataFrame, as_of: pd.Timestamp) -> CrmData:
    empty = pd.DataFrame({"lead_id": pd.Series(dtype=str), "stage": pd.Series(dtype=str)})
    return CrmData(leads, opps, empty, pd.DataFrame(columns=["rep", "type", "at", "lead_id"]),
                   pd.DataFrame(), as_of)


def logistic_world(n: int, seed: int) -> tuple[CrmData, np.ndarray, np.ndarray]:
    """Leads whose chance of an opportunity is logistic in `signal` and `source` (known truth)."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(0, 1, n)
    source = rng.choice(["web", "referral"], n, p=[0.7, 0.3])
    p = 1 / (1 + np.exp(-(-1.5 + 1.0 * signal + 0.8 * (source == "referral"))))
    y = rng.random(n) < p
    created = T0 + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    leads = pd.DataFrame({"id": [f"L{i}" for i in range(n)], "created_at": created,
                          "segment": "SMB", "region": "EMEA", "source": source, "owner": "S1",
                          "signal": signal.round(4).astype(str)})
    idx = np.flatnonzero(y)
    opps = pd.DataFrame({"id": [f"O{i}" for i in idx], "lead_id": leads["id"].to_numpy()[idx],
                         "created_at": created[idx] + pd.Timedelta(days=5), "amount": 1000.0,
                         "closed_at": created[idx] + pd.Timedelta(days=30), "won": True, "owner": "A"})
    opps["won"] = opps["won"].astype("boolean")
    return crm_from(leads, opps, pd.Timestamp("2026-06-01")), p, y


def test_logistic_auc_close_to_oracle_and_calibrated():
    crm, p, y = logistic_world(16000, 1)
    result = score_leads(crm, Scoring(method="logistic"), seed=0)
    oracle = roc_auc_score(y, p)  # the best any model can do on this world
    assert result.auc == pytest.approx(oracle, abs=0.025)
    cal = result.calibration
    assert cal["leads"].sum() == 4000  # the 25 % holdout
    # each decile holds ~400 leads: observed rate within 3 standard errors of the prediction
    se = np.sqrt(cal["mean_predicted"] * (1 - cal["mean_predicted"]) / cal["leads"])
    assert (np.abs(cal["observed_rate"] - cal["mean_predicted"]) < 3 * se + 0.01).all()
    assert np.corrcoef(result.scores["p"], p)[0, 1] > 0.97


def test_rules_map_points_to_observed_rates():
    crm, p, y = logistic_world(8000, 2)
    rules = [ScoreRule(column="signal", min=0.0, points=10), ScoreRule(column="source", equals="referral", points=5)]
    result = score_leads(crm, Scoring(method="rules", rules=rules))
    signal = crm.leads["signal"].astype(float).to_numpy()
    points = 10 * (signal >= 0) + 5 * (crm.leads["source"] == "referral").to_numpy()
    for value in (0, 5, 10, 15):
        band = points == value
        assert result.scores["p"][band].nunique() == 1
        assert result.scores["p"][band].iloc[0] == pytest.approx(y[band].mean(), abs=1e-12)
    assert result.auc is not None and result.auc > 0.6


def test_expected_demand_hand_solved():
    leads = pd.DataFrame({"id": ["a", "b", "c", "d"], "segment": "S",
                          "created_at": [T0] * 4})
    opps = pd.DataFrame({"id": ["O1", "O2"], "lead_id": ["c", "d"], "created_at": [T0, T0],
                         "amount": [1000.0, 500.0], "closed_at": [T0, T0],
                         "won": pd.array([True, False], dtype="boolean"), "owner": "A"})
    crm = crm_from(leads, opps, T0)
    scores = pd.DataFrame({"segment": "S", "known": [False, False, True, True], "p": [0.5, 0.5, 1, 1]})
    times = np.array([5.0, 15.0])  # lead -> opportunity days: F(10) = 0.5, F(20) = 1
    out = expected_demand(crm, scores, np.array([0.0, 10.0, 0, 0]), times, 10).iloc[0]
    # lead a: 0.5 x (0.5 - 0) / 1 = 0.25; lead b: 0.5 x (1 - 0.5) / (1 - 0.25) = 1/3
    assert out["open_leads"] == 2
    assert out["expected_opportunities"] == pytest.approx(0.25 + 1 / 3)
    assert out["expected_wins"] == pytest.approx((0.25 + 1 / 3) * 0.5)  # win rate 1 of 2 closed
    assert out["expected_bookings"] == pytest.approx((0.25 + 1 / 3) * 0.5 * 1000)
