"""Only the engine's own lines reach stderr (issue 21): numpy warnings and Pyomo's log lines are
held back, exceptions still end the command, and --debug shows what was held."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

import solvers.erlang
from engine.cli import main
from engine.quiet import quiet_libraries

ERLANG = ["erlang", "--arrivals-per-hour", "200", "--aht-seconds", "180", "--target", "0.8",
          "--within-seconds", "20", "--json"]


def _failing_rule_model() -> None:
    model = pyo.ConcreteModel()
    model.x = pyo.Var(pyo.RangeSet(2))

    def rule(m, i):
        raise ZeroDivisionError("rate is 0")

    model.c = pyo.Constraint(pyo.RangeSet(2), rule=rule)


def test_library_lines_are_held_and_exceptions_still_raise(capfd) -> None:
    with quiet_libraries() as held:
        assert np.isnan(np.mean(np.array([])))  # numpy: "Mean of empty slice"
        with pytest.raises(ZeroDivisionError):
            _failing_rule_model()  # Pyomo logs "Rule failed ..." at ERROR, then re-raises
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
    assert any("Mean of empty slice" in line for line in held)


def test_the_cli_prints_only_its_own_lines(capfd, monkeypatch) -> None:
    real = solvers.erlang.agents_for_target

    def noisy(*args, **kwargs):
        with np.errstate(divide="warn"):  # another library may have set numpy to ignore it
            np.log(np.zeros(1))  # RuntimeWarning: divide by zero
        return real(*args, **kwargs)

    monkeypatch.setattr(solvers.erlang, "agents_for_target", noisy)
    assert main(ERLANG) == 0
    captured = capfd.readouterr()
    assert captured.err == "" and '"agents": 14' in captured.out
    assert main([*ERLANG, "--debug"]) == 0
    assert "library warning: RuntimeWarning: divide by zero encountered in log" in capfd.readouterr().err


def test_a_bug_is_still_reported(capfd, monkeypatch) -> None:
    monkeypatch.setattr(solvers.erlang, "agents_for_target", lambda *a, **k: _failing_rule_model())
    assert main(ERLANG) == 1
    err = capfd.readouterr().err
    assert err.startswith("internal error: ZeroDivisionError: rate is 0") and "Rule failed" not in err
