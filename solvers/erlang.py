"""Erlang C (M/M/c) and Erlang A (M/M/c+M) staffing figures, stable for thousands of agents.

Offered load a = arrivals per second x handle time (Erlangs). Erlang B comes from the recursion
B(0) = 1, B(n) = a B(n-1) / (n + a B(n-1)), which never forms a factorial or a power of a, so it
neither overflows nor loses precision at hundreds or thousands of agents. With c agents and a < c:

    P(wait) = C = c B / (c - a (1 - B)),     SL(T) = 1 - C exp(-(c - a) T / AHT),
    ASA = C AHT / (c - a),                    occupancy = a / c.

Erlang A adds customers who abandon after an exponential patience with mean 1/theta. Its
birth-death chain (birth lambda, death min(n, c) mu + max(n - c, 0) theta) is solved in log space
and truncated where the queue-length probabilities fall below e^-45 of the mode. A customer who
arrives with k people queued ahead passes k + 1 phases (rates c mu + i theta, i = k..0) before a
server frees, and abandons at rate theta in each phase; answered-within-T shares come from that
phase chain's transient distribution (scipy `expm_multiply`). Service level there is the share
of *all* offered customers answered within T (an abandoner counts as not answered); ASA is the
mean wait of answered customers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import expm_multiply
from scipy.special import gammaln, logsumexp

_TAIL_LOG = 45.0  # queue probabilities below exp(-45) of the mode are dropped
_MAX_QUEUE = 2_000_000


@dataclass(frozen=True)
class StaffingFigures:
    """Agents needed for a service level and the figures they achieve.

    `agents` are on the phone at once; `scheduled_agents` = ceil(agents / (1 - shrinkage)).
    `service_level` is the share answered within the threshold, `asa_seconds` the average speed
    of answer (seconds), `occupancy` the share of agent time busy, `p_wait` the share that waits,
    `abandon_share` the share that abandons (0 under Erlang C).
    """

    agents: int
    scheduled_agents: int
    service_level: float
    asa_seconds: float
    occupancy: float
    p_wait: float
    abandon_share: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"agents": self.agents, "scheduled_agents": self.scheduled_agents,
                "service_level": self.service_level, "asa_seconds": self.asa_seconds,
                "occupancy": self.occupancy, "p_wait": self.p_wait,
                "abandon_share": self.abandon_share}


@dataclass(frozen=True)
class ErlangAFigures:
    """Erlang A figures for a given number of agents (shares, seconds)."""

    p_wait: float
    service_level: float
    asa_seconds: float
    abandon_share: float
    occupancy: float
    mean_queue: float


def _check(arrivals_per_hour: float, aht_seconds: float, within_seconds: float = 0.0,
           target: float | None = None, shrinkage: float = 0.0,
           patience_seconds: float | None = None, agents: int | None = None) -> None:
    if not (math.isfinite(arrivals_per_hour) and arrivals_per_hour >= 0):
        raise ValueError(f"arrivals per hour must be a finite number >= 0 (got {arrivals_per_hour})")
    if not (math.isfinite(aht_seconds) and aht_seconds > 0):
        raise ValueError(f"handle time must be > 0 seconds (got {aht_seconds})")
    if not (math.isfinite(within_seconds) and within_seconds >= 0):
        raise ValueError(f"answer-time threshold must be >= 0 seconds (got {within_seconds})")
    if target is not None and not (0 < target < 1):
        raise ValueError(f"service-level target must be a share strictly between 0 and 1 (got {target})")
    if not (0 <= shrinkage < 1):
        raise ValueError(f"shrinkage must be a share in [0, 1) (got {shrinkage})")
    if patience_seconds is not None and not (math.isfinite(patience_seconds) and patience_seconds > 0):
        raise ValueError(f"mean patience must be > 0 seconds (got {patience_seconds})")
    if agents is not None and agents < 0:
        raise ValueError(f"agents must be >= 0 (got {agents})")


def offered_load(arrivals_per_hour: float, aht_seconds: float) -> float:
    """Offered load in Erlangs: arrivals per hour x handle time (hours)."""
    return arrivals_per_hour * aht_seconds / 3600.0


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of an M/M/c/c system with `agents` servers and `load` Erlangs."""
    b = 1.0
    for n in range(1, agents + 1):
        b = load * b / (n + load * b)
    return b


def _c_from_b(agents: int, load: float, b: float) -> float:
    if agents <= load:
        return 1.0
    return agents * b / (agents - load * (1.0 - b))


def erlang_c(agents: int, arrivals_per_hour: float, aht_seconds: float) -> float:
    """Probability that an arriving customer waits (M/M/c); 1 when agents <= load."""
    _check(arrivals_per_hour, aht_seconds, agents=agents)
    load = offered_load(arrivals_per_hour, aht_seconds)
    if load == 0:
        return 0.0
    return _c_from_b(agents, load, erlang_b(agents, load))


def service_level(agents: int, arrivals_per_hour: float, aht_seconds: float,
                  within_seconds: float) -> float:
    """Share of customers answered within `within_seconds` (Erlang C); 0 when agents <= load."""
    _check(arrivals_per_hour, aht_seconds, within_seconds, agents=agents)
    load = offered_load(arrivals_per_hour, aht_seconds)
    if load == 0:
        return 1.0
    if agents <= load:
        return 0.0
    c = erlang_c(agents, arrivals_per_hour, aht_seconds)
    return 1.0 - c * math.exp(-(agents - load) * within_seconds / aht_seconds)


def asa(agents: int, arrivals_per_hour: float, aht_seconds: float) -> float:
    """Average speed of answer (seconds, Erlang C); infinite when agents <= load."""
    _check(arrivals_per_hour, aht_seconds, agents=agents)
    load = offered_load(arrivals_per_hour, aht_seconds)
    if load == 0:
        return 0.0
    if agents <= load:
        return math.inf
    return erlang_c(agents, arrivals_per_hour, aht_seconds) * aht_seconds / (agents - load)


def _erlang_a_state(agents: int, load: float, theta_aht: float) -> tuple[np.ndarray, np.ndarray]:
    """Normalised probabilities of n = 0..c-1 busy and of k = 0..K queued (n = c + k), rates per AHT."""
    n = np.arange(agents + 1)
    log_low = n * math.log(load) - gammaln(n + 1)
    size = max(64, int((load - agents) / theta_aht) + 64) if load > agents else 64
    while True:
        j = np.arange(1, size + 1)
        log_q = log_low[-1] + np.concatenate([[0.0], np.cumsum(math.log(load) - np.log(agents + j * theta_aht))])
        top = max(log_q.max(), log_low.max())
        if log_q[-1] < top - _TAIL_LOG or size >= _MAX_QUEUE:
            break
        size *= 2
    if log_q[-1] >= top - _TAIL_LOG:
        raise ValueError("Erlang A queue does not settle within 2,000,000 waiting customers; "
                         "patience is too long for this overload")
    total = logsumexp(np.concatenate([log_low[:-1], log_q]))
    return np.exp(log_low[:-1] - total), np.exp(log_q - total)


def _answered_within(agents: int, theta_aht: float, queued: np.ndarray, t_aht: float) -> np.ndarray:
    """Probability mass answered by time T (in AHT units) for customers starting in each phase."""
    k = len(queued)
    forward = agents + np.arange(k) * theta_aht  # phase i -> i-1 (or served from phase 0)
    served, abandoned = k, k + 1
    rows = np.concatenate([np.arange(k), np.arange(k), np.arange(k)])
    cols = np.concatenate([np.r_[served, np.arange(k - 1)], np.full(k, abandoned), np.arange(k)])
    vals = np.concatenate([forward, np.full(k, theta_aht), -(forward + theta_aht)])
    gen = sparse.csr_matrix((vals * t_aht, (rows, cols)), shape=(k + 2, k + 2))
    start = np.concatenate([queued, [0.0, 0.0]])
    return expm_multiply(gen.T, start)[served]


def erlang_a(agents: int, arrivals_per_hour: float, aht_seconds: float, patience_seconds: float,
             within_seconds: float) -> ErlangAFigures:
    """Erlang A (M/M/c+M) figures for `agents` agents and mean patience `patience_seconds`."""
    _check(arrivals_per_hour, aht_seconds, within_seconds, patience_seconds=patience_seconds,
           agents=agents)
    load = offered_load(arrivals_per_hour, aht_seconds)
    if load == 0:
        return ErlangAFigures(0.0, 1.0, 0.0, 0.0, 0.0, 0.0)
    theta = aht_seconds / patience_seconds  # abandonment rate per handle time
    low, queued = _erlang_a_state(agents, load, theta)
    k = np.arange(len(queued))
    mean_queue = float((k * queued).sum())
    rate = agents + k * theta + theta
    forward = (agents + k * theta) / rate
    answered_from = np.cumprod(forward)  # P(answered | arrive with k queued ahead)
    time_answered = answered_from * np.cumsum(1.0 / rate)  # E[wait; answered], in AHT units
    p_answered = float(low.sum() + (queued * answered_from).sum())
    asa_s = (float((queued * time_answered).sum()) / p_answered * aht_seconds if p_answered > 0
             else math.inf)
    if agents == 0:
        within = 0.0
    else:
        within = float(_answered_within(agents, theta, queued, within_seconds / aht_seconds))
    abandon = theta * mean_queue / load
    return ErlangAFigures(
        p_wait=float(queued.sum()),
        service_level=float(low.sum()) + within,
        asa_seconds=asa_s,
        abandon_share=abandon,
        occupancy=load * (1.0 - abandon) / agents if agents else 0.0,
        mean_queue=mean_queue,
    )


def _erlang_c_search(load: float, aht_seconds: float, target: float, within_seconds: float) -> int:
    b, n = 1.0, 0
    while True:
        n += 1
        b = load * b / (n + load * b)
        if n > load and 1.0 - _c_from_b(n, load, b) * math.exp(-(n - load) * within_seconds / aht_seconds) >= target:
            return n


def _erlang_a_search(arrivals_per_hour: float, aht_seconds: float, target: float,
                     within_seconds: float, patience_seconds: float) -> int:
    def ok(c: int) -> bool:
        return erlang_a(c, arrivals_per_hour, aht_seconds, patience_seconds, within_seconds).service_level >= target

    hi = 1
    while not ok(hi):
        hi *= 2
    lo = hi // 2  # ok(lo) is False (or lo == 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def agents_for_target(arrivals_per_hour: float, aht_seconds: float, target: float,
                      within_seconds: float, shrinkage: float = 0.0,
                      patience_seconds: float | None = None) -> StaffingFigures:
    """Fewest agents on the phone answering `target` of customers within `within_seconds`.

    Erlang C, or Erlang A when `patience_seconds` (mean patience) is given. Raises ValueError on
    an invalid argument. Zero arrivals need zero agents.
    """
    _check(arrivals_per_hour, aht_seconds, within_seconds, target, shrinkage, patience_seconds)
    load = offered_load(arrivals_per_hour, aht_seconds)
    if load == 0:
        return StaffingFigures(0, 0, 1.0, 0.0, 0.0, 0.0, 0.0)
    if patience_seconds is None:
        c = _erlang_c_search(load, aht_seconds, target, within_seconds)
        figures = (service_level(c, arrivals_per_hour, aht_seconds, within_seconds),
                   asa(c, arrivals_per_hour, aht_seconds), load / c,
                   erlang_c(c, arrivals_per_hour, aht_seconds), 0.0)
    else:
        c = _erlang_a_search(arrivals_per_hour, aht_seconds, target, within_seconds, patience_seconds)
        fa = erlang_a(c, arrivals_per_hour, aht_seconds, patience_seconds, within_seconds)
        figures = (fa.service_level, fa.asa_seconds, fa.occupancy, fa.p_wait, fa.abandon_share)
    scheduled = math.ceil(c / (1.0 - shrinkage) - 1e-9)
    return StaffingFigures(c, scheduled, *figures)


def agents_for_target_array(load: np.ndarray, aht_seconds: np.ndarray | float, target: float,
                            within_seconds: float) -> np.ndarray:
    """Erlang C agents needed for many offered loads (Erlangs) at once: one recursion, vectorised."""
    load = np.asarray(load, float)
    aht = np.broadcast_to(np.asarray(aht_seconds, float), load.shape)
    need = np.zeros(load.shape, dtype=np.int64)
    open_ = load > 0
    b = np.ones(load.shape)
    n = 0
    while open_.any():
        n += 1
        b = np.where(load > 0, load * b / (n + load * b), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            c = n * b / (n - load * (1.0 - b))
            sl = 1.0 - c * np.exp(-(n - load) * within_seconds / aht)
        hit = open_ & (n > load) & (sl >= target)
        need[hit] = n
        open_ &= ~hit
    return need
