"""Erlang C / A against published figures, scipy's Poisson law, a brute-force chain and a simulation."""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest
from scipy import stats

from solvers.erlang import (
    agents_for_target,
    agents_for_target_array,
    asa,
    erlang_a,
    erlang_b,
    erlang_c,
    service_level,
)


def poisson_erlang_c(c: int, load: float) -> float:
    """Independent Erlang C: B = pmf(c) / cdf(c) of Poisson(load), then C = B / (1 - rho (1 - B))."""
    b = stats.poisson.pmf(c, load) / stats.poisson.cdf(c, load)
    return b / (1.0 - load / c * (1.0 - b))


def test_published_reference_example() -> None:
    # REFERENCES.md: 100 calls per 30 min, AHT 180 s, 80 % in 20 s, 30 % shrinkage (pyworkforce, R ErlangC)
    f = agents_for_target(200.0, 180.0, 0.80, 20.0, shrinkage=0.30)
    assert f.agents == 14
    assert f.scheduled_agents == 20
    assert f.service_level == pytest.approx(0.88835, abs=5e-6)
    assert f.p_wait == pytest.approx(0.17413, abs=5e-6)
    assert f.asa_seconds == pytest.approx(7.836, abs=5e-4)
    assert f.occupancy == pytest.approx(0.714, abs=5e-4)
    assert f.abandon_share == 0.0


@pytest.mark.parametrize("load", [0.5, 3.7, 10.0, 87.3, 240.0, 499.5, 800.0])
def test_erlang_c_matches_poisson_up_to_hundreds_of_agents(load: float) -> None:
    aht = 300.0
    per_hour = load * 3600.0 / aht
    for c in (math.floor(load) + 1, math.floor(load) + 7, math.ceil(load * 1.2) + 2):
        expected_c = poisson_erlang_c(c, load)
        assert erlang_c(c, per_hour, aht) == pytest.approx(expected_c, abs=5e-5)
        expected_sl = 1.0 - expected_c * math.exp(-(c - load) * 20.0 / aht)
        assert service_level(c, per_hour, aht, 20.0) == pytest.approx(expected_sl, abs=5e-5)
        assert asa(c, per_hour, aht) == pytest.approx(expected_c * aht / (c - load), rel=1e-4)


@pytest.mark.parametrize("load", [2.0, 45.0, 510.0, 1500.0])
def test_agents_for_target_is_the_fewest_meeting_the_target(load: float) -> None:
    aht, target, within = 240.0, 0.9, 15.0
    f = agents_for_target(load * 3600.0 / aht, aht, target, within)

    def sl(c: int) -> float:
        if c <= load:
            return 0.0
        return 1.0 - poisson_erlang_c(c, load) * math.exp(-(c - load) * within / aht)

    assert sl(f.agents) >= target > sl(f.agents - 1)
    # square-root staffing (REFERENCES.md) lands within a few per cent
    assert abs(f.agents - (load + 1.3 * math.sqrt(load))) <= 0.06 * load + 3
    vector = agents_for_target_array(np.array([load, 0.0]), aht, target, within)
    assert vector.tolist() == [f.agents, 0]


def test_erlang_b_recursion_is_stable_for_thousands_of_agents() -> None:
    b = erlang_b(5000, 4900.0)
    assert b == pytest.approx(stats.poisson.pmf(5000, 4900.0) / stats.poisson.cdf(5000, 4900.0), rel=1e-8)


def test_overload_and_zero_load() -> None:
    assert erlang_c(5, 3600.0, 10.0) == 1.0  # load 10 Erlangs on 5 agents
    assert service_level(5, 3600.0, 10.0, 20.0) == 0.0
    assert asa(5, 3600.0, 10.0) == math.inf
    zero = agents_for_target(0.0, 180.0, 0.8, 20.0)
    assert zero.agents == 0 and zero.service_level == 1.0


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"arrivals_per_hour": -1.0}, "arrivals"),
        ({"aht_seconds": 0.0}, "handle time"),
        ({"target": 1.0}, "target"),
        ({"within_seconds": -5.0}, "threshold"),
        ({"shrinkage": 1.0}, "shrinkage"),
        ({"patience_seconds": 0.0}, "patience"),
    ],
)
def test_invalid_arguments_raise_value_error(kwargs: dict, fragment: str) -> None:
    args = {"arrivals_per_hour": 200.0, "aht_seconds": 180.0, "target": 0.8, "within_seconds": 20.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=fragment):
        agents_for_target(**args)


def test_erlang_a_with_long_patience_is_erlang_c() -> None:
    for per_hour, aht, c in ((200.0, 180.0, 14), (6000.0, 300.0, 520)):
        fa = erlang_a(c, per_hour, aht, patience_seconds=1e9, within_seconds=20.0)
        assert fa.service_level == pytest.approx(service_level(c, per_hour, aht, 20.0), abs=5e-5)
        assert fa.p_wait == pytest.approx(erlang_c(c, per_hour, aht), abs=5e-5)
        assert fa.asa_seconds == pytest.approx(asa(c, per_hour, aht), rel=1e-3)
        assert fa.abandon_share < 1e-5


def brute_force_stationary(c: int, lam: float, mu: float, theta: float, cap: int) -> np.ndarray:
    """Stationary law of the truncated birth-death chain, from its dense generator."""
    n = np.arange(cap + 1)
    q = np.zeros((cap + 1, cap + 1))
    q[n[:-1], n[:-1] + 1] = lam
    q[n[1:], n[1:] - 1] = np.minimum(n[1:], c) * mu + np.maximum(n[1:] - c, 0) * theta
    q[n, n] = -q.sum(axis=1)
    a = np.vstack([q.T, np.ones(cap + 1)])
    rhs = np.zeros(cap + 2)
    rhs[-1] = 1.0
    return np.linalg.lstsq(a, rhs, rcond=None)[0]


@pytest.mark.parametrize("c, per_hour, patience", [(3, 80.0, 60.0), (8, 200.0, 120.0), (5, 200.0, 30.0)])
def test_erlang_a_matches_brute_force_chain(c: int, per_hour: float, patience: float) -> None:
    aht = 180.0
    lam, mu, theta = per_hour / 3600.0, 1.0 / aht, 1.0 / patience
    pi = brute_force_stationary(c, lam, mu, theta, cap=c + 400)
    queue = np.maximum(np.arange(len(pi)) - c, 0)
    fa = erlang_a(c, per_hour, aht, patience, within_seconds=20.0)
    assert fa.p_wait == pytest.approx(pi[c:].sum(), abs=5e-5)
    assert fa.mean_queue == pytest.approx((queue * pi).sum(), abs=5e-5)
    assert fa.abandon_share == pytest.approx(theta * (queue * pi).sum() / lam, abs=5e-5)


def simulate_mmc_m(c: int, per_hour: float, aht: float, patience: float, within: float,
                   customers: int, seed: int) -> tuple[float, float]:
    """FCFS M/M/c+M by event order: share answered within `within`, mean wait of the answered."""
    rng = np.random.default_rng(seed)
    arrive = np.cumsum(rng.exponential(3600.0 / per_hour, customers))
    service = rng.exponential(aht, customers)
    limit = rng.exponential(patience, customers)
    free = [0.0] * c
    answered_within, waits = 0, []
    for t, s, p in zip(arrive.tolist(), service.tolist(), limit.tolist(), strict=True):
        wait = max(0.0, free[0] - t)
        if wait > p:
            continue
        heapq.heapreplace(free, t + wait + s)
        waits.append(wait)
        answered_within += wait <= within
    return answered_within / customers, float(np.mean(waits))


def test_erlang_a_service_level_and_asa_match_simulation() -> None:
    c, per_hour, aht, patience, within = 8, 200.0, 180.0, 90.0, 20.0
    fa = erlang_a(c, per_hour, aht, patience, within)
    sl, mean_wait = simulate_mmc_m(c, per_hour, aht, patience, within, customers=150_000, seed=7)
    assert fa.service_level == pytest.approx(sl, abs=0.01)
    assert fa.asa_seconds == pytest.approx(mean_wait, rel=0.05)


def test_erlang_a_needs_fewer_agents_than_erlang_c_under_heavy_load() -> None:
    c_only = agents_for_target(2000.0, 300.0, 0.8, 20.0)
    with_patience = agents_for_target(2000.0, 300.0, 0.8, 20.0, patience_seconds=60.0)
    assert with_patience.agents < c_only.agents
    fa = erlang_a(with_patience.agents - 1, 2000.0, 300.0, 60.0, 20.0)
    assert fa.service_level < 0.8 <= with_patience.service_level
