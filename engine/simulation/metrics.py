"""Monthly metrics of one replication as a tidy frame (month, metric, value).

Counts are attributed to the month the event happened in:
- `leads` (arrivals), `contacted` (first contact made), `reached:<stage>` (entered the stage),
  `qualified` (entered the stage before the last), `opportunities` (entered the last stage),
  `won` and `revenue` (currency; by close month), `dropped` (waited past the limit, by drop month);
- `first_response_h_mean`, `first_response_p50_h`, `first_response_p90_h`, `first_response_max_h`:
  mean, median, 90th percentile and longest wall-clock hours from arrival to first contact, by
  contact month; `never_contacted`: leads never contacted within the horizon, by arrival month;
- per role: `headcount:<role>` (at month end), `fte:<role>` (people employed over the month: their
  open hours over the month's), `effective:<role>` (the same weighted by each person's ramp share,
  the quota capacity of engine/reconcile/money.py), `leavers:<role>`, and for roles that work stages
  `handled:<role>` (items started) and `utilisation:<role>` (open hours of work started in the month
  over the open hours its people were employed; a ramping rep counts as fully busy);
- with support: `tickets`, `agents`, `sla_attainment` (share answered within the tier's threshold,
  also per tier as `sla_attainment:<tier>`, with its tickets `tickets:<tier>`), `ticket_wait_s_mean` (seconds), by arrival month.
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


def month_labels(cfg: SimConfig, t: np.ndarray) -> np.ndarray:
    """`YYYY-MM` label of the month each hour falls in, as the monthly counts attribute it ('' outside)."""
    m = _month_of(cfg, np.asarray(t, dtype=float))
    labels = np.array([*cfg.months, ""], dtype=object)
    return labels[np.where(m >= 0, m, len(cfg.months))]


def _count(cfg: SimConfig, t: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    m = _month_of(cfg, t)
    keep = m >= 0
    w = None if weights is None else weights[keep]
    return np.bincount(m[keep], weights=w, minlength=len(cfg.months)).astype(float)


def _mean(cfg: SimConfig, t: np.ndarray, values: np.ndarray) -> np.ndarray:
    n = _count(cfg, t)
    s = _count(cfg, t, values)
    return np.divide(s, n, out=np.full_like(s, np.nan), where=n > 0)


def _quantile(cfg: SimConfig, t: np.ndarray, values: np.ndarray, q: float) -> np.ndarray:
    """Per month (of `t`): the q-quantile (0-1) of `values`; NaN in a month with none."""
    m = _month_of(cfg, t)
    keep = m >= 0
    out = np.full(len(cfg.months), np.nan)
    if keep.any():
        by = pd.Series(values[keep]).groupby(m[keep])
        got = by.max() if q >= 1.0 else by.quantile(q)
        out[got.index.to_numpy()] = got.to_numpy()
    return out


def first_response_totals(arrived_h: np.ndarray, first_contact_h: np.ndarray) -> dict[str, float]:
    """Over the horizon: p50, p90 and max wall hours from arrival to first contact of the leads
    contacted, and the leads never contacted (dropped, or still waiting at the horizon end)."""
    wait = first_contact_h - arrived_h
    done = wait[np.isfinite(wait)]
    out = {"never_contacted": float(np.isnan(first_contact_h).sum())}
    p50, p90, top = (np.percentile(done, [50, 90]).tolist() + [float(done.max())]) if done.size \
        else (np.nan, np.nan, np.nan)
    out.update({"first_response_p50_h": p50, "first_response_p90_h": p90, "first_response_max_h": top})
    return out


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


def employed_people(cfg: SimConfig, funnel: FunnelResult) -> tuple[np.ndarray, np.ndarray]:
    """People employed over each month (FTE) and the same weighted by ramp share, by role x month."""
    b = cfg.month_start_h
    cal = cfg.calendar
    month_open = np.diff(cal.open_hours(b))
    start = np.maximum(funnel.rep_start_h[:, None], b[None, :-1])
    end = np.minimum(funnel.rep_leave_h[:, None], b[None, 1:])
    hours = np.where(end > start, cal.open_hours(np.minimum(end, b[-1])) - cal.open_hours(start), 0.0)
    share = np.divide(hours, month_open[None, :], out=np.zeros_like(hours), where=month_open[None, :] > 0)
    ramp_share = np.ones_like(share)
    if funnel.rep_start_month is not None:
        tenure = np.arange(len(cfg.months))[None, :] - funnel.rep_start_month[:, None]
        for role, spec in enumerate(cfg.roles):
            ramp = np.asarray(spec.ramp or (1.0,), dtype=float)
            mine = funnel.rep_role == role
            j = tenure[mine]
            ramp_share[mine] = np.where((j >= 0) & (j < len(ramp)), ramp[np.clip(j, 0, len(ramp) - 1)], 1.0)
    fte = np.zeros((len(cfg.roles), len(cfg.months)))
    eff = np.zeros_like(fte)
    np.add.at(fte, funnel.rep_role, share)
    np.add.at(eff, funnel.rep_role, share * ramp_share)
    return fte, eff


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
        "never_contacted": _count(cfg, leads.arrived_h[np.isnan(f.first_contact_h)]),
    }
    wait = f.first_contact_h - leads.arrived_h
    for name, q in (("first_response_p50_h", 0.5), ("first_response_p90_h", 0.9), ("first_response_max_h", 1.0)):
        out[name] = _quantile(cfg, f.first_contact_h, wait, q)
    out.update({f"reached:{name}": v for name, v in entered.items()})
    if leads.source is not None:
        for j, name in enumerate(cfg.sources):
            mine = leads.source == j
            out[f"leads:source:{name}"] = _count(cfg, leads.arrived_h[mine])
            out[f"won:source:{name}"] = _count(cfg, won_t[mine])
    return out


def _people_metrics(cfg: SimConfig, f: FunnelResult) -> dict[str, np.ndarray]:
    avail, heads = available_open_hours(cfg, f), headcount(cfg, f)
    fte, effective = employed_people(cfg, f)
    working = {int(r) for st in cfg.stages for r in np.unique(st.team)}
    if cfg.allocation is not None:
        working |= {int(r) for r in np.flatnonzero(cfg.allocation.sum(axis=(0, 1, 2)) > 0)}
    out: dict[str, np.ndarray] = {}
    for j, role in enumerate(cfg.roles):
        out[f"headcount:{role.name}"] = heads[j]
        out[f"fte:{role.name}"] = fte[j]
        out[f"effective:{role.name}"] = effective[j]
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
        out[f"tickets:{tier.name}"] = _count(cfg, t[mine])
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
