"""Censored estimates of deal outcomes (lifelines): open deals count as right-censored at the
export date instead of being left out.

* **Win rate**: the Aalen-Johansen cumulative incidence of "won" with "lost" as the competing
  event, read at the last time with a finite 95 % interval (delta-method interval of
  log(-log F), lifelines' Greenwood-type variance).
* **Time to close** (days from creation to won or lost): Kaplan-Meier, median with its 95 %
  interval.
* The **naive closed-only** figures (won / closed, median over closed deals) sit beside them:
  with many deals still open both are biased (slow outcomes are the ones still open).

Durations are whole days (ties are the rule in exports), shifted by one day before fitting
(lifelines sets the incidence at the first time to zero, which would drop same-day events). lifelines' Aalen-Johansen jitters tied
event times with the global numpy random state; to stay reproducible and fast the rows are
aggregated per (day, event) into weights and a lost deal's day is shifted by 1e-3 days, a
censored one by 2e-3 (events before censoring, won before lost, on the same day), so no ties
are left to jitter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import AalenJohansenFitter, KaplanMeierFitter
from lifelines.utils import median_survival_times

OPEN, WON, LOST = 0, 1, 2
TIE_SHIFT = {WON: 0.0, LOST: 1e-3, OPEN: 2e-3}


@dataclass(frozen=True)
class OutcomeEstimate:
    """Censored and naive outcome figures of one group of deals (rates are shares, times days)."""

    deals: int
    won: int
    lost: int
    open: int
    win_rate: float
    win_rate_low: float
    win_rate_high: float
    naive_win_rate: float
    close_days_median: float
    close_days_low: float
    close_days_high: float
    naive_close_days_median: float

    def as_row(self) -> dict:
        return self.__dict__.copy()


def _aggregate(days: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"d": np.floor(np.maximum(days, 0.0)), "e": event})
    g = frame.groupby(["d", "e"], sort=True).size().rename("w").reset_index()
    g["t"] = g["d"] + 1.0 + g["e"].map(TIE_SHIFT)
    return g


def win_rate(days: np.ndarray, event: np.ndarray) -> tuple[float, float, float]:
    """Aalen-Johansen probability of eventually winning, with its 95 % interval."""
    g = _aggregate(days, event)
    if not (g["e"] == WON).any():
        return 0.0, 0.0, float("nan")
    aj = AalenJohansenFitter(calculate_variance=True).fit(g["t"], g["e"], event_of_interest=WON,
                                                          weights=g["w"])
    cif = aj.cumulative_density_.iloc[:, 0]
    ci = aj.confidence_interval_
    finite = ci.notna().all(axis=1).to_numpy() & (cif > 0).to_numpy()
    at = int(np.flatnonzero(finite)[-1]) if finite.any() else len(cif) - 1
    low, high = sorted(float(v) for v in ci.iloc[at])
    return float(cif.iloc[at]), low, high


def time_to_close(days: np.ndarray, closed: np.ndarray) -> tuple[float, float, float]:
    """Kaplan-Meier median days to close (won or lost), with its 95 % interval."""
    frame = pd.DataFrame({"d": np.floor(np.maximum(days, 0.0)), "e": closed.astype(bool)})
    g = frame.groupby(["d", "e"]).size().rename("w").reset_index()
    km = KaplanMeierFitter().fit(g["d"] + 1.0, g["e"], weights=g["w"])
    ci = median_survival_times(km.confidence_interval_).iloc[0]
    return float(km.median_survival_time_) - 1, float(ci.iloc[0]) - 1, float(ci.iloc[1]) - 1


def outcome_estimate(days: np.ndarray, event: np.ndarray) -> OutcomeEstimate:
    """Censored and naive figures from days followed (to the close, or to the export date while
    open) and the outcome (OPEN, WON, LOST) of each deal."""
    event = np.asarray(event)
    won, lost = int((event == WON).sum()), int((event == LOST).sum())
    rate, low, high = win_rate(days, event)
    closed = event != OPEN
    med, med_low, med_high = time_to_close(days, closed) if closed.any() else (np.nan,) * 3
    return OutcomeEstimate(
        deals=len(event), won=won, lost=lost, open=len(event) - won - lost,
        win_rate=rate, win_rate_low=low, win_rate_high=high,
        naive_win_rate=won / (won + lost) if won + lost else float("nan"),
        close_days_median=med, close_days_low=med_low, close_days_high=med_high,
        naive_close_days_median=float(np.median(days[closed])) if closed.any() else float("nan"))
