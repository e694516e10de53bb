"""Quantiles over Monte Carlo replications: p10 / p50 / p90 per month and over the horizon.

Replication results are packed into a cube replication x month x key (numpy) so the quantiles of
every month and key come from one vectorised call.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from engine.calendar import month_start_hours

QUANTILES = (0.1, 0.5, 0.9)
SIM_COLUMNS = ("sim_p10", "sim_p50", "sim_p90")
ALL = "all"
"""Month label of a row that covers the whole horizon (sum of flows, mean of levels)."""


def cube(replication: np.ndarray, month: np.ndarray, key: np.ndarray, value: np.ndarray,
         replications: np.ndarray, months: list[str], flow: bool) -> tuple[np.ndarray, list[str]]:
    """Pack rows into a replication x month x key array and return it with the key labels.

    Rows whose month is not in `months` are ignored. Flows are summed per cell and an empty cell
    is 0 (nothing happened); levels take the cell's mean and an empty cell is NaN.
    """
    keys, k_idx = np.unique(np.asarray(key, dtype=object).astype(str), return_inverse=True)
    r_idx = pd.Index(replications).get_indexer(replication)
    m_idx = pd.Index(months).get_indexer(np.asarray(month, dtype=object))
    return pack(r_idx, m_idx, k_idx, value, (len(replications), len(months), len(keys)), flow), \
        list(keys)


def pack(r_idx: np.ndarray, m_idx: np.ndarray, k_idx: np.ndarray, value: np.ndarray | float,
         shape: tuple[int, int, int], flow: bool) -> np.ndarray:
    """Integer-indexed rows into a replication x month x key array (negative index = dropped)."""
    ok = (r_idx >= 0) & (m_idx >= 0) & (k_idx >= 0)
    flat = np.ravel_multi_index((r_idx[ok], m_idx[ok], k_idx[ok]), shape)
    v = np.asarray(value, dtype=float)
    v = np.broadcast_to(v, ok.shape)[ok] if v.ndim == 0 else v[ok]
    size = int(np.prod(shape))
    if flow:
        return np.bincount(flat, weights=v, minlength=size).reshape(shape)
    count = np.bincount(flat, weights=np.isfinite(v).astype(float), minlength=size).reshape(shape)
    sums = np.bincount(flat, weights=np.nan_to_num(v), minlength=size).reshape(shape)
    return np.divide(sums, count, out=np.full(shape, np.nan), where=count > 0)


def month_index_of_hours(hours: np.ndarray, start: str, months: int) -> np.ndarray:
    """0-based horizon month of each simulation clock time (hours); -1 outside or NaN."""
    bounds = np.asarray(month_start_hours(start, months))
    h = np.asarray(hours, dtype=float)
    idx = np.searchsorted(bounds, np.nan_to_num(h, nan=-1.0), side="right") - 1
    return np.where((idx < 0) | (idx >= months) | ~np.isfinite(h), -1, idx)


def _nanquantile_columns(values: np.ndarray) -> np.ndarray:
    """`np.nanquantile(values, QUANTILES, axis=0)`: the columns without NaN in one vectorised
    `np.quantile` call (nanquantile loops over columns in Python), the others as nanquantile does."""
    q = np.empty((len(QUANTILES), *values.shape[1:]))
    clean = ~np.isnan(values).any(axis=0)
    q[:, clean] = np.quantile(values[:, clean], QUANTILES, axis=0)
    if not clean.all():
        q[:, ~clean] = np.nanquantile(values[:, ~clean], QUANTILES, axis=0)
    return q


def cube_quantiles(values: np.ndarray, months: list[str], keys: list[str],
                   flow: bool) -> pd.DataFrame:
    """Rows month, key, sim_p10, sim_p50, sim_p90 from a replication x month x key cube.

    The `all` row per key holds quantiles of each replication's horizon total (flows) or mean
    (levels), never the sum of monthly quantiles.
    """
    if values.size == 0:
        return pd.DataFrame(columns=["month", "key", *SIM_COLUMNS])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        horizon = values.sum(axis=1, keepdims=True) if flow else np.nanmean(values, axis=1,
                                                                              keepdims=True)
        both = np.concatenate([values, horizon], axis=1)
        q = _nanquantile_columns(both)
    labels = [*months, ALL]
    frame = pd.DataFrame({
        "month": np.repeat(labels, len(keys)),
        "key": np.tile(np.asarray(keys, dtype=object), len(labels)),
        **{c: q[i].ravel() for i, c in enumerate(SIM_COLUMNS)},
    })
    return frame


def ticket_weighted_sla(monthly: pd.DataFrame) -> pd.Series | None:
    """Horizon SLA attainment (share) per replication from sim/monthly.csv rows, each month
    weighted by its tickets; None when the run has no support tickets."""
    wide = monthly[monthly["metric"].isin(["tickets", "sla_attainment"])].pivot_table(
        index=["replication", "month"], columns="metric", values="value")
    if "tickets" not in wide or "sla_attainment" not in wide:
        return None
    met = (wide["tickets"] * wide["sla_attainment"].fillna(0.0)).groupby(level=0).sum()
    total = wide["tickets"].groupby(level=0).sum()
    return (met / total.where(total > 0)).sort_index()
