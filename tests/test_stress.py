"""Stress search: the `--until` condition and metric names, bootstrap intervals that stay in
range, a breaking point known by hand (the arrival rate at which an M/M/c queue's Erlang C
service level falls below its target), and a frozen plan that stays frozen while --replan does not."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize
from sweep_fixtures import MMC, PLANNED, write

from engine.batch.stress import bootstrap_interval, parse_until, stress_search, summarise_probe
from engine.errors import InputError


def test_parse_until_accepts_catalogue_names_and_paths() -> None:
    u = parse_until("simulation.totals.sla_attainment.p50 < 0.8")
    assert (u.metric, u.op, u.value) == ("simulation.totals.sla_attainment.p50", "<", 0.8)
    assert u.broken(0.79) and not u.broken(0.8)
    assert parse_until("win_rate < 0.02").ref.path == "simulation.totals.win_rate.p50"
    assert parse_until("simulation.win_rate.p90 < 0.02").ref.path == "simulation.totals.win_rate.p90"
    assert parse_until("plan.win_rate<0.1").ref.path == "plan_totals.base.win_rate"
    assert parse_until("headline.base.margin>=1e6").op == ">="
    for bad, words in (("sla < ", "not a condition"), ("simulation.x == 3", "not a condition"),
                       ("simulation.x < abc", "not a number"), ("win_rat < 1", "did you mean 'win_rate'"),
                       ("simulation.x < nan", "not finite")):
        with pytest.raises(InputError) as info:
            parse_until(bad)
        assert words in info.value.problems[0].format()


@pytest.mark.parametrize("values", [
    np.array([0.0, 0.0, 0.0, 1.0, 3.0]),          # a count near 0 (dropped leads)
    np.array([0.0, 0.0, 0.0, 0.0, 2.0]),
    np.array([0.97, 1.0, 1.0, 0.99, 1.0]),        # a share near 1
    np.array([0.0, 0.001, 0.0, 0.0, 0.0])])       # a share near 0
def test_intervals_never_leave_the_range(values: np.ndarray) -> None:
    for q in (10, 50, 90):
        low, high = bootstrap_interval(values, q, seed=3)
        assert values.min() <= low <= np.percentile(values, q) <= high <= values.max()
    # the t interval this replaces: mean 0.8, 95 % CI [-0.9, 2.5] for the first count
    until = parse_until("dropped > 5")
    p = summarise_probe(1.0, values, until, seed=3, plan=None)
    assert p.low >= 0 and p.value == pytest.approx(np.median(values))
    assert (p.p10, p.p50, p.p90) == pytest.approx(tuple(np.percentile(values, [10, 50, 90])))


def test_bootstrap_covers_a_known_median() -> None:
    """Percentile bootstrap of a median: ~95 % coverage for 15 draws of a uniform (median 0.5)."""
    rng = np.random.default_rng(7)
    hits = [lo <= 0.5 <= hi for lo, hi in (bootstrap_interval(rng.random(15), 50, seed=i, draws=400)
                                           for i in range(300))]
    assert 0.88 <= np.mean(hits) <= 0.995


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
    seen = []
    result = stress_search(scenario, "support.tiers.0.tickets_per_customer_month", 10, 40,
                           "sla_attainment < 0.8", replications=3, seed=11, tolerance=0.25,
                           progress=seen.append)
    assert result.status == "found" and seen == result.probes
    assert result.first_broken - result.last_ok <= 0.25
    # The simulated month starts empty and is finite: allow 0.6 tickets/customer-month (~3 %).
    assert result.last_ok - 0.6 <= exact <= result.first_broken + 0.6, (exact, result.text())
    assert result.last_ok <= result.estimate <= result.first_broken
    low, high = result.interval
    assert low is not None and high is not None and low <= result.estimate <= high
    assert result.probes[0].x == 10 and not result.probes[0].broken and result.probes[1].broken
    assert all(0.0 <= p.low <= p.value <= p.high <= 1.0 for p in result.probes)
    assert result.sentence().startswith("support.tiers.0.tickets_per_customer_month can reach about")


def test_no_crossing_and_bad_path(tmp_path: Path) -> None:
    scenario = write(tmp_path, "mmc.yaml", MMC)
    result = stress_search(scenario, "support.tiers.0.tickets_per_customer_month", 2, 5,
                           "simulation.totals.sla_attainment.p50 < 0.8", replications=2, seed=1)
    assert result.status == "not_broken" and result.last_ok == 5 and result.first_broken is None
    assert str(result).startswith("Not broken up to support.tiers.0.tickets_per_customer_month = 5")
    pooled = stress_search(scenario, "support.tiers.0.tickets_per_customer_month", 2, 5,
                           "simulation.totals.sla_attainment.p50 < 0.8", replications=2, seed=1, workers=2)
    strip = [(p.x, p.values) for p in pooled.probes]
    assert strip == [(p.x, p.values) for p in result.probes]  # same seeds, same numbers, any process
    with pytest.raises(InputError) as info:
        stress_search(scenario, "support.tiers.0.tickets_per_custmer_month", 2, 5,
                      "simulation.totals.sla_attainment.p50 < 0.8")
    assert "tickets_per_custmer_month" in info.value.problems[0].format()


def test_frozen_plan_keeps_its_headcount_and_replan_does_not(tmp_path: Path) -> None:
    scenario = write(tmp_path, "planned.yaml", PLANNED)
    args = (scenario, "demand.scale", 1.0, 4.0, "win_rate < 0.001")
    frozen = stress_search(*args, replications=2, seed=3, tolerance=1.5)
    replanned = stress_search(*args, replications=2, seed=3, tolerance=1.5, replan=True)
    assert frozen.frozen and not replanned.frozen
    assert [p.x for p in frozen.probes] == [p.x for p in replanned.probes] == [1.0, 4.0]
    first = frozen.probes[0].headcount
    assert first and all(p.headcount == first for p in frozen.probes)
    assert replanned.probes[0].headcount == first  # at the scenario's own value both plans agree
    assert replanned.probes[1].hires > frozen.probes[1].hires  # 4x the leads: the optimiser hires
    # more leads through the same people: the frozen plan's win rate falls, common random numbers
    assert frozen.probes[1].value < frozen.probes[0].value


def test_frozen_plan_from_a_run_folder(tmp_path: Path) -> None:
    from engine.run import RunOptions, run_scenario

    scenario = write(tmp_path, "planned.yaml", PLANNED)
    folder = run_scenario(scenario, tmp_path / "run", RunOptions())
    from_file = stress_search(scenario, "demand.scale", 1.0, 4.0, "win_rate < 0.001", replications=2,
                              seed=3, tolerance=3)
    from_run = stress_search(folder, "demand.scale", 1.0, 4.0, "win_rate < 0.001", replications=2,
                             seed=3, tolerance=3)
    assert from_run.plan_source.startswith("read from")
    assert [p.headcount for p in from_run.probes] == [p.headcount for p in from_file.probes]
    for a, b in zip(from_run.probes, from_file.probes, strict=True):
        assert a.values == pytest.approx(b.values, rel=1e-9)
