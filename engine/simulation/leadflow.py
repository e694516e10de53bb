"""The lead-flow event loop of one replication, on a SimPy environment of our own
(`LeadFlowEnvironment`: the handlers push their events onto its public `heap`).

Speed matters (a million leads in under a minute), so there is no SimPy process per lead and no
`simpy.Resource`: events are bare `Timeout`s with one callback, queues are `heapq` heaps of
tuples, per-lead randomness was drawn up front in numpy (`sim_arrivals`), and per-lead results go
into preallocated columns. Working calendars are arithmetic (`sim_calendar`).

Rules, in one place:
- Each role is a team with one pool of unowned items; a free rep takes the item with the best key
  (later stage first, then higher score, then first come), from its own follow-ups or the pool.
  When several reps are free, `round_robin` picks the one free longest and `least_loaded` the one
  holding the fewest open items, then the one with the fewest work hours so far.
- A lead stays with the rep who last worked it while the next stage is for the same role
  (follow-ups wait in that rep's own queue); it goes back to the pool when the rep has left.
- A rep holding `max_open` items after the first stage takes no new such item from the pool.
- An unowned item not picked up within `wait_limit_h` is dropped (checked when it would be picked,
  which gives the same outcome as a timer and costs no event). A pool that has doubled since it was
  last swept is swept of such items at once (the same drop hour: arrival + limit), so the heaps
  stay as small as the leads still waiting instead of growing with every lead never worked.
- Ramp: a rep in tenure month j works at `ramp[j]` speed (work takes 1 / ramp[j] as long).
- Month length: work started in month m takes `month_work_factor[m]` times as long (the month's
  open hours over the mean), so a saturated rep delivers the plan's capacity in every month.
- Speed-to-lead: the first stage's conversion is multiplied by
  floor + (1 - floor) * 0.5 ** (first-contact delay / half-life).

Arrivals are SimPy events only while a rep who could take a new lead is free. When every such rep
is busy, an arrival would only join the pool, so the chain of arrival events pauses and the leads
that arrive meanwhile join the pool when a rep next looks at it, with the time and place in the
queue their own event would have given them; the chain resumes as soon as such a rep is free. At
high volume most leads wait, so this saves most arrival events without changing any outcome.
"""

from __future__ import annotations

import bisect
import gc
import heapq
import math
from array import array
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy
from simpy.events import NORMAL, Event

from engine.scenario.shocks import leave_hour
from engine.simulation.arrivals import LeadDraws
from engine.simulation.config import SimConfig
from engine.simulation.event_loop import LeadFlowEnvironment

NOT_HIRED = -(10**6)
"""Start month of the people there at hour 0: far enough back to be fully ramped."""
CALENDAR_MARGIN_H = 24 * 365.0
"""Work finishing this long after the horizon end still uses the tabulated calendar."""
SWEEP_MIN_ITEMS = 256
"""A pool is swept of expired items when it holds more than this and twice what it kept last time."""


class Call(Event):
    """An already-triggered SimPy event with one callback and a payload (a lean `Timeout`).

    `ok` and `value` are plain attributes here (SimPy's are properties over private fields), so
    `LeadFlowEnvironment.step()` reads an outcome without a call."""

    ok = True
    value: object = None

    def __init__(self, env: simpy.Environment, fn: Callable[[Call], None], value: object):
        self.callbacks = [fn]
        self.value = value


def _doubles(values: np.ndarray) -> array:
    """A flat C array of doubles: list-fast scalar access at 8 bytes per value."""
    out = array("d")
    out.frombytes(memoryview(np.ascontiguousarray(values, dtype=np.float64).ravel()).cast("B"))
    return out


def _numpy(values: array) -> np.ndarray:
    return np.frombuffer(values, dtype=np.float64).copy()


def arrival_event_times(arrived_h: np.ndarray) -> array:
    """The simulation time of each arrival as a chain of events, each scheduled by the one before
    with delay max(next - now, 0), gives it: float addition can land an ulp off the drawn hour, and
    the event loop must see the same times whether or not the chain pauses."""
    out = _doubles(arrived_h)
    now = 0.0
    for i, t in enumerate(out):
        delay = t - now
        now = now + (delay if delay > 0.0 else 0.0)
        out[i] = now
    return out


@dataclass
class FunnelResult:
    """Per-lead outcome columns (NaN = did not happen within the horizon) and per-rep records."""

    first_contact_h: np.ndarray
    rep: np.ndarray
    """Index of the rep who worked the furthest stage reached (-1 = nobody)."""
    stage_reached: np.ndarray
    entered_h: np.ndarray
    """Hour each lead entered each stage [n, k]."""
    won: np.ndarray
    closed_h: np.ndarray
    """Hour of the final outcome (won, lost or dropped)."""
    dropped_h: np.ndarray
    rep_role: np.ndarray
    rep_name: list[str]
    rep_start_h: np.ndarray
    rep_leave_h: np.ndarray
    """Hour each rep left (inf = stayed past the horizon)."""
    busy_open_h: np.ndarray
    """Open hours of work started by each role in each month [roles, months]."""
    handled: np.ndarray
    """Items whose work started, by role and month [roles, months]."""
    rep_start_month: np.ndarray | None = None
    """Month index each rep started in (NOT_HIRED for the people there at hour 0)."""


class FunnelModel:
    """One replication's state and event handlers; `run()` returns a FunnelResult."""

    def __init__(self, cfg: SimConfig, leads: LeadDraws, people_seed: np.random.SeedSequence):
        self.cfg, self.env = cfg, LeadFlowEnvironment()
        self.cal = cfg.calendar.scalar(float(cfg.month_start_h[-1]) + CALENDAR_MARGIN_H)
        self.bounds = [float(b) for b in cfg.month_start_h]
        self.horizon = self.bounds[-1]
        self.n_stages = k = len(cfg.stages)
        n = leads.n
        self.t_arr = _doubles(leads.arrived_h)
        self.prio = _doubles(-leads.score if cfg.score_priority else np.zeros(n))
        self.team = array("q", leads.team.astype(np.int64).ravel().tobytes())
        self.t_event = arrival_event_times(leads.arrived_h)
        self.n_leads = n
        self.next_arrival = 0
        """First lead not yet in a queue (the lead of the pending arrival event while the chain runs)."""
        self.arrivals_running = True  # run() starts the chain after the first hires and month
        self.entry_roles = np.unique(leads.team[:, 0]).tolist() if n and k else []
        """Roles that take first-stage items: a free rep of one of them keeps the arrival chain running."""
        # work, conversion probability, uniform draw and buyer delay of (lead, stage) side by side:
        # one cache line per stage visit instead of four scattered reads
        self.rec = _doubles(np.stack([leads.work_open_h, leads.p_convert, leads.u_convert,
                                      leads.delay_h], axis=-1))
        self.first_contact = _doubles(np.full(n, np.nan))
        self.rep_of = array("q", np.full(n, -1, dtype=np.int64).tobytes())
        self.reached = array("q", bytes(8 * n))
        self.entered = _doubles(np.full(n * k, np.nan))
        self.won = array("b", bytes(n))
        self.closed = _doubles(np.full(n, np.nan))
        self.dropped = _doubles(np.full(n, np.nan))
        self.held_by = array("q", np.full(n, -1, dtype=np.int64).tobytes())
        self._init_people(people_seed)
        self.seq = 0
        self.cur_month, self.next_bound = 0, 0.0
        self.heap, self.ids = self.env.heap, self.env.ids  # what env.schedule pushes onto
        self.half_life, self.floor = cfg.speed_half_life_h, cfg.speed_floor
        self.limit = cfg.wait_limit_h
        self.sweep_at = {id(heap): SWEEP_MIN_ITEMS if math.isfinite(self.limit) else math.inf
                         for heap in (*self.pool0, *self.poolc)}

    def _init_people(self, seed: np.random.SeedSequence) -> None:
        cfg = self.cfg
        roles = len(cfg.roles)
        self.role_rng = [np.random.default_rng(s) for s in seed.spawn(roles)]
        self.rep_role: list[int] = []
        self.rep_name: list[str] = []
        self.rep_start_m: list[int] = []
        self.rep_start_h: list[float] = []
        self.rep_leave_h: list[float] = []
        self.alive: list[bool] = []
        self.busy: list[bool] = []
        self.held: list[int] = []
        self.stamp: list[int] = []
        self.free_since: list[float] = []
        self.worked: list[float] = []
        self.own_q: list[list] = []
        self.role_count = [0] * roles
        self.pool0: list[list] = [[] for _ in range(roles)]
        self.poolc: list[list] = [[] for _ in range(roles)]
        self.free_open: list[list] = [[] for _ in range(roles)]
        self.free_cap: list[list] = [[] for _ in range(roles)]
        self.extra_hires = np.zeros((len(cfg.months) + 1, roles), dtype=np.int64)
        self.busy_open = [[0.0] * len(cfg.months) for _ in range(roles)]
        self.handled = [[0] * len(cfg.months) for _ in range(roles)]
        self.ramp = [list(r.ramp) for r in cfg.roles]
        self.cap = cfg.max_open if cfg.max_open is not None else 1 << 62
        factor = cfg.month_work_factor
        self.month_factor = [1.0] * len(cfg.months) if factor is None else [float(x) for x in factor]
        self.least_loaded = cfg.routing == "least_loaded"

    # -- scheduling -------------------------------------------------------------------------
    def _at(self, delay: float, fn: Callable[[Call], None], value: object) -> None:
        self.env.schedule(Call(self.env, fn, value), NORMAL, delay if delay > 0.0 else 0.0)

    def _month(self, t: float) -> int:
        m = bisect.bisect_right(self.bounds, t) - 1
        return m if m < len(self.bounds) - 2 else len(self.bounds) - 2

    # -- people -----------------------------------------------------------------------------
    def _hire(self, role: int, month: int) -> None:
        r = len(self.rep_role)
        spec = self.cfg.roles[role]
        self.role_count[role] += 1
        start = self.bounds[month] if month >= 0 else 0.0
        leave = math.inf
        if self.cfg.attrition and spec.attrition_per_hour > 0:
            if spec.attrition_factor is None:
                leave = start + float(self.role_rng[role].exponential(1.0 / spec.attrition_per_hour))
            else:  # the same Exp(1) draw, through the shocked hazard: common random numbers
                leave = leave_hour(start, float(self.role_rng[role].exponential(1.0)), spec.attrition_per_hour,
                                   np.asarray(spec.attrition_factor), np.asarray(self.cfg.month_start_h, dtype=float))
        self.rep_role.append(role)
        self.rep_name.append(f"{spec.name}-{self.role_count[role]}")
        self.rep_start_m.append(month if month >= 0 else NOT_HIRED)
        self.rep_start_h.append(start)
        self.rep_leave_h.append(leave)
        self.alive.append(True)
        self.busy.append(False)
        self.held.append(0)
        self.stamp.append(0)
        self.free_since.append(self.env.clock)
        self.worked.append(0.0)
        self.own_q.append([])
        if leave < self.horizon:
            self._at(leave - self.env.clock, self._on_leave, r)
        self._next_item(r)

    def _on_month(self, ev: Call) -> None:
        m = ev.value
        self.cur_month, self.next_bound = m, self.bounds[m + 1]
        for role, spec in enumerate(self.cfg.roles):
            for _ in range(spec.hires[m] + int(self.extra_hires[m, role])):
                self._hire(role, m)
        if m + 1 < len(self.cfg.months):
            self._at(self.bounds[m + 1] - self.env.clock, self._on_month, m + 1)

    def _on_leave(self, ev: Call) -> None:
        r = ev.value
        self.alive[r] = False
        role = self.rep_role[r]
        for entry in self.own_q[r]:
            self._to_pool(role, entry[4], entry[3])
        self.own_q[r] = []
        if self.cfg.backfill == "leavers":
            start = self._month(self.env.clock) + self.cfg.roles[role].lead_time_months + 1
            freeze = self.cfg.roles[role].hiring_factor
            while freeze is not None and start < len(self.cfg.months) and freeze[start] <= 0.0:
                start += 1  # a hiring freeze postpones the backfill to its first open month
            if start < len(self.cfg.months):
                self.extra_hires[start, role] += 1
        self._dispatch(role)

    # -- queues -----------------------------------------------------------------------------
    def _set_free(self, r: int) -> None:
        self.stamp[r] += 1
        if self.least_loaded:
            key, tie = float(self.held[r]), self.worked[r]
        else:
            key, tie = self.free_since[r], 0.0
        heap = self.free_open if self.held[r] < self.cap else self.free_cap
        role = self.rep_role[r]
        heapq.heappush(heap[role], (key, tie, r, self.stamp[r]))
        if not self.arrivals_running and role in self.entry_roles:
            self._resume_arrivals()

    def _pop_free(self, heap: list) -> int:
        while heap:
            _, _, r, stamp = heap[0]
            if stamp == self.stamp[r] and self.alive[r] and not self.busy[r]:
                return r
            heapq.heappop(heap)
        return -1

    def _any_free_entry_rep(self) -> bool:
        """Is a rep who could take a new lead free now?"""
        for role in self.entry_roles:
            if self._pop_free(self.free_open[role]) >= 0 or self._pop_free(self.free_cap[role]) >= 0:
                return True
        return False

    def _dispatch(self, role: int) -> None:
        """Give free reps of `role` work while the pool has items they may take."""
        while self.pool0[role] or self.poolc[role]:
            r = self._pop_free(self.free_open[role])
            if r < 0 and self.pool0[role]:
                r = self._pop_free(self.free_cap[role])
            if r < 0 or not self._next_item(r):
                return

    def _to_pool(self, role: int, k: int, i: int) -> None:
        self.seq += 1
        entry = (-k, self.prio[i], self.seq, i, k, self.env.clock)
        heap = self.pool0[role] if k == 0 else self.poolc[role]
        heapq.heappush(heap, entry)
        if len(heap) > self.sweep_at[id(heap)]:
            self._sweep(heap)

    def _sweep(self, heap: list) -> None:
        """Drop every item of `heap` past its wait limit now, as picking it would (dropped at arrival
        + limit); the items kept are in the same order, so nobody's next pick changes."""
        limit, now = self.limit, self.env.clock
        kept = []
        for entry in heap:
            if now - entry[5] > limit:
                self._drop(entry[3], entry[5] + limit)
            else:
                kept.append(entry)
        heapq.heapify(kept)
        heap[:] = kept
        self.sweep_at[id(heap)] = max(SWEEP_MIN_ITEMS, 2 * len(kept))

    def _release(self, i: int) -> None:
        r = self.held_by[i]
        self.held_by[i] = -1
        self.held[r] -= 1
        if self.alive[r] and not self.busy[r]:
            if self.held[r] == self.cap - 1:
                self._next_item(r)
            elif self.least_loaded:
                self._set_free(r)

    def _enqueue(self, i: int, k: int) -> None:
        ik = i * self.n_stages + k
        self.entered[ik] = self.env.clock
        self.reached[i] = k
        role = self.team[ik]
        o = self.rep_of[i]  # the lead's owner: the rep who last worked it
        if self.held_by[i] >= 0 and self.rep_role[self.held_by[i]] != role:
            self._release(i)
        if o >= 0 and self.rep_role[o] == role and self.alive[o]:
            self.seq += 1
            heapq.heappush(self.own_q[o], (-k, self.prio[i], self.seq, i, k, self.env.clock))
            if not self.busy[o]:
                self._next_item(o)
            return
        if self.held_by[i] >= 0:
            self._release(i)
        self._to_pool(role, k, i)
        self._dispatch(role)

    def _next_item(self, r: int) -> bool:
        """Start rep r on its best item; if there is none, mark it free. True if it started."""
        role = self.rep_role[r]
        limit, now = self.limit, self.env.clock
        if not self.arrivals_running:
            self._join_arrivals(now)
        own, p0 = self.own_q[r], self.pool0[role]
        pc = self.poolc[role] if self.held[r] < self.cap else None
        while True:
            best = own if own else None
            if p0 and (best is None or p0[0] < best[0]):
                best = p0
            if pc and (best is None or pc[0] < best[0]):
                best = pc
            if best is None:
                self._set_free(r)
                return False
            entry = heapq.heappop(best)
            if best is not own and now - entry[5] > limit:
                self._drop(entry[3], entry[5] + limit)
                continue
            self._start(r, entry[3], entry[4])
            return True

    def _drop(self, i: int, t: float) -> None:
        self.dropped[i] = t
        self.closed[i] = t

    # -- work and outcomes ------------------------------------------------------------------
    def _start(self, r: int, i: int, k: int) -> None:
        env = self.env
        now = env.clock
        self.busy[r] = True
        self.stamp[r] += 1
        if k == 0:
            fc = self.first_contact[i]
            if fc != fc:
                self.first_contact[i] = self.cal.next_open(now)
        else:
            if self.held_by[i] != r:
                self.held_by[i] = r
                self.held[r] += 1
        self.rep_of[i] = r
        role = self.rep_role[r]
        m = self.cur_month if now < self.next_bound else self._month(now)
        tenure = m - self.rep_start_m[r]
        ramp = self.ramp[role]
        work = self.rec[4 * (i * self.n_stages + k)] * self.month_factor[m]
        if 0 <= tenure < len(ramp):
            work /= ramp[tenure]
        self.busy_open[role][m] += work
        self.worked[r] += work
        self.handled[role][m] += 1
        delay = self.cal.finish(now, work) - now
        heapq.heappush(self.heap, (now + (delay if delay > 0.0 else 0.0), NORMAL, next(self.ids),
                                    Call(env, self._on_done, (r, i, k))))

    def _on_done(self, ev: Call) -> None:
        r, i, k = ev.value
        now = self.env.clock
        self.busy[r] = False
        self.free_since[r] = now
        b = 4 * (i * self.n_stages + k)
        rec = self.rec
        p = rec[b + 1]
        if k == 0 and self.half_life is not None:
            wait = self.first_contact[i] - self.t_arr[i]
            floor = self.floor
            p *= floor + (1.0 - floor) * 0.5 ** (wait / self.half_life)
        outcome = now + rec[b + 3]
        converted = rec[b + 2] < p
        delay = outcome - now
        at = now + (delay if delay > 0.0 else 0.0)  # as env.schedule(event, NORMAL, delay) computes it
        if converted and k + 1 < self.n_stages:
            heapq.heappush(self.heap, (at, NORMAL, next(self.ids), Call(self.env, self._on_advance, (i, k + 1))))
        else:
            if outcome <= self.horizon:
                self.closed[i] = outcome
                self.won[i] = converted
            if self.held_by[i] >= 0:
                heapq.heappush(self.heap, (at, NORMAL, next(self.ids), Call(self.env, self._on_outcome, i)))
        if self.alive[r]:
            self._next_item(r)

    def _on_advance(self, ev: Call) -> None:
        i, k = ev.value
        self._enqueue(i, k)

    def _on_outcome(self, ev: Call) -> None:
        if self.held_by[ev.value] >= 0:
            self._release(ev.value)

    def _on_arrival(self, ev: Call) -> None:
        i = ev.value
        self.next_arrival = i + 1
        self._enqueue(i, 0)
        if i + 1 < self.n_leads and self._any_free_entry_rep():
            self._arrival_event(i + 1)
        else:
            self.arrivals_running = False

    def _arrival_event(self, i: int) -> None:
        """Schedule lead i's arrival at its chain time (never before now: leads before it joined)."""
        self.arrivals_running = True
        self.env.at(self.t_event[i], Call(self.env, self._on_arrival, i))

    def _join_arrivals(self, now: float, sweep: bool = True) -> None:
        """Put the leads that arrived before `now` while the chain was paused into the pool, as their
        arrival events would have (every rep who could take them was busy, so that is all they did)."""
        i, n, t_event = self.next_arrival, self.n_leads, self.t_event
        if i >= n or t_event[i] >= now:
            return
        k, team, prio, entered, reached = self.n_stages, self.team, self.prio, self.entered, self.reached
        pool0, push = self.pool0, heapq.heappush
        while i < n and t_event[i] < now:
            t, ik = t_event[i], i * k
            entered[ik] = t
            reached[i] = 0
            self.seq += 1
            push(pool0[team[ik]], (0, prio[i], self.seq, i, 0, t))
            i += 1
        self.next_arrival = i
        for heap in pool0 if sweep else ():
            if len(heap) > self.sweep_at[id(heap)]:
                self._sweep(heap)

    def _resume_arrivals(self) -> None:
        self._join_arrivals(self.env.clock)
        if self.next_arrival < self.n_leads:
            self._arrival_event(self.next_arrival)

    # -- run --------------------------------------------------------------------------------
    def run(self) -> FunnelResult:
        for role, spec in enumerate(self.cfg.roles):
            for _ in range(spec.headcount_start):
                self._hire(role, -1)
        self._at(0.0, self._on_month, 0)
        if self.n_leads:
            self._arrival_event(0)
        else:
            self.arrivals_running = False
        collecting = gc.isenabled()
        gc.disable()  # millions of short-lived tuples and events, no garbage cycles: skip the scans
        try:
            self.env.run(until=self.horizon)
        finally:
            if collecting:
                gc.enable()
        self._drop_expired()
        return FunnelResult(
            first_contact_h=_numpy(self.first_contact),
            rep=np.frombuffer(self.rep_of, dtype=np.int64).copy(),
            stage_reached=np.frombuffer(self.reached, dtype=np.int64).copy(),
            entered_h=_numpy(self.entered).reshape(-1, self.n_stages),
            won=np.frombuffer(self.won, dtype=np.int8).astype(bool), closed_h=_numpy(self.closed),
            dropped_h=_numpy(self.dropped), rep_role=np.array(self.rep_role, dtype=np.int64),
            rep_name=self.rep_name, rep_start_h=np.array(self.rep_start_h),
            rep_leave_h=np.array(self.rep_leave_h), busy_open_h=np.array(self.busy_open),
            handled=np.array(self.handled, dtype=np.int64),
            rep_start_month=np.array(self.rep_start_m, dtype=np.int64))

    def _drop_expired(self) -> None:
        """Items still unowned at the horizon end whose wait limit has passed count as dropped."""
        if not self.arrivals_running:
            self._join_arrivals(self.horizon, sweep=False)  # the expiry rule at the end is below
        entries = [entry for heap in (*self.pool0, *self.poolc) for entry in heap]
        if not entries:
            return
        lead = np.fromiter((entry[3] for entry in entries), dtype=np.int64, count=len(entries))
        limit_h = np.fromiter((entry[5] for entry in entries), dtype=np.float64, count=len(entries))
        limit_h += self.limit
        expired = limit_h <= self.horizon
        for column in (self.dropped, self.closed):
            np.frombuffer(column, dtype=np.float64)[lead[expired]] = limit_h[expired]


def run_funnel(cfg: SimConfig, leads: LeadDraws, people_seed: np.random.SeedSequence) -> FunnelResult:
    """Simulate the lead flow of one replication over the horizon."""
    return FunnelModel(cfg, leads, people_seed).run()
