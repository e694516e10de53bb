"""Working-time arithmetic against a brute-force quarter-hour walk, and the calendar-shaped arrivals."""

from __future__ import annotations

import numpy as np
import pytest

from engine.simulation.worktime import WorkCalendar

FRIDAY = 4  # 2027-01-01 is a Friday


def brute_open_hours(times: np.ndarray, first_weekday: int, start: int, end: int) -> np.ndarray:
    """Open hours up to each time of a 0.25 h grid, walking the grid one step at a time."""
    step = 0.25
    open_step = [(int((x // 24 + first_weekday) % 7) < 5) and start <= x % 24 < end for x in times[:-1]]
    return np.concatenate([[0.0], np.cumsum(np.where(open_step, step, 0.0))])


@pytest.mark.parametrize(("start", "end"), [(9, 18), (0, 24), (8, 12)])
def test_open_hours_and_inverse_match_brute_force(start: int, end: int) -> None:
    cal = WorkCalendar.business([0, 1, 2, 3, 4], start, end, FRIDAY)
    grid = np.arange(0.0, 24 * 21, 0.25)
    expected = brute_open_hours(grid, FRIDAY, start, end)
    np.testing.assert_allclose(cal.open_hours(grid), expected, atol=1e-9)
    tabulated, formula = cal.scalar(24 * 10), cal.scalar(0.0)  # table for 10 days, formula beyond
    for sc in (tabulated, formula):
        np.testing.assert_allclose([sc.work_at(t) for t in grid], expected, atol=1e-9)
    rng = np.random.default_rng(1)
    for t, w in zip(rng.uniform(0, 24 * 18, 500), rng.exponential(6.0, 500), strict=True):
        done = tabulated.finish(t, w)
        assert done == pytest.approx(formula.finish(t, w), abs=1e-9)
        assert tabulated.work_at(done) - tabulated.work_at(t) == pytest.approx(w, abs=1e-9)
        nxt = tabulated.next_open(t)
        assert nxt >= t and tabulated.work_at(nxt) == pytest.approx(tabulated.work_at(t), abs=1e-9)
        assert nxt == pytest.approx(formula.next_open(t), abs=1e-9)


def test_first_opening_and_week_end() -> None:
    sc = WorkCalendar.business([0, 1, 2, 3, 4], 9, 18, FRIDAY).scalar(1000.0)
    assert sc.next_open(0.0) == 9.0  # Friday 09:00
    assert sc.next_open(18.0) == 24 * 3 + 9  # Friday evening -> Monday 09:00
    assert sc.finish(17.0, 2.0) == 24 * 3 + 10  # one hour on Friday, one on Monday
    assert sc.finish(9.0, 9.0) == 18.0  # a job ending at the close ends there, not on Monday


def test_arrivals_only_in_open_hours_and_uniform_over_them() -> None:
    cal = WorkCalendar.business([0, 1, 2, 3, 4], 9, 18, FRIDAY)
    w = np.random.default_rng(0).uniform(0, cal.open_hours(np.array([24 * 28.0]))[0], 20000)
    t = cal.wall_time(w)
    hour, day = t % 24, (t // 24 + FRIDAY) % 7
    assert ((hour >= 9) & (hour <= 18) & (day < 5)).all()
    counts = np.bincount(((hour - 9) // 1).astype(int).clip(0, 8), minlength=9)
    assert counts.min() > 0.9 * counts.mean()  # flat within the day
