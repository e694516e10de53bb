"""Quantiles over Monte Carlo replications: p10 / p50 / p90 per month and over the horizon."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.calendar import month_start_hours

QUANTILES = (0.1, 0.5, 0.9)
SIM_COLUMNS = ("sim_p10", "sim_p50", "sim_p90")
ALL = "all"
"""Month label of a row that covers the whole horizon (sum of flows, mean of levels)."""


def complete_grid(frame: pd.DataFrame, keys: list[str], replications: np.ndarray,
                  months: list[str]) -> pd.DataFrame:
    """Add zero rows so every replication x month x key combination exists (flows only).

    `frame` has columns replication, month, *keys, value; a missing combination means nothing
    happened (0 leads, 0 wins), which a quantile must count.
    """
    combos = frame[keys].drop_duplicates()
    grid = pd.MultiIndex.from_product([replications, months], names=["replication", "month"])
    base = grid.to_frame(index=False).merge(combos, how="cross")
    out = base.merge(frame, on=["replication", "month", *keys], how="left")
    out["value"] = out["value"].fillna(0.0)
    return out


def quantiles(frame: pd.DataFrame, keys: list[str], flow: bool) -> pd.DataFrame:
    """p10 / p50 / p90 over replications per month x keys, plus a month `all` row per key.

    `frame`: replication, month, *keys, value. The `all` row takes the quantiles of each
    replication's horizon total (flow=True) or horizon mean (flow=False), never the sum of
    monthly quantiles.
    """
    if frame.empty:
        return pd.DataFrame(columns=["month", *keys, *SIM_COLUMNS])
    agg = "sum" if flow else "mean"
    total = frame.groupby(["replication", *keys], sort=False)["value"].agg(agg).reset_index()
    total["month"] = ALL
    both = pd.concat([frame[["replication", "month", *keys, "value"]], total], ignore_index=True)
    q = both.groupby(["month", *keys], sort=False)["value"].quantile(list(QUANTILES)).unstack()
    q.columns = list(SIM_COLUMNS)
    return q.reset_index()


def month_of_hours(hours: np.ndarray, start: str, months: int) -> np.ndarray:
    """Calendar month (`YYYY-MM`) of each simulation clock time (hours from the horizon start).

    Times outside the horizon map to an empty string.
    """
    from engine.calendar import month_range

    bounds = np.asarray(month_start_hours(start, months))
    labels = np.array([*month_range(start, months), ""], dtype=object)
    idx = np.searchsorted(bounds, np.asarray(hours, dtype=float), side="right") - 1
    idx = np.where((idx < 0) | (idx >= months) | ~np.isfinite(hours), months, idx)
    return labels[idx]
