"""The lead flow's event economies change no outcome.

Two shortcuts keep the SimPy event count down at high volume: the chain of arrival events pauses
while every rep who could take a new lead is busy (those leads join the pool when a rep next looks
at it), and a pool that has doubled is swept of leads past their wait limit. The reference is the
plain event model: one SimPy event per arrival and expiry checked only when a lead is picked. Both
must give the same per-lead and per-rep results, bit for bit, on overloaded funnels where the
shortcuts fire thousands of times (routing rules, caps, score priority and calendars varied).
"""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import pytest

from engine.calendar import month_start_hours
from engine.simulation.arrivals import draw_leads, spawn_streams
from engine.simulation.config import RoleSpec, SimConfig, StageSpec
from engine.simulation.dists import Dist
from engine.simulation.leadflow import FunnelModel, FunnelResult
from engine.simulation.worktime import WorkCalendar

MONTHS = 6
BOUNDS = np.array(month_start_hours("2027-01", MONTHS))


class PlainModel(FunnelModel):
    """Every arrival a SimPy event and no pool sweeps: the model the shortcuts must reproduce."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.sweep_at = dict.fromkeys(self.sweep_at, math.inf)

    def _any_free_entry_rep(self) -> bool:
        return True


class CountingModel(FunnelModel):
    """The model as the engine runs it, counting the pool sweeps."""

    sweeps = 0

    def _sweep(self, heap: list) -> None:
        self.sweeps += 1
        super()._sweep(heap)


def overloaded(routing: str, priority: bool, calendar: WorkCalendar, max_open: int | None,
               load: float) -> SimConfig:
    """Two segments, an SDR team on the first two stages (so its reps hold leads up to the cap) and
    an AE team on the last, `load` times twice the leads the SDRs can take, a 30-hour wait
    limit, attrition with backfill."""
    per_hour = load * np.array([[3.0], [1.5]])  # leads per hour by segment x region
    month_h = np.diff(BOUNDS)
    sdr, ae = np.zeros((2, 1), dtype=np.int64), np.ones((2, 1), dtype=np.int64)
    stages = (StageSpec("contact", np.array([0.6, 0.5]), np.array([1.0, 1.5]), Dist("exponential", 12.0), sdr),
              StageSpec("qualify", np.array([0.4, 0.5]), np.array([2.0, 3.0]), Dist("lognormal", 24.0, 0.5), sdr),
              StageSpec("close", np.array([0.3, 0.35]), np.array([4.0, 6.0]), Dist("gamma", 48.0, 0.7), ae))
    hazard = -math.log1p(-0.3) / 8766.0
    return SimConfig(
        months=tuple(f"2027-{m:02d}" for m in range(1, MONTHS + 1)), month_start_h=BOUNDS, calendar=calendar,
        segments=("SMB", "Mid"), regions=("R",), leads=month_h[:, None, None] * per_hour[None],
        deal_size=(Dist("fixed", 1000.0), Dist("fixed", 5000.0)), stages=stages,
        roles=(RoleSpec("SDR", "sdr", headcount_start=2, hires=(0, 1, 0, 0, 1, 0), ramp=(0.5, 0.8),
                        attrition_per_hour=hazard, lead_time_months=1),
               RoleSpec("AE", "ae", headcount_start=3, hires=(0,) * MONTHS, attrition_per_hour=hazard)),
        logit_per_score=1.0 if priority else 0.0, score_priority=priority, max_open=max_open,
        wait_limit_h=30.0, routing=routing, backfill="leavers", speed_half_life_h=6.0, speed_floor=0.5)


def results(model_type: type[FunnelModel], cfg: SimConfig, seed: int) -> tuple[FunnelModel, FunnelResult]:
    streams = spawn_streams(np.random.SeedSequence(seed))
    model = model_type(cfg, draw_leads(cfg, streams), streams["people"])
    return model, model.run()


@pytest.mark.parametrize(("routing", "priority", "calendar", "max_open", "load"), [
    ("least_loaded", True, WorkCalendar.business([0, 1, 2, 3, 4], 9, 17, 4), 4, 1.0),
    ("round_robin", False, WorkCalendar.always_open(), None, 1.0),
    ("least_loaded", False, WorkCalendar.business([0, 1, 2, 3, 4], 8, 18, 0), 2, 1.0),
    ("round_robin", True, WorkCalendar.always_open(), 1, 0.45),  # reps often idle at their cap
])
def test_shortcuts_reproduce_the_plain_event_model(routing: str, priority: bool, calendar: WorkCalendar,
                                                   max_open: int | None, load: float) -> None:
    cfg = overloaded(routing, priority, calendar, max_open, load)
    plain_model, plain = results(PlainModel, cfg, seed=18)
    fast_model, fast = results(CountingModel, cfg, seed=18)
    for field in fields(FunnelResult):
        a, b = getattr(plain, field.name), getattr(fast, field.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), field.name
        else:
            assert a == b, field.name
    # the shortcuts did fire: far fewer events, many leads dropped at the limit and, when the best
    # score goes first (so expired leads pile up behind better ones), pools swept
    plain_events, fast_events = next(plain_model.env.ids), next(fast_model.env.ids)
    assert fast_events < 0.85 * plain_events, (fast_events, plain_events)
    assert fast_model.sweeps > 0 or not priority
    assert np.isfinite(fast.dropped_h).sum() > 0.2 * len(fast.dropped_h)
