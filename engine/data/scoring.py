"""Lead scoring: probability that a lead becomes an opportunity, and the near-term demand it implies.

The scored outcome is the usual lead-scoring target: the lead converts into an opportunity (the
hand-off from SDR to AE).

* **Outcome known** for a lead that has an opportunity, or that is older than the 99th
  percentile of the lead-to-opportunity time (days) without one (counted as not converted).
  Other leads are the **open pipeline**.
* **logistic**: scikit-learn `LogisticRegression` on one-hot segment, region and source plus the
  numeric scoring columns of leads.csv (median-imputed, with a missing flag, standardised),
  fitted on 75 % of the known leads (seeded, stratified) and checked on the other 25 %: holdout
  AUC and a calibration table (deciles of predicted probability: mean predicted vs observed).
  The reported model is then refitted on all known leads.
* **rules**: points from `data.scoring.rules`; the score maps to a probability through the
  observed conversion rate per score band (each distinct score when there are at most 20,
  else quintiles of the score on the known leads).
* **Expected near-term demand**: for an open lead of age a (days) with conversion probability
  p and time-to-opportunity CDF F (empirical), the chance it becomes an opportunity within the
  next `horizon_days` h is p (F(a + h) - F(a)) / (1 - p F(a)) (Bayes, given it has not converted
  by age a). Summed per segment into expected opportunities, then wins (x the segment's
  opportunity win rate) and bookings (x its mean won amount, currency).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from engine.data.crm import CrmData
from engine.scenario.schema.data import ScoreRule, Scoring

STANDARD_COLUMNS = {"id", "created_at", "segment", "region", "source", "owner", "line"}
CATEGORICAL = ("segment", "region", "source")
HOLDOUT_SHARE = 0.25
CYCLE_QUANTILE = 0.99
MAX_BANDS = 20


@dataclass
class ScoringResult:
    """Scores of every lead, the holdout check, and the expected demand of the open pipeline."""

    method: str
    scores: pd.DataFrame
    """id, segment, created_at, known, converted, p (probability of becoming an opportunity)."""
    auc: float | None
    calibration: pd.DataFrame
    """bin, leads, mean_predicted, observed_rate (holdout set)."""
    expected: pd.DataFrame
    """segment, open_leads, expected_opportunities, expected_wins, expected_bookings (within
    horizon_days)."""
    horizon_days: int


def _outcomes(crm: CrmData) -> tuple[pd.DataFrame, np.ndarray]:
    """Per lead: converted (has an opportunity), known outcome, age (days); sorted conversion times."""
    leads = crm.leads
    first_opp = crm.opportunities.groupby("lead_id")["created_at"].min()
    to_opp = ((leads["id"].map(first_opp) - leads["created_at"]).dt.total_seconds() / 86400).to_numpy()
    converted = np.isfinite(to_opp)
    age = ((crm.as_of - leads["created_at"]).dt.total_seconds() / 86400).to_numpy()
    times = np.sort(to_opp[converted])
    cutoff = float(np.quantile(times, CYCLE_QUANTILE)) if len(times) else 365.0
    frame = pd.DataFrame({"converted": converted, "known": converted | (age > cutoff), "age": age})
    return frame, times


def features(leads: pd.DataFrame) -> pd.DataFrame:
    """Design matrix: one-hot categoricals and numeric scoring columns with missing flags."""
    parts = [pd.get_dummies(leads[c].replace("", "unknown"), prefix=c, dtype=float)
             for c in CATEGORICAL if c in leads.columns]
    for c in sorted(set(leads.columns) - STANDARD_COLUMNS):
        values = pd.to_numeric(leads[c], errors="coerce")
        if values.notna().mean() < 0.5:
            continue
        parts.append(pd.DataFrame({c: values.fillna(values.median()).astype(float),
                                   f"{c}_missing": values.isna().astype(float)}))
    return pd.concat(parts, axis=1)


def _calibration_table(p: np.ndarray, y: np.ndarray, bins: int = 10) -> pd.DataFrame:
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    band = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
    f = pd.DataFrame({"bin": band, "p": p, "y": y})
    return f.groupby("bin").agg(leads=("y", "size"), mean_predicted=("p", "mean"),
                                observed_rate=("y", "mean")).reset_index()


def _rule_points(leads: pd.DataFrame, rules: list[ScoreRule]) -> np.ndarray:
    points = np.zeros(len(leads))
    for r in rules:
        if r.column not in leads.columns:
            continue
        col = leads[r.column]
        match = np.ones(len(leads), dtype=bool)
        if r.equals is not None:
            match &= (col == r.equals).to_numpy()
        if r.min is not None or r.max is not None:
            num = pd.to_numeric(col, errors="coerce").to_numpy()
            match &= np.isfinite(num)
            if r.min is not None:
                match &= num >= r.min
            if r.max is not None:
                match &= num < r.max
        points += np.where(match, r.points, 0.0)
    return points


def _band_probability(points: np.ndarray, known: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Observed rate of the lead's score band: each distinct score when there are at most
    `MAX_BANDS`, else quintiles of the score."""
    if len(np.unique(points)) <= MAX_BANDS:
        band = points
    else:
        band = np.searchsorted(np.unique(np.quantile(points[known], [0.2, 0.4, 0.6, 0.8])),
                               points, side="right")
    rate = pd.Series(y[known]).groupby(band[known]).mean()
    overall = float(y[known].mean())
    return pd.Series(band).map(rate).fillna(overall).to_numpy()


def _fit_logistic(X: np.ndarray, y: np.ndarray, seed: int):
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    return model.fit(X, y)


def score_leads(crm: CrmData, scoring: Scoring | None = None, seed: int = 0) -> ScoringResult:
    """Fit (or apply rules), check on a holdout, score all leads, expected near-term demand."""
    scoring = scoring or Scoring()
    out, cycle = _outcomes(crm)
    known, y = out["known"].to_numpy(), out["converted"].to_numpy().astype(int)
    idx = np.flatnonzero(known)
    can_split = len(idx) >= 20 and 2 <= y[idx].sum() <= len(idx) - 2
    if scoring.method == "rules":
        p_all = _band_probability(_rule_points(crm.leads, scoring.rules), known, y)
        test = idx
        p_test = p_all[test]
    else:
        X = features(crm.leads).to_numpy()
        if not can_split:
            raise ValueError("too few known lead outcomes (converted and not) to fit a scoring model")
        train, test = train_test_split(idx, test_size=HOLDOUT_SHARE, random_state=seed, stratify=y[idx])
        p_test = _fit_logistic(X[train], y[train], seed).predict_proba(X[test])[:, 1]
        p_all = _fit_logistic(X[idx], y[idx], seed).predict_proba(X)[:, 1]
    auc = float(roc_auc_score(y[test], p_test)) if len(np.unique(y[test])) == 2 else None
    scores = pd.DataFrame({"id": crm.leads["id"], "segment": crm.leads["segment"],
                           "created_at": crm.leads["created_at"], "known": known,
                           "converted": y.astype(bool), "p": p_all})
    expected = expected_demand(crm, scores, out["age"].to_numpy(), cycle, scoring.horizon_days)
    return ScoringResult(scoring.method, scores, auc, _calibration_table(p_test, y[test]),
                         expected, scoring.horizon_days)


def expected_demand(crm: CrmData, scores: pd.DataFrame, age: np.ndarray, times: np.ndarray,
                    horizon_days: int) -> pd.DataFrame:
    """Expected opportunities, wins and bookings (currency) within `horizon_days` from open leads."""
    open_ = ~scores["known"].to_numpy()
    p = scores["p"].to_numpy()

    def cdf(x: np.ndarray) -> np.ndarray:
        return np.searchsorted(times, x, side="right") / len(times) if len(times) else np.zeros_like(x)

    fa, fh = cdf(age), cdf(age + horizon_days)
    soon = np.where(open_, p * (fh - fa) / np.maximum(1 - p * fa, 1e-9), 0.0)
    o = crm.opportunities.merge(crm.leads[["id", "segment"]].rename(columns={"id": "lead_id"}),
                                on="lead_id")
    closed = o[o["closed_at"].notna()]
    won_flag = closed["won"].fillna(False).astype(bool)
    win_rate = won_flag.groupby(closed["segment"]).mean()
    avg_deal = closed[won_flag].groupby("segment")["amount"].mean()
    f = pd.DataFrame({"segment": scores["segment"], "open": open_, "opps": soon})
    g = f.groupby("segment").agg(open_leads=("open", "sum"), expected_opportunities=("opps", "sum"))
    g["expected_wins"] = g["expected_opportunities"] * win_rate.reindex(g.index).fillna(0.0)
    g["expected_bookings"] = g["expected_wins"] * avg_deal.reindex(g.index).fillna(0.0)
    return g.reset_index()
