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
server frees, and abandons at rate theta in each phase; the time through those phases has a
closed-form law (a Beta law after the map x -> exp(-theta x)), so answered-within-T shares are
regularised incomplete beta functions. Service level there is the share
of *all* offered customers answered within T (an abandoner counts as not answered); ASA is the
mean wait of answered customers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import betainc, gammaln, logsumexp

_TAIL_LOG = 45.0  # queue probabilities below exp(-45) of the mode are dropped
_MAX_QUEUE = 200_000
_RECURSION_AGENTS = 5_000  # above this many agents Erlang B comes from scipy's Poisson law
MAX_LOAD = 100_000.0
"""Largest offered load accepted (Erlangs): a hundred thousand agents busy at once."""
MAX_AGENTS = 1_000_000
"""Largest number of agents accepted."""
MAX_SECONDS = 86_400.0
"""Longest handle time, answer-time threshold accepted (seconds: one day)."""
MIN_PATIENCE_SECONDS = 0.1
"""Shortest mean patience accepted (seconds)."""


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
    """Refuse arguments outside the ranges every function here answers quickly (ValueError)."""
    if not (math.isfinite(arrivals_per_hour) and arrivals_per_hour >= 0):
        raise ValueError(f"arrivals per hour must be a finite number >= 0 (got {arrivals_per_hour})")
    if not (math.isfinite(aht_seconds) and 0 < aht_seconds <= MAX_SECONDS):
        raise ValueError(f"handle time must be > 0 and at most {MAX_SECONDS:,.0f} seconds (got {aht_seconds})")
    if not (math.isfinite(within_seconds) and 0 <= within_seconds <= MAX_SECONDS):
        raise ValueError(f"answer-time threshold must be >= 0 and at most {MAX_SECONDS:,.0f} seconds "
                         f"(got {within_seconds})")
    if offered_load(arrivals_per_hour, aht_seconds) > MAX_LOAD:
        raise ValueError(f"offered load {offered_load(arrivals_per_hour, aht_seconds):,.6g} Erlangs "
                         f"(arrivals per hour x handle time) is above {MAX_LOAD:,.0f}")
    if target is not None and not (0 < target < 1):
        raise ValueError(f"service-level target must be a share strictly between 0 and 1 (got {target})")
    if not (0 <= shrinkage < 1):
        raise ValueError(f"shrinkage must be a share in [0, 1) (got {shrinkage})")
    if patience_seconds is not None and not (math.isfinite(patience_seconds)
                                             and MIN_PATIENCE_SECONDS <= patience_seconds <= 1e9):
        raise ValueError(f"mean patience must be from {MIN_PATIENCE_SECONDS} to 1e9 seconds (got {patience_seconds})")
    if agents is not None and not (0 <= agents <= MAX_AGENTS):
        raise ValueError(f"agents must be from 0 to {MAX_AGENTS:,} (got {agents})")


def offered_load(arrivals_per_hour: float, aht_seconds: float) -> float:
    """Offered load in Erlangs: arrivals per hour x handle time (hours)."""
    return arrivals_per_hour * aht_seconds / 3600.0


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of an M/M/c/c system with `agents` servers and `load` Erlangs.

    Up to _RECURSION_AGENTS by the recursion; above, as Poisson pmf(c) / cdf(c) in log space
    (the same value, in constant time)."""
    if agents > _RECURSION_AGENTS and load > 0:
        return float(math.exp(stats.poisson.logpmf(agents, load) - stats.poisson.logcdf(agents, load)))
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
    """Normalised probabilities of n = n0..c-1 busy and of k = 0..K queued (n = c + k), rates per AHT.

    n0 lies 12 standard deviations below the load (Poisson-like below c): the states under it hold
    less than e^-70 of the mass, so they are left out; callers use only the sum of the first part.
    """
    size = max(64, int((load - agents) / theta_aht) + 64) if load > agents else 64
    if size > _MAX_QUEUE:
        raise ValueError("Erlang A queue does not settle within 200,000 waiting customers; "
                         "patience is too long for this overload")
    n = np.arange(min(agents, max(0, int(load - 12.0 * math.sqrt(load)) - 50)), agents + 1)
    log_low = n * math.log(load) - gammaln(n + 1)
    while True:
        j = np.arange(1, size + 1)
        log_q = log_low[-1] + np.concatenate([[0.0], np.cumsum(math.log(load) - np.log(agents + j * theta_aht))])
        top = max(log_q.max(), log_low.max())
        if log_q[-1] < top - _TAIL_LOG or size >= _MAX_QUEUE:
            break
        size *= 2
    if log_q[-1] >= top - _TAIL_LOG:
        raise ValueError("Erlang A queue does not settle within 200,000 waiting customers; "
                         "patience is too long for this overload")
    total = logsumexp(np.concatenate([log_low[:-1], log_q]))
    return np.exp(log_low[:-1] - total), np.exp(log_q - total)


def _phase_times_within(agents: int, theta_aht: float, k: np.ndarray, t_aht: float) -> np.ndarray:
    """P(the k + 1 phases a customer with k queued ahead passes take at most T), T in AHT units.

    Phase i is left at total rate c + (i + 1) theta whether by reaching the next phase or by
    abandoning, so the time to be answered from phase k is the sum of Exp(theta (m + i)),
    i = 0..k, with m = c / theta + 1; exp(-theta x that sum) is a product of Beta(m + i, 1)
    laws, which is Beta(m, k + 1). Hence P(sum <= T) = I_p(k + 1, m), p = 1 - exp(-theta T):
    the regularised incomplete beta function, in closed form for every k at once.
    """
    p = -math.expm1(-theta_aht * t_aht)
    return betainc(k + 1.0, agents / theta_aht + 1.0, p)


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
        mass = queued * answered_from
        keep = mass > mass.max() * 1e-20  # the rest adds nothing a float can hold
        within = float((mass[keep] * _phase_times_within(agents, theta, k[keep], within_seconds / aht_seconds)).sum())
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
    """Fewest agents meeting the target under Erlang A: gallop up, then bisect (service level
    grows with agents). Raises ValueError when the answer lies where the queue is too long to
    compute (an agent count just below it could not be decided)."""
    undecided: set[int] = set()

    def ok(c: int) -> bool:
        try:
            return erlang_a(c, arrivals_per_hour, aht_seconds, patience_seconds, within_seconds).service_level >= target
        except ValueError:  # the queue at c agents is beyond _MAX_QUEUE
            undecided.add(c)
            return False

    # fewer than target x load agents answer less than `target` of the offered customers
    lo = max(0, math.ceil(target * offered_load(arrivals_per_hour, aht_seconds)) - 1)
    step = 1
    hi = lo + step
    while not ok(hi):
        lo, step = hi, step * 2
        hi = lo + step
        if hi > MAX_AGENTS:
            raise ValueError(f"more than {MAX_AGENTS:,} agents would be needed")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    if lo in undecided:
        raise ValueError("the Erlang A queue below the answer is longer than 200,000 waiting customers; "
                         "patience is too long for this load (use Erlang C: no --patience-seconds)")
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
    if load.size and not np.all(np.isfinite(load) & (load <= MAX_LOAD)):
        raise ValueError(f"offered load {np.nanmax(load):,.6g} Erlangs is above {MAX_LOAD:,.0f} (or not finite)")
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
