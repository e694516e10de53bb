"""Support staffing: pooled tiers and hour-of-week patterns against scalar Erlang computations."""

from __future__ import annotations

import numpy as np
import pytest

from solvers.erlang import agents_for_target, service_level
from solvers.staffing import SupportLoad, achieved, required_agents


def load(tickets: np.ndarray, pattern: np.ndarray | None = None, patience: float | None = None) -> SupportLoad:
    return SupportLoad(tickets_per_month=np.asarray(tickets, float), aht_seconds=np.array([180.0, 180.0]),
                       target=np.array([0.8, 0.9]), within_seconds=np.array([20.0, 30.0]),
                       open_hours_per_month=160.0, patience_seconds=patience, pattern=pattern)


def test_tiers_are_pooled_and_staffed_to_the_strictest_target() -> None:
    tickets = np.array([[16000.0, 32000.0], [16000.0, 0.0]])  # 2 tiers x 2 months
    req = required_agents(load(tickets))
    for m, per_hour in enumerate(tickets.sum(axis=0) / 160.0):
        expected = max(agents_for_target(per_hour, 180.0, 0.8, 20.0).agents,
                       agents_for_target(per_hour, 180.0, 0.9, 30.0).agents)
        assert req.agents[m] == expected
        assert req.agent_hours[m] == pytest.approx(expected * 160.0)


def test_flat_pattern_equals_even_arrivals_and_each_week_hour_is_staffed() -> None:
    tickets = np.array([[8000.0], [8000.0]])
    even = required_agents(load(tickets))
    pattern = np.zeros(168)
    pattern[[9, 10, 11, 12]] = 1.0  # four open hours a week, 40 weeks in 160 open hours
    flat = required_agents(load(tickets, pattern))
    assert flat.agent_hours == pytest.approx(even.agent_hours)
    pattern[[9, 10]] = 3.0  # the morning carries three times the afternoon's load
    peaky = required_agents(load(tickets, pattern))
    weeks = 160.0 / 4
    per_hour = 16000.0 / weeks * np.array([3, 3, 1, 1]) / 8
    slot_agents = [max(agents_for_target(a, 180.0, 0.8, 20.0).agents,
                       agents_for_target(a, 180.0, 0.9, 30.0).agents) for a in per_hour]
    assert peaky.agent_hours[0] == pytest.approx(weeks * sum(slot_agents))
    assert peaky.agents[0] == int(np.ceil(weeks * sum(slot_agents) / 160.0))


def test_achieved_service_level_at_the_planned_agents() -> None:
    tickets = np.array([[16000.0, 16000.0], [16000.0, 16000.0]])
    ld = load(tickets)
    req = required_agents(ld)
    sl, asa_s = achieved(ld, req, np.array([req.agents[0], req.agents[1] - 3]))
    within = ld.within_seconds[req.binding_tier[1]]
    assert sl[1] == pytest.approx(service_level(int(req.agents[1] - 3), 200.0, 180.0, within))
    assert sl[0] >= 0.8 > sl[1]


def test_erlang_a_staffing_needs_no_more_than_erlang_c() -> None:
    tickets = np.array([[30000.0], [30000.0]])
    assert required_agents(load(tickets, patience=60.0)).agents[0] <= required_agents(load(tickets)).agents[0]
