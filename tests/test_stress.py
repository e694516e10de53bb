"""Stress search: the `--until` condition, probe statistics, and a breaking point known by hand
(the arrival rate at which an M/M/c queue's Erlang C service level falls below its target)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, stats
from sweep_fixtures import MMC, write

from engine.batch.stress import parse_until, replication_seeds, stress_search, summarise_probe
from engine.errors import InputError


def test_parse_until() -> None:
    u = parse_until("simulation.totals.sla_attainment.p50 < 0.8")
    assert (u.metric, u.op, u.value) == ("simulation.totals.sla_attainment.p50", "<", 0.8)
    assert u.broken(0.79) and not u.broken(0.8)
    assert parse_until("headline.base.margin>=1e6").op == ">="
    for bad, words in (("sla < ", "not a condition"), ("simulation.x == 3", "not a condition"),
                       ("simulation.x < abc", "not a number"), ("simulaton.x < 1", "did you mean"),
                       ("simulation.x < nan", "not finite")):
        with pytest.raises(InputError) as info:
            parse_until(bad)
        assert words in info.value.problems[0].format()


def test_probe_interval_and_confidence_are_t_based() -> None:
    until = parse_until("simulation.x < 0.8")
    values = np.array([0.78, 0.79, 0.80, 0.77])
    p = summarise_probe(3.0, values, until)
    se = values.std(ddof=1) / 2
    assert p.mean == pytest.approx(0.785) and p.broken
    assert p.ci_high - p.mean == pytest.approx(stats.t.ppf(0.975, 3) * se)
    assert p.confidence == pytest.approx(stats.t.cdf(0.015 / se, 3))
    assert replication_seeds(5, 3) == replication_seeds(5, 3) != replication_seeds(6, 3)


def _erlang_c_service_level(arrivals_per_hour: float, agents: int, aht_h: float, within_h: float) -> float:
    """P(wait <= within) in M/M/c: 1 - C(c, A) exp(-(c - A) within / AHT), A = lambda x AHT."""
    a = arrivals_per_hour * aht_h
    if a >= agents:
        return 0.0
    tail = a**agents / math.factorial(agents) * agents / (agents - a)
    p_wait = tail / (sum(a**k / math.factorial(k) for k in range(agents)) + tail)
    return 1.0 - p_wait * math.exp(-(agents - a) * within_h / aht_h)


def test_stress_finds_the_erlang_c_breaking_point(tmp_path: Path) -> None:
    scenario = write(tmp_path, "mmc.yaml", MMC)
    hours = 31 * 24  # January, open 24/7
    # Tickets per customer-month at which the M/M/5 service level (20 s, AHT 360 s) is 80 %.
    exact = optimize.brentq(lambda t: _erlang_c_service_level(1000 * t / hours, 5, 0.1, 20 / 3600) - 0.8,
                            5, 40, xtol=1e-9)
    result = stress_search(scenario, "support.tiers.0.tickets_per_customer_month", 10, 40,
                           "simulation.totals.sla_attainment.p50 < 0.8", replications=3, seed=11,
                           tolerance=0.25)
    assert result.status == "found"
    assert result.first_broken - result.last_ok <= 0.25
    # The simulated month starts empty and is finite: allow 0.6 tickets/customer-month (~3 %).
    assert result.last_ok - 0.6 <= exact <= result.first_broken + 0.6, (exact, result.text())
    assert result.probes[0].x == 10 and not result.probes[0].broken and result.probes[1].broken
    assert 0.0 <= result.confidence <= 1.0


def test_no_crossing_and_bad_path(tmp_path: Path) -> None:
    scenario = write(tmp_path, "mmc.yaml", MMC)
    result = stress_search(scenario, "support.tiers.0.tickets_per_customer_month", 2, 5,
                           "simulation.totals.sla_attainment.p50 < 0.8", replications=1, seed=1)
    assert result.status == "not_broken" and result.last_ok == 5 and result.first_broken is None
    assert str(result).startswith("not broken up to support.tiers.0.tickets_per_customer_month = 5")
    pooled = stress_search(scenario, "support.tiers.0.tickets_per_customer_month", 2, 5,
                           "simulation.totals.sla_attainment.p50 < 0.8", replications=1, seed=1, workers=2)
    assert pooled.probes == result.probes  # same seeds, same numbers, whichever process runs them
    with pytest.raises(InputError) as info:
        stress_search(scenario, "support.tiers.0.tickets_per_custmer_month", 2, 5,
                      "simulation.totals.sla_attainment.p50 < 0.8")
    assert "tickets_per_custmer_month" in info.value.problems[0].format()
