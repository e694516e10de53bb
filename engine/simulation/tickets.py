"""Support tickets of one replication: customers -> tickets -> a priority queue of agents.

Customers of a tier are `customers_start` plus the deals won in segments of that tier, thinned by
`monthly_churn` in expectation. A month's tickets are Poisson(tickets_per_customer_month x
customer-months) placed uniformly in the month's open hours, or, with `support.arrival_pattern`,
in its clock hours in proportion to the pattern's week-hour weights. Agents (from the staffing
plan, or the support role's simulated headcount x (1 - shrinkage)) serve them during open hours
(with a pattern: the week hours the plan staffs, as many as it puts there) with exponential
handle times, the lowest `priority` number first, then first come first served.
Tickets do not feed back into the funnel, so they are simulated after it, per replication.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from engine.simulation.config import SimConfig, SupportSpec
from engine.simulation.worktime import WEEK_H, WorkCalendar


@dataclass
class TicketResult:
    arrived_h: np.ndarray
    tier: np.ndarray
    wait_s: np.ndarray
    """Seconds from arrival to the start of service (censored at the horizon end if unserved)."""
    met: np.ndarray
    """Answered within the tier's `within_s`."""
    agents: np.ndarray
    """Agents on the floor per month."""


def customer_months(cfg: SimConfig, won_h: np.ndarray, won_segment: np.ndarray) -> np.ndarray:
    """Expected customer-months by month x tier (churn applied in expectation)."""
    sup = cfg.support
    bounds = cfg.month_start_h
    n_months, n_tiers = len(cfg.months), len(sup.tiers)
    keep = won_h < bounds[-1]
    month = np.clip(np.searchsorted(bounds, won_h[keep], side="right") - 1, 0, n_months - 1)
    tier = sup.segment_tier[won_segment[keep]]
    first = (bounds[month + 1] - won_h[keep]) / (bounds[month + 1] - bounds[month])
    partial = np.zeros((n_months, n_tiers))
    np.add.at(partial, (month, tier), first)
    new = np.zeros((n_months, n_tiers))
    np.add.at(new, (month, tier), 1.0)
    survive = 1.0 - sup.churn_per_month
    stock = np.array([t.customers_start for t in sup.tiers], dtype=float)
    out = np.zeros((n_months, n_tiers))
    for m in range(n_months):
        out[m] = stock + partial[m]
        stock = (stock + new[m]) * survive
    return out


def agents_per_month(cfg: SimConfig, rep_role: np.ndarray, start_h: np.ndarray,
                     leave_h: np.ndarray) -> np.ndarray:
    """Staffing-plan agents, else support headcount at each month start x (1 - shrinkage), rounded."""
    sup = cfg.support
    if sup.agents is not None:
        return np.asarray(sup.agents, dtype=np.int64)
    b = cfg.month_start_h[:-1, None]
    mine = rep_role == sup.role
    present = ((start_h[mine] <= b) & (leave_h[mine] > b)).sum(axis=1)
    return np.rint(present * (1.0 - sup.shrinkage)).astype(np.int64)


def week_hour(cfg: SimConfig, hours: np.ndarray) -> np.ndarray:
    """Hour of the week (0 = Monday 00:00-01:00) of whole clock hours from the horizon start."""
    return ((hours + int(cfg.support.week_offset_h)) % int(WEEK_H)).astype(np.int64)


def _pattern_times(cfg: SimConfig, month: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Arrival times of tickets in months `month` (sorted ascending): each falls in a clock hour
    of its month chosen with probability proportional to the pattern's weight for that week
    hour, uniformly within the hour."""
    bounds = cfg.month_start_h
    out = np.empty(len(month))
    edges = np.searchsorted(month, np.arange(len(bounds)))
    for m in range(len(bounds) - 1):
        lo, hi = edges[m], edges[m + 1]
        if hi == lo:
            continue
        hours = np.arange(math.floor(bounds[m]), math.ceil(bounds[m + 1]))
        weight = cfg.support.week_pattern[week_hour(cfg, hours)]
        picked = rng.choice(hours, size=hi - lo, p=weight / weight.sum())
        out[lo:hi] = np.clip(picked + rng.random(hi - lo), bounds[m], bounds[m + 1])
    return out


def draw_tickets(cfg: SimConfig, cm: np.ndarray, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrival hour, tier and handle time (hours) of every ticket, sorted by arrival."""
    tiers = cfg.support.tiers
    rate = np.array([t.tickets_per_customer_month for t in tiers])
    counts = rng.poisson(cm * rate)
    m, j = (np.repeat(ix.ravel(), counts.ravel()) for ix in np.indices(counts.shape))
    if cfg.support.week_pattern is not None:
        t = _pattern_times(cfg, m, rng)
    else:
        w_bounds = cfg.calendar.open_hours(cfg.month_start_h)
        w = w_bounds[m] + rng.random(len(m)) * (w_bounds[m + 1] - w_bounds[m])
        t = np.minimum(cfg.calendar.wall_time(w), cfg.month_start_h[m + 1])
    aht_h = np.array([tier.aht_s for tier in tiers]) / 3600.0
    handle = rng.exponential(1.0, len(m)) * aht_h[j]
    order = np.argsort(t, kind="stable")
    return t[order], j[order], handle[order]


def roster(cfg: SimConfig, agents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """When the number of agents changes and to what: (start hours, agents), the horizon end
    appended to the start hours. Month starts with `agents[m]`; with an hour-of-week pattern,
    every clock hour with the plan's agents for that week hour (or, without an hourly plan, the
    month's agents in the hours the pattern opens)."""
    bounds = cfg.month_start_h
    sup = cfg.support
    if sup.week_pattern is None:
        return bounds, np.asarray(agents, dtype=np.int64)
    hours = np.arange(math.ceil(bounds[-1]) + 1, dtype=float)
    hours[-1] = bounds[-1]
    month = np.clip(np.searchsorted(bounds, hours[:-1], side="right") - 1, 0, len(bounds) - 2)
    slot = week_hour(cfg, hours[:-1].astype(np.int64))
    if sup.hourly_agents is not None:
        return hours, sup.hourly_agents[month, slot]
    return hours, np.where(sup.week_pattern[slot] > 0, np.asarray(agents)[month], 0).astype(np.int64)


def serve_tickets(cfg: SimConfig, agents: np.ndarray, t: np.ndarray, tier: np.ndarray,
                  handle_h: np.ndarray) -> np.ndarray:
    """Hour each ticket's service started (NaN = still waiting at the horizon end).

    A non-preemptive priority queue with `agents[m]` servers in month m (or the hour-of-week
    roster, see `roster`). Arrivals are known in advance, so this is a merged loop over three
    time-ordered sources (arrivals, completions, roster changes) with plain heaps: ten times
    cheaper than a SimPy event per ticket, same semantics. Agents cut at a roster change finish
    the ticket in hand. With a pattern the roster is the support calendar (agents work the hours
    it staffs), otherwise agents work the scenario calendar's open hours.
    """
    horizon_h = float(cfg.month_start_h[-1])
    patterned = cfg.support.week_pattern is not None
    calendar = WorkCalendar.always_open() if patterned else cfg.calendar
    cal = calendar.scalar(horizon_h + 24 * 365.0)
    change_h, on_duty = roster(cfg, agents)
    bounds, caps = change_h.tolist(), on_duty.tolist()
    arrive, kind, handle = t.tolist(), tier.tolist(), handle_h.tolist()
    prio = [tr.priority for tr in cfg.support.tiers]
    start = [math.nan] * len(arrive)
    waiting: list[tuple[int, int]] = []
    done: list[float] = []
    horizon, n, i, m = bounds[-1], len(arrive), 0, 0
    capacity = caps[0] if caps else 0
    t_month = bounds[1] if len(caps) > 1 else math.inf
    next_open, finish, push, pop = cal.next_open, cal.finish, heapq.heappush, heapq.heappop
    while True:
        t_arr = arrive[i] if i < n else math.inf
        if min(t_arr, t_month, done[0] if done else math.inf) >= horizon:
            break
        if done and done[0] <= t_arr and done[0] <= t_month:
            now = pop(done)
        elif t_month <= t_arr:
            now, m = t_month, m + 1
            capacity = caps[m]
            t_month = bounds[m + 1] if m + 1 < len(caps) else math.inf
        else:
            now = t_arr
            if not waiting and len(done) < capacity:  # served on arrival: skip the queue
                start[i] = next_open(now)
                push(done, finish(now, handle[i]))
                i += 1
                continue
            push(waiting, (prio[kind[i]], i))
            i += 1
        while waiting and len(done) < capacity:
            _, j = pop(waiting)
            start[j] = next_open(now)
            push(done, finish(now, handle[j]))
    return np.array(start, dtype=float)


def run_support(cfg: SimConfig, won_h: np.ndarray, won_segment: np.ndarray, agents: np.ndarray,
                seed: np.random.SeedSequence) -> TicketResult:
    """Tickets of one replication and how long each waited."""
    sup: SupportSpec = cfg.support
    t, tier, handle = draw_tickets(cfg, customer_months(cfg, won_h, won_segment),
                                   np.random.default_rng(seed))
    start = serve_tickets(cfg, agents, t, tier, handle)
    wait_s = (np.where(np.isnan(start), cfg.horizon_h, start) - t) * 3600.0
    within = np.array([tr.within_s for tr in sup.tiers])[tier]
    return TicketResult(t, tier, wait_s, ~np.isnan(start) & (wait_s <= within), agents)
