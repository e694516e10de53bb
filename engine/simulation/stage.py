"""The simulation stage: a plan meets queues, delays and randomness, over R seeded replications.

Public API: `simulate(...)` (the pipeline stage) and, for tests and tools, `config_from_scenario`,
`SimConfig` and `run_replications` (plain data in, per-replication results out). The model itself
is in `engine/sim_model.py` (funnel, reps, ramp, attrition), `sim_support.py` (tickets) and
`sim_arrivals.py` (arrivals, scores and every per-lead random draw).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from engine.reconcile.money import FIGURES, money_model, simulated_pnl
from engine.reconcile.quantiles import ticket_weighted_sla
from engine.scenario.load import LoadedScenario
from engine.simulation.arrivals import ScoreFn
from engine.simulation.config import SimConfig, config_from_scenario
from engine.simulation.metrics import first_response_totals, month_labels
from engine.simulation.rates import funnel_totals, quantiles
from engine.simulation.replications import leads_frame, monthly_frame, run_replications
from engine.stage import SimulationOut, StageOutput

__all__ = ["SimConfig", "config_from_scenario", "run_replications", "simulate", "summarise"]

HEADLINE = ("won", "dropped", "tickets", *FIGURES)
"""Flows whose horizon totals per replication summary.json gives as p10 / p50 / p90."""


def _response_totals(leads: pd.DataFrame | None) -> dict[str, dict]:
    """First response over the horizon per replication (engine.simulation.metrics), as quantiles."""
    if leads is None or leads.empty or "first_contact_h" not in leads:
        return {}
    per_rep = [first_response_totals(rows["arrived_h"].to_numpy(float), rows["first_contact_h"].to_numpy(float))
               for _, rows in leads.groupby("replication", sort=True)]
    return {name: quantiles([r[name] for r in per_rep]) for name in per_rep[0]}


def summarise(monthly: pd.DataFrame, replications: int, leads: pd.DataFrame | None = None) -> dict:
    """summary.json object: headline totals over the horizon and p10/p50/p90 per month and metric.

    totals: flows (HEADLINE) summed over the horizon; sla_attainment weighted by tickets; first
    response p50 / p90 / max (hours, over all leads contacted) and never_contacted (leads)."""
    totals = monthly[monthly["metric"].isin(HEADLINE)].groupby(["metric", "replication"])["value"].sum()
    headline = {m: quantiles(totals[m]) for m in HEADLINE if m in totals.index.get_level_values(0)}
    sla = ticket_weighted_sla(monthly)
    if sla is not None:
        headline["sla_attainment"] = quantiles(sla)
    headline.update(_response_totals(leads))
    headline.update({k: v for k, v in funnel_totals(monthly).items() if k not in headline})
    by_month: dict[str, dict[str, dict]] = {}
    for metric, month, q in _monthly_quantiles(monthly):
        by_month.setdefault(str(metric), {})[str(month)] = q
    return {"replications": replications, "totals": headline, "monthly": by_month}


def _monthly_quantiles(monthly: pd.DataFrame) -> list[tuple[object, object, dict]]:
    """(metric, month, p10/p50/p90 over replications) per metric and month, in order of first
    appearance; `quantiles` of each group, with the groups whose values are all finite and of one
    size done in one numpy call (the same arithmetic row by row)."""
    group = monthly.groupby(["metric", "month"], sort=False).ngroup().to_numpy()
    if group.size == 0:
        return []
    order = np.argsort(group, kind="stable")
    sizes = np.bincount(group)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    values = monthly["value"].to_numpy(dtype=float)[order]
    first = order[starts]
    metrics, months = monthly["metric"].to_numpy()[first], monthly["month"].to_numpy()[first]
    out: list[dict | None] = [None] * len(sizes)
    if np.all(sizes == sizes[0]):
        table = values.reshape(len(sizes), sizes[0])
        finite = np.isfinite(table).all(axis=1)
        if finite.any():
            p = np.percentile(table[finite], [10, 50, 90], axis=1)
            for j, g in enumerate(np.flatnonzero(finite).tolist()):
                out[g] = {"p10": float(p[0, j]), "p50": float(p[1, j]), "p90": float(p[2, j])}
    for g in range(len(sizes)):
        if out[g] is None:
            out[g] = quantiles(values[starts[g]:starts[g] + sizes[g]])
    return list(zip(metrics, months, out, strict=True))


def simulate(loaded: LoadedScenario, forecast: pd.DataFrame, hiring: pd.DataFrame | None,
             staffing: pd.DataFrame | None, allocation: pd.DataFrame | None,
             territories: pd.DataFrame | None, replications: int, seed: int, workers: int = 1,
             progress: Callable[[float], None] | None = None,
             score_fn: ScoreFn | None = None, staffing_hourly: pd.DataFrame | None = None) -> StageOutput:
    """Run R replications of the lead flow and support queue; write sim/leads.parquet and sim/monthly.csv.

    Frames as in DESIGN.md (forecast: month, segment, region, case, leads; hiring: month, role,
    hires, headcount; staffing: month, role, planned_agents; allocation: month, segment, region,
    team, leads; territories: unit_id, territory, workload). `progress` receives the fraction of
    replications done; `score_fn` replaces the Beta scoring rule (see `sim_arrivals.ScoreFn`);
    `staffing_hourly` (month, week_hour, planned_agents) is the roster when support tickets follow
    an hour-of-week arrival pattern.
    """
    cfg = config_from_scenario(loaded.scenario, forecast, hiring, staffing, allocation, territories,
                               staffing_hourly)
    results = run_replications(cfg, replications, seed, workers, progress, score_fn)
    leads, monthly = leads_frame(cfg, results), monthly_frame(results)
    money = simulated_pnl(money_model(loaded.scenario), leads, monthly, lambda t: month_labels(cfg, t))
    monthly = pd.concat([monthly, money], ignore_index=True)
    summary = {"seed": seed, **summarise(monthly, replications, leads)}
    return StageOutput(name="simulation",
                       tables={"sim/leads.parquet": leads, "sim/monthly.csv": monthly},
                       summary=summary, result=SimulationOut(monthly, leads))
