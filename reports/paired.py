"""Paired statistics of simulated plans: which plan, and how sure.

Runs made with the same seed and replication count share common random numbers (the same leads,
scores, deal sizes, conversions and buyer delays in replication r of every plan: engine/simulation/
arrivals.py), so the plans are compared replication by replication: the difference d_r = plan_r -
reference_r of each P&L figure and SLA over the horizon, its p10/p50/p90 over replications, and the
share of replications in which each plan does better (by the figure's direction).

Per-replication horizon totals come from sim/monthly.csv (sum over months; SLA: the
ticket-weighted share answered in time). A run whose sim/monthly.csv lacks `gross_margin`,
`people_cost` or `operating_margin` gets gross margin from sim/leads.parquet (won revenue x the
segment's gross margin in scenario.resolved.yaml) and people cost from plan/hiring.csv (the plan's
cost, the same in every replication); the table says which source each figure has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import yaml

from engine.reconcile.quantiles import ticket_weighted_sla
from reports.runfolder import RunFolder

FIGURES = (
    # key, label, higher is better
    ("operating_margin", "operating margin", True),
    ("revenue", "revenue", True),
    ("gross_margin", "gross margin", True),
    ("people_cost", "people cost", False),
    ("sla", "SLA (share of tickets answered in time)", True),
)
SIMULATED = "simulated"
PLAN_COST = "plan's people cost (the same in every replication)"


@dataclass(frozen=True)
class Totals:
    """Per-replication horizon totals of one run: figure -> values (replication order), and the
    source of each figure (`simulated`, or how it was completed)."""

    values: dict[str, np.ndarray]
    sources: dict[str, str]


@dataclass(frozen=True)
class PairedFigure:
    """One figure of one plan against the reference, over n paired replications."""

    key: str
    label: str
    higher_better: bool
    p10: float
    p50: float
    p90: float
    share_better: float
    """Share of replications in which the plan does better than the reference."""
    share_worse: float
    n: int
    source: str


def _by_replication(monthly: pd.DataFrame, metric: str) -> pd.Series | None:
    part = monthly[monthly["metric"] == metric]
    if part.empty:
        return None
    return part.groupby("replication")["value"].sum().sort_index()


def _gross_margin_from_leads(run: RunFolder, replications: pd.Index) -> pd.Series | None:
    leads, resolved = run.path / "sim" / "leads.parquet", run.path / "scenario.resolved.yaml"
    if not leads.is_file() or not resolved.is_file():
        return None
    doc = yaml.safe_load(resolved.read_text(encoding="utf-8")) or {}
    share = {str(g["name"]): float(g.get("gross_margin", 0.8)) for g in doc.get("segments") or []}
    frame = pd.read_parquet(leads, columns=["replication", "segment", "revenue"])
    margin = frame["revenue"].to_numpy(float) * frame["segment"].astype(str).map(share).fillna(0.0).to_numpy()
    return pd.Series(margin).groupby(frame["replication"].to_numpy()).sum().reindex(replications, fill_value=0.0)


def replication_totals(run: RunFolder) -> Totals | None:
    """Horizon totals per replication of a run's simulation (None: the run has no sim/monthly.csv)."""
    monthly = run.tables.get("monthly")
    if monthly is None or monthly.empty:
        return None
    values: dict[str, pd.Series] = {}
    sources: dict[str, str] = {}
    for key in ("revenue", "gross_margin", "people_cost", "operating_margin"):
        found = _by_replication(monthly, key)
        if found is not None:
            values[key], sources[key] = found, SIMULATED
    reps = pd.Index(sorted(monthly["replication"].unique()))
    if "gross_margin" not in values:
        found = _gross_margin_from_leads(run, reps)
        if found is not None:
            values["gross_margin"], sources["gross_margin"] = found, "won revenue x segment gross margin"
    hiring = run.tables.get("hiring")
    if "people_cost" not in values and hiring is not None and "cost" in hiring:
        values["people_cost"] = pd.Series(float(hiring["cost"].sum()), index=reps)
        sources["people_cost"] = PLAN_COST
    if "operating_margin" not in values and {"gross_margin", "people_cost"} <= set(values):
        values["operating_margin"] = values["gross_margin"] - values["people_cost"]
        sources["operating_margin"] = f"gross margin - {sources['people_cost']}" \
            if sources["people_cost"] != SIMULATED else SIMULATED
    sla = ticket_weighted_sla(monthly)
    if sla is not None:
        values["sla"], sources["sla"] = sla, SIMULATED
    return Totals({k: v.reindex(reps).to_numpy(float) for k, v in values.items()}, sources)


def paired(reference: Totals, plan: Totals) -> list[PairedFigure]:
    """Each figure both runs have: quantiles of plan - reference over the paired replications."""
    out = []
    for key, label, higher in FIGURES:
        if key not in reference.values or key not in plan.values:
            continue
        a, b = reference.values[key], plan.values[key]
        n = min(len(a), len(b))
        d = b[:n] - a[:n]
        d = d[np.isfinite(d)]
        if d.size == 0:
            continue
        p10, p50, p90 = np.percentile(d, [10, 50, 90]).tolist()
        better = d > 0 if higher else d < 0
        worse = d < 0 if higher else d > 0
        source = plan.sources[key] if plan.sources[key] == reference.sources[key] else \
            f"{reference.sources[key]} / {plan.sources[key]}"
        out.append(PairedFigure(key, label, higher, p10, p50, p90, float(better.mean()),
                                float(worse.mean()), int(d.size), source))
    return out


def best_in_share(totals: list[Totals], key: str = "operating_margin") -> list[float] | None:
    """Per run, the share of paired replications in which it has the highest `key` (ties shared)."""
    if not totals or any(t is None or key not in t.values for t in totals):
        return None
    n = min(len(t.values[key]) for t in totals)
    grid = np.stack([t.values[key][:n] for t in totals])  # runs x replications
    top = grid == grid.max(axis=0, keepdims=True)
    return (top / top.sum(axis=0, keepdims=True)).mean(axis=1).tolist()
