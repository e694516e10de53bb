"""Working-time arithmetic against a brute-force quarter-hour walk, and the calendar-shaped arrivals."""

from __future__ import annotations

import numpy as np
import pytest

from engine.simulation.worktime import WEEK_H, WorkCalendar

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


@pytest.mark.parametrize("first_weekday", range(7))
def test_vectorised_inverse_agrees_with_scalar_at_every_close(first_weekday: int) -> None:
    """`wall_time(w) == wall_at(w)`, also where `w` is reached exactly at the week's last close
    (a job ending at Friday's close ends there, not at Monday's opening)."""
    cal = WorkCalendar.business([0, 1, 2, 3, 4], 9, 17, first_weekday)
    _assert_inverses_agree(cal, weeks=12)


def test_vectorised_inverse_agrees_with_scalar_always_open() -> None:
    _assert_inverses_agree(WorkCalendar.always_open(), weeks=12)


def _assert_inverses_agree(cal: WorkCalendar, weeks: int) -> None:
    """Compare on seeded random `w` and on every exact close, the week's last close included."""
    per_week = cal.open_per_week
    behind_start = float(cal._abs_open(np.array(cal.offset_h)))  # open hours from Monday 00:00 to the start
    week_ends = np.arange(1, weeks + 1) * per_week - behind_start  # each week's last close
    week_ends = week_ends[week_ends > 0]
    day_closes = np.arange(1, 5 * weeks + 1) * (per_week / 5.0)  # the horizon starts at a midnight
    random = np.random.default_rng(11).uniform(0.0, weeks * per_week, 2000)
    w = np.concatenate([week_ends, day_closes, random, week_ends + 0.5])
    vectorised = cal.wall_time(w)
    for scalar in (cal.scalar(WEEK_H * (weeks + 1)), cal.scalar(0.0)):  # unrolled table; weekly formula
        np.testing.assert_allclose(vectorised, [scalar.wall_at(x) for x in w], rtol=0, atol=1e-9)
    if not cal.is_always_open:
        wall = cal.wall_time(week_ends) + cal.offset_h  # hours from the first week's Monday 00:00
        np.testing.assert_array_equal((wall // 24) % 7, 4)  # Friday ...
        np.testing.assert_allclose(wall % 24, 17.0)  # ... at 17:00
