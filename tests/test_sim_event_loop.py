"""The lead flow's event loop (`LeadFlowEnvironment`) is SimPy's, on attributes of our own.

The reference is plain `simpy.Environment`: the same SimPy script (processes, timeouts at equal
times, URGENT before NORMAL, resources, conditions, interrupts, failed and defused events, stops
and resumes of `run(until=...)`) must give the same log of (time, what happened), entry for entry,
and a few entries are checked by hand. Nothing in engine/ may reach SimPy's private environment
attributes again.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import simpy
from simpy.core import EmptySchedule, Infinity
from simpy.events import NORMAL, URGENT

from engine.simulation.event_loop import LeadFlowEnvironment
from engine.simulation.leadflow import Call

REPO = Path(__file__).resolve().parents[1]
PRIVATE = re.compile(r"\._queue|\._eid|\._now")
"""SimPy's private heap, id counter and clock."""


def test_engine_reaches_no_private_simpy_environment_attribute() -> None:
    hits = [f"{path.relative_to(REPO)}:{number}: {line.strip()}"
            for path in sorted((REPO / "engine").rglob("*.py"))
            for number, line in enumerate(path.read_text().splitlines(), start=1) if PRIVATE.search(line)]
    assert not hits, "\n".join(hits)


def script(env: simpy.Environment, log: list) -> simpy.Event:
    """Build a SimPy model on `env` that logs (now, tag) as it runs; return the event it ends with."""
    desk = simpy.Resource(env, capacity=1)
    shelf = simpy.Store(env)
    done = env.event()

    def customer(name: str, arrive: float, service: float):
        yield env.timeout(arrive)
        log.append((env.now, f"{name} arrives", env.active_process is not None))
        with desk.request() as request:
            yield request
            log.append((env.now, f"{name} served"))
            yield env.timeout(service)
        shelf.put(name)
        return service

    def collector():
        for _ in range(3):
            item = yield shelf.get()
            log.append((env.now, f"collected {item}"))
        done.succeed("all collected")

    def sleeper():
        try:
            yield env.timeout(100)
        except simpy.Interrupt as stop:
            log.append((env.now, f"interrupted: {stop.cause}"))

    def waker(target: simpy.Process):
        yield env.timeout(2.5)
        target.interrupt("wake up")

    def failing():
        yield env.timeout(4)
        raise KeyError("handled")

    def guard(child: simpy.Process):
        try:
            yield child
        except KeyError as failure:
            log.append((env.now, f"defused {failure.args[0]}"))

    def ties():
        yield env.timeout(6)
        # at one time URGENT (a process start) runs before NORMAL (succeed), then in scheduling order
        for tag in ("normal a", "normal b"):
            event = env.event()
            event.callbacks.append(lambda _, tag=tag: log.append((env.now, tag)))
            event.succeed()
            if tag == "normal a":
                env.process(started())

    def started():
        log.append((env.now, "urgent"))
        yield env.timeout(0)

    values = [env.process(customer(name, arrive, service))
              for name, arrive, service in (("a", 1.0, 3.0), ("b", 1.0, 1.5), ("c", 2.0, 0.25))]
    env.process(collector())
    env.process(waker(env.process(sleeper())))
    env.process(guard(env.process(failing())))
    env.process(ties())

    def both():
        got = yield env.all_of(values[:2]) | env.timeout(50)
        log.append((env.now, f"services {sorted(got[v] for v in values[:2])}"))

    env.process(both())
    return done


def play(env_type: type[simpy.Environment]) -> list:
    """Run `script` in stages on a new `env_type`: to a time, to an event, to the end."""
    env = env_type()
    log: list = []
    done = script(env, log)
    log.append(("peek", env.peek()))
    env.run(until=2.0)
    log.append(("stopped", env.now, env.peek()))
    env.run(until=2.0 + 1e-9)
    log.append(("stopped", env.now))
    log.append(("until event", env.run(until=done), env.now))
    env.run()
    log.append(("end", env.now, env.peek()))
    return log


def test_script_runs_as_on_plain_simpy() -> None:
    ours, theirs = play(LeadFlowEnvironment), play(simpy.Environment)
    assert ours == theirs
    # by hand: a and b arrive at 1, a is served first (3 h), b at 4 (1.5 h), c at 5.5 (0.25 h)
    assert ours.index(("stopped", 2.0, 2.0)) < ours.index((2.0, "c arrives", True))  # until is URGENT
    assert (1.0, "a served") in ours and (4.0, "b served") in ours and (5.5, "c served") in ours
    assert ours.index((6, "urgent")) < ours.index((6, "normal a")) < ours.index((6, "normal b"))
    assert (2.5, "interrupted: wake up") in ours and (4, "defused handled") in ours
    assert (5.5, "services [1.5, 3.0]") in ours
    assert ("until event", "all collected", 5.75) in ours and ours[-1] == ("end", 100, Infinity)
    assert ours[0] == ("peek", 0)


def test_resumed_run_finishes_first_the_callbacks_a_stop_interrupted() -> None:
    """A stop at an event with more callbacks leaves them to run first when the run resumes: before
    an URGENT event scheduled at the same time by a callback that ran before the stop."""
    logs = []
    for env_type in (LeadFlowEnvironment, simpy.Environment):
        env, log = env_type(), []
        gate = env.event()

        def opener(env=env, gate=gate):
            yield env.timeout(1)
            gate.succeed("open")

        def waiter(env=env, gate=gate, log=log):
            yield env.timeout(0.5)
            value = yield gate  # registers after run()'s stop callback
            log.append((env.now, "waiter", value))

        def started(env=env, log=log):
            log.append((env.now, "started"))
            yield env.timeout(0)

        gate.callbacks.append(lambda _, env=env: env.process(started()))  # before the stop callback
        env.process(opener())
        env.process(waiter())
        log.append(("until", env.run(until=gate), env.now))
        env.run()
        logs.append(log)
    assert logs[0] == logs[1]
    assert logs[0] == [("until", "open", 1), (1, "waiter", "open"), (1, "started")]


def test_failed_event_nobody_handles_crashes_the_run_with_its_exception() -> None:
    for env_type in (LeadFlowEnvironment, simpy.Environment):
        env = env_type()

        def broken(env=env):
            yield env.timeout(3)
            raise ValueError("no plan")

        env.process(broken())
        with pytest.raises(ValueError, match="no plan") as caught:
            env.run()
        assert isinstance(caught.value.__cause__, ValueError) and env.now == 3


def test_empty_schedule_and_until_in_the_past() -> None:
    env = LeadFlowEnvironment()
    with pytest.raises(EmptySchedule):
        env.step()
    env.timeout(5)
    env.run()
    assert env.now == 5 and env.clock == 5 and env.heap == []
    with pytest.raises(ValueError, match="must be greater than the current simulation time"):
        env.run(until=5)


def test_at_schedules_at_the_absolute_time_without_rounding() -> None:
    env, seen = LeadFlowEnvironment(), []
    env.run(until=1.1)

    def record(event: Call) -> None:
        seen.append((env.now, event.value))

    env.at(7.7, Call(env, record, "at"))
    env.schedule(Call(env, record, "delay"), NORMAL, 7.7 - 1.1)
    env.at(7.7, Call(env, record, "at again"))
    env.schedule(Call(env, record, "urgent"), URGENT, 7.7 - 1.1)
    env.run()
    # 1.1 + (7.7 - 1.1) is one ulp below 7.7: the delayed events run first although scheduled later
    assert 1.1 + (7.7 - 1.1) < 7.7
    assert seen == [(1.1 + (7.7 - 1.1), "urgent"), (1.1 + (7.7 - 1.1), "delay"), (7.7, "at"), (7.7, "at again")]
    with pytest.raises(ValueError, match="before the current simulation time"):
        env.at(7.0, Call(env, record, "past"))
