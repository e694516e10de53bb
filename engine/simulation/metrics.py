"""Monthly metrics of one replication as a tidy frame (month, metric, value).

Counts are attributed to the month the event happened in:
- `leads` (arrivals), `contacted` (first contact made), `reached:<stage>` (entered the stage),
  `qualified` (entered the stage before the last), `opportunities` (entered the last stage),
  `won` and `revenue` (currency; by close month), `dropped` (waited past the limit, by drop month);
- `first_response_h_mean`: mean wall-clock hours from arrival to first contact, by contact month;
- per role: `headcount:<role>` (at month end), `leavers:<role>`, and for roles that work stages
  `handled:<role>` (items started) and `utilisation:<role>` (open hours of work started in the month
  over the open hours its people were employed; a ramping rep counts as fully busy);
- with support: `tickets`, `agents`, `sla_attainment` (share answered within the tier's threshold,
  also per tier as `sla_attainment:<tier>`), `ticket_wait_s_mean` (seconds), by arrival month.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.simulation.arrivals import LeadDraws
from engine.simulation.config import SimConfig
from engine.simulation.leadflow import FunnelResult
from engine.simulation.tickets import TicketResult


def _month_of(cfg: SimConfig, t: np.ndarray) -> np.ndarray:
    """Month index of each finite hour within the horizon, -1 otherwise."""
    m = np.searchsorted(cfg.month_start_h, t, side="right") - 1
    ok = np.isfinite(t) & (t >= 0) & (t <= cfg.horizon_h)
    return np.where(ok, np.minimum(m, len(cfg.months) - 1), -1)


def _count(cfg: SimConfig, t: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    m = _month_of(cfg, t)
    keep = m >= 0
    w = None if weights is None else weights[keep]
    return np.bincount(m[keep], weights=w, minlength=len(cfg.months)).astype(float)


def _mean(cfg: SimConfig, t: np.ndarray, values: np.ndarray) -> np.ndarray:
    n = _count(cfg, t)
    s = _count(cfg, t, values)
    return np.divide(s, n, out=np.full_like(s, np.nan), where=n > 0)


def available_open_hours(cfg: SimConfig, funnel: FunnelResult) -> np.ndarray:
    """Open hours each role's people were employed, by role x month."""
    b = cfg.month_start_h
    start = np.maximum(funnel.rep_start_h[:, None], b[None, :-1])
    end = np.minimum(funnel.rep_leave_h[:, None], b[None, 1:])
    cal = cfg.calendar
    hours = np.where(end > start, cal.open_hours(np.minimum(end, b[-1])) - cal.open_hours(start), 0.0)
    out = np.zeros((len(cfg.roles), len(cfg.months)))
    np.add.at(out, funnel.rep_role, hours)
    return out


def headcount(cfg: SimConfig, funnel: FunnelResult) -> np.ndarray:
    """People in each role at each month end, by role x month."""
    ends = cfg.month_start_h[1:]
    present = (funnel.rep_start_h[:, None] < ends) & (funnel.rep_leave_h[:, None] > ends)
    out = np.zeros((len(cfg.roles), len(cfg.months)))
    np.add.at(out, funnel.rep_role, present.astype(float))
    return out


def _stage_metrics(cfg: SimConfig, leads: LeadDraws, f: FunnelResult) -> dict[str, np.ndarray]:
    k = len(cfg.stages)
    entered = {st.name: _count(cfg, f.entered_h[:, j]) for j, st in enumerate(cfg.stages)}
    qualified = f.entered_h[:, max(k - 2, 1) if k > 1 else 0]
    won_t = np.where(f.won, f.closed_h, np.nan)
    out = {
        "leads": _count(cfg, leads.arrived_h),
        "contacted": _count(cfg, f.first_contact_h),
        "qualified": _count(cfg, qualified),
        "opportunities": _count(cfg, f.entered_h[:, k - 1]),
        "won": _count(cfg, won_t),
        "revenue": _count(cfg, won_t, leads.deal_size),
        "dropped": _count(cfg, f.dropped_h),
        "first_response_h_mean": _mean(cfg, f.first_contact_h, f.first_contact_h - leads.arrived_h),
    }
    out.update({f"reached:{name}": v for name, v in entered.items()})
    if leads.source is not None:
        for j, name in enumerate(cfg.sources):
            mine = leads.source == j
            out[f"leads:source:{name}"] = _count(cfg, leads.arrived_h[mine])
            out[f"won:source:{name}"] = _count(cfg, won_t[mine])
    return out


def _people_metrics(cfg: SimConfig, f: FunnelResult) -> dict[str, np.ndarray]:
    avail, heads = available_open_hours(cfg, f), headcount(cfg, f)
    working = {int(r) for st in cfg.stages for r in np.unique(st.team)}
    if cfg.allocation is not None:
        working |= {int(r) for r in np.flatnonzero(cfg.allocation.sum(axis=(0, 1, 2)) > 0)}
    out: dict[str, np.ndarray] = {}
    for j, role in enumerate(cfg.roles):
        out[f"headcount:{role.name}"] = heads[j]
        out[f"leavers:{role.name}"] = _count(cfg, f.rep_leave_h[f.rep_role == j])
        if j in working:
            out[f"utilisation:{role.name}"] = np.divide(
                f.busy_open_h[j], avail[j], out=np.full(len(cfg.months), np.nan), where=avail[j] > 0)
            out[f"handled:{role.name}"] = f.handled[j].astype(float)
    return out


def _ticket_metrics(cfg: SimConfig, tickets: TicketResult) -> dict[str, np.ndarray]:
    t = tickets.arrived_h
    out = {
        "tickets": _count(cfg, t),
        "sla_attainment": _mean(cfg, t, tickets.met.astype(float)),
        "ticket_wait_s_mean": _mean(cfg, t, tickets.wait_s),
        "agents": tickets.agents.astype(float),
    }
    for j, tier in enumerate(cfg.support.tiers):
        mine = tickets.tier == j
        out[f"sla_attainment:{tier.name}"] = _mean(cfg, t[mine], tickets.met[mine].astype(float))
    return out


def monthly_metrics(cfg: SimConfig, leads: LeadDraws, funnel: FunnelResult,
                    tickets: TicketResult | None) -> pd.DataFrame:
    """Tidy frame with columns month, metric, value (one row per month and metric)."""
    metrics = _stage_metrics(cfg, leads, funnel) | _people_metrics(cfg, funnel)
    if tickets is not None:
        metrics |= _ticket_metrics(cfg, tickets)
    names = list(metrics)
    return pd.DataFrame({
        "month": np.tile(np.array(cfg.months, dtype=object), len(names)),
        "metric": np.repeat(np.array(names, dtype=object), len(cfg.months)),
        "value": np.concatenate([metrics[n] for n in names]),
    })
