"""Erlang calls answer quickly or refuse (issue 21): bounded arguments, a closed-form
answered-within law for Erlang A checked against the phase chain's matrix exponential."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
from scipy import sparse
from scipy.sparse.linalg import expm_multiply

from engine.cli import main
from solvers import erlang
from solvers.erlang import agents_for_target, erlang_a, erlang_b


def _chain_within(agents: int, theta: float, queued: np.ndarray, t: float) -> float:
    """Answered within t (AHT units) from the phase chain's transient law (matrix exponential)."""
    k = len(queued)
    forward = agents + np.arange(k) * theta
    served, abandoned = k, k + 1
    rows = np.concatenate([np.arange(k)] * 3)
    cols = np.concatenate([np.r_[served, np.arange(k - 1)], np.full(k, abandoned), np.arange(k)])
    vals = np.concatenate([forward, np.full(k, theta), -(forward + theta)])
    gen = sparse.csr_matrix((vals * t, (rows, cols)), shape=(k + 2, k + 2))
    return float(expm_multiply(gen.T, np.concatenate([queued, [0.0, 0.0]]))[served])


@pytest.mark.parametrize(("agents", "load", "theta", "t"), [
    (1, 0.5, 0.3, 0.5), (3, 2.5, 1.0, 0.05), (10, 9.0, 0.01, 3.0), (50, 60.0, 5.0, 0.5), (10, 45.0, 0.3, 0.5)])
def test_closed_form_matches_the_phase_chain(agents: int, load: float, theta: float, t: float) -> None:
    low, queued = erlang._erlang_a_state(agents, load, theta)
    k = np.arange(len(queued))
    answered_from = agents / (agents + (k + 1) * theta)  # telescoping product of forward shares
    closed = float((queued * answered_from * erlang._phase_times_within(agents, theta, k, t)).sum())
    assert closed == pytest.approx(_chain_within(agents, theta, queued, t), abs=1e-12)


def test_erlang_b_by_poisson_law_above_the_recursion_range() -> None:
    load, agents = 5_500.0, 5_600
    b = 1.0
    for n in range(1, agents + 1):
        b = load * b / (n + load * b)
    assert erlang_b(agents, load) == pytest.approx(b, rel=1e-9)


@pytest.mark.parametrize(("args", "message"), [
    (["--arrivals-per-hour", "100", "--patience-seconds", "1e-9"], "mean patience must be from 0.1 to 1e9 seconds"),
    (["--arrivals-per-hour", "100", "--patience-seconds", "0.001"], "mean patience must be from 0.1"),
    (["--arrivals-per-hour", "1e12"], "offered load 5e+10 Erlangs (arrivals per hour x handle time) is above 100,000"),
    (["--arrivals-per-hour", "inf"], "arrivals per hour must be a finite number"),
    (["--arrivals-per-hour", "100", "--aht-seconds", "1e9"], "handle time must be > 0 and at most 86,400 seconds"),
])
def test_out_of_range_arguments_are_refused_at_once(capsys, args: list[str], message: str) -> None:
    base = {"--aht-seconds": "180", "--target": "0.8", "--within-seconds": "20"}
    for key, value in base.items():
        if key not in args:
            args = [*args, key, value]
    start = time.perf_counter()
    assert main(["erlang", *args]) == 2
    assert time.perf_counter() - start < 1.0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_impatient_callers_answer_quickly(capsys) -> None:
    start = time.perf_counter()
    assert main(["erlang", "--arrivals-per-hour", "100", "--aht-seconds", "180", "--target", "0.8",
                 "--within-seconds", "20", "--patience-seconds", "0.1", "--json"]) == 0
    elapsed = time.perf_counter() - start
    data = json.loads(capsys.readouterr().out)
    # with 0.1 s patience nobody waits long: the service level is the share never queued, an
    # Erlang B-like figure, so the agents needed sit near the load (5 Erlangs) plus its spread
    assert 5 < data["agents"] < 15 and data["service_level"] >= 0.8
    assert elapsed < 3.0  # measured well under a second; slack for a loaded test machine
    fa = erlang_a(data["agents"], 100, 180, 0.1, 20)
    assert fa.service_level == pytest.approx(data["service_level"], abs=1e-12)


def test_a_queue_too_long_to_compute_refuses_instead_of_guessing() -> None:
    with pytest.raises(ValueError, match="longer than 200,000 waiting customers"):
        agents_for_target(1e6, 180, 0.5, 3600, patience_seconds=1e9)


def test_long_patience_converges_to_erlang_c() -> None:
    c = agents_for_target(200.0, 180.0, 0.8, 20.0)
    a = agents_for_target(200.0, 180.0, 0.8, 20.0, patience_seconds=1e7)
    assert a.agents == c.agents and a.service_level == pytest.approx(c.service_level, abs=1e-4)
    assert math.isfinite(a.asa_seconds)
