"""Replications: one SeedSequence child per replication, run serially or in worker processes.

`run_replication` is a pure function of (config, seed, replication index), so results are the same
for any number of workers: the pool only changes where each replication runs, and results are
collected in replication order.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.simulation.arrivals import ScoreFn, draw_leads, spawn_streams
from engine.simulation.config import SimConfig
from engine.simulation.leadflow import run_funnel
from engine.simulation.metrics import monthly_metrics
from engine.simulation.tickets import agents_per_month, run_support

LEAD_COLUMNS = ("replication", "lead_id", "segment", "region", "territory", "score", "arrived_h",
                "first_contact_h", "rep_id", "stage_reached", "won", "revenue", "closed_h")
"""Columns of sim/leads.parquet (DESIGN.md), in order."""


@dataclass
class ReplicationResult:
    """Per-lead columns (codes into the config's name lists) and the monthly metrics of one run."""

    replication: int
    columns: dict[str, np.ndarray]
    rep_names: list[str]
    monthly: pd.DataFrame


def run_replication(cfg: SimConfig, seed: np.random.SeedSequence, replication: int,
                    score_fn: ScoreFn | None = None) -> ReplicationResult:
    """Simulate one replication: leads, funnel, people and support."""
    streams = spawn_streams(seed)
    leads = draw_leads(cfg, streams, score_fn)
    funnel = run_funnel(cfg, leads, streams["people"])
    tickets = None
    if cfg.support is not None:
        won = funnel.won & np.isfinite(funnel.closed_h)
        agents = agents_per_month(cfg, funnel.rep_role, funnel.rep_start_h, funnel.rep_leave_h)
        tickets = run_support(cfg, funnel.closed_h[won], leads.segment[won], agents, streams["tickets"])
    columns = {
        "segment": leads.segment, "region": leads.region, "territory": leads.territory,
        "score": leads.score, "arrived_h": leads.arrived_h, "first_contact_h": funnel.first_contact_h,
        "rep_id": funnel.rep, "stage_reached": funnel.stage_reached, "won": funnel.won,
        "revenue": np.where(funnel.won, leads.deal_size, 0.0), "closed_h": funnel.closed_h,
    }
    monthly = monthly_metrics(cfg, leads, funnel, tickets)
    monthly.insert(0, "replication", replication)
    return ReplicationResult(replication, columns, funnel.rep_name, monthly)


def _task(args: tuple[SimConfig, np.random.SeedSequence, int, ScoreFn | None]) -> ReplicationResult:
    return run_replication(*args)


def run_replications(cfg: SimConfig, replications: int, seed: int, workers: int = 1,
                     progress: Callable[[float], None] | None = None,
                     score_fn: ScoreFn | None = None) -> list[ReplicationResult]:
    """R replications from root `seed`, on `workers` processes; results in replication order.

    `progress` receives the fraction of replications done (0-1); `score_fn` must be picklable
    (a module-level function) when `workers` > 1.
    """
    children = np.random.SeedSequence(seed).spawn(replications)
    tasks = [(cfg, children[r], r, score_fn) for r in range(replications)]
    results: list[ReplicationResult] = []
    if workers <= 1 or replications == 1:
        for task in tasks:
            results.append(_task(task))
            _report(progress, len(results), replications)
        return results
    with ProcessPoolExecutor(max_workers=min(workers, replications)) as pool:
        for result in pool.map(_task, tasks):
            results.append(result)
            _report(progress, len(results), replications)
    return results


def _report(progress: Callable[[float], None] | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done / total)


def _rep_sort_key(name: str, role_order: dict[str, int]) -> tuple[int, int]:
    role, _, number = name.rpartition("-")
    return role_order.get(role, len(role_order)), int(number)


def leads_frame(cfg: SimConfig, results: list[ReplicationResult]) -> pd.DataFrame:
    """sim/leads.parquet: one row per lead and replication, columns as in DESIGN.md."""
    role_order = {r.name: i for i, r in enumerate(cfg.roles)}
    all_reps = sorted({n for res in results for n in res.rep_names},
                      key=lambda n: _rep_sort_key(n, role_order))
    rep_index = {n: i for i, n in enumerate(all_reps)}
    territories = list(cfg.territories) if cfg.territory_p is not None else list(cfg.regions)
    parts = {name: [] for name in LEAD_COLUMNS}
    for res in results:
        c = res.columns
        n = len(c["score"])
        lookup = np.array([rep_index[x] for x in res.rep_names] + [-1], dtype=np.int64)
        parts["replication"].append(np.full(n, res.replication, dtype=np.int32))
        parts["lead_id"].append(np.arange(n, dtype=np.int64))
        parts["rep_id"].append(lookup[c["rep_id"]])
        for key in LEAD_COLUMNS:
            if key in c and key != "rep_id":
                parts[key].append(c[key])
    cat = {"segment": list(cfg.segments), "region": list(cfg.regions), "territory": territories,
           "rep_id": all_reps, "stage_reached": [s.name for s in cfg.stages]}
    out = {}
    for key in LEAD_COLUMNS:
        values = np.concatenate(parts[key]) if parts[key] else np.array([])
        if key in cat:
            out[key] = pd.Categorical.from_codes(values.astype(np.int64), categories=cat[key])
        else:
            out[key] = values
    return pd.DataFrame(out, columns=list(LEAD_COLUMNS))


def monthly_frame(results: list[ReplicationResult]) -> pd.DataFrame:
    """sim/monthly.csv: replication, month, metric, value."""
    return pd.concat([r.monthly for r in results], ignore_index=True)
