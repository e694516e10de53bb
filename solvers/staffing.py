"""Support staffing: agents on the phone needed per month (and per hour of the week) by Erlang C/A.

Tiers served by one team share one first-come-first-served queue, so the team is staffed on the
pooled load (arrivals summed, handle time their arrival-weighted mean) to the strictest of the
tiers' targets: agents = max over tiers of the agents that pooled queue needs to answer tier k's
`target` within tier k's `within_seconds`. Queue priorities are ignored here (the simulation
applies them); staffing the pooled FCFS queue to every tier's target is conservative for the
first-served tier and exact for the others when handle times are alike.

Without an arrival pattern the month's tickets arrive evenly over its open hours. With a pattern
of 168 non-negative weights (hour of the week, Monday 00:00 first; 0 = closed), arrivals in a
week hour are the month's tickets x weight / sum of weights / weeks in the month, where weeks =
open hours per month / open hours per week; each week hour is staffed on its own and the month
needs weeks x the sum over week hours of agents on-phone hours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solvers.erlang import agents_for_target, agents_for_target_array, asa, erlang_a, service_level

WEEK_HOURS = 168


@dataclass(frozen=True)
class SupportLoad:
    """Tickets per month by tier (K x T), each tier's handle time (seconds), target share and
    threshold (seconds); open hours per month; mean patience (seconds) for Erlang A or None;
    an optional 168-weight hour-of-week arrival pattern."""

    tickets_per_month: np.ndarray
    aht_seconds: np.ndarray
    target: np.ndarray
    within_seconds: np.ndarray
    open_hours_per_month: float
    patience_seconds: float | None = None
    pattern: np.ndarray | None = None


@dataclass(frozen=True)
class Requirement:
    """Per month (length T): on-phone agent hours needed, agents on the phone (average over open
    hours, rounded up; the Erlang answer itself without a pattern), pooled arrivals per open hour,
    pooled handle time (seconds) and the index of the binding tier. `hourly` is T x 168 agents per
    week hour when a pattern is given."""

    agent_hours: np.ndarray
    agents: np.ndarray
    arrivals_per_hour: np.ndarray
    aht_seconds: np.ndarray
    binding_tier: np.ndarray
    hourly: np.ndarray | None = None


def _pooled(load: SupportLoad, tickets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pooled tickets (T) and arrival-weighted handle time (T, seconds)."""
    total = tickets.sum(axis=0)
    weighted = (tickets * load.aht_seconds[:, None]).sum(axis=0)
    aht = np.divide(weighted, total, out=np.full(total.shape, float(load.aht_seconds.mean())),
                    where=total > 0)
    return total, aht


def _agents(per_hour: np.ndarray, aht: np.ndarray, load: SupportLoad) -> tuple[np.ndarray, np.ndarray]:
    """Agents for every tier's target on pooled arrivals (any shape); max over tiers and its argmax."""
    need = []
    for k in range(len(load.target)):
        if load.patience_seconds is None:
            need.append(agents_for_target_array(per_hour * aht / 3600.0, aht, float(load.target[k]),
                                                float(load.within_seconds[k])))
        else:
            need.append(_erlang_a_grid(per_hour, aht, load, k))
    stack = np.stack(need)
    return stack.max(axis=0), stack.argmax(axis=0)


def _erlang_a_grid(per_hour: np.ndarray, aht: np.ndarray, load: SupportLoad, k: int) -> np.ndarray:
    out = np.zeros(per_hour.shape, dtype=np.int64)
    cache: dict[tuple[float, float], int] = {}
    for pos in np.ndindex(per_hour.shape):
        key = (round(float(per_hour[pos]), 6), round(float(aht[pos]), 6))
        if key not in cache:
            cache[key] = agents_for_target(key[0], key[1], float(load.target[k]),
                                           float(load.within_seconds[k]),
                                           patience_seconds=load.patience_seconds).agents
        out[pos] = cache[key]
    return out


def required_agents(load: SupportLoad) -> Requirement:
    """Agents needed each month (see the module docstring for pooling and the hourly pattern)."""
    tickets, aht = _pooled(load, np.asarray(load.tickets_per_month, float))
    open_h = load.open_hours_per_month
    per_hour = tickets / open_h
    if load.pattern is None:
        agents, binding = _agents(per_hour, aht, load)
        return Requirement(agents * open_h, agents, per_hour, aht, binding)
    w = np.asarray(load.pattern, float)
    weeks = open_h / np.count_nonzero(w)
    slot = tickets[:, None] * (w / w.sum())[None, :] / weeks
    slot_aht = np.broadcast_to(aht[:, None], slot.shape)
    hourly, binding = _agents(slot, slot_aht, load)
    hours = weeks * hourly.sum(axis=1)
    busiest = np.argmax(slot, axis=1)
    return Requirement(hours, np.ceil(hours / open_h - 1e-9).astype(np.int64), per_hour, aht,
                       binding[np.arange(len(busiest)), busiest], hourly)


def hourly_on_phone(req: Requirement, planned_agents: np.ndarray) -> np.ndarray | None:
    """Agents on the phone per month x week hour (T x 168) for `planned_agents` (the month's
    average over open hours): each week hour gets its required agents scaled by planned /
    required, capped at 1 and rounded down. None without an arrival pattern."""
    if req.hourly is None:
        return None
    planned = np.asarray(planned_agents, float)
    share = np.divide(planned, req.agents, out=np.ones(len(planned)), where=req.agents > 0)
    return np.floor(req.hourly * np.minimum(share, 1.0)[:, None] + 1e-9).astype(np.int64)


def achieved(load: SupportLoad, req: Requirement, planned_agents: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Service level (share within the binding tier's threshold) and ASA (seconds) per month with
    `planned_agents` on the phone. With a pattern, each week hour has `hourly_on_phone` agents
    and the month's figures are arrival-weighted means."""
    t = len(planned_agents)
    sl, wait = np.zeros(t), np.zeros(t)
    on_phone = hourly_on_phone(req, planned_agents)
    for m in range(t):
        within = float(load.within_seconds[req.binding_tier[m]])
        if load.pattern is None:
            sl[m], wait[m] = _figures(int(planned_agents[m]), req.arrivals_per_hour[m],
                                      req.aht_seconds[m], within, load.patience_seconds)
            continue
        w = np.asarray(load.pattern, float)
        weeks = load.open_hours_per_month / np.count_nonzero(w)
        slots = np.flatnonzero(w)
        arrivals = req.arrivals_per_hour[m] * load.open_hours_per_month * w[slots] / w.sum() / weeks
        figs = [_figures(int(on_phone[m, h]), a, req.aht_seconds[m], within, load.patience_seconds)
                for h, a in zip(slots, arrivals, strict=True)]
        weight = arrivals / arrivals.sum() if arrivals.sum() > 0 else np.full(len(slots), 1 / len(slots))
        sl[m] = float(np.dot(weight, [f[0] for f in figs]))
        wait[m] = float(np.dot(weight, [f[1] for f in figs]))
    return sl, wait


def _figures(agents: int, per_hour: float, aht: float, within: float,
             patience: float | None) -> tuple[float, float]:
    if per_hour <= 0:
        return 1.0, 0.0
    if patience is None:
        return service_level(agents, per_hour, aht, within), asa(agents, per_hour, aht)
    fa = erlang_a(agents, per_hour, aht, patience, within)
    return fa.service_level, fa.asa_seconds
