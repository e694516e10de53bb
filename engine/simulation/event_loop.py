"""The simulation's event loop: a SimPy environment whose event heap, clock and id counter are
attributes of our own.

The lead flow schedules millions of bare events and pushes them onto the event heap itself (a
method call per push would add a Python call per event). SimPy keeps its heap, clock and id
counter in private attributes (`_queue`, `_now` and `_eid` of `simpy.Environment`) that a release
may rename; here they are the public `heap`, `clock` and `ids`, and `schedule()`, `step()`,
`peek()` and `now` work on them with SimPy's semantics (its `core.Environment` of 4.1, which has
no `BaseEnvironment` any more and which SimPy's own `RealtimeEnvironment` subclasses the same
way). Everything else is SimPy's own: `run()`, processes, timeouts, conditions and resources
reach the heap only through `schedule()`, and `active_process` is kept by SimPy's `Process`.
Events' outcomes are read through their public `ok`, `defused` and `value`."""

from __future__ import annotations

from heapq import heappop, heappush
from itertools import count

import simpy
from simpy.core import EmptySchedule, Infinity, StopSimulation
from simpy.events import NORMAL, Event

RESUME = -1
"""Priority of an event whose callbacks a stop interrupted: first when the run resumes (as SimPy)."""


class LeadFlowEnvironment(simpy.Environment):
    """`simpy.Environment` with the event heap, clock and id counter in public attributes.

    Time is in the caller's unit (hours in the lead flow). An entry of `heap` is
    `(time, priority, id, event)`: events at the same time run URGENT (0) before NORMAL (1), then
    in the order they were scheduled (`id`, drawn from `ids`).
    """

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self.clock: float = initial_time
        """The current simulation time: the time of the event being processed."""
        self.heap: list[tuple[float, int, int, Event]] = []
        """Scheduled events, a `heapq` heap of (time, priority, id, event)."""
        self.ids = count()
        """Ids of scheduled events, in scheduling order: the last tie-break."""

    @property
    def now(self) -> float:
        """The current simulation time."""
        return self.clock

    def schedule(self, event: Event, priority: int = NORMAL, delay: float = 0) -> None:
        """Schedule `event` with `priority` at `delay` after now (time now + delay, as SimPy)."""
        heappush(self.heap, (self.clock + delay, priority, next(self.ids), event))

    def at(self, time: float, event: Event, priority: int = NORMAL) -> None:
        """Schedule `event` with `priority` at the absolute `time` (not before now).

        Unlike `schedule(event, priority, time - now)` the event lands on `time` exactly, with no
        float rounding of the difference and the sum."""
        if time < self.clock:
            raise ValueError(f"time ({time}) is before the current simulation time ({self.clock})")
        heappush(self.heap, (time, priority, next(self.ids), event))

    def peek(self) -> float:
        """The time of the next scheduled event (`Infinity` if there is none)."""
        return self.heap[0][0] if self.heap else Infinity

    def step(self) -> None:
        """Process the next event: advance the clock to it and run its callbacks.

        Raises `EmptySchedule` if no event is scheduled. A callback raising `StopSimulation`
        leaves the event's remaining callbacks to run first when the simulation resumes. An event
        that failed and was not defused (no process handled it) raises a copy of its exception.
        """
        try:
            self.clock, _, _, event = heappop(self.heap)
        except IndexError:
            raise EmptySchedule from None
        callbacks, event.callbacks = event.callbacks, None
        try:
            for callback in callbacks:
                callback(event)
        except StopSimulation:
            event.callbacks = callbacks[callbacks.index(callback) + 1:]
            self.schedule(event, RESUME)
            raise
        if not event.ok and not event.defused:
            failure = event.value
            exc = type(failure)(*failure.args)
            exc.__cause__ = failure
            raise exc
