"""Funnel totals and rates of each replication over the whole horizon, from sim/monthly.csv.

Counts are sums of the monthly counts (events inside the horizon); rates are ratios of one
replication's totals, so every replication gives one value and the simulation's p10 / p50 / p90
are quantiles over replications (never a ratio of quantiles):

- `leads`, `contacted`, `reached_<stage>`, `won`, `dropped` (leads);
- `win_rate` = won / leads (share; a lead won after the horizon ends does not count);
- `conversion_<stage>` = items entering the next stage (or won, for the last stage) / items
  entering this stage (share);
- `drop_rate` = dropped / leads (share).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COUNTS = ("leads", "contacted", "won", "dropped")
REACHED = "reached:"


def stage_names(monthly: pd.DataFrame) -> list[str]:
    """Funnel stages in order, as the monthly frame lists them (`reached:<stage>` metrics)."""
    return [str(m)[len(REACHED):] for m in pd.unique(monthly["metric"]) if str(m).startswith(REACHED)]


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """num / den per replication; NaN where den is 0 (no items: the rate is undefined)."""
    return num / den.where(den > 0)


def replication_totals(monthly: pd.DataFrame) -> pd.DataFrame:
    """One row per replication (index), one column per count and rate of the module docstring."""
    stages = stage_names(monthly)
    wanted = [*COUNTS, *(REACHED + s for s in stages)]
    part = monthly[monthly["metric"].isin(wanted)]
    sums = part.groupby(["replication", "metric"])["value"].sum().unstack("metric")
    sums = sums.reindex(columns=wanted)
    out = pd.DataFrame(index=sums.index)
    for name in COUNTS:
        out[name] = sums[name]
    for stage in stages:
        out[f"reached_{stage}"] = sums[REACHED + stage]
    out["win_rate"] = _ratio(sums["won"], sums["leads"])
    out["drop_rate"] = _ratio(sums["dropped"], sums["leads"])
    nexts = [REACHED + s for s in stages[1:]] + ["won"]
    for stage, nxt in zip(stages, nexts, strict=True):
        out[f"conversion_{stage}"] = _ratio(sums[nxt], sums[REACHED + stage])
    return out


def quantiles(values: pd.Series | np.ndarray) -> dict[str, float | None]:
    """p10 / p50 / p90 over replications of the finite values (None when there are none)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"p10": None, "p50": None, "p90": None}
    p = np.percentile(v, [10, 50, 90])
    return {"p10": float(p[0]), "p50": float(p[1]), "p90": float(p[2])}


def funnel_totals(monthly: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """summary.json `simulation.totals` entries for every count and rate of `replication_totals`."""
    totals = replication_totals(monthly)
    return {name: quantiles(totals[name]) for name in totals.columns}


SUMMED = ("revenue", "tickets")
"""Monthly metrics whose horizon value per replication is their sum."""


def _sla(monthly: pd.DataFrame) -> pd.Series:
    """Horizon SLA attainment per replication, months weighted by their tickets (as summary.json)."""
    wide = monthly[monthly["metric"].isin(["tickets", "sla_attainment"])].pivot_table(
        index=["replication", "month"], columns="metric", values="value")
    met = (wide["tickets"] * wide["sla_attainment"].fillna(0.0)).groupby(level=0).sum()
    total = wide["tickets"].groupby(level=0).sum()
    return met / total.where(total > 0)


def per_replication(monthly: pd.DataFrame, key: str) -> pd.Series | None:
    """The horizon value of `simulation.totals.<key>` in each replication (index: replication),
    or None when this frame cannot give it per replication."""
    totals = replication_totals(monthly)
    if key in totals.columns:
        return totals[key]
    present = set(pd.unique(monthly["metric"]))
    if key == "sla_attainment" and {"tickets", "sla_attainment"} <= present:
        return _sla(monthly)
    if key in SUMMED and key in present:
        return monthly[monthly["metric"] == key].groupby("replication")["value"].sum()
    return None
